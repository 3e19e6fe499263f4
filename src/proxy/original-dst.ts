/**
 * Transparent mode: where a REDIRECTed connection was going, from getsockopt(SO_ORIGINAL_DST)
 * (IPv4: SOL_IP, IPv6: SOL_IPV6 / IP6T_SO_ORIGINAL_DST), called through koffi (an optional,
 * prebuilt dependency). Linux only.
 */
import { createRequire } from 'node:module';
import type * as net from 'node:net';
import { FtpscopeError } from '../errors.js';
import { canonicalIp } from '../ftp/endpoints.js';
import { normalizeIp, type HostPort } from './rewrite.js';

const SOL_IP = 0;
const SOL_IPV6 = 41;
const SO_ORIGINAL_DST = 80;
const AF_INET = 2;
const AF_INET6 = 10;

type GetSockOpt = (fd: number, level: number, name: number, val: Buffer, len: number[]) => number;

let cached: GetSockOpt | null = null;

/** Loads getsockopt from libc; throws a FtpscopeError saying what to do when it cannot. */
export function loadOriginalDst(): (sock: net.Socket) => HostPort | null {
  if (process.platform !== 'linux') {
    throw new FtpscopeError('proxy-config', 'transparent mode needs Linux (SO_ORIGINAL_DST)', 'use --mode reverse or --mode forward on this system');
  }
  if (!cached) {
    try {
      const require = createRequire(import.meta.url);
      const koffi = require('koffi') as { load(n: string): { func(sig: string): GetSockOpt } };
      const libc = koffi.load('libc.so.6');
      cached = libc.func('int getsockopt(int fd, int level, int name, void *val, _Inout_ uint32_t *len)');
    } catch (e) {
      throw new FtpscopeError('proxy-config', `transparent mode cannot load koffi/libc: ${(e as Error).message}`,
        'install the optional dependency: npm install koffi');
    }
  }
  const getsockopt = cached;
  return (sock) => originalDst(getsockopt, sock);
}

function originalDst(getsockopt: GetSockOpt, sock: net.Socket): HostPort | null {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return null;
  const v6 = (sock.localAddress ?? '').includes(':') && !(sock.localAddress ?? '').startsWith('::ffff:');
  const buf = Buffer.alloc(28);
  const len = [buf.length];
  const rc = getsockopt(fd, v6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST, buf, len);
  if (rc !== 0) return null;
  return parseSockaddr(buf);
}

/** struct sockaddr_in / sockaddr_in6 (family in host order, port in network order). */
export function parseSockaddr(buf: Buffer): HostPort | null {
  const family = buf.readUInt16LE(0);
  const port = buf.readUInt16BE(2);
  if (family === AF_INET) return { ip: `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`, port };
  if (family === AF_INET6) {
    const words: string[] = [];
    for (let i = 0; i < 8; i++) words.push(buf.readUInt16BE(8 + i * 2).toString(16));
    const ip = canonicalIp(words.join(':'));
    return ip ? { ip: normalizeIp(ip), port } : null;
  }
  return null;
}

/**
 * Synthesized Ethernet/IPv4-or-IPv6/TCP frames for the proxy's recording (pure: bytes in,
 * bytes out). Checksums are computed, so tshark shows them as correct.
 */
import { isIPv4 } from 'node:net';
import { parseIpv4, parseIpv6 } from '../ftp/endpoints.js';
import type { Endpoint } from '../model/types.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export interface Segment {
  src: Endpoint;
  dst: Endpoint;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** MSS option (SYN segments). */
  mss?: number;
  payload?: Buffer;
  /** Per-direction IP id (IPv4). */
  ipId: number;
  srcMac: Buffer;
  dstMac: Buffer;
}

export function buildFrame(s: Segment): Buffer {
  const v4 = isIPv4(s.src.ip);
  const payload = s.payload ?? EMPTY;
  const tcpLen = s.mss ? 24 : 20;
  const ipLen = v4 ? 20 : 40;
  const frame = Buffer.alloc(14 + ipLen + tcpLen + payload.length);
  s.dstMac.copy(frame, 0);
  s.srcMac.copy(frame, 6);
  frame.writeUInt16BE(v4 ? 0x0800 : 0x86dd, 12);
  const ip = 14;
  const src = addrBytes(s.src.ip, v4);
  const dst = addrBytes(s.dst.ip, v4);
  if (v4) {
    frame[ip] = 0x45;
    frame.writeUInt16BE(ipLen + tcpLen + payload.length, ip + 2);
    frame.writeUInt16BE(s.ipId & 0xffff, ip + 4);
    frame.writeUInt16BE(0x4000, ip + 6); // DF
    frame[ip + 8] = 64;
    frame[ip + 9] = 6;
    src.copy(frame, ip + 12);
    dst.copy(frame, ip + 16);
    frame.writeUInt16BE(checksum(frame, ip, 20, 0), ip + 10);
  } else {
    frame.writeUInt32BE(0x60000000, ip);
    frame.writeUInt16BE(tcpLen + payload.length, ip + 4);
    frame[ip + 6] = 6;
    frame[ip + 7] = 64;
    src.copy(frame, ip + 8);
    dst.copy(frame, ip + 24);
  }
  const t = ip + ipLen;
  frame.writeUInt16BE(s.src.port, t);
  frame.writeUInt16BE(s.dst.port, t + 2);
  frame.writeUInt32BE(s.seq >>> 0, t + 4);
  frame.writeUInt32BE(s.flags & TCP_ACK ? s.ack >>> 0 : 0, t + 8);
  frame[t + 12] = (tcpLen / 4) << 4;
  frame[t + 13] = s.flags;
  frame.writeUInt16BE(s.window, t + 14);
  if (s.mss) {
    frame[t + 20] = 2;
    frame[t + 21] = 4;
    frame.writeUInt16BE(s.mss, t + 22);
  }
  payload.copy(frame, t + tcpLen);
  // Pseudo-header sum, then the segment.
  let sum = 0;
  for (let i = 0; i < src.length; i += 2) sum += src.readUInt16BE(i) + dst.readUInt16BE(i);
  sum += 6 + tcpLen + payload.length;
  frame.writeUInt16BE(checksum(frame, t, tcpLen + payload.length, sum), t + 16);
  return frame;
}

function addrBytes(ip: string, v4: boolean): Buffer {
  if (v4) return Buffer.from(parseIpv4(ip) ?? [0, 0, 0, 0]);
  return Buffer.from(parseIpv6(ip) ?? new Array<number>(16).fill(0));
}

/** RFC 1071 one's-complement sum over buf[off, off+len), starting from `initial`. */
export function checksum(buf: Buffer, off: number, len: number, initial: number): number {
  let sum = initial;
  const end = off + len - (len & 1);
  for (let i = off; i < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) sum += buf[off + len - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const EMPTY = Buffer.alloc(0);

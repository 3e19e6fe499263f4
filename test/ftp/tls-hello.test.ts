import { createServer, type AddressInfo, type Server } from 'node:net';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { looksLikeTls, parseClientHello, tlsVersionName } from '../../src/ftp/tls-hello.js';
import { controlStreams, fixtureText, plainPart } from './fixtures.js';

const authTls = controlStreams().find((s) => s.capture === 'zeek-ftp-auth-tls')!;
/** The client's bytes after "AUTH TLS\r\n": the ClientHello and the rest of its TLS. */
const clientTls = authTls.c2s.subarray(plainPart(authTls.c2s, 'c2s').length);
const serverTls = authTls.s2c.subarray(plainPart(authTls.s2c, 's2c').length);

/** tshark's reading of the same ClientHello (tls-client-hello.tsv, made by make-fixtures.sh). */
function tsharkHello() {
  const [header, row] = fixtureText('zeek-ftp-auth-tls', 'tls-client-hello.tsv').trimEnd().split('\n');
  const cols = Object.fromEntries(header!.split('\t').map((h, i) => [h, row!.split('\t')[i] ?? '']));
  const offered = cols['tls.handshake.extensions.supported_version']!.split(',').map((v) => parseInt(v, 16));
  return { sni: cols['tls.handshake.extensions_server_name'] || null, offered, legacy: parseInt(cols['tls.handshake.version']!, 16) };
}

/** Re-frames the handshake bytes of the first record into records of at most `size` bytes. */
function reframe(buf: Buffer, size: number): Buffer {
  const len = buf.readUInt16BE(3);
  const hs = buf.subarray(5, 5 + len);
  const parts: Buffer[] = [];
  for (let at = 0; at < hs.length; at += size) {
    const piece = hs.subarray(at, at + size);
    const head = Buffer.from([22, buf[1]!, buf[2]!, 0, 0]);
    head.writeUInt16BE(piece.length, 3);
    parts.push(head, piece);
  }
  return Buffer.concat([...parts, buf.subarray(5 + len)]);
}

describe('ClientHello after AUTH TLS in ftp-auth-tls.pcap', () => {
  test('SNI and version are what tshark reads', () => {
    const t = tsharkHello();
    const hello = parseClientHello(clientTls)!;
    expect(hello.sni).toBe(t.sni);
    const highest = t.offered.reduce((a, b) => (b > a ? b : a));
    expect(hello.version).toBe(tlsVersionName(highest));
    expect(hello.version).toBe('TLS 1.3');
    expect(parseClientHello(Buffer.from([...clientTls.subarray(0, 5)]))).toBeNull();
  });

  test('every truncation gives null (wait for more), never a throw', () => {
    const full = 5 + clientTls.readUInt16BE(3);
    for (let n = 0; n < full; n++) expect(parseClientHello(clientTls.subarray(0, n)), `first ${n} bytes`).toBeNull();
    expect(parseClientHello(clientTls.subarray(0, full))).toEqual(parseClientHello(clientTls));
  });

  test('the same hello split over several TLS records reads the same', () => {
    const expected = parseClientHello(clientTls);
    for (const size of [1, 7, 64, 100, 511]) expect(parseClientHello(reframe(clientTls, size)), `records of ${size}`).toEqual(expected);
  });

  test('corrupting any single byte never throws', () => {
    const full = 5 + clientTls.readUInt16BE(3);
    for (let i = 0; i < full; i++) {
      const copy = Buffer.from(clientTls.subarray(0, full));
      copy[i] = copy[i]! ^ 0xff;
      expect(() => parseClientHello(copy)).not.toThrow();
    }
  });

  test('looksLikeTls: the TLS bytes of both sides yes, every FTP line no', () => {
    expect(looksLikeTls(clientTls)).toBe(true);
    expect(looksLikeTls(serverTls)).toBe(true);
    for (const cs of controlStreams()) {
      for (const dir of ['c2s', 's2c'] as const) {
        const text = plainPart(cs[dir], dir);
        let at = 0;
        while (at < text.length) {
          const lf = text.indexOf(10, at);
          const end = lf < 0 ? text.length : lf + 1;
          expect(looksLikeTls(text.subarray(at, end)), `${cs.capture} ${dir} @${at}`).toBe(false);
          at = end;
        }
      }
    }
    expect(parseClientHello(Buffer.from('USER anonymous\r\n'))).toBeNull();
    expect(parseClientHello(serverTls)).toBeNull(); // a ServerHello is no ClientHello
  });
});

describe('ClientHellos from a real TLS client (node:tls / OpenSSL) with options we choose', () => {
  let server: Server;
  let port = 0;
  const received: Buffer[] = [];
  beforeAll(async () => {
    server = createServer((sock) => {
      const chunks: Buffer[] = [];
      sock.on('data', (d) => {
        chunks.push(d);
        const all = Buffer.concat(chunks);
        if (parseClientHello(all) || all.length > 65536) {
          received.push(all);
          sock.destroy();
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function helloFrom(opts: { servername?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3'; ALPNProtocols?: string[] }): Promise<Buffer> {
    const before = received.length;
    await new Promise<void>((resolve) => {
      const c = connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
    expect(received.length).toBe(before + 1);
    return received[received.length - 1]!;
  }

  test('TLS 1.3 client with SNI and ALPN', async () => {
    const hello = parseClientHello(await helloFrom({ servername: 'ftp.example.org', ALPNProtocols: ['ftp'] }));
    expect(hello).toEqual({ sni: 'ftp.example.org', version: 'TLS 1.3', alpn: ['ftp'], resumption: false });
  });

  test('TLS 1.2-only client: no supported_versions, the legacy version counts', async () => {
    const hello = parseClientHello(await helloFrom({ servername: 'files.example.net', maxVersion: 'TLSv1.2' }));
    expect(hello).toEqual({ sni: 'files.example.net', version: 'TLS 1.2', alpn: [], resumption: false });
  });

  test('no SNI (connecting by IP address, as OpenSSL clients do)', async () => {
    const hello = parseClientHello(await helloFrom({}));
    expect(hello?.sni).toBeNull();
    expect(hello?.version).toBe('TLS 1.3');
  });
});

describe('tlsVersionName', () => {
  test.each([
    [0x0300, 'SSL 3.0'], [0x0301, 'TLS 1.0'], [0x0302, 'TLS 1.1'], [0x0303, 'TLS 1.2'], [0x0304, 'TLS 1.3'],
    [0x7f1c, 'TLS 1.3 (draft 28)'], [0x0a0a, null], [0xfafa, null], [0x1234, '0x1234'],
  ] as [number, string | null][])('%d → %s', (v, name) => expect(tlsVersionName(v)).toBe(name));
});

/**
 * The recording's checksums, segment by segment: payloads of every length (odd, not a multiple
 * of 4, one MSS, one TSO segment, several, with a remainder), in buffers aligned and not (the
 * relay's own read buffers are aligned; TLS plaintext need not be), over IPv4 and IPv6, written
 * through the real pcapng writer (the in-place path) and read back: every IPv4 header and TCP
 * checksum verifies, as the dissector (and tshark) check them.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { readCapture } from '../../src/capture/open.js';
import { ipv4HeaderChecksum, pseudoHeaderSum, tcpChecksum } from '../../src/dissect/checksum.js';
import { Recorder, SEGMENT_MSS } from '../../src/proxy/recorder.js';
import { tmpDir } from './peers.js';

const work = tmpDir('ftpscope-rec-sums-');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const LENGTHS = [1, 2, 3, 5, 7, 8, 1459, 1460, 1461, 1440 * SEGMENT_MSS, 1460 * SEGMENT_MSS - 1, 1460 * SEGMENT_MSS, 1460 * SEGMENT_MSS + 3, 3 * 1460 * SEGMENT_MSS + 1001];

function payload(n: number, seed: number, misaligned: boolean): Buffer {
  const b = Buffer.allocUnsafe(n + 1);
  // Bytes near 0xff too: the sums' carries are exercised, not only small values.
  for (let i = 0; i < b.length; i++) b[i] = (i * 167 + seed * 13 + (i >> 7)) & 255 | (i % 5 === 0 ? 0xf0 : 0);
  return misaligned ? b.subarray(1) : b.subarray(0, n);
}

describe('Recorder checksums', () => {
  for (const v6 of [false, true]) {
    it(`every segment's checksums verify (${v6 ? 'IPv6' : 'IPv4'}), for every payload length and alignment`, async () => {
      const file = path.join(work, `sums-${v6 ? 6 : 4}.pcapng`);
      const writer = new PcapngWriter(file);
      const rec = new Recorder(writer);
      const client = v6 ? { ip: '2001:db8::1', port: 40000 } : { ip: '192.0.2.1', port: 40000 };
      const server = v6 ? { ip: '2001:db8::ffff:2', port: 21 } : { ip: '198.51.100.254', port: 21 };
      const a = rec.open(client, server, 1_700_000_000);
      // The relay records a chunk on two legs one after the other: the second reuses the first's sums.
      const b = rec.open({ ...client, port: 40001 }, { ...server, port: 2121 }, 1_700_000_000);
      let n = 0;
      for (const len of LENGTHS) {
        for (const misaligned of [false, true]) {
          const bytes = payload(len, n++, misaligned);
          rec.data(a, 1, bytes, 1_700_000_001);
          rec.data(b, 1, bytes, 1_700_000_001);
          rec.data(a, 0, bytes, 1_700_000_002);
        }
      }
      await rec.finish();
      let checked = 0;
      let payloadBytes = 0;
      await readCapture(file, (r) => {
        const f = r.buf.subarray(r.offset, r.offset + r.caplen);
        const ip = 14;
        const t = ip + (v6 ? 40 : 20);
        if (!v6) expect(ipv4HeaderChecksum(f, ip, 20, 20).status).toBe('good');
        const tcpLen = f.length - t;
        const pseudo = v6 ? pseudoHeaderSum(f, ip + 8, ip + 24, 16, 6, tcpLen) : pseudoHeaderSum(f, ip + 12, ip + 16, 4, 6, tcpLen);
        expect(tcpChecksum(pseudo, f, t, tcpLen, tcpLen).status, `frame ${r.frame}, ${tcpLen} TCP bytes`).toBe('good');
        payloadBytes += tcpLen - (f[t + 12]! >> 4) * 4; // the SYNs carry an MSS option
        checked++;
      });
      expect(checked).toBe(rec.frameCount);
      expect(payloadBytes).toBe(LENGTHS.reduce((s, l) => s + l, 0) * 2 * 3);
    });
  }
});

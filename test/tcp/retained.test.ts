import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../../src/tcp/budget.js';
import { RetainedBytes, RetentionEpoch } from '../../src/tcp/retained.js';
import { loadPackets, rng, track, Recorder } from './support.js';

describe('RetainedBytes (the ring that checks retransmissions)', async () => {
  const { rec } = track(await loadPackets('public/zeek/retr.pcap'), {}, new Recorder(true));
  const log = rec.conns.find((l) => l.conn.server.port === 38141)!;
  const stream = Buffer.concat(log.data[log.conn.bytes[0] > 0 ? 0 : 1]);

  for (const [max, lazy] of [0, 100, 4096, 5000, 1 << 16].flatMap((m) => [[m, false], [m, true]] as const)) {
    it(`holds the last unacknowledged bytes, up to ${max}${lazy ? ', referencing an input buffer that is overwritten after inputReused()' : ''}`, () => {
      const rand = rng(max + 1);
      const budget = new ByteBudget(1 << 30);
      const epoch = lazy ? new RetentionEpoch() : null;
      const r = new RetainedBytes(max, budget, epoch);
      // Lazy: segments are handed over inside a reused input buffer, as a capture reader does.
      const input = Buffer.alloc(64 * 1024);
      let inputUsed = 0;
      let end = 0;
      let acked = 0;
      while (end < stream.length) {
        const len = Math.min(stream.length - end, 1 + Math.floor(rand() * 3000));
        if (epoch) {
          if (inputUsed + len > input.length || rand() < 0.2) {
            epoch.inputReused();
            input.fill(0xaa);
            inputUsed = 0;
          }
          stream.copy(input, inputUsed, end, end + len);
          r.append(input, inputUsed, inputUsed + len, end);
          inputUsed += len;
        } else {
          r.append(stream, end, end + len, end);
        }
        end += len;
        if (rand() < 0.3) {
          acked = Math.max(acked, end - Math.floor(rand() * 5000));
          r.release(acked);
        }
        expect(r.size).toBe(Math.min(end - acked, max));
        for (let k = 0; k < 5; k++) {
          const off = Math.floor(rand() * end);
          const n = 1 + Math.floor(rand() * Math.min(2000, end - off));
          const verdict = r.compare(stream, off, off + n, off);
          const overlapsHeld = off + n > end - r.size && r.size > 0;
          expect(verdict).toBe(overlapsHeld ? 'same' : 'unknown');
          if (overlapsHeld) {
            const changed = Buffer.from(stream.subarray(off, off + n));
            const at = Math.max(off, end - r.size) - off;
            changed[at] ^= 0x01;
            expect(r.compare(changed, 0, n, off)).toBe('differs');
          }
        }
      }
      expect(r.size).toBeLessThanOrEqual(max);
      r.free();
      expect(budget.used).toBe(0);
    });
  }

  it('does not grow past the shared budget', () => {
    const budget = new ByteBudget(0);
    const r = new RetainedBytes(1 << 16, budget);
    r.append(stream, 0, 1000, 0);
    expect(r.size).toBe(0);
    expect(r.compare(stream, 0, 1000, 0)).toBe('unknown');
  });

  it('names the frame that first carried a held byte, whether referenced in the input or copied into the ring', () => {
    for (const lazy of [false, true]) {
      const epoch = lazy ? new RetentionEpoch() : null;
      const r = new RetainedBytes(1 << 16, new ByteBudget(1 << 20), epoch);
      r.append(stream, 0, 100, 0, 7);
      r.append(stream, 100, 250, 100, 9);
      epoch?.inputReused(); // copied into the ring
      r.append(stream, 250, 300, 250, 12);
      expect([0, 99, 100, 249, 250, 299].map((o) => r.frameAt(o)), lazy ? 'lazy' : 'copied').toEqual([7, 7, 9, 9, 12, 12]);
      r.append(stream, 300, 310, 300); // no frame (the proxy)
      expect(r.frameAt(305)).toBeNull();
    }
  });

  it('names the frames of the newest 64 copied pieces, through the mark table growing from 4 and wrapping', () => {
    for (const pieces of [3, 4, 5, 64, 65, 200]) {
      const r = new RetainedBytes(1 << 16, new ByteBudget(1 << 20));
      for (let i = 0; i < pieces; i++) r.append(stream, i * 10, i * 10 + 10, i * 10, 1000 + i);
      const got = Array.from({ length: pieces }, (_, i) => r.frameAt(i * 10 + 5));
      const want = Array.from({ length: pieces }, (_, i) => (i >= pieces - 64 ? 1000 + i : null));
      expect(got, `${pieces} pieces`).toEqual(want);
    }
  });
});

/**
 * The proxy's worker-thread sha256: digests equal node's own for streams of every size, fed
 * interleaved in pieces through a ring small enough to wrap and fill many times; dropped and
 * gapped streams; and a hasher that is closed gives no digest for what it held, then hashes on
 * this thread.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { ThreadHasher } from '../../src/proxy/hash-thread.js';
import { HashHeads, TransferAccumulator } from '../../src/ftp/transfer.js';
import type { DataConnection } from '../../src/model/types.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('ThreadHasher', () => {
  const small = new ThreadHasher({ ringBytes: 1 << 16 });
  const big = new ThreadHasher();
  afterAll(async () => {
    await small.close();
    await big.close();
  });

  for (const [name, hasher] of [['a 64 KiB ring (wraps and fills)', small], ['the default ring', big]] as const) {
    it(`digests equal node's for interleaved streams of every size, through ${name}`, () => {
      const sizes = [0, 1, 3, 4, 5, 15, 16, 17, 4095, 16_383, 16_384, 16_385, 65_536, 100_003, (1 << 20) + 5, 3 * (1 << 20) + 7];
      const streams = sizes.map((n) => ({ data: randomBytes(n), hash: hasher.create(), fed: 0 }));
      // Round-robin pieces of varying lengths: records of all streams interleave in the ring.
      let step = 1;
      while (streams.some((s) => s.fed < s.data.length)) {
        for (const s of streams) {
          if (s.fed >= s.data.length) continue;
          const n = Math.min(s.data.length - s.fed, (step * 7919) % 40_000 + 1);
          s.hash.update(s.data.subarray(s.fed, s.fed + n));
          s.fed += n;
          step++;
        }
      }
      expect(streams.map((s) => s.hash.digest())).toEqual(streams.map((s) => sha256(s.data)));
    });
  }

  it('a discarded stream is forgotten; the streams around it are not disturbed', () => {
    const a = small.create();
    const b = small.create();
    const c = small.create();
    const bytes = randomBytes(200_000);
    a.update(bytes);
    b.update(bytes);
    b.discard();
    c.update(bytes.subarray(0, 1000));
    expect(() => b.digest()).toThrow(/after digest or discard/);
    expect(a.digest()).toBe(sha256(bytes));
    expect(c.digest()).toBe(sha256(bytes.subarray(0, 1000)));
  });

  it('through TransferAccumulator: the sha256 of the file direction, none after a gap', () => {
    const hasher = new ThreadHasher({ ringBytes: 1 << 16 });
    const bytes = randomBytes(300_000);
    const whole = new TransferAccumulator(true, new HashHeads(), hasher);
    const gapped = new TransferAccumulator(true, new HashHeads(), hasher);
    for (let off = 0; off < bytes.length; off += 9000) {
      whole.data(1, bytes.subarray(off, off + 9000));
      gapped.data(1, bytes.subarray(off, off + 9000));
      whole.data(0, bytes.subarray(0, 10)); // the other direction, hashed too until the end
      if (off === 90_000) gapped.gap(1, 1460);
    }
    const dc = {} as DataConnection;
    expect(whole.finish(dc, 1)).toBe(sha256(bytes));
    expect(dc.bytes).toBe(bytes.length);
    expect(gapped.finish({} as DataConnection, 1)).toBeNull();
    return hasher.close();
  });

  it('once closed: what it held gives no digest, new streams are hashed on this thread', async () => {
    const hasher = new ThreadHasher();
    const held = hasher.create();
    held.update(randomBytes(1000));
    await hasher.close();
    expect(held.digest()).toBeNull();
    const later = hasher.create();
    const bytes = randomBytes(5000);
    later.update(bytes);
    expect(later.digest()).toBe(sha256(bytes));
  });
});

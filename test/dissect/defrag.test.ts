import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/open.js';
import { Defragmenter } from '../../src/dissect/defrag.js';
import { CAPTURES } from './expected.js';

/** The IPv4 fragments of the fixture (real TCP segments split by make.mjs), grouped by IP id, in capture order. */
interface Frag { frame: number; ts: number; id: number; offset: number; more: boolean; payload: Buffer }

async function fragments(): Promise<Map<number, Frag[]>> {
  const byId = new Map<number, Frag[]>();
  await readCapture(join(CAPTURES, 'fixtures/dissect/ipv4-fragments.pcap'), (r) => {
    const ip = r.buf.subarray(r.offset + 14, r.offset + r.caplen);
    const ff = ip.readUInt16BE(6);
    if ((ff & 0x3fff) === 0) return;
    const ihl = (ip[0]! & 15) * 4;
    const f: Frag = { frame: r.frame, ts: r.ts, id: ip.readUInt16BE(4), offset: (ff & 0x1fff) * 8, more: (ff & 0x2000) !== 0,
      payload: Buffer.from(ip.subarray(ihl, ip.readUInt16BE(2))) };
    byId.set(f.id, [...(byId.get(f.id) ?? []), f]);
  });
  return byId;
}

const add = (d: Defragmenter, f: Frag, ts = f.ts) => d.add(`k${f.id}`, ts, f.frame, f.offset, f.more, f.payload, 0, f.payload.length);

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('Defragmenter', () => {
  it('reassembles every datagram the same whatever order its fragments arrive in', async () => {
    const all = await fragments();
    expect(all.size).toBeGreaterThan(10);
    for (const frags of all.values()) {
      const results = permutations(frags).map((order) => {
        const d = new Defragmenter();
        const outs = order.map((f) => add(d, f));
        expect(outs.slice(0, -1).every((o) => o === null)).toBe(true);
        expect(d.pendingCount).toBe(0);
        return outs.at(-1)!.payload.toString('hex');
      });
      expect(new Set(results).size).toBe(1);
      // The TCP header of the segment that was split: data offset and a length that matches the pieces.
      const whole = Buffer.from(results[0]!, 'hex');
      expect(whole.length).toBe(frags.reduce((n, f) => n + f.payload.length, 0));
      expect((whole[12]! >> 4) * 4).toBeGreaterThanOrEqual(20);
    }
  });

  it('keeps at most maxDatagrams pending, dropping the oldest', async () => {
    const all = [...(await fragments()).values()];
    const d = new Defragmenter({ maxDatagrams: 2, maxBytes: 1 << 20, maxAgeSeconds: 1e9 });
    for (const frags of all.slice(0, 5)) add(d, frags[0]!);
    expect(d.pendingCount).toBe(2);
    expect(d.dropped).toBe(3);
    // The survivors are the two newest: their remaining fragments complete them.
    for (const frags of all.slice(3, 5)) {
      const outs = frags.slice(1).map((f) => add(d, f));
      expect(outs.at(-1)).not.toBeNull();
    }
  });

  it('keeps at most maxBytes buffered', async () => {
    const all = [...(await fragments()).values()];
    const d = new Defragmenter({ maxDatagrams: 100, maxBytes: 64, maxAgeSeconds: 1e9 });
    for (const frags of all) add(d, frags[0]!);
    expect(d.bufferedBytes).toBeLessThanOrEqual(64);
    expect(d.dropped).toBeGreaterThan(0);
  });

  it('drops a datagram whose fragments are older than maxAgeSeconds', async () => {
    const frags = [...(await fragments()).values()][0]!;
    const d = new Defragmenter({ maxDatagrams: 10, maxBytes: 1 << 20, maxAgeSeconds: 30 });
    add(d, frags[0]!, 1000);
    const rest = frags.slice(1).map((f) => add(d, f, 1031));
    expect(rest.every((o) => o === null)).toBe(true);
    expect(d.dropped).toBe(1);
  });

  it('rejects fragments that would build a datagram over 65535 bytes or misaligned middle pieces', async () => {
    const f = [...(await fragments()).values()][0]![0]!;
    const d = new Defragmenter();
    expect(d.add('x', 0, 1, 65528, true, f.payload, 0, f.payload.length)).toBeNull();
    expect(d.add('y', 0, 1, 0, true, f.payload, 0, 7)).toBeNull();
    expect(d.pendingCount).toBe(0);
    expect(d.dropped).toBe(2);
  });
});

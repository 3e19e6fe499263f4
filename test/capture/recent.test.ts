import { describe, expect, it } from 'vitest';
import { RecentPackets } from '../../src/capture/recent.js';
import type { PacketRecord } from '../../src/capture/types.js';

function rec(frame: number, bytes: Buffer, offset = 0, caplen = bytes.length - offset): PacketRecord {
  return { frame, ts: frame, linkType: 1, buf: bytes, offset, caplen, wirelen: caplen, fileOffset: -1, interfaceId: 0 };
}

describe('RecentPackets', () => {
  it('keeps a copy of the packet bytes: the reader may reuse its buffer', () => {
    const shared = Buffer.from('xxABCDyy');
    const r = new RecentPackets();
    r.add(rec(1, shared, 2, 4));
    shared.fill(0);
    const got = r.get(1)!;
    expect(got.buf.subarray(got.offset, got.offset + got.caplen).toString()).toBe('ABCD');
  });

  it('an owned record is kept as given, without a copy', () => {
    const mine = Buffer.from('frame');
    const r = new RecentPackets();
    const given = rec(1, mine);
    r.add(given, true);
    expect(r.get(1)).toBe(given);
    expect(r.get(1)!.buf).toBe(mine);
  });

  it('is bounded by bytes and by count, dropping the oldest first', () => {
    const byBytes = new RecentPackets(10, 1000);
    for (let f = 1; f <= 5; f++) byBytes.add(rec(f, Buffer.alloc(4)));
    expect(byBytes.range()).toEqual([4, 5]);
    expect(byBytes.get(3)).toBeNull();
    expect(byBytes.dropped).toBe(3);
    const byCount = new RecentPackets(1 << 20, 3);
    for (let f = 1; f <= 10; f++) byCount.add(rec(f, Buffer.alloc(1)), f % 2 === 0);
    expect(byCount.range()).toEqual([8, 10]);
    expect([8, 9, 10].map((f) => byCount.get(f)?.frame)).toEqual([8, 9, 10]);
    expect(new RecentPackets().range()).toBeNull();
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newPacketRecord, type RecordParser } from '../../src/capture/parser.js';
import { PcapParser } from '../../src/capture/pcap.js';
import { PcapngParser } from '../../src/capture/pcapng.js';
import { emptyInfo } from '../../src/capture/open.js';
import { capturePath, snapshot, type SeenPacket } from './helpers.js';

/** Runs a parser over `bytes` delivered in pieces ending at `cuts`, the way the reader loop does. */
function parseInPieces(bytes: Buffer, format: 'pcap' | 'pcapng', cuts: number[]): { packets: SeenPacket[]; comments: string[] } {
  const info = emptyInfo('split', format, false);
  const packets: SeenPacket[] = [];
  const ctx = { info, rec: newPacketRecord(), onPacket: (r: Parameters<typeof snapshot>[0]) => packets.push(snapshot(r)) };
  const parser: RecordParser = format === 'pcap' ? new PcapParser(ctx) : new PcapngParser(ctx);
  // Each piece is a fresh buffer holding the unconsumed tail plus the new bytes, as after compaction.
  let pending = Buffer.alloc(0);
  let base = 0;
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    const buf = Buffer.concat([pending, bytes.subarray(prev, cut)]);
    prev = cut;
    const pos = parser.parse(buf, 0, buf.length, base);
    if (parser.damage) expect(parser.damage).toBeNull();
    pending = Buffer.from(buf.subarray(pos));
    base += pos;
  }
  if (pending.length) expect(pending.length).toBe(0);
  return { packets, comments: info.comments };
}

describe.each([
  ['captures/fixtures/ipv4-be-ns.pcap', 'pcap'],
  ['captures/public/zeek/ipv6.pcap', 'pcap'],
  ['captures/fixtures/ipv4-multisection.pcapng', 'pcapng'],
  ['captures/fixtures/ipv4-pb-comments.pcapng', 'pcapng'],
  ['captures/fixtures/ipv4-spb.pcapng', 'pcapng'],
] as const)('%s', (rel, format) => {
  const bytes = readFileSync(capturePath(rel));
  const whole = parseInPieces(bytes, format, []);

  it('gives the same packets split at every byte offset', () => {
    expect(whole.packets.length).toBeGreaterThan(50);
    const want = JSON.stringify(whole);
    for (let cut = 1; cut < bytes.length; cut++) {
      const split = parseInPieces(bytes, format, [cut]);
      if (JSON.stringify(split) !== want) expect(split, `cut ${cut}`).toEqual(whole);
    }
  });

  it('gives the same packets fed in 7-byte pieces', () => {
    const cuts = [];
    for (let c = 7; c < bytes.length; c += 7) cuts.push(c);
    expect(parseInPieces(bytes, format, cuts).packets).toEqual(whole.packets);
  });
});

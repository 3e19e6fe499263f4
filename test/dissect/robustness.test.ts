import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/open.js';
import type { PacketRecord } from '../../src/capture/types.js';
import { FastDecoder, newFastPacket } from '../../src/dissect/fast.js';
import { dissect } from '../../src/dissect/dissect.js';
import { Defragmenter } from '../../src/dissect/defrag.js';
import type { Dissection, Field } from '../../src/dissect/field.js';
import { CAPTURES } from './expected.js';

/** One capture per framing the decoders know, plus fragments and extension headers. */
const SAMPLES = [
  'public/zeek/ipv6.pcap', 'fixtures/dissect/vlan-qinq.pcap', 'fixtures/dissect/sll-ipv4.pcap', 'fixtures/dissect/sll2-ipv6.pcap',
  'fixtures/dissect/null-be-ipv4.pcap', 'fixtures/dissect/loop-ipv6.pcap', 'fixtures/dissect/raw-101-ipv4.pcap',
  'fixtures/dissect/ipv4-228.pcap', 'fixtures/dissect/ipv6-229.pcap', 'fixtures/dissect/ipv4-options.pcap',
  'fixtures/dissect/ipv4-fragments.pcap', 'fixtures/dissect/ipv6-ext-headers.pcap', 'fixtures/dissect/ipv6-fragments.pcap',
];

async function packets(rel: string, max = 60): Promise<PacketRecord[]> {
  const out: PacketRecord[] = [];
  await readCapture(join(CAPTURES, rel), (r) => {
    if (out.length < max) out.push({ ...r, buf: Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen)), offset: 0 });
  });
  return out;
}

/** Every field and layer must lie inside the bytes it points into, or the hex view would highlight nothing. */
function rangesInside(d: Dissection): string | null {
  for (const l of d.layers) {
    const size = l.source === 'reassembled' ? d.reassembled?.bytes.length ?? 0 : d.bytes.length;
    if (l.offset < 0 || l.offset + l.length > size) return `layer ${l.name} [${l.offset}+${l.length}] outside ${size} bytes`;
    const walk = (fs: Field[]): string | null => {
      for (const f of fs) {
        if (f.offset < 0 || f.length < 0 || f.offset + f.length > size) return `${f.name} [${f.offset}+${f.length}] outside ${size} bytes`;
        const c = f.children && walk(f.children);
        if (c) return c;
      }
      return null;
    };
    const bad = walk(l.fields);
    if (bad) return bad;
  }
  return null;
}

/** xorshift32: the same "random" flips on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

const KINDS = new Set(['tcp', 'fragment', 'other', 'malformed']);

describe('decoders never throw on cut or damaged packets, and every range stays inside the bytes', () => {
  for (const rel of SAMPLES) {
    it(`${rel}: each packet cut at every length, and with random byte flips`, async () => {
      const recs = await packets(rel);
      expect(recs.length).toBeGreaterThan(0);
      const fast = new FastDecoder(new Defragmenter({ maxDatagrams: 8, maxBytes: 64 * 1024, maxAgeSeconds: 30 }));
      const full = new Defragmenter({ maxDatagrams: 8, maxBytes: 64 * 1024, maxAgeSeconds: 30 });
      const pkt = newFastPacket();
      const problems: string[] = [];
      const next = rng(0x5eed ^ rel.length);
      const run = (r: PacketRecord, what: string) => {
        fast.decode(r, pkt);
        if (!KINDS.has(pkt.kind)) problems.push(`${what}: kind ${pkt.kind}`);
        if (pkt.kind === 'tcp' && (pkt.payloadOffset + pkt.payloadLength > pkt.buf.length || pkt.payloadLength < 0)) problems.push(`${what}: payload outside the buffer`);
        const bad = rangesInside(dissect(r, { defrag: full, tcp: { senderIsn: 1, receiverIsn: 2, senderWindowShift: 7 }, ftp: { channel: 'control', fromClient: r.frame % 2 === 0 } }));
        if (bad) problems.push(`${what}: ${bad}`);
      };
      for (const r of recs) {
        for (let cut = 0; cut <= r.caplen; cut++) run({ ...r, caplen: cut }, `frame ${r.frame} cut to ${cut}`);
        for (let k = 0; k < 64; k++) {
          const buf = Buffer.from(r.buf);
          const flips = 1 + (next() % 4);
          for (let f = 0; f < flips; f++) buf[next() % buf.length] = next() & 0xff;
          run({ ...r, buf }, `frame ${r.frame} flip #${k}`);
        }
      }
      expect(problems.slice(0, 10)).toEqual([]);
    });
  }
});

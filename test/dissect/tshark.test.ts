import { describe, it, expect } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import { FastDecoder, newFastPacket } from '../../src/dissect/fast.js';
import { dissect } from '../../src/dissect/dissect.js';
import { Defragmenter } from '../../src/dissect/defrag.js';
import { listCaptures, loadExpected, findField, unmapped, TSHARK_STATUS, CAPTURES, type TsharkRow } from './expected.js';
import type { Dissection } from '../../src/dissect/field.js';
import type { FastPacket } from '../../src/dissect/types.js';
import { join } from 'node:path';

/** The values both paths must agree on with tshark, as strings, '' where tshark shows nothing. */
interface Seen {
  src: string; dst: string; srcport: string; dstport: string; seq: string; ack: string;
  flags: string; window: string; len: string; ipck: string; tcpck: string;
}

function fromTshark(r: TsharkRow): Seen {
  const isTcp = r['tcp.srcport'] !== '' && !/icmp/.test(r['frame.protocols'] ?? '');
  const t = (k: string) => (isTcp ? r[k]! : '');
  return {
    src: r['ip.src'] || r['ipv6.src'] || '', dst: r['ip.dst'] || r['ipv6.dst'] || '',
    srcport: t('tcp.srcport'), dstport: t('tcp.dstport'), seq: t('tcp.seq_raw'), ack: t('tcp.ack_raw'),
    flags: isTcp ? String(parseInt(r['tcp.flags']!, 16) & 0x1ff) : '', window: t('tcp.window_size_value'), len: t('tcp.len'),
    ipck: TSHARK_STATUS[r['ip.checksum.status']!] ?? '', tcpck: isTcp ? TSHARK_STATUS[r['tcp.checksum.status']!] ?? '' : '',
  };
}

function fromFast(p: FastPacket, isTcp: boolean, expected: Seen): Partial<Seen> {
  const hasAddr = p.kind !== 'malformed' && expected.src !== '';
  const out: Partial<Seen> = { src: hasAddr ? p.src : '', dst: hasAddr ? p.dst : '' };
  if (!isTcp) return { ...out, srcport: '', dstport: '', seq: '', ack: '', flags: '', window: '', len: '' };
  return {
    ...out, srcport: String(p.srcPort), dstport: String(p.dstPort), seq: String(p.seq), ack: String(p.ack),
    flags: String(p.flags & 0x1ff), window: String(p.window), len: String(p.payloadWireLength),
  };
}

function fromFull(d: Dissection): Seen {
  const v = (name: string) => { const f = findField(d, name); return f ? String(f.value) : ''; };
  const tcpck = findField(d, 'tcp.checksum.status');
  const hasTcp = d.layers.some((l) => l.name === 'tcp') && v('tcp.srcport') !== '';
  const ipck = v('ip.checksum.status');
  return {
    src: v('ip.src') || v('ipv6.src'), dst: v('ip.dst') || v('ipv6.dst'),
    srcport: v('tcp.srcport'), dstport: v('tcp.dstport'), seq: v('tcp.seq_raw'), ack: v('tcp.ack_raw'),
    flags: hasTcp ? String(Number(v('tcp.flags')) & 0x1ff) : '', window: v('tcp.window_size_value'), len: v('tcp.len'),
    ipck,
    // tshark calls an offloaded (pseudo-header only) checksum bad; ftpscope says unverified, likely offload.
    tcpck: tcpck ? (tcpck.value === 'unverified' && /offload/.test(tcpck.display) ? 'bad' : String(tcpck.value)) : '',
  };
}

const captures = listCaptures();

describe('fast path and full dissection agree with tshark on every packet of every bundled capture', () => {
  it('finds captures to check', () => {
    expect(captures.length).toBeGreaterThan(0);
  });

  for (const rel of captures) {
    it(rel, async () => {
      const rows = loadExpected(rel);
      if (!rows) {
        throw new Error(`captures/expected/${rel}.tsv is missing: run captures/tshark-fields.sh captures/${rel} and commit the .tsv`);
      }
      const fast = new FastDecoder();
      const pkt = newFastPacket();
      const fullDefrag = new Defragmenter();
      const mismatches: string[] = [];
      let seen = 0;
      const check = (frame: number, what: string, got: Partial<Seen>, want: Seen) => {
        for (const k of Object.keys(got) as (keyof Seen)[]) {
          const w = k === 'src' || k === 'dst' ? (what === 'fast' ? unmapped(want[k]) : want[k]) : want[k];
          if (got[k] !== w && mismatches.length < 20) mismatches.push(`frame ${frame} ${what} ${k}: got '${got[k]}', tshark '${w}'`);
        }
      };
      try {
        await readCapture(join(CAPTURES, rel), (rec) => {
          seen++;
          const row = rows.get(rec.frame);
          if (!row) { if (mismatches.length < 20) mismatches.push(`frame ${rec.frame}: not in tshark's output`); return; }
          const want = fromTshark(row);
          const isTcp = fast.decode(rec, pkt);
          if (isTcp !== (want.srcport !== '') && mismatches.length < 20) mismatches.push(`frame ${rec.frame} fast: kind ${pkt.kind}, tshark ${want.srcport ? 'tcp' : 'not tcp'}`);
          check(rec.frame, 'fast', fromFast(pkt, isTcp, want), want);
          check(rec.frame, 'full', fromFull(dissect(rec, { defrag: fullDefrag })), want);
        });
      } catch (e) {
        if (rows.size > 0) throw e;
      }
      expect(mismatches).toEqual([]);
      expect(seen).toBe(rows.size);
    });
  }
});

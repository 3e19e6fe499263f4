import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/open.js';
import { dissect } from '../../src/dissect/dissect.js';
import { Defragmenter } from '../../src/dissect/defrag.js';
import type { Dissection, Field } from '../../src/dissect/field.js';
import { listCaptures, loadExpected, all, CAPTURES } from './expected.js';

/** Header fields whose every occurrence in a packet must equal tshark's, in order (names as Wireshark's). */
const FIELDS = [
  'eth.src', 'eth.dst', 'vlan.id', 'vlan.priority', 'vlan.etype', 'sll.pkttype', 'sll.hatype', 'sll.etype', 'sll.ifindex',
  'null.family', 'ip.hdr_len', 'ip.len', 'ip.id', 'ip.ttl', 'ip.flags.df', 'ip.flags.mf', 'ip.frag_offset', 'ip.opt.type',
  'ip.checksum', 'ipv6.plen', 'ipv6.nxt', 'ipv6.hlim', 'ipv6.flow', 'ipv6.hopopts.nxt', 'ipv6.dstopts.nxt',
  'ipv6.routing.type', 'ipv6.fraghdr.ident', 'tcp.hdr_len', 'tcp.urgent_pointer', 'tcp.checksum', 'tcp.options.mss_val',
  'tcp.options.wscale.shift', 'tcp.options.timestamp.tsval', 'tcp.options.timestamp.tsecr',
];

function values(d: Dissection, name: string): string[] {
  const out: string[] = [];
  const walk = (fs: Field[]) => {
    for (const f of fs) {
      if (f.name === name) out.push(norm(f.value));
      if (f.children) walk(f.children);
    }
  };
  for (const l of d.layers) walk(l.fields);
  return out;
}

/** tshark prints some numbers in hex (ip.id 0x36c8) and booleans as 1/0; compare as numbers where both are. */
function norm(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  const s = String(v);
  if (/^0x[0-9a-f]+$/i.test(s)) return String(parseInt(s, 16));
  return s;
}

const captures = listCaptures().filter((rel) => loadExpected(rel) !== null);

describe('every header field agrees with tshark (all occurrences, in order)', () => {
  for (const rel of captures) {
    it(rel, async () => {
      const rows = loadExpected(rel)!;
      const defrag = new Defragmenter();
      const bad: string[] = [];
      const missing = FIELDS.filter((f) => ![...rows.values()][0] || !(f in [...rows.values()][0]!));
      if (rows.size > 0 && missing.length > 0) throw new Error(`captures/expected/${rel}.tsv lacks ${missing.join(', ')}: rerun captures/tshark-fields.sh`);
      try {
        await readCapture(join(CAPTURES, rel), (rec) => {
          const row = rows.get(rec.frame);
          if (!row || /icmp/.test(row['frame.protocols']!)) return;
          const d = dissect(rec, { defrag });
          for (const name of FIELDS) {
            const got = values(d, name);
            const want = all(row[name]).map(norm);
            if (got.join(',') !== want.join(',') && bad.length < 20) bad.push(`frame ${rec.frame} ${name}: got [${got}], tshark [${want}]`);
          }
        });
      } catch (e) {
        if (rows.size > 0) throw e;
      }
      expect(bad).toEqual([]);
    });
  }
});

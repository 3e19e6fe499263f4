import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/open.js';
import { FastDecoder, newFastPacket } from '../../src/dissect/fast.js';
import { dissect } from '../../src/dissect/dissect.js';
import { ContextTracker } from '../../src/dissect/context.js';
import { Defragmenter } from '../../src/dissect/defrag.js';
import type { Dissection, Field } from '../../src/dissect/field.js';
import { listCaptures, loadExpected, first, all, CAPTURES } from './expected.js';

function fieldsNamed(d: Dissection, name: string): Field[] {
  const out: Field[] = [];
  const walk = (fs: Field[]) => { for (const f of fs) { if (f.name === name) out.push(f); if (f.children) walk(f.children); } };
  for (const l of d.layers) walk(l.fields);
  return out;
}
const one = (d: Dissection, name: string) => { const f = fieldsNamed(d, name)[0]; return f ? String(f.value) : ''; };

// tshark decodes FTP on port 21 only and stops at AUTH TLS; ContextTracker does the same by default.
const captures = listCaptures().filter((rel) => loadExpected(rel) !== null);

describe('with connection context learned by ContextTracker, full dissection agrees with tshark', () => {
  for (const rel of captures) {
    it(`${rel}: relative seq/ack, scaled window, FTP request and response fields`, async () => {
      const rows = loadExpected(rel)!;
      const fast = new FastDecoder();
      const pkt = newFastPacket();
      const tracker = new ContextTracker();
      const defrag = new Defragmenter();
      const bad: string[] = [];
      const cmp = (frame: number, what: string, got: unknown, want: unknown) => {
        if (JSON.stringify(got) !== JSON.stringify(want) && bad.length < 20) bad.push(`frame ${frame} ${what}: got ${JSON.stringify(got)}, tshark ${JSON.stringify(want)}`);
      };
      let ftpLines = 0;
      let dataFrames = 0;
      try {
        await readCapture(join(CAPTURES, rel), (rec) => {
          const row = rows.get(rec.frame);
          if (!row) return;
          const isTcp = fast.decode(rec, pkt);
          const ctx = isTcp ? tracker.observe(pkt) : {};
          const d = dissect(rec, { ...ctx, defrag });
          if (!isTcp || /icmp/.test(row['frame.protocols']!)) return;
          cmp(rec.frame, 'tcp.seq', one(d, 'tcp.seq'), first(row['tcp.seq']));
          cmp(rec.frame, 'tcp.ack', one(d, 'tcp.ack'), first(row['tcp.ack']));
          // Without a known scale tshark shows the raw value as the window size.
          cmp(rec.frame, 'tcp.window_size', one(d, 'tcp.window_size') || one(d, 'tcp.window_size_value'), first(row['tcp.window_size']));
          // Every data connection tshark recognizes (it misses some: EPRT, active mode from ports other than 20), we do too.
          if (/:ftp-data/.test(row['frame.protocols']!)) {
            dataFrames++;
            if (!d.layers.some((l) => l.name === 'ftp-data')) cmp(rec.frame, 'ftp-data layer', 'missing', 'present');
          }
          // SACK edges are in the receiver's sequence space, relative to its ISN as tshark shows them.
          const sack = (name: string) => fieldsNamed(d, name).map((f) => f.display.split(' ')[0]);
          cmp(rec.frame, 'tcp.options.sack_le', sack('tcp.options.sack_le'), all(row['tcp.options.sack_le']));
          cmp(rec.frame, 'tcp.options.sack_re', sack('tcp.options.sack_re'), all(row['tcp.options.sack_re']));
          // tshark decodes the first line of a segment only; ftpscope gives one field per line.
          const line = d.layers.find((l) => l.name === 'ftp')?.fields[0];
          const kids = (name: string) => (line?.children ?? []).filter((f) => f.name === name);
          const ftp = {
            cmd: kids('ftp.request.command').map((f) => String(f.display)),
            arg: kids('ftp.request.arg').map((f) => String(f.value)),
            code: kids('ftp.response.code').map((f) => String(f.value)),
            rarg: kids('ftp.response.arg').map((f) => String(f.value)),
          };
          const want = {
            cmd: all(row['ftp.request.command']), arg: all(row['ftp.request.arg']),
            code: all(row['ftp.response.code']), rarg: all(row['ftp.response.arg']),
          };
          // tshark hands retransmitted segments to no dissector; ftpscope still decodes them.
          if (!/:ftp/.test(row['frame.protocols']!) && line) return;
          // After AUTH TLS tshark 4.0 decodes TLS records as FTP lines; ftpscope knows the channel turned to TLS.
          if (!line && [...want.cmd, ...want.rarg].some((t) => /^[\x00-\x1f]/.test(t))) return;
          ftpLines += want.cmd.length + want.code.length;
          // Bytes outside ASCII (Telnet IAC before ABOR): tshark writes U+FFFD, ftpscope Latin-1.
          const ascii = (o: Record<string, string[]>) => JSON.parse(JSON.stringify(o).replace(/[^\x00-\x7f]|\\ufffd/g, '?'));
          cmp(rec.frame, 'ftp', ascii(ftp), ascii(want));
        });
      } catch (e) {
        if (rows.size > 0) throw e;
      }
      expect(bad).toEqual([]);
      if (/zeek|suricata/.test(rel) && !/bigtransfer/.test(rel)) expect(ftpLines).toBeGreaterThan(0);
      if (/ftp-download|bug-4877|retr/.test(rel)) expect(dataFrames).toBeGreaterThan(0);
    });
  }
});

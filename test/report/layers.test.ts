import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { readFrame } from '../../src/capture/open.js';
import { dissect } from '../../src/dissect/dissect.js';
import type { Field } from '../../src/dissect/field.js';
import { dissectionToJson, fieldLine, hexDumpLines, hexRows, renderLayersText, rowOfOffset, treeRows } from '../../src/report/layers.js';
import { layerRows } from '../../src/tui/views/layers.js';

const ROOT = join(import.meta.dirname, '..', '..');
const IPV4 = join(ROOT, 'captures/public/zeek/ipv4.pcap');

async function frame(n: number) {
  const { rec } = await readFrame(IPV4, n);
  return dissect(rec, { tcp: { senderIsn: 1843701389, receiverIsn: 616064503, senderWindowShift: 6 }, ftp: { channel: 'control', fromClient: true } });
}

const find = (fs: Field[], name: string): Field | undefined => {
  for (const f of fs) {
    if (f.name === name) return f;
    const c = f.children && find(f.children, name);
    if (c) return c;
  }
  return undefined;
};

describe('hexRows: the row model the hex views draw', () => {
  it('covers every byte once, 16 to a row, with hex and ASCII text', async () => {
    const d = await frame(6);
    const rows = hexRows(d.bytes);
    expect(rows.length).toBe(Math.ceil(d.bytes.length / 16));
    expect(Buffer.from(rows.flatMap((r) => r.bytes)).equals(d.bytes)).toBe(true);
    const hex = d.bytes.subarray(0, 16).toString('hex').match(/../g)!;
    expect(rows[0]!.hex).toBe(`${hex.slice(0, 8).join(' ')}  ${hex.slice(8).join(' ')}`);
    expect(rows.at(-1)!.hex.length).toBe(rows[0]!.hex.length);
    expect(rows.at(-1)!.ascii).toBe(d.bytes.subarray(rows.at(-1)!.offset).toString('latin1').replace(/[^\x20-\x7e]/g, '.'));
  });

  it('marks each byte with the innermost layer and highlights a field', async () => {
    const d = await frame(6);
    const sport = find(d.layers.find((l) => l.name === 'tcp')!.fields, 'tcp.srcport')!;
    const rows = hexRows(d.bytes, { layers: d.layers, highlight: sport });
    const layerOf = (off: number) => d.layers[rows[rowOfOffset(off)]!.layer[off % 16]!]!.name;
    expect(layerOf(0)).toBe('eth');
    expect(layerOf(14)).toBe('ip');
    expect(layerOf(sport.offset)).toBe('tcp');
    expect(layerOf(d.bytes.length - 1)).toBe('ftp');
    const lit = rows.flatMap((r, i) => r.highlight.map((h, j) => (h ? i * 16 + j : -1))).filter((x) => x >= 0);
    expect(lit).toEqual([sport.offset, sport.offset + 1]);
  });

  it('builds only the rows asked for (a scrolling view)', async () => {
    const d = await frame(6);
    const rows = hexRows(d.bytes, { firstRow: 2, rowCount: 2 });
    expect(rows.map((r) => r.offset)).toEqual([32, 48]);
  });
});

describe('text and JSON of a dissection', () => {
  it('one block per layer, fields as "label: value (meaning) [range]", children indented, then the marked dump', async () => {
    const d = await frame(6);
    const text = renderLayersText(d);
    for (const l of d.layers) expect(text).toContain(l.label);
    // then, for people learning, what the field means (from the field model)
    expect(text).toMatch(/^ {2}Source port: 50003 \[34-35\] — 50003: an ephemeral port the sender's system picked/m);
    expect(text).toMatch(/^ {2}Sequence number: 1 \(relative sequence number\) \[38-41\] — byte 1 of the sender's stream/m);
    expect(text).toMatch(/^ {4}\.{4} \.{4} \.{3}0 = Fin: Not set \[46-47\] — not closing$/m);
    expect(text).toMatch(/^ {4}Request command: USER \[66-69\] — USER: the user name to log in as$/m);
    expect(text).toMatch(/^ {2}Time to live: 64 \[22-22\] — TTL 64: hops left before a router drops it/m);
    expect(text).toMatch(/^ {2}Window: \d+ \[48-49\] — Window \d+ × \d+ = \d+ bytes the sender can still take/m);
    const dump = hexDumpLines(d.bytes, d.layers.slice(1));
    expect(dump[0]).toMatch(/^0000 {2}00 13 7f be .* \[eth\] \[ip$/);
    expect(dump.at(-1)).toMatch(/ftp\]$/);
    expect(text).toContain(dump.join('\n'));
  });

  it('treeRows gives each line its depth and byte range', async () => {
    const d = await frame(6);
    const rows = treeRows(d);
    const flags = rows.find((r) => r.field?.name === 'tcp.flags')!;
    const syn = rows.find((r) => r.field?.name === 'tcp.flags.syn')!;
    expect(flags.depth).toBe(1);
    expect(syn.depth).toBe(2);
    expect(syn.range).toEqual({ offset: 46, length: 2 });
    expect(rows.filter((r) => r.field === null).map((r) => d.layers[r.layer]!.name)).toEqual(d.layers.map((l) => l.name));
  });

  it('fieldLine does not repeat what the display already says', () => {
    const f = (value: Field['value'], display: string): Field => ({ name: 'x', label: 'Thing', value, display, offset: 3, length: 2 });
    expect(fieldLine(f(5, '5'))).toBe('Thing: 5 [3-4]');
    expect(fieldLine(f(24, '0x0018 (PSH, ACK)'))).toBe('Thing: 0x0018 (PSH, ACK) [3-4]');
    expect(fieldLine(f(6, 'TCP'))).toBe('Thing: 6 (TCP) [3-4]');
    expect(fieldLine(f(20, '20 bytes (5)'))).toBe('Thing: 20 bytes (5) [3-4]');
    expect(fieldLine({ ...f(0, ''), length: 0 })).toBe('Thing');
    // a number the display writes with more digits is not repeated
    expect(fieldLine(f(1795483126.21469, '1795483126.214690000 seconds (2026-11-24T01:18:46.214690Z)')))
      .toBe('Thing: 1795483126.214690000 seconds (2026-11-24T01:18:46.214690Z) [3-4]');
    expect(fieldLine(f(5, '6 (relative)'))).toBe('Thing: 5 (6 (relative)) [3-4]');
  });

  it('JSON has frame, ts, captureLength, wireLength and layers with their fields', async () => {
    const d = await frame(6);
    const j = JSON.parse(JSON.stringify(dissectionToJson(d)));
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['frame', 'ts', 'captureLength', 'wireLength', 'layers']));
    expect(j.frame).toBe(6);
    expect(j.layers.map((l: { name: string }) => l.name)).toEqual(['frame', 'eth', 'ip', 'tcp', 'ftp']);
    for (const l of j.layers) expect(Object.keys(l)).toEqual(expect.arrayContaining(['name', 'offset', 'length', 'fields']));
    expect(Buffer.from(j.bytes, 'hex').equals(d.bytes)).toBe(true);
  });
});

// tshark's view of the same frames, stored by test/report/expected/make.sh (the commands are there).
const EXPECTED = join(import.meta.dirname, 'expected');
const PASV4 = join(ROOT, 'captures/vsftpd-pasv-ipv4.pcap');
const LFTP6 = join(ROOT, 'captures/vsftpd-lftp-ipv6.pcapng');

function tsv(name: string): Array<Record<string, string>> {
  const [head, ...rows] = readFileSync(join(EXPECTED, name), 'utf8').split('\n').filter((l) => l !== '');
  const keys = head!.split('\t');
  return rows.map((r) => Object.fromEntries(r.split('\t').map((v, i) => [keys[i], v])));
}

/** "Nov 24, 2026 01:18:46.109947000 UTC" (tshark's frame.time in UTC) → "2026-11-24T01:18:46.109947Z". */
function isoOfTshark(t: string): string {
  const m = /^(\w{3}) +(\d+), (\d{4}) (\d\d:\d\d:\d\d)\.(\d{6})(\d{3}) UTC$/.exec(t)!;
  const month = String(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].indexOf(m[1]!) + 1).padStart(2, '0');
  return `${m[3]}-${month}-${m[2]!.padStart(2, '0')}T${m[4]}.${m[5]}Z`;
}

describe('epoch time, as tshark prints frame.time_epoch', () => {
  const rows = tsv('vsftpd-pasv-ipv4-epoch.tsv');

  it('covers frames whose microseconds end in 0 (where a float prints fewer digits)', () => {
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.some((r) => /0{4}$/.test(r['frame.time_epoch']!) && !/0{6}$/.test(r['frame.time_epoch']!))).toBe(true);
  });

  it.each(rows.map((r) => [Number(r['frame.number']), r['frame.time_epoch']!, r['frame.time']!]))(
    'frame %i: one line, "Epoch time: <tshark\'s value> seconds (<UTC time>)", in inspect and the layers view',
    async (n, epoch, utc) => {
      const d = dissect((await readFrame(PASV4, n)).rec);
      const want = `Epoch time: ${epoch} seconds (${isoOfTshark(utc)})`;
      const text = renderLayersText(d, { hex: false });
      const lines = text.split('\n').filter((l) => l.includes('Epoch time'));
      expect(lines).toEqual([`  ${want}`]);
      // the seconds are printed once: no second copy of the value in any form
      const seconds = epoch.split('.')[0]!;
      expect(text.split(seconds).length - 1).toBe(1);
      expect(layerRows(d).filter((r) => r.text.includes('Epoch time')).map((r) => r.text)).toEqual([want]);
    },
  );
});

/** The bit-field lines of tshark -V, by protocol heading: label → bit pattern. */
function tsharkBitFields(file: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let proto = '';
  for (const line of readFileSync(join(EXPECTED, file), 'utf8').split('\n')) {
    if (/^\S/.test(line)) { proto = line.split(',')[0]!; out.set(proto, new Map()); continue; }
    const m = /^\s+([01.][01. ]*[01.]) = ([^:]+):/.exec(line);
    if (m) out.get(proto)!.set(m[2]!, m[1]!);
  }
  return out;
}

describe('bit fields: one line each, the label once, tshark\'s bit pattern', () => {
  const cases = [
    { file: PASV4, frame: 6, expected: 'vsftpd-pasv-ipv4-frame6.txt', protos: ['Internet Protocol Version 4', 'Transmission Control Protocol'], atLeast: 15 },
    { file: LFTP6, frame: 3, expected: 'vsftpd-lftp-ipv6-frame3.txt', protos: ['Internet Protocol Version 6', 'Transmission Control Protocol'], atLeast: 12 },
  ];

  it.each(cases)('$expected', async ({ file, frame: n, expected, protos, atLeast }) => {
    const d = dissect((await readFrame(file, n)).rec);
    const tshark = tsharkBitFields(expected);
    // no line says its label twice ("Differentiated Services Codepoint: 0000 00.. = Differentiated Services Codepoint: 0")
    for (const r of [...treeRows(d), ...layerRows(d)]) {
      if (r.field) expect(r.text.split(`${r.field.label}:`).length - 1, r.text).toBe(r.field.display === '' ? 0 : 1);
    }
    // inspect's text and the dashboard's layers rows say the same of every field
    const inspect = renderLayersText(d, { hex: false }).split('\n').map((l) => l.trim()).filter((l) => l !== '');
    expect(layerRows(d).filter((r) => r.field).map((r) => r.text)).toEqual(treeRows(d).filter((r) => r.field).map((r) => r.text));
    let compared = 0;
    for (const r of treeRows(d, { ranges: false })) {
      const want = tshark.get(protos.find((p) => d.layers[r.layer]!.label === p) ?? '');
      const m = /^([01. ]+) = ([^:]+):/.exec(r.text);
      if (!m || !want) continue;
      expect(m[2], r.text).toBe(r.field!.label);
      expect(m[1], `${d.layers[r.layer]!.label}: ${r.text}`).toBe(want.get(r.field!.label));
      compared++;
    }
    expect(compared).toBeGreaterThanOrEqual(atLeast);
    // and each bit-field line is listed once
    const bitLines = inspect.filter((l) => /^[01. ]+ = /.test(l));
    expect(new Set(bitLines).size).toBe(bitLines.length);
  });
});

import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readFrame } from '../../src/capture/open.js';
import { dissect } from '../../src/dissect/dissect.js';
import type { Field } from '../../src/dissect/field.js';
import { dissectionToJson, fieldLine, hexDumpLines, hexRows, renderLayersText, rowOfOffset, treeRows } from '../../src/report/layers.js';

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
    expect(text).toMatch(/^ {2}Source port: 50003 \[34-35\]$/m);
    expect(text).toMatch(/^ {2}Sequence number: 1 \(relative sequence number\) \[38-41\]$/m);
    expect(text).toMatch(/^ {4}\.{4} \.{4} \.{3}0 = Fin: Not set \[46-47\]$/m);
    expect(text).toMatch(/^ {4}Request command: USER \[66-69\]$/m);
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

/**
 * Hex view: offset, hex and ASCII. The selected field's bytes are drawn inverse and enclosed in
 * [ ], the selected layer's bytes underlined, and each row ends with bracketed labels of the
 * layers it covers (the selected one starred), so it reads without colour.
 */
import type { Dissection, Layer } from '../../dissect/field.js';
import type { PaneModel } from '../pane.js';
import type { Row, Segment } from '../terminal.js';
import type { Style } from '../theme.js';

export interface Highlight { layer: { offset: number; length: number } | null; field: { offset: number; length: number } | null; layerIndex: number | null }

/** Bytes per row that leave room for the layer labels. */
export function bytesPerRow(width: number): number {
  return width >= 4 + 2 + 16 * 3 + 2 + 16 + 12 ? 16 : 8;
}

function inside(r: { offset: number; length: number } | null, i: number): boolean {
  return !!r && i >= r.offset && i < r.offset + r.length;
}

function printable(b: number): string {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
}

function layersInRow(layers: Layer[], start: number, end: number): number[] {
  const out: number[] = [];
  layers.forEach((l, i) => {
    if (l.name === 'frame' || l.length <= 0) return;
    if (l.offset < end && l.offset + l.length > start) out.push(i);
  });
  return out;
}

export function hexRow(d: Dissection, row: number, per: number, hl: Highlight): Row {
  const bytes = d.bytes;
  const start = row * per;
  const end = Math.min(bytes.length, start + per);
  const segs: Segment[] = [{ text: start.toString(16).padStart(4, '0') + ' ', style: 'dim' }];
  const push = (text: string, style?: Style): void => {
    const last = segs[segs.length - 1];
    if (last && last.style === style) last.text += text;
    else segs.push({ text, style });
  };
  const styleOf = (i: number): Style | undefined => (inside(hl.field, i) ? 'field' : inside(hl.layer, i) ? 'layer' : undefined);
  for (let i = start; i < start + per; i++) {
    const opens = hl.field && i === hl.field.offset && hl.field.length > 0;
    const closes = hl.field && i === hl.field.offset + hl.field.length && i > start;
    push(opens ? '[' : closes ? ']' : ' ');
    if (i < end) push(bytes[i].toString(16).padStart(2, '0'), styleOf(i));
    else push('  ');
  }
  const closesAtEnd = hl.field && hl.field.length > 0 && hl.field.offset + hl.field.length === start + per;
  push(closesAtEnd ? '] ' : '  ');
  for (let i = start; i < end; i++) push(printable(bytes[i]), styleOf(i));
  push(' '.repeat(start + per - end) + ' ');
  const labels = layersInRow(d.layers, start, end)
    .map((li) => `[${d.layers[li].name}${li === hl.layerIndex ? '*' : ''}]`).join('');
  push(labels, 'dim');
  return segs;
}

export function hexPane(d: Dissection | null, hl: Highlight, width: number, status: string): PaneModel {
  const per = bytesPerRow(width);
  const count = d ? Math.ceil(d.bytes.length / per) : 0;
  return {
    title: d ? `Hex — frame ${d.frame}${hl.field ? `, selected bytes ${hl.field.offset}-${hl.field.offset + hl.field.length - 1}` : ''}` : 'Hex',
    source: { count, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < count ? k : -1) },
    row: (i) => (d ? hexRow(d, i, per, hl) : []),
    empty: status,
    matches: (i, needle) => !!d && hexRow(d, i, per, hl).map((s) => s.text).join('').toLowerCase().includes(needle.toLowerCase()),
  };
}

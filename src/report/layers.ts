import type { Dissection, Field, Layer } from '../dissect/field.js';

/**
 * Views of a Dissection: the text of `ftpscope inspect`, its JSON, and the row models the
 * dashboard's layers tree and hex pane draw from (they colour; the text marks with brackets).
 */

export interface ByteRange {
  offset: number;
  length: number;
}

export interface HexRow {
  /** Offset of the first byte of the row in the dumped bytes. */
  offset: number;
  bytes: number[];
  /** Per byte: index into the layers given (the innermost one covering it), -1 for none. */
  layer: number[];
  /** Per byte: inside the highlight range. */
  highlight: boolean[];
  /** "00 1b 21 3a ..." with a wider gap after 8 bytes, padded to a full row. */
  hex: string;
  /** Printable ASCII, '.' for the rest. */
  ascii: string;
}

export interface HexOptions {
  width?: number;
  highlight?: ByteRange | null;
  /** Layers whose offsets index these bytes: each byte is marked with the innermost layer covering it. */
  layers?: Layer[];
  /** First row and number of rows to build (a scrolling view builds only what it shows). */
  firstRow?: number;
  rowCount?: number;
}

export const HEX_WIDTH = 16;

export function hexRowCount(length: number, width = HEX_WIDTH): number {
  return Math.ceil(length / width);
}

/** The row of the hex view that holds a byte offset. */
export function rowOfOffset(offset: number, width = HEX_WIDTH): number {
  return Math.floor(offset / width);
}

export function hexRows(bytes: Buffer, opts: HexOptions = {}): HexRow[] {
  const width = opts.width ?? HEX_WIDTH;
  const total = hexRowCount(bytes.length, width);
  const first = Math.max(0, opts.firstRow ?? 0);
  const last = Math.min(total, first + (opts.rowCount ?? total));
  const layers = opts.layers ?? [];
  const hl = opts.highlight;
  const rows: HexRow[] = [];
  for (let r = first; r < last; r++) {
    const start = r * width;
    const end = Math.min(bytes.length, start + width);
    const row: HexRow = { offset: start, bytes: [], layer: [], highlight: [], hex: '', ascii: '' };
    const hexParts: string[] = [];
    for (let i = start; i < start + width; i++) {
      if (i >= end) { hexParts.push('  '); continue; }
      const b = bytes[i]!;
      row.bytes.push(b);
      row.layer.push(layerAt(layers, i));
      row.highlight.push(!!hl && i >= hl.offset && i < hl.offset + hl.length);
      hexParts.push(b.toString(16).padStart(2, '0'));
      row.ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
    }
    row.hex = hexParts.slice(0, width / 2).join(' ') + '  ' + hexParts.slice(width / 2).join(' ');
    rows.push(row);
  }
  return rows;
}

/** Innermost (last listed) layer covering the offset; the frame pseudo-layer counts only when nothing else does. */
export function layerAt(layers: Layer[], offset: number): number {
  for (let i = layers.length - 1; i >= 0; i--) {
    const l = layers[i]!;
    if (offset >= l.offset && offset < l.offset + l.length) return i;
  }
  return -1;
}

/** One line of the layers tree: a layer header (field null) or a field at some depth. */
export interface TreeRow {
  layer: number;
  field: Field | null;
  depth: number;
  /** Bytes to highlight when this row is selected, and in which buffer. */
  range: ByteRange;
  source: 'packet' | 'reassembled';
  text: string;
}

/** The layers tree flattened in display order, children indented under their parent. */
export function treeRows(d: Dissection, opts: { ranges?: boolean } = {}): TreeRow[] {
  const rows: TreeRow[] = [];
  const showRange = opts.ranges ?? true;
  d.layers.forEach((l, li) => {
    const source = l.source ?? 'packet';
    rows.push({ layer: li, field: null, depth: 0, range: { offset: l.offset, length: l.length }, source, text: layerTitle(l, showRange) });
    const walk = (fs: Field[], depth: number) => {
      for (const f of fs) {
        rows.push({ layer: li, field: f, depth, range: { offset: f.offset, length: f.length }, source, text: fieldLine(f, showRange) });
        if (f.children) walk(f.children, depth + 1);
      }
    };
    walk(l.fields, 1);
  });
  return rows;
}

export function rangeText(offset: number, length: number): string {
  return length > 0 ? `[${offset}-${offset + length - 1}]` : '';
}

function containsWord(text: string, word: string): boolean {
  const i = text.toLowerCase().indexOf(word.toLowerCase());
  if (i < 0) return false;
  const before = i === 0 ? '' : text[i - 1]!;
  const after = text[i + word.length] ?? '';
  return !/[\w.]/.test(before) && !/[\w]/.test(after);
}

function layerTitle(l: Layer, showRange: boolean): string {
  if (l.name === 'frame') return l.label;
  const where = l.source === 'reassembled' ? ' (in the reassembled datagram)' : '';
  return `${l.label}${showRange && l.length > 0 ? ' ' + rangeText(l.offset, l.length) : ''}${where}`;
}

/**
 * Does the display start with the value written another way ("1795483115.469910000 seconds" for
 * 1795483115.46991)? Only the float's last bits may differ.
 */
function startsWithNumber(display: string, value: number): boolean {
  const m = /^-?\d+(?:\.\d+)?(?![\w.])/.exec(display);
  if (!m) return false;
  const n = Number(m[0]);
  return Math.abs(n - value) <= Math.max(1, Math.abs(value)) * Number.EPSILON * 4;
}

/** A bit field's line as Wireshark writes it: "0000 00.. = Differentiated Services Codepoint: 0". */
const BIT_FIELD_LINE = /^[01. ]+ = /;

/** "label: value (meaning) [start-end]", without repeating what the display already says. */
export function fieldLine(f: Field, showRange = true): string {
  const v = f.value === null ? '' : String(f.value);
  let text: string;
  if (BIT_FIELD_LINE.test(f.display)) text = f.display; // bit fields spell their own label
  else if (f.display === '') text = f.label;
  else if (v === '' || typeof f.value === 'boolean' || f.display.startsWith('0x') || containsWord(f.display, v)
    || (typeof f.value === 'number' && startsWithNumber(f.display, f.value))) {
    text = `${f.label}: ${f.display}`;
  } else {
    text = `${f.label}: ${v} (${f.display})`;
  }
  const r = showRange ? rangeText(f.offset, f.length) : '';
  const withRange = r ? `${text} ${r}` : text;
  // The meaning teaches; it follows the value and its bytes so those stay where people look for them.
  return f.meaning && !text.includes(f.meaning) ? `${withRange} — ${f.meaning}` : withRange;
}

/** The text of `ftpscope inspect`: the layer tree, then the hex+ASCII dump with layers marked. */
export function renderLayersText(d: Dissection, opts: { hex?: boolean } = {}): string {
  const out: string[] = [];
  for (const r of treeRows(d)) out.push('  '.repeat(r.depth) + r.text);
  if (opts.hex ?? true) {
    out.push('');
    out.push(...hexDumpLines(d.bytes, d.layers.filter((l) => (l.source ?? 'packet') === 'packet' && l.name !== 'frame')));
    if (d.reassembled) {
      out.push('');
      out.push(`Reassembled IP payload: ${d.reassembled.bytes.length} bytes from frames ${d.reassembled.frames.join(', ')}`);
      out.push(...hexDumpLines(d.reassembled.bytes, d.layers.filter((l) => l.source === 'reassembled')));
    }
  }
  return out.join('\n') + '\n';
}

/**
 * "0000  00 1b 21 3a 4b 5c 00 11  22 33 44 55 08 00 45 00  ..!:K\..\"3DU..E.  [eth][ip"
 * A layer's bracket opens on the row where it starts and closes on the row where it ends.
 */
export function hexDumpLines(bytes: Buffer, layers: Layer[]): string[] {
  const digits = Math.max(4, bytes.length.toString(16).length);
  return hexRows(bytes, { layers }).map((row) => {
    const end = row.offset + row.bytes.length;
    const marks: string[] = [];
    for (const l of layers) {
      const lEnd = l.offset + l.length;
      if (l.length <= 0 || l.offset >= end || lEnd <= row.offset) continue;
      const opens = l.offset >= row.offset;
      const closes = lEnd <= end;
      marks.push(`${opens ? '[' : ''}${opens || closes ? l.name : `${l.name}…`}${closes ? ']' : ''}`);
    }
    const pad = ' '.repeat(HEX_WIDTH - row.bytes.length);
    return `${row.offset.toString(16).padStart(digits, '0')}  ${row.hex}  ${row.ascii}${pad}  ${marks.join(' ')}`.trimEnd();
  });
}

/** `inspect --json`: {frame, ts, captureLength, wireLength, layers: [{name, offset, length, fields}]} plus the bytes. */
export function dissectionToJson(d: Dissection): object {
  const out: Record<string, unknown> = {
    frame: d.frame, ts: d.ts, captureLength: d.captureLength, wireLength: d.wireLength,
    layers: d.layers.map((l) => ({
      name: l.name, label: l.label, offset: l.offset, length: l.length,
      ...(l.source === 'reassembled' ? { source: 'reassembled' } : {}),
      fields: l.fields,
    })),
    bytes: d.bytes.toString('hex'),
  };
  if (d.reassembled) out.reassembled = { frames: d.reassembled.frames, bytes: d.reassembled.bytes.toString('hex') };
  return out;
}

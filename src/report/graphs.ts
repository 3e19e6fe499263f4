/**
 * Graphs of a transfer, in text: a sparkline of its throughput with a strip of what limited each
 * stretch (report --graphs, flow --graphs), and for the dashboard a time–sequence graph (Stevens /
 * tcptrace style: data segments, the ACK line, the receive-window line, retransmissions marked)
 * and a throughput graph, drawn with braille and block characters.
 *
 * Every series has its own glyphs, so the graphs read without colour: data segments are braille
 * dots, the ACK line ─, the window line ┄, a retransmission R, a zero window Z, the limiting
 * causes letters (R receiver, L loss, W window, S sender). Colour, where the viewer has it, only
 * repeats that (each segment carries its kind).
 *
 * Drawn here rather than with a package (README, Dependencies): blessed-contrib tells series apart by
 * colour only and brings a dozen dependencies, asciichart has no markers, drawille is a bare canvas;
 * none gives a glyph per series (NO_COLOR) or maps a cursor column back to a packet.
 */
import type { PacketFact } from '../model/packet-facts.js';
import { TA_ANY_RETRANSMISSION, TA_ZERO_WINDOW, type LimitingCause, type TcpTransferAnalysis } from '../model/tcp-analysis.js';
import { formatBytes, formatDuration } from './format.js';

/** What a graph cell shows (a viewer colours by it; the glyph alone already tells them apart). */
export type GraphKind = 'data' | 'ack' | 'window' | 'retx' | 'zero' | 'axis' | 'cursor' | 'bar'
  | 'receiver' | 'loss' | 'window-limited' | 'sender';

export interface GraphSegment { text: string; kind: GraphKind | null }
export type GraphLine = GraphSegment[];

export const SPARK = ' ▁▂▃▄▅▆▇█';
const CAUSE_LETTER: Record<LimitingCause, string> = { receiver: 'R', loss: 'L', window: 'W', sender: 'S' };
const CAUSE_KIND: Record<LimitingCause, GraphKind> = { receiver: 'receiver', loss: 'loss', window: 'window-limited', sender: 'sender' };
export const CAUSE_LEGEND = 'R receiver, L loss, W window, S sender';

/** Values resampled to `width` columns: summed when compressing, repeated when stretching. */
export function resample(values: readonly number[], width: number): number[] {
  const n = values.length;
  if (n === 0 || width <= 0) return [];
  if (n <= width) return Array.from({ length: width }, (_, c) => values[Math.floor((c * n) / width)]!);
  const out: number[] = [];
  for (let c = 0; c < width; c++) {
    const from = Math.floor((c * n) / width);
    const to = Math.max(from + 1, Math.floor(((c + 1) * n) / width));
    let sum = 0;
    for (let i = from; i < to; i++) sum += values[i]!;
    out.push(sum / (to - from));
  }
  return out;
}

/** ▁▂▃▄▅▆▇█ by value, a blank where it is zero (a stall shows as a gap). */
export function sparkline(values: readonly number[], width: number): string {
  const v = resample(values, width);
  const max = Math.max(0, ...v);
  return v.map((x) => (x <= 0 || max === 0 ? ' ' : SPARK[Math.max(1, Math.ceil((x / max) * 8))])).join('');
}

/** One letter per column: the cause that limited the most buckets under it, · where none did. */
export function causeStrip(causes: readonly (LimitingCause | null)[], width: number): string {
  const n = causes.length;
  if (n === 0) return '';
  let out = '';
  for (let c = 0; c < width; c++) {
    const from = Math.floor((c * n) / width);
    const to = Math.max(from + 1, Math.floor(((c + 1) * n) / width));
    const count: Partial<Record<LimitingCause, number>> = {};
    let best: LimitingCause | null = null;
    for (let i = from; i < to && i < n; i++) {
      const k = causes[i];
      if (!k) continue;
      count[k] = (count[k] ?? 0) + 1;
      if (best === null || count[k]! > count[best]!) best = k;
    }
    out += best ? CAUSE_LETTER[best] : '·';
  }
  return out;
}

function rate(bytesPerSec: number): string {
  return `${formatBytes(bytesPerSec)}/s`;
}

/** "512.0 KiB in 1.9 s (272.6 KiB/s); RTT 201 ms; 0 retransmitted; limited by window 62%" */
export function transferSummaryText(a: TcpTransferAnalysis): string {
  const parts = [`${formatBytes(a.bytes)} in ${formatDuration(a.durationSec)}${a.throughput !== null ? ` (${rate(a.throughput)})` : ''}`];
  if (a.pathRttMs !== null) parts.push(`RTT ${a.pathRttMs.toFixed(a.pathRttMs < 10 ? 2 : 0)} ms`);
  parts.push(a.retransmittedSegments ? `${a.retransmittedSegments} retransmitted (${formatBytes(a.retransmittedBytes)})${a.rtos ? `, ${a.rtos} RTO` : ''}` : 'no retransmissions');
  if (a.zeroWindow.periods) parts.push(`zero window ${a.zeroWindow.periods}× ${formatDuration(a.zeroWindow.seconds)}`);
  if (a.stalls.length) parts.push(`${a.stalls.length + a.moreStalls} stall${a.stalls.length + a.moreStalls === 1 ? '' : 's'}`);
  const total = a.causeSeconds.receiver + a.causeSeconds.loss + a.causeSeconds.window + a.causeSeconds.sender;
  if (a.limitedBy && total > 0) parts.push(`limited by ${a.limitedBy} ${Math.round((100 * a.causeSeconds[a.limitedBy]) / total)}%`);
  return parts.join('; ');
}

/**
 * The --graphs lines of one transfer: its throughput as a sparkline over its data time, the cause
 * strip under it, and the summary. `width` is the columns available for each line.
 */
export function transferGraphLines(a: TcpTransferAnalysis, width: number): string[] {
  const label = 'throughput ';
  const w = Math.max(8, width - label.length - 2);
  const t = a.timeline;
  const span = t.bytes.length * t.bucketSec;
  const peak = t.bytes.length ? Math.max(...t.bytes) / t.bucketSec : 0;
  return [
    `${label}|${sparkline(t.bytes, w)}|`,
    `${'limited by'.padEnd(label.length)}|${causeStrip(t.cause, w)}|`,
    `${' '.repeat(label.length)} 0 … ${formatDuration(span)}, peak ${rate(peak)} (${CAUSE_LEGEND})`,
    `TCP: ${transferSummaryText(a)}`,
  ];
}

// ---- braille canvas ---------------------------------------------------------------------

/** Dot bits of a braille cell (U+2800 + bits), by [x 0-1][y 0-3]. */
const DOT = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]];

/** A grid of cells, each either braille dots of a series or one glyph (a marker or a line). */
export class Canvas {
  private readonly dots: Uint8Array;
  private readonly dotKind: (GraphKind | null)[];
  private readonly glyph: (string | null)[];
  private readonly glyphKind: (GraphKind | null)[];

  constructor(readonly cols: number, readonly rows: number) {
    this.dots = new Uint8Array(cols * rows);
    this.dotKind = new Array<GraphKind | null>(cols * rows).fill(null);
    this.glyph = new Array<string | null>(cols * rows).fill(null);
    this.glyphKind = new Array<GraphKind | null>(cols * rows).fill(null);
  }

  get width(): number { return this.cols * 2; }
  get height(): number { return this.rows * 4; }

  /** A dot at pixel (x, y), y from the top. */
  dot(x: number, y: number, kind: GraphKind): void {
    const px = Math.round(x);
    const py = Math.round(y);
    if (px < 0 || py < 0 || px >= this.width || py >= this.height) return;
    const i = (py >> 2) * this.cols + (px >> 1);
    this.dots[i]! |= DOT[px & 1]![py & 3]!;
    this.dotKind[i] = kind;
  }

  /** A glyph in cell (col, row); `weak` ones give way to dots and to strong glyphs. */
  mark(col: number, row: number, ch: string, kind: GraphKind, weak = false): void {
    if (col < 0 || row < 0 || col >= this.cols || row >= this.rows) return;
    const i = row * this.cols + col;
    if (weak && (this.glyph[i] !== null || this.dots[i] !== 0)) return;
    this.glyph[i] = ch;
    this.glyphKind[i] = kind;
  }

  lines(): GraphLine[] {
    const out: GraphLine[] = [];
    for (let r = 0; r < this.rows; r++) {
      const line: GraphLine = [];
      for (let c = 0; c < this.cols; c++) {
        const i = r * this.cols + c;
        const g = this.glyph[i];
        const strong = g !== null && this.glyphKind[i] !== 'ack' && this.glyphKind[i] !== 'window';
        const seg: GraphSegment = strong || (g !== null && this.dots[i] === 0)
          ? { text: g!, kind: this.glyphKind[i]! }
          : this.dots[i] !== 0 ? { text: String.fromCharCode(0x2800 + this.dots[i]!), kind: this.dotKind[i]! } : { text: ' ', kind: null };
        const last = line[line.length - 1];
        if (last && last.kind === seg.kind) last.text += seg.text;
        else line.push(seg);
      }
      out.push(line);
    }
    return out;
  }
}

// ---- the dashboard's graphs -------------------------------------------------------------

export interface TransferGraphs {
  /** Graph lines: the time–sequence graph, a rule, the throughput graph, the cause strip, axes and legend. */
  lines: GraphLine[];
  /** The packets the cursor can land on (the connection's, in time order) and the column of each. */
  frames: number[];
  columns: number[];
  /** Column → index into `frames` of the packet nearest that column's time. */
  nearest: number[];
  t0: number;
  t1: number;
}

/**
 * The time–sequence and throughput graphs of one data connection, from its packets' facts:
 * `packets` are the connection's (both directions), `dir` the direction whose data is drawn.
 * `cursor` is a column to mark (the selected packet's), or null.
 */
export function transferGraphs(packets: readonly PacketFact[], dir: 0 | 1, a: TcpTransferAnalysis | null, cols: number, rows: number, cursor: number | null): TransferGraphs {
  const plotW = Math.max(10, cols - 10);
  const seqRows = Math.max(4, Math.floor((rows - 6) * 0.65));
  const tputRows = Math.max(2, rows - 6 - seqRows);
  const ts = packets.map((p) => p.ts);
  const t0 = ts.length ? Math.min(...ts) : 0;
  const t1 = ts.length ? Math.max(...ts) : 1;
  const dt = t1 > t0 ? t1 - t0 : 1;
  const colOf = (t: number): number => Math.min(plotW - 1, Math.max(0, Math.floor(((t - t0) / dt) * plotW)));

  // y scale: the highest data byte, and the window edge up to half as much again.
  let maxSeq = 1;
  for (const p of packets) {
    if (p.dir === dir && p.relSeq !== null) maxSeq = Math.max(maxSeq, p.relSeq + p.len);
  }
  let yMax = maxSeq;
  for (const p of packets) {
    if (p.dir !== dir && p.relAck !== null && p.analysis) yMax = Math.max(yMax, Math.min(p.relAck + p.analysis.windowSize, maxSeq * 1.5));
  }
  const seq = new Canvas(plotW, seqRows);
  const yOf = (s: number): number => seq.height - 1 - (s / yMax) * (seq.height - 1);
  const xOf = (t: number): number => ((t - t0) / dt) * (seq.width - 1);
  let prevAck: { x: number; ack: number; win: number } | null = null;
  const ackLine = (x0: number, x1: number, y: number, ch: string, kind: GraphKind): void => {
    const row = Math.min(seq.rows - 1, Math.max(0, Math.floor(y / 4)));
    for (let c = Math.floor(x0 / 2); c <= Math.floor(x1 / 2); c++) seq.mark(c, row, ch, kind, true);
  };
  for (const p of packets) {
    const x = xOf(p.ts);
    if (p.dir === dir && p.len > 0 && p.relSeq !== null) {
      for (let y = yOf(p.relSeq + p.len); y <= yOf(p.relSeq) + 0.5; y += 1) seq.dot(x, y, 'data');
      const f = p.analysis?.flags ?? 0;
      if (f & TA_ANY_RETRANSMISSION) seq.mark(Math.floor(x / 2), Math.floor(yOf(p.relSeq) / 4), 'R', 'retx');
    } else if (p.dir !== dir && p.relAck !== null && p.analysis) {
      if (prevAck) {
        ackLine(prevAck.x, x, yOf(prevAck.ack), '─', 'ack');
        if (prevAck.ack + prevAck.win <= yMax) ackLine(prevAck.x, x, yOf(prevAck.ack + prevAck.win), '┄', 'window');
      }
      if ((p.analysis.flags & TA_ZERO_WINDOW) !== 0) seq.mark(Math.floor(x / 2), Math.floor(yOf(p.relAck) / 4), 'Z', 'zero');
      prevAck = { x, ack: p.relAck, win: p.analysis.windowSize };
    }
  }

  // Throughput: new bytes of the direction per column, as bars of block characters.
  const perCol = new Array<number>(plotW).fill(0);
  let high = 0;
  for (const p of packets) {
    if (p.dir !== dir || p.len === 0 || p.relSeq === null) continue;
    const end = p.relSeq + p.len;
    if (end <= high) continue;
    perCol[colOf(p.ts)]! += end - Math.max(high, p.relSeq);
    high = end;
  }
  const colSec = dt / plotW;
  const maxRate = Math.max(1, ...perCol) / colSec;
  const tputLines: GraphLine[] = [];
  for (let r = 0; r < tputRows; r++) {
    let text = '';
    for (let c = 0; c < plotW; c++) {
      const level = (perCol[c]! / colSec / maxRate) * tputRows * 8; // in eighths of a row
      const fromBottom = tputRows - 1 - r;
      const fill = Math.max(0, Math.min(8, Math.round(level - fromBottom * 8)));
      text += fill <= 0 ? ' ' : SPARK[fill];
    }
    tputLines.push([{ text, kind: 'bar' }]);
  }

  // The cursor column, drawn over both graphs.
  const withCursor = (line: GraphLine): GraphLine => {
    if (cursor === null || cursor < 0 || cursor >= plotW) return line;
    const out: GraphLine = [];
    let col = 0;
    for (const seg of line) {
      const end = col + seg.text.length;
      if (cursor >= col && cursor < end) {
        const k = cursor - col;
        const under = seg.text[k] === ' ' ? '│' : seg.text[k]!;
        if (k > 0) out.push({ text: seg.text.slice(0, k), kind: seg.kind });
        out.push({ text: under, kind: 'cursor' });
        if (k + 1 < seg.text.length) out.push({ text: seg.text.slice(k + 1), kind: seg.kind });
      } else out.push(seg);
      col = end;
    }
    return out;
  };
  const axis = (label: string): GraphSegment => ({ text: label.slice(0, 9).padStart(9) + ' ', kind: 'axis' });
  const lines: GraphLine[] = [];
  lines.push([{ text: 'sequence (relative) over time: ⣿ data, ─ ACK, ┄ receive window, R retransmission, Z zero window', kind: 'axis' }]);
  seq.lines().forEach((l, i) => lines.push([axis(i === 0 ? formatBytes(yMax) : i === seqRows - 1 ? '0' : ''), ...withCursor(l)]));
  lines.push([{ text: `throughput: peak ${rate(maxRate)}`, kind: 'axis' }]);
  tputLines.forEach((l, i) => lines.push([axis(i === 0 ? rate(maxRate) : ''), ...withCursor(l)]));
  if (a) lines.push([axis('limited'), ...withCursor(causeStripLine(a, t0, dt, plotW))]);
  lines.push([axis(''), { text: `0${formatDuration(dt).padStart(plotW - 1)}`, kind: 'axis' }]);
  lines.push([{ text: `limited by: ${CAUSE_LEGEND}`, kind: 'axis' }]);

  const frames = packets.map((p) => p.frame);
  const columns = packets.map((p) => colOf(p.ts));
  const nearest: number[] = [];
  let j = 0;
  for (let c = 0; c < plotW; c++) {
    const mid = t0 + ((c + 0.5) / plotW) * dt;
    while (j + 1 < packets.length && Math.abs(packets[j + 1]!.ts - mid) <= Math.abs(packets[j]!.ts - mid)) j++;
    nearest.push(packets.length ? j : -1);
  }
  return { lines, frames, columns, nearest, t0, t1 };
}

/** The cause strip over the graph's time axis (the diagnosis' timeline is over data time). */
function causeStripLine(a: TcpTransferAnalysis, t0: number, dt: number, width: number): GraphLine {
  const t = a.timeline;
  const line: GraphLine = [];
  for (let c = 0; c < width; c++) {
    const mid = t0 + ((c + 0.5) / width) * dt;
    const i = Math.floor((mid - t.start) / t.bucketSec);
    const k = i >= 0 && i < t.cause.length ? t.cause[i] ?? null : null;
    const seg: GraphSegment = k ? { text: CAUSE_LETTER[k], kind: CAUSE_KIND[k] } : { text: ' ', kind: null };
    const last = line[line.length - 1];
    if (last && last.kind === seg.kind) last.text += seg.text;
    else line.push(seg);
  }
  return line;
}

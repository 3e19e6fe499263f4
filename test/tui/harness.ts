/**
 * A real blessed screen on PassThrough streams with a fixed size. Keys are written to the
 * input as the bytes a terminal sends, so blessed's own key parser is exercised.
 */
import { PassThrough } from 'node:stream';
import { readFileSync } from 'node:fs';
import { readFrame } from '../../src/capture/open.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { Analysis } from '../../src/model/types.js';
import { startDashboard, type RunningDashboard } from '../../src/tui/app.js';
import type { DashboardSource } from '../../src/tui/dashboard.js';
import { makePacketLoader } from '../../src/tui/packet-detail.js';

export const CAPTURES = new URL('../../captures/public/', import.meta.url).pathname;

const KEY_BYTES: Record<string, string> = {
  up: '\x1b[A', down: '\x1b[B', right: '\x1b[C', left: '\x1b[D', enter: '\r', tab: '\t', 'S-tab': '\x1b[Z',
  escape: '\x1b', backspace: '\x7f', pageup: '\x1b[5~', pagedown: '\x1b[6~', 'C-c': '\x03', home: '\x1b[H', end: '\x1b[F',
};

export interface Harness {
  run: RunningDashboard;
  output: PassThrough & { columns: number; rows: number };
  /** Press keys one by one (names as in the key table, or literal text). */
  press(...keys: string[]): Promise<void>;
  type(text: string): Promise<void>;
  lines(): string[];
  screen(): string;
  /** First screen row whose text matches. */
  rowOf(re: RegExp): number;
  /** Rows drawn in inverse at column `x`. */
  inverseRows(x?: number): number[];
  /** The focused pane's selected row: marked "▶" and drawn inverse; its text from the marker to the pane's edge. */
  selected(): { y: number; x: number; text: string } | null;
  resize(cols: number, rows: number): Promise<void>;
  /** Everything a scrolling text view holds: from the top, page by page. */
  scrolledText(): Promise<string>;
  /** Wait for packet dissections in flight. */
  settle(): Promise<void>;
  close(): Promise<void>;
  written(): string;
}

const analyses = new Map<string, Promise<Analysis>>();

/** Analysis of a bundled capture (cached per file: analysis is the pipeline's job, not what is tested here). */
export function analysisOf(rel: string): Promise<Analysis> {
  const path = CAPTURES + rel;
  if (!analyses.has(path)) analyses.set(path, analyzeFile(path, { keepPackets: true }));
  return analyses.get(path)!;
}

export function fileSource(rel: string, a: Analysis): DashboardSource {
  const path = CAPTURES + rel;
  return {
    title: rel, live: false, snapshot: () => a,
    loadPacket: makePacketLoader(async (frame, off) => (await readFrame(path, frame, off)).rec),
  };
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function openHarness(source: DashboardSource, cols: number, rows: number, opts: { noColor?: boolean; mouse?: boolean } = {}): Promise<Harness> {
  const input = new PassThrough();
  const output = Object.assign(new PassThrough(), { columns: cols, rows, isTTY: true });
  let written = '';
  output.on('data', (d: Buffer) => { written += d.toString('latin1'); });
  const run = startDashboard(source, { input, output, noColor: opts.noColor, mouse: opts.mouse ?? true, refreshMs: 20 });
  const h: Harness = {
    run, output,
    async press(...keys) {
      for (const k of keys) {
        input.write(KEY_BYTES[k] ?? k);
        await tick();
      }
      await h.settle();
    },
    async type(text) {
      for (const ch of text) { input.write(ch); await tick(1); }
    },
    lines: () => run.terminal.text(),
    screen: () => run.terminal.text().join('\n'),
    rowOf: (re) => run.terminal.text().findIndex((l) => re.test(l)),
    inverseRows(x = 0) {
      const out: number[] = [];
      for (let y = 0; y < run.terminal.rows; y++) if (run.terminal.isInverse(x, y)) out.push(y);
      return out;
    },
    selected() {
      const lines = run.terminal.text();
      for (let y = 1; y < lines.length - 1; y++) {
        for (let x = lines[y].indexOf('▶'); x >= 0; x = lines[y].indexOf('▶', x + 1)) {
          if (run.terminal.isInverse(x, y)) return { y, x, text: lines[y].slice(x).split('│')[0] };
        }
      }
      return null;
    },
    async scrolledText() {
      await h.press('g');
      let text = h.screen();
      for (let i = 0; i < 20; i++) {
        const before = h.screen();
        await h.press('pagedown');
        if (h.screen() === before) break;
        text += '\n' + h.screen();
      }
      return text;
    },
    async resize(c, r) {
      output.columns = c;
      output.rows = r;
      output.emit('resize');
      await tick(20);
    },
    async settle() {
      await run.dashboard.idle();
      await tick();
    },
    async close() {
      run.close();
      await run.closed;
    },
    written: () => written,
  };
  await h.settle();
  return h;
}

/** Rows of a tab-separated expected file with a header line (tshark -E header=y, zeek logs). */
export function readTsv(path: string): Array<Record<string, string>> {
  const all = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const zeekHeader = all.find((l) => l.startsWith('#fields\t'));
  const data = all.filter((l) => !l.startsWith('#'));
  const header = zeekHeader ? zeekHeader.split('\t').slice(1) : data.shift()!.split('\t');
  return data.map((l) => {
    const cells = l.split('\t');
    return Object.fromEntries(header.map((k, i) => [k, cells[i]]));
  });
}

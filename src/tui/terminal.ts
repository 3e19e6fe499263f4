/**
 * The only module that imports blessed. The rest of the dashboard draws plain rows of styled
 * segments and receives normalized key and mouse events, so the terminal library can be swapped.
 */
import blessed from 'blessed';
import fs from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { styleTags, type Style, type Theme } from './theme.js';

export interface Segment { text: string; style?: Style }
export type Row = Segment[];

/** A key as the key table names it: "q", "C-c", "S-tab", "enter", "pagedown", "/", "G". */
export interface KeyEvent { name: string; ch: string | null }
export interface MouseEvent { action: 'click' | 'wheelup' | 'wheeldown'; x: number; y: number }

export interface TerminalOptions {
  input?: Readable;
  output?: Writable;
  /** Terminal type for terminfo; fixed so modern ncurses entries do not make blessed print parse errors. */
  terminal?: string;
  mouse?: boolean;
  theme: Theme;
  /** Where blessed's warnings and terminfo complaints go; never the screen. */
  debugLog?: string;
}

export interface Terminal {
  readonly cols: number;
  readonly rows: number;
  /** Replace the whole screen with these rows (already cut to width by the caller). */
  draw(rows: Row[]): void;
  onKey(cb: (ev: KeyEvent) => void): void;
  onMouse(cb: (ev: MouseEvent) => void): void;
  onResize(cb: () => void): void;
  /** Visible text, one string per screen row (tests, tmux-free checks). */
  text(): string[];
  /** Whether the cell is drawn inverse (the selection marker). */
  isInverse(x: number, y: number): boolean;
  isBold(x: number, y: number): boolean;
  /**
   * Called once if the terminal goes away under the dashboard: its window was closed (the tty's
   * input ends or fails) or writing to it fails.
   */
  onLost(cb: () => void): void;
  /** Leave the alternate screen, show the cursor, give the tty back. Safe to call twice. */
  destroy(): void;
  /**
   * The terminal is gone: let go of it without writing anything (there is nothing left to
   * restore, and every write would fail). destroy() does nothing after this.
   */
  abandon(): void;
}

const INVERSE = 8;
const BOLD = 1;

/** Replace what would break the layout (control bytes, wide or combining characters) with a visible stand-in. */
export function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '.').replace(/[\u0300-\u036f\u2e80-\uffff]|[\ud800-\udfff]/g, '?');
}

function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

export function createTerminal(opts: TerminalOptions): Terminal {
  const input = opts.input ?? process.stdin;
  const output = opts.output ?? process.stdout;
  const log = opts.debugLog ? fs.createWriteStream(opts.debugLog, { flags: 'a' }) : null;
  const toLog = (...args: unknown[]): void => {
    log?.write(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') + '\n');
  };
  // blessed's terminfo compiler reports unparsable capabilities with console.error; keep them off the screen.
  const saved = { error: console.error, warn: console.warn, log: console.log };
  console.error = toLog;
  console.warn = toLog;
  console.log = toLog;

  let screen: blessed.Widgets.Screen;
  try {
    screen = blessed.screen({
      input: input as NodeJS.ReadableStream,
      output: output as NodeJS.WritableStream,
      terminal: opts.terminal ?? 'xterm-256color',
      smartCSR: true,
      fullUnicode: false,
      // Draw box and arrow characters as UTF-8 rather than through the ACS charset switch,
      // which terminals (and tmux's capture) render inconsistently.
      forceUnicode: true,
      warnings: false,
      autoPadding: false,
      dockBorders: false,
      title: 'ftpscope',
    } as unknown as blessed.Widgets.IScreenOptions);
  } catch (e) {
    Object.assign(console, saved);
    throw e;
  }
  (screen.program as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
  screen.on('warning', (w: unknown) => toLog('warning:', String(w)));
  const box = blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: '100%', tags: true, wrap: false });

  if (opts.mouse) screen.enableMouse();

  let destroyed = false;
  const keyCbs: Array<(ev: KeyEvent) => void> = [];
  const mouseCbs: Array<(ev: MouseEvent) => void> = [];
  const resizeCbs: Array<() => void> = [];
  const lostCbs: Array<() => void> = [];

  // A closed terminal window shows up as the end of the tty's input (a raw-mode tty has no other
  // end: Ctrl-D is a key), or as EIO from reading, writing or setting its mode. Without these
  // listeners the EIO would also reach the CLI as an "internal error".
  let lost = false;
  const onLostTty = (): void => {
    if (lost) return;
    lost = true;
    for (const cb of lostCbs) cb();
  };
  const inputIsTty = (input as { isTTY?: boolean }).isTTY === true;
  if (inputIsTty) input.on('end', onLostTty);
  input.on('error', onLostTty);
  output.on('error', onLostTty);
  const stopWatching = (): void => {
    input.off('end', onLostTty);
    input.off('error', onLostTty);
    output.off('error', onLostTty);
  };

  screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string } | undefined) => {
    const name = normalizeKey(ch, key);
    if (!name) return;
    for (const cb of keyCbs) cb({ name, ch: ch ?? null });
  });
  screen.on('mouse', (data: { action: string; x: number; y: number }) => {
    const action = data.action === 'mousedown' ? 'click' : data.action === 'wheelup' ? 'wheelup'
      : data.action === 'wheeldown' ? 'wheeldown' : null;
    if (!action) return;
    for (const cb of mouseCbs) cb({ action, x: data.x, y: data.y });
  });
  screen.on('resize', () => { for (const cb of resizeCbs) cb(); });

  const cell = (x: number, y: number): [number, string] | undefined =>
    screenLines(screen)[y]?.[x];

  return {
    get cols() { return screen.width as number; },
    get rows() { return screen.height as number; },
    draw(rows: Row[]) {
      if (destroyed) return;
      const lines = rows.map((row) => row.map((seg) => {
        const text = escapeTags(sanitize(seg.text));
        if (!seg.style) return text;
        const [open, close] = styleTags(opts.theme, seg.style);
        return open + text + close;
      }).join(''));
      box.setContent(lines.join('\n'));
      screen.render();
    },
    onKey(cb) { keyCbs.push(cb); },
    onMouse(cb) { mouseCbs.push(cb); },
    onResize(cb) { resizeCbs.push(cb); },
    text() {
      const out: string[] = [];
      for (let y = 0; y < (screen.height as number); y++) {
        const line = screenLines(screen)[y];
        out.push(line ? line.map((c) => c[1]).join('').replace(/\s+$/, '') : '');
      }
      return out;
    },
    isInverse(x, y) { const c = cell(x, y); return !!c && ((c[0] >> 18) & INVERSE) !== 0; },
    isBold(x, y) { const c = cell(x, y); return !!c && ((c[0] >> 18) & BOLD) !== 0; },
    onLost(cb) { lostCbs.push(cb); },
    destroy,
    abandon() {
      if (destroyed) return;
      lost = true;
      // blessed writes its restore sequences on destroy; drop them and anything it still buffers.
      const program = screen.program as unknown as { _buf: string; _owrite(s: string): boolean; write(s: string): boolean };
      program._buf = '';
      program._owrite = program.write = () => true;
      destroy();
    },
  };

  function destroy(): void {
    if (destroyed) return;
    destroyed = true;
    try {
      screen.destroy();
    } finally {
      Object.assign(console, saved);
      log?.end();
      // After a loss the listeners stay: writes still queued for the dead tty fail with EIO later.
      if (!lost) stopWatching();
    }
  }
}

/** blessed keeps the drawn cells as [attr, char] pairs; its typings omit them. */
function screenLines(screen: blessed.Widgets.Screen): Array<Array<[number, string]>> {
  return (screen as unknown as { lines: Array<Array<[number, string]>> }).lines;
}

/** blessed's key names, normalized to the key table's spelling. */
function normalizeKey(ch: string | undefined, key: { full?: string; name?: string; ctrl?: boolean; meta?: boolean } | undefined): string | null {
  const full = key?.full ?? key?.name ?? null;
  if (full === 'return') return null; // blessed also emits 'enter' for the same CR
  if (!key?.ctrl && !key?.meta && ch && ch.length === 1 && ch > ' ' && ch !== '\x7f') return ch;
  return full;
}

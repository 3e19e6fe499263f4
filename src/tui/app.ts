/**
 * Entry points of the dashboard: on a finished analysis (files) and on live sources
 * (`capture --tui`, `proxy --tui`). Owns the terminal's lifetime: it is restored on quit,
 * on errors and on process exit.
 */
import type { Readable, Writable } from 'node:stream';
import type { PacketRecord } from '../capture/types.js';
import type { Analysis } from '../model/types.js';
import { Dashboard, type DashboardSource } from './dashboard.js';
import { makePacketLoader } from './packet-detail.js';
import type { FileLoad } from '../analysis/sources/file.js';
import { formatBytes } from '../report/format.js';
import type { DashboardExports } from './exports.js';

/** "reading 45% of 120 MiB…" while a file is read, then null. */
export function loadingStatus(p: { read: number; total: number | null } | null): string | null {
  if (!p) return null;
  return `reading ${p.total ? `${Math.min(99, Math.floor((p.read / p.total) * 100))}% of ${formatBytes(p.total)}` : formatBytes(p.read)}…`;
}
import { createTerminal, type Terminal } from './terminal.js';
import { themeFromEnv } from './theme.js';

export interface DashboardOptions {
  mouse?: boolean;
  noColor?: boolean;
  /** Tests: streams with fixed columns/rows instead of the process tty. */
  input?: Readable;
  output?: Writable;
  /** Where terminal warnings go (default: $FTPSCOPE_TUI_LOG, else nowhere). */
  debugLog?: string;
  /** Live sources: how often to look for new data (ms). */
  refreshMs?: number;
  showPasswords?: boolean;
}

export interface RunningDashboard {
  dashboard: Dashboard;
  terminal: Terminal;
  /** Resolves once the user quit and the terminal is restored. */
  closed: Promise<void>;
  /** Quit from outside (tests, the source ending). */
  close(): void;
}

/** Start the dashboard; returns at once. */
export function startDashboard(source: DashboardSource, opts: DashboardOptions = {}): RunningDashboard {
  const terminal = createTerminal({
    input: opts.input,
    output: opts.output,
    mouse: opts.mouse !== false,
    theme: themeFromEnv(!!opts.noColor),
    debugLog: opts.debugLog ?? process.env.FTPSCOPE_TUI_LOG,
  });
  const restore = (): void => terminal.destroy();
  process.once('exit', restore);
  // kill: leave like q does, so the terminal is restored before the process ends
  const onSignal = (): void => dashboard.quit();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  // hangup (the terminal window was closed): nothing to restore; leave like q does otherwise, so
  // a live source is still stopped and its capture file finished
  const onHangup = (): void => {
    terminal.abandon();
    if (!opts.input && !opts.output) endByHangupAtExit();
    dashboard.quit();
  };
  let dashboard: Dashboard;
  try {
    dashboard = new Dashboard(terminal, source);
    for (const s of signals) process.on(s, onSignal);
    process.on('SIGHUP', onHangup);
    terminal.onLost(onHangup);
    dashboard.render();
  } catch (e) {
    restore();
    throw e;
  }
  let timer: NodeJS.Timeout | null = null;
  if (source.live || source.status) {
    // Poll for changes and draw at most every refreshMs: a burst of packets costs one render.
    // A file being read stops polling once it is complete.
    timer = setInterval(() => dashboard.guard(() => {
      const loading = source.status?.() ?? null;
      if (dashboard.refresh() || !loading) dashboard.render();
      if (!source.live && !loading && timer) { clearInterval(timer); timer = null; }
    }), opts.refreshMs ?? (source.live ? 100 : 250)); // a file being read: less often, the reading needs the CPU
  }
  // Restore the terminal first, then let an error reach the CLI's one-line reporter.
  const closed = dashboard.done.finally(() => {
    if (timer) clearInterval(timer);
    restore();
    process.removeListener('exit', restore);
    for (const s of signals) process.removeListener(s, onSignal);
    process.removeListener('SIGHUP', onHangup);
  });
  return { dashboard, terminal, closed, close: () => dashboard.quit() };
}

let endingByHangup = false;

/**
 * At exit Node puts the terminal modes of stdin and stdout back (ResetStdio); when the terminal
 * is gone that fails with EIO, and Node 20 aborts with a native assertion and a C++ stack instead
 * of ignoring it (fixed in later Node, nodejs/node#58200). So a process whose terminal hung up ends
 * the way one without a SIGHUP handler does: killed by SIGHUP, which skips ResetStdio. This runs
 * on 'exit', after the work that follows quitting (stopping a proxy or a live capture).
 */
function endByHangupAtExit(): void {
  if (endingByHangup) return;
  endingByHangup = true;
  // The hangup reaches us more than once (the kernel, the shell, tmux): the next one must not
  // cut short the stopping of a proxy or a capture after the dashboard has let go of it.
  process.on('SIGHUP', () => {});
  process.once('exit', () => {
    // With no listener left, SIGHUP has its default action again: terminate.
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  });
}

/**
 * The dashboard over a capture file while it is read: the first screen comes at once and
 * fills in as packets are analyzed; `analysis` settles with the final result.
 */
export function startFileDashboard(
  load: FileLoad,
  opts: DashboardOptions & { title: string; readFrame?: (frame: number, fileOffset: number) => Promise<PacketRecord>; exports?: DashboardExports },
): RunningDashboard {
  let final: Analysis | null = null;
  let failure: unknown = null;
  const running = startDashboard({
    title: opts.title,
    live: false,
    showPasswords: opts.showPasswords,
    status: () => (final || failure ? null : loadingStatus(load.progress())),
    snapshot: () => final ?? load.snapshot(),
    loadPacket: opts.readFrame ? makePacketLoader(opts.readFrame, opts.showPasswords) : undefined,
    exports: opts.exports,
  }, opts);
  load.analysis.then((a) => { final = a; }, (e: unknown) => {
    // the file broke while reading: leave the dashboard, then report it like any other error
    failure = e;
    running.dashboard.fail(e);
  });
  return running;
}

export async function runFileDashboard(
  load: FileLoad,
  opts: DashboardOptions & { title: string; readFrame?: (frame: number, fileOffset: number) => Promise<PacketRecord>; exports?: DashboardExports },
): Promise<void> {
  await startFileDashboard(load, opts).closed;
}

/** The dashboard over a finished analysis of a capture file. */
export async function runDashboard(
  analysis: Analysis,
  opts: DashboardOptions & { title: string; readFrame?: (frame: number, fileOffset: number) => Promise<PacketRecord> },
): Promise<void> {
  const source: DashboardSource = {
    title: opts.title,
    live: false,
    showPasswords: opts.showPasswords,
    snapshot: () => analysis,
    loadPacket: opts.readFrame ? makePacketLoader(opts.readFrame, opts.showPasswords) : undefined,
  };
  await startDashboard(source, opts).closed;
}

/** The dashboard over a live source; `stop()` is called when the user quits. */
export async function runLiveDashboard(source: {
  title: string;
  snapshot(): Analysis;
  stop(): void | Promise<void>;
  readFrame?: (frame: number, fileOffset: number) => Promise<PacketRecord>;
  /** What the empty sessions list waits for. */
  waiting?: string;
  /** Drops and other trouble as it happens, for the status line. */
  notice?: () => string | null;
}, opts: DashboardOptions = {}): Promise<void> {
  const running = startDashboard({
    title: source.title,
    live: true,
    showPasswords: opts.showPasswords,
    waiting: source.waiting,
    notice: source.notice,
    snapshot: () => source.snapshot(),
    loadPacket: source.readFrame ? makePacketLoader(source.readFrame, opts.showPasswords) : undefined,
  }, opts);
  try {
    await running.closed;
  } finally {
    await source.stop();
  }
}

import * as fs from 'node:fs';
import { once } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import { analyzeFile, type AnalyzeFileOptions } from '../analysis/sources/file.js';
import type { Analysis } from '../model/types.js';
import { FtpscopeError } from '../errors.js';
import { eventToJson, reportJsonPieces, writeSessionJson } from '../report/json.js';
import { ChunkedWriter } from '../report/output.js';
import { renderSessionText, reportTextChunks } from '../report/text.js';
import { SessionSpool } from '../report/spool.js';
import { formatBytes } from '../report/format.js';

/** NDJSON output queued for stdout beyond which reading the capture waits for it to drain. */
const NDJSON_QUEUE_BYTES = 1 << 20;

/** commander argParser for a repeatable --ftp-port N. */
export function collectPort(value: string, previous: number[] = []): number[] {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new InvalidArgumentError(`'${value}' is not a TCP port (1-65535).`);
  }
  return [...previous, n];
}

/** commander argParser for a capture argument: `-` is standard input (a pipe from tcpdump -w -, say). */
export function captureArg(value: string): string {
  return value === '-' ? '/dev/stdin' : value;
}

export const CAPTURE_ARG_HELP = 'pcap or pcapng file (optionally gzip-compressed), or - for standard input';

/** commander argParser for a positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive integer.`);
  return n;
}

/** Say clearly what is wrong with a capture path before reading it. */
export function checkCapturePath(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new FtpscopeError('file-not-found', `${file}: no such file`, 'check the path of the capture');
    }
    throw new FtpscopeError('file-unreadable', `${file}: cannot read (${code ?? (e as Error).message})`, 'check its permissions');
  }
  if (st.isDirectory()) {
    throw new FtpscopeError('file-is-directory', `${file} is a directory`, 'give a .pcap or .pcapng file inside it');
  }
}

/**
 * Analyze a capture with a progress line on stderr, shown only when stderr is a terminal
 * and the run takes longer than a second.
 */
export async function analyzeWithProgress(file: string, opts: Omit<AnalyzeFileOptions, 'onProgress'> = {}): Promise<Analysis> {
  checkCapturePath(file);
  const progress = new Progress(file);
  try {
    return await analyzeFile(file, { ...opts, onProgress: (read, total) => progress.update(read, total) });
  } finally {
    progress.clear();
  }
}

class Progress {
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;
  private readonly enabled = process.stderr.isTTY === true;

  constructor(private readonly name: string) {}

  update(read: number, total: number | null): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.started < 1000 || now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const pct = total ? ` ${Math.min(100, Math.floor((read / total) * 100))}%` : '';
    const of = total ? ` of ${formatBytes(total)}` : '';
    process.stderr.write(`\r\x1b[2Kreading ${this.name}:${pct} (${formatBytes(read)}${of})`);
    this.drawn = true;
  }

  clear(): void {
    if (this.drawn) process.stderr.write('\r\x1b[2K');
  }
}

/** A reader that went away (`| head`) is not an error. */
export function quietOnEpipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

interface ReportFlags {
  json?: boolean;
  ndjson?: boolean;
  ftpPort?: number[];
  showPasswords?: boolean;
  graphs?: boolean;
}

/**
 * Print the text or JSON report with bounded memory: finished sessions are rendered and
 * parked on disk as the capture is read, and the report is assembled in session order.
 * JSON sessions are written as indented bytes straight into the spool's staging buffer.
 */
export async function printReport(capture: string, o: { json?: boolean; ftpPorts?: number[]; showPasswords: boolean; graphs?: boolean }): Promise<void> {
  const showPasswords = o.showPasswords;
  const graphs = o.graphs === true;
  const spool = o.json
    ? new SessionSpool({ json: (w, s) => writeSessionJson(w, s, { showPasswords, graphs }), indent: 4 })
    : new SessionSpool((s) => renderSessionText(s, { showPasswords, graphs }));
  try {
    // Blocking reads: nothing else runs until the report is assembled (its output starts after the analysis).
    const a = await analyzeWithProgress(capture, { ftpPorts: o.ftpPorts, retireSession: (s) => spool.add(s), blockingReads: true, transferTimelines: graphs });
    for (const s of a.sessions) spool.add(s);
    const pre = { count: spool.sessions, dataConnections: spool.dataConnections, chunks: () => spool.chunks() };
    const w = new ChunkedWriter(process.stdout);
    if (o.json) {
      for (const piece of reportJsonPieces(a, { showPasswords, graphs }, pre)) await w.write(piece);
      await w.write('\n');
    } else {
      for (const chunk of reportTextChunks(a, { showPasswords, graphs }, pre)) await w.write(chunk);
    }
    await w.end();
  } finally {
    spool.close();
  }
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('analyze a capture: every FTP session, its commands and replies, its data connections and findings')
    .argument('<capture>', CAPTURE_ARG_HELP, captureArg)
    .option('--json', 'print the report as JSON (the stable contract in docs/report-json.md)')
    .option('--ndjson', 'print one JSON object per event (session, command, reply, data connection, finding) as it is found')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .option('--graphs', 'under each data connection: its throughput over time as a sparkline, what limited it, and a TCP summary (JSON: the timeline)')
    .addHelpText('after', '\nExit status: 0 when the capture could be read (even with findings or when truncated), 2 for usage errors and unreadable input.')
    .action(async (capture: string, flags: ReportFlags) => {
      if (flags.json && flags.ndjson) {
        throw new FtpscopeError('usage', '--json and --ndjson cannot be used together', 'pick one output format');
      }
      quietOnEpipe();
      const showPasswords = flags.showPasswords === true;
      if (flags.ndjson) {
        // Events are written in pieces of about 64 KiB, and reading waits while stdout has more than
        // a MiB queued (a slow pipe); sessions are let go once final (only counted).
        let pending = '';
        const out = (s: string): void => {
          pending += s;
          if (pending.length >= 1 << 16) {
            process.stdout.write(pending);
            pending = '';
          }
        };
        let retired = 0;
        const a = await analyzeWithProgress(capture, {
          ftpPorts: flags.ftpPort,
          onEvent: (ev) => out(JSON.stringify(eventToJson(ev, { showPasswords, graphs: flags.graphs === true })) + '\n'),
          retireSession: () => { retired++; },
          blockingReads: true,
          transferTimelines: flags.graphs === true,
          pace: () => (process.stdout.writableLength > NDJSON_QUEUE_BYTES ? once(process.stdout, 'drain') : undefined),
        });
        out(JSON.stringify({
          type: 'end', session: null, source: { ...a.source, linkTypes: [...a.source.linkTypes] },
          sessions: retired + a.sessions.length, unpairedDataConnections: a.unpairedDataConnections.length,
          findings: a.findings.map((f) => ({ severity: f.severity, code: f.code, message: f.message, frame: f.frame })),
        }) + '\n');
        process.stdout.write(pending);
        return;
      }
      await printReport(capture, { json: flags.json, ftpPorts: flags.ftpPort, showPasswords, graphs: flags.graphs === true });
    });
}

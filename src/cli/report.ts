import * as fs from 'node:fs';
import { once } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import type { AnalyzeFileOptions } from '../analysis/sources/file.js';
import { DEFAULT_MEMORY_BUDGET_MB, type PipelineOptions } from '../analysis/pipeline.js';
import { analyzeCaptures } from '../analysis/sources/files.js';
import { resolveCaptureInputs, type CaptureInputs } from '../capture/inputs.js';
import type { Analysis, Session } from '../model/types.js';
import type { StreamingCounters } from '../analysis/analyzer.js';
import type { Writable } from 'node:stream';
import type { Finding } from '../model/findings.js';
import { FtpscopeError } from '../errors.js';
import { eventToJson, findingToJson, reportJsonPieces, writeSessionJson } from '../report/json.js';
import { DisplayFilter, FilterSyntaxError } from '../report/filter/index.js';
import { ChunkedWriter } from '../report/output.js';
import { reportTextChunks, writeSessionText } from '../report/text.js';
import { SessionSpool } from '../report/spool.js';
import { HtmlReport } from '../report/html.js';
import { formatBytes } from '../report/format.js';
import { collectIfGrown, collectingWrite, preferThroughputGc } from './batch-gc.js';

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

export const DISPLAY_FILTER_HELP = 'keep only the sessions and data connections this display filter matches (Wireshark syntax, e.g. \'ftp.response.code >= 400\'; syntax and fields: ftpscope filters)';

/**
 * commander argParser for -Y: the expression parsed once, up front. A syntax error shows the
 * expression with a caret under the column, and the nearest field name for a misspelt one.
 */
export function displayFilterArg(value: string): DisplayFilter {
  try {
    return DisplayFilter.parse(value);
  } catch (e) {
    if (!(e instanceof FilterSyntaxError)) throw e;
    const explained = e.explain().split('\n').map((l) => `  ${l}`).join('\n');
    throw new FtpscopeError('usage', `bad display filter: ${e.reason} at column ${e.column + 1}\n${explained}`);
  }
}

/** The filter with the run's --show-passwords (it decides whether PASS arguments can be matched). */
export function withPasswords(f: DisplayFilter | undefined, showPasswords: boolean): DisplayFilter | undefined {
  return f && showPasswords ? DisplayFilter.parse(f.expr, { showPasswords }) : f;
}

/** commander argParser for the variadic capture arguments. */
export function captureArgs(value: string, previous: string[] = []): string[] {
  return [...previous, captureArg(value)];
}

export const CAPTURES_ARG_HELP = 'pcap or pcapng files (optionally gzip-compressed) or directories of them, merged in time order ' +
  'into one analysis with frames numbered across them; or - for standard input';

/** The capture arguments resolved: one file (checked as before), or a set to merge. */
export function captureInputs(args: readonly string[]): CaptureInputs {
  const inputs = resolveCaptureInputs(args);
  if (!inputs.merged) checkCapturePath(inputs.files[0]!);
  return inputs;
}

/**
 * Codes of findings about one file of a set that are also said on stderr, one line each: with
 * --json or a long report a skipped or damaged file would otherwise go unnoticed.
 */
const PER_FILE_CODES: ReadonlySet<string> = new Set(['capture-file-skipped', 'capture-truncated', 'capture-corrupt', 'unknown-link-type', 'capture-time-backwards']);

export function warnAboutFiles(a: Analysis): void {
  if (a.source.files) warnAboutFindings(a.findings);
}

export function warnAboutFindings(findings: readonly Finding[]): void {
  for (const f of findings) {
    if (PER_FILE_CODES.has(f.code) && f.severity !== 'info') process.stderr.write(`ftpscope: ${f.severity}: ${f.message}\n`);
  }
}

/** commander argParser for a positive integer. */
/** --max-flows and --memory-budget, on the commands that read a whole capture (report, flow, extract). */
export interface LimitFlags {
  maxFlows?: number;
  memoryBudget?: number;
}

export type AnalysisLimits = Pick<PipelineOptions, 'maxFlows' | 'memoryBudgetMB'>;

export const MAX_FLOWS_HELP = 'TCP connections followed at once; when more are open, the longest idle is closed early, with a finding (default: what --memory-budget allows)';
export const MEMORY_BUDGET_HELP = `memory for the flow table and the reassembly buffers, in MB (default: ${DEFAULT_MEMORY_BUDGET_MB})`;

export function limitsOf(flags: LimitFlags): AnalysisLimits {
  return { maxFlows: flags.maxFlows, memoryBudgetMB: flags.memoryBudget };
}

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
 * Analyze a capture (or a set of them) with a progress line on stderr, shown only when stderr
 * is a terminal and the run takes longer than a second; then a line for each file of a set
 * that could not be read whole.
 */
export async function analyzeWithProgress(inputs: CaptureInputs, opts: Omit<AnalyzeFileOptions, 'onProgress'> = {}): Promise<Analysis> {
  const progress = new Progress(inputs.name);
  let a: Analysis;
  try {
    a = await analyzeCaptures(inputs, { ...opts, onProgress: (read, total) => progress.update(read, total), housekeeping: collectIfGrown });
  } finally {
    progress.clear();
  }
  warnAboutFiles(a);
  return a;
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
  format?: string;
  zeekCommands?: string;
  zeekLog?: string;
  outDir?: string;
  force?: boolean;
  html?: string;
  ftpPort?: number[];
  showPasswords?: boolean;
  graphs?: boolean;
  displayFilter?: DisplayFilter;
  maxFlows?: number;
  memoryBudget?: number;
}

const FORMATS = ['text', 'json', 'ndjson', 'zeek', 'ecs'] as const;
type Format = typeof FORMATS[number];

/** --format, or the older --json / --ndjson; two that disagree are a usage error. */
function chosenFormat(flags: ReportFlags): Format {
  const asked: Format[] = [];
  if (flags.format !== undefined) {
    if (!(FORMATS as readonly string[]).includes(flags.format)) {
      throw new FtpscopeError('usage', `--format '${flags.format}' is not one of ${FORMATS.join(', ')}`);
    }
    asked.push(flags.format as Format);
  }
  if (flags.json) asked.push('json');
  if (flags.ndjson) asked.push('ndjson');
  const distinct = [...new Set(asked)];
  if (distinct.length > 1) {
    throw new FtpscopeError('usage', distinct.includes('json') && distinct.includes('ndjson') && distinct.length === 2
      ? '--json and --ndjson cannot be used together' : `--format ${distinct.join(' and ')} cannot be used together`, 'pick one output format');
  }
  return distinct[0] ?? 'text';
}

/**
 * Print the text or JSON report with bounded memory: finished sessions are rendered and
 * parked on disk as the capture is read, and the report is assembled in session order.
 * JSON sessions are written as indented bytes straight into the spool's staging buffer.
 */
export async function printReport(capture: CaptureInputs, o: {
  json?: boolean; ftpPorts?: number[]; limits?: AnalysisLimits; showPasswords: boolean; filter?: DisplayFilter; graphs?: boolean;
  /** Where the report goes (default: standard output). */
  out?: Writable;
  /** Filled in with what streaming the commands did (tests, benchmarks). */
  counters?: ReportCounters;
  /** See AnalyzerOptions.streamCommandsAfter (tests: 0 streams every command). */
  streamCommandsAfter?: number;
  /** See AnalyzerOptions.streamDataConnectionsAfter (tests: 0 streams every final data connection). */
  streamDataConnectionsAfter?: number;
}): Promise<void> {
  const showPasswords = o.showPasswords;
  const graphs = o.graphs === true;
  const filter = o.filter;
  const keep = (s: Session): void => {
    const kept = filter ? filter.keepSession(s) : s;
    if (kept) spool.add(kept);
  };
  // JSON sessions stream their commands into the spool as they complete (a display filter reads whole sessions: not then).
  const stream = o.json === true && !filter;
  const jsonOpts = { showPasswords, graphs };
  const spool = o.json
    ? new SessionSpool({ json: (w, s, streamed, streamedData) => writeSessionJson(w, s, jsonOpts, streamed, streamedData), indent: 4, streamCommands: stream ? jsonOpts : undefined })
    : new SessionSpool({ text: (s, write) => writeSessionText(s, { showPasswords, graphs }, collectingWrite(write)) });
  const counters = o.counters ?? { commandsStreamed: 0, maxCommandsHeld: 0, bytesSpooled: 0 };
  const commands = spool.commands;
  try {
    // Blocking reads: nothing else runs until the report is assembled (its output starts after the analysis).
    const all = await analyzeWithProgress(capture, {
      ftpPorts: o.ftpPorts, ...o.limits, retireSession: keep, blockingReads: true, transferTimelines: graphs,
      ...(commands ? {
        streamCommands: commands, streamDataConnections: commands, streamingCounters: counters,
        streamCommandsAfter: o.streamCommandsAfter, streamDataConnectionsAfter: o.streamDataConnectionsAfter,
      } : {}),
    });
    for (const s of all.sessions) keep(s);
    counters.bytesSpooled = commands?.bytesSpooled ?? 0;
    const a = filter ? { ...all, unpairedDataConnections: all.unpairedDataConnections.filter((dc) => filter.matchesTransfer(null, dc)) } : all;
    const pre = { count: spool.sessions, dataConnections: spool.dataConnections, chunks: () => spool.chunks({ split: true }) };
    const w = new ChunkedWriter(o.out ?? process.stdout);
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

/** What streaming the commands of report --json did (see StreamingCounters). */
export interface ReportCounters extends StreamingCounters {
  /** Bytes of rendered commands parked in the spool before their session ended. */
  bytesSpooled: number;
}

/**
 * Write the HTML report to `out` (`-`: standard output) with bounded memory: each session is
 * rendered as it becomes final and parked in the report's spools; the document is assembled at
 * the end.
 */
export async function writeHtmlReport(capture: CaptureInputs, out: string, o: { ftpPorts?: number[]; limits?: AnalysisLimits; showPasswords: boolean; filter?: DisplayFilter }): Promise<void> {
  // Opened first, so a path that cannot be written fails before a long capture is read.
  let fd: number | null = null;
  if (out !== '-') {
    try {
      fd = fs.openSync(out, 'w');
    } catch (e) {
      throw new FtpscopeError('output-unwritable', `${out}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        'check that the directory exists and is writable');
    }
  }
  const report = new HtmlReport({ showPasswords: o.showPasswords });
  try {
    const keep = (s: Session): void => {
      const kept = o.filter ? o.filter.keepSession(s) : s;
      if (kept) report.add(kept);
    };
    const all = await analyzeWithProgress(capture, { ftpPorts: o.ftpPorts, ...o.limits, retireSession: keep, blockingReads: true });
    for (const s of all.sessions) keep(s);
    const a = o.filter ? { ...all, unpairedDataConnections: all.unpairedDataConnections.filter((dc) => o.filter!.matchesTransfer(null, dc)) } : all;
    const stream = fd === null ? process.stdout : fs.createWriteStream('', { fd, autoClose: true });
    fd = null;
    const w = new ChunkedWriter(stream);
    for (const piece of report.chunks(a)) await w.write(piece);
    await w.end();
    if (stream !== process.stdout) {
      await new Promise<void>((resolve, reject) => {
        stream.once('error', reject);
        (stream as fs.WriteStream).end(resolve);
      });
      process.stderr.write(`wrote ${out}: ${report.sessions} session${report.sessions === 1 ? '' : 's'}\n`);
    }
  } finally {
    if (fd !== null) fs.closeSync(fd);
    report.close();
  }
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('analyze a capture: every FTP session, its commands and replies, its data connections and findings')
    .argument('<captures...>', CAPTURES_ARG_HELP, captureArgs)
    .option('--format <format>', `output format: ${FORMATS.join(', ')} (zeek: ftp.log and files.log; ecs: NDJSON in Elastic Common Schema)`)
    .option('--json', 'print the report as JSON (the stable contract in docs/report-json.md); same as --format json')
    .option('--ndjson', 'print one JSON object per event (session, command, reply, data connection, finding) as it is found; same as --format ndjson')
    .option('--html <file>', 'write a self-contained HTML report to this file (- for standard output): sessions, findings with their fix, transfers, and each session\'s ladder as SVG')
    .option('--out-dir <dir>', 'zeek: the directory ftp.log and files.log are written to (default: the current directory)')
    .option('--zeek-log <log>', 'zeek: print this one log (ftp or files) to standard output instead of writing files')
    .option('--zeek-commands <list>', 'zeek: commands logged besides Zeek\'s default FTP::logged_commands (comma-separated, e.g. "<init>,USER,PASS"), or "all"')
    .option('--force', 'zeek: replace ftp.log and files.log when they exist')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .option('-Y, --display-filter <expr>', DISPLAY_FILTER_HELP, displayFilterArg)
    .option('--graphs', 'under each data connection: its throughput over time as a sparkline, what limited it, and a TCP summary (JSON: the timeline)')
    .option('--max-flows <n>', MAX_FLOWS_HELP, positiveInt)
    .option('--memory-budget <MB>', MEMORY_BUDGET_HELP, positiveInt)
    .addHelpText('after', '\nWith -Y and --ndjson, a session\'s events are written once the session is final (when it is known to match).\nExit status: 0 when the capture could be read (even with findings or when truncated), 2 for usage errors and unreadable input.')
    .action(async (captures: string[], flags: ReportFlags) => {
      preferThroughputGc();
      const format = chosenFormat(flags);
      if (flags.html !== undefined && (flags.json || flags.ndjson || (flags.format !== undefined && format !== 'text'))) {
        throw new FtpscopeError('usage', '--html and --format/--json/--ndjson cannot be used together', 'pick one output format');
      }
      if (format !== 'zeek' && (flags.outDir !== undefined || flags.zeekLog !== undefined || flags.zeekCommands !== undefined || flags.force)) {
        throw new FtpscopeError('usage', '--out-dir, --zeek-log, --zeek-commands and --force go with --format zeek');
      }
      const capture = captureInputs(captures);
      quietOnEpipe();
      const showPasswords = flags.showPasswords === true;
      const filter = withPasswords(flags.displayFilter, showPasswords);
      if (format === 'zeek' || format === 'ecs') {
        const { printZeek, printEcs } = await import('./report-formats.js');
        if (format === 'zeek') await printZeek(capture, { ...flags, showPasswords, filter });
        else await printEcs(capture, { ftpPorts: flags.ftpPort, limits: limitsOf(flags), showPasswords, filter });
        return;
      }
      if (format === 'ndjson') {
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
        // With a filter, a session's events wait until it is final and known to match.
        const held = new Map<Session, string[]>();
        const release = (s: Session): void => {
          const lines = held.get(s);
          held.delete(s);
          if (lines && filter!.keepSession(s)) for (const l of lines) out(l);
        };
        const a = await analyzeWithProgress(capture, {
          ftpPorts: flags.ftpPort,
          ...limitsOf(flags),
          onEvent: (ev) => {
            const line = JSON.stringify(eventToJson(ev, { showPasswords, graphs: flags.graphs === true })) + '\n';
            if (!filter) { out(line); return; }
            if (ev.session) {
              const lines = held.get(ev.session);
              if (lines) lines.push(line);
              else held.set(ev.session, [line]);
            } else if (ev.type !== 'data-open' && ev.type !== 'data-close') out(line);
            else if (ev.type === 'data-close' && filter.matchesTransfer(null, ev.dataConnection)) {
              out(JSON.stringify(eventToJson({ type: 'data-open', session: null, dataConnection: ev.dataConnection }, { showPasswords, graphs: flags.graphs === true })) + '\n' + line);
            }
          },
          retireSession: (s) => { retired++; if (filter) release(s); },
          blockingReads: true,
          transferTimelines: flags.graphs === true,
          pace: () => (process.stdout.writableLength > NDJSON_QUEUE_BYTES ? once(process.stdout, 'drain') : undefined),
        });
        if (filter) for (const s of [...held.keys()]) release(s);
        out(JSON.stringify({
          type: 'end', session: null, source: { ...a.source, linkTypes: [...a.source.linkTypes] },
          sessions: retired + a.sessions.length, unpairedDataConnections: a.unpairedDataConnections.length,
          findings: a.findings.map(findingToJson),
        }) + '\n');
        process.stdout.write(pending);
        return;
      }
      if (flags.html !== undefined) {
        await writeHtmlReport(capture, flags.html, { ftpPorts: flags.ftpPort, limits: limitsOf(flags), showPasswords, filter });
        return;
      }
      await printReport(capture, { json: format === 'json', ftpPorts: flags.ftpPort, limits: limitsOf(flags), showPasswords, filter, graphs: flags.graphs === true });
    });
}

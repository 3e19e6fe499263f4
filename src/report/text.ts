import { StringDecoder } from 'node:string_decoder';
import { SessionPiece, type PrerenderedSessions } from './json.js';
import type { Analysis, DataConnection, FtpCommand, FtpReply, MalformedLine, Session, SourceFile } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import { maskArg, maskReplyText } from '../ftp/masking.js';
import { transferGraphLines } from './graphs.js';
import { isDiagnosis } from '../analysis/diagnosis.js';
import {
  formatBytes, formatDuration, formatEndpoint, formatIsoTs, formatRelTs, formatThroughput,
  printable, transferStatusLine, truncate, formatOriginalServer,
} from './format.js';

/**
 * Said when a capture has no FTP session: FTP on another port is found only from a greeting or a
 * first command it recognises, so a capture that starts mid-session needs the port named.
 */
export const NO_SESSIONS_HINT = 'no FTP sessions found; if FTP runs on a port other than 21 and was not recognised, try --ftp-port N';

/** Replies and data connections sit under their command's verb. */
const REPLY_INDENT = ' '.repeat(21);

export interface TextOptions {
  showPasswords?: boolean;
  /** Cut every line to this many columns (with …); no limit when absent. */
  width?: number;
  /** Under each data connection: its throughput sparkline, what limited it, and the TCP summary (--graphs). */
  graphs?: boolean;
}

/** Columns the --graphs lines take when the report has no width. */
const GRAPH_WIDTH = 100;

/**
 * The human-readable report: one block per session (endpoints, user, duration; commands with
 * their replies in order; each data connection under the command it served; findings), then
 * unpaired data connections and findings about the capture.
 */
export function renderReportText(a: Analysis, opts: TextOptions = {}): string {
  return [...reportTextChunks(a, opts)].join('');
}

/** One session's block of the text report. */
export function renderSessionText(s: Session, opts: TextOptions = {}): string {
  const parts: string[] = [];
  writeSessionText(s, opts, (t) => parts.push(t));
  return parts.join('');
}

/** Where a session's lines go: an array, or a writer that lets each go (LineSink of writeSessionText). */
interface LineSink {
  push(line: string): unknown;
}

/**
 * renderSessionText's text handed to `write` a line at a time (each with its newline): a session
 * of a million commands is never one string.
 */
export function writeSessionText(s: Session, opts: TextOptions, write: (text: string) => void): void {
  const width = opts.width;
  const sink: LineSink = { push: (line) => write(`${width ? truncate(line, width) : line}\n`) };
  sink.push('');
  renderSession(s, opts, sink);
}

function emitLines(lines: string[], opts: TextOptions): string {
  return (opts.width ? lines.map((l) => truncate(l, opts.width!)) : lines).map((l) => l + '\n').join('');
}

/** Files of a merged set listed in the text report's head before "and N more". */
const FILES_LISTED = 20;

/** The files of a merged set: which global frames each holds, and when. */
function fileLines(files: readonly SourceFile[], out: string[]): void {
  out.push(`${files.length} files merged in time order; frame numbers count across them:`);
  for (const [i, f] of files.slice(0, FILES_LISTED).entries()) {
    if (f.skipped !== null) {
      out.push(`  ${i + 1}. ${f.name}: SKIPPED (${f.skipped})`);
      continue;
    }
    const frames = f.firstFrame === null ? 'no packets'
      : `frames ${f.firstFrame}-${f.lastFrame}${f.frameRuns && f.frameRuns.length > 1 ? ` (interleaved with other files in ${f.frameRuns.length} runs)` : ''}`;
    const when = f.firstTs === null ? '' : `, ${formatIsoTs(f.firstTs)} to ${formatIsoTs(f.lastTs!)}`;
    out.push(`  ${i + 1}. ${f.name}: ${f.format}${f.gzip ? '.gz' : ''}, ${f.packets} packets, ${formatBytes(f.bytes)}, ${frames}${when}${f.truncated ? ', TRUNCATED' : ''}`);
  }
  if (files.length > FILES_LISTED) out.push(`  ... and ${files.length - FILES_LISTED} more (the JSON report lists every file)`);
}

/**
 * The same text piece by piece (a header, then one piece per session, then the rest), so a
 * capture with many sessions never needs the whole report as one string.
 */
export function* reportTextChunks(a: Analysis, opts: TextOptions = {}, pre?: PrerenderedSessions): Generator<string> {
  const emit = (lines: string[]): string => emitLines(lines, opts);
  const head: string[] = [];
  const src = a.source;
  head.push(`${src.name}: ${src.type}, ${src.packets} packets, ${formatBytes(src.bytes)}` +
    `${src.linkTypes.length ? `, ${src.linkTypes.join('/')}` : ''}${src.truncated ? ', TRUNCATED' : ''}`);
  if (src.files) fileLines(src.files, head);
  const sessions = pre ? pre.count : a.sessions.length;
  const dcCount = pre ? pre.dataConnections : a.sessions.reduce((n, s) => n + s.dataConnections.length, 0);
  head.push(`${sessions} FTP session${sessions === 1 ? '' : 's'}, ${dcCount} paired data ` +
    `connection${dcCount === 1 ? '' : 's'}, ${a.unpairedDataConnections.length} unpaired`);
  if (sessions === 0) head.push(NO_SESSIONS_HINT);
  yield emit(head);

  if (pre) {
    // A long session comes in pieces, which may cut a character in two: one decoder across them all.
    const utf8 = new StringDecoder('utf8');
    for (const c of pre.chunks()) yield typeof c === 'string' ? c : utf8.write(c instanceof SessionPiece ? c.bytes : c);
    yield utf8.end();
  } else {
    for (const s of a.sessions) yield renderSessionText(s, opts);
  }

  const tail: string[] = [];
  if (a.unpairedDataConnections.length > 0) {
    tail.push('');
    tail.push(`Unpaired data connections (${a.unpairedDataConnections.length}):`);
    for (const dc of a.unpairedDataConnections) renderDataConnection(dc, null, '  ', tail, opts);
  }
  if (a.findings.length > 0) {
    tail.push('');
    tail.push(`Capture findings (${a.findings.length}):`);
    for (const f of a.findings) tail.push(isDiagnosis(f.code) ? `  Diagnosis (${f.severity}, ${f.code}${f.frame !== null ? `, ${frameTag(f.frame)}` : ''}): ${printable(f.message)}` : findingLine(f, '  '));
  }
  yield emit(tail);
}

function renderSession(s: Session, opts: TextOptions, out: LineSink): void {
  const dur = formatDuration(s.end - s.start);
  out.push(`Session ${s.id}  ${formatEndpoint(s.client)} -> ${formatEndpoint(s.server)}` +
    `  user ${s.user === null ? '-' : printable(s.user)}${loginNote(s)}  ${dur}`);
  const facts = [`started ${formatIsoTs(s.start)}`];
  if (s.handshake.seen) {
    facts.push(`handshake${s.handshake.rttMs !== null ? ` rtt ${s.handshake.rttMs.toFixed(2)} ms` : ''}` +
      `${s.handshake.mss ? `, mss ${s.handshake.mss[0] ?? '-'}/${s.handshake.mss[1] ?? '-'}` : ''}`);
  } else {
    facts.push('handshake not captured');
  }
  facts.push(`control ${formatBytes(s.controlBytes[0])} up / ${formatBytes(s.controlBytes[1])} down`);
  if (!s.closed) facts.push('not closed');
  out.push(`  ${facts.join('; ')}`);
  if (s.originalServer) out.push(`  relayed by the proxy to ${formatOriginalServer(s.originalServer)}`);
  if (s.tls) {
    const info = s.tlsInfo;
    out.push(`  TLS on the control connection${info?.version ? ` (${info.version}` : ''}` +
      `${info?.sni ? `${info.version ? ', ' : ' ('}SNI ${printable(info.sni)}` : ''}` +
      `${info?.version || info?.sni ? ')' : ''}; later commands are encrypted`);
  }
  // The diagnosis comes first, ahead of the detail: it is what a person opened the capture for.
  const diagnoses = s.findings.filter((f) => isDiagnosis(f.code));
  for (const f of diagnoses) out.push(`  Diagnosis (${f.severity}, ${f.code}${f.frame !== null ? `, ${frameTag(f.frame)}` : ''}): ${printable(f.message)}`);
  if (s.greeting) out.push(`  greeting ${s.greeting.code} ${firstLine(s.greeting.text)}${frameNote(s.greeting.frame)}`);

  const byCommand = groupByCommand(s);
  const unplaced = s.dataConnections.filter((dc) => !byCommand.placed.has(dc));
  for (const item of interleave(s.commands, s.unsolicitedReplies)) {
    if ('verb' in item) {
      renderCommand(s, item, byCommand.map.get(item) ?? [], opts, out);
    } else {
      out.push(`  ${relTs(item.ts - s.start)} ${pad(frameTag(item.frame), 7)} (unsolicited)`);
      renderReply(item, REPLY_INDENT, out, opts.showPasswords);
    }
  }
  if (unplaced.length > 0) {
    out.push(`  data connections not tied to a transfer command (${unplaced.length}):`);
    for (const dc of unplaced) renderDataConnection(dc, s, '    ', out, opts);
  }
  const others = s.findings.filter((f) => !isDiagnosis(f.code));
  if (others.length > 0) {
    out.push(`  findings (${others.length}${diagnoses.length ? `, and ${diagnoses.length} diagnosis above` : ''}):`);
    for (const f of others) out.push(findingLine(f, '    '));
  }
}

function loginNote(s: Session): string {
  if (s.loggedIn === true) return ' (logged in)';
  if (s.loggedIn === false) return ' (login failed)';
  return '';
}

/** Data connections keyed by the command object they served (matched by frame and verb). */
function groupByCommand(s: Session): { map: Map<FtpCommand, DataConnection[]>; placed: Set<DataConnection> } {
  const map = new Map<FtpCommand, DataConnection[]>();
  const placed = new Set<DataConnection>();
  for (const dc of s.dataConnections) {
    if (!dc.command) continue;
    const cmd = commandOf(s, dc);
    if (!cmd) continue;
    const list = map.get(cmd) ?? [];
    list.push(dc);
    map.set(cmd, list);
    placed.add(dc);
  }
  return { map, placed };
}

/**
 * The command a data connection served: by frame in captures; without frames (the proxy), the
 * last command with that verb and argument sent before the connection ended.
 */
function commandOf(s: Session, dc: DataConnection): FtpCommand | undefined {
  const ref = dc.command!;
  const verb = ref.verb.toUpperCase();
  if (ref.frame !== null) return s.commands.find((c) => c.frame === ref.frame && c.verb.toUpperCase() === verb);
  const same = s.commands.filter((c) => c.verb.toUpperCase() === verb && c.arg === ref.arg);
  return same.filter((c) => c.ts <= dc.end).pop() ?? same[0];
}

/** Commands and unsolicited replies in time order (stable). */
function interleave(commands: FtpCommand[], unsolicited: FtpReply[]): Array<FtpCommand | FtpReply> {
  if (unsolicited.length === 0) return commands;
  const all: Array<FtpCommand | FtpReply> = [...commands, ...unsolicited];
  return all
    .map((item, i) => ({ item, i }))
    .sort((x, y) => (x.item.ts - y.item.ts) || (x.i - y.i))
    .map((x) => x.item);
}

function renderCommand(s: Session, c: FtpCommand, dcs: DataConnection[], opts: TextOptions, out: LineSink): void {
  const arg = maskArg(c.verb, c.arg, opts.showPasswords);
  out.push(`  ${relTs(c.ts - s.start)} ${pad(frameTag(c.frame), 7)} ${printable(c.verb)}` +
    `${arg !== null ? ' ' + printable(arg) : ''}`);
  const indent = REPLY_INDENT;
  // Data connections are shown after the preliminary (1xx) reply and before the final one.
  let shown = false;
  for (const r of answers(c)) {
    if ('code' in r) {
      if (!shown && r.code >= 200 && dcs.length > 0) {
        for (const dc of dcs) renderDataConnection(dc, s, indent, out, opts);
        shown = true;
      }
      renderReply(r, indent, out, opts.showPasswords);
    } else {
      out.push(`${indent}??? ${printable(maskReplyText(r.text, opts.showPasswords))}  (not an FTP reply)${frameNote(r.frame)}`);
    }
  }
  if (!shown) for (const dc of dcs) renderDataConnection(dc, s, indent, out, opts);
  for (const u of s.unseenTransfers ?? []) {
    if (u.command.frame !== c.frame || u.command.verb !== c.verb) continue;
    const how = [u.mode, u.setup].filter(Boolean).join(' ');
    out.push(`${indent}data connection not in the capture: ${how ? `${how} ` : ''}to ${formatEndpoint(u.announced)}`);
  }
  if (c.replies.length === 0 && !c.malformedReplies) out.push(`${indent}(no reply)`);
}

/** A command's replies and the malformed lines that answered it, in the order they came. */
function answers(c: FtpCommand): Array<FtpReply | MalformedLine> {
  if (!c.malformedReplies) return c.replies;
  return [...c.replies, ...c.malformedReplies].map((x, i) => ({ x, i })).sort((p, q) => (p.x.ts - q.x.ts) || (p.i - q.i)).map((p) => p.x);
}

function renderReply(r: FtpReply, indent: string, out: LineSink, showPasswords: boolean | undefined): void {
  const lines = maskReplyText(r.text, showPasswords).split('\n');
  out.push(`${indent}${r.code} ${printable(lines[0] ?? '')}${frameNote(r.frame)}`);
  for (const l of lines.slice(1)) out.push(`${indent}    ${printable(l)}`);
}

export function renderDataConnection(dc: DataConnection, s: Session | null, indent: string, out: LineSink, opts: TextOptions = {}): void {
  const setup = dc.setup ? `${dc.setup}${dc.setupFrame !== null ? ` ${frameTag(dc.setupFrame)}` : ''}` : 'setup unknown';
  const what = [dc.direction ?? 'direction unknown'];
  if (dc.path !== null) what.push(printable(dc.path));
  else if (dc.command?.arg) what.push(printable(dc.command.arg));
  if (!s && dc.command) what.unshift(`${dc.command.verb}`);
  out.push(`${indent}data #${dc.id} ${dc.mode ?? 'mode unknown'} (${setup}) ${what.join(' ')}`);
  const sub = indent + '  ';
  out.push(`${sub}${formatEndpoint(dc.client)} -> ${formatEndpoint(dc.server)}` +
    `${dc.transferType ? `, TYPE ${dc.transferType}` : ''}${dc.restOffset ? `, REST ${dc.restOffset}` : ''}` +
    `${dc.guessedRole ? `, ${printable(dc.guessedRole)}` : ''}`);
  const dur = dc.end - dc.start;
  const tput = formatThroughput(dc.bytes, dur);
  const size = dc.expectedBytes === null ? `${dc.bytes} bytes`
    : dc.restOffset ? `${dc.bytes} bytes from offset ${dc.restOffset} of ${dc.expectedBytes}`
      : `${dc.bytes} of ${dc.expectedBytes} bytes`;
  out.push(`${sub}${size} (${formatBytes(dc.bytes)}) in ${formatDuration(dur)}${tput ? `, ${tput}` : ''}` +
    `${dc.missingBytes > 0 ? `, ${dc.missingBytes} bytes missing` : ''}`);
  // How the transfer ended (the peers' account) and what the capture holds are separate facts.
  if (dc.progress) {
    out.push(`${sub}${dc.progress === 'open' ? 'in progress' : 'closed, waiting for the final reply'}`);
  } else if (dc.complete) {
    out.push(`${sub}complete${dc.sha256 ? `, sha256 ${dc.sha256}` : ''}`);
  } else {
    out.push(`${sub}${transferStatusLine(dc)}`);
  }
  if (opts.graphs && dc.tcpAnalysis && dc.tcpAnalysis.segments > 0) {
    for (const l of transferGraphLines(dc.tcpAnalysis, (opts.width ?? GRAPH_WIDTH) - sub.length)) out.push(sub + l);
  }
}

/** One finding; a folded one says how often it occurred and where (first and latest examples). */
function findingLine(f: Finding, indent: string): string {
  const n = f.count ?? 1;
  if (n <= 1) return `${indent}${f.severity.padEnd(7)} ${f.code}${frameNote(f.frame)}: ${printable(f.message)}`;
  const frames = (f.frames ?? []).map(frameTag);
  const shown = frames.length > 1 && n > frames.length ? [...frames.slice(0, -1), '…', frames[frames.length - 1]!] : frames;
  return `${indent}${f.severity.padEnd(7)} ${f.code} ×${n}${frames.length ? `  [${shown.join(' ')}]` : ''}: ${printable(f.message)}`;
}

function firstLine(text: string): string {
  const lines = text.split('\n');
  return printable(lines.find((l) => l.trim() !== '')?.trim() ?? '') + (lines.length > 1 ? ` (+${lines.length - 1} lines)` : '');
}

/** Relative time in a fixed-width column (wider only past 99999 s). */
function relTs(seconds: number): string {
  return formatRelTs(seconds).padStart(10);
}

function frameTag(frame: number | null): string {
  return frame === null ? '' : `#${frame}`;
}

function frameNote(frame: number | null): string {
  return frame === null ? '' : `  [${frameTag(frame)}]`;
}

function pad(s: string, n: number): string {
  return s.padEnd(n);
}

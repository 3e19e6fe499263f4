import type { PrerenderedSessions } from './json.js';
import type { Analysis, DataConnection, FtpCommand, FtpReply, Session } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import { maskArg, maskReplyText } from '../ftp/masking.js';
import { transferGraphLines } from './graphs.js';
import {
  formatBytes, formatDuration, formatEndpoint, formatIsoTs, formatRelTs, formatThroughput,
  incompleteReasons, printable, truncate,
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

/**
 * The same text piece by piece (a header, then one piece per session, then the rest), so a
 * capture with many sessions never needs the whole report as one string.
 */
/** One session's block of the text report. */
export function renderSessionText(s: Session, opts: TextOptions = {}): string {
  const out: string[] = [''];
  renderSession(s, opts, out);
  return emitLines(out, opts);
}

function emitLines(lines: string[], opts: TextOptions): string {
  return (opts.width ? lines.map((l) => truncate(l, opts.width!)) : lines).map((l) => l + '\n').join('');
}

export function* reportTextChunks(a: Analysis, opts: TextOptions = {}, pre?: PrerenderedSessions): Generator<string> {
  const emit = (lines: string[]): string => emitLines(lines, opts);
  const head: string[] = [];
  const src = a.source;
  head.push(`${src.name}: ${src.type}, ${src.packets} packets, ${formatBytes(src.bytes)}` +
    `${src.linkTypes.length ? `, ${src.linkTypes.join('/')}` : ''}${src.truncated ? ', TRUNCATED' : ''}`);
  const sessions = pre ? pre.count : a.sessions.length;
  const dcCount = pre ? pre.dataConnections : a.sessions.reduce((n, s) => n + s.dataConnections.length, 0);
  head.push(`${sessions} FTP session${sessions === 1 ? '' : 's'}, ${dcCount} paired data ` +
    `connection${dcCount === 1 ? '' : 's'}, ${a.unpairedDataConnections.length} unpaired`);
  if (sessions === 0) head.push(NO_SESSIONS_HINT);
  yield emit(head);

  if (pre) for (const c of pre.chunks()) yield typeof c === 'string' ? c : c.toString('utf8');
  else for (const s of a.sessions) yield renderSessionText(s, opts);

  const tail: string[] = [];
  if (a.unpairedDataConnections.length > 0) {
    tail.push('');
    tail.push(`Unpaired data connections (${a.unpairedDataConnections.length}):`);
    for (const dc of a.unpairedDataConnections) renderDataConnection(dc, null, '  ', tail, opts);
  }
  if (a.findings.length > 0) {
    tail.push('');
    tail.push(`Capture findings (${a.findings.length}):`);
    for (const f of a.findings) tail.push(findingLine(f, '  '));
  }
  yield emit(tail);
}

function renderSession(s: Session, opts: TextOptions, out: string[]): void {
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
  if (s.tls) {
    const info = s.tlsInfo;
    out.push(`  TLS on the control connection${info?.version ? ` (${info.version}` : ''}` +
      `${info?.sni ? `${info.version ? ', ' : ' ('}SNI ${printable(info.sni)}` : ''}` +
      `${info?.version || info?.sni ? ')' : ''}; later commands are encrypted`);
  }
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
  if (s.findings.length > 0) {
    out.push(`  findings (${s.findings.length}):`);
    for (const f of s.findings) out.push(findingLine(f, '    '));
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

function renderCommand(s: Session, c: FtpCommand, dcs: DataConnection[], opts: TextOptions, out: string[]): void {
  const arg = maskArg(c.verb, c.arg, opts.showPasswords);
  out.push(`  ${relTs(c.ts - s.start)} ${pad(frameTag(c.frame), 7)} ${printable(c.verb)}` +
    `${arg !== null ? ' ' + printable(arg) : ''}`);
  const indent = REPLY_INDENT;
  // Data connections are shown after the preliminary (1xx) reply and before the final one.
  let shown = false;
  for (const r of c.replies) {
    if (!shown && r.code >= 200 && dcs.length > 0) {
      for (const dc of dcs) renderDataConnection(dc, s, indent, out, opts);
      shown = true;
    }
    renderReply(r, indent, out, opts.showPasswords);
  }
  if (!shown) for (const dc of dcs) renderDataConnection(dc, s, indent, out, opts);
  if (c.replies.length === 0) out.push(`${indent}(no reply)`);
}

function renderReply(r: FtpReply, indent: string, out: string[], showPasswords: boolean | undefined): void {
  const lines = maskReplyText(r.text, showPasswords).split('\n');
  out.push(`${indent}${r.code} ${printable(lines[0] ?? '')}${frameNote(r.frame)}`);
  for (const l of lines.slice(1)) out.push(`${indent}    ${printable(l)}`);
}

export function renderDataConnection(dc: DataConnection, s: Session | null, indent: string, out: string[], opts: TextOptions = {}): void {
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
  if (dc.complete) {
    out.push(`${sub}complete${dc.sha256 ? `, sha256 ${dc.sha256}` : ''}`);
  } else {
    out.push(`${sub}INCOMPLETE: ${incompleteReasons(dc).join('; ')}`);
  }
  if (opts.graphs && dc.tcpAnalysis && dc.tcpAnalysis.segments > 0) {
    for (const l of transferGraphLines(dc.tcpAnalysis, (opts.width ?? GRAPH_WIDTH) - sub.length)) out.push(sub + l);
  }
}

function findingLine(f: Finding, indent: string): string {
  return `${indent}${f.severity.padEnd(7)} ${f.code}${frameNote(f.frame)}: ${printable(f.message)}`;
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

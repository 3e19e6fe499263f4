/**
 * Sessions view: every control session with its data connections nested under it, then the
 * data connections that could not be paired. Sortable; `/` filters by address, user, command,
 * file name, finding code, or any status, mode or setup verb a row shows.
 *
 * A data connection row shows the pairing evidence first: passive/active, the setup verb and
 * the announced endpoint (the connection's server side) stay in view at 80 columns; the
 * command's argument, then the client's address, are what give way.
 */
import type { Analysis, DataConnection, Session, UnseenTransfer } from '../../model/types.js';
import { DisplayFilter } from '../../report/filter/index.js';
import type { Row } from '../terminal.js';
import { bytes, clock, duration, endpoint, fit, fitLeft } from '../text.js';
import { SessionIndex, type SessionMeasures, type SessionRow, type SortColumn, type SortOrder } from './session-index.js';

export { SORT_COLUMNS, type SessionRow, type SortColumn, type SortOrder } from './session-index.js';

export interface SessionStatus {
  level: 0 | 1 | 2;
  marker: string;
  text: string;
  /** What the filter matches besides the text: the words the text abbreviates. */
  words: string;
}

/** OK / warnings / errors, with a marker so it reads without colour. */
export function sessionStatus(s: Session): SessionStatus {
  let warn = 0;
  let err = 0;
  for (const f of s.findings) {
    if (f.severity === 'error') err++;
    else if (f.severity === 'warning') warn++;
  }
  const words = warn ? 'warning' : '';
  if (err) return { level: 2, marker: 'x', text: `x ${err} error${err > 1 ? 's' : ''}${warn ? ` +${warn}w` : ''}`, words };
  if (warn) return { level: 1, marker: '!', text: `! ${warn} warning${warn > 1 ? 's' : ''}`, words };
  return { level: 0, marker: '✓', text: '✓ OK', words };
}

export interface DcStatus {
  level: 0 | 1 | 2;
  text: string;
  /** What the filter matches besides the text ("incomplete" under "x 426 reset"). */
  words: string;
}

/**
 * A data connection's status: how the transfer ended as its peers tell it (the failing reply code,
 * a reset, a short transfer, or the final reply), then what the capture lacks of it. Separate
 * facts: "✓ 226, capture missing 712 KiB" is a good transfer that the capture holds only in part.
 * While it runs (live sources): its throughput so far, then "closing" until its final reply.
 */
export function dcStatus(dc: DataConnection): DcStatus {
  if (dc.progress === 'open') {
    const elapsed = dc.end - dc.start;
    // Under a tenth of a second a rate says nothing yet.
    const rate = elapsed >= 0.1 && dc.bytes > 0 ? `${bytes(Math.round(dc.bytes / elapsed))}/s` : 'running';
    return { text: `▸ ${rate}`, level: 0, words: 'running open in progress' };
  }
  if (dc.progress === 'closing') return { text: '▸ closing', level: 0, words: 'running closing in progress' };
  const code = dc.finalReply?.code;
  const reset = dc.closeReason === 'rst';
  const cap = captureNote(dc);
  const words = [!dc.complete ? 'incomplete' : '', cap ? 'capture gaps missing' : ''].filter(Boolean).join(' ');
  if (dc.outcome === 'failed' || (code !== undefined && code >= 400) || reset) {
    const why = code !== undefined && code >= 400 ? `${code}${reset ? ' reset' : ''}` : reset ? 'reset' : code !== undefined ? 'short' : 'no reply';
    return { text: `x ${why}${cap ? `, ${cap}` : ''}`, level: 2, words: `failed ${words}` };
  }
  if (dc.outcome === null) return { text: '… open', level: 0, words: `open in progress ${words}` };
  if (dc.outcome === 'unknown') return { text: `? ${cap ?? 'no reply'}`, level: 1, words: `unknown ${words}` };
  if (cap) return { text: `✓ ${code ?? 'done'}, ${cap}`, level: 1, words };
  return { text: `✓ ${code ?? 'done'}`, level: 0, words };
}

/** What the capture lacks of a finished transfer, shortly; null when it holds all of it. */
function captureNote(dc: DataConnection): string | null {
  if (dc.missingBytes > 0) return `capture missing ${bytes(dc.missingBytes)}`;
  if (dc.outcome !== null && dc.closeReason !== 'fin' && dc.closeReason !== 'rst') return 'capture ends early';
  return null;
}

/** Changes whenever dcStatus of any of the session's data connections may have changed. */
function statusSignature(s: Session): number {
  let sig = 0;
  for (let i = 0; i < s.dataConnections.length; i++) {
    const dc = s.dataConnections[i];
    const outcome = dc.outcome === null ? 0 : dc.outcome === 'ok' ? 1 : dc.outcome === 'failed' ? 2 : 3;
    const progress = dc.progress === 'open' ? 2 : dc.progress === 'closing' ? 1 : 0;
    const bits = (((dc.finalReply?.code ?? 0) * 8 + (dc.closeReason === 'rst' ? 4 : 0) + (dc.complete ? 2 : 0) +
      (dc.missingBytes > 0 ? 1 : 0)) * 4 + outcome) * 3 + progress;
    sig = (sig * 31 + bits * (i + 1)) % 2147483647;
  }
  return sig;
}

/** Everything a data connection row shows, and the words behind its abbreviations (search text). */
function dcSearchParts(dc: DataConnection): string[] {
  const st = dcStatus(dc);
  return [dc.path ?? '', dc.command?.verb ?? '', dc.command?.arg ?? '', endpoint(dc.client), endpoint(dc.server),
    dc.mode ?? '', dc.setup ?? '', st.text, st.words, dc.guessedRole ?? ''];
}

/** Transfers of a session: data connections in the capture, and those announced but not in it. */
function originalText(o: NonNullable<Session['originalServer']>): string {
  return `${o.name !== undefined ? `${o.name} ` : ''}${endpoint(o)}`;
}

/**
 * The server a session talks to: a proxied session's real server first, then the proxy it went
 * through ("10.88.0.1:21 via 10.88.2.1:2121"), so a narrow column keeps the real one.
 */
function serverText(s: Session): string {
  return s.originalServer ? `${originalText(s.originalServer)} via ${endpoint(s.server)}` : endpoint(s.server);
}

/**
 * How far a session has run: its end, or while it is open (a live source) the latest moment any
 * of its connections was seen, so its duration grows while a transfer runs on an idle control connection.
 */
function liveEnd(s: Session): number {
  if (s.closed) return s.end;
  let end = s.end;
  for (const dc of s.dataConnections) if (dc.end > end) end = dc.end;
  return end;
}

export function transferCount(s: Session): number {
  return s.dataConnections.length + (s.unseenTransfers?.length ?? 0);
}

export function sessionBytes(s: Session): number {
  let n = 0;
  for (const dc of s.dataConnections) n += dc.bytes;
  return n;
}

export function sortValue(s: Session, c: SortColumn): number | string {
  switch (c) {
    case 'start': return s.start;
    case 'client': {
      let k = clientKey.get(s);
      if (k === undefined) clientKey.set(s, k = `${s.client.ip}|${String(s.client.port).padStart(5, '0')}`);
      return k;
    }
    case 'user': return s.user ?? '';
    case 'duration': return s.end - s.start;
    case 'commands': return s.commands.length;
    case 'transfers': return transferCount(s);
    case 'bytes': return sessionBytes(s);
    case 'status': return sessionStatus(s).level;
  }
}

/**
 * Lower-cased searchable text of a session: what its row and its data connections' rows show
 * (addresses, user, statuses, modes, setup verbs, commands, paths) plus its commands and finding
 * codes. Rebuilt only when the session has grown or a status changed.
 */
interface Haystack { cmds: number; dcs: number; findings: number; user: string | null; tls: boolean; status: number; original: unknown; text: string }
const searchText = new WeakMap<Session, Haystack>();

function haystack(s: Session): string {
  const hit = searchText.get(s);
  const status = statusSignature(s);
  if (hit && hit.cmds === s.commands.length && hit.dcs === s.dataConnections.length
    && hit.findings === s.findings.length && hit.user === s.user && hit.tls === s.tls && hit.status === status
    && hit.original === s.originalServer) return hit.text;
  const st = sessionStatus(s);
  const parts: string[] = [endpoint(s.client), endpoint(s.server), s.originalServer ? originalText(s.originalServer) : '', s.tls ? '[TLS]' : '', s.user ?? '', st.text, st.words];
  for (const c of s.commands) parts.push(c.verb, c.arg ?? '');
  for (const dc of s.dataConnections) parts.push(...dcSearchParts(dc));
  for (const f of s.findings) parts.push(f.code);
  // NUL separators: a needle never matches across two fields
  const text = parts.join('\u0000').toLowerCase();
  searchText.set(s, { cmds: s.commands.length, dcs: s.dataConnections.length, findings: s.findings.length, user: s.user, tls: s.tls, status, original: s.originalServer, text });
  return text;
}

/** Build the search text of sessions[from..] ahead of the first filter, for about budgetMs; returns where to go on. */
export function warmSearch(sessions: readonly Session[], from: number, budgetMs: number): number {
  const t0 = performance.now();
  let i = from;
  while (i < sessions.length) {
    haystack(sessions[i++]);
    if ((i & 63) === 0 && performance.now() - t0 > budgetMs) break;
  }
  return i;
}

/** Does the session match the filter text (case-insensitive substring of any searchable part)? */
/** Every word of the search text appears in what the session's rows show ("anonymous RETR"). */
export function sessionMatches(s: Session, needle: string): boolean {
  if (!needle) return true;
  const text = haystack(s);
  return needle.toLowerCase().split(/\s+/).every((w) => w === '' || text.includes(w));
}

/** The filter text as a display filter (when it parses as one and names a known field), else null: search text. */
export function displayFilterOf(text: string): { session(s: Session): boolean; unpaired(dc: DataConnection): boolean } | null {
  const filter = DisplayFilter.tryParse(text);
  if (!filter) return null;
  return { session: (s) => filter.matchesSession(s), unpaired: (dc) => filter.matchesTransfer(null, dc) };
}

/** Does an (unpaired) data connection match: anything its row shows, as for sessions. */
export function dcMatches(dc: DataConnection, needle: string): boolean {
  if (!needle) return true;
  const n = needle.toLowerCase();
  return dcSearchParts(dc).some((v) => v !== '' && v.toLowerCase().includes(n));
}

const clientKey = new WeakMap<Session, string>();

export const SESSION_MEASURES: SessionMeasures = { sortValue, matches: sessionMatches, dcMatches, displayFilter: displayFilterOf };

/** Every row of the view (tests, small captures); the dashboard keeps a SessionIndex and reads rows lazily. */
export function buildSessionRows(a: Analysis, filter: string, sort: SortOrder): SessionRow[] {
  return new SessionIndex(a, SESSION_MEASURES).rows(filter, sort).all();
}

interface Col { title: string; width: number; right?: boolean; minCols: number }

const ALL_TITLES = ['#', 'client → server', 'user', 'start', 'dur', 'cmds', 'xfers', 'bytes', 'status'];

/** Columns shown at a given width: the narrow layout drops the less important ones. */
function columns(width: number): Col[] {
  const all: Col[] = [
    { title: '#', width: 4, right: true, minCols: 0 },
    { title: 'client → server', width: 0, minCols: 0 },
    { title: 'user', width: 10, minCols: 0 },
    { title: 'start', width: 12, minCols: 120 },
    { title: 'dur', width: 7, right: true, minCols: 96 },
    { title: 'cmds', width: 5, right: true, minCols: 110 },
    { title: 'xfers', width: 5, right: true, minCols: 96 },
    { title: 'bytes', width: 9, right: true, minCols: 0 },
    { title: 'status', width: 13, minCols: 0 },
  ];
  const cols = all.filter((c) => width >= c.minCols);
  const fixed = cols.reduce((n, c) => n + c.width + 1, 0);
  cols[1].width = Math.max(12, width - fixed + 1);
  return cols;
}

function cells(cols: Col[], values: string[]): string {
  return cols.map((c, i) => (c.right ? fitLeft(values[i], c.width) : fit(values[i], c.width))).join(' ');
}

export function sessionHeader(width: number): string {
  const cols = columns(width);
  return cells(cols, cols.map((c) => c.title));
}

/** The argument of a command is shortened from the left (a path keeps its file name) down to this. */
const MIN_ARG = 8;
/** A guessed role (unpaired connections) is cut at the end down to this. */
const MIN_ROLE = 16;
/** Columns a data connection's label keeps when a long status takes room from it. */
const MIN_LABEL = 24;

/**
 * What a data connection row says, in at most `width` characters, richest form first:
 *   RETR pub/blob.bin (passive EPSV) [fd00:21::2]:36924 → [fd00:21::1]:50047
 * then the argument shortened from the left ("RETR …blob.bin"), then the client's address left
 * out (its port stays: "…:36924"), then the argument (or guessed role) dropped, then the
 * client, then the command:
 *   passive EPSV [fd00:21::1]:50047
 * The setup evidence (passive/active, verb, announced endpoint) is the last to go.
 */
export function dcLabel(dc: DataConnection, width = Infinity): string {
  const how = [dc.mode, dc.setup].filter(Boolean).join(' ');
  const server = endpoint(dc.server);
  const tail = (client: string | null): string => `${how ? `(${how}) ` : ''}${client ? `${client} ` : ''}→ ${server}`;
  const verb = dc.command?.verb ?? null;
  const arg = dc.command?.arg || null;
  const what = verb ? `${verb}${arg ? ' ' + arg : ''}` : (dc.guessedRole ?? 'data');
  /** `what` cut to fit `room`, or null when too little of it would be left. */
  const shortWhat = (room: number): string | null => {
    if (verb) {
      const keep = room - verb.length - 2; // the space and the "…"
      return arg && keep >= MIN_ARG - 1 ? `${verb} …${arg.slice(arg.length - keep)}` : null;
    }
    return room >= MIN_ROLE ? what.slice(0, room - 1) + '…' : null;
  };
  for (const client of [endpoint(dc.client), `…:${dc.client.port}`]) {
    const t = tail(client);
    if (what.length + 1 + t.length <= width) return `${what} ${t}`;
    const short = shortWhat(width - t.length - 1);
    if (short !== null) return `${short} ${t}`;
  }
  for (const client of [`…:${dc.client.port}`, null]) {
    const s = verb ? `${verb} ${tail(client)}` : tail(client);
    if (s.length <= width) return s;
  }
  const bare = `${how ? how + ' ' : '→ '}${server}`;
  if (bare.length <= width || !dc.mode) return bare;
  return `${dc.mode} ${server}`; // "active [fd00:21::2]:40123": the verb follows from the mode
}

const LEVEL_STYLE = ['ok', 'warn', 'error'] as const;

/** Columns a data connection row spans with its label (it has no user, and its start is its command's). */
const DATA_SPAN = new Set(['#', 'client → server', 'user', 'start']);

function split(text: string, width: number, statusWidth: number, level: 0 | 1 | 2): Row {
  const head = text.slice(0, text.length - statusWidth);
  const tail = text.slice(text.length - statusWidth);
  return [{ text: fit(head, Math.max(0, width - statusWidth)) }, { text: fit(tail, statusWidth), style: LEVEL_STYLE[level] }]
    .filter((seg) => seg.text.length > 0);
}

/** One row, exactly `width` columns. */
export function sessionRowText(r: SessionRow, width: number): Row {
  const cols = columns(width);
  const statusWidth = cols[cols.length - 1].width;
  if (r.kind === 'session') {
    const s = r.session;
    const st = sessionStatus(s);
    const values = [String(s.id), `${endpoint(s.client)} → ${serverText(s)}${s.tls ? ' [TLS]' : ''}`, s.user ?? '-',
      clock(s.start), duration(liveEnd(s) - s.start), String(s.commands.length), String(transferCount(s)),
      bytes(sessionBytes(s)), st.text];
    const byTitle = new Map(ALL_TITLES.map((t, i) => [t, values[i]]));
    return split(cells(cols, cols.map((c) => byTitle.get(c.title) ?? '')), width, statusWidth, st.level);
  }
  // A data connection: its label spans the leading columns (DATA_SPAN, a prefix of cols) and
  // may run on into the blank left part of the right-aligned cell after them.
  if (r.kind === 'unseen') return unseenRowText(r.unseen, cols, width, statusWidth);
  const dc = r.dc;
  const st = dcStatus(dc);
  const byTitle = new Map([['dur', duration(dc.end - dc.start)], ['bytes', bytes(dc.bytes)], ['status', st.text]]);
  let n = 0;
  while (n < cols.length && DATA_SPAN.has(cols[n].title)) n++;
  const rest = cols.slice(n);
  const values = rest.map((c) => byTitle.get(c.title) ?? '');
  const slack = rest[0].right ? Math.max(0, rest[0].width - values[0].length) : 0;
  let labelWidth = cols.slice(0, n).reduce((w, c) => w + c.width + 1, 0) - 1 + slack;
  const prefix = r.kind === 'data' ? '  └ ' : '  ? unpaired ';
  // A status longer than its column ("✓ 226, capture missing 712 KiB") takes room from the label,
  // which keeps at least MIN_LABEL columns.
  const extra = Math.max(0, Math.min(st.text.length - statusWidth, labelWidth - prefix.length - MIN_LABEL));
  labelWidth -= extra;
  const label = prefix + dcLabel(dc, labelWidth - prefix.length);
  const restCols = [{ ...rest[0], width: rest[0].width - slack }, ...rest.slice(1)];
  restCols[restCols.length - 1] = { ...restCols[restCols.length - 1]!, width: statusWidth + extra };
  return split(`${fit(label, labelWidth)} ${cells(restCols, values)}`, width, statusWidth + extra, st.level);
}

/** Status of a transfer whose data connection is not in the capture: what the server said of it. */
function unseenStatus(u: UnseenTransfer): { text: string; level: 0 | 1 | 2 } {
  const code = u.finalReply?.code ?? null;
  if (code !== null && code >= 400) return { text: `x ${code}`, level: 2 };
  return { text: `! ${code ?? 'no reply'}`, level: 1 };
}

/** "└ not in capture: RETR big.bin (passive PASV) → 10.0.0.5:50012", the evidence kept as the row narrows. */
function unseenRowText(u: UnseenTransfer, cols: Col[], width: number, statusWidth: number): Row {
  const st = unseenStatus(u);
  let n = 0;
  while (n < cols.length && DATA_SPAN.has(cols[n].title)) n++;
  const rest = cols.slice(n);
  const values = rest.map((c) => (c.title === 'status' ? st.text : c.title === 'bytes' ? '-' : ''));
  const labelWidth = cols.slice(0, n).reduce((w, c) => w + c.width + 1, 0) - 1;
  const how = [u.mode, u.setup].filter(Boolean).join(' ');
  const where = `${how ? `(${how}) ` : ''}→ ${endpoint(u.announced)}`;
  const what = `${u.command.verb}${u.command.arg ? ' ' + u.command.arg : ''}`;
  const prefix = '  └ not in capture: ';
  const room = labelWidth - prefix.length - where.length - 1;
  const label = prefix + (room >= what.length ? `${what} ${where}` : room >= u.command.verb.length ? `${fit(what, room)} ${where}` : where);
  return split(`${fit(label, labelWidth)} ${cells(rest, values)}`, width, statusWidth, st.level);
}

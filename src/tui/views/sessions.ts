/**
 * Sessions view: every control session with its data connections nested under it, then the
 * data connections that could not be paired. Sortable; `/` filters by address, user, command,
 * file name or finding code.
 */
import type { Analysis, DataConnection, Session } from '../../model/types.js';
import type { Row } from '../terminal.js';
import { bytes, clock, duration, endpoint, fit, fitLeft } from '../text.js';

export type SessionRow =
  | { kind: 'session'; key: string; session: Session }
  | { kind: 'data'; key: string; session: Session; dc: DataConnection }
  | { kind: 'unpaired'; key: string; dc: DataConnection };

export const SORT_COLUMNS = ['start', 'client', 'user', 'duration', 'commands', 'transfers', 'bytes', 'status'] as const;
export type SortColumn = typeof SORT_COLUMNS[number];
export interface SortOrder { column: SortColumn; reverse: boolean }

export interface SessionStatus { level: 0 | 1 | 2; marker: string; text: string }

/** OK / warnings / errors, with a marker so it reads without colour. */
export function sessionStatus(s: Session): SessionStatus {
  let warn = 0;
  let err = 0;
  for (const f of s.findings) {
    if (f.severity === 'error') err++;
    else if (f.severity === 'warning') warn++;
  }
  if (err) return { level: 2, marker: 'x', text: `x ${err} error${err > 1 ? 's' : ''}${warn ? ` +${warn}w` : ''}` };
  if (warn) return { level: 1, marker: '!', text: `! ${warn} warning${warn > 1 ? 's' : ''}` };
  return { level: 0, marker: '✓', text: '✓ OK' };
}

export function transferCount(s: Session): number {
  return s.dataConnections.length;
}

export function sessionBytes(s: Session): number {
  let n = 0;
  for (const dc of s.dataConnections) n += dc.bytes;
  return n;
}

function sortValue(s: Session, c: SortColumn): number | string {
  switch (c) {
    case 'start': return s.start;
    case 'client': return `${s.client.ip}|${String(s.client.port).padStart(5, '0')}`;
    case 'user': return s.user ?? '';
    case 'duration': return s.end - s.start;
    case 'commands': return s.commands.length;
    case 'transfers': return transferCount(s);
    case 'bytes': return sessionBytes(s);
    case 'status': return sessionStatus(s).level;
  }
}

/** Lower-cased searchable text of a session, rebuilt only when the session has grown. */
const searchText = new WeakMap<Session, { stamp: string; text: string }>();

function haystack(s: Session): string {
  const stamp = `${s.commands.length}|${s.dataConnections.length}|${s.findings.length}|${s.user}`;
  const hit = searchText.get(s);
  if (hit?.stamp === stamp) return hit.text;
  const parts: string[] = [endpoint(s.client), endpoint(s.server), s.user ?? ''];
  for (const c of s.commands) parts.push(c.verb, c.arg ?? '');
  for (const dc of s.dataConnections) parts.push(dc.path ?? '', endpoint(dc.client), endpoint(dc.server));
  for (const f of s.findings) parts.push(f.code);
  // NUL separators: a needle never matches across two fields
  const text = parts.join('\u0000').toLowerCase();
  searchText.set(s, { stamp, text });
  return text;
}

/** Does the session match the filter text (case-insensitive substring of any searchable part)? */
export function sessionMatches(s: Session, needle: string): boolean {
  return !needle || haystack(s).includes(needle.toLowerCase());
}

function dcMatches(dc: DataConnection, needle: string): boolean {
  if (!needle) return true;
  const n = needle.toLowerCase();
  return [dc.path, dc.command?.verb, dc.command?.arg, endpoint(dc.client), endpoint(dc.server), dc.guessedRole]
    .some((v) => !!v && v.toLowerCase().includes(n));
}

/** A session's own rows, made once per session (and again only when it gains data connections). */
const sessionRowsCache = new WeakMap<Session, SessionRow[]>();

function rowsOf(s: Session): SessionRow[] {
  let rows = sessionRowsCache.get(s);
  if (!rows || rows.length !== s.dataConnections.length + 1) {
    rows = [{ kind: 'session', key: `s${s.id}`, session: s }];
    for (const dc of s.dataConnections) rows.push({ kind: 'data', key: `s${s.id}d${dc.id}`, session: s, dc });
    sessionRowsCache.set(s, rows);
  }
  return rows;
}

export function buildSessionRows(a: Analysis, filter: string, sort: SortOrder): SessionRow[] {
  // Decorate once, then sort: the comparator must not recount findings or bytes per comparison.
  const keyed = a.sessions.filter((s) => sessionMatches(s, filter)).map((s) => ({ s, v: sortValue(s, sort.column) }));
  const dirn = sort.reverse ? -1 : 1;
  keyed.sort((x, y) => (x.v < y.v ? -dirn : x.v > y.v ? dirn : x.s.id - y.s.id));
  const sessions = keyed.map((k) => k.s);
  const rows: SessionRow[] = [];
  for (const s of sessions) for (const r of rowsOf(s)) rows.push(r);
  for (const dc of a.unpairedDataConnections) {
    if (dcMatches(dc, filter)) rows.push({ kind: 'unpaired', key: `u${dc.id}`, dc });
  }
  return rows;
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
    { title: 'status', width: 12, minCols: 0 },
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

function dcLabel(dc: DataConnection): string {
  const what = dc.command ? `${dc.command.verb}${dc.command.arg ? ' ' + dc.command.arg : ''}` : (dc.guessedRole ?? 'data');
  const how = [dc.mode, dc.setup].filter(Boolean).join(' ');
  return `${what}${how ? ` (${how})` : ''} ${endpoint(dc.client)} → ${endpoint(dc.server)}`;
}

function dcStatus(dc: DataConnection): { text: string; level: 0 | 1 | 2 } {
  if (dc.finalReply && dc.finalReply.code >= 400) return { text: `x ${dc.finalReply.code}`, level: 2 };
  if (dc.closeReason === 'rst') return { text: 'x reset', level: 2 };
  if (!dc.complete || dc.missingBytes > 0) return { text: '! incomplete', level: 1 };
  return { text: `✓ ${dc.finalReply ? dc.finalReply.code : 'done'}`, level: 0 };
}

const LEVEL_STYLE = ['ok', 'warn', 'error'] as const;

/** One row, exactly `width` columns. */
export function sessionRowText(r: SessionRow, width: number): Row {
  const cols = columns(width);
  let values: string[];
  let level: 0 | 1 | 2;
  let status: string;
  if (r.kind === 'session') {
    const s = r.session;
    const st = sessionStatus(s);
    level = st.level;
    status = st.text;
    values = [String(s.id), `${endpoint(s.client)} → ${endpoint(s.server)}${s.tls ? ' [TLS]' : ''}`, s.user ?? '-',
      clock(s.start), duration(s.end - s.start), String(s.commands.length), String(transferCount(s)),
      bytes(sessionBytes(s)), status];
  } else {
    const dc = r.dc;
    const st = dcStatus(dc);
    level = st.level;
    status = st.text;
    const prefix = r.kind === 'data' ? '  └ ' : '  ? unpaired ';
    values = ['', prefix + dcLabel(dc), '', clock(dc.start), duration(dc.end - dc.start), '', '', bytes(dc.bytes), status];
  }
  const byTitle = new Map(ALL_TITLES.map((t, i) => [t, values[i]]));
  const shown = cols.map((c) => byTitle.get(c.title) ?? '');
  const text = cells(cols, shown);
  const statusWidth = cols[cols.length - 1].width;
  const head = text.slice(0, text.length - statusWidth);
  const tail = text.slice(text.length - statusWidth);
  return [{ text: fit(head, Math.max(0, width - statusWidth)) }, { text: fit(tail, statusWidth), style: LEVEL_STYLE[level] }]
    .filter((seg) => seg.text.length > 0);
}

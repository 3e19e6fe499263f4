/**
 * Sessions view: every control session with its data connections nested under it, then the
 * data connections that could not be paired. Sortable; `/` filters by address, user, command,
 * file name or finding code.
 */
import type { Analysis, DataConnection, Session } from '../../model/types.js';
import type { Row } from '../terminal.js';
import { bytes, clock, duration, endpoint, fit, fitLeft } from '../text.js';
import { SessionIndex, type SessionMeasures, type SessionRow, type SortColumn, type SortOrder } from './session-index.js';

export { SORT_COLUMNS, type SessionRow, type SortColumn, type SortOrder } from './session-index.js';

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

/** Lower-cased searchable text of a session, rebuilt only when the session has grown. */
interface Haystack { cmds: number; dcs: number; findings: number; user: string | null; text: string }
const searchText = new WeakMap<Session, Haystack>();

function haystack(s: Session): string {
  const hit = searchText.get(s);
  if (hit && hit.cmds === s.commands.length && hit.dcs === s.dataConnections.length
    && hit.findings === s.findings.length && hit.user === s.user) return hit.text;
  const parts: string[] = [endpoint(s.client), endpoint(s.server), s.user ?? ''];
  for (const c of s.commands) parts.push(c.verb, c.arg ?? '');
  for (const dc of s.dataConnections) parts.push(dc.path ?? '', endpoint(dc.client), endpoint(dc.server));
  for (const f of s.findings) parts.push(f.code);
  // NUL separators: a needle never matches across two fields
  const text = parts.join('\u0000').toLowerCase();
  searchText.set(s, { cmds: s.commands.length, dcs: s.dataConnections.length, findings: s.findings.length, user: s.user, text });
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
export function sessionMatches(s: Session, needle: string): boolean {
  return !needle || haystack(s).includes(needle.toLowerCase());
}

export function dcMatches(dc: DataConnection, needle: string): boolean {
  if (!needle) return true;
  const n = needle.toLowerCase();
  return [dc.path, dc.command?.verb, dc.command?.arg, endpoint(dc.client), endpoint(dc.server), dc.guessedRole]
    .some((v) => !!v && v.toLowerCase().includes(n));
}

const clientKey = new WeakMap<Session, string>();

export const SESSION_MEASURES: SessionMeasures = { sortValue, matches: sessionMatches, dcMatches };

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

/**
 * The sessions table at scale: sort orders, filter results and the row list are index arrays
 * over `analysis.sessions`, built once per (analysis version, column, direction, filter) and
 * reused. Rows are materialized only when the pane asks for them (the visible window).
 *
 * - Sort keys per column are computed once per version (Float64Array or string[]), and the
 *   sort permutes an Int32Array of session indices.
 * - A filter keeps the full sorted order and drops non-matching sessions: changing the filter
 *   never re-sorts. A narrowing filter (the new text contains the old) tests only the sessions
 *   the old one kept.
 */
import type { Analysis, DataConnection, Session, UnseenTransfer } from '../../model/types.js';

export const SORT_COLUMNS = ['start', 'client', 'user', 'duration', 'commands', 'transfers', 'bytes', 'status'] as const;
export type SortColumn = typeof SORT_COLUMNS[number];
export interface SortOrder { column: SortColumn; reverse: boolean }

export type SessionRow =
  | { kind: 'session'; key: string; session: Session }
  | { kind: 'data'; key: string; session: Session; dc: DataConnection }
  /** A transfer whose announced data connection is not in the capture. */
  | { kind: 'unseen'; key: string; session: Session; unseen: UnseenTransfer }
  | { kind: 'unpaired'; key: string; dc: DataConnection };

/** What the index needs from the sessions view (kept there: it is the view's vocabulary). */
export interface SessionMeasures {
  sortValue(s: Session, c: SortColumn): number | string;
  matches(s: Session, needle: string): boolean;
  dcMatches(dc: DataConnection, needle: string): boolean;
  /** The filter text as a display filter, or null when it is search text. */
  displayFilter?(text: string): { session(s: Session): boolean; unpaired(dc: DataConnection): boolean } | null;
}

/** A session's own rows, made once per session (and again only when it gains data connections). */
const sessionRowsCache = new WeakMap<Session, SessionRow[]>();

export function rowsOf(s: Session): SessionRow[] {
  let rows = sessionRowsCache.get(s);
  if (!rows || rows.length !== rowCount(s)) {
    rows = [{ kind: 'session', key: `s${s.id}`, session: s }];
    for (const dc of s.dataConnections) rows.push({ kind: 'data', key: `s${s.id}d${dc.id}`, session: s, dc });
    (s.unseenTransfers ?? []).forEach((unseen, i) => rows!.push({ kind: 'unseen', key: `s${s.id}n${i + 1}`, session: s, unseen }));
    sessionRowsCache.set(s, rows);
  }
  return rows;
}

/** A session's rows: itself, its data connections, and its transfers whose data connection is not in the capture. */
function rowCount(s: Session): number {
  return 1 + s.dataConnections.length + (s.unseenTransfers?.length ?? 0);
}

/** What every row list of one analysis version shares. */
export class SessionShape {
  /** Rows per session (itself and its data connections), by index into sessions. */
  readonly rowCounts: Int32Array;
  private byId: Map<number, number> | null = null;

  constructor(readonly sessions: readonly Session[]) {
    this.rowCounts = new Int32Array(sessions.length);
    for (let i = 0; i < sessions.length; i++) this.rowCounts[i] = rowCount(sessions[i]);
  }

  /** Index into sessions of the session with this id, or -1. */
  indexOfId(id: number): number {
    // ids are usually 1, 2, 3, … in list order
    if (this.sessions[id - 1]?.id === id) return id - 1;
    if (!this.byId) {
      this.byId = new Map();
      for (let i = 0; i < this.sessions.length; i++) this.byId.set(this.sessions[i].id, i);
    }
    return this.byId.get(id) ?? -1;
  }
}

/** The rows of one (filter, sort) view, addressed by index without building them all. */
export class SessionRowList {
  readonly count: number;
  /** Sessions shown (not counting their data connection rows). */
  readonly sessionCount: number;
  /** starts[p]: row index of the p-th shown session; starts[sessionCount]: first unpaired row. */
  private readonly starts: Int32Array;
  /** Display position of each session (by index into sessions), -1 when filtered out; made on first lookup. */
  private positions: Int32Array | null = null;
  private unpairedById: Map<number, number> | null = null;

  constructor(
    private readonly shape: SessionShape,
    /** Indices into shape.sessions, in display order. */
    private readonly order: Int32Array,
    private readonly unpaired: readonly DataConnection[],
  ) {
    this.sessionCount = order.length;
    this.starts = new Int32Array(order.length + 1);
    const counts = shape.rowCounts;
    let n = 0;
    for (let p = 0; p < order.length; p++) {
      this.starts[p] = n;
      n += counts[order[p]];
    }
    this.starts[order.length] = n;
    this.count = n + unpaired.length;
  }

  at(i: number): SessionRow {
    const paired = this.starts[this.sessionCount];
    if (i >= paired) {
      const dc = this.unpaired[i - paired];
      return { kind: 'unpaired', key: `u${dc.id}`, dc };
    }
    // the last p with starts[p] <= i
    let lo = 0;
    let hi = this.sessionCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= i) lo = mid;
      else hi = mid - 1;
    }
    const rows = rowsOf(this.shape.sessions[this.order[lo]]);
    return rows[Math.min(i - this.starts[lo], rows.length - 1)];
  }

  keyAt(i: number): string {
    return this.at(i).key;
  }

  indexOf(key: string): number {
    const m = /^(?:s(\d+)(?:d(\d+)|n(\d+))?|u(\d+))$/.exec(key);
    if (!m) return -1;
    if (m[4] !== undefined) {
      if (!this.unpairedById) {
        this.unpairedById = new Map();
        for (let i = 0; i < this.unpaired.length; i++) this.unpairedById.set(this.unpaired[i].id, i);
      }
      const u = this.unpairedById.get(Number(m[4]));
      return u === undefined ? -1 : this.starts[this.sessionCount] + u;
    }
    const si = this.shape.indexOfId(Number(m[1]));
    if (si < 0) return -1;
    if (!this.positions) {
      this.positions = new Int32Array(this.shape.sessions.length).fill(-1);
      for (let p = 0; p < this.sessionCount; p++) this.positions[this.order[p]] = p;
    }
    const p = this.positions[si];
    if (p < 0) return -1;
    if (m[2] === undefined && m[3] === undefined) return this.starts[p];
    const rows = rowsOf(this.shape.sessions[si]);
    for (let j = 1; j < rows.length; j++) if (rows[j].key === key) return this.starts[p] + j;
    return -1;
  }

  /** Every row (tests and small lists only). */
  all(): SessionRow[] {
    const out: SessionRow[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.at(i));
    return out;
  }
}

/** Sorted orders and filter results of one analysis version; make a new one when it changes. */
export class SessionIndex {
  private readonly keys = new Map<SortColumn, Float64Array | string[]>();
  private readonly orders = new Map<string, Int32Array>();
  /** Last filters applied: needle → mask of matching sessions (a few, for narrowing and going back). */
  private readonly masks = new Map<string, Uint8Array>();
  private last: { filter: string; sort: string; list: SessionRowList } | null = null;
  private readonly shape: SessionShape;

  constructor(private readonly a: Analysis, private readonly m: SessionMeasures) {
    this.shape = new SessionShape(a.sessions);
  }

  get analysis(): Analysis {
    return this.a;
  }

  rows(filter: string, sort: SortOrder): SessionRowList {
    const sortKey = `${sort.column}|${sort.reverse}`;
    if (this.last?.filter === filter && this.last.sort === sortKey) return this.last.list;
    const full = this.sorted(sort);
    let order = full;
    if (filter) {
      const mask = this.mask(filter);
      order = new Int32Array(full.length);
      let n = 0;
      for (let p = 0; p < full.length; p++) if (mask[full[p]]) order[n++] = full[p];
      order = order.subarray(0, n);
    }
    const expr = filter ? this.m.displayFilter?.(filter) ?? null : null;
    const unpaired = !filter ? this.a.unpairedDataConnections
      : this.a.unpairedDataConnections.filter((dc) => (expr ? expr.unpaired(dc) : this.m.dcMatches(dc, filter)));
    const list = new SessionRowList(this.shape, order, unpaired);
    this.last = { filter, sort: sortKey, list };
    return list;
  }

  /** Makes one sort order not made yet (idle time); false when every order is ready. */
  warmStep(): boolean {
    for (const column of SORT_COLUMNS) {
      for (const reverse of [false, true]) {
        if (!this.orders.has(`${column}|${reverse}`)) { this.sorted({ column, reverse }); return true; }
      }
    }
    return false;
  }

  private columnKeys(c: SortColumn): Float64Array | string[] {
    let k = this.keys.get(c);
    if (!k) {
      const ss = this.a.sessions;
      const first = ss.length ? this.m.sortValue(ss[0], c) : 0;
      if (typeof first === 'number') {
        const f = new Float64Array(ss.length);
        for (let i = 0; i < ss.length; i++) f[i] = this.m.sortValue(ss[i], c) as number;
        k = f;
      } else {
        k = ss.map((s) => String(this.m.sortValue(s, c)));
      }
      this.keys.set(c, k);
    }
    return k;
  }

  private sorted(sort: SortOrder): Int32Array {
    const name = `${sort.column}|${sort.reverse}`;
    let order = this.orders.get(name);
    if (order) return order;
    const ss = this.a.sessions;
    const k = this.columnKeys(sort.column);
    const ids = new Float64Array(ss.length);
    for (let i = 0; i < ss.length; i++) ids[i] = ss[i].id;
    order = new Int32Array(ss.length);
    for (let i = 0; i < order.length; i++) order[i] = i;
    const dir = sort.reverse ? -1 : 1;
    // ties keep id order in both directions
    if (k instanceof Float64Array) order.sort((x, y) => (k[x] - k[y]) * dir || ids[x] - ids[y]);
    else order.sort((x, y) => (k[x] < k[y] ? -dir : k[x] > k[y] ? dir : ids[x] - ids[y]));
    this.orders.set(name, order);
    return order;
  }

  private mask(filter: string): Uint8Array {
    const expr = this.m.displayFilter?.(filter) ?? null;
    if (expr) {
      // A display filter: exact text as the key (values are case-sensitive), no narrowing.
      const key = `\u0000${filter}`;
      let m = this.masks.get(key);
      if (m) return m;
      m = new Uint8Array(this.a.sessions.length);
      this.a.sessions.forEach((s, i) => { if (expr.session(s)) m![i] = 1; });
      if (this.masks.size >= 8) this.masks.delete(this.masks.keys().next().value!);
      this.masks.set(key, m);
      return m;
    }
    const needle = filter.toLowerCase();
    let mask = this.masks.get(needle);
    if (mask) return mask;
    const ss = this.a.sessions;
    // a narrowing filter only tests what a shorter one it contains kept
    let base: Uint8Array | null = null;
    let baseLen = -1;
    for (const [k, v] of this.masks) if (k.length > baseLen && needle.includes(k)) { base = v; baseLen = k.length; }
    mask = new Uint8Array(ss.length);
    for (let i = 0; i < ss.length; i++) if ((!base || base[i]) && this.m.matches(ss[i], needle)) mask[i] = 1;
    if (this.masks.size >= 8) this.masks.delete(this.masks.keys().next().value!);
    this.masks.set(needle, mask);
    return mask;
  }
}

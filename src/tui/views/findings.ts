/** Findings view: everything found, most severe first; Enter jumps to the finding's frame. */
import type { Finding } from '../../model/findings.js';
import { isDiagnosis } from '../../analysis/diagnosis.js';
import type { Analysis, Session } from '../../model/types.js';
import type { PaneModel } from '../pane.js';
import { fit, fitLeft } from '../text.js';

export interface FindingRow { finding: Finding; session: Session | null; where: string }

const RANK = { error: 0, warning: 1, info: 2 } as const;
const MARK = { error: 'x ERR ', warning: '! WARN', info: 'i info' } as const;

/** Where a finding was listed; the label is made only for rows on screen. */
const enum Place { Capture, Session, SessionTcp, Data, Unpaired }

/**
 * Every finding of an analysis in display order, kept as parallel arrays and an index
 * permutation: tens of thousands of findings cost no row objects until they are drawn.
 */
export class FindingList {
  private readonly findings: Finding[] = [];
  private readonly places: Place[] = [];
  /** Index into analysis.sessions, or -1. */
  private readonly owners: number[] = [];
  /** Data connection id for Data / Unpaired. */
  private readonly dcIds: number[] = [];
  /** Sessions [0, nextSession) are collected; -1 before the capture's own findings. */
  private nextSession = -1;
  private order: Int32Array | null = null;
  private readonly global: Set<Finding>;
  private readonly local = new Set<Finding>();

  constructor(private readonly a: Analysis) {
    this.global = new Set(a.findings);
  }

  /**
   * Collects for about budgetMs (idle time), or to the end; true when the list is complete.
   * The analyzer may list one finding on both the session and its TCP connection: listed once.
   */
  collect(budgetMs = Infinity): boolean {
    if (this.order) return true;
    const a = this.a;
    const t0 = performance.now();
    if (this.nextSession < 0) {
      for (const f of a.findings) this.add(f, Place.Capture, -1, -1);
      this.nextSession = 0;
    }
    while (this.nextSession < a.sessions.length) {
      const i = this.nextSession++;
      const s = a.sessions[i];
      this.local.clear();
      for (const f of s.findings) this.add(f, Place.Session, i, -1);
      for (const f of s.tcp?.findings ?? []) this.add(f, Place.SessionTcp, i, -1);
      for (const dc of s.dataConnections) for (const f of dc.tcp?.findings ?? []) this.add(f, Place.Data, i, dc.id);
      if ((i & 15) === 15 && performance.now() - t0 > budgetMs) return false;
    }
    this.local.clear();
    for (const dc of a.unpairedDataConnections) for (const f of dc.tcp?.findings ?? []) this.add(f, Place.Unpaired, -1, dc.id);
    this.order = sortOrder(this.findings);
    return true;
  }

  private add(f: Finding, place: Place, owner: number, dcId: number): void {
    if (this.local.has(f) || (place !== Place.Capture && this.global.has(f))) return;
    this.local.add(f);
    this.findings.push(f);
    this.places.push(place);
    this.owners.push(owner);
    this.dcIds.push(dcId);
  }

  private sorted(): Int32Array {
    if (!this.order) this.collect();
    return this.order!;
  }

  get count(): number {
    return this.sorted().length;
  }

  at(i: number): FindingRow {
    const j = this.sorted()[i];
    const owner = this.owners[j];
    const session = owner >= 0 ? this.a.sessions[owner] : null;
    return { finding: this.findings[j], session, where: this.where(j, session) };
  }

  private where(j: number, s: Session | null): string {
    switch (this.places[j]) {
      case Place.Capture: return 'capture';
      case Place.Session: return `session ${s!.id}`;
      case Place.SessionTcp: return `session ${s!.id} tcp`;
      case Place.Data: return `session ${s!.id} D${this.dcIds[j]}`;
      case Place.Unpaired: return `unpaired ${this.dcIds[j]}`;
    }
  }
}

/** Diagnoses first (they name the cause), then severity, then frame (none last), then listing order. */
function sortOrder(fs: readonly Finding[]): Int32Array {
  const n = fs.length;
  const order = new Int32Array(n);
  const NO_FRAME = 2 ** 32;
  const key = (f: Finding): number => (isDiagnosis(f.code) ? 0 : RANK[f.severity] + 1) * 2 ** 33 + Math.min(f.frame ?? NO_FRAME, NO_FRAME);
  if (n <= 2 ** 18) {
    // rank (2 bits) | frame (33) | index (18) packed in one exact double: a native sort, no comparator
    const packed = new Float64Array(n);
    for (let i = 0; i < n; i++) packed[i] = key(fs[i]) * 2 ** 18 + i;
    packed.sort();
    for (let i = 0; i < n; i++) order[i] = packed[i] % 2 ** 18;
    return order;
  }
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) { keys[i] = key(fs[i]); order[i] = i; }
  return order.sort((x, y) => keys[x] - keys[y] || x - y);
}

/** Every finding row in display order (tests, reports of small captures). */
export function collectFindings(a: Analysis): FindingRow[] {
  const list = new FindingList(a);
  const rows: FindingRow[] = [];
  for (let i = 0; i < list.count; i++) rows.push(list.at(i));
  return rows;
}

export const FINDING_HEADER = `${fit('sev', 6)} ${fit('where', 14)} ${fitLeft('frame', 7)} ${fit('code', 24)} message`;

export function findingsPane(list: FindingList): PaneModel {
  const text = (r: FindingRow): string =>
    `${MARK[r.finding.severity]} ${fit(r.where, 14)} ${fitLeft(r.finding.frame === null ? '-' : String(r.finding.frame), 7)} ${fit(r.finding.code, 24)} ${r.finding.message}`;
  return {
    title: `Findings (${list.count})`,
    header: FINDING_HEADER,
    source: { count: list.count, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < list.count ? k : -1) },
    row: (i) => {
      const r = list.at(i);
      return [{ text: text(r), style: r.finding.severity === 'error' ? 'error' : r.finding.severity === 'warning' ? 'warn' : undefined }];
    },
    empty: 'no findings',
    matches: (i, needle) => text(list.at(i)).toLowerCase().includes(needle.toLowerCase()),
  };
}

/**
 * Findings view: everything found, most severe first; Enter jumps to the finding's frame. A code
 * that occurred several times in a session is one row with its count (the ×N column).
 */
import type { Finding } from '../../model/findings.js';
import { isDiagnosis } from '../../analysis/diagnosis.js';
import type { Analysis, Session } from '../../model/types.js';
import type { PaneModel } from '../pane.js';
import { fit, fitLeft } from '../text.js';

export interface FindingRow { finding: Finding; session: Session | null; where: string }

const RANK = { error: 0, warning: 1, info: 2 } as const;
const MARK = { error: 'x ERR ', warning: '! WARN', info: 'i info' } as const;

/**
 * Where a finding was listed; the label is made only for rows on screen. The TCP layer's findings
 * (a retransmission that differs, port reuse, …) are listed on their FTP session by the analysis,
 * and those of unpaired data connections on the capture, so the sessions' and the capture's lists
 * are all there is to read.
 */
const enum Place { Capture, Session }

/**
 * Every finding of an analysis in display order, kept as parallel arrays and an index
 * permutation: tens of thousands of findings cost no row objects until they are drawn.
 */
export class FindingList {
  private readonly findings: Finding[] = [];
  private readonly places: Place[] = [];
  /** Index into analysis.sessions, or -1. */
  private readonly owners: number[] = [];
  /** Sessions [0, nextSession) are collected; -1 before the capture's own findings. */
  private nextSession = -1;
  private order: Int32Array | null = null;
  /** Occurrences of all listed findings (folded ones count each). */
  private total = 0;

  constructor(private readonly a: Analysis) {}

  /** Collects for about budgetMs (idle time), or to the end; true when the list is complete. */
  collect(budgetMs = Infinity): boolean {
    if (this.order) return true;
    const a = this.a;
    const t0 = performance.now();
    if (this.nextSession < 0) {
      for (const f of a.findings) this.add(f, Place.Capture, -1);
      this.nextSession = 0;
    }
    while (this.nextSession < a.sessions.length) {
      const i = this.nextSession++;
      for (const f of a.sessions[i].findings) this.add(f, Place.Session, i);
      if ((i & 15) === 15 && performance.now() - t0 > budgetMs) return false;
    }
    this.order = sortOrder(this.findings);
    return true;
  }

  private add(f: Finding, place: Place, owner: number): void {
    this.findings.push(f);
    this.places.push(place);
    this.owners.push(owner);
    this.total += f.count ?? 1;
  }

  /** Occurrences of every listed finding (a folded finding counts as many as it folded). */
  get occurrences(): number {
    this.sorted();
    return this.total;
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

export const FINDING_HEADER = `${fit('sev', 6)} ${fit('where', 14)} ${fitLeft('frame', 7)} ${fit('code', 24)} ${fitLeft('×n', 5)} message`;

/** How often a (folded) finding occurred: "×689", blank for one. */
function countCell(f: Finding): string {
  const n = f.count ?? 1;
  return n > 1 ? `×${n}` : '';
}

export function findingsPane(list: FindingList): PaneModel {
  const text = (r: FindingRow): string =>
    `${MARK[r.finding.severity]} ${fit(r.where, 14)} ${fitLeft(r.finding.frame === null ? '-' : String(r.finding.frame), 7)} ${fit(r.finding.code, 24)} ${fitLeft(countCell(r.finding), 5)} ${r.finding.message}`;
  const occurrences = list.occurrences;
  return {
    title: `Findings (${list.count}${occurrences > list.count ? `, ${occurrences} occurrences` : ''})`,
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

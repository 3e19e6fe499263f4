/** Findings view: everything found, most severe first; Enter jumps to the finding's frame. */
import type { Finding } from '../../model/findings.js';
import type { Analysis, Session } from '../../model/types.js';
import type { PaneModel } from '../pane.js';
import { fit, fitLeft } from '../text.js';

export interface FindingRow { finding: Finding; session: Session | null; where: string }

const RANK = { error: 0, warning: 1, info: 2 } as const;
const MARK = { error: 'x ERR ', warning: '! WARN', info: 'i info' } as const;

export function collectFindings(a: Analysis): FindingRow[] {
  const rows: FindingRow[] = [];
  // The analyzer may list one finding on both the session and its TCP connection.
  const seen = new Set<Finding>();
  const add = (f: Finding, session: Session | null, where: string): void => {
    if (seen.has(f)) return;
    seen.add(f);
    rows.push({ finding: f, session, where });
  };
  for (const f of a.findings) add(f, null, 'capture');
  for (const s of a.sessions) {
    for (const f of s.findings) add(f, s, `session ${s.id}`);
    for (const f of s.tcp?.findings ?? []) add(f, s, `session ${s.id} tcp`);
    for (const dc of s.dataConnections) for (const f of dc.tcp?.findings ?? []) add(f, s, `session ${s.id} D${dc.id}`);
  }
  for (const dc of a.unpairedDataConnections) for (const f of dc.tcp?.findings ?? []) add(f, null, `unpaired ${dc.id}`);
  return rows.sort((x, y) => RANK[x.finding.severity] - RANK[y.finding.severity]
    || (x.finding.frame ?? Infinity) - (y.finding.frame ?? Infinity));
}

export const FINDING_HEADER = `${fit('sev', 6)} ${fit('where', 14)} ${fitLeft('frame', 7)} ${fit('code', 24)} message`;

export function findingsPane(rows: FindingRow[]): PaneModel {
  const text = (i: number): string => {
    const r = rows[i];
    return `${MARK[r.finding.severity]} ${fit(r.where, 14)} ${fitLeft(r.finding.frame === null ? '-' : String(r.finding.frame), 7)} ${fit(r.finding.code, 24)} ${r.finding.message}`;
  };
  return {
    title: `Findings (${rows.length})`,
    header: FINDING_HEADER,
    source: { count: rows.length, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < rows.length ? k : -1) },
    row: (i) => [{ text: text(i), style: rows[i].finding.severity === 'error' ? 'error' : rows[i].finding.severity === 'warning' ? 'warn' : undefined }],
    empty: 'no findings',
    matches: (i, needle) => text(i).toLowerCase().includes(needle.toLowerCase()),
  };
}

/**
 * The dashboard's scale structures against plain reference computations, on the sessions of
 * every recorded capture put together (ids renumbered so they stay unique), and the chunked
 * file reader against analyzeFile on each capture.
 */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isDiagnosis } from '../../src/analysis/diagnosis.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { Analysis, Session } from '../../src/model/types.js';
import { loadCapture } from '../../src/analysis/sources/file.js';
import { collectFindings, FindingList } from '../../src/tui/views/findings.js';
import { SessionIndex, type SessionRow } from '../../src/tui/views/session-index.js';
import { dcMatches, SESSION_MEASURES, sessionMatches, sortValue, SORT_COLUMNS, type SortOrder } from '../../src/tui/views/sessions.js';
import { CAPTURES } from './harness.js';

const ROOT = new URL('../../captures/', import.meta.url).pathname;
const FILES = [
  ...readdirSync(ROOT).filter((f) => /\.(pcap|pcapng|pcap\.gz)$/.test(f)).map((f) => ROOT + f),
  ...readdirSync(CAPTURES + 'zeek').filter((f) => f.endsWith('.pcap')).map((f) => `${CAPTURES}zeek/${f}`),
];

async function combined(): Promise<Analysis> {
  const all = await Promise.all(FILES.map((f) => analyzeFile(f, { keepPackets: true })));
  let id = 1;
  let dcId = 1;
  return {
    source: all[0].source,
    sessions: all.flatMap((a) => a.sessions.map((s): Session => ({ ...s, id: id++ }))),
    unpairedDataConnections: all.flatMap((a) => a.unpairedDataConnections.map((dc) => ({ ...dc, id: dcId++ }))),
    findings: all.flatMap((a) => a.findings),
  };
}

/** The obvious way: filter, sort objects with a comparator, flatten. */
function referenceRows(a: Analysis, filter: string, sort: SortOrder): string[] {
  const dir = sort.reverse ? -1 : 1;
  const ss = a.sessions.filter((s) => sessionMatches(s, filter)).sort((x, y) => {
    const vx = sortValue(x, sort.column);
    const vy = sortValue(y, sort.column);
    return vx < vy ? -dir : vx > vy ? dir : x.id - y.id;
  });
  return [
    ...ss.flatMap((s) => [`s${s.id}`, ...s.dataConnections.map((dc) => `s${s.id}d${dc.id}`),
      ...s.unseenTransfers.map((_, i) => `s${s.id}n${i + 1}`)]),
    ...a.unpairedDataConnections.filter((dc) => dcMatches(dc, filter)).map((dc) => `u${dc.id}`),
  ];
}

describe('sessions index on every recorded session', async () => {
  const a = await combined();
  const filters = ['', '1', '10', '10.0', 'anonymous', 'retr', 'cleartext-credentials', '::', 'no-such-thing'];

  it('has enough to test with', () => {
    expect(a.sessions.length).toBeGreaterThan(16);
    expect(a.sessions.some((s) => s.dataConnections.length > 1)).toBe(true);
  });

  it('gives the reference rows for every column, direction and filter; keys find their rows', () => {
    const index = new SessionIndex(a, SESSION_MEASURES);
    for (const column of SORT_COLUMNS) {
      for (const reverse of [false, true]) {
        for (const filter of filters) {
          const list = index.rows(filter, { column, reverse });
          const keys = list.all().map((r: SessionRow) => r.key);
          expect(keys, `${column} ${reverse} /${filter}`).toEqual(referenceRows(a, filter, { column, reverse }));
          keys.forEach((k, i) => expect(list.indexOf(k)).toBe(i));
          expect(list.sessionCount).toBe(keys.filter((k) => /^s\d+$/.test(k)).length);
        }
      }
    }
  });

  it('a narrowing filter, typed character by character, ends where a fresh filter does', () => {
    const index = new SessionIndex(a, SESSION_MEASURES);
    const sort: SortOrder = { column: 'bytes', reverse: true };
    const typed = 'vsftpd';
    for (let n = 1; n <= typed.length; n++) index.rows(typed.slice(0, n), sort);
    for (const f of ['10.0', '10.0.2', '10', '']) {
      expect(index.rows(f, sort).all().map((r) => r.key)).toEqual(new SessionIndex(a, SESSION_MEASURES).rows(f, sort).all().map((r) => r.key));
    }
  });

  it('a key of a row that is filtered out or unknown is not found', () => {
    const list = new SessionIndex(a, SESSION_MEASURES).rows('no-such-thing', { column: 'start', reverse: false });
    expect(list.indexOf('s1')).toBe(-1);
    expect(list.indexOf('s999999')).toBe(-1);
    expect(list.indexOf('nonsense')).toBe(-1);
  });
});

describe('findings list on every recorded session', async () => {
  const a = await combined();

  it('lists each finding once, most severe first, then by frame', () => {
    const rows = collectFindings(a);
    // The TCP layer's findings are on the sessions (and the capture) already: those lists are all there is.
    const every = new Set([...a.findings, ...a.sessions.flatMap((s) => s.findings)]);
    expect(rows.length).toBe(every.size);
    expect(new Set(rows.map((r) => r.finding))).toEqual(every);
    // Diagnoses (the cause of a failure) lead, then the most severe, then by frame.
    const rank = (f: { severity: 'error' | 'warning' | 'info'; code: string }): number => (isDiagnosis(f.code) ? 0 : { error: 1, warning: 2, info: 3 }[f.severity]);
    for (let i = 1; i < rows.length; i++) {
      const p = rows[i - 1].finding;
      const q = rows[i].finding;
      expect(rank(p) < rank(q) || (rank(p) === rank(q) && (p.frame ?? Infinity) <= (q.frame ?? Infinity))).toBe(true);
    }
    for (const r of rows) if (r.session) expect(r.where).toMatch(new RegExp(`^session ${r.session.id}\\b`));
  });

  it('collected in slices of no time at all, gives the same list', () => {
    const list = new FindingList(a);
    let slices = 0;
    while (!list.collect(0)) slices++;
    expect(slices).toBeGreaterThan(0);
    const whole = collectFindings(a);
    expect(Array.from({ length: list.count }, (_, i) => list.at(i))).toEqual(whole);
  });
});

describe('the dashboard reads a file in small chunks with the same result', () => {
  const summary = (a: Analysis): unknown => ({
    packets: a.source.packets,
    bytes: a.source.bytes,
    sessions: a.sessions.map((s) => [s.id, s.commands.length, s.dataConnections.map((dc) => dc.bytes), s.findings.map((f) => f.code), s.packets?.count]),
    unpaired: a.unpairedDataConnections.length,
    findings: a.findings.map((f) => f.code),
  });
  it.each(FILES.map((f) => [f.slice(f.lastIndexOf('/') + 1), f]))('%s', async (_name, path) => {
    const load = loadCapture(path);
    expect(summary(await load.analysis)).toEqual(summary(await analyzeFile(path, { keepPackets: true })));
    expect(load.progress()).toBeNull();
  });
});

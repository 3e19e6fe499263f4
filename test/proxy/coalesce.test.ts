/**
 * Coalescing of repeated findings (the proxy's refusals and --log), and the log writer's bound
 * when its file does not keep up. Pure: the clock ticks and the sink are the test's.
 */
import { describe, expect, it } from 'vitest';
import { FindingCoalescer, OVERFLOW_KEY } from '../../src/proxy/coalesce.js';
import { ProxyLog, LOG_QUEUE_LIMIT } from '../../src/cli/proxy-log.js';
import { finding } from '../../src/model/findings.js';
import type { AnalysisEvent, Session } from '../../src/model/types.js';

const f = (msg: string) => finding('warning', 'proxy-rate-limited', msg);

describe('FindingCoalescer', () => {
  it('the first of a key goes out, repeats are counted into one summary per tick, quiet keys are forgotten', () => {
    const c = new FindingCoalescer({ intervalSec: 60 });
    expect(c.offer('k', f('from 192.0.2.1'), '192.0.2.1')).not.toBeNull();
    for (let i = 0; i < 5000; i++) expect(c.offer('k', f(`from 192.0.2.${i % 3}`), `192.0.2.${i % 3}`)).toBeNull();
    const [s, ...rest] = c.tick();
    expect(rest).toEqual([]);
    expect(s!.finding.count).toBe(5000);
    expect(s!.finding.code).toBe('proxy-rate-limited');
    expect(s!.finding.message).toMatch(/^5000 more times in the last 60 s \(from 192\.0\.2\.0, 192\.0\.2\.1, 192\.0\.2\.2\); the latest: from 192\.0\.2\.\d$/);
    // Nothing new in the next period: no line, and the key is forgotten.
    expect(c.tick()).toEqual([]);
    expect(c.keys).toBe(0);
    expect(c.offer('k', f('again'))).not.toBeNull();
  });

  it('summaries are never coalesced again; flush sums up and forgets the keys it selects', () => {
    const c = new FindingCoalescer<string>({ intervalSec: 60 });
    const summary = { ...f('x'), count: 7 };
    expect(c.offer('k', summary)).toBe(summary);
    c.offer('1 a', f('a'), undefined, 'one');
    c.offer('1 a', f('a'), undefined, 'one');
    c.offer('2 a', f('a'), undefined, 'two');
    const out = c.flush((k) => k.startsWith('1 '));
    expect(out.map((o) => [o.key, o.owner, o.finding.count])).toEqual([['1 a', 'one', 1]]);
    expect(c.keys).toBe(1);
  });

  it('keys are bounded: past the bound, new keys share one overflow key, still counted', () => {
    const c = new FindingCoalescer({ intervalSec: 60, maxKeys: 10 });
    for (let i = 0; i < 10; i++) c.offer(`k${i}`, f(`${i}`));
    expect(c.offer('k10', f('10'))).not.toBeNull(); // the overflow key's first
    for (let i = 11; i < 100; i++) expect(c.offer(`k${i}`, f(`${i}`))).toBeNull();
    expect(c.keys).toBe(11);
    expect(c.tick().find((s) => s.key === OVERFLOW_KEY)!.finding.count).toBe(89);
  });
});

describe('ProxyLog', () => {
  const session = { id: 3 } as Session;
  const ev = (code: 'ftp-malformed-command' | 'proxy-invalid-commands', s: Session | null = session): AnalysisEvent =>
    ({ type: 'finding', session: s, finding: finding('warning', code, 'x') });

  it('per session and code: one line, then the count before the session-close line', () => {
    const lines: string[] = [];
    const log = new ProxyLog({ write: (l) => lines.push(l), queued: 0 }, { showPasswords: false, intervalSec: 60 });
    for (let i = 0; i < 1000; i++) log.event(ev('ftp-malformed-command'));
    log.event(ev('proxy-invalid-commands'));
    log.event({ type: 'session-close', session: { ...session, start: 0, end: 1, client: { ip: '192.0.2.1', port: 1 }, server: { ip: '192.0.2.2', port: 21 },
      user: null, tls: false, handshake: { seen: true, rttMs: null, mss: null }, greeting: null, commands: [], dataConnections: [], findings: [],
      closed: true } as unknown as Session });
    const parsed = lines.map((l) => JSON.parse(l) as { type: string; session: number; finding?: { code: string; count?: number } });
    expect(parsed.map((p) => [p.type, p.finding?.code ?? null, p.finding?.count ?? null])).toEqual([
      ['finding', 'ftp-malformed-command', null],
      ['finding', 'proxy-invalid-commands', null],
      ['finding', 'ftp-malformed-command', 999],
      ['session-close', null, null],
    ]);
    expect(parsed.every((p) => p.session === 3)).toBe(true);
  });

  it('a log file that does not keep up: lines past the queue limit are dropped and counted, said once', () => {
    const lines: string[] = [];
    let queued = 0;
    let said = 0;
    const log = new ProxyLog({ write: (l) => { lines.push(l); queued += l.length; }, get queued() { return queued; } },
      { showPasswords: false, intervalSec: 60, onFirstDrop: () => said++ });
    // Summaries (with count) are never coalesced: each is a line.
    const line: AnalysisEvent = { type: 'finding', session, finding: { ...finding('warning', 'proxy-rate-limited', 'x'.repeat(1000)), count: 2 } };
    while (queued <= LOG_QUEUE_LIMIT) log.event(line);
    const kept = lines.length;
    for (let i = 0; i < 100; i++) log.event(line);
    expect(lines.length).toBe(kept);
    expect(log.dropped).toBe(100);
    expect(said).toBe(1);
    // Once the file catches up, lines go out again.
    queued = 0;
    log.event(ev('proxy-invalid-commands'));
    expect(lines.length).toBe(kept + 1);
  });
});

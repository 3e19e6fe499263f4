/**
 * Issue 14, point 9: what the TCP layer finds about a connection (tcp-reassembly-limit, tcp-port-reuse,
 * tcp-flow-evicted; tcp-retransmission-mismatch is in scenarios.test.ts) reaches the FTP session's findings,
 * which every view reads. Driven by zeek's ipv4.pcap, edited the way tracker.test.ts edits it.
 */
import { describe, expect, it } from 'vitest';
import { FtpAnalyzer } from '../../src/analysis/analyzer.js';
import { TcpTracker, type TcpTrackerOptions } from '../../src/tcp/tracker.js';
import type { AnalysisEvent } from '../../src/model/types.js';
import { renderReportText } from '../../src/report/text.js';
import { connPackets, decodeAll, feed, loadPackets, shiftSeq, type StoredPacket } from '../tcp/support.js';

const packets = await loadPackets('public/zeek/ipv4.pcap');
const all = decodeAll(packets);
const control = connPackets(all, 50003, 21);

function analyze(pkts: StoredPacket[], opts: TcpTrackerOptions = {}) {
  const events: AnalysisEvent[] = [];
  const analyzer = new FtpAnalyzer({ sourceType: 'pcap', sourceName: 'ipv4.pcap', onEvent: (e) => events.push(e) });
  const tracker = new TcpTracker(analyzer, { isServerPort: (p) => p === 21 || p === 20, ...opts });
  feed(tracker, pkts);
  tracker.end(Math.max(...pkts.map((p) => p.ts)));
  return { a: analyzer.finish(), events };
}

const codesOf = (a: ReturnType<typeof analyze>['a']) => a.sessions.flatMap((s) => s.findings.map((f) => f.code));

describe('TCP findings are listed on the FTP session', () => {
  it('tcp-reassembly-limit on the control connection', () => {
    const victim = control.filter((d) => d.srcPort === 21 && d.payloadLength > 0)[1]!;
    const keep = packets.filter((p) => {
      const d = all.find((x) => x.p === p)!;
      return p !== victim.p && !(d.srcPort === 50003 && d.dstPort === 21 && p.frame > victim.p.frame);
    });
    const { a, events } = analyze(keep, { maxOutOfOrderBytesPerDirection: 600 });
    const f = a.sessions[0]!.findings.find((x) => x.code === 'tcp-reassembly-limit')!;
    expect(f.message).toMatch(/^control connection: the server had more out-of-order data than the reassembly limit/);
    expect(renderReportText(a)).toContain('tcp-reassembly-limit');
    expect(events.some((e) => e.type === 'finding' && e.session === a.sessions[0] && e.finding.code === 'tcp-reassembly-limit')).toBe(true);
  });

  it('tcp-port-reuse: a new SYN on the control connection\'s 4-tuple before it was seen to close', () => {
    const open = control.filter((d) => !(d.flags & 0x05)).map((d) => d.p);
    const again = control.map((d) => shiftSeq(d, d.srcPort === 21 ? 1_000_000 : 2_000_000, d.srcPort === 21 ? 2_000_000 : 1_000_000));
    const { a } = analyze([...open, ...again.map((p) => ({ ...p, ts: p.ts + 100, frame: p.frame + 1000 }))]);
    expect(a.sessions).toHaveLength(2);
    expect(a.sessions[0]!.findings.map((f) => f.code)).toContain('tcp-port-reuse');
    expect(a.sessions[0]!.findings.find((f) => f.code === 'tcp-port-reuse')!.message).toMatch(/^control connection: a new SYN/);
  });

  it('tcp-flow-evicted: a full flow table closes the idlest connection, and its session says so', () => {
    const { a } = analyze(packets, { maxFlows: 1 });
    expect(codesOf(a)).toContain('tcp-flow-evicted');
  });

  it('a connection\'s findings are the session\'s too, never listed twice in the report', () => {
    const { a } = analyze(packets, { maxFlows: 1 });
    const text = renderReportText(a);
    for (const s of a.sessions) {
      const n = s.findings.filter((f) => f.code === 'tcp-flow-evicted').length;
      expect(n).toBeLessThanOrEqual(1);
    }
    // Once per session that has it, and once in the capture's findings for unpaired data connections.
    const listed = a.sessions.filter((s) => s.findings.some((f) => f.code === 'tcp-flow-evicted')).length
      + a.findings.filter((f) => f.code === 'tcp-flow-evicted').length;
    expect(text.match(/tcp-flow-evicted/g)!.length).toBe(listed);
    expect(a.findings.filter((f) => f.code === 'tcp-flow-evicted').every((f) => /^unpaired data connection \d+ /.test(f.message))).toBe(true);
  });
});

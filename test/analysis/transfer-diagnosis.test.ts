/**
 * The transfer diagnosis on captures where the cause was made real (captures/tcp/record.sh: vsftpd and
 * real clients through a link with loss, reordering or delay, a slow or stopped reader, window scaling
 * off), and the absence of such findings where nothing was wrong.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { Analysis, DataConnection, Session } from '../../src/model/types.js';
import { toReportJson } from '../../src/report/json.js';
import { expectValidReport } from '../helpers/validate-report.js';

const ROOT = join(import.meta.dirname, '..', '..');
const cap = (rel: string) => join(ROOT, 'captures', rel);
const DIAGNOSIS = new Set(['transfer-loss', 'transfer-receiver-limited', 'transfer-window-limited', 'transfer-stalled']);

async function analyze(rel: string): Promise<Analysis> {
  return analyzeFile(cap(rel), { transferTimelines: true });
}

function diagnosisFindings(s: Session) {
  return s.findings.filter((f) => DIAGNOSIS.has(f.code));
}

function onlyTransfer(a: Analysis): { s: Session; dc: DataConnection } {
  const s = a.sessions[0]!;
  const dc = s.dataConnections.find((d) => d.command?.verb === 'RETR')!;
  return { s, dc };
}

describe('transfer diagnosis on recorded failures', () => {
  it('loss (5% of the server\'s frames dropped): transfer-loss with the share and bytes sent twice', async () => {
    const { s, dc } = onlyTransfer(await analyze('tcp/tcp-loss.pcap'));
    const t = dc.tcpAnalysis!;
    expect(t.dir).toBe(1); // passive mode: the FTP server is not the TCP initiator
    expect(t.bytes).toBe(262144);
    expect(t.retransmittedSegments).toBeGreaterThanOrEqual(5);
    expect(t.lostSegments).toBeGreaterThan(0);
    expect(t.causeSeconds.loss).toBeGreaterThan(0);
    const f = diagnosisFindings(s);
    expect(f.map((x) => x.code)).toEqual(['transfer-loss']);
    expect(f[0]!.message).toMatch(/^RETR file-256KiB\.bin: \d+\.\d% of segments retransmitted \(\d+ of \d+, \d+ bytes sent twice\).*: packet loss between the server \(sending\) and the client$/);
    expect(f[0]!.frame).toBe(t.firstRetransmissionFrame);
  });

  it('reordering: the loss finding says TCP took reordering for loss', async () => {
    const { s, dc } = onlyTransfer(await analyze('tcp/tcp-reorder.pcap'));
    expect(dc.tcpAnalysis!.outOfOrder).toBeGreaterThan(50);
    expect(dc.tcpAnalysis!.spuriousRetransmissions).toBeGreaterThan(0);
    const f = diagnosisFindings(s);
    expect(f.map((x) => x.code)).toEqual(['transfer-loss']);
    expect(f[0]!.message).toMatch(/reordering on the path between the server \(sending\) and the client: \d+ segments arrived out of order, and TCP took it for loss/);
  });

  it('a slow reader (curl --limit-rate, small receive buffer): receiver-limited, zero windows counted and timed', async () => {
    const { s, dc } = onlyTransfer(await analyze('tcp/tcp-slow-reader.pcap'));
    const t = dc.tcpAnalysis!;
    expect(t.limitedBy).toBe('receiver');
    expect(t.zeroWindow.periods).toBeGreaterThanOrEqual(10);
    expect(t.zeroWindow.seconds).toBeGreaterThan(1);
    const f = diagnosisFindings(s).find((x) => x.code === 'transfer-receiver-limited')!;
    expect(f.message).toMatch(/the client read slowly: \d+ zero-window periods, [\d.]+ s in total; .* the client, not the network or the server, set the pace/);
    expect(f.frame).toBe(t.firstZeroWindowFrame);
    // 48 kB/s over a 256 KiB file: the timeline spans the whole transfer, every bucket moderate
    expect(t.durationSec).toBeGreaterThan(4);
    expect(t.throughput!).toBeLessThan(80_000);
  });

  it('window scaling off on the client, 200 ms RTT: window-limited at 64 KiB, and says why', async () => {
    const { s, dc } = onlyTransfer(await analyze('tcp/tcp-noscale.pcap'));
    const t = dc.tcpAnalysis!;
    expect(t.windowScale).toEqual([null, null]);
    expect(t.maxWindow).toBe(65535);
    expect(t.pathRttMs!).toBeGreaterThan(190);
    expect(t.maxFlight!).toBeGreaterThan(60_000);
    expect(t.limitedBy).toBe('window');
    const f = diagnosisFindings(s);
    expect(f.map((x) => x.code)).toEqual(['transfer-window-limited']);
    expect(f[0]!.message).toMatch(/bytes in flight pinned at 64 KiB \(the client's advertised window\) for [\d.]+ s of [\d.]+ s; at 20\d ms RTT that caps the transfer at 3\d\d kB\/s: window scaling is off on the client \(no WS option in its SYN\)$/);
  });

  it('a client that stops reading for 5 s: stalled on a zero window; the same download at full speed is not', async () => {
    const a = await analyze('tcp/tcp-stalled.pcap');
    expect(a.sessions.length).toBe(2);
    const [first, second] = a.sessions as [Session, Session];
    const t = first.dataConnections[0]!.tcpAnalysis!;
    expect(t.stalls.length).toBe(1);
    const st = t.stalls[0]!;
    expect(st.cause).toBe('zero-window');
    expect(st.end - st.start).toBeGreaterThan(4);
    expect(st.open).toBe(false);
    const stalled = diagnosisFindings(first).find((x) => x.code === 'transfer-stalled')!;
    expect(stalled.message).toMatch(/^RETR \/pub\/file-256KiB\.bin: no new data for [\d.]+ s \(frames \d+–\d+\): the client's receive window was zero \(it stopped reading\)$/);
    expect(stalled.frame).toBe(st.fromFrame);
    expect(diagnosisFindings(second)).toEqual([]);
    expect(second.dataConnections[0]!.tcpAnalysis!.stalls).toEqual([]);
    // The timeline: every byte in it, and the stall's seconds in the buckets it covers.
    expect(t.timeline.bytes.reduce((x, y) => x + y, 0)).toBe(t.bytes);
    const receiver = t.timeline.cause.filter((c) => c === 'receiver').length;
    expect(receiver / t.timeline.cause.length).toBeGreaterThan(0.8);
    const startBucket = Math.floor((st.start - t.timeline.start) / t.timeline.bucketSec);
    const endBucket = Math.floor((st.end - t.timeline.start) / t.timeline.bucketSec);
    expect(t.timeline.cause.slice(startBucket + 1, endBucket).every((c) => c === 'receiver')).toBe(true);
    expect(t.timeline.bytes.slice(startBucket + 1, endBucket).every((b) => b === 0)).toBe(true);
  });

  it('--graphs JSON with the diagnosis validates against the schema', async () => {
    for (const rel of ['tcp/tcp-stalled.pcap', 'tcp/tcp-noscale.pcap', 'vsftpd-auth-tls.pcap']) {
      const j = toReportJson(await analyze(rel), { graphs: true }) as { sessions: { dataConnections: { tcpAnalysis?: { timeline?: unknown } }[]; controlTcpAnalysis?: unknown }[] };
      expectValidReport(j);
      expect(j.sessions[0]!.controlTcpAnalysis).toBeDefined();
      expect(j.sessions[0]!.dataConnections[0]!.tcpAnalysis!.timeline).toBeDefined();
    }
  });
});

describe('no diagnosis where nothing slowed the transfer', () => {
  // Fast LAN transfers, small public captures: no loss, stall or window finding may appear.
  it.each([
    ['vsftpd-pasv-ipv4.pcap'], ['vsftpd-port-ipv4.pcap'], ['vsftpd-epsv-user-ipv4.pcap'], ['vsftpd-lftp-ipv6.pcapng'],
    ['ftpsrv-pasv-ipv4.pcap'], ['vsftpd-auth-tls.pcap'], ['public/zeek/ipv4.pcap'], ['public/zeek/ipv6.pcap'],
    ['public/zeek/retr.pcap'], ['public/suricata-verify/bug-4877/input.pcap'],
  ])('%s', async (rel) => {
    const a = await analyze(rel);
    expect(a.sessions.flatMap(diagnosisFindings)).toEqual([]);
  });

  it('a control connection\'s turns are not stalls: a reply the next command acknowledges seconds later (zeek ipv4)', async () => {
    const a = await analyze('public/zeek/ipv4.pcap');
    const c = a.sessions[0]!.controlTcpAnalysis!;
    // The user took up to 14 s between commands; each reply waited for the ACK that came with the next one.
    expect(c.durationSec).toBeGreaterThan(30);
    expect(c.stalls).toEqual([]);
    expect(c.causeSeconds.sender).toBeGreaterThan(30);
  });

  it('a capture with packets missing (zeek bigtransfer: ACKs of data it never saw) gets no stall or window finding', async () => {
    const a = await analyze('public/zeek/bigtransfer.pcap');
    const t = a.sessions[0]!.dataConnections.find((d) => d.command?.verb === 'RETR')!.tcpAnalysis!;
    expect(t.ackedUnseen).toBeGreaterThan(0);
    expect(t.stalls.length).toBeGreaterThan(0); // the gaps between what the capture kept look like stalls
    expect(a.sessions.flatMap(diagnosisFindings)).toEqual([]);
  });

  it('the recorded aborted downloads behind a 1 Mbit/s token bucket show its drops as loss with timeouts', async () => {
    const a = await analyze('vsftpd-aborted.pcap');
    const loss = a.sessions.flatMap(diagnosisFindings).filter((f) => f.code === 'transfer-loss');
    expect(loss.length).toBeGreaterThanOrEqual(1);
    expect(loss[0]!.message).toMatch(/\d+ retransmission timeouts? of up to \d+ ms/);
  });
});

/**
 * A running transfer's figures move as its bytes arrive: a capture is fed to the pipeline packet
 * by packet, as a live capture is, and after every packet the snapshot's data connection says
 * how many bytes have gone so far. The expected counts are tshark's (tcp.len per frame, stored
 * in test/tcp/expected by its make.sh), not ours.
 */
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import type { DataConnection } from '../../src/model/types.js';
import { dcStatus } from '../../src/tui/views/sessions.js';
import { renderLadder } from '../../src/report/ladder.js';
import { capturePath, expectedPath, readTsv } from '../tcp/support.js';

interface Seen { frame: number; bytes: number; missing: number; end: number; ts: number; progress: DataConnection['progress']; status: string }

describe('live figures of a running transfer', () => {
  it('zeek/retr.pcap: bytes grow with every segment as tshark counts them, the state goes open → closing → settled', async () => {
    const rows = readTsv(expectedPath('public/zeek/retr.pcap.tsv'));
    const pipeline = new Pipeline({}, { type: 'live', name: 'retr.pcap fed packet by packet' });
    const seen: Seen[] = [];
    let dc: DataConnection | null = null;
    await readCapture(capturePath('public/zeek/retr.pcap'), (rec) => {
      pipeline.push(rec);
      const a = pipeline.snapshot();
      dc ??= a.sessions[0]?.dataConnections.find((d) => d.command?.verb === 'RETR' || d.setup === 'EPSV') ?? null;
      if (dc) seen.push({ frame: rec.frame, bytes: dc.bytes, missing: dc.missingBytes, end: dc.end, ts: rec.ts, progress: dc.progress, status: dcStatus(dc).text });
    });
    const final = pipeline.finish();
    expect(dc).not.toBeNull();
    const d = dc!;
    expect(final.sessions[0]!.dataConnections).toContain(d);
    // tshark's stream of the data connection, and the server → client payload (RETR) up to each frame.
    const stream = String(d.tcp!.id - 1);
    const fromServer = (r: Record<string, string>): boolean => Number(r['tcp.srcport']) === d.server.port;
    let sum = 0;
    const expected = new Map<number, number>();
    for (const r of rows) {
      if (r['tcp.stream'] === stream && fromServer(r) && !r['tcp.analysis.retransmission']) sum += Number(r['tcp.len']);
      expected.set(Number(r['frame.number']), sum);
    }
    expect(sum).toBe(d.bytes);
    expect(d.bytes).toBeGreaterThan(0);
    // While the connection is open, the figures are tshark's running total, and end is the latest segment's time.
    const open = seen.filter((s) => s.progress === 'open');
    expect(open.length).toBeGreaterThan(3);
    const growing = new Set(open.map((s) => s.bytes));
    expect(growing.size).toBeGreaterThan(2); // it moved, more than once, before the end
    for (const s of open) {
      expect(s.bytes, `bytes after frame ${s.frame}`).toBe(expected.get(s.frame));
      expect(s.missing).toBe(0);
      expect(s.end).toBeLessThanOrEqual(s.ts);
      expect(s.status).toMatch(/^▸ /);
    }
    // States appear in order, each for a contiguous run of packets: open, closing (FIN before the 226), then settled.
    const order = seen.map((s) => s.progress ?? 'settled').filter((p, i, all) => i === 0 || all[i - 1] !== p);
    expect(order).toEqual(['open', 'closing', 'settled']);
    expect(seen.at(-1)!.status).toMatch(/^✓ 226/);
    expect(d.complete).toBe(true);
  });

  it('the ladder of a running transfer shows the bytes so far and says it runs; settled, it says neither', () => {
    const base: DataConnection = {
      id: 1, client: { ip: '10.0.0.2', port: 40000 }, server: { ip: '10.0.0.1', port: 50000 }, mode: 'passive', setup: 'PASV',
      setupFrame: null, command: { verb: 'RETR', arg: 'big.bin', frame: null }, direction: 'download', path: '/big.bin',
      expectedBytes: 20 * 1048576, bytes: 5 * 1048576, missingBytes: 0, start: 100, end: 102.5, complete: false, sha256: null,
      restOffset: null, transferType: 'I', closeReason: null, finalReply: null, guessedRole: null, opener: 'client', tcp: null,
      progress: 'open',
    };
    const session = {
      id: 1, client: { ip: '10.0.0.2', port: 39999 }, server: { ip: '10.0.0.1', port: 21 }, start: 99, end: 102.5, user: 'anonymous',
      loggedIn: true, tls: false, tlsInfo: null, handshake: { seen: true, rttMs: null, mss: null }, greeting: null, commands: [],
      unsolicitedReplies: [], dataConnections: [base], findings: [], controlBytes: [0, 0] as [number, number], closed: false,
      unseenTransfers: [], packets: null, tcp: null,
    };
    const running = renderLadder(session).map((l) => l.text).join('\n');
    expect(running).toContain('5.00 MiB download in 2.50 s so far, 2.00 MiB/s');
    expect(running).toContain('D1 running');
    expect(running).not.toContain('incomplete');
    expect(dcStatus(base).text).toBe('▸ 2.0 MiB/s');
    const done = { ...base, progress: undefined, bytes: 20 * 1048576, end: 110, complete: true, closeReason: 'fin' as const, finalReply: { code: 226, text: 'ok', frame: null } };
    const settled = renderLadder({ ...session, dataConnections: [done] }).map((l) => l.text).join('\n');
    expect(settled).toContain('20.0 MiB download in 10.0 s');
    expect(settled).not.toMatch(/so far|running/);
    expect(dcStatus(done).text).toBe('✓ 226');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capturePath, loadPackets, readZeekLog, track, type ConnLog } from './support.js';

// Zeek's conn.log counts orig_bytes/resp_bytes in sequence space (up to the FIN), so they
// include what the capture lacks; missed_bytes is the part that was never seen.
const CASES = [
  { pcap: 'public/zeek/bigtransfer.pcap', log: 'public/zeek/expected/core.tcp.large-file-reassembly/conn.log' },
  { pcap: 'public/zeek/ipv4.pcap', log: 'public/zeek/expected/scripts.base.protocols.ftp.ftp-ipv4/conn.log' },
  { pcap: 'public/zeek/ipv6.pcap', log: 'public/zeek/expected/scripts.base.protocols.ftp.ftp-ipv6/conn.log' },
  { pcap: 'public/zeek/ftp-auth-tls.pcap', log: 'public/zeek/expected/scripts.base.protocols.ftp.ftp-auth-tls/conn.log' },
];

function findConn(conns: ConnLog[], row: Record<string, string>): ConnLog | undefined {
  return conns.find(
    (l) =>
      l.conn.client.ip === row['id.orig_h'] && l.conn.client.port === Number(row['id.orig_p']) &&
      l.conn.server.ip === row['id.resp_h'] && l.conn.server.port === Number(row['id.resp_p']),
  );
}

describe('per-connection byte counts match zeek conn.log', () => {
  for (const c of CASES) {
    it(c.pcap, async () => {
      const { rec, tracker } = track(await loadPackets(c.pcap));
      const rows = readZeekLog(capturePath(c.log));
      expect(rec.conns.length).toBe(rows.length);
      for (const row of rows) {
        const log = findConn(rec.conns, row);
        expect(log, `${row['id.orig_h']}:${row['id.orig_p']} -> ${row['id.resp_h']}:${row['id.resp_p']}`).toBeDefined();
        const conn = log!.conn;
        expect(conn.bytes[0] + conn.missing[0]).toBe(Number(row.orig_bytes));
        expect(conn.bytes[1] + conn.missing[1]).toBe(Number(row.resp_bytes));
        expect(conn.missing[0] + conn.missing[1]).toBe(Number(row.missed_bytes));
        // Events and counters agree.
        expect(log!.pos).toEqual([conn.bytes[0] + conn.missing[0], conn.bytes[1] + conn.missing[1]]);
        expect(conn.packets).toBe(Number(row.orig_pkts) + Number(row.resp_pkts));
        expect(log!.packets).toBe(conn.packets);
        expect(log!.closes.length).toBe(1);
        expect(log!.eventsAfterClose).toBe(0);
        // SF: normal establishment and FIN teardown; RSTR: the responder reset it.
        if (row.conn_state === 'SF') expect(conn.closeReason).toBe('fin');
        if (row.conn_state === 'RSTR') expect([conn.closeReason, conn.rstBy]).toEqual(['rst', 1]);
        expect(conn.handshake.seen).toBe(row.history.startsWith('Sh'));
      }
      expect(tracker.connections).toBe(0);
      expect(tracker.bufferedBytes).toBe(0);
    });
  }
});

describe('bigtransfer.pcap: > 4 GiB stream with sequence wraparound and huge holes', () => {
  it('delivers every chunk at the file offset zeek reports, and counts the rest as missing', async () => {
    const { rec } = track(await loadPackets('public/zeek/bigtransfer.pcap'));
    const data = rec.conns.find((l) => l.conn.server.port === 37150)!;
    expect(data.conn.bytes[1] + data.conn.missing[1]).toBe(5_416_666_670);
    expect(data.conn.missing[1]).toBe(5_416_642_848);
    const files = readZeekLog(capturePath('public/zeek/expected/core.tcp.large-file-reassembly/files.log'));
    const big = files.find((f) => f['id.resp_p'] === '37150')!;
    expect(data.conn.bytes[1]).toBe(Number(big.seen_bytes));
    expect(data.conn.missing[1]).toBe(Number(big.missing_bytes));
    // Zeek's `out` lists "file_chunk, <length>, <offset>, <bytes>" for both data connections (listing first).
    const chunks = readFileSync(capturePath('public/zeek/expected/core.tcp.large-file-reassembly/out'), 'latin1')
      .split('\n')
      .filter((l) => l.startsWith('file_chunk, '))
      .map((l) => l.split(', ', 3).slice(1, 3).map(Number));
    const listing = rec.conns.find((l) => l.conn.server.port === 63988)!;
    const ours = [...listing.chunks[1], ...data.chunks[1]].map(([off, len]) => [len, off]);
    expect(ours).toEqual(chunks);
  });
});

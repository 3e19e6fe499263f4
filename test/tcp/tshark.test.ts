import { describe, expect, it } from 'vitest';
import type { TcpConnection } from '../../src/tcp/events.js';
import { expectedPath, loadPackets, readTsv, track } from './support.js';

const CAPTURES = [
  'public/zeek/ipv4.pcap',
  'public/zeek/ipv6.pcap',
  'public/zeek/retr.pcap',
  'public/zeek/ftp-auth-tls.pcap',
  'public/zeek/ipv6-multiline-reply.pcap',
  'public/zeek/bigtransfer.pcap',
  'public/suricata-verify/bug-4877/input.pcap',
  'public/suricata-verify/bug-3519/input.pcap',
  'public/suricata-verify/ftp/ftp-download-active/input.pcap',
  'public/suricata-verify/ftp/ftp-download-passive/input.pcap',
];

type Row = Record<string, string>;
const SYN = 0x02;
const ACK = 0x10;
const FIN = 0x01;
const RST = 0x04;

const src = (r: Row) => r['ip.src'] || r['ipv6.src'];
const dst = (r: Row) => r['ip.dst'] || r['ipv6.dst'];
const flags = (r: Row) => parseInt(r['tcp.flags'], 16);

/** What tshark's rows say about one tcp.stream, in our terms. */
function summarize(rows: Row[]) {
  const syn = rows.find((r) => (flags(r) & (SYN | ACK)) === SYN);
  const synAck = rows.find((r) => (flags(r) & (SYN | ACK)) === (SYN | ACK));
  const clientIsFirstSender = syn ? true : synAck ? src(synAck) !== src(rows[0]) : undefined;
  const dirOf = (r: Row) => (src(r) === src(rows[0]) && r['tcp.srcport'] === rows[0]['tcp.srcport'] ? 0 : 1);
  const spans: [number, number] = [0, 0];
  const union: [number, number] = [0, 0];
  for (const d of [0, 1] as const) {
    const mine = rows.filter((r) => dirOf(r) === d);
    if (mine.length === 0) continue;
    const synRow = mine.find((r) => flags(r) & SYN);
    const base = synRow ? Number(synRow['tcp.seq_raw']) + 1 : Number(mine[0]['tcp.seq_raw']);
    // Sequence ranges of the payload, relative to the base (no wraparound in these captures).
    const ranges = mine
      .filter((r) => Number(r['tcp.len']) > 0 && !(flags(r) & RST))
      .map((r) => {
        const s = Number(r['tcp.seq_raw']) + (flags(r) & SYN ? 1 : 0) - base;
        return [s, s + Number(r['tcp.len'])] as const;
      })
      .sort((a, b) => a[0] - b[0]);
    let covered = 0;
    let end = 0;
    for (const [s, e] of ranges) {
      if (e > end) covered += e - Math.max(s, end);
      end = Math.max(end, e);
    }
    spans[d] = end;
    union[d] = covered;
  }
  return { syn, synAck, clientIsFirstSender, dirOf, spans, union };
}

function optionsOf(r: Row) {
  const o: Record<string, unknown> = {};
  if (r['tcp.options.mss_val']) o.mss = Number(r['tcp.options.mss_val']);
  if (r['tcp.options.wscale.shift']) o.wscale = Number(r['tcp.options.wscale.shift']);
  if (r['tcp.options.sack_perm']) o.sackPermitted = true;
  if (r['tcp.options.timestamp.tsval']) o.tsVal = Number(r['tcp.options.timestamp.tsval']);
  if (r['tcp.options.timestamp.tsecr']) o.tsEcr = Number(r['tcp.options.timestamp.tsecr']);
  return o;
}

describe('connections, handshakes and byte counts match tshark', () => {
  for (const cap of CAPTURES) {
    it(cap, async () => {
      const rows = readTsv(expectedPath(cap + '.tsv'));
      const streams = new Map<number, Row[]>();
      for (const r of rows) {
        const id = Number(r['tcp.stream']);
        if (!streams.has(id)) streams.set(id, []);
        streams.get(id)!.push(r);
      }
      const { rec } = track(await loadPackets(cap));
      // Connection ids are Wireshark's tcp.stream + 1.
      expect(rec.conns.map((l) => l.conn.id)).toEqual([...streams.keys()].map((s) => s + 1));
      for (const [stream, srows] of streams) {
        const conn: TcpConnection = rec.conns[stream].conn;
        const t = summarize(srows);
        const first = srows[0];
        const a = { ip: src(first), port: Number(first['tcp.srcport']) };
        const b = { ip: dst(first), port: Number(first['tcp.dstport']) };
        if (t.clientIsFirstSender !== undefined) {
          expect([conn.client, conn.server]).toEqual(t.clientIsFirstSender ? [a, b] : [b, a]);
        } else {
          expect(new Set([`${conn.client.ip} ${conn.client.port}`, `${conn.server.ip} ${conn.server.port}`]))
            .toEqual(new Set([`${a.ip} ${a.port}`, `${b.ip} ${b.port}`]));
        }
        const flip = conn.client.ip === a.ip && conn.client.port === a.port ? 0 : 1;
        expect(conn.packets).toBe(srows.length);
        expect(conn.firstFrame).toBe(Number(first['frame.number']));
        expect(conn.lastFrame).toBe(Number(srows[srows.length - 1]['frame.number']));
        if (cap.includes('bigtransfer')) continue; // wraps; checked against zeek instead
        for (const d of [0, 1] as const) {
          const td = (d ^ flip) as 0 | 1;
          expect(conn.bytes[d] + conn.missing[d], `stream ${stream} dir ${d}`).toBe(t.spans[td]);
          expect(conn.bytes[d], `stream ${stream} dir ${d}`).toBe(t.union[td]);
        }
        const hs = conn.handshake;
        expect(hs.seen).toBe(t.syn !== undefined && t.synAck !== undefined);
        if (t.syn) {
          expect(hs.synFrame).toBe(Number(t.syn['frame.number']));
          if (t.syn === first) expect(rec.conns[stream].synFrameAtOpen).toBe(hs.synFrame);
          expect(hs.isn[0]).toBe(Number(t.syn['tcp.seq_raw']));
          expect(hs.window[0]).toBe(Number(t.syn['tcp.window_size_value']));
          expect(hs.options[0]).toEqual(optionsOf(t.syn));
        }
        if (t.synAck) {
          expect(hs.synAckFrame).toBe(Number(t.synAck['frame.number']));
          expect(hs.isn[1]).toBe(Number(t.synAck['tcp.seq_raw']));
          expect(hs.window[1]).toBe(Number(t.synAck['tcp.window_size_value']));
          expect(hs.options[1]).toEqual(optionsOf(t.synAck));
        }
        const rtt = srows.find((r) => r['tcp.analysis.initial_rtt'] !== '');
        if (rtt) {
          expect(hs.rttMs).not.toBeNull();
          expect(Math.abs(hs.rttMs! - Number(rtt['tcp.analysis.initial_rtt']) * 1000)).toBeLessThan(1e-3);
        } else {
          expect(hs.rttMs).toBeNull();
        }
        for (const d of [0, 1] as const) {
          const fin = srows.find((r) => t.dirOf(r) === (d ^ flip) && flags(r) & FIN);
          expect(conn.finFrame[d]).toBe(fin ? Number(fin['frame.number']) : null);
        }
        // tshark's tcp.analysis.retransmission: a segment repeating sequence space already seen.
        expect(conn.retransmissions).toBe(srows.filter((r) => r['tcp.analysis.retransmission'] !== '').length);
        const rst = srows.find((r) => flags(r) & RST);
        expect(conn.rstFrame).toBe(rst ? Number(rst['frame.number']) : null);
      }
    });
  }
});

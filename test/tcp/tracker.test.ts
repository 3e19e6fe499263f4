import { describe, expect, it } from 'vitest';
import {
  capturePath, connPackets, decodeAll, expectedPath, loadPackets, readTsv, readZeekLog, recut, shiftSeq, track, Recorder,
  type ConnLog, type StoredPacket,
} from './support.js';
import { TcpTracker } from '../../src/tcp/tracker.js';
import { feed } from './support.js';

const IPV4 = 'public/zeek/ipv4.pcap';
const IPV4_CONN_LOG = 'public/zeek/expected/scripts.base.protocols.ftp.ftp-ipv4/conn.log';

/** zeek's per-direction totals by "ip port ip port" (orig first) and the reverse key. */
function zeekTotals(): Map<string, [number, number]> {
  const m = new Map<string, [number, number]>();
  for (const r of readZeekLog(capturePath(IPV4_CONN_LOG))) {
    const o = Number(r.orig_bytes);
    const s = Number(r.resp_bytes);
    m.set(`${r['id.orig_h']} ${r['id.orig_p']} ${r['id.resp_h']} ${r['id.resp_p']}`, [o, s]);
    m.set(`${r['id.resp_h']} ${r['id.resp_p']} ${r['id.orig_h']} ${r['id.orig_p']}`, [s, o]);
  }
  return m;
}

const keyOf = (l: ConnLog) => `${l.conn.client.ip} ${l.conn.client.port} ${l.conn.server.ip} ${l.conn.server.port}`;

/**
 * Bytes + missing per 4-tuple and direction, summed over every connection on it, keyed and
 * oriented as zeek's conn.log has it (a mid-stream pickup may have guessed the roles the other way).
 */
function totalsByTuple(conns: ConnLog[]): Map<string, [number, number]> {
  const origFirst = new Set(readZeekLog(capturePath(IPV4_CONN_LOG)).map((r) =>
    `${r['id.orig_h']} ${r['id.orig_p']} ${r['id.resp_h']} ${r['id.resp_p']}`));
  const m = new Map<string, [number, number]>();
  for (const l of conns) {
    const c = l.conn;
    const asIs = origFirst.has(keyOf(l));
    const k = asIs ? keyOf(l) : `${c.server.ip} ${c.server.port} ${c.client.ip} ${c.client.port}`;
    const t = m.get(k) ?? [0, 0];
    t[asIs ? 0 : 1] += c.bytes[0] + c.missing[0];
    t[asIs ? 1 : 0] += c.bytes[1] + c.missing[1];
    m.set(k, t);
  }
  return m;
}

describe('TcpTracker on ipv4.pcap variations', async () => {
  const packets = await loadPackets(IPV4);
  const all = decodeAll(packets);
  const zeek = zeekTotals();
  const control = connPackets(all, 50003, 21);

  it('mid-stream pickup: without the handshake, roles come from port 21 and counts stay right', () => {
    const dropped = new Set(control.slice(0, 3).map((d) => d.p.frame));
    expect(control.slice(0, 3).every((d) => d.payloadLength === 0)).toBe(true);
    const { rec } = track(packets.filter((p) => !dropped.has(p.frame)), { isServerPort: (p) => p === 21 });
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    expect(ctl.conn.client).toEqual({ ip: '141.142.220.235', port: 50003 });
    expect(ctl.conn.handshake.seen).toBe(false);
    expect(ctl.conn.handshake.isn).toEqual([null, null]);
    expect(ctl.conn.bytes).toEqual(zeek.get(keyOf(ctl)));
    expect(ctl.conn.missing).toEqual([0, 0]);
  });

  it('mid-stream pickup after data: counting starts at the first byte seen', () => {
    const gone = control.slice(0, 6);
    const lost: [number, number] = [0, 0];
    for (const d of gone) lost[d.srcPort === 21 ? 1 : 0] += d.payloadLength;
    expect(lost[0] + lost[1]).toBeGreaterThan(0);
    const dropped = new Set(gone.map((d) => d.p.frame));
    const { rec } = track(packets.filter((p) => !dropped.has(p.frame)));
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    const z = zeek.get(keyOf(ctl))!;
    expect(ctl.conn.bytes).toEqual([z[0] - lost[0], z[1] - lost[1]]);
    expect(ctl.conn.missing).toEqual([0, 0]);
  });

  it('SYN not captured: the SYN/ACK names the client', () => {
    const { rec } = track(packets.filter((p) => p.frame !== control[0].p.frame));
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    expect(ctl.conn.client).toEqual({ ip: '141.142.220.235', port: 50003 });
    expect(ctl.conn.handshake.seen).toBe(false);
    expect(ctl.conn.handshake.isn[1]).toBe(control[1].seq);
    expect(ctl.conn.handshake.rttMs).toBeNull();
    expect(ctl.conn.bytes).toEqual(zeek.get(keyOf(ctl)));
  });

  it('a lost segment becomes a gap when the ACK passes it, at its stream offset', () => {
    const victim = control.filter((d) => d.srcPort === 21 && d.payloadLength > 0)[3];
    const { rec } = track(packets.filter((p) => p.frame !== victim.p.frame));
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    const z = zeek.get(keyOf(ctl))!;
    expect(ctl.conn.missing).toEqual([0, victim.payloadLength]);
    expect(ctl.conn.bytes).toEqual([z[0], z[1] - victim.payloadLength]);
    const offset = (victim.seq - (ctl.conn.handshake.isn[1]! + 1)) >>> 0;
    expect(ctl.gaps[1]).toEqual([[offset, victim.payloadLength]]);
    // Not held until the end: data after the hole was delivered before the connection closed.
    expect(ctl.chunks[1].some(([off]) => off > offset)).toBe(true);
  });

  it('a lost segment with no ACKs captured is a gap at close, never a stall', () => {
    const victim = control.filter((d) => d.srcPort === 21 && d.payloadLength > 0)[3];
    const keep = packets.filter((p) => {
      const d = all.find((x) => x.p === p)!;
      return p !== victim.p && !(d.srcPort === 50003 && d.payloadLength === 0 && !(d.flags & 0x07));
    });
    const { rec } = track(keep);
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    const z = zeek.get(keyOf(ctl))!;
    expect(ctl.conn.missing).toEqual([0, victim.payloadLength]);
    expect(ctl.conn.bytes[1] + ctl.conn.missing[1]).toBe(z[1]);
    expect(ctl.conn.closeReason).toBe('fin');
  });

  it('a lost segment the receiver acknowledged before more data came is one gap of its whole length', () => {
    // The ACK past it may be acknowledging a FIN too, so its last number is held back until data shows it was a
    // byte: still one gap event, never two.
    const i = control.findIndex((d, k) => k > 0 && d.srcPort === 21 && d.payloadLength > 0
      && control[k + 1]?.srcPort === 50003 && control[k + 1]!.ack === ((d.seq + d.payloadLength) >>> 0)
      && control.slice(k + 2).some((x) => x.srcPort === 21 && x.payloadLength > 0));
    const victim = control[i]!;
    const { rec } = track(packets.filter((p) => p !== victim.p));
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    const base = control.find((d) => d.srcPort === 21)!.seq + 1; // the SYN/ACK's ISN + 1: stream offset 0
    const before = Math.max(0, ...control.slice(0, i).filter((d) => d.srcPort === 21 && d.payloadLength > 0).map((d) => d.seq + d.payloadLength - base));
    expect(ctl.gaps[1]).toEqual([[before, victim.payloadLength]]);
    expect(ctl.conn.closeReason).toBe('fin');
  });

  it('the out-of-order limit skips ahead with a finding and keeps the counts', () => {
    const serverData = control.filter((d) => d.srcPort === 21 && d.payloadLength > 0);
    const victim = serverData[1];
    // Nothing from the client after the hole, so no ACK shows the hole was passed.
    const keep = packets.filter((p) => {
      const d = all.find((x) => x.p === p)!;
      return p !== victim.p && !(d.srcPort === 50003 && d.dstPort === 21 && p.frame > victim.p.frame);
    });
    const { rec, tracker } = track(keep, { maxOutOfOrderBytesPerDirection: 600 });
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    const z = zeek.get(keyOf(ctl))!;
    expect(ctl.conn.findings.map((f) => f.code)).toEqual(['tcp-reassembly-limit']);
    expect(ctl.conn.missing[1]).toBe(victim.payloadLength);
    expect(ctl.conn.bytes[1] + ctl.conn.missing[1]).toBe(z[1]);
    expect(tracker.bufferedBytes).toBe(0);
  });

  it('snaplen-cut packets: what is present is delivered, the rest is a gap', () => {
    const cut = packets.map((p) => ({ ...p, bytes: p.bytes.subarray(0, Math.min(p.bytes.length, 100)) }));
    const { rec } = track(cut);
    let missing = 0;
    for (const l of rec.conns) {
      const z = zeek.get(keyOf(l))!;
      expect([l.conn.bytes[0] + l.conn.missing[0], l.conn.bytes[1] + l.conn.missing[1]]).toEqual(z);
      missing += l.conn.missing[0] + l.conn.missing[1];
    }
    // Every payload byte past the first 100 bytes of each frame (unique segments only here).
    const expectMissing = all.reduce((s, d) => s + Math.max(0, d.payloadOffset + d.payloadLength - Math.max(100, d.payloadOffset)), 0);
    expect(missing).toBe(expectMissing);
  });

  it('port reuse after a clean close: the same 4-tuples again make new connections', () => {
    const rec = new Recorder();
    const tracker = new TcpTracker(rec);
    feed(tracker, packets);
    feed(tracker, packets, 40); // the capture lasts 38 s: closed flows are still lingering in the table
    tracker.end(packets[packets.length - 1].ts + 40);
    const streams = new Set(readTsv(expectedPath(IPV4 + '.tsv')).map((r) => r['tcp.stream'])).size;
    expect(rec.conns.length).toBe(2 * streams);
    expect(rec.conns.map((l) => l.conn.id)).toEqual(rec.conns.map((_, i) => i + 1));
    for (let i = 0; i < streams; i++) {
      const [a, b] = [rec.conns[i], rec.conns[i + streams]];
      expect(keyOf(b)).toBe(keyOf(a));
      expect(b.conn.bytes).toEqual(a.conn.bytes);
      expect(b.conn.handshake.seen).toBe(true);
      expect(a.closes.map((c) => c.reason)).toEqual(['fin']);
    }
  });

  it('port reuse before a close was seen: a SYN with a new ISN closes the old connection first', () => {
    const open = control.filter((d) => !(d.flags & 0x05)).map((d) => d.p);
    const again = control.map((d) => shiftSeq(d, d.srcPort === 21 ? 1_000_000 : 2_000_000, d.srcPort === 21 ? 2_000_000 : 1_000_000));
    const { rec } = track([...open, ...again.map((p) => ({ ...p, ts: p.ts + 100, frame: p.frame + 1000 }))]);
    expect(rec.conns.length).toBe(2);
    const [a, b] = rec.conns;
    expect(a.closes.map((c) => [c.reason, c.frame])).toEqual([['timeout', control[0].p.frame + 1000]]);
    expect(a.conn.findings.map((f) => f.code)).toEqual(['tcp-port-reuse']);
    expect(b.conn.bytes).toEqual(zeek.get(keyOf(b)));
    expect(b.conn.handshake.isn[0]).toBe((control[0].seq + 2_000_000) >>> 0);
  });

  it('simultaneous open: both SYNs and both SYN/ACKs make one connection', () => {
    const [syn, synAck] = control;
    const withFlags = (d: typeof syn, f: number, ack: number, frame: number): StoredPacket => {
      const bytes = Buffer.from(d.p.bytes);
      bytes[d.tcpOffset + 13] = f;
      bytes.writeUInt32BE(ack >>> 0, d.tcpOffset + 8);
      return { ...d.p, bytes, frame };
    };
    const serverSyn = withFlags(synAck, 0x02, 0, synAck.p.frame);
    const clientSynAck = withFlags(syn, 0x12, synAck.seq + 1, 100000);
    const rest = packets.filter((p) => p.frame > synAck.p.frame);
    const { rec } = track([syn.p, serverSyn, clientSynAck, synAck.p, ...rest]);
    const ctl = rec.conns.filter((l) => l.conn.server.port === 21);
    expect(ctl.length).toBe(1);
    const c = ctl[0].conn;
    expect(c.client).toEqual({ ip: syn.src, port: syn.srcPort });
    expect(c.handshake.simultaneousOpen).toBe(true);
    expect(c.handshake.seen).toBe(true);
    expect(c.handshake.isn).toEqual([syn.seq, synAck.seq]);
    expect(c.handshake.synAckFrame).toBe(100000);
    expect(c.retransmissions).toBe(0);
    expect(c.bytes).toEqual(zeek.get(keyOf(ctl[0])));
  });

  it('one-way capture: only the server side of a data connection, its FIN closes it', () => {
    const active = connPackets(all, 61920, 33582); // the server's active-mode data connection, 342 bytes
    const oneWay = active.filter((d) => d.srcPort === 61920).map((d) => d.p);
    const { rec } = track(oneWay);
    expect(rec.conns.length).toBe(1);
    const [l] = rec.conns;
    expect(l.conn.closeReason).toBe('fin');
    expect(l.closes[0].frame).toBe(oneWay.filter((p) => all.find((d) => d.p === p)!.flags & 0x01)[0].frame);
    expect(l.conn.bytes[0] + l.conn.bytes[1]).toBe(342);
    expect(l.conn.missing).toEqual([0, 0]);
  });

  it('a retransmitted SYN is not a new connection', () => {
    const syn = control[0].p;
    const { rec } = track([syn, { ...syn, frame: 100000, ts: syn.ts + 1 }, ...packets.slice(1)].sort((x, y) => x.ts - y.ts));
    const ctl = rec.conns.filter((l) => l.conn.server.port === 21);
    expect(ctl.length).toBe(1);
    expect(ctl[0].conn.handshake.synFrame).toBe(syn.frame);
    expect(ctl[0].conn.retransmissions).toBe(1);
  });

  it('idle flows time out; what follows is picked up mid-stream and nothing is lost', () => {
    const { rec } = track(packets, { idleTimeoutSec: 2 });
    expect(rec.conns.some((l) => l.closes[0]?.reason === 'timeout')).toBe(true);
    for (const [k, t] of totalsByTuple(rec.conns)) expect(t, k).toEqual(zeek.get(k));
  });

  it('a full flow table evicts the longest idle flow with a finding; nothing is lost', () => {
    const { rec, tracker } = track(packets, { maxFlows: 1, isServerPort: (p) => p === 21 });
    expect(rec.conns.some((l) => l.conn.findings.some((f) => f.code === 'tcp-flow-evicted'))).toBe(true);
    for (const [k, t] of totalsByTuple(rec.conns)) expect(t, k).toEqual(zeek.get(k));
    expect(tracker.connections).toBe(0);
    for (const l of rec.conns) expect(l.closes.length).toBe(1);
  });

  it('a keep-alive (one old byte) is neither data nor a retransmission', () => {
    const ack = control.find((d) => d.srcPort === 50003 && d.payloadLength === 0 && !(d.flags & 0x07) && d.p.frame > 10)!;
    const probe = recut(ack, ack.seq - 1, Buffer.from([0x41]), 100000);
    const at = packets.indexOf(ack.p);
    const { rec } = track([...packets.slice(0, at + 1), probe, ...packets.slice(at + 1)]);
    const ctl = rec.conns.find((l) => l.conn.server.port === 21)!;
    expect(ctl.conn.retransmissions).toBe(0);
    expect(ctl.conn.findings).toEqual([]);
    expect(ctl.conn.bytes).toEqual(zeek.get(keyOf(ctl)));
  });
});

describe('handler.packet', () => {
  it('sees every TCP packet once, after its connection was opened', async () => {
    const packets: StoredPacket[] = await loadPackets('public/zeek/ipv6.pcap');
    const { rec } = track(packets);
    const tcpRows = readTsv(expectedPath('public/zeek/ipv6.pcap.tsv')).length;
    expect(rec.conns.reduce((s, l) => s + l.packets, 0)).toBe(tcpRows);
  });
});

import { describe, expect, it } from 'vitest';
import { ConnectionAnalysis, SegmentRings } from '../../src/tcp/analysis.js';
import type { FastPacket } from '../../src/dissect/types.js';
import {
  TA_DUPLICATE_ACK, TA_FAST_RETRANSMISSION, TA_KEEP_ALIVE, TA_KEEP_ALIVE_ACK, TA_LOST_SEGMENT, TA_OUT_OF_ORDER,
  TA_RETRANSMISSION, TA_REUSED_PORTS, TA_SPURIOUS_RETRANSMISSION, TA_WINDOW_FULL, TA_WINDOW_UPDATE, TA_ZERO_WINDOW,
  TA_ZERO_WINDOW_PROBE, TA_ZERO_WINDOW_PROBE_ACK, analysisTags,
} from '../../src/model/tcp-analysis.js';

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;

interface Seg {
  flags: number;
  seq: number;
  ack: number;
  len?: number;
  win?: number;
  /** TCP options bytes (padded to a multiple of 4 by the caller). */
  opts?: number[];
}

function pkt(s: Seg): FastPacket {
  const opts = Buffer.from(s.opts ?? []);
  const buf = Buffer.concat([Buffer.alloc(20), opts]);
  return {
    kind: 'tcp', ipVersion: 4, src: 'a', dst: 'b', srcPort: 1, dstPort: 2, seq: s.seq >>> 0, ack: s.ack >>> 0, flags: s.flags,
    window: s.win ?? 1000, ipOffset: 0, tcpOffset: 0, tcpHeaderLength: 20 + opts.length, buf, payloadOffset: buf.length,
    payloadLength: 0, payloadWireLength: s.len ?? 0,
  };
}

/** Feed packets [dir, segment, ts] and return each packet's result (a copy). */
function run(steps: [0 | 1, Seg, number][], ca = new ConnectionAnalysis(new SegmentRings())) {
  return steps.map(([dir, s, ts], i) => ({ ...ca.packet(dir, pkt(s), ts, i + 1) }));
}

const WS7 = [1, 3, 3, 7]; // NOP, window scale 7

/** A handshake with ISNs 1000 (client) and 5000 (server), window scaling 7 on both sides. */
function handshake(t = 0): [0 | 1, Seg, number][] {
  return [
    [0, { flags: SYN, seq: 1000, ack: 0, win: 64240, opts: WS7 }, t],
    [1, { flags: SYN | ACK, seq: 5000, ack: 1001, win: 65160, opts: WS7 }, t + 0.01],
    [0, { flags: ACK, seq: 1001, ack: 5001, win: 502 }, t + 0.02],
  ];
}

describe('per-packet TCP analysis (Wireshark 4.0 definitions)', () => {
  it('initial RTT, acknowledged frame, ACK RTT, bytes in flight, scaled window', () => {
    const r = run([
      ...handshake(),
      [1, { flags: ACK | PSH, seq: 5001, ack: 1001, len: 100, win: 509 }, 0.1],
      [1, { flags: ACK | PSH, seq: 5101, ack: 1001, len: 100, win: 509 }, 0.1001],
      [0, { flags: ACK, seq: 1001, ack: 5201, win: 502 }, 0.15],
    ]);
    expect(r[2]!.initialRtt).toBeCloseTo(0.02, 9);
    expect(r[2]!.acksFrame).toBe(2);
    expect(r[3]!.bytesInFlight).toBe(100);
    expect(r[4]!.bytesInFlight).toBe(200);
    expect(r[4]!.windowSize).toBe(509 * 128);
    expect(r[5]!.acksFrame).toBe(5);
    expect(r[5]!.ackRtt).toBeCloseTo(0.15 - 0.1001, 9);
    // SYNs are never scaled; the scale is known from the SYN/ACK on.
    expect(r[0]!.windowSize).toBe(64240);
    expect(r[2]!.windowSize).toBe(502 * 128);
  });

  it('duplicate ACKs, fast retransmission, lost segment', () => {
    const r = run([
      ...handshake(),
      [1, { flags: ACK, seq: 5001, ack: 1001, len: 100 }, 0.1],
      // 5101 is lost before the capture point
      [1, { flags: ACK, seq: 5201, ack: 1001, len: 100 }, 0.1002],
      [0, { flags: ACK, seq: 1001, ack: 5101 }, 0.11],
      [0, { flags: ACK, seq: 1001, ack: 5101 }, 0.111],
      [0, { flags: ACK, seq: 1001, ack: 5101 }, 0.112],
      [1, { flags: ACK, seq: 5101, ack: 1001, len: 100 }, 0.113],
    ]);
    expect(r[4]!.flags & TA_LOST_SEGMENT).toBeTruthy();
    expect(r[6]!.flags & TA_DUPLICATE_ACK).toBeTruthy();
    expect([r[6]!.dupAckNum, r[6]!.dupAckFrame]).toEqual([1, 6]);
    expect([r[7]!.dupAckNum, r[7]!.dupAckFrame]).toEqual([2, 6]);
    expect(r[8]!.flags & TA_FAST_RETRANSMISSION).toBeTruthy();
    expect(analysisTags(r[7]!)).toEqual(['DUP ACK #2']);
    expect(analysisTags(r[8]!)).toEqual(['FAST RETX']);
  });

  it('retransmission after a timeout has its RTO and original frame; spurious and out-of-order are told apart', () => {
    const r = run([
      ...handshake(),
      [1, { flags: ACK, seq: 5001, ack: 1001, len: 100 }, 0.1],
      [1, { flags: ACK, seq: 5001, ack: 1001, len: 100 }, 0.5],
      [0, { flags: ACK, seq: 1001, ack: 5101 }, 0.51],
      [1, { flags: ACK, seq: 5001, ack: 1001, len: 100 }, 0.9],
      [1, { flags: ACK, seq: 5101, ack: 1001, len: 100 }, 0.91],
      [1, { flags: ACK, seq: 5301, ack: 1001, len: 100 }, 0.911],
      [1, { flags: ACK, seq: 5201, ack: 1001, len: 100 }, 0.9111],
    ]);
    expect(r[4]!.flags & TA_RETRANSMISSION).toBeTruthy();
    expect(r[4]!.rto).toBeCloseTo(0.4, 9);
    expect(r[4]!.rtoFrame).toBe(4);
    expect(r[6]!.flags & TA_SPURIOUS_RETRANSMISSION).toBeTruthy();
    expect(r[8]!.flags & TA_LOST_SEGMENT).toBeTruthy();
    // Within the initial RTT of the highest segment: out of order, not a retransmission.
    expect(r[9]!.flags & TA_OUT_OF_ORDER).toBeTruthy();
    expect(r[9]!.flags & TA_RETRANSMISSION).toBeFalsy();
  });

  it('zero window, zero-window probe and its ACK, window update, window full', () => {
    const r = run([
      ...handshake(),
      [1, { flags: ACK, seq: 5001, ack: 1001, len: 1280 }, 0.1],
      [0, { flags: ACK, seq: 1001, ack: 5001, win: 10 }, 0.11],
      // 10 × 128 = 1280 bytes from 5001: the window is full after this segment
      [1, { flags: ACK, seq: 5001, ack: 1001, len: 1280 }, 0.12],
      [0, { flags: ACK, seq: 1001, ack: 6281, win: 0 }, 0.13],
      [1, { flags: ACK, seq: 6281, ack: 1001, len: 1 }, 0.5],
      [0, { flags: ACK, seq: 1001, ack: 6281, win: 0 }, 0.51],
      [0, { flags: ACK, seq: 1001, ack: 6281, win: 200 }, 1.5],
    ]);
    expect(r[5]!.flags & TA_WINDOW_FULL).toBeTruthy();
    expect(r[6]!.flags & TA_ZERO_WINDOW).toBeTruthy();
    expect(r[7]!.flags & TA_ZERO_WINDOW_PROBE).toBeTruthy();
    expect(r[8]!.flags & TA_ZERO_WINDOW_PROBE_ACK).toBeTruthy();
    expect(r[8]!.flags & TA_ZERO_WINDOW).toBeTruthy();
    expect(r[9]!.flags & TA_WINDOW_UPDATE).toBeTruthy();
  });

  it('keep-alive and its ACK', () => {
    const r = run([
      ...handshake(),
      [1, { flags: ACK, seq: 5001, ack: 1001, len: 10 }, 0.1],
      [0, { flags: ACK, seq: 1001, ack: 5011, win: 502 }, 0.11],
      [1, { flags: ACK, seq: 5010, ack: 1001, len: 0 }, 60],
      [0, { flags: ACK, seq: 1001, ack: 5011, win: 502 }, 60.01],
    ]);
    expect(r[5]!.flags & TA_KEEP_ALIVE).toBeTruthy();
    expect(r[5]!.flags & TA_RETRANSMISSION).toBeFalsy();
    expect(r[6]!.flags & TA_KEEP_ALIVE_ACK).toBeTruthy();
  });

  it('a SYN with a new ISN on a known connection starts over with reused_ports; the same SYN again is a retransmission', () => {
    const ca = new ConnectionAnalysis(new SegmentRings());
    const r = run([
      ...handshake(),
      [0, { flags: FIN | ACK, seq: 1001, ack: 5001 }, 1],
      [0, { flags: SYN, seq: 1000, ack: 0, win: 64240 }, 1.5],
      [0, { flags: SYN, seq: 90000, ack: 0, win: 64240 }, 2],
    ], ca);
    expect(r[4]!.flags & TA_RETRANSMISSION).toBeTruthy();
    expect(r[5]!.flags & TA_REUSED_PORTS).toBeTruthy();
    expect(r[5]!.flags & TA_RETRANSMISSION).toBeFalsy();
  });
});

/**
 * Wireshark's unacknowledged-segment list as packet-tcp.c keeps it (newest first, walked whole on
 * every ACK and data segment), to check the ring that replaces it gives the same acks_frame,
 * ack_rtt and bytes_in_flight on arbitrary traffic.
 */
class NaiveList {
  list: { frame: number; seq: number; next: number; ts: number }[] = [];
  add(frame: number, seq: number, next: number, ts: number) {
    this.list.unshift({ frame, seq, next, ts });
  }
  ack(ack: number): { frame: number; ts: number } | null {
    let match: { frame: number; ts: number } | null = null;
    const gt = (x: number, y: number) => ((y - x) | 0) < 0;
    const le = (x: number, y: number) => ((x - y) | 0) <= 0;
    this.list = this.list.filter((u) => {
      if (ack === u.next) { match = { frame: u.frame, ts: u.ts }; return false; }
      if (gt(ack, u.seq) && le(ack, u.next)) { u.seq = ack; return true; }
      if (gt(u.next, ack)) return true;
      return false;
    });
    return match;
  }
  span(base: number): number {
    let lo = (this.list[0]!.seq - base) >>> 0;
    let hi = (this.list[0]!.next - base) >>> 0;
    for (const u of this.list) {
      lo = Math.min(lo, (u.seq - base) >>> 0);
      hi = Math.max(hi, (u.next - base) >>> 0);
    }
    return (hi - lo) >>> 0;
  }
}

describe('the unacknowledged-segment ring gives what Wireshark\'s list gives', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`random traffic with retransmissions and reordering, seed ${seed}`, () => {
      let x = seed * 2654435761 >>> 0;
      const rnd = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0) / 2 ** 32);
      const ca = new ConnectionAnalysis(new SegmentRings());
      const naive = new NaiveList();
      const isn = (seed * 0x9e3779b9) >>> 0; // anywhere in sequence space, wraps included
      const steps: [0 | 1, Seg, number][] = [
        [0, { flags: SYN, seq: 7, ack: 0 }, 0],
        [1, { flags: SYN | ACK, seq: isn, ack: 8 }, 0.001],
        [0, { flags: ACK, seq: 8, ack: isn + 1 }, 0.002],
      ];
      let frame = 0;
      let ts = 0.01;
      const check = (dir: 0 | 1, s: Seg) => {
        frame++;
        ts += 0.0001;
        const r = ca.packet(dir, pkt(s), ts, frame);
        return r;
      };
      for (const [dir, s] of steps) {
        const r = check(dir, s);
        if (dir === 1 && s.flags & SYN) naive.add(frame, s.seq, (s.seq + 1) >>> 0, ts);
        if (dir === 0 && frame === 3) expect(r.acksFrame).toBe(naive.ack(s.ack)?.frame ?? 0);
      }
      let next = (isn + 1) >>> 0;
      let acked = next;
      for (let i = 0; i < 3000; i++) {
        const p = rnd();
        if (p < 0.6) {
          // new data, or now and then a retransmission of something older
          let len = 1 + Math.floor(rnd() * 1400);
          let seq = next;
          if (rnd() < 0.1 && next !== acked) {
            // A retransmission: sent before, so it ends at or before the highest byte sent.
            seq = (acked + Math.floor(rnd() * ((next - acked) >>> 0))) >>> 0;
            len = Math.min(len, (next - seq) >>> 0);
          } else {
            next = (next + len) >>> 0;
          }
          const r = check(1, { flags: ACK, seq, ack: 8, len });
          // A window update / dup ACK pattern never applies to data; the ring is what is compared.
          naive.add(frame, seq, (seq + len) >>> 0, ts);
          const want = naive.list.length > 0 ? naive.span(ca.dirs[1].baseSeq) : 0;
          expect(r.bytesInFlight === 0 ? 0 : r.bytesInFlight, `bif at ${frame}`).toBe(want > 0 && want < 2e9 ? want : 0);
        } else {
          // an ACK somewhere between what was acknowledged and what was sent (sometimes exactly a segment's end)
          const span = (next - acked) >>> 0;
          let ack = (acked + Math.floor(rnd() * (span + 1))) >>> 0;
          if (rnd() < 0.5 && naive.list.length > 0) ack = naive.list[Math.floor(rnd() * naive.list.length)]!.next;
          if (((ack - acked) | 0) > 0) acked = ack;
          const r = check(0, { flags: ACK, seq: 8, ack: ack, win: 1000 + (i % 7) });
          const m = naive.ack(ack);
          expect(r.acksFrame, `acks_frame at ${frame}`).toBe(m?.frame ?? 0);
          if (m) expect(r.ackRtt).toBeCloseTo(ts - m.ts, 9);
        }
      }
    });
  }
});

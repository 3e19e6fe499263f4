/**
 * Per-packet TCP analysis with Wireshark's definitions (tcp_analyze_sequence_number and the
 * parts of dissect_tcp around it in epan/dissectors/packet-tcp.c, Wireshark 4.0), so tshark's
 * tcp.analysis.* fields are the oracle this is measured against (captures/tcp-analysis.sh,
 * test/tcp/analysis-agreement.test.ts, docs/tcp-analysis-disagreements.md).
 *
 * One ConnectionAnalysis per connection, two DirState (one per direction), fed every packet by
 * Flow.onPacket before its other bookkeeping. The result of the latest packet is left in
 * `result` for the packet callback (the analysis' packet table copies it into its columns).
 *
 * Wireshark keeps a linked list of unacknowledged segments per direction (up to 10,000) and walks
 * all of it on every ACK and every data segment. Here it is a ring in sending order, and while it
 * stays ordered (each segment at or after the previous one: no retransmission in it) an ACK only
 * looks at the oldest entries and bytes in flight are oldest-to-newest; a full walk happens only
 * while a retransmission is in the ring. The results are the same.
 */
import type { FastPacket } from '../dissect/types.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../dissect/types.js';
import {
  TA_ACK_LOST_SEGMENT, TA_DUPLICATE_ACK, TA_FAST_RETRANSMISSION, TA_KEEP_ALIVE, TA_KEEP_ALIVE_ACK, TA_LOST_SEGMENT,
  TA_OUT_OF_ORDER, TA_RETRANSMISSION, TA_REUSED_PORTS, TA_SPURIOUS_RETRANSMISSION, TA_WINDOW_FULL, TA_WINDOW_UPDATE,
  TA_ZERO_WINDOW, TA_ZERO_WINDOW_PROBE, TA_ZERO_WINDOW_PROBE_ACK, WSCALE_NONE, WSCALE_UNKNOWN,
} from '../model/tcp-analysis.js';
import type { Dir } from './events.js';
import { ByteBudget } from './budget.js';
import { DiagnosisShared, TransferDiagnosis } from './diagnosis.js';

/** Wireshark's TCP_MAX_UNACKED_SEGMENTS: segments remembered per direction while no ACK comes. */
export const MAX_UNACKED_SEGMENTS = 10_000;
/** Wireshark's MAX_TCP_SACK_RANGES - 1: SACK blocks of one packet it keeps for bytes in flight. */
const MAX_SACK_KEPT = 3;
/** Rings shrink back when emptied above this size, so a burst does not pin memory for the connection's life. */
const SHRINK_ABOVE = 256;
/**
 * First ring size (a power of two: indices wrap with a mask). Small: thousands of open, idle
 * control connections each keep a line or two unacknowledged; a bulk transfer doubles it a few
 * times, once.
 */
const FIRST_RING = 4;
const EMPTY_RING: number[] = [];
/** Empty rings of FIRST_RING segments kept for reuse, at most. */
const RING_POOL_MAX = 256;
/** Bytes of one remembered segment. */
const SEGMENT_BYTES = 32;
/** The default of SegmentRings' budget. */
export const DEFAULT_RING_BYTES = 128 << 20;

/**
 * What the analyses of one tracker's connections share: the unacknowledged-segment rings' byte
 * budget, the latest packet's result object, and a pool of small empty rings handed from
 * connection to connection (most connections send a line, get it
 * acknowledged, and so on: no allocation per connection). The rings of all open connections
 * together stay under the budget: Wireshark's 10,000 segments per direction, times every flow a
 * capture can hold, would not be bounded. A ring that cannot grow remembers no more segments (as
 * at Wireshark's own limit) until rings are freed. A ring's bytes are given back when it shrinks,
 * and when its connection closes (a closed connection still analyses its late packets, but lives
 * only for the tracker's linger time, which bounds it).
 */
export class SegmentRings {
  readonly budget: ByteBudget;
  readonly pool: number[][] = [];
  /** The latest packet's analysis: one object for all the tracker's connections, read during the packet's callbacks only. */
  readonly result: AnalysisResult = emptyResult();
  /** What the transfer diagnoses share (timeline arrays, scratch space). */
  readonly diagnosis = new DiagnosisShared();

  constructor(maxBytes = DEFAULT_RING_BYTES) {
    this.budget = new ByteBudget(maxBytes);
  }
}

const NO_SYN_FIN_RST = TCP_SYN | TCP_FIN | TCP_RST;

// Wireshark's sequence comparisons (packet-tcp.h), on uint32 values.
const gt = (x: number, y: number): boolean => ((y - x) | 0) < 0;
const lt = (x: number, y: number): boolean => ((x - y) | 0) < 0;
const le = (x: number, y: number): boolean => ((x - y) | 0) <= 0;
const ge = (x: number, y: number): boolean => ((y - x) | 0) <= 0;

/**
 * The segments one direction sent that were not acknowledged yet, oldest first: a ring of
 * (frame, seq, next, ts) records in one plain array of doubles (one allocation per growth, in the
 * young generation: typed arrays cost an off-heap buffer each; most connections never hold more
 * than a window's worth).
 */
class Unacked {
  constructor(private readonly rings: SegmentRings) {}

  /** Allocated at the first segment: a direction that only acknowledges never needs it. */
  r: number[] = EMPTY_RING;
  /** Capacity in segments (a power of two: indices wrap with a mask) and its mask. */
  cap = 0;
  head = 0;
  count = 0;
  /** Every entry's seq and next are at or after the previous entry's (in sequence space). */
  ordered = true;
  matchFrame = 0;
  matchTs = 0;
  /** Bytes of the rings' budget this ring holds; 0 and no longer counted once released. */
  private held = 0;
  private released = false;

  /** Stop counting this ring against the budget (its connection closed). */
  release(): void {
    this.rings.budget.give(this.held);
    this.held = 0;
    this.released = true;
  }

  /** Whether one more segment can be remembered. */
  canPush(): boolean {
    if (this.count >= MAX_UNACKED_SEGMENTS) return false;
    if (this.count < this.cap) return true;
    const { pool, budget } = this.rings;
    if (this.cap === 0 && pool.length > 0) return true;
    return budget.used + Math.max(FIRST_RING, this.cap) * SEGMENT_BYTES <= budget.max;
  }

  /** Offset of the k-th oldest segment's record. */
  private at(k: number): number {
    return ((this.head + k) & (this.cap - 1)) << 2;
  }

  push(frame: number, seq: number, next: number, ts: number): void {
    if (this.count === this.cap) {
      if (this.cap === 0 && this.rings.pool.length > 0) {
        this.r = this.rings.pool.pop()!;
        this.cap = FIRST_RING;
        this.head = 0;
        this.charge(FIRST_RING);
      } else {
        this.resize(Math.max(FIRST_RING, this.cap * 2));
      }
    }
    const r = this.r;
    if (this.count > 0 && this.ordered) {
      const last = this.at(this.count - 1);
      if (!ge(seq, r[last + 1]!) || !ge(next, r[last + 2]!)) this.ordered = false;
    }
    const o = this.at(this.count++);
    r[o] = frame;
    r[o + 1] = seq;
    r[o + 2] = next;
    r[o + 3] = ts;
  }

  private charge(segments: number): void {
    if (this.released) return;
    const bytes = segments * SEGMENT_BYTES;
    this.rings.budget.used += bytes;
    this.held += bytes;
  }

  private resize(cap: number): void {
    this.charge(cap - this.cap);
    const a = new Array<number>(cap * 4).fill(0);
    const r = this.r;
    for (let k = 0; k < this.count; k++) {
      const o = this.at(k);
      const w = k << 2;
      a[w] = r[o]!;
      a[w + 1] = r[o + 1]!;
      a[w + 2] = r[o + 2]!;
      a[w + 3] = r[o + 3]!;
    }
    this.r = a;
    this.cap = cap;
    this.head = 0;
  }

  private emptied(): void {
    this.head = 0;
    this.ordered = true;
    // Small rings go back to the pool; big ones are let go.
    const pool = this.rings.pool;
    if ((this.cap === FIRST_RING && pool.length < RING_POOL_MAX) || this.cap > SHRINK_ABOVE) {
      if (this.cap === FIRST_RING) pool.push(this.r);
      this.charge(-this.cap);
      this.r = EMPTY_RING;
      this.cap = 0;
    }
  }

  /**
   * An ACK for these segments: drop the ones it covers, trim the ones it covers in part. Returns
   * whether it acknowledges a segment exactly (its end), and leaves the oldest such segment in
   * matchFrame/matchTs, as Wireshark's newest-to-oldest walk does.
   */
  ack(ack: number): boolean {
    if (this.count === 0) return false;
    const r = this.r;
    let matched = false;
    if (this.ordered) {
      // Covered segments are the oldest ones; partly covered ones follow them.
      while (this.count > 0) {
        const o = this.head << 2;
        const next = r[o + 2]!;
        if (!le(next, ack)) break;
        if (next === ack && !matched) {
          matched = true;
          this.matchFrame = r[o]!;
          this.matchTs = r[o + 3]!;
        }
        this.head = (this.head + 1) & (this.cap - 1);
        this.count--;
      }
      for (let k = 0; k < this.count; k++) {
        const o = this.at(k);
        if (!gt(ack, r[o + 1]!)) break;
        r[o + 1] = ack;
      }
    } else {
      let w = 0;
      let ordered = true;
      for (let k = 0; k < this.count; k++) {
        const o = this.at(k);
        const next = r[o + 2]!;
        if (next === ack) {
          if (!matched) {
            matched = true;
            this.matchFrame = r[o]!;
            this.matchTs = r[o + 3]!;
          }
          continue;
        }
        if (gt(ack, r[o + 1]!) && le(ack, next)) r[o + 1] = ack;
        else if (!gt(next, ack)) continue; // old: covered by the ACK
        const j = this.at(w++);
        if (j !== o) {
          r[j] = r[o]!;
          r[j + 1] = r[o + 1]!;
          r[j + 2] = next;
          r[j + 3] = r[o + 3]!;
        }
        if (w > 1) {
          const p = this.at(w - 2);
          if (!ge(r[j + 1]!, r[p + 1]!) || !ge(r[j + 2]!, r[p + 2]!)) ordered = false;
        }
      }
      this.count = w;
      this.ordered = ordered;
    }
    if (this.count === 0) this.emptied();
    return matched;
  }

  /**
   * Wireshark's bytes in flight (the default, payload-based method): the span from the lowest
   * start to the highest end of the unacknowledged segments, relative to `base`, as uint32.
   */
  span(base: number): number {
    const r = this.r;
    const first = this.at(0);
    const last = this.at(this.count - 1);
    if (this.ordered) {
      const lo = (r[first + 1]! - base) >>> 0;
      const hiSeq = (r[last + 1]! - base) >>> 0;
      const loNext = (r[first + 2]! - base) >>> 0;
      const hi = (r[last + 2]! - base) >>> 0;
      // Unless relative numbers wrap inside the ring, the oldest starts lowest and the newest ends highest.
      if (lo <= hiSeq && loNext <= hi) return (hi - lo) >>> 0;
    }
    let lo = (r[first + 1]! - base) >>> 0;
    let hi = (r[first + 2]! - base) >>> 0;
    for (let k = 1; k < this.count; k++) {
      const o = this.at(k);
      const s = (r[o + 1]! - base) >>> 0;
      const n = (r[o + 2]! - base) >>> 0;
      if (s < lo) lo = s;
      if (n > hi) hi = n;
    }
    return (hi - lo) >>> 0;
  }

  /** Frame and time of the oldest segment (Wireshark's RTO reference). */
  oldestFrame(): number {
    return this.r[this.head << 2]!;
  }

  oldestTs(): number {
    return this.r[(this.head << 2) + 3]!;
  }
}

/** One direction's analysis state (Wireshark's tcp_flow_t with its tcp_analyze_seq_flow_info_t). */
export class DirState {
  constructor(rings: SegmentRings) {
    this.unacked = new Unacked(rings);
  }

  winScale = WSCALE_UNKNOWN;
  /** The latest raw window this side advertised (G_MAXUINT32 before its first packet). */
  window = 0xffffffff;
  /** That window in bytes as Wireshark scales it (tcp.window_size); -1 before the first packet. */
  windowBytes = -1;
  isFirstAck = false;
  lastSegmentFlags = 0;
  validBif = true;
  baseSeq = 0;
  baseSet = false;
  nextseq = 0;
  nextseqFrame = 0;
  nextseqTime = 0;
  maxSeqToBeAcked = 0;
  lastAck = 0;
  lastAckTime = 0;
  lastNonDupAck = 0;
  dupAckNum = 0;
  numSack = 0;
  /** What the SACK blocks of this side's latest packet cover, in bytes (Wireshark keeps the first three). */
  sackBytes = 0;
  readonly unacked: Unacked;
  /** Packets seen from this side (so an analysis can be handed over to a new flow the right way round). */
  packets = 0;
}

/** The analysis of the latest packet: numbers, with 0 / NaN for "none" (no allocation per packet). */
export interface AnalysisResult {
  flags: number;
  /** Wireshark created its per-packet record (it then shows initial_rtt). */
  hasTa: boolean;
  acksFrame: number;
  ackRtt: number;
  bytesInFlight: number;
  dupAckNum: number;
  dupAckFrame: number;
  windowSize: number;
  windowScale: number;
  initialRtt: number;
  rto: number;
  rtoFrame: number;
  /** Payload bytes that were new (advanced the highest sequence number). */
  newBytes: number;
  /** The highest sequence number moved forward (new data, or a SYN or FIN). */
  advanced: boolean;
}

function emptyResult(): AnalysisResult {
  return {
    flags: 0, hasTa: false, acksFrame: 0, ackRtt: NaN, bytesInFlight: 0, dupAckNum: 0, dupAckFrame: 0,
    windowSize: 0, windowScale: WSCALE_UNKNOWN, initialRtt: NaN, rto: NaN, rtoFrame: 0, newBytes: 0, advanced: false,
  };
}


/** The analysis of one TCP connection (Wireshark's tcp_analysis conversation data). */
export class ConnectionAnalysis {
  dirs: [DirState, DirState];
  /** ts_mru_syn and ts_first_rtt: 0 while unset, as in Wireshark. */
  private mruSyn = 0;
  private mruSynSet = false;
  firstRtt = 0;
  private firstRttSet = false;
  /** A pure SYN on these ports started this connection while an older one with another ISN was known. */
  private pendingReused = false;
  /** The latest packet's analysis (SegmentRings.result). */
  readonly result: AnalysisResult;
  readonly diagnosis: TransferDiagnosis;

  /** `rings`: the tracker's, shared by its connections. */
  constructor(private readonly rings: SegmentRings) {
    this.dirs = [new DirState(rings), new DirState(rings)];
    this.result = rings.result;
    this.diagnosis = new TransferDiagnosis(rings.diagnosis);
  }

  /** The connection closed: its rings no longer count against the shared budget. */
  release(): void {
    this.dirs[0].unacked.release();
    this.dirs[1].unacked.release();
  }

  /** The connection replaces an earlier one on the same ports (tcp.analysis.reused_ports on its SYN). */
  markReusedPorts(): void {
    this.pendingReused = true;
  }

  /**
   * The analysis state of an earlier connection on the same ports, for the connection that replaces
   * it in the flow table where Wireshark keeps one conversation (a packet after the idle timeout, a
   * SYN with the old ISN after the close). `swap`: the new connection's initiator is the other side.
   * The diagnosis starts afresh: it is the new connection's.
   */
  continueFrom(old: ConnectionAnalysis, swap: boolean): void {
    this.dirs = swap ? [old.dirs[1], old.dirs[0]] : [old.dirs[0], old.dirs[1]];
    this.mruSyn = old.mruSyn;
    this.mruSynSet = old.mruSynSet;
    this.firstRtt = old.firstRtt;
    this.firstRttSet = old.firstRttSet;
  }

  /**
   * Whether Wireshark would start a new conversation for this packet, sent from `dir` of this
   * (earlier) connection: a pure SYN whose sequence number is not the one this side started with.
   */
  startsNewConversation(dir: Dir, pkt: FastPacket): boolean {
    const fwd = this.dirs[dir];
    return (pkt.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && fwd.baseSet && pkt.seq !== fwd.baseSeq;
  }

  /** Wireshark's initial RTT (SYN to the first pure ACK), seconds; null until known. */
  get initialRtt(): number | null {
    return this.firstRttSet ? this.firstRtt : null;
  }

  packet(dir: Dir, pkt: FastPacket, ts: number, frame: number): AnalysisResult {
    const fwd = this.dirs[dir];
    const rev = this.dirs[dir === 0 ? 1 : 0];
    const seq = pkt.seq;
    const ack = pkt.ack;
    const flags = pkt.flags;
    const seglen = pkt.payloadWireLength;
    const window = pkt.window;
    const r = this.result;
    r.flags = 0;
    r.hasTa = false;
    r.acksFrame = 0;
    r.ackRtt = NaN;
    r.bytesInFlight = 0;
    r.dupAckNum = 0;
    r.dupAckFrame = 0;
    r.initialRtt = NaN;
    r.rto = NaN;
    r.rtoFrame = 0;
    r.newBytes = 0;
    r.advanced = false;
    fwd.packets++;

    const synOnly = (flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    const synAck = (flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
    if (this.pendingReused && synOnly) {
      this.pendingReused = false;
      r.flags |= TA_REUSED_PORTS;
      r.hasTa = true;
    } else if (synOnly && fwd.baseSet) {
      if (seq !== fwd.baseSeq) {
        // Wireshark starts a new conversation here: fresh state on both sides.
        this.reset();
        return this.packet(dir, pkt, ts, frame);
      }
      // The same SYN again: RFC 793 §3.4 allows a RST with SEQ = the ACK received, so nextseq is restored.
      fwd.nextseq = fwd.maxSeqToBeAcked;
      r.hasTa = true;
    }
    if (synAck && fwd.baseSet && seq !== fwd.baseSeq) {
      fwd.baseSeq = seq;
      r.flags |= TA_REUSED_PORTS;
      r.hasTa = true;
    }
    fwd.numSack = 0;
    if (!fwd.baseSet) {
      fwd.baseSeq = (flags & TCP_SYN) !== 0 ? seq : (seq - 1) >>> 0;
      fwd.baseSet = true;
    }
    if (!rev.baseSet && (flags & TCP_ACK) !== 0) {
      rev.baseSeq = (ack - 1) >>> 0;
      rev.baseSet = true;
    }

    const oldNext = fwd.nextseq;
    this.analyze(fwd, rev, seq, ack, seglen, flags, window, ts, frame);
    if (fwd.nextseq !== oldNext && (oldNext === 0 || gt(fwd.nextseq, oldNext))) {
      r.advanced = true;
      // New to the receiver: this segment's bytes past the old edge, and any hole before it (bytes
      // lost before the capture point, or missed by it, that are in the stream all the same).
      const end = (seq + seglen) >>> 0;
      r.newBytes = oldNext === 0 || (flags & TCP_SYN) !== 0 ? seglen : Math.max(0, (end - oldNext) | 0);
    }

    // tcp.window_size: SYNs are never scaled; an unknown scale leaves the window as it is.
    r.windowScale = fwd.winScale;
    r.windowSize = (flags & TCP_SYN) === 0 && fwd.winScale > 0 ? window * (1 << fwd.winScale) : window;
    fwd.windowBytes = r.windowSize;

    if (flags & TCP_SYN) {
      if (!(flags & TCP_ACK)) {
        this.mruSyn = ts;
        this.mruSynSet = true;
      }
      fwd.isFirstAck = true;
    }
    const pureAck = (flags & (TCP_SYN | TCP_ACK)) === TCP_ACK;
    if (pureAck && this.mruSynSet && !this.firstRttSet) {
      this.firstRtt = ts - this.mruSyn;
      // Wireshark tells "unset" by a zero time; a zero difference stays unset there too.
      this.firstRttSet = this.firstRtt !== 0;
    }
    if (pureAck) fwd.isFirstAck = false;
    if (r.hasTa && this.firstRttSet) r.initialRtt = this.firstRtt;

    // Options are dissected after the analysis: the window scale and SACK blocks count from the next packet on.
    // Most segments carry only NOP, NOP, timestamps (12 bytes): nothing to read there.
    const hl = pkt.tcpHeaderLength;
    if (hl > 20 && !(hl === 32 && pkt.buf[pkt.tcpOffset + 22] === 8 && pkt.buf[pkt.tcpOffset + 20] === 1)) this.options(fwd, pkt);
    if (flags & TCP_SYN) {
      // verify_tcp_window_scaling: scaling is on only when both SYNs carry the option.
      if (fwd.winScale === WSCALE_UNKNOWN) {
        fwd.winScale = WSCALE_NONE;
        rev.winScale = WSCALE_NONE;
      } else if ((flags & TCP_ACK) !== 0 && rev.winScale === WSCALE_NONE) {
        fwd.winScale = WSCALE_NONE;
      }
    }
    this.diagnosis.packet(dir, this, pkt, ts, frame);
    return r;
  }

  /** Forget everything (Wireshark's new conversation on a SYN with another ISN). */
  private reset(): void {
    this.release(); // the old conversation's rings give their bytes back
    this.dirs = [new DirState(this.rings), new DirState(this.rings)];
    this.mruSyn = 0;
    this.mruSynSet = false;
    this.firstRtt = 0;
    this.firstRttSet = false;
    this.pendingReused = true;
  }

  /** The window scale option (any packet, as Wireshark stores it) and SACK blocks. */
  private options(fwd: DirState, pkt: FastPacket): void {
    const buf = pkt.buf;
    let i = pkt.tcpOffset + 20;
    const end = Math.min(pkt.tcpOffset + pkt.tcpHeaderLength, buf.length);
    while (i < end) {
      const kind = buf[i]!;
      if (kind === 0) break;
      if (kind === 1) { i++; continue; }
      if (i + 1 >= end) break;
      const len = buf[i + 1]!;
      if (len < 2 || i + len > end) break;
      if (kind === 3 && len === 3) {
        fwd.winScale = Math.min(buf[i + 2]!, 14);
      } else if (kind === 5) {
        let n = 0;
        let bytes = 0;
        for (let o = i + 2; o + 8 <= i + len && n < MAX_SACK_KEPT; o += 8) {
          n++;
          bytes = (bytes + ((buf.readUInt32BE(o + 4) - buf.readUInt32BE(o)) >>> 0)) >>> 0;
        }
        fwd.numSack = n;
        fwd.sackBytes = bytes;
      }
      i += len;
    }
  }

  /** tcp_analyze_sequence_number, step by step. */
  private analyze(fwd: DirState, rev: DirState, seq: number, ack: number, seglen: number, flags: number, window: number, ts: number, frame: number): void {
    const r = this.result;
    let f = r.flags;
    if (flags & TCP_ACK) rev.validBif = true;
    const plain = (flags & NO_SYN_FIN_RST) === 0;

    checks: {
      // Zero window probe: one byte at the next expected number into a zero window.
      if (seglen === 1 && seq === fwd.nextseq && rev.window === 0) {
        f |= TA_ZERO_WINDOW_PROBE;
        break checks;
      }
      if (window === 0 && plain) f |= TA_ZERO_WINDOW;
      // Lost segment: starts beyond the highest byte seen so far.
      if (fwd.nextseq !== 0 && gt(seq, fwd.nextseq) && (flags & TCP_RST) === 0) {
        f |= TA_LOST_SEGMENT;
        fwd.validBif = false;
      }
      // Keep-alive: 0 or 1 byte starting one before the next expected byte.
      if ((seglen === 0 || seglen === 1) && seq === ((fwd.nextseq - 1) >>> 0) && plain) f |= TA_KEEP_ALIVE;
      const sameSeqAck = seq === fwd.nextseq && ack === fwd.lastAck && plain;
      if (seglen === 0 && window !== 0 && window !== fwd.window && sameSeqAck) f |= TA_WINDOW_UPDATE;
      if (seglen > 0 && rev.winScale !== WSCALE_UNKNOWN && plain) {
        const shift = rev.isFirstAck || rev.winScale === WSCALE_NONE ? 0 : rev.winScale;
        const edge = (rev.lastAck + ((rev.window << shift) >>> 0)) >>> 0;
        if (((seq + seglen) >>> 0) === edge) f |= TA_WINDOW_FULL;
      }
      if (seglen === 0 && window !== 0 && window === fwd.window && sameSeqAck && (rev.lastSegmentFlags & TA_KEEP_ALIVE) !== 0) {
        f |= TA_KEEP_ALIVE_ACK;
        break checks;
      }
      if (seglen === 0 && window === 0 && window === fwd.window && sameSeqAck && (rev.lastSegmentFlags & TA_ZERO_WINDOW_PROBE) !== 0) {
        f |= TA_ZERO_WINDOW_PROBE_ACK;
        break checks;
      }
      if (seglen === 0 && window !== 0 && window === fwd.window && sameSeqAck) {
        fwd.dupAckNum = fwd.dupAckNum === -1 ? 1 : fwd.dupAckNum + 1;
        f |= TA_DUPLICATE_ACK;
        r.dupAckNum = fwd.dupAckNum;
        r.dupAckFrame = fwd.lastNonDupAck;
      }
    }
    if (f !== 0) r.hasTa = true;
    if (ack !== fwd.lastAck) {
      fwd.lastNonDupAck = frame;
      fwd.dupAckNum = 0;
    }

    // ACKed lost segment: acknowledges beyond what the other side was seen to send.
    if (rev.maxSeqToBeAcked !== 0 && gt(ack, rev.maxSeqToBeAcked) && (flags & TCP_ACK) !== 0) {
      r.hasTa = true;
      if (lt(rev.maxSeqToBeAcked, rev.nextseq)) {
        rev.maxSeqToBeAcked = rev.nextseq;
        f |= TA_ACK_LOST_SEGMENT;
      } else {
        // The other side may be stalled with pure ACKs: one indication per lost segment.
        if (rev.dupAckNum === 0) f |= TA_ACK_LOST_SEGMENT;
        rev.dupAckNum = -1;
      }
    }

    const synFin = (flags & (TCP_SYN | TCP_FIN)) !== 0;
    if ((seglen > 0 || synFin) && (f & TA_KEEP_ALIVE) === 0) {
      let notAdvanced = fwd.nextseq !== 0 && lt(seq, fwd.nextseq);
      // More than one byte starting one before nextseq follows a zero window probe: new data.
      if (seglen > 1 && ((fwd.nextseq - 1) >>> 0) === seq) notAdvanced = false;
      retx: {
        if (seglen > 0 && rev.lastAck !== 0 && le((seq + seglen) >>> 0, rev.lastAck)) {
          f |= TA_SPURIOUS_RETRANSMISSION;
          break retx;
        }
        // Times are compared as Wireshark's unsigned nanoseconds: "before" never counts as "within", and an
        // unset time (zero) is far in the past.
        const sinceDupAcks = ts - rev.lastAckTime;
        if (notAdvanced && rev.dupAckNum >= 2 && rev.lastAck === seq && sinceDupAcks >= 0 && sinceDupAcks < 0.02) {
          f |= TA_FAST_RETRANSMISSION;
          break retx;
        }
        const sinceNext = ts - fwd.nextseqTime;
        const oooThreshold = this.firstRttSet ? this.firstRtt : 0.003;
        if (notAdvanced && sinceNext >= 0 && sinceNext < oooThreshold && fwd.nextseq !== ((seq + seglen + (synFin ? 1 : 0)) >>> 0)) {
          f |= TA_OUT_OF_ORDER;
          break retx;
        }
        if (notAdvanced) {
          f |= TA_RETRANSMISSION;
          const u = fwd.unacked;
          if (u.count > 0) {
            r.rto = ts - u.oldestTs();
            r.rtoFrame = u.oldestFrame();
          } else {
            r.rto = ts - fwd.nextseqTime;
            r.rtoFrame = fwd.nextseqFrame;
          }
          // Wireshark shows no RTO when the difference is zero.
          if (r.rto === 0) { r.rto = NaN; r.rtoFrame = 0; }
        }
      }
      if (f & (TA_SPURIOUS_RETRANSMISSION | TA_FAST_RETRANSMISSION | TA_OUT_OF_ORDER | TA_RETRANSMISSION)) r.hasTa = true;
    }

    let nextseq = (seq + seglen) >>> 0;
    if ((seglen > 0 || synFin) && fwd.unacked.canPush()) {
      if (synFin) nextseq = (nextseq + 1) >>> 0;
      fwd.unacked.push(frame, seq, nextseq, ts);
    }
    const zwp = (f & TA_ZERO_WINDOW_PROBE) !== 0;
    if ((gt(nextseq, fwd.nextseq) || fwd.nextseq === 0) && !zwp) {
      fwd.nextseq = nextseq;
      fwd.nextseqFrame = frame;
      fwd.nextseqTime = ts;
    }
    if ((seq === fwd.maxSeqToBeAcked || fwd.maxSeqToBeAcked === 0) && !zwp) fwd.maxSeqToBeAcked = fwd.nextseq;

    fwd.window = window;
    fwd.lastAck = ack;
    fwd.lastAckTime = ts;
    fwd.lastSegmentFlags = f;

    // Remove what this ACK covers from the other side's unacknowledged segments.
    const u = rev.unacked;
    if (u.ack(ack)) {
      r.hasTa = true;
      r.acksFrame = u.matchFrame;
      const rtt = ts - u.matchTs;
      r.ackRtt = rtt === 0 ? NaN : rtt;
    }

    // Bytes in flight after this segment (Wireshark's default, payload-based method).
    if (seglen !== 0 && fwd.unacked.count > 0 && fwd.validBif) {
      let inFlight = fwd.unacked.span(fwd.baseSeq);
      if (rev.numSack > 0) inFlight = (inFlight - rev.sackBytes) >>> 0;
      if (inFlight > 0 && inFlight < 2_000_000_000) r.bytesInFlight = synFin ? inFlight - 1 : inFlight;
      r.hasTa = true;
    }
    r.flags = f;
  }
}

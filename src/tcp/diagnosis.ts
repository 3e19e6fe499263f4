/**
 * Why a transfer was slow or stalled, from the per-packet analysis and the timing: per direction,
 * the new bytes over time, retransmissions and retransmission timeouts, ACK round-trip times,
 * zero-window episodes of the receiver, stalls (no new data for longer than max(1 s, 4 × RTT)),
 * and which state each stretch of time was spent in:
 *
 *   receiver  the receiver's window was zero, or it advertised less than half its largest window
 *             while the sender had filled it (a slow reader);
 *   loss      the sender was retransmitting, from the wait before a retransmission until the
 *             receiver acknowledged everything sent before it;
 *   window    bytes in flight were at the advertised window while that window was at its largest
 *             (the window itself is the limit: window scaling off, or a small receive buffer);
 *   sender    bytes in flight below the window and no loss: the sender (or its application, or its
 *             congestion window) set the pace.
 *
 * Time is counted between consecutive packets of the connection, and only up to the last new
 * data of the direction (the wait for a FIN after the last byte is not the transfer's), unless the
 * connection ended stalled. Everything is bounded: a fixed number of throughput buckets (merged
 * two into one when full), a decimated sample of RTTs, a fixed number of stalls listed.
 */
import { TCP_FIN, TCP_RST, TCP_SYN } from '../dissect/types.js';
import type { FastPacket } from '../dissect/types.js';
import {
  MAX_STALLS, MAX_THROUGHPUT_BUCKETS, TA_ACK_LOST_SEGMENT, TA_ANY_RETRANSMISSION, TA_FAST_RETRANSMISSION, TA_LOST_SEGMENT,
  TA_OUT_OF_ORDER, TA_RETRANSMISSION, TA_SPURIOUS_RETRANSMISSION, TA_WINDOW_FULL,
  LIMITING_CAUSES, type LimitingCause, type TcpTransferAnalysis, type TransferStall,
} from '../model/tcp-analysis.js';
import type { TcpFacts } from '../model/tcp-facts.js';
import type { Dir } from './events.js';
import type { ConnectionAnalysis } from './analysis.js';

/** A plain retransmission this long after the original is a retransmission timeout (Linux's minimum RTO). */
export const RTO_MIN_SEC = 0.2;
/** No new data for longer than max(STALL_MIN_SEC, STALL_RTTS × RTT) is a stall. */
export const STALL_MIN_SEC = 1;
export const STALL_RTTS = 4;
/** RTT samples kept per direction (every 2^k-th once full, so they cover the whole transfer): enough for a median. */
const RTT_SAMPLES = 64;
const FIRST_RTT_SAMPLES = 4;
/**
 * The arrays here are plain number arrays, not typed arrays: there are several per direction of
 * every connection, most of them small and short-lived, and typed arrays cost an off-heap buffer
 * each (allocation, tracking, sweeping) where a plain array of doubles lives in the young generation.
 */
function zeros(n: number): number[] {
  return new Array<number>(n).fill(0);
}
const NO_SAMPLES: number[] = [];
const NO_STALLS: TransferStall[] = [];

/** The k-th smallest of a[0, n) (Hoare's quickselect; reorders a). */
function select(a: number[], n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k]!;
}
const FIRST_BUCKETS = 16;
/** Timeline arrays kept for reuse per size, at most. */
const TIMELINE_POOL_MAX = 64;

/**
 * What the transfer diagnoses of one tracker's connections share (like the analysis' segment
 * rings), so that nothing is kept outside the tracker: timeline arrays handed from closed
 * connections to new ones (a dashboard keeps a timeline for every connection, and allocating them
 * afresh was an eighth of everything it allocated while loading a capture of many short
 * sessions; two sizes, FIRST_BUCKETS buckets then MAX_THROUGHPUT_BUCKETS), and the scratch
 * arrays a summary works in.
 */
export class DiagnosisShared {
  private readonly small: number[][] = [];
  private readonly full: number[][] = [];
  /** Where the median RTT is selected (at most RTT_SAMPLES are kept), not sorted in a copy. */
  readonly medianScratch: number[] = zeros(RTT_SAMPLES);
  /** A summary's pending seconds per state. */
  readonly pendingScratch: number[] = zeros(STATES);

  /** A zeroed array of `length` numbers (FIRST_BUCKETS or MAX_THROUGHPUT_BUCKETS buckets). */
  take(length: number): number[] {
    const a = (length === FIRST_BUCKETS * BUCKET_STRIDE ? this.small : this.full).pop();
    return a !== undefined && a.length === length ? a.fill(0) : zeros(length);
  }

  give(a: number[]): void {
    const list = a.length === FIRST_BUCKETS * BUCKET_STRIDE ? this.small : a.length === MAX_THROUGHPUT_BUCKETS * BUCKET_STRIDE ? this.full : null;
    if (list !== null && list.length < TIMELINE_POOL_MAX) list.push(a);
  }
}
/** A time this close under a bucket edge (in buckets) is at the edge: (k + 1) × width must land in bucket k + 1. */
const BUCKET_EPSILON = 1e-9;
/** Per timeline bucket: new bytes, then seconds limited by the receiver, loss, window, sender. */
const BUCKET_STRIDE = 5;
const CAUSE_SLOT: readonly number[] = [1, 1, 2, 3, 4, 4];
/** Samples kept for the bytes-per-RTT estimate, at least HISTORY_SPACING_SEC apart: 0.64 s of history or more. */
const HISTORY = 64;
/** Most connections are short: their history starts small (it grows fourfold up to HISTORY). */
const FIRST_HISTORY = 4;
const HISTORY_SPACING_SEC = 0.01;
/** Without an event, a direction's state is looked at this often (seconds of packet time). */
const SAMPLE_SEC = 0.01;
/** Width of a throughput bucket at first; it doubles whenever the buckets run out. */
const FIRST_BUCKET_SEC = 0.001;

// Internal states, finer than the causes they count toward.
const S_ZERO_WINDOW = 0;
const S_RECEIVER_WINDOW = 1;
const S_LOSS = 2;
const S_WINDOW = 3;
const S_IDLE = 4;
const S_BUSY = 5;
const STATES = 6;
const CAUSE_OF: readonly LimitingCause[] = ['receiver', 'receiver', 'loss', 'window', 'sender', 'sender'];

const ge = (x: number, y: number): boolean => ((y - x) | 0) <= 0;

/** One direction as a sender of data. */
class SenderDiag {
  constructor(readonly pool: DiagnosisShared) {}

  started = false;
  firstDataTs = 0;
  lastNewDataTs = 0;
  lastProgressTs = 0;
  lastProgressFrame = 0;
  finSeen = false;
  bytes = 0;
  segments = 0;
  retxSegs = 0;
  retxBytes = 0;
  spurious = 0;
  outOfOrder = 0;
  lostSegments = 0;
  /** ACKs from the receiver for data the capture never saw (the capture point missed it). */
  ackedUnseen = 0;
  firstRetxFrame = 0;
  firstZeroWindowFrame = 0;
  rtos = 0;
  rtoMax = 0;
  windowFull = 0;
  maxSeg = 0;
  maxInFlight = 0;
  /** The receiver's largest advertised window (scaled), its zero-window episodes. */
  maxWindow = 0;
  inZeroWindow = false;
  zwStart = 0;
  zwPeriods = 0;
  zwSeconds = 0;
  /** In loss recovery until the receiver acknowledges this sequence number. */
  inRecovery = false;
  recoverUntil = 0;
  state = S_BUSY;
  /** When time was last accounted for, and when it is next (without an event). */
  lastTs = 0;
  nextSample = 0;
  /** Time went to the pending half of `times` since the last progress. */
  accounted = false;
  // Seconds per state: committed up to the last progress ([0, STATES)), pending since ([STATES, 2 × STATES)).
  readonly times = zeros(2 * STATES);
  // throughput
  bucketStart = 0;
  bucketSec = FIRST_BUCKET_SEC;
  tl = NO_SAMPLES;
  usedBuckets = 0;
  /** The bucket the latest call landed in and its span, in seconds after bucketStart (empty until the first). */
  curIdx = 0;
  curFrom = 0;
  curTo = 0;
  // RTT: a decimated sample for the median, and a smoothed RTT (RFC 6298's SRTT) for the stall threshold.
  rtts = NO_SAMPLES;
  rttCount = 0;
  rttKept = 0;
  rttStride = 1;
  rttMin = Infinity;
  rttMax = 0;
  srtt = 0;
  /** Made at the first stall (most connections have none). */
  stalls: TransferStall[] = NO_STALLS;
  moreStalls = 0;
  /** The other direction sent new data since this one's last progress. */
  peerSpoke = false;
  /** The largest flight seen (see stateOf). */
  maxFlight = 0;
  /** (time, new bytes so far) at each accounting, the latest HISTORY of them: bytes per RTT. */
  hist = NO_SAMPLES;
  histHead = 0;
  histCount = 0;

  sampleBytes(ts: number): void {
    // Events can come every packet (each ACK of everything): keep samples spaced, so the history spans time.
    if (this.histCount > 0) {
      const last = (this.histHead + this.histCount - 1) % (this.hist.length >> 1);
      if (ts - this.hist[2 * last]! < HISTORY_SPACING_SEC) return;
    }
    let cap = this.hist.length >> 1;
    if (this.histCount === cap && cap < HISTORY) {
      // Grow (most connections never need the whole history): the ring is laid out from its head.
      const a = zeros(2 * Math.min(HISTORY, Math.max(FIRST_HISTORY, cap * 4)));
      for (let k = 0; k < this.histCount; k++) {
        const j = (this.histHead + k) % cap;
        a[2 * k] = this.hist[2 * j]!;
        a[2 * k + 1] = this.hist[2 * j + 1]!;
      }
      this.hist = a;
      this.histHead = 0;
      cap = a.length >> 1;
    }
    const i = (this.histHead + this.histCount) % cap;
    if (this.histCount < cap) this.histCount++;
    else this.histHead = (this.histHead + 1) % cap;
    this.hist[2 * i] = ts;
    this.hist[2 * i + 1] = this.bytes;
  }

  /** New bytes sent by time `t` (the latest sample at or before it; the oldest kept when none is). */
  bytesAt(t: number): number {
    const h = this.hist;
    let lo = 0;
    let hi = this.histCount - 1;
    if (hi < 0) return 0;
    if (h[2 * this.histHead]! > t) return h[2 * this.histHead + 1]!;
    const cap = h.length >> 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      const i = (this.histHead + mid) % cap;
      if (h[2 * i]! <= t) lo = mid;
      else hi = mid - 1;
    }
    return h[2 * ((this.histHead + lo) % cap) + 1]!;
  }

  addRtt(sec: number): void {
    if (sec < this.rttMin) this.rttMin = sec;
    if (sec > this.rttMax) this.rttMax = sec;
    this.srtt = this.rttCount === 0 ? sec : this.srtt + (sec - this.srtt) / 8;
    if (this.rttCount++ % this.rttStride !== 0) return;
    if (this.rttKept === this.rtts.length && this.rttKept < RTT_SAMPLES) {
      const a = zeros(Math.max(FIRST_RTT_SAMPLES, this.rttKept * 2));
      for (let i = 0; i < this.rttKept; i++) a[i] = this.rtts[i]!;
      this.rtts = a;
    }
    if (this.rttKept === RTT_SAMPLES) {
      // Keep every other sample and take every other one from now on.
      for (let i = 0; i < RTT_SAMPLES / 2; i++) this.rtts[i] = this.rtts[i * 2]!;
      this.rttKept = RTT_SAMPLES / 2;
      this.rttStride *= 2;
      if ((this.rttCount - 1) % this.rttStride !== 0) return;
    }
    this.rtts[this.rttKept++] = sec;
  }

  /** The median RTT so far, seconds (0 when none). */
  rttMedian(): number {
    const n = this.rttKept;
    if (n === 0) return 0;
    // Selected in a shared scratch array, not sorted in a copy: a summary is taken for every
    // connection that closes, and a copy and a sort each time showed up in the report's garbage.
    const a = this.pool.medianScratch;
    for (let i = 0; i < n; i++) a[i] = this.rtts[i]!;
    return select(a, n, n >> 1);
  }

  /** Seconds from `from` to `to` into the timeline slot `slot` of every bucket they cover. */
  spread(from: number, to: number, slot: number): void {
    // Relative to the timeline's start: epoch seconds have too few bits left for bucket edges.
    const a = Math.max(0, from - this.bucketStart);
    const b = to - this.bucketStart;
    if (!(b > a)) return;
    // The far end first: it grows or merges the buckets, so the indices below stay valid.
    const last = this.bucketRel(b) / BUCKET_STRIDE;
    const w = this.bucketSec;
    const t = this.tl;
    let i = Math.min(last, Math.floor(a / w + BUCKET_EPSILON));
    for (; i <= last; i++) {
      const lo = i === 0 ? 0 : i * w;
      const hi = i === last ? b : (i + 1) * w;
      const d = Math.min(b, hi) - Math.max(a, lo);
      if (d > 0) t[i * BUCKET_STRIDE + slot]! += d;
    }
  }

  /** The timeline bucket of time `ts` (its offset in `tl`). */
  bucket(ts: number): number {
    return this.bucketRel(ts - this.bucketStart);
  }

  /**
   * The timeline bucket of `rel` seconds after the timeline's start (its offset in `tl`): buckets
   * are BUCKET_STRIDE values (new bytes, then seconds per cause); when MAX_THROUGHPUT_BUCKETS are
   * not enough, neighbours merge and the width doubles.
   */
  bucketRel(rel: number): number {
    // Most calls land in the bucket of the one before.
    if (rel < this.curTo && rel >= this.curFrom) return this.curIdx * BUCKET_STRIDE;
    let idx = Math.floor(rel / this.bucketSec + BUCKET_EPSILON);
    if (idx < 0) idx = 0;
    if (idx * BUCKET_STRIDE >= this.tl.length && this.tl.length < MAX_THROUGHPUT_BUCKETS * BUCKET_STRIDE) {
      // Most connections need no more than FIRST_BUCKETS; the others get all of them at once.
      const old = this.tl;
      const a = this.pool.take(old.length === 0 && idx < FIRST_BUCKETS ? FIRST_BUCKETS * BUCKET_STRIDE : MAX_THROUGHPUT_BUCKETS * BUCKET_STRIDE);
      for (let i = 0; i < old.length; i++) a[i] = old[i]!;
      if (old.length > 0) this.pool.give(old);
      this.tl = a;
    }
    if (idx >= MAX_THROUGHPUT_BUCKETS) {
      // Merge by the factor the new time needs, in one pass (a long connection would otherwise merge
      // pairs over and over as time goes on).
      let f = 2;
      while (Math.floor(rel / (this.bucketSec * f) + BUCKET_EPSILON) >= MAX_THROUGHPUT_BUCKETS) f *= 2;
      const t = this.tl;
      const used = this.usedBuckets;
      for (let i = 0; i * f < used; i++) {
        for (let k = 0; k < BUCKET_STRIDE; k++) {
          let sum = 0;
          for (let j = i * f; j < Math.min(used, (i + 1) * f); j++) sum += t[j * BUCKET_STRIDE + k]!;
          t[i * BUCKET_STRIDE + k] = sum;
        }
      }
      t.fill(0, Math.ceil(used / f) * BUCKET_STRIDE);
      this.bucketSec *= f;
      this.usedBuckets = Math.ceil(used / f);
      idx = Math.floor(rel / this.bucketSec + BUCKET_EPSILON);
    }
    if (idx + 1 > this.usedBuckets) this.usedBuckets = idx + 1;
    this.curIdx = idx;
    // Both edges by the same product, so the next bucket starts exactly where this one ends.
    this.curFrom = idx * this.bucketSec;
    this.curTo = (idx + 1) * this.bucketSec;
    return idx * BUCKET_STRIDE;
  }
}

/**
 * The round-trip time of the path: the handshake's (SYN to the ACK that completes it spans the whole
 * path wherever the capture is), or the ACKs' smoothed RTT when larger (at the sender they span the
 * path too, queues included; at the receiver they are only its ACK delay).
 */
function pathRtt(x: SenderDiag, initialRtt: number | null): number {
  const i = initialRtt ?? 0;
  return x.srtt > i ? x.srtt : i;
}

/** max(1 s, 4 × RTT). */
function stallThreshold(x: SenderDiag, initialRtt: number | null): number {
  return Math.max(STALL_MIN_SEC, STALL_RTTS * pathRtt(x, initialRtt));
}

/** A stall's cause, from the seconds per state in p[at, at + STATES) (the time since the last progress). */
function stallCause(p: readonly number[], at: number): TransferStall['cause'] {
  return p[at + S_ZERO_WINDOW]! > 0 ? 'zero-window'
    : p[at + S_LOSS]! > 0 ? 'retransmission'
      : p[at + S_IDLE]! >= p[at + S_BUSY]! + p[at + S_WINDOW]! + p[at + S_RECEIVER_WINDOW]! ? 'idle' : 'unacknowledged';
}

/** Causes a conversation turn can show: nothing to send, or sent and waiting for an ACK. */
function isTurnCause(c: TransferStall['cause']): boolean {
  return c === 'idle' || c === 'unacknowledged';
}

/** A stall and its cause, from the seconds per state in p[at, at + STATES). */
function stallOf(p: readonly number[], at: number, start: number, end: number, fromFrame: number | null, toFrame: number | null, open: boolean): TransferStall {
  const cause = stallCause(p, at);
  return { start, end, fromFrame, toFrame, cause, open };
}

/** The throughput timeline with the cause that took most of each bucket's time. */
function timelineOf(x: SenderDiag, fallbackStart: number): TcpTransferAnalysis['timeline'] {
  const bytes: number[] = [];
  const cause: (LimitingCause | null)[] = [];
  for (let i = 0; i < x.usedBuckets; i++) {
    const o = i * BUCKET_STRIDE;
    bytes.push(x.tl[o]!);
    let best: LimitingCause | null = null;
    let bestSec = 0;
    for (let k = 0; k < LIMITING_CAUSES.length; k++) {
      const sec = x.tl[o + 1 + k]!;
      if (sec > bestSec) { bestSec = sec; best = LIMITING_CAUSES[k]!; }
    }
    cause.push(best);
  }
  return { start: x.started ? x.bucketStart : fallbackStart, bucketSec: x.bucketSec, bytes, cause };
}

function initialRttOf(conn: TcpFacts): number | null {
  return conn.handshake.rttMs === null ? null : conn.handshake.rttMs / 1000;
}

/** The timeline of a summary taken without one (shared: nothing writes into it). */
const NO_TIMELINE: TcpTransferAnalysis['timeline'] = Object.freeze({ start: 0, bucketSec: FIRST_BUCKET_SEC, bytes: [], cause: [] }) as TcpTransferAnalysis['timeline'];

/** The diagnosis of a direction that never sent data. */
function idleSender(maxWindow: number, pool: DiagnosisShared): SenderDiag {
  const x = new SenderDiag(pool);
  x.maxWindow = maxWindow;
  return x;
}

export class TransferDiagnosis {
  /**
   * Keep the throughput timeline (graphs). A report without graphs turns it off when the connection
   * opens: it is the largest part of the state (up to 128 buckets of 5 numbers per direction).
   */
  timelines = true;
  /** Per direction, made when it first sends data (most directions of most connections only acknowledge). */
  private d0: SenderDiag | null = null;
  private d1: SenderDiag | null = null;
  /** The largest window each direction advertised before the other started sending. */
  private maxWindow0 = 0;
  private maxWindow1 = 0;

  /** The summary was taken for good (the connection closed): state is dropped, packets are ignored. */
  private frozen = false;

  /** `pool`: the tracker's, shared by its connections. */
  constructor(private readonly pool: DiagnosisShared = new DiagnosisShared()) {}

  /** Drop the per-direction state (its timelines go back to the pool): the summary of the closed connection has been taken. */
  freeze(): void {
    this.frozen = true;
    if (this.d0 !== null && this.d0.tl.length > 0) this.pool.give(this.d0.tl);
    if (this.d1 !== null && this.d1.tl.length > 0) this.pool.give(this.d1.tl);
    this.d0 = null;
    this.d1 = null;
  }

  /** One packet, after the analysis of it (ca.result). */
  packet(dir: Dir, ca: ConnectionAnalysis, pkt: FastPacket, ts: number, frame: number): void {
    if (this.frozen) return;
    const r = ca.result;
    const flags = pkt.flags;
    const seglen = pkt.payloadWireLength;
    let s = dir === 0 ? this.d0 : this.d1;
    const o = dir === 0 ? this.d1 : this.d0;

    // This packet as the other direction's receiver: its window, its ACK. A change of the other
    // direction's state (zero window, end of loss recovery) is accounted for at once.
    let otherEvent = false;
    if ((flags & TCP_SYN) === 0) {
      const win = r.windowSize;
      if (o === null) {
        if (dir === 0) { if (win > this.maxWindow0) this.maxWindow0 = win; } else if (win > this.maxWindow1) this.maxWindow1 = win;
      } else {
        if (win > o.maxWindow) o.maxWindow = win;
        if (win === 0 && (flags & (TCP_RST | TCP_FIN)) === 0) {
          if (!o.inZeroWindow) {
            o.inZeroWindow = true;
            o.zwStart = ts;
            o.zwPeriods++;
            if (o.firstZeroWindowFrame === 0) o.firstZeroWindowFrame = frame;
            otherEvent = true;
          }
        } else if (win > 0 && o.inZeroWindow) {
          o.inZeroWindow = false;
          o.zwSeconds += ts - o.zwStart;
          otherEvent = true;
        }
        if (r.ackRtt === r.ackRtt) o.addRtt(r.ackRtt);
        if (r.flags & TA_ACK_LOST_SEGMENT) {
          // The receiver has data the capture never showed: it moved, so this is progress, not a stall.
          o.ackedUnseen++;
          o.lastProgressTs = ts;
          o.lastProgressFrame = frame;
        }
        // Everything acknowledged: the sender goes idle now, not at the next sample.
        if (pkt.ack === ca.dirs[dir === 0 ? 1 : 0].nextseq && o.state !== S_IDLE) otherEvent = true;
        if (o.inRecovery && ge(pkt.ack, o.recoverUntil)) {
          o.inRecovery = false;
          otherEvent = true;
        }
      }
    }

    // This packet as its direction's data.
    let retransmitted = false;
    if (seglen > 0 && (flags & TCP_RST) === 0) {
      if (s === null) {
        s = new SenderDiag(this.pool);
        // The other side's window as advertised so far.
        s.maxWindow = dir === 0 ? this.maxWindow1 : this.maxWindow0;
        if (dir === 0) this.d0 = s;
        else this.d1 = s;
        s.started = true;
        s.firstDataTs = ts;
        s.lastNewDataTs = ts;
        s.lastProgressTs = ts;
        s.lastProgressFrame = frame;
        s.lastTs = ts;
        s.bucketStart = ts;
      }
      s.segments++;
      if (seglen > s.maxSeg) s.maxSeg = seglen;
      if (r.bytesInFlight > s.maxInFlight) s.maxInFlight = r.bytesInFlight;
      if (r.flags & TA_WINDOW_FULL) s.windowFull++;
      if (r.flags & TA_ANY_RETRANSMISSION) {
        s.retxSegs++;
        s.retxBytes += seglen;
        if (s.firstRetxFrame === 0) s.firstRetxFrame = frame;
        if (r.flags & TA_SPURIOUS_RETRANSMISSION) s.spurious++;
        else {
          retransmitted = true;
          s.inRecovery = true;
          s.recoverUntil = ca.dirs[dir].nextseq;
        }
        if ((r.flags & (TA_RETRANSMISSION | TA_FAST_RETRANSMISSION)) === TA_RETRANSMISSION && r.rto >= RTO_MIN_SEC) {
          s.rtos++;
          if (r.rto > s.rtoMax) s.rtoMax = r.rto;
        }
      }
      if (r.newBytes > 0) {
        // The other direction was waiting for this (a request and its answer), not stalled.
        if (o !== null) o.peerSpoke = true;
        s.bytes += r.newBytes;
        s.lastNewDataTs = ts;
        // (the bucket first: finding it may grow the array)
        if (this.timelines) {
          const at = s.bucket(ts);
          s.tl[at]! += r.newBytes;
        }
      }
      if (r.flags & TA_OUT_OF_ORDER) s.outOfOrder++;
      if (r.flags & TA_LOST_SEGMENT) s.lostSegments++;
    }
    if (s !== null) {
      if (flags & TCP_FIN) s.finSeen = true;
      // The wait that ended in a retransmission was the loss's.
      if (retransmitted) this.account(dir, s, ca, ts, S_LOSS);
      else if (ts >= s.nextSample) this.account(dir, s, ca, ts, -1);
      if (r.advanced && s.lastProgressFrame !== frame) this.progress(dir, s, ca, ts, frame);
    }
    if (o !== null && (otherEvent || ts >= o.nextSample)) this.account(dir === 0 ? 1 : 0, o, ca, ts, -1);
  }

  /**
   * Time since the direction was last accounted for goes to the state it was in then (or to `as`);
   * then its state now. Runs on events and at most every SAMPLE_SEC otherwise: per-packet work stays small.
   */
  private account(d: Dir, x: SenderDiag, ca: ConnectionAnalysis, ts: number, as: number): void {
    const dt = ts - x.lastTs;
    if (dt > 0) {
      const st = as >= 0 ? as : x.state;
      x.times[STATES + st]! += dt;
      if (this.timelines) x.spread(x.lastTs, ts, CAUSE_SLOT[st]!);
      x.accounted = true;
    }
    x.lastTs = ts;
    x.nextSample = ts + SAMPLE_SEC;
    x.sampleBytes(ts);
    x.state = this.stateOf(d, x, ca, ts);
  }

  /** The sender moved forward: close the stretch since its last progress (a stall if long). */
  private progress(d: Dir, x: SenderDiag, ca: ConnectionAnalysis, ts: number, frame: number): void {
    const gap = ts - x.lastProgressTs;
    if (gap > stallThreshold(x, ca.initialRtt)) {
      if (x.lastTs < ts) this.account(d, x, ca, ts, -1);
      // A sender whose peer sent data meanwhile was waiting for an answer: an exchange, not a stall,
      // whether it was idle or its last data waited for the ACK that came with the answer (a control
      // connection's reply is acknowledged by the next command, often seconds later).
      if (x.peerSpoke && isTurnCause(stallCause(x.times, STATES))) {
        // not a stall
      } else if (x.stalls.length < MAX_STALLS) {
        if (x.stalls === NO_STALLS) x.stalls = [];
        x.stalls.push(stallOf(x.times, STATES, x.lastProgressTs, ts, x.lastProgressFrame, frame, false));
      } else {
        x.moreStalls++;
      }
    }
    x.peerSpoke = false;
    if (x.accounted) {
      const t = x.times;
      for (let i = 0; i < STATES; i++) {
        t[i]! += t[STATES + i]!;
        t[STATES + i] = 0;
      }
      x.accounted = false;
    }
    x.lastProgressTs = ts;
    x.lastProgressFrame = frame;
  }

  /**
   * The sender's state now. Its flight is what it has sent and not had acknowledged as seen here,
   * or, where the capture is at the receiver (which acknowledges at once), the new bytes of the last
   * round trip: in a steady state a sender sends one flight per RTT.
   */
  private stateOf(d: Dir, x: SenderDiag, ca: ConnectionAnalysis, ts: number): number {
    if (x.inZeroWindow) return S_ZERO_WINDOW;
    if (x.inRecovery) return S_LOSS;
    const snd = ca.dirs[d];
    const rcv = ca.dirs[d === 0 ? 1 : 0];
    let flight = rcv.lastAck === 0 ? 0 : (snd.nextseq - rcv.lastAck) | 0;
    const rtt = pathRtt(x, ca.initialRtt);
    if (rtt > 0) {
      const perRtt = x.bytes - x.bytesAt(ts - rtt);
      if (perRtt > flight) flight = perRtt;
    }
    if (flight <= 0) return S_IDLE;
    if (flight > x.maxFlight) x.maxFlight = flight;
    const rwnd = rcv.windowBytes;
    if (rwnd < 0) return S_BUSY;
    if (flight + 2 * x.maxSeg > rwnd) return rwnd * 2 < x.maxWindow ? S_RECEIVER_WINDOW : S_WINDOW;
    return S_BUSY;
  }

  /** Which direction carried more new data (the transfer's), 0 when neither did. */
  bulkDir(): Dir {
    return (this.d1?.bytes ?? 0) > (this.d0?.bytes ?? 0) ? 1 : 0;
  }

  /**
   * The diagnosis of direction `dir` (default: the bulk one) as it stands at `endTs`. `ended`: the
   * connection is over (or the capture is), so a direction still waiting for data ended stalled.
   */
  summary(conn: TcpFacts, endTs: number, ended: boolean, dir: Dir = this.bulkDir(), withTimeline = true): TcpTransferAnalysis {
    const x = (dir === 0 ? this.d0 : this.d1) ?? idleSender(dir === 0 ? this.maxWindow1 : this.maxWindow0, this.pool);
    const hs = conn.handshake;
    const causeSeconds: Record<LimitingCause, number> = { receiver: 0, loss: 0, window: 0, sender: 0 };
    // A copy only where there is something to copy or add (readers never write into it).
    let stalls = x.stalls === NO_STALLS ? NO_STALLS : x.stalls.slice();
    let moreStalls = x.moreStalls;
    let zwSeconds = x.zwSeconds + (x.inZeroWindow ? Math.max(0, endTs - x.zwStart) : 0);
    const pending = this.pool.pendingScratch;
    for (let i = 0; i < STATES; i++) pending[i] = x.times[STATES + i]!;
    if (x.started && endTs > x.lastTs) pending[x.state]! += endTs - x.lastTs;
    if (x.started && ended && !x.finSeen) {
      const gap = endTs - x.lastProgressTs;
      if (gap > stallThreshold(x, initialRttOf(conn))) {
        // Ended stalled: that time is part of the transfer.
        if (stalls === NO_STALLS) stalls = [];
        if (stalls.length < MAX_STALLS) stalls.push(stallOf(pending, 0, x.lastProgressTs, endTs, x.lastProgressFrame, null, true));
        else moreStalls++;
        for (let i = 0; i < STATES; i++) causeSeconds[CAUSE_OF[i]!] += pending[i]!;
      }
    }
    for (let i = 0; i < STATES; i++) causeSeconds[CAUSE_OF[i]!] += x.times[i]!;
    const total = causeSeconds.receiver + causeSeconds.loss + causeSeconds.window + causeSeconds.sender;
    let limitedBy: LimitingCause | null = null;
    if (total > 0) {
      for (const c of ['receiver', 'loss', 'window', 'sender'] as const) {
        if (limitedBy === null || causeSeconds[c] > causeSeconds[limitedBy]) limitedBy = c;
      }
    }
    const duration = x.started ? x.lastNewDataTs - x.firstDataTs : 0;
    const rttMedian = x.rttCount > 0 ? x.rttMedian() : 0;
    zwSeconds = Math.max(0, zwSeconds);
    const o = hs.options;
    return {
      dir,
      bytes: x.bytes,
      segments: x.segments,
      retransmittedSegments: x.retxSegs,
      retransmittedBytes: x.retxBytes,
      spuriousRetransmissions: x.spurious,
      outOfOrder: x.outOfOrder,
      lostSegments: x.lostSegments,
      ackedUnseen: x.ackedUnseen,
      firstRetransmissionFrame: x.firstRetxFrame || null,
      firstZeroWindowFrame: x.firstZeroWindowFrame || null,
      rtos: x.rtos,
      rtoMaxSec: x.rtos > 0 ? x.rtoMax : null,
      durationSec: duration,
      throughput: duration >= 0.001 ? x.bytes / duration : null,
      timeline: withTimeline ? timelineOf(x, conn.start) : NO_TIMELINE,
      rttMs: x.rttCount > 0 ? { min: x.rttMin * 1000, median: rttMedian * 1000, max: x.rttMax * 1000, samples: x.rttCount } : null,
      zeroWindow: { periods: x.zwPeriods, seconds: zwSeconds },
      windowFull: x.windowFull,
      maxWindow: x.maxWindow > 0 ? x.maxWindow : null,
      maxInFlight: x.maxInFlight > 0 ? x.maxInFlight : null,
      maxFlight: x.maxFlight > 0 ? x.maxFlight : null,
      pathRttMs: pathRtt(x, initialRttOf(conn)) > 0 ? pathRtt(x, initialRttOf(conn)) * 1000 : null,
      windowScale: [o[0]?.wscale ?? null, o[1]?.wscale ?? null],
      handshakeSeen: hs.seen,
      causeSeconds,
      limitedBy,
      stalls,
      moreStalls,
    };
  }
}

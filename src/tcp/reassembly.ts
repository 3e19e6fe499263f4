import type { Dir } from './events.js';
import type { ByteBudget } from './budget.js';
import { RetainedBytes, RetainedPool, type RetentionEpoch } from './retained.js';

/** Where a direction's in-order stream goes. */
export interface ReassemblySink {
  /** In-order bytes: src[from, to), valid only during the call (no view is made per segment). */
  deliver(dir: Dir, src: Buffer, from: number, to: number, ts: number, frame: number | null): void;
  gap(dir: Dir, length: number, ts: number, frame: number | null): void;
  /**
   * A retransmission (in `frame`) carried bytes different from the first copy (which won and
   * was seen in `firstFrame`, null when that is no longer known).
   */
  mismatch(dir: Dir, offset: number, length: number, frame: number | null, firstFrame: number | null): void;
  /** The out-of-order buffer was full: delivery skipped ahead past a hole of `skipped` bytes. */
  overflow(dir: Dir, skipped: number, frame: number | null): void;
}

/** A held out-of-order range; `data` null means bytes known to be missing (snaplen cut them). */
interface Held {
  off: number;
  end: number;
  data: Buffer | null;
  ts: number;
  frame: number | null;
}

/** Memory a held range costs besides its bytes; counted so that many tiny ranges are bounded too. */
const ENTRY_COST = 64;
/** Held ranges per direction; beyond it delivery skips ahead as when the byte limit is hit. */
const MAX_HELD_ENTRIES = 4096;

/**
 * One direction of a TCP stream put back in order. Offsets are 64-bit stream offsets (see
 * seq.ts). Bytes are delivered exactly once, in order; the first copy of any byte wins;
 * holes become gaps once something proves they will not be filled (an ACK past them, the
 * buffer limit, the end of the connection). Packet bytes are only copied when they must
 * wait for a hole to fill.
 */
export class Reassembler {
  /** Stream offset of the next byte to deliver. */
  next = 0;
  /** Bytes (plus a small cost per range) waiting for a hole to fill. */
  buffered = 0;
  private held: Held[] = [];
  private readonly retained: RetainedBytes;
  /**
   * Missing bytes not yet reported: adjacent holes are one gap event, told just before the next
   * bytes are delivered (or when the stream ends). A hole found in two steps (an ACK past it,
   * then data or a later ACK showing that its last number was a byte and not a FIN) is one gap.
   */
  private gapPending = 0;
  private gapTs = 0;
  private gapFrame: number | null = null;

  constructor(
    private readonly dir: Dir,
    private readonly sink: ReassemblySink,
    private readonly maxBuffered: number,
    private readonly budget: ByteBudget,
    maxRetained: number,
    retention: RetentionEpoch | null = null,
    pool: RetainedPool = new RetainedPool(),
  ) {
    this.retained = new RetainedBytes(maxRetained, budget, retention, pool);
  }

  /** True when bytes beyond `next` are waiting. */
  get hasHoles(): boolean {
    return this.held.length > 0;
  }

  /** End of the highest byte seen so far. */
  get highest(): number {
    const h = this.held;
    return h.length === 0 ? this.next : Math.max(this.next, h[h.length - 1].end);
  }

  /**
   * A segment whose first byte is at stream `offset`: `present` bytes at src[from..] out of
   * `wire` on the wire (present < wire when snaplen cut it). Returns true when it repeated
   * bytes already seen (a retransmission or an overlap).
   */
  segment(src: Buffer, from: number, present: number, wire: number, offset: number, ts: number, frame: number | null): boolean {
    const end = offset + wire;
    const dataEnd = offset + present;
    let repeated = false;
    if (offset < this.next) {
      repeated = true;
      const upTo = Math.min(dataEnd, this.next);
      if (upTo > offset) this.verifyDelivered(src, from, offset, upTo, frame);
      if (end <= this.next) return true;
    }
    const s = Math.max(offset, this.next);
    if (this.held.length === 0 && s === this.next) {
      this.deliverPiece(src, from + (s - offset), s, dataEnd, end, ts, frame);
      return repeated;
    }
    // Split [s, end) into what is already held (compare) and what is new.
    const pieces: number[] = [];
    let cursor = s;
    for (let i = this.firstEndingAfter(s); i < this.held.length && this.held[i].off < end; i++) {
      const h = this.held[i];
      if (h.off > cursor) pieces.push(cursor, h.off);
      const lo = Math.max(cursor, h.off);
      const hi = Math.min(end, h.end);
      if (hi > lo) {
        repeated = true;
        const cmpHi = Math.min(hi, dataEnd);
        if (h.data !== null && cmpHi > lo) this.verifyHeld(h, src, from + (lo - offset), lo, cmpHi, frame);
      }
      cursor = Math.max(cursor, h.end);
    }
    if (cursor < end) pieces.push(cursor, end);
    for (let p = 0; p < pieces.length; p += 2) {
      const a = pieces[p];
      const b = pieces[p + 1];
      const srcFrom = from + (a - offset);
      const aData = Math.min(b, dataEnd);
      if (a === this.next) this.deliverPiece(src, srcFrom, a, aData, b, ts, frame);
      else this.hold(src, srcFrom, a, aData, b, ts, frame);
    }
    this.drain();
    return repeated;
  }

  /** The receiver acknowledged bytes below `offset`: whatever the capture lacks there is a gap. */
  skipTo(offset: number, ts: number, frame: number | null): void {
    while (this.next < offset) {
      const first = this.held[0];
      if (first === undefined || first.off >= offset) {
        this.emitGap(offset - this.next, ts, frame);
        break;
      }
      if (first.off > this.next) this.emitGap(first.off - this.next, ts, frame);
      this.drain();
    }
    this.drain();
  }

  /** The receiver acknowledged everything below `offset` (frees retained bytes). */
  acked(offset: number): void {
    this.retained.release(offset);
  }

  /** Deliver everything held, holes becoming gaps (the connection is closing). */
  flush(ts: number, frame: number | null): void {
    while (this.held.length > 0) {
      const first = this.held[0];
      if (first.off > this.next) this.emitGap(first.off - this.next, ts, frame);
      this.drain();
    }
    this.tellGap();
  }

  /** Deliver up to `offset` (the FIN), holes becoming gaps, then drop anything beyond. */
  finish(offset: number, ts: number, frame: number | null): void {
    this.skipTo(offset, ts, frame);
    this.tellGap();
    this.free();
  }

  /** Release all memory; nothing more will be delivered. */
  free(): void {
    const held = this.held;
    for (let i = 0; i < held.length; i++) this.release(held[i]!);
    if (held.length > 0) this.held = [];
    this.buffered = 0;
    this.retained.free();
  }

  private deliverPiece(src: Buffer, srcFrom: number, a: number, dataEnd: number, b: number, ts: number, frame: number | null): void {
    if (dataEnd > a) {
      const srcTo = srcFrom + (dataEnd - a);
      this.retained.append(src, srcFrom, srcTo, a, frame ?? -1);
      this.next = dataEnd;
      if (this.gapPending > 0) this.tellGap();
      this.sink.deliver(this.dir, src, srcFrom, srcTo, ts, frame);
    }
    const missingFrom = Math.max(a, dataEnd);
    if (b > missingFrom) this.emitGap(b - missingFrom, ts, frame);
  }

  private emitGap(length: number, ts: number, frame: number | null): void {
    this.next += length;
    this.retained.skip(this.next);
    if (this.gapPending === 0) {
      this.gapTs = ts;
      this.gapFrame = frame;
    }
    this.gapPending += length;
  }

  /** Report the missing bytes found so far as one gap. */
  private tellGap(): void {
    const length = this.gapPending;
    if (length === 0) return;
    this.gapPending = 0;
    this.sink.gap(this.dir, length, this.gapTs, this.gapFrame);
  }

  /** Keep [a, b) (bytes for [a, dataEnd)) until the hole before it fills or is given up. */
  private hold(src: Buffer, srcFrom: number, a: number, dataEnd: number, b: number, ts: number, frame: number | null): void {
    for (;;) {
      if (this.next === a) {
        this.deliverPiece(src, srcFrom, a, dataEnd, b, ts, frame);
        return;
      }
      const entries = (dataEnd > a ? 1 : 0) + (b > Math.max(a, dataEnd) ? 1 : 0);
      const cost = Math.max(dataEnd - a, 0) + entries * ENTRY_COST;
      if (
        this.buffered + cost <= this.maxBuffered &&
        this.held.length + entries <= MAX_HELD_ENTRIES &&
        this.budget.tryTake(cost)
      ) {
        this.insert(src, srcFrom, a, dataEnd, b, ts, frame);
        this.buffered += cost;
        return;
      }
      // Full: give up on the lowest hole and deliver what follows it.
      const first = this.held[0];
      const target = first === undefined || first.off > a ? a : first.off;
      const skipped = target - this.next;
      if (skipped > 0) {
        this.sink.overflow(this.dir, skipped, frame);
        this.emitGap(skipped, ts, frame);
      }
      this.drain();
    }
  }

  private insert(src: Buffer, srcFrom: number, a: number, dataEnd: number, b: number, ts: number, frame: number | null): void {
    let i = this.firstEndingAfter(a);
    if (dataEnd > a) {
      const copy = Buffer.allocUnsafe(dataEnd - a);
      src.copy(copy, 0, srcFrom, srcFrom + copy.length);
      this.held.splice(i++, 0, { off: a, end: dataEnd, data: copy, ts, frame });
    }
    const missingFrom = Math.max(a, dataEnd);
    if (b > missingFrom) this.held.splice(i, 0, { off: missingFrom, end: b, data: null, ts, frame });
  }

  /** Deliver held ranges that start at `next`. */
  private drain(): void {
    const held = this.held;
    let n = 0;
    while (n < held.length && held[n].off <= this.next) {
      const h = held[n++];
      this.release(h);
      if (h.end <= this.next) continue; // cannot happen with non-overlapping ranges; be safe
      const skip = this.next - h.off;
      if (h.data === null) {
        this.emitGap(h.end - this.next, h.ts, h.frame);
      } else {
        this.retained.append(h.data, skip, h.data.length, this.next, h.frame ?? -1);
        this.next = h.end;
        if (this.gapPending > 0) this.tellGap();
        this.sink.deliver(this.dir, h.data, skip, h.data.length, h.ts, h.frame);
      }
    }
    if (n > 0) held.splice(0, n);
  }

  private release(h: Held): void {
    const bytes = h.data === null ? 0 : h.data.length;
    this.buffered -= bytes + ENTRY_COST;
    this.budget.give(bytes + ENTRY_COST);
  }

  /** Index of the first held range whose end is beyond `offset`. */
  private firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.held[mid].end <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private verifyDelivered(src: Buffer, from: number, offset: number, upTo: number, frame: number | null): void {
    if (this.retained.compare(src, from, from + (upTo - offset), offset) === 'differs') {
      this.sink.mismatch(this.dir, offset, upTo - offset, frame, this.retained.frameAt(offset));
    }
  }

  private verifyHeld(h: Held, src: Buffer, srcFrom: number, lo: number, hi: number, frame: number | null): void {
    const data = h.data as Buffer;
    const hFrom = lo - h.off;
    if (data.compare(src, srcFrom, srcFrom + (hi - lo), hFrom, hFrom + (hi - lo)) !== 0) {
      this.sink.mismatch(this.dir, lo, hi - lo, frame, h.frame);
    }
  }
}

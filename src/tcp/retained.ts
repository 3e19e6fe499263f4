import type { ByteBudget } from './budget.js';

export type Verdict = 'same' | 'differs' | 'unknown';

const INITIAL_CAPACITY = 512;

/**
 * What closed (or idle) connections' RetainedBytes leave for the next ones, per tracker: rings,
 * and reference and mark tables. A fresh large Buffer costs page faults and GC pressure on every
 * data connection, a reused one costs nothing; one object per reference made enough
 * medium-lived garbage to slow captures of many short connections by a third. Bounded in total.
 */
export class RetainedPool {
  private readonly rings = new Map<number, Buffer[]>();
  private ringBytes = 0;
  /** Reference tables (REF_WIDTH numbers per reference). */
  readonly refTables: Float64Array[] = [];
  /** Mark tables, FIRST_MARKS and RING_MARKS pairs long. */
  private readonly markTables: [Float64Array[], Float64Array[]] = [[], []];

  takeRing(size: number): Buffer {
    const ring = this.rings.get(size)?.pop();
    if (ring === undefined) return Buffer.allocUnsafe(size);
    this.ringBytes -= size;
    return ring;
  }

  returnRing(ring: Buffer): void {
    if (this.ringBytes + ring.length > POOL_MAX_BYTES) return;
    let list = this.rings.get(ring.length);
    if (list === undefined) this.rings.set(ring.length, (list = []));
    list.push(ring);
    this.ringBytes += ring.length;
  }

  returnTable(list: Float64Array[], table: Float64Array): void {
    if (list.length < MAX_POOLED_TABLES) list.push(table);
  }

  /** A mark table for FIRST_MARKS marks, or (`full`) RING_MARKS. */
  takeMarks(full: boolean): Float64Array {
    return this.markTables[full ? 1 : 0].pop() ?? new Float64Array(2 * (full ? RING_MARKS : FIRST_MARKS));
  }

  giveMarks(table: Float64Array): void {
    this.returnTable(this.markTables[table.length === 2 * RING_MARKS ? 1 : 0], table);
  }
}

const POOL_MAX_BYTES = 4 << 20;
const MAX_POOLED_TABLES = 256;

/** References held per direction before they are copied anyway. */
const MAX_REFS = 32;
/** Numbers per reference: from, to, stream offset, and the frame that carried the bytes (-1: none). */
const REF_WIDTH = 4;
/**
 * (stream offset, frame) of the newest pieces copied into the ring, so that a retransmission that
 * differs can name the frame of the first copy. Only copies pay for it (the file path references
 * its bytes and copies few), and a lookup walks back from the newest.
 */
const RING_MARKS = 64;
/**
 * A mark table starts this small and grows to RING_MARKS once: a connection that keeps a line or
 * two unacknowledged while it idles (thousands of open control connections) holds little.
 */
const FIRST_MARKS = 4;


/**
 * For input whose buffers are reused only at known moments (a capture file read chunk by
 * chunk): delivered bytes are kept as references into the input until then, and copied only
 * if still unacknowledged when inputReused() is called. Most bytes are acknowledged first,
 * so most are never copied.
 */
export class RetentionEpoch {
  /** Holders of references; each leaves as soon as it holds none (a closed connection must not be kept alive here). */
  private readonly referencing: RetainedBytes[] = [];

  /** Called by a RetainedBytes when it starts holding references; returns its slot. */
  track(r: RetainedBytes): number {
    return this.referencing.push(r) - 1;
  }

  /** Called by a RetainedBytes in `slot` when it holds references no more. */
  untrack(slot: number): void {
    const list = this.referencing;
    const last = list.pop()!;
    if (slot < list.length) {
      list[slot] = last;
      last.epochSlot = slot;
    }
  }

  /** The input buffers are about to be overwritten: copy what is still referenced. */
  inputReused(): void {
    const list = this.referencing;
    while (list.length > 0) list[list.length - 1]!.materialize();
  }
}

/**
 * The most recently delivered bytes of one direction that the receiver has not acknowledged
 * yet, kept only to check that a retransmission repeats them. A ring indexed by stream
 * offset: it grows up to `max` (and only while the shared budget allows), then forgets the
 * oldest bytes. Acknowledged bytes are released.
 */
export class RetainedBytes {
  private ring: Buffer | null = null;
  /** Stream offsets [start, end) are held; end is the delivery point. */
  private start = 0;
  private end = 0;
  /** The ring holds [start, ringEnd); references (refs[head..]) hold [ringEnd, end). */
  private ringEnd = 0;
  /** Referenced bytes all lie in refSrc; reference i is refs[4i..4i+3] = from, to, stream offset, frame. */
  private refSrc: Buffer | null = null;
  private refs: Float64Array | null = null;
  private refCount = 0;
  private head = 0;
  /** Slot in the epoch's list while holding references, else -1. */
  epochSlot = -1;
  /** RING_MARKS pairs (offset, frame), written round; allocated at the first copy. */
  private marks: Float64Array | null = null;
  private markCount = 0;

  constructor(
    private readonly max: number,
    private readonly budget: ByteBudget,
    private readonly epoch: RetentionEpoch | null = null,
    private readonly pool: RetainedPool = new RetainedPool(),
  ) {}

  get size(): number {
    return this.end - this.start;
  }

  /** Bytes delivered at `offset` (carried by `frame`, -1 when none); a jump (after a gap) forgets what was held. */
  append(src: Buffer, from: number, to: number, offset: number, frame = -1): void {
    if (this.epoch === null || this.max <= 0) {
      this.copyIn(src, from, to, offset, frame);
      return;
    }
    if (offset !== this.end) this.skip(offset);
    if (to <= from) return;
    if (this.refCount === MAX_REFS || (this.refSrc !== null && this.refSrc !== src)) this.materialize();
    let refs = this.refs;
    if (refs === null) refs = this.refs = this.pool.refTables.pop() ?? new Float64Array(REF_WIDTH * MAX_REFS);
    const k = REF_WIDTH * this.refCount++;
    refs[k] = from;
    refs[k + 1] = to;
    refs[k + 2] = offset;
    refs[k + 3] = frame;
    this.refSrc = src;
    this.end = offset + (to - from);
    if (this.end - this.start > this.max) this.start = this.end - this.max;
    if (this.epochSlot < 0) this.epochSlot = this.epoch.track(this);
  }

  /** Copies the referenced bytes still held into the ring (the input is about to be reused). */
  materialize(): void {
    const refs = this.refs;
    const src = this.refSrc;
    if (refs !== null && src !== null) {
      for (let i = this.head; i < this.refCount; i++) {
        const from = refs[REF_WIDTH * i]!;
        const to = refs[REF_WIDTH * i + 1]!;
        const offset = refs[REF_WIDTH * i + 2]!;
        if (offset + (to - from) <= this.start) continue;
        const skip = Math.max(0, this.start - offset);
        const keepStart = this.start;
        this.copyIn(src, from + skip, to, offset + skip, refs[REF_WIDTH * i + 3]!);
        if (keepStart > this.start) this.start = keepStart;
      }
    }
    this.clearRefs();
  }

  private clearRefs(): void {
    this.refCount = 0;
    this.head = 0;
    this.refSrc = null;
    if (this.epochSlot >= 0) {
      this.epoch!.untrack(this.epochSlot);
      this.epochSlot = -1;
    }
    this.ringEnd = this.end;
  }

  /** Bytes copied into the ring at `offset` (a jump forgets what was held). */
  private copyIn(src: Buffer, from: number, to: number, offset: number, frame: number): void {
    if (offset !== this.ringEnd) this.start = this.ringEnd = offset;
    const len = to - from;
    if (len > 0 && this.max > 0) this.mark(offset, frame);
    if (len <= 0 || this.max <= 0) {
      this.start = this.ringEnd = this.end = offset + Math.max(len, 0);
      return;
    }
    this.ensureCapacity(this.ringEnd - this.start + len);
    const ring = this.ring;
    if (ring === null) {
      this.start = this.ringEnd = this.end = offset + len;
      return;
    }
    const cap = ring.length;
    const from0 = from;
    if (len >= cap) {
      from = to - cap;
      this.start = offset + len - cap;
    } else if (this.ringEnd + len - this.start > cap) {
      this.start = this.ringEnd + len - cap;
    }
    this.write(ring, offset + (from - from0), src, from, to);
    this.ringEnd = this.end = offset + len;
  }

  /** Delivery jumped to `offset` without bytes (a gap). */
  skip(offset: number): void {
    this.start = this.end = offset;
    this.clearRefs();
  }

  /** The receiver acknowledged everything below `offset`. */
  release(offset: number): void {
    if (offset <= this.start) return;
    this.start = Math.min(offset, this.end);
    const refs = this.refs;
    if (refs === null) return;
    while (this.head < this.refCount && refs[REF_WIDTH * this.head + 2]! + (refs[REF_WIDTH * this.head + 1]! - refs[REF_WIDTH * this.head]!) <= this.start) this.head++;
    if (this.head === this.refCount && this.head > 0) this.clearRefs();
    if (this.start === this.end) this.putTablesBack();
  }

  /**
   * Everything delivered is acknowledged: the reference and mark tables go back to the pool
   * until bytes are held again. A capture with thousands of open, mostly idle connections
   * (control connections) otherwise keeps 2-4 KiB of tables per connection for nothing.
   */
  private putTablesBack(): void {
    if (this.refs !== null && this.refCount === 0) {
      this.pool.returnTable(this.pool.refTables, this.refs);
      this.refs = null;
    }
    if (this.marks !== null) {
      this.pool.giveMarks(this.marks);
      this.marks = null;
      this.markCount = 0;
    }
  }

  /** Compare src[from, to), which claims to be the bytes at `offset`, with what is held. */
  compare(src: Buffer, from: number, to: number, offset: number): Verdict {
    const lo = Math.max(offset, this.start);
    const hi = Math.min(offset + (to - from), this.end);
    if (lo >= hi) return 'unknown';
    let compared = false;
    const ring = this.ring;
    const ringHi = Math.min(hi, this.ringEnd);
    if (ring !== null && lo < ringHi) {
      const cap = ring.length;
      for (let o = lo; o < ringHi;) {
        const pos = o % cap;
        const n = Math.min(ringHi - o, cap - pos);
        const s = from + (o - offset);
        if (ring.compare(src, s, s + n, pos, pos + n) !== 0) return 'differs';
        o += n;
      }
      compared = true;
    }
    const refs = this.refs;
    const refSrc = this.refSrc;
    for (let i = this.head; refs !== null && refSrc !== null && i < this.refCount; i++) {
      const rFrom = refs[REF_WIDTH * i]!;
      const rOffset = refs[REF_WIDTH * i + 2]!;
      const a = Math.max(lo, rOffset);
      const b = Math.min(hi, rOffset + (refs[REF_WIDTH * i + 1]! - rFrom));
      if (a >= b) continue;
      const s = from + (a - offset);
      const rs = rFrom + (a - rOffset);
      if (refSrc.compare(src, s, s + (b - a), rs, rs + (b - a)) !== 0) return 'differs';
      compared = true;
    }
    return compared ? 'same' : 'unknown';
  }

  /** The frame that first carried the held byte at stream `offset`, when still known. */
  frameAt(offset: number): number | null {
    const refs = this.refs;
    for (let i = this.refCount - 1; refs !== null && i >= this.head; i--) {
      const rOffset = refs[REF_WIDTH * i + 2]!;
      if (rOffset > offset) continue;
      if (offset < rOffset + (refs[REF_WIDTH * i + 1]! - refs[REF_WIDTH * i]!)) return frameOrNull(refs[REF_WIDTH * i + 3]!);
      break;
    }
    const m = this.marks;
    if (m === null) return null;
    const cap = m.length >> 1;
    const n = Math.min(this.markCount, cap);
    for (let i = 1; i <= n; i++) {
      const k = 2 * ((this.markCount - i) % cap);
      if (m[k]! <= offset) return frameOrNull(m[k + 1]!);
    }
    return null;
  }

  private mark(offset: number, frame: number): void {
    let m = this.marks;
    if (m === null) {
      m = this.marks = this.pool.takeMarks(false);
    } else if (this.markCount === m.length >> 1 && m.length < 2 * RING_MARKS) {
      // Grown before the small table wraps: its marks are in order, and stay where they are.
      const full = this.pool.takeMarks(true);
      full.set(m);
      this.pool.giveMarks(m);
      m = this.marks = full;
    }
    const k = 2 * (this.markCount++ % (m.length >> 1));
    m[k] = offset;
    m[k + 1] = frame;
  }

  /** Give the memory back (the connection closed). */
  free(): void {
    if (this.marks !== null) this.pool.giveMarks(this.marks);
    this.marks = null;
    this.markCount = 0;
    this.clearRefs();
    if (this.refs !== null) this.pool.returnTable(this.pool.refTables, this.refs);
    this.refs = null;
    if (this.ring !== null) {
      this.budget.give(this.ring.length);
      this.pool.returnRing(this.ring);
    }
    this.ring = null;
    this.start = this.end;
  }

  private ensureCapacity(need: number): void {
    const cur = this.ring === null ? 0 : this.ring.length;
    if (need <= cur || cur >= this.max) return;
    let cap = Math.max(cur, INITIAL_CAPACITY);
    while (cap < need && cap < this.max) cap *= 2;
    cap = Math.min(cap, this.max);
    if (!this.budget.tryTake(cap - cur)) return;
    const next = this.pool.takeRing(cap);
    const old = this.ring;
    if (old !== null) {
      // Keep what still fits, re-indexed for the new size.
      const keep = Math.min(this.ringEnd - this.start, cap);
      const from = this.ringEnd - keep;
      for (let o = from; o < this.ringEnd;) {
        const pos = o % old.length;
        const n = Math.min(this.ringEnd - o, old.length - pos);
        this.write(next, o, old, pos, pos + n);
        o += n;
      }
      this.start = from;
      this.pool.returnRing(old);
    }
    this.ring = next;
  }

  private write(ring: Buffer, offset: number, src: Buffer, from: number, to: number): void {
    const cap = ring.length;
    let o = offset;
    while (from < to) {
      const pos = o % cap;
      const n = Math.min(to - from, cap - pos);
      src.copy(ring, pos, from, from + n);
      from += n;
      o += n;
    }
  }
}

function frameOrNull(f: number): number | null {
  return f < 0 ? null : f;
}

import type { ByteBudget } from './budget.js';

export type Verdict = 'same' | 'differs' | 'unknown';

const INITIAL_CAPACITY = 4096;

/**
 * Rings of closed connections, kept for the next ones: a fresh large Buffer costs page faults
 * and GC pressure on every data connection, a reused one costs nothing. Bounded in total.
 */
const POOL_MAX_BYTES = 4 << 20;
const pool = new Map<number, Buffer[]>();
let pooledBytes = 0;

function takeRing(size: number): Buffer {
  const list = pool.get(size);
  const ring = list?.pop();
  if (ring === undefined) return Buffer.allocUnsafe(size);
  pooledBytes -= size;
  return ring;
}

function returnRing(ring: Buffer): void {
  if (pooledBytes + ring.length > POOL_MAX_BYTES) return;
  let list = pool.get(ring.length);
  if (list === undefined) pool.set(ring.length, (list = []));
  list.push(ring);
  pooledBytes += ring.length;
}

/** References held per direction before they are copied anyway. */
const MAX_REFS = 32;

/**
 * Reference tables (from, to, stream offset per reference) of closed connections, kept for
 * the next ones: one object per reference made enough medium-lived garbage to slow captures
 * of many short connections by a third.
 */
const refTables: Float64Array[] = [];
const MAX_POOLED_TABLES = 256;

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
  /** Referenced bytes all lie in refSrc; reference i is refs[3i..3i+2] = from, to, stream offset. */
  private refSrc: Buffer | null = null;
  private refs: Float64Array | null = null;
  private refCount = 0;
  private head = 0;
  /** Slot in the epoch's list while holding references, else -1. */
  epochSlot = -1;

  constructor(private readonly max: number, private readonly budget: ByteBudget, private readonly epoch: RetentionEpoch | null = null) {}

  get size(): number {
    return this.end - this.start;
  }

  /** Bytes delivered at `offset`; a jump (after a gap) forgets what was held. */
  append(src: Buffer, from: number, to: number, offset: number): void {
    if (this.epoch === null || this.max <= 0) {
      this.copyIn(src, from, to, offset);
      return;
    }
    if (offset !== this.end) this.skip(offset);
    if (to <= from) return;
    if (this.refCount === MAX_REFS || (this.refSrc !== null && this.refSrc !== src)) this.materialize();
    let refs = this.refs;
    if (refs === null) refs = this.refs = refTables.pop() ?? new Float64Array(3 * MAX_REFS);
    const k = 3 * this.refCount++;
    refs[k] = from;
    refs[k + 1] = to;
    refs[k + 2] = offset;
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
        const from = refs[3 * i]!;
        const to = refs[3 * i + 1]!;
        const offset = refs[3 * i + 2]!;
        if (offset + (to - from) <= this.start) continue;
        const skip = Math.max(0, this.start - offset);
        const keepStart = this.start;
        this.copyIn(src, from + skip, to, offset + skip);
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
  private copyIn(src: Buffer, from: number, to: number, offset: number): void {
    if (offset !== this.ringEnd) this.start = this.ringEnd = offset;
    const len = to - from;
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
    while (this.head < this.refCount && refs[3 * this.head + 2]! + (refs[3 * this.head + 1]! - refs[3 * this.head]!) <= this.start) this.head++;
    if (this.head === this.refCount && this.head > 0) this.clearRefs();
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
      const rFrom = refs[3 * i]!;
      const rOffset = refs[3 * i + 2]!;
      const a = Math.max(lo, rOffset);
      const b = Math.min(hi, rOffset + (refs[3 * i + 1]! - rFrom));
      if (a >= b) continue;
      const s = from + (a - offset);
      const rs = rFrom + (a - rOffset);
      if (refSrc.compare(src, s, s + (b - a), rs, rs + (b - a)) !== 0) return 'differs';
      compared = true;
    }
    return compared ? 'same' : 'unknown';
  }

  /** Give the memory back (the connection closed). */
  free(): void {
    this.clearRefs();
    if (this.refs !== null && refTables.length < MAX_POOLED_TABLES) refTables.push(this.refs);
    this.refs = null;
    if (this.ring !== null) {
      this.budget.give(this.ring.length);
      returnRing(this.ring);
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
    const next = takeRing(cap);
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
      returnRing(old);
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

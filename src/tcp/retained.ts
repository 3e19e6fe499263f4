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

/** Delivered bytes referenced where they lie (in the capture's input buffer), not copied yet. */
interface Ref {
  src: Buffer;
  from: number;
  to: number;
  /** Stream offset of src[from]. */
  offset: number;
}

/** References held per direction before they are copied anyway. */
const MAX_REFS = 64;

/**
 * For input whose buffers are reused only at known moments (a capture file read chunk by
 * chunk): delivered bytes are kept as references into the input until then, and copied only
 * if still unacknowledged when inputReused() is called. Most bytes are acknowledged first,
 * so most are never copied.
 */
export class RetentionEpoch {
  private readonly referencing: RetainedBytes[] = [];

  /** Called by a RetainedBytes when it starts holding references. */
  track(r: RetainedBytes): void {
    this.referencing.push(r);
  }

  /** The input buffers are about to be overwritten: copy what is still referenced. */
  inputReused(): void {
    const list = this.referencing;
    for (let i = 0; i < list.length; i++) list[i]!.materialize();
    list.length = 0;
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
  private refs: Ref[] = [];
  private head = 0;
  private tracked = false;

  constructor(private readonly max: number, private readonly budget: ByteBudget, private readonly epoch: RetentionEpoch | null = null) {}

  get size(): number {
    return this.end - this.start;
  }

  /** Bytes delivered at `offset`; a jump (after a gap) forgets what was held. */
  append(src: Buffer, from: number, to: number, offset: number): void {
    if (this.epoch === null || this.max <= 0 || to <= from) {
      this.copyIn(src, from, to, offset);
      return;
    }
    if (offset !== this.end) this.skip(offset);
    this.refs.push({ src, from, to, offset });
    this.end = offset + (to - from);
    if (this.end - this.start > this.max) this.start = this.end - this.max;
    if (!this.tracked) {
      this.tracked = true;
      this.epoch.track(this);
    }
    if (this.refs.length - this.head > MAX_REFS) this.materialize();
  }

  /** Copies the referenced bytes still held into the ring (the input is about to be reused). */
  materialize(): void {
    this.tracked = false;
    const refs = this.refs;
    for (let i = this.head; i < refs.length; i++) {
      const r = refs[i]!;
      const rEnd = r.offset + (r.to - r.from);
      if (rEnd <= this.start) continue;
      const skip = Math.max(0, this.start - r.offset);
      const keepStart = this.start;
      this.copyIn(r.src, r.from + skip, r.to, r.offset + skip);
      if (keepStart > this.start) this.start = keepStart;
    }
    this.clearRefs();
  }

  private clearRefs(): void {
    if (this.refs.length > 0) this.refs = [];
    this.head = 0;
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
    while (this.head < refs.length && refs[this.head]!.offset + (refs[this.head]!.to - refs[this.head]!.from) <= this.start) this.head++;
    if (this.head === refs.length && this.head > 0) this.clearRefs();
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
    for (let i = this.head; i < refs.length; i++) {
      const r = refs[i]!;
      const a = Math.max(lo, r.offset);
      const b = Math.min(hi, r.offset + (r.to - r.from));
      if (a >= b) continue;
      const s = from + (a - offset);
      const rs = r.from + (a - r.offset);
      if (r.src.compare(src, s, s + (b - a), rs, rs + (b - a)) !== 0) return 'differs';
      compared = true;
    }
    return compared ? 'same' : 'unknown';
  }

  /** Give the memory back (the connection closed). */
  free(): void {
    this.clearRefs();
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

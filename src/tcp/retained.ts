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

  constructor(private readonly max: number, private readonly budget: ByteBudget) {}

  get size(): number {
    return this.end - this.start;
  }

  /** Bytes delivered at `offset`; a jump (after a gap) forgets what was held. */
  append(src: Buffer, from: number, to: number, offset: number): void {
    if (offset !== this.end) this.start = this.end = offset;
    const len = to - from;
    if (len <= 0 || this.max <= 0) {
      this.start = this.end = offset + Math.max(len, 0);
      return;
    }
    this.ensureCapacity(this.end - this.start + len);
    const ring = this.ring;
    if (ring === null) {
      this.start = this.end = offset + len;
      return;
    }
    const cap = ring.length;
    const from0 = from;
    if (len >= cap) {
      from = to - cap;
      this.start = offset + len - cap;
    } else if (this.end + len - this.start > cap) {
      this.start = this.end + len - cap;
    }
    this.write(ring, offset + (from - from0), src, from, to);
    this.end = offset + len;
  }

  /** Delivery jumped to `offset` without bytes (a gap). */
  skip(offset: number): void {
    this.start = this.end = offset;
  }

  /** The receiver acknowledged everything below `offset`. */
  release(offset: number): void {
    if (offset > this.start) this.start = Math.min(offset, this.end);
  }

  /** Compare src[from, to), which claims to be the bytes at `offset`, with what is held. */
  compare(src: Buffer, from: number, to: number, offset: number): Verdict {
    const ring = this.ring;
    const lo = Math.max(offset, this.start);
    const hi = Math.min(offset + (to - from), this.end);
    if (ring === null || lo >= hi) return 'unknown';
    const cap = ring.length;
    let o = lo;
    while (o < hi) {
      const pos = o % cap;
      const n = Math.min(hi - o, cap - pos);
      const s = from + (o - offset);
      if (ring.compare(src, s, s + n, pos, pos + n) !== 0) return 'differs';
      o += n;
    }
    return 'same';
  }

  /** Give the memory back (the connection closed). */
  free(): void {
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
      const keep = Math.min(this.end - this.start, cap);
      const from = this.end - keep;
      for (let o = from; o < this.end;) {
        const pos = o % old.length;
        const n = Math.min(this.end - o, old.length - pos);
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

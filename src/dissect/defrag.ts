/**
 * Bounded IP fragment reassembly (IPv4 and IPv6 alike): at most maxDatagrams pending,
 * maxBytes buffered in all, and a pending datagram older than maxAgeSeconds is dropped.
 * Fragments are copied (the reader reuses its buffers); data keyed by the caller's key.
 */

export interface DefragLimits {
  maxDatagrams: number;
  maxBytes: number;
  maxAgeSeconds: number;
}

export const DEFAULT_DEFRAG_LIMITS: DefragLimits = { maxDatagrams: 1024, maxBytes: 16 * 1024 * 1024, maxAgeSeconds: 30 };

/** The largest datagram payload IP can describe (IPv4 total length / IPv6 fragment offsets). */
const MAX_DATAGRAM = 65535;

interface Pending {
  firstTs: number;
  /** Total payload length, known once the last fragment (MF=0) arrived. */
  total: number;
  pieces: { offset: number; data: Buffer }[];
  bytes: number;
  frames: number[];
}

export interface Reassembled {
  /** The whole IP payload (for TCP: header and data). */
  payload: Buffer;
  /** Frames that carried the fragments, in arrival order. */
  frames: number[];
}

export class Defragmenter {
  private readonly pending = new Map<string, Pending>();
  private buffered = 0;
  /** Datagrams dropped for a bound (count, bytes or age) or because they were inconsistent. */
  dropped = 0;

  constructor(readonly limits: DefragLimits = DEFAULT_DEFRAG_LIMITS) {}

  /** An independent copy (fragments shared, lists copied): lets one packet be reassembled twice. */
  clone(): Defragmenter {
    const c = new Defragmenter(this.limits);
    for (const [k, p] of this.pending) c.pending.set(k, { ...p, pieces: [...p.pieces], frames: [...p.frames] });
    c.buffered = this.buffered;
    c.dropped = this.dropped;
    return c;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * Add one fragment: payload bytes buf[start, end) at byte offset `offset` of the datagram;
   * `more` is the MF flag. Returns the datagram when this fragment completed it.
   */
  add(key: string, ts: number, frame: number, offset: number, more: boolean, buf: Buffer, start: number, end: number): Reassembled | null {
    this.expire(ts);
    const len = end - start;
    if (offset + len > MAX_DATAGRAM || (more && (len & 7) !== 0)) {
      this.drop(key);
      this.dropped++;
      return null;
    }
    let p = this.pending.get(key);
    if (!p) {
      p = { firstTs: ts, total: -1, pieces: [], bytes: 0, frames: [] };
      this.pending.set(key, p);
    }
    if (!more) {
      if (p.total >= 0 && p.total !== offset + len) {
        this.drop(key);
        this.dropped++;
        return null;
      }
      p.total = offset + len;
    }
    p.pieces.push({ offset, data: Buffer.from(buf.subarray(start, end)) });
    p.bytes += len;
    p.frames.push(frame);
    this.buffered += len;
    this.enforceBounds(key);
    if (!this.pending.has(key) || p.total < 0) return null;
    return this.tryComplete(key, p);
  }

  private tryComplete(key: string, p: Pending): Reassembled | null {
    // Coverage check: sort by offset; gaps mean we wait. Overlaps: the first arrival wins.
    const sorted = [...p.pieces].sort((a, b) => a.offset - b.offset);
    let covered = 0;
    for (const piece of sorted) {
      if (piece.offset > covered) return null;
      covered = Math.max(covered, piece.offset + piece.data.length);
    }
    if (covered < p.total) return null;
    const out = Buffer.alloc(p.total);
    for (let i = p.pieces.length - 1; i >= 0; i--) {
      const piece = p.pieces[i]!;
      piece.data.copy(out, piece.offset, 0, Math.min(piece.data.length, p.total - piece.offset));
    }
    this.drop(key);
    return { payload: out, frames: p.frames };
  }

  private expire(now: number): void {
    const oldest = now - this.limits.maxAgeSeconds;
    for (const [key, p] of this.pending) {
      // Map keeps insertion order, so the first young entry ends the scan.
      if (p.firstTs >= oldest) break;
      this.drop(key);
      this.dropped++;
    }
  }

  private enforceBounds(justAdded: string): void {
    for (const key of this.pending.keys()) {
      if (this.pending.size <= this.limits.maxDatagrams && this.buffered <= this.limits.maxBytes) return;
      if (key === justAdded && this.pending.size === 1) {
        this.drop(key);
        this.dropped++;
        return;
      }
      if (key === justAdded) continue;
      this.drop(key);
      this.dropped++;
    }
  }

  private drop(key: string): void {
    const p = this.pending.get(key);
    if (!p) return;
    this.buffered -= p.bytes;
    this.pending.delete(key);
  }
}

/**
 * The sha256 of long transfers, computed on a worker thread (the proxy's StreamHasher).
 *
 * Hashing is the largest per-byte cost of the proxy's relay: 0.66 CPU s per relayed GB of its
 * 1.0 on the thread that also reads and writes the sockets (bench:proxy; `--no-hash` relays twice
 * as fast). Here the relay's thread only copies each chunk (a socket read: 64 KiB to 4 MiB) into
 * a ring shared with one worker, which keeps a hash per stream and feeds it.
 *
 * Not for captures: their transfers come a TCP segment at a time, and feeding the ring segment by
 * segment, then waiting for the worker at each transfer's end (a report of 10,000 transfers of
 * 100 KB), cost the reading thread more than hashing in place (report --json of bench:report's
 * data-heavy capture: 4.0-4.3 s against 2.1-2.7 s).
 *
 * The ring is a SharedArrayBuffer of records, written by this thread and read by the worker in
 * order: UPDATE (a stream's bytes), DIGEST (finish a stream, answer in the result area), DROP
 * (forget a stream), WRAP (the rest of the ring is unused; go on at its start). `used` counts the
 * bytes written and not yet read; whichever side waits, waits on it with Atomics.wait. A full
 * ring makes this thread wait for the worker (at most RING bytes behind: milliseconds of
 * hashing), and a digest waits for the worker to reach it, so a transfer's digest is ready when
 * its data connection closes, as with a hash computed in place.
 *
 * Should the worker fail or stop answering (it cannot fail on bytes; this covers a thread that
 * could not start), the hashes it held give no digest (sha256 null), and new streams are hashed
 * on this thread.
 */
import { Worker } from 'node:worker_threads';
import { inThreadHash, type StreamHash, type StreamHasher } from '../ftp/transfer.js';

const OP_UPDATE = 1;
const OP_DIGEST = 2;
const OP_DROP = 3;
const OP_WRAP = 4;
/** A record's header: op, stream id, payload length, sequence number (DIGEST), as little-endian u32. */
const HEADER = 16;
/**
 * Control words: bytes in the ring not yet read, the last digest answered, whether the worker
 * failed, records read, and who is asleep in Atomics.wait on `used` (the worker waiting for
 * records, this thread waiting for room): a side notifies only a sleeper, since a wake is a
 * system call and records come by the thousand.
 */
const USED = 0;
const DONE = 1;
const FAILED = 2;
const READ = 3;
const WORKER_ASLEEP = 4;
const PRODUCER_ASLEEP = 5;
const CTL_WORDS = 6;
const CTL_BYTES = CTL_WORDS * 4;
/** Records are made visible to the worker (and it woken) once this many bytes of them wait, or before a digest. */
const PUBLISH_BYTES = 64 << 10;
const DIGEST_BYTES = 32;
/** Bytes the worker may be behind before this thread waits for it. */
const DEFAULT_RING = 8 << 20;
/** A chunk is handed over in pieces of at most this much (and a quarter of the ring), so one never needs more than a part of it. */
const MAX_PIECE = 1 << 20;
/** How long a wait for the worker may see it make no progress before it is given up. */
const STALL_MS = 10_000;

/** The worker's loop, run with `eval` (the same source under tsc's output and the tests' TypeScript). */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { sab, ring } = workerData;
const ctl = new Int32Array(sab, 0, ${CTL_WORDS});
const dv = new DataView(sab, ${CTL_BYTES}, ring);
const bytes = new Uint8Array(sab, ${CTL_BYTES}, ring);
const result = new Uint8Array(sab, ${CTL_BYTES} + ring, ${DIGEST_BYTES});
const hashes = new Map();
let pos = 0;
try {
  for (;;) {
    if (Atomics.load(ctl, ${USED}) === 0) {
      Atomics.store(ctl, ${WORKER_ASLEEP}, 1);
      if (Atomics.load(ctl, ${USED}) === 0) Atomics.wait(ctl, ${USED}, 0);
      Atomics.store(ctl, ${WORKER_ASLEEP}, 0);
      continue;
    }
    let size;
    const op = ring - pos < ${HEADER} ? ${OP_WRAP} : dv.getUint32(pos, true);
    if (op === ${OP_WRAP}) {
      size = ring - pos;
    } else {
      const id = dv.getUint32(pos + 4, true);
      const len = dv.getUint32(pos + 8, true);
      size = ${HEADER} + ((len + 3) & ~3);
      if (op === ${OP_UPDATE}) {
        let h = hashes.get(id);
        if (h === undefined) hashes.set(id, h = createHash('sha256'));
        h.update(bytes.subarray(pos + ${HEADER}, pos + ${HEADER} + len));
      } else if (op === ${OP_DIGEST}) {
        const h = hashes.get(id) ?? createHash('sha256');
        hashes.delete(id);
        result.set(h.digest());
        Atomics.store(ctl, ${DONE}, dv.getInt32(pos + 12, true));
        Atomics.notify(ctl, ${DONE});
      } else {
        hashes.delete(id);
      }
    }
    pos = pos + size >= ring ? 0 : pos + size;
    Atomics.add(ctl, ${READ}, 1);
    Atomics.sub(ctl, ${USED}, size);
    if (Atomics.load(ctl, ${PRODUCER_ASLEEP}) === 1) Atomics.notify(ctl, ${USED});
  }
} catch {
  Atomics.store(ctl, ${FAILED}, 1);
  Atomics.notify(ctl, ${USED});
  Atomics.notify(ctl, ${DONE});
}
`;

export interface ThreadHasherOptions {
  /** Ring size in bytes (a multiple of 4, at least 64 KiB); 8 MiB by default. */
  ringBytes?: number;
}

export class ThreadHasher implements StreamHasher {
  private readonly ring: number;
  private readonly ctl: Int32Array;
  private readonly dv: DataView;
  private readonly bytes: Uint8Array;
  private readonly result: Uint8Array;
  private readonly worker: Worker | null;
  private wpos = 0;
  /** Bytes of records written and not yet published. */
  private pending = 0;
  /** The offset of the newest record when it is an unpublished UPDATE (of lastUpdateId), else -1. */
  private lastUpdate = -1;
  private lastUpdateId = 0;
  private nextId = 1;
  private seq = 0;
  private failed = false;

  constructor(opts: ThreadHasherOptions = {}) {
    this.ring = opts.ringBytes ?? DEFAULT_RING;
    if (this.ring % 4 !== 0 || this.ring < 1 << 16) throw new RangeError(`ThreadHasher: ring of ${this.ring} bytes`);
    const sab = new SharedArrayBuffer(CTL_BYTES + this.ring + DIGEST_BYTES);
    this.ctl = new Int32Array(sab, 0, CTL_WORDS);
    this.dv = new DataView(sab, CTL_BYTES, this.ring);
    this.bytes = new Uint8Array(sab, CTL_BYTES, this.ring);
    this.result = new Uint8Array(sab, CTL_BYTES + this.ring, DIGEST_BYTES);
    let worker: Worker | null = null;
    try {
      worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { sab, ring: this.ring } });
      worker.unref();
      // Not expected (the loop catches what it can); a thread that ends anyway is given up.
      worker.on('error', () => this.giveUp());
      worker.on('exit', () => this.giveUp());
    } catch {
      this.failed = true;
    }
    this.worker = worker;
  }

  create(): StreamHash {
    if (this.failed) return inThreadHash();
    return new ThreadHash(this, this.nextId++ >>> 0);
  }

  /** Stops the worker; hashes not yet digested give none. */
  async close(): Promise<void> {
    this.giveUp();
    await this.worker?.terminate();
  }

  /**
   * @internal A stream's bytes, in pieces the ring takes. Small chunks (a TLS leg's records, a
   * slow sender's reads) are appended to the stream's last record while that is the newest and not
   * yet published, so the worker sees a few large updates rather than one per chunk.
   */
  update(id: number, data: Uint8Array): void {
    const most = Math.min(MAX_PIECE, this.ring >>> 2);
    let off = this.append(id, data, most);
    while (off < data.length && !this.failed) {
      const piece = data.subarray(off, Math.min(data.length, off + most));
      const at = this.reserve(OP_UPDATE, id, piece.length, 0);
      if (at >= 0) {
        this.bytes.set(piece, at + HEADER);
        this.lastUpdate = at;
        this.lastUpdateId = id;
      }
      off += piece.length;
      this.publish();
    }
  }

  /** Appends what fits of `data` to the stream's newest record (see update); returns how many bytes. */
  private append(id: number, data: Uint8Array, most: number): number {
    const at = this.lastUpdate;
    if (at < 0 || this.lastUpdateId !== id) return 0;
    const len = this.dv.getUint32(at + 8, true);
    const n = Math.min(data.length, most - len);
    const grow = ((len + n + 3) & ~3) - ((len + 3) & ~3);
    if (n <= 0 || at + HEADER + len + n > this.ring || this.ring - Atomics.load(this.ctl, USED) - this.pending < grow) return 0;
    this.bytes.set(n === data.length ? data : data.subarray(0, n), at + HEADER + len);
    this.dv.setUint32(at + 8, len + n, true);
    this.wpos += grow;
    this.pending += grow;
    return n;
  }

  /** @internal The stream's digest in hex, or null when the worker is gone. */
  digest(id: number): string | null {
    if (this.failed) return null;
    this.seq = (this.seq + 1) | 0;
    const seq = this.seq;
    if (this.reserve(OP_DIGEST, id, 0, seq) < 0) return null;
    this.publish(true);
    if (!this.waitUntil(() => Atomics.load(this.ctl, DONE) === seq, DONE)) return null;
    return Buffer.from(this.result).toString('hex');
  }

  /** @internal Forgets a stream. */
  drop(id: number): void {
    if (this.failed) return;
    if (this.reserve(OP_DROP, id, 0, 0) >= 0) this.publish();
  }

  /**
   * Room for one record of `len` payload bytes, its header written; returns its offset in the
   * ring, or -1 when the worker is gone. Publish() makes it visible to the worker.
   */
  private reserve(op: number, id: number, len: number, seq: number): number {
    const size = HEADER + ((len + 3) & ~3);
    let skip = 0;
    if (this.ring - this.wpos < size) skip = this.ring - this.wpos;
    if (this.ring - Atomics.load(this.ctl, USED) - this.pending < skip + size) {
      // The worker must see what is written before this thread waits for it.
      this.publish(true);
      if (!this.waitUntil(() => this.ring - Atomics.load(this.ctl, USED) >= skip + size, USED)) return -1;
    }
    if (skip > 0 || this.wpos === this.ring) {
      if (skip >= HEADER) this.dv.setUint32(this.wpos, OP_WRAP, true);
      this.wpos = 0;
    }
    this.lastUpdate = -1;
    const at = this.wpos;
    this.dv.setUint32(at, op, true);
    this.dv.setUint32(at + 4, id, true);
    this.dv.setUint32(at + 8, len, true);
    this.dv.setInt32(at + 12, seq, true);
    this.wpos += size;
    this.pending += skip + size;
    return at;
  }

  /** Makes the records written so far visible to the worker: at once with `now`, else once PUBLISH_BYTES of them wait. */
  private publish(now = false): void {
    if (this.pending === 0 || (!now && this.pending < PUBLISH_BYTES)) return;
    Atomics.add(this.ctl, USED, this.pending);
    this.pending = 0;
    this.lastUpdate = -1;
    if (Atomics.load(this.ctl, WORKER_ASLEEP) === 1) Atomics.notify(this.ctl, USED);
  }

  /** Waits (blocking this thread) until `ready`; false when the worker failed or made no progress for STALL_MS. */
  private waitUntil(ready: () => boolean, word: number): boolean {
    let progress = Atomics.load(this.ctl, READ);
    let since = Date.now();
    while (!ready()) {
      if (this.failed || Atomics.load(this.ctl, FAILED) !== 0) return this.giveUp();
      const seen = Atomics.load(this.ctl, word);
      Atomics.store(this.ctl, PRODUCER_ASLEEP, 1);
      if (!ready()) Atomics.wait(this.ctl, word, seen, 200);
      Atomics.store(this.ctl, PRODUCER_ASLEEP, 0);
      const now = Atomics.load(this.ctl, READ);
      if (now !== progress) {
        progress = now;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        return this.giveUp();
      }
    }
    return true;
  }

  private giveUp(): false {
    this.failed = true;
    return false;
  }
}

/** One stream's hash on the worker (made only while it is up: once given up, digest() says null). */
class ThreadHash implements StreamHash {
  private done = false;

  constructor(private readonly owner: ThreadHasher, private readonly id: number) {}

  update(data: Uint8Array): void {
    if (!this.done) this.owner.update(this.id, data);
  }

  digest(): string | null {
    if (this.done) throw new Error('ThreadHash: digest after digest or discard');
    this.done = true;
    return this.owner.digest(this.id);
  }

  discard(): void {
    if (this.done) return;
    this.done = true;
    this.owner.drop(this.id);
  }
}

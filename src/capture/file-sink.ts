import * as fs from 'node:fs';

/**
 * The file a PcapngWriter writes to when it is given a path: staged blocks written at explicit
 * offsets by the libuv thread pool, a few at a time, in buffers the sink lends out.
 *
 * Where the system allows it (Linux, a file system with O_DIRECT), whole blocks go from the
 * staging buffers to the disk without passing through the page cache. For a bulk writer, such as
 * a proxy recording both legs of every relayed byte, that is most of the cost: measured on a
 * 2-CPU VM, writing 2 GB through the page cache took the kernel 2.2–4.9 s of CPU, with O_DIRECT
 * 0.14–0.26 s (and the disk took it faster). Direct writes need the buffer's address, the length
 * and the file offset aligned to the device's block: the staging buffers come from a
 * WebAssembly.Memory (which V8 maps page-aligned), only whole blocks are written directly, and
 * the last partial block is carried into the next buffer. What cannot go directly goes through
 * the page cache instead, from a second descriptor: that partial block when the file must be
 * complete (flushed every second, or closed; the next direct write covers the same bytes again),
 * and anything at all once a direct write has been refused (EINVAL: the file system or the
 * alignment does not allow it). The bytes in the file are the same either way.
 */
export class FileSink {
  /** Bytes handed over and not yet written (queued or being written). */
  pending = 0;
  private readonly buffered: number;
  private direct: number | null;
  /** The file offset where the next handed-over byte goes. */
  private position = 0;
  private readonly queue: Write[] = [];
  private inFlight = 0;
  /** A partial block is being written through the page cache: nothing else is written meanwhile. */
  private alone = false;
  private failure: Error | null = null;
  private readonly pool: Buffer[] = [];
  private readonly poolMembers = new WeakSet<Buffer>();
  /** Written staging buffers that are not from the pool, kept for reuse (a few: no fresh pages per MiB). */
  private readonly spare: Buffer[] = [];
  private closing: (() => void) | null = null;

  /** Opens (creates or truncates) `path`; throws as openSync does. */
  constructor(path: string, private readonly onIdle: () => void, private readonly onError: (e: Error) => void) {
    this.buffered = fs.openSync(path, 'w');
    this.direct = null;
    const O_DIRECT = fs.constants.O_DIRECT;
    if (O_DIRECT) {
      try {
        this.direct = fs.openSync(path, fs.constants.O_WRONLY | O_DIRECT);
      } catch {
        this.direct = null; // a file system without O_DIRECT (EINVAL): the page cache it is
      }
    }
    const memory = this.direct !== null ? alignedMemory(POOL * STAGING) : null;
    if (memory) {
      for (let i = 0; i < POOL; i++) {
        const b = Buffer.from(memory, i * STAGING, STAGING);
        this.pool.push(b);
        this.poolMembers.add(b);
      }
    } else if (this.direct !== null) {
      fs.closeSync(this.direct);
      this.direct = null;
    }
  }

  /** Whether whole blocks are going straight to the disk (false: the page cache). */
  get directIo(): boolean {
    return this.direct !== null;
  }

  /** A staging buffer of at least STAGING bytes: an aligned one from the pool while there are any free. */
  take(): Buffer {
    return this.pool.pop() ?? this.spare.pop() ?? Buffer.allocUnsafe(STAGING);
  }

  /**
   * Hands over `buf[0, used)` to be written after everything handed over before, and returns
   * the buffer to stage into next with how many bytes of it are already staged: the partial
   * block that could not be written directly, carried over. With `complete` (a periodic flush,
   * or the end) the file gets every byte now, the partial block through the page cache.
   */
  hand(buf: Buffer, used: number, complete: boolean): { buffer: Buffer; used: number } {
    const whole = this.direct !== null ? used - (used % BLOCK) : used;
    const rest = used - whole;
    if (whole === 0) {
      // Nothing for a direct write yet: keep staging into the same buffer.
      if (complete && rest > 0) this.enqueue(Buffer.from(buf.subarray(0, rest)), rest, this.position, false, false, this.direct !== null);
      return { buffer: buf, used };
    }
    const next = this.take();
    buf.copy(next, 0, whole, used);
    this.enqueue(buf, whole, this.position, this.direct !== null && this.poolMembers.has(buf), true);
    this.position += whole;
    if (complete && rest > 0) this.enqueue(Buffer.from(next.subarray(0, rest)), rest, this.position, false, false, this.direct !== null);
    return { buffer: next, used: rest };
  }

  /** Calls `done` once everything handed over is written (or failed), then closes the file. */
  close(done: () => void): void {
    this.closing = () => {
      this.closing = null;
      for (const fd of [this.buffered, this.direct]) if (fd !== null) fs.close(fd, () => {});
      done();
    };
    if (this.inFlight === 0 && this.queue.length === 0) this.closing();
  }

  private enqueue(buf: Buffer, length: number, at: number, direct: boolean, recycle: boolean, partial = false): void {
    this.queue.push({ buf, length, at, direct, recycle, partial });
    this.pending += length;
    this.pump();
  }

  private pump(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length > 0 && !this.alone) {
      const w = this.queue[0]!;
      // A partial block written through the page cache is written again by the next direct write: the
      // two never overlap in time (a direct write beside buffered writes to its range races the page cache).
      if (w.partial && this.inFlight > 0) return;
      this.queue.shift();
      this.alone = w.partial;
      this.inFlight++;
      this.write(w, 0);
    }
  }

  /** Writes w.buf[done, length) at w.at + done; a short write continues through the page cache. */
  private write(w: Write, done: number): void {
    const direct = w.direct && done === 0 && this.direct !== null;
    const fd = direct ? this.direct! : this.buffered;
    if (this.failure) return this.settle(w, w.length - done);
    fs.write(fd, w.buf, done, w.length - done, w.at + done, (err, n) => {
      if (err && direct && err.code === 'EINVAL') {
        // Direct I/O refused (alignment, or the file system): everything goes through the page cache from now on.
        this.direct = null;
        return this.write({ ...w, direct: false }, done);
      }
      if (err) {
        this.failure ??= err;
        this.onError(err);
        return this.settle(w, w.length - done);
      }
      if (n === 0) {
        this.failure ??= new Error('the file took no bytes');
        this.onError(this.failure);
        return this.settle(w, w.length - done);
      }
      if (done + n < w.length) {
        this.pending -= n;
        return this.write({ ...w, direct: false }, done + n);
      }
      this.settle(w, w.length - done);
    });
  }

  private settle(w: Write, left: number): void {
    this.pending -= left;
    this.inFlight--;
    if (w.partial) this.alone = false;
    if (w.recycle && this.poolMembers.has(w.buf)) this.pool.push(w.buf);
    else if (w.recycle && w.buf.length === STAGING && this.spare.length < MAX_SPARE) this.spare.push(w.buf);
    this.pump();
    if (this.inFlight === 0 && this.queue.length === 0 && this.closing) this.closing();
    else this.onIdle();
  }
}

/** Page-aligned memory (a WebAssembly.Memory's), or null where there is none (node --jitless, a tight ulimit -v). */
function alignedMemory(bytes: number): ArrayBuffer | null {
  try {
    const pages = Math.ceil(bytes / WASM_PAGE);
    return new WebAssembly.Memory({ initial: pages, maximum: pages }).buffer;
  } catch {
    return null;
  }
}

interface Write {
  buf: Buffer;
  length: number;
  /** File offset. */
  at: number;
  /** Whole blocks from an aligned buffer: may go through the O_DIRECT descriptor. */
  direct: boolean;
  /** A pool buffer that returns to the pool once written. */
  recycle: boolean;
  /** A partial block through the page cache that a direct write will cover again: written alone. */
  partial: boolean;
}

/**
 * Staging buffer size: the writer hands over at most this much per call. Large, so a busy main
 * thread (a recording proxy relays, hashes and records on it) leaves the disk idle less often
 * between writes: with 1 MiB writes the proxy's relays waited for the disk for 0.4-0.6 s of a 2 s
 * transfer of 1 GB, with 4 MiB writes for under 0.05 s (bench:proxy --only record).
 */
export const STAGING = 4 << 20;
/** Aligned staging buffers (24 MiB): more than the proxy's recording has queued while its relays wait. */
const POOL = 6;
/** The alignment of direct writes (offsets, lengths): a page, a multiple of any disk's logical block. */
const BLOCK = 4096;
/** Writes handed to the thread pool at once: the disk is kept busy while the main thread is. */
const IN_FLIGHT = 2;
const WASM_PAGE = 65536;
const MAX_SPARE = 2;

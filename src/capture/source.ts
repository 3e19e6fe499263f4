import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream, readSync, type ReadStream } from 'node:fs';
import { createGunzip, type Gunzip } from 'node:zlib';

/**
 * A pull source of capture bytes: the plain file, or the file decompressed through gzip.
 * read() fills the caller's buffer (no allocation per call for plain files).
 */
export interface ByteSource {
  /** Reads up to `length` bytes into buf at `at`; 0 means end of stream. */
  read(buf: Buffer, at: number, length: number): Promise<number>;
  /** Skips n bytes of the stream (a block too large to buffer); returns how many were there. */
  skip(n: number): Promise<number>;
  /** Bytes consumed from the file on disk so far (compressed bytes for gzip), for progress. */
  readonly fileBytesRead: number;
  close(): Promise<void>;
}

/** A gzip stream that could not be decompressed; `truncated` when it merely ended early. */
export class GzipStreamError extends Error {
  constructor(readonly truncated: boolean, readonly compressedOffset: number, message: string) {
    super(message);
  }
}

export class PlainFileSource implements ByteSource {
  private position: number;
  fileBytesRead = 0;

  private constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly size: number,
    private readonly blocking: boolean,
    /** A pipe or other stream: read in sequence, no positions, size unknown. */
    readonly sequential: boolean,
  ) {
    this.position = start;
  }

  /**
   * `blocking`: read on this thread (readSync), for callers with nothing else to do meanwhile;
   * a read then costs the copy alone, not a trip through the thread pool and back.
   */
  static async open(path: string, start = 0, blocking = false): Promise<PlainFileSource> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      return new PlainFileSource(fh, start, st.size, blocking, !st.isFile() && !st.isBlockDevice());
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  async read(buf: Buffer, at: number, length: number): Promise<number> {
    const position = this.sequential ? null : this.position;
    const bytesRead = this.blocking
      ? readSync(this.fh.fd, buf, at, length, position)
      : (await this.fh.read(buf, at, length, position)).bytesRead;
    this.position += bytesRead;
    this.fileBytesRead = this.position;
    return bytesRead;
  }

  async skip(n: number): Promise<number> {
    if (this.sequential) {
      // No seeking in a pipe: read and drop.
      const scratch = Buffer.allocUnsafe(Math.min(n, 1 << 20));
      let skipped = 0;
      while (skipped < n) {
        const got = await this.read(scratch, 0, Math.min(scratch.length, n - skipped));
        if (got === 0) break;
        skipped += got;
      }
      return skipped;
    }
    const skipped = Math.max(0, Math.min(n, this.size - this.position));
    this.position += n;
    return skipped;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** gzip (one or more members) decompressed as a stream, holding at most one inflated chunk. */
export class GzipFileSource implements ByteSource {
  private readonly file: ReadStream;
  private readonly gunzip: Gunzip;
  private readonly chunks: AsyncIterator<Buffer>;
  private pending: Buffer | null = null;
  private pendingPos = 0;
  private done = false;
  private deferred: unknown = null;

  constructor(path: string) {
    this.file = createReadStream(path, { highWaterMark: 1 << 20 });
    this.gunzip = createGunzip({ chunkSize: 1 << 20 });
    this.file.on('error', (e) => this.gunzip.destroy(e));
    this.file.pipe(this.gunzip);
    this.chunks = this.gunzip[Symbol.asyncIterator]();
  }

  get fileBytesRead(): number {
    return this.file.bytesRead;
  }

  private async next(): Promise<boolean> {
    if (this.done) return false;
    try {
      const r = await this.chunks.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.pending = r.value;
      this.pendingPos = 0;
      return true;
    } catch (e) {
      this.done = true;
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(err.message)) {
        throw new GzipStreamError(true, this.file.bytesRead, 'the gzip stream ends early');
      }
      if (typeof err.code === 'string' && err.code.startsWith('Z_')) {
        throw new GzipStreamError(false, this.file.bytesRead, `the gzip data is corrupt (${err.message})`);
      }
      throw e;
    }
  }

  async read(buf: Buffer, at: number, length: number): Promise<number> {
    if (this.deferred) throw this.deferred; // sticky: every later read fails the same way
    let filled = 0;
    while (filled < length) {
      if (!this.pending || this.pendingPos >= this.pending.length) {
        if (filled > 0 && filled >= (length >> 2)) break; // enough for now; don't wait on more inflation
        try {
          if (!(await this.next())) break;
        } catch (e) {
          this.deferred = e; // good bytes are handed over first, the error with the next read
          if (filled === 0) throw e;
          break;
        }
      }
      const p = this.pending!;
      const n = Math.min(length - filled, p.length - this.pendingPos);
      p.copy(buf, at + filled, this.pendingPos, this.pendingPos + n);
      this.pendingPos += n;
      filled += n;
    }
    return filled;
  }

  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      if (!this.pending || this.pendingPos >= this.pending.length) {
        if (!(await this.next())) return n - left;
      }
      const take = Math.min(left, this.pending!.length - this.pendingPos);
      this.pendingPos += take;
      left -= take;
    }
    return n;
  }

  async close(): Promise<void> {
    this.file.destroy();
    this.gunzip.destroy();
  }
}

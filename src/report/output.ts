import type { Writable } from 'node:stream';

const CHUNK = 1 << 20;

/**
 * Report text to a stream in writes of about 1 MB, so a large report is neither a flood of
 * small writes nor queued whole in memory: at most two chunk buffers exist, one being filled
 * while the other is written, and they are reused (fresh large buffers cost page faults).
 */
export class ChunkedWriter {
  private buf: Buffer = Buffer.allocUnsafe(CHUNK);
  private used = 0;
  private spare: Buffer | null = Buffer.allocUnsafe(CHUNK);
  /** Resolves when the buffer in flight is written and back as `spare`. */
  private inFlight: Promise<void> | null = null;

  constructor(private readonly stream: Writable) {}

  /** Appends a piece (copied at once: a Buffer may be reused by the caller afterwards). */
  async write(piece: string | Buffer): Promise<void> {
    const len = typeof piece === 'string' ? Buffer.byteLength(piece, 'utf8') : piece.length;
    if (this.used + len > this.buf.length) await this.flush();
    if (len > this.buf.length) {
      await this.settle();
      const big = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : Buffer.from(piece);
      await new Promise<void>((resolve) => this.stream.write(big, () => resolve()));
      return;
    }
    if (typeof piece === 'string') this.used += this.buf.write(piece, this.used, 'utf8');
    else this.used += piece.copy(this.buf, this.used);
  }

  /** Hands the filled buffer to the stream; continues filling the other one. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    await this.settle();
    const out = this.buf;
    const len = this.used;
    this.buf = this.spare!;
    this.spare = null;
    this.used = 0;
    this.inFlight = new Promise<void>((resolve) => {
      this.stream.write(out.subarray(0, len), () => {
        this.spare = out;
        resolve();
      });
    });
  }

  /** Everything written (call before the stream is ended). */
  async end(): Promise<void> {
    await this.flush();
    await this.settle();
  }

  private async settle(): Promise<void> {
    if (this.inFlight !== null) await this.inFlight;
    this.inFlight = null;
  }
}

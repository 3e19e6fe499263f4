import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Session } from '../model/types.js';

/** Rendered sessions are written to the spool file in writes of about this size. */
const WRITE_CHUNK = 1 << 20;

/**
 * Finished sessions, rendered and parked in a temporary file so that a report over any
 * capture size keeps only an index in memory. Sessions finish out of order; `chunks()`
 * gives them back in id order, each passed through `present` (the JSON report stores compact
 * JSON and indents it on the way out: a third of the bytes to write and read back).
 */
export class SessionSpool {
  private readonly dir: string;
  private readonly file: string;
  private readonly fd: number;
  /** File offset of staging[0]. */
  private offset = 0;
  private staging = Buffer.allocUnsafe(WRITE_CHUNK);
  private staged = 0;
  /** id → [offset, length] in the spool file. */
  private readonly index = new Map<number, [number, number]>();
  sessions = 0;
  dataConnections = 0;

  constructor(
    private readonly render: (s: Session) => string | Buffer,
    private readonly present: (stored: Buffer) => string | Buffer = (b) => b.toString('utf8'),
  ) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpscope-spool-'));
    this.file = path.join(this.dir, 'sessions');
    this.fd = fs.openSync(this.file, 'w+');
  }

  add(s: Session): void {
    const r = this.render(s);
    const len = typeof r === 'string' ? Buffer.byteLength(r, 'utf8') : r.length;
    if (this.staged + len > this.staging.length) this.flush();
    this.index.set(s.id, [this.offset + this.staged, len]);
    if (len >= this.staging.length) {
      const buf = typeof r === 'string' ? Buffer.from(r, 'utf8') : r;
      this.writeAll(buf, len);
    } else {
      // Straight into the staging buffer: no intermediate Buffer per session.
      if (typeof r === 'string') this.staging.write(r, this.staged, 'utf8');
      else r.copy(this.staging, this.staged);
      this.staged += len;
    }
    this.sessions++;
    this.dataConnections += s.dataConnections.length;
  }

  /** The rendered sessions in id order; a Buffer handed out may be reused for the next one. */
  *chunks(): Generator<string | Buffer> {
    this.flush();
    this.staging = Buffer.alloc(0);
    const ids = [...this.index.keys()].sort((a, b) => a - b);
    let buf = Buffer.allocUnsafe(1 << 16);
    for (const id of ids) {
      const [off, len] = this.index.get(id)!;
      if (buf.length < len) buf = Buffer.allocUnsafe(len * 2);
      let got = 0;
      while (got < len) {
        const n = fs.readSync(this.fd, buf, got, len - got, off + got);
        if (n === 0) break;
        got += n;
      }
      yield this.present(buf.subarray(0, got));
    }
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private flush(): void {
    if (this.staged > 0) this.writeAll(this.staging, this.staged);
    this.staged = 0;
  }

  private writeAll(buf: Buffer, len: number): void {
    let done = 0;
    while (done < len) done += fs.writeSync(this.fd, buf, done, len - done, this.offset + done);
    this.offset += len;
  }
}

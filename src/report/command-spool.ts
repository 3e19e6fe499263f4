import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FtpCommand, Session } from '../model/types.js';
import { PrettyJsonWriter } from './json-writer.js';
import { writeCommandElement, type JsonOptions } from './json.js';

/** Rendered commands are written to the file in writes of about this size. */
const WRITE_CHUNK = 1 << 20;
/** A session's commands are read back in reads of up to this size. */
const READ_CHUNK = 1 << 20;

/** Where one session's rendered commands lie in the file: runs of bytes, in command order. */
interface Extents {
  starts: number[];
  lengths: number[];
}

/**
 * The commands of sessions still open, rendered as JSON array elements the moment they are complete
 * (report --json), and parked in a file: a session keeps only its live state in memory, however
 * many commands it sends. When the session is written (SessionSpool), its commands' bytes are
 * copied into the commands array in place (`copy`), so the document is the one writeSessionJson
 * would have written from the whole list.
 *
 * Each session's bytes are a chain of extents; a session's consecutive commands lie back to back
 * in the file when no other session's command came in between, and share one extent.
 */
export class CommandSpool {
  private readonly fd: number;
  /** File offset of the writer's first byte. */
  private offset = 0;
  private readonly w = new PrettyJsonWriter(WRITE_CHUNK + (WRITE_CHUNK >> 2));
  private readonly sessions = new Map<number, Extents>();
  private readBuf: Buffer | null = null;
  /** Commands rendered into the spool so far. */
  commandsStreamed = 0;
  /** Bytes of rendered commands written so far. */
  bytesSpooled = 0;

  /**
   * `dir`: an existing directory the spool file goes in (removed by its owner); `elementIndent`:
   * the column of the commands array's elements in the document (the session's indent + 4).
   */
  constructor(dir: string, private readonly elementIndent: number, private readonly opts: JsonOptions) {
    this.fd = fs.openSync(path.join(dir, 'commands'), 'w+');
  }

  /** Renders a complete command of `s` (the session will not hold it any more). */
  add(s: Session, c: FtpCommand): void {
    const w = this.w;
    const start = w.length;
    let e = this.sessions.get(s.id);
    w.continueElements(this.elementIndent, e === undefined);
    writeCommandElement(w, c, this.opts);
    const at = this.offset + start;
    const len = w.length - start;
    if (e === undefined) this.sessions.set(s.id, (e = { starts: [at], lengths: [len] }));
    else {
      const k = e.starts.length - 1;
      if (e.starts[k]! + e.lengths[k]! === at) e.lengths[k]! += len;
      else {
        e.starts.push(at);
        e.lengths.push(len);
      }
    }
    this.commandsStreamed++;
    this.bytesSpooled += len;
    if (w.length >= WRITE_CHUNK) this.flush();
  }

  /** Whether session `id` has rendered commands here. */
  has(id: number): boolean {
    return this.sessions.has(id);
  }

  /**
   * Hands session `id`'s rendered commands to `out` in order, in pieces (a Buffer handed out is
   * reused for the next piece), and forgets them.
   */
  copy(id: number, out: (bytes: Buffer) => void): void {
    const e = this.sessions.get(id);
    if (e === undefined) return;
    this.sessions.delete(id);
    const last = e.starts.length - 1;
    if (e.starts[last]! + e.lengths[last]! > this.offset) this.flush();
    const buf = (this.readBuf ??= Buffer.allocUnsafe(READ_CHUNK));
    for (let k = 0; k <= last; k++) {
      let pos = e.starts[k]!;
      let left = e.lengths[k]!;
      while (left > 0) {
        const n = fs.readSync(this.fd, buf, 0, Math.min(left, buf.length), pos);
        if (n <= 0) throw new Error(`command spool: short read at ${pos}`);
        out(buf.subarray(0, n));
        pos += n;
        left -= n;
      }
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private flush(): void {
    const w = this.w;
    const view = w.view();
    let done = 0;
    while (done < view.length) done += fs.writeSync(this.fd, view, done, view.length - done, this.offset + done);
    this.offset += view.length;
    w.drop();
  }
}

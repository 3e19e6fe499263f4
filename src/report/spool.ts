import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Session } from '../model/types.js';
import { PrettyJsonWriter } from './json-writer.js';
import { CommandSpool } from './command-spool.js';
import { SessionPiece, type JsonOptions, type StreamedElements } from './json.js';

/** Rendered sessions are written to the spool file in writes of about this size. */
const WRITE_CHUNK = 1 << 20;
/** Sessions stored back to back are read back in reads of up to this size. */
const READ_CHUNK = 1 << 20;

type JsonWrite = (w: PrettyJsonWriter, s: Session, streamed?: StreamedElements, streamedData?: StreamedElements) => void;
/** Writes a session's text with `write`, in pieces (lines); the pieces are stored back to back. */
type TextWrite = (s: Session, write: (text: string) => void) => void;

interface JsonSpooling {
  write: JsonWrite;
  indent: number;
  writer: PrettyJsonWriter;
}

/**
 * Finished sessions, rendered and parked in a temporary file so that a report over any
 * capture size keeps only an index in memory. Sessions finish out of order; `chunks()`
 * gives them back in id order.
 */
export class SessionSpool {
  private readonly dir: string;
  private readonly file: string;
  private readonly fd: number;
  /** File offset of staging[0]. */
  private offset = 0;
  private staging = Buffer.allocUnsafe(WRITE_CHUNK);
  private staged = 0;
  /**
   * Session i (in spool order) is ids[i], stored at offsets[i] with lengths[i] bytes. Typed
   * arrays rather than a Map of [offset, length] pairs: tens of thousands of small long-lived
   * arrays made V8 promote and then mark-compact far more than the whole report needed.
   */
  private ids = new Float64Array(1024);
  private offsets = new Float64Array(1024);
  private lengths = new Float64Array(1024);
  sessions = 0;
  dataConnections = 0;

  /** Text sessions: their rendering, copied into `staging`. */
  private readonly render: ((s: Session) => string | Buffer) | null = null;
  /** Text sessions written a piece at a time (a session too long to render whole first). */
  private readonly text: TextWrite | null = null;
  /**
   * JSON sessions: written by `json` at `indent` straight into the writer's buffer, which is the
   * staging buffer then (no copy between rendering and the file).
   */
  private readonly json: JsonSpooling | null = null;

  /** JSON sessions, when their commands are streamed: the commands (and data connections) rendered before their session ended. */
  readonly commands: CommandSpool | null = null;
  private readonly streamed: StreamedElements | undefined;
  private readonly streamedData: StreamedElements | undefined;

  /**
   * `render` returns a session's text, or a Buffer it may reuse (the bytes are copied at once);
   * `{ text }` writes it in pieces instead, through the function it is given;
   * or, given `{ json, indent }`, `json` writes the session with the spool's PrettyJsonWriter at
   * that base indent. With `streamCommands`, `commands` takes each session's commands as they
   * complete (see CommandSpool), and `json` is given what copies them into the session.
   */
  constructor(render: ((s: Session) => string | Buffer) | { text: TextWrite } | { json: JsonWrite; indent: number; streamCommands?: JsonOptions }) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpscope-spool-'));
    this.file = path.join(this.dir, 'sessions');
    this.fd = fs.openSync(this.file, 'w+');
    if (typeof render === 'function') {
      this.render = render;
    } else if ('text' in render) {
      this.text = render.text;
    } else {
      this.json = { write: render.json, indent: render.indent, writer: new PrettyJsonWriter(WRITE_CHUNK + (WRITE_CHUNK >> 2)) };
      this.staging = Buffer.alloc(0);
      if (render.streamCommands) {
        const commands = new CommandSpool(this.dir, render.indent + 4, render.streamCommands);
        this.commands = commands;
        const w = this.json.writer;
        // A long session's commands pass through the writer a chunk at a time: the bytes written so
        // far go to the file whenever the writer holds a chunk, and the session goes on where it was.
        const copy = (out: PrettyJsonWriter) => (bytes: Buffer): void => {
          out.raw(bytes);
          if (out === w && w.length >= WRITE_CHUNK) this.flushKeeping(w);
        };
        this.streamed = (out, s) => commands.copy(s.id, copy(out));
        this.streamedData = (out, s) => commands.copyData(s.id, copy(out));
      }
    }
  }

  add(s: Session): void {
    if (this.json !== null) {
      this.addJson(s, this.json);
      return;
    }
    if (this.text !== null) {
      const start = this.offset + this.staged;
      this.text(s, (t) => this.append(t));
      this.note(s.id, start, this.offset + this.staged - start);
      this.dataConnections += s.dataConnections.length;
      return;
    }
    const r = this.render!(s);
    const len = typeof r === 'string' ? Buffer.byteLength(r, 'utf8') : r.length;
    if (this.staged + len > this.staging.length) this.flush();
    this.note(s.id, this.offset + this.staged, len);
    if (len >= this.staging.length) {
      const buf = typeof r === 'string' ? Buffer.from(r, 'utf8') : r;
      this.writeAll(buf, len);
    } else {
      // Straight into the staging buffer: no intermediate Buffer per session.
      if (typeof r === 'string') this.staging.write(r, this.staged, 'utf8');
      else r.copy(this.staging, this.staged);
      this.staged += len;
    }
    this.dataConnections += s.dataConnections.length;
  }

  /** Text written piece by piece (a `text` spool): staged, and to the file whenever the staging buffer is full. */
  private append(t: string): void {
    const len = Buffer.byteLength(t, 'utf8');
    if (this.staged + len > this.staging.length) this.flush();
    if (len >= this.staging.length) {
      this.writeAll(Buffer.from(t, 'utf8'), len);
      return;
    }
    this.staged += this.staging.write(t, this.staged, 'utf8');
  }

  private addJson(s: Session, { write, indent, writer: w }: JsonSpooling): void {
    const start = this.offset + w.length;
    write(w.continueAt(indent), s, this.streamed, this.streamedData);
    this.note(s.id, start, this.offset + w.length - start);
    this.dataConnections += (s.streamedDataConnections ?? 0) + s.dataConnections.length;
    if (w.length >= WRITE_CHUNK) this.flush();
  }

  private note(id: number, offset: number, length: number): void {
    const i = this.sessions++;
    if (i === this.ids.length) {
      this.ids = grown(this.ids);
      this.offsets = grown(this.offsets);
      this.lengths = grown(this.lengths);
    }
    this.ids[i] = id;
    this.offsets[i] = offset;
    this.lengths[i] = length;
  }

  /**
   * The rendered sessions' UTF-8 in id order; a Buffer handed out is reused for the next one. With
   * `split`, a session longer than a read is given in pieces: the first a Buffer, the others as
   * SessionPiece (so that a session of a million commands is never in memory whole).
   */
  chunks(): Generator<Buffer>;
  chunks(o: { split: true }): Generator<Buffer | SessionPiece>;
  *chunks(o: { split?: boolean } = {}): Generator<Buffer | SessionPiece> {
    this.flush();
    this.staging = Buffer.alloc(0);
    const { ids, offsets, lengths } = this;
    const order = Array.from({ length: this.sessions }, (_, i) => i).sort((a, b) => ids[a]! - ids[b]!);
    let buf = Buffer.allocUnsafe(READ_CHUNK);
    for (let k = 0; k < order.length;) {
      // Sessions mostly finish in id order, so runs of them lie back to back in the file: one read per run.
      const first = order[k]!;
      const start = offsets[first]!;
      if (o.split && lengths[first]! > READ_CHUNK) {
        for (let at = 0; at < lengths[first]!; at += READ_CHUNK) {
          const got = this.readAt(buf, Math.min(READ_CHUNK, lengths[first]! - at), start + at);
          yield at === 0 ? buf.subarray(0, got) : new SessionPiece(buf.subarray(0, got));
        }
        k++;
        continue;
      }
      let end = start + lengths[first]!;
      let last = k + 1;
      while (last < order.length && offsets[order[last]!] === end && end + lengths[order[last]!]! - start <= READ_CHUNK) {
        end += lengths[order[last]!]!;
        last++;
      }
      if (buf.length < end - start) buf = Buffer.allocUnsafe(end - start);
      const got = this.readAt(buf, end - start, start);
      for (; k < last; k++) {
        const from = offsets[order[k]!]! - start;
        yield buf.subarray(Math.min(from, got), Math.min(from + lengths[order[k]!]!, got));
      }
    }
  }

  private readAt(buf: Buffer, len: number, position: number): number {
    let got = 0;
    while (got < len) {
      const n = fs.readSync(this.fd, buf, got, len - got, position + got);
      if (n === 0) break;
      got += n;
    }
    return got;
  }


  close(): void {
    try {
      this.commands?.close();
      fs.closeSync(this.fd);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  private flush(): void {
    if (this.json !== null) {
      const w = this.json.writer;
      if (w.length > 0) this.writeAll(w.view(), w.length);
      w.reset();
      return;
    }
    if (this.staged > 0) this.writeAll(this.staging, this.staged);
    this.staged = 0;
  }

  /** The JSON writer's bytes go to the file; the writer goes on where it was (mid-session). */
  private flushKeeping(w: PrettyJsonWriter): void {
    if (w.length > 0) this.writeAll(w.view(), w.length);
    w.drop();
  }

  private writeAll(buf: Buffer, len: number): void {
    let done = 0;
    while (done < len) done += fs.writeSync(this.fd, buf, done, len - done, this.offset + done);
    this.offset += len;
  }
}

function grown(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const next = new Float64Array(a.length * 2);
  next.set(a);
  return next;
}

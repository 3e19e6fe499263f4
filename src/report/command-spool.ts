import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DataConnection, FtpCommand, Session } from '../model/types.js';
import { anchorPath } from '../ftp/paths.js';
import { PrettyJsonWriter } from './json-writer.js';
import { writeCommandElement, writeDataConnectionElement, type JsonOptions } from './json.js';

/** Rendered commands are written to the file in writes of about this size. */
const WRITE_CHUNK = 1 << 20;
/** A session's commands are read back in reads of up to this size. */
const READ_CHUNK = 1 << 20;

/** An extent of rendered array elements, copied as they are. */
const RENDERED = 0;
/** An extent of commands as JSON lines, rendered when copied (their cwd may still be anchored). */
const RECORDS = 1;

/** Where one session's commands lie in the file: runs of bytes of one kind, in command order. */
interface SessionCommands {
  starts: number[];
  lengths: number[];
  kinds: number[];
  /** Where the session started, once a 257 named it (see CommandSink.anchored). */
  startDir: string | null;
}

/**
 * The commands (and final data connections) of sessions still open, rendered the moment they are
 * complete (report --json) and parked in a file: a session keeps only its live state in memory,
 * however many commands it sends and data connections it opens. When the session is written
 * (SessionSpool), its commands' bytes are copied into its commands array in place (`copy`), and
 * its data connections' into its dataConnections array (`copyData`), so the document is the one
 * writeSessionJson would have written from the whole lists.
 *
 * A data connection or a command is rendered at once as a JSON array element at its array's
 * indent, with its separator. A command whose cwd is relative to a start directory not known yet
 * (cwdAnchored false) is parked as a JSON line instead, and rendered when copied, anchored if a 257
 * named the start by then. Each session's bytes are a chain of extents per array; a session's
 * consecutive elements lie back to back in the file when no other element came in between, and
 * share one extent.
 */
export class CommandSpool {
  /** File offset of the writer's first byte. */
  private offset = 0;
  /**
   * Starts small and grows with what is streamed (most reports stream little or nothing): a
   * megabyte allocated up front in every report made V8 promote far more of the analysis' short-lived
   * objects on bench:report's 10,000 sessions (3 runs in 4 instead of 1 in 3, each +60% CPU).
   */
  private readonly w = new PrettyJsonWriter();
  private readonly sessions = new Map<number, SessionCommands>();
  /** The extents of each session's data connections (rendered elements only). */
  private readonly data = new Map<number, SessionCommands>();
  private readBuf: Buffer | null = null;
  /** Renders parked JSON lines when they are copied. */
  private readonly late = new PrettyJsonWriter(1 << 12);
  /** Commands parked in the spool so far. */
  commandsStreamed = 0;
  /** Data connections parked in the spool so far. */
  dataConnectionsStreamed = 0;
  /** Bytes written for them so far. */
  bytesSpooled = 0;

  /**
   * `dir`: an existing directory the spool file goes in (removed by its owner); `elementIndent`:
   * the column of the commands array's elements in the document (the session's indent + 4).
   */
  constructor(private readonly dir: string, private readonly elementIndent: number, private readonly opts: JsonOptions) {}

  /** The spool file, opened when the first command is parked (most reports park none). */
  private get fd(): number {
    return (this.file ??= fs.openSync(path.join(this.dir, 'commands'), 'w+'));
  }

  private file: number | null = null;

  /** A complete command of `s` (the session does not hold it any more). */
  command(s: Session, c: FtpCommand): void {
    const w = this.w;
    const start = w.length;
    let e = this.sessions.get(s.id);
    let kind = RENDERED;
    if (c.cwdAnchored === false) {
      kind = RECORDS;
      w.raw(Buffer.from(JSON.stringify(c) + '\n', 'utf8'));
    } else {
      w.continueElements(this.elementIndent, e === undefined);
      writeCommandElement(w, c, this.opts);
    }
    this.extend(this.sessions, s.id, e, kind, start);
    this.commandsStreamed++;
  }

  /** A final data connection of `s` (the session does not hold it any more), rendered now. */
  dataConnection(s: Session, dc: DataConnection): void {
    const w = this.w;
    const start = w.length;
    const e = this.data.get(s.id);
    w.continueElements(this.elementIndent, e === undefined);
    writeDataConnectionElement(w, dc, this.opts);
    this.extend(this.data, s.id, e, RENDERED, start);
    this.dataConnectionsStreamed++;
  }

  /** The bytes written from `start` on are the next extent of session `id` in `map` (merged with the last when back to back). */
  private extend(map: Map<number, SessionCommands>, id: number, e: SessionCommands | undefined, kind: number, start: number): void {
    const at = this.offset + start;
    const len = this.w.length - start;
    if (e === undefined) map.set(id, { starts: [at], lengths: [len], kinds: [kind], startDir: null });
    else {
      const k = e.starts.length - 1;
      if (e.kinds[k] === kind && e.starts[k]! + e.lengths[k]! === at) e.lengths[k]! += len;
      else {
        e.starts.push(at);
        e.lengths.push(len);
        e.kinds.push(kind);
      }
    }
    this.bytesSpooled += len;
    if (this.w.length >= WRITE_CHUNK) this.flush();
  }

  /** A 257 named where `s` started (see CommandSink.anchored). */
  anchored(s: Session, startDir: string): void {
    const e = this.sessions.get(s.id);
    if (e) e.startDir = startDir;
  }

  /**
   * Hands session `id`'s commands to `out` in order, rendered, in pieces (a Buffer handed out is
   * reused for the next piece), and forgets them.
   */
  copy(id: number, out: (bytes: Buffer) => void): void {
    this.copyFrom(this.sessions, id, out);
  }

  /** Hands session `id`'s streamed data connections to `out`, as copy() does its commands, and forgets them. */
  copyData(id: number, out: (bytes: Buffer) => void): void {
    this.copyFrom(this.data, id, out);
  }

  private copyFrom(map: Map<number, SessionCommands>, id: number, out: (bytes: Buffer) => void): void {
    if (map.size === 0) return;
    const e = map.get(id);
    if (e === undefined) return;
    map.delete(id);
    const last = e.starts.length - 1;
    if (e.starts[last]! + e.lengths[last]! > this.offset) this.flush();
    for (let k = 0; k <= last; k++) {
      if (e.kinds[k] === RENDERED) this.read(e.starts[k]!, e.lengths[k]!, out);
      else this.renderRecords(e, k, out);
    }
  }

  close(): void {
    if (this.file !== null) fs.closeSync(this.file);
    this.file = null;
  }

  /** Extent `k` of `e`: parked JSON lines, rendered now (the session's first command has no separator). */
  private renderRecords(e: SessionCommands, k: number, out: (bytes: Buffer) => void): void {
    let carry = Buffer.alloc(0);
    let first = k === 0;
    const line = (text: string): void => {
      const c = JSON.parse(text) as FtpCommand;
      if (e.startDir !== null && c.cwdAnchored === false && c.cwd !== null) {
        c.cwd = anchorPath(e.startDir, c.cwd);
        delete c.cwdAnchored;
      }
      const w = this.late.reset(0).continueElements(this.elementIndent, first);
      writeCommandElement(w, c, this.opts);
      first = false;
      out(w.view());
    };
    this.read(e.starts[k]!, e.lengths[k]!, (bytes) => {
      // Lines are decoded whole: a read may end inside a character.
      const buf = carry.length > 0 ? Buffer.concat([carry, bytes]) : bytes;
      let from = 0;
      for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, from)) {
        line(buf.toString('utf8', from, nl));
        from = nl + 1;
      }
      carry = Buffer.from(buf.subarray(from));
    });
  }

  private read(position: number, length: number, out: (bytes: Buffer) => void): void {
    const buf = (this.readBuf ??= Buffer.allocUnsafe(READ_CHUNK));
    let pos = position;
    let left = length;
    while (left > 0) {
      const n = fs.readSync(this.fd, buf, 0, Math.min(left, buf.length), pos);
      if (n <= 0) throw new Error(`command spool: short read at ${pos}`);
      out(buf.subarray(0, n));
      pos += n;
      left -= n;
    }
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

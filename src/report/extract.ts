import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Analysis, DataConnection, DataSink, Session } from '../model/types.js';
import { FtpscopeError } from '../errors.js';

/**
 * `extract`: stream every data connection's payload to a file under one directory.
 * Bytes arrive through the pipeline's openDataSink; each goes to a temporary file that is
 * renamed once the connection is over and its command (hence its name) is known.
 * Names come from untrusted FTP arguments, so every component is sanitized and the result
 * is checked to stay inside the directory.
 *
 * Bytes the capture lacks are holes at their true offsets (the file is sparse where the file
 * system allows), so what follows a gap stays where it belongs; the gap map is in index.json,
 * and a file that is not the whole transfer is named `….incomplete` so that it cannot be taken
 * for the original. A name already on disk with the same content is reused (running extract
 * twice gives no `-2` copies); other content on disk is kept and the new file gets `-2`, `-3`, ….
 */

/** A run of bytes the capture lacks, at its offset in the written file (a hole there). */
export interface GapEntry {
  offset: number;
  length: number;
}

export interface ExtractedFile {
  /** Path of the written file relative to the output directory. */
  file: string;
  /** Bytes in the file, holes included. */
  size: number;
  /** Of the file's bytes as written; null when the file has holes (their zeros identify nothing). */
  sha256: string | null;
  session: number | null;
  dataConnection: number;
  command: { verb: string; arg: string | null; frame: number | null } | null;
  /** Remote path (cwd + argument) where known. */
  path: string | null;
  direction: 'download' | 'upload' | 'listing' | null;
  complete: boolean;
  expectedBytes: number | null;
  missingBytes: number;
  /** REST offset of the transfer: the file holds the bytes from there on. */
  restOffset: number | null;
  /** The session's control channel was TLS: the data is most likely TLS records too (PROT P). */
  tls: boolean;
  /** Holes in the file where the capture lacks bytes, in offset order (at most MAX_GAP_ENTRIES). */
  gaps: GapEntry[];
  /** Holes beyond MAX_GAP_ENTRIES, counted but not listed. */
  gapsOmitted: number;
}

export interface ExtractIndex {
  version: 1;
  source: string;
  files: ExtractedFile[];
  /** Data connections that were not written, and why (too many open at once, write error). */
  skipped: Array<{ session: number | null; dataConnection: number; reason: string }>;
}

/** Longest file name we produce, in UTF-8 bytes (most file systems allow 255). */
const MAX_NAME_BYTES = 200;
/** Bytes buffered per open file before a write. */
const FLUSH_BYTES = 256 * 1024;
/** Data connections written at the same time; more are skipped (and listed). */
const MAX_OPEN_FILES = 256;
/** Holes listed per file in index.json; more are counted in gapsOmitted. */
export const MAX_GAP_ENTRIES = 10_000;
/** Appended to the name of a file that is not the whole transfer. */
export const INCOMPLETE_SUFFIX = '.incomplete';
/** Tries at a free name (`-2`, `-3`, …) before the file is skipped. */
const MAX_NAME_TRIES = 10_000;
/** Files on disk hashed to find out whether they are the same as a new one, at most this big. */
const MAX_COMPARE_BYTES = 256 << 20;

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * One path component made safe: no separators, no control characters or NULs, no leading
 * dots (so never "." or ".."), no characters other systems reject, never empty.
 */
export function sanitizeComponent(raw: string): string {
  let s = raw.normalize('NFC');
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\x00-\x1f\x7f-\x9f]/g, '_');
  s = s.replace(/[/\\:*?"<>|]/g, '_');
  s = s.replace(/^[.\s]+/, (m) => '_'.repeat(Math.min(m.length, 1)));
  s = s.replace(/[.\s]+$/, '');
  if (WINDOWS_RESERVED.test(s)) s = '_' + s;
  if (s === '') s = '_';
  return limitBytes(s, MAX_NAME_BYTES);
}

/** Cut to at most `max` UTF-8 bytes on a character boundary, keeping a short extension. */
export function limitBytes(name: string, max: number): string {
  if (Buffer.byteLength(name) <= max) return name;
  const dot = name.lastIndexOf('.');
  const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  let stem = name.slice(0, name.length - ext.length);
  const budget = max - Buffer.byteLength(ext);
  while (Buffer.byteLength(stem) > budget) stem = Array.from(stem).slice(0, -1).join('');
  return stem + ext;
}

/**
 * The file name for a data connection: `s<session>-d<id>-<verb>-<remote path>` with the
 * remote path's components sanitized and joined by "_". Unpaired connections are `u-d<id>-...`.
 * Always a single component: it cannot name a directory or climb out of one.
 */
export function extractName(session: Session | null, dc: DataConnection): string {
  const prefix = session ? `s${session.id}-d${dc.id}` : `u-d${dc.id}`;
  const verb = dc.command ? sanitizeComponent(dc.command.verb.toLowerCase()) : dc.direction ?? 'data';
  const remote = dc.path ?? dc.command?.arg ?? null;
  const parts = remote === null ? [] : remote.split(/[/\\]+/).filter((p) => p !== '' && p !== '.' && p !== '..');
  let tail = parts.map(sanitizeComponent).join('_');
  let ext = '';
  if (dc.direction === 'listing') ext = '.txt';
  else if (tail === '') ext = '.bin';
  if (tail === '' && !session) tail = `${dc.client.port}-${dc.server.port}`;
  const name = `${prefix}-${verb}${tail ? '-' + tail : ''}`;
  return limitBytes(sanitizeComponent(name) + ext, MAX_NAME_BYTES);
}

/** True when `candidate` resolves to a path strictly inside `dir`. */
export function isInside(dir: string, candidate: string): boolean {
  const rel = path.relative(path.resolve(dir), path.resolve(dir, candidate));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

class FileSink implements DataSink {
  private fd: number | null;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** File offset of the first buffered byte. */
  private flushAt = 0;
  /** Bytes in the file so far, holes included. */
  private size = 0;
  private readonly hash: Hash = createHash('sha256');
  private error: string | null = null;
  private ended = false;
  readonly gaps: GapEntry[] = [];
  gapsOmitted = 0;

  constructor(private readonly owner: Extractor, readonly tempPath: string, fd: number,
    /** The live objects given at open; final once the pipeline has finished. */
    readonly dc: DataConnection, readonly session: Session | null) {
    this.fd = fd;
  }

  write(bytes: Buffer): void {
    if (this.fd === null || this.error) return;
    if (this.gaps.length === 0 && this.gapsOmitted === 0) this.hash.update(bytes);
    this.size += bytes.length;
    this.chunks.push(Buffer.from(bytes)); // the pipeline's buffer is only valid during the call
    this.buffered += bytes.length;
    if (this.buffered >= FLUSH_BYTES) this.flush();
  }

  /** A hole: later bytes are written `length` further on; nothing is written in between. */
  gap(length: number): void {
    if (this.fd === null || this.error || length <= 0) return;
    this.flush();
    const last = this.gaps[this.gaps.length - 1];
    if (last !== undefined && last.offset + last.length === this.size) last.length += length;
    else if (this.gaps.length < MAX_GAP_ENTRIES) this.gaps.push({ offset: this.size, length });
    else this.gapsOmitted++;
    this.size += length;
    this.flushAt = this.size;
  }

  end(dc: DataConnection, session: Session | null): void {
    if (this.ended) return;
    this.ended = true;
    this.flush();
    if (this.fd !== null) {
      // A trailing hole still counts: the file is as long as the transfer went.
      try { fs.ftruncateSync(this.fd, this.size); } catch (e) { this.error ??= `truncate failed: ${(e as Error).message}`; }
      try { fs.closeSync(this.fd); } catch { /* reported below if the rename fails */ }
      this.fd = null;
    }
    const holes = this.gaps.length > 0 || this.gapsOmitted > 0;
    this.owner.finished(this, dc, session, this.size, holes ? null : this.hash.digest('hex'), this.error);
  }

  /** Gives up the file: closed and removed. */
  discard(): void {
    this.ended = true;
    this.chunks = [];
    if (this.fd !== null) {
      try { fs.closeSync(this.fd); } catch { /* being removed anyway */ }
      this.fd = null;
    }
    removeQuietly(this.tempPath);
  }

  private flush(): void {
    if (this.fd === null || this.buffered === 0) return;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off, this.flushAt + off);
    } catch (e) {
      this.error = `write failed: ${(e as Error).message}`;
    }
    this.flushAt += data.length;
  }
}

/** Owns the output directory: hands out sinks, names the files, writes index.json. */
export class Extractor {
  private readonly files: ExtractedFile[] = [];
  private readonly skipped: ExtractIndex['skipped'] = [];
  private readonly used = new Set<string>();
  private readonly pending = new Set<FileSink>();
  /** Data connections a sink was opened for (until their session is settled). */
  private readonly opened = new Set<DataConnection>();
  /**
   * What settling final sessions skipped, put in session order by settle(): the order it had when
   * every session was settled at the end. `skips` is where a skip is listed at the moment.
   */
  private readonly settledSkips: ExtractIndex['skipped'] = [];
  private skips: ExtractIndex['skipped'] = this.skipped;
  private seq = 0;
  /** What the index.json already in the directory says of each file (a previous run). */
  private readonly previous = new Map<string, { size: number; sha256: string | null; gaps: string }>();

  /**
   * `keep` chooses the transfers to write (a display filter): asked once a data connection is
   * over, with its session as it stands then.
   */
  constructor(readonly outDir: string, readonly sourceName: string, private readonly keep?: (session: Session | null, dc: DataConnection) => boolean) {
    try {
      makeDirs(outDir);
      fs.accessSync(outDir, fs.constants.W_OK);
    } catch (e) {
      throw new FtpscopeError('output-unwritable', `cannot write to ${outDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        'choose another --out directory or fix its permissions');
    }
    if (!fs.statSync(outDir).isDirectory()) {
      throw new FtpscopeError('output-unwritable', `${outDir} is not a directory`, 'choose another --out directory');
    }
    this.readPreviousIndex();
  }

  /** The previous run's index.json, if any: it tells which files on disk are ours and what they hold. */
  private readPreviousIndex(): void {
    let prev: Partial<ExtractIndex>;
    try {
      prev = JSON.parse(fs.readFileSync(path.join(this.outDir, 'index.json'), 'utf8')) as Partial<ExtractIndex>;
    } catch {
      return; // none, or not ours: files on disk are compared by content
    }
    if (!Array.isArray(prev.files)) return;
    for (const f of prev.files) {
      if (typeof f?.file !== 'string' || typeof f.size !== 'number') continue;
      this.previous.set(f.file, { size: f.size, sha256: typeof f.sha256 === 'string' ? f.sha256 : null, gaps: JSON.stringify(f.gaps ?? []) });
    }
  }

  /** For PipelineOptions.openDataSink. */
  readonly openDataSink = (session: Session | null, dc: DataConnection): DataSink | null => {
    this.opened.add(dc);
    if (session?.tls && dc.setup === null) {
      // Paired only by its peers under AUTH TLS: its bytes are most likely ciphertext (PROT P).
      this.skips.push({ session: session.id, dataConnection: dc.id,
        reason: 'data connection of a TLS session (PROT P): its bytes are encrypted' });
      return null;
    }
    if (this.pending.size >= MAX_OPEN_FILES) {
      this.skips.push({ session: session?.id ?? null, dataConnection: dc.id,
        reason: `more than ${MAX_OPEN_FILES} data connections open at once` });
      return null;
    }
    const tempPath = path.join(this.outDir, `.ftpscope-part-${process.pid}-${++this.seq}`);
    let fd: number;
    try {
      fd = fs.openSync(tempPath, 'wx', 0o644);
    } catch (e) {
      this.skips.push({ session: session?.id ?? null, dataConnection: dc.id,
        reason: `cannot create a file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return null;
    }
    const sink = new FileSink(this, tempPath, fd, dc, session);
    this.pending.add(sink);
    return sink;
  };

  /** Called by a sink once its connection is over. */
  finished(sink: FileSink, dc: DataConnection, session: Session | null, size: number, sha256: string | null, error: string | null): void {
    this.pending.delete(sink);
    if (this.keep && !this.keep(session, dc)) {
      removeQuietly(sink.tempPath);
      return;
    }
    const skip = (reason: string): void => {
      this.skips.push({ session: session?.id ?? null, dataConnection: dc.id, reason });
      removeQuietly(sink.tempPath);
    };
    if (error) return skip(error);
    const content: Content = { size, sha256, gaps: JSON.stringify(sink.gaps) };
    const name = this.uniqueName(extractName(session, dc), dc.complete ? '' : INCOMPLETE_SUFFIX, content);
    if (name === null) return skip(`no free file name after ${MAX_NAME_TRIES} tries`);
    if (!isInside(this.outDir, name)) {
      removeQuietly(sink.tempPath);
      throw new Error(`extract name escaped the output directory: ${name}`);
    }
    try {
      fs.renameSync(sink.tempPath, path.join(this.outDir, name));
    } catch (e) {
      return skip(`rename failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    this.files.push({
      file: name, size, sha256,
      session: session?.id ?? null,
      dataConnection: dc.id,
      command: dc.command ? { verb: dc.command.verb, arg: dc.command.arg, frame: dc.command.frame } : null,
      path: dc.path,
      direction: dc.direction,
      complete: dc.complete,
      expectedBytes: dc.expectedBytes,
      missingBytes: dc.missingBytes,
      restOffset: dc.restOffset ?? null,
      tls: session?.tls ?? false,
      gaps: sink.gaps,
      gapsOmitted: sink.gapsOmitted,
    });
  }

  /**
   * Account for the data connections no bytes were streamed for: a transfer of an empty file
   * is written as an empty file; anything else that carried bytes is listed as skipped.
   */
  /** Data connections held until their session is settled: those of the sessions still open (a counter for tests). */
  get heldDataConnections(): number {
    return this.opened.size;
  }

  settle(a: Analysis): void {
    for (const s of a.sessions) this.settleSession(s);
    const order = new Map<ExtractIndex['skipped'][number], number>();
    this.settledSkips.forEach((k, i) => order.set(k, i));
    this.settledSkips.sort((x, y) => (x.session ?? Infinity) - (y.session ?? Infinity) || order.get(x)! - order.get(y)!);
    for (const k of this.settledSkips) this.skipped.push(k);
    this.settledSkips.length = 0;
    for (const dc of a.unpairedDataConnections) this.settleOne(null, dc);
  }

  /**
   * A session that is final (PipelineOptions.retireSession): its data connections are accounted for
   * now, and forgotten, so extracting keeps only the sessions still open.
   */
  settleSession(s: Session): void {
    this.skips = this.settledSkips;
    try {
      for (const dc of s.dataConnections) this.settleOne(s, dc);
    } finally {
      this.skips = this.skipped;
    }
  }

  /**
   * A final data connection of a session still open, handed on by the analysis
   * (AnalyzerOptions.streamDataConnections): accounted for now, as settleSession would later.
   */
  settleData(s: Session, dc: DataConnection): void {
    this.skips = this.settledSkips;
    try {
      this.settleOne(s, dc);
    } finally {
      this.skips = this.skipped;
    }
  }

  private settleOne(session: Session | null, dc: DataConnection): void {
    if (this.opened.delete(dc) || (this.keep && !this.keep(session, dc))) return;
    if (dc.bytes === 0 && dc.command) {
      const sink = this.openDataSink(session, dc);
      sink?.end(dc, session);
      this.opened.delete(dc);
    } else if (dc.bytes > 0) {
      this.skips.push({ session: session?.id ?? null, dataConnection: dc.id,
        reason: session ? 'its bytes were not handed to extract' : 'unpaired: no PASV/PORT ties it to a session, so it was not written' });
    }
  }

  /** The run failed before finish(): remove the temporary files of the sinks still open. */
  abandon(): void {
    for (const sink of [...this.pending]) sink.discard();
    this.pending.clear();
  }

  /** Write index.json (files in session / data connection order) and return it. */
  finish(): ExtractIndex {
    // A sink the pipeline never ended still holds bytes worth keeping: name it from what is known.
    for (const sink of [...this.pending]) sink.end(sink.dc, sink.session);
    const files = [...this.files].sort((a, b) =>
      (a.session ?? Infinity) - (b.session ?? Infinity) || a.dataConnection - b.dataConnection);
    const index: ExtractIndex = { version: 1, source: this.sourceName, files, skipped: this.skipped };
    const indexPath = path.join(this.outDir, 'index.json');
    const tmp = `${indexPath}.part-${process.pid}`;
    try {
      fs.writeFileSync(tmp, JSON.stringify(index, null, 2) + '\n');
      fs.renameSync(tmp, indexPath);
    } catch (e) {
      throw new FtpscopeError('output-unwritable', `cannot write ${indexPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        'check free space and permissions of the --out directory');
    }
    return index;
  }

  /**
   * A free name for `base` + `marker` (".incomplete" or ""): -2, -3, … go before the extension,
   * the stem cut so that the suffix always fits (a name at the length limit must not lose its
   * suffix and loop). A name on disk whose file has the same content is reused: a second run
   * into the same directory replaces its own files instead of adding copies. Null when no name
   * is free after MAX_NAME_TRIES.
   */
  private uniqueName(base: string, marker: string, content: Content): string | null {
    const budget = MAX_NAME_BYTES - Buffer.byteLength(marker);
    const dot = base.lastIndexOf('.');
    const stem = dot > 0 ? base.slice(0, dot) : base;
    const ext = dot > 0 ? base.slice(dot) : '';
    for (let i = 1; i <= MAX_NAME_TRIES; i++) {
      const suffix = i === 1 ? '' : `-${i}`;
      const candidate = limitBytes(stem, budget - Buffer.byteLength(suffix + ext)) + suffix + ext + marker;
      if (this.used.has(candidate) || candidate === 'index.json') continue;
      const target = path.join(this.outDir, candidate);
      if (exists(target) && !this.sameContent(candidate, target, content)) continue;
      this.used.add(candidate);
      return candidate;
    }
    return null;
  }

  /** Whether the file `name` on disk holds what a new file would (by the previous index.json, else by hashing it). */
  private sameContent(name: string, target: string, content: Content): boolean {
    let st: fs.Stats;
    try {
      st = fs.lstatSync(target);
    } catch {
      return false;
    }
    if (!st.isFile() || st.size !== content.size) return false;
    const prev = this.previous.get(name);
    if (prev) return prev.size === content.size && prev.sha256 === content.sha256 && prev.gaps === content.gaps;
    if (content.sha256 === null || st.size > MAX_COMPARE_BYTES) return false;
    return sha256OfFile(target) === content.sha256;
  }
}

/** What a written file holds, to tell whether a file on disk is the same. */
interface Content {
  size: number;
  sha256: string | null;
  /** The gap map, as JSON. */
  gaps: string;
}

function sha256OfFile(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return null;
  }
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } catch {
    return null;
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function removeQuietly(p: string): void {
  try { fs.unlinkSync(p); } catch { /* already gone */ }
}

/**
 * mkdir -p, one level at a time: Node's recursive mkdirSync loops forever where the kernel
 * answers ENOENT for a parent that exists (e.g. under /proc).
 */
function makeDirs(dir: string): void {
  const abs = path.resolve(dir);
  try {
    if (fs.statSync(abs).isDirectory()) return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    const parent = path.dirname(abs);
    if (parent !== abs) makeDirs(parent);
    try {
      fs.mkdirSync(abs);
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
    }
  }
}

function exists(p: string): boolean {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
}

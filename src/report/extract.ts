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
 */

export interface ExtractedFile {
  /** Path of the written file relative to the output directory. */
  file: string;
  size: number;
  /** Of the file's bytes as written. */
  sha256: string;
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
  private size = 0;
  private readonly hash: Hash = createHash('sha256');
  private error: string | null = null;
  private ended = false;

  constructor(private readonly owner: Extractor, readonly tempPath: string, fd: number,
    /** The live objects given at open; final once the pipeline has finished. */
    readonly dc: DataConnection, readonly session: Session | null) {
    this.fd = fd;
  }

  write(bytes: Buffer): void {
    if (this.fd === null || this.error) return;
    this.hash.update(bytes);
    this.size += bytes.length;
    this.chunks.push(Buffer.from(bytes)); // the pipeline's buffer is only valid during the call
    this.buffered += bytes.length;
    if (this.buffered >= FLUSH_BYTES) this.flush();
  }

  end(dc: DataConnection, session: Session | null): void {
    if (this.ended) return;
    this.ended = true;
    this.flush();
    if (this.fd !== null) {
      try { fs.closeSync(this.fd); } catch { /* reported below if the rename fails */ }
      this.fd = null;
    }
    this.owner.finished(this, dc, session, this.size, this.hash.digest('hex'), this.error);
  }

  private flush(): void {
    if (this.fd === null || this.buffered === 0) return;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      this.error = `write failed: ${(e as Error).message}`;
    }
  }
}

/** Owns the output directory: hands out sinks, names the files, writes index.json. */
export class Extractor {
  private readonly files: ExtractedFile[] = [];
  private readonly skipped: ExtractIndex['skipped'] = [];
  private readonly used = new Set<string>();
  private readonly pending = new Set<FileSink>();
  /** Data connections a sink was opened for. */
  private readonly opened = new Set<DataConnection>();
  private seq = 0;

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
  }

  /** For PipelineOptions.openDataSink. */
  readonly openDataSink = (session: Session | null, dc: DataConnection): DataSink | null => {
    this.opened.add(dc);
    if (session?.tls && dc.setup === null) {
      // Paired only by its peers under AUTH TLS: its bytes are most likely ciphertext (PROT P).
      this.skipped.push({ session: session.id, dataConnection: dc.id,
        reason: 'data connection of a TLS session (PROT P): its bytes are encrypted' });
      return null;
    }
    if (this.pending.size >= MAX_OPEN_FILES) {
      this.skipped.push({ session: session?.id ?? null, dataConnection: dc.id,
        reason: `more than ${MAX_OPEN_FILES} data connections open at once` });
      return null;
    }
    const tempPath = path.join(this.outDir, `.ftpscope-part-${process.pid}-${++this.seq}`);
    let fd: number;
    try {
      fd = fs.openSync(tempPath, 'wx', 0o644);
    } catch (e) {
      this.skipped.push({ session: session?.id ?? null, dataConnection: dc.id,
        reason: `cannot create a file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return null;
    }
    const sink = new FileSink(this, tempPath, fd, dc, session);
    this.pending.add(sink);
    return sink;
  };

  /** Called by a sink once its connection is over. */
  finished(sink: FileSink, dc: DataConnection, session: Session | null, size: number, sha256: string, error: string | null): void {
    this.pending.delete(sink);
    if (this.keep && !this.keep(session, dc)) {
      try { fs.unlinkSync(sink.tempPath); } catch { /* already gone */ }
      return;
    }
    if (error) {
      this.skipped.push({ session: session?.id ?? null, dataConnection: dc.id, reason: error });
      try { fs.unlinkSync(sink.tempPath); } catch { /* already gone */ }
      return;
    }
    const name = this.uniqueName(extractName(session, dc));
    const target = path.join(this.outDir, name);
    if (!isInside(this.outDir, name)) throw new Error(`extract name escaped the output directory: ${name}`);
    try {
      fs.renameSync(sink.tempPath, target);
    } catch (e) {
      this.skipped.push({ session: session?.id ?? null, dataConnection: dc.id,
        reason: `rename failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
      return;
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
    });
  }

  /**
   * Account for the data connections no bytes were streamed for: a transfer of an empty file
   * is written as an empty file; anything else that carried bytes is listed as skipped.
   */
  settle(a: Analysis): void {
    const all: Array<[Session | null, DataConnection]> = [
      ...a.sessions.flatMap((s) => s.dataConnections.map((dc) => [s, dc] as [Session, DataConnection])),
      ...a.unpairedDataConnections.map((dc) => [null, dc] as [null, DataConnection]),
    ];
    for (const [session, dc] of all) {
      if (this.opened.has(dc) || (this.keep && !this.keep(session, dc))) continue;
      if (dc.bytes === 0 && dc.command) {
        const sink = this.openDataSink(session, dc);
        sink?.end(dc, session);
      } else if (dc.bytes > 0) {
        this.skipped.push({ session: session?.id ?? null, dataConnection: dc.id,
          reason: session ? 'its bytes were not handed to extract' : 'unpaired: no PASV/PORT ties it to a session, so it was not written' });
      }
    }
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

  /** Append -2, -3, ... before the extension when a name is taken (here or on disk). */
  private uniqueName(name: string): string {
    const taken = (n: string): boolean => this.used.has(n) || n === 'index.json' || exists(path.join(this.outDir, n));
    let candidate = name;
    const dot = name.lastIndexOf('.');
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const ext = dot > 0 ? name.slice(dot) : '';
    for (let i = 2; taken(candidate); i++) candidate = limitBytes(`${stem}-${i}`, MAX_NAME_BYTES - ext.length) + ext;
    this.used.add(candidate);
    return candidate;
  }
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

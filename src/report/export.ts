/**
 * Exports of one session, shared by `ftpscope export` and the dashboard's export keys:
 *
 * - the session's packets (its control connection and every paired data connection) as pcapng,
 *   copied byte for byte with their original timestamps, link types and comments;
 * - one transfer's file (the bytes of one data connection, as `extract` writes them);
 * - the session's ladder as text, and its report as JSON (both masked like every other view).
 *
 * Which packets belong to the session is the analysis's decision (its per-packet fact table,
 * Session.packets); this module only copies those frames out of the capture. Files are never
 * overwritten unless the caller says so, and a file that could not be finished is removed.
 */
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyzeFile } from '../analysis/sources/file.js';
import { openCapture, scan } from '../capture/open.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import type { PacketRecord } from '../capture/types.js';
import { FtpscopeError } from '../errors.js';
import type { Analysis, DataConnection, DataSink, Session } from '../model/types.js';
import { Defragmenter, type Reassembled } from '../dissect/defrag.js';
import { FastDecoder, newFastPacket } from '../dissect/fast.js';
import { extractName } from './extract.js';
import { sessionToJson } from './json.js';
import { ladderText } from './ladder.js';
import { formatBytes } from './format.js';

export interface ExportOptions {
  /** Replace an existing file (the dashboard asks first; the CLI needs --force). */
  overwrite?: boolean;
  /** --ftp-port of the analysis, so a re-analysis finds the same sessions. */
  ftpPorts?: number[];
  showPasswords?: boolean;
}

export type ExportKind = 'pcapng' | 'transfer' | 'ladder' | 'json';

/** What was written, for the one line the CLI prints and the dashboard's status line. */
export interface ExportResult {
  kind: ExportKind;
  path: string;
  bytes: number;
  /** "session 2 (31 packets, control + 2 data connections)", "D1 RETR robots.txt (77 B, complete)"… */
  what: string;
}

/** Packets a re-analysis keeps per session for an export: enough for any session that fits the table. */
const EXPORT_PACKETS_PER_SESSION = 1 << 30;

// ---- output files -------------------------------------------------------------------------

/**
 * Opens `file` for writing: refuses an existing file unless `overwrite`, and says in one line
 * what is wrong with a path that cannot be written (missing directory, permissions, a directory).
 */
export function openOutput(file: string, overwrite = false): number {
  try {
    if (fs.statSync(file).isDirectory()) {
      throw new FtpscopeError('output-unwritable', `${file} is a directory`, 'give a file name inside it');
    }
  } catch (e) {
    if (e instanceof FtpscopeError) throw e;
  }
  try {
    return fs.openSync(file, overwrite ? 'w' : 'wx', 0o644);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new FtpscopeError('output-exists', `${file} already exists`, 'choose another name, or add --force to replace it');
    }
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied'
      : code === 'ENOENT' ? `no directory ${path.dirname(file)}`
        : code === 'ENOTDIR' ? `${path.dirname(file)} is not a directory`
          : code === 'EROFS' ? 'read-only file system'
            : code ?? (e as Error).message;
    throw new FtpscopeError('output-unwritable', `cannot write ${file}: ${why}`, 'choose a path in a writable directory');
  }
}

/**
 * Says now, before any work, what would stop `file` from being written: it exists (and may not
 * be replaced), it is a directory, or its directory is missing or not writable.
 */
export function checkOutput(file: string, overwrite = false): void {
  let st: fs.Stats | null = null;
  try { st = fs.statSync(file); } catch { /* does not exist: fine */ }
  if (st?.isDirectory()) throw new FtpscopeError('output-unwritable', `${file} is a directory`, 'give a file name inside it');
  if (st && !overwrite) throw new FtpscopeError('output-exists', `${file} already exists`, 'choose another name, or add --force to replace it');
  const dir = path.dirname(path.resolve(file));
  try {
    if (!fs.statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `no directory ${path.dirname(file)}` : code === 'ENOTDIR' ? `${path.dirname(file)} is not a directory`
      : code === 'EACCES' || code === 'EPERM' ? `${path.dirname(file) || '.'} is not writable` : code ?? (e as Error).message;
    throw new FtpscopeError('output-unwritable', `cannot write ${file}: ${why}`, 'choose a path in a writable directory');
  }
}

/** Whether a path names something that exists (the dashboard asks before replacing it). */
export function outputExists(file: string): boolean {
  try {
    fs.lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

function writeWhole(file: string, text: string, overwrite: boolean): number {
  const fd = openOutput(file, overwrite);
  const data = Buffer.from(text, 'utf8');
  try {
    let off = 0;
    while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
  } catch (e) {
    fs.closeSync(fd);
    removeQuietly(file);
    throw new FtpscopeError('output-unwritable', `writing ${file} failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      'check free disk space and permissions');
  }
  fs.closeSync(fd);
  return data.length;
}

function removeQuietly(file: string): void {
  try { fs.unlinkSync(file); } catch { /* already gone */ }
}

// ---- default names ------------------------------------------------------------------------

/** "ipv4" for "captures/public/zeek/ipv4.pcap", "tour" for "tour.pcapng.gz": the stem defaults are built on. */
export function captureStem(capture: string): string {
  const base = path.basename(capture).replace(/\.gz$/i, '').replace(/\.(pcapng|pcap|cap|dmp)$/i, '');
  return base.replace(/[^\w.-]+/g, '_').replace(/^[.]+/, '') || 'capture';
}

/** The path an export is offered under: beside nothing, in the current directory. */
export function defaultExportPath(capture: string, kind: ExportKind, session: Session, dc?: DataConnection): string {
  const stem = `${captureStem(capture)}-s${session.id}`;
  switch (kind) {
    case 'pcapng': return `${stem}.pcapng`;
    case 'ladder': return `${stem}-ladder.txt`;
    case 'json': return `${stem}.json`;
    case 'transfer': return `${captureStem(capture)}-${extractName(session, dc!)}`;
  }
}

// ---- ladder and JSON ----------------------------------------------------------------------

export function exportLadder(session: Session, file: string, opts: ExportOptions & { width?: number } = {}): ExportResult {
  const text = ladderText(session, { width: opts.width ?? 100, showPasswords: opts.showPasswords }) + '\n';
  const bytes = writeWhole(file, text, opts.overwrite ?? false);
  return { kind: 'ladder', path: file, bytes, what: `the ladder of session ${session.id}` };
}

export function exportJson(session: Session, file: string, opts: ExportOptions = {}): ExportResult {
  const text = JSON.stringify(sessionToJson(session, { showPasswords: opts.showPasswords }), null, 2) + '\n';
  const bytes = writeWhole(file, text, opts.overwrite ?? false);
  return { kind: 'json', path: file, bytes, what: `session ${session.id} as JSON` };
}

// ---- pcapng -------------------------------------------------------------------------------

/**
 * The frames of a session's packets, in capture order, when its packet list holds all of them;
 * null when the list is missing or dropped some (a re-analysis keeping them all is needed).
 */
export function sessionFrames(session: Session): number[] | null {
  const list = session.packets;
  if (!list || list.dropped > 0) return null;
  const frames: number[] = [];
  for (let i = 0; i < list.count; i++) frames.push(list.at(i).frame);
  return frames;
}

/** Analyze the capture keeping every packet of every session (for an export of one of them). */
export function analyzeForExport(capture: string, opts: { ftpPorts?: number[]; openDataSink?: (s: Session | null, dc: DataConnection) => DataSink | null } = {}): Promise<Analysis> {
  return analyzeFile(capture, {
    ftpPorts: opts.ftpPorts, keepPackets: true, maxPacketsPerSession: EXPORT_PACKETS_PER_SESSION,
    openDataSink: opts.openDataSink, blockingReads: true,
  });
}

export function findSession(a: Analysis, capture: string, id: number): Session {
  const s = a.sessions.find((x) => x.id === id);
  if (!s) {
    throw new FtpscopeError('usage', `${capture} has no session ${id} (it has ${a.sessions.length})`,
      a.sessions.length > 0 ? `use an id from 1 to ${a.sessions.length}, as listed by ftpscope report` : 'no FTP session was found in it');
  }
  return s;
}

/** if_tsresol code for a number of units per second (10^n, or 2^n with the top bit set). */
function tsresolCode(units: number): number {
  for (let n = 0; n <= 15; n++) if (10 ** n === units) return n;
  for (let n = 0; n <= 63; n++) if (2 ** n === units) return 0x80 | n;
  return 6;
}

/**
 * Copies the given frames of `capture` (sorted, 1-based) into a pcapng file: one interface per
 * link type and timestamp resolution met, each packet with its timestamp as stored (no rounding),
 * its captured bytes, wire length and comment. Reads the capture once, stopping after the last frame.
 */
export async function writeFramesPcapng(capture: string, frames: readonly number[], file: string, opts: { overwrite?: boolean; comment?: string } = {}): Promise<{ packets: number; bytes: number }> {
  const fd = openOutput(file, opts.overwrite ?? false);
  const writer = new PcapngWriter(fs.createWriteStream(file, { fd }), {
    comment: opts.comment,
    // never drop a packet of evidence: the file is read again only after the writer drained
    maxPendingBytes: Number.MAX_SAFE_INTEGER,
  });
  const interfaces = new Map<string, number>();
  const ifaceFor = (rec: PacketRecord): number => {
    const key = `${rec.linkType}|${rec.tsForm ?? ''}|${rec.tsUnits ?? ''}|${rec.tsOffset ?? 0}`;
    let id = interfaces.get(key);
    if (id === undefined) {
      id = rec.tsForm === undefined
        ? writer.addInterface(rec.linkType)
        : writer.addInterface(rec.linkType, { tsresolCode: tsresolCode(rec.tsUnits!), tsoffset: rec.tsForm === 'count' ? rec.tsOffset : 0 });
      interfaces.set(key, id);
    }
    return id;
  };
  let next = 0;
  let failed: unknown = null;
  try {
    if (frames.length > 0) {
      const cap = await openCapture(capture);
      try {
        const ctl = { stop: false };
        await scan(cap, (rec) => {
          if (next >= frames.length || rec.frame !== frames[next]) return;
          next++;
          const data = rec.buf.subarray(rec.offset, rec.offset + rec.caplen);
          const ifId = ifaceFor(rec);
          if (rec.tsForm === undefined) {
            writer.writePacket(ifId, rec.ts, data, rec.wirelen, rec.comment);
          } else {
            const units = rec.tsForm === 'split'
              ? BigInt(rec.tsHigh!) * BigInt(rec.tsUnits!) + BigInt(rec.tsLow!)
              : (BigInt(rec.tsHigh!) << 32n) | BigInt(rec.tsLow!);
            writer.writePacketUnits(ifId, units, data, rec.wirelen, rec.comment);
          }
          if (next >= frames.length) ctl.stop = true;
        }, { blocking: true }, ctl);
      } finally {
        await cap.src.close();
      }
    }
  } catch (e) {
    failed = e;
  }
  try {
    await writer.close();
  } catch (e) {
    failed ??= e;
  }
  if (failed === null && next < frames.length) {
    failed = new FtpscopeError('frame-not-found', `${capture}: frame ${frames[next]} is no longer in the capture`, 'the file changed since it was analyzed; open it again');
  }
  if (failed !== null) {
    removeQuietly(file);
    throw failed;
  }
  return { packets: writer.packets, bytes: writer.bytesWritten };
}

/** A defragmenter that remembers the datagram the last fragment completed (with its fragments' frames). */
class RecordingDefragmenter extends Defragmenter {
  last: Reassembled | null = null;

  override add(...args: Parameters<Defragmenter['add']>): Reassembled | null {
    const r = super.add(...args);
    this.last = r;
    return r;
  }
}

/**
 * `frames` plus the earlier fragments of every fragmented IP datagram among them. The analysis
 * records a reassembled packet under the frame of the fragment that completed it; without the
 * others the export could not be reassembled again. Reads the capture up to the last frame.
 */
export async function withFragments(capture: string, frames: readonly number[]): Promise<number[]> {
  if (frames.length === 0) return [];
  const wanted = new Set(frames);
  const lastFrame = frames[frames.length - 1]!;
  const defrag = new RecordingDefragmenter();
  const decoder = new FastDecoder(defrag);
  const fp = newFastPacket();
  const extra = new Set<number>();
  const cap = await openCapture(capture);
  try {
    const ctl = { stop: false };
    await scan(cap, (rec) => {
      defrag.last = null;
      decoder.decode(rec, fp);
      const done = defrag.last as Reassembled | null; // set by decode()
      if (done && wanted.has(rec.frame)) for (const f of done.frames) if (!wanted.has(f)) extra.add(f);
      if (rec.frame >= lastFrame) ctl.stop = true;
    }, { blocking: true }, ctl);
  } finally {
    await cap.src.close();
  }
  if (extra.size === 0) return [...frames];
  return [...frames, ...extra].sort((a, b) => a - b);
}

/**
 * The session's packets as pcapng. `session` from an analysis that kept packets is used as is
 * when its list is complete; otherwise the capture is analyzed again keeping them all.
 */
export async function exportSessionPcapng(capture: string, session: Session | number, file: string, opts: ExportOptions = {}): Promise<ExportResult> {
  let s: Session | null = typeof session === 'number' ? null : session;
  let frames = s ? sessionFrames(s) : null;
  if (!frames) {
    const id = typeof session === 'number' ? session : session.id;
    // Checked before the (possibly long) analysis, so a bad path fails at once.
    checkOutput(file, opts.overwrite);
    s = findSession(await analyzeForExport(capture, { ftpPorts: opts.ftpPorts }), capture, id);
    frames = sessionFrames(s);
    if (!frames) {
      throw new FtpscopeError('capture-unsupported', `session ${id} has more packets than ftpscope keeps in memory (${s.packets?.dropped ?? 0} dropped)`,
        'cut the capture to that session first, e.g. with tshark -Y and its addresses');
    }
  }
  // Fragments of the session's fragmented packets are the session's too.
  frames = await withFragments(capture, frames);
  const written = await writeFramesPcapng(capture, frames, file, {
    overwrite: opts.overwrite,
    comment: `ftpscope export of session ${s!.id} from ${path.basename(capture)}`,
  });
  const data = s!.dataConnections.length;
  return {
    kind: 'pcapng', path: file, bytes: written.bytes,
    what: `session ${s!.id} (${written.packets} packets: control + ${data} data connection${data === 1 ? '' : 's'})`,
  };
}

// ---- one transfer's file ------------------------------------------------------------------

/** "D2" or "2" → 2. */
export function parseTransferId(text: string): number | null {
  const m = /^[dD]?(\d+)$/.exec(text.trim());
  return m ? Number(m[1]) : null;
}

export function findTransfer(s: Session, id: number): DataConnection {
  const dc = s.dataConnections.find((d) => d.id === id);
  if (!dc) {
    const ids = s.dataConnections.map((d) => `D${d.id}`).join(', ');
    throw new FtpscopeError('usage', `session ${s.id} has no data connection D${id}`,
      ids ? `it has ${ids}` : 'it has no data connections');
  }
  return dc;
}

/** Streams one data connection's payload into a file (hashing as it goes). */
class OneFileSink implements DataSink {
  size = 0;
  ended = false;
  error: string | null = null;
  private readonly hash: Hash = createHash('sha256');
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly fd: number) {}

  write(bytes: Buffer): void {
    if (this.error) return;
    this.hash.update(bytes);
    this.size += bytes.length;
    this.chunks.push(Buffer.from(bytes)); // the pipeline's buffer is valid only during the call
    this.buffered += bytes.length;
    if (this.buffered >= 256 * 1024) this.flush();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.flush();
  }

  digest(): string {
    return this.hash.digest('hex');
  }

  private flush(): void {
    if (this.buffered === 0 || this.error) return;
    const data = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      this.error = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
  }
}

/**
 * Writes the payload of data connection `dcId` of session `sessionId` to `file`. The capture is
 * analyzed again with a data sink for that one connection (transfer bytes are streamed, never
 * kept by the analysis).
 */
export async function exportTransfer(capture: string, sessionId: number, dcId: number, file: string, opts: ExportOptions = {}): Promise<ExportResult & { sha256: string; complete: boolean; session: Session; dc: DataConnection }> {
  const fd = openOutput(file, opts.overwrite ?? false);
  let sink: OneFileSink | null = null;
  let a: Analysis;
  try {
    a = await analyzeFile(capture, {
      ftpPorts: opts.ftpPorts, blockingReads: true,
      openDataSink: (s, dc) => {
        if (s?.id !== sessionId || dc.id !== dcId || sink) return null;
        return (sink = new OneFileSink(fd));
      },
    });
  } catch (e) {
    fs.closeSync(fd);
    removeQuietly(file);
    throw e;
  }
  const done = sink as OneFileSink | null;
  done?.end();
  fs.closeSync(fd);
  let s: Session;
  let dc: DataConnection;
  try {
    s = findSession(a, capture, sessionId);
    dc = findTransfer(s, dcId);
  } catch (e) {
    removeQuietly(file);
    throw e;
  }
  if (done?.error) {
    removeQuietly(file);
    throw new FtpscopeError('output-unwritable', `writing ${file} failed: ${done.error}`, 'check free disk space and permissions');
  }
  const size = done?.size ?? 0;
  const sha256 = done ? done.digest() : createHash('sha256').digest('hex');
  const verb = dc.command ? `${dc.command.verb}${dc.command.arg ? ' ' + dc.command.arg : ''}` : dc.direction ?? 'data';
  const state = dc.complete ? 'complete' : `incomplete${dc.missingBytes ? `, ${dc.missingBytes} bytes missing from the capture` : ''}`;
  const tls = s.tls && dc.setup === null ? ', most likely TLS ciphertext (PROT P)' : '';
  return {
    kind: 'transfer', path: file, bytes: size, sha256, complete: dc.complete, session: s, dc,
    what: `D${dc.id} ${verb} (${formatBytes(size)}, ${state}${tls})`,
  };
}

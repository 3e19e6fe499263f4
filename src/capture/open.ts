import { stat } from 'node:fs/promises';
import { FtpscopeError } from '../errors.js';
import { finding, pushFinding } from '../model/findings.js';
import { detectFormat, fileError, isGzip, unrecognizedError } from './detect.js';
import { newPacketRecord, type Damage, type ParserContext, type RecordParser } from './parser.js';
import { PcapParser } from './pcap.js';
import { PcapngParser } from './pcapng.js';
import { rememberSections } from './section-index.js';
import { GzipFileSource, GzipStreamError, PlainFileSource, type ByteSource } from './source.js';
import type { CaptureFormat, CaptureInfo, PacketCallback } from './types.js';

export { readFrame } from './read-frame.js';

/** Bytes read per chunk; any record we buffer whole is at most half of it. */
export const CHUNK_SIZE = 4 << 20;

export interface ReadOptions {
  signal?: AbortSignal;
  /** After every chunk: bytes of the file read so far (compressed bytes for gzip) and the file size. */
  onProgress?: (bytesRead: number, total: number | null) => void;
  /** Bytes read at a time (default 4 MiB); smaller chunks let an event loop breathe between them. */
  chunkSize?: number;
  /**
   * Called before the read buffer is overwritten: until then the buffers of the packets handed
   * over stay valid (a reader may keep references instead of copies up to this point).
   */
  beforeReuse?: () => void;
  /**
   * Read a plain file with blocking reads: faster, but the event loop does not turn until the
   * whole capture is read. Only for callers whose output is synchronous too.
   */
  blocking?: boolean;
  /**
   * Called between chunks; reading waits for the promise it may return (an output that must
   * drain first, so that a slow reader of the output bounds memory instead of a queue).
   */
  pace?: () => Promise<unknown> | undefined;
}

/** An opened capture: the source positioned after the bytes already in `buf`, format detected. */
export interface OpenedCapture {
  name: string;
  src: ByteSource;
  buf: Buffer;
  /** Bytes of the stream already in buf[0, end). */
  end: number;
  gzip: boolean;
  format: CaptureFormat;
  fileSize: number;
  mtimeMs: number;
  /** Read from a pipe: no size, no random access. */
  streaming: boolean;
}

/**
 * Streams every packet of a pcap or pcapng file (optionally gzip-compressed) to onPacket,
 * with constant memory. The record handed over is reused: copy what you keep.
 * Damage after the first packet becomes a finding on the returned info; the call throws
 * FtpscopeError only when nothing could be read at all.
 */
export async function readCapture(path: string, onPacket: PacketCallback, opts: ReadOptions = {}): Promise<CaptureInfo> {
  const cap = await openCapture(path, opts.chunkSize, opts.blocking);
  try {
    const { info, parser } = await scan(cap, onPacket, opts);
    if (parser instanceof PcapngParser && !cap.gzip && !cap.streaming && !opts.signal?.aborted && parser.sections.length < PcapngParser.MAX_SECTIONS_KEPT) {
      rememberSections(path, cap.fileSize, cap.mtimeMs, parser.sections);
    }
    return info;
  } finally {
    await cap.src.close();
  }
}

/**
 * Opens the file, sees through gzip, detects the format; throws the user-facing error when it cannot.
 * `reuse`: a buffer to read into instead of a new one (the merge hands a closed file's buffer to
 * the next file: fresh 4 MiB buffers cost page faults and garbage for every file of a set).
 */
export async function openCapture(path: string, chunkSize = CHUNK_SIZE, blocking = false, reuse?: Buffer): Promise<OpenedCapture> {
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw fileError(path, e);
  }
  if (st.isDirectory()) throw fileError(path, Object.assign(new Error('directory'), { code: 'EISDIR' }));
  // A pipe (tcpdump -w - | ftpscope report /dev/stdin) is read in sequence; its size is unknown.
  const streaming = !st.isFile() && !st.isBlockDevice();
  if (st.size === 0 && !streaming) {
    throw new FtpscopeError('file-empty', `${path} is empty (0 bytes)`, 'the capture was probably never written; record it again');
  }
  // A plain file smaller than a chunk fits whole in a buffer of its size (+1 to see the end).
  let buf = reuse ?? Buffer.allocUnsafe(streaming ? chunkSize : Math.min(chunkSize, st.size + 1));
  let src: ByteSource;
  try {
    src = await PlainFileSource.open(path, 0, blocking);
  } catch (e) {
    throw fileError(path, e);
  }
  let end = await fillAtLeast(src, buf, 0, 64 * 1024).catch(async (e) => {
    await src.close();
    throw fileError(path, e);
  });
  let gzip = false;
  if (isGzip(buf, end)) {
    await src.close();
    if (streaming) {
      throw new FtpscopeError('capture-unsupported', `${path} is gzip-compressed data from a pipe, which cannot be read twice`,
        'decompress it on the way: zcat capture.pcap.gz | ftpscope report /dev/stdin');
    }
    gzip = true;
    if (!reuse) buf = Buffer.allocUnsafe(chunkSize);
    src = new GzipFileSource(path);
    try {
      end = await fillAtLeast(src, buf, 0, 64 * 1024);
    } catch (e) {
      await src.close();
      if (e instanceof GzipStreamError) {
        throw new FtpscopeError(
          'capture-corrupt',
          `${path}: ${e.message} at compressed byte ${e.compressedOffset}, before any packet could be read`,
          'the .gz file is damaged; download or copy it again (gzip -t checks it)',
        );
      }
      throw fileError(path, e);
    }
    if (end === 0) {
      throw new FtpscopeError('file-empty', `${path} is a gzip file holding no data`, 'the capture was probably never written; record it again');
    }
  }
  const format = detectFormat(buf, end);
  if (!format) {
    await src.close();
    if (end < 4) {
      throw new FtpscopeError('capture-corrupt', `${path} is only ${end} byte${end === 1 ? '' : 's'} long${gzip ? ' after gunzip' : ''}, too short for any capture`, 'the file is cut short; copy it again from its source');
    }
    throw unrecognizedError(path, buf, end, gzip);
  }
  return { name: path, src, buf, end, gzip, format, fileSize: st.size, mtimeMs: st.mtimeMs, streaming };
}

export function emptyInfo(name: string, format: CaptureFormat, gzip: boolean): CaptureInfo {
  return { name, format, gzip, packets: 0, bytes: 0, linkTypes: [], truncated: false, comments: [], findings: [] };
}

export interface ScanControl {
  /** Set from inside onPacket to stop after the current chunk. */
  stop: boolean;
}

/** The read loop shared by readCapture and readFrame. */
export async function scan(
  cap: OpenedCapture,
  onPacket: PacketCallback,
  opts: ReadOptions = {},
  ctl: ScanControl = { stop: false },
): Promise<{ info: CaptureInfo; parser: RecordParser }> {
  const r = new ChunkReader(cap, onPacket);
  const total = cap.streaming ? null : cap.fileSize;
  opts.onProgress?.(cap.src.fileBytesRead, total);
  for (;;) {
    if (opts.signal?.aborted) break;
    r.parse();
    opts.beforeReuse?.();
    const wait = opts.pace?.();
    if (wait) await wait;
    if (r.ended || ctl.stop) break;
    if (!(await r.refill())) break;
    opts.onProgress?.(cap.src.fileBytesRead, total);
  }
  opts.onProgress?.(cap.src.fileBytesRead, total);
  return { info: r.finish(), parser: r.parser };
}

/**
 * One capture's read state: a record parser fed from a chunk buffer that is refilled in place.
 * scan() drives one of these; the merge of several captures (merge.ts) drives one per file,
 * pausing each after a packet (ParserContext.paused) until that packet's turn comes.
 */
export class ChunkReader {
  readonly info: CaptureInfo;
  readonly parser: RecordParser;
  readonly ctx: ParserContext;
  /** Set when the stream can give no more: its end, damage, or a read error. */
  ended = false;
  private damage: Damage | null = null;
  private buf: Buffer;
  private end: number;
  private pos = 0;
  /** Stream offset of buf[0]. */
  private base = 0;

  constructor(readonly cap: OpenedCapture, onPacket: PacketCallback) {
    this.info = emptyInfo(cap.name, cap.format, cap.gzip);
    this.ctx = { info: this.info, onPacket, rec: newPacketRecord(), paused: false };
    this.parser = cap.format === 'pcap' ? new PcapParser(this.ctx) : new PcapngParser(this.ctx);
    this.buf = cap.buf;
    this.end = cap.end;
  }

  /** The buffer read into now (refill may have replaced the one the capture was opened with). */
  get buffer(): Buffer {
    return this.buf;
  }

  /** The packet onPacket paused on is still valid. */
  get paused(): boolean {
    return this.ctx.paused === true;
  }

  /**
   * Delivers the complete records buffered, or up to the one onPacket pauses on. Delivered
   * packets' bytes stay valid until refill().
   */
  parse(): void {
    this.ctx.paused = false;
    this.pos = this.parser.parse(this.buf, this.pos, this.end, this.base);
    if (this.parser.damage) {
      this.damage = this.parser.damage;
      this.ended = true;
    }
  }

  /**
   * Drops the parsed bytes and reads more (this overwrites the buffer: tell whoever holds
   * references first). False when the stream ended instead.
   */
  async refill(): Promise<boolean> {
    if (this.ended) return false;
    const src = this.cap.src;
    if (this.pos > this.end) {
      const want = this.pos - this.end;
      const skipped = await src.skip(want);
      this.base += this.pos;
      this.pos = this.end = 0;
      if (skipped < want) {
        return this.stop({ offset: this.base - want + skipped, truncated: true, what: `the file ends inside a ${want}-byte block being skipped` });
      }
    } else if (this.pos > 0) {
      this.buf.copyWithin(0, this.pos, this.end);
      this.base += this.pos;
      this.end -= this.pos;
      this.pos = 0;
    }
    if (this.end === this.buf.length) {
      // Sized to the file (or a small chunk), and a record does not fit: continue with a full chunk.
      const bigger = Buffer.allocUnsafe(Math.max(CHUNK_SIZE, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    let n: number;
    try {
      n = await src.read(this.buf, this.end, this.buf.length - this.end);
    } catch (e) {
      // An I/O error mid-file ends the read like damage does: what came before is kept.
      const damage = e instanceof GzipStreamError
        ? { offset: this.base + this.end, truncated: e.truncated, what: `${e.message} (at compressed byte ${e.compressedOffset})` }
        : { offset: this.base + this.end, truncated: false, what: `reading failed (${fileError(this.cap.name, e).message})` };
      // Deliver what is buffered before reporting.
      this.parse();
      return this.stop(this.parser.damage ?? damage);
    }
    if (n === 0) {
      return this.stop(this.end > this.pos ? { offset: this.base + this.pos, truncated: true, what: this.parser.describeIncomplete(this.end - this.pos) } : null);
    }
    this.end += n;
    return true;
  }

  /** What was read: bytes, and the damage as a finding (throws when no packet could be read at all). */
  finish(): CaptureInfo {
    const info = this.info;
    info.bytes = this.damage ? this.damage.offset : this.base + this.end;
    if (this.damage) reportDamage(info, this.damage, this.cap.gzip);
    return info;
  }

  private stop(damage: Damage | null): false {
    this.ended = true;
    this.damage = damage;
    return false;
  }
}

function reportDamage(info: CaptureInfo, d: Damage, gzip: boolean): void {
  const where = gzip ? `byte ${d.offset} of the decompressed data` : `byte ${d.offset}`;
  if (info.packets === 0) {
    throw new FtpscopeError(
      'capture-corrupt',
      `${info.name}: no packet could be read: ${d.what} at ${where}`,
      d.truncated ? 'the file is cut short; copy it again from its source' : 'the file is damaged; copy it again (transfer captures in binary mode)',
    );
  }
  info.truncated = true;
  const kept = `the ${info.packets} packet${info.packets === 1 ? '' : 's'} before it were read`;
  if (d.truncated) {
    pushFinding(
      info.findings,
      finding('warning', 'capture-truncated', `${info.name} is cut short at ${where}: ${d.what}; ${kept} (was it copied while still being written? the analysis covers what was read)`),
    );
  } else {
    pushFinding(
      info.findings,
      finding('error', 'capture-corrupt', `${info.name} is damaged at ${where}: ${d.what}; ${kept} and the rest is skipped (copy the file again, in binary mode)`),
    );
  }
}

/** Reads until `want` bytes are there or the stream ends; an error after some bytes is left for the next read. */
async function fillAtLeast(src: ByteSource, buf: Buffer, at: number, want: number): Promise<number> {
  let end = at;
  while (end - at < want) {
    let n: number;
    try {
      n = await src.read(buf, end, buf.length - end);
    } catch (e) {
      if (end > at && e instanceof GzipStreamError) break;
      throw e;
    }
    if (n === 0) break;
    end += n;
  }
  return end;
}

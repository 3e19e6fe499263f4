/**
 * Several capture files read as one capture: a k-way merge in timestamp order over streaming
 * readers, as mergecap merges them, without loading any file whole.
 *
 * Each file has its own ChunkReader (its own chunk buffer and reused PacketRecord). A reader is
 * paused right after the packet that is not yet due (ParserContext.paused), so every reader
 * holds at most one pending packet, in place in its own buffer: nothing is copied. The reader
 * whose pending packet is the earliest runs on, handing packets straight through while they are
 * not later than the next reader's pending one; in a ring-buffer set that is a whole file at a
 * time, so the merge costs a comparison per packet. Files are first peeked at (opened, read up
 * to their first packet, closed) and then opened only when their first packet is due, so a set
 * of a thousand ring-buffer files holds one or two open readers, not a thousand buffers.
 *
 * Frames are numbered globally in merged order; FrameMap maps a global frame back to its file
 * and its frame number there. Damage in one file is a finding naming the file and byte offset;
 * the other files are read on.
 */
import { FtpscopeError } from '../errors.js';
import { finding, pushFinding, type Finding } from '../model/findings.js';
import { CHUNK_SIZE, ChunkReader, openCapture, type ReadOptions } from './open.js';
import { readFrame } from './read-frame.js';
import { PcapngParser } from './pcapng.js';
import { rememberSections } from './section-index.js';
import type { CaptureInfo, PacketRecord } from './types.js';
import type { SourceFile } from '../model/types.js';

/**
 * One file of a merged set, as read: what the report says of it (model SourceFile, its frame
 * map aside) plus its size on disk.
 */
export interface MergedFile extends Omit<SourceFile, 'frameRuns'> {
  /** Size on disk (compressed for gzip). */
  fileSize: number;
}

/** The result of reading a set: each file, the whole as one CaptureInfo, and the frame map. */
export interface MergeResult {
  /** The set as one capture: sums, the union of link types, every file's findings and the merge's own. */
  info: CaptureInfo;
  files: MergedFile[];
  frames: FrameMap;
}

/** A packet of the merged stream: rec.frame is the global frame; `file` indexes the files given. */
export type MergedPacketCallback = (rec: PacketRecord, file: number, localFrame: number) => void;

export interface MergeOptions extends Omit<ReadOptions, 'chunkSize'> {
  /** What the set is called in findings and CaptureInfo.name. */
  name?: string;
  /** Bytes per reader buffer; by default 4 MiB while at most two files are open at once, less beyond. */
  chunkSize?: number;
  /** The map to fill as packets are merged (the dashboard re-reads packets while the set is still being read). */
  frames?: FrameMap;
}

/** Chunk for the peek at a file's first packet (grown by the reader when a first block is bigger). */
const PEEK_CHUNK = 64 << 10;
/** Buffer memory the open readers share when more than two are open at once (overlapping files). */
const SHARED_BUFFER_BYTES = 16 << 20;
const MIN_CHUNK = 256 << 10;
/** Files named one by one in a finding before "and N more". */
const LIST_MAX = 8;

/**
 * Global frame number → (file, frame in that file). One run per switch from one file to
 * another in merged order: a ring-buffer set has one run per file; files that interleave packet
 * by packet (two capture points) have up to one per packet, so the map is capped (12 bytes a
 * run) and says which frames it no longer covers.
 */
export class FrameMap {
  static readonly MAX_RUNS = 1 << 20;

  constructor(private readonly maxRuns = FrameMap.MAX_RUNS) {}

  private starts = new Float64Array(16);
  private locals = new Float64Array(16);
  private files = new Uint32Array(16);
  private runs = 0;
  /** Frames from here on are not mapped (the cap was reached); Infinity while complete. */
  private uncoveredFrom = Infinity;
  /** Frames merged so far. */
  total = 0;

  get complete(): boolean {
    return this.uncoveredFrom === Infinity;
  }

  /** A new run: global frame `frame` is frame `local` of file `file`, and the following frames follow it there. */
  add(frame: number, file: number, local: number): void {
    if (this.runs >= this.maxRuns) {
      if (this.uncoveredFrom === Infinity) this.uncoveredFrom = frame;
      return;
    }
    if (this.runs === this.starts.length) {
      const n = this.runs * 2;
      this.starts = grow(this.starts, new Float64Array(n));
      this.locals = grow(this.locals, new Float64Array(n));
      this.files = grow(this.files, new Uint32Array(n));
    }
    this.starts[this.runs] = frame;
    this.locals[this.runs] = local;
    this.files[this.runs] = file;
    this.runs++;
  }

  /** Where a global frame came from; null when there is no such frame or the map does not cover it. */
  locate(frame: number): { file: number; frame: number } | null {
    if (!(frame >= 1 && frame <= this.total && frame < this.uncoveredFrom) || this.runs === 0) return null;
    let lo = 0;
    let hi = this.runs - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= frame) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.files[lo]!, frame: this.locals[lo]! + (frame - this.starts[lo]!) };
  }

  /** A file's runs as [first global frame, its frame in the file, count], or null when the map is incomplete. */
  runsOf(file: number): [number, number, number][] | null {
    if (!this.complete) return null;
    const out: [number, number, number][] = [];
    for (let i = 0; i < this.runs; i++) {
      if (this.files[i] !== file) continue;
      const next = i + 1 < this.runs ? this.starts[i + 1]! : this.total + 1;
      out.push([this.starts[i]!, this.locals[i]!, next - this.starts[i]!]);
    }
    return out;
  }
}

function grow<T extends Float64Array | Uint32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Per file: a reader while open, the key it is ordered by, what it has read. */
interface Cursor {
  index: number;
  file: MergedFile;
  reader: ChunkReader | null;
  /** Time of its pending packet (open) or of its first packet (peeked, not open yet). */
  key: number;
  /** Packets before this time (at equal times: when this file was named later) go straight through. */
  limitTs: number;
  limitIndex: number;
  /**
   * Its first and last global frame (0: none yet) and earliest and latest time, kept here as
   * numbers from the start (not in MergedFile's null-initialised fields: writing a double to a
   * field that once held null allocates, per packet) and copied to the file at the end.
   */
  firstFrame: number;
  lastFrame: number;
  firstTs: number;
  lastTs: number;
  /** Packets earlier than one merged before them, and the first such. */
  backwards: number;
  firstBackwards: { frame: number; local: number; offset: number; by: number; after: string } | null;
}

/**
 * Reads every file and hands their packets to onPacket in timestamp order, numbered globally, in
 * mergecap's order (at equal times the file named later first). A record is valid only during
 * the callback, as with readCapture.
 * A file that cannot be read at all becomes a capture-file-skipped finding; only when no file
 * can be read does this throw (the first file's error).
 */
export async function readCaptures(paths: readonly string[], onPacket: MergedPacketCallback, opts: MergeOptions = {}): Promise<MergeResult> {
  return new Merge(paths, onPacket, opts).run();
}

class Merge {
  private readonly cursors: Cursor[];
  private readonly heap: Cursor[] = [];
  private readonly frames: FrameMap;
  private readonly findings: Finding[] = [];
  private frame = 0;
  private last: Cursor | null = null;
  /** Latest time merged so far, and where it came from. */
  private maxTs = -Infinity;
  private maxTsFrom: Cursor | null = null;
  private open = 0;
  private closedBytes = 0;
  private totalBytes = 0;
  private firstError: unknown = null;
  /** Buffers of closed files, for the next files to read into. */
  private readonly spare: Buffer[] = [];

  constructor(paths: readonly string[], private readonly onPacket: MergedPacketCallback, private readonly opts: MergeOptions) {
    this.frames = opts.frames ?? new FrameMap();
    this.cursors = paths.map((name, index) => ({
      index,
      file: {
        name, format: null, gzip: false, packets: 0, bytes: 0, fileSize: 0, linkTypes: [], truncated: false,
        firstFrame: null, lastFrame: null, firstTs: null, lastTs: null, skipped: null,
      },
      reader: null, key: 0, limitTs: -Infinity, limitIndex: -1,
      firstFrame: 0, lastFrame: 0, firstTs: Infinity, lastTs: -Infinity, backwards: 0, firstBackwards: null,
    }));
  }

  async run(): Promise<MergeResult> {
    try {
      for (const c of this.cursors) {
        if (this.opts.signal?.aborted) break;
        if (await this.peek(c)) this.push(c);
      }
      this.progress();
      while (this.heap.length > 0 && !this.opts.signal?.aborted) {
        const c = this.pop();
        if (c.reader === null) {
          // Its first packet is due: open it for good and read up to that packet again.
          if (await this.openAtFirst(c, this.chunkFor(this.open + 1))) this.push(c);
          continue;
        }
        const next = this.heap[0];
        c.limitTs = next ? next.key : Infinity;
        c.limitIndex = next ? next.index : Infinity;
        this.emit(c.reader.ctx.rec, c);
        if (await this.advance(c)) {
          c.key = c.reader.ctx.rec.ts;
          this.push(c);
        } else {
          await this.close(c);
        }
      }
    } finally {
      // Aborted (or failed): let go of whatever is still open.
      for (const c of this.cursors) if (c.reader) await this.close(c, false);
    }
    this.frames.total = this.frame;
    return this.result();
  }

  /** Reads up to the file's first packet to learn its time, then closes it. False when it has none. */
  private async peek(c: Cursor): Promise<boolean> {
    if (!(await this.openAtFirst(c, PEEK_CHUNK))) return false;
    this.totalBytes += c.file.fileSize;
    await this.close(c, false);
    return true;
  }

  /**
   * Opens the file and reads until its first packet is pending. False (and the file noted as
   * skipped, or as read when it simply holds no packet) when there is none.
   */
  private async openAtFirst(c: Cursor, chunk: number): Promise<boolean> {
    try {
      // A closed file's buffer serves the next one; whoever still references its bytes hears first.
      const spare = chunk > PEEK_CHUNK ? this.spare.pop() : undefined;
      if (spare) this.opts.beforeReuse?.();
      const cap = await openCapture(c.file.name, chunk, this.opts.blocking, spare);
      if (cap.streaming) {
        // Peeked at, then read again from the start: a pipe cannot be.
        await cap.src.close();
        throw new FtpscopeError('capture-unsupported', `${c.file.name} is a pipe, which cannot be merged with other captures (it cannot be read twice)`,
          'save it to a file first');
      }
      c.file.format = cap.format;
      c.file.gzip = cap.gzip;
      c.file.fileSize = cap.fileSize;
      c.reader = new ChunkReader(cap, (rec) => this.arrive(rec, c));
      this.open++;
    } catch (e) {
      this.skip(c, e);
      return false;
    }
    c.limitTs = -Infinity; // the first packet pauses
    if (await this.advance(c)) {
      c.key = c.reader.ctx.rec.ts;
      return true;
    }
    await this.close(c);
    return false;
  }

  /** The parser's callback: pass the packet on while it is due, else hold it (pause the reader). */
  private arrive(rec: PacketRecord, c: Cursor): void {
    const ts = rec.ts;
    if (ts < c.limitTs || (ts === c.limitTs && c.index > c.limitIndex)) this.emit(rec, c);
    else c.reader!.ctx.paused = true;
  }

  /**
   * Runs the cursor's reader until a packet is held (true) or the file ends (false). Its buffer
   * is overwritten only here, after beforeReuse: the packets handed on stay valid until then.
   */
  private async advance(c: Cursor): Promise<boolean> {
    const r = c.reader!;
    const o = this.opts;
    for (;;) {
      r.parse();
      if (r.paused) return true;
      if (r.ended || o.signal?.aborted) return false;
      o.beforeReuse?.();
      const wait = o.pace?.();
      if (wait) await wait;
      if (!(await r.refill())) {
        // A read error can leave buffered packets for one last parse (ChunkReader.refill).
        return r.paused;
      }
      this.progress();
    }
  }

  private emit(rec: PacketRecord, c: Cursor): void {
    const local = rec.frame;
    const frame = ++this.frame;
    if (c !== this.last) {
      this.frames.add(frame, c.index, local);
      this.last = c;
    }
    const ts = rec.ts;
    if (ts < this.maxTs) this.wentBack(c, rec, frame, local);
    else {
      this.maxTs = ts;
      this.maxTsFrom = c;
    }
    if (ts > c.lastTs) c.lastTs = ts;
    if (ts < c.firstTs) c.firstTs = ts;
    if (c.firstFrame === 0) c.firstFrame = frame;
    c.lastFrame = frame;
    this.frames.total = frame;
    rec.frame = frame;
    this.onPacket(rec, c.index, local);
  }

  /**
   * A packet earlier than one merged before it: the merge puts each file's packets in time
   * order against the other files, but keeps a file's own order, so this is a file whose
   * timestamps go backwards. Counted, and the first one remembered, per file.
   */
  private wentBack(c: Cursor, rec: PacketRecord, frame: number, local: number): void {
    if (c.backwards++ === 0) {
      const from = this.maxTsFrom;
      c.firstBackwards = { frame, local, offset: rec.fileOffset, by: this.maxTs - rec.ts, after: from ? from.file.name : '?' };
    }
  }

  /** Closes the file; with `record`, what it read is kept (a peek is read again later, so it is not). */
  private async close(c: Cursor, record = true): Promise<void> {
    const r = c.reader;
    if (!r) return;
    c.reader = null;
    this.open--;
    if (r.buffer.length >= this.chunkFor(1) && this.spare.length < 2) this.spare.push(r.buffer);
    try {
      if (!record) return;
      this.closedBytes += r.cap.src.fileBytesRead;
      let info: CaptureInfo;
      try {
        info = r.finish();
      } catch (e) {
        this.skip(c, e);
        return;
      }
      const f = c.file;
      f.packets = info.packets;
      f.bytes = info.bytes;
      f.linkTypes = info.linkTypes;
      f.truncated = info.truncated;
      for (const x of info.findings) pushFinding(this.findings, x);
      if (r.parser instanceof PcapngParser && !r.cap.gzip && !r.cap.streaming && !this.opts.signal?.aborted
        && r.parser.sections.length < PcapngParser.MAX_SECTIONS_KEPT) {
        // readFrame then reads this file's packets by offset, as after readCapture.
        rememberSections(f.name, r.cap.fileSize, r.cap.mtimeMs, r.parser.sections);
      }
    } finally {
      await r.cap.src.close();
    }
  }

  private skip(c: Cursor, e: unknown): void {
    if (!(e instanceof FtpscopeError)) throw e;
    this.firstError ??= e;
    c.file.skipped = e.message;
    const others = this.cursors.length - 1;
    pushFinding(this.findings, finding('error', 'capture-file-skipped',
      `${e.message}; this file was skipped, the other ${others} file${others === 1 ? '' : 's'} of the set were read`));
  }

  /** Smaller buffers when many files overlap in time and are open at once; bounded in total. */
  private chunkFor(openFiles: number): number {
    if (this.opts.chunkSize) return this.opts.chunkSize;
    if (openFiles <= 2) return CHUNK_SIZE;
    return Math.max(MIN_CHUNK, Math.floor(SHARED_BUFFER_BYTES / openFiles));
  }

  private progress(): void {
    const p = this.opts.onProgress;
    if (!p) return;
    let read = this.closedBytes;
    for (const c of this.cursors) if (c.reader) read += c.reader.cap.src.fileBytesRead;
    p(read, this.totalBytes);
  }

  private result(): MergeResult {
    for (const c of this.cursors) {
      if (c.firstFrame === 0) continue;
      Object.assign(c.file, { firstFrame: c.firstFrame, lastFrame: c.lastFrame, firstTs: c.firstTs, lastTs: c.lastTs });
    }
    const files = this.cursors.map((c) => c.file);
    const read = files.filter((f) => f.skipped === null);
    if (read.length === 0 && this.firstError) {
      const e = this.firstError as FtpscopeError;
      throw files.length === 1 ? e : new FtpscopeError(e.code, `none of the ${files.length} captures could be read; the first: ${e.message}`, e.hint);
    }
    this.addMergeFindings();
    const linkTypes: string[] = [];
    for (const f of read) for (const l of f.linkTypes) if (!linkTypes.includes(l)) linkTypes.push(l);
    const info: CaptureInfo = {
      name: this.opts.name ?? files.map((f) => f.name).join(' + '),
      format: read[0]?.format ?? 'pcap',
      gzip: read.some((f) => f.gzip),
      packets: read.reduce((n, f) => n + f.packets, 0),
      bytes: read.reduce((n, f) => n + f.bytes, 0),
      linkTypes,
      truncated: read.some((f) => f.truncated),
      comments: [],
      findings: this.findings,
    };
    return { info, files, frames: this.frames };
  }

  /** Time going backwards inside a file, files overlapping in time, link types that differ between files. */
  private addMergeFindings(): void {
    for (const c of this.cursors) {
      const b = c.firstBackwards;
      if (!b) continue;
      pushFinding(this.findings, finding('warning', 'capture-time-backwards',
        `${c.file.name}: time goes backwards at its frame ${b.local} (byte ${b.offset}; frame ${b.frame} of the merged set), ` +
        `${fmtSec(b.by)} before ${b.after === c.file.name ? 'an earlier packet of the same file' : `a packet of ${b.after} merged before it`}; ` +
        `${c.backwards} of its packets are earlier than a packet merged before them (the merge keeps each file's own order; ` +
        'sort the file with reordercap if the analysis looks wrong)', b.frame));
    }
    const withPackets = this.cursors.filter((c) => c.file.firstTs !== null).sort((a, b) => a.file.firstTs! - b.file.firstTs! || a.index - b.index);
    const overlaps: string[] = [];
    let latest: Cursor | null = null;
    for (const c of withPackets) {
      if (latest && c.file.firstTs! < latest.file.lastTs!) {
        overlaps.push(`${c.file.name} starts ${fmtSec(latest.file.lastTs! - c.file.firstTs!)} before ${latest.file.name} ends`);
      }
      if (!latest || c.file.lastTs! > latest.file.lastTs!) latest = c;
    }
    if (overlaps.length > 0) {
      const shown = overlaps.slice(0, LIST_MAX).join('; ') + (overlaps.length > LIST_MAX ? `; and ${overlaps.length - LIST_MAX} more` : '');
      pushFinding(this.findings, finding('info', 'capture-files-overlap',
        `files overlap in time: ${shown}; their packets were merged in time order (if they saw the same traffic at two points, it is counted twice)`));
    }
    const byLink = new Map<string, string[]>();
    for (const c of this.cursors) {
      if (c.file.skipped !== null || c.file.packets === 0) continue;
      const key = c.file.linkTypes.join('/');
      byLink.set(key, [...(byLink.get(key) ?? []), c.file.name]);
    }
    if (byLink.size > 1) {
      const parts = [...byLink].map(([l, names]) => `${l}: ${names.slice(0, LIST_MAX).join(', ')}${names.length > LIST_MAX ? ` and ${names.length - LIST_MAX} more` : ''}`);
      pushFinding(this.findings, finding('info', 'capture-files-link-types',
        `the files have different link types (${parts.join('; ')}); each packet is decoded with its own file's link type`));
    }
  }

  private push(c: Cursor): void {
    const h = this.heap;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Cursor {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Merge order: earlier time first; at equal times, the file named later, as mergecap does (its
 * earliest() keeps the last of equal times). Frame numbers then match Wireshark's on the file
 * `mergecap` writes from the same files in the same order.
 */
function before(a: Cursor, b: Cursor): boolean {
  return a.key < b.key || (a.key === b.key && a.index > b.index);
}

function fmtSec(s: number): string {
  return s >= 1 ? `${s.toFixed(3)} s` : `${(s * 1000).toFixed(3)} ms`;
}

/**
 * Re-reads one packet of a merged set by its global frame, for full dissection: from its own
 * file, at its offset, when the frame map covers it; else by merging the set again up to it.
 * The record is a copy (frame = the global frame, origin = file and frame there).
 */
export async function readMergedFrame(paths: readonly string[], frames: FrameMap, frame: number, fileOffset?: number): Promise<PacketRecord> {
  const at = frames.locate(frame);
  if (at) {
    const file = paths[at.file]!;
    const { rec } = await readFrame(file, at.frame, fileOffset);
    return { ...rec, frame, origin: { file, frame: at.frame } };
  }
  const abort = new AbortController();
  let found: PacketRecord | null = null;
  const m = await readCaptures(paths, (rec, f, local) => {
    if (rec.frame !== frame) return;
    found = { ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0, origin: { file: paths[f]!, frame: local } };
    abort.abort();
  }, { signal: abort.signal });
  if (!found) {
    throw new FtpscopeError('frame-not-found', `${m.info.name}: there is no frame ${frame}; the ${paths.length} files have ${m.info.packets} frames`,
      'give a frame number shown by the report');
  }
  return found;
}

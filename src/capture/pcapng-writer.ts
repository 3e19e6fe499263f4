import type { Writable } from 'node:stream';
import { FtpscopeError } from '../errors.js';
import { FileSink, STAGING } from './file-sink.js';
import { VERSION } from '../version.js';
import { MAX_CAPLEN } from './parser.js';
import { BT_EPB, BT_IDB, BT_SHB, BYTE_ORDER_MAGIC, IF_NAME, IF_TSOFFSET, IF_TSRESOL, OPT_COMMENT, SHB_USERAPPL } from './pcapng.js';

const IF_DESCRIPTION = 3;
const SHB_OS = 3;

export interface PcapngWriterOptions {
  /** Section comment (opt_comment of the SHB). */
  comment?: string;
  /** shb_userappl; "ftpscope <version>" by default. */
  userAppl?: string;
  /** shb_os, e.g. "Linux 6.1". */
  os?: string;
  /**
   * Bytes staged or handed to the stream but not yet written. With overflow 'drop', packets
   * beyond this are dropped (counted). With 'wait' the writer is `congested` above a quarter of
   * it, and drops (counted) only past WAIT_HARD_CAP more: producers that wait hand over at most
   * what they already hold (the proxy: one read per relay, on two legs) before they see it.
   */
  maxPendingBytes?: number;
  /**
   * What happens when the disk falls behind: 'drop' packets (counted; a live capture cannot
   * make the network wait), or 'wait': keep them and report `congested` so the producer pauses
   * (the proxy's recording, which is evidence).
   */
  overflow?: 'drop' | 'wait';
  /** Staged blocks reach the file at least this often (ms; 0: only when STAGING bytes are staged, and at close). */
  flushIntervalMs?: number;
}

/** What an Interface Statistics Block at the end of the file says about one interface. */
export interface InterfaceStatistics {
  /** Packets the source saw (isb_ifrecv). */
  received?: number;
  /** Packets lost before they reached the writer, e.g. by the kernel (isb_ifdrop). */
  interfaceDropped?: number;
  /** Why packets were lost, in words (opt_comment); the reader turns it into a finding. */
  comment?: string;
}

export interface InterfaceOptions {
  snaplen?: number;
  name?: string;
  description?: string;
  /** Timestamp resolution: 6 (µs, the default) or 9 (ns). */
  tsresol?: 6 | 9;
  /**
   * Any if_tsresol value (10^-n, or 2^-n with the top bit set), for writePacketUnits: an export
   * declares the resolution its source interface had, so timestamps are copied, not converted.
   */
  tsresolCode?: number;
  /** if_tsoffset in seconds (added to every timestamp of the interface). */
  tsoffset?: number;
}

/** Written staging buffers kept for reuse (bounded: what a congested queue holds is not kept after it drains). */
const MAX_SPARE = 2;
/**
 * overflow 'wait': how far past maxPendingBytes the queue may grow before packets are dropped
 * anyway. The proxy's relays check for congestion between reads, so a read in flight when the
 * writer turns congested still arrives: at most all relays' read buffers (64 MiB of growth shared,
 * data.ts) recorded on two legs, plus their base buffers and headers. Bounded memory, never
 * reached by producers that wait.
 */
const WAIT_HARD_CAP = 256 << 20;
export const BT_ISB = 0x00000005;
const ISB_STARTTIME = 2;
const ISB_ENDTIME = 3;
const ISB_IFRECV = 4;
const ISB_IFDROP = 5;
const ISB_USRDELIV = 8;

/** An interface of the file being written, with what was written and dropped on it. */
interface WriterInterface {
  tsresol: number;
  snaplen: number;
  written: number;
  dropped: number;
  /** Times (seconds) of the first and last packet written; 0 before the first. */
  first: number;
  last: number;
}

/**
 * Writes pcapng (little-endian, one section): SHB, IDBs, EPBs, and at close one ISB per
 * interface (packets written, packets dropped, and why). Blocks are staged in a 4 MiB buffer and
 * handed over in big chunks: to a file (given a path: FileSink, straight to the disk where the
 * system allows it) or to a stream. Memory stays bounded: if the disk falls behind by more
 * than maxPendingBytes, packets are dropped and counted rather than queued (overflow 'drop'),
 * or the writer says it is `congested` so the producer waits (overflow 'wait').
 */
export class PcapngWriter {
  packets = 0;
  dropped = 0;
  bytesWritten = 0;
  /** The output: a file (given a path) or a stream. */
  private readonly file: FileSink | null = null;
  private readonly stream: Writable | null = null;
  private readonly name: string;
  private readonly maxPending: number;
  private readonly overflow: 'drop' | 'wait';
  private readonly highWater: number;
  private readonly interfaces: WriterInterface[] = [];
  private staging: Buffer;
  /** The staging buffer as little-endian words (it is 4-byte aligned: allocUnsafe of STAGING bytes is not pooled), for EPB headers. */
  private words: Uint32Array | null;
  private used = 0;
  /** The last packet's timestamp in units (a chunk's segments share one): [ts, tsresol, high, low]. */
  private lastTs: [number, number, number, number] = [Number.NaN, 0, 0, 0];
  private failure: Error | null = null;
  private closed = false;
  private readonly flushTimer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];

  /** target: a file path (created or truncated now, so a bad path fails here) or a writable stream. */
  constructor(target: string | Writable, opts: PcapngWriterOptions = {}) {
    const failed = (e: Error): void => {
      this.failure ??= e;
      this.wake(); // nothing more will be written: producers waiting must not wait for ever
    };
    if (typeof target === 'string') {
      try {
        this.file = new FileSink(target, () => this.wake(), failed);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new FtpscopeError('output-unwritable', `cannot write ${target}: ${err.code === 'EACCES' ? 'permission denied' : err.code === 'ENOENT' ? 'no such directory' : err.message}`, 'choose a path in a writable directory');
      }
      this.name = target;
    } else {
      this.stream = target;
      this.stream.on('error', failed);
      this.name = 'the output stream';
    }
    this.staging = this.file ? this.file.take() : Buffer.allocUnsafe(STAGING);
    this.words = wordsOf(this.staging);
    this.maxPending = opts.maxPendingBytes ?? 64 << 20;
    this.overflow = opts.overflow ?? 'drop';
    this.highWater = this.overflow === 'wait' ? this.maxPending >>> 2 : this.maxPending;
    if (opts.flushIntervalMs) {
      // A recording that is stopped by a crash or kill -9 loses at most this much of its end.
      this.flushTimer = setInterval(() => this.flush(true), opts.flushIntervalMs);
      this.flushTimer.unref();
    }
    const options: [number, Buffer][] = [];
    if (opts.comment) options.push([OPT_COMMENT, Buffer.from(opts.comment, 'utf8')]);
    if (opts.os) options.push([SHB_OS, Buffer.from(opts.os, 'utf8')]);
    options.push([SHB_USERAPPL, Buffer.from(opts.userAppl ?? `ftpscope ${VERSION}`, 'utf8')]);
    const body = Buffer.alloc(16);
    body.writeUInt32LE(BYTE_ORDER_MAGIC, 0);
    body.writeUInt16LE(1, 4);
    body.writeUInt16LE(0, 6);
    body.writeBigInt64LE(-1n, 8); // section length unknown
    this.block(BT_SHB, body, encodeOptions(options));
  }

  /** Declares an interface; returns its id for writePacket. */
  addInterface(linkType: number, opts: InterfaceOptions = {}): number {
    const tsresol = opts.tsresolCode ?? opts.tsresol ?? 6;
    const snaplen = opts.snaplen ?? MAX_CAPLEN;
    const body = Buffer.alloc(8);
    body.writeUInt16LE(linkType, 0);
    body.writeUInt32LE(snaplen, 4);
    const options: [number, Buffer][] = [];
    if (opts.name) options.push([IF_NAME, Buffer.from(opts.name, 'utf8')]);
    if (opts.description) options.push([IF_DESCRIPTION, Buffer.from(opts.description, 'utf8')]);
    if (tsresol !== 6) options.push([IF_TSRESOL, Buffer.from([tsresol])]);
    if (opts.tsoffset) {
      const v = Buffer.alloc(8);
      v.writeBigInt64LE(BigInt(Math.trunc(opts.tsoffset)));
      options.push([IF_TSOFFSET, v]);
    }
    this.block(BT_IDB, body, encodeOptions(options));
    this.interfaces.push({ tsresol, snaplen, written: 0, dropped: 0, first: 0, last: 0 });
    return this.interfaces.length - 1;
  }

  /** Bytes staged or queued on the stream, not yet written. */
  get pendingBytes(): number {
    return this.queuedBytes + this.used;
  }

  /**
   * Bytes handed to the file or the stream and not yet written. (A file's last partial block
   * stays staged for its next direct write even once a complete flush has written it.)
   */
  get queuedBytes(): number {
    return this.file ? this.file.pending : this.stream!.writableLength;
  }

  /** Whether whole blocks go straight to the disk (a file on a system and file system with O_DIRECT). */
  get directIo(): boolean {
    return this.file?.directIo === true;
  }

  /** overflow 'wait': more is pending than the producer should add to; wait for whenWritable(). */
  get congested(): boolean {
    return this.overflow === 'wait' && !this.failure && !this.closed && this.queuedBytes > this.highWater;
  }

  /** Calls `cb` once the writer is no longer congested (at once when it is not). */
  whenWritable(cb: () => void): void {
    if (!this.congested) cb();
    else this.waiters.push(cb);
  }

  /** Whether a packet arriving now would be dropped (counted by the caller's writePacket/reservePacket). */
  private full(): boolean {
    if (this.closed || this.failure) return true;
    const queued = this.queuedBytes;
    return this.overflow === 'wait' ? queued > this.maxPending + WAIT_HARD_CAP : queued > this.maxPending;
  }

  /**
   * Reserves an EPB for a packet of `length` bytes (already cut to the snaplen by the caller)
   * and writes everything but the packet bytes; returns the offset in `buffer` where exactly
   * `length` bytes are to be written, before any other call on the writer. -1 when the packet
   * is dropped. Lets a producer build the packet in place: its payload is copied once.
   */
  reservePacket(ifId: number, ts: number, length: number, wireLength = length, comment?: string): number {
    const iface = this.interfaces[ifId];
    if (!iface) throw new RangeError(`pcapng writer: interface ${ifId} was never added`);
    if (this.full()) {
      this.dropped++;
      iface.dropped++;
      return -1;
    }
    const caplen = Math.min(length, iface.snaplen, MAX_CAPLEN);
    if (caplen !== length) throw new RangeError(`pcapng writer: reservePacket of ${length} bytes over the snaplen ${iface.snaplen}`);
    const padded = (caplen + 3) & ~3;
    const opts = comment ? encodeOptions([[OPT_COMMENT, Buffer.from(comment, 'utf8')]]) : null;
    const total = 32 + padded + (opts ? opts.length : 0);
    const b = this.reserve(total);
    let p = this.used;
    // The hot path of the proxy's recording: header words written straight into the aligned staging buffer.
    const t = this.lastTs;
    if (t[0] !== ts || t[1] !== iface.tsresol) {
      writeTimestamp(b, p + 12, ts, iface.tsresol as 6 | 9);
      t[0] = ts;
      t[1] = iface.tsresol;
      t[2] = b.readUInt32LE(p + 12);
      t[3] = b.readUInt32LE(p + 16);
    }
    const w = this.words;
    if (w !== null && (p & 3) === 0) {
      const i = p >>> 2;
      w[i] = BT_EPB;
      w[i + 1] = total;
      w[i + 2] = ifId;
      w[i + 3] = t[2];
      w[i + 4] = t[3];
      w[i + 5] = caplen;
      w[i + 6] = Math.max(wireLength, caplen);
    } else {
      b.writeUInt32LE(BT_EPB, p);
      b.writeUInt32LE(total, p + 4);
      b.writeUInt32LE(ifId, p + 8);
      b.writeUInt32LE(t[2], p + 12);
      b.writeUInt32LE(t[3], p + 16);
      b.writeUInt32LE(caplen, p + 20);
      b.writeUInt32LE(Math.max(wireLength, caplen), p + 24);
    }
    const at = p + 28;
    for (let i = at + caplen; i < at + padded; i++) b[i] = 0;
    this.endEpb(b, at + padded, opts, total, iface, ts);
    return at;
  }

  /** The staging buffer reservePacket's offsets point into (valid until the next call on the writer). */
  get buffer(): Buffer {
    return this.staging;
  }

  /**
   * Packets an interface's source lost before the writer (a kernel's drops): they go in its ISB
   * at close, with the writer's own drops, so any reader of the file learns of them.
   */
  setInterfaceStatistics(ifId: number, stats: InterfaceStatistics): void {
    this.ifStats.set(ifId, stats);
  }

  private readonly ifStats = new Map<number, InterfaceStatistics>();

  /**
   * Appends one packet. ts is epoch seconds; data longer than the interface snaplen is cut (its
   * wire length kept). Returns false when the packet was dropped (writer behind, failed or closed).
   */
  writePacket(ifId: number, ts: number, data: Buffer, wireLength = data.length, comment?: string): boolean {
    return this.writeEpb(ifId, (b, at, tsresol) => writeTimestamp(b, at, ts, tsresol as 6 | 9), data, wireLength, comment, ts);
  }

  /**
   * Appends one packet whose timestamp is given as a count of the interface's units (its
   * if_tsresol), written as is: no rounding through seconds as a double.
   */
  writePacketUnits(ifId: number, units: bigint, data: Buffer, wireLength = data.length, comment?: string): boolean {
    return this.writeEpb(ifId, (b, at) => {
      b.writeUInt32LE(Number((units >> 32n) & 0xffffffffn), at);
      b.writeUInt32LE(Number(units & 0xffffffffn), at + 4);
    }, data, wireLength, comment, null);
  }

  /** `ts` (seconds), when known, feeds the interface's statistics (the ISB's start and end times). */
  private writeEpb(ifId: number, stamp: (b: Buffer, at: number, tsresol: number) => void, data: Buffer, wireLength: number, comment: string | undefined, ts: number | null): boolean {
    const iface = this.interfaces[ifId];
    if (!iface) throw new RangeError(`pcapng writer: interface ${ifId} was never added`);
    if (this.full()) {
      this.dropped++;
      iface.dropped++;
      return false;
    }
    const caplen = Math.min(data.length, iface.snaplen, MAX_CAPLEN);
    const padded = (caplen + 3) & ~3;
    const opts = comment ? encodeOptions([[OPT_COMMENT, Buffer.from(comment, 'utf8')]]) : null;
    const total = 32 + padded + (opts ? opts.length : 0);
    const b = this.reserve(total);
    let p = this.used;
    b.writeUInt32LE(BT_EPB, p);
    b.writeUInt32LE(total, p + 4);
    b.writeUInt32LE(ifId, p + 8);
    stamp(b, p + 12, iface.tsresol);
    b.writeUInt32LE(caplen, p + 20);
    b.writeUInt32LE(Math.max(wireLength, caplen), p + 24);
    data.copy(b, p + 28, 0, caplen);
    b.fill(0, p + 28 + caplen, p + 28 + padded);
    this.endEpb(b, p + 28 + padded, opts, total, iface, ts);
    return true;
  }

  /**
   * An EPB's end, from `p` (after its padded data): options, the trailing length, the counts, and
   * the interface's first and last times when `ts` (seconds) is known.
   */
  private endEpb(b: Buffer, p: number, opts: Buffer | null, total: number, iface: WriterInterface, ts: number | null): void {
    if (opts) {
      opts.copy(b, p);
      p += opts.length;
    }
    b.writeUInt32LE(total, p);
    this.used += total;
    this.packets++;
    iface.written++;
    if (ts !== null) {
      if (iface.first === 0) iface.first = ts;
      iface.last = ts;
    }
  }

  /**
   * Hands the staged blocks over. A file may keep the last partial block staged for its next
   * direct write, unless `complete` (the periodic flush, the end): then every byte goes now.
   */
  flush(complete = true): void {
    if (this.used === 0) return;
    if (this.file) {
      const before = this.used;
      const next = this.file.hand(this.staging, this.used, complete || this.closed || this.failure !== null);
      if (next.buffer !== this.staging) {
        this.staging = next.buffer;
        this.words = wordsOf(this.staging);
      }
      this.used = next.used;
      this.bytesWritten += before - next.used;
      return;
    }
    const full = this.staging;
    const chunk = full.subarray(0, this.used);
    // Staging buffers come back once written: a bulk recording reuses a few instead of faulting in
    // fresh pages for every staging buffer (and leaving them to the garbage collector).
    this.staging = this.spare.pop() ?? Buffer.allocUnsafe(STAGING);
    this.words = wordsOf(this.staging);
    this.used = 0;
    this.bytesWritten += chunk.length;
    if (this.failure) return;
    this.stream!.write(chunk, () => {
      if (full.length === STAGING && this.spare.length < MAX_SPARE) this.spare.push(full);
      this.wake();
    });
  }

  private readonly spare: Buffer[] = [];

  /** Runs the producers waiting for room once the queue is below the high-water mark again. */
  private wake(): void {
    if (this.waiters.length === 0 || this.congested) return;
    const list = this.waiters;
    this.waiters = [];
    for (const cb of list) cb();
  }

  /** Flushes, ends the stream and waits until it is written; rejects with output-unwritable on failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.flushTimer) clearInterval(this.flushTimer);
    this.statistics();
    this.flush(true);
    this.closed = true;
    this.wake();
    await new Promise<void>((resolve) => {
      if (this.file) return this.file.close(resolve);
      if (this.failure) return resolve();
      this.stream!.once('error', () => resolve());
      this.stream!.end(() => resolve());
    });
    if (this.failure) {
      const err = this.failure as NodeJS.ErrnoException;
      throw new FtpscopeError('output-unwritable', `writing ${this.name} failed: ${err.code ?? err.message}`, 'check free disk space and permissions');
    }
  }

  /**
   * One ISB per interface that lost packets or has statistics: what was received, what was
   * dropped (by the source and by this writer), and a comment saying why.
   */
  private statistics(): void {
    this.interfaces.forEach((iface, ifId) => {
      const st = this.ifStats.get(ifId);
      const lost = (st?.interfaceDropped ?? 0) + iface.dropped;
      if (!st && lost === 0) return;
      const body = Buffer.alloc(12);
      body.writeUInt32LE(ifId, 0);
      // Times only in the units this writer converts seconds to (an export may declare others: then 0 and no start/end).
      const known = iface.tsresol === 6 || iface.tsresol === 9;
      if (known) writeTimestamp(body, 4, iface.last || Date.now() / 1000, iface.tsresol as 6 | 9);
      const u64 = (n: number): Buffer => {
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(BigInt(Math.max(0, Math.floor(n))));
        return b;
      };
      const ts = (t: number): Buffer => {
        const b = Buffer.alloc(8);
        writeTimestamp(b, 0, t, iface.tsresol as 6 | 9);
        return b;
      };
      const options: [number, Buffer][] = [];
      if (st?.comment || iface.dropped > 0) {
        const why = [st?.comment, iface.dropped > 0 ? `${iface.dropped} packets not written: the disk could not keep up` : undefined]
          .filter(Boolean).join('; ');
        options.push([OPT_COMMENT, Buffer.from(why, 'utf8')]);
      }
      if (known && iface.first) options.push([ISB_STARTTIME, ts(iface.first)]);
      if (known && iface.last) options.push([ISB_ENDTIME, ts(iface.last)]);
      options.push([ISB_IFRECV, u64(st?.received ?? iface.written + iface.dropped)]);
      options.push([ISB_IFDROP, u64(lost)]);
      options.push([ISB_USRDELIV, u64(iface.written)]);
      this.block(BT_ISB, body, encodeOptions(options));
    });
  }

  private reserve(n: number): Buffer {
    if (this.used + n > this.staging.length) this.flush(false);
    if (this.used + n > this.staging.length) {
      // A block bigger than a staging buffer (or than what a partial block carried over leaves):
      // a buffer of its own, the carried bytes moved along.
      const big = Buffer.allocUnsafe(this.used + n);
      this.staging.copy(big, 0, 0, this.used);
      this.staging = big;
      this.words = wordsOf(this.staging);
    }
    return this.staging;
  }

  private block(type: number, body: Buffer, options: Buffer): void {
    const total = 12 + body.length + options.length;
    const b = this.reserve(total);
    b.writeUInt32LE(type, this.used);
    b.writeUInt32LE(total, this.used + 4);
    body.copy(b, this.used + 8);
    options.copy(b, this.used + 8 + body.length);
    b.writeUInt32LE(total, this.used + total - 4);
    this.used += total;
  }
}

/** Host-order 32-bit words over a buffer, when the host is little-endian and the buffer aligned; else null. */
function wordsOf(b: Buffer): Uint32Array | null {
  if (!LITTLE_ENDIAN_HOST || (b.byteOffset & 3) !== 0) return null;
  return new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Options (code, length, value padded to 4) ending with opt_endofopt; empty when there are none. */
function encodeOptions(options: [number, Buffer][]): Buffer {
  if (options.length === 0) return Buffer.alloc(0);
  const size = options.reduce((n, [, v]) => n + 4 + ((Math.min(v.length, 0xffff) + 3) & ~3), 4);
  const out = Buffer.alloc(size);
  let p = 0;
  for (const [code, value] of options) {
    const v = value.subarray(0, 0xffff);
    out.writeUInt16LE(code, p);
    out.writeUInt16LE(v.length, p + 2);
    v.copy(out, p + 4);
    p += 4 + ((v.length + 3) & ~3);
  }
  return out; // the last 4 zero bytes are opt_endofopt
}

function writeTimestamp(b: Buffer, at: number, ts: number, tsresol: 6 | 9): void {
  if (tsresol === 6) {
    const units = Math.round(ts * 1e6);
    b.writeUInt32LE(Math.floor(units / 4294967296), at);
    b.writeUInt32LE(units % 4294967296, at + 4);
    return;
  }
  const sec = Math.floor(ts);
  const units = BigInt(sec) * 1_000_000_000n + BigInt(Math.round((ts - sec) * 1e9));
  b.writeUInt32LE(Number(units >> 32n), at);
  b.writeUInt32LE(Number(units & 0xffffffffn), at + 4);
}

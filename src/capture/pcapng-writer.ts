import { createWriteStream, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { FtpscopeError } from '../errors.js';
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
  /** Bytes handed to the stream but not yet written, beyond which packets are dropped (counted). */
  maxPendingBytes?: number;
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

const STAGING = 1 << 20;

/**
 * Writes pcapng (little-endian, one section): SHB, IDBs, EPBs. Blocks are staged in a 1 MiB
 * buffer and handed to the stream in big chunks. Memory stays bounded: if the disk falls behind
 * by more than maxPendingBytes, packets are dropped and counted rather than queued.
 */
export class PcapngWriter {
  packets = 0;
  dropped = 0;
  bytesWritten = 0;
  private readonly stream: Writable;
  private readonly name: string;
  private readonly maxPending: number;
  private readonly interfaces: { tsresol: number; snaplen: number }[] = [];
  private staging = Buffer.allocUnsafe(STAGING);
  private used = 0;
  private failure: Error | null = null;
  private closed = false;

  /** target: a file path (created or truncated now, so a bad path fails here) or a writable stream. */
  constructor(target: string | Writable, opts: PcapngWriterOptions = {}) {
    if (typeof target === 'string') {
      let fd: number;
      try {
        fd = openSync(target, 'w');
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new FtpscopeError('output-unwritable', `cannot write ${target}: ${err.code === 'EACCES' ? 'permission denied' : err.code === 'ENOENT' ? 'no such directory' : err.message}`, 'choose a path in a writable directory');
      }
      this.stream = createWriteStream(target, { fd });
      this.name = target;
    } else {
      this.stream = target;
      this.name = 'the output stream';
    }
    this.maxPending = opts.maxPendingBytes ?? 64 << 20;
    this.stream.on('error', (e) => { this.failure ??= e; });
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
    this.interfaces.push({ tsresol, snaplen });
    return this.interfaces.length - 1;
  }

  /**
   * Appends one packet. ts is epoch seconds; data longer than the interface snaplen is cut (its
   * wire length kept). Returns false when the packet was dropped (writer behind, failed or closed).
   */
  writePacket(ifId: number, ts: number, data: Buffer, wireLength = data.length, comment?: string): boolean {
    return this.writeEpb(ifId, (b, at, tsresol) => writeTimestamp(b, at, ts, tsresol as 6 | 9), data, wireLength, comment);
  }

  /**
   * Appends one packet whose timestamp is given as a count of the interface's units (its
   * if_tsresol), written as is: no rounding through seconds as a double.
   */
  writePacketUnits(ifId: number, units: bigint, data: Buffer, wireLength = data.length, comment?: string): boolean {
    return this.writeEpb(ifId, (b, at) => {
      b.writeUInt32LE(Number((units >> 32n) & 0xffffffffn), at);
      b.writeUInt32LE(Number(units & 0xffffffffn), at + 4);
    }, data, wireLength, comment);
  }

  private writeEpb(ifId: number, stamp: (b: Buffer, at: number, tsresol: number) => void, data: Buffer, wireLength: number, comment?: string): boolean {
    const iface = this.interfaces[ifId];
    if (!iface) throw new RangeError(`pcapng writer: interface ${ifId} was never added`);
    if (this.closed || this.failure || this.stream.writableLength > this.maxPending) {
      this.dropped++;
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
    p += 28 + padded;
    if (opts) {
      opts.copy(b, p);
      p += opts.length;
    }
    b.writeUInt32LE(total, p);
    this.used += total;
    this.packets++;
    return true;
  }

  /** Hands the staged blocks to the stream. */
  flush(): void {
    if (this.used === 0) return;
    const chunk = this.staging.subarray(0, this.used);
    this.staging = Buffer.allocUnsafe(STAGING);
    this.used = 0;
    this.bytesWritten += chunk.length;
    if (!this.failure) this.stream.write(chunk);
  }

  /** Flushes, ends the stream and waits until it is written; rejects with output-unwritable on failure. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    await new Promise<void>((resolve) => {
      if (this.failure) return resolve();
      this.stream.once('error', () => resolve());
      this.stream.end(() => resolve());
    });
    if (this.failure) {
      const err = this.failure as NodeJS.ErrnoException;
      throw new FtpscopeError('output-unwritable', `writing ${this.name} failed: ${err.code ?? err.message}`, 'check free disk space and permissions');
    }
  }

  private reserve(n: number): Buffer {
    if (this.used + n > this.staging.length) this.flush();
    if (n > this.staging.length) this.staging = Buffer.allocUnsafe(n);
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

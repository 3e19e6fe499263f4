import * as crypto from 'node:crypto';
import type { DataConnection, TransferDirection, TransferOutcome } from '../model/types.js';

/**
 * Streams one data connection's payload: counts and hashes each TCP direction as bytes
 * arrive, never keeping them. Which direction is "the file" is known only once the
 * transfer command is (download: FTP server → client; upload: client → server), so both
 * directions are hashed until the end; in practice only one carries bytes.
 *
 * A direction's first few KiB are kept and hashed in one call at the end: most data
 * connections (listings, small files) are that short, and setting up a streaming hash costs
 * more than hashing them. Past that, the bytes kept go into a streaming hash and nothing more
 * is kept. What all accumulators of one analysis keep together is bounded (HashHeads): past it,
 * new bytes go to a streaming hash at once. An accumulator dropped before finish() gives its
 * bytes back with discard().
 */
export class TransferAccumulator {
  private readonly hashes: [StreamHash | null, StreamHash | null] = [null, null];
  /** The bytes of a direction not yet hashed (while it is short). */
  private readonly heads: [Buffer | null, Buffer | null] = [null, null];
  readonly delivered: [number, number] = [0, 0];
  readonly missing: [number, number] = [0, 0];
  /** Holes per direction (adjacent gap events are one hole). */
  readonly holes: [number, number] = [0, 0];
  /** Whether the last event of a direction was a gap. */
  private inHole: [boolean, boolean] = [false, false];
  /** A gap in a direction makes its hash meaningless. */
  private readonly gapped: [boolean, boolean] = [false, false];

  /**
   * `hash` false: bytes are counted only and finish() gives no digest (the proxy's --no-hash).
   * `headBudget`: the budget shared by the analysis' accumulators. `hasher`: where long streams are
   * hashed (this thread unless the source says otherwise).
   */
  constructor(private readonly hash = true, private readonly headBudget: HashHeads = new HashHeads(), private readonly hasher: StreamHasher = IN_THREAD) {}

  data(tcpDir: 0 | 1, bytes: Buffer): void {
    this.delivered[tcpDir] += bytes.length;
    this.inHole[tcpDir] = false;
    if (this.gapped[tcpDir] || !this.hash) return;
    const h = this.hashes[tcpDir];
    if (h) {
      h.update(bytes);
      return;
    }
    const head = this.heads[tcpDir];
    const len = bytes.length;
    const budget = this.headBudget;
    if (budget.held + len <= budget.max) {
      if (head === null && len <= HEAD_BYTES) {
        this.heads[tcpDir] = Buffer.from(bytes);
        budget.held += len;
        return;
      }
      if (head !== null && head.length + len <= HEAD_BYTES) {
        this.heads[tcpDir] = Buffer.concat([head, bytes], head.length + len);
        budget.held += len;
        return;
      }
    }
    const stream = this.hashes[tcpDir] = this.hasher.create();
    if (head !== null) stream.update(head);
    this.release(tcpDir);
    stream.update(bytes);
  }

  gap(tcpDir: 0 | 1, length: number): void {
    this.missing[tcpDir] += length;
    if (!this.inHole[tcpDir]) this.holes[tcpDir]++;
    this.inHole[tcpDir] = true;
    this.gapped[tcpDir] = true;
    this.hashes[tcpDir]?.discard();
    this.hashes[tcpDir] = null;
    this.release(tcpDir);
  }

  /**
   * The TCP direction that carries the file: by the FTP direction when known (`ftpServerIsTcpClient`
   * tells which TCP side the FTP server is), else the direction with the most bytes.
   */
  static fileDirection(direction: TransferDirection | null, ftpServerIsTcpClient: boolean, acc: TransferAccumulator): 0 | 1 {
    if (direction === 'download' || direction === 'listing') return ftpServerIsTcpClient ? 0 : 1;
    if (direction === 'upload') return ftpServerIsTcpClient ? 1 : 0;
    const a = acc.delivered[0] + acc.missing[0];
    const b = acc.delivered[1] + acc.missing[1];
    return b > a ? 1 : 0;
  }

  /** Fill bytes/missingBytes/gaps of the data connection; returns the sha256 of the file direction, null after a gap. */
  finish(dc: DataConnection, fileDir: 0 | 1): string | null {
    dc.bytes = this.delivered[fileDir] + this.missing[fileDir];
    dc.missingBytes = this.missing[fileDir];
    dc.gaps = this.holes[fileDir];
    const h = this.hashes[fileDir];
    const head = this.heads[fileDir];
    this.hashes[fileDir] = null;
    this.discard();
    if (this.gapped[fileDir] || !this.hash) {
      h?.discard();
      return null;
    }
    if (h) return h.digest();
    // An empty transfer has a well-defined hash too (sha256 of nothing).
    return sha256Hex(head ?? EMPTY);
  }

  /** Lets go of what is kept for hashing (the accumulator will not be finished). */
  discard(): void {
    this.hashes[0]?.discard();
    this.hashes[1]?.discard();
    this.hashes[0] = this.hashes[1] = null;
    this.release(0);
    this.release(1);
  }

  private release(tcpDir: 0 | 1): void {
    const head = this.heads[tcpDir];
    if (head === null) return;
    this.headBudget.held -= head.length;
    this.heads[tcpDir] = null;
  }
}

/** A sha256 fed in pieces. */
export interface StreamHash {
  update(data: Uint8Array): void;
  /** Lower-case hex; null when it could not be computed (a hashing thread that is gone). Ends the hash. */
  digest(): string | null;
  /** Ends the hash unfinished. */
  discard(): void;
}

/** Where the streaming hashes of long transfers are computed: this thread, or the proxy's worker (proxy/hash-thread.ts). */
export interface StreamHasher {
  create(): StreamHash;
}

class InThreadHash implements StreamHash {
  private readonly h = crypto.createHash('sha256');
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): string {
    return this.h.digest('hex');
  }
  discard(): void {}
}

/** A sha256 computed on this thread. */
export function inThreadHash(): StreamHash {
  return new InThreadHash();
}

const IN_THREAD: StreamHasher = { create: inThreadHash };

/** A direction's bytes kept for one hashing call at the end, at most. */
const HEAD_BYTES = 4096;
/** What all accumulators of one analysis keep together, at most. */
const HEADS_BUDGET = 16 << 20;

/** The bytes an analysis' accumulators keep to hash at the end: `held` of at most `max`. */
export class HashHeads {
  held = 0;
  constructor(readonly max = HEADS_BUDGET) {}
}
const EMPTY = Buffer.alloc(0);

/** crypto.hash (one call, no Hash object) where Node has it (20.12 and later). */
const oneShot = crypto.hash as typeof crypto.hash | undefined;

function sha256Hex(data: Buffer): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * Whether a chunk of a file looks binary: a NUL byte, or more than a tenth of control bytes other
 * than tab, LF, VT, FF, CR and ESC, in its first 4 KiB. Text (any ASCII-compatible encoding) has neither.
 */
export function looksBinary(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, 4096);
  let control = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b === 0) return true;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0b && b !== 0x0c && b !== 0x0d && b !== 0x1b) control++;
  }
  return control * 10 > n;
}

/** A binary transfer that closed with other than the announced number of bytes (gaps included). */
export function sizeDiffers(dc: DataConnection): boolean {
  // ASCII-mode transfers legitimately change size (line endings), so sizes are compared in binary mode only.
  if (dc.expectedBytes === null || dc.transferType === 'A' || dc.direction === 'listing') return false;
  return dc.bytes !== dc.expectedBytes && dc.bytes !== dc.expectedBytes - (dc.restOffset ?? 0);
}

/**
 * How a transfer ended as the peers tell it (see TransferOutcome). `replyLost`: the control
 * connection closed, so a final reply not seen by now never came.
 */
export function transferOutcome(dc: DataConnection, replyLost: boolean): TransferOutcome {
  const fr = dc.finalReply;
  if (fr !== null && fr.code >= 400) return 'failed';
  if (dc.closeReason === 'rst') return 'failed';
  const closed = dc.closeReason === 'fin';
  if (closed && sizeDiffers(dc)) return 'failed';
  if (fr !== null && fr.code >= 200 && fr.code < 300) return 'ok';
  if (dc.command === null) return closed ? 'ok' : 'unknown';
  return replyLost ? 'failed' : 'unknown';
}

/** Why a transfer failed, in words. */
export function failureReasons(dc: DataConnection): string[] {
  const out: string[] = [];
  const fr = dc.finalReply;
  if (fr !== null && fr.code >= 400) out.push(`server replied ${fr.code}`);
  if (dc.closeReason === 'rst') out.push('data connection reset (RST)');
  if (dc.closeReason === 'fin' && sizeDiffers(dc)) out.push(`${dc.bytes} of ${dc.expectedBytes} bytes announced`);
  if (out.length === 0) out.push('no final reply before the control connection closed');
  return out;
}

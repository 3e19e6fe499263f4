import { createHash, type Hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture } from '../../src/capture/open.js';
import type { PacketRecord } from '../../src/capture/types.js';
import { FastDecoder, newFastPacket } from '../../src/dissect/fast.js';
import type { CloseReason, Dir, StreamHandler, TcpConnection } from '../../src/tcp/events.js';
import { TcpTracker, type TcpTrackerOptions } from '../../src/tcp/tracker.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const capturePath = (rel: string): string => join(ROOT, 'captures', rel);
export const expectedPath = (rel: string): string => join(ROOT, 'test', 'tcp', 'expected', rel);

/** A packet copied out of the reader (its record is only valid during the callback). */
export interface StoredPacket {
  frame: number;
  ts: number;
  linkType: number;
  bytes: Buffer;
  wirelen: number;
}

export async function loadPackets(rel: string): Promise<StoredPacket[]> {
  const out: StoredPacket[] = [];
  await readCapture(capturePath(rel), (rec) => {
    out.push({
      frame: rec.frame,
      ts: rec.ts,
      linkType: rec.linkType,
      bytes: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)),
      wirelen: rec.wirelen,
    });
  });
  return out;
}

export function toRecord(p: StoredPacket, tsShift = 0): PacketRecord {
  return {
    frame: p.frame,
    ts: p.ts + tsShift,
    linkType: p.linkType,
    buf: p.bytes,
    offset: 0,
    caplen: p.bytes.length,
    wirelen: p.wirelen,
    fileOffset: 0,
    interfaceId: 0,
  };
}

export interface ConnLog {
  conn: TcpConnection;
  opens: number;
  closes: { reason: CloseReason; ts: number; frame: number | null }[];
  /** Per direction: sha256 of the delivered bytes, chunks as [offset, length], gaps as [offset, length]. */
  hash: [Hash, Hash];
  chunks: [[number, number][], [number, number][]];
  gaps: [[number, number][], [number, number][]];
  /** Stream position reached per direction (delivered + gaps). */
  pos: [number, number];
  data: [Buffer[], Buffer[]];
  packets: number;
  eventsAfterClose: number;
  /** The handshake's SYN frame as it stood when open() was called. */
  synFrameAtOpen: number | null;
}

/** A StreamHandler that records everything it is told, and checks the event order as it goes. */
export class Recorder implements StreamHandler {
  readonly conns: ConnLog[] = [];
  private readonly byConn = new Map<TcpConnection, ConnLog>();

  constructor(private readonly keepData = false) {}

  open(conn: TcpConnection): void {
    const log: ConnLog = {
      conn, opens: 1, closes: [], hash: [createHash('sha256'), createHash('sha256')], chunks: [[], []], gaps: [[], []],
      pos: [0, 0], data: [[], []], packets: 0, eventsAfterClose: 0, synFrameAtOpen: conn.handshake.synFrame,
    };
    if (this.byConn.has(conn)) this.byConn.get(conn)!.opens++;
    else {
      this.byConn.set(conn, log);
      this.conns.push(log);
    }
  }

  data(conn: TcpConnection, dir: Dir, buf: Buffer, start: number, end: number): void {
    const bytes = buf.subarray(start, end);
    const log = this.log(conn);
    if (log.closes.length > 0) log.eventsAfterClose++;
    log.hash[dir].update(bytes);
    log.chunks[dir].push([log.pos[dir], bytes.length]);
    if (this.keepData) log.data[dir].push(Buffer.from(bytes));
    log.pos[dir] += bytes.length;
  }

  gap(conn: TcpConnection, dir: Dir, length: number): void {
    const log = this.log(conn);
    if (log.closes.length > 0) log.eventsAfterClose++;
    log.gaps[dir].push([log.pos[dir], length]);
    log.pos[dir] += length;
  }

  close(conn: TcpConnection, reason: CloseReason, ts: number, frame: number | null): void {
    this.log(conn).closes.push({ reason, ts, frame });
  }

  packet(conn: TcpConnection): void {
    this.log(conn).packets++;
  }

  sha256(log: ConnLog, dir: Dir): string {
    return log.hash[dir].copy().digest('hex');
  }

  private log(conn: TcpConnection): ConnLog {
    const log = this.byConn.get(conn);
    if (log === undefined) throw new Error(`event for connection ${conn.id} before open`);
    return log;
  }
}

/** Decode and push packets (in the order given) through a fresh tracker; end it at the last timestamp. */
export function track(
  packets: StoredPacket[],
  opts: TcpTrackerOptions = {},
  rec = new Recorder(),
  tsShift = 0,
): { rec: Recorder; tracker: TcpTracker } {
  const tracker = new TcpTracker(rec, opts);
  feed(tracker, packets, tsShift);
  tracker.end(Math.max(...packets.map((p) => p.ts)) + tsShift);
  return { rec, tracker };
}

export function feed(tracker: TcpTracker, packets: StoredPacket[], tsShift = 0): void {
  const decoder = new FastDecoder();
  const fp = newFastPacket();
  for (const p of packets) {
    const r = toRecord(p, tsShift);
    if (decoder.decode(r, fp)) tracker.push(fp, r);
  }
}

/** Rows of a zeek log as objects keyed by its #fields header. */
export function readZeekLog(path: string): Record<string, string>[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const fields = lines.find((l) => l.startsWith('#fields'))!.split('\t').slice(1);
  return lines
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i], v])));
}

/** Rows of a tshark -T fields -E header=y file as objects. */
export function readTsv(path: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
  const fields = head.split('\t');
  return rows.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [fields[i], v])));
}

/** Seeded PRNG (mulberry32) so permutation tests are reproducible: the one the capture tests use. */
export { prng as rng } from '../capture/helpers.js';

export function shuffle<T>(items: T[], rand: () => number): T[] {
  const a = items.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** A decoded view of a stored packet (copied out of the reused FastPacket). */
export interface Decoded {
  p: StoredPacket;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  ipVersion: 4 | 6;
  ipOffset: number;
  tcpOffset: number;
  payloadOffset: number;
  payloadLength: number;
}

export function decodeAll(packets: StoredPacket[]): Decoded[] {
  const decoder = new FastDecoder();
  const fp = newFastPacket();
  const out: Decoded[] = [];
  for (const p of packets) {
    if (!decoder.decode(toRecord(p), fp)) continue;
    out.push({
      p, src: fp.src, dst: fp.dst, srcPort: fp.srcPort, dstPort: fp.dstPort, seq: fp.seq, ack: fp.ack, flags: fp.flags,
      ipVersion: fp.ipVersion, ipOffset: fp.ipOffset, tcpOffset: fp.tcpOffset, payloadOffset: fp.payloadOffset,
      payloadLength: fp.payloadLength,
    });
  }
  return out;
}

/** Packets of the connection between two ports (either direction). */
export function connPackets(all: Decoded[], portA: number, portB: number): Decoded[] {
  return all.filter((d) => (d.srcPort === portA && d.dstPort === portB) || (d.srcPort === portB && d.dstPort === portA));
}

/**
 * A real packet re-cut: same headers, sequence number `seq`, payload `payload`, IP length fixed.
 * The fast path does not verify checksums, so they are left as they were.
 */
export function recut(d: Decoded, seq: number, payload: Buffer, frame = d.p.frame): StoredPacket {
  const bytes = Buffer.concat([d.p.bytes.subarray(0, d.payloadOffset), payload]);
  bytes.writeUInt32BE(seq >>> 0, d.tcpOffset + 4);
  if (d.ipVersion === 4) bytes.writeUInt16BE(bytes.length - d.ipOffset, d.ipOffset + 2);
  else bytes.writeUInt16BE(bytes.length - d.ipOffset - 40, d.ipOffset + 4);
  return { ...d.p, frame, bytes, wirelen: bytes.length };
}

/** A copy of a real packet with its seq and ack moved by the given amounts (a new ISN pair). */
export function shiftSeq(d: Decoded, seqDelta: number, ackDelta: number): StoredPacket {
  const bytes = Buffer.from(d.p.bytes);
  bytes.writeUInt32BE((d.seq + seqDelta) >>> 0, d.tcpOffset + 4);
  if (d.flags & 0x10) bytes.writeUInt32BE((d.ack + ackDelta) >>> 0, d.tcpOffset + 8);
  return { ...d.p, bytes };
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * --record FILE.pcapng: every leg the proxy handles (client-facing and server-facing, control
 * and data) as a TCP connection with synthesized headers: handshake, data segments no larger
 * than the MSS each acknowledged by the peer, FINs each acknowledged, or RST. Sequence and
 * acknowledgement numbers are consistent, so tshark and ftpscope reassemble the streams. The SYN
 * of a server-facing leg carries a comment naming its session (analysis/proxy-legs.ts).
 *
 * A recording is evidence: by default (overflow 'backpressure') nothing is dropped; when the
 * disk falls behind the recorder says it is `congested` and the data relays stop reading until
 * it has caught up. With overflow 'drop' packets the disk cannot take are left out, counted, and
 * said: at once (onDrop), in the exit summary, and in the file (an ISB with the count).
 *
 * The hot path (bulk data with no dashboard) builds each segment in the writer's own buffer:
 * headers from a per-direction template, the payload copied once, checksums from sums of the
 * payload computed once for both legs a chunk is relayed on.
 *
 * A connection opened with `payload: false` (a server-facing data leg: the relay copies data
 * unchanged, so its bytes are the client-facing leg's) has its data segments cut to their
 * headers, as a capture's snaplen cuts packets: lengths, sequence numbers and checksums are those
 * of the whole segment, the EPB keeps the original length, and the payload is written once per
 * relayed byte instead of twice (the disk's bandwidth is what a recording proxy runs out of).
 *
 * The same packets can also go to a ring of recent packets (the dashboard's packet list and
 * layer views), with or without a file; each one is announced to its connection's `onPacket`.
 */
import { isIPv4 } from 'node:net';
import type { RecentPackets } from '../capture/recent.js';
import { parseIpv4, parseIpv6 } from '../ftp/endpoints.js';
import type { Endpoint } from '../model/types.js';
import { buildFrame, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from './packets.js';

/** What the recorder needs from a pcapng writer (PcapngWriter from src/capture/pcapng-writer.ts fits). */
export interface PacketWriter {
  addInterface(linkType: number, opts?: { name?: string; snaplen?: number; description?: string }): number;
  writePacket(ifId: number, ts: number, data: Buffer, wireLength?: number, comment?: string): boolean | void;
  close(): Promise<void>;
  /** In-place writing (PcapngWriter): the offset in `buffer` for `length` packet bytes, or -1 when dropped. */
  reservePacket?(ifId: number, ts: number, length: number, wireLength?: number, comment?: string): number;
  readonly buffer?: Buffer;
  /** Packets the writer left out. */
  readonly dropped?: number;
  /** Backpressure: the writer wants the producer to wait for whenWritable(). */
  readonly congested?: boolean;
  whenWritable?(cb: () => void): void;
}

export interface RecordedConnection {
  client: Endpoint;
  server: Endpoint;
  /** Next sequence number per direction (0 client → server). */
  seq: [number, number];
  mss: number;
  /** Payload per data segment: SEGMENT_MSS × mss, as a capture on a host with segmentation offload shows them. */
  segment: number;
  ipId: [number, number];
  synFrame: number;
  /** Initial sequence numbers [client, server] of the synthesized handshake. */
  isn: [number, number];
  closed: boolean;
  /** Each packet of this connection as it is synthesized (frame numbers as in the recording). */
  onPacket?: (p: SynthesizedPacket) => void;
  /** Whether data segments keep their payload (false: cut to their headers, see the file's comment). */
  payload: boolean;
  /** Headers of a segment in each direction with everything but lengths, numbers, flags and checksums. */
  template: [Buffer, Buffer];
  /** One's complement sum of the pseudo-header's addresses and protocol, per direction. */
  pseudoSum: number;
}

/** What the packet list needs of a synthesized packet. */
export interface SynthesizedPacket {
  frame: number;
  ts: number;
  dir: 0 | 1;
  flags: number;
  seq: number;
  ack: number;
  len: number;
}

export type RecordOverflow = 'backpressure' | 'drop';

export interface OpenOptions {
  /** Hears of each packet of the connection as it is synthesized. */
  onPacket?: (p: SynthesizedPacket) => void;
  /** On the SYN (a server-facing leg names its session). */
  comment?: string;
  /** false: data segments are cut to their headers (their payload is recorded on another leg). */
  payload?: boolean;
}

const LINKTYPE_ETHERNET = 1;
const CLIENT_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const SERVER_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);
/** The window every synthesized segment advertises (no scaling option). */
export const WINDOW = 65535;
export const SYNTHESIZED_COMMENT = 'ftpscope proxy: Ethernet/IP/TCP headers synthesized by the proxy from socket data (not captured from the wire)';
const ETH = 14;
const TCP_HDR = 20;
/**
 * Data segments carry up to this many MSS of payload (64240 bytes over IPv4), as captures taken
 * on a sending host with TCP segmentation offload (TSO/GSO) show them: 44 times fewer packets to
 * build, write and read back than one per MSS, for the same bytes.
 */
export const SEGMENT_MSS = 44;

export class Recorder {
  private readonly ifId: number;
  private frames = 0;
  private commented = false;
  private failed: Error | null = null;
  /** The payload sums of the last chunk, per segment: a relayed chunk is recorded on two legs. */
  private memo: { bytes: Buffer | null; seg: number; sums: number[] } = { bytes: null, seg: 0, sums: [] };
  private dropsSeen = 0;

  /**
   * `writer` is the --record file (or none); `recent` keeps the latest packets for the dashboard
   * (or none); `onDrop` hears of packets the file could not take (overflow 'drop'), at most once
   * a second while they go on, with the total so far.
   */
  constructor(
    private readonly writer: PacketWriter | null,
    private readonly recent: RecentPackets | null = null,
    private readonly onDrop?: (total: number, final: boolean) => void,
  ) {
    this.ifId = writer ? writer.addInterface(LINKTYPE_ETHERNET, {
      name: 'ftpscope-proxy', snaplen: 262144,
      description: 'every leg the proxy relayed, with synthesized headers; server-facing legs are marked by a comment on their SYN',
    }) : 0;
  }

  get frameCount(): number { return this.frames; }
  get error(): Error | null { return this.failed; }
  /** Packets the file left out (overflow 'drop' only; 0 with backpressure unless the disk failed). */
  get dropped(): number { return this.writer?.dropped ?? 0; }

  /** True while the relays should wait before handing over more bytes (the file is behind). */
  get congested(): boolean {
    return this.writer?.congested === true;
  }

  /** Calls `cb` once the file has caught up (at once when it has). */
  whenWritable(cb: () => void): void {
    if (this.writer?.whenWritable) this.writer.whenWritable(cb);
    else cb();
  }

  /** The handshake. */
  open(client: Endpoint, server: Endpoint, ts: number, opts: OpenOptions = {}): RecordedConnection {
    const v4 = isIPv4(client.ip);
    const mss = v4 ? 1460 : 1440;
    const isn: [number, number] = [randomIsn(), randomIsn()];
    const src = addrBytes(client.ip, v4);
    const dst = addrBytes(server.ip, v4);
    let pseudo = 6;
    for (let i = 0; i < src.length; i += 2) pseudo += src.readUInt16BE(i) + dst.readUInt16BE(i);
    const c: RecordedConnection = {
      client, server, seq: [isn[0], isn[1]], mss, segment: mss * SEGMENT_MSS, ipId: [1, 1], synFrame: this.frames + 1, isn, closed: false,
      onPacket: opts.onPacket, payload: opts.payload !== false,
      template: [template(v4, src, dst, client.port, server.port, CLIENT_MAC, SERVER_MAC), template(v4, dst, src, server.port, client.port, SERVER_MAC, CLIENT_MAC)],
      pseudoSum: fold(pseudo),
    };
    this.emitSyn(c, 0, TCP_SYN, ts, opts.comment);
    c.seq[0] = (c.seq[0] + 1) >>> 0;
    this.emitSyn(c, 1, TCP_SYN | TCP_ACK, ts);
    c.seq[1] = (c.seq[1] + 1) >>> 0;
    this.emit(c, 0, TCP_ACK, ts, null, 0, 0, 0);
    return c;
  }

  /** Returns the frame of the first segment carrying these bytes. */
  data(c: RecordedConnection, dir: 0 | 1, bytes: Buffer, ts: number): number {
    const first = this.frames + 1;
    const seg = c.segment;
    const sums = this.payloadSums(bytes, seg);
    for (let off = 0, i = 0; off < bytes.length; off += seg, i++) {
      const len = Math.min(seg, bytes.length - off);
      this.emit(c, dir, TCP_ACK | TCP_PSH, ts, bytes, off, len, sums[i]!);
      c.seq[dir] = (c.seq[dir] + len) >>> 0;
    }
    this.emit(c, dir === 0 ? 1 : 0, TCP_ACK, ts, null, 0, 0, 0);
    return first;
  }

  /** A bare segment (FIN|ACK, ACK, RST|ACK); a FIN takes one sequence number. Returns its frame. */
  segment(c: RecordedConnection, dir: 0 | 1, flags: number, ts: number): number {
    const frame = this.frames + 1;
    this.emit(c, dir, flags, ts, null, 0, 0, 0);
    if ((flags & TCP_FIN) !== 0) c.seq[dir] = (c.seq[dir] + 1) >>> 0;
    if ((flags & TCP_RST) !== 0) c.closed = true;
    return frame;
  }

  /** Ends the file; the last drops (counted when it was closed) are reported once more, as the total. */
  async finish(): Promise<void> {
    try {
      if (this.writer) await this.writer.close();
    } finally {
      this.reportDrops(true);
    }
  }

  /**
   * Per `seg`-sized segment of `bytes`, the one's complement sum of its payload. The chunk a relay
   * reads is recorded on its two legs one after the other, with the same segmenting when both
   * legs are of one IP version: the second leg reuses the first leg's sums.
   */
  private payloadSums(bytes: Buffer, seg: number): number[] {
    const m = this.memo;
    if (m.bytes === bytes && m.seg === seg) return m.sums;
    const sums: number[] = [];
    // Four-byte words when the chunk is aligned (the relay's own read buffers are): a quarter of the steps.
    const words = (bytes.byteOffset & 3) === 0 && (seg & 3) === 0
      ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : null;
    for (let off = 0; off < bytes.length; off += seg) {
      const len = Math.min(seg, bytes.length - off);
      sums.push(words ? sumWords(words, bytes, off, len) : sumBytes(bytes, off, len));
    }
    m.bytes = bytes;
    m.seg = seg;
    m.sums = sums;
    return sums;
  }

  private emitSyn(c: RecordedConnection, dir: 0 | 1, flags: number, ts: number, comment?: string): void {
    const src = dir === 0 ? c.client : c.server;
    const dst = dir === 0 ? c.server : c.client;
    const frame = buildFrame({
      src, dst, seq: c.seq[dir], ack: c.seq[dir === 0 ? 1 : 0], flags, window: WINDOW, mss: c.mss,
      ipId: c.ipId[dir]++, srcMac: dir === 0 ? CLIENT_MAC : SERVER_MAC, dstMac: dir === 0 ? SERVER_MAC : CLIENT_MAC,
    });
    this.put(c, dir, flags, ts, frame, frame.length, comment, 0);
  }

  /** One segment without options: written in place in the file's buffer unless the dashboard keeps packets. */
  private emit(c: RecordedConnection, dir: 0 | 1, flags: number, ts: number, payload: Buffer | null, pOff: number, pLen: number, pSum: number): void {
    const tmpl = c.template[dir];
    const length = tmpl.length + pLen;
    const kept = c.payload ? payload : null;
    const caplen = kept ? length : tmpl.length;
    const w = this.writer;
    if (w && !this.recent && w.reservePacket && w.buffer) {
      const comment = this.firstComment();
      const at = w.reservePacket(this.ifId, ts, caplen, length, comment);
      const number = ++this.frames;
      if (at >= 0) fillSegment(w.buffer, at, c, dir, flags, kept, pOff, pLen, pSum);
      else this.reportDrops(false);
      this.announce(c, dir, flags, ts, number, pLen);
      return;
    }
    const frame = Buffer.allocUnsafe(caplen);
    fillSegment(frame, 0, c, dir, flags, kept, pOff, pLen, pSum);
    this.put(c, dir, flags, ts, frame, length, undefined, pLen);
  }

  /** A whole frame (or its headers, of a segment `wirelen` long): to the file (copied) and to the ring of recent packets (kept as it is). */
  private put(c: RecordedConnection, dir: 0 | 1, flags: number, ts: number, frame: Buffer, wirelen: number, comment: string | undefined, pLen: number): void {
    const number = ++this.frames;
    if (this.writer) {
      const first = this.firstComment();
      try {
        const ok = this.writer.writePacket(this.ifId, ts, frame, wirelen, first && comment ? `${first}\n${comment}` : first ?? comment);
        if (ok === false) this.reportDrops(false);
      } catch (e) {
        this.failed ??= e as Error;
      }
    }
    this.recent?.add({
      frame: number, ts, linkType: LINKTYPE_ETHERNET, buf: frame, offset: 0, caplen: frame.length, wirelen,
      fileOffset: -1, interfaceId: 0,
    }, true); // a fresh frame nothing else keeps: no second copy
    this.announce(c, dir, flags, ts, number, pLen);
  }

  private announce(c: RecordedConnection, dir: 0 | 1, flags: number, ts: number, number: number, len: number): void {
    if (!c.onPacket) return;
    // seq is the segment's own (data() advances it after), ack as fillSegment writes it.
    const ack = (flags & TCP_ACK) !== 0 ? c.seq[dir === 0 ? 1 : 0] : 0;
    c.onPacket({ frame: number, ts, dir, flags, seq: c.seq[dir], ack, len });
  }

  /** The comment of the file's first packet, once. */
  private firstComment(): string | undefined {
    if (this.commented) return undefined;
    this.commented = true;
    return SYNTHESIZED_COMMENT;
  }

  /** Tells onDrop of new drops, at most once a second (and a last time at the end). */
  private reportDrops(final: boolean): void {
    const n = this.dropped;
    if (!this.onDrop || n === 0 || (!final && n === this.dropsSeen)) return;
    const now = Date.now();
    if (!final && this.dropsSeen > 0 && now - this.lastDropReport < 1000) return;
    this.lastDropReport = now;
    this.dropsSeen = n;
    this.onDrop(n, final);
  }

  private lastDropReport = 0;
}

/**
 * Ethernet + IPv4/IPv6 + TCP headers of one direction with what never changes: addresses, ports,
 * MACs, TTL, DF, the data offset and the window.
 */
function template(v4: boolean, src: Buffer, dst: Buffer, sport: number, dport: number, srcMac: Buffer, dstMac: Buffer): Buffer {
  const ipLen = v4 ? 20 : 40;
  const h = Buffer.alloc(ETH + ipLen + TCP_HDR);
  dstMac.copy(h, 0);
  srcMac.copy(h, 6);
  h.writeUInt16BE(v4 ? 0x0800 : 0x86dd, 12);
  if (v4) {
    h[ETH] = 0x45;
    h.writeUInt16BE(0x4000, ETH + 6); // DF
    h[ETH + 8] = 64;
    h[ETH + 9] = 6;
    src.copy(h, ETH + 12);
    dst.copy(h, ETH + 16);
  } else {
    h.writeUInt32BE(0x60000000, ETH);
    h[ETH + 6] = 6;
    h[ETH + 7] = 64;
    src.copy(h, ETH + 8);
    dst.copy(h, ETH + 24);
  }
  const t = ETH + ipLen;
  h.writeUInt16BE(sport, t);
  h.writeUInt16BE(dport, t + 2);
  h[t + 12] = (TCP_HDR / 4) << 4;
  h.writeUInt16BE(WINDOW, t + 14);
  return h;
}

/**
 * Writes one segment at b[at]: the template, the numbers, the payload (the one copy; none when
 * `payload` is null, for a segment cut to its headers), both checksums (of the whole segment).
 */
function fillSegment(b: Buffer, at: number, c: RecordedConnection, dir: 0 | 1, flags: number,
  payload: Buffer | null, pOff: number, pLen: number, pSum: number): void {
  const tmpl = c.template[dir];
  tmpl.copy(b, at);
  const v4 = tmpl.length === ETH + 20 + TCP_HDR;
  const ip = at + ETH;
  const t = ip + (v4 ? 20 : 40);
  const tcpLen = TCP_HDR + pLen;
  if (v4) {
    b.writeUInt16BE(20 + tcpLen, ip + 2);
    b.writeUInt16BE(c.ipId[dir] & 0xffff, ip + 4);
    b.writeUInt16BE(onesComplementOf(b, ip, 20), ip + 10);
  } else {
    b.writeUInt16BE(tcpLen, ip + 4);
  }
  c.ipId[dir]++;
  const seq = c.seq[dir] >>> 0;
  const ack = (flags & TCP_ACK) !== 0 ? c.seq[dir === 0 ? 1 : 0] >>> 0 : 0;
  b.writeUInt32BE(seq, t + 4);
  b.writeUInt32BE(ack, t + 8);
  b[t + 13] = flags;
  if (payload !== null && pLen > 0) payload.copy(b, t + TCP_HDR, pOff, pOff + pLen);
  // The TCP checksum: pseudo-header, header words (checksum field still 0), payload sum.
  let sum = c.pseudoSum + tcpLen + pSum;
  for (let i = t; i < t + TCP_HDR; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  b.writeUInt16BE(~fold(sum) & 0xffff, t + 16);
}

/** The complemented one's complement sum of b[off, off+len) with its checksum field zero. */
function onesComplementOf(b: Buffer, off: number, len: number): number {
  let sum = 0;
  for (let i = off; i < off + len; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  return ~fold(sum) & 0xffff;
}

/** Folds a sum of 16-bit words (any size a double holds exactly) into 16 bits, end-around carry. */
function fold(sum: number): number {
  let s = sum;
  while (s > 0xffff) {
    const lo = s % 65536;
    s = lo + (s - lo) / 65536;
  }
  return s;
}

/**
 * One's complement sum of bytes[off, off+len) as big-endian 16-bit words. `words` views the same
 * memory as host-order (little-endian) 32-bit words: the sum of those, folded, is the byte-swap
 * of the big-endian sum (RFC 1071's byte-order independence). `off` is a multiple of 4.
 */
function sumWords(words: Uint32Array, bytes: Buffer, off: number, len: number): number {
  const n = len >>> 2;
  const from = off >>> 2;
  // Whole 32-bit words added as doubles, in four independent sums (the CPU overlaps them): twice
  // as fast as summing 16-bit halves as small integers. Exact while each sum stays below 2^53,
  // i.e. for segments below 32 MiB (the recorder's are at most 64240 bytes).
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  const end = from + n;
  let i = from;
  for (; i + 3 < end; i += 4) {
    a += words[i]!;
    b += words[i + 1]!;
    c += words[i + 2]!;
    d += words[i + 3]!;
  }
  for (; i < end; i++) a += words[i]!;
  const le = fold(a + b + c + d);
  let sum = ((le & 0xff) << 8) | (le >>> 8);
  const tail = off + (n << 2);
  for (let k = tail; k < off + len; k += 2) sum += (bytes[k]! << 8) | (k + 1 < off + len ? bytes[k + 1]! : 0);
  return fold(sum);
}

function sumBytes(bytes: Buffer, off: number, len: number): number {
  let sum = 0;
  const end = off + len;
  let i = off;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return fold(sum);
}

function addrBytes(ip: string, v4: boolean): Buffer {
  if (v4) return Buffer.from(parseIpv4(ip) ?? [0, 0, 0, 0]);
  return Buffer.from(parseIpv6(ip) ?? new Array<number>(16).fill(0));
}

function randomIsn(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

/**
 * --record FILE.pcapng: every leg the proxy handles (client-facing and server-facing, control
 * and data) as a TCP connection with synthesized headers: handshake, data segments no larger
 * than the MSS each acknowledged by the peer, and FIN/ACK or RST at the end. Sequence and
 * acknowledgement numbers are consistent, so tshark and ftpscope reassemble the streams.
 *
 * The same packets can also go to a ring of recent packets (the dashboard's packet list and
 * layer views), with or without a file; each one is announced to its connection's `onPacket`.
 */
import { isIPv4 } from 'node:net';
import type { RecentPackets } from '../capture/recent.js';
import type { Endpoint } from '../model/types.js';
import { buildFrame, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from './packets.js';

/** What the recorder needs from a pcapng writer (PcapngWriter from src/capture/pcapng-writer.ts fits). */
export interface PacketWriter {
  addInterface(linkType: number, opts?: { name?: string; snaplen?: number }): number;
  writePacket(ifId: number, ts: number, data: Buffer, wireLength?: number, comment?: string): void;
  close(): Promise<void>;
}

export interface RecordedConnection {
  client: Endpoint;
  server: Endpoint;
  /** Next sequence number per direction (0 client → server). */
  seq: [number, number];
  mss: number;
  ipId: [number, number];
  synFrame: number;
  /** Initial sequence numbers [client, server] of the synthesized handshake. */
  isn: [number, number];
  closed: boolean;
  /** Each packet of this connection as it is synthesized (frame numbers as in the recording). */
  onPacket?: (p: SynthesizedPacket) => void;
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

const LINKTYPE_ETHERNET = 1;
const CLIENT_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const SERVER_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);
/** The window every synthesized segment advertises (no scaling option). */
export const WINDOW = 65535;
export const SYNTHESIZED_COMMENT = 'ftpscope proxy: Ethernet/IP/TCP headers synthesized by the proxy from socket data (not captured from the wire)';

export class Recorder {
  private readonly ifId: number;
  private frames = 0;
  private commented = false;
  private failed: Error | null = null;

  /** `writer` is the --record file (or none); `recent` keeps the latest packets for the dashboard (or none). */
  constructor(private readonly writer: PacketWriter | null, private readonly recent: RecentPackets | null = null) {
    this.ifId = writer ? writer.addInterface(LINKTYPE_ETHERNET, { name: 'ftpscope-proxy', snaplen: 262144 }) : 0;
  }

  get frameCount(): number { return this.frames; }
  get error(): Error | null { return this.failed; }

  open(client: Endpoint, server: Endpoint, ts: number, onPacket?: (p: SynthesizedPacket) => void): RecordedConnection {
    const mss = isIPv4(client.ip) ? 1460 : 1440;
    const isn: [number, number] = [randomIsn(), randomIsn()];
    const c: RecordedConnection = { client, server, seq: [isn[0], isn[1]], mss, ipId: [1, 1], synFrame: this.frames + 1, isn, closed: false, onPacket };
    this.emit(c, 0, TCP_SYN, ts, undefined, mss);
    c.seq[0] = (c.seq[0] + 1) >>> 0;
    this.emit(c, 1, TCP_SYN | TCP_ACK, ts, undefined, mss);
    c.seq[1] = (c.seq[1] + 1) >>> 0;
    this.emit(c, 0, TCP_ACK, ts);
    return c;
  }

  /** Returns the frame of the first segment carrying these bytes. */
  data(c: RecordedConnection, dir: 0 | 1, bytes: Buffer, ts: number): number {
    const first = this.frames + 1;
    for (let off = 0; off < bytes.length; off += c.mss) {
      const seg = bytes.subarray(off, Math.min(bytes.length, off + c.mss));
      this.emit(c, dir, TCP_ACK | TCP_PSH, ts, seg);
      c.seq[dir] = (c.seq[dir] + seg.length) >>> 0;
    }
    this.emit(c, dir === 0 ? 1 : 0, TCP_ACK, ts);
    return first;
  }

  /** FIN/ACK both ways (or one RST); returns the first frame. */
  close(c: RecordedConnection, how: 'fin' | 'rst', ts: number): number {
    const first = this.frames + 1;
    if (c.closed) return first;
    c.closed = true;
    if (how === 'rst') {
      this.emit(c, 0, TCP_RST | TCP_ACK, ts);
      return first;
    }
    this.emit(c, 0, TCP_FIN | TCP_ACK, ts);
    c.seq[0] = (c.seq[0] + 1) >>> 0;
    this.emit(c, 1, TCP_FIN | TCP_ACK, ts);
    c.seq[1] = (c.seq[1] + 1) >>> 0;
    this.emit(c, 0, TCP_ACK, ts);
    return first;
  }

  finish(): Promise<void> {
    return this.writer ? this.writer.close() : Promise.resolve();
  }

  private emit(c: RecordedConnection, dir: 0 | 1, flags: number, ts: number, payload?: Buffer, mss?: number): void {
    const src = dir === 0 ? c.client : c.server;
    const dst = dir === 0 ? c.server : c.client;
    const frame = buildFrame({
      src, dst, seq: c.seq[dir], ack: c.seq[dir === 0 ? 1 : 0], flags, window: WINDOW, mss, payload,
      ipId: c.ipId[dir]++, srcMac: dir === 0 ? CLIENT_MAC : SERVER_MAC, dstMac: dir === 0 ? SERVER_MAC : CLIENT_MAC,
    });
    const number = ++this.frames;
    if (this.writer) {
      const comment = this.commented ? undefined : SYNTHESIZED_COMMENT;
      this.commented = true;
      try {
        this.writer.writePacket(this.ifId, ts, frame, frame.length, comment);
      } catch (e) {
        this.failed ??= e as Error;
      }
    }
    this.recent?.add({
      frame: number, ts, linkType: LINKTYPE_ETHERNET, buf: frame, offset: 0, caplen: frame.length, wirelen: frame.length,
      fileOffset: -1, interfaceId: 0,
    }, true); // a fresh frame nothing else keeps: no second copy
    const ack = (flags & TCP_ACK) !== 0 ? c.seq[dir === 0 ? 1 : 0] : 0; // as buildFrame writes it
    c.onPacket?.({ frame: number, ts, dir, flags, seq: c.seq[dir], ack, len: payload?.length ?? 0 });
  }
}

function randomIsn(): number {
  return (Math.random() * 0x100000000) >>> 0;
}

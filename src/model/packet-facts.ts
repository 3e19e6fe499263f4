/**
 * The per-packet facts the analysis records for every TCP packet it classifies: which
 * connection it belongs to, the FTP role of its sender, its place in the TCP life cycle and
 * the FTP meaning it carries. Every packet-level view reads these and derives none of them.
 */
import type { Endpoint, FtpCommand, FtpReply } from './types.js';
import type { Dir } from './tcp-facts.js';
import type { TcpPacketAnalysis } from './tcp-analysis.js';

/** Who a packet's sender is in FTP terms (in active mode the FTP server opens the data connection). */
export type FtpRole = 'client' | 'server';

/**
 * What a packet's connection is to the analysis. `proxy-control` and `proxy-data` are the
 * server-facing legs of a proxy recording (`ftpscope proxy --record`): the proxy's own control
 * and data connections to the server, part of the session they serve.
 */
export type PacketChannel = 'control' | 'data' | 'unpaired' | 'proxy-control' | 'proxy-data' | 'other';

/** Channels whose payload is FTP control lines (read packet by packet as Wireshark does). */
export function isControlChannel(c: PacketChannel): boolean {
  return c === 'control' || c === 'proxy-control';
}

/** Channels whose payload is FTP data (a transfer). */
export function isDataChannel(c: PacketChannel): boolean {
  return c === 'data' || c === 'unpaired' || c === 'proxy-data';
}

/** Where a packet sits in its connection's life: opening, carrying data, acknowledging, closing, aborting. */
export type TcpPhase = 'handshake' | 'data' | 'ack' | 'teardown' | 'reset';

/** The FTP lines a control packet completed (a packet can complete several, or none). */
export type ControlLine =
  | { kind: 'command'; command: FtpCommand }
  | { kind: 'reply'; reply: FtpReply; command: FtpCommand | null };

export type PacketMeaning =
  | { kind: 'control'; lines: readonly ControlLine[] }
  /** Payload of a data connection: the stream offset of its first byte in that direction. */
  | { kind: 'transfer'; offset: number };

/** A line of a control packet's own payload, decoded as that packet alone (Wireshark's per-packet view). */
export type WireLine =
  | { kind: 'request'; verb: string; arg: string | null }
  | { kind: 'response'; code: number | null; arg: string };

export interface PacketFact {
  frame: number;
  /**
   * The FTP lines of this packet's own payload (control, clear text), as a packet-by-packet
   * decoder such as Wireshark sees them; null otherwise. `meaning` says which commands and
   * replies the packet completed in the session's reading of the stream.
   */
  wire: readonly WireLine[] | null;
  ts: number;
  /** Where to re-read the packet for full dissection; -1 when it cannot be re-read. */
  fileOffset: number;
  /** TCP connection id (Wireshark's tcp.stream + 1). */
  tcpId: number;
  channel: PacketChannel;
  /** The session it belongs to (control or data), null for unpaired and other connections. */
  session: number | null;
  /** The data connection id within the session (or among the unpaired ones); null on control. */
  dataConnection: number | null;
  /** FTP role of the sender; null when the connection is not FTP or the role is unknown. */
  sender: FtpRole | null;
  /** Sent by the TCP initiator (the side that sent the SYN). */
  fromInitiator: boolean;
  dir: Dir;
  /** Sender and receiver (IPv4-mapped IPv6 written as IPv4). */
  src: Endpoint;
  dst: Endpoint;
  phase: TcpPhase;
  flags: number;
  seq: number;
  ack: number;
  /** Sequence numbers relative to each side's ISN (Wireshark's tcp.seq / tcp.ack), when known. */
  relSeq: number | null;
  relAck: number | null;
  /**
   * The numbers relative ones count from, [sender, receiver]: the ISN when the SYN was seen,
   * else one less than the first number seen (Wireshark's rule).
   */
  isn: [number | null, number | null];
  /** The sender's window scale shift, when both SYNs were seen offering it; 0 when not in use; null unknown. */
  windowShift: number | null;
  /** The payload is TLS records (control after AUTH TLS was accepted, data of a TLS session). */
  tls: boolean;
  /** The segment repeated stream bytes already seen (a retransmission or an overlap). */
  repeated: boolean;
  /** TCP payload length on the wire. */
  len: number;
  window: number;
  meaning: PacketMeaning | null;
  /** Wireshark's per-packet TCP analysis (tcp.analysis.*); null for packets the proxy synthesized. */
  analysis: TcpPacketAnalysis | null;
}

/** A session's packets in capture order; bounded, counting what it dropped. */
export interface PacketList {
  readonly count: number;
  /** Older packets no longer kept. */
  readonly dropped: number;
  at(i: number): PacketFact;
  /** Index of the packet with this frame number, -1 when not in the list. */
  indexOfFrame(frame: number): number;
  /** A list that stays as it is now while the analysis goes on (pause). */
  frozen(): PacketList;
}

/** The FTP role of a packet's sender, from the role of its connection's TCP initiator and the packet's direction. */
export function senderRole(initiatorRole: FtpRole | null, dir: Dir): FtpRole | null {
  if (initiatorRole === null) return null;
  if (dir === 0) return initiatorRole;
  return initiatorRole === 'client' ? 'server' : 'client';
}

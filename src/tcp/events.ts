import type { TcpOptions, FastPacket } from '../dissect/types.js';
import type { PacketRecord } from '../capture/types.js';
import type { Finding } from '../model/findings.js';
import type { Endpoint } from '../model/types.js';

/** 0: client → server (the side that sent the SYN), 1: server → client. */
export type Dir = 0 | 1;

export type CloseReason = 'fin' | 'rst' | 'timeout' | 'end';

export interface HandshakeInfo {
  /** True when both SYN and SYN/ACK were captured. */
  seen: boolean;
  simultaneousOpen: boolean;
  synFrame: number | null;
  synAckFrame: number | null;
  ackFrame: number | null;
  synTs: number | null;
  synAckTs: number | null;
  ackTs: number | null;
  /** Initial sequence numbers [client, server], when seen. */
  isn: [number | null, number | null];
  /** Options carried by SYN [client] and SYN/ACK [server]. */
  options: [TcpOptions | null, TcpOptions | null];
  /** Raw window in SYN [client] and SYN/ACK [server]. */
  window: [number | null, number | null];
  /** SYN → final ACK of the three-way handshake, in ms. */
  rttMs: number | null;
}

/** TCP connection states as RFC 793 names them, per side. */
export type TcpState =
  | 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED'
  | 'FIN-WAIT-1' | 'FIN-WAIT-2' | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';

export interface TcpConnection {
  /** 1-based, in order of first packet (Wireshark's tcp.stream + 1). */
  id: number;
  client: Endpoint;
  server: Endpoint;
  start: number;
  end: number;
  firstFrame: number | null;
  lastFrame: number | null;
  handshake: HandshakeInfo;
  /** How it ended, once it has. */
  closeReason: CloseReason | null;
  /** Frames of the first FIN from [client, server] and of the first RST. */
  finFrame: [number | null, number | null];
  rstFrame: number | null;
  /** Which side sent the RST (0 client, 1 server). */
  rstBy: Dir | null;
  /** In-order payload bytes delivered per direction, each counted once. */
  bytes: [number, number];
  /** Bytes the capture lacks per direction (gaps). */
  missing: [number, number];
  packets: number;
  retransmissions: number;
  findings: Finding[];
  /** Free slot for the consumer (the FTP analyzer keeps its role here). */
  tag?: unknown;
}

/**
 * What the TCP layer (or the proxy) hands on. The FTP analyzer implements this and cannot
 * tell a capture from the proxy. `data` gets the bytes buf[start, end) (a range of the
 * capture's read buffer: most segments need no Buffer view of their own), valid only during
 * the call: copy what you keep.
 */
export interface StreamHandler {
  open(conn: TcpConnection, ts: number, frame: number | null): void;
  data(conn: TcpConnection, dir: Dir, buf: Buffer, start: number, end: number, ts: number, frame: number | null): void;
  gap(conn: TcpConnection, dir: Dir, length: number, ts: number, frame: number | null): void;
  close(conn: TcpConnection, reason: CloseReason, ts: number, frame: number | null): void;
  /** Every packet of a connection, after TCP bookkeeping (captures only; for packet lists). */
  packet?(conn: TcpConnection, dir: Dir, pkt: FastPacket, rec: PacketRecord): void;
}

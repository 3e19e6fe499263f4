import type { FastPacket } from '../dissect/types.js';
import type { PacketRecord } from '../capture/types.js';
import type { CloseReason, Dir, HandshakeFacts, TcpFacts } from '../model/tcp-facts.js';
import type { ConnectionAnalysis } from './analysis.js';
import type { Finding } from '../model/findings.js';

export type { CloseReason, Dir, TcpState } from '../model/tcp-facts.js';
export type HandshakeInfo = HandshakeFacts;

/**
 * The TCP layer's live record of one connection: the facts it keeps up to date as packets
 * arrive, plus a slot for its consumer. Only the analysis reads it; it hands views copies
 * (TcpFacts values).
 */
export interface TcpConnection extends TcpFacts {
  /** Free slot for the consumer (the FTP analyzer keeps its role here). */
  tag?: unknown;
  /**
   * The per-packet TCP analysis (captures only): `analysis.result` holds the latest packet's
   * flags and values while packet() is called for it.
   */
  analysis?: ConnectionAnalysis;
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
  /**
   * A finding of the TCP layer about `conn` (a retransmission that differs, a reassembly limit,
   * port reuse, eviction), also kept on conn.findings; raised before the event it explains.
   */
  finding?(conn: TcpConnection, f: Finding): void;
  /** Every packet of a connection, after TCP bookkeeping (captures only; for packet lists). */
  packet?(conn: TcpConnection, dir: Dir, pkt: FastPacket, rec: PacketRecord): void;
}

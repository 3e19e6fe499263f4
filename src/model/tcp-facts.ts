/**
 * TCP facts as values: what the analysis learned about one TCP connection, copied out of the
 * TCP layer's live record when the connection ends or the analysis is snapshotted. Views read
 * these; they never see the TCP layer's own records.
 */
import type { Finding } from './findings.js';
import type { Endpoint } from './types.js';

/** 0: sent by the TCP initiator (the side that sent the SYN), 1: by the other side. */
export type Dir = 0 | 1;

export type CloseReason = 'fin' | 'rst' | 'timeout' | 'end';

/** TCP states as RFC 793 names them, per side. */
export type TcpState =
  | 'CLOSED' | 'LISTEN' | 'SYN-SENT' | 'SYN-RECEIVED' | 'ESTABLISHED'
  | 'FIN-WAIT-1' | 'FIN-WAIT-2' | 'CLOSE-WAIT' | 'CLOSING' | 'LAST-ACK' | 'TIME-WAIT';

/** Options of a SYN or SYN/ACK. */
export interface TcpOptionFacts {
  mss?: number;
  wscale?: number;
  sackPermitted?: boolean;
  tsVal?: number;
  tsEcr?: number;
}

export interface HandshakeFacts {
  /** True when both SYN and SYN/ACK were captured. */
  seen: boolean;
  simultaneousOpen: boolean;
  synFrame: number | null;
  synAckFrame: number | null;
  ackFrame: number | null;
  synTs: number | null;
  synAckTs: number | null;
  ackTs: number | null;
  /** Initial sequence numbers [initiator, other side], when seen. */
  isn: [number | null, number | null];
  /** Options carried by SYN [initiator] and SYN/ACK [other side]. */
  options: [TcpOptionFacts | null, TcpOptionFacts | null];
  /** Raw window in SYN [initiator] and SYN/ACK [other side]. */
  window: [number | null, number | null];
  /** SYN → final ACK of the three-way handshake, in ms. */
  rttMs: number | null;
}

/**
 * One step of a connection's end, in the order the capture shows them: a FIN from a side, the
 * ACK that acknowledges the other side's FIN, or a RST. Bounded (see MAX_TEARDOWN_EVENTS).
 */
export interface TeardownEvent {
  kind: 'fin' | 'ack' | 'rst';
  /** Who sent it. */
  dir: Dir;
  frame: number | null;
  ts: number;
}

/** Teardown steps kept per connection (two FINs, their two ACKs, a RST, late repeats). */
export const MAX_TEARDOWN_EVENTS = 8;

/** The first payload byte a side sent, when and in which frame. */
export interface PayloadMark {
  frame: number | null;
  ts: number;
}

export interface TcpFacts {
  /** 1-based, in order of first packet (Wireshark's tcp.stream + 1). */
  id: number;
  /** The TCP initiator (sent the SYN, or guessed when the handshake was not captured). */
  client: Endpoint;
  server: Endpoint;
  start: number;
  end: number;
  firstFrame: number | null;
  lastFrame: number | null;
  handshake: HandshakeFacts;
  /** How it ended, once it has. */
  closeReason: CloseReason | null;
  /** Frames of the first FIN from [initiator, other side] and of the first RST. */
  finFrame: [number | null, number | null];
  rstFrame: number | null;
  rstBy: Dir | null;
  /** FINs, their ACKs and RSTs in capture order. */
  teardown: TeardownEvent[];
  /** First payload per direction. */
  firstPayload: [PayloadMark | null, PayloadMark | null];
  /** The last packet per direction that carried bytes not seen before (when data last arrived). */
  lastPayload: [PayloadMark | null, PayloadMark | null];
  /** In-order payload bytes delivered per direction, each counted once. */
  bytes: [number, number];
  /** Bytes the capture lacks per direction (gaps). */
  missing: [number, number];
  packets: number;
  retransmissions: number;
  findings: Finding[];
}

/** A copy that shares nothing mutable with the original. */
export function copyTcpFacts(t: TcpFacts): TcpFacts {
  const hs = t.handshake;
  return {
    id: t.id,
    client: { ip: t.client.ip, port: t.client.port },
    server: { ip: t.server.ip, port: t.server.port },
    start: t.start,
    end: t.end,
    firstFrame: t.firstFrame,
    lastFrame: t.lastFrame,
    handshake: {
      ...hs,
      isn: [hs.isn[0], hs.isn[1]],
      options: [hs.options[0] && { ...hs.options[0] }, hs.options[1] && { ...hs.options[1] }],
      window: [hs.window[0], hs.window[1]],
    },
    closeReason: t.closeReason,
    finFrame: [t.finFrame[0], t.finFrame[1]],
    rstFrame: t.rstFrame,
    rstBy: t.rstBy,
    teardown: t.teardown.map((e) => ({ ...e })),
    firstPayload: [t.firstPayload[0] && { ...t.firstPayload[0] }, t.firstPayload[1] && { ...t.firstPayload[1] }],
    lastPayload: [t.lastPayload[0] && { ...t.lastPayload[0] }, t.lastPayload[1] && { ...t.lastPayload[1] }],
    bytes: [t.bytes[0], t.bytes[1]],
    missing: [t.missing[0], t.missing[1]],
    packets: t.packets,
    retransmissions: t.retransmissions,
    findings: t.findings.slice(),
  };
}

const NO_FINDINGS: readonly Finding[] = Object.freeze([]);
const NO_TEARDOWN: readonly TeardownEvent[] = Object.freeze([]);

/**
 * The facts of a connection that is over, for the views: the handshake and payload marks no
 * longer change, so they are shared rather than cloned; what a late FIN or RST can still change
 * (counters, the teardown list, frames) is copied. One of these per connection of a capture:
 * the cheap copy keeps reports fast on captures of many short connections.
 */
export function finalTcpFacts(t: TcpFacts): TcpFacts {
  return {
    id: t.id,
    client: t.client,
    server: t.server,
    start: t.start,
    end: t.end,
    firstFrame: t.firstFrame,
    lastFrame: t.lastFrame,
    handshake: t.handshake,
    closeReason: t.closeReason,
    finFrame: [t.finFrame[0], t.finFrame[1]],
    rstFrame: t.rstFrame,
    rstBy: t.rstBy,
    teardown: t.teardown.length === 0 ? NO_TEARDOWN as TeardownEvent[] : t.teardown.slice(),
    firstPayload: t.firstPayload,
    lastPayload: [t.lastPayload[0] && { ...t.lastPayload[0] }, t.lastPayload[1] && { ...t.lastPayload[1] }],
    bytes: [t.bytes[0], t.bytes[1]],
    missing: [t.missing[0], t.missing[1]],
    packets: t.packets,
    retransmissions: t.retransmissions,
    findings: t.findings.length === 0 ? NO_FINDINGS as Finding[] : t.findings.slice(),
  };
}

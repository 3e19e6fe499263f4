import type { FastPacket, TcpOptions } from '../dissect/types.js';
import type { Dir, HandshakeInfo } from './events.js';
import { parseTcpOptions } from '../dissect/tcp-options.js';

function optionsOf(pkt: FastPacket): TcpOptions {
  return parseTcpOptions(pkt.buf, pkt.tcpOffset + 20, pkt.tcpHeaderLength - 20);
}

/**
 * A SYN without ACK from `dir`. Returns false when it is a retransmission of the SYN
 * already recorded for that side.
 */
export function recordSyn(hs: HandshakeInfo, dir: Dir, pkt: FastPacket, ts: number, frame: number): boolean {
  if (hs.isn[dir] !== null) return hs.isn[dir] !== pkt.seq;
  hs.isn[dir] = pkt.seq;
  hs.options[dir] = optionsOf(pkt);
  hs.window[dir] = pkt.window;
  if (dir === 0) {
    hs.synFrame = frame;
    hs.synTs = ts;
  } else {
    // The server sent a SYN of its own: both sides opened at once (RFC 793 §3.4).
    hs.simultaneousOpen = hs.synFrame !== null;
  }
  return true;
}

/** A SYN/ACK from `dir` (the server, or either side in a simultaneous open). */
export function recordSynAck(hs: HandshakeInfo, dir: Dir, pkt: FastPacket, ts: number, frame: number): void {
  if (hs.synAckFrame !== null) return;
  hs.synAckFrame = frame;
  hs.synAckTs = ts;
  if (hs.isn[dir] === null) {
    hs.isn[dir] = pkt.seq;
    hs.options[dir] = optionsOf(pkt);
    hs.window[dir] = pkt.window;
  }
  hs.seen = hs.synFrame !== null;
}

/** A segment without SYN: the client's ACK of the SYN/ACK completes the handshake. */
export function recordAck(hs: HandshakeInfo, dir: Dir, pkt: FastPacket, ts: number, frame: number): void {
  if (hs.ackFrame !== null || hs.synAckFrame === null) return;
  const peerIsn = hs.isn[dir === 0 ? 1 : 0];
  if (peerIsn === null || pkt.ack !== ((peerIsn + 1) >>> 0)) return;
  if (!hs.simultaneousOpen && dir !== 0) return;
  hs.ackFrame = frame;
  hs.ackTs = ts;
  if (hs.synTs !== null) hs.rttMs = (ts - hs.synTs) * 1000;
}

import type { Endpoint } from '../model/types.js';
import type { HandshakeInfo, TcpConnection } from './events.js';

export function emptyHandshake(): HandshakeInfo {
  return {
    seen: false,
    simultaneousOpen: false,
    synFrame: null,
    synAckFrame: null,
    ackFrame: null,
    synTs: null,
    synAckTs: null,
    ackTs: null,
    isn: [null, null],
    options: [null, null],
    window: [null, null],
    rttMs: null,
  };
}

/** A fresh connection record; the TCP tracker and the proxy both make theirs here. */
export function createConnection(id: number, client: Endpoint, server: Endpoint, ts: number, frame: number | null): TcpConnection {
  return {
    id,
    client: { ip: client.ip, port: client.port },
    server: { ip: server.ip, port: server.port },
    start: ts,
    end: ts,
    firstFrame: frame,
    lastFrame: frame,
    handshake: emptyHandshake(),
    closeReason: null,
    finFrame: [null, null],
    rstFrame: null,
    rstBy: null,
    teardown: [],
    firstPayload: [null, null],
    lastPayload: [null, null],
    bytes: [0, 0],
    missing: [0, 0],
    packets: 0,
    retransmissions: 0,
    findings: [],
  };
}

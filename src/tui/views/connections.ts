/** Which TCP connection a packet belongs to, within one session: the control one or a data one. */
import type { DataConnection, Session } from '../../model/types.js';
import type { TcpConnection } from '../../tcp/events.js';

export interface ConnInfo {
  /** "ctrl" or "D<n>" (the data connection's id in the session). */
  label: string;
  tcp: TcpConnection | null;
  dc: DataConnection | null;
}

export function connectionsOf(session: Session): Map<number, ConnInfo> {
  const m = new Map<number, ConnInfo>();
  if (session.tcp) m.set(session.tcp.id, { label: 'ctrl', tcp: session.tcp, dc: null });
  for (const dc of session.dataConnections) {
    if (dc.tcp) m.set(dc.tcp.id, { label: `D${dc.id}`, tcp: dc.tcp, dc });
  }
  return m;
}

/** Sequence number relative to the sender's ISN, when the handshake was seen. */
export function relSeq(tcp: TcpConnection | null, dir: 0 | 1, raw: number): number | null {
  const isn = tcp?.handshake.isn[dir];
  return isn === null || isn === undefined ? null : (raw - isn) >>> 0;
}

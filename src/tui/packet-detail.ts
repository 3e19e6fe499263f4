/**
 * Full dissection of the one packet someone looks at: re-read by its file offset, dissected
 * with what the session knows about its connection (ISNs for relative numbers, the window
 * shift, which side is the FTP client, whether the control channel is still clear text).
 */
import type { PacketRecord } from '../capture/types.js';
import { dissect, type DissectContext } from '../dissect/dissect.js';
import type { Dissection } from '../dissect/field.js';
import type { PacketRef, Session } from '../model/types.js';
import { connectionsOf } from './views/connections.js';

export type FrameReader = (frame: number, fileOffset: number) => Promise<PacketRecord>;

/** Frame of the 234 reply that switched the control channel to TLS, if any. */
function tlsFrom(session: Session): number | null {
  for (const c of session.commands) {
    if (c.verb !== 'AUTH') continue;
    const ok = c.replies.find((r) => r.code === 234);
    if (ok) return ok.frame ?? c.frame ?? 0;
  }
  return null;
}

export function dissectContext(session: Session, ref: PacketRef): DissectContext {
  const conn = connectionsOf(session).get(ref.connId);
  const ctx: DissectContext = {};
  const tcp = conn?.tcp;
  if (tcp) {
    const hs = tcp.handshake;
    const other = ref.dir === 0 ? 1 : 0;
    const sendOpt = hs.options[ref.dir];
    const recvOpt = hs.options[other];
    ctx.tcp = {
      senderIsn: hs.isn[ref.dir] ?? undefined,
      receiverIsn: hs.isn[other] ?? undefined,
      senderWindowShift: sendOpt?.wscale !== undefined && recvOpt?.wscale !== undefined ? sendOpt.wscale : undefined,
    };
    if (conn.dc) {
      const sender = ref.dir === 0 ? tcp.client : tcp.server;
      ctx.ftp = { channel: 'data', fromClient: sender.ip === session.client.ip };
    } else {
      const tlsFrame = tlsFrom(session);
      if (tlsFrame === null || ref.frame <= tlsFrame) ctx.ftp = { channel: 'control', fromClient: ref.dir === 0 };
    }
  }
  return ctx;
}

export function makePacketLoader(read: FrameReader): (session: Session, ref: PacketRef) => Promise<Dissection> {
  return async (session, ref) => dissect(await read(ref.frame, ref.fileOffset), dissectContext(session, ref));
}

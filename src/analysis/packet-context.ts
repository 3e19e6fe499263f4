/**
 * What the full dissection of one packet needs to know beyond its bytes, read off the facts
 * the analysis recorded for it: the numbers relative ones count from, the sender's window
 * scale, and whether (and how) its payload is FTP. Dashboard and inspect both use this, so
 * they decode a packet the same way.
 */
import type { DissectContext } from '../dissect/dissect.js';
import { isControlChannel, isDataChannel, type PacketFact } from '../model/packet-facts.js';

export function dissectContextOf(fact: PacketFact): DissectContext {
  const ctx: DissectContext = {
    tcp: {
      senderIsn: fact.isn[0] ?? undefined,
      receiverIsn: fact.isn[1] ?? undefined,
      senderWindowShift: fact.windowShift ?? undefined,
      analysis: fact.analysis ?? undefined,
    },
  };
  const ftpChannel = isControlChannel(fact.channel) ? 'control' : isDataChannel(fact.channel) ? 'data' : null;
  if (ftpChannel !== null && fact.sender !== null && !(ftpChannel === 'control' && fact.tls)) {
    ctx.ftp = { channel: ftpChannel, fromClient: fact.sender === 'client' };
  }
  return ctx;
}

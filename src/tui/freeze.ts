/**
 * A still copy of a live analysis for pause: live snapshots share the model's objects, which
 * keep changing. Copies what the views read (lists, counters, packet logs); TCP connection
 * details are shared (they settle once the handshake is over).
 */
import type { Analysis, DataConnection, Session } from '../model/types.js';

function freezeDc(dc: DataConnection): DataConnection {
  return { ...dc, client: { ...dc.client }, server: { ...dc.server } };
}

function freezeSession(s: Session): Session {
  return {
    ...s,
    commands: s.commands.map((c) => ({ ...c, replies: c.replies.slice() })),
    unsolicitedReplies: s.unsolicitedReplies.slice(),
    dataConnections: s.dataConnections.map(freezeDc),
    findings: s.findings.slice(),
    controlBytes: [s.controlBytes[0], s.controlBytes[1]],
    packets: s.packets ? { items: s.packets.items.slice(), dropped: s.packets.dropped } : null,
  };
}

export function freezeAnalysis(a: Analysis): Analysis {
  return {
    source: { ...a.source, linkTypes: a.source.linkTypes.slice() },
    sessions: a.sessions.map(freezeSession),
    unpairedDataConnections: a.unpairedDataConnections.map(freezeDc),
    findings: a.findings.slice(),
  };
}

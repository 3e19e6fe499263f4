/**
 * Live models change under the dashboard: a cheap fingerprint tells when to redraw, and a
 * still copy holds the picture while paused.
 *
 * The still copy of a live analysis for pause: live snapshots share the model's objects, which
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
    findings: s.findings.map((f) => ({ ...f, frames: f.frames?.slice() })),
    controlBytes: [s.controlBytes[0], s.controlBytes[1]],
    unseenTransfers: s.unseenTransfers.slice(),
    packets: s.packets ? s.packets.frozen() : null,
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

/**
 * Cheap fingerprint of a live model: proxies deliver no packet counts, so commands, replies,
 * data bytes and findings count too. O(sessions + data connections) per refresh.
 */
export function signature(a: Analysis): string {
  let n = 0;
  let bytes = 0;
  for (const s of a.sessions) {
    n += s.commands.length + s.dataConnections.length + (s.closed ? 1 : 0);
    // A repeated finding is folded into the first (its count grows, the list does not).
    for (const f of s.findings) n += f.count ?? 1;
    const last = s.commands[s.commands.length - 1];
    if (last) n += last.replies.length;
    for (const dc of s.dataConnections) bytes += dc.bytes;
  }
  for (const dc of a.unpairedDataConnections) bytes += dc.bytes;
  return `${a.source.packets}|${a.sessions.length}|${a.unpairedDataConnections.length}|${a.findings.length}|${n}|${bytes}`;
}


/**
 * Packets view: the session's packets, control and data, in capture order, one line each:
 * number, relative time, connection, direction in FTP roles (C→S from the FTP client, S→C
 * from the FTP server; `*` marks the TCP initiator's packets), flags, length, and what the
 * packet meant. Every column is a fact the analysis recorded for the packet.
 */
import type { PacketFact, PacketList } from '../../model/packet-facts.js';
import type { DataConnection, Session } from '../../model/types.js';
import { connectionLabel, directionLabel, packetSummary } from '../../report/packet-facts.js';
import { analysisTags, TA_FLAG_MASK } from '../../model/tcp-analysis.js';
import { DisplayFilter } from '../../report/filter/index.js';
import type { PaneModel } from '../pane.js';
import { fit, fitLeft, flagNames, rel } from '../text.js';
import type { ListSource } from '../vlist.js';

export function packetSource(list: PacketList | null): ListSource {
  return {
    count: list?.count ?? 0,
    keyAt: (i) => list!.at(i).frame,
    indexOf: (key) => (list && typeof key === 'number' ? list.indexOfFrame(key) : -1),
  };
}

/** Width of the analysis tag column ("DUP ACK #12", "ZERO WIN"; longer tag lists are cut with …). */
const TAG_W = 12;

export const PACKET_HEADER = `${fitLeft('No.', 7)} ${fit('Time', 10)} ${fit('Conn', 5)} ${fit('Dir', 4)} ${fit('Flags', 11)} ${fitLeft('Len', 5)} ${fit('Analysis', TAG_W)} Summary`;

/** The packet's TCP analysis flags as Wireshark-style tags ("RETX", "DUP ACK #2", "ZERO WIN"). */
export function tagsOf(p: PacketFact): string {
  return p.analysis ? analysisTags(p.analysis).join(',') : '';
}

/** Whether the packet has a TCP analysis flag (the packets view marks it, a / A jump between them). */
export function isFlagged(p: PacketFact): boolean {
  return p.analysis !== null && (p.analysis.flags & TA_FLAG_MASK) !== 0;
}

export function packetsPane(session: Session | null, showPasswords = false, captureStart?: number): PaneModel {
  let lastNeedle: string | null = null;
  let filter: DisplayFilter | null = null;
  const list = session?.packets ?? null;
  const start = session?.start ?? 0;
  const dcOf = (p: PacketFact): DataConnection | null =>
    p.channel === 'data' && session ? session.dataConnections.find((d) => d.id === p.dataConnection) ?? null : null;
  const rowText = (p: PacketFact): string =>
    `${fitLeft(String(p.frame), 7)} ${fit(rel(p.ts, start), 10)} ${fit(connectionLabel(p), 5)} ${fit(directionLabel(p), 4)} ${fit(flagNames(p.flags), 11)} ${fitLeft(String(p.len), 5)} ${fit(tagsOf(p), TAG_W)} ${packetSummary(p, dcOf(p), showPasswords)}`;
  const dropped = list?.dropped ?? 0;
  return {
    title: session ? `Packets — session ${session.id} (* = sent by the TCP initiator)${dropped ? ` (${dropped} older packets dropped)` : ''}` : 'Packets',
    header: PACKET_HEADER,
    source: packetSource(list),
    row: (i) => {
      const p = list!.at(i);
      return [{ text: rowText(p), style: isFlagged(p) ? 'flagged' : p.sender === 'server' ? 'server' : 'client' }];
    },
    empty: list ? 'no packets' : session ? 'packets were not kept for this session' : 'select a session',
    matches: (i, needle) => {
      // A display filter (tcp.flags.reset == 1, ftp.response.code >= 400) tests the packet's facts; other text, the row.
      if (needle !== lastNeedle) { lastNeedle = needle; filter = DisplayFilter.tryParse(needle, { showPasswords }); }
      const p = list!.at(i);
      if (filter) return filter.matchesPacket(p, { start: captureStart ?? start, session: (id) => (id === session?.id ? session : null) });
      return rowText(p).toLowerCase().includes(needle.toLowerCase());
    },
  };
}

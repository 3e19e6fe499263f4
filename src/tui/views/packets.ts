/**
 * Packets view: the session's packets, control and data, in time order, one line each:
 * number, relative time, connection and direction, flags, length, summary.
 */
import type { PacketRef, Session } from '../../model/types.js';
import { TCP_ACK, TCP_SYN } from '../../dissect/types.js';
import type { PaneModel } from '../pane.js';
import { fit, fitLeft, flagNames, rel } from '../text.js';
import type { ListSource } from '../vlist.js';
import { connectionsOf, relSeq, type ConnInfo } from './connections.js';

/** frame → what the packet carried, from the session's commands and replies. */
export function frameSummaries(session: Session, showPasswords = false): Map<number, string> {
  const m = new Map<number, string>();
  const add = (frame: number | null, text: string): void => {
    if (frame === null) return;
    const prev = m.get(frame);
    m.set(frame, prev ? `${prev}; ${text}` : text);
  };
  if (session.greeting) add(session.greeting.frame, `Response: ${session.greeting.code} ${firstLine(session.greeting.text)}`);
  for (const c of session.commands) {
    add(c.frame, `Request: ${c.verb}${c.arg !== null ? ' ' + (c.verb === 'PASS' && !showPasswords ? '****' : c.arg) : ''}`);
    for (const r of c.replies) add(r.frame, `Response: ${r.code} ${firstLine(r.text)}`);
  }
  for (const r of session.unsolicitedReplies) add(r.frame, `Response: ${r.code} ${firstLine(r.text)}`);
  return m;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i) + ' …';
}

export function packetSource(items: readonly PacketRef[]): ListSource {
  return {
    count: items.length,
    keyAt: (i) => items[i].frame,
    indexOf: (key) => {
      // Frames are in capture order; binary search, then a linear fallback for odd orders.
      let lo = 0;
      let hi = items.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const f = items[mid].frame;
        if (f === key) return mid;
        if (f < (key as number)) lo = mid + 1;
        else hi = mid - 1;
      }
      return items.findIndex((p) => p.frame === key);
    },
  };
}

export const PACKET_HEADER = `${fitLeft('No.', 7)} ${fit('Time', 10)} ${fit('Conn', 5)} ${fit('Dir', 3)} ${fit('Flags', 11)} ${fitLeft('Len', 5)} Summary`;

export function packetSummary(p: PacketRef, conn: ConnInfo | undefined, summaries: Map<number, string>): string {
  const s = summaries.get(p.frame);
  if (s) return s;
  const tcp = conn?.tcp ?? null;
  const seq = relSeq(tcp, p.dir, p.seq);
  const ack = relSeq(tcp, p.dir === 0 ? 1 : 0, p.ack);
  const nums = `seq=${seq ?? p.seq}${p.flags & TCP_ACK ? ` ack=${ack ?? p.ack}` : ''}`;
  if (p.len > 0 && conn?.dc) {
    const dc = conn.dc;
    const what = dc.command ? `${dc.command.verb}${dc.command.arg ? ' ' + dc.command.arg : ''}` : 'data';
    return `FTP-DATA ${what}: ${p.len} bytes  ${nums}`;
  }
  if (p.flags & TCP_SYN) return `${p.flags & TCP_ACK ? 'SYN-ACK' : 'SYN'} ${nums}`;
  return nums;
}

export function packetsPane(session: Session | null, showPasswords = false): PaneModel {
  const items = session?.packets?.items ?? [];
  const conns = session ? connectionsOf(session) : new Map<number, ConnInfo>();
  const summaries = session ? frameSummaries(session, showPasswords) : new Map<number, string>();
  const start = session?.start ?? 0;
  const rowText = (i: number): string => {
    const p = items[i];
    const conn = conns.get(p.connId);
    const dir = p.dir === 0 ? 'C→S' : 'S→C';
    return `${fitLeft(String(p.frame), 7)} ${fit(rel(p.ts, start), 10)} ${fit(conn?.label ?? `#${p.connId}`, 5)} ${dir} ${fit(flagNames(p.flags), 11)} ${fitLeft(String(p.len), 5)} ${packetSummary(p, conn, summaries)}`;
  };
  const dropped = session?.packets?.dropped ?? 0;
  return {
    title: session ? `Packets — session ${session.id}${dropped ? ` (${dropped} older packets dropped)` : ''}` : 'Packets',
    header: PACKET_HEADER,
    source: packetSource(items),
    row: (i) => [{ text: rowText(i), style: items[i].dir === 0 ? 'client' : 'server' }],
    empty: session?.packets ? 'no packets' : session ? 'packets were not kept for this session' : 'select a session',
    matches: (i, needle) => rowText(i).toLowerCase().includes(needle.toLowerCase()),
  };
}

/**
 * Graphs view: the time–sequence graph (data segments, ACK line, receive window, retransmissions
 * and zero windows marked) and the throughput graph of one data connection, with what limited each
 * stretch of time under them. A cursor (← →) walks the time axis and selects the packet nearest it;
 * a / A jump to the next / previous packet with an analysis flag. Every glyph says what it is
 * (src/report/graphs.ts), colour only repeats it.
 */
import type { PacketFact } from '../../model/packet-facts.js';
import type { DataConnection, Session } from '../../model/types.js';
import { transferGraphs, transferSummaryText, type GraphKind, type TransferGraphs } from '../../report/graphs.js';
import { connectionLabel, directionLabel, packetSummary } from '../../report/packet-facts.js';
import type { PaneModel } from '../pane.js';
import type { Row } from '../terminal.js';
import type { Style } from '../theme.js';
import { rel } from '../text.js';
import { isFlagged, tagsOf } from './packets.js';

const KIND_STYLE: Record<GraphKind, Style | undefined> = {
  data: 'graphData', ack: 'graphAck', window: 'graphWindow', retx: 'graphMark', zero: 'graphMark', axis: 'dim',
  cursor: 'graphCursor', bar: 'graphBar', receiver: 'warn', loss: 'error', 'window-limited': 'graphWindow', sender: 'ok',
};

/** The packets of one data connection, from the session's packet list (bounded by it). */
export function connectionPackets(session: Session, dc: DataConnection): PacketFact[] {
  const list = session.packets;
  const out: PacketFact[] = [];
  if (!list) return out;
  for (let i = 0; i < list.count; i++) {
    const p = list.at(i);
    if (p.channel === 'data' && p.dataConnection === dc.id) out.push(p);
  }
  return out;
}

export interface GraphState {
  session: Session;
  dc: DataConnection;
  packets: PacketFact[];
  /** Column of the cursor on the time axis. */
  cursor: number;
  /** The selected packet (the one nearest the cursor, or the flagged one a / A went to). */
  frame: number | null;
}

/** The data direction: the diagnosis', else the one that sent more payload. */
function dataDir(g: GraphState): 0 | 1 {
  if (g.dc.tcpAnalysis) return g.dc.tcpAnalysis.dir;
  let b0 = 0;
  let b1 = 0;
  for (const p of g.packets) if (p.dir === 0) b0 += p.len; else b1 += p.len;
  return b1 > b0 ? 1 : 0;
}

export function graphsOf(g: GraphState, width: number, height: number): TransferGraphs {
  return transferGraphs(g.packets, dataDir(g), g.dc.tcpAnalysis ?? null, width, Math.max(10, height - 4), g.cursor);
}

export function graphsPane(g: GraphState | null, width: number, height: number): PaneModel {
  if (!g) {
    return { title: 'Graphs', source: { count: 0, keyAt: () => 0, indexOf: () => -1 }, row: () => [], empty: 'select a data connection (a packet of it, or its row in Sessions) first', textOnly: true };
  }
  const graphs = graphsOf(g, width, height);
  const rows: Row[] = graphs.lines.map((line) => line.map((seg) => ({ text: seg.text, style: seg.kind ? KIND_STYLE[seg.kind] : undefined })));
  // The selected packet, and the diagnosis in one line.
  const p = g.frame !== null ? g.packets.find((x) => x.frame === g.frame) : undefined;
  if (p) {
    const tags = tagsOf(p);
    rows.push([{ text: `cursor ▶ frame ${p.frame}  +${rel(p.ts, g.session.start)} s  ${connectionLabel(p)} ${directionLabel(p)}  ${tags ? `[${tags}] ` : ''}${packetSummary(p, g.dc)}`, style: isFlagged(p) ? 'flagged' : 'key' }]);
  }
  if (g.dc.tcpAnalysis) rows.push([{ text: `TCP: ${transferSummaryText(g.dc.tcpAnalysis)}` }]);
  rows.push([{ text: '← → move the cursor (selects the nearest packet)  a / A next / previous flagged packet  Enter show it in Packets', style: 'dim' }]);
  const cmd = g.dc.command ? `${g.dc.command.verb}${g.dc.command.arg ? ' ' + g.dc.command.arg : ''}` : 'no transfer command';
  return {
    title: `Graphs — session ${g.session.id}, D${g.dc.id} ${cmd} (${g.packets.length} packets)`,
    source: { count: rows.length, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < rows.length ? k : -1) },
    row: (i, w) => rows[i]!.map((seg) => ({ ...seg, text: seg.text })).reduce<Row>((acc, seg) => {
      const used = acc.reduce((n, x) => n + x.text.length, 0);
      if (used < w) acc.push({ ...seg, text: seg.text.slice(0, w - used) });
      return acc;
    }, []),
    empty: 'no packets kept for this data connection',
    textOnly: true,
    matches: (i, needle) => rows[i]!.map((s) => s.text).join('').toLowerCase().includes(needle.toLowerCase()),
  };
}

/** The column of a frame on the graph's time axis (the cursor goes there), or null when not drawn. */
export function columnOfFrame(graphs: TransferGraphs, frame: number): number | null {
  const i = graphs.frames.indexOf(frame);
  return i >= 0 ? graphs.columns[i]! : null;
}

import type { DataConnection, FtpCommand, FtpReply, Session } from '../model/types.js';
import type { TcpConnection } from '../tcp/events.js';
import { maskArg } from './json.js';
import {
  formatBytes, formatDuration, formatEndpoint, formatRelTs, incompleteReasons, printable, truncate,
} from './format.js';

/** One line of a ladder diagram; `frame` lets a viewer jump from an arrow to its packet. */
export interface LadderLine {
  text: string;
  frame: number | null;
  connId: number | null;
  kind: 'command' | 'reply' | 'tcp' | 'data' | 'note';
}

export interface LadderOptions {
  /** Total columns; every line fits (default 80). */
  width?: number;
}

const MIN_WIDTH = 40;

/**
 * A sequence diagram of one session: the FTP client's lifeline on the left, the server's on
 * the right; commands →, replies ←, timestamps relative to the session start. Each data
 * connection is drawn where its first packet happened, as a nested ladder between the two
 * lifelines (SYN, SYN-ACK, ACK, payload, FIN/RST), always with the FTP client on the left, so
 * an active-mode connection opens from right to left.
 */
export function renderLadder(session: Session, opts: LadderOptions = {}): LadderLine[] {
  const width = Math.max(MIN_WIDTH, Math.floor(opts.width ?? 80));
  const rows = collectRows(session);
  const timeW = Math.max(...rows.map((r) => r.time.length), 7);
  const frameW = Math.max(...rows.map((r) => r.frameText.length), 5);
  const gutter = timeW + 1 + frameW + 1;
  const lane = width - gutter; // columns for the lifelines and what is between them

  const lines: LadderLine[] = [];
  const s = session;
  const head = `Session ${s.id}${s.user !== null ? `  user ${printable(s.user)}` : ''}  ${formatDuration(s.end - s.start)}` +
    `${s.tls ? '  TLS' : ''}`;
  lines.push({ text: truncate(head, width), frame: null, connId: s.tcp?.id ?? null, kind: 'note' });
  const left = `client ${formatEndpoint(s.client)}`;
  const right = `server ${formatEndpoint(s.server)}`;
  // Long (IPv6) endpoints get a line each rather than being cut.
  const endpointLines = left.length + right.length + 1 <= width ? [ends(left, right, width)] : [left, right.padStart(width)];
  for (const text of endpointLines) lines.push({ text: truncate(text, width), frame: null, connId: null, kind: 'note' });
  lines.push({ text: ' '.repeat(gutter) + '|' + ' '.repeat(Math.max(0, lane - 2)) + '|', frame: null, connId: null, kind: 'note' });

  for (const r of rows) {
    const prefix = r.time.padStart(timeW) + ' ' + r.frameText.padEnd(frameW) + ' ';
    lines.push({ text: truncate(prefix + r.draw(lane), width), frame: r.frame, connId: r.connId, kind: r.kind });
  }
  return lines;
}

/** A row before layout: its gutter texts and how to draw its lane at a given lane width. */
interface Row {
  time: string;
  frameText: string;
  frame: number | null;
  connId: number | null;
  kind: LadderLine['kind'];
  draw: (lane: number) => string;
}

interface Timed {
  ts: number;
  frame: number | null;
  order: number;
  rows: Row[];
}

function collectRows(s: Session): Row[] {
  const items: Timed[] = [];
  let order = 0;
  const rel = (ts: number | null): string => (ts === null ? '' : formatRelTs(ts - s.start));
  const ctl = s.tcp;
  const ctlId = ctl?.id ?? null;

  if (ctl) {
    const hs = ctl.handshake;
    for (const [label, frame, ts, toRight] of [
      ['SYN', hs.synFrame, hs.synTs, true], ['SYN-ACK', hs.synAckFrame, hs.synAckTs, false], ['ACK', hs.ackFrame, hs.ackTs, true],
    ] as const) {
      if (frame === null) continue;
      items.push({ ts: ts ?? s.start, frame, order: order++, rows: [
        row(rel(ts), frame, ctlId, 'tcp', (lane) => control(lane, label, toRight)),
      ] });
    }
  }
  if (s.greeting && !s.commands.some((c) => c.replies.some((r) => r.frame === s.greeting!.frame && r.code === s.greeting!.code))) {
    const g = s.greeting;
    const greetingReply = s.unsolicitedReplies.find((r) => r.frame === g.frame && r.code === g.code);
    if (!greetingReply) {
      items.push({ ts: s.start, frame: g.frame, order: order++, rows: [
        row('', g.frame, ctlId, 'reply', (lane) => control(lane, `${g.code} ${oneLine(g.text)}`, false)),
      ] });
    }
  }
  for (const c of s.commands) {
    items.push({ ts: c.ts, frame: c.frame, order: order++, rows: [commandRow(s, c, ctlId)] });
    for (const r of c.replies) items.push({ ts: r.ts, frame: r.frame, order: order++, rows: [replyRow(s, r, ctlId)] });
  }
  for (const r of s.unsolicitedReplies) {
    items.push({ ts: r.ts, frame: r.frame, order: order++, rows: [replyRow(s, r, ctlId)] });
  }
  for (const dc of s.dataConnections) {
    const first = dc.tcp?.handshake.synFrame ?? dc.tcp?.firstFrame ?? null;
    items.push({ ts: dc.start, frame: first, order: order++, rows: dataRows(s, dc) });
  }
  // Findings sit where they point, e.g. a data connection that was announced but never seen.
  for (const f of s.findings) {
    if (f.frame === null) continue;
    items.push({ ts: Number.NaN, frame: f.frame, order: order++, rows: [
      row('', f.frame, ctlId, 'note', (lane) => '|' + (' ! ' + truncate(`${f.code}: ${printable(f.message)}`, lane - 5)).padEnd(lane - 2) + '|'),
    ] });
  }
  if (ctl) {
    for (const c of closeRows(ctl, s.end, rel, ctlId, true, (lane, label, toRight) => control(lane, label, toRight))) {
      items.push({ ts: s.end, frame: c.frame, order: order++, rows: [c] });
    }
  }

  items.sort(compareTimed);
  return items.flatMap((i) => i.rows);
}

/** Time order; frames break ties and order packets of one capture exactly. */
function compareTimed(a: Timed, b: Timed): number {
  if (a.frame !== null && b.frame !== null && a.frame !== b.frame) return a.frame - b.frame;
  if (a.ts !== b.ts && !Number.isNaN(a.ts) && !Number.isNaN(b.ts)) return a.ts - b.ts;
  return a.order - b.order;
}

function commandRow(s: Session, c: FtpCommand, connId: number | null): Row {
  const arg = maskArg(c.verb, c.arg, {});
  const label = printable(c.verb) + (arg !== null ? ' ' + printable(arg) : '');
  return row(formatRelTs(c.ts - s.start), c.frame, connId, 'command', (lane) => control(lane, label, true));
}

function replyRow(s: Session, r: FtpReply, connId: number | null): Row {
  return row(formatRelTs(r.ts - s.start), r.frame, connId, 'reply',
    (lane) => control(lane, `${r.code} ${oneLine(r.text)}`, false));
}

/** The nested ladder of one data connection. */
function dataRows(s: Session, dc: DataConnection): Row[] {
  const tcp = dc.tcp;
  const connId = tcp?.id ?? null;
  const rel = (ts: number | null): string => (ts === null ? '' : formatRelTs(ts - s.start));
  // Left side of the nested ladder is the FTP client; does the data connection's TCP client sit there?
  const clientLeft = dc.mode === 'passive' ? true : dc.mode === 'active' ? false : dc.client.ip === s.client.ip;
  const fromClient = (toRight: boolean): boolean => (clientLeft ? toRight : !toRight);
  const rows: Row[] = [];

  const cmd = dc.command ? `${dc.command.verb}${dc.command.arg !== null ? ' ' + printable(dc.command.arg) : ''}` : 'no transfer command';
  const title = `data #${dc.id} ${dc.mode ?? '?'} ${dc.setup ?? ''}${dc.setupFrame !== null ? ` #${dc.setupFrame}` : ''} for ${cmd}`;
  rows.push(row(rel(dc.start), null, connId, 'data', (lane) => nestedNote(lane, `.-- ${title}`)));
  const opener = clientLeft ? dc.client : dc.server;
  const other = clientLeft ? dc.server : dc.client;
  const [l, r] = [formatEndpoint(opener), formatEndpoint(other)];
  if (l.length + r.length + 3 <= nestedInner(80 - 15)) {
    rows.push(row('', null, connId, 'data', (lane) => nestedEnds(lane, l, r)));
  } else {
    // IPv6 endpoints: one line each, under their lifelines.
    rows.push(row('', null, connId, 'data', (lane) => nestedEnds(lane, l, '')));
    rows.push(row('', null, connId, 'data', (lane) => nestedEnds(lane, '', r)));
  }

  if (tcp) {
    const hs = tcp.handshake;
    const steps = [
      ['SYN', hs.synFrame, hs.synTs, true], ['SYN-ACK', hs.synAckFrame, hs.synAckTs, false], ['ACK', hs.ackFrame, hs.ackTs, true],
    ] as const;
    let any = false;
    for (const [label, frame, ts, toRight] of steps) {
      if (frame === null) continue;
      any = true;
      rows.push(row(rel(ts), frame, connId, 'tcp', (lane) => nested(lane, label, fromClient(toRight), '-')));
    }
    if (!any) rows.push(row('', null, connId, 'note', (lane) => nestedText(lane, '(handshake not captured)')));
  }

  const dur = formatDuration(dc.end - dc.start);
  const perDir = tcp ? tcp.bytes : null;
  if (perDir && perDir[0] > 0 && perDir[1] > 0) {
    rows.push(row('', null, connId, 'data', (lane) => nested(lane, `${formatBytes(perDir[0])} in ${dur}`, fromClient(true), '=')));
    rows.push(row('', null, connId, 'data', (lane) => nested(lane, `${formatBytes(perDir[1])}`, fromClient(false), '=')));
  } else {
    // Which way the payload went, in FTP roles: downloads and listings flow to the client (left).
    let toRight: boolean;
    if (dc.direction === 'upload') toRight = true;
    else if (dc.direction === 'download' || dc.direction === 'listing') toRight = false;
    else if (perDir) toRight = fromClient(perDir[0] > 0);
    else toRight = false;
    const label = `${formatBytes(dc.bytes)} ${dc.direction ?? ''} in ${dur}`.replace('  ', ' ');
    rows.push(row('', null, connId, 'data', (lane) => nested(lane, label, toRight, '=')));
  }
  if (!dc.complete) {
    rows.push(row('', null, connId, 'note', (lane) => nestedText(lane, `incomplete: ${incompleteReasons(dc).join('; ')}`)));
  }
  if (tcp) {
    rows.push(...closeRows(tcp, dc.end, rel, connId, clientLeft, (lane, label, toRight) => nested(lane, label, toRight, '-')));
  } else if (dc.closeReason) {
    rows.push(row(rel(dc.end), null, connId, 'tcp', (lane) => nestedText(lane, `closed (${dc.closeReason})`)));
  }
  rows.push(row('', null, connId, 'data', (lane) => nestedNote(lane, "'--")));
  return rows;
}

/** FIN and RST arrows of a connection in frame order. The capture gives no per-FIN times; only the last gets `end`. */
function closeRows(tcp: TcpConnection, end: number, rel: (ts: number | null) => string, connId: number | null,
  clientLeft: boolean, draw: (lane: number, label: string, toRight: boolean) => string): Row[] {
  const marks: Array<{ label: string; frame: number; fromTcpClient: boolean }> = [];
  if (tcp.finFrame[0] !== null) marks.push({ label: 'FIN', frame: tcp.finFrame[0], fromTcpClient: true });
  if (tcp.finFrame[1] !== null) marks.push({ label: 'FIN', frame: tcp.finFrame[1], fromTcpClient: false });
  if (tcp.rstFrame !== null) marks.push({ label: 'RST', frame: tcp.rstFrame, fromTcpClient: tcp.rstBy !== 1 });
  marks.sort((a, b) => a.frame - b.frame);
  return marks.map((m, i) => row(i === marks.length - 1 ? rel(end) : '', m.frame, connId, 'tcp',
    (lane) => draw(lane, m.label, clientLeft ? m.fromTcpClient : !m.fromTcpClient)));
}

function row(time: string, frame: number | null, connId: number | null, kind: LadderLine['kind'],
  draw: (lane: number) => string): Row {
  return { time, frameText: frame === null ? '' : `#${frame}`, frame, connId, kind, draw };
}

/** "|-- label ---->|" or "|<--- label --|", exactly `lane` columns. */
function control(lane: number, label: string, toRight: boolean): string {
  return '|' + arrow(lane - 2, label, toRight, '-') + '|';
}

/** The nested lifelines sit 2 columns inside the control ones: "|  :--- SYN --->:  |". */
const NEST = 2;

function nestedInner(lane: number): number {
  return lane - 2 - 2 * NEST - 2;
}

function nested(lane: number, label: string, toRight: boolean, fill: string): string {
  const pad = ' '.repeat(NEST);
  return '|' + pad + ':' + arrow(nestedInner(lane), label, toRight, fill) + ':' + pad + '|';
}

function nestedNote(lane: number, text: string): string {
  const pad = ' '.repeat(NEST);
  const inner = nestedInner(lane) + 2;
  return '|' + pad + truncate(text, inner).padEnd(inner) + pad + '|';
}

/** "|  : text         :  |", a remark between the nested lifelines. */
function nestedText(lane: number, text: string): string {
  const pad = ' '.repeat(NEST);
  const inner = nestedInner(lane);
  return '|' + pad + ':' + (' ' + truncate(text, inner - 1)).padEnd(inner) + ':' + pad + '|';
}

/** "|  : left ... right :  |", the nested lifelines labelled with their endpoints. */
function nestedEnds(lane: number, left: string, right: string): string {
  const pad = ' '.repeat(NEST);
  const inner = nestedInner(lane);
  return '|' + pad + ':' + ends(` ${left}`, `${right} `, inner).padEnd(inner) + ':' + pad + '|';
}

/** An arrow of exactly `n` columns with the label near its tail. */
function arrow(n: number, label: string, toRight: boolean, fill: string): string {
  if (n < 3) return (toRight ? '>' : '<').padStart(Math.max(0, n), fill);
  const room = n - 6; // two fill + space on the tail side, space + fill + head on the other
  const text = room > 0 ? truncate(label, room) : '';
  const body = text ? ` ${text} ` : '';
  if (toRight) {
    const tail = fill.repeat(2);
    return tail + body + fill.repeat(Math.max(0, n - tail.length - body.length - 1)) + '>';
  }
  const tail = fill.repeat(2);
  return '<' + fill.repeat(Math.max(0, n - tail.length - body.length - 1)) + body + tail;
}

/** Left text and right text on one line of `width` columns (left wins when they do not fit). */
function ends(left: string, right: string, width: number): string {
  const gap = width - left.length - right.length;
  if (gap >= 1) return left + ' '.repeat(gap) + right;
  return truncate(`${left} ${right}`, width);
}

function oneLine(text: string): string {
  const lines = text.split('\n');
  return printable(lines.find((l) => l.trim() !== '')?.trim() ?? '') + (lines.length > 1 ? ` (+${lines.length - 1})` : '');
}

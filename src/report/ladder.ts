import type { DataConnection, FtpCommand, FtpReply, Session } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import type { TcpFacts } from '../model/tcp-facts.js';
import { senderRole, type FtpRole } from '../model/packet-facts.js';
import { commandText, maskReplyText } from '../ftp/masking.js';
import {
  formatBytes, formatDuration, formatEndpoint, formatRelTs, incompleteReasons, printable, truncate,
} from './format.js';
import { causeStrip, sparkline, transferSummaryText } from './graphs.js';

/** One line of a ladder diagram; `frame` lets a viewer jump from an arrow to its packet. */
export interface LadderLine {
  text: string;
  frame: number | null;
  connId: number | null;
  kind: 'command' | 'reply' | 'tcp' | 'data' | 'note';
  /** When what the line stands for happened (null for headings). Lines are in this order. */
  ts: number | null;
  /** The FTP role of the side that sent what the line stands for, when it stands for something sent. */
  sender: FtpRole | null;
}

export interface LadderOptions {
  /** Total columns; every line fits (default 80). */
  width?: number;
  /** Show secret arguments (PASS, ACCT, ADAT) instead of ****. */
  showPasswords?: boolean;
  /** Under each data connection's payload: its throughput sparkline and what limited it (--graphs). */
  graphs?: boolean;
}

export const MIN_LADDER_WIDTH = 40;

/**
 * A sequence diagram of one session: the FTP client's lifeline on the left, the server's on
 * the right; commands →, replies ←, timestamps relative to the session start, every line in
 * time order. Data connections are drawn on their own lane between two inner lifelines, each
 * line tagged with the connection (D1, D2, …): SYN, SYN-ACK, ACK, the payload, FIN, ACK, RST,
 * each where it happened among the control lines. Arrows point the way the FTP roles talk: an
 * active-mode connection, opened by the server, opens from right to left.
 */
export function renderLadder(session: Session, opts: LadderOptions = {}): LadderLine[] {
  const width = Math.max(MIN_LADDER_WIDTH, Math.floor(opts.width ?? 80));
  const rows = collectRows(session, opts.showPasswords ?? false, opts.graphs ?? false);
  let timeW = 7;
  let frameW = 5;
  for (const r of rows) {
    if (r.time.length > timeW) timeW = r.time.length;
    if (r.frameText.length > frameW) frameW = r.frameText.length;
  }
  const gutter = timeW + 1 + frameW + 1;
  const lane = width - gutter; // columns for the lifelines and what is between them

  const lines: LadderLine[] = [];
  const s = session;
  const head = `Session ${s.id}${s.user !== null ? `  user ${printable(s.user)}` : ''}  ${formatDuration(s.end - s.start)}` +
    `${s.tls ? '  TLS' : ''}`;
  const heading = (text: string, connId: number | null = null): LadderLine => ({ text: truncate(text, width), frame: null, connId, kind: 'note', ts: null, sender: null });
  lines.push(heading(head, s.tcp?.id ?? null));
  const left = `client ${formatEndpoint(s.client)}`;
  const right = `server ${formatEndpoint(s.server)}`;
  // Long (IPv6) endpoints get a line each rather than being cut.
  const endpointLines = left.length + right.length + 1 <= width ? [ends(left, right, width)] : [left, right.padStart(width)];
  for (const text of endpointLines) lines.push(heading(text));
  lines.push(heading(' '.repeat(gutter) + '|' + ' '.repeat(Math.max(0, lane - 2)) + '|'));

  for (const r of rows) {
    const prefix = r.time.padStart(timeW) + ' ' + r.frameText.padEnd(frameW) + ' ';
    lines.push({ text: truncate(prefix + r.draw(lane), width), frame: r.frame, connId: r.connId, kind: r.kind, ts: r.ts, sender: r.sender });
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
  ts: number;
  sender: FtpRole | null;
  draw: (lane: number) => string;
}

/** A row with its place in time: timestamp, then frame, then the order it was made in. */
interface Timed {
  ts: number;
  frame: number;
  order: number;
  row: Row;
}

function collectRows(s: Session, showPasswords: boolean, graphs: boolean): Row[] {
  const items: Timed[] = [];
  let order = 0;
  const rel = (ts: number): string => formatRelTs(ts - s.start);
  const ctlId = s.tcp?.id ?? null;
  const put = (ts: number, frame: number | null, r: Row): void => {
    items.push({ ts, frame: frame ?? Number.MAX_SAFE_INTEGER, order: order++, row: r });
  };

  if (s.tcp) {
    const hs = s.tcp.handshake;
    for (const [label, frame, ts, dir] of [
      ['SYN', hs.synFrame, hs.synTs, 0], ['SYN-ACK', hs.synAckFrame, hs.synAckTs, 1], ['ACK', hs.ackFrame, hs.ackTs, 0],
    ] as const) {
      if (frame === null || ts === null) continue;
      const sender = senderRole('client', dir);
      put(ts, frame, row(rel(ts), ts, frame, ctlId, 'tcp', sender, (lane) => control(lane, label, sender === 'client')));
    }
  }
  const g = s.greeting;
  const greetingListed = g !== null && (s.unsolicitedReplies.some((r) => r.frame === g.frame && r.code === g.code)
    || s.commands.some((c) => c.replies.some((r) => r.frame === g.frame && r.code === g.code)));
  if (g && !greetingListed) {
    const ts = g.ts ?? s.start;
    put(ts, g.frame, row(g.ts !== undefined ? rel(ts) : '', ts, g.frame, ctlId, 'reply', 'server', (lane) => control(lane, `${g.code} ${oneLine(g.text, showPasswords)}`, false)));
  }
  for (const c of s.commands) {
    put(c.ts, c.frame, commandRow(s, c, ctlId, showPasswords));
    for (const r of c.replies) put(r.ts, r.frame, replyRow(s, r, ctlId, showPasswords));
  }
  for (const r of s.unsolicitedReplies) put(r.ts, r.frame, replyRow(s, r, ctlId, showPasswords));
  for (const dc of s.dataConnections) for (const t of dataRows(s, dc, graphs)) put(t.ts, t.sortFrame, t.row);
  for (const u of s.unseenTransfers ?? []) {
    const c = s.commands.find((x) => x.frame === u.command.frame && x.verb === u.command.verb);
    const ts = c?.ts ?? s.start;
    const where = `${u.setup ?? u.mode ?? 'data'} ${formatEndpoint(u.announced)}`;
    put(ts, u.command.frame, row(rel(ts), ts, null, null, 'note', null,
      (lane) => nestedText(lane, `${u.command.verb} data connection ${where}: not in capture`)));
  }
  if (s.tcp) {
    for (const r of closeRows(s.tcp, 'client', '', ctlId, rel, (lane, label, toRight) => control(lane, label, toRight))) put(r.ts, r.frame, r);
  }
  items.sort(compareTimed);
  // Findings sit right after the packet they point at, e.g. a data connection announced but never seen.
  const out: Row[] = items.map((i) => i.row);
  const findings = s.findings.filter((f) => f.frame !== null).sort((a, b) => a.frame! - b.frame!);
  if (findings.length === 0) return out;
  const merged: Row[] = [];
  let fi = 0;
  let lastTs = s.start;
  for (const r of out) {
    while (fi < findings.length && r.frame !== null && findings[fi]!.frame! < r.frame) merged.push(findingRow(findings[fi++]!, lastTs, ctlId));
    merged.push(r);
    lastTs = r.ts;
    while (fi < findings.length && r.frame !== null && findings[fi]!.frame! === r.frame) merged.push(findingRow(findings[fi++]!, lastTs, ctlId));
  }
  while (fi < findings.length) merged.push(findingRow(findings[fi++]!, lastTs, ctlId));
  return merged;
}

function findingRow(f: Finding, ts: number, connId: number | null): Row {
  return row('', ts, f.frame, connId, 'note', null,
    (lane) => '|' + (' ! ' + truncate(`${f.code}: ${printable(f.message)}`, lane - 5)).padEnd(lane - 2) + '|');
}

/** Time order; frames break ties (and order packets of one timestamp exactly); then the order rows were made in. */
function compareTimed(a: Timed, b: Timed): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.frame !== b.frame) return a.frame - b.frame;
  return a.order - b.order;
}

function commandRow(s: Session, c: FtpCommand, connId: number | null, showPasswords: boolean): Row {
  const label = printable(commandText(c.verb, c.arg, showPasswords));
  return row(formatRelTs(c.ts - s.start), c.ts, c.frame, connId, 'command', 'client', (lane) => control(lane, label, true));
}

function replyRow(s: Session, r: FtpReply, connId: number | null, showPasswords: boolean): Row {
  return row(formatRelTs(r.ts - s.start), r.ts, r.frame, connId, 'reply', 'server',
    (lane) => control(lane, `${r.code} ${oneLine(r.text, showPasswords)}`, false));
}

/** The rows of one data connection, each with its time and the frame it sorts by. */
function dataRows(s: Session, dc: DataConnection, graphs = false): Array<{ ts: number; sortFrame: number | null; row: Row }> {
  const tcp = dc.tcp;
  const connId = tcp?.id ?? null;
  const rel = (ts: number): string => formatRelTs(ts - s.start);
  const opener: FtpRole = dc.opener ?? 'client';
  const tag = `D${dc.id}`;
  const out: Array<{ ts: number; sortFrame: number | null; row: Row }> = [];
  const add = (ts: number, sortFrame: number | null, r: Row): void => { out.push({ ts, sortFrame, row: r }); };

  const firstFrame = tcp ? tcp.handshake.synFrame ?? tcp.firstFrame : null;
  const startTs = tcp?.handshake.synTs ?? tcp?.start ?? dc.start;
  const cmd = dc.command ? `${dc.command.verb}${dc.command.arg !== null ? ' ' + printable(dc.command.arg) : ''}` : 'no transfer command';
  const title = `${tag} ${dc.mode ?? '?'} ${dc.setup ?? ''}${dc.setupFrame !== null ? ` #${dc.setupFrame}` : ''} for ${cmd}`.replace('  ', ' ');
  // The FTP client's end of the connection is drawn on the left, whoever opened it.
  const clientEnd = opener === 'client' ? dc.client : dc.server;
  const serverEnd = opener === 'client' ? dc.server : dc.client;
  const [l, r] = [formatEndpoint(clientEnd), formatEndpoint(serverEnd)];
  add(startTs, firstFrame, row('', startTs, null, connId, 'data', null, (lane) => nestedNote(lane, `.-- ${title}`)));
  if (l.length + r.length + 3 <= nestedInner(80 - 15)) {
    add(startTs, firstFrame, row('', startTs, null, connId, 'data', null, (lane) => nestedEnds(lane, l, r)));
  } else {
    // IPv6 endpoints: one line each, under their lifelines.
    add(startTs, firstFrame, row('', startTs, null, connId, 'data', null, (lane) => nestedEnds(lane, l, '')));
    add(startTs, firstFrame, row('', startTs, null, connId, 'data', null, (lane) => nestedEnds(lane, '', r)));
  }

  if (tcp) {
    const hs = tcp.handshake;
    const steps = [
      ['SYN', hs.synFrame, hs.synTs, 0], ['SYN-ACK', hs.synAckFrame, hs.synAckTs, 1], ['ACK', hs.ackFrame, hs.ackTs, 0],
    ] as const;
    let any = false;
    for (const [label, frame, ts, dir] of steps) {
      if (frame === null || ts === null) continue;
      any = true;
      const sender = senderRole(opener, dir);
      add(ts, frame, row(rel(ts), ts, frame, connId, 'tcp', sender, (lane) => nested(lane, `${tag} ${label}`, sender === 'client', '-')));
    }
    if (!any) add(startTs, firstFrame, row('', startTs, null, connId, 'note', null, (lane) => nestedText(lane, `${tag} (handshake not captured)`)));
  }

  const dur = formatDuration(dc.end - dc.start);
  const perDir = tcp ? tcp.bytes : null;
  // A transfer with no payload (an empty file) is summed up where the connection starts to close.
  const closing = tcp?.teardown[0] ?? null;
  const payloadRow = (dir: 0 | 1, label: string): void => {
    const mark = tcp?.firstPayload[dir] ?? closing;
    const ts = mark?.ts ?? tcp?.end ?? dc.end;
    const sender = senderRole(opener, dir);
    add(ts, mark?.frame ?? tcp?.lastFrame ?? firstFrame, row(rel(ts), ts, null, connId, 'data', sender, (lane) => nested(lane, `${tag} ${label}`, sender === 'client', '=')));
  };
  if (perDir && perDir[0] > 0 && perDir[1] > 0) {
    payloadRow(0, `${formatBytes(perDir[0])} in ${dur}`);
    payloadRow(1, formatBytes(perDir[1]));
  } else {
    // Which way the payload went, in FTP roles: downloads and listings flow to the client (left).
    let fromServer: boolean;
    if (dc.direction === 'upload') fromServer = false;
    else if (dc.direction === 'download' || dc.direction === 'listing') fromServer = true;
    else fromServer = perDir ? senderRole(opener, perDir[0] > 0 ? 0 : 1) === 'server' : true;
    const dir: 0 | 1 = senderRole(opener, 0) === (fromServer ? 'server' : 'client') ? 0 : 1;
    payloadRow(dir, `${formatBytes(dc.bytes)} ${dc.direction ?? ''} in ${dur}`.replace('  ', ' '));
  }
  const a = dc.tcpAnalysis;
  if (graphs && a && a.segments > 0) {
    // After the payload arrow, at the time of the last data: the throughput and what limited it.
    const ts = a.timeline.start + a.durationSec;
    const frame = tcp?.lastFrame ?? firstFrame;
    const spark = (label: string, draw: (w: number) => string) =>
      add(ts, frame, row('', ts, null, connId, 'note', null, (lane) => nestedText(lane, `${tag} ${label} ${draw(Math.max(4, nestedInner(lane) - tag.length - label.length - 3))}`)));
    spark('tput', (w) => sparkline(a.timeline.bytes, w));
    spark('why ', (w) => causeStrip(a.timeline.cause, w));
    add(ts, frame, row('', ts, null, connId, 'note', null, (lane) => nestedText(lane, `${tag} ${transferSummaryText(a)}`)));
  }
  const endTs = tcp?.end ?? dc.end;
  if (!dc.complete) {
    add(endTs, tcp?.lastFrame ?? null, row(rel(endTs), endTs, null, connId, 'note', null, (lane) => nestedText(lane, `${tag} incomplete: ${incompleteReasons(dc).join('; ')}`)));
  }
  if (tcp) {
    for (const r of closeRows(tcp, opener, `${tag} `, connId, rel, (lane, label, toRight) => nested(lane, label, toRight, '-'))) add(r.ts, r.frame, r);
  } else if (dc.closeReason) {
    add(endTs, null, row(rel(endTs), endTs, null, connId, 'tcp', null, (lane) => nestedText(lane, `${tag} closed (${dc.closeReason})`)));
  }
  return out;
}

/** FIN, the ACK of each FIN, and RST arrows of a connection, each at its own time. */
function closeRows(tcp: TcpFacts, opener: FtpRole, tag: string, connId: number | null, rel: (ts: number) => string,
  draw: (lane: number, label: string, toRight: boolean) => string): Row[] {
  return tcp.teardown.map((e) => {
    const sender = senderRole(opener, e.dir);
    const label = `${tag}${e.kind === 'fin' ? 'FIN' : e.kind === 'rst' ? 'RST' : 'ACK (of FIN)'}`;
    return row(rel(e.ts), e.ts, e.frame, connId, 'tcp', sender, (lane) => draw(lane, label, sender === 'client'));
  });
}

function row(time: string, ts: number, frame: number | null, connId: number | null, kind: LadderLine['kind'],
  sender: FtpRole | null, draw: (lane: number) => string): Row {
  return { time, ts, frameText: frame === null ? '' : `#${frame}`, frame, connId, kind, sender, draw };
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

function oneLine(raw: string, showPasswords: boolean): string {
  const lines = maskReplyText(raw, showPasswords).split('\n');
  return printable(lines.find((l) => l.trim() !== '')?.trim() ?? '') + (lines.length > 1 ? ` (+${lines.length - 1})` : '');
}

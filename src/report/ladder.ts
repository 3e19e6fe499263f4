import type { DataConnection, FtpReply, Session } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import type { TcpFacts } from '../model/tcp-facts.js';
import { senderRole, type FtpRole } from '../model/packet-facts.js';
import { commandText, maskReplyText } from '../ftp/masking.js';
import {
  formatBytes, formatDuration, formatEndpoint, formatOriginalServer, formatRelTs, formatThroughput, printable,
  transferStatusLine, truncate,
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

/** Where a row is drawn: the control connection, or data connection n's own lane (tagged Dn). */
export type LadderLane = 'control' | `D${number}`;

/**
 * What a row stands for. Arrows: `command` and `reply` (control lane), `tcp` (SYN, SYN-ACK, ACK,
 * FIN, ACK of FIN, RST on any lane), `data` (a data connection's payload, summed up in one
 * arrow). Not arrows: `lane` (a data connection's lane begins: its title and endpoints),
 * `note` (a remark on a lane: handshake not captured, incomplete, closed), `unseen` (a transfer
 * whose data connection is not in the capture) and `finding` (drawn after the frame it names).
 */
export type LadderRowKind = 'command' | 'reply' | 'tcp' | 'data' | 'lane' | 'note' | 'unseen' | 'finding';

/**
 * One row of a session's ladder, before any drawing: the text ladder, the HTML report's SVG and
 * the Mermaid and PlantUML diagrams all draw this list, so they cannot disagree on order, lanes
 * or directions.
 */
export interface LadderRow {
  kind: LadderRowKind;
  lane: LadderLane;
  /** When it happened (epoch seconds); rows are in this order. */
  ts: number;
  /**
   * Whether `ts` is the row's own time (printed in the gutter); rows without one (lane titles,
   * findings, a greeting whose time is unknown) carry the time of where they are placed.
   */
  timed: boolean;
  /** The packet it stands for (a finding: the frame it names); null for summaries and titles. */
  frame: number | null;
  /** The TCP connection it belongs to (Wireshark's tcp.stream + 1), when known. */
  connId: number | null;
  /** The FTP role of the side that sent what an arrow stands for; null for rows that are not arrows. */
  sender: FtpRole | null;
  /** Printable and masked; without the lane's tag (renderers add "D1 " where they need it). */
  label: string;
  /** `lane` rows: the data connection's endpoints, the FTP client's end first. */
  ends?: [string, string];
  /** `finding` rows: the finding. */
  finding?: Finding;
  /**
   * `note` rows that scale (the --graphs sparklines): the text drawn to `width` columns; `label`
   * holds it at GRAPH_LABEL_WIDTH for drawings that do not size it.
   */
  fill?: (width: number) => string;
}

/** The columns a graph note's `label` is drawn to. */
export const GRAPH_LABEL_WIDTH = 48;

/** True for rows drawn as arrows (they have a sender). */
export function isArrow(r: LadderRow): boolean {
  return r.sender !== null && (r.kind === 'command' || r.kind === 'reply' || r.kind === 'tcp' || r.kind === 'data');
}

/**
 * A sequence diagram of one session: the FTP client's lifeline on the left, the server's on
 * the right; commands →, replies ←, timestamps relative to the session start, every line in
 * time order. Data connections are drawn on their own lane between two inner lifelines, each
 * line tagged with the connection (D1, D2, …): SYN, SYN-ACK, ACK, the payload, FIN, ACK, RST,
 * each where it happened among the control lines. Arrows point the way the FTP roles talk: an
 * active-mode connection, opened by the server, opens from right to left.
 */
export function renderLadder(session: Session, opts: LadderOptions = {}): LadderLine[] {
  const lines: LadderLine[] = [];
  drawLadder(session, opts, (l) => lines.push(l));
  return lines;
}

/**
 * The text of renderLadder's lines, newline between them, handed to `write` a line at a time:
 * what `flow` prints. Each line is made and let go in turn (a session of a million commands
 * draws two million).
 */
export function writeLadderText(session: Session, opts: LadderOptions, write: (text: string) => void): void {
  let first = true;
  drawLadder(session, opts, (l) => {
    write(first ? l.text : `\n${l.text}`);
    first = false;
  });
}

/** The text of renderLadder's lines, newline between them. */
export function ladderText(session: Session, opts: LadderOptions = {}): string {
  const parts: string[] = [];
  writeLadderText(session, opts, (t) => parts.push(t));
  return parts.join('');
}

/** Draws the ladder line by line into `out`; a row's lines are made only as it is drawn. */
function drawLadder(session: Session, opts: LadderOptions, out: (line: LadderLine) => void): void {
  const width = Math.max(MIN_LADDER_WIDTH, Math.floor(opts.width ?? 80));
  const rows = ladderRows(session, opts);
  // The gutter fits the widest time and frame number of any row (every line of a row shares its row's).
  let timeW = 7;
  let frameW = 5;
  for (const r of rows) {
    const time = rowTime(r, session.start);
    const frameText = rowFrameText(r);
    if (time.length > timeW) timeW = time.length;
    if (frameText.length > frameW) frameW = frameText.length;
  }
  const gutter = timeW + 1 + frameW + 1;
  const lane = width - gutter; // columns for the lifelines and what is between them

  const s = session;
  const heading = (text: string, connId: number | null = null): LadderLine => ({ text: truncate(text, width), frame: null, connId, kind: 'note', ts: null, sender: null });
  out(heading(ladderTitle(s), s.tcp?.id ?? null));
  const [left, right] = ladderEnds(s);
  // Long (IPv6) endpoints get a line each rather than being cut.
  const endpointLines = left.length + right.length + 1 <= width ? [ends(left, right, width)] : [left, right.padStart(width)];
  for (const text of endpointLines) out(heading(text));
  out(heading(' '.repeat(gutter) + '|' + ' '.repeat(Math.max(0, lane - 2)) + '|'));

  for (const row of rows) {
    for (const r of textRows(row, s.start)) {
      const prefix = r.time.padStart(timeW) + ' ' + r.frameText.padEnd(frameW) + ' ';
      out({ text: truncate(prefix + r.draw(lane), width), frame: r.frame, connId: r.connId, kind: r.kind, ts: r.ts, sender: r.sender });
    }
  }
}

function rowTime(r: LadderRow, start: number): string {
  return r.timed ? formatRelTs(r.ts - start) : '';
}

function rowFrameText(r: LadderRow): string {
  return r.frame === null ? '' : `#${r.frame}`;
}

/** "Session 3  user anonymous  21.6 ms  TLS": the heading every ladder drawing starts with. */
export function ladderTitle(s: Session): string {
  return `Session ${s.id}${s.user !== null ? `  user ${printable(s.user)}` : ''}  ${formatDuration(s.end - s.start)}` +
    `${s.tls ? '  TLS' : ''}`;
}

/** The control lifelines' labels: the FTP client's and the server's endpoints. */
export function ladderEnds(s: Session): [string, string] {
  // A proxied session: the server it really talks to, and the proxy its packets went through.
  const server = s.originalServer ? `${formatOriginalServer(s.originalServer)} via ${formatEndpoint(s.server)}` : formatEndpoint(s.server);
  return [`client ${formatEndpoint(s.client)}`, `server ${server}`];
}

/** A row of the text ladder before layout: its gutter texts and how to draw its lane at a given lane width. */
interface TextRow {
  time: string;
  frameText: string;
  frame: number | null;
  connId: number | null;
  kind: LadderLine['kind'];
  ts: number;
  sender: FtpRole | null;
  draw: (lane: number) => string;
}

/** How the text ladder draws one structured row (a data connection's title takes two or three lines). */
function textRows(r: LadderRow, start: number): TextRow[] {
  const base = { time: rowTime(r, start), ts: r.ts, frameText: rowFrameText(r), frame: r.frame, connId: r.connId, sender: r.sender };
  const tag = r.lane === 'control' ? '' : `${r.lane} `;
  const toRight = r.sender === 'client';
  switch (r.kind) {
    case 'command':
    case 'reply':
      return [{ ...base, kind: r.kind, draw: (lane) => control(lane, r.label, toRight) }];
    case 'tcp':
      if (r.lane === 'control') return [{ ...base, kind: 'tcp', draw: (lane) => control(lane, r.label, toRight) }];
      return [{ ...base, kind: 'tcp', draw: (lane) => nested(lane, tag + r.label, toRight, '-') }];
    case 'data':
      return [{ ...base, kind: 'data', draw: (lane) => nested(lane, tag + r.label, toRight, '=') }];
    case 'lane': {
      const [l, rt] = r.ends!;
      const out: TextRow[] = [{ ...base, kind: 'data', draw: (lane) => nestedNote(lane, `.-- ${tag}${r.label}`) }];
      if (l.length + rt.length + 3 <= nestedInner(80 - 15)) {
        out.push({ ...base, kind: 'data', draw: (lane) => nestedEnds(lane, l, rt) });
      } else {
        // IPv6 endpoints: one line each, under their lifelines.
        out.push({ ...base, kind: 'data', draw: (lane) => nestedEnds(lane, l, '') });
        out.push({ ...base, kind: 'data', draw: (lane) => nestedEnds(lane, '', rt) });
      }
      return out;
    }
    case 'note':
    case 'unseen': {
      const fill = r.fill;
      if (fill) return [{ ...base, kind: 'note', draw: (lane) => nestedText(lane, tag + fill(nestedInner(lane) - 1 - tag.length)) }];
      return [{ ...base, kind: 'note', draw: (lane) => nestedText(lane, tag + r.label) }];
    }
    case 'finding':
      return [{ ...base, kind: 'note', draw: (lane) => '|' + (' ! ' + truncate(r.label, lane - 5)).padEnd(lane - 2) + '|' }];
  }
}

/** A row with its place in time: timestamp, then frame, then the order it was made in. */
interface Timed {
  ts: number;
  frame: number;
  order: number;
  row: LadderRow;
}

/**
 * The rows of one session's ladder in the order every drawing shows them: time order (frames
 * break ties, then the order they were made in), each finding right after the frame it names.
 * `graphs`: each data connection's throughput sparkline and what limited it, after its payload.
 */
export function ladderRows(s: Session, opts: { showPasswords?: boolean; graphs?: boolean } = {}): LadderRow[] {
  const showPasswords = opts.showPasswords ?? false;
  const graphs = opts.graphs ?? false;
  const items: Timed[] = [];
  let order = 0;
  const ctlId = s.tcp?.id ?? null;
  const put = (r: LadderRow, sortFrame: number | null = r.frame): void => {
    items.push({ ts: r.ts, frame: sortFrame ?? Number.MAX_SAFE_INTEGER, order: order++, row: r });
  };

  if (s.tcp) {
    const hs = s.tcp.handshake;
    for (const [label, frame, ts, dir] of [
      ['SYN', hs.synFrame, hs.synTs, 0], ['SYN-ACK', hs.synAckFrame, hs.synAckTs, 1], ['ACK', hs.ackFrame, hs.ackTs, 0],
    ] as const) {
      if (frame === null || ts === null) continue;
      put(row('tcp', 'control', ts, frame, ctlId, senderRole('client', dir), label));
    }
  }
  const g = s.greeting;
  const greetingListed = g !== null && (s.unsolicitedReplies.some((r) => r.frame === g.frame && r.code === g.code)
    || s.commands.some((c) => c.replies.some((r) => r.frame === g.frame && r.code === g.code)));
  if (g && !greetingListed) {
    put({ ...row('reply', 'control', g.ts ?? s.start, g.frame, ctlId, 'server', `${g.code} ${oneLine(g.text, showPasswords)}`), timed: g.ts !== undefined });
  }
  for (const c of s.commands) {
    put(row('command', 'control', c.ts, c.frame, ctlId, 'client', printable(commandText(c.verb, c.arg, showPasswords))));
    for (const r of c.replies) put(replyRow(r, ctlId, showPasswords));
  }
  for (const r of s.unsolicitedReplies) put(replyRow(r, ctlId, showPasswords));
  for (const dc of s.dataConnections) for (const t of dataRows(s, dc, graphs)) put(t.row, t.sortFrame);
  for (const u of s.unseenTransfers ?? []) {
    const c = s.commands.find((x) => x.frame === u.command.frame && x.verb === u.command.verb);
    const where = `${u.setup ?? u.mode ?? 'data'} ${formatEndpoint(u.announced)}`;
    put(row('unseen', 'control', c?.ts ?? s.start, null, null, null, `${u.command.verb} data connection ${where}: not in capture`), u.command.frame);
  }
  if (s.tcp) for (const r of closeRows(s.tcp, 'client', 'control', ctlId)) put(r);
  items.sort(compareTimed);
  // Findings sit right after the packet they point at, e.g. a data connection announced but never seen.
  const out: LadderRow[] = items.map((i) => i.row);
  // A folded finding appears at each of its example frames: the first with its message, the others as repeats.
  const findings = s.findings.flatMap((f) => (f.frames ?? [f.frame]).filter((fr): fr is number => fr !== null)
    .map((fr, i) => (i === 0 ? { ...f, frame: fr } : { ...f, frame: fr, message: `again (${f.count ?? 1} times in all; the first at #${f.frame})` })))
    .sort((a, b) => a.frame - b.frame);
  if (findings.length === 0) return out;
  const merged: LadderRow[] = [];
  let fi = 0;
  let lastTs = s.start;
  const findingRow = (f: Finding): LadderRow => ({
    ...row('finding', 'control', lastTs, f.frame, ctlId, null, `${f.code}: ${printable(f.message)}`), timed: false, finding: f,
  });
  for (const r of out) {
    while (fi < findings.length && r.frame !== null && findings[fi]!.frame! < r.frame) merged.push(findingRow(findings[fi++]!));
    merged.push(r);
    lastTs = r.ts;
    while (fi < findings.length && r.frame !== null && findings[fi]!.frame! === r.frame) merged.push(findingRow(findings[fi++]!));
  }
  while (fi < findings.length) merged.push(findingRow(findings[fi++]!));
  return merged;
}

/** Time order; frames break ties (and order packets of one timestamp exactly); then the order rows were made in. */
function compareTimed(a: Timed, b: Timed): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.frame !== b.frame) return a.frame - b.frame;
  return a.order - b.order;
}

function replyRow(r: FtpReply, connId: number | null, showPasswords: boolean): LadderRow {
  return row('reply', 'control', r.ts, r.frame, connId, 'server', `${r.code} ${oneLine(r.text, showPasswords)}`);
}

/** The rows of one data connection, each with the frame it sorts by. */
function dataRows(s: Session, dc: DataConnection, graphs = false): Array<{ sortFrame: number | null; row: LadderRow }> {
  const tcp = dc.tcp;
  const connId = tcp?.id ?? null;
  const opener: FtpRole = dc.opener ?? 'client';
  const lane: LadderLane = `D${dc.id}`;
  const out: Array<{ sortFrame: number | null; row: LadderRow }> = [];
  const add = (sortFrame: number | null, r: LadderRow): void => { out.push({ sortFrame, row: r }); };

  const firstFrame = tcp ? tcp.handshake.synFrame ?? tcp.firstFrame : null;
  const startTs = tcp?.handshake.synTs ?? tcp?.start ?? dc.start;
  const cmd = dc.command ? `${dc.command.verb}${dc.command.arg !== null ? ' ' + printable(dc.command.arg) : ''}` : 'no transfer command';
  const title = `${dc.mode ?? '?'} ${dc.setup ?? ''}${dc.setupFrame !== null ? ` #${dc.setupFrame}` : ''} for ${cmd}`.replace('  ', ' ');
  // The FTP client's end of the connection is drawn on the left, whoever opened it.
  const clientEnd = opener === 'client' ? dc.client : dc.server;
  const serverEnd = opener === 'client' ? dc.server : dc.client;
  add(firstFrame, { ...row('lane', lane, startTs, null, connId, null, title), timed: false, ends: [formatEndpoint(clientEnd), formatEndpoint(serverEnd)] });

  if (tcp) {
    const hs = tcp.handshake;
    const steps = [
      ['SYN', hs.synFrame, hs.synTs, 0], ['SYN-ACK', hs.synAckFrame, hs.synAckTs, 1], ['ACK', hs.ackFrame, hs.ackTs, 0],
    ] as const;
    let any = false;
    for (const [label, frame, ts, dir] of steps) {
      if (frame === null || ts === null) continue;
      any = true;
      add(frame, row('tcp', lane, ts, frame, connId, senderRole(opener, dir), label));
    }
    if (!any) add(firstFrame, { ...row('note', lane, startTs, null, connId, null, '(handshake not captured)'), timed: false });
  }

  // A running transfer (live sources) shows its figures so far, with its rate.
  const running = dc.progress === 'open';
  const rate = running ? formatThroughput(dc.bytes, dc.end - dc.start) : null;
  const dur = `${formatDuration(dc.end - dc.start)}${running ? ` so far${rate ? `, ${rate}` : ''}` : ''}`;
  const perDir = tcp ? tcp.bytes : null;
  // A transfer with no payload (an empty file) is summed up where the connection starts to close.
  const closing = tcp?.teardown[0] ?? null;
  const payloadRow = (dir: 0 | 1, label: string): void => {
    const mark = tcp?.firstPayload[dir] ?? closing;
    const ts = mark?.ts ?? tcp?.end ?? dc.end;
    add(mark?.frame ?? tcp?.lastFrame ?? firstFrame, row('data', lane, ts, null, connId, senderRole(opener, dir), label));
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
    const spark = (label: string, draw: (w: number) => string): void => {
      const fill = (width: number): string => `${label} ${draw(Math.max(4, width - label.length - 1))}`;
      add(frame, { ...row('note', lane, ts, null, connId, null, fill(GRAPH_LABEL_WIDTH)), timed: false, fill });
    };
    spark('tput', (w) => sparkline(a.timeline.bytes, w));
    spark('why ', (w) => causeStrip(a.timeline.cause, w));
    add(frame, { ...row('note', lane, ts, null, connId, null, transferSummaryText(a)), timed: false });
  }
  const endTs = tcp?.end ?? dc.end;
  if (dc.progress) {
    const what = dc.progress === 'open' ? 'running' : 'closed, waiting for the final reply';
    add(tcp?.lastFrame ?? null, row('note', lane, endTs, null, connId, null, what));
  } else if (!dc.complete) {
    add(tcp?.lastFrame ?? null, row('note', lane, endTs, null, connId, null, transferStatusLine(dc)));
  }
  if (tcp) {
    for (const r of closeRows(tcp, opener, lane, connId)) add(r.frame, r);
  } else if (dc.closeReason) {
    add(null, row('note', lane, endTs, null, connId, null, `closed (${dc.closeReason})`));
  }
  return out;
}

/** FIN, the ACK of each FIN, and RST arrows of a connection, each at its own time. */
function closeRows(tcp: TcpFacts, opener: FtpRole, lane: LadderLane, connId: number | null): LadderRow[] {
  return tcp.teardown.map((e) => row('tcp', lane, e.ts, e.frame, connId, senderRole(opener, e.dir),
    e.kind === 'fin' ? 'FIN' : e.kind === 'rst' ? 'RST' : 'ACK (of FIN)'));
}

function row(kind: LadderRowKind, lane: LadderLane, ts: number, frame: number | null, connId: number | null,
  sender: FtpRole | null, label: string): LadderRow {
  return { kind, lane, ts, timed: true, frame, connId, sender, label };
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

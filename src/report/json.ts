import type {
  Analysis, AnalysisEvent, DataConnection, Endpoint, FtpCommand, FtpReply, MalformedLine, Session, SourceFile,
} from '../model/types.js';
import type { Finding } from '../model/findings.js';
import { TOOL } from '../version.js';
import { maskArg as maskSecretArg, maskReplyText } from '../ftp/masking.js';
import { normalizeIp, roundTs } from './format.js';
import { jsonKey, PrettyJsonWriter } from './json-writer.js';
import { tcpAnalysisToJson, writeTcpAnalysis } from './tcp-analysis-json.js';

/**
 * The `report --json` contract, version 1 (docs/report-json.md, schema/report.v1.json).
 * Contract keys come first, in contract order; additions follow. TCP state and packet
 * histories are never serialized.
 */
export const REPORT_VERSION = 1;

export interface JsonOptions {
  showPasswords?: boolean;
  /** Include each transfer diagnosis' throughput timeline (report --graphs). */
  graphs?: boolean;
}

/** Secret arguments (ftp/masking.ts) become "****" unless showPasswords. */
function maskArg(verb: string, arg: string | null, opts: JsonOptions | undefined): string | null {
  return maskSecretArg(verb, arg, opts?.showPasswords);
}

function ts(t: number): number {
  return roundTs(t);
}

function endpoint(e: Endpoint): { ip: string; port: number } {
  return { ip: normalizeIp(e.ip), port: e.port };
}

/** A finding; `count` and `frames` only when occurrences were folded into it (additions to v1). */
export function findingToJson(f: Finding): object {
  const out: Record<string, unknown> = { severity: f.severity, code: f.code, message: f.message, frame: f.frame ?? null };
  if (f.count !== undefined && f.count > 1) {
    out.count = f.count;
    out.frames = (f.frames ?? []).slice();
  }
  return out;
}

export function replyToJson(r: FtpReply, opts?: JsonOptions): object {
  return { code: r.code, text: maskReplyText(r.text, opts?.showPasswords), frame: r.frame ?? null, ts: ts(r.ts) };
}

export function commandToJson(c: FtpCommand, opts?: JsonOptions, withReplies = true): object {
  const out: Record<string, unknown> = {
    frame: c.frame ?? null,
    ts: ts(c.ts),
    verb: c.verb.toUpperCase(),
    arg: maskArg(c.verb, c.arg, opts),
    cwd: c.cwd ?? null,
  };
  if (c.cwdAnchored === false) out.cwdAnchored = false;
  if (withReplies) out.replies = c.replies.map((r) => replyToJson(r, opts));
  if (c.malformedReplies) out.malformedReplies = c.malformedReplies.map((m) => malformedToJson(m, opts));
  return out;
}

function malformedToJson(m: MalformedLine, opts?: JsonOptions): object {
  return { text: maskReplyText(m.text, opts?.showPasswords), frame: m.frame ?? null, ts: ts(m.ts) };
}

export function dataConnectionToJson(dc: DataConnection, opts?: JsonOptions): object {
  const out: Record<string, unknown> = {
    id: dc.id,
    client: endpoint(dc.client),
    server: endpoint(dc.server),
    mode: dc.mode ?? null,
    setup: dc.setup ?? null,
    setupFrame: dc.setupFrame ?? null,
    command: dc.command
      ? { verb: dc.command.verb.toUpperCase(), arg: dc.command.arg ?? null, frame: dc.command.frame ?? null }
      : null,
    direction: dc.direction ?? null,
    path: dc.path ?? null,
    expectedBytes: dc.expectedBytes ?? null,
    bytes: dc.bytes,
    missingBytes: dc.missingBytes,
    start: ts(dc.start),
    end: ts(dc.end),
    complete: dc.complete,
    sha256: dc.complete ? dc.sha256 ?? null : null,
    // additions
    restOffset: dc.restOffset ?? null,
    transferType: dc.transferType ?? null,
    closeReason: dc.closeReason ?? null,
    finalReply: dc.finalReply
      ? { code: dc.finalReply.code, text: dc.finalReply.text, frame: dc.finalReply.frame ?? null }
      : null,
    guessedRole: dc.guessedRole ?? null,
    opener: dc.opener ?? null,
    outcome: dc.outcome ?? null,
    gaps: dc.gaps,
  };
  if (dc.tcpAnalysis) out.tcpAnalysis = tcpAnalysisToJson(dc.tcpAnalysis, dc.opener, opts?.graphs);
  return out;
}

const NO_ITEMS: readonly never[] = Object.freeze([]);

/** Transfers whose data connection was announced but never seen in the capture. */
function unseenTransfersToJson(s: Session): object[] {
  return (s.unseenTransfers ?? []).map((u) => ({
    command: { verb: u.command.verb.toUpperCase(), arg: u.command.arg ?? null, frame: u.command.frame ?? null },
    setup: u.setup ?? null,
    mode: u.mode ?? null,
    announced: endpoint(u.announced),
    finalReply: u.finalReply ? { code: u.finalReply.code, text: u.finalReply.text, frame: u.finalReply.frame ?? null } : null,
  }));
}

/** A session's own fields, without its commands, data connections and findings (NDJSON open/close). */
export function sessionHeaderToJson(s: Session): Record<string, unknown> {
  return {
    id: s.id,
    client: endpoint(s.client),
    server: endpoint(s.server),
    start: ts(s.start),
    end: ts(s.end),
    user: s.user ?? null,
    tls: s.tls,
    handshake: {
      seen: s.handshake.seen,
      rttMs: s.handshake.rttMs ?? null,
      mss: s.handshake.mss ? [s.handshake.mss[0], s.handshake.mss[1]] : null,
    },
    greeting: s.greeting
      ? { code: s.greeting.code, text: s.greeting.text, frame: s.greeting.frame ?? null }
      : null,
  };
}

export function sessionToJson(s: Session, opts?: JsonOptions): object {
  return {
    ...sessionHeaderToJson(s),
    commands: s.commands.map((c) => commandToJson(c, opts)),
    dataConnections: s.dataConnections.map((d) => dataConnectionToJson(d, opts)),
    findings: s.findings.map(findingToJson),
    // additions
    loggedIn: s.loggedIn ?? null,
    tlsInfo: s.tlsInfo ? { sni: s.tlsInfo.sni ?? null, version: s.tlsInfo.version ?? null } : null,
    unsolicitedReplies: s.unsolicitedReplies.map((r) => replyToJson(r, opts)),
    controlBytes: [s.controlBytes[0], s.controlBytes[1]],
    closed: s.closed,
    unseenTransfers: unseenTransfersToJson(s),
    ...originalServerMember(s),
    ...(s.controlTcpAnalysis ? { controlTcpAnalysis: tcpAnalysisToJson(s.controlTcpAnalysis, 'client', opts?.graphs) } : {}),
  };
}

/** One file of a merged set; its frameRuns map the report's global frame numbers back to it. */
export function sourceFileToJson(f: SourceFile): object {
  return {
    name: f.name, format: f.format, gzip: f.gzip, packets: f.packets, bytes: f.bytes, linkTypes: [...f.linkTypes],
    truncated: f.truncated, skipped: f.skipped, firstFrame: f.firstFrame, lastFrame: f.lastFrame,
    firstTs: f.firstTs === null ? null : ts(f.firstTs), lastTs: f.lastTs === null ? null : ts(f.lastTs),
    frameRuns: f.frameRuns,
  };
}

/** `{ originalServer }` when the session has one, else nothing (the key is absent, not null). */
function originalServerMember(s: Session): { originalServer?: object } {
  const o = originalServerToJson(s);
  return o ? { originalServer: o } : {};
}

/** The whole report, contract v1. */
export function toReportJson(a: Analysis, opts?: JsonOptions): object {
  return {
    version: REPORT_VERSION,
    tool: { name: TOOL.name, version: TOOL.version },
    source: {
      type: a.source.type,
      name: a.source.name,
      packets: a.source.packets,
      bytes: a.source.bytes,
      linkTypes: [...a.source.linkTypes],
      truncated: a.source.truncated,
      // addition: the files of a merged set (docs/report-json-additions.md)
      ...(a.source.files ? { files: a.source.files.map(sourceFileToJson) } : {}),
    },
    sessions: a.sessions.map((s) => sessionToJson(s, opts)),
    unpairedDataConnections: a.unpairedDataConnections.map((d) => dataConnectionToJson(d, opts)),
    findings: a.findings.map(findingToJson),
  };
}

/**
 * One NDJSON line's object. Every line has `type` and `session` (the session id, or null);
 * the payload uses the same shapes as the report.
 */
export function eventToJson(ev: AnalysisEvent, opts?: JsonOptions): object {
  switch (ev.type) {
    case 'session-open':
    case 'session-close':
      return {
        type: ev.type,
        session: ev.session.id,
        ts: ts(ev.type === 'session-open' ? ev.session.start : ev.session.end),
        sessionInfo: { ...sessionHeaderToJson(ev.session), ...originalServerMember(ev.session) },
        ...(ev.type === 'session-close'
          ? { commands: ev.session.commands.length, dataConnections: ev.session.dataConnections.length,
              findings: ev.session.findings.length, closed: ev.session.closed }
          : {}),
      };
    case 'command':
      return { type: 'command', session: ev.session.id, ts: ts(ev.command.ts),
        command: commandToJson(ev.command, opts, false) };
    case 'reply':
      return {
        type: 'reply', session: ev.session.id, ts: ts(ev.reply.ts),
        command: ev.command
          ? { verb: ev.command.verb.toUpperCase(), arg: maskArg(ev.command.verb, ev.command.arg, opts),
              frame: ev.command.frame ?? null }
          : null,
        reply: replyToJson(ev.reply, opts),
      };
    case 'data-open':
    case 'data-close':
      return {
        type: ev.type, session: ev.session?.id ?? null,
        ts: ts(ev.type === 'data-open' ? ev.dataConnection.start : ev.dataConnection.end),
        dataConnection: dataConnectionToJson(ev.dataConnection, opts),
      };
    case 'finding':
      return { type: 'finding', session: ev.session?.id ?? null, finding: findingToJson(ev.finding) };
    case 'session-server':
      return { type: 'session-server', session: ev.session.id, ts: ts(ev.ts), originalServer: originalServerToJson(ev.session) };
  }
}

/** The session's originalServer (an addition: present only when the source is the proxy or its recording). */
export function originalServerToJson(s: Session): { ip: string; port: number; name?: string } | null {
  const o = s.originalServer;
  if (!o) return null;
  return { ...endpoint(o), ...(o.name !== undefined ? { name: o.name } : {}) };
}

/**
 * The report as text, piece by piece: the concatenation equals
 * JSON.stringify(toReportJson(a, opts), null, 2), but only one session's object exists at a
 * time, so a capture with many sessions does not need the whole document in memory.
 */
/** Sessions already rendered elsewhere (a SessionSpool), in id order. */
export interface PrerenderedSessions {
  count: number;
  dataConnections: number;
  /** Each session's text as renderSessionJson gives it (a Buffer of its UTF-8 may be reused after the next item). */
  chunks: () => Iterable<string | Buffer | SessionPiece>;
}

/** The continuation of the session before it in a PrerenderedSessions' chunks (a long session comes in pieces). */
export class SessionPiece {
  constructor(readonly bytes: Buffer) {}
}

/** One session as it stands inside the streamed report (indented for the sessions array). */
export function renderSessionJson(s: Session, opts?: JsonOptions): string {
  const w = new PrettyJsonWriter(4096).reset(4);
  writeSessionJson(w, s, opts);
  return w.text();
}

const K = {
  id: jsonKey('id'), client: jsonKey('client'), server: jsonKey('server'), start: jsonKey('start'),
  end: jsonKey('end'), user: jsonKey('user'), tls: jsonKey('tls'), handshake: jsonKey('handshake'),
  seen: jsonKey('seen'), rttMs: jsonKey('rttMs'), mss: jsonKey('mss'), greeting: jsonKey('greeting'),
  code: jsonKey('code'), text: jsonKey('text'), frame: jsonKey('frame'), commands: jsonKey('commands'),
  ts: jsonKey('ts'), verb: jsonKey('verb'), arg: jsonKey('arg'), cwd: jsonKey('cwd'), replies: jsonKey('replies'),
  dataConnections: jsonKey('dataConnections'), findings: jsonKey('findings'), loggedIn: jsonKey('loggedIn'),
  tlsInfo: jsonKey('tlsInfo'), sni: jsonKey('sni'), version: jsonKey('version'),
  unsolicitedReplies: jsonKey('unsolicitedReplies'), controlBytes: jsonKey('controlBytes'), closed: jsonKey('closed'),
  ip: jsonKey('ip'), port: jsonKey('port'), severity: jsonKey('severity'), message: jsonKey('message'),
  mode: jsonKey('mode'), setup: jsonKey('setup'), setupFrame: jsonKey('setupFrame'), command: jsonKey('command'),
  direction: jsonKey('direction'), path: jsonKey('path'), expectedBytes: jsonKey('expectedBytes'),
  bytes: jsonKey('bytes'), missingBytes: jsonKey('missingBytes'), complete: jsonKey('complete'), sha256: jsonKey('sha256'),
  restOffset: jsonKey('restOffset'), transferType: jsonKey('transferType'), closeReason: jsonKey('closeReason'),
  finalReply: jsonKey('finalReply'), guessedRole: jsonKey('guessedRole'), opener: jsonKey('opener'),
  unseenTransfers: jsonKey('unseenTransfers'), originalServer: jsonKey('originalServer'),
  count: jsonKey('count'), frames: jsonKey('frames'),
  cwdAnchored: jsonKey('cwdAnchored'), malformedReplies: jsonKey('malformedReplies'), outcome: jsonKey('outcome'),
  gaps: jsonKey('gaps'), tcpAnalysis: jsonKey('tcpAnalysis'), controlTcpAnalysis: jsonKey('controlTcpAnalysis'),
};

/**
 * One session, written as JSON.stringify(sessionToJson(s, opts), null, 2) lays it out (at the
 * writer's indent). Written directly, without the intermediate objects, for the commands and
 * replies that make up most of a report.
 */
export function writeSessionJson(w: PrettyJsonWriter, s: Session, opts?: JsonOptions, streamed?: StreamedElements, streamedData?: StreamedElements): void {
  w.openObject();
  w.numberMember(K.id, s.id);
  w.key(K.client);
  writeEndpoint(w, s.client);
  w.key(K.server);
  writeEndpoint(w, s.server);
  w.key(K.start);
  w.ts(s.start);
  w.key(K.end);
  w.ts(s.end);
  w.stringMember(K.user, s.user ?? null);
  w.member(K.tls, s.tls);
  const h = s.handshake;
  w.key(K.handshake);
  w.openObject();
  w.member(K.seen, h.seen);
  w.numberMember(K.rttMs, h.rttMs ?? null);
  w.key(K.mss);
  writePair(w, h.mss);
  w.closeObject();
  w.key(K.greeting);
  writeShortReply(w, s.greeting);
  w.key(K.commands);
  w.openArray();
  // Commands rendered as they completed (report --json) come first, as bytes; then those the session still holds.
  streamed?.(w, s);
  for (const c of s.commands) {
    w.element();
    writeCommand(w, c, opts);
  }
  w.closeArray();
  w.key(K.dataConnections);
  w.openArray();
  // Likewise the data connections handed on before the session ended.
  streamedData?.(w, s);
  for (const d of s.dataConnections) {
    w.element();
    writeDataConnection(w, d, opts);
  }
  w.closeArray();
  w.key(K.findings);
  w.openArray();
  for (const f of s.findings) {
    w.element();
    w.openObject();
    w.stringMember(K.severity, f.severity);
    w.stringMember(K.code, f.code);
    w.stringMember(K.message, f.message);
    w.numberMember(K.frame, f.frame ?? null);
    if (f.count !== undefined && f.count > 1) {
      w.numberMember(K.count, f.count);
      w.key(K.frames);
      w.value((f.frames ?? []).slice());
    }
    w.closeObject();
  }
  w.closeArray();
  w.member(K.loggedIn, s.loggedIn ?? null);
  const t = s.tlsInfo;
  w.key(K.tlsInfo);
  w.value(t ? { sni: t.sni ?? null, version: t.version ?? null } : null);
  w.key(K.unsolicitedReplies);
  writeReplies(w, s.unsolicitedReplies, opts);
  w.key(K.controlBytes);
  writePair(w, s.controlBytes);
  w.member(K.closed, s.closed);
  w.key(K.unseenTransfers);
  if (s.unseenTransfers.length === 0) w.value(NO_ITEMS);
  else w.value(unseenTransfersToJson(s));
  const original = originalServerToJson(s);
  if (original) {
    w.key(K.originalServer);
    w.value(original);
  }
  if (s.controlTcpAnalysis) {
    w.key(K.controlTcpAnalysis);
    writeTcpAnalysis(w, s.controlTcpAnalysis, 'client', opts?.graphs === true);
  }
  w.closeObject();
}

/**
 * Writes, at the commands (or dataConnections) array's position in `w`, the session's commands (or
 * data connections) that were rendered before the session ended (with their element separators),
 * through `w.raw()`.
 */
export type StreamedElements = (w: PrettyJsonWriter, s: Session) => void;

/** One data connection as an element of a session's dataConnections array (its separator first), as writeSessionJson writes it. */
export function writeDataConnectionElement(w: PrettyJsonWriter, d: DataConnection, opts: JsonOptions | undefined): void {
  w.element();
  writeDataConnection(w, d, opts);
}

/** One command as an element of a session's commands array (its separator first), as writeSessionJson writes it. */
export function writeCommandElement(w: PrettyJsonWriter, c: FtpCommand, opts: JsonOptions | undefined): void {
  w.element();
  writeCommand(w, c, opts);
}

function writeCommand(w: PrettyJsonWriter, c: FtpCommand, opts: JsonOptions | undefined): void {
  w.openObject();
  w.numberMember(K.frame, c.frame ?? null);
  w.key(K.ts);
  w.ts(c.ts);
  w.stringMember(K.verb, c.verb.toUpperCase());
  w.stringMember(K.arg, maskArg(c.verb, c.arg, opts));
  w.stringMember(K.cwd, c.cwd ?? null);
  if (c.cwdAnchored === false) w.member(K.cwdAnchored, false);
  w.key(K.replies);
  writeReplies(w, c.replies, opts);
  if (c.malformedReplies) {
    w.key(K.malformedReplies);
    w.value(c.malformedReplies.map((m) => malformedToJson(m, opts)));
  }
  w.closeObject();
}

function writeReplies(w: PrettyJsonWriter, replies: readonly FtpReply[], opts: JsonOptions | undefined): void {
  w.openArray();
  for (const r of replies) {
    w.element();
    w.openObject();
    w.numberMember(K.code, r.code);
    w.stringMember(K.text, maskReplyText(r.text, opts?.showPasswords));
    w.numberMember(K.frame, r.frame ?? null);
    w.key(K.ts);
    w.ts(r.ts);
    w.closeObject();
  }
  w.closeArray();
}

/** As dataConnectionToJson(d) would be written, without building it (a report has tens of thousands). */
function writeDataConnection(w: PrettyJsonWriter, d: DataConnection, opts: JsonOptions | undefined): void {
  w.openObject();
  w.numberMember(K.id, d.id);
  w.key(K.client);
  writeEndpoint(w, d.client);
  w.key(K.server);
  writeEndpoint(w, d.server);
  w.stringMember(K.mode, d.mode ?? null);
  w.stringMember(K.setup, d.setup ?? null);
  w.numberMember(K.setupFrame, d.setupFrame ?? null);
  const c = d.command;
  w.key(K.command);
  if (c) {
    w.openObject();
    w.stringMember(K.verb, c.verb.toUpperCase());
    w.stringMember(K.arg, c.arg ?? null);
    w.numberMember(K.frame, c.frame ?? null);
    w.closeObject();
  } else {
    w.null();
  }
  w.stringMember(K.direction, d.direction ?? null);
  w.stringMember(K.path, d.path ?? null);
  w.numberMember(K.expectedBytes, d.expectedBytes ?? null);
  w.numberMember(K.bytes, d.bytes);
  w.numberMember(K.missingBytes, d.missingBytes);
  w.key(K.start);
  w.ts(d.start);
  w.key(K.end);
  w.ts(d.end);
  w.member(K.complete, d.complete);
  w.stringMember(K.sha256, d.complete ? d.sha256 ?? null : null);
  w.numberMember(K.restOffset, d.restOffset ?? null);
  w.stringMember(K.transferType, d.transferType ?? null);
  w.stringMember(K.closeReason, d.closeReason ?? null);
  w.key(K.finalReply);
  writeShortReply(w, d.finalReply);
  w.stringMember(K.guessedRole, d.guessedRole ?? null);
  w.stringMember(K.opener, d.opener ?? null);
  w.stringMember(K.outcome, d.outcome ?? null);
  w.numberMember(K.gaps, d.gaps);
  if (d.tcpAnalysis) {
    w.key(K.tcpAnalysis);
    writeTcpAnalysis(w, d.tcpAnalysis, d.opener, opts?.graphs === true);
  }
  w.closeObject();
}

/** A greeting or final reply: `{code, text, frame}`, or null. */
function writeShortReply(w: PrettyJsonWriter, r: { code: number; text: string; frame?: number | null } | null | undefined): void {
  if (!r) {
    w.null();
    return;
  }
  w.openObject();
  w.numberMember(K.code, r.code);
  w.stringMember(K.text, r.text);
  w.numberMember(K.frame, r.frame ?? null);
  w.closeObject();
}

/** A two-element array (undefined elements are null), or null. */
function writePair(w: PrettyJsonWriter, pair: readonly [unknown, unknown] | null | undefined): void {
  if (!pair) {
    w.null();
    return;
  }
  w.openArray();
  w.element();
  w.value(pair[0]);
  w.element();
  w.value(pair[1]);
  w.closeArray();
}

function writeEndpoint(w: PrettyJsonWriter, e: Endpoint): void {
  w.openObject();
  w.stringMember(K.ip, normalizeIp(e.ip));
  w.numberMember(K.port, e.port);
  w.closeObject();
}

export function* reportJsonChunks(a: Analysis, opts?: JsonOptions, pre?: PrerenderedSessions): Generator<string> {
  for (const piece of reportJsonPieces(a, opts, pre)) yield typeof piece === 'string' ? piece : piece.toString('utf8');
}

/** reportJsonChunks without turning pre-rendered Buffers into strings (a Buffer is valid until the next piece). */
export function* reportJsonPieces(a: Analysis, opts?: JsonOptions, pre?: PrerenderedSessions): Generator<string | Buffer> {
  const shell = toReportJson({ ...a, sessions: [], unpairedDataConnections: [] }, opts) as Record<string, unknown>;
  const streamed: Record<string, () => Iterable<string | Buffer | SessionPiece>> = {
    sessions: () => pre ? pre.chunks() : lazyMap(a.sessions, (s) => renderSessionJson(s, opts)),
    unpairedDataConnections: () => lazyMap(a.unpairedDataConnections, (d) => JSON.stringify(dataConnectionToJson(d, opts), null, 2).replace(/\n/g, '\n    ')),
  };
  const keys = Object.keys(shell);
  yield '{';
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    yield `${k === 0 ? '' : ','}\n  ${JSON.stringify(key)}: `;
    const items = streamed[key];
    const count = key === 'sessions' ? (pre ? pre.count : a.sessions.length) : key === 'unpairedDataConnections' ? a.unpairedDataConnections.length : 0;
    if (items && count > 0) {
      yield '[';
      let first = true;
      for (const item of items()) {
        if (item instanceof SessionPiece) {
          yield item.bytes;
          continue;
        }
        yield first ? '\n    ' : ',\n    ';
        yield item;
        first = false;
      }
      yield '\n  ]';
    } else {
      yield JSON.stringify(shell[key], null, 2).replace(/\n/g, '\n  ');
    }
  }
  yield '\n}';
}

function* lazyMap<T, R>(list: readonly T[], f: (x: T) => R): Generator<R> {
  for (const x of list) yield f(x);
}

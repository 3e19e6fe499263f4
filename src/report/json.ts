import type {
  Analysis, AnalysisEvent, DataConnection, Endpoint, FtpCommand, FtpReply, Session,
} from '../model/types.js';
import type { Finding } from '../model/findings.js';
import { TOOL } from '../version.js';
import { CREDENTIAL_VERBS } from '../ftp/commands.js';
import { normalizeIp, roundTs } from './format.js';
import { indentJson } from './pretty.js';

/**
 * The `report --json` contract, version 1 (docs/report-json.md, schema/report.v1.json).
 * Contract keys come first, in contract order; additions follow. TCP state and packet
 * histories are never serialized.
 */
export const REPORT_VERSION = 1;

export interface JsonOptions {
  showPasswords?: boolean;
}

export const MASKED_PASSWORD = '****';


/** PASS (and ACCT) arguments become "****" unless showPasswords. */
export function maskArg(verb: string, arg: string | null, opts: JsonOptions | undefined): string | null {
  if (arg === null || opts?.showPasswords) return arg;
  return CREDENTIAL_VERBS.has(verb.toUpperCase()) ? MASKED_PASSWORD : arg;
}

function ts(t: number): number {
  return roundTs(t);
}

function endpoint(e: Endpoint): { ip: string; port: number } {
  return { ip: normalizeIp(e.ip), port: e.port };
}

export function findingToJson(f: Finding): object {
  return { severity: f.severity, code: f.code, message: f.message, frame: f.frame ?? null };
}

export function replyToJson(r: FtpReply): object {
  return { code: r.code, text: r.text, frame: r.frame ?? null, ts: ts(r.ts) };
}

export function commandToJson(c: FtpCommand, opts?: JsonOptions, withReplies = true): object {
  const out: Record<string, unknown> = {
    frame: c.frame ?? null,
    ts: ts(c.ts),
    verb: c.verb.toUpperCase(),
    arg: maskArg(c.verb, c.arg, opts),
    cwd: c.cwd ?? null,
  };
  if (withReplies) out.replies = c.replies.map(replyToJson);
  return out;
}

export function dataConnectionToJson(dc: DataConnection): object {
  return {
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
  };
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
    dataConnections: s.dataConnections.map(dataConnectionToJson),
    findings: s.findings.map(findingToJson),
    // additions
    loggedIn: s.loggedIn ?? null,
    tlsInfo: s.tlsInfo ? { sni: s.tlsInfo.sni ?? null, version: s.tlsInfo.version ?? null } : null,
    unsolicitedReplies: s.unsolicitedReplies.map(replyToJson),
    controlBytes: [s.controlBytes[0], s.controlBytes[1]],
    closed: s.closed,
  };
}

/** The whole report, contract v1. */
export function toReportJson(a: Analysis, opts?: { showPasswords?: boolean }): object {
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
    },
    sessions: a.sessions.map((s) => sessionToJson(s, opts)),
    unpairedDataConnections: a.unpairedDataConnections.map(dataConnectionToJson),
    findings: a.findings.map(findingToJson),
  };
}

/**
 * One NDJSON line's object. Every line has `type` and `session` (the session id, or null);
 * the payload uses the same shapes as the report.
 */
export function eventToJson(ev: AnalysisEvent, opts?: { showPasswords?: boolean }): object {
  switch (ev.type) {
    case 'session-open':
    case 'session-close':
      return {
        type: ev.type,
        session: ev.session.id,
        ts: ts(ev.type === 'session-open' ? ev.session.start : ev.session.end),
        sessionInfo: sessionHeaderToJson(ev.session),
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
        reply: replyToJson(ev.reply),
      };
    case 'data-open':
    case 'data-close':
      return {
        type: ev.type, session: ev.session?.id ?? null,
        ts: ts(ev.type === 'data-open' ? ev.dataConnection.start : ev.dataConnection.end),
        dataConnection: dataConnectionToJson(ev.dataConnection),
      };
    case 'finding':
      return { type: 'finding', session: ev.session?.id ?? null, finding: findingToJson(ev.finding) };
  }
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
  chunks: () => Iterable<string | Buffer>;
}

/** One session as it stands inside the streamed report (indented for the sessions array). */
export function renderSessionJson(s: Session, opts?: JsonOptions): string {
  return indentJson(Buffer.from(compactSessionJson(s, opts), 'utf8'), 4).toString('utf8');
}

/**
 * One session as compact JSON, exactly JSON.stringify(sessionToJson(s, opts)); indentJson(its
 * UTF-8, 4) gives renderSessionJson's text. Written directly, without the intermediate objects,
 * for the commands and replies that make up most of a report (reports of many sessions spent
 * most of their time building and collecting those objects).
 */
export function compactSessionJson(s: Session, opts?: JsonOptions): string {
  const h = s.handshake;
  const mss = h.mss;
  const g = s.greeting;
  const t = s.tlsInfo;
  const cb = s.controlBytes;
  return closeObj(
    kv('"id":', s.id) +
      ',"client":' + endpointJson(s.client) +
      ',"server":' + endpointJson(s.server) +
      kv('"start":', ts(s.start)) +
      kv('"end":', ts(s.end)) +
      kv('"user":', s.user ?? null) +
      kv('"tls":', s.tls) +
      ',"handshake":' + closeObj(
        kv('"seen":', h.seen) + kv('"rttMs":', h.rttMs ?? null) +
          ',"mss":' + (mss ? '[' + el(mss[0]) + ',' + el(mss[1]) + ']' : 'null')) +
      ',"greeting":' + (g ? closeObj(kv('"code":', g.code) + kv('"text":', g.text) + kv('"frame":', g.frame ?? null)) : 'null') +
      ',"commands":' + arrayJson(s.commands, (c) => commandJson(c, opts)) +
      ',"dataConnections":' + arrayJson(s.dataConnections, (d) => JSON.stringify(dataConnectionToJson(d))) +
      ',"findings":' + arrayJson(s.findings, (f) => JSON.stringify(findingToJson(f))) +
      kv('"loggedIn":', s.loggedIn ?? null) +
      ',"tlsInfo":' + (t ? closeObj(kv('"sni":', t.sni ?? null) + kv('"version":', t.version ?? null)) : 'null') +
      ',"unsolicitedReplies":' + arrayJson(s.unsolicitedReplies, replyJson) +
      ',"controlBytes":[' + el(cb[0]) + ',' + el(cb[1]) + ']' +
      kv('"closed":', s.closed),
  );
}

function commandJson(c: FtpCommand, opts: JsonOptions | undefined): string {
  return closeObj(
    kv('"frame":', c.frame ?? null) + kv('"ts":', ts(c.ts)) + kv('"verb":', c.verb.toUpperCase()) +
      kv('"arg":', maskArg(c.verb, c.arg, opts)) + kv('"cwd":', c.cwd ?? null) +
      ',"replies":' + arrayJson(c.replies, replyJson),
  );
}

function replyJson(r: FtpReply): string {
  return closeObj(kv('"code":', r.code) + kv('"text":', r.text) + kv('"frame":', r.frame ?? null) + kv('"ts":', ts(r.ts)));
}

function endpointJson(e: Endpoint): string {
  return closeObj(kv('"ip":', normalizeIp(e.ip)) + kv('"port":', e.port));
}

/** A value as JSON.stringify writes it; undefined when it leaves the value out. */
function jsonValue(x: unknown): string | undefined {
  if (x === null) return 'null';
  switch (typeof x) {
    case 'string':
      return JSON.stringify(x);
    case 'number':
      return Number.isFinite(x) ? String(x) : 'null';
    case 'boolean':
      return x ? 'true' : 'false';
    default:
      return JSON.stringify(x) as string | undefined;
  }
}

/** `,"key":value`, or nothing when the value is left out (undefined); `key` comes quoted with its colon. */
function kv(key: string, x: unknown): string {
  const v = jsonValue(x);
  return v === undefined ? '' : ',' + key + v;
}

/** An array element (undefined is written as null). */
function el(x: unknown): string {
  return jsonValue(x) ?? 'null';
}

/** Members written as `,"k":v…` into an object. */
function closeObj(members: string): string {
  return members === '' ? '{}' : '{' + members.slice(1) + '}';
}

function arrayJson<T>(list: readonly T[], f: (x: T) => string): string {
  if (list.length === 0) return '[]';
  let out = '[' + f(list[0]!);
  for (let i = 1; i < list.length; i++) out += ',' + f(list[i]!);
  return out + ']';
}

export function* reportJsonChunks(a: Analysis, opts?: { showPasswords?: boolean }, pre?: PrerenderedSessions): Generator<string> {
  for (const piece of reportJsonPieces(a, opts, pre)) yield typeof piece === 'string' ? piece : piece.toString('utf8');
}

/** reportJsonChunks without turning pre-rendered Buffers into strings (a Buffer is valid until the next piece). */
export function* reportJsonPieces(a: Analysis, opts?: { showPasswords?: boolean }, pre?: PrerenderedSessions): Generator<string | Buffer> {
  const shell = toReportJson({ ...a, sessions: [], unpairedDataConnections: [] }, opts) as Record<string, unknown>;
  const streamed: Record<string, () => Iterable<string | Buffer>> = {
    sessions: () => pre ? pre.chunks() : lazyMap(a.sessions, (s) => renderSessionJson(s, opts)),
    unpairedDataConnections: () => lazyMap(a.unpairedDataConnections, (d) => JSON.stringify(dataConnectionToJson(d), null, 2).replace(/\n/g, '\n    ')),
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

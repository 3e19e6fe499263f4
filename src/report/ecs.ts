/**
 * `report --format ecs`: the analysis as NDJSON in the Elastic Common Schema (ECS 8.x), one
 * document per line, for Elasticsearch or OpenSearch. Four kinds of document, told apart by
 * `event.action`:
 *
 * - `ftp-session`: one per control session (event.category network, event.type connection);
 * - `ftp-command`: one per command with its final reply (PASS and USER also event.category
 *   authentication, with event.outcome from the reply);
 * - `ftp-transfer`: one per data connection (event.category network and file; file.* and
 *   file.hash.sha256 when the transfer is complete);
 * - `ftp-finding`: one per finding (event.kind alert, event.code the finding code).
 *
 * ECS has no FTP field set: the commands, replies, pairing and findings go under `ftpscope.*`.
 * Every field written is declared in ECS_FIELDS below, which is also the index template shipped
 * as docs/ecs-template.json (with "dynamic": "strict", so a field outside it is refused).
 * Passwords are masked (ftp/masking.ts) unless --show-passwords.
 */
import type { DataConnection, FtpCommand, Session } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import { FINDING_CODES } from '../model/finding-codes.js';
import { maskArg, maskReplyText } from '../ftp/masking.js';
import { canonicalIp } from '../ftp/endpoints.js';
import { formatIsoTs, normalizeIp } from './format.js';
import { connUid, fileUid } from './zeek.js';

export const ECS_VERSION = '8.11.0';

/** Every field a document may carry, with its Elasticsearch type. ECS fields first, then ours. */
export const ECS_FIELDS: Readonly<Record<string, string>> = {
  '@timestamp': 'date',
  message: 'text',
  tags: 'keyword',
  'ecs.version': 'keyword',
  'event.kind': 'keyword',
  'event.category': 'keyword',
  'event.type': 'keyword',
  'event.action': 'keyword',
  'event.outcome': 'keyword',
  'event.module': 'keyword',
  'event.dataset': 'keyword',
  'event.provider': 'keyword',
  'event.code': 'keyword',
  'event.severity': 'long',
  'event.reason': 'keyword',
  'event.start': 'date',
  'event.end': 'date',
  'event.duration': 'long',
  'event.sequence': 'long',
  'log.level': 'keyword',
  'source.ip': 'ip',
  'source.port': 'long',
  'source.bytes': 'long',
  'destination.ip': 'ip',
  'destination.port': 'long',
  'destination.bytes': 'long',
  'client.ip': 'ip',
  'client.port': 'long',
  'client.bytes': 'long',
  'server.ip': 'ip',
  'server.port': 'long',
  'server.bytes': 'long',
  'network.transport': 'keyword',
  'network.protocol': 'keyword',
  'network.type': 'keyword',
  'network.iana_number': 'keyword',
  'network.bytes': 'long',
  'user.name': 'keyword',
  'related.ip': 'ip',
  'related.user': 'keyword',
  'related.hash': 'keyword',
  'url.original': 'keyword',
  'url.scheme': 'keyword',
  'url.domain': 'keyword',
  'url.path': 'keyword',
  'file.name': 'keyword',
  'file.path': 'keyword',
  'file.directory': 'keyword',
  'file.extension': 'keyword',
  'file.size': 'long',
  'file.hash.sha256': 'keyword',
  'tls.established': 'boolean',
  // ftpscope's own fields
  'ftpscope.source.file': 'keyword',
  'ftpscope.session.id': 'long',
  'ftpscope.session.uid': 'keyword',
  'ftpscope.session.tls': 'boolean',
  'ftpscope.session.logged_in': 'boolean',
  'ftpscope.session.closed': 'boolean',
  'ftpscope.session.commands': 'long',
  'ftpscope.session.data_connections': 'long',
  'ftpscope.session.findings': 'long',
  'ftpscope.session.greeting.code': 'long',
  'ftpscope.session.greeting.text': 'keyword',
  'ftpscope.command.verb': 'keyword',
  'ftpscope.command.arg': 'keyword',
  'ftpscope.command.cwd': 'keyword',
  'ftpscope.command.frame': 'long',
  'ftpscope.reply.code': 'long',
  'ftpscope.reply.text': 'keyword',
  'ftpscope.reply.frame': 'long',
  'ftpscope.reply.count': 'long',
  'ftpscope.transfer.id': 'keyword',
  'ftpscope.transfer.fuid': 'keyword',
  'ftpscope.transfer.uid': 'keyword',
  'ftpscope.transfer.mode': 'keyword',
  'ftpscope.transfer.setup': 'keyword',
  'ftpscope.transfer.setup_frame': 'long',
  'ftpscope.transfer.command': 'keyword',
  'ftpscope.transfer.command_arg': 'keyword',
  'ftpscope.transfer.command_frame': 'long',
  'ftpscope.transfer.direction': 'keyword',
  'ftpscope.transfer.opener': 'keyword',
  'ftpscope.transfer.bytes': 'long',
  'ftpscope.transfer.expected_bytes': 'long',
  'ftpscope.transfer.missing_bytes': 'long',
  'ftpscope.transfer.rest_offset': 'long',
  'ftpscope.transfer.type': 'keyword',
  'ftpscope.transfer.complete': 'boolean',
  'ftpscope.transfer.close_reason': 'keyword',
  'ftpscope.transfer.final_reply.code': 'long',
  'ftpscope.transfer.final_reply.text': 'keyword',
  'ftpscope.finding.code': 'keyword',
  'ftpscope.finding.severity': 'keyword',
  'ftpscope.finding.frame': 'long',
  'ftpscope.finding.group': 'keyword',
  'ftpscope.finding.fix': 'keyword',
};

/** The index template for Elasticsearch and OpenSearch (`PUT _index_template/ftpscope`). */
export function ecsTemplate(): object {
  const properties: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(ECS_FIELDS)) {
    const parts = name.split('.');
    let node = properties;
    for (const p of parts.slice(0, -1)) {
      const next = (node[p] ??= { properties: {} }) as { properties: Record<string, unknown> };
      node = next.properties;
    }
    const leaf = parts[parts.length - 1]!;
    // match_only_text is Elasticsearch's; OpenSearch users can change it to text (docs/integrations.md)
    node[leaf] = type === 'keyword' ? { type, ignore_above: 1024 } : { type };
  }
  return {
    index_patterns: ['ftpscope-*'],
    priority: 200,
    _meta: { description: 'ftpscope report --format ecs (ECS ' + ECS_VERSION + ' plus ftpscope.*)', ecs_version: ECS_VERSION },
    template: {
      settings: { 'index.mapping.total_fields.limit': 1000 },
      mappings: { dynamic: 'strict', date_detection: false, properties },
    },
  };
}

type Doc = Record<string, unknown>;

/** Sets a dotted field in a nested document; undefined and null leave it out. */
function put(doc: Doc, name: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (!(name in ECS_FIELDS)) throw new Error(`ECS field ${name} is not declared in ECS_FIELDS`);
  const parts = name.split('.');
  let node = doc;
  for (const p of parts.slice(0, -1)) node = (node[p] ??= {}) as Doc;
  node[parts[parts.length - 1]!] = value;
}

function ip(text: string): string {
  return canonicalIp(normalizeIp(text)) ?? text;
}

function iso(ts: number): string {
  return formatIsoTs(ts);
}

/** Nanoseconds, as event.duration counts them. */
function durationNs(seconds: number): number {
  return Math.max(0, Math.round(seconds * 1e9));
}

export interface EcsOptions {
  showPasswords?: boolean;
  /** The capture's name (ftpscope.source.file). */
  source: string;
}

function base(doc: Doc, action: string, kind: 'event' | 'alert', ts: number, opts: EcsOptions): void {
  put(doc, '@timestamp', iso(ts));
  put(doc, 'ecs.version', ECS_VERSION);
  put(doc, 'event.kind', kind);
  put(doc, 'event.action', action);
  put(doc, 'event.module', 'ftpscope');
  put(doc, 'event.dataset', 'ftpscope.ftp');
  put(doc, 'event.provider', 'ftpscope');
  put(doc, 'ftpscope.source.file', opts.source);
}

/** The control connection's endpoints: the FTP client is the source, the server the destination. */
function controlEnds(doc: Doc, s: Session): void {
  const c = ip(s.client.ip);
  const sv = ip(s.server.ip);
  put(doc, 'source.ip', c);
  put(doc, 'source.port', s.client.port);
  put(doc, 'destination.ip', sv);
  put(doc, 'destination.port', s.server.port);
  put(doc, 'client.ip', c);
  put(doc, 'client.port', s.client.port);
  put(doc, 'server.ip', sv);
  put(doc, 'server.port', s.server.port);
  put(doc, 'network.transport', 'tcp');
  put(doc, 'network.iana_number', '6');
  put(doc, 'network.protocol', 'ftp');
  put(doc, 'network.type', c.includes(':') ? 'ipv6' : 'ipv4');
  put(doc, 'related.ip', c === sv ? [c] : [c, sv]);
  put(doc, 'ftpscope.session.id', s.id);
  put(doc, 'ftpscope.session.uid', connUid(s.client, s.server, s.tcp?.start ?? s.start));
  if (s.user !== null) {
    put(doc, 'user.name', s.user);
    put(doc, 'related.user', [s.user]);
  }
}

/** success for a positive final reply (1xx-3xx), failure for 4xx/5xx, unknown without one. */
function outcome(code: number | null): 'success' | 'failure' | 'unknown' {
  if (code === null) return 'unknown';
  return code >= 400 ? 'failure' : 'success';
}

export function sessionDoc(s: Session, opts: EcsOptions): Doc {
  const doc: Doc = {};
  base(doc, 'ftp-session', 'event', s.start, opts);
  put(doc, 'event.category', ['network']);
  put(doc, 'event.type', ['connection', ...(s.closed ? ['end'] : ['start'])]);
  put(doc, 'event.start', iso(s.start));
  put(doc, 'event.end', iso(s.end));
  put(doc, 'event.duration', durationNs(s.end - s.start));
  put(doc, 'event.outcome', s.loggedIn === null ? 'unknown' : s.loggedIn ? 'success' : 'failure');
  controlEnds(doc, s);
  put(doc, 'source.bytes', s.controlBytes[0]);
  put(doc, 'destination.bytes', s.controlBytes[1]);
  put(doc, 'client.bytes', s.controlBytes[0]);
  put(doc, 'server.bytes', s.controlBytes[1]);
  put(doc, 'network.bytes', s.controlBytes[0] + s.controlBytes[1]);
  put(doc, 'tls.established', s.tls);
  put(doc, 'ftpscope.session.tls', s.tls);
  put(doc, 'ftpscope.session.logged_in', s.loggedIn);
  put(doc, 'ftpscope.session.closed', s.closed);
  put(doc, 'ftpscope.session.commands', s.commands.length);
  put(doc, 'ftpscope.session.data_connections', s.dataConnections.length);
  put(doc, 'ftpscope.session.findings', s.findings.length);
  if (s.greeting) {
    put(doc, 'ftpscope.session.greeting.code', s.greeting.code);
    put(doc, 'ftpscope.session.greeting.text', s.greeting.text);
  }
  put(doc, 'message', `FTP session ${s.id} ${ip(s.client.ip)}:${s.client.port} -> ${ip(s.server.ip)}:${s.server.port}` +
    `${s.user !== null ? ` user ${s.user}` : ''}: ${s.commands.length} commands, ${s.dataConnections.length} data connections`);
  return doc;
}

export function commandDoc(s: Session, c: FtpCommand, seq: number, opts: EcsOptions): Doc {
  const doc: Doc = {};
  const verb = c.verb.toUpperCase();
  const last = c.replies.length > 0 ? c.replies[c.replies.length - 1]! : null;
  base(doc, 'ftp-command', 'event', c.ts, opts);
  const auth = verb === 'USER' || verb === 'PASS' || verb === 'ACCT' || verb === 'AUTH';
  put(doc, 'event.category', auth ? ['authentication', 'network'] : ['network']);
  put(doc, 'event.type', auth ? ['info', 'protocol'] : ['protocol']);
  put(doc, 'event.outcome', outcome(last?.code ?? null));
  put(doc, 'event.sequence', seq);
  controlEnds(doc, s);
  const arg = maskArg(verb, c.arg, opts.showPasswords);
  put(doc, 'ftpscope.command.verb', verb);
  put(doc, 'ftpscope.command.arg', arg);
  put(doc, 'ftpscope.command.cwd', c.cwd);
  put(doc, 'ftpscope.command.frame', c.frame);
  put(doc, 'ftpscope.reply.count', c.replies.length);
  if (last) {
    put(doc, 'ftpscope.reply.code', last.code);
    put(doc, 'ftpscope.reply.text', maskReplyText(last.text, opts.showPasswords));
    put(doc, 'ftpscope.reply.frame', last.frame);
  }
  put(doc, 'message', `${verb}${arg !== null ? ' ' + arg : ''}${last ? ` -> ${last.code} ${maskReplyText(last.text, opts.showPasswords).split('\n').pop()}` : ' (no reply)'}`);
  return doc;
}

function fileFields(doc: Doc, s: Session, dc: DataConnection): void {
  const p = dc.path ?? dc.command?.arg ?? null;
  if (p === null || dc.direction === 'listing') return;
  const slash = p.lastIndexOf('/');
  const name = slash >= 0 ? p.slice(slash + 1) : p;
  put(doc, 'file.path', p);
  if (name) put(doc, 'file.name', name);
  if (slash > 0) put(doc, 'file.directory', p.slice(0, slash));
  else if (slash === 0) put(doc, 'file.directory', '/');
  const dot = name.lastIndexOf('.');
  if (dot > 0 && dot < name.length - 1) put(doc, 'file.extension', name.slice(dot + 1));
  const host = ip(s.server.ip);
  const url = `ftp://${host.includes(':') ? `[${host}]` : host}${p.startsWith('/') ? p : '/' + p}`;
  put(doc, 'url.original', url);
  put(doc, 'url.scheme', 'ftp');
  put(doc, 'url.domain', host);
  put(doc, 'url.path', p.startsWith('/') ? p : '/' + p);
}

/** A data connection: the TCP initiator is the source (the FTP client in passive mode, the server in active). */
export function transferDoc(s: Session | null, dc: DataConnection, opts: EcsOptions): Doc {
  const doc: Doc = {};
  base(doc, 'ftp-transfer', 'event', dc.start, opts);
  put(doc, 'event.category', ['network', 'file']);
  put(doc, 'event.type', ['connection', dc.direction === 'upload' ? 'creation' : 'access']);
  put(doc, 'event.start', iso(dc.start));
  put(doc, 'event.end', iso(dc.end));
  put(doc, 'event.duration', durationNs(dc.end - dc.start));
  put(doc, 'event.outcome', dc.complete ? 'success' : 'failure');
  const orig = dc.tcp?.client ?? (dc.opener === 'server' ? dc.server : dc.client);
  const resp = dc.tcp?.server ?? (dc.opener === 'server' ? dc.client : dc.server);
  const o = ip(orig.ip);
  const r = ip(resp.ip);
  put(doc, 'source.ip', o);
  put(doc, 'source.port', orig.port);
  put(doc, 'destination.ip', r);
  put(doc, 'destination.port', resp.port);
  put(doc, 'client.ip', ip(dc.client.ip));
  put(doc, 'client.port', dc.client.port);
  put(doc, 'server.ip', ip(dc.server.ip));
  put(doc, 'server.port', dc.server.port);
  if (dc.tcp) {
    put(doc, 'source.bytes', dc.tcp.bytes[0]);
    put(doc, 'destination.bytes', dc.tcp.bytes[1]);
    put(doc, 'network.bytes', dc.tcp.bytes[0] + dc.tcp.bytes[1]);
  }
  put(doc, 'network.transport', 'tcp');
  put(doc, 'network.iana_number', '6');
  put(doc, 'network.protocol', 'ftp-data');
  put(doc, 'network.type', o.includes(':') ? 'ipv6' : 'ipv4');
  put(doc, 'related.ip', o === r ? [o] : [o, r]);
  if (s) {
    put(doc, 'ftpscope.session.id', s.id);
    put(doc, 'ftpscope.session.uid', connUid(s.client, s.server, s.tcp?.start ?? s.start));
    if (s.user !== null) {
      put(doc, 'user.name', s.user);
      put(doc, 'related.user', [s.user]);
    }
    fileFields(doc, s, dc);
  }
  put(doc, 'file.size', dc.bytes);
  if (dc.complete && dc.sha256) {
    put(doc, 'file.hash.sha256', dc.sha256);
    put(doc, 'related.hash', [dc.sha256]);
  }
  put(doc, 'ftpscope.transfer.id', `D${dc.id}`);
  put(doc, 'ftpscope.transfer.fuid', fileUid(dc));
  put(doc, 'ftpscope.transfer.uid', connUid(orig, resp, dc.tcp?.start ?? dc.start));
  put(doc, 'ftpscope.transfer.mode', dc.mode);
  put(doc, 'ftpscope.transfer.setup', dc.setup);
  put(doc, 'ftpscope.transfer.setup_frame', dc.setupFrame);
  put(doc, 'ftpscope.transfer.command', dc.command?.verb ?? null);
  put(doc, 'ftpscope.transfer.command_arg', dc.command?.arg ?? null);
  put(doc, 'ftpscope.transfer.command_frame', dc.command?.frame ?? null);
  put(doc, 'ftpscope.transfer.direction', dc.direction);
  put(doc, 'ftpscope.transfer.opener', dc.opener);
  put(doc, 'ftpscope.transfer.bytes', dc.bytes);
  put(doc, 'ftpscope.transfer.expected_bytes', dc.expectedBytes);
  put(doc, 'ftpscope.transfer.missing_bytes', dc.missingBytes);
  put(doc, 'ftpscope.transfer.rest_offset', dc.restOffset);
  put(doc, 'ftpscope.transfer.type', dc.transferType);
  put(doc, 'ftpscope.transfer.complete', dc.complete);
  put(doc, 'ftpscope.transfer.close_reason', dc.closeReason);
  if (dc.finalReply) {
    put(doc, 'ftpscope.transfer.final_reply.code', dc.finalReply.code);
    put(doc, 'ftpscope.transfer.final_reply.text', dc.finalReply.text);
  }
  const what = dc.command ? `${dc.command.verb}${dc.command.arg ? ' ' + dc.command.arg : ''}` : 'data';
  put(doc, 'message', `${s ? `session ${s.id} ` : 'unpaired '}D${dc.id} ${what}: ${dc.bytes} bytes${dc.complete ? '' : ' (incomplete)'}`);
  return doc;
}

const SEVERITY_NUMBER = { info: 1, warning: 2, error: 3 } as const;

export function findingDoc(s: Session | null, f: Finding, ts: number, opts: EcsOptions): Doc {
  const doc: Doc = {};
  base(doc, 'ftp-finding', 'alert', ts, opts);
  put(doc, 'event.category', ['network']);
  put(doc, 'event.type', ['info']);
  put(doc, 'event.code', f.code);
  put(doc, 'event.severity', SEVERITY_NUMBER[f.severity]);
  put(doc, 'log.level', f.severity);
  const info = (FINDING_CODES as Record<string, { meaning?: string; fix?: string; group?: string }>)[f.code];
  put(doc, 'event.reason', info?.meaning ?? null);
  if (s) controlEnds(doc, s);
  put(doc, 'ftpscope.finding.code', f.code);
  put(doc, 'ftpscope.finding.severity', f.severity);
  put(doc, 'ftpscope.finding.frame', f.frame);
  put(doc, 'ftpscope.finding.group', info?.group ?? null);
  put(doc, 'ftpscope.finding.fix', info?.fix ?? null);
  put(doc, 'message', f.message);
  return doc;
}

/**
 * One session's documents as NDJSON: the session, its commands, its data connections, its
 * findings (each finding at the time of its frame's command or reply when known, else the session's start).
 */
export function sessionEcsLines(s: Session, opts: EcsOptions): string {
  let out = JSON.stringify(sessionDoc(s, opts)) + '\n';
  const frameTs = new Map<number, number>();
  s.commands.forEach((c, i) => {
    if (c.frame !== null) frameTs.set(c.frame, c.ts);
    for (const r of c.replies) if (r.frame !== null) frameTs.set(r.frame, r.ts);
    out += JSON.stringify(commandDoc(s, c, i + 1, opts)) + '\n';
  });
  for (const dc of s.dataConnections) out += JSON.stringify(transferDoc(s, dc, opts)) + '\n';
  for (const f of s.findings) out += JSON.stringify(findingDoc(s, f, (f.frame !== null ? frameTs.get(f.frame) : undefined) ?? s.start, opts)) + '\n';
  return out;
}

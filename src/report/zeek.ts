/**
 * `report --format zeek`: the analysis as Zeek's ftp.log and files.log (TSV, with the #fields and
 * #types headers, so zeek-cut and other Zeek tooling read them).
 *
 * Rows are our analysis: our commands with the replies we paired to them, our data connections.
 * Each field follows Zeek's definition of it (scripts/base/protocols/ftp/main.zeek, utils.zeek,
 * files.zeek), so a row we and Zeek agree on is identical field by field, except where we differ
 * on purpose (docs/integrations.md lists each such field and why):
 *
 * - uid / fuid: ours are derived from the connection's endpoints and start time (stable across
 *   runs); Zeek's are random per run. They link ftp.log to files.log the same way.
 * - mime_type: we do not sniff file contents, so it is unset ('-').
 * - password and the PASS argument: our one masking policy (ftp/masking.ts) hides every password
 *   unless --show-passwords, written as Zeek writes a hidden one, "<hidden>"; Zeek shows the
 *   passwords of guest users (anonymous, ftp, ...).
 * - user / password are those sent up to and including the command; Zeek writes a row when the
 *   next command arrives, so pipelined commands can show a later USER or PASS.
 * - a command without a reply has no reply_code; Zeek repeats the previous command's reply.
 */
import { createHash } from 'node:crypto';
import type { DataConnection, FtpCommand, FtpReply, Session } from '../model/types.js';
import { maskArg, MASKED } from '../ftp/masking.js';
import { canonicalIp, parseEprtArg, parseEpsvReply, parsePasvReply, parsePortArg } from '../ftp/endpoints.js';
import { normalizeIp } from './format.js';

/** Zeek's FTP::logged_commands default: the commands that get an ftp.log row. */
export const ZEEK_LOGGED_COMMANDS: readonly string[] = ['APPE', 'DELE', 'RETR', 'STOR', 'STOU', 'ACCT', 'PORT', 'PASV', 'EPRT', 'EPSV'];

/** Commands whose argument Zeek writes as a URL (FTP::file_cmds). */
const FILE_CMDS = new Set(['APPE', 'CWD', 'DELE', 'MKD', 'RETR', 'RMD', 'RNFR', 'RNTO', 'STOR', 'STOU', 'REST', 'SIZE', 'MDTM']);
/** FTP::guest_ids: Zeek's own rule for passwords it shows. Ours hides them all; kept to document the difference. */
const HIDDEN = '<hidden>';
const UNSET = '-';
const EMPTY = '(empty)';

export const FTP_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['ts', 'time'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'], ['id.resp_p', 'port'],
  ['user', 'string'], ['password', 'string'], ['command', 'string'], ['arg', 'string'], ['mime_type', 'string'],
  ['file_size', 'count'], ['reply_code', 'count'], ['reply_msg', 'string'], ['data_channel.passive', 'bool'],
  ['data_channel.orig_h', 'addr'], ['data_channel.resp_h', 'addr'], ['data_channel.resp_p', 'port'], ['fuid', 'string'],
];

export const FILES_FIELDS: ReadonlyArray<readonly [string, string]> = [
  ['ts', 'time'], ['fuid', 'string'], ['uid', 'string'], ['id.orig_h', 'addr'], ['id.orig_p', 'port'], ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'], ['source', 'string'], ['depth', 'count'], ['analyzers', 'set[string]'], ['mime_type', 'string'],
  ['filename', 'string'], ['duration', 'interval'], ['local_orig', 'bool'], ['is_orig', 'bool'], ['seen_bytes', 'count'],
  ['total_bytes', 'count'], ['missing_bytes', 'count'], ['overflow_bytes', 'count'], ['timedout', 'bool'],
  ['parent_fuid', 'string'], ['md5', 'string'], ['sha1', 'string'], ['sha256', 'string'], ['extracted', 'string'],
  ['extracted_cutoff', 'bool'], ['extracted_size', 'count'],
];

export interface ZeekOptions {
  showPasswords?: boolean;
  /** Commands that get an ftp.log row (FTP::logged_commands); ZEEK_LOGGED_COMMANDS by default. */
  loggedCommands?: ReadonlySet<string>;
}

type Cell = string | number | boolean | null;

// ---- the TSV format -----------------------------------------------------------------------

/** "2012-02-21-16-52-41": the #open / #close stamp (UTC). */
export function zeekStamp(ts: number): string {
  return new Date(Math.floor(ts) * 1000).toISOString().slice(0, 19).replace(/[T:]/g, '-');
}

/** The header lines of a log, up to and including #types. */
export function zeekHeader(path: 'ftp' | 'files', openTs: number): string {
  const fields = path === 'ftp' ? FTP_FIELDS : FILES_FIELDS;
  return [
    '#separator \\x09', '#set_separator\t,', `#empty_field\t${EMPTY}`, `#unset_field\t${UNSET}`, `#path\t${path}`,
    `#open\t${zeekStamp(openTs)}`, `#fields\t${fields.map((f) => f[0]).join('\t')}`, `#types\t${fields.map((f) => f[1]).join('\t')}`,
  ].join('\n') + '\n';
}

export function zeekFooter(closeTs: number): string {
  return `#close\t${zeekStamp(closeTs)}\n`;
}

/**
 * A string field as Zeek's ASCII writer escapes it: the separator, control bytes and backslash
 * as \xNN; the empty string as (empty); a value equal to '-' or '(empty)' with its first byte escaped.
 */
export function zeekString(s: string): string {
  if (s === '') return EMPTY;
  // eslint-disable-next-line no-control-regex
  let out = s.replace(/[\x00-\x1f\x7f\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  if (out === UNSET || out === EMPTY) out = `\\x${out.charCodeAt(0).toString(16)}${out.slice(1)}`;
  return out;
}

function cell(v: Cell, type: string): string {
  if (v === null) return UNSET;
  if (type === 'bool') return v ? 'T' : 'F';
  if (type === 'time' || type === 'interval') return (v as number).toFixed(6);
  if (type === 'count' || type === 'port') return String(v);
  if (type === 'addr') return String(v);
  return zeekString(String(v));
}

function line(fields: ReadonlyArray<readonly [string, string]>, row: Record<string, Cell>): string {
  return fields.map(([name, type]) => cell(row[name] ?? null, type)).join('\t') + '\n';
}

// ---- identifiers --------------------------------------------------------------------------

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Zeek-shaped id ('C' or 'F' + 17 base62 characters) from a stable key. */
function zeekId(prefix: 'C' | 'F', key: string): string {
  const h = createHash('sha256').update(key).digest();
  let out = prefix;
  for (let i = 0; i < 17; i++) out += B62[h[i]! % 62];
  return out;
}

function addr(ip: string): string {
  return canonicalIp(normalizeIp(ip)) ?? ip;
}

/** The uid of a TCP connection: its endpoints and start (what Zeek's conn id and start time are). */
export function connUid(orig: { ip: string; port: number }, resp: { ip: string; port: number }, start: number): string {
  return zeekId('C', `${addr(orig.ip)}|${orig.port}|${addr(resp.ip)}|${resp.port}|${start.toFixed(6)}`);
}

function sessionUid(s: Session): string {
  return connUid(s.client, s.server, s.tcp?.start ?? s.start);
}

/** The data connection's TCP originator and responder (who sent the SYN), as Zeek's conn id has them. */
function dataIds(dc: DataConnection): { orig: { ip: string; port: number }; resp: { ip: string; port: number } } {
  if (dc.tcp) return { orig: dc.tcp.client, resp: dc.tcp.server };
  return dc.opener === 'server' ? { orig: dc.server, resp: dc.client } : { orig: dc.client, resp: dc.server };
}

export function fileUid(dc: DataConnection): string {
  const { orig, resp } = dataIds(dc);
  return zeekId('F', `${connUid(orig, resp, dc.tcp?.start ?? dc.start)}|file`);
}

// ---- Zeek's path rules (base/utils/paths.zeek, compress_path) ------------------------------

const ABSOLUTE = /^(\/|[A-Za-z]:[\\/])/;

/** build_path: the file name if absolute (or no directory), else dir + "/" + file. */
function buildPath(dir: string, file: string): string {
  if (ABSOLUTE.test(file) || dir === '') return file;
  return dir.endsWith('/') ? dir + file : `${dir}/${file}`;
}

/** Zeek's compress_path: drops empty and "." components (a leading "." stays) and resolves "..". */
export function compressPath(p: string): string {
  const parts = p.split('/');
  const out: string[] = [];
  parts.forEach((c, i) => {
    if (c === '' || (c === '.' && i !== 0)) return;
    out.push(c);
    if (c !== '..' || out.length < 2) return;
    const prev = out[out.length - 2]!;
    if (prev === '..' || prev === '~' || prev === '/') return;
    if (prev === '.') { out.splice(out.length - 2, 2, '..'); return; }
    out.splice(out.length - 2, 2);
  });
  const joined = out.join('/');
  return p.startsWith('/') ? '/' + joined : joined;
}

/** extract_path: the first quoted absolute path of a 257 reply, else the first absolute path. */
function extractPath(msg: string): string {
  const q = /"((?:\/|[A-Za-z]:[\\/])[^"]*)"/.exec(msg);
  if (q) return q[1]!;
  const m = /(\/|[A-Za-z]:[\\/])([^" ]|(\\ ))*/.exec(msg);
  return m ? m[0] : '';
}

/** addr_to_uri: IPv6 in brackets. */
function uriHost(ip: string): string {
  const a = addr(ip);
  return a.includes(':') ? `[${a}]` : a;
}

// ---- ftp.log ------------------------------------------------------------------------------

/** The message of a reply's last line ("226 Transfer complete." → "Transfer complete."), as Zeek logs it. */
function replyMsg(r: FtpReply): string {
  const last = r.lines.length > 0 ? r.lines[r.lines.length - 1]! : `${r.code} ${r.text}`;
  return last.replace(/^\d{3}[ -]?/, '');
}

/** extract_count(msg, F): the last number in the text, 0 when none. */
function lastNumber(text: string): number {
  const all = text.match(/\d+/g);
  return all ? Number(all[all.length - 1]) : 0;
}

function shown(verb: string, arg: string, showPasswords: boolean): string {
  const v = maskArg(verb, arg, showPasswords);
  return v === MASKED && arg !== MASKED ? HIDDEN : v ?? '';
}

interface DataChannel { passive: boolean; orig: string; resp: string; port: number }

function dataChannel(s: Session, c: FtpCommand, last: FtpReply | null): DataChannel | null {
  const arg = c.arg ?? '';
  if (c.verb === 'PORT' || c.verb === 'EPRT') {
    const hp = c.verb === 'PORT' ? parsePortArg(arg) : parseEprtArg(arg);
    return hp ? { passive: false, orig: addr(s.server.ip), resp: addr(hp.ip), port: hp.port } : null;
  }
  if (!last) return null;
  if (c.verb === 'PASV' && last.code === 227) {
    const hp = parsePasvReply(last.text);
    return hp ? { passive: true, orig: addr(s.client.ip), resp: addr(hp.ip), port: hp.port } : null;
  }
  if (c.verb === 'EPSV' && last.code === 229) {
    const p = parseEpsvReply(last.text);
    // Zeek's 229 carries no address ([::]): the control connection's responder is used
    return p ? { passive: true, orig: addr(s.client.ip), resp: addr(s.server.ip), port: p.port } : null;
  }
  return null;
}

/** One session's ftp.log rows, in command order (the greeting is Zeek's "<init>" command). */
export function ftpLogRows(s: Session, opts: ZeekOptions = {}): string {
  const logged = opts.loggedCommands ?? new Set(ZEEK_LOGGED_COMMANDS);
  const show = opts.showPasswords ?? false;
  const uid = sessionUid(s);
  const base = {
    uid, 'id.orig_h': addr(s.client.ip), 'id.orig_p': s.client.port, 'id.resp_h': addr(s.server.ip), 'id.resp_p': s.server.port,
  };
  // The file of each transfer command (Zeek sets fuid on the row logged after the file appears).
  const fileOf = new Map<number, DataConnection>();
  for (const dc of s.dataConnections) {
    if (dc.command?.frame != null && dc.bytes > 0 && !fileOf.has(dc.command.frame)) fileOf.set(dc.command.frame, dc);
  }
  let out = '';
  let user = '<unknown>';
  let password: string | null = null;
  let cwd = '.';
  const row = (c: FtpCommand | null, verb: string, replies: FtpReply[], ts: number): void => {
    const last = replies.length > 0 ? replies[replies.length - 1]! : null;
    let arg: string | null = c?.arg ?? null;
    if (arg !== null && verb === 'PASS') arg = show ? arg : HIDDEN;
    else if (arg !== null) arg = shown(verb, arg, show);
    if (arg !== null && FILE_CMDS.has(verb)) {
      let p = compressPath(buildPath(cwd, arg));
      if (!p.startsWith('/')) p = '/' + p;
      arg = `ftp://${uriHost(s.server.ip)}${p}`;
    }
    if (arg === '') arg = null;
    let fileSize: number | null = null;
    const sizeReply = replies.find((r) => (verb === 'RETR' && r.code === 150) || (verb === 'SIZE' && r.code === 213));
    if (sizeReply) fileSize = lastNumber(replyMsg(sizeReply));
    const dch = c ? dataChannel(s, c, last) : null;
    const file = c?.frame != null ? fileOf.get(c.frame) : undefined;
    out += line(FTP_FIELDS, {
      ts, ...base, user,
      password: password === null ? null : show ? password : HIDDEN,
      command: verb, arg, mime_type: null, file_size: fileSize,
      reply_code: last?.code ?? null, reply_msg: last ? replyMsg(last) : null,
      'data_channel.passive': dch?.passive ?? null, 'data_channel.orig_h': dch?.orig ?? null,
      'data_channel.resp_h': dch?.resp ?? null, 'data_channel.resp_p': dch?.port ?? null,
      fuid: file ? fileUid(file) : null,
    });
  };
  if (s.greeting && logged.has('<init>')) {
    const g: FtpReply = { code: s.greeting.code, text: s.greeting.text, lines: [`${s.greeting.code} ${s.greeting.text.split('\n').pop()}`], frame: s.greeting.frame, ts: s.greeting.ts ?? s.start };
    row(null, '<init>', [g], g.ts);
  }
  for (const c of s.commands) {
    const verb = c.verb.toUpperCase();
    if (verb === 'USER' && c.arg !== null) user = c.arg.slice(0, 128);
    if (verb === 'PASS' && c.arg !== null) password = c.arg.slice(0, 128);
    // the working directory as Zeek follows it: CWD 250, CDUP 200/250, PWD/XPWD 257 (first reply that matches)
    const ok = c.replies.find((r) => (verb === 'CWD' && r.code === 250) || (verb === 'CDUP' && (r.code === 200 || r.code === 250))
      || ((verb === 'PWD' || verb === 'XPWD') && r.code === 257));
    if (ok) {
      if (verb === 'CWD') cwd = compressPath(buildPath(cwd, c.arg ?? ''));
      else if (verb === 'CDUP') cwd = compressPath(buildPath(cwd, '/..'));
      else cwd = extractPath(replyMsg(ok));
    }
    if (logged.has(verb)) row(c, verb, c.replies, c.ts);
  }
  return out;
}

// ---- files.log ----------------------------------------------------------------------------

/** Zeek 6's default Site::local_nets: the private, loopback and link-local address space. */
export function isLocalAddr(ip: string): boolean {
  const a = addr(ip);
  if (a.includes(':')) return /^(::1$|fe[89ab]|f[cd])/i.test(a);
  const [x, y] = a.split('.').map(Number) as [number, number];
  return x === 10 || x === 127 || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 169 && y === 254)
    || (x === 100 && y >= 64 && y <= 127);
}

/** One session's files.log rows: one per data connection that carried data. */
export function filesLogRows(s: Session): string {
  let out = '';
  for (const dc of s.dataConnections) {
    if (dc.bytes === 0) continue;
    const { orig, resp } = dataIds(dc);
    // who sent the file: the FTP server for downloads and listings, the client for uploads
    const senderRole = dc.direction === 'upload' ? 'client' : dc.direction === null && (dc.tcp?.bytes[0] ?? 0) > 0 ? dc.opener : 'server';
    const isOrig = senderRole === (dc.opener ?? 'client');
    const dir = isOrig ? 0 : 1;
    const first = dc.tcp?.firstPayload[dir]?.ts ?? dc.start;
    const last = dc.tcp?.lastPayload?.[dir]?.ts ?? first;
    out += line(FILES_FIELDS, {
      ts: first, fuid: fileUid(dc), uid: connUid(orig, resp, dc.tcp?.start ?? dc.start),
      'id.orig_h': addr(orig.ip), 'id.orig_p': orig.port, 'id.resp_h': addr(resp.ip), 'id.resp_p': resp.port,
      source: 'FTP_DATA', depth: 0, analyzers: 'SHA256', mime_type: null, filename: null,
      duration: Math.max(0, last - first), local_orig: isLocalAddr(isOrig ? orig.ip : resp.ip), is_orig: isOrig,
      seen_bytes: dc.bytes - dc.missingBytes, total_bytes: null, missing_bytes: dc.missingBytes, overflow_bytes: 0, timedout: false,
      parent_fuid: null, md5: null, sha1: null, sha256: dc.complete ? dc.sha256 : null,
      extracted: null, extracted_cutoff: null, extracted_size: null,
    });
  }
  return out;
}

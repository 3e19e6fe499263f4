/**
 * What a display filter sees: the analysis' facts as field values, for one packet, one session
 * (its control connection, every command and reply, every finding, and each of its data
 * connections as further occurrences), or one data connection.
 */
import { maskArg, maskReplyText } from '../../ftp/masking.js';
import { isControlChannel, isDataChannel, type PacketFact } from '../../model/packet-facts.js';
import type { DataConnection, Endpoint, Session } from '../../model/types.js';
import { addressValue, type FieldRecord, type FieldValue } from './eval.js';

type Values = Map<string, FieldValue[]>;

const NONE: readonly FieldValue[] = Object.freeze([]);

class MapRecord implements FieldRecord {
  constructor(private readonly m: Values) {}
  values(field: string): readonly FieldValue[] {
    return this.m.get(field) ?? NONE;
  }
}

function put(m: Values, field: string, ...vs: Array<FieldValue | null | undefined>): void {
  for (const v of vs) {
    if (v === null || v === undefined) continue;
    const list = m.get(field);
    if (list) list.push(v);
    else m.set(field, [v]);
  }
}

function putEndpoints(m: Values, src: Endpoint, dst: Endpoint): void {
  const a = addressValue(src.ip);
  const b = addressValue(dst.ip);
  const v6 = src.ip.includes(':');
  const p = v6 ? 'ipv6' : 'ip';
  put(m, p, 1);
  put(m, `${p}.src`, a);
  put(m, `${p}.dst`, b);
  put(m, `${p}.addr`, a, b);
  put(m, 'tcp', 1);
  put(m, 'tcp.srcport', src.port);
  put(m, 'tcp.dstport', dst.port);
  put(m, 'tcp.port', src.port, dst.port);
}

export interface FilterOptions {
  showPasswords?: boolean;
}

function putTransfer(m: Values, s: Session | null, dc: DataConnection): void {
  put(m, 'ftpscope.transfer', 1);
  put(m, 'ftp-data', 1);
  if (dc.command) put(m, 'ftp-data.command', `${dc.command.verb}${dc.command.arg !== null ? ' ' + dc.command.arg : ''}`);
  put(m, 'ftp-data.setup-method', dc.setup);
  const cwd = dc.command && s ? s.commands.find((c) => c.frame === dc.command!.frame && c.verb === dc.command!.verb)?.cwd : null;
  put(m, 'ftp-data.current-working-directory', cwd);
  put(m, 'ftpscope.transfer.bytes', dc.bytes);
  put(m, 'ftpscope.transfer.complete', dc.complete ? 1 : 0);
  put(m, 'ftpscope.transfer.direction', dc.direction);
  put(m, 'ftpscope.transfer.path', dc.path);
  put(m, 'ftpscope.transfer.mode', dc.mode);
}

function putSessionOwn(m: Values, s: Session): void {
  put(m, 'ftpscope.session', s.id);
  put(m, 'ftpscope.user', s.user);
  for (const f of s.findings) put(m, 'ftpscope.finding', f.code);
  for (const f of s.tcp?.findings ?? []) put(m, 'ftpscope.finding', f.code);
}

/** One session: its control connection and everything on it, its data connections as more occurrences. */
export function sessionRecord(s: Session, opts: FilterOptions = {}): FieldRecord {
  const m: Values = new Map();
  putEndpoints(m, s.client, s.server);
  if (s.tcp) put(m, 'tcp.stream', s.tcp.id - 1);
  put(m, 'ftp', 1);
  putSessionOwn(m, s);
  if (s.greeting) { put(m, 'ftp.response.code', s.greeting.code); put(m, 'ftp.response.arg', maskReplyText(s.greeting.text, opts.showPasswords)); }
  for (const c of s.commands) {
    put(m, 'ftp.request', 1);
    put(m, 'ftp.request.command', c.verb);
    put(m, 'ftp.request.arg', maskArg(c.verb, c.arg, opts.showPasswords));
    for (const r of c.replies) {
      put(m, 'ftp.response', 1);
      put(m, 'ftp.response.code', r.code);
      put(m, 'ftp.response.arg', maskReplyText(r.text, opts.showPasswords));
    }
  }
  for (const r of s.unsolicitedReplies) { put(m, 'ftp.response.code', r.code); put(m, 'ftp.response.arg', maskReplyText(r.text, opts.showPasswords)); }
  for (const dc of s.dataConnections) {
    putTransfer(m, s, dc);
    for (const f of dc.tcp?.findings ?? []) put(m, 'ftpscope.finding', f.code);
  }
  return new MapRecord(m);
}

/** One data connection (of `s`, or unpaired when null), with its session's own fields. */
export function transferRecord(s: Session | null, dc: DataConnection): FieldRecord {
  const m: Values = new Map();
  putEndpoints(m, dc.client, dc.server);
  if (dc.tcp) put(m, 'tcp.stream', dc.tcp.id - 1);
  if (s) putSessionOwn(m, s);
  putTransfer(m, s, dc);
  if (dc.command) put(m, 'ftp.request.command', dc.command.verb);
  return new MapRecord(m);
}

export interface PacketContext {
  /** Time of the capture's first packet (frame.time_relative counts from it). */
  start: number;
  /** The session a packet belongs to, by id. */
  session(id: number): Session | null;
  showPasswords?: boolean;
}

const FLAG_FIELDS: Array<[string, number]> = [
  ['tcp.flags.fin', 0x01], ['tcp.flags.syn', 0x02], ['tcp.flags.reset', 0x04], ['tcp.flags.push', 0x08],
  ['tcp.flags.ack', 0x10], ['tcp.flags.urg', 0x20], ['tcp.flags.ece', 0x40], ['tcp.flags.cwr', 0x80],
];

/** One packet, from the facts the analysis recorded for it. */
export function packetRecord(p: PacketFact, ctx: PacketContext): FieldRecord {
  const m: Values = new Map();
  put(m, 'frame', 1);
  put(m, 'frame.number', p.frame);
  put(m, 'frame.time_relative', p.ts - ctx.start);
  putEndpoints(m, p.src, p.dst);
  put(m, 'tcp.stream', p.tcpId - 1);
  put(m, 'tcp.len', p.len);
  put(m, 'tcp.seq_raw', p.seq);
  put(m, 'tcp.seq', p.relSeq);
  if (p.flags & 0x10) { put(m, 'tcp.ack_raw', p.ack); put(m, 'tcp.ack', p.relAck); }
  put(m, 'tcp.window_size_value', p.window);
  put(m, 'tcp.flags', p.flags & 0xfff);
  for (const [name, bit] of FLAG_FIELDS) put(m, name, p.flags & bit ? 1 : 0);
  put(m, 'ftpscope.role', p.sender);
  const s = p.session !== null ? ctx.session(p.session) : null;
  if (s) {
    put(m, 'ftpscope.session', s.id);
    put(m, 'ftpscope.user', s.user);
    for (const f of s.findings) if (f.frame === p.frame) put(m, 'ftpscope.finding', f.code);
  }
  if (isControlChannel(p.channel) && p.wire !== null) {
    put(m, 'ftp', 1);
    // As in Wireshark, every FTP packet has both: 1 for the side that sent it, 0 for the other.
    put(m, 'ftp.request', p.sender === 'client' ? 1 : 0);
    put(m, 'ftp.response', p.sender === 'server' ? 1 : 0);
    // The packet's own lines, as a packet-by-packet decoder (and tshark) sees them.
    for (const l of p.wire) {
      if (l.kind === 'request') {
        put(m, 'ftp.request.command', l.verb);
        put(m, 'ftp.request.arg', maskArg(l.verb, l.arg, ctx.showPasswords));
      } else {
        put(m, 'ftp.response.code', l.code);
        put(m, 'ftp.response.arg', maskReplyText(l.arg, ctx.showPasswords));
      }
    }
  }
  // As in Wireshark, a segment that repeats bytes already seen is not handed to ftp-data again.
  if (isDataChannel(p.channel) && p.len > 0 && !p.repeated) {
    const dc = s && p.channel === 'data' ? s.dataConnections.find((d) => d.id === p.dataConnection) ?? null : null;
    if (dc) putTransfer(m, s, dc);
    else put(m, 'ftp-data', 1);
  }
  return new MapRecord(m);
}

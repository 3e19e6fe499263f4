/**
 * Data-channel rewriting as pure functions: what a client's PORT/EPRT/LPRT or a server's
 * 227/229/228 means for the proxy, and what to send instead. No sockets here.
 */
import {
  parsePortArg, parseEprtArg, parseLprtArg, parsePasvReply, parseEpsvReply, parseLpsvReply,
  formatPortArg, formatPasvReply, formatEprtArg, formatEpsvReply, formatLprtArg, formatLpsvReply,
  type HostPort,
} from '../ftp/endpoints.js';

export type { HostPort };
export type PassiveVerb = 'PASV' | 'EPSV' | 'LPSV';
export type ActiveVerb = 'PORT' | 'EPRT' | 'LPRT';
export type SetupVerb = PassiveVerb | ActiveVerb;
/** `client` mirrors what the client does; `passive`/`active` force the server-facing side. */
export type DataMode = 'client' | 'passive' | 'active';

export const PASSIVE_VERBS: ReadonlySet<string> = new Set(['PASV', 'EPSV', 'LPSV']);
export const ACTIVE_VERBS: ReadonlySet<string> = new Set(['PORT', 'EPRT', 'LPRT']);

export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** Strip an IPv4-mapped prefix so addresses compare the way the report writes them. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1] : ip.toLowerCase();
}

/** Where a client in active mode asks to be connected to; null when the argument is malformed. */
export function parseActiveTarget(verb: ActiveVerb, arg: string | null): HostPort | null {
  if (arg === null) return null;
  const a = arg.trim();
  if (verb === 'PORT') return parsePortArg(a);
  if (verb === 'EPRT') return parseEprtArg(a);
  return parseLprtArg(a);
}

export type BounceVerdict = { ok: true } | { ok: false; reason: string };

/**
 * FTP bounce protection (RFC 2577): an active-mode target must be the control peer's own
 * address and an unprivileged port.
 */
export function checkActiveTarget(target: HostPort, controlPeerIp: string): BounceVerdict {
  const want = normalizeIp(controlPeerIp);
  const got = normalizeIp(target.ip);
  if (got !== want) return { ok: false, reason: `target address ${got} is not the client's address ${want}` };
  if (target.port < 1024) return { ok: false, reason: `target port ${target.port} is privileged (< 1024)` };
  return { ok: true };
}

/**
 * Where the proxy connects for a server's passive reply. The data connection always goes to
 * the control peer's address (as frox and mod_proxy do): an announced address elsewhere would
 * let a server aim the proxy at a third host, and NATed servers announce private addresses.
 */
export interface PassiveTarget {
  target: HostPort;
  /** The address the server announced, when the reply carried one and it differs. */
  announcedElsewhere: string | null;
}

export function parsePassiveReply(verb: PassiveVerb, text: string, upstreamIp: string): PassiveTarget | null {
  if (verb === 'EPSV') {
    const p = parseEpsvReply(text);
    return p ? { target: { ip: normalizeIp(upstreamIp), port: p.port }, announcedElsewhere: null } : null;
  }
  const hp = verb === 'PASV' ? parsePasvReply(text) : parseLpsvReply(text);
  if (!hp) return null;
  const up = normalizeIp(upstreamIp);
  const ann = normalizeIp(hp.ip);
  return { target: { ip: up, port: hp.port }, announcedElsewhere: ann !== up ? ann : null };
}

/** The verb a passive setup reply to that verb carries. */
export function passiveReplyCode(verb: PassiveVerb): number {
  return verb === 'PASV' ? 227 : verb === 'EPSV' ? 229 : 228;
}

/** The reply line the proxy sends the client for its own passive listener. Null when the verb cannot carry that address. */
export function formatClientPassiveReply(verb: PassiveVerb, announce: HostPort): string | null {
  if (verb === 'EPSV') return `229 ${formatEpsvReply(announce.port)}\r\n`;
  if (verb === 'PASV') {
    if (isIPv6(announce.ip)) return null;
    return `227 ${formatPasvReply(announce)}\r\n`;
  }
  return `228 ${formatLpsvReply(announce)}\r\n`;
}

/**
 * The passive command to send the server for a client's setup. Mirrors the client's verb
 * where the upstream family allows it; an IPv6 upstream needs EPSV.
 */
export function serverPassiveVerb(clientVerb: SetupVerb, upstreamIp: string): PassiveVerb {
  if (isIPv6(normalizeIp(upstreamIp))) return clientVerb === 'LPSV' || clientVerb === 'LPRT' ? 'LPSV' : 'EPSV';
  if (clientVerb === 'EPSV' || clientVerb === 'EPRT') return 'EPSV';
  if (clientVerb === 'LPSV' || clientVerb === 'LPRT') return 'LPSV';
  return 'PASV';
}

/** The active command line to send the server, announcing the proxy's own listener. */
export function formatServerActiveCommand(clientVerb: SetupVerb, listener: HostPort): string {
  const v6 = isIPv6(listener.ip);
  if (clientVerb === 'LPRT' || clientVerb === 'LPSV') return `LPRT ${formatLprtArg(listener)}\r\n`;
  if (v6 || clientVerb === 'EPRT' || clientVerb === 'EPSV') return `EPRT ${formatEprtArg(listener)}\r\n`;
  return `PORT ${formatPortArg(listener)}\r\n`;
}

/** Which way the server-facing side goes for a client setup under a data mode. */
export function serverSideIsPassive(clientVerb: SetupVerb, mode: DataMode): boolean {
  if (mode === 'passive') return true;
  if (mode === 'active') return false;
  return PASSIVE_VERBS.has(clientVerb);
}

/** The 200 the client gets for a PORT/EPRT/LPRT the proxy accepted. */
export function activeOkReply(verb: ActiveVerb): string {
  return `200 ${verb} command successful.\r\n`;
}

export interface ForwardUser {
  user: string;
  host: string;
  port: number;
}

/**
 * `USER name@host[:port]` for forward mode: split at the last `@` (user names may contain @),
 * hosts may be `[v6]` or `[v6]:port`; a bare IPv6 address (more than one colon) takes no port.
 */
export function parseForwardUser(arg: string | null, defaultPort = 21): ForwardUser | null {
  if (arg === null) return null;
  const at = arg.lastIndexOf('@');
  if (at <= 0 || at === arg.length - 1) return null;
  const user = arg.slice(0, at);
  const dest = arg.slice(at + 1).trim();
  let host: string;
  let portText: string | null = null;
  if (dest.startsWith('[')) {
    const close = dest.indexOf(']');
    if (close < 0) return null;
    host = dest.slice(1, close);
    const rest = dest.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return null;
      portText = rest.slice(1);
    }
    if (!isIPv6(host)) return null;
  } else {
    const colons = dest.split(':').length - 1;
    if (colons === 1) {
      const c = dest.indexOf(':');
      host = dest.slice(0, c);
      portText = dest.slice(c + 1);
    } else {
      host = dest;
    }
  }
  if (host === '' || /[\s/\\]/.test(host)) return null;
  let port = defaultPort;
  if (portText !== null) {
    if (!/^\d{1,5}$/.test(portText)) return null;
    port = Number(portText);
    if (port < 1 || port > 65535) return null;
  }
  return { user, host: host.toLowerCase(), port };
}

/** `host:port`, `[v6]:port`, for messages and options. */
export function formatHostPort(hp: HostPort): string {
  return isIPv6(hp.ip) ? `[${hp.ip}]:${hp.port}` : `${hp.ip}:${hp.port}`;
}

/** Parse `HOST:PORT` / `[v6]:PORT` / `PORT` (host then defaults). */
export function parseHostPortOption(text: string, defaultHost: string): HostPort | null {
  const t = text.trim();
  let host = defaultHost;
  let portText = t;
  if (t.startsWith('[')) {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(t);
    if (!m) return null;
    host = m[1];
    portText = m[2];
  } else if (t.includes(':')) {
    const c = t.lastIndexOf(':');
    host = t.slice(0, c);
    portText = t.slice(c + 1);
    if (host.includes(':')) return null;
  }
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port > 65535) return null;
  return { ip: host, port };
}

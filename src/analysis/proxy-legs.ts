/**
 * How a proxy recording (`ftpscope proxy --record`) ties each server-facing leg to its session.
 * The proxy writes every leg: the client-facing ones, which the analysis reads as the session,
 * and the server-facing ones it opened itself. The SYN of each server-facing leg carries a
 * pcapng packet comment naming the client-facing control connection it serves; reading the
 * file, the analysis attaches the leg to that session (the control leg's server becomes the
 * session's originalServer) instead of reporting a second session, or unpaired data, from it.
 *
 * The comment is plain text, so tshark shows it (`frame.comment`) and a person reads it.
 */
import { canonicalIp } from '../ftp/endpoints.js';
import type { Endpoint } from '../model/types.js';

export type ProxyLegKind = 'control' | 'data';

export interface ProxyLeg {
  kind: ProxyLegKind;
  /** The client-facing control connection of the session: the FTP client's end and the proxy's. */
  client: Endpoint;
  server: Endpoint;
  /** Control legs in forward mode: the host name the user typed for the server. */
  name?: string;
  /** The server opened this leg (an active-mode data connection); otherwise the proxy did. */
  serverDialled?: boolean;
}

const PREFIX = 'ftpscope proxy: server-facing ';

function ep(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** The comment on a server-facing leg's SYN. */
export function proxyLegComment(leg: ProxyLeg): string {
  const name = leg.name !== undefined && NAME.test(leg.name) ? ` (name ${leg.name})` : '';
  const dialled = leg.serverDialled === true ? ` ${SERVER_DIALLED}` : '';
  return `${PREFIX}${leg.kind} leg of the session ${ep(leg.client)} -> ${ep(leg.server)}${name}${dialled}`;
}

/**
 * The second line of a server-facing data leg's SYN comment when its data segments are cut to
 * their headers (src/proxy/recorder.ts): the relay copies data unchanged, so the leg's payload is
 * the client-facing leg's; a reader must not count the cut bytes as lost.
 */
export const PAYLOAD_ON_CLIENT_LEG = 'ftpscope proxy: this leg\'s data segments are cut to their headers: the proxy relays data unchanged, so their payload is the client-facing data leg\'s, byte for byte';

/** What a host name may be to be written and read back (forward mode's names are host names). */
const NAME = /^[A-Za-z0-9._-]{1,253}$/;

const ENDPOINT = String.raw`(\[[0-9A-Fa-f:.]+\]|[0-9.]+):(\d{1,5})`;
/** Said of a leg the server opened (active mode: the FTP server, not the proxy, is its TCP initiator). */
const SERVER_DIALLED = '(dialled by the server)';
const LEG_RE = new RegExp(String.raw`^ftpscope proxy: server-facing (control|data) leg of the session ${ENDPOINT} -> ${ENDPOINT}(?: \(name ([A-Za-z0-9._-]{1,253})\))?( \(dialled by the server\))?$`);

/** The leg a packet comment names, or null when the comment is anything else. */
export function parseProxyLegComment(text: string): ProxyLeg | null {
  if (!text.startsWith(PREFIX)) return null;
  const m = LEG_RE.exec(text);
  if (!m) return null;
  const endpoint = (host: string, port: string): Endpoint | null => {
    const ip = canonicalIp(host.replace(/^\[|\]$/g, ''));
    const p = Number(port);
    return ip && p >= 1 && p <= 65535 ? { ip, port: p } : null;
  };
  const client = endpoint(m[2]!, m[3]!);
  const server = endpoint(m[4]!, m[5]!);
  if (!client || !server) return null;
  return { kind: m[1] as ProxyLegKind, client, server, ...(m[6] !== undefined ? { name: m[6] } : {}), ...(m[7] !== undefined ? { serverDialled: true } : {}) };
}

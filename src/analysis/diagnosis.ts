/**
 * Diagnosis: from the facts of a finished session (commands and replies, data connections and their
 * TCP facts, findings), name the cause of a failure, the evidence in the capture (frames, addresses,
 * counts) and the fix for the server that greeted (vsftpd / ProFTPD / pure-ftpd) and for the common
 * clients. Each diagnosis is a finding with a code of the 'diagnosis' group (src/model/finding-codes.ts);
 * docs/diagnosis.md explains each one with a real recorded failure (captures/scenarios/).
 *
 * It only reads the model, so it decides nothing the rest of the analysis has not already recorded,
 * and every view shows the same diagnosis. The analyzer calls `session()` once per session, when it is
 * final (control closed, every data connection settled); what one session teaches about the next
 * (an interrupted download that a later session resumes) is kept here, bounded.
 */
import type { DataConnection, FtpCommand, FtpReply, Session } from '../model/types.js';
import type { TcpFacts } from '../model/tcp-facts.js';
import { finding, foldedOccurrences, type Finding } from '../model/findings.js';
import { FINDING_CODES, type FindingCode } from '../model/finding-codes.js';
import {
  canonicalIp, parseEprtArg, parseIpv4, parseIpv6, parseLprtArg, parseLpsvReply, parsePasvReply, parsePortArg,
  type HostPort,
} from '../ftp/endpoints.js';
import { CommandFacts, finalReplyOf as finalReply, TRANSFER_FILE_VERBS, UPLOAD_VERBS } from './command-facts.js';

/** Interrupted downloads remembered for a later resume (client, server, path); the oldest are forgotten. */
const MAX_PARTIALS = 4096;
/** Refused transfers a session's transfer-refused diagnosis names one by one (it counts them all). */
const MAX_REFUSALS_NAMED = 10;
/** Passive ports remembered per server address, and servers remembered (the oldest are forgotten). */
const MAX_PORTS_PER_SERVER = 256;
const MAX_SERVERS = 1024;
/**
 * A data connection is lossy from this share of retransmitted packets on, with at least MIN_RETRANSMISSIONS.
 * A healthy LAN transfer retransmits nothing; but the TCP layer also counts the segments a sender re-sends
 * into a receiver's closed window (the slow reader of scenario 13 shows 4 in 175 packets), so the bar stays
 * above that until the TCP layer tells window probes from loss (issue 15).
 */
const LOSSY_SHARE = 0.02;
const MIN_RETRANSMISSIONS = 5;
/** A data connection that carried nothing for this long after its handshake has stalled. */
const STALL_SEC = 2;

export type ServerKind = 'vsftpd' | 'proftpd' | 'pure-ftpd' | null;

/** True for a code the diagnosis raises (views show these first). */
export function isDiagnosis(code: string): boolean {
  return (FINDING_CODES as Record<string, { group: string }>)[code]?.group === 'diagnosis';
}

/** The server software, from its greeting (the fix names that server's option first). */
export function serverKind(s: Session): ServerKind {
  const g = s.greeting?.text ?? '';
  if (/vsftpd/i.test(g)) return 'vsftpd';
  if (/proftpd/i.test(g)) return 'proftpd';
  if (/pure-?ftpd/i.test(g)) return 'pure-ftpd';
  return null;
}

/** RFC 1918, shared (RFC 6598), link-local and unique-local addresses: not reachable from the internet. */
export function isPrivateIp(ip: string): boolean {
  // A dotted quad read in place (most addresses); else an IPv4-mapped IPv6 address as its IPv4 address.
  const quad = quadPrefix(ip);
  const v4 = quad ?? parseIpv4(canonicalIp(ip) ?? ip);
  if (v4) {
    const [a, b] = v4 as [number, number];
    return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254);
  }
  const v6 = parseIpv6(ip);
  if (v6) return (v6[0]! & 0xfe) === 0xfc || (v6[0] === 0xfe && (v6[1]! & 0xc0) === 0x80);
  return false;
}

/**
 * The first two octets of a dotted quad (four decimal parts of 1-3 digits, each at most 255, as
 * parseIpv4 accepts them), read without splitting the text; null for anything else.
 */
function quadPrefix(ip: string): [number, number] | null {
  let part = 0;
  let digits = 0;
  let value = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 0x2e; // the end closes the last part
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || part === 4) return null;
      if (part === 0) a = value;
      else if (part === 1) b = value;
      part++;
      digits = 0;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      value = value * 10 + (c - 0x30);
      digits++;
    } else return null;
  }
  return part === 4 ? [a, b] : null;
}

/** Per-server option names, the greeting's server first. */
function perServer(kind: ServerKind, opts: { vsftpd: string; proftpd: string; pureftpd: string }): string {
  const all: [ServerKind, string][] = [['vsftpd', `vsftpd ${opts.vsftpd}`], ['proftpd', `ProFTPD ${opts.proftpd}`], ['pure-ftpd', `pure-ftpd ${opts.pureftpd}`]];
  const first = all.filter(([k]) => k === kind);
  const rest = all.filter(([k]) => k !== kind);
  return [...first, ...rest].map(([, t]) => t).join(' / ');
}

/** A data connection whose SYN was never answered by a SYN-ACK (it may have been refused with RST). */
interface Unanswered {
  dc: DataConnection;
  synFrame: number | null;
  /** SYNs sent (the first and its retransmissions). */
  syns: number;
  /** The other side answered with RST: nothing listened there. */
  refused: boolean;
  seconds: number;
}

function unanswered(dc: DataConnection): Unanswered | null {
  const t = dc.tcp;
  if (!t || t.handshake.synFrame === null || t.handshake.synAckFrame !== null) return null;
  if (t.bytes[0] > 0 || t.bytes[1] > 0) return null;
  return { dc, synFrame: t.handshake.synFrame, syns: t.retransmissions + 1, refused: t.rstFrame !== null && t.rstBy === 1, seconds: t.end - t.start };
}

function handshakeDone(dc: DataConnection): boolean {
  return dc.tcp !== null && dc.tcp.handshake.synAckFrame !== null;
}

function frameRef(frame: number | null): string {
  return frame === null ? '' : ` (frame ${frame})`;
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

function ep(h: { ip: string; port: number }): string {
  return h.ip.includes(':') ? `[${h.ip}]:${h.port}` : `${h.ip}:${h.port}`;
}

function synWords(u: Unanswered): string {
  const sent = u.syns === 1 ? 'was sent once' : `was sent ${u.syns} times over ${u.seconds.toFixed(1)} s`;
  return u.refused ? `${sent} and refused with RST` : `${sent} and never answered`;
}

/** The commands of a session that announced a data endpoint (PORT-family argument, or a PASV-family reply). */
export function announcedBy(c: FtpCommand): HostPort | null {
  const v = c.verb.toUpperCase();
  if (v === 'PORT' && c.arg) return parsePortArg(c.arg);
  if (v === 'EPRT' && c.arg) return parseEprtArg(c.arg);
  if (v === 'LPRT' && c.arg) return parseLprtArg(c.arg);
  const r = c.replies.find((x) => x.code >= 200);
  if (!r) return null;
  if (v === 'PASV' && r.code === 227) return parsePasvReply(r.text);
  if (v === 'LPSV' && r.code === 228) return parseLpsvReply(r.text);
  return null;
}


/**
 * What a final data connection handed on before its session ended (report --json streams them)
 * is to the session's diagnosis: `needed` by one of its rules (it never opened or carried nothing,
 * failed or is incomplete, resumed, lossy, a binary file in ASCII mode, TLS without resumption, or
 * its session had an idle-timeout 421 by then), `passive-opened` (a clean passive PASV/LPSV
 * transfer: the diagnosis needs one, to tell EPSV-only blocking), or `clean`, which no rule reads
 * (they skip such connections). Each rule that reads the session's data connections must keep this
 * in step: the streamed report must say what the whole-session analysis says (see
 * test/cli/report-streaming.test.ts).
 */
export function keptForDiagnosis(s: Session, dc: DataConnection): 'needed' | 'passive-opened' | 'clean' {
  const t = dc.tcp;
  const r = dc.finalReply;
  const clean = t !== null && handshakeDone(dc) && dc.bytes > 0 && dc.complete && dc.outcome === 'ok' &&
    r !== null && r.code >= 200 && r.code < 300 && !dc.restOffset && dc.tlsResumption !== false &&
    !(dc.transferType === 'A' && dc.looksBinary === true) && lossyPath(dc) === null &&
    !s.unsolicitedReplies.some((x) => x.code === 421);
  if (!clean) return 'needed';
  return dc.mode === 'passive' && (dc.setup === 'PASV' || dc.setup === 'LPSV') ? 'passive-opened' : 'clean';
}

export class Diagnoser {
  /** "client server path" → what an interrupted download of that path delivered. */
  private readonly partials = new Map<string, { bytes: number; frame: number | null; session: number }>();
  /** Server address → passive ports it gave out, and from when until when each was held (its session's end). */
  private readonly passivePorts = new Map<string, PortHold[]>();

  /**
   * The diagnosis findings of a final session (to be added to it). `facts`: what its commands
   * told as they completed, when the session did not keep them (by default read from s.commands).
   */
  session(s: Session, facts: CommandFacts = CommandFacts.of(s), streamed?: readonly DataConnection[]): Finding[] {
    const out: Finding[] = [];
    // The data connections handed on before the session ended that a rule can use come first (id order).
    const dcs: readonly DataConnection[] = streamed !== undefined && streamed.length > 0 ? [...streamed, ...s.dataConnections] : s.dataConnections;
    const kind = serverKind(s);
    const addFinding = (severity: Finding['severity'], code: FindingCode, message: string, frame: number | null): Finding => {
      const f = finding(severity, code, message, frame);
      out.push(f);
      return f;
    };
    this.dataPaths(s, dcs, kind, addFinding);
    this.tlsReuse(s, dcs, kind, addFinding);
    this.activeSetups(s, dcs, facts, kind, addFinding);
    this.transfers(s, dcs, facts, kind, addFinding);
    this.control(s, dcs, facts, kind, addFinding);
    this.login(facts, kind, addFinding);
    this.releasePassivePorts(s);
    return out;
  }

  /**
   * A passive port the server gave out (the analyzer calls this as the PASV/EPSV reply is seen, so a
   * session diagnosed early still knows what the others held): held from `ts` until its session ends.
   */
  passivePort(serverIp: string, port: number, ts: number, session: number, frame: number | null): void {
    let list = this.passivePorts.get(serverIp);
    if (!list) {
      if (this.passivePorts.size >= MAX_SERVERS) this.passivePorts.delete(this.passivePorts.keys().next().value!);
      this.passivePorts.set(serverIp, (list = []));
    }
    if (list.length >= MAX_PORTS_PER_SERVER) list.shift();
    list.push({ port, from: ts, until: Infinity, session, frame });
  }

  /** The session's passive ports are free again from its end on. */
  private releasePassivePorts(s: Session): void {
    for (const h of this.passivePorts.get(s.server.ip) ?? []) if (h.session === s.id) h.until = s.end;
  }

  /**
   * A blocked passive port outside the range the server's other sessions were given, at a moment when
   * every port of that range was held by them: the server ran out of passive ports and fell back to
   * an ephemeral one (ProFTPD does), which the firewall does not forward.
   */
  private exhausted(s: Session, u: Unanswered): { min: number; max: number; holders: PortHold[] } | null {
    const others = (this.passivePorts.get(s.server.ip) ?? []).filter((h) => h.session !== s.id);
    if (others.length < 2) return null;
    const ports = others.map((h) => h.port);
    const min = Math.min(...ports);
    const max = Math.max(...ports);
    const p = u.dc.server.port;
    if (p >= min && p <= max || max - min > 1024) return null;
    const at = u.dc.start;
    const holders = others.filter((h) => h.from <= at && h.until >= at);
    const held = new Set(holders.map((h) => h.port));
    for (let q = min; q <= max; q++) if (!held.has(q)) return null;
    return { min, max, holders };
  }

  // ---- data connections that never opened ----------------------------------------------

  private dataPaths(s: Session, dcs: readonly DataConnection[], kind: ServerKind, addFinding: Add): void {
    // An unanswered SYN is evidence only if the capture gave the answer time to come: a retransmission,
    // a second or more of the session after it, or a failure reply. A capture that simply ends right after
    // a SYN (a cut-down capture) proves nothing.
    const failed = dcs.map(unanswered).filter((u): u is Unanswered => u !== null && (
      u.syns >= 2 || s.end - (u.dc.tcp!.handshake.synTs ?? s.end) >= 1 || (u.dc.finalReply?.code ?? 0) >= 400));
    if (failed.length === 0) return;
    const passive = failed.filter((u) => u.dc.mode === 'passive');
    const active = failed.filter((u) => u.dc.mode === 'active');
    const ok = dcs.filter(handshakeDone);

    // Passive connections of a TLS session whose setup was encrypted: the firewall's helper could not read it.
    const tlsBlind = passive.filter((u) => u.dc.setup === null && s.tls);
    if (tlsBlind.length > 0) {
      const u = tlsBlind[0]!;
      addFinding('error', 'tls-data-blocked',
        `the data connection of this TLS session never opened — the control connection is encrypted after AUTH TLS, ` +
        `so a firewall that opens data ports by reading PASV replies (an FTP helper/ALG) cannot see them: ` +
        `${tlsBlind.length} data connection${tlsBlind.length === 1 ? '' : 's'} to ${s.server.ip}; the first SYN to ${ep(u.dc.server)}${frameRef(u.synFrame)} ${synWords(u)}. ` +
        `Fix: open the passive range statically in the firewall instead of relying on the helper (${perServer(kind, { vsftpd: 'pasv_min_port/pasv_max_port', proftpd: 'PassivePorts', pureftpd: '-p MIN:MAX' })}).`,
        u.synFrame);
    }

    const plain = passive.filter((u) => !tlsBlind.includes(u));
    const privateOnes = plain.filter((u) => isPrivateIp(u.dc.server.ip) && u.dc.server.ip !== s.server.ip);
    if (privateOnes.length > 0) {
      const u = privateOnes[0]!;
      const pub = s.server.ip;
      addFinding('error', 'pasv-private-address',
        `data connections never opened — the server announced ${ep(u.dc.server)}, a private address, in its ${u.dc.setup ?? 'passive'} reply${frameRef(u.dc.setupFrame)} ` +
        `while the client reached it at ${pub}; the client's SYN to ${u.dc.server.ip}${frameRef(u.synFrame)} ${synWords(u)}` +
        `${privateOnes.length > 1 ? ` (${privateOnes.length} data connections like it)` : ''}. ` +
        `Fix: make the server announce its public address: ${perServer(kind, { vsftpd: `pasv_address=${pub}`, proftpd: `MasqueradeAddress ${pub}`, pureftpd: `-P ${pub} (ForcePassiveIP)` })}; ` +
        `clients can ignore the announced address (curl --ftp-skip-pasv-ip, the default since 7.74; lftp set ftp:ignore-pasv-address yes).`,
        u.dc.setupFrame ?? u.synFrame);
    }

    let rest = plain.filter((u) => !privateOnes.includes(u));
    // Exhaustion first: a port outside the range the others held explains an EPSV failure too.
    const exhausted = rest.map((u) => ({ u, e: this.exhausted(s, u) })).filter((x) => x.e !== null);
    if (exhausted.length > 0) {
      const { u, e } = exhausted[0]!;
      const holders = e!.holders.map((h) => `${h.port} by session ${h.session}${frameRef(h.frame)}`).join(', ');
      addFinding('error', 'pasv-ports-exhausted',
        `the passive port range ran out — the server's other sessions were given ports ${e!.min}-${e!.max}, and every one was held at this moment (${holders}); ` +
        `this session got port${exhausted.length === 1 ? '' : 's'} ${exhausted.map((x) => x.u.dc.server.port).join(', ')} outside that range (after ${u.dc.setup ?? 'PASV'}${frameRef(u.dc.setupFrame)}), ` +
        `and its SYN${frameRef(u.synFrame)} ${synWords(u)}: the server fell back to an ephemeral port that the firewall does not forward. ` +
        `Fix: widen the passive range with its firewall rule, at least a few ports per concurrent session (${perServer(kind, { vsftpd: 'pasv_min_port/pasv_max_port', proftpd: 'PassivePorts', pureftpd: '-p MIN:MAX (it also caps clients at half the range)' })}), or limit concurrent sessions.`,
        u.synFrame);
      rest = rest.filter((r) => !exhausted.some((x) => x.u === r));
    }
    const epsv = rest.filter((u) => u.dc.setup === 'EPSV');
    const pasvWorked = ok.find((dc) => dc.mode === 'passive' && (dc.setup === 'PASV' || dc.setup === 'LPSV'));
    if (epsv.length > 0 && pasvWorked) {
      const u = epsv[0]!;
      addFinding('error', 'epsv-data-blocked',
        `EPSV data connections are blocked, PASV ones are not — the client's SYN to ${ep(u.dc.server)} after EPSV${frameRef(u.dc.setupFrame)} ${synWords(u)}` +
        `${epsv.length > 1 ? ` (${epsv.length} EPSV attempts)` : ''}, while the data connection to ${ep(pasvWorked.server)} after PASV${frameRef(pasvWorked.setupFrame)} opened` +
        `${pasvWorked.server.ip !== s.server.ip ? ` (PASV names ${pasvWorked.server.ip}, not the control address ${s.server.ip}: the firewall opens the passive ports only there)` : ''}. ` +
        `Fix: turn EPSV off in the client (curl --disable-epsv, lftp set ftp:prefer-epsv no), or forward the passive range on the control address ${s.server.ip} too (or update the ALG so it handles EPSV).`,
        u.synFrame);
    }
    const blocked = rest.filter((u) => !(epsv.includes(u) && pasvWorked));
    if (blocked.length > 0) {
      const u = blocked[0]!;
      const ports = [...new Set(blocked.map((x) => x.dc.server.port))].sort((a, b) => a - b);
      addFinding('error', 'passive-data-blocked',
        `passive data connections never opened while the control connection works — ${blocked.length} connection${blocked.length === 1 ? '' : 's'} to ${u.dc.server.ip} port${ports.length === 1 ? '' : 's'} ${ports.join(', ')}; ` +
        `the first SYN${frameRef(u.synFrame)} ${synWords(u)}: a firewall or NAT in front of the server ${u.refused ? 'rejects' : 'drops'} the passive port range. ` +
        `Fix: set the passive range (${perServer(kind, { vsftpd: 'pasv_min_port/pasv_max_port', proftpd: 'PassivePorts', pureftpd: '-p MIN:MAX' })}) and open/forward exactly that range on the firewall; ` +
        `or use active mode if the client accepts connections (curl -P -, lftp set ftp:passive-mode no).`,
        u.synFrame);
    }

    if (active.length > 0) {
      const u = active[0]!;
      const target = u.dc.server;
      if (isPrivateIp(target.ip) && target.ip !== s.client.ip) {
        addFinding('error', 'port-private-address',
          `active-mode data connections never opened — the client announced ${ep(target)}, a private address, while its control connection comes from ${s.client.ip}; ` +
          `the server's SYN${frameRef(u.synFrame)} ${synWords(u)}. Fix: use passive mode, or let the client's NAT rewrite PORT (nft ct helper "ftp"), or give the client its public address (curl -P ${s.client.ip}, lftp set ftp:port-ipv4 ${s.client.ip}).`,
          u.synFrame);
      } else if (s.tls && u.dc.setup === null) {
        addFinding('error', 'tls-data-blocked',
          `the active-mode data connection of this TLS session never opened — the server's SYN to ${ep(target)}${frameRef(u.synFrame)} ${synWords(u)}; ` +
          `the PORT command is encrypted, so a firewall helper cannot open the port for it. Fix: use passive mode with a static passive range open in the firewall (${perServer(kind, { vsftpd: 'pasv_min_port/pasv_max_port', proftpd: 'PassivePorts', pureftpd: '-p MIN:MAX' })}).`,
          u.synFrame);
      } else {
        const reply = u.dc.finalReply;
        addFinding('error', 'active-data-blocked',
          `active-mode data connections never opened — the server's SYN from ${ep(u.dc.client)} to the client's ${u.dc.setup ?? 'PORT'} address ${ep(target)}${frameRef(u.synFrame)} ${synWords(u)}` +
          `${reply ? `, then the server replied ${reply.code} ${firstLine(reply.text)}${frameRef(reply.frame)}` : ''}: the client's firewall or NAT ${u.refused ? 'rejects' : 'drops'} incoming connections. ` +
          `Fix: use passive mode (curl without -P/--ftp-port, lftp set ftp:passive-mode yes, basic-ftp's default) or allow the server's connections to ${s.client.ip} in the client's firewall; no server option changes this.`,
          u.synFrame);
      }
    }
  }

  // ---- TLS data connections without session resumption ------------------------------------

  /**
   * The FTP client opened a TLS data connection without offering to resume a TLS session, on a server
   * that refuses exactly that by default: vsftpd (require_ssl_reuse=YES) and ProFTPD's mod_tls (unless
   * TLSOptions NoSessionReuseRequired). The replies are encrypted, so the greeting decides.
   */
  private tlsReuse(s: Session, dcs: readonly DataConnection[], kind: ServerKind, addFinding: Add): void {
    if (!s.tls || (kind !== 'vsftpd' && kind !== 'proftpd')) return;
    for (const dc of dcs) {
      const t = dc.tcp;
      if (dc.tlsResumption !== false || !t) continue;
      const clientDir = dc.opener === 'server' ? 1 : 0;
      const serverDir = clientDir === 0 ? 1 : 0;
      // A real file would make the server's side large; a refused connection carries only the handshake.
      if (t.bytes[serverDir] > 16384) continue;
      const hello = t.firstPayload[clientDir]?.frame ?? null;
      addFinding('error', 'tls-session-reuse-required',
        `the TLS data connection ${dc.id} (${ep(dc.client)} -> ${ep(dc.server)}) does not resume the control connection's TLS session — ` +
        `its ClientHello${frameRef(hello)} offers no pre_shared_key or session ticket — and ${kind === 'vsftpd' ? 'vsftpd' : 'ProFTPD'} refuses such data connections by default (522/425, "session reuse required"); ` +
        `only ${t.bytes[serverDir]} bytes came from the server on it. ` +
        `Fix: use a client that resumes the session (curl, lftp, FileZilla, basic-ftp do; Python's ftplib does not), or stop requiring it: ` +
        `${perServer(kind, { vsftpd: 'require_ssl_reuse=NO', proftpd: 'TLSOptions NoSessionReuseRequired', pureftpd: 'does not require it' })}.`,
        hello);
      return;
    }
  }

  // ---- PORT/EPRT setups: NAT'd clients and bounce attempts ------------------------------

  private activeSetups(s: Session, dcs: readonly DataConnection[], facts: CommandFacts, kind: ServerKind, addFinding: Add): void {
    let privateReported = dcs.some((dc) => dc.mode === 'active' && unanswered(dc) && isPrivateIp(dc.server.ip));
    let bounceReported = false;
    let clientPrivate: boolean | null = null;
    // Only the PORT-family commands that can raise a diagnosis (see CommandFacts.portCommands).
    for (const c of facts.portCommands) {
      const v = c.verb.toUpperCase();
      if (v !== 'PORT' && v !== 'EPRT' && v !== 'LPRT') continue;
      const hp = announcedBy(c);
      const r = finalReply(c);
      if (!hp || !r || hp.ip === s.client.ip || hp.ip === '0.0.0.0') continue;
      const refused = r.code >= 400;
      const hpPrivate = isPrivateIp(hp.ip);
      clientPrivate ??= isPrivateIp(s.client.ip);
      if (hpPrivate && !clientPrivate || hpPrivate && refused) {
        if (privateReported || !refused) continue;
        privateReported = true;
        addFinding('error', 'port-private-address',
          `the client is behind NAT and its ${v} names its private address ${ep(hp)}${frameRef(c.frame)} while its control connection comes from ${s.client.ip}; ` +
          `the server refused it: ${r.code} ${firstLine(r.text)}${frameRef(r.frame)}. ` +
          `Fix: use passive mode (curl without -P, lftp set ftp:passive-mode yes, basic-ftp's default), or let the NAT rewrite PORT (nft ct helper "ftp", Linux nf_nat_ftp), ` +
          `or give the client its public address (curl -P ${s.client.ip}, lftp set ftp:port-ipv4 ${s.client.ip}).`,
          c.frame);
        continue;
      }
      // A client inside a NAT may name its public address on purpose (curl -P PUBLIC, lftp ftp:port-ipv4):
      // a bounce is a public client naming another host.
      if (hpPrivate || clientPrivate || bounceReported) continue;
      bounceReported = true;
      const accepted = r.code >= 200 && r.code < 300;
      addFinding(accepted ? 'error' : 'warning', 'port-bounce',
        `FTP bounce attempt — ${v}${frameRef(c.frame)} asks the server to connect to ${ep(hp)}, a third host (the client is ${s.client.ip}); ` +
        (accepted
          ? `the server ACCEPTED it (${r.code} ${firstLine(r.text)}${frameRef(r.frame)}) and will connect there for the next transfer. Fix: refuse foreign PORT addresses (${perServer(kind, { vsftpd: 'port_promiscuous=NO', proftpd: 'AllowForeignAddress off', pureftpd: 'without -w' })}, the defaults) and check the client that sent it.`
          : `the server refused it: ${r.code} ${firstLine(r.text)}${frameRef(r.frame)}. Nothing to fix on the server (${perServer(kind, { vsftpd: 'port_promiscuous=NO', proftpd: 'AllowForeignAddress off', pureftpd: 'without -w' })}); check the client that sent it.`),
        c.frame);
    }
  }

  // ---- transfers ------------------------------------------------------------------------

  private transfers(s: Session, dcs: readonly DataConnection[], facts: CommandFacts, kind: ServerKind, addFinding: Add): void {
    for (const dc of dcs) {
      const key = dc.path !== null ? `${s.client.ip} ${s.server.ip} ${dc.path}` : null;
      // Resume past what an interrupted transfer of the same file delivered: a hole in the client's file.
      if (key && dc.direction === 'download' && dc.restOffset) {
        const p = this.partials.get(key);
        if (p && dc.restOffset > p.bytes) {
          addFinding('error', 'resume-offset-mismatch',
            `the resumed download is corrupt — REST ${dc.restOffset}${frameRef(this.restFrame(facts, dc))} resumes ${dc.path} ${dc.restOffset - p.bytes} bytes past the ${p.bytes} bytes ` +
            `the interrupted transfer delivered (session ${p.session}${frameRef(p.frame)}): those bytes are missing from the client's file` +
            ` (the client's file ends up ${p.bytes + dc.bytes} bytes long instead of ${dc.restOffset + dc.bytes}). ` +
            `Fix: resume from the size of the partial file the client has (curl -C -, lftp get -c, basic-ftp downloadTo with startAt = local size) and check the result against SIZE or a checksum.`,
            this.restFrame(facts, dc));
        }
      }
      if (key && dc.direction === 'download' && !dc.complete && dc.bytes > 0) {
        if (this.partials.size >= MAX_PARTIALS) this.partials.delete(this.partials.keys().next().value!);
        this.partials.set(key, { bytes: (dc.restOffset ?? 0) + dc.bytes, frame: dc.tcp?.lastFrame ?? null, session: s.id });
      }
      // Text in TYPE A is converted on purpose; only a binary file is damaged by it.
      if (dc.transferType === 'A' && dc.looksBinary === true && dc.direction === 'download' && dc.expectedBytes !== null && dc.closeReason === 'fin' &&
          dc.missingBytes === 0 && dc.bytes !== dc.expectedBytes && !dc.restOffset) {
        addFinding('warning', 'ascii-mode-binary',
          `${dc.path ?? 'the file'}, a binary file (its first bytes hold NUL or control bytes), was downloaded in ASCII mode (TYPE A) — ${dc.bytes} bytes arrived but the server gave its size as ${dc.expectedBytes} ` +
          `(${dc.bytes > dc.expectedBytes ? `${dc.bytes - dc.expectedBytes} more` : `${dc.expectedBytes - dc.bytes} fewer`}): line ends were converted, which corrupts a binary file. ` +
          `Fix: transfer it in image mode (TYPE I): curl without --use-ascii/-B, lftp get without -a; ${perServer(kind, { vsftpd: 'converts only with ascii_download_enable=YES', proftpd: 'converts in TYPE A always', pureftpd: 'converts in TYPE A always' })}.`,
          dc.command?.frame ?? null);
      }
      const lossy = lossyPath(dc);
      if (lossy) addFinding('warning', 'lossy-path', lossy, dc.tcp?.firstFrame ?? null);
      const stalled = this.stalled(facts, dc);
      if (stalled) addFinding('error', 'data-stalled', stalled.message, stalled.frame);
    }
    // One diagnosis for the session's refusals, naming each (a code is listed once per session).
    const refused: Refusal[] = [];
    // Each command's data connections, found once (a session may have 100,000 of both).
    const byCommandFrame = new Map<number | null, DataConnection[]>();
    for (const dc of dcs) {
      if (!dc.command) continue;
      const list = byCommandFrame.get(dc.command.frame);
      if (list) list.push(dc);
      else byCommandFrame.set(dc.command.frame, [dc]);
    }
    // Only the transfers whose final reply can name a refusal or a full disk (see CommandFacts.refusedTransfers).
    for (const c of facts.refusedTransfers) {
      const v = c.verb.toUpperCase();
      if (!TRANSFER_FILE_VERBS.has(v)) continue;
      const r = finalReply(c);
      if (!r) continue;
      const dcs = (byCommandFrame.get(c.frame) ?? []).filter((dc) => dc.command!.verb.toUpperCase() === v);
      const moved = dcs.reduce((n, dc) => n + dc.bytes, 0);
      if (UPLOAD_VERBS.has(v) && (r.code === 452 || r.code === 552 || (r.code === 451 && /space|quota|disk|full|exceed/i.test(r.text)))) {
        addFinding('error', 'upload-storage-full',
          `the upload of ${c.arg ?? 'the file'} failed for lack of space — ${moved} bytes arrived, then the server replied ${r.code} ${firstLine(r.text)}${frameRef(r.frame)}. ` +
          `Fix: free space on the server or raise the quota (${perServer(kind, { vsftpd: 'relies on the file system quota', proftpd: 'mod_quotatab QuotaLimitTable', pureftpd: '--quota / -y' })}), then upload again.`,
          r.frame);
      } else if ((r.code === 550 || r.code === 553 || r.code === 532 || r.code === 450) && moved === 0) {
        refused.push({ command: c, reply: r, upload: UPLOAD_VERBS.has(v) });
      }
    }
    if (refused.length > 0) {
      const f = addFinding('warning', 'transfer-refused', refusalMessage(refused, kind), refused[0]!.reply.frame);
      if (refused.length > 1) foldedOccurrences(f, refused.map((x) => x.reply.frame));
    }
  }

  /** The REST before the transfer command of `dc` (commands' frames only grow: the last REST at or before its frame). */
  private restFrame(facts: CommandFacts, dc: DataConnection): number | null {
    const cmdFrame = dc.command?.frame ?? null;
    return facts.restBefore(cmdFrame) ?? cmdFrame;
  }

  private stalled(facts: CommandFacts, dc: DataConnection): { message: string; frame: number | null } | null {
    const t = dc.tcp;
    if (!t || t.handshake.synAckFrame === null || t.handshake.ackFrame === null) return null;
    if (dc.bytes > 0 || dc.expectedBytes === 0 || dc.direction === null) return null;
    // The first command of the transfer command's frame.
    const opening = dc.command ? facts.frameHead(dc.command.frame)?.opening : undefined;
    if (!opening) return null;
    const ackTs = t.handshake.ackTs ?? t.start;
    const idle = t.end - ackTs;
    if (idle < STALL_SEC) return null;
    const final = dc.finalReply;
    if (final && final.code >= 200 && final.code < 300) return null;
    const mss = t.handshake.options.map((o) => o?.mss ?? '-').join('/');
    const how = t.closeReason === 'rst' ? `the ${t.rstBy === 0 ? 'connecting side' : 'other side'} reset it${frameRef(t.rstFrame)}`
      : t.closeReason === 'fin' ? 'it was closed' : 'the capture ended';
    return {
      message: `the data connection stalled after its handshake — ${dc.command?.verb ?? 'the transfer'} ${dc.path ?? ''}: the handshake completed${frameRef(t.handshake.ackFrame)}, ` +
        `the server said ${opening.code} ${firstLine(opening.text)}${frameRef(opening.frame)}, then no data byte arrived in ${idle.toFixed(1)} s until ${how}, while the control connection's small replies got through; ` +
        `both sides announced MSS ${mss}: full-size segments are being dropped on the path (a path-MTU black hole: a link with a smaller MTU whose ICMP "fragmentation needed" is filtered). ` +
        `Fix: let ICMP type 3 code 4 (ICMPv6 packet too big) through the firewalls, or clamp the MSS on the router (nft: tcp flags syn tcp option maxseg size set rt mtu); on the server, net.ipv4.tcp_mtu_probing=1 helps.`,
      frame: t.handshake.ackFrame,
    };
  }

  // ---- the control connection -------------------------------------------------------------

  private control(s: Session, dcs: readonly DataConnection[], facts: CommandFacts, kind: ServerKind, addFinding: Add): void {
    for (const r of s.unsolicitedReplies) {
      if (r.code !== 421) continue;
      const busy = dcs.some((dc) => dc.start <= r.ts && dc.end >= r.ts && dc.bytes > 0);
      if (busy) continue;
      let last: { ts: number; frame: number | null; what: string } | null = null;
      const c = facts.lastCommandBefore(r);
      if (c) {
        const done = c.replies.filter((x) => x.ts <= r.ts).pop();
        last = { ts: done?.ts ?? c.ts, frame: done?.frame ?? c.frame, what: `${c.verb}${done ? ` → ${done.code}` : ''}` };
      }
      const since = last ?? (s.greeting ? { ts: s.greeting.ts ?? s.start, frame: s.greeting.frame, what: 'the greeting' } : null);
      if (!since) continue;
      const idle = r.ts - since.ts;
      if (idle < 1) continue;
      addFinding('warning', 'server-idle-timeout',
        `the server closed the idle session — 421 ${firstLine(r.text)}${frameRef(r.frame)} came ${idle.toFixed(1)} s after the last exchange (${since.what}${frameRef(since.frame)}), with no transfer running: its idle timeout is about ${Math.round(idle)} s. ` +
        `Fix: raise it (${perServer(kind, { vsftpd: 'idle_session_timeout', proftpd: 'TimeoutIdle', pureftpd: '-I MINUTES' })}) or have the client send NOOP while idle (lftp does by default; with basic-ftp call send("NOOP") periodically).`,
        r.frame);
      break;
    }
    this.controlLost(s, dcs, facts, addFinding);
  }

  /**
   * The control connection died in the middle of a transfer: the data connection delivered the whole
   * file and ended normally, the transfer's final reply never came, and when the client finally spoke
   * on the control connection it was retransmitted without an answer, or answered with a RST (the NAT
   * or firewall had forgotten the idle connection).
   */
  private controlLost(s: Session, dcs: readonly DataConnection[], facts: CommandFacts, addFinding: Add): void {
    const t: TcpFacts | null = s.tcp;
    if (!t) return;
    for (const dc of dcs) {
      if (!dc.command || dc.closeReason !== 'fin' || dc.missingBytes > 0 || dc.bytes === 0) continue;
      if (dc.expectedBytes !== null && dc.transferType !== 'A' && dc.bytes !== dc.expectedBytes - (dc.restOffset ?? 0) && dc.bytes !== dc.expectedBytes) continue;
      // The first command of the transfer command's frame.
      const cmd = facts.frameHead(dc.command.frame);
      if (!cmd || cmd.hasFinalReply) continue;
      if (facts.lastAnsweredTs > dc.end || s.unsolicitedReplies.some((r) => r.ts > dc.end)) continue;
      if (t.teardown.some((e) => e.kind === 'fin' && e.dir === 1)) continue;
      const clientEnd = t.teardown.find((e) => e.dir === 0 && (e.kind === 'fin' || e.kind === 'rst'));
      const reset = t.rstBy === 1 ? t.teardown.find((e) => e.kind === 'rst' && e.dir === 1) ?? null : null;
      if (!reset && t.retransmissions === 0) continue;
      const wait = (clientEnd?.ts ?? t.end) - dc.end;
      if (wait < 2) continue;
      const idleFrom = cmd.firstReplyTs ?? cmd.ts;
      addFinding('error', 'control-lost-during-transfer',
        `the control connection was lost during the transfer — ${cmd.verb} ${cmd.arg ?? ''}: the data connection delivered all ${dc.bytes} bytes and closed${frameRef(dc.tcp?.lastFrame ?? null)}, ` +
        `but no final reply (226) came in the ${wait.toFixed(1)} s after it` +
        `${clientEnd ? `; when the client gave up${frameRef(clientEnd.frame)}` : ''}` +
        `${reset ? ` the server's address answered with a RST${frameRef(reset.frame)}: nothing there knew the connection any more` : `, its control-connection segments were retransmitted ${t.retransmissions} time${t.retransmissions === 1 ? '' : 's'} and never answered`}. ` +
        `The control connection had been idle for ${(dc.end - idleFrom).toFixed(1)} s during the transfer: a NAT or firewall dropped it. ` +
        `Fix: raise the NAT/firewall TCP idle timeout above the longest transfer (Linux: net.netfilter.nf_conntrack_tcp_timeout_established), or keep the control connection alive (curl --keepalive-time 30, ProFTPD SocketOptions keepalive on, NOOPs during transfers).`,
        cmd.frame);
      return;
    }
  }

  // ---- login ---------------------------------------------------------------------------

  private login(facts: CommandFacts, kind: ServerKind, addFinding: Add): void {
    const user = facts.anonymousUser;
    if (!user) return;
    const next = facts.afterAnonymousUser;
    const refusal = [...user.replies, ...(next && next.verb.toUpperCase() === 'PASS' ? next.replies : [])].find((r) => r.code === 530);
    if (!refusal) return;
    addFinding('warning', 'anonymous-login-refused',
      `anonymous FTP is disabled on this server — USER ${user.arg}${frameRef(user.frame)} got ${refusal.code} ${firstLine(refusal.text)}${frameRef(refusal.frame)}. ` +
      `Fix: log in with an account; or, if anonymous access is wanted, enable it (${perServer(kind, { vsftpd: 'anonymous_enable=YES', proftpd: 'an <Anonymous> section', pureftpd: 'without -E, with an ftp account' })}).`,
      refusal.frame);
  }
}

interface PortHold {
  port: number;
  from: number;
  until: number;
  session: number;
  frame: number | null;
}

type Add = (severity: Finding['severity'], code: FindingCode, message: string, frame: number | null) => Finding;

/**
 * The lossy-path diagnosis of a data connection, or null. When the TCP layer analysed the
 * connection (captures), retransmissions that reordering caused are not loss: the transfer
 * diagnosis names that as reordering (transfer-loss), and the analyzer leaves its own loss finding
 * out where this one is raised, so a loss is named once.
 */
export function lossyPath(dc: DataConnection): string | null {
  const t = dc.tcp;
  // SYNs that were never answered are a blocked port, not loss (the other diagnoses say so).
  if (!t || t.handshake.synAckFrame === null || dc.bytes === 0) return null;
  if (t.retransmissions < MIN_RETRANSMISSIONS || t.packets === 0) return null;
  const a = dc.tcpAnalysis;
  if (a && a.outOfOrder > a.retransmittedSegments - a.spuriousRetransmissions) return null;
  const share = t.retransmissions / t.packets;
  if (share < LOSSY_SHARE) return null;
  const sec = dc.end - dc.start;
  const rate = sec > 0 ? ` (${formatRate(dc.bytes / sec)})` : '';
  return `packet loss on the path — ${t.retransmissions} of ${t.packets} packets of data connection ${dc.id} (${ep(dc.client)} -> ${ep(dc.server)}) were retransmissions ` +
    `(${(share * 100).toFixed(1)}%), ${dc.bytes} bytes in ${formatSeconds(sec)}${rate}. ` +
    `Fix: not an FTP setting — find the lossy hop (interface errors, duplex mismatch, Wi-Fi, an overloaded shaper), e.g. with captures on both sides or mtr.`;
}

function formatSeconds(sec: number): string {
  return sec < 1 ? `${(sec * 1000).toFixed(1)} ms` : `${sec.toFixed(2)} s`;
}

function formatRate(bytesPerSec: number): string {
  if (bytesPerSec >= 1024 * 1024) return `${(bytesPerSec / (1024 * 1024)).toFixed(2)} MiB/s`;
  if (bytesPerSec >= 1024) return `${(bytesPerSec / 1024).toFixed(1)} KiB/s`;
  return `${bytesPerSec.toFixed(0)} B/s`;
}

interface Refusal {
  command: FtpCommand;
  reply: FtpReply;
  upload: boolean;
}

/** The refused transfer commands of a session, each with its reply, then the fix for each kind refused. */
function refusalMessage(refused: Refusal[], kind: ServerKind): string {
  const named = refused.slice(0, MAX_REFUSALS_NAMED).map(({ command: c, reply: r }) =>
    `${c.verb.toUpperCase()} ${c.arg ?? ''}${frameRef(c.frame)}${refused.length === 1 ? ' before any data moved' : ''}: ${r.code} ${firstLine(r.text)}${frameRef(r.frame)}`);
  if (refused.length > MAX_REFUSALS_NAMED) named.push(`and ${refused.length - MAX_REFUSALS_NAMED} more`);
  const read = `check that the path exists and that the server's user may read it (file mode and ownership; anonymous users read as the ftp account)`;
  const write = `let the user write there: directory ownership and mode on the server, and ${perServer(kind, { vsftpd: 'write_enable=YES (anon_upload_enable=YES for anonymous)', proftpd: '<Limit WRITE> AllowAll in that <Directory>', pureftpd: 'no -i (anonymous uploads)' })}; or upload to a directory that allows it`;
  const downloads = refused.some((x) => !x.upload);
  const uploads = refused.some((x) => x.upload);
  const fix = downloads && uploads ? `for downloads, ${read}; for uploads, ${write}` : downloads ? read : write;
  const what = refused.length === 1 ? named[0] : `${refused.length} transfer commands before any data moved: ${named.join('; ')}`;
  return `the server refused ${what}. Fix: ${fix}.`;
}

/**
 * The proxy's listening socket and its sessions: `startProxy` is what the CLI, the tests, the
 * benchmark and the live dashboard use.
 */
import * as net from 'node:net';
import type { FtpAnalyzer } from '../analysis/analyzer.js';
import { proxyAnalysis } from '../analysis/sources/proxy.js';
import type { Analysis, AnalysisEvent, Session } from '../model/types.js';
import { finding, type Finding } from '../model/findings.js';
import { FtpscopeError } from '../errors.js';
import { ControlSession, type SessionContext } from './control.js';
import { ProxyObserver } from './observer.js';
import { ThreadHasher } from './hash-thread.js';
import { PortAllocator, type PortRange } from './ports.js';
import { Recorder, type PacketWriter } from './recorder.js';
import { RecentPackets } from '../capture/recent.js';
import type { PacketRecord } from '../capture/types.js';
import { TlsTermination } from './tls.js';
import { parseAllowList } from './allow.js';
import { FindingCoalescer } from './coalesce.js';
import { loadOriginalDst } from './original-dst.js';
import { formatHostPort, normalizeIp, type DataMode, type HostPort } from './rewrite.js';
import type { ProxyMode } from './session-machine.js';

export interface ProxyOptions {
  mode: ProxyMode;
  listen: HostPort;
  /** Reverse mode: the FTP server. */
  upstream?: HostPort | null;
  /** Forward mode: host patterns and CIDRs destinations must match, with ports (default: none, deny all). */
  allow?: string[];
  /** Forward mode: addresses a destination allowed by a name rule may resolve to (default: public addresses only). */
  allowResolved?: string[];
  dataMode?: DataMode;
  pasvPorts?: PortRange | null;
  /** The IPv4 address announced in 227 replies (behind NAT). */
  pasvAddress?: string | null;
  maxSessions?: number;
  /** Sessions open at once per client address (an IPv6 client counts by its /64); 0: no limit. */
  maxSessionsPerAddress?: number;
  /** New connections per client address per minute (a token bucket of that size); 0: no limit. */
  connectRatePerMinute?: number;
  /** The client must log in within this many seconds of connecting; 0: no limit. */
  loginTimeoutSec?: number;
  /** Lines that are not FTP commands (or that the server answers 500) before 421; 0: no limit. */
  maxInvalidCommands?: number;
  /** Every TLS handshake (control and data) must finish within this. */
  tlsHandshakeTimeoutSec?: number;
  /** The server must greet within this many seconds of the connection. */
  greetingTimeoutSec?: number;
  /** Connect to passive data ports below 1024 that servers announce. */
  allowLowDataPorts?: boolean;
  maxLineLength?: number;
  idleTimeoutSec?: number;
  acceptTimeoutSec?: number;
  connectTimeoutSec?: number;
  keepAliveSec?: number;
  /** Finished sessions kept for the live view and the exit summary (the latest ones). */
  historySessions?: number;
  /** sha256 of every data connection (default true); false: counted, paired and logged, sha256 null. */
  hash?: boolean;
  /** Period of the summaries of coalesced refusals (default 60 s). */
  findingSummaryIntervalSec?: number;
  tls?: { certFile: string; keyFile: string; verifyUpstream?: boolean } | null;
  /** --record: synthesized packets go here (a PcapngWriter). */
  recordTo?: PacketWriter | null;
  /** --record-server-payload: server-facing data legs are recorded whole (by default cut to their headers: their payload is the client-facing legs'). */
  recordServerPayload?: boolean;
  /** Analysis events (command, reply, data-open/close, finding, session-open/close) as they happen. */
  onEvent?: (ev: AnalysisEvent) => void;
  /** Session packet lists of synthesized packets, the latest kept in memory for readFrame (the dashboard). */
  keepPackets?: boolean;
}

/** What --record has done so far. */
export interface RecordingStats {
  frames: number;
  /** Packets the file left out (--record-overflow drop, or a failing disk). */
  dropped: number;
}

/** Memory for the latest synthesized packets the dashboard can dissect (as capture's live ring). */
const RECENT_PACKET_BYTES = 32 << 20;

export const PROXY_DEFAULTS = {
  maxSessions: 512,
  maxSessionsPerAddress: 16,
  connectRatePerMinute: 120,
  loginTimeoutSec: 30,
  maxInvalidCommands: 20,
  tlsHandshakeTimeoutSec: 10,
  greetingTimeoutSec: 20,
  maxLineLength: 8192,
  idleTimeoutSec: 900,
  acceptTimeoutSec: 60,
  connectTimeoutSec: 30,
  keepAliveSec: 60,
  historySessions: 200,
  findingSummaryIntervalSec: 60,
} as const;

/** Commands kept per session in the proxy's model (a session may live for months); more are counted. */
const MAX_COMMANDS_PER_SESSION = 10_000;
/** Rows of the per-packet fact table kept for the dashboard (about 60 bytes each). */
const MAX_PACKET_ROWS = 256 * 1024;
/** Client addresses whose connection rate is tracked at once; the least recently seen are forgotten. */
const MAX_RATE_ADDRESSES = 65_536;
/** Refused connections waiting for their 421 to be read, at most; beyond, they are closed at once. */
const MAX_REJECTED_OPEN = 256;

/** What the proxy has seen since it started (the history keeps only the latest sessions). */
export interface ProxyTotals {
  sessions: number;
  /** Sessions whose client is still connected. */
  open: number;
  transfers: number;
  dataBytes: number;
  findings: number;
  /** Connections refused before a session started (limits). */
  refused: number;
  /** Finished sessions no longer kept in memory. */
  forgotten: number;
}

export interface RunningProxy {
  readonly analyzer: FtpAnalyzer;
  /** The address actually listened on (port 0 resolved). */
  address(): HostPort;
  readonly activeSessions: number;
  /** The analysis as it stands (live views): open sessions and the latest finished ones. */
  snapshot(): Analysis;
  /** --record's progress, or null without --record. */
  recording(): RecordingStats | null;
  totals(): ProxyTotals;
  /** A synthesized packet of the session packet lists (keepPackets), while it is still kept in memory. */
  readFrame(frame: number): Promise<PacketRecord>;
  /** Stop accepting, close every session, finish the analysis and the recording. */
  close(): Promise<Analysis>;
}

export async function startProxy(opts: ProxyOptions): Promise<RunningProxy> {
  if (opts.mode === 'reverse' && !opts.upstream) {
    throw new FtpscopeError('proxy-config', 'reverse mode needs --upstream HOST:PORT', 'or use --mode forward / --mode transparent');
  }
  let allow = null;
  try {
    allow = parseAllowList(opts.allow ?? [], opts.allowResolved ?? []);
  } catch (e) {
    throw new FtpscopeError('proxy-config', (e as Error).message);
  }
  if (opts.pasvAddress && net.isIPv4(opts.pasvAddress) === false) {
    throw new FtpscopeError('proxy-config', `--pasv-address ${opts.pasvAddress} is not an IPv4 address`, '227 replies carry IPv4 only; EPSV replies carry no address');
  }
  const tls = opts.tls ? new TlsTermination(opts.tls) : null;
  const originalDestination = opts.mode === 'transparent' ? loadOriginalDst() : null;

  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: false });
  const listenPort = await new Promise<number>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new FtpscopeError('proxy-listen',
      `cannot listen on ${formatHostPort(opts.listen)}: ${e.code ?? e.message}`,
      e.code === 'EACCES' ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; use e.g. --listen 127.0.0.1:2121' : 'choose another --listen address or port')));
    server.listen({ host: opts.listen.ip, port: opts.listen.port }, () => resolve((server.address() as net.AddressInfo).port));
  });
  server.on('error', () => { /* after listening: nothing to do, sessions go on */ });

  // Finished sessions are handed over by the analyzer and kept here, the latest `history` of them:
  // memory is bounded by configuration, not by how long the proxy has run.
  const history: Session[] = [];
  const historyMax = Math.max(0, opts.historySessions ?? PROXY_DEFAULTS.historySessions);
  const totals = { sessions: 0, transfers: 0, dataBytes: 0, findings: 0, refused: 0, forgotten: 0 };
  // Long transfers are hashed on a worker thread: hashing costs the relay's thread more than relaying does.
  const hasher = opts.hash !== false ? new ThreadHasher() : null;
  const { analyzer, clock } = proxyAnalysis({
    sourceName: `proxy ${formatHostPort({ ip: opts.listen.ip, port: listenPort })}`,
    ftpPorts: [listenPort],
    keepPackets: opts.keepPackets,
    // As capture --tui: the latest packets of each session (a bulk transfer makes hundreds of thousands).
    maxPacketsPerSession: opts.keepPackets ? 5000 : undefined,
    maxPacketRows: opts.keepPackets ? MAX_PACKET_ROWS : undefined,
    maxCommandsPerSession: MAX_COMMANDS_PER_SESSION,
    onEvent: opts.onEvent,
    // Under --tls-terminate the client-facing leg the analyzer sees is decrypted: AUTH and its 234 go
    // through it, and the session stays decoded after them.
    tlsDecrypted: tls !== null,
    hashData: opts.hash !== false,
    hasher: hasher ?? undefined,
    retireSession: (s) => {
      totals.transfers += s.dataConnections.filter((dc) => dc.direction === 'download' || dc.direction === 'upload').length;
      totals.dataBytes += s.dataConnections.reduce((n, dc) => n + dc.bytes, 0);
      totals.findings += s.findings.length;
      history.push(s);
      while (history.length > historyMax) {
        const old = history.shift()!;
        totals.forgotten++;
        analyzer.forgetSession(old);
      }
    },
  });
  // keepPackets (the dashboard): the client-facing legs' packets are synthesized as for --record and the
  // latest ones kept in memory, so the packet list and the layer views work without a file.
  const recent = opts.keepPackets ? new RecentPackets(RECENT_PACKET_BYTES) : null;
  // Packets the recording leaves out are said as it happens: a finding when it starts (kept, and
  // logged), the running total in the log at most once a second, and the total at the end (kept).
  let dropReported = false;
  const onDrop = (total: number, final: boolean): void => {
    const f = finding('warning', 'proxy-record-dropped', final
      ? `--record left out ${total} packets in all: the disk could not keep up (--record-overflow drop); the recording has gaps, the live analysis does not`
      : `--record is leaving out packets: ${total} so far; the disk cannot keep up (--record-overflow drop)`);
    if (final || !dropReported) analyzer.addGlobalFinding(f);
    else opts.onEvent?.({ type: 'finding', session: null, finding: f });
    dropReported = true;
  };
  const recorder = opts.recordTo || recent ? new Recorder(opts.recordTo ?? null, recent, onDrop) : null;
  const observer = new ProxyObserver(analyzer, clock, recorder, opts.keepPackets === true, opts.recordServerPayload === true);
  const ctx: SessionContext = {
    mode: opts.mode,
    dataMode: opts.dataMode ?? 'client',
    upstream: opts.upstream ?? null,
    originalDestination,
    allow,
    pasvAddress: opts.pasvAddress ?? null,
    ports: new PortAllocator(opts.pasvPorts ?? null),
    tls,
    observer,
    recording: opts.recordTo != null,
    maxLineLength: opts.maxLineLength ?? PROXY_DEFAULTS.maxLineLength,
    idleTimeoutMs: (opts.idleTimeoutSec ?? PROXY_DEFAULTS.idleTimeoutSec) * 1000,
    connectTimeoutMs: (opts.connectTimeoutSec ?? PROXY_DEFAULTS.connectTimeoutSec) * 1000,
    acceptTimeoutMs: (opts.acceptTimeoutSec ?? PROXY_DEFAULTS.acceptTimeoutSec) * 1000,
    keepAliveMs: (opts.keepAliveSec ?? PROXY_DEFAULTS.keepAliveSec) * 1000,
    loginTimeoutMs: (opts.loginTimeoutSec ?? PROXY_DEFAULTS.loginTimeoutSec) * 1000,
    greetingTimeoutMs: (opts.greetingTimeoutSec ?? PROXY_DEFAULTS.greetingTimeoutSec) * 1000,
    tlsHandshakeTimeoutMs: (opts.tlsHandshakeTimeoutSec ?? PROXY_DEFAULTS.tlsHandshakeTimeoutSec) * 1000,
    maxInvalidCommands: opts.maxInvalidCommands ?? PROXY_DEFAULTS.maxInvalidCommands,
    allowLowDataPorts: opts.allowLowDataPorts ?? false,
  };
  const maxSessions = opts.maxSessions ?? PROXY_DEFAULTS.maxSessions;
  const perAddressMax = opts.maxSessionsPerAddress ?? PROXY_DEFAULTS.maxSessionsPerAddress;
  const ratePerMinute = opts.connectRatePerMinute ?? PROXY_DEFAULTS.connectRatePerMinute;
  /** Every session until it is completely closed (shutdown closes them). */
  const sessions = new Set<ControlSession>();
  /** Sessions whose client is still there: the slots --max-sessions counts. */
  let slots = 0;
  const perAddress = new Map<string, number>();
  const rate = new RateLimiter(ratePerMinute, MAX_RATE_ADDRESSES);
  const rejected = new Set<net.Socket>();
  let closing = false;
  let closed: Promise<Analysis> | null = null;

  // Refusals are coalesced per code: a flood of them is one finding, then one summary per period.
  const summarySec = opts.findingSummaryIntervalSec ?? PROXY_DEFAULTS.findingSummaryIntervalSec;
  const refusals = new FindingCoalescer({ intervalSec: summarySec });
  // A top-level finding goes to the analysis, which folds it into the one entry of its code (a
  // count, bounded by the catalogue), and to the log as it comes: a proxy refusing connections for
  // months keeps saying so.
  const summaryTimer = setInterval(() => {
    for (const { finding: f } of refusals.tick()) analyzer.addGlobalFinding(f);
  }, summarySec * 1000);
  summaryTimer.unref();
  if (opts.hash === false) {
    analyzer.addGlobalFinding(finding('info', 'proxy-no-hash',
      'started with --no-hash: data connections are counted, paired and logged; their sha256 is null'));
  }

  const refuse = (sock: net.Socket, refusal: Finding, ip: string, reply: string): void => {
    totals.refused++;
    const f = refusals.offer(refusal.code, refusal, ip);
    if (f) analyzer.addGlobalFinding(f);
    if (rejected.size >= MAX_REJECTED_OPEN) {
      // A flood of refused connections may not hold descriptors either.
      sock.destroy();
      return;
    }
    rejected.add(sock);
    sock.on('close', () => rejected.delete(sock));
    sock.end(reply);
    // allowHalfOpen: the refused client's own FIN may never come.
    setTimeout(() => sock.destroy(), 2000).unref();
  };

  server.on('connection', (sock) => {
    sock.on('error', () => sock.destroy());
    if (closing) { sock.destroy(); return; }
    const ip = normalizeIp(sock.remoteAddress ?? '');
    const key = addressKey(ip);
    // The rate counts every connection, refused or not: a client hammering a full proxy slows itself down.
    if (!rate.take(key)) {
      refuse(sock, finding('warning', 'proxy-rate-limited', `refused a connection from ${ip}: more than ${ratePerMinute} connections per minute from this address (--max-connect-rate)`), ip,
        `421 Too many connections from ${ip} (connection rate over ${ratePerMinute} per minute); try again later.\r\n`);
      return;
    }
    if (slots >= maxSessions) {
      refuse(sock, finding('warning', 'proxy-max-sessions', `refused a session from ${ip}: ${maxSessions} sessions already open (--max-sessions)`), ip,
        `421 Too many sessions (${maxSessions}); try again later.\r\n`);
      return;
    }
    const mine = perAddress.get(key) ?? 0;
    if (perAddressMax > 0 && mine >= perAddressMax) {
      refuse(sock, finding('warning', 'proxy-address-limit', `refused a connection from ${ip}: ${perAddressMax} sessions already open from ${key === ip ? 'this address' : key} (--max-sessions-per-address)`), ip,
        `421 Too many sessions from ${ip} (${perAddressMax}); try again later.\r\n`);
      return;
    }
    slots++;
    perAddress.set(key, mine + 1);
    totals.sessions++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      slots--;
      const n = (perAddress.get(key) ?? 1) - 1;
      if (n <= 0) perAddress.delete(key); else perAddress.set(key, n);
    };
    const s = new ControlSession(sock, ctx);
    sessions.add(s);
    try {
      s.start(() => { sessions.delete(s); release(); }, release);
    } catch (e) {
      // Nothing a session does may take the proxy down.
      sessions.delete(s);
      release();
      sock.destroy();
      analyzer.addGlobalFinding(finding('error', 'proxy-internal', `session failed to start: ${(e as Error).message}`));
    }
  });

  const snapshot = (): Analysis => {
    const a = analyzer.analysis();
    // Finished sessions (kept here) before the open ones (the analyzer's), each list in id order.
    const open = a.sessions;
    return { ...a, sessions: history.length === 0 ? open : open.length === 0 ? history.slice() : mergeById(history, open) };
  };


  return {
    analyzer,
    address: () => ({ ip: normalizeIp(opts.listen.ip), port: listenPort }),
    get activeSessions() { return slots; },
    snapshot,
    recording: () => (opts.recordTo && recorder ? { frames: recorder.frameCount, dropped: recorder.dropped } : null),
    totals: () => {
      const open = analyzer.analysis().sessions;
      return {
        ...totals, open: slots,
        transfers: totals.transfers + open.reduce((n, s) => n + s.dataConnections.filter((dc) => dc.direction === 'download' || dc.direction === 'upload').length, 0),
        dataBytes: totals.dataBytes + open.reduce((n, s) => n + s.dataConnections.reduce((m, dc) => m + dc.bytes, 0), 0),
        findings: totals.findings + open.reduce((n, s) => n + s.findings.length, 0) + analyzer.findings.length,
      };
    },
    readFrame: async (frame: number) => {
      const rec = recent?.get(frame);
      if (rec) return rec;
      const range = recent?.range();
      throw new FtpscopeError('frame-not-found', `frame ${frame} is no longer kept in memory${range ? ` (frames ${range[0]}-${range[1]} are)` : ''}`,
        'run the proxy with --record FILE.pcapng and open that file to see every packet');
    },
    close(): Promise<Analysis> {
      closed ??= shutdown();
      return closed;
    },
  };

  async function shutdown(): Promise<Analysis> {
    closing = true;
    clearInterval(summaryTimer);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of [...sessions]) s.shutdown();
      for (const r of rejected) r.destroy();
    });
    for (const { finding: f } of refusals.tick()) analyzer.addGlobalFinding(f);
    analyzer.finish();
    await hasher?.close();
    if (recorder) await recorder.finish();
    return snapshot();
  }
}

/** The key limits count by: the address, or for IPv6 its /64 (one host often has a whole /64). */
export function addressKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const full = expandIpv6(ip);
  return full ? `${full.slice(0, 4).join(':')}::/64` : ip;
}

function expandIpv6(ip: string): string[] | null {
  const [head, tail] = ip.split('::');
  if (ip.split('::').length > 2) return null;
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : null;
  if (t === null) return h.length === 8 ? h.map((x) => x.toLowerCase()) : null;
  const missing = 8 - h.length - t.length;
  if (missing < 0) return null;
  return [...h, ...Array<string>(missing).fill('0'), ...t].map((x) => (x.includes('.') ? x : x.toLowerCase()));
}

/**
 * New connections per address and minute: a token bucket per address, full at first, refilled
 * continuously. Addresses are forgotten least-recently-seen first past `maxAddresses` (a
 * forgotten address starts with a full bucket: the bound costs precision, never memory).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perMinute: number, private readonly maxAddresses: number, private readonly now: () => number = () => Date.now()) {}

  take(key: string): boolean {
    if (this.perMinute <= 0) return true;
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) / 60_000) * this.perMinute);
      b.at = t;
    } else {
      if (this.buckets.size >= this.maxAddresses) this.buckets.delete(this.buckets.keys().next().value!);
      b = { tokens: this.perMinute, at: t };
    }
    this.buckets.set(key, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}

function mergeById(a: Session[], b: Session[]): Session[] {
  const out: Session[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.id < b[j]!.id)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/**
 * The proxy's listening socket and its sessions: `startProxy` is what the CLI, the tests, the
 * benchmark and the live dashboard use.
 */
import * as net from 'node:net';
import type { FtpAnalyzer } from '../analysis/analyzer.js';
import { proxyAnalysis } from '../analysis/sources/proxy.js';
import type { Analysis, AnalysisEvent } from '../model/types.js';
import { finding } from '../model/findings.js';
import { FtpscopeError } from '../errors.js';
import { ControlSession, type SessionContext } from './control.js';
import { ProxyObserver } from './observer.js';
import { PortAllocator, type PortRange } from './ports.js';
import { Recorder, type PacketWriter } from './recorder.js';
import { RecentPackets } from '../capture/recent.js';
import type { PacketRecord } from '../capture/types.js';
import { TlsTermination } from './tls.js';
import { parseAllowList } from './allow.js';
import { loadOriginalDst } from './original-dst.js';
import { formatHostPort, normalizeIp, type DataMode, type HostPort } from './rewrite.js';
import type { ProxyMode } from './session-machine.js';

export interface ProxyOptions {
  mode: ProxyMode;
  listen: HostPort;
  /** Reverse mode: the FTP server. */
  upstream?: HostPort | null;
  /** Forward mode: host patterns and CIDRs destinations must match (default: none, deny all). */
  allow?: string[];
  dataMode?: DataMode;
  pasvPorts?: PortRange | null;
  /** The IPv4 address announced in 227 replies (behind NAT). */
  pasvAddress?: string | null;
  maxSessions?: number;
  maxLineLength?: number;
  idleTimeoutSec?: number;
  acceptTimeoutSec?: number;
  connectTimeoutSec?: number;
  keepAliveSec?: number;
  tls?: { certFile: string; keyFile: string; verifyUpstream?: boolean } | null;
  /** --record: synthesized packets go here (a PcapngWriter). */
  recordTo?: PacketWriter | null;
  /** Analysis events (command, reply, data-open/close, finding, session-open/close) as they happen. */
  onEvent?: (ev: AnalysisEvent) => void;
  /** Session packet lists of synthesized packets, the latest kept in memory for readFrame (the dashboard). */
  keepPackets?: boolean;
}

/** Memory for the latest synthesized packets the dashboard can dissect (as capture's live ring). */
const RECENT_PACKET_BYTES = 32 << 20;

export const PROXY_DEFAULTS = {
  maxSessions: 512,
  maxLineLength: 8192,
  idleTimeoutSec: 900,
  acceptTimeoutSec: 60,
  connectTimeoutSec: 30,
  keepAliveSec: 60,
} as const;

export interface RunningProxy {
  readonly analyzer: FtpAnalyzer;
  /** The address actually listened on (port 0 resolved). */
  address(): HostPort;
  readonly activeSessions: number;
  /** The analysis as it stands (live views). */
  snapshot(): Analysis;
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
    allow = parseAllowList(opts.allow ?? []);
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

  const { analyzer, clock } = proxyAnalysis({
    sourceName: `proxy ${formatHostPort({ ip: opts.listen.ip, port: listenPort })}`,
    ftpPorts: [listenPort],
    keepPackets: opts.keepPackets,
    // As capture --tui: the latest packets of each session (a bulk transfer makes hundreds of thousands).
    maxPacketsPerSession: opts.keepPackets ? 5000 : undefined,
    onEvent: opts.onEvent,
    // Under --tls-terminate the client-facing leg the analyzer sees is decrypted: AUTH and its 234 go
    // through it, and the session stays decoded after them.
    tlsDecrypted: tls !== null,
  });
  // keepPackets (the dashboard): the client-facing legs' packets are synthesized as for --record and the
  // latest ones kept in memory, so the packet list and the layer views work without a file.
  const recent = opts.keepPackets ? new RecentPackets(RECENT_PACKET_BYTES) : null;
  const recorder = opts.recordTo || recent ? new Recorder(opts.recordTo ?? null, recent) : null;
  const observer = new ProxyObserver(analyzer, clock, recorder, opts.keepPackets === true);
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
  };
  const maxSessions = opts.maxSessions ?? PROXY_DEFAULTS.maxSessions;
  const sessions = new Set<ControlSession>();
  const rejected = new Set<net.Socket>();
  let closing = false;
  let closed: Promise<Analysis> | null = null;

  server.on('connection', (sock) => {
    sock.on('error', () => sock.destroy());
    if (closing) { sock.destroy(); return; }
    if (sessions.size >= maxSessions) {
      const f = finding('warning', 'proxy-max-sessions',
        `refused a session from ${normalizeIp(sock.remoteAddress ?? '')}: ${maxSessions} sessions already open (--max-sessions)`);
      analyzer.addGlobalFinding(f);
      rejected.add(sock);
      sock.on('close', () => rejected.delete(sock));
      sock.end(`421 Too many sessions (${maxSessions}); try again later.\r\n`);
      setTimeout(() => sock.destroy(), 2000).unref();
      return;
    }
    const s = new ControlSession(sock, ctx);
    sessions.add(s);
    try {
      s.start(() => sessions.delete(s));
    } catch (e) {
      // Nothing a session does may take the proxy down.
      sessions.delete(s);
      sock.destroy();
      analyzer.addGlobalFinding(finding('error', 'proxy-internal', `session failed to start: ${(e as Error).message}`));
    }
  });


  return {
    analyzer,
    address: () => ({ ip: normalizeIp(opts.listen.ip), port: listenPort }),
    get activeSessions() { return sessions.size; },
    snapshot: () => analyzer.analysis(),
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
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of [...sessions]) s.shutdown();
      for (const r of rejected) r.destroy();
    });
    const a = analyzer.finish();
    if (recorder) await recorder.finish();
    return a;
  }
}

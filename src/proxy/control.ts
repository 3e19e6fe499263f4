/**
 * One proxied control session: the client socket, the upstream socket, the state machine
 * between them, and the data relays it asks for. All socket I/O of a session lives here; every
 * socket has an error handler, and any end of either side tears down everything of the session.
 */
import * as net from 'node:net';
import * as dns from 'node:dns/promises';
import type * as tls from 'node:tls';
import { SessionMachine, type LegPlan, type MachineCommand, type ProxyMode } from './session-machine.js';
import { DataRelay } from './data.js';
import { normalizeIp, formatHostPort, type DataMode, type ForwardUser, type HostPort } from './rewrite.js';
import type { ProxyObserver, ObservedLeg } from './observer.js';
import type { PortAllocator } from './ports.js';
import { trackSession, secured, type TlsTermination } from './tls.js';
import type { AllowList } from './allow.js';

export interface SessionContext {
  mode: ProxyMode;
  dataMode: DataMode;
  /** Reverse mode: where to connect. */
  upstream: HostPort | null;
  /** Transparent mode: where the client was going. */
  originalDestination: ((sock: net.Socket) => HostPort | null) | null;
  allow: AllowList | null;
  pasvAddress: string | null;
  ports: PortAllocator;
  tls: TlsTermination | null;
  observer: ProxyObserver;
  recording: boolean;
  maxLineLength: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  acceptTimeoutMs: number;
  keepAliveMs: number;
  /** The client must be logged in (230) this long after connecting; 0: no limit. */
  loginTimeoutMs: number;
  /** The server must greet this long after the connection is up. */
  greetingTimeoutMs: number;
  /** Every TLS handshake (control and data, both sides) must be done within this. */
  tlsHandshakeTimeoutMs: number;
  maxInvalidCommands: number;
  allowLowDataPorts: boolean;
}

type AnySocket = net.Socket | tls.TLSSocket;

/**
 * How long a held 226 waits, once the data is through and its end passed on, for the data
 * connection to close completely before it is released anyway.
 */
const DRAIN_GRACE_MS = 2000;
/**
 * After the client's FIN, how long the server may still answer what the client asked (the 221
 * to a QUIT) before everything is closed. The session's slot is released at the FIN already.
 */
const CLIENT_FIN_GRACE_MS = 5000;
/**
 * Replies queued towards a client that does not read them: past this, the proxy stops reading
 * that client (and its server), so the replies it writes itself cannot pile up in memory either.
 */
const CONTROL_WRITE_LIMIT = 64 * 1024;

export class ControlSession {
  private readonly machine: SessionMachine;
  private client: AnySocket;
  private server: AnySocket | null = null;
  private serverRaw: net.Socket | null = null;
  private readonly clientLeg: ObservedLeg;
  private serverLeg: ObservedLeg | null = null;
  private readonly relays = new Map<number, DataRelay>();
  private idle: NodeJS.Timeout | null = null;
  private ended = false;
  private upstreamHost: string | null = null;
  private upstreamSession: (() => Buffer | null) | null = null;
  private onEnd: (() => void) | null = null;
  private onRelease: (() => void) | null = null;
  private loginTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private greetingTimer: NodeJS.Timeout | null = null;
  private clientGone = false;
  /** Reading of both control sockets is paused until the client drains its replies. */
  private clientBackedUp = false;

  constructor(private readonly clientRaw: net.Socket, private readonly ctx: SessionContext) {
    this.client = clientRaw;
    const clientIp = normalizeIp(clientRaw.remoteAddress ?? '');
    this.machine = new SessionMachine({
      mode: ctx.mode, dataMode: ctx.dataMode, tlsTerminate: ctx.tls !== null, clientIp,
      maxLineLength: ctx.maxLineLength, maxQueuedLines: 200, maxPendingCommands: 200, pasvAddress: ctx.pasvAddress,
      maxInvalidCommands: ctx.maxInvalidCommands, allowLowDataPorts: ctx.allowLowDataPorts,
    });
    this.clientLeg = ctx.observer.leg(true);
  }

  /**
   * Runs the session. `onRelease` is called once when the client is gone (its slot is free
   * again: FIN, reset, error or any teardown); `onEnd` once when everything of it is closed.
   */
  start(onEnd: () => void, onRelease: () => void = () => {}): void {
    this.onEnd = onEnd;
    this.onRelease = onRelease;
    const c = this.clientRaw;
    this.watchClient(c);
    c.setNoDelay(true);
    c.setKeepAlive(true, this.ctx.keepAliveMs);
    this.clientLeg.open(endpoint(c.remoteAddress, c.remotePort), endpoint(c.localAddress, c.localPort));
    this.listenClient(c);
    this.idle = setTimeout(() => this.step(() => this.machine.idleTimeout(Math.round(this.ctx.idleTimeoutMs / 1000))), this.ctx.idleTimeoutMs);
    this.idle.unref();
    if (this.ctx.loginTimeoutMs > 0) {
      this.loginTimer = setTimeout(() => this.step(() => this.machine.loginTimeout(Math.round(this.ctx.loginTimeoutMs / 1000))), this.ctx.loginTimeoutMs);
      this.loginTimer.unref();
    }
    if (this.ctx.mode === 'reverse') this.connectUpstream(this.ctx.upstream!, null);
    else if (this.ctx.mode === 'transparent') {
      const dst = this.ctx.originalDestination?.(c) ?? null;
      const local = endpoint(c.localAddress, c.localPort);
      if (!dst) {
        this.step(() => this.machine.upstreamFailed('no original destination (the connection was not redirected to the proxy by nftables/iptables REDIRECT)'));
      } else if (normalizeIp(dst.ip) === local.ip && dst.port === local.port) {
        this.step(() => this.machine.upstreamFailed('the original destination is the proxy itself (connect through a REDIRECT rule, not directly)'));
      } else {
        this.connectUpstream(dst, null);
      }
    }
    this.step(() => this.machine.drain());
  }

  /**
   * End-of-client handling, on the raw socket and again on the TLS socket that replaces it (a
   * TLSSocket wrapping a net.Socket takes its handle: the raw socket reports nothing any more).
   */
  private watchClient(sock: AnySocket): void {
    sock.on('error', () => this.teardown('client error'));
    sock.on('close', () => this.teardown('client closed'));
    sock.on('end', () => this.clientFin());
  }

  /** The client's FIN goes on to the server; what the server still says (221) reaches the client. */
  private clientFin(): void {
    if (this.clientGone) return;
    this.clientGone = true;
    this.clientLeg.fin(0);
    this.release();
    if (this.server && !this.ended && !this.machine.closed && (this.machine.waitingForServer || this.relays.size > 0)) {
      this.server.end();
      this.serverLeg?.fin(0);
      setTimeout(() => this.teardown('client closed'), CLIENT_FIN_GRACE_MS).unref();
    } else {
      // Nothing asked of the server is outstanding: there is nothing left to wait for.
      this.teardown('client closed');
    }
  }

  private release(): void {
    const cb = this.onRelease;
    this.onRelease = null;
    cb?.();
  }

  private listenClient(sock: AnySocket): void {
    sock.on('data', (chunk: Buffer) => {
      this.touch();
      if (this.machine.isOpaque) {
        this.clientLeg.data(0, chunk);
        this.toServer(chunk);
        return;
      }
      this.step(() => this.machine.clientBytes(chunk));
    });
  }

  private listenServer(sock: AnySocket): void {
    sock.on('data', (chunk: Buffer) => {
      this.touch();
      this.serverLeg?.data(1, chunk);
      if (this.machine.isOpaque) {
        this.clientLeg.data(1, chunk);
        this.toClient(chunk);
        return;
      }
      this.step(() => this.machine.serverBytes(chunk));
    });
  }

  private connectUpstream(dest: HostPort, user: ForwardUser | null): void {
    this.upstreamHost = user ? user.host : dest.ip;
    this.clientLeg.upstream({ ip: normalizeIp(dest.ip), port: dest.port, ...(user && !net.isIP(user.host) ? { name: user.host } : {}) });
    const sock = net.connect({ host: dest.ip, port: dest.port, allowHalfOpen: false });
    this.serverRaw = sock;
    this.server = sock;
    const timer = setTimeout(() => {
      sock.destroy();
      this.step(() => this.machine.upstreamFailed(`${formatHostPort(dest)}: no connection within ${Math.round(this.ctx.connectTimeoutMs / 1000)} s`));
    }, this.ctx.connectTimeoutMs);
    // A session torn down while connecting must not leave its timer behind (nor keep the process alive).
    timer.unref();
    this.connectTimer = timer;
    let connected = false;
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected) {
        clearTimeout(timer);
        this.step(() => this.machine.upstreamFailed(`${formatHostPort(dest)}: ${e.code ?? e.message}`));
      } else {
        this.step(() => this.machine.serverClosed());
      }
    });
    sock.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      if (this.ended) { sock.destroy(); return; }
      sock.setNoDelay(true);
      sock.setKeepAlive(true, this.ctx.keepAliveMs);
      if (this.ctx.recording) {
        this.serverLeg = this.ctx.observer.leg(false, { kind: 'control', session: this.clientLeg });
        this.serverLeg.open(endpoint(sock.localAddress, sock.localPort), endpoint(sock.remoteAddress, sock.remotePort));
      }
      this.listenServer(sock);
      sock.on('end', () => this.serverLeg?.fin(1));
      sock.on('close', () => this.step(() => this.machine.serverClosed()));
      // The greeting timer runs until the machine has the whole greeting (a server may accept and stay silent).
      this.greetingTimer = setTimeout(() => this.step(() => this.machine.greetingTimeout(Math.round(this.ctx.greetingTimeoutMs / 1000))), this.ctx.greetingTimeoutMs);
      this.greetingTimer.unref();
      this.step(() => this.machine.upstreamConnected(sock.remoteAddress ?? dest.ip));
    });
  }

  private async forwardConnect(dest: ForwardUser): Promise<void> {
    const allow = this.ctx.allow;
    const refuse = (reason: string) => this.step(() => this.machine.upstreamRefused(reason));
    if (!allow) {
      refuse(`destination ${formatHostPort({ ip: dest.host, port: dest.port })} is not allowed by the proxy (--allow)`);
      return;
    }
    // Refuse what no rule can allow before any DNS lookup: refused names cost nothing.
    const pre = allow.precheck(dest.host, dest.port);
    if (!pre.ok) {
      refuse(pre.reason);
      return;
    }
    let ip: string;
    try {
      ip = net.isIP(dest.host) ? dest.host : (await dns.lookup(dest.host)).address;
    } catch (e) {
      this.step(() => this.machine.upstreamFailed(`${dest.host}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`));
      return;
    }
    if (this.ended) return;
    // The address checked is the address connected to: no second lookup a DNS server could answer differently.
    const v = allow.check(dest.host, dest.port, ip);
    if (!v.ok) {
      refuse(v.reason);
      return;
    }
    this.connectUpstream({ ip, port: dest.port }, dest);
  }

  /**
   * Run one state-machine step and carry out its commands. A bug anywhere in a session ends that
   * session with a finding; it never reaches the process (nothing may kill the proxy).
   */
  private step(fn: () => MachineCommand[]): void {
    try {
      this.exec(fn());
    } catch (e) {
      this.crash(e);
    }
  }

  private crash(e: unknown): void {
    try {
      this.ctx.observer.sessionFinding(this.clientLeg.conn, {
        severity: 'error', code: 'proxy-internal', frame: null,
        message: `internal error, session closed: ${(e as Error).message} (please report it)`,
      });
      if (process.env.FTPSCOPE_DEBUG) process.stderr.write(`ftpscope proxy: ${(e as Error).stack}\n`);
    } finally {
      this.teardown('internal error');
    }
  }

  private exec(cmds: MachineCommand[]): void {
    this.execCommands(cmds);
    if (this.ended) return;
    // Timers that depend on the machine's state, checked after every step.
    if (this.greetingTimer && !this.machine.awaitingUpstream) {
      clearTimeout(this.greetingTimer);
      this.greetingTimer = null;
    }
    if (this.loginTimer && (this.machine.loggedIn || this.machine.isOpaque)) {
      // TLS passthrough (opaque) hides the login: the idle timeout and the per-address limit still hold.
      clearTimeout(this.loginTimer);
      this.loginTimer = null;
    }
  }

  private execCommands(cmds: MachineCommand[]): void {
    for (const c of cmds) {
      if (this.ended && c.type !== 'finding') continue;
      switch (c.type) {
        case 'observe-client':
          this.clientLeg.data(0, c.data);
          break;
        case 'to-client':
          this.clientLeg.data(1, c.data);
          this.toClient(c.data);
          break;
        case 'to-server':
          this.serverLeg?.data(0, c.data);
          this.toServer(c.data);
          break;
        case 'connect-upstream':
          this.forwardConnect(c.dest).catch((e) => this.crash(e));
          break;
        case 'data-open':
          this.openData(c.id, c.client, c.server, c.tls);
          break;
        case 'data-cancel':
          this.relays.get(c.id)?.cancel();
          this.relays.delete(c.id);
          break;
        case 'tls-server':
          this.upgradeServer().catch((e) => this.crash(e));
          break;
        case 'tls-client':
          // After the 234 is queued: the handshake starts once it is written.
          this.upgradeClient().catch((e) => this.crash(e));
          break;
        case 'passthrough':
          this.ctx.observer.sessionFinding(this.clientLeg.conn, {
            severity: 'info', code: 'proxy-tls-passthrough', frame: null,
            message: 'AUTH TLS passed through opaquely; data connections go directly between client and server (use --tls-terminate to decode)',
          });
          break;
        case 'finding':
          this.ctx.observer.sessionFinding(this.clientLeg.conn, c.finding);
          break;
        case 'close':
          this.closeGracefully();
          break;
      }
    }
  }

  private openData(id: number, client: LegPlan, server: LegPlan, dataTls: boolean): void {
    const srv = this.serverRaw;
    if (!srv) return;
    const relay = new DataRelay({
      id, client, server,
      clientPeerIp: normalizeIp(this.clientRaw.remoteAddress ?? ''),
      serverPeerIp: normalizeIp(srv.remoteAddress ?? ''),
      clientLocalIp: normalizeIp(this.clientRaw.localAddress ?? ''),
      serverLocalIp: normalizeIp(srv.localAddress ?? ''),
      ports: this.ctx.ports,
      acceptTimeoutMs: this.ctx.acceptTimeoutMs,
      tlsHandshakeTimeoutMs: this.ctx.tlsHandshakeTimeoutMs,
      tls: dataTls && this.ctx.tls ? { term: this.ctx.tls, servername: this.upstreamHost, session: () => this.upstreamSession?.() ?? null } : null,
      clientTap: this.ctx.observer.leg(true),
      serverTap: this.ctx.recording ? this.ctx.observer.leg(false, { kind: 'data', session: this.clientLeg }) : null,
      events: {
        listening: (side, hp) => this.step(() => this.machine.dataListening(id, side, hp)),
        established: () => this.step(() => this.machine.dataEstablished(id)),
        foreign: (from) => this.step(() => this.machine.foreignDataConnection(id, from)),
        done: (failure) => {
          this.relays.delete(id);
          this.step(() => this.machine.dataDone(id, failure));
        },
        activity: () => this.touch(),
        drained: () => {
          const t = setTimeout(() => { if (!this.ended) this.step(() => this.machine.dataDrained(id)); }, DRAIN_GRACE_MS);
          t.unref();
        },
      },
    });
    this.relays.set(id, relay);
    relay.start();
  }

  private async upgradeServer(): Promise<void> {
    const raw = this.serverRaw;
    if (!raw || !this.ctx.tls) return;
    raw.removeAllListeners('data');
    const s = this.ctx.tls.connectServer(raw, this.upstreamHost, null);
    // A server that vanishes (reset) is a server that closed: the client gets what it is owed (a 421
    // for an unanswered command) rather than a silent close.
    s.on('error', () => this.step(() => this.machine.serverClosed()));
    // As for the client: the raw socket says nothing once wrapped.
    s.on('close', () => this.step(() => this.machine.serverClosed()));
    this.upstreamSession = trackSession(s);
    this.server = s;
    try {
      await secured(s, false, this.ctx.tlsHandshakeTimeoutMs);
    } catch (e) {
      this.step(() => this.machine.upstreamFailed(`TLS handshake with the server: ${(e as Error).message}`));
      return;
    }
    if (this.ended) return;
    this.listenServer(s);
    this.step(() => this.machine.serverTlsReady());
  }

  private async upgradeClient(): Promise<void> {
    if (!this.ctx.tls) return;
    if (this.clientGone) {
      // The client sent its FIN before the 234 reached it: no handshake will come.
      this.teardown('client closed before its TLS handshake');
      return;
    }
    const raw = this.clientRaw;
    raw.removeAllListeners('data');
    const c = this.ctx.tls.acceptClient(raw);
    // A listener for good: secured() removes its own once the handshake is decided.
    c.on('error', () => this.teardown('client TLS error'));
    this.client = c;
    try {
      await secured(c, true, this.ctx.tlsHandshakeTimeoutMs);
    } catch (e) {
      this.step(() => this.machine.clientTlsFailed((e as Error).message));
      this.teardown('client TLS handshake failed');
      return;
    }
    if (this.ended) return;
    this.watchClient(c);
    // The analyzer marked the session tls at the 234 (and goes on decoding: tlsDecrypted); the
    // version and SNI come from the handshake the proxy itself completed.
    this.ctx.observer.sessionTls(this.clientLeg.conn, { sni: (c as unknown as { servername?: string | false }).servername || null, version: c.getProtocol() });
    this.ctx.observer.sessionFinding(this.clientLeg.conn, {
      severity: 'info', code: 'proxy-tls-terminated', frame: null,
      message: `control TLS (${c.getProtocol() ?? 'unknown version'}) terminated by the proxy; commands and replies are shown decrypted`,
    });
    this.listenClient(c);
  }

  /**
   * Control writes with backpressure: a client that does not read its replies stops being read,
   * and so does its server. This bounds the replies the proxy writes itself (500s, 530s, local
   * 200s) as it bounds relayed ones: nothing is answered until the client takes what it was sent.
   */
  private toClient(data: Buffer): void {
    const dst = this.client;
    dst.write(data);
    if (dst.writableLength > CONTROL_WRITE_LIMIT && !this.clientBackedUp) {
      this.clientBackedUp = true;
      const paused = [this.client, this.server].filter((s): s is AnySocket => s !== null && !s.isPaused());
      for (const s of paused) s.pause();
      dst.once('drain', () => {
        this.clientBackedUp = false;
        for (const s of paused) s.resume();
      });
    }
  }

  private toServer(data: Buffer): void {
    const dst = this.server;
    if (!dst) return;
    if (!dst.write(data) && !this.client.isPaused()) {
      const src = this.client;
      src.pause();
      dst.once('drain', () => src.resume());
    }
  }

  private touch(): void {
    this.idle?.refresh();
  }

  /** Let queued writes go out, then close both sides. */
  private closeGracefully(): void {
    if (this.ended) return;
    this.client.end();
    this.clientLeg.fin(1);
    this.server?.end();
    this.serverLeg?.fin(0);
    const t = setTimeout(() => this.teardown('closed by proxy'), 2000);
    t.unref();
  }

  /** Close everything now (the proxy is stopping). */
  shutdown(): void {
    this.teardown('proxy stopping');
  }

  private teardown(_why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.release();
    if (this.idle) clearTimeout(this.idle);
    if (this.loginTimer) clearTimeout(this.loginTimer);
    if (this.greetingTimer) clearTimeout(this.greetingTimer);
    if (this.connectTimer) clearTimeout(this.connectTimer);
    for (const r of this.relays.values()) r.abort('control connection closed');
    this.relays.clear();
    this.client.destroy();
    this.clientRaw.destroy();
    this.server?.destroy();
    this.serverRaw?.destroy();
    this.serverLeg?.close('fin');
    this.clientLeg.close('fin');
    const cb = this.onEnd;
    this.onEnd = null;
    cb?.();
  }
}

function endpoint(ip: string | undefined, port: number | undefined): { ip: string; port: number } {
  return { ip: normalizeIp(ip ?? ''), port: port ?? 0 };
}

/**
 * One relayed data connection: a client-facing leg and a server-facing leg, each either a
 * listener (one accept, only from the expected peer, with a timeout) or an outgoing connection.
 * Bytes flow once both legs are up (and secured, under TLS termination); either side's FIN is
 * passed on as a FIN, either side's error or reset tears both down. Nothing is buffered beyond
 * the sockets' own high-water marks.
 */
import * as net from 'node:net';
import type * as tls from 'node:tls';
import type { Endpoint } from '../model/types.js';
import type { Dir } from '../tcp/events.js';
import { normalizeIp, type HostPort } from './rewrite.js';
import type { LegPlan } from './session-machine.js';
import type { PortAllocator } from './ports.js';
import { secured, type TlsTermination } from './tls.js';

/** Per-socket buffering on data legs: big enough that a bulk transfer rarely waits on 'drain'. */
const DATA_HWM = 1 << 20;
/**
 * Plain (non-TLS) legs read into one buffer reused for the whole connection (net's `onread`):
 * no allocation, no fresh pages to fault in per read, which is most of a bulk relay's cost.
 * It starts small and doubles while reads fill it, so bulk transfers take fewer, larger reads
 * (and fewer hash updates) and small ones stay small.
 */
const READ_BUFFER_MIN = 64 * 1024;
const READ_BUFFER_MAX = 4 * 1024 * 1024;
/** Growth beyond READ_BUFFER_MIN shared by all legs of the process (16 legs at the maximum). */
const READ_BUFFER_BUDGET = 64 * 1024 * 1024;
let readBufferGrowth = 0;

/** Bytes of read-buffer growth held by live data legs (0 when no transfer runs). */
export function readBufferGrowthBytes(): number {
  return readBufferGrowth;
}

/** Where a leg's traffic is reported (the analysis, the recording). Directions: 0 from the side that opened the leg. */
export interface LegTap {
  /** `peerDialled`: the peer opened the connection to the proxy (`client` is the peer's end); otherwise the proxy did. */
  open(client: Endpoint, server: Endpoint, peerDialled?: boolean): void;
  /** `bytes` is only valid during the call (the relay reuses its read buffer): copy to keep. */
  data(dir: Dir, bytes: Buffer): void;
  /** A FIN in direction `dir` (the peer's, received; or the proxy's, sent). */
  fin?(dir: Dir): void;
  /** The leg is closed; a reset comes from `by`. */
  close(reason: 'fin' | 'rst', by?: Dir): void;
  /** Backpressure from the recording: while true the relay stops reading, until whenWritable calls back. */
  blocked?(): boolean;
  whenWritable?(cb: () => void): void;
}

export interface DataRelayEvents {
  listening(side: 'client' | 'server', hp: HostPort): void;
  established(): void;
  foreign(from: string): void;
  done(failure: string | null): void;
  /** One direction ended and its end was passed on and flushed; the connection is not closed yet. */
  drained(): void;
  /** Activity, for the control idle timer. */
  activity(): void;
}

export interface DataRelayOptions {
  id: number;
  client: LegPlan;
  server: LegPlan;
  clientPeerIp: string;
  serverPeerIp: string;
  /** Local address of the client-facing control connection (listen/bind here). */
  clientLocalIp: string;
  /** Local address of the server-facing control connection: servers check it. */
  serverLocalIp: string;
  ports: PortAllocator;
  acceptTimeoutMs: number;
  /** Both legs' TLS handshakes must be done within this (--tls-handshake-timeout). */
  tlsHandshakeTimeoutMs?: number;
  tls: { term: TlsTermination; servername: string | null; session: () => Buffer | null } | null;
  clientTap: LegTap | null;
  serverTap: LegTap | null;
  events: DataRelayEvents;
}

interface Leg {
  side: 'client' | 'server';
  plan: LegPlan;
  listener: net.Server | null;
  raw: net.Socket | null;
  sock: net.Socket | tls.TLSSocket | null;
  /** True when the proxy opened the TCP connection (tap direction). */
  weConnected: boolean;
  ended: boolean;
  closed: boolean;
  tapped: boolean;
  /** Plain legs: the reused read buffer's bytes are still queued on the other leg; reading waits. */
  flushWait: boolean;
  /** Plain legs: where this leg's reads go once the relay runs (set by pipe). */
  onRead: ((bytes: Buffer) => void) | null;
  /** Plain legs: gives the read buffer's growth back to the budget. */
  releaseRead: (() => void) | null;
}

export class DataRelay {
  private readonly legs: { client: Leg; server: Leg };
  private timer: NodeJS.Timeout | null = null;
  private finished = false;

  constructor(private readonly o: DataRelayOptions) {
    this.legs = {
      client: newLeg('client', o.client),
      server: newLeg('server', o.server),
    };
  }

  start(): void {
    const { client, server } = this.legs;
    if ('listen' in client.plan) this.listen(client);
    if ('listen' in server.plan) this.listen(server);
    if ('connect' in server.plan) this.connect(server);
    // An active client is connected to once the server side is up: then the transfer is real.
    if ('connect' in client.plan && 'connect' in server.plan) this.connect(client);
    if (client.listener || server.listener) {
      this.timer = setTimeout(() => this.fail(`no data connection within ${Math.round(this.o.acceptTimeoutMs / 1000)} s`), this.o.acceptTimeoutMs);
    }
  }

  /** Tear down without reporting a failure (the control session cancelled the setup). */
  cancel(): void {
    this.finish(null, true);
  }

  /** Tear down and report (control connection gone). */
  abort(reason: string): void {
    this.finish(reason, false);
  }

  private listen(leg: Leg): void {
    const srv = net.createServer({ allowHalfOpen: true, pauseOnConnect: true, highWaterMark: DATA_HWM });
    leg.listener = srv;
    srv.on('error', () => { /* reported through listen() or ignored after accept */ });
    srv.on('connection', (sock) => this.accepted(leg, sock));
    const host = leg.side === 'client' ? this.o.clientLocalIp : this.o.serverLocalIp;
    const alloc = leg.side === 'client' ? this.o.ports.listen(srv, host) : listenAny(srv, host);
    alloc.then(
      (port) => { if (!this.finished) this.o.events.listening(leg.side, { ip: host, port }); },
      (e: Error) => this.fail(`cannot listen for the ${leg.side} data connection on ${host}: ${e.message}`),
    );
  }

  private accepted(leg: Leg, sock: net.Socket): void {
    sock.on('error', () => {});
    const from = normalizeIp(sock.remoteAddress ?? '');
    const want = normalizeIp(leg.side === 'client' ? this.o.clientPeerIp : this.o.serverPeerIp);
    if (this.finished || leg.raw) { sock.destroy(); return; }
    if (from !== want) {
      sock.destroy();
      this.o.events.foreign(`${from}:${sock.remotePort}`);
      return;
    }
    // One accept per expectation.
    leg.listener?.close();
    leg.listener = null;
    leg.weConnected = false;
    this.attach(leg, this.o.tls ? sock : adoptWithUserRead(sock, leg));
    if ('connect' in this.legs.client.plan && leg.side === 'server') this.connect(this.legs.client);
  }

  private connect(leg: Leg): void {
    const target = (leg.plan as { connect: HostPort }).connect;
    const localAddress = leg.side === 'client' ? this.o.clientLocalIp : this.o.serverLocalIp;
    const sock = net.connect({
      host: target.ip, port: target.port, localAddress, allowHalfOpen: true, highWaterMark: DATA_HWM,
      ...(this.o.tls ? {} : { onread: userRead(leg) }),
    } as net.NetConnectOpts);
    sock.on('error', (e) => this.fail(`${leg.side} data connection to ${target.ip}:${target.port}: ${e.message}`));
    sock.pause();
    if (!this.o.tls) userReadSockets.add(sock);
    leg.weConnected = true;
    sock.once('connect', () => {
      if (this.finished) { sock.destroy(); return; }
      this.attach(leg, sock);
    });
    leg.raw = sock;
  }

  private attach(leg: Leg, sock: net.Socket): void {
    leg.raw = sock;
    sock.removeAllListeners('error');
    sock.on('error', (e) => this.fail(`${leg.side} data connection: ${e.message}`));
    sock.setNoDelay(true);
    const tap = leg.side === 'client' ? this.o.clientTap : this.o.serverTap;
    if (tap) {
      leg.tapped = true;
      const local = { ip: normalizeIp(sock.localAddress ?? ''), port: sock.localPort ?? 0 };
      const remote = { ip: normalizeIp(sock.remoteAddress ?? ''), port: sock.remotePort ?? 0 };
      if (leg.weConnected) tap.open(local, remote, false); else tap.open(remote, local, true);
    }
    if (this.legs.client.raw?.readyState === 'open' && this.legs.server.raw?.readyState === 'open' &&
        this.legs.client.raw.connecting === false && this.legs.server.raw.connecting === false) {
      void this.secureAndRelay();
    }
  }

  private async secureAndRelay(): Promise<void> {
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const { client, server } = this.legs;
    const t = this.o.tls;
    if (t) {
      // Accepted sockets start paused (pauseOnConnect); TLS needs the handle reading.
      client.raw!.resume();
      server.raw!.resume();
      const c = t.term.acceptClient(client.raw!);
      const s = t.term.connectServer(server.raw!, t.servername, t.session());
      c.on('error', (e) => this.fail(`client data TLS: ${e.message}`));
      s.on('error', (e) => this.fail(`server data TLS: ${e.message}`));
      client.sock = c;
      server.sock = s;
      try {
        const limit = this.o.tlsHandshakeTimeoutMs ?? 0;
        await Promise.all([secured(c, true, limit), secured(s, false, limit)]);
      } catch (e) {
        this.fail(`data TLS handshake: ${(e as Error).message}`);
        return;
      }
      if (this.finished) return;
    } else {
      client.sock = client.raw;
      server.sock = server.raw;
    }
    this.o.events.established();
    this.pipe(client, server);
    this.pipe(server, client);
  }

  private pipe(from: Leg, to: Leg): void {
    const src = from.sock!;
    const dst = to.sock!;
    const tapFrom = from.side === 'client' ? this.o.clientTap : this.o.serverTap;
    const tapTo = to.side === 'client' ? this.o.clientTap : this.o.serverTap;
    // Tap direction: 0 when the bytes travel from the TCP client (the side that connected).
    const fromDir: Dir = from.weConnected ? 1 : 0;
    const toDir: Dir = to.weConnected ? 0 : 1;
    const events = this.o.events;
    // The recording (--record, backpressure) may ask the relay to wait: reading stops until it has caught up.
    const gate = tapFrom?.blocked ? tapFrom : tapTo?.blocked ? tapTo : null;
    if (from.onRead === null && isUserRead(src)) {
      // The read buffer is reused: while a write still references it, stop reading until it is flushed.
      const flushed = (): void => {
        if (!from.flushWait || dst.writableLength !== 0) return;
        if (gate?.blocked!()) {
          gate.whenWritable!(flushed);
          return;
        }
        from.flushWait = false;
        src.resume();
      };
      from.onRead = (chunk: Buffer) => {
        tapFrom?.data(fromDir, chunk);
        tapTo?.data(toDir, chunk);
        events.activity();
        dst.write(chunk, flushed);
        if (dst.writableLength > 0 || gate?.blocked!()) {
          from.flushWait = true;
          src.pause();
        }
      };
    } else {
      let waiting = false;
      const resume = (): void => {
        if (gate?.blocked!()) {
          if (!waiting) {
            waiting = true;
            gate.whenWritable!(() => { waiting = false; resume(); });
          }
          return;
        }
        if (dst.writableLength === 0 || !dst.writableNeedDrain) src.resume();
      };
      src.on('data', (chunk: Buffer) => {
        tapFrom?.data(fromDir, chunk);
        tapTo?.data(toDir, chunk);
        events.activity();
        if (!dst.write(chunk)) src.pause();
        else if (gate?.blocked!()) {
          src.pause();
          resume();
        }
      });
      dst.on('drain', resume);
    }
    src.on('end', () => {
      from.ended = true;
      // The peer's FIN on this leg, then the proxy's on the other once the bytes before it are out.
      tapFrom?.fin?.(fromDir);
      dst.end(() => {
        tapTo?.fin?.(toDir);
        if (!this.finished) this.o.events.drained();
      });
    });
    src.on('close', () => {
      from.closed = true;
      if (!from.ended) {
        // Closed without FIN (reset, or destroyed): the other side must not wait.
        dst.destroy();
      }
      if (this.legs.client.closed && this.legs.server.closed) this.finish(null, false);
    });
    src.resume();
  }

  private fail(reason: string): void {
    this.finish(reason, false);
  }

  private finish(failure: string | null, silent: boolean): void {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    const reset = failure !== null;
    for (const leg of [this.legs.client, this.legs.server]) {
      leg.listener?.close();
      leg.listener = null;
      const s = leg.sock ?? leg.raw;
      if (s && !s.destroyed) {
        if (reset && 'resetAndDestroy' in s && !leg.sock) (s as net.Socket).resetAndDestroy();
        else s.destroy();
      }
      if (leg.raw && !leg.raw.destroyed) leg.raw.destroy();
      leg.releaseRead?.();
      leg.releaseRead = null;
    }
    // A reset is the proxy's (it resets every leg when one fails): from direction 0 on a leg the proxy
    // opened, 1 on one it accepted. (Which peer reset first, if one did, is in the failure message.)
    if (this.legs.client.tapped) this.o.clientTap?.close(reset ? 'rst' : 'fin', this.legs.client.weConnected ? 0 : 1);
    if (this.legs.server.tapped) this.o.serverTap?.close(reset ? 'rst' : 'fin', this.legs.server.weConnected ? 0 : 1);
    if (!silent) this.o.events.done(failure);
  }
}

function newLeg(side: 'client' | 'server', plan: LegPlan): Leg {
  return { side, plan, listener: null, raw: null, sock: null, weConnected: false, ended: false, closed: false, tapped: false, flushWait: false, onRead: null, releaseRead: null };
}

const userReadSockets = new WeakSet<net.Socket>();

function isUserRead(sock: net.Socket | tls.TLSSocket): boolean {
  return userReadSockets.has(sock);
}

/** net's `onread` option for a plain leg: reads land in one buffer, handed to the leg's relay. */
function userRead(leg: Leg): { buffer: () => Buffer; callback: (n: number, buf: Buffer) => boolean } {
  let buf: Buffer | null = null;
  let filled = false;
  leg.releaseRead = () => {
    if (buf) readBufferGrowth -= buf.length - READ_BUFFER_MIN;
    buf = null;
  };
  return {
    // Called before the first read and after each one: the buffer for the next read.
    buffer: () => {
      if (buf === null) {
        buf = Buffer.allocUnsafe(READ_BUFFER_MIN);
      } else if (filled && buf.length < READ_BUFFER_MAX && readBufferGrowth + buf.length <= READ_BUFFER_BUDGET) {
        readBufferGrowth += buf.length;
        buf = Buffer.allocUnsafe(buf.length * 2);
      }
      filled = false;
      return buf;
    },
    callback: (n: number, b: Buffer) => {
      filled = n === b.length;
      leg.onRead?.(b.subarray(0, n));
      return true;
    },
  };
}

/**
 * An accepted socket cannot be given `onread` by net.Server, so its (paused, unread) handle is
 * moved to a socket that has it. Falls back to the accepted socket if the handle is not what
 * this Node version's net module uses. This reaches into `_handle`, which nothing public offers
 * instead; it pays for itself: a 400 MB active-mode download (the server's leg is accepted) went
 * through at 20% of direct without it and 49% with it (bench:proxy --data-mode active, 5 runs,
 * 2026-12-07).
 */
function adoptWithUserRead(sock: net.Socket, leg: Leg): net.Socket {
  const owner = sock as unknown as { _handle: { useUserBuffer?: unknown } | null };
  const handle = owner._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return sock;
  const adopted = new net.Socket({ handle, allowHalfOpen: true, pauseOnCreate: true, onread: userRead(leg) } as net.SocketConstructorOpts);
  owner._handle = null;
  sock.destroy();
  userReadSockets.add(adopted);
  return adopted;
}

function listenAny(srv: net.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen({ host, port: 0 }, () => {
      srv.off('error', reject);
      resolve((srv.address() as net.AddressInfo).port);
    });
  });
}

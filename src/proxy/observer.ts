/**
 * Turns the proxy's socket traffic into the stream events a capture would give (open / data /
 * close per TCP connection) for the FTP analyzer, and into synthesized packets for --record.
 * Only client-facing legs go to the analyzer (so sessions look as the client saw them); every
 * leg goes to the recording.
 */
import type { FtpAnalyzer } from '../analysis/analyzer.js';
import type { ExpiryClock } from '../analysis/clock.js';
import type { Endpoint, OriginalServer, Session } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import { MAX_TEARDOWN_EVENTS, type TeardownEvent } from '../model/tcp-facts.js';
import type { CloseReason, Dir, TcpConnection } from '../tcp/events.js';
import { createConnection } from '../tcp/connection.js';
import { PAYLOAD_ON_CLIENT_LEG, proxyLegComment, type ProxyLegKind } from '../analysis/proxy-legs.js';
import { WINDOW, type Recorder, type RecordedConnection, type SynthesizedPacket } from './recorder.js';
import { TCP_ACK, TCP_FIN, TCP_RST } from './packets.js';
import type { LegTap } from './data.js';

export class ProxyObserver {
  private nextConnId = 1;

  constructor(
    readonly analyzer: FtpAnalyzer,
    /** Drives expiry from the events' times (the one clock). */
    readonly clock: ExpiryClock,
    private readonly recorder: Recorder | null,
    /** Analyzed legs' synthesized packets go to their sessions' packet lists (the dashboard). */
    readonly keepPackets = false,
    /** --record-server-payload: server-facing data legs keep their payload too (by default cut to their headers). */
    readonly serverDataPayload = false,
  ) {}

  /**
   * A leg; `analyzed` legs are fed to the analyzer, all legs are recorded. A server-facing leg
   * names its session (`link`) in the recording.
   */
  leg(analyzed: boolean, link: LegLink | null = null): ObservedLeg {
    return new ObservedLeg(this, analyzed, link);
  }

  /** @internal */ newConnId(): number { return this.nextConnId++; }
  /** @internal */ get rec(): Recorder | null { return this.recorder; }

  /** A proxy finding about the session whose control connection is `conn` (through the analyzer, which logs it). */
  sessionFinding(conn: TcpConnection | null, f: Finding): void {
    this.analyzer.sourceFinding(conn, f);
  }

  /** The proxy terminated this control connection's TLS. */
  sessionTls(conn: TcpConnection | null, info: { sni: string | null; version: string | null }): void {
    if (conn) this.analyzer.sourceTls(conn, info);
  }
}

/** A server-facing leg's session: the client-facing control leg it serves, and what kind of leg it is. */
export interface LegLink {
  kind: ProxyLegKind;
  session: ObservedLeg;
}

export class ObservedLeg implements LegTap {
  conn: TcpConnection | null = null;
  private recConn: RecordedConnection | null = null;
  private closed = false;
  private opened = false;
  /** Which sides have sent their FIN (the teardown facts and the recording follow each one). */
  private readonly finSent: [boolean, boolean] = [false, false];

  constructor(private readonly obs: ProxyObserver, private readonly analyzed: boolean, private readonly link: LegLink | null = null) {}

  open(client: Endpoint, server: Endpoint, peerDialled = false): void {
    const ts = now();
    this.obs.clock.advance(ts);
    const rec = this.obs.rec;
    // The handshake's packets are synthesized before the connection exists for the analyzer: held until it does.
    const early: SynthesizedPacket[] = [];
    const onPacket = this.analyzed && this.obs.keepPackets
      ? (p: SynthesizedPacket) => (this.opened ? this.packetRef(this.conn!, p) : early.push(p))
      : undefined;
    // A server-facing leg names its session on its SYN, so a report of the recording shows one session, not two halves.
    const session = this.link?.session.conn;
    // Forward mode: the name the user typed for the server goes with the control leg.
    const name = session && this.link!.kind === 'control' ? this.obs.analyzer.sessionOf(session)?.originalServer?.name : undefined;
    // A server-facing data leg carries the bytes of its client-facing leg: recorded once, there (recorder.ts).
    const payload = this.link?.kind !== 'data' || this.obs.serverDataPayload;
    const comment = session
      ? proxyLegComment({ kind: this.link!.kind, client: session.client, server: session.server, name, serverDialled: peerDialled }) + (payload ? '' : `\n${PAYLOAD_ON_CLIENT_LEG}`)
      : undefined;
    this.recConn = rec ? rec.open(client, server, ts, { onPacket, comment, payload }) : null;
    const frame = this.recConn ? this.recConn.synFrame : null;
    const conn = createConnection(this.obs.newConnId(), client, server, ts, frame);
    // The proxy accepted or made this connection: its handshake happened, whether recorded or not.
    conn.handshake.seen = true;
    if (this.recConn) {
      // The synthesized handshake's facts, as a capture of it would give them.
      const hs = conn.handshake;
      const r = this.recConn;
      hs.synFrame = r.synFrame;
      hs.synAckFrame = r.synFrame + 1;
      hs.ackFrame = r.synFrame + 2;
      hs.synTs = hs.synAckTs = hs.ackTs = ts;
      hs.isn = [r.isn[0], r.isn[1]];
      hs.options = [{ mss: r.mss }, { mss: r.mss }];
      hs.window = [WINDOW, WINDOW];
      conn.lastFrame = r.synFrame + 2;
    }
    this.conn = conn;
    if (this.analyzed) safe(() => this.obs.analyzer.open(conn, ts, frame));
    this.opened = true;
    for (const p of early) this.packetRef(conn, p);
  }

  private packetRef(conn: TcpConnection, p: SynthesizedPacket): void {
    safe(() => this.obs.analyzer.addPacket(conn, p.dir, {
      frame: p.frame, ts: p.ts, flags: p.flags, seq: p.seq, ack: p.ack, len: p.len, window: WINDOW, fileOffset: -1,
    }));
  }

  /**
   * The session of this (client-facing control) leg is relayed to `server`: the address the
   * client dialled (transparent), the USER name@host destination (forward), or --upstream.
   */
  upstream(server: OriginalServer): void {
    const conn = this.conn;
    if (!conn || !this.analyzed) return;
    const ts = now();
    safe(() => this.obs.analyzer.setOriginalServer(conn, server, ts));
  }

  data(dir: Dir, bytes: Buffer): void {
    const conn = this.conn;
    // Nothing follows a FIN in its direction (a write after end() never reaches the peer).
    if (!conn || this.closed || bytes.length === 0 || this.finSent[dir]) return;
    const ts = now();
    this.obs.clock.advance(ts);
    const frame = this.recConn ? this.obs.rec!.data(this.recConn, dir, bytes, ts) : null;
    conn.bytes[dir] += bytes.length;
    conn.end = ts;
    conn.packets++;
    if (conn.firstPayload[dir] === null) conn.firstPayload[dir] = { frame, ts };
    // As the TCP layer keeps it: the last segment that carried new bytes (the chunk's last data segment, before its ACK).
    const lastData = frame !== null ? this.obs.rec!.frameCount - 1 : null;
    const last = conn.lastPayload[dir];
    if (last === null) conn.lastPayload[dir] = { frame: lastData, ts };
    else {
      last.frame = lastData;
      last.ts = ts;
    }
    if (frame !== null) conn.lastFrame = this.obs.rec!.frameCount;
    if (!this.analyzed) return;
    // Inline rather than safe(): this runs for every chunk of every transfer.
    try {
      this.obs.analyzer.data(conn, dir, bytes, 0, bytes.length, ts, frame);
    } catch (e) {
      analysisError(e);
    }
  }

  /**
   * One side's FIN (`dir`: 0 from the side that opened the leg): the peer's FIN as the proxy
   * received it, or the proxy's own as it sent it. Recorded with the ACK that answers it, and
   * kept as teardown facts, so the ladder and the handshake view draw it as for a capture.
   */
  fin(dir: Dir): void {
    const conn = this.conn;
    if (!conn || this.closed || this.finSent[dir]) return;
    const ts = now();
    this.obs.clock.advance(ts);
    this.finStep(conn, dir, ts);
  }

  /**
   * The leg is gone: FINs not yet sent follow (the side that opened it first), or one RST from
   * `by` (0: the side that opened it), the proxy's side when it tears the leg down.
   */
  close(reason: CloseReason, by: Dir = 0): void {
    const conn = this.conn;
    if (!conn || this.closed) return;
    const ts = now();
    this.obs.clock.advance(ts);
    const before = this.obs.rec?.frameCount ?? 0;
    if (reason === 'rst') {
      const frame = this.recConn ? this.obs.rec!.segment(this.recConn, by, TCP_RST | TCP_ACK, ts) : null;
      if (conn.rstFrame === null) {
        conn.rstFrame = frame;
        conn.rstBy = by;
        teardownStep(conn, 'rst', by, frame, ts);
      }
    } else {
      for (const d of [0, 1] as const) if (!this.finSent[d]) this.finStep(conn, d, ts);
    }
    this.closed = true;
    conn.end = ts;
    conn.closeReason = reason;
    const first = this.recConn && this.obs.rec!.frameCount > before ? before + 1 : null;
    if (this.analyzed) safe(() => this.obs.analyzer.close(conn, reason, ts, first));
  }

  /** True while the recording is behind and wants the relays to stop reading (backpressure). */
  blocked(): boolean {
    return this.obs.rec?.congested === true;
  }

  /** Calls `cb` once the recording has caught up. */
  whenWritable(cb: () => void): void {
    const rec = this.obs.rec;
    if (rec) rec.whenWritable(cb);
    else cb();
  }

  /** A FIN from `dir` and the peer's ACK of it, in the recording and in the teardown facts. */
  private finStep(conn: TcpConnection, dir: Dir, ts: number): void {
    const rec = this.obs.rec;
    const rc = this.recConn;
    const peer: Dir = dir === 0 ? 1 : 0;
    this.finSent[dir] = true;
    const finFrame = rc ? rec!.segment(rc, dir, TCP_FIN | TCP_ACK, ts) : null;
    if (conn.finFrame[dir] === null) conn.finFrame[dir] = finFrame;
    teardownStep(conn, 'fin', dir, finFrame, ts);
    const ackFrame = rc ? rec!.segment(rc, peer, TCP_ACK, ts) : null;
    teardownStep(conn, 'ack', peer, ackFrame, ts);
    conn.end = ts;
    if (ackFrame !== null) conn.lastFrame = ackFrame;
  }

  get session(): Session | null {
    return this.conn ? this.obs.analyzer.sessionOf(this.conn) : null;
  }
}

/** As the TCP layer records a capture's teardown (src/tcp/flow.ts), bounded the same way. */
function teardownStep(conn: TcpConnection, kind: TeardownEvent['kind'], dir: Dir, frame: number | null, ts: number): void {
  if (conn.teardown.length < MAX_TEARDOWN_EVENTS) conn.teardown.push({ kind, dir, frame, ts });
}

function now(): number {
  return Date.now() / 1000;
}

/** The analysis must never take the relay down: a bug there costs the view, not the traffic. */
function safe(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    analysisError(e);
  }
}

function analysisError(e: unknown): void {
  if (process.env.FTPSCOPE_DEBUG) process.stderr.write(`ftpscope proxy: analysis error: ${(e as Error).stack}\n`);
}

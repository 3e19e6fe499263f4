/**
 * Turns the proxy's socket traffic into the stream events a capture would give (open / data /
 * close per TCP connection) for the FTP analyzer, and into synthesized packets for --record.
 * Only client-facing legs go to the analyzer (so sessions look as the client saw them); every
 * leg goes to the recording.
 */
import type { FtpAnalyzer } from '../analysis/analyzer.js';
import type { ExpiryClock } from '../analysis/clock.js';
import type { Endpoint, Session } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import type { CloseReason, Dir, TcpConnection } from '../tcp/events.js';
import { createConnection } from '../tcp/connection.js';
import { WINDOW, type Recorder, type RecordedConnection, type SynthesizedPacket } from './recorder.js';
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
  ) {}

  /** A leg; `analyzed` legs are fed to the analyzer, all legs are recorded. */
  leg(analyzed: boolean): ObservedLeg {
    return new ObservedLeg(this, analyzed);
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

export class ObservedLeg implements LegTap {
  conn: TcpConnection | null = null;
  private recConn: RecordedConnection | null = null;
  private closed = false;
  private opened = false;

  constructor(private readonly obs: ProxyObserver, private readonly analyzed: boolean) {}

  open(client: Endpoint, server: Endpoint): void {
    const ts = now();
    this.obs.clock.advance(ts);
    const rec = this.obs.rec;
    // The handshake's packets are synthesized before the connection exists for the analyzer: held until it does.
    const early: SynthesizedPacket[] = [];
    const onPacket = this.analyzed && this.obs.keepPackets
      ? (p: SynthesizedPacket) => (this.opened ? this.packetRef(this.conn!, p) : early.push(p))
      : undefined;
    this.recConn = rec ? rec.open(client, server, ts, onPacket) : null;
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

  data(dir: Dir, bytes: Buffer): void {
    const conn = this.conn;
    if (!conn || this.closed || bytes.length === 0) return;
    const ts = now();
    this.obs.clock.advance(ts);
    const frame = this.recConn ? this.obs.rec!.data(this.recConn, dir, bytes, ts) : null;
    conn.bytes[dir] += bytes.length;
    conn.end = ts;
    conn.packets++;
    if (frame !== null) conn.lastFrame = frame;
    if (!this.analyzed) return;
    // Inline rather than safe(): this runs for every chunk of every transfer.
    try {
      this.obs.analyzer.data(conn, dir, bytes, 0, bytes.length, ts, frame);
    } catch (e) {
      analysisError(e);
    }
  }

  close(reason: CloseReason): void {
    const conn = this.conn;
    if (!conn || this.closed) return;
    this.closed = true;
    const ts = now();
    this.obs.clock.advance(ts);
    const frame = this.recConn ? this.obs.rec!.close(this.recConn, reason === 'rst' ? 'rst' : 'fin', ts) : null;
    conn.end = ts;
    conn.closeReason = reason;
    if (frame !== null) conn.lastFrame = frame;
    if (this.analyzed) safe(() => this.obs.analyzer.close(conn, reason, ts, frame));
  }

  get session(): Session | null {
    return this.conn ? this.obs.analyzer.sessionOf(this.conn) : null;
  }
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

import type { FastPacket } from '../dissect/types.js';
import type { PacketRecord } from '../capture/types.js';
import type { CloseReason, Dir, StreamHandler, TcpConnection } from '../tcp/events.js';
import type {
  Analysis, AnalysisEvent, DataConnection, DataSink, Endpoint, Session, SourceInfo, UnseenTransfer,
} from '../model/types.js';
import type { FtpRole } from '../model/packet-facts.js';
import { copyTcpFacts } from '../model/tcp-facts.js';
import { PacketTable, type RowInput } from './packet-table.js';
import { finding, pushFinding, MAX_FINDINGS_PER_OWNER, type Finding } from '../model/findings.js';
import { FtpSession, type DataSlot, type SessionEffect } from '../ftp/session.js';
import { ExpectationTable } from '../ftp/pairing.js';
import { TransferAccumulator } from '../ftp/transfer.js';
import { looksLikeClientCommand, looksLikeServerGreeting } from '../ftp/detect.js';
import { dataDirOf, transferAnalysisOf, transferFindings } from './diagnosis.js';

export interface AnalyzerOptions {
  sourceType: SourceInfo['type'];
  sourceName: string;
  /** Control ports besides 21. */
  ftpPorts?: number[];
  /** Keep the per-packet fact table and each session's packet list (the dashboard, inspect). */
  keepPackets?: boolean;
  maxPacketsPerSession?: number;
  /** Rows of the per-packet fact table kept (newest). */
  maxPacketRows?: number;
  /** Keep facts for the packets of every TCP connection, FTP or not (inspect). */
  factsForAllConnections?: boolean;
  onEvent?: (ev: AnalysisEvent) => void;
  openDataSink?: (session: Session | null, dc: DataConnection) => DataSink | null;
  /** Seconds an unused PASV/PORT expectation is kept (Zeek: 5 minutes). */
  expectationLifetimeSec?: number;
  /**
   * Hand each session over once it is final (control closed, every data connection settled)
   * and forget it, so memory stays bounded whatever the capture size. `analysis().sessions`
   * then holds only the sessions still open.
   */
  retireSession?: (s: Session) => void;
  /** Control TLS is terminated by the source and its bytes come decrypted (see FtpSessionOptions). */
  tlsDecrypted?: boolean;
  /**
   * Keep each transfer diagnosis' throughput timeline (graphs). Default: with keepPackets (the
   * dashboard); reports ask for it with --graphs.
   */
  transferTimelines?: boolean;
}

interface ControlRole {
  kind: 'control';
  session: Session;
  conn: TcpConnection;
  machine: FtpSession;
  /** Slots with a transfer command whose data connection never showed up yet. */
  waiting: Set<DataSlot>;
}

interface DataRole {
  kind: 'data';
  dc: DataConnection;
  conn: TcpConnection;
  owner: ControlRole | null;
  slot: DataSlot | null;
  acc: TransferAccumulator;
  /** The FTP server is the TCP client in active mode (it connects to the FTP client). */
  ftpServerIsTcpClient: boolean;
  sink: DataSink | null;
  sinkDir: Dir | null;
  closed: boolean;
  finalized: boolean;
  digest: string | null;
  /** A TLS session's data connection: bytes are ciphertext. */
  encrypted: boolean;
}

/** A connection not yet known to be FTP: kept briefly to detect FTP on any port. */
interface CandidateRole {
  kind: 'candidate';
  chunks: { dir: Dir; bytes: Buffer; ts: number; frame: number | null }[];
  buffered: number;
  decided: [boolean, boolean];
  acc: TransferAccumulator;
}

interface OtherRole {
  kind: 'other';
  acc: TransferAccumulator;
}

type Role = ControlRole | DataRole | CandidateRole | OtherRole;

const DETECT_BYTES = 4096;
const MAX_UNPAIRED = 10_000;
const REPEATED_LOGIN_FAILURES = 3;
const MAX_LOGIN_FAILURE_KEYS = 10_000;
/** Addresses remembered as FTP peers (for guessing unpaired connections' roles); the oldest are forgotten. */
const MAX_FTP_HOSTS = 65_536;
/** Server endpoints recognised as FTP control on a port not given as one; the oldest are forgotten. */
const MAX_CONTROL_SERVERS = 65_536;

/**
 * The FTP layer: takes TCP stream events (from a capture's TCP tracker or from the proxy),
 * runs one FtpSession per control connection, pairs data connections through the
 * expectation table, measures transfers, and keeps the model. No I/O.
 */
export class FtpAnalyzer implements StreamHandler {
  private readonly sessions: Session[] = [];
  private readonly controls = new Set<ControlRole>();
  private readonly candidates = new Set<TcpConnection>();
  private readonly unpaired: DataConnection[] = [];
  private readonly expectations: ExpectationTable<ControlRole>;
  private readonly ftpPorts: Set<number>;
  private readonly ftpHosts = new Set<string>();
  /** "ip port" of servers whose control connections were recognised by their greeting or first command. */
  private readonly controlServers = new Set<string>();
  /** Data connections not yet final, and the role that settles each. */
  private readonly openData = new Map<DataConnection, DataRole>();
  /** The per-packet facts (with keepPackets). */
  readonly packetTable: PacketTable | null;
  /** Failed logins by "client server" address pair. */
  private readonly loginFailures = new Map<string, { count: number; sessions: Set<number>; reported: boolean }>();
  readonly findings: Finding[] = [];
  readonly source: SourceInfo;
  private nextSessionId = 1;
  private finished = false;
  private retiredCount = 0;
  /** See AnalyzerOptions.transferTimelines. */
  private readonly timelines: boolean;

  constructor(private readonly opts: AnalyzerOptions) {
    this.ftpPorts = new Set([21, ...(opts.ftpPorts ?? [])]);
    this.timelines = opts.transferTimelines ?? opts.keepPackets === true;
    this.expectations = new ExpectationTable({ lifetimeSec: opts.expectationLifetimeSec ?? 300 });
    this.source = { type: opts.sourceType, name: opts.sourceName, packets: 0, bytes: 0, linkTypes: [], truncated: false };
    this.packetTable = opts.keepPackets || opts.factsForAllConnections
      ? new PacketTable({ maxRows: opts.maxPacketRows, maxRowsPerSession: opts.maxPacketsPerSession })
      : null;
  }

  /** The FTP session a control connection carries, or null (e.g. for the proxy's own findings). */
  sessionOf(conn: TcpConnection): Session | null {
    const role = conn.tag as Role | undefined;
    return role?.kind === 'control' ? role.session : null;
  }

  isFtpPort(port: number): boolean {
    return this.ftpPorts.has(port);
  }

  // ---- StreamHandler ------------------------------------------------------------------

  open(conn: TcpConnection, ts: number, frame: number | null): void {
    // The diagnosis keeps a throughput timeline only where something will draw it.
    if (!this.timelines && conn.analysis) conn.analysis.diagnosis.timelines = false;
    if (this.ftpPorts.has(conn.server.port) || this.controlServers.has(endpointKey(conn.server))) {
      this.startControl(conn);
      return;
    }
    const match = this.expectations.take(conn.client.ip, conn.server.ip, conn.server.port, ts);
    if (match) {
      const role = this.startData(conn, match.expectation.owner, match.expectation.slot as DataSlot);
      if (!match.exact) {
        const e = match.expectation;
        this.sessionFinding(e.owner, finding('info', 'data-at-control-address',
          `data connection ${role.dc.id} went to ${conn.server.ip}:${conn.server.port}, the control connection's address, not the announced ${e.listenerIp} (${e.setup}): the ${e.setup === 'PASV' || e.setup === 'EPSV' || e.setup === 'LPSV' ? 'client ignored the announced address' : "announced address was translated by NAT"}; paired by port`, frame));
      }
      return;
    }
    const tlsOwner = this.tlsSessionOf(conn);
    if (tlsOwner) {
      this.startTlsData(conn, tlsOwner.role, tlsOwner.mode, ts);
      return;
    }
    conn.tag = { kind: 'candidate', chunks: [], buffered: 0, decided: [false, false], acc: new TransferAccumulator() } satisfies CandidateRole;
    this.candidates.add(conn);
    this.packetTable?.follow(conn.id, { channel: 'candidate', session: null, dataConnection: null, initiatorRole: null });
  }

  data(conn: TcpConnection, dir: Dir, buf: Buffer, start: number, end: number, ts: number, frame: number | null): void {
    const role = conn.tag as Role | undefined;
    if (!role) return;
    if (role.kind === 'control') {
      this.apply(role, role.machine.push(dir, buf, ts, frame, start, end));
      return;
    }
    const bytes = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    switch (role.kind) {
      case 'data':
        this.dataBytes(role, dir, bytes);
        return;
      case 'candidate':
        this.candidateBytes(conn, role, dir, bytes, ts, frame);
        return;
      case 'other':
        role.acc.data(dir, bytes);
        return;
    }
  }

  gap(conn: TcpConnection, dir: Dir, length: number, ts: number, frame: number | null): void {
    const role = conn.tag as Role | undefined;
    if (!role) return;
    if (role.kind === 'control') this.apply(role, role.machine.gap(dir, length, frame));
    else if (role.kind === 'data' || role.kind === 'other' || role.kind === 'candidate') role.acc.gap(dir, length);
  }

  close(conn: TcpConnection, reason: CloseReason, ts: number, frame: number | null): void {
    const role = conn.tag as Role | undefined;
    if (!role) return;
    if (role.kind === 'control') {
      this.endControl(role, conn, ts, frame);
    } else if (role.kind === 'data') {
      role.closed = true;
      role.dc.closeReason = reason;
      role.dc.end = Math.max(role.dc.end, conn.end);
      role.dc.tcp = copyTcpFacts(conn);
      role.dc.tcpAnalysis = transferAnalysisOf(conn, true, dataDirOf(role.slot?.direction ?? role.dc.direction, role.dc.opener), this.timelines);
      const fileDir = TransferAccumulator.fileDirection(role.dc.direction, role.ftpServerIsTcpClient, role.acc);
      role.digest = role.acc.finish(role.dc, fileDir);
      // The final reply (226) usually follows the data connection's FIN: wait for it.
      if (!role.slot?.command || role.slot.finalReply || role.owner?.session.closed) this.finalizeData(role);
    } else if (role.kind === 'candidate') {
      this.candidates.delete(conn);
      this.endCandidate(conn, role.acc, reason);
    } else {
      this.endCandidate(conn, role.acc, reason);
    }
  }

  packet(conn: TcpConnection, dir: Dir, pkt: FastPacket, rec: PacketRecord): void {
    const table = this.packetTable;
    if (table === null) return;
    if (this.opts.factsForAllConnections && !table.entry(conn.id)) {
      table.follow(conn.id, { channel: 'other', session: null, dataConnection: null, initiatorRole: null });
    }
    table.add(conn, dir, {
      frame: rec.frame, ts: rec.ts, fileOffset: rec.fileOffset, flags: pkt.flags, seq: pkt.seq, ack: pkt.ack,
      len: pkt.payloadWireLength, window: pkt.window, analysis: conn.analysis?.result,
    });
  }

  /** A packet of `conn` known other than from a capture (the proxy's synthesized ones), for the fact table. */
  addPacket(conn: TcpConnection, dir: Dir, row: RowInput): void {
    this.packetTable?.add(conn, dir, row);
  }

  // ---- lifecycle ----------------------------------------------------------------------

  /** Expire unused expectations (live sources call this periodically; captures per chunk). */
  expire(now: number): void {
    for (const e of this.expectations.expire(now)) {
      const slot = e.slot as DataSlot;
      if (slot.command && slot.connections.length === 0 && e.owner.waiting.has(slot)) {
        e.owner.waiting.delete(slot);
        this.reportNeverOpened(e.owner, slot);
      }
    }
  }

  /** Close everything still open and settle every transfer. Idempotent. */
  finish(): Analysis {
    if (!this.finished) {
      this.finished = true;
      for (const role of [...this.controls]) this.endControl(role, role.conn, role.session.end, null);
      for (const conn of this.candidates) {
        const role = conn.tag as CandidateRole;
        this.endCandidate(conn, role.acc, conn.closeReason ?? 'end');
      }
      this.candidates.clear();
      if (this.expectations.evicted > 0) {
        this.addGlobalFinding(finding('warning', 'expectations-evicted',
          `${this.expectations.evicted} PASV/PORT expectations were dropped because the table was full; some data connections may be unpaired`));
      }
    }
    return this.analysis();
  }

  /** The model as it stands (a live snapshot, or the final result after finish()). */
  analysis(): Analysis {
    if (!this.finished) this.refreshTcpFacts();
    return {
      source: this.source,
      sessions: this.sessions,
      unpairedDataConnections: this.unpaired,
      findings: this.findings,
    };
  }

  /** Open connections' TCP facts as they stand now (views read copies, never the live records). */
  private refreshTcpFacts(): void {
    for (const role of this.controls) role.session.tcp = copyTcpFacts(role.conn);
    for (const role of this.openData.values()) if (!role.closed) role.dc.tcp = copyTcpFacts(role.conn);
  }

  addGlobalFinding(f: Finding): void {
    if (pushFinding(this.findings, f)) this.emit({ type: 'finding', session: null, finding: f });
  }

  // ---- control ------------------------------------------------------------------------

  private startControl(conn: TcpConnection): ControlRole {
    const session: Session = {
      id: this.nextSessionId++,
      client: { ...conn.client },
      server: { ...conn.server },
      start: conn.start,
      end: conn.end,
      user: null,
      loggedIn: null,
      tls: false,
      tlsInfo: null,
      handshake: { seen: false, rttMs: null, mss: null },
      greeting: null,
      commands: [],
      unsolicitedReplies: [],
      dataConnections: [],
      unseenTransfers: [],
      findings: [],
      controlBytes: [0, 0],
      closed: false,
      packets: null,
      tcp: copyTcpFacts(conn),
      // Set when the connection closes; in the literal so that every session has one shape from the start.
      controlTcpAnalysis: null,
    };
    this.updateHandshake(session, conn);
    const lineEffects = this.opts.onEvent !== undefined || this.packetTable !== null;
    const role: ControlRole = { kind: 'control', session, conn, machine: new FtpSession(session, { tlsDecrypted: this.opts.tlsDecrypted, lineEffects }), waiting: new Set() };
    conn.tag = role;
    if (this.packetTable) {
      this.packetTable.follow(conn.id, { channel: 'control', session, dataConnection: null, initiatorRole: 'client' });
      session.packets = this.packetTable.listOf(session);
    }
    this.sessions.push(session);
    this.controls.add(role);
    this.noteFtpHost(conn.client.ip);
    this.noteFtpHost(conn.server.ip);
    if (!conn.handshake.seen && conn.handshake.synFrame === null) {
      this.sessionFinding(role, finding('info', 'capture-mid-session',
        `the capture starts in the middle of this control connection: commands before it are not seen`, conn.firstFrame));
    }
    this.emit({ type: 'session-open', session });
    return role;
  }

  private endControl(role: ControlRole, conn: TcpConnection, ts: number, frame: number | null): void {
    if (!this.controls.has(role)) return;
    this.controls.delete(role);
    const s = role.session;
    this.updateHandshake(s, conn);
    s.end = Math.max(s.end, conn.end);
    s.tcp = copyTcpFacts(conn);
    s.controlTcpAnalysis = transferAnalysisOf(conn, true, undefined, this.timelines);
    if (s.controlTcpAnalysis) {
      for (const f of transferFindings(s.controlTcpAnalysis, { initiatorRole: 'client', what: 'the control connection', data: false })) this.sessionFinding(role, f);
    }
    this.apply(role, role.machine.end(ts, frame));
    if (conn.closeReason === 'rst') {
      this.sessionFinding(role, finding('warning', 'control-reset', `the control connection was reset (RST) by the ${conn.rstBy === 0 ? 'client' : 'server'}`, conn.rstFrame));
    }
    for (const slot of role.waiting) this.reportNeverOpened(role, slot);
    role.waiting.clear();
    // Data connections of this session still waiting for a final reply are settled now.
    for (const dc of s.dataConnections) {
      const dr = this.openData.get(dc);
      if (dr && dr.closed && !dr.finalized) this.finalizeData(dr);
    }
    this.expectations.removeOwner(role);
    this.emit({ type: 'session-close', session: s });
    this.maybeRetire(s);
  }

  /** Retire a closed session whose data connections are all settled (when retiring is on). */
  private maybeRetire(s: Session): void {
    const retire = this.opts.retireSession;
    if (!retire || !s.closed) return;
    for (const dc of s.dataConnections) if (this.openData.has(dc)) return;
    const i = this.sessions.lastIndexOf(s);
    if (i < 0) return;
    this.sessions.splice(i, 1);
    this.retiredCount++;
    retire(s);
  }

  /** Sessions handed to retireSession so far. */
  get retired(): number {
    return this.retiredCount;
  }

  private updateHandshake(s: Session, conn: TcpConnection): void {
    const h = conn.handshake;
    const mssC = h.options[0]?.mss;
    const mssS = h.options[1]?.mss;
    s.handshake = {
      seen: h.seen,
      rttMs: h.rttMs,
      mss: mssC !== undefined && mssS !== undefined ? [mssC, mssS] : null,
    };
    s.start = conn.start;
  }

  private apply(role: ControlRole, effects: readonly SessionEffect[]): void {
    // Indexed: for-of over the shared frozen empty list allocates an iterator per call.
    for (let i = 0; i < effects.length; i++) {
      const ef = effects[i]!;
      switch (ef.type) {
        case 'command':
          this.packetTable?.noteLine(ef.command.frame, { kind: 'command', command: ef.command });
          this.emit({ type: 'command', session: role.session, command: ef.command });
          break;
        case 'reply':
          this.packetTable?.noteLine(ef.reply.frame, { kind: 'reply', reply: ef.reply, command: ef.command });
          this.emit({ type: 'reply', session: role.session, command: ef.command, reply: ef.reply });
          break;
        case 'finding':
          this.emit({ type: 'finding', session: role.session, finding: ef.finding });
          if (ef.finding.code === 'login-failed') this.countLoginFailure(role.session, ef.finding);
          break;
        case 'expect':
          this.expect(role, ef.slot);
          break;
        case 'bind':
          this.bind(role, ef.slot);
          break;
        case 'transfer-done':
          this.transferDone(role, ef.slot);
          break;
        case 'tls':
          if (!this.opts.tlsDecrypted) this.packetTable?.tlsAfter(role.conn.id, ef.frame);
          break;
      }
    }
  }

  /**
   * Failed logins per client/server address pair across sessions: one connection per guess is how
   * password guessing usually looks (FtpSession reports repeated failures within one session itself).
   */
  private countLoginFailure(s: Session, f: Finding): void {
    const key = `${s.client.ip} ${s.server.ip}`;
    let entry = this.loginFailures.get(key);
    if (!entry) {
      if (this.loginFailures.size >= MAX_LOGIN_FAILURE_KEYS) return;
      this.loginFailures.set(key, (entry = { count: 0, sessions: new Set(), reported: false }));
    }
    entry.count++;
    if (entry.sessions.size < REPEATED_LOGIN_FAILURES) entry.sessions.add(s.id);
    if (!entry.reported && entry.count >= REPEATED_LOGIN_FAILURES && entry.sessions.size > 1) {
      entry.reported = true;
      this.addGlobalFinding(finding('error', 'login-repeated-failures',
        `${entry.count} failed logins from ${s.client.ip} to ${s.server.ip} in ${entry.sessions.size} sessions (latest: session ${s.id}, user ${JSON.stringify(s.user ?? '')}): password guessing?`, f.frame));
    }
  }

  private expect(role: ControlRole, slot: DataSlot): void {
    const s = role.session;
    const passive = slot.mode === 'passive';
    this.expectations.add({
      owner: role,
      setup: slot.setup ?? 'PORT',
      listenerIp: slot.announced.ip,
      listenerPort: slot.announced.port,
      controlIp: passive ? s.server.ip : s.client.ip,
      peerIp: passive ? s.client.ip : s.server.ip,
      created: slot.setupTs,
      frame: slot.setupFrame,
      slot,
    });
    this.noteFtpHost(slot.announced.ip);
  }

  private noteFtpHost(ip: string): void {
    const hosts = this.ftpHosts;
    if (hosts.has(ip)) return;
    if (hosts.size >= MAX_FTP_HOSTS) hosts.delete(hosts.values().next().value!);
    hosts.add(ip);
  }

  private bind(role: ControlRole, slot: DataSlot): void {
    if (slot.connections.length === 0) role.waiting.add(slot);
    for (const dc of slot.connections) this.copySlot(dc, slot);
  }

  private transferDone(role: ControlRole, slot: DataSlot): void {
    role.waiting.delete(slot);
    const r = slot.finalReply!;
    if (slot.connections.length === 0) {
      if (r.code >= 200 && r.code < 300) {
        this.sessionFinding(role, finding('warning', 'data-connection-not-seen',
          `${slot.command?.verb} ${slot.command?.arg ?? ''} succeeded (${r.code}) but its data connection is not in the capture: the capture filter or capture point missed it`, r.frame));
        this.noteUnseen(role, slot);
      }
      return;
    }
    for (const dc of slot.connections) {
      this.copySlot(dc, slot);
      const dr = this.openData.get(dc);
      if (dr && dr.closed && !dr.finalized) this.finalizeData(dr);
    }
  }

  /** A transfer whose data connection was announced but is not in the capture: a row of its own in views. */
  private noteUnseen(role: ControlRole, slot: DataSlot): void {
    const list = role.session.unseenTransfers;
    if (!slot.command || list.length >= MAX_FINDINGS_PER_OWNER) return;
    const c = slot.command;
    const r = slot.finalReply;
    const entry: UnseenTransfer = {
      command: { verb: c.verb, arg: c.arg, frame: c.frame },
      setup: slot.setup,
      mode: slot.mode,
      announced: { ip: slot.announced.ip, port: slot.announced.port },
      finalReply: r ? { code: r.code, text: r.text, frame: r.frame } : null,
    };
    list.push(entry);
  }

  private reportNeverOpened(role: ControlRole, slot: DataSlot): void {
    this.noteUnseen(role, slot);
    if (slot.finalReply?.code === 425) return; // already reported from the 425
    const c = slot.command!;
    this.sessionFinding(role, finding('error', 'data-connection-not-opened',
      `${c.verb} ${c.arg ?? ''} expected a ${slot.mode} data connection to ${slot.announced.ip}:${slot.announced.port}${slot.setup ? ` (${slot.setup})` : ''} but none was opened: a firewall or NAT dropped it, or the announced address is unreachable`, c.frame));
  }

  private sessionFinding(role: ControlRole, f: Finding): void {
    if (pushFinding(role.session.findings, f)) this.emit({ type: 'finding', session: role.session, finding: f });
  }

  // ---- data ---------------------------------------------------------------------------

  private startData(conn: TcpConnection, owner: ControlRole, slot: DataSlot): DataRole {
    const s = owner.session;
    const dc = newDataConnection(s.dataConnections.length + 1, conn);
    dc.mode = slot.mode;
    dc.setup = slot.setup;
    dc.setupFrame = slot.setupFrame;
    dc.opener = slot.mode === 'active' ? 'server' : 'client';
    const role: DataRole = {
      kind: 'data', dc, conn, owner, slot, acc: new TransferAccumulator(),
      ftpServerIsTcpClient: slot.mode === 'active', sink: null, sinkDir: null, closed: false, finalized: false, digest: null,
      encrypted: false,
    };
    conn.tag = role;
    this.openData.set(dc, role);
    this.packetTable?.follow(conn.id, { channel: 'data', session: s, dataConnection: dc.id, initiatorRole: dc.opener });
    slot.connections.push(dc);
    if (slot.command) {
      owner.waiting.delete(slot);
      this.copySlot(dc, slot);
    }
    s.dataConnections.push(dc);
    this.emit({ type: 'data-open', session: s, dataConnection: dc });
    return role;
  }

  /**
   * After AUTH TLS the PASV/PORT exchange is encrypted, so no expectation exists; a new connection
   * between the peers of an open TLS session (client → server on an unprivileged port: passive;
   * server → client: active) is that session's data connection, setup and command unknown.
   */
  private tlsSessionOf(conn: TcpConnection): { role: ControlRole; mode: 'passive' | 'active' } | null {
    let found: { role: ControlRole; mode: 'passive' | 'active' } | null = null;
    for (const role of this.controls) {
      const s = role.session;
      if (!s.tls || s.closed) continue;
      if (conn.client.ip === s.client.ip && conn.server.ip === s.server.ip && conn.server.port >= 1024) found = { role, mode: 'passive' };
      else if (conn.client.ip === s.server.ip && conn.server.ip === s.client.ip) found = { role, mode: 'active' };
    }
    return found;
  }

  private startTlsData(conn: TcpConnection, owner: ControlRole, mode: 'passive' | 'active', ts: number): void {
    const slot: DataSlot = {
      setup: null, mode, setupFrame: null, setupTs: ts, announced: { ip: conn.server.ip, port: conn.server.port },
      command: null, direction: null, path: null, restOffset: null, transferType: null, expectedBytes: null,
      finalReply: null, connections: [],
    };
    const role = this.startData(conn, owner, slot);
    role.encrypted = true;
    this.packetTable?.tlsAfter(conn.id, null);
    role.dc.guessedRole = 'data connection of a TLS session: its setup and transfer command are encrypted';
  }

  private copySlot(dc: DataConnection, slot: DataSlot): void {
    const c = slot.command;
    if (c) dc.command = { verb: c.verb, arg: c.arg, frame: c.frame };
    dc.direction = slot.direction;
    dc.path = slot.path;
    dc.restOffset = slot.restOffset;
    dc.transferType = slot.transferType;
    dc.expectedBytes = slot.expectedBytes;
    const r = slot.finalReply;
    dc.finalReply = r ? { code: r.code, text: r.text, frame: r.frame } : null;
  }

  private dataBytes(role: DataRole, dir: Dir, bytes: Buffer): void {
    role.acc.data(dir, bytes);
    if (!this.opts.openDataSink) return;
    if (role.sinkDir === null) {
      role.sinkDir = role.dc.direction
        ? TransferAccumulator.fileDirection(role.dc.direction, role.ftpServerIsTcpClient, role.acc)
        : dir;
      role.sink = this.opts.openDataSink(role.owner?.session ?? null, role.dc);
    }
    if (dir === role.sinkDir) role.sink?.write(bytes);
  }

  private finalizeData(role: DataRole): void {
    if (role.finalized) return;
    role.finalized = true;
    const dc = role.dc;
    this.openData.delete(dc);
    dc.tcp = copyTcpFacts(role.conn);
    if (role.slot) this.copySlot(dc, role.slot);
    const reasons = incompleteReasons(dc);
    dc.complete = reasons.length === 0;
    // The hash of TLS ciphertext identifies no file.
    dc.sha256 = dc.complete && !role.encrypted ? role.digest : null;
    const sessionRole = role.owner;
    if (!dc.complete && sessionRole && (dc.command || dc.bytes > 0)) {
      const what = dc.command ? `${dc.command.verb} ${dc.command.arg ?? ''}`.trim() : `data connection ${dc.id}`;
      this.sessionFinding(sessionRole, finding(severityOf(dc), 'transfer-incomplete',
        `${what}: transfer incomplete (${reasons.join('; ')})`, dc.finalReply?.frame ?? role.conn.lastFrame ?? null));
    }
    if (sessionRole && dc.tcpAnalysis) {
      const what = dc.command ? `${dc.command.verb} ${dc.command.arg ?? ''}`.trim() : `data connection ${dc.id}`;
      for (const f of transferFindings(dc.tcpAnalysis, { initiatorRole: dc.opener, what, data: true })) this.sessionFinding(sessionRole, f);
    }
    role.sink?.end(dc, sessionRole?.session ?? null);
    this.emit({ type: 'data-close', session: sessionRole?.session ?? null, dataConnection: dc });
    if (sessionRole && !this.controls.has(sessionRole)) this.maybeRetire(sessionRole.session);
  }

  // ---- detection of FTP on other ports, and unpaired data -----------------------------

  private candidateBytes(conn: TcpConnection, role: CandidateRole, dir: Dir, bytes: Buffer, ts: number, frame: number | null): void {
    role.acc.data(dir, bytes);
    if (role.decided[dir] || role.buffered > DETECT_BYTES) {
      this.demote(conn, role);
      return;
    }
    role.chunks.push({ dir, bytes: Buffer.from(bytes), ts, frame });
    role.buffered += bytes.length;
    const nl = bytes.indexOf(0x0a);
    if (nl < 0 && role.buffered <= DETECT_BYTES) return;
    const first = Buffer.concat(role.chunks.filter((c) => c.dir === dir).map((c) => c.bytes)).toString('latin1').split('\n')[0].replace(/\r$/, '');
    const isFtp = dir === 1 ? looksLikeServerGreeting(first) : looksLikeClientCommand(first);
    role.decided[dir] = true;
    if (!isFtp) {
      this.demote(conn, role);
      return;
    }
    this.candidates.delete(conn);
    role.acc.discard();
    this.noteControlServer(conn.server);
    const control = this.startControl(conn);
    this.sessionFinding(control, finding('info', 'ftp-nonstandard-port',
      `FTP control connection on port ${conn.server.port} (detected from its ${dir === 1 ? 'server greeting' : 'first command'}); pass --ftp-port ${conn.server.port} to be explicit`, conn.firstFrame));
    control.session.controlBytes = [0, 0];
    for (const c of role.chunks) this.apply(control, control.machine.push(c.dir, c.bytes, c.ts, c.frame));
  }

  private demote(conn: TcpConnection, role: CandidateRole): void {
    this.candidates.delete(conn);
    conn.tag = { kind: 'other', acc: role.acc } satisfies OtherRole;
    if (this.opts.factsForAllConnections) this.packetTable?.follow(conn.id, { channel: 'other', session: null, dataConnection: null, initiatorRole: null });
    else this.packetTable?.forget(conn.id);
  }

  private noteControlServer(server: Endpoint): void {
    const set = this.controlServers;
    const key = endpointKey(server);
    if (set.has(key)) return;
    if (set.size >= MAX_CONTROL_SERVERS) set.delete(set.values().next().value!);
    set.add(key);
  }

  /** A TCP connection that was neither control nor expected data: list it if it looks like FTP data. */
  private endCandidate(conn: TcpConnection, acc: TransferAccumulator, reason: CloseReason): void {
    const guess = this.guessDataRole(conn, acc, reason);
    conn.tag = undefined;
    if (!guess || this.unpaired.length >= MAX_UNPAIRED) {
      acc.discard();
      return;
    }
    const dc = newDataConnection(this.unpaired.length + 1, conn);
    dc.guessedRole = guess.role;
    dc.mode = guess.mode;
    dc.opener = guess.mode === 'active' ? 'server' : null;
    dc.closeReason = reason;
    dc.tcpAnalysis = transferAnalysisOf(conn, true, undefined, this.timelines);
    this.packetTable?.follow(conn.id, { channel: 'unpaired', session: null, dataConnection: dc.id, initiatorRole: dc.opener });
    const fileDir = TransferAccumulator.fileDirection(null, false, acc);
    const digest = acc.finish(dc, fileDir);
    dc.complete = reason === 'fin' && dc.missingBytes === 0;
    dc.sha256 = dc.complete ? digest : null;
    this.unpaired.push(dc);
    this.emit({ type: 'data-open', session: null, dataConnection: dc });
    this.emit({ type: 'data-close', session: null, dataConnection: dc });
  }

  private guessDataRole(conn: TcpConnection, acc: TransferAccumulator, reason: CloseReason): { role: string; mode: DataConnection['mode'] } | null {
    if (conn.client.port === 20) return { role: 'active-mode data from server port 20, no PORT/EPRT seen', mode: 'active' };
    if (this.ftpHosts.has(conn.client.ip) && this.ftpHosts.has(conn.server.ip)) {
      return { role: 'connection between FTP peers with no matching PASV/PORT (setup not captured or announced elsewhere)', mode: null };
    }
    // No FTP context at all (the control connection was not captured): what FTP data looks like on
    // the wire is a connection between two unprivileged ports that carries bytes one way only and
    // ends with FIN. Request/response protocols send both ways, so they are not listed.
    const oneWay = (acc.delivered[0] > 0) !== (acc.delivered[1] > 0);
    if (oneWay && reason === 'fin' && conn.handshake.seen && conn.client.port >= 1024 && conn.server.port >= 1024) {
      return { role: 'one-way transfer between unprivileged ports and no FTP control connection in the capture: possibly FTP data whose control connection was not captured', mode: null };
    }
    return null;
  }

  private emit(ev: AnalysisEvent): void {
    this.opts.onEvent?.(ev);
  }
}

function newDataConnection(id: number, conn: TcpConnection): DataConnection {
  return {
    id,
    client: { ...conn.client } as Endpoint,
    server: { ...conn.server } as Endpoint,
    mode: null, setup: null, setupFrame: null, command: null, direction: null, path: null, expectedBytes: null,
    bytes: 0, missingBytes: 0, start: conn.start, end: conn.end, complete: false, sha256: null,
    restOffset: null, transferType: null, closeReason: null, finalReply: null, guessedRole: null, opener: null,
    tcp: copyTcpFacts(conn),
    tcpAnalysis: null,
  };
}

function endpointKey(e: Endpoint): string {
  return `${e.ip} ${e.port}`;
}

/** Why a transfer is not complete; empty when it is. */
export function incompleteReasons(dc: DataConnection): string[] {
  const out: string[] = [];
  if (dc.closeReason === 'rst') out.push('data connection reset (RST)');
  else if (dc.closeReason === 'end' || dc.closeReason === 'timeout' || dc.closeReason === null) out.push('data connection never closed in the capture');
  if (dc.missingBytes > 0) out.push(`${dc.missingBytes} bytes missing from the capture`);
  const fr = dc.finalReply;
  if (fr && fr.code >= 400) out.push(`server replied ${fr.code}`);
  // ASCII-mode transfers legitimately change size (line endings), so sizes are compared in binary mode only.
  if (dc.expectedBytes !== null && dc.transferType !== 'A' && dc.direction !== 'listing') {
    const expected = dc.expectedBytes - (dc.restOffset ?? 0);
    if (dc.bytes !== dc.expectedBytes && dc.bytes !== expected) out.push(`${dc.bytes} of ${dc.expectedBytes} bytes announced`);
  }
  return out;
}

function severityOf(dc: DataConnection): Finding['severity'] {
  return dc.closeReason === 'rst' || (dc.finalReply && dc.finalReply.code >= 400) ? 'error' : 'warning';
}

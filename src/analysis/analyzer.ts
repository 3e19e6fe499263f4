import { TCP_ACK, TCP_FIN, TCP_RST, type FastPacket } from '../dissect/types.js';
import type { PacketRecord } from '../capture/types.js';
import type { CloseReason, Dir, StreamHandler, TcpConnection } from '../tcp/events.js';
import type {
  Analysis, AnalysisEvent, DataConnection, DataSink, Endpoint, FtpCommand, OriginalServer, Session, SourceInfo, UnseenTransfer,
} from '../model/types.js';
import type { ProxyLeg } from './proxy-legs.js';
import { copyTcpFacts, finalTcpFacts } from '../model/tcp-facts.js';
import { PacketTable, type RowInput } from './packet-table.js';
import { addFinding, copyFinding, finding, type Finding } from '../model/findings.js';
import { FtpSession, type CommandStream, type DataSlot, type SessionEffect } from '../ftp/session.js';
import { ExpectationTable } from '../ftp/pairing.js';
import { isRelativePath } from '../ftp/paths.js';
import { failureReasons, HashHeads, looksBinary, sizeDiffers, TransferAccumulator, transferOutcome, type StreamHasher } from '../ftp/transfer.js';
import { looksLikeClientCommand, looksLikeFtpReply, looksLikeServerGreeting } from '../ftp/detect.js';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from '../ftp/tls-hello.js';
import { Diagnoser, keptForDiagnosis, lossyPath } from './diagnosis.js';
import { CommandFacts } from './command-facts.js';
import { dataDirOf, transferAnalysisOf, diagnosisFindings } from './transfer-diagnosis.js';

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
  /** sha256 of data connections (default true); false counts bytes only (the proxy's --no-hash). */
  hashData?: boolean;
  /** Where long transfers are hashed: this thread by default; the proxy hands them to a worker. */
  hasher?: StreamHasher;
  /** Commands (and unsolicited replies) kept per session; later ones are counted, not kept. */
  maxCommandsPerSession?: number;
  /**
   * Hand each command over once it is complete (its final reply came, or nothing can answer it any
   * more; see CommandStream in ftp/session.ts), in order, and forget it: the session keeps only the
   * commands live state still needs, and counts the others in `streamedCommands`. The diagnosis
   * reads what it needs of them as they complete. For a consumer that renders commands at once
   * (report --json); views that read s.commands later must not use it.
   */
  streamCommands?: CommandSink;
  /**
   * With streamCommands: complete commands a session holds before it starts streaming them
   * (default STREAM_COMMANDS_AFTER). Streaming every session from its first command made V8
   * promote far more of the short-lived objects of short sessions (bench:report's 10,000 sessions:
   * about 60% more CPU); sessions long enough to matter for memory still stream.
   */
  streamCommandsAfter?: number;
  /**
   * Hand over each final data connection of a session that holds more than
   * streamDataConnectionsAfter of them, oldest first (in id order: those before one still open wait
   * for it), and forget it: the session keeps its open data connections and the latest final ones,
   * and counts the others in `streamedDataConnections`. The diagnosis keeps the few it can still
   * use (see keptForDiagnosis). For a consumer that renders them at once (report --json).
   */
  streamDataConnections?: DataConnectionSink;
  /** With streamDataConnections: data connections a session holds before it hands the final ones over (default STREAM_DATA_AFTER). */
  streamDataConnectionsAfter?: number;
  /** The object `streaming` is (the caller reads the counters after the analysis). */
  streamingCounters?: StreamingCounters;
}

/** Where final data connections go (AnalyzerOptions.streamDataConnections). */
export interface DataConnectionSink {
  /** A final data connection of `s`, which forgets it. */
  dataConnection(s: Session, dc: DataConnection): void;
}

/** Where complete commands go (AnalyzerOptions.streamCommands). */
export interface CommandSink {
  /** A complete command of `s`, which forgets it. */
  command(s: Session, c: FtpCommand): void;
  /**
   * A 257 named where `s` started: its commands given with a cwd relative to that start
   * (cwdAnchored false) have cwd anchorPath(startDir, cwd) now, without cwdAnchored.
   */
  anchored(s: Session, startDir: string): void;
}

/** What streaming commands (AnalyzerOptions.streamCommands) did, for tests and benchmarks. */
export interface StreamingCounters {
  /** Commands handed to streamCommands. */
  commandsStreamed: number;
  /** The most commands any session held at once (measured after each chunk of control bytes). */
  maxCommandsHeld: number;
  /** Data connections handed to streamDataConnections. */
  dataConnectionsStreamed?: number;
  /** The most data connections any session held at once (measured as each one opens). */
  maxDataConnectionsHeld?: number;
}

/** A session's data connections handed over so far, as far as its diagnosis is concerned. */
interface StreamedData {
  /** Those the diagnosis can still use (keptForDiagnosis), in id order; at most MAX_KEPT_FOR_DIAGNOSIS. */
  kept: DataConnection[];
  /** A passive PASV/LPSV connection that opened was kept (the diagnosis needs one). */
  passiveKept: boolean;
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
  /** The FTP client's first bytes on a TLS data connection, until its ClientHello parses. */
  hello: Buffer | null;
}

/**
 * What a side's first line says about FTP on a port not given as one: a server greeting (220), a
 * well-formed FTP reply, an FTP command from the client, or something else (not FTP).
 */
type FirstLine = 'greeting' | 'reply' | 'command' | 'not-ftp';

/**
 * A connection not yet known to be FTP: kept briefly (its first DETECT_BYTES) to detect FTP on
 * any port. A client that opens with an FTP command is not enough (IRC clients open with PASS
 * and USER too): the server must confirm with a greeting or a well-formed FTP reply. A
 * candidate never confirmed is no session.
 */
interface CandidateRole {
  kind: 'candidate';
  chunks: { dir: Dir; bytes: Buffer; ts: number; frame: number | null }[];
  buffered: number;
  /** Each side's first line, once it is complete. */
  first: [FirstLine | null, FirstLine | null];
  acc: TransferAccumulator;
}

interface OtherRole {
  kind: 'other';
  acc: TransferAccumulator;
}

/** A server-facing leg of a proxy recording: part of its session, not a session or data of its own. */
interface ProxyLegRole {
  kind: 'proxy-leg';
}

type Role = ControlRole | DataRole | CandidateRole | OtherRole | ProxyLegRole;

const DETECT_BYTES = 4096;
const MAX_UNPAIRED = 10_000;
/** Transfers listed per session whose data connection is not in the capture (their findings count them all). */
const MAX_UNSEEN = 1000;
const REPEATED_LOGIN_FAILURES = 3;
const MAX_LOGIN_FAILURE_KEYS = 10_000;
/** See AnalyzerOptions.streamCommandsAfter. */
export const STREAM_COMMANDS_AFTER = 512;
/** See AnalyzerOptions.streamDataConnectionsAfter. */
export const STREAM_DATA_AFTER = 512;
/**
 * Streamed data connections a session keeps for its diagnosis, at most: past that many (failed ones,
 * say), its findings name and count the first ones only.
 */
const MAX_KEPT_FOR_DIAGNOSIS = 4096;

/** Addresses remembered as FTP peers (for guessing unpaired connections' roles); the oldest are forgotten. */
const MAX_FTP_HOSTS = 65_536;
/** Server endpoints recognised as FTP control on a port not given as one; the oldest are forgotten. */
const MAX_CONTROL_SERVERS = 65_536;
/** Server-facing legs announced by a proxy recording whose SYN has not been seen yet; the oldest are forgotten. */
const MAX_PENDING_PROXY_LEGS = 4096;

/**
 * The FTP layer: takes TCP stream events (from a capture's TCP tracker or from the proxy),
 * runs one FtpSession per control connection, pairs data connections through the
 * expectation table, measures transfers, and keeps the model. No I/O.
 */
export class FtpAnalyzer implements StreamHandler {
  /** Open sessions (and final ones not retired), in the order they began: a Set, so a retirement is O(1). */
  private readonly sessions = new Set<Session>();
  /** `sessions` as an array, made again only after it changed (snapshots read it often). */
  private sessionList: Session[] | null = null;
  private readonly controls = new Set<ControlRole>();
  private readonly candidates = new Set<TcpConnection>();
  private readonly unpaired: DataConnection[] = [];
  private readonly expectations: ExpectationTable<ControlRole>;
  private readonly ftpPorts: Set<number>;
  private readonly ftpHosts = new Set<string>();
  /** "ip port" of servers whose control connections were recognised by their greeting or first command. */
  private readonly controlServers = new Set<string>();
  /** Open control connections by "client server" endpoints (proxy recordings name their sessions so). */
  private readonly controlByTuple = new Map<string, ControlRole>();
  /** Server-facing legs of a proxy recording, by their own "client server" endpoints, until they open. */
  private readonly pendingLegs = new Map<string, ProxyLeg>();
  /** Connections a proxy recording marked as server-facing legs (said once at the end: nothing is hidden silently). */
  private linkedLegs = 0;
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
  /** Names causes once each session is final (see diagnosis.ts). */
  private readonly diagnoser = new Diagnoser();
  private readonly diagnosed = new WeakSet<Session>();
  private retiredCount = 0;
  private readonly hashData: boolean;
  private readonly hasher: StreamHasher | undefined;
  /** The bytes this analysis' transfers keep to hash at the end (bounded together). */
  private readonly hashHeads = new HashHeads();
  /** The fields of the packet being added to the fact table. */
  private readonly row: RowInput = { frame: 0, ts: 0, fileOffset: 0, flags: 0, seq: 0, ack: 0, len: 0, window: 0, analysis: undefined };
  /** See AnalyzerOptions.transferTimelines. */
  private readonly timelines: boolean;
  /** Sessions streaming their commands: what their commands told the diagnosis, until it runs. */
  private readonly commandFacts = new Map<Session, CommandFacts>();
  /** Sessions streaming their data connections: the streamed ones the diagnosis can still use, until it runs. */
  private readonly streamedData = new Map<Session, StreamedData>();
  readonly streaming: StreamingCounters;

  /**
   * With streamCommands: where complete commands go, one object for every session (see
   * CommandStream). A session's CommandFacts are made when it starts streaming; most sessions never
   * do, and are diagnosed from s.commands.
   */
  private readonly commandStream: CommandStream | null;

  constructor(private readonly opts: AnalyzerOptions) {
    this.ftpPorts = new Set([21, ...(opts.ftpPorts ?? [])]);
    this.hashData = opts.hashData ?? true;
    this.hasher = opts.hasher;
    this.streaming = opts.streamingCounters ?? { commandsStreamed: 0, maxCommandsHeld: 0 };
    const out = opts.streamCommands;
    this.commandStream = out === undefined ? null : {
      begin: (s, unsolicited, complete) => {
        const facts = new CommandFacts(s);
        this.commandFacts.set(s, facts);
        s.streamedCommands = 0;
        for (const r of unsolicited) facts.unsolicited(r);
        for (const c of complete) facts.add(c);
      },
      done: (s, c) => this.commandFacts.get(s)!.add(c),
      unsolicited: (s, r) => this.commandFacts.get(s)!.unsolicited(r),
      release: (s, c) => {
        s.streamedCommands!++;
        this.streaming.commandsStreamed++;
        out.command(s, c);
      },
      anchored: (s, startDir) => out.anchored(s, startDir),
    };
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
    if (this.pendingLegs.size > 0 && this.openProxyLeg(conn, ts)) return;
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
    conn.tag = { kind: 'candidate', chunks: [], buffered: 0, first: [null, null], acc: new TransferAccumulator(this.hashData, this.hashHeads, this.hasher) } satisfies CandidateRole;
    this.candidates.add(conn);
    this.packetTable?.follow(conn.id, { channel: 'candidate', session: null, dataConnection: null, initiatorRole: null });
  }

  data(conn: TcpConnection, dir: Dir, buf: Buffer, start: number, end: number, ts: number, frame: number | null): void {
    const role = conn.tag as Role | undefined;
    if (!role) return;
    if (role.kind === 'control') {
      this.apply(role, role.machine.push(dir, buf, ts, frame, start, end));
      const entry = this.packetTable?.entry(conn.id);
      if (entry) entry.openLineFrame = role.machine.openLineFrame();
      if (this.opts.streamCommands && role.session.commands.length > this.streaming.maxCommandsHeld) {
        this.streaming.maxCommandsHeld = role.session.commands.length;
      }
      return;
    }
    const bytes = start === 0 && end === buf.length ? buf : buf.subarray(start, end);
    switch (role.kind) {
      case 'data':
        this.dataBytes(role, dir, bytes, ts);
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
    else if (role.kind === 'data') {
      this.dataGap(role, dir, length);
      this.liveFigures(role, ts);
    } else if (role.kind === 'other' || role.kind === 'candidate') role.acc.gap(dir, length);
  }

  /**
   * A finding of the TCP layer: listed on the FTP session the connection belongs to (the control
   * connection or one of its data connections), where every view shows findings. Connections not
   * (yet) known as FTP keep theirs on the connection; a candidate that turns out to be FTP brings
   * them along, an unpaired data connection hands them to the capture's findings.
   */
  finding(conn: TcpConnection, f: Finding): void {
    const role = conn.tag as Role | undefined;
    if (role?.kind === 'control') this.sessionFinding(role, tcpFinding(f, 'control connection'));
    else if (role?.kind === 'data' && role.owner) this.sessionFinding(role.owner, tcpFinding(f, `data connection ${role.dc.id}`));
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
      role.dc.progress = 'closing';
      role.dc.tcpAnalysis = transferAnalysisOf(conn, true, dataDirOf(role.slot?.direction ?? role.dc.direction, role.dc.opener), this.timelines);
      const fileDir = TransferAccumulator.fileDirection(role.dc.direction, role.ftpServerIsTcpClient, role.acc);
      role.digest = role.acc.finish(role.dc, fileDir);
      // The final reply (226) usually follows the data connection's FIN: wait for it.
      if (!role.slot?.command || role.slot.finalReply || role.owner?.session.closed) this.finalizeData(role);
    } else if (role.kind === 'candidate') {
      this.candidates.delete(conn);
      this.endCandidate(conn, role.acc, reason);
    } else if (role.kind === 'other') {
      this.endCandidate(conn, role.acc, reason);
    } else {
      conn.tag = undefined; // a proxy recording's server-facing leg: nothing of its own to report
    }
  }

  packet(conn: TcpConnection, dir: Dir, pkt: FastPacket, rec: PacketRecord): void {
    // A FIN, RST or ACK after the connection closed (the ACK of the last FIN, the RST that ends a
    // TIME-WAIT exchange) is still part of its teardown: the facts already handed out are brought
    // up to date, as the live proxy's are.
    if (conn.closeReason !== null && (pkt.flags & (TCP_FIN | TCP_RST | TCP_ACK)) !== 0) this.lateTeardown(conn);
    const table = this.packetTable;
    if (table === null) return;
    if (this.opts.factsForAllConnections && !table.entry(conn.id)) {
      table.follow(conn.id, { channel: 'other', session: null, dataConnection: null, initiatorRole: null });
    }
    // One row object, refilled for every packet (the table copies its fields into columns).
    const row = this.row;
    row.frame = rec.frame;
    row.ts = rec.ts;
    row.fileOffset = rec.fileOffset;
    row.flags = pkt.flags;
    row.seq = pkt.seq;
    row.ack = pkt.ack;
    row.len = pkt.payloadWireLength;
    row.window = pkt.window;
    row.analysis = conn.analysis?.result;
    table.add(conn, dir, row, pkt.payloadLength > 0 ? pkt.buf : undefined, pkt.payloadOffset, pkt.payloadOffset + pkt.payloadLength);
  }

  private lateTeardown(conn: TcpConnection): void {
    const role = conn.tag as Role | undefined;
    if (role?.kind === 'control' && role.session.tcp) role.session.tcp = finalTcpFacts(conn);
    else if (role?.kind === 'data' && role.dc.tcp) role.dc.tcp = finalTcpFacts(conn);
  }

  /** A packet of `conn` known other than from a capture (the proxy's synthesized ones), for the fact table. */
  addPacket(conn: TcpConnection, dir: Dir, row: RowInput): void {
    this.packetTable?.add(conn, dir, row);
  }

  // ---- the proxy's upstream -----------------------------------------------------------

  /**
   * The proxy: the session on control connection `conn` is relayed to `server` (the address the
   * client dialled in transparent mode, the USER name@host destination, or --upstream).
   */
  setOriginalServer(conn: TcpConnection, server: OriginalServer, ts: number): void {
    const role = conn.tag as Role | undefined;
    if (role?.kind !== 'control') return;
    this.originalServer(role, server, ts);
  }

  /**
   * A proxy recording says (a comment on its SYN) that the connection `client` → `server` is a
   * server-facing leg of the session `leg` names. Called before the packet reaches the TCP layer.
   */
  noteProxyLeg(client: Endpoint, server: Endpoint, leg: ProxyLeg): void {
    const legs = this.pendingLegs;
    if (legs.size >= MAX_PENDING_PROXY_LEGS) legs.delete(legs.keys().next().value!);
    legs.set(tupleKey(client, server), leg);
  }

  private openProxyLeg(conn: TcpConnection, ts: number): boolean {
    const key = tupleKey(conn.client, conn.server);
    const leg = this.pendingLegs.get(key);
    if (!leg) return false;
    this.pendingLegs.delete(key);
    conn.tag = { kind: 'proxy-leg' } satisfies ProxyLegRole;
    this.linkedLegs++;
    const owner = this.controlByTuple.get(tupleKey(leg.client, leg.server));
    if (owner && leg.kind === 'control') {
      this.originalServer(owner, { ip: conn.server.ip, port: conn.server.port, ...(leg.name !== undefined ? { name: leg.name } : {}) }, ts);
    }
    // The proxy is the FTP client on every server-facing leg: it dials the server's control port and
    // its passive data ports; in active mode the server dials the proxy (the comment says so).
    this.packetTable?.follow(conn.id, {
      channel: leg.kind === 'control' ? 'proxy-control' : 'proxy-data',
      session: owner?.session ?? null,
      dataConnection: null,
      initiatorRole: leg.serverDialled === true ? 'server' : 'client',
    });
    return true;
  }

  private originalServer(role: ControlRole, server: OriginalServer, ts: number): void {
    const s = role.session;
    const prev = s.originalServer;
    if (prev && prev.ip === server.ip && prev.port === server.port && prev.name === server.name) return;
    s.originalServer = { ip: server.ip, port: server.port, ...(server.name !== undefined ? { name: server.name } : {}) };
    this.emit({ type: 'session-server', session: s, ts });
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
      if (this.linkedLegs > 0) {
        this.addGlobalFinding(finding('info', 'proxy-recording-legs',
          `${this.linkedLegs} TCP connections are server-facing legs of proxied sessions (the proxy's comment on their SYN says so): they are part of those sessions (originalServer), not sessions or data connections of their own; tshark shows them as connections`));
      }
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
      sessions: (this.sessionList ??= [...this.sessions]),
      unpairedDataConnections: this.unpaired,
      findings: this.findings,
    };
  }

  /** Open connections' TCP facts as they stand now (views read copies, never the live records). */
  private refreshTcpFacts(): void {
    for (const role of this.controls) {
      role.session.tcp = copyTcpFacts(role.conn);
      // A live session lasts as long as its control connection has been seen so far.
      if (role.conn.end > role.session.end) role.session.end = role.conn.end;
    }
    for (const role of this.openData.values()) {
      role.dc.tcp = copyTcpFacts(role.conn);
      if (!role.closed) this.liveFigures(role, role.conn.end);
    }
  }

  /**
   * A finding the source itself made about the session a control connection carries (the
   * proxy's refusals and limits), or about the whole source when there is none. The analyzer
   * stays the one writer of sessions, and the finding goes out as an event like any other.
   */
  sourceFinding(conn: TcpConnection | null, f: Finding): void {
    const role = conn?.tag as Role | undefined;
    if (role?.kind === 'control') this.sessionFinding(role, f);
    else this.addGlobalFinding(f);
  }

  /** The source terminated the control connection's TLS and knows its version and SNI (the proxy). */
  sourceTls(conn: TcpConnection, info: { sni: string | null; version: string | null }): void {
    const role = conn.tag as Role | undefined;
    if (role?.kind === 'control') role.session.tlsInfo = { sni: info.sni, version: info.version };
  }

  addGlobalFinding(f: Finding): void {
    addFinding(this.findings, copyFinding(f));
    this.emit({ type: 'finding', session: null, finding: f });
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
      // Copied when the connection ends, or when the analysis is snapshotted before that.
      tcp: null,
      // Set when the connection closes; in the literal so that every session has one shape from the start.
      controlTcpAnalysis: null,
    };
    this.updateHandshake(session, conn);
    const lineEffects = this.opts.onEvent !== undefined || this.packetTable !== null;
    const role: ControlRole = {
      kind: 'control', session, conn, waiting: new Set(),
      machine: new FtpSession(session, {
        tlsDecrypted: this.opts.tlsDecrypted, lineEffects, maxCommands: this.opts.maxCommandsPerSession, commands: this.commandStream ?? undefined,
        streamAfter: this.opts.streamCommandsAfter ?? STREAM_COMMANDS_AFTER,
      }),
    };
    conn.tag = role;
    if (this.packetTable) {
      this.packetTable.follow(conn.id, { channel: 'control', session, dataConnection: null, initiatorRole: 'client' });
      session.packets = this.packetTable.listOf(session);
    }
    this.sessions.add(session);
    this.sessionList = null;
    this.controls.add(role);
    this.controlByTuple.set(tupleKey(conn.client, conn.server), role);
    this.noteFtpHost(conn.client.ip);
    this.noteFtpHost(conn.server.ip);
    for (const f of conn.findings) this.sessionFinding(role, tcpFinding(f, 'control connection'));
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
    const key = tupleKey(conn.client, conn.server);
    if (this.controlByTuple.get(key) === role) this.controlByTuple.delete(key);
    const s = role.session;
    this.updateHandshake(s, conn);
    s.end = Math.max(s.end, conn.end);
    s.tcp = finalTcpFacts(conn);
    s.controlTcpAnalysis = transferAnalysisOf(conn, true, undefined, this.timelines);
    if (s.controlTcpAnalysis) {
      for (const f of diagnosisFindings(s.controlTcpAnalysis, { initiatorRole: 'client', what: 'the control connection', data: false })) this.sessionFinding(role, f);
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

  /**
   * A closed session whose data connections are all settled is final: it gets its diagnosis, and is
   * retired when retiring is on.
   */
  private maybeRetire(s: Session): void {
    if (!s.closed) return;
    for (const dc of s.dataConnections) if (this.openData.has(dc)) return;
    this.diagnose(s);
    const retire = this.opts.retireSession;
    if (!retire) return;
    if (!this.sessions.delete(s)) return;
    this.sessionList = null;
    this.retiredCount++;
    retire(s);
  }

  /** Once per session, when it is final: the diagnosis findings, emitted like any other finding. */
  private diagnose(s: Session): void {
    if (this.diagnosed.has(s)) return;
    this.diagnosed.add(s);
    const facts = this.commandFacts.get(s);
    this.commandFacts.delete(s);
    const streamed = this.streamedData.get(s);
    this.streamedData.delete(s);
    for (const f of this.diagnoser.session(s, facts, streamed?.kept)) this.listFinding(s, f);
  }

  /** Sessions handed to retireSession so far. */
  get retired(): number {
    return this.retiredCount;
  }

  /** A retired session no view shows any more: its packet list and fact-table entries go too. */
  forgetSession(s: Session): void {
    this.packetTable?.forgetSession(s);
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
          if (this.packetTable) {
            const line = { kind: 'reply', reply: ef.reply, command: ef.command } as const;
            this.packetTable.noteLine(ef.reply.frame, line);
            // A multi-line reply that ends in a later packet: that packet carries it too.
            if (ef.endFrame !== ef.reply.frame) this.packetTable.noteLine(ef.endFrame, line);
          }
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
    if (passive) this.diagnoser.passivePort(s.server.ip, slot.announced.port, slot.setupTs, s.id, slot.setupFrame);
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
      // 226 and 250 say a transfer happened (RFC 959 §5.4); 225 and other 2xx do not.
      if (r.code === 226 || r.code === 250) {
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
    if (!slot.command || list.length >= MAX_UNSEEN) return;
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
    this.listFinding(role.session, f);
  }

  /** Every occurrence is announced; the session lists a code once, with its count (see addFinding). */
  private listFinding(s: Session, f: Finding): void {
    addFinding(s.findings, copyFinding(f));
    this.emit({ type: 'finding', session: s, finding: f });
  }

  // ---- data ---------------------------------------------------------------------------

  private startData(conn: TcpConnection, owner: ControlRole, slot: DataSlot): DataRole {
    const s = owner.session;
    const dc = newDataConnection((s.streamedDataConnections ?? 0) + s.dataConnections.length + 1, conn);
    dc.mode = slot.mode;
    dc.setup = slot.setup;
    dc.setupFrame = slot.setupFrame;
    dc.opener = slot.mode === 'active' ? 'server' : 'client';
    dc.progress = 'open';
    const role: DataRole = {
      kind: 'data', dc, conn, owner, slot, acc: new TransferAccumulator(this.hashData, this.hashHeads, this.hasher),
      ftpServerIsTcpClient: slot.mode === 'active', sink: null, sinkDir: null, closed: false, finalized: false, digest: null,
      encrypted: false, hello: null,
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
    if (this.opts.streamDataConnections && s.dataConnections.length > (this.streaming.maxDataConnectionsHeld ?? 0)) {
      this.streaming.maxDataConnectionsHeld = s.dataConnections.length;
    }
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
    role.dc.tlsResumption = null;
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

  private dataBytes(role: DataRole, dir: Dir, bytes: Buffer, ts: number): void {
    role.acc.data(dir, bytes);
    if (role.encrypted && role.dc.tlsResumption === null && dir === (role.ftpServerIsTcpClient ? 1 : 0)) this.dataHello(role, bytes);
    // The first bytes tell a binary file from text (the diagnosis of ASCII-mode damage needs it).
    if (role.dc.looksBinary == null && !role.encrypted && bytes.length > 0) role.dc.looksBinary = looksBinary(bytes);
    this.liveFigures(role, ts);
    if (this.opts.openDataSink && this.sinkDirOf(role, dir) === dir) role.sink?.write(bytes);
  }

  /** Bytes the capture lacks: the sink leaves a hole of that length, so later bytes keep their offsets. */
  private dataGap(role: DataRole, dir: Dir, length: number): void {
    role.acc.gap(dir, length);
    if (this.opts.openDataSink && this.sinkDirOf(role, dir) === dir) role.sink?.gap?.(length);
  }

  /** The direction the sink is written from, opening the sink at the connection's first bytes or gap. */
  private sinkDirOf(role: DataRole, dir: Dir): Dir {
    if (role.sinkDir === null) {
      role.sinkDir = role.dc.direction
        ? TransferAccumulator.fileDirection(role.dc.direction, role.ftpServerIsTcpClient, role.acc)
        : dir;
      role.sink = this.opts.openDataSink!(role.owner?.session ?? null, role.dc);
    }
    return role.sinkDir;
  }

  /** The ClientHello of a TLS data connection: does it resume a session (see DataConnection.tlsResumption)? */
  private dataHello(role: DataRole, bytes: Buffer): void {
    const buf = role.hello ? Buffer.concat([role.hello, bytes]) : bytes;
    const hello = parseClientHello(buf);
    if (hello) {
      role.dc.tlsResumption = hello.resumption;
      role.hello = null;
    } else if (buf.length < MAX_CLIENT_HELLO_BYTES) {
      role.hello = Buffer.from(buf);
    } else {
      role.dc.tlsResumption = undefined;
      role.hello = null;
    }
  }

  /**
   * The figures of a running transfer as they stand: live views show bytes, duration and
   * throughput moving instead of 0 until the end. A few additions per segment; close() and
   * finalizeData() replace them with the final figures.
   */
  private liveFigures(role: DataRole, ts: number): void {
    const dc = role.dc;
    const acc = role.acc;
    const d = TransferAccumulator.fileDirection(dc.direction ?? role.slot?.direction ?? null, role.ftpServerIsTcpClient, acc);
    dc.bytes = acc.delivered[d] + acc.missing[d];
    dc.missingBytes = acc.missing[d];
    if (ts > dc.end) dc.end = ts;
  }

  private finalizeData(role: DataRole): void {
    if (role.finalized) return;
    role.finalized = true;
    const dc = role.dc;
    delete dc.progress;
    this.openData.delete(dc);
    dc.tcp = finalTcpFacts(role.conn);
    if (role.slot) this.copySlot(dc, role.slot);
    const reasons = incompleteReasons(dc);
    dc.complete = reasons.length === 0;
    // The hash of TLS ciphertext identifies no file.
    dc.sha256 = dc.complete && !role.encrypted ? role.digest : null;
    const sessionRole = role.owner;
    const control = sessionRole?.conn ?? null;
    // The transfer command's reply cannot come any more once the control connection has closed
    // (unless the capture lost control bytes): no reply then means the transfer did not end well.
    const replyLost = control !== null && (control.closeReason === 'fin' || control.closeReason === 'rst') && control.missing[1] === 0;
    dc.outcome = transferOutcome(dc, replyLost);
    if (sessionRole && (dc.command || dc.bytes > 0)) this.transferFindings(sessionRole, role, dc);
    if (sessionRole && dc.tcpAnalysis) {
      const what = dc.command ? `${dc.command.verb} ${dc.command.arg ?? ''}`.trim() : `data connection ${dc.id}`;
      // Loss the session's diagnosis names (lossy-path, once the session is final) is not named twice.
      const lossDiagnosed = lossyPath(dc) !== null;
      for (const f of diagnosisFindings(dc.tcpAnalysis, { initiatorRole: dc.opener, what, data: true })) {
        if (!(lossDiagnosed && f.code === 'transfer-loss')) this.sessionFinding(sessionRole, f);
      }
    }
    role.sink?.end(dc, sessionRole?.session ?? null);
    this.emit({ type: 'data-close', session: sessionRole?.session ?? null, dataConnection: dc });
    if (sessionRole && !this.controls.has(sessionRole)) this.maybeRetire(sessionRole.session);
    else if (sessionRole) this.streamData(sessionRole.session);
  }

  /**
   * With streamDataConnections: once an open session holds more than the threshold, its final data
   * connections up to the first one still open (or whose path may still be anchored) go to the sink,
   * down to half the threshold held (a batch at a time). Those the diagnosis can still use stay
   * listed for it.
   */
  private streamData(s: Session): void {
    const sink = this.opts.streamDataConnections;
    if (!sink) return;
    const after = this.opts.streamDataConnectionsAfter ?? STREAM_DATA_AFTER;
    const list = s.dataConnections;
    if (list.length <= after) return;
    const keep = after >> 1;
    let n = 0;
    // A path still relative to a start directory not known yet may be anchored by a later 257
    // (FtpSession.anchor): that connection waits, and those after it with it.
    while (n < list.length - keep && !this.openData.has(list[n]!) && !(list[n]!.path !== null && isRelativePath(list[n]!.path!))) n++;
    if (n === 0) return;
    let facts = this.streamedData.get(s);
    if (!facts) this.streamedData.set(s, (facts = { kept: [], passiveKept: false }));
    const out = list.splice(0, n);
    for (const dc of out) {
      const use = keptForDiagnosis(s, dc);
      const passive = use === 'passive-opened' && !facts.passiveKept;
      if ((use === 'needed' || passive) && facts.kept.length < MAX_KEPT_FOR_DIAGNOSIS) {
        facts.kept.push(dc);
        if (passive) facts.passiveKept = true;
      }
      sink.dataConnection(s, dc);
    }
    s.streamedDataConnections = (s.streamedDataConnections ?? 0) + n;
    this.streaming.dataConnectionsStreamed = (this.streaming.dataConnectionsStreamed ?? 0) + n;
  }

  /**
   * Two separate facts, two findings: how the transfer ended as the peers tell it (transfer-failed),
   * and how much of it the capture holds (capture-gaps). A transfer the server confirmed with 226
   * whose packets the capture partly lacks did not fail.
   */
  private transferFindings(sessionRole: ControlRole, role: DataRole, dc: DataConnection): void {
    const what = dc.command ? `${dc.command.verb} ${dc.command.arg ?? ''}`.trim() : `data connection ${dc.id}`;
    const frame = dc.finalReply?.frame ?? role.conn.lastFrame ?? null;
    if (dc.outcome === 'failed') {
      const why = failureReasons(dc);
      const severity = dc.closeReason === 'rst' || (dc.finalReply !== null && dc.finalReply.code >= 400) ? 'error' : 'warning';
      this.sessionFinding(sessionRole, finding(severity, 'transfer-failed', `${what}: transfer failed (${why.join('; ')})`, frame));
    }
    const holes = dc.missingBytes > 0;
    const cutShort = dc.closeReason !== 'fin' && dc.closeReason !== 'rst';
    if (!holes && !(cutShort && dc.outcome !== 'failed')) return;
    const ended = dc.finalReply ? `the server replied ${dc.finalReply.code}` : dc.outcome === 'failed' ? 'the transfer failed' : 'no final reply seen';
    const parts: string[] = [];
    if (holes) parts.push(`the capture is missing ${dc.missingBytes} bytes of it in ${dc.gaps} gap${dc.gaps === 1 ? '' : 's'}`);
    if (cutShort) parts.push('the capture ends before the data connection closed');
    this.sessionFinding(sessionRole, finding('warning', 'capture-gaps', `${what}: ${ended}; ${parts.join(', and ')}`, frame));
  }

  // ---- detection of FTP on other ports, and unpaired data -----------------------------

  private candidateBytes(conn: TcpConnection, role: CandidateRole, dir: Dir, bytes: Buffer, ts: number, frame: number | null): void {
    role.acc.data(dir, bytes);
    if (role.buffered + bytes.length > DETECT_BYTES) {
      // Still not confirmed after this many bytes: not FTP (or not FTP that can be told apart).
      this.demote(conn, role);
      return;
    }
    role.chunks.push({ dir, bytes: Buffer.from(bytes), ts, frame });
    role.buffered += bytes.length;
    if (role.first[dir] === null) {
      if (bytes.indexOf(0x0a) < 0) return;
      const first = Buffer.concat(role.chunks.filter((c) => c.dir === dir).map((c) => c.bytes)).toString('latin1').split('\n')[0]!.replace(/\r$/, '');
      role.first[dir] = classifyFirstLine(dir, first);
    }
    const [client, server] = role.first;
    if (client === 'not-ftp' || server === 'not-ftp') {
      this.demote(conn, role);
      return;
    }
    // Confirmed by the server: a greeting, or a well-formed reply to the client's FTP command.
    const confirmed = server === 'greeting' ? 'its server greeting'
      : server === 'reply' && client === 'command' ? 'its first command, confirmed by the server\'s reply' : null;
    if (confirmed === null) return;
    this.candidates.delete(conn);
    role.acc.discard();
    this.noteControlServer(conn.server);
    const control = this.startControl(conn);
    this.sessionFinding(control, finding('info', 'ftp-nonstandard-port',
      `FTP control connection on port ${conn.server.port} (detected from ${confirmed}); pass --ftp-port ${conn.server.port} to be explicit`, conn.firstFrame));
    control.session.controlBytes = [0, 0];
    for (const c of role.chunks) this.apply(control, control.machine.push(c.dir, c.bytes, c.ts, c.frame));
  }

  private demote(conn: TcpConnection, role: CandidateRole): void {
    this.candidates.delete(conn);
    conn.tag = { kind: 'other', acc: role.acc } satisfies OtherRole;
    if (this.opts.factsForAllConnections) {
      // It may still be listed as an unpaired data connection when it closes (endCandidate).
      const e = this.packetTable?.follow(conn.id, { channel: 'other', session: null, dataConnection: null, initiatorRole: null });
      if (e) e.undecided = true;
    } else {
      this.packetTable?.forget(conn.id);
    }
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
    const entry = this.packetTable?.entry(conn.id);
    if (entry) entry.undecided = false;
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
    dc.tcp = finalTcpFacts(conn);
    dc.tcpAnalysis = transferAnalysisOf(conn, true, undefined, this.timelines);
    this.packetTable?.follow(conn.id, { channel: 'unpaired', session: null, dataConnection: dc.id, initiatorRole: dc.opener });
    const fileDir = TransferAccumulator.fileDirection(null, false, acc);
    const digest = acc.finish(dc, fileDir);
    dc.complete = reason === 'fin' && dc.missingBytes === 0;
    dc.sha256 = dc.complete ? digest : null;
    dc.outcome = transferOutcome(dc, false);
    this.unpaired.push(dc);
    for (const f of conn.findings) this.addGlobalFinding(tcpFinding(f, `unpaired data connection ${dc.id} (${hostPort(dc.client)} -> ${hostPort(dc.server)})`));
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
    restOffset: null, transferType: null, closeReason: null, finalReply: null, guessedRole: null, opener: null, looksBinary: null,
    outcome: null, gaps: 0,
    // Copied when the connection is final, or when the analysis is snapshotted before that.
    tcp: null,
    tcpAnalysis: null,
  };
}

function endpointKey(e: Endpoint): string {
  return `${e.ip} ${e.port}`;
}

function tupleKey(client: Endpoint, server: Endpoint): string {
  return `${client.ip} ${client.port} ${server.ip} ${server.port}`;
}

/** Why a transfer is not complete; empty when it is. */
export function incompleteReasons(dc: DataConnection): string[] {
  const out: string[] = [];
  if (dc.closeReason === 'rst') out.push('data connection reset (RST)');
  else if (dc.closeReason === 'end' || dc.closeReason === 'timeout' || dc.closeReason === null) out.push('data connection never closed in the capture');
  if (dc.missingBytes > 0) out.push(`${dc.missingBytes} bytes missing from the capture`);
  const fr = dc.finalReply;
  if (fr && fr.code >= 400) out.push(`server replied ${fr.code}`);
  if (sizeDiffers(dc)) out.push(`${dc.bytes} of ${dc.expectedBytes} bytes announced`);
  return out;
}

/** A TCP-layer finding listed on an FTP owner: a copy, its message saying which connection it is about. */
function tcpFinding(f: Finding, where: string): Finding {
  const c = copyFinding(f);
  c.message = `${where}: ${f.message}`;
  return c;
}

function hostPort(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** What a side's first line says about FTP (see CandidateRole). */
function classifyFirstLine(dir: Dir, line: string): FirstLine {
  if (dir === 0) return looksLikeClientCommand(line) ? 'command' : 'not-ftp';
  if (looksLikeServerGreeting(line)) return 'greeting';
  // A 220 that names SMTP or NNTP is that protocol's greeting, whatever the client sent.
  if (line.startsWith('220')) return 'not-ftp';
  return looksLikeFtpReply(line) ? 'reply' : 'not-ftp';
}

import type { Finding } from './findings.js';
import type { TcpFacts } from './tcp-facts.js';
import type { FtpRole, PacketList } from './packet-facts.js';
import type { TcpTransferAnalysis } from './tcp-analysis.js';

/** IPv4-mapped IPv6 addresses are written as plain IPv4. */
export interface Endpoint {
  ip: string;
  port: number;
}

export type SetupVerb = 'PASV' | 'EPSV' | 'PORT' | 'EPRT' | 'LPRT' | 'LPSV';
export type TransferVerb = 'RETR' | 'STOR' | 'STOU' | 'APPE' | 'LIST' | 'NLST' | 'MLSD';
export type TransferDirection = 'download' | 'upload' | 'listing';

export interface FtpReply {
  code: number;
  /** All lines of a multi-line reply joined with "\n", code prefixes removed from first and last. */
  text: string;
  /** The raw lines as sent (without CRLF). */
  lines: string[];
  frame: number | null;
  ts: number;
}

export interface FtpCommand {
  frame: number | null;
  ts: number;
  /** Upper-case. */
  verb: string;
  /** Argument as sent (PASS masked at output time, not here); null when none. */
  arg: string | null;
  /** Working directory when the command was sent, where known. */
  cwd: string | null;
  replies: FtpReply[];
}

export interface DataConnection {
  id: number;
  client: Endpoint;
  server: Endpoint;
  mode: 'passive' | 'active' | null;
  setup: SetupVerb | null;
  setupFrame: number | null;
  command: { verb: string; arg: string | null; frame: number | null } | null;
  direction: TransferDirection | null;
  path: string | null;
  expectedBytes: number | null;
  bytes: number;
  missingBytes: number;
  start: number;
  end: number;
  complete: boolean;
  sha256: string | null;
  // --- additions beyond contract v1 (allowed: fields may be added) ---
  restOffset: number | null;
  transferType: 'A' | 'I' | 'E' | 'L' | null;
  closeReason: 'fin' | 'rst' | 'timeout' | 'end' | null;
  /** 226/250 (ok), 426/451/... final reply of the transfer command, when seen. */
  finalReply: { code: number; text: string; frame: number | null } | null;
  /** For unpaired connections: why we think it is FTP data. */
  guessedRole: string | null;
  /**
   * The FTP role of the side that opened it (sent the SYN): the client in passive mode, the
   * server in active mode; null when unknown.
   */
  opener: FtpRole | null;
  /** TCP facts of the connection it ran on, as of the last snapshot; not serialized. */
  tcp: TcpFacts | null;
  /** Why the transfer went as fast as it did (TCP analysis of its bulk direction), once it is closed. */
  tcpAnalysis?: TcpTransferAnalysis | null;
}

/**
 * A transfer whose data connection was announced and answered (PASV/PORT, then RETR/LIST/…)
 * but never appeared in the capture.
 */
export interface UnseenTransfer {
  command: { verb: string; arg: string | null; frame: number | null };
  setup: SetupVerb | null;
  mode: 'passive' | 'active' | null;
  /** Where the data connection was to go. */
  announced: Endpoint;
  finalReply: { code: number; text: string; frame: number | null } | null;
}

export interface Session {
  id: number;
  client: Endpoint;
  server: Endpoint;
  start: number;
  end: number;
  user: string | null;
  loggedIn: boolean | null;
  tls: boolean;
  tlsInfo: { sni: string | null; version: string | null } | null;
  handshake: { seen: boolean; rttMs: number | null; mss: [number, number] | null };
  /** The server's first reply (`ts` is not part of the JSON contract's greeting). */
  greeting: { code: number; text: string; frame: number | null; ts?: number } | null;
  commands: FtpCommand[];
  /** Replies that answered no command (unsolicited 421/221, or before the capture started). */
  unsolicitedReplies: FtpReply[];
  dataConnections: DataConnection[];
  findings: Finding[];
  /** Control-channel bytes [client→server, server→client]. */
  controlBytes: [number, number];
  closed: boolean;
  /** Transfers whose data connection was announced but never seen in the capture. */
  unseenTransfers: UnseenTransfer[];
  /** Control and data packets in capture order, with their facts, when the analysis keeps packets. */
  packets: PacketList | null;
  /** TCP facts of the control connection, as of the last snapshot; not serialized. */
  tcp: TcpFacts | null;
  /** TCP analysis of the control connection (the direction that sent more), once it is closed. */
  controlTcpAnalysis?: TcpTransferAnalysis | null;
}

export interface SourceInfo {
  type: 'pcap' | 'pcapng' | 'live' | 'proxy';
  name: string;
  packets: number;
  bytes: number;
  linkTypes: string[];
  truncated: boolean;
}

/** Everything the analysis produced; the report, flow, extract and the dashboard read this. */
export interface Analysis {
  source: SourceInfo;
  sessions: Session[];
  unpairedDataConnections: DataConnection[];
  findings: Finding[];
}

/** Receives a data connection's payload as it is delivered (extract). */
export interface DataSink {
  write(bytes: Buffer): void;
  /** Called once, when the data connection is finished; `dc` is final by then. */
  end(dc: DataConnection, session: Session | null): void;
}

/** Incremental output for live sources (NDJSON, proxy --log, the live dashboard). */
export type AnalysisEvent =
  | { type: 'session-open'; session: Session }
  | { type: 'command'; session: Session; command: FtpCommand }
  | { type: 'reply'; session: Session; command: FtpCommand | null; reply: FtpReply }
  | { type: 'data-open'; session: Session | null; dataConnection: DataConnection }
  | { type: 'data-close'; session: Session | null; dataConnection: DataConnection }
  | { type: 'finding'; session: Session | null; finding: Finding }
  | { type: 'session-close'; session: Session };

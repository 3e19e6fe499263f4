import type { Finding } from './findings.js';
import type { TcpConnection } from '../tcp/events.js';

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
  /** The TCP connection it ran on (captures); not serialized. */
  tcp: TcpConnection | null;
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
  greeting: { code: number; text: string; frame: number | null } | null;
  commands: FtpCommand[];
  /** Replies that answered no command (unsolicited 421/221, or before the capture started). */
  unsolicitedReplies: FtpReply[];
  dataConnections: DataConnection[];
  findings: Finding[];
  /** Control-channel bytes [client→server, server→client]. */
  controlBytes: [number, number];
  closed: boolean;
  /** Control and data packets in time order, when the pipeline keeps packets (dashboard). */
  packets: PacketLog | null;
  /** The control TCP connection (captures); not serialized. */
  tcp: TcpConnection | null;
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

/** One packet of a session (control or data), for packet lists. Kept only when asked for. */
export interface PacketRef {
  frame: number;
  ts: number;
  /** TCP connection id (TcpConnection.id). */
  connId: number;
  /** 0 client → server of that connection, 1 server → client. */
  dir: 0 | 1;
  flags: number;
  seq: number;
  ack: number;
  /** TCP payload length. */
  len: number;
  /** Where to re-read the packet for full dissection. */
  fileOffset: number;
}

/** Bounded per-session packet history: a ring that counts what it dropped. */
export interface PacketLog {
  items: PacketRef[];
  dropped: number;
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

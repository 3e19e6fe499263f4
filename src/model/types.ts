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
  /**
   * Working directory when the command was sent, where known: absolute ("/pub"), or relative to
   * the session's start directory ("./pub/data") when the client navigated before any PWD.
   */
  cwd: string | null;
  /** false when `cwd` is relative to the unknown start directory; absent otherwise. */
  cwdAnchored?: false;
  replies: FtpReply[];
  /** Lines the server sent in answer that are not FTP replies (no 3-digit code); absent when none. */
  malformedReplies?: MalformedLine[];
}

/** A server line that is not an FTP reply, kept with the command it most plausibly answers. */
export interface MalformedLine {
  text: string;
  frame: number | null;
  ts: number;
}

/**
 * How a transfer ended, as its peers tell it (not how much of it the capture holds):
 * ok: a 2xx final reply, or a clean close where no reply is known;
 * failed: a 4xx/5xx final reply, a reset, fewer bytes than announced on a closed connection, or
 * no final reply before the control connection closed;
 * unknown: the capture ends before the transfer does.
 */
export type TransferOutcome = 'ok' | 'failed' | 'unknown';

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
  /**
   * Whether the first bytes that crossed it look binary (a NUL byte, or many control bytes) rather
   * than text; null when nothing crossed or the bytes are TLS. Not serialized.
   */
  looksBinary?: boolean | null;
  /**
   * TLS data connections: whether the client's ClientHello offered to resume a TLS session (the
   * control connection's, as vsftpd's require_ssl_reuse demands); null when not TLS or not seen.
   * Not serialized.
   */
  tlsResumption?: boolean | null;
  /** How the transfer ended as the peers tell it; null until the data connection is final. */
  outcome: TransferOutcome | null;
  /** Holes the capture has in the file's direction (`missingBytes` is their total). */
  gaps: number;
  /** TCP facts of the connection it ran on, as of the last snapshot; not serialized. */
  tcp: TcpFacts | null;
  /** Why the transfer went as fast as it did (TCP analysis of its bulk direction), once it is closed. */
  tcpAnalysis?: TcpTransferAnalysis | null;
  /**
   * Live sources (and files still being read): 'open' while the connection carries bytes,
   * 'closing' once it has closed and its final reply is awaited; absent once the analysis has
   * settled it (bytes, complete and sha256 final). Until then `bytes`, `missingBytes` and `end`
   * are the figures so far. Not serialized.
   */
  progress?: 'open' | 'closing';
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
  /** The commands the session holds (all of them, unless they are streamed: see streamedCommands). */
  commands: FtpCommand[];
  /**
   * Commands handed on as they completed (report --json streams them to its spool) and no longer
   * held in `commands`, which are the ones after them; absent when the analysis keeps every command.
   * Not serialized.
   */
  streamedCommands?: number;
  /** Replies that answered no command (unsolicited 421/221, or before the capture started). */
  unsolicitedReplies: FtpReply[];
  /** The data connections the session holds (all of them, unless they are streamed: see streamedDataConnections). */
  dataConnections: DataConnection[];
  /**
   * Final data connections handed on (report --json streams them to its spool) and no longer held in
   * `dataConnections`, which are the ones after them; absent when the analysis keeps them all.
   * Not serialized.
   */
  streamedDataConnections?: number;
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
  /**
   * The FTP server the session was relayed to, when the source is the proxy (or a recording of
   * it): in transparent mode the address the client dialled (SO_ORIGINAL_DST), in forward mode
   * the destination of `USER name@host` (`name` as typed), in reverse mode `--upstream`.
   * `server` stays the far end of the control connection the client made: the proxy.
   */
  originalServer?: OriginalServer;
}

export interface OriginalServer extends Endpoint {
  /** The host name the user gave, when it was a name (forward mode). */
  name?: string;
}

export interface SourceInfo {
  type: 'pcap' | 'pcapng' | 'live' | 'proxy';
  name: string;
  packets: number;
  bytes: number;
  linkTypes: string[];
  truncated: boolean;
  /** Time of the first packet (not in the JSON contract; display filters' frame.time_relative counts from it). */
  start?: number;
  /** A set of captures merged into one analysis (several files, a directory): each file. */
  files?: SourceFile[];
}

/**
 * One file of a merged set. Frame numbers everywhere else are global (the merged order);
 * frameRuns maps them back: global frames [first, first + count) are this file's frames
 * [localFirst, localFirst + count).
 */
export interface SourceFile {
  name: string;
  format: 'pcap' | 'pcapng' | null;
  gzip: boolean;
  packets: number;
  /** Bytes read (decompressed). */
  bytes: number;
  linkTypes: string[];
  truncated: boolean;
  /** Global frames of its first and last packet; null without packets. */
  firstFrame: number | null;
  lastFrame: number | null;
  /** Its earliest and latest packet times (Unix epoch seconds). */
  firstTs: number | null;
  lastTs: number | null;
  /** Why it was not read at all; null when read. */
  skipped: string | null;
  /** [first global frame, its frame in this file, count]; null when the merge interleaved too often to keep the map. */
  frameRuns: [number, number, number][] | null;
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
  /** `length` bytes the capture lacks come next: the sink keeps later bytes at their true offsets. */
  gap?(length: number): void;
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
  | { type: 'session-close'; session: Session }
  /** The session's originalServer became known (the proxy connected, or its recording says so). */
  | { type: 'session-server'; session: Session; ts: number };

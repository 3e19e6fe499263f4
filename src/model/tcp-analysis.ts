/**
 * TCP analysis as values: the per-packet flags and numbers Wireshark calls tcp.analysis.*
 * (same names, same definitions: tshark is the oracle they are measured against), and the
 * per-transfer diagnosis built from them. The TCP layer computes them in the one analysis pass;
 * views read these values and never the TCP layer's state.
 *
 * Vocabulary layer: imports nothing outside src/model/.
 */
import type { Dir } from './tcp-facts.js';

// ---- per-packet flags (Wireshark's TCP_A_* in packet-tcp.c, own bit numbers) -------------

export const TA_RETRANSMISSION = 1 << 0;
export const TA_FAST_RETRANSMISSION = 1 << 1;
export const TA_SPURIOUS_RETRANSMISSION = 1 << 2;
export const TA_OUT_OF_ORDER = 1 << 3;
export const TA_LOST_SEGMENT = 1 << 4;
export const TA_ACK_LOST_SEGMENT = 1 << 5;
export const TA_DUPLICATE_ACK = 1 << 6;
export const TA_ZERO_WINDOW = 1 << 7;
export const TA_ZERO_WINDOW_PROBE = 1 << 8;
export const TA_ZERO_WINDOW_PROBE_ACK = 1 << 9;
export const TA_WINDOW_FULL = 1 << 10;
export const TA_WINDOW_UPDATE = 1 << 11;
export const TA_KEEP_ALIVE = 1 << 12;
export const TA_KEEP_ALIVE_ACK = 1 << 13;
export const TA_REUSED_PORTS = 1 << 14;
/** All flag bits above. */
export const TA_FLAG_MASK = (1 << 15) - 1;

/** Every kind of retransmission: tshark reports tcp.analysis.retransmission on all three. */
export const TA_ANY_RETRANSMISSION = TA_RETRANSMISSION | TA_FAST_RETRANSMISSION | TA_SPURIOUS_RETRANSMISSION;

/** Window scaling as Wireshark tracks it per direction: the shift, or one of these. */
export const WSCALE_UNKNOWN = -1;
export const WSCALE_NONE = -2;

/** What the analysis decided about one packet (Wireshark's per-packet "tcp_acked" record). */
export interface TcpPacketAnalysis {
  /** TA_* bits. */
  flags: number;
  /** tcp.analysis.acks_frame: the frame whose data this packet acknowledges exactly; null when none. */
  acksFrame: number | null;
  /** tcp.analysis.ack_rtt in seconds, with acksFrame (null when zero or none, as tshark shows it). */
  ackRtt: number | null;
  /** tcp.analysis.initial_rtt in seconds, where tshark shows it (from the handshake's ACK on). */
  initialRtt: number | null;
  /** tcp.analysis.bytes_in_flight (null where tshark shows none). */
  bytesInFlight: number | null;
  /** tcp.analysis.duplicate_ack_num and duplicate_ack_frame, on duplicate ACKs. */
  dupAckNum: number | null;
  dupAckFrame: number | null;
  /** tcp.window_size: the window after scaling as Wireshark knew it at this packet. */
  windowSize: number;
  /** The sender's window scale as known at this packet: a shift, WSCALE_UNKNOWN or WSCALE_NONE. */
  windowScale: number;
  /** tcp.analysis.rto (seconds since the original was sent) and rto_frame, on retransmissions. */
  rto: number | null;
  rtoFrame: number | null;
  /** The segment this packet acknowledges (acksFrame), as far as the packet list still holds it: for the seq/ack arithmetic. */
  ackedSegment?: { frame: number; relSeq: number | null; len: number; flags: number } | null;
  /** The ACK that acknowledges this segment exactly, and how long after it (the RTT), while known. */
  ackedBy?: { frame: number; rtt: number | null } | null;
}

/** A catalogue entry for one analysis flag: its Wireshark field, the short tag the packets view shows, its meaning. */
export interface TcpAnalysisFlagInfo {
  /** Wireshark's display-filter field name. */
  readonly field: string;
  /** The bits that make tshark report this field (a fast retransmission is also a retransmission). */
  readonly bits: number;
  /** Short tag for packet lists (Wireshark's Info column prefix, shortened). */
  readonly tag: string;
  /** One line: what it means. */
  readonly meaning: string;
}

/** The analysis flags, in the order tags are shown. */
export const TCP_ANALYSIS_FLAGS = [
  { field: 'tcp.analysis.reused_ports', bits: TA_REUSED_PORTS, tag: 'PORTS REUSED', meaning: 'a new SYN on the ports of an earlier connection (new initial sequence number)' },
  { field: 'tcp.analysis.lost_segment', bits: TA_LOST_SEGMENT, tag: 'LOST', meaning: 'this segment starts beyond the next expected byte: an earlier segment was lost or not captured' },
  { field: 'tcp.analysis.ack_lost_segment', bits: TA_ACK_LOST_SEGMENT, tag: 'ACK UNSEEN', meaning: 'acknowledges data the capture never saw: the capture missed packets (not the network)' },
  { field: 'tcp.analysis.fast_retransmission', bits: TA_FAST_RETRANSMISSION, tag: 'FAST RETX', meaning: 'resent after two or more duplicate ACKs asked for it (fast retransmit, RFC 5681)' },
  { field: 'tcp.analysis.spurious_retransmission', bits: TA_SPURIOUS_RETRANSMISSION, tag: 'SPURIOUS', meaning: 'resent data the receiver had already acknowledged: the retransmission was not needed' },
  { field: 'tcp.analysis.retransmission', bits: TA_ANY_RETRANSMISSION, tag: 'RETX', meaning: 'resent data already sent once: the first copy or its ACK was lost or late' },
  { field: 'tcp.analysis.out_of_order', bits: TA_OUT_OF_ORDER, tag: 'OOO', meaning: 'arrived after later data, too soon to be a retransmission: reordered on the way' },
  { field: 'tcp.analysis.duplicate_ack', bits: TA_DUPLICATE_ACK, tag: 'DUP ACK', meaning: 'repeats the previous ACK: the receiver is still waiting for the same byte (a hole)' },
  { field: 'tcp.analysis.zero_window', bits: TA_ZERO_WINDOW, tag: 'ZERO WIN', meaning: 'the receiver advertises a window of 0: its buffer is full, the sender must stop' },
  { field: 'tcp.analysis.zero_window_probe', bits: TA_ZERO_WINDOW_PROBE, tag: 'ZW PROBE', meaning: 'one byte sent into a zero window, to learn when it opens' },
  { field: 'tcp.analysis.zero_window_probe_ack', bits: TA_ZERO_WINDOW_PROBE_ACK, tag: 'ZW PROBE ACK', meaning: 'answers a zero-window probe: the window is still zero' },
  { field: 'tcp.analysis.window_full', bits: TA_WINDOW_FULL, tag: 'WIN FULL', meaning: 'this segment fills the receiver\'s advertised window: the sender must wait for an ACK' },
  { field: 'tcp.analysis.window_update', bits: TA_WINDOW_UPDATE, tag: 'WIN UPDATE', meaning: 'only the window changed: the receiver made room (read data) and says so' },
  { field: 'tcp.analysis.keep_alive', bits: TA_KEEP_ALIVE, tag: 'KEEP-ALIVE', meaning: 'a keep-alive: repeats the byte before the next one to check the peer is there' },
  { field: 'tcp.analysis.keep_alive_ack', bits: TA_KEEP_ALIVE_ACK, tag: 'KEEP-ALIVE ACK', meaning: 'answers a keep-alive' },
] as const satisfies readonly TcpAnalysisFlagInfo[];

/** The Wireshark field names of the analysis flags. */
export type TcpAnalysisFlagField = (typeof TCP_ANALYSIS_FLAGS)[number]['field'];

/** The flags' tags for a packet list: "RETX", "DUP ACK #2", "ZERO WIN" (a fast retransmission shows FAST RETX alone). */
export function analysisTags(a: Pick<TcpPacketAnalysis, 'flags' | 'dupAckNum'>): string[] {
  const tags: string[] = [];
  let f = a.flags;
  // The general retransmission tag only when no more specific kind was given.
  if (f & (TA_FAST_RETRANSMISSION | TA_SPURIOUS_RETRANSMISSION)) f &= ~TA_RETRANSMISSION;
  for (const info of TCP_ANALYSIS_FLAGS as readonly TcpAnalysisFlagInfo[]) {
    if (info.field === 'tcp.analysis.retransmission' ? (f & TA_RETRANSMISSION) === 0 : (f & info.bits) === 0) continue;
    tags.push(info.bits === TA_DUPLICATE_ACK && a.dupAckNum ? `${info.tag} #${a.dupAckNum}` : info.tag);
  }
  return tags;
}

// ---- per-transfer diagnosis -------------------------------------------------------------

/** What set the pace of a stretch of a transfer. */
export type LimitingCause = 'receiver' | 'loss' | 'window' | 'sender';

export const LIMITING_CAUSES: readonly LimitingCause[] = ['receiver', 'loss', 'window', 'sender'];

/**
 * A time with no new data for longer than max(1 s, 4 × RTT). A wait in which the other side sent
 * data is a turn of a conversation (a reply waiting for the next command), not a stall, unless the
 * receiver's window was zero or the sender was retransmitting.
 */
export interface TransferStall {
  start: number;
  end: number;
  /** The last new data before it and the packet that ended it (null when the connection ended stalled). */
  fromFrame: number | null;
  toFrame: number | null;
  /** Why nothing moved: the receiver's window was zero, the sender was waiting to retransmit, or had nothing in flight. */
  cause: 'zero-window' | 'retransmission' | 'idle' | 'unacknowledged';
  /** The connection ended (FIN, RST or the capture's end) before new data came. */
  open: boolean;
}

/**
 * The diagnosis of one TCP connection's bulk direction (the data of a transfer; for a control
 * connection, the direction that sent more): throughput over time, RTT, loss, window and stalls,
 * and the limiting cause of each stretch of time.
 */
export interface TcpTransferAnalysis {
  /** The direction analysed: 0 from the TCP initiator, 1 from the other side. */
  dir: Dir;
  /** Payload bytes of new data from that direction: the stream's length (holes the capture missed included). */
  bytes: number;
  /** Data segments sent, and how many of them were retransmissions (any kind) with their bytes. */
  segments: number;
  retransmittedSegments: number;
  retransmittedBytes: number;
  /** Of those, retransmissions of data already acknowledged (not needed: reordering, or a timeout too short). */
  spuriousRetransmissions: number;
  /** Segments that arrived out of order, and segments after a hole (lost before the capture point). */
  outOfOrder: number;
  lostSegments: number;
  /** ACKs of data the capture never saw: the capture point missed packets (not the network). */
  ackedUnseen: number;
  firstRetransmissionFrame: number | null;
  firstZeroWindowFrame: number | null;
  /** Retransmissions after a retransmission timeout (plain retransmissions with tcp.analysis.rto ≥ 200 ms). */
  rtos: number;
  /** The longest of those timeouts, seconds; null when none. */
  rtoMaxSec: number | null;
  /** Time from the first to the last new data byte, seconds. */
  durationSec: number;
  /** Bytes per second over that time; null when shorter than a millisecond. */
  throughput: number | null;
  /**
   * New bytes per fixed-width time bucket from `start` (at most MAX_THROUGHPUT_BUCKETS), and the
   * cause that limited each bucket most (null when no time was accounted to it).
   */
  timeline: { start: number; bucketSec: number; bytes: number[]; cause: (LimitingCause | null)[] };
  /**
   * ACK round-trip times (tcp.analysis.ack_rtt of the receiver's ACKs), ms. They span the whole path
   * only when the capture is at the sender; at the receiver they are its ACK delay.
   */
  rttMs: { min: number; median: number; max: number; samples: number } | null;
  /** Zero-window episodes advertised by the receiver, and their total duration. */
  zeroWindow: { periods: number; seconds: number };
  /** Segments that filled the receiver's window (tcp.analysis.window_full). */
  windowFull: number;
  /** The largest window the receiver advertised (bytes, after scaling) and the most bytes in flight seen (Wireshark's, at the capture point). */
  maxWindow: number | null;
  maxInFlight: number | null;
  /**
   * The largest flight of the sender: unacknowledged bytes, or the new bytes of one round trip where
   * the capture is at the receiver.
   */
  maxFlight: number | null;
  /** The path's round-trip time (the handshake's, or the ACKs' when larger), ms. */
  pathRttMs: number | null;
  /** Window scale shifts offered in the two SYNs [initiator, other side]; null where a SYN lacked the option or was not seen. */
  windowScale: [number | null, number | null];
  /** Both SYNs were seen, so whether scaling is on is known. */
  handshakeSeen: boolean;
  /** Seconds spent in each limiting state. */
  causeSeconds: Record<LimitingCause, number>;
  /** The cause that took the most time; null when the transfer was too short to say. */
  limitedBy: LimitingCause | null;
  stalls: TransferStall[];
  /** Stalls beyond the ones listed. */
  moreStalls: number;
}

/** Buckets kept per timeline; adjacent buckets merge (width doubles) beyond it. */
export const MAX_THROUGHPUT_BUCKETS = 128;
/** Stalls listed per connection; the rest are counted. */
export const MAX_STALLS = 16;

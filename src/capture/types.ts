import type { Finding } from '../model/findings.js';

/**
 * One captured packet as handed from a capture source to the pipeline.
 *
 * Readers reuse one PacketRecord object and one chunk buffer: a record is valid only
 * during the onPacket callback. The packet bytes are buf[offset, offset + caplen).
 * Copy whatever you keep.
 */
export interface PacketRecord {
  /** 1-based, numbered as Wireshark numbers frames (across all sections of a pcapng). */
  frame: number;
  /** Unix epoch seconds, float (µs precision is kept). */
  ts: number;
  /** DLT / LINKTYPE_* value of the interface this packet came from. */
  linkType: number;
  buf: Buffer;
  offset: number;
  /** Captured length (bytes present). */
  caplen: number;
  /** Original length on the wire; caplen < wirelen means snaplen truncation. */
  wirelen: number;
  /** Byte offset of this packet's record/block in the (decompressed) capture stream. */
  fileOffset: number;
  /** pcapng interface id, 0 for pcap and live. */
  interfaceId: number;
  /** pcapng opt_comment of this packet, when present. */
  comment?: string;
  /**
   * The timestamp exactly as the file stores it, so that an export can write it back unchanged
   * (`ts`, a double, loses nanoseconds). pcap (tsForm 'split'): tsHigh is the seconds and tsLow
   * the fraction in 1/tsUnits of a second (10^6 or 10^9). pcapng (tsForm 'count'): tsHigh:tsLow
   * is one 64-bit count of 1/tsUnits seconds (if_tsresol), to which tsOffset seconds are added
   * (if_tsoffset). Absent for packets no file holds (live capture, the proxy).
   */
  tsForm?: 'split' | 'count';
  tsHigh?: number;
  tsLow?: number;
  tsUnits?: number;
  tsOffset?: number;
  /**
   * Set on a packet re-read from a merged set of captures (frame is then the global frame):
   * the file it is in and its frame number there.
   */
  origin?: { file: string; frame: number };
}

export type CaptureFormat = 'pcap' | 'pcapng';

/** What a reader learned about the whole capture. Filled in as reading goes on. */
export interface CaptureInfo {
  name: string;
  format: CaptureFormat;
  gzip: boolean;
  /** Packets delivered. */
  packets: number;
  /** Bytes of the capture read (decompressed). */
  bytes: number;
  /** Names of the link types seen, e.g. ["EN10MB", "LINUX_SLL2"]. */
  linkTypes: string[];
  /** True when the file ended in the middle of a record or was damaged. */
  truncated: boolean;
  /** Section/interface comments and other capture-level notes. */
  comments: string[];
  /** capture-truncated, capture-corrupt, unknown-link-type, ... */
  findings: Finding[];
}

export type PacketCallback = (pkt: PacketRecord) => void;

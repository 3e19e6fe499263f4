import type { CaptureFormat, CaptureInfo, PacketCallback, PacketRecord } from './types.js';

/** Where and how a capture stopped being readable. */
export interface Damage {
  /** Byte offset in the (decompressed) capture stream. */
  offset: number;
  /** True when the data simply ended (cut tail); false for garbage. */
  truncated: boolean;
  /** What was wrong, e.g. "record claims 4294967295 captured bytes (limit 262144)". */
  what: string;
}

/**
 * A pure, incremental record parser: fed whatever bytes are buffered, it delivers every
 * complete record and says where it stopped. No I/O; the reader loop owns the buffer.
 */
export interface RecordParser {
  readonly format: CaptureFormat;
  /** Set when the parser found data it cannot read; parsing stops there. */
  damage: Damage | null;
  /**
   * Delivers the complete records in buf[pos, end), where buf[0] is at stream offset `base`.
   * Returns the position of the first unconsumed byte. A position beyond `end` asks the
   * caller to skip that many more bytes of the stream (a block too large to buffer).
   */
  parse(buf: Buffer, pos: number, end: number, base: number): number;
  /** Explains an incomplete record left at the end of the stream. */
  describeIncomplete(available: number): string;
}

export interface ParserContext {
  info: CaptureInfo;
  onPacket: PacketCallback;
  rec: PacketRecord;
  /**
   * Set by onPacket to stop the parser right after the packet it was handed, which stays
   * valid (rec and its bytes) until the parser is called again: a merge of several captures
   * holds one packet of each this way, and copies none.
   */
  paused?: boolean;
}

/** Largest packet a capture may claim (Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD). */
export const MAX_CAPLEN = 262_144;

export function newPacketRecord(): PacketRecord {
  return {
    frame: 0,
    ts: 0,
    linkType: 0,
    buf: Buffer.alloc(0),
    offset: 0,
    caplen: 0,
    wirelen: 0,
    fileOffset: 0,
    interfaceId: 0,
    comment: undefined,
    // set here so every record has one shape from the start (see PacketRecord.tsForm)
    tsForm: undefined,
    tsHigh: 0,
    tsLow: 0,
    tsUnits: 0,
    tsOffset: 0,
  };
}

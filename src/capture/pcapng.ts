import { finding, pushFinding } from '../model/findings.js';
import { isSupportedLinkType, linkTypeName } from './linktypes.js';
import { MAX_CAPLEN, type Damage, type ParserContext, type RecordParser } from './parser.js';

export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_PB = 0x00000002; // obsolete Packet Block
export const BT_SPB = 0x00000003;
export const BT_EPB = 0x00000006;
export const BT_ISB = 0x00000005;
const ISB_IFRECV = 4;
const ISB_IFDROP = 5;
const ISB_OSDROP = 7;
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

export const OPT_ENDOFOPT = 0;
export const OPT_COMMENT = 1;
export const IF_NAME = 2;
export const IF_TSRESOL = 9;
export const IF_TSOFFSET = 14;
export const SHB_USERAPPL = 4;

/** Blocks up to this size are buffered whole; larger non-packet blocks are skipped unread. */
export const MAX_BUFFERED_BLOCK = 2 << 20;

export interface PcapngInterface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second (if_tsresol; 1e6 by default). */
  unitsPerSecond: number;
  /** if_tsoffset, seconds added to every timestamp. */
  tsOffset: number;
}

/** What a packet block needs from its section: remembered per section for readFrame. */
export interface PcapngSection {
  /** Stream offset of the Section Header Block. */
  offset: number;
  littleEndian: boolean;
  interfaces: PcapngInterface[];
  /** Frame number of the section's first packet minus one. */
  framesBefore: number;
}

/** Units per second for an if_tsresol byte: 10^-n, or 2^-n when the top bit is set. */
export function tsresolUnits(v: number): number | null {
  const exp = v & 0x7f;
  if (v & 0x80) return exp <= 63 ? 2 ** exp : null;
  return exp <= 15 ? 10 ** exp : null;
}

/**
 * A pcapng timestamp (a 64-bit count of units) in seconds. Counts below 2^53 (microseconds until
 * the year 2255) are exact as a double; above that (nanoseconds) the count is divided by long
 * division in 16-bit steps, so the result is `seconds + remainder / units`, as the pcap reader
 * computes it, instead of a double that has already lost the nanoseconds.
 */
export function unitsToSeconds(high: number, low: number, units: number): number {
  if (high < 0x200000 || !Number.isInteger(units) || units > 2 ** 36) return (high * 4294967296 + low) / units;
  let sec = 0;
  let rem = 0;
  for (const limb of [high >>> 16, high & 0xffff, low >>> 16, low & 0xffff]) {
    const cur = rem * 65536 + limb;
    const q = Math.floor(cur / units);
    rem = cur - q * units;
    sec = sec * 65536 + q;
  }
  return sec + rem * (1 / units);
}

/** Calls back for each option in buf[start, end); stops at opt_endofopt or a malformed option. */
export function forEachOption(
  buf: Buffer,
  start: number,
  end: number,
  le: boolean,
  cb: (code: number, valueStart: number, valueLength: number) => void,
): void {
  let p = start;
  while (end - p >= 4) {
    const code = le ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
    const len = le ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2);
    if (code === OPT_ENDOFOPT) return;
    if (p + 4 + len > end) return;
    cb(code, p + 4, len);
    p += 4 + ((len + 3) & ~3);
  }
}

/** Text of a UTF-8 option value, without trailing NULs some writers add. */
function optionText(buf: Buffer, start: number, len: number): string {
  return buf.toString('utf8', start, start + len).replace(/\0+$/, '');
}

/**
 * pcapng: a sequence of blocks (type, length, body, length) in sections, each starting with a
 * Section Header Block that sets the byte order and owns the interfaces declared after it.
 */
export class PcapngParser implements RecordParser {
  readonly format = 'pcapng' as const;
  damage: Damage | null = null;
  /** Sections seen so far, for readFrame (bounded: later sections beyond the limit are not kept). */
  readonly sections: PcapngSection[] = [];
  private section: PcapngSection | null = null;
  private frame: number;

  static readonly MAX_SECTIONS_KEPT = 10_000;
  static readonly MAX_INTERFACES = 65_536;

  constructor(private readonly ctx: ParserContext, firstFrame = 1, resumeIn?: PcapngSection) {
    this.frame = firstFrame - 1;
    if (resumeIn) this.section = resumeIn;
  }

  parse(buf: Buffer, pos: number, end: number, base: number): number {
    const rec = this.ctx.rec;
    rec.buf = buf;
    while (end - pos >= 12) {
      let section = this.section;
      const rawType = buf.readUInt32LE(pos);
      if (rawType === BT_SHB) {
        const bom = buf.readUInt32LE(pos + 8);
        const le = bom === BYTE_ORDER_MAGIC;
        if (!le && buf.readUInt32BE(pos + 8) !== BYTE_ORDER_MAGIC) {
          return this.fail(pos, base, `section header block has a bad byte-order magic 0x${bom.toString(16).padStart(8, '0')}`);
        }
        const len = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
        if (!this.lengthOk(len, 28, pos, base, 'section header block') || len > MAX_BUFFERED_BLOCK) {
          if (!this.damage) this.fail(pos, base, `section header block length ${len} is too large`);
          return pos;
        }
        if (end - pos < len) return pos;
        if (!this.trailerOk(buf, pos, len, le, base)) return pos;
        section = { offset: base + pos, littleEndian: le, interfaces: [], framesBefore: this.frame };
        this.section = section;
        if (this.sections.length < PcapngParser.MAX_SECTIONS_KEPT) this.sections.push(section);
        forEachOption(buf, pos + 24, pos + len - 4, le, (code, vs, vl) => {
          if (code === OPT_COMMENT) this.ctx.info.comments.push(optionText(buf, vs, vl));
        });
        pos += len;
        continue;
      }
      if (!section) return this.fail(pos, base, 'the file does not start with a section header block');
      const le = section.littleEndian;
      const type = le ? rawType : buf.readUInt32BE(pos);
      const len = le ? buf.readUInt32LE(pos + 4) : buf.readUInt32BE(pos + 4);
      if (!this.lengthOk(len, 12, pos, base, `block of type 0x${type.toString(16)}`)) return pos;
      const isPacket = type === BT_EPB || type === BT_SPB || type === BT_PB;
      if (len > MAX_BUFFERED_BLOCK) {
        if (isPacket || type === BT_IDB) {
          return this.fail(pos, base, `${blockName(type)} claims ${len} bytes, more than any packet can need`);
        }
        return pos + len; // skip an oversized block of some other kind without buffering it
      }
      if (end - pos < len) return pos;
      if (!this.trailerOk(buf, pos, len, le, base)) return pos;

      if (type === BT_EPB || type === BT_PB) {
        if (len < 32) return this.fail(pos, base, `${blockName(type)} is only ${len} bytes long`);
        const ifId = type === BT_EPB ? (le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8)) : (le ? buf.readUInt16LE(pos + 8) : buf.readUInt16BE(pos + 8));
        const iface = section.interfaces[ifId];
        if (iface === undefined) {
          return this.fail(pos, base, `${blockName(type)} names interface ${ifId}, but its section declares ${section.interfaces.length}`);
        }
        const caplen = le ? buf.readUInt32LE(pos + 20) : buf.readUInt32BE(pos + 20);
        const padded = (caplen + 3) & ~3;
        if (caplen > MAX_CAPLEN || 32 + padded > len) {
          return this.fail(pos, base, `${blockName(type)} claims ${caplen} captured bytes in a ${len}-byte block`);
        }
        const high = le ? buf.readUInt32LE(pos + 12) : buf.readUInt32BE(pos + 12);
        const low = le ? buf.readUInt32LE(pos + 16) : buf.readUInt32BE(pos + 16);
        rec.frame = ++this.frame;
        rec.ts = unitsToSeconds(high, low, iface.unitsPerSecond) + iface.tsOffset;
        rec.tsForm = 'count';
        rec.tsHigh = high;
        rec.tsLow = low;
        rec.tsUnits = iface.unitsPerSecond;
        rec.tsOffset = iface.tsOffset;
        rec.linkType = iface.linkType;
        rec.caplen = caplen;
        rec.wirelen = le ? buf.readUInt32LE(pos + 24) : buf.readUInt32BE(pos + 24);
        rec.offset = pos + 28;
        rec.fileOffset = base + pos;
        rec.interfaceId = ifId;
        rec.comment = 32 + padded < len ? this.packetComment(buf, pos + 28 + padded, pos + len - 4, le) : undefined;
        this.ctx.info.packets++;
        this.ctx.onPacket(rec);
      } else if (type === BT_SPB) {
        const iface = section.interfaces[0];
        if (iface === undefined) return this.fail(pos, base, 'simple packet block before any interface description block');
        if (len < 16) return this.fail(pos, base, `simple packet block is only ${len} bytes long`);
        const wirelen = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
        let caplen = Math.min(wirelen, len - 16);
        if (iface.snaplen > 0 && caplen > iface.snaplen) caplen = iface.snaplen;
        if (caplen > MAX_CAPLEN) return this.fail(pos, base, `simple packet block claims ${caplen} captured bytes`);
        rec.frame = ++this.frame;
        rec.ts = 0; // SPBs carry no timestamp
        rec.tsForm = 'count';
        rec.tsHigh = 0;
        rec.tsLow = 0;
        rec.tsUnits = iface.unitsPerSecond;
        rec.tsOffset = 0;
        rec.linkType = iface.linkType;
        rec.caplen = caplen;
        rec.wirelen = wirelen;
        rec.offset = pos + 12;
        rec.fileOffset = base + pos;
        rec.interfaceId = 0;
        rec.comment = undefined;
        this.ctx.info.packets++;
        this.ctx.onPacket(rec);
      } else if (type === BT_IDB) {
        if (len < 20) return this.fail(pos, base, `interface description block is only ${len} bytes long`);
        if (section.interfaces.length >= PcapngParser.MAX_INTERFACES) {
          return this.fail(pos, base, `more than ${PcapngParser.MAX_INTERFACES} interfaces in one section`);
        }
        this.addInterface(buf, pos, len, le, section);
      } else if (type === BT_ISB && len >= 24) {
        this.statistics(buf, pos, len, le, section);
      }
      // Any other block (NRB, DSB, custom, ...) is skipped.
      pos += len;
      if (this.ctx.paused === true) return pos;
    }
    return pos;
  }

  describeIncomplete(available: number): string {
    if (!this.section) return `the file ends inside the section header block (${available} bytes present)`;
    return `the file ends inside a block after frame ${this.frame} (${available} bytes of it present)`;
  }

  private addInterface(buf: Buffer, pos: number, len: number, le: boolean, section: PcapngSection): void {
    const linkType = le ? buf.readUInt16LE(pos + 8) : buf.readUInt16BE(pos + 8);
    const snaplen = le ? buf.readUInt32LE(pos + 12) : buf.readUInt32BE(pos + 12);
    const iface: PcapngInterface = { linkType, snaplen, unitsPerSecond: 1e6, tsOffset: 0 };
    const info = this.ctx.info;
    forEachOption(buf, pos + 16, pos + len - 4, le, (code, vs, vl) => {
      if (code === IF_TSRESOL && vl >= 1) {
        const units = tsresolUnits(buf[vs]!);
        if (units === null) {
          pushFinding(info.findings, finding('warning', 'capture-bad-tsresol', `${info.name}: interface ${section.interfaces.length} has an unusable if_tsresol 0x${buf[vs]!.toString(16)} at byte ${pos}; assuming microseconds`));
        } else iface.unitsPerSecond = units;
      } else if (code === IF_TSOFFSET && vl >= 8) {
        const hi = le ? buf.readInt32LE(vs + 4) : buf.readInt32BE(vs);
        const lo = le ? buf.readUInt32LE(vs) : buf.readUInt32BE(vs + 4);
        iface.tsOffset = hi * 4294967296 + lo;
      } else if (code === OPT_COMMENT) {
        info.comments.push(optionText(buf, vs, vl));
      }
    });
    section.interfaces.push(iface);
    const name = linkTypeName(linkType);
    if (!info.linkTypes.includes(name)) info.linkTypes.push(name);
    if (!isSupportedLinkType(linkType)) {
      pushFinding(
        info.findings,
        finding('warning', 'unknown-link-type', `${info.name}: interface ${section.interfaces.length - 1} has link type ${linkType} (${name}), which ftpscope does not decode; its packets are counted but not analyzed`),
      );
    }
  }

  /**
   * An Interface Statistics Block: a recorder that lost packets says so here (isb_ifdrop,
   * isb_osdrop, and why in its comment), so the report of the file says so too.
   */
  private statistics(buf: Buffer, pos: number, len: number, le: boolean, section: PcapngSection): void {
    const ifId = le ? buf.readUInt32LE(pos + 8) : buf.readUInt32BE(pos + 8);
    let recv: bigint | null = null;
    let drop = 0n;
    let why = '';
    forEachOption(buf, pos + 20, pos + len - 4, le, (code, vs, vl) => {
      if ((code === ISB_IFDROP || code === ISB_OSDROP || code === ISB_IFRECV) && vl === 8) {
        const v = le ? buf.readBigUInt64LE(vs) : buf.readBigUInt64BE(vs);
        if (code === ISB_IFRECV) recv = v;
        // dumpcap puts the kernel's drops in one or the other; a file with both counts them once each.
        else drop += v;
      } else if (code === OPT_COMMENT) {
        why = optionText(buf, vs, vl);
      }
    });
    if (drop === 0n) return;
    const info = this.ctx.info;
    const name = section.interfaces[ifId] ? `interface ${ifId}` : `an undeclared interface ${ifId}`;
    pushFinding(info.findings, finding('warning', 'capture-drops-recorded',
      `${info.name}: the recording says ${drop} packets${recv !== null ? ` of ${recv}` : ''} on ${name} were lost while it was made${why ? ` (${why})` : ''}: expect gaps`));
  }

  /** The comments among a packet block's options (a loop rather than forEachOption: no closure per packet). */
  private packetComment(buf: Buffer, start: number, end: number, le: boolean): string | undefined {
    let comment: string | undefined;
    for (let p = start; end - p >= 4;) {
      const code = le ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
      const len = le ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2);
      if (code === OPT_ENDOFOPT || p + 4 + len > end) break;
      if (code === OPT_COMMENT) {
        const text = optionText(buf, p + 4, len);
        comment = comment === undefined ? text : `${comment}\n${text}`;
      }
      p += 4 + ((len + 3) & ~3);
    }
    return comment;
  }

  private lengthOk(len: number, min: number, pos: number, base: number, what: string): boolean {
    if (len < min) {
      this.fail(pos, base, `${what} length ${len} is shorter than the minimum ${min}`);
      return false;
    }
    if (len % 4 !== 0) {
      this.fail(pos, base, `${what} length ${len} is not a multiple of 4`);
      return false;
    }
    return true;
  }

  private trailerOk(buf: Buffer, pos: number, len: number, le: boolean, base: number): boolean {
    const trailer = le ? buf.readUInt32LE(pos + len - 4) : buf.readUInt32BE(pos + len - 4);
    if (trailer === len) return true;
    this.fail(pos, base, `block length ${len} at its start does not match ${trailer} at its end`);
    return false;
  }

  /** Records the damage and returns the position parsing stopped at. */
  private fail(pos: number, base: number, what: string): number {
    this.damage = { offset: base + pos, truncated: false, what };
    return pos;
  }
}

function blockName(type: number): string {
  switch (type) {
    case BT_EPB: return 'enhanced packet block';
    case BT_SPB: return 'simple packet block';
    case BT_PB: return 'packet block';
    case BT_IDB: return 'interface description block';
    default: return `block of type 0x${type.toString(16)}`;
  }
}

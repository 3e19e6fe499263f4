import { finding, pushFinding } from '../model/findings.js';
import { isSupportedLinkType, linkTypeFromHeaderField, linkTypeName } from './linktypes.js';
import { MAX_CAPLEN, type Damage, type ParserContext, type RecordParser } from './parser.js';

/** Classic libpcap file magics as read little-endian from the first 4 bytes. */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 24-byte record headers (ifindex, protocol, pkt_type). */
export const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;

export const PCAP_HEADER_LENGTH = 24;

export interface PcapHeader {
  littleEndian: boolean;
  nanoseconds: boolean;
  recordHeaderLength: 16 | 24;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linkType: number;
}

/** Reads the magic at buf[pos]; null when it is not a pcap magic. */
/** A classic pcap file header (little-endian, µs, version 2.4) for writers of generated captures. */
export function pcapFileHeader(linkType: number, snaplen = 262144): Buffer {
  const h = Buffer.alloc(PCAP_HEADER_LENGTH);
  h.writeUInt32LE(PCAP_MAGIC_US, 0);
  h.writeUInt16LE(2, 4);
  h.writeUInt16LE(4, 6);
  h.writeUInt32LE(snaplen, 16);
  h.writeUInt32LE(linkType, 20);
  return h;
}

export function pcapMagic(buf: Buffer, pos = 0): Omit<PcapHeader, 'versionMajor' | 'versionMinor' | 'snaplen' | 'linkType'> | null {
  if (buf.length - pos < 4) return null;
  for (const littleEndian of [true, false]) {
    const m = littleEndian ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
    if (m === PCAP_MAGIC_US) return { littleEndian, nanoseconds: false, recordHeaderLength: 16 };
    if (m === PCAP_MAGIC_NS) return { littleEndian, nanoseconds: true, recordHeaderLength: 16 };
    if (m === PCAP_MAGIC_KUZNETZOV) return { littleEndian, nanoseconds: false, recordHeaderLength: 24 };
  }
  return null;
}

/** Parses the 24-byte global header at buf[pos] (the caller checked it is all there). */
export function parsePcapHeader(buf: Buffer, pos = 0): PcapHeader | null {
  const m = pcapMagic(buf, pos);
  if (!m) return null;
  const u16 = (o: number) => (m.littleEndian ? buf.readUInt16LE(pos + o) : buf.readUInt16BE(pos + o));
  const u32 = (o: number) => (m.littleEndian ? buf.readUInt32LE(pos + o) : buf.readUInt32BE(pos + o));
  return {
    ...m,
    versionMajor: u16(4),
    versionMinor: u16(6),
    snaplen: u32(16),
    linkType: linkTypeFromHeaderField(u32(20)),
  };
}

/** libpcap format: a global header, then records of (ts_sec, ts_frac, caplen, wirelen, bytes). */
export class PcapParser implements RecordParser {
  readonly format = 'pcap' as const;
  damage: Damage | null = null;
  header: PcapHeader | null = null;
  private frame: number;

  constructor(private readonly ctx: ParserContext, firstFrame = 1) {
    this.frame = firstFrame - 1;
  }

  parse(buf: Buffer, pos: number, end: number, base: number): number {
    if (!this.header) {
      if (end - pos < PCAP_HEADER_LENGTH) return pos;
      this.header = parsePcapHeader(buf, pos);
      if (!this.header) {
        this.damage = { offset: base + pos, truncated: false, what: 'the pcap header magic is wrong' };
        return pos;
      }
      this.announceLinkType(this.header.linkType);
      pos += PCAP_HEADER_LENGTH;
    }
    const { littleEndian: le, recordHeaderLength: hl } = this.header;
    const fracScale = this.header.nanoseconds ? 1e-9 : 1e-6;
    const ctx = this.ctx;
    const rec = ctx.rec;
    const onPacket = ctx.onPacket;
    rec.buf = buf;
    rec.linkType = this.header.linkType;
    rec.interfaceId = 0;
    rec.comment = undefined;
    rec.tsForm = 'split';
    rec.tsUnits = this.header.nanoseconds ? 1e9 : 1e6;
    rec.tsOffset = 0;
    let frame = this.frame;
    // Record headers read with inline byte arithmetic: Buffer.readUInt32* checks its arguments on each call.
    const u32 = le ? u32le : u32be;
    while (end - pos >= hl) {
      const caplen = u32(buf, pos + 8);
      if (caplen > MAX_CAPLEN) {
        this.damage = {
          offset: base + pos,
          truncated: false,
          what: `packet record ${frame + 1} claims ${caplen} captured bytes (limit ${MAX_CAPLEN})`,
        };
        break;
      }
      if (end - pos - hl < caplen) break;
      rec.frame = ++frame;
      const sec = u32(buf, pos);
      const frac = u32(buf, pos + 4);
      rec.ts = sec + frac * fracScale;
      rec.tsHigh = sec;
      rec.tsLow = frac;
      rec.caplen = caplen;
      rec.wirelen = u32(buf, pos + 12);
      rec.offset = pos + hl;
      rec.fileOffset = base + pos;
      this.frame = frame;
      this.ctx.info.packets++;
      onPacket(rec);
      pos += hl + caplen;
      if (ctx.paused === true) break;
    }
    this.frame = frame;
    return pos;
  }

  describeIncomplete(available: number): string {
    if (!this.header) return `the file ends inside the 24-byte pcap header (${available} bytes present)`;
    return `the file ends inside packet record ${this.frame + 1} (${available} bytes of it present)`;
  }

  private announceLinkType(linkType: number): void {
    const info = this.ctx.info;
    const name = linkTypeName(linkType);
    if (!info.linkTypes.includes(name)) info.linkTypes.push(name);
    if (!isSupportedLinkType(linkType)) {
      pushFinding(
        info.findings,
        finding(
          'warning',
          'unknown-link-type',
          `${info.name}: link type ${linkType} (${name}) is not one ftpscope decodes; its packets are counted but not analyzed`,
        ),
      );
    }
  }
}

function u32le(b: Buffer, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

function u32be(b: Buffer, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

import type { PacketRecord } from '../capture/types.js';
import type { FastPacket } from './types.js';
import { AddressCache } from './addr.js';
import { Defragmenter } from './defrag.js';
import {
  LINKTYPE_EN10MB, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, DLT_RAW_12, DLT_RAW_14,
  LINKTYPE_NULL, LINKTYPE_LOOP, LINKTYPE_IPV4, LINKTYPE_IPV6, ETHERTYPE_IPV4, ETHERTYPE_IPV6,
  isVlanEtherType, nullFamilyToVersion, IPPROTO_TCP, IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_AH,
} from './linktypes.js';

/** A fresh FastPacket to hand to FastDecoder.decode again and again. */
export function newFastPacket(): FastPacket {
  return {
    kind: 'other', ipVersion: 4, src: '', dst: '', srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0,
    ipOffset: 0, tcpOffset: 0, tcpHeaderLength: 0, buf: Buffer.alloc(0), payloadOffset: 0, payloadLength: 0, payloadWireLength: 0,
  };
}

/** Most IPv6 extension headers we walk before calling the packet malformed (RFC 8200 allows any number). */
const MAX_EXT_HEADERS = 16;

/**
 * The analyzer's decoder: link layer → IPv4/IPv6 → TCP, reading offsets and numbers into one
 * reused FastPacket. No per-packet allocation except the rare cache miss on an address and
 * IP fragments (copied into the bounded defragmenter). Never throws on packet bytes.
 */
export class FastDecoder {
  readonly defrag: Defragmenter;
  private readonly addrs = new AddressCache();
  /** The link-layer result of the last decode: offset of the network header and its version. */
  private netOffset = 0;

  constructor(defrag: Defragmenter = new Defragmenter()) {
    this.defrag = defrag;
  }

  /** Returns true when `out` describes a TCP segment (out.kind === 'tcp'). */
  decode(rec: PacketRecord, out: FastPacket): boolean {
    const buf = rec.buf;
    const start = rec.offset;
    const end = start + rec.caplen;
    out.buf = buf;
    out.payloadLength = 0;
    out.payloadWireLength = 0;
    out.srcPort = 0;
    out.dstPort = 0;
    out.src = '';
    out.dst = '';
    const version = this.link(rec.linkType, buf, start, end);
    if (version === 4) return this.ipv4(rec, buf, this.netOffset, end, out);
    if (version === 6) return this.ipv6(rec, buf, this.netOffset, end, out);
    out.kind = version === -1 ? 'malformed' : 'other';
    return false;
  }

  /** Sets netOffset; returns 4, 6, 0 (not IP) or -1 (link header broken). */
  private link(linkType: number, buf: Buffer, start: number, end: number): number {
    let off: number;
    let etherType: number;
    switch (linkType) {
      case LINKTYPE_EN10MB:
        if (end - start < 14) return -1;
        off = start + 12;
        etherType = u16(buf, off);
        while (isVlanEtherType(etherType)) {
          if (end - off < 6) return -1;
          off += 4;
          etherType = u16(buf, off);
        }
        off += 2;
        break;
      case LINKTYPE_LINUX_SLL:
        if (end - start < 16) return -1;
        etherType = u16(buf, start + 14);
        off = start + 16;
        break;
      case LINKTYPE_LINUX_SLL2:
        if (end - start < 20) return -1;
        etherType = u16(buf, start);
        off = start + 20;
        break;
      case LINKTYPE_NULL:
      case LINKTYPE_LOOP: {
        if (end - start < 4) return -1;
        this.netOffset = start + 4;
        // The family is in the capturing host's byte order (NULL) or network order (LOOP); accept both.
        const le = (buf[start]! | (buf[start + 1]! << 8) | (buf[start + 2]! << 16)) + buf[start + 3]! * 0x1000000;
        return nullFamilyToVersion(le) || nullFamilyToVersion(u32(buf, start));
      }
      case LINKTYPE_RAW:
      case DLT_RAW_12:
      case DLT_RAW_14:
      case LINKTYPE_IPV4:
      case LINKTYPE_IPV6:
        if (end - start < 1) return -1;
        this.netOffset = start;
        return ipVersionNibble(buf[start]! >> 4, linkType);
      default:
        return 0;
    }
    this.netOffset = off;
    if (etherType === ETHERTYPE_IPV4) return 4;
    if (etherType === ETHERTYPE_IPV6) return 6;
    return 0;
  }

  private ipv4(rec: PacketRecord, buf: Buffer, ip: number, end: number, out: FastPacket): boolean {
    out.ipVersion = 4;
    out.ipOffset = ip;
    if (end - ip < 20 || buf[ip]! >> 4 !== 4) return this.malformed(out);
    const ihl = (buf[ip]! & 0x0f) * 4;
    const totalLength = u16(buf, ip + 2);
    if (ihl < 20 || end - ip < ihl) return this.malformed(out);
    // TSO captures carry total length 0; take what was captured then.
    const wireEnd = totalLength === 0 ? ip + (end - ip) + (rec.wirelen - rec.caplen) : ip + totalLength;
    if (totalLength !== 0 && totalLength < ihl) return this.malformed(out);
    out.src = this.addrs.ipv4(buf, ip + 12);
    out.dst = this.addrs.ipv4(buf, ip + 16);
    if (buf[ip + 9] !== IPPROTO_TCP) return this.other(out);
    const fragField = u16(buf, ip + 6);
    const more = (fragField & 0x2000) !== 0;
    const fragOffset = (fragField & 0x1fff) * 8;
    const presentEnd = Math.min(end, wireEnd);
    if (more || fragOffset !== 0) {
      if (presentEnd < wireEnd) { out.kind = 'fragment'; return false; } // a cut fragment can never complete
      const key = `4:${out.src}>${out.dst}:${u16(buf, ip + 4)}`;
      const done = this.defrag.add(key, rec.ts, rec.frame, fragOffset, more, buf, ip + ihl, presentEnd);
      if (!done) { out.kind = 'fragment'; return false; }
      out.buf = done.payload;
      return this.tcp(done.payload, 0, done.payload.length, done.payload.length, out);
    }
    return this.tcp(buf, ip + ihl, presentEnd, wireEnd - ip - ihl, out);
  }

  private ipv6(rec: PacketRecord, buf: Buffer, ip: number, end: number, out: FastPacket): boolean {
    out.ipVersion = 6;
    out.ipOffset = ip;
    if (end - ip < 40 || buf[ip]! >> 4 !== 6) return this.malformed(out);
    const payloadLength = u16(buf, ip + 4);
    out.src = this.addrs.ipv6(buf, ip + 8);
    out.dst = this.addrs.ipv6(buf, ip + 24);
    const wireEnd = payloadLength === 0 ? end + (rec.wirelen - rec.caplen) : ip + 40 + payloadLength;
    const presentEnd = Math.min(end, wireEnd);
    let next = buf[ip + 6]!;
    let off = ip + 40;
    let fragHeader = -1;
    for (let n = 0; next !== IPPROTO_TCP; n++) {
      if (n === MAX_EXT_HEADERS) return this.malformed(out);
      if (next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS) {
        if (presentEnd - off < 8) return this.malformed(out);
        next = buf[off]!;
        off += (buf[off + 1]! + 1) * 8;
      } else if (next === IPPROTO_FRAGMENT) {
        if (presentEnd - off < 8) return this.malformed(out);
        fragHeader = off;
        next = buf[off]!;
        off += 8;
      } else if (next === IPPROTO_AH) {
        if (presentEnd - off < 8) return this.malformed(out);
        next = buf[off]!;
        off += (buf[off + 1]! + 2) * 4;
      } else {
        return this.other(out);
      }
      if (off > presentEnd) return this.malformed(out);
    }
    if (fragHeader >= 0) {
      const fragField = u16(buf, fragHeader + 2);
      const more = (fragField & 1) !== 0;
      const fragOffset = fragField & 0xfff8;
      if (more || fragOffset !== 0) {
        if (presentEnd < wireEnd) { out.kind = 'fragment'; return false; }
        const key = `6:${out.src}>${out.dst}:${u32(buf, fragHeader + 4)}`;
        const done = this.defrag.add(key, rec.ts, rec.frame, fragOffset, more, buf, off, presentEnd);
        if (!done) { out.kind = 'fragment'; return false; }
        out.buf = done.payload;
        return this.tcp(done.payload, 0, done.payload.length, done.payload.length, out);
      }
    }
    return this.tcp(buf, off, presentEnd, wireEnd - off, out);
  }

  /** TCP header at buf[t]; `end` is where present bytes stop; wireLength is the segment's length on the wire. */
  private tcp(buf: Buffer, t: number, end: number, wireLength: number, out: FastPacket): boolean {
    if (end - t < 20) return this.malformed(out);
    const hl = (buf[t + 12]! >> 4) * 4;
    if (hl < 20 || wireLength < hl) return this.malformed(out);
    out.kind = 'tcp';
    out.tcpOffset = t;
    out.tcpHeaderLength = hl;
    out.srcPort = u16(buf, t);
    out.dstPort = u16(buf, t + 2);
    out.seq = u32(buf, t + 4);
    out.ack = u32(buf, t + 8);
    out.flags = buf[t + 13]! | ((buf[t + 12]! & 1) << 8);
    out.window = u16(buf, t + 14);
    // Snaplen may cut into the options: the numbers above are still there, the payload is not.
    out.payloadOffset = Math.min(t + hl, end);
    out.payloadLength = end - out.payloadOffset;
    out.payloadWireLength = wireLength - hl;
    return true;
  }

  private malformed(out: FastPacket): boolean {
    out.kind = 'malformed';
    return false;
  }

  private other(out: FastPacket): boolean {
    out.kind = 'other';
    return false;
  }
}

// Plain byte arithmetic: Buffer#readUInt16BE validates its arguments on every call, which the hot path
// cannot afford; every offset here was bounds-checked by the caller.
function u16(b: Buffer, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}

function u32(b: Buffer, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

function ipVersionNibble(v: number, linkType: number): number {
  if (linkType === LINKTYPE_IPV4) return v === 4 ? 4 : -1;
  if (linkType === LINKTYPE_IPV6) return v === 6 ? 6 : -1;
  return v === 4 || v === 6 ? v : 0;
}

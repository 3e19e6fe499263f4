import type { Field, Layer } from './field.js';
import type { Defragmenter } from './defrag.js';
import type { NetResult } from './net.js';
import { field, hex, bitField, malformed } from './fields.js';
import { formatIpv4 } from './addr.js';
import { ipv4HeaderChecksum, onesSum, fold } from './checksum.js';
import { checksumFields } from './checksum-fields.js';
import { IPPROTO_TCP } from './linktypes.js';

export const IP_PROTOCOLS: Record<number, string> = {
  0: 'IPv6 Hop-by-Hop Option', 1: 'ICMP', 2: 'IGMP', 4: 'IPIP', 6: 'TCP', 17: 'UDP', 41: 'IPv6', 43: 'IPv6 Routing',
  44: 'IPv6 Fragment', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMPv6', 59: 'IPv6 No Next Header', 60: 'IPv6 Destination Options',
  132: 'SCTP',
};

export function protoName(p: number): string {
  return `${IP_PROTOCOLS[p] ?? 'Unknown'} (${p})`;
}

const OPTION_NAMES: Record<number, string> = {
  0: 'End of Options List (EOL)', 1: 'No-Operation (NOP)', 7: 'Record Route', 68: 'Time Stamp', 130: 'Security',
  131: 'Loose Source Route', 133: 'Extended Security', 136: 'Stream ID', 137: 'Strict Source Route', 148: 'Router Alert',
  25: 'Quick-Start', 82: 'Traceroute', 11: 'MTU Probe', 12: 'MTU Reply',
};

export interface Ipv4Context {
  frame: number;
  ts: number;
  /** Bytes of the packet that snaplen cut away (wirelen - caplen). */
  cutBytes: number;
  defrag?: Defragmenter;
}

export function dissectIpv4(b: Buffer, off: number, ctx: Ipv4Context, layers: Layer[]): NetResult | null {
  const avail = b.length - off;
  const layer: Layer = { name: 'ip', label: 'Internet Protocol Version 4', offset: off, length: Math.min(avail, 20), fields: [] };
  layers.push(layer);
  const fl = layer.fields;
  if (avail < 20) { fl.push(malformed('IPv4 header needs 20 bytes', off, avail)); return null; }
  const vihl = b[off]!;
  const version = vihl >> 4;
  const ihl = (vihl & 0x0f) * 4;
  fl.push(field('ip.version', 'Version', version, off, 1));
  fl.push(field('ip.hdr_len', 'Header length', ihl, off, 1, `${ihl} bytes (${vihl & 0x0f})`));
  if (version !== 4 || ihl < 20 || avail < ihl) {
    fl.push(malformed(version !== 4 ? `version ${version} is not 4` : `header length ${ihl} is invalid or cut`, off, avail));
    return null;
  }
  layer.length = ihl;
  const ds = b[off + 1]!;
  fl.push(field('ip.dsfield', 'Differentiated Services Field', ds, off + 1, 1, `${hex(ds, 2)} (DSCP ${ds >> 2}, ECN ${ds & 3})`, [
    bitField('ip.dsfield.dscp', 'Differentiated Services Codepoint', ds, 0xfc, 8, off + 1, 1),
    bitField('ip.dsfield.ecn', 'Explicit Congestion Notification', ds, 0x03, 8, off + 1, 1),
  ]));
  const total = b.readUInt16BE(off + 2);
  fl.push(field('ip.len', 'Total length', total, off + 2, 2, total === 0 ? '0 (segmentation offload: length taken from the capture)' : String(total)));
  const id = b.readUInt16BE(off + 4);
  fl.push(field('ip.id', 'Identification', id, off + 4, 2, `${hex(id, 4)} (${id})`));
  const ff = b.readUInt16BE(off + 6);
  const flags = ff >> 13;
  const flagNames = [(flags & 4) && 'Reserved bit', (flags & 2) && "Don't fragment", (flags & 1) && 'More fragments'].filter(Boolean);
  fl.push(field('ip.flags', 'Flags', flags, off + 6, 1, `${hex(flags, 1)}${flagNames.length ? ` (${flagNames.join(', ')})` : ''}`, [
    bitField('ip.flags.rb', 'Reserved bit', ff >> 8, 0x80, 8, off + 6, 1),
    bitField('ip.flags.df', "Don't fragment", ff >> 8, 0x40, 8, off + 6, 1),
    bitField('ip.flags.mf', 'More fragments', ff >> 8, 0x20, 8, off + 6, 1),
  ]));
  const fragUnits = ff & 0x1fff;
  const fragOffset = fragUnits * 8;
  fl.push(field('ip.frag_offset', 'Fragment offset', fragUnits, off + 6, 2, `${fragUnits} (${fragOffset} bytes)`));
  fl.push(field('ip.ttl', 'Time to live', b[off + 8]!, off + 8, 1));
  const proto = b[off + 9]!;
  fl.push(field('ip.proto', 'Protocol', proto, off + 9, 1, IP_PROTOCOLS[proto] ?? 'Unknown'));
  const ck = ipv4HeaderChecksum(b, off, ihl, avail);
  fl.push(...checksumFields('ip', 'Header checksum', b.readUInt16BE(off + 10), off + 10, ck));
  const src = formatIpv4(b, off + 12);
  const dst = formatIpv4(b, off + 16);
  fl.push(field('ip.src', 'Source address', src, off + 12, 4));
  fl.push(field('ip.dst', 'Destination address', dst, off + 16, 4));
  if (ihl > 20) fl.push(ipv4Options(b, off + 20, ihl - 20));

  const wireEnd = total === 0 ? b.length + ctx.cutBytes : off + total;
  if (total !== 0 && total < ihl) { fl.push(malformed(`total length ${total} is shorter than the header`, off + 2, 2)); return null; }
  const presentEnd = Math.min(b.length, wireEnd);
  if (wireEnd > b.length && ctx.cutBytes === 0) fl.push(malformed(`total length ${total} runs past the captured frame`, off + 2, 2));
  const addrSum = fold(onesSum(b, off + 12, off + 20) + IPPROTO_TCP);
  const base: NetResult = {
    proto, buf: b, start: off + ihl, end: presentEnd, wireLength: wireEnd - off - ihl, addrSum,
    incompleteFragment: false, src, dst, packetEnd: presentEnd,
  };
  const more = (ff & 0x2000) !== 0;
  if (!more && fragOffset === 0) return base;
  if (proto !== IPPROTO_TCP) return { ...base, incompleteFragment: true };
  if (!ctx.defrag || presentEnd < wireEnd) {
    fl.push(field('ip.fragment', 'Fragment', fragOffset, off + ihl, presentEnd - off - ihl,
      `bytes ${fragOffset}-${fragOffset + wireEnd - off - ihl - 1} of a fragmented datagram (not reassembled${presentEnd < wireEnd ? ': cut by snaplen' : ''})`));
    return { ...base, incompleteFragment: true };
  }
  const done = ctx.defrag.add(`4:${src}>${dst}:${id}`, ctx.ts, ctx.frame, fragOffset, more, b, off + ihl, presentEnd);
  if (!done) {
    fl.push(field('ip.fragment', 'Fragment', fragOffset, off + ihl, presentEnd - off - ihl,
      `bytes ${fragOffset}-${fragOffset + presentEnd - off - ihl - 1}; the datagram is reassembled in a later frame`));
    return { ...base, incompleteFragment: true };
  }
  fl.push(field('ip.fragments', 'Reassembled IPv4 datagram', done.payload.length, off + ihl, presentEnd - off - ihl,
    `${done.frames.length} fragments, ${done.payload.length} bytes, frames ${done.frames.join(', ')}`));
  return { ...base, buf: done.payload, start: 0, end: done.payload.length, wireLength: done.payload.length, reassembled: done };
}

function ipv4Options(b: Buffer, start: number, len: number): Field {
  const children: Field[] = [];
  let i = start;
  const end = start + len;
  while (i < end) {
    const type = b[i]!;
    const name = OPTION_NAMES[type] ?? `Unknown option ${type}`;
    if (type === 0 || type === 1) {
      children.push(field('ip.opt.type', 'Type', type, i, 1, name));
      i++;
      if (type === 0) {
        if (i < end) children.push(field('ip.opt.padding', 'Padding', end - i, i, end - i, `${end - i} bytes`));
        break;
      }
      continue;
    }
    const olen = i + 1 < end ? b[i + 1]! : 0;
    if (olen < 2 || i + olen > end) {
      children.push(malformed(`option ${name} has length ${olen}, beyond the header`, i, end - i));
      break;
    }
    const sub: Field[] = [
      field('ip.opt.type', 'Type', type, i, 1, `${type} (copy ${type >> 7}, class ${(type >> 5) & 3}, number ${type & 0x1f})`),
      field('ip.opt.len', 'Length', olen, i + 1, 1),
    ];
    if (type === 148 && olen === 4) sub.push(field('ip.opt.ra', 'Router Alert', b.readUInt16BE(i + 2), i + 2, 2));
    if ((type === 7 || type === 131 || type === 137) && olen >= 3) {
      sub.push(field('ip.opt.ptr', 'Pointer', b[i + 2]!, i + 2, 1));
      for (let a = i + 3; a + 4 <= i + olen; a += 4) sub.push(field('ip.opt.addr', 'Address', formatIpv4(b, a), a, 4));
    }
    if (type === 68 && olen >= 4) {
      sub.push(field('ip.opt.ptr', 'Pointer', b[i + 2]!, i + 2, 1));
      sub.push(field('ip.opt.flag', 'Flag', b[i + 3]! & 0x0f, i + 3, 1));
      for (let a = i + 4; a + 4 <= i + olen; a += 4) sub.push(field('ip.opt.time_stamp', 'Time stamp', b.readUInt32BE(a), a, 4));
    }
    children.push(field('ip.opt', name, null, i, olen, `${olen} bytes`, sub));
    i += olen;
  }
  return field('ip.options', 'Options', len, start, len, `${len} bytes`, children);
}

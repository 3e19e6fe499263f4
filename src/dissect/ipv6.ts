import type { Field, Layer } from './field.js';
import type { NetResult } from './net.js';
import type { Ipv4Context } from './ipv4.js';
import { field, hex, bitField, malformed } from './fields.js';
import { formatIpv6Strict } from './addr.js';
import { onesSum, fold } from './checksum.js';
import { protoName } from './ipv4.js';
import {
  IPPROTO_TCP, IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT, IPPROTO_DSTOPTS, IPPROTO_AH,
} from './linktypes.js';

const MAX_EXT_HEADERS = 16;

const OPTION_NAMES: Record<number, string> = {
  0: 'Pad1', 1: 'PadN', 0xc2: 'Jumbo Payload', 0x05: 'Router Alert', 0x04: 'Tunnel Encapsulation Limit',
  0xc9: 'Home Address', 0x26: 'Quick-Start', 0x63: 'RPL Option', 0x6d: 'MPL Option', 0x8b: 'ILNP Nonce',
};

export function dissectIpv6(b: Buffer, off: number, ctx: Ipv4Context, layers: Layer[]): NetResult | null {
  const avail = b.length - off;
  const layer: Layer = { name: 'ipv6', label: 'Internet Protocol Version 6', offset: off, length: Math.min(avail, 40), fields: [] };
  layers.push(layer);
  const fl = layer.fields;
  if (avail < 40) { fl.push(malformed('IPv6 header needs 40 bytes', off, avail)); return null; }
  const w = b.readUInt32BE(off);
  const version = w >>> 28;
  fl.push(field('ipv6.version', 'Version', version, off, 1));
  if (version !== 6) { fl.push(malformed(`version ${version} is not 6`, off, 1)); return null; }
  const tclass = (w >>> 20) & 0xff;
  fl.push(field('ipv6.tclass', 'Traffic class', tclass, off, 2, `${hex(tclass, 2)} (DSCP ${tclass >> 2}, ECN ${tclass & 3})`, [
    // drawn over the first 32-bit word, as Wireshark does: the class straddles two bytes
    bitField('ipv6.tclass.dscp', 'Differentiated Services Codepoint', w, 0x0fc00000, 32, off, 2),
    bitField('ipv6.tclass.ecn', 'Explicit Congestion Notification', w, 0x00300000, 32, off, 2),
  ]));
  const flow = w & 0xfffff;
  fl.push(field('ipv6.flow', 'Flow label', flow, off + 1, 3, hex(flow, 5)));
  const plen = b.readUInt16BE(off + 4);
  fl.push(field('ipv6.plen', 'Payload length', plen, off + 4, 2));
  let next = b[off + 6]!;
  fl.push(field('ipv6.nxt', 'Next header', next, off + 6, 1, protoName(next)));
  fl.push(field('ipv6.hlim', 'Hop limit', b[off + 7]!, off + 7, 1));
  const src = formatIpv6Strict(b, off + 8);
  const dst = formatIpv6Strict(b, off + 24);
  fl.push(field('ipv6.src', 'Source address', src, off + 8, 16));
  fl.push(field('ipv6.dst', 'Destination address', dst, off + 24, 16));

  const wireEnd = plen === 0 ? b.length + ctx.cutBytes : off + 40 + plen;
  const presentEnd = Math.min(b.length, wireEnd);
  if (wireEnd > b.length && ctx.cutBytes === 0) fl.push(malformed(`payload length ${plen} runs past the captured frame`, off + 4, 2));
  let h = off + 40;
  let frag: { more: boolean; offset: number; id: number } | null = null;
  for (let n = 0; next === IPPROTO_HOPOPTS || next === IPPROTO_ROUTING || next === IPPROTO_DSTOPTS || next === IPPROTO_FRAGMENT || next === IPPROTO_AH; n++) {
    if (n === MAX_EXT_HEADERS) { fl.push(malformed(`more than ${MAX_EXT_HEADERS} extension headers`, h, 0)); return null; }
    if (presentEnd - h < 8) { fl.push(malformed(`extension header ${protoName(next)} cut short`, h, presentEnd - h)); return null; }
    const nh = b[h]!;
    const hlen = next === IPPROTO_FRAGMENT ? 8 : next === IPPROTO_AH ? (b[h + 1]! + 2) * 4 : (b[h + 1]! + 1) * 8;
    if (h + hlen > presentEnd) { fl.push(malformed(`extension header ${protoName(next)} of ${hlen} bytes runs past the packet`, h, presentEnd - h)); return null; }
    if (next === IPPROTO_FRAGMENT) {
      const fw = b.readUInt16BE(h + 2);
      frag = { more: (fw & 1) === 1, offset: fw & 0xfff8, id: b.readUInt32BE(h + 4) };
      fl.push(field('ipv6.fraghdr', 'Fragment Header', null, h, 8, `offset ${frag.offset}, ${frag.more ? 'more fragments' : 'last fragment'}, id ${hex(frag.id, 8)}`, [
        field('ipv6.fraghdr.nxt', 'Next header', nh, h, 1, protoName(nh)),
        field('ipv6.fraghdr.offset', 'Offset', frag.offset >> 3, h + 2, 2, `${frag.offset >> 3} (${frag.offset} bytes)`),
        bitField('ipv6.fraghdr.more', 'More Fragments', fw, 0x0001, 16, h + 2, 2),
        field('ipv6.fraghdr.ident', 'Identification', frag.id, h + 4, 4, hex(frag.id, 8)),
      ]));
    } else {
      fl.push(extHeader(next, b, h, hlen));
    }
    next = nh;
    h += hlen;
  }
  layer.length = h - off; // the extension headers belong to the IPv6 block
  const addrSum = fold(onesSum(b, off + 8, off + 40) + IPPROTO_TCP);
  const base: NetResult = {
    proto: next, buf: b, start: h, end: presentEnd, wireLength: wireEnd - h, addrSum, incompleteFragment: false, src, dst, packetEnd: presentEnd,
  };
  if (!frag || (!frag.more && frag.offset === 0)) return base;
  if (next !== IPPROTO_TCP) return { ...base, incompleteFragment: true };
  if (!ctx.defrag || presentEnd < wireEnd) {
    fl.push(field('ipv6.fragment', 'Fragment', frag.offset, h, presentEnd - h, `bytes ${frag.offset}-${frag.offset + wireEnd - h - 1} (not reassembled)`));
    return { ...base, incompleteFragment: true };
  }
  // The key must match FastDecoder's, so one Defragmenter can serve both paths.
  const done = ctx.defrag.add(`6:${formatKeyAddr(b, off + 8)}>${formatKeyAddr(b, off + 24)}:${frag.id}`, ctx.ts, ctx.frame, frag.offset, frag.more, b, h, presentEnd);
  if (!done) {
    fl.push(field('ipv6.fragment', 'Fragment', frag.offset, h, presentEnd - h, `bytes ${frag.offset}-${frag.offset + presentEnd - h - 1}; the datagram is reassembled in a later frame`));
    return { ...base, incompleteFragment: true };
  }
  fl.push(field('ipv6.fragments', 'Reassembled IPv6 datagram', done.payload.length, h, presentEnd - h,
    `${done.frames.length} fragments, ${done.payload.length} bytes, frames ${done.frames.join(', ')}`));
  return { ...base, buf: done.payload, start: 0, end: done.payload.length, wireLength: done.payload.length, reassembled: done };
}

/** FastDecoder keys fragments by its own address text (IPv4-mapped as IPv4). */
function formatKeyAddr(b: Buffer, off: number): string {
  const s = formatIpv6Strict(b, off);
  return s.startsWith('::ffff:') && s.includes('.') ? s.slice(7) : s;
}

function extHeader(type: number, b: Buffer, h: number, hlen: number): Field {
  const nh = b[h]!;
  if (type === IPPROTO_AH) {
    return field('ah', 'Authentication Header', null, h, hlen, `${hlen} bytes, SPI ${hex(b.readUInt32BE(h + 4), 8)}`, [
      field('ah.next_header', 'Next header', nh, h, 1, protoName(nh)),
      field('ah.length', 'Length', b[h + 1]!, h + 1, 1),
      field('ah.spi', 'SPI', b.readUInt32BE(h + 4), h + 4, 4, hex(b.readUInt32BE(h + 4), 8)),
      field('ah.sequence', 'Sequence', b.readUInt32BE(h + 8), h + 8, 4),
    ]);
  }
  const prefix = type === IPPROTO_HOPOPTS ? 'ipv6.hopopts' : type === IPPROTO_ROUTING ? 'ipv6.routing' : 'ipv6.dstopts';
  const label = type === IPPROTO_HOPOPTS ? 'Hop-by-Hop Options' : type === IPPROTO_ROUTING ? 'Routing Header' : 'Destination Options';
  const children: Field[] = [
    field(`${prefix}.nxt`, 'Next header', nh, h, 1, protoName(nh)),
    field(`${prefix}.len`, 'Length', b[h + 1]!, h + 1, 1, `${b[h + 1]} (${hlen} bytes)`),
  ];
  if (type === IPPROTO_ROUTING) {
    children.push(field('ipv6.routing.type', 'Type', b[h + 2]!, h + 2, 1));
    children.push(field('ipv6.routing.segleft', 'Segments left', b[h + 3]!, h + 3, 1));
    if (hlen > 8) children.push(field('ipv6.routing.data', 'Type-specific data', hlen - 8, h + 8, hlen - 8, `${hlen - 8} bytes`));
  } else {
    children.push(...tlvOptions(b, h + 2, h + hlen));
  }
  return field(prefix, label, null, h, hlen, `${hlen} bytes, next header ${protoName(nh)}`, children);
}

function tlvOptions(b: Buffer, i: number, end: number): Field[] {
  const out: Field[] = [];
  while (i < end) {
    const t = b[i]!;
    if (t === 0) { out.push(field('ipv6.opt.pad1', 'Pad1', null, i, 1, '1 byte')); i++; continue; }
    if (i + 1 >= end || i + 2 + b[i + 1]! > end) { out.push(malformed('option runs past its header', i, end - i)); break; }
    const len = b[i + 1]!;
    const name = OPTION_NAMES[t] ?? `Unknown option ${hex(t, 2)}`;
    const kids = [
      field('ipv6.opt.type', 'Type', t, i, 1, name),
      field('ipv6.opt.length', 'Length', len, i + 1, 1),
    ];
    if (t === 0x05 && len === 2) kids.push(field('ipv6.opt.router_alert', 'Router Alert', b.readUInt16BE(i + 2), i + 2, 2));
    if (t === 0xc2 && len === 4) kids.push(field('ipv6.opt.jumbo', 'Payload length', b.readUInt32BE(i + 2), i + 2, 4));
    if (t === 0x04 && len === 1) kids.push(field('ipv6.opt.tel', 'Tunnel encapsulation limit', b[i + 2]!, i + 2, 1));
    out.push(field(t === 1 ? 'ipv6.opt.padn' : 'ipv6.opt', name, null, i, len + 2, `${len + 2} bytes`, kids));
    i += 2 + len;
  }
  return out;
}

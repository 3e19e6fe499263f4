import type { Layer } from './field.js';
import { field, hex, bitField, malformed } from './fields.js';
import { formatMac, formatIpv4 } from './addr.js';
import {
  LINKTYPE_EN10MB, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_RAW, DLT_RAW_12, DLT_RAW_14, LINKTYPE_NULL,
  LINKTYPE_LOOP, LINKTYPE_IPV4, LINKTYPE_IPV6, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, ETHERTYPE_QINQ,
  isVlanEtherType, nullFamilyToVersion, linkTypeName,
} from './linktypes.js';

/** What the link layer hands on: the network header's offset and IP version (0: not IP, -1: broken). */
export interface LinkResult {
  version: 4 | 6 | 0 | -1;
  offset: number;
}

const ETHERTYPES: Record<number, string> = {
  [ETHERTYPE_IPV4]: 'IPv4', [ETHERTYPE_IPV6]: 'IPv6', 0x0806: 'ARP', [ETHERTYPE_VLAN]: '802.1Q Virtual LAN',
  [ETHERTYPE_QINQ]: '802.1ad Provider Bridge (Q-in-Q)', 0x9100: 'QinQ (pre-standard)', 0x88cc: 'LLDP', 0x8864: 'PPPoE Session',
};

export function etherTypeName(t: number): string {
  return ETHERTYPES[t] ?? 'Unknown';
}

const SLL_PKTTYPES = ['Unicast to us', 'Broadcast', 'Multicast', 'Unicast to another host', 'Sent by us', 'Loopback'];

/** Dissect the link-layer header(s) of packet bytes b into layers. */
export function dissectLink(linkType: number, b: Buffer, layers: Layer[]): LinkResult {
  switch (linkType) {
    case LINKTYPE_EN10MB: return ethernet(b, layers);
    case LINKTYPE_LINUX_SLL: return sll(b, layers);
    case LINKTYPE_LINUX_SLL2: return sll2(b, layers);
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: return nullLoop(linkType, b, layers);
    case LINKTYPE_RAW: case DLT_RAW_12: case DLT_RAW_14: case LINKTYPE_IPV4: case LINKTYPE_IPV6: {
      if (b.length < 1) return { version: -1, offset: 0 };
      const v = b[0]! >> 4;
      if (linkType === LINKTYPE_IPV4 && v !== 4) return { version: -1, offset: 0 };
      if (linkType === LINKTYPE_IPV6 && v !== 6) return { version: -1, offset: 0 };
      return { version: v === 4 || v === 6 ? v : 0, offset: 0 };
    }
    default:
      layers.push({
        name: 'data', label: `Unsupported link type ${linkTypeName(linkType)}`, offset: 0, length: b.length,
        fields: [field('data.len', 'Length', b.length, 0, b.length)],
      });
      return { version: 0, offset: 0 };
  }
}

function ethernet(b: Buffer, layers: Layer[]): LinkResult {
  if (b.length < 14) {
    layers.push({ name: 'eth', label: 'Ethernet II', offset: 0, length: b.length, fields: [malformed('Ethernet header needs 14 bytes', 0, b.length)] });
    return { version: -1, offset: 0 };
  }
  let type = b.readUInt16BE(12);
  const eth: Layer = {
    name: 'eth', label: 'Ethernet II', offset: 0, length: 14,
    fields: [
      field('eth.dst', 'Destination', formatMac(b, 0), 0, 6),
      field('eth.src', 'Source', formatMac(b, 6), 6, 6),
      type < 0x0600
        ? field('eth.len', 'Length', type, 12, 2, `${type} (IEEE 802.3 frame)`)
        : field('eth.type', 'Type', type, 12, 2, `${hex(type, 4)} (${etherTypeName(type)})`),
    ],
  };
  layers.push(eth);
  let off = 14;
  while (isVlanEtherType(type)) {
    if (b.length < off + 4) {
      layers.push({ name: 'vlan', label: '802.1Q Virtual LAN', offset: off, length: b.length - off, fields: [malformed('VLAN tag needs 4 bytes', off, b.length - off)] });
      return { version: -1, offset: off };
    }
    const tci = b.readUInt16BE(off);
    const next = b.readUInt16BE(off + 2);
    // Wireshark names the 802.1ad service tag's fields ieee8021ad.*; 802.1Q and the old 0x9100 tag are vlan.*.
    const p = type === ETHERTYPE_QINQ ? 'ieee8021ad' : 'vlan';
    layers.push({
      name: 'vlan', label: type === ETHERTYPE_QINQ ? '802.1ad Service VLAN (Q-in-Q outer tag)' : '802.1Q Virtual LAN', offset: off, length: 4,
      fields: [
        field(`${p}.tci`, 'Tag control information', tci, off, 2, `${hex(tci, 4)} (PRI ${tci >> 13}, DEI ${(tci >> 12) & 1}, ID ${tci & 0xfff})`, [
          bitField(`${p}.priority`, 'Priority', tci, 0xe000, 16, off, 2),
          bitField(`${p}.dei`, 'DEI', tci, 0x1000, 16, off, 2),
          bitField(`${p}.id`, 'ID', tci, 0x0fff, 16, off, 2),
        ]),
        field(`${p}.etype`, 'Type', next, off + 2, 2, `${hex(next, 4)} (${etherTypeName(next)})`),
      ],
    });
    type = next;
    off += 4;
  }
  return { version: type === ETHERTYPE_IPV4 ? 4 : type === ETHERTYPE_IPV6 ? 6 : 0, offset: off };
}

function sll(b: Buffer, layers: Layer[]): LinkResult {
  if (b.length < 16) {
    layers.push({ name: 'sll', label: 'Linux cooked capture v1', offset: 0, length: b.length, fields: [malformed('SLL header needs 16 bytes', 0, b.length)] });
    return { version: -1, offset: 0 };
  }
  const pkttype = b.readUInt16BE(0);
  const hatype = b.readUInt16BE(2);
  const halen = b.readUInt16BE(4);
  const etype = b.readUInt16BE(14);
  layers.push({
    name: 'sll', label: 'Linux cooked capture v1', offset: 0, length: 16,
    fields: [
      field('sll.pkttype', 'Packet type', pkttype, 0, 2, `${SLL_PKTTYPES[pkttype] ?? 'Unknown'} (${pkttype})`),
      field('sll.hatype', 'Link-layer address type', hatype, 2, 2, hatypeName(hatype)),
      field('sll.halen', 'Link-layer address length', halen, 4, 2),
      sllSource(b, 6, hatype, halen, 8),
      field('sll.etype', 'Protocol', etype, 14, 2, `${hex(etype, 4)} (${etherTypeName(etype)})`),
    ],
  });
  return { version: etype === ETHERTYPE_IPV4 ? 4 : etype === ETHERTYPE_IPV6 ? 6 : 0, offset: 16 };
}

function sll2(b: Buffer, layers: Layer[]): LinkResult {
  if (b.length < 20) {
    layers.push({ name: 'sll2', label: 'Linux cooked capture v2', offset: 0, length: b.length, fields: [malformed('SLL2 header needs 20 bytes', 0, b.length)] });
    return { version: -1, offset: 0 };
  }
  const etype = b.readUInt16BE(0);
  const ifindex = b.readUInt32BE(4);
  const hatype = b.readUInt16BE(8);
  const pkttype = b[10]!;
  const halen = b[11]!;
  layers.push({
    name: 'sll2', label: 'Linux cooked capture v2', offset: 0, length: 20,
    fields: [
      field('sll.etype', 'Protocol', etype, 0, 2, `${hex(etype, 4)} (${etherTypeName(etype)})`),
      field('sll.reserved', 'Reserved', b.readUInt16BE(2), 2, 2),
      field('sll.ifindex', 'Interface index', ifindex, 4, 4),
      field('sll.hatype', 'Link-layer address type', hatype, 8, 2, hatypeName(hatype)),
      field('sll.pkttype', 'Packet type', pkttype, 10, 1, `${SLL_PKTTYPES[pkttype] ?? 'Unknown'} (${pkttype})`),
      field('sll.halen', 'Link-layer address length', halen, 11, 1),
      sllSource(b, 12, hatype, halen, 8),
    ],
  });
  return { version: etype === ETHERTYPE_IPV4 ? 4 : etype === ETHERTYPE_IPV6 ? 6 : 0, offset: 20 };
}

function sllSource(b: Buffer, off: number, hatype: number, halen: number, room: number) {
  const n = Math.min(halen, room);
  if ((hatype === 1 || hatype === 772) && halen === 6) return field('sll.src.eth', 'Source', formatMac(b, off), off, room);
  if (halen === 4 && hatype !== 1) return field('sll.src.ipv4', 'Source', formatIpv4(b, off), off, room);
  return field('sll.src.other', 'Source', n > 0 ? formatMac(b, off, n) : '', off, room, n > 0 ? formatMac(b, off, n) : '(none)');
}

function hatypeName(t: number): string {
  const names: Record<number, string> = { 1: 'Ethernet', 772: 'Loopback', 65534: 'None', 776: 'IPv6-in-IPv4', 778: 'GRE' };
  return `${names[t] ?? 'Unknown'} (${t})`;
}

function nullLoop(linkType: number, b: Buffer, layers: Layer[]): LinkResult {
  const name = linkType === LINKTYPE_LOOP ? 'loop' : 'null';
  const label = linkType === LINKTYPE_LOOP ? 'OpenBSD loopback' : 'Null/Loopback';
  if (b.length < 4) {
    layers.push({ name, label, offset: 0, length: b.length, fields: [malformed('loopback header needs 4 bytes', 0, b.length)] });
    return { version: -1, offset: 0 };
  }
  const le = b.readUInt32LE(0);
  const be = b.readUInt32BE(0);
  let family = le;
  let order = 'host little-endian';
  let v = nullFamilyToVersion(le);
  if (v === 0 && nullFamilyToVersion(be) !== 0) { family = be; order = 'big-endian'; v = nullFamilyToVersion(be); }
  const fam = v === 4 ? 'IP' : v === 6 ? 'IPv6' : 'Unknown';
  layers.push({
    name, label, offset: 0, length: 4,
    fields: [field('null.family', 'Family', family, 0, 4, `${fam} (${family}, ${order})`)],
  });
  return { version: v, offset: 4 };
}

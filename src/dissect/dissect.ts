import type { PacketRecord } from '../capture/types.js';
import type { Dissection, Field, Layer } from './field.js';
import type { Defragmenter } from './defrag.js';
import type { NetResult } from './net.js';
import { field } from './fields.js';
import { dissectLink } from './link.js';
import { dissectIpv4 } from './ipv4.js';
import { dissectIpv6 } from './ipv6.js';
import { dissectTcp, type TcpContext } from './tcp.js';
import { dissectFtp, type FtpContext } from './ftp.js';
import { linkTypeName } from './linktypes.js';
import { addMeanings } from './meanings.js';
import { IPPROTO_TCP } from './linktypes.js';

export type { TcpContext } from './tcp.js';
export type { FtpContext } from './ftp.js';

/**
 * What full dissection cannot see in one packet. All optional: without it, relative
 * numbers, scaled windows and FTP decoding are left out and fragments are not reassembled.
 */
export interface DissectContext {
  tcp?: TcpContext;
  ftp?: FtpContext;
  /**
   * Fragments seen so far. Shared with a FastDecoder that scanned the frames before this
   * one (FastDecoder.defrag), this packet's fragment completes the datagram as it did there.
   */
  defrag?: Defragmenter;
}

/** Full, field-by-field dissection of one packet for people (the layers view, inspect, JSON). Never throws. */
export function dissect(rec: PacketRecord, ctx: DissectContext = {}): Dissection {
  const b = rec.buf.subarray(rec.offset, rec.offset + rec.caplen);
  const layers: Layer[] = [];
  // In a merged set of captures the frame number is global; say where the packet is.
  const from = rec.origin ? ` (frame ${rec.origin.frame} of ${rec.origin.file})` : '';
  const label = `Frame ${rec.frame}${from}: ${rec.wirelen} bytes on wire, ${rec.caplen} bytes captured`;
  const frameLayer: Layer = { name: 'frame', label, offset: 0, length: b.length, fields: frameFields(rec) };
  layers.push(frameLayer);
  const result: Dissection = { frame: rec.frame, ts: rec.ts, captureLength: rec.caplen, wireLength: rec.wirelen, layers, bytes: b };

  const link = dissectLink(rec.linkType, b, layers);
  const ipCtx = { frame: rec.frame, ts: rec.ts, cutBytes: Math.max(0, rec.wirelen - rec.caplen), defrag: ctx.defrag };
  let net: NetResult | null = null;
  if (link.version === 4) net = dissectIpv4(b, link.offset, ipCtx, layers);
  else if (link.version === 6) net = dissectIpv6(b, link.offset, ipCtx, layers);
  else if (link.version === 0 && b.length > link.offset) {
    layers.push({ name: 'data', label: 'Data (not IP)', offset: link.offset, length: b.length - link.offset,
      fields: [field('data.len', 'Length', b.length - link.offset, link.offset, b.length - link.offset, `${b.length - link.offset} bytes`)] });
  }
  if (net && net.reassembled) result.reassembled = { bytes: net.reassembled.payload, frames: net.reassembled.frames };
  if (net && (net.incompleteFragment || net.reassembled)) fragmentLayer(layers, net);
  if (net && !net.incompleteFragment && net.proto === IPPROTO_TCP) {
    const seg = dissectTcp(net, ctx.tcp ?? {}, layers);
    if (seg && ctx.ftp && (seg.payloadEnd > seg.payloadStart)) {
      dissectFtp(seg.buf, seg.payloadStart, seg.payloadEnd, seg.payloadWireLength, ctx.ftp, layers, net.reassembled ? 'reassembled' : undefined);
    }
  } else if (net && !net.incompleteFragment && net.end > net.start) {
    layers.push({ name: 'data', label: 'Data (not TCP)', offset: net.start, length: net.end - net.start,
      fields: [field('data.len', 'Length', net.wireLength, net.start, net.end - net.start, `${net.wireLength} bytes`)] });
  }
  addEthernetTrailer(layers, b, net);
  addMeanings(layers);
  frameLayer.fields.push(field('frame.protocols', 'Protocols in frame', layers.slice(1).map((l) => l.name).join(':'), 0, 0));
  return result;
}

/** The bytes a fragment carries in this packet, as their own block (the hex view shows where they are). */
function fragmentLayer(layers: Layer[], net: NetResult): void {
  const ip = layers.find((l) => l.name === 'ip' || l.name === 'ipv6');
  if (!ip) return;
  const start = ip.offset + ip.length;
  const end = net.packetEnd;
  if (end <= start) return;
  const done = net.reassembled ? `; completes the datagram of frames ${net.reassembled.frames.join(', ')}` : '';
  layers.push({
    name: 'fragment', label: `IP fragment (${end - start} bytes${done})`, offset: start, length: end - start,
    fields: [field('data.len', 'Length', end - start, start, end - start, `${end - start} bytes`)],
  });
}

/**
 * "1795483115.469910000 seconds (2026-11-24T01:18:35.469910Z)": tshark's frame.time_epoch (nine
 * decimals) and the UTC time. Timestamps are kept to the microsecond (PacketRecord.ts), so the
 * fraction is rounded to whole microseconds rather than printing the float's binary noise.
 */
export function epochText(ts: number): string {
  if (!Number.isFinite(ts)) return 'invalid';
  let sec = Math.floor(ts);
  let us = Math.round((ts - sec) * 1e6);
  if (us >= 1e6) { sec += 1; us -= 1e6; }
  const frac = String(us).padStart(6, '0');
  const date = new Date(sec * 1000);
  const iso = isNaN(date.getTime()) ? 'invalid date' : `${date.toISOString().slice(0, 19)}.${frac}Z`;
  return `${sec}.${frac}000 seconds (${iso})`;
}

function frameFields(rec: PacketRecord): Field[] {
  const fields = [
    field('frame.number', 'Frame number', rec.frame, 0, 0),
    field('frame.time_epoch', 'Epoch time', rec.ts, 0, 0, epochText(rec.ts)),
    field('frame.len', 'Frame length on the wire', rec.wirelen, 0, 0, `${rec.wirelen} bytes`),
    field('frame.cap_len', 'Captured length', rec.caplen, 0, 0, `${rec.caplen} bytes${rec.caplen < rec.wirelen ? ' (cut by snaplen)' : ''}`),
    field('frame.encap_type', 'Link type', rec.linkType, 0, 0, linkTypeName(rec.linkType)),
    field('frame.interface_id', 'Interface id', rec.interfaceId, 0, 0),
  ];
  if (rec.origin) {
    // No Wireshark field says this (mergecap forgets it), hence our own names.
    fields.push(field('ftpscope.file', 'Capture file', rec.origin.file, 0, 0));
    fields.push(field('ftpscope.file_frame', 'Frame number in that file', rec.origin.frame, 0, 0));
  }
  if (rec.comment !== undefined) fields.push(field('frame.comment', 'Comment', rec.comment, 0, 0));
  return fields;
}

/** Bytes after the IP datagram inside an Ethernet frame (minimum-size padding or a trailer). */
function addEthernetTrailer(layers: Layer[], b: Buffer, net: NetResult | null): void {
  const eth = layers.find((l) => l.name === 'eth');
  if (!eth || !net) return;
  const ipEnd = net.packetEnd;
  if (ipEnd >= b.length) return;
  const len = b.length - ipEnd;
  const allZero = b.subarray(ipEnd).every((x) => x === 0);
  eth.fields.push(field(allZero ? 'eth.padding' : 'eth.trailer', allZero ? 'Padding' : 'Trailer', b.subarray(ipEnd).toString('hex'), ipEnd, len, `${len} bytes`));
}

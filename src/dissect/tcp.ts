import type { Field, Layer } from './field.js';
import type { NetResult } from './net.js';
import { field, hex, bitField, malformed } from './fields.js';
import { tcpChecksum, fold } from './checksum.js';
import { checksumFields } from './checksum-fields.js';
import { TCPOPT_EOL, TCPOPT_NOP, TCPOPT_MSS, TCPOPT_WSCALE, TCPOPT_SACK_PERM, TCPOPT_SACK, TCPOPT_TIMESTAMP, MAX_WSCALE } from './tcp-options.js';
import { analysisFields } from './tcp-analysis-fields.js';
import type { TcpPacketAnalysis } from '../model/tcp-analysis.js';

/** What full dissection needs to know about the connection this segment belongs to. */
export interface TcpContext {
  /** ISN of the side that sent this segment (the seq of its SYN): gives the relative tcp.seq. */
  senderIsn?: number;
  /** ISN of the other side: gives the relative tcp.ack and SACK edges. */
  receiverIsn?: number;
  /** The sender's window scale shift, when both SYNs carried the option (RFC 7323 §2.2). */
  senderWindowShift?: number;
  /** What the analysis recorded for this packet (Wireshark's [SEQ/ACK analysis]), when known. */
  analysis?: TcpPacketAnalysis;
}

export interface TcpSegment {
  srcPort: number;
  dstPort: number;
  /** Payload present: buf[payloadStart, payloadEnd). */
  buf: Buffer;
  payloadStart: number;
  payloadEnd: number;
  payloadWireLength: number;
  flags: number;
}

const FLAG_NAMES: [number, string][] = [
  [0x100, 'AE'], [0x80, 'CWR'], [0x40, 'ECE'], [0x20, 'URG'], [0x10, 'ACK'], [0x08, 'PSH'], [0x04, 'RST'], [0x02, 'SYN'], [0x01, 'FIN'],
];

export function flagsText(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  return names.length ? names.join(', ') : 'none';
}

const rel = (v: number, base: number) => (v - base) >>> 0;

export function dissectTcp(net: NetResult, ctx: TcpContext, layers: Layer[]): TcpSegment | null {
  const b = net.buf;
  const t = net.start;
  const avail = net.end - t;
  const layer: Layer = { name: 'tcp', label: 'Transmission Control Protocol', offset: t, length: Math.min(avail, 20), fields: [] };
  if (net.reassembled) layer.source = 'reassembled';
  layers.push(layer);
  const fl = layer.fields;
  if (avail < 20) {
    // Show what the cut header still holds, as Wireshark does.
    if (avail >= 4) {
      fl.push(field('tcp.srcport', 'Source port', b.readUInt16BE(t), t, 2));
      fl.push(field('tcp.dstport', 'Destination port', b.readUInt16BE(t + 2), t + 2, 2));
    }
    if (avail >= 8) fl.push(field('tcp.seq_raw', 'Sequence number (raw)', b.readUInt32BE(t + 4), t + 4, 4));
    if (avail >= 12) fl.push(field('tcp.ack_raw', 'Acknowledgment number (raw)', b.readUInt32BE(t + 8), t + 8, 4));
    fl.push(malformed(`TCP header cut after ${avail} of 20 bytes${net.wireLength >= 20 ? ' (snaplen)' : ''}`, t, avail));
    return null;
  }
  const srcPort = b.readUInt16BE(t);
  const dstPort = b.readUInt16BE(t + 2);
  fl.push(field('tcp.srcport', 'Source port', srcPort, t, 2));
  fl.push(field('tcp.dstport', 'Destination port', dstPort, t + 2, 2));
  const seq = b.readUInt32BE(t + 4);
  const ack = b.readUInt32BE(t + 8);
  const hlWord = b[t + 12]!;
  const hl = (hlWord >> 4) * 4;
  const flags = ((hlWord & 0x0f) << 8) | b[t + 13]!;
  const payloadWire = net.wireLength - hl;
  // Computed from the IP length, so it covers no bytes of its own (Wireshark marks it generated).
  fl.push(field('tcp.len', 'TCP segment length', Math.max(0, payloadWire), t, 0, `${Math.max(0, payloadWire)} bytes`));
  fl.push(field('tcp.seq_raw', 'Sequence number (raw)', seq, t + 4, 4));
  if (ctx.senderIsn !== undefined) fl.push(field('tcp.seq', 'Sequence number', rel(seq, ctx.senderIsn), t + 4, 4, `${rel(seq, ctx.senderIsn)} (relative sequence number)`));
  const hasAck = (flags & 0x10) !== 0;
  fl.push(field('tcp.ack_raw', 'Acknowledgment number (raw)', ack, t + 8, 4, hasAck ? String(ack) : `${ack} (ACK flag not set)`));
  if (hasAck && ctx.receiverIsn !== undefined) fl.push(field('tcp.ack', 'Acknowledgment number', rel(ack, ctx.receiverIsn), t + 8, 4, `${rel(ack, ctx.receiverIsn)} (relative ack number)`));
  else if (!hasAck && ctx.senderIsn !== undefined) fl.push(field('tcp.ack', 'Acknowledgment number', ack, t + 8, 4, `${ack} (ACK flag not set: not relative)`));
  fl.push(field('tcp.hdr_len', 'Header length', hl, t + 12, 1, `${hl} bytes (${hlWord >> 4})`));
  const flagKids: Field[] = [
    bitField('tcp.flags.res', 'Reserved', flags, 0xe00, 12, t + 12, 2),
    bitField('tcp.flags.ae', 'Accurate ECN', flags, 0x100, 12, t + 12, 2),
    bitField('tcp.flags.cwr', 'Congestion Window Reduced', flags, 0x080, 12, t + 12, 2),
    bitField('tcp.flags.ece', 'ECN-Echo', flags, 0x040, 12, t + 12, 2),
    bitField('tcp.flags.urg', 'Urgent', flags, 0x020, 12, t + 12, 2),
    bitField('tcp.flags.ack', 'Acknowledgment', flags, 0x010, 12, t + 12, 2),
    bitField('tcp.flags.push', 'Push', flags, 0x008, 12, t + 12, 2),
    bitField('tcp.flags.reset', 'Reset', flags, 0x004, 12, t + 12, 2),
    bitField('tcp.flags.syn', 'Syn', flags, 0x002, 12, t + 12, 2),
    bitField('tcp.flags.fin', 'Fin', flags, 0x001, 12, t + 12, 2),
  ];
  fl.push(field('tcp.flags', 'Flags', flags, t + 12, 2, `${hex(flags, 4)} (${flagsText(flags)})`, flagKids));
  const win = b.readUInt16BE(t + 14);
  fl.push(field('tcp.window_size_value', 'Window', win, t + 14, 2));
  if (ctx.senderWindowShift !== undefined && (flags & 0x02) === 0) {
    const shift = Math.min(ctx.senderWindowShift, MAX_WSCALE);
    const scaled = win * 2 ** shift;
    fl.push(field('tcp.window_size', 'Calculated window size', scaled, t + 14, 2, `${scaled} (scaled by ${2 ** shift})`));
  }
  const stored = b.readUInt16BE(t + 16);
  const ck = net.end - t >= net.wireLength
    ? tcpChecksum(fold(net.addrSum + net.wireLength), b, t, net.end - t, net.wireLength)
    : { status: 'unverified' as const, expected: null, likelyOffload: false, reason: 'segment cut by snaplen' };
  fl.push(...checksumFields('tcp', 'Checksum', stored, t + 16, ck));
  fl.push(field('tcp.urgent_pointer', 'Urgent pointer', b.readUInt16BE(t + 18), t + 18, 2));
  if (hl < 20 || net.wireLength < hl) {
    fl.push(malformed(hl < 20 ? `header length ${hl} is below 20` : `header length ${hl} runs past the segment`, t + 12, 1));
    return null;
  }
  layer.length = Math.min(hl, avail);
  if (hl > 20) {
    const optionsPresent = Math.min(hl, avail) - 20;
    if (optionsPresent > 0) fl.push(tcpOptionFields(b, t + 20, optionsPresent, ctx));
    if (avail < hl) fl.push(field('tcp.options.cut', 'Options cut', hl - avail, t + avail, 0, `${hl - avail} option bytes cut by snaplen`));
  }
  const payloadEnd = net.end;
  if (ctx.senderIsn !== undefined) fl.push(...analysisFields(rel(seq, ctx.senderIsn), Math.max(0, payloadWire), flags, ctx.analysis, t));
  if (payloadEnd > t + hl) {
    const present = payloadEnd - t - hl;
    fl.push(field('tcp.payload', 'TCP payload', present, t + hl, present,
      present < payloadWire ? `${present} of ${payloadWire} bytes (snaplen cut the rest)` : `${present} bytes`));
  }
  return { srcPort, dstPort, buf: b, payloadStart: Math.min(t + hl, payloadEnd), payloadEnd, payloadWireLength: Math.max(0, payloadWire), flags };
}

function tcpOptionFields(b: Buffer, start: number, len: number, ctx: TcpContext): Field {
  const kids: Field[] = [];
  const end = start + len;
  let i = start;
  const kl = (k: number, l: number, at: number): Field[] => [
    field('tcp.option_kind', 'Kind', k, at, 1), field('tcp.option_len', 'Length', l, at + 1, 1),
  ];
  while (i < end) {
    const kind = b[i]!;
    if (kind === TCPOPT_EOL) {
      kids.push(field('tcp.options.eol', 'End of Option List (EOL)', 0, i, end - i, `${end - i} bytes`));
      break;
    }
    if (kind === TCPOPT_NOP) { kids.push(field('tcp.options.nop', 'No-Operation (NOP)', null, i, 1, '')); i++; continue; }
    const olen = i + 1 < end ? b[i + 1]! : 0;
    if (olen < 2 || i + olen > end) { kids.push(malformed(`option kind ${kind} has length ${olen}, beyond the header`, i, end - i)); break; }
    switch (kind) {
      case TCPOPT_MSS: {
        const mss = olen === 4 ? b.readUInt16BE(i + 2) : null;
        kids.push(field('tcp.options.mss', 'Maximum segment size', mss, i, olen, mss === null ? `bad length ${olen}` : `${mss} bytes`,
          [...kl(kind, olen, i), ...(mss === null ? [] : [field('tcp.options.mss_val', 'MSS value', mss, i + 2, 2)])]));
        break;
      }
      case TCPOPT_WSCALE: {
        const shift = olen === 3 ? b[i + 2]! : null;
        kids.push(field('tcp.options.wscale', 'Window scale', shift, i, olen,
          shift === null ? `bad length ${olen}` : `${shift} (multiply by ${2 ** Math.min(shift, MAX_WSCALE)})${shift > MAX_WSCALE ? ', above 14: used as 14' : ''}`,
          [...kl(kind, olen, i), ...(shift === null ? [] : [
            field('tcp.options.wscale.shift', 'Shift count', shift, i + 2, 1),
            field('tcp.options.wscale.multiplier', 'Multiplier', 2 ** Math.min(shift, MAX_WSCALE), i + 2, 1),
          ])]));
        break;
      }
      case TCPOPT_SACK_PERM:
        kids.push(field('tcp.options.sack_perm', 'SACK permitted', true, i, olen, '', kl(kind, olen, i)));
        break;
      case TCPOPT_SACK: {
        const edges: Field[] = [];
        for (let e = i + 2; e + 8 <= i + olen; e += 8) {
          const le = b.readUInt32BE(e);
          const re = b.readUInt32BE(e + 4);
          const r = ctx.receiverIsn;
          edges.push(field('tcp.options.sack_le', 'Left edge', le, e, 4, r === undefined ? String(le) : `${rel(le, r)} (relative)`));
          edges.push(field('tcp.options.sack_re', 'Right edge', re, e + 4, 4, r === undefined ? String(re) : `${rel(re, r)} (relative)`));
        }
        kids.push(field('tcp.options.sack', 'SACK', edges.length / 2, i, olen, `${edges.length / 2} block(s)`, [...kl(kind, olen, i), ...edges]));
        break;
      }
      case TCPOPT_TIMESTAMP: {
        if (olen !== 10) { kids.push(malformed(`timestamps option length ${olen}, should be 10`, i, olen)); break; }
        const tsval = b.readUInt32BE(i + 2);
        const tsecr = b.readUInt32BE(i + 6);
        kids.push(field('tcp.options.timestamp', 'Timestamps', tsval, i, olen, `TSval ${tsval}, TSecr ${tsecr}`, [
          ...kl(kind, olen, i),
          field('tcp.options.timestamp.tsval', 'Timestamp value', tsval, i + 2, 4),
          field('tcp.options.timestamp.tsecr', 'Timestamp echo reply', tsecr, i + 6, 4),
        ]));
        break;
      }
      default:
        kids.push(field('tcp.options.unknown', `Unknown option (kind ${kind})`, kind, i, olen, `kind ${kind}, ${olen} bytes`, [
          ...kl(kind, olen, i),
          ...(olen > 2 ? [field('tcp.options.unknown.payload', 'Payload', b.subarray(i + 2, i + olen).toString('hex'), i + 2, olen - 2)] : []),
        ]));
    }
    i += olen;
  }
  return field('tcp.options', 'Options', len, start, len, `${len} bytes`, kids);
}

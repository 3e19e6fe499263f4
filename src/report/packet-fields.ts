/**
 * Packet facts by field name (the catalogue in src/model/packet-fields.ts): typed values for JSON,
 * and text as `tshark -T fields` prints it (times with nine decimals, flags as 1 or nothing, tcp.flags
 * as 0x0018), so `ftpscope packets -e X` and `tshark -T fields -e X` can be diffed line by line.
 */
import type { PacketFact } from '../model/packet-facts.js';
import { PACKET_FIELDS, type PacketFieldName } from '../model/packet-fields.js';
import { analysisTags, TA_FLAG_MASK, TCP_ANALYSIS_FLAGS, WSCALE_NONE, WSCALE_UNKNOWN, type TcpAnalysisFlagInfo } from '../model/tcp-analysis.js';
import { connectionLabel } from './packet-facts.js';

const TCP_SYN = 0x02;
const TCP_FIN = 0x01;
const TCP_ACK = 0x10;

export interface FieldContext {
  /** Time of the capture's first packet (frame.time_relative counts from it). */
  firstTs: number;
}

export type FieldValue = string | number | boolean | null;

const FLAG_BITS = new Map<string, number>((TCP_ANALYSIS_FLAGS as readonly TcpAnalysisFlagInfo[]).map((f) => [f.field, f.bits]));

function isV6(ip: string): boolean {
  return ip.includes(':');
}

/** The value of one field for JSON: numbers, booleans for flags, strings; null when the packet has none. */
export function packetFieldValue(p: PacketFact, name: PacketFieldName, ctx: FieldContext): FieldValue {
  const a = p.analysis;
  const bits = FLAG_BITS.get(name);
  if (bits !== undefined) return a !== null && (a.flags & bits) !== 0;
  const src = p.src.ip === '' ? null : p.src;
  const dst = p.dst.ip === '' ? null : p.dst;
  switch (name) {
    case 'frame.number': return p.frame;
    case 'frame.time_epoch': return p.ts;
    case 'frame.time_relative': return p.ts - ctx.firstTs;
    case 'tcp.stream': return p.tcpId - 1;
    case 'ip.src': return src && !isV6(src.ip) ? src.ip : null;
    case 'ip.dst': return dst && !isV6(dst.ip) ? dst.ip : null;
    case 'ipv6.src': return src && isV6(src.ip) ? src.ip : null;
    case 'ipv6.dst': return dst && isV6(dst.ip) ? dst.ip : null;
    case 'tcp.srcport': return src?.port ?? null;
    case 'tcp.dstport': return dst?.port ?? null;
    case 'tcp.seq': return p.relSeq;
    case 'tcp.seq_raw': return p.seq;
    case 'tcp.nxtseq': return p.relSeq === null ? null : nxtseq(p, p.relSeq);
    case 'tcp.ack': return p.flags & TCP_ACK ? p.relAck : null;
    case 'tcp.ack_raw': return p.ack;
    case 'tcp.len': return p.len;
    case 'tcp.flags': return p.flags;
    case 'tcp.window_size_value': return p.window;
    case 'tcp.window_size': return a ? a.windowSize : null;
    case 'tcp.window_size_scalefactor':
      // Wireshark shows no factor on SYNs (their windows are never scaled).
      if (!a || p.flags & TCP_SYN) return null;
      return a.windowScale === WSCALE_UNKNOWN ? -1 : a.windowScale === WSCALE_NONE ? -2 : 2 ** a.windowScale;
    case 'tcp.analysis.flags': return a !== null && (a.flags & TA_FLAG_MASK) !== 0;
    case 'tcp.analysis.acks_frame': return a?.acksFrame ?? null;
    case 'tcp.analysis.ack_rtt': return a?.ackRtt ?? null;
    case 'tcp.analysis.initial_rtt': return a?.initialRtt ?? null;
    case 'tcp.analysis.bytes_in_flight': return a?.bytesInFlight ?? null;
    case 'tcp.analysis.duplicate_ack_num': return a?.dupAckNum ?? null;
    case 'tcp.analysis.duplicate_ack_frame': return a?.dupAckFrame ?? null;
    case 'tcp.analysis.rto': return a?.rto ?? null;
    case 'tcp.analysis.rto_frame': return a?.rtoFrame ?? null;
    case 'ftpscope.session': return p.session;
    case 'ftpscope.connection': return connectionLabel(p);
    case 'ftpscope.channel': return p.channel;
    case 'ftpscope.role': return p.sender;
    case 'ftpscope.direction': return p.sender === 'client' ? 'client-to-server' : p.sender === 'server' ? 'server-to-client' : null;
    case 'ftpscope.initiator': return p.fromInitiator;
    case 'ftpscope.phase': return p.phase;
    case 'ftpscope.tags': return a ? analysisTags(a).join(',') : '';
  }
  return null;
}

/** tcp.nxtseq: the relative number after this segment (SYN and FIN take one). */
export function nxtseq(p: PacketFact, relSeq: number): number {
  return (relSeq + p.len + (p.flags & (TCP_SYN | TCP_FIN) ? 1 : 0)) >>> 0;
}

/** Seconds as tshark prints relative times: nine decimals (ftpscope keeps microseconds). */
export function secondsText(s: number): string {
  const us = Math.round(s * 1e6);
  const neg = us < 0;
  const abs = Math.abs(us);
  return `${neg ? '-' : ''}${Math.floor(abs / 1e6)}.${String(abs % 1e6).padStart(6, '0')}000`;
}

/** The value as `tshark -T fields -e NAME` prints it: empty when absent, 1 for a flag that is set. */
export function packetFieldText(p: PacketFact, name: PacketFieldName, ctx: FieldContext): string {
  const v = packetFieldValue(p, name, ctx);
  if (v === null || v === false) return '';
  const kind = PACKET_FIELDS[name].kind;
  switch (kind) {
    case 'flag': return v === true ? '1' : String(v);
    case 'time': return secondsText(v as number);
    case 'hex16': return '0x' + (v as number).toString(16).padStart(4, '0');
    default: return v === true ? '1' : String(v);
  }
}

/** The names of the analysis flags a packet has, as Wireshark fields (a fast retransmission is also a retransmission). */
export function analysisFlagNames(p: PacketFact): string[] {
  const a = p.analysis;
  if (!a) return [];
  return (TCP_ANALYSIS_FLAGS as readonly TcpAnalysisFlagInfo[]).filter((f) => (a.flags & f.bits) !== 0).map((f) => f.field);
}

/** One packet as `ftpscope packets --json` prints it without -e. */
export function packetToJson(p: PacketFact, ctx: FieldContext): Record<string, unknown> {
  const a = p.analysis;
  return {
    frame: p.frame,
    time: p.ts,
    timeRelative: Number((p.ts - ctx.firstTs).toFixed(6)),
    tcpStream: p.tcpId - 1,
    session: p.session,
    connection: connectionLabel(p),
    channel: p.channel,
    dataConnection: p.dataConnection,
    role: p.sender,
    direction: packetFieldValue(p, 'ftpscope.direction', ctx),
    initiator: p.fromInitiator,
    phase: p.phase,
    src: p.src.ip === '' ? null : { ip: p.src.ip, port: p.src.port },
    dst: p.dst.ip === '' ? null : { ip: p.dst.ip, port: p.dst.port },
    flags: packetFieldText(p, 'tcp.flags', ctx),
    seq: p.relSeq,
    ack: p.flags & TCP_ACK ? p.relAck : null,
    nxtseq: p.relSeq === null ? null : nxtseq(p, p.relSeq),
    len: p.len,
    window: p.window,
    analysis: a === null ? null : {
      flags: analysisFlagNames(p),
      tags: analysisTags(a),
      windowSize: a.windowSize,
      acksFrame: a.acksFrame,
      ackRtt: a.ackRtt,
      initialRtt: a.initialRtt,
      bytesInFlight: a.bytesInFlight,
      duplicateAckNum: a.dupAckNum,
      duplicateAckFrame: a.dupAckFrame,
      rto: a.rto,
      rtoFrame: a.rtoFrame,
    },
  };
}

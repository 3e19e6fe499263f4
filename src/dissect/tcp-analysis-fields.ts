/**
 * The TCP layer's analysis fields, as Wireshark shows them: tcp.nxtseq and the [SEQ/ACK analysis]
 * group (acks_frame, ack_rtt, initial_rtt, bytes in flight, the analysis flags). Labels and
 * meanings come from the packet field catalogue (src/model/packet-fields.ts); the seq/ack
 * arithmetic is spelled out for the segment ("next seq = 1449 + 1448 = 2897; the ACK in frame 41
 * acknowledges it, 0.21 ms later").
 */
import type { Field } from './field.js';
import { field } from './fields.js';
import { PACKET_FIELDS, type PacketFieldName } from '../model/packet-fields.js';
import { TCP_ANALYSIS_FLAGS, TA_DUPLICATE_ACK, TA_FLAG_MASK, type TcpAnalysisFlagInfo, type TcpPacketAnalysis } from '../model/tcp-analysis.js';

const SYN = 0x02;
const FIN = 0x01;

function ms(sec: number): string {
  return sec < 0.001 ? `${(sec * 1e6).toFixed(0)} µs` : sec < 1 ? `${(sec * 1000).toFixed(2)} ms` : `${sec.toFixed(3)} s`;
}

/** Times are kept to the microsecond: shown with tshark's nine decimals. */
function us(sec: number): number {
  return Math.round(sec * 1e6) / 1e6;
}

function secs(sec: number): string {
  return `${us(sec).toFixed(9)} seconds`;
}

/** A generated field (no bytes of its own, at the TCP header's offset) named and explained by the catalogue. */
function gen(name: PacketFieldName, value: Field['value'], at: number, display: string, meaning?: string, children?: Field[]): Field {
  const info = PACKET_FIELDS[name];
  const f = field(name, info.label, value, at, 0, display, children);
  f.meaning = meaning ?? info.meaning;
  return f;
}

export function analysisFields(relSeq: number, len: number, flags: number, a: TcpPacketAnalysis | undefined, at: number): Field[] {
  const out: Field[] = [];
  const plus = flags & (SYN | FIN) ? 1 : 0;
  const nxt = (relSeq + len + plus) >>> 0;
  const sum = `${relSeq} + ${len}${plus ? ` + 1 (the ${flags & SYN ? 'SYN' : 'FIN'} takes one number)` : ''} = ${nxt}`;
  let nxtMeaning = `next seq = ${sum}: the first number of what this side sends next, and the ACK that says all of this arrived`;
  if (len === 0 && !plus) nxtMeaning = `next seq = ${relSeq}: no payload, so the sequence number does not move (a pure ACK takes no number)`;
  else if (a?.ackedBy) nxtMeaning += `; the ACK in frame ${a.ackedBy.frame} acknowledges it${a.ackedBy.rtt !== null ? `, ${ms(a.ackedBy.rtt)} later (RTT)` : ''}`;
  else if (a) nxtMeaning += '; no ACK acknowledges exactly this segment (a later ACK covers it with others, or none was captured)';
  out.push(gen('tcp.nxtseq', nxt, at, `${nxt} (relative)`, nxtMeaning));
  if (!a) return out;

  const kids: Field[] = [];
  if (a.acksFrame !== null) {
    const seg = a.ackedSegment;
    const why = seg && seg.relSeq !== null
      ? `ack = ${seg.relSeq} + ${seg.len}${seg.flags & (SYN | FIN) ? ' + 1' : ''}: the seq of frame ${a.acksFrame} plus its length: everything up to it arrived`
      : `acknowledges the segment of frame ${a.acksFrame} exactly`;
    kids.push(gen('tcp.analysis.acks_frame', a.acksFrame, at, `This is an ACK to the segment in frame ${a.acksFrame}`, why));
    if (a.ackRtt !== null) {
      kids.push(gen('tcp.analysis.ack_rtt', us(a.ackRtt), at, secs(a.ackRtt),
        `${ms(a.ackRtt)} from frame ${a.acksFrame} to this ACK: a round trip as seen from where the capture was taken`));
    }
  }
  if (a.initialRtt !== null) {
    kids.push(gen('tcp.analysis.initial_rtt', us(a.initialRtt), at, secs(a.initialRtt),
      `${ms(a.initialRtt)} from the SYN to the ACK that completed the handshake: the connection's first round trip`));
  }
  if (a.bytesInFlight !== null) {
    kids.push(gen('tcp.analysis.bytes_in_flight', a.bytesInFlight, at, String(a.bytesInFlight),
      `${a.bytesInFlight} bytes sent and not yet acknowledged after this segment (the receiver's window caps it)`));
  }
  const f = a.flags & TA_FLAG_MASK;
  if (f !== 0) {
    const flagKids: Field[] = [];
    for (const info of TCP_ANALYSIS_FLAGS as readonly TcpAnalysisFlagInfo[]) {
      // As tshark: a fast or spurious retransmission is also a retransmission.
      if ((f & info.bits) === 0) continue;
      flagKids.push(gen(info.field as PacketFieldName, true, at, '', info.meaning));
      if (info.bits === TA_DUPLICATE_ACK && a.dupAckNum !== null) {
        flagKids.push(gen('tcp.analysis.duplicate_ack_num', a.dupAckNum, at, String(a.dupAckNum), `the ${a.dupAckNum}${a.dupAckNum === 1 ? 'st' : a.dupAckNum === 2 ? 'nd' : a.dupAckNum === 3 ? 'rd' : 'th'} repeat in a row${a.dupAckNum >= 3 ? ': three duplicates make the sender retransmit at once (fast retransmit)' : ''}`));
        if (a.dupAckFrame !== null) flagKids.push(gen('tcp.analysis.duplicate_ack_frame', a.dupAckFrame, at, String(a.dupAckFrame)));
      }
    }
    if (a.rto !== null) {
      flagKids.push(gen('tcp.analysis.rto', us(a.rto), at, secs(a.rto), `${ms(a.rto)} after the original was sent${a.rtoFrame !== null ? ` (frame ${a.rtoFrame})` : ''}: how long the sender waited before resending`));
      if (a.rtoFrame !== null) flagKids.push(gen('tcp.analysis.rto_frame', a.rtoFrame, at, String(a.rtoFrame)));
    }
    kids.push(gen('tcp.analysis.flags', true, at, flagKids.filter((k) => k.display === '').map((k) => k.label).join(', '), undefined, flagKids));
  }
  if (kids.length > 0) {
    const group = field('tcp.analysis', 'SEQ/ACK analysis', null, at, 0, '', kids);
    group.meaning = 'what the analysis of the whole connection says about this segment (Wireshark\'s definitions)';
    out.push(group);
  }
  return out;
}

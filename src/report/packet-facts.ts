/**
 * Packet facts as text and JSON: the one wording of what the analysis recorded for a packet,
 * shared by the packets pane, `inspect` and its JSON.
 */
import type { PacketFact } from '../model/packet-facts.js';
import type { DataConnection } from '../model/types.js';
import { commandText, maskReplyText } from '../ftp/masking.js';
import { analysisTags, TCP_ANALYSIS_FLAGS, type TcpAnalysisFlagInfo } from '../model/tcp-analysis.js';

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/**
 * "ctrl", "D2" (a data connection of its session), "U3" (unpaired), "Sctrl" / "Sdata" (a proxy
 * recording's server-facing legs) or "#17" (a TCP connection outside FTP).
 */
export function connectionLabel(p: PacketFact): string {
  if (p.channel === 'control') return 'ctrl';
  if (p.channel === 'data' && p.dataConnection !== null) return `D${p.dataConnection}`;
  if (p.channel === 'unpaired' && p.dataConnection !== null) return `U${p.dataConnection}`;
  if (p.channel === 'proxy-control') return 'Sctrl';
  if (p.channel === 'proxy-data') return 'Sdata';
  return `#${p.tcpId}`;
}

/** "C→S" / "S→C" by the sender's FTP role, "*" when the TCP initiator sent it; bare arrows when the role is unknown. */
export function directionLabel(p: PacketFact): string {
  const arrow = p.sender === 'client' ? 'C→S' : p.sender === 'server' ? 'S→C' : p.fromInitiator ? '→' : '←';
  return `${arrow}${p.fromInitiator ? '*' : ''}`;
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i) + ' …';
}

/** What the packet meant: the FTP lines it completed, the transfer bytes it carried, or its TCP role. */
export function packetSummary(p: PacketFact, dc: DataConnection | null, showPasswords = false): string {
  const m = p.meaning;
  if (m?.kind === 'control') {
    return m.lines.map((l) => (l.kind === 'command'
      ? `Request: ${commandText(l.command.verb, l.command.arg, showPasswords)}`
      : `Response: ${l.reply.code} ${firstLine(maskReplyText(l.reply.text, showPasswords))}`)).join('; ');
  }
  // A proxy's server-facing control leg is not read as a session: its packets' own lines say what it carried.
  if (p.channel === 'proxy-control' && p.wire !== null && p.wire.length > 0) {
    return p.wire.map((l) => (l.kind === 'request'
      ? `Request: ${commandText(l.verb, l.arg, showPasswords)}`
      : `Response: ${l.code ?? ''} ${maskReplyText(l.arg, showPasswords)}`)).join('; ');
  }
  const nums = `seq=${p.relSeq ?? p.seq}${p.flags & TCP_ACK ? ` ack=${p.relAck ?? p.ack}` : ''}`;
  if (m?.kind === 'transfer') {
    const what = dc?.command ? `${dc.command.verb}${dc.command.arg ? ' ' + dc.command.arg : ''}` : 'data';
    return `FTP-DATA ${what}: ${p.len} bytes at offset ${m.offset}${p.tls ? ' (TLS)' : ''}  ${nums}`;
  }
  if (p.len > 0 && p.tls) return `TLS ${p.len} bytes  ${nums}`;
  if (p.flags & TCP_SYN) return `${p.flags & TCP_ACK ? 'SYN-ACK' : 'SYN'} ${nums}`;
  if (p.flags & TCP_RST) return `RST ${nums}`;
  if (p.flags & TCP_FIN) return `FIN ${nums}`;
  if (p.phase === 'handshake') return `ACK (handshake) ${nums}`;
  if (p.phase === 'teardown') return `ACK (teardown) ${nums}`;
  return nums;
}

/** The one line `inspect` prints above the layers: where the packet belongs and who sent it. */
export function factLine(p: PacketFact, showPasswords = false): string {
  const where = p.channel === 'control' ? `session ${p.session}, control connection`
    : p.channel === 'data' ? `session ${p.session}, data connection D${p.dataConnection}`
      : p.channel === 'unpaired' ? `unpaired data connection ${p.dataConnection}`
        : p.channel === 'proxy-control' ? `session ${p.session}, the proxy's server-facing control connection`
          : p.channel === 'proxy-data' ? `session ${p.session}, a server-facing data connection of the proxy` : `TCP connection #${p.tcpId} (not FTP)`;
  const who = p.sender ? `sent by the FTP ${p.sender}` : 'sender role unknown';
  return `Analysis: ${where}; ${who} (${p.fromInitiator ? 'the TCP initiator' : 'not the TCP initiator'}); ${p.phase}; ${packetSummary(p, null, showPasswords)}`;
}

/** The facts as `inspect --json` prints them. */
export function factToJson(p: PacketFact, showPasswords = false): object {
  const m = p.meaning;
  return {
    tcpStream: p.tcpId - 1,
    channel: p.channel,
    session: p.session,
    dataConnection: p.dataConnection,
    sender: p.sender,
    direction: p.sender === 'client' ? 'client-to-server' : p.sender === 'server' ? 'server-to-client' : null,
    fromInitiator: p.fromInitiator,
    phase: p.phase,
    relSeq: p.relSeq,
    relAck: p.relAck,
    tls: p.tls,
    meaning: m === null ? null : m.kind === 'transfer' ? { kind: 'transfer', offset: m.offset } : {
      kind: 'control',
      lines: m.lines.map((l) => (l.kind === 'command'
        ? { command: l.command.verb, arg: commandText(l.command.verb, l.command.arg, showPasswords).slice(l.command.verb.length + 1) || null }
        : { reply: l.reply.code, text: maskReplyText(l.reply.text, showPasswords) })),
    },
    summary: packetSummary(p, null, showPasswords),
    tcpAnalysis: p.analysis === null ? null : {
      flags: analysisFlagFields(p.analysis.flags),
      tags: analysisTags(p.analysis),
      windowSize: p.analysis.windowSize,
      acksFrame: p.analysis.acksFrame,
      ackRtt: p.analysis.ackRtt,
      initialRtt: p.analysis.initialRtt,
      bytesInFlight: p.analysis.bytesInFlight,
      duplicateAckNum: p.analysis.dupAckNum,
      duplicateAckFrame: p.analysis.dupAckFrame,
      rto: p.analysis.rto,
      rtoFrame: p.analysis.rtoFrame,
      ackedBy: p.analysis.ackedBy?.frame ?? null,
    },
  };
}

/** The Wireshark field names of the flags set (a fast or spurious retransmission is also a retransmission). */
function analysisFlagFields(flags: number): string[] {
  return (TCP_ANALYSIS_FLAGS as readonly TcpAnalysisFlagInfo[]).filter((f) => (flags & f.bits) !== 0).map((f) => f.field);
}

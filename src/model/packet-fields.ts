/**
 * The catalogue of per-packet fields ftpscope exposes by name: `ftpscope packets -e NAME`, its
 * JSON, the SEQ/ACK analysis group of the layers view and `inspect --json` all take their names,
 * labels and meanings from here. Names are Wireshark's display-filter names where Wireshark has
 * the field (so `ftpscope packets -e X` and `tshark -T fields -e X` can be diffed); the FTP
 * context Wireshark does not have is under `ftpscope.`.
 *
 * Vocabulary layer: imports nothing outside src/model/.
 */
import { TCP_ANALYSIS_FLAGS, type TcpAnalysisFlagField } from './tcp-analysis.js';

/**
 * How a field's value is written: `uint` a whole number, `time` seconds (tshark prints nine
 * decimals), `flag` present or absent (tshark prints 1 or nothing), `hex16` a 16-bit number in hex,
 * `string` text, `address` an IP address.
 */
export type PacketFieldKind = 'uint' | 'int' | 'time' | 'flag' | 'hex16' | 'string' | 'address';

export interface PacketFieldInfo {
  readonly kind: PacketFieldKind;
  readonly label: string;
  /** One line: what it means, for people learning TCP. */
  readonly meaning: string;
}

const BASE_FIELDS = {
  'frame.number': { kind: 'uint', label: 'Frame number', meaning: 'position of the packet in the capture, counted from 1 as Wireshark counts' },
  'frame.time_epoch': { kind: 'time', label: 'Epoch time', meaning: 'when the packet was captured, in seconds since 1970-01-01 UTC' },
  'frame.time_relative': { kind: 'time', label: 'Time since the first packet', meaning: 'seconds since the first packet of the capture' },
  'tcp.stream': { kind: 'uint', label: 'TCP stream index', meaning: 'which TCP connection, numbered from 0 in order of first packet (as Wireshark numbers them)' },
  'ip.src': { kind: 'address', label: 'Source address (IPv4)', meaning: 'the IPv4 address that sent the packet' },
  'ip.dst': { kind: 'address', label: 'Destination address (IPv4)', meaning: 'the IPv4 address the packet goes to' },
  'ipv6.src': { kind: 'address', label: 'Source address (IPv6)', meaning: 'the IPv6 address that sent the packet' },
  'ipv6.dst': { kind: 'address', label: 'Destination address (IPv6)', meaning: 'the IPv6 address the packet goes to' },
  'tcp.srcport': { kind: 'uint', label: 'Source port', meaning: 'the sender\'s TCP port' },
  'tcp.dstport': { kind: 'uint', label: 'Destination port', meaning: 'the receiver\'s TCP port' },
  'tcp.seq': { kind: 'uint', label: 'Sequence number (relative)', meaning: 'number of the first byte carried, counted from the sender\'s SYN (which is 0)' },
  'tcp.seq_raw': { kind: 'uint', label: 'Sequence number (raw)', meaning: 'the 32-bit sequence number as on the wire (random start, the ISN)' },
  'tcp.nxtseq': { kind: 'uint', label: 'Next sequence number', meaning: 'the sequence number after this segment: seq + length (+1 for SYN or FIN); what the receiver will acknowledge' },
  'tcp.ack': { kind: 'uint', label: 'Acknowledgment number (relative)', meaning: 'the next byte the sender expects from the other side: everything before it arrived' },
  'tcp.ack_raw': { kind: 'uint', label: 'Acknowledgment number (raw)', meaning: 'the 32-bit acknowledgment number as on the wire' },
  'tcp.len': { kind: 'uint', label: 'TCP segment length', meaning: 'payload bytes in this segment' },
  'tcp.flags': { kind: 'hex16', label: 'Flags', meaning: 'the control bits: SYN opens, ACK acknowledges, PSH pushes to the application, FIN closes, RST aborts' },
  'tcp.window_size_value': { kind: 'uint', label: 'Window (raw)', meaning: 'the receive window field as sent, before scaling' },
  'tcp.window_size': { kind: 'uint', label: 'Window (calculated)', meaning: 'bytes the sender of this packet can still receive: the raw window × 2^scale' },
  'tcp.window_size_scalefactor': { kind: 'int', label: 'Window scaling factor', meaning: 'the multiplier for the raw window, 2^shift from the SYN options; -1 unknown (SYN not seen), -2 scaling not in use' },
  'tcp.analysis.flags': { kind: 'flag', label: 'Analysis flags', meaning: 'the packet has at least one TCP analysis flag (retransmission, duplicate ACK, zero window, ...)' },
  'tcp.analysis.acks_frame': { kind: 'uint', label: 'ACK of the segment in frame', meaning: 'the frame whose data this packet acknowledges exactly' },
  'tcp.analysis.ack_rtt': { kind: 'time', label: 'RTT to ACK the segment', meaning: 'seconds from that segment to this ACK: a round-trip time sample' },
  'tcp.analysis.initial_rtt': { kind: 'time', label: 'Initial RTT', meaning: 'seconds from the SYN to the ACK that completed the handshake: the connection\'s first round-trip time' },
  'tcp.analysis.bytes_in_flight': { kind: 'uint', label: 'Bytes in flight', meaning: 'bytes sent and not yet acknowledged after this segment' },
  'tcp.analysis.duplicate_ack_num': { kind: 'uint', label: 'Duplicate ACK number', meaning: 'how many times in a row this ACK was repeated' },
  'tcp.analysis.duplicate_ack_frame': { kind: 'uint', label: 'Duplicate of the ACK in frame', meaning: 'the frame of the ACK this one repeats' },
  'tcp.analysis.rto': { kind: 'time', label: 'Retransmission timeout', meaning: 'seconds between the original segment and this retransmission' },
  'tcp.analysis.rto_frame': { kind: 'uint', label: 'Retransmission of the segment in frame', meaning: 'the frame of the original segment (the oldest one unacknowledged)' },
  'ftpscope.session': { kind: 'uint', label: 'FTP session', meaning: 'the FTP session the packet belongs to (control or data connection), as numbered by ftpscope report' },
  'ftpscope.connection': { kind: 'string', label: 'Connection', meaning: 'ctrl (control connection), D<n> (data connection n of the session), U<n> (unpaired data connection), Sctrl / Sdata (a proxy recording\'s server-facing control / data leg) or #<n> (TCP connection n, not FTP)' },
  'ftpscope.channel': { kind: 'string', label: 'Channel', meaning: 'control, data, unpaired (looks like FTP data, no PASV/PORT seen), proxy-control / proxy-data (a proxy recording\'s server-facing legs) or other (not FTP)' },
  'ftpscope.role': { kind: 'string', label: 'Sender\'s FTP role', meaning: 'client or server: who sent the packet in FTP terms (in active mode the FTP server opens the data connection)' },
  'ftpscope.direction': { kind: 'string', label: 'Direction', meaning: 'client-to-server or server-to-client, by FTP role' },
  'ftpscope.initiator': { kind: 'flag', label: 'Sent by the TCP initiator', meaning: 'the sender is the side that sent the SYN (the TCP client)' },
  'ftpscope.phase': { kind: 'string', label: 'TCP phase', meaning: 'handshake, data, ack, teardown or reset: where the packet sits in the connection\'s life' },
  'ftpscope.tags': { kind: 'string', label: 'Analysis tags', meaning: 'the analysis flags as short tags (RETX, DUP ACK #2, ZERO WIN, OOO, LOST, ...)' },
} as const satisfies Record<string, PacketFieldInfo>;

/** Every field name `ftpscope packets -e` accepts. */
export type PacketFieldName = keyof typeof BASE_FIELDS | TcpAnalysisFlagField;

export const PACKET_FIELDS: Readonly<Record<PacketFieldName, PacketFieldInfo>> = {
  ...BASE_FIELDS,
  ...Object.fromEntries(TCP_ANALYSIS_FLAGS.map((f) => [f.field, { kind: 'flag', label: f.tag, meaning: f.meaning } satisfies PacketFieldInfo])),
} as Record<PacketFieldName, PacketFieldInfo>;

export function isPacketFieldName(name: string): name is PacketFieldName {
  return Object.prototype.hasOwnProperty.call(PACKET_FIELDS, name);
}

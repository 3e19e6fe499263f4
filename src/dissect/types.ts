/**
 * Fast-path decode result. One object is reused for every packet: no per-field
 * allocation. Offsets index into the same buffer the PacketRecord points at.
 */
export interface FastPacket {
  /** 'tcp' when every field below is valid; 'fragment' while an IP datagram is incomplete. */
  kind: 'tcp' | 'fragment' | 'other' | 'malformed';
  ipVersion: 4 | 6;
  /** Textual addresses; IPv4-mapped IPv6 written as plain IPv4. */
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;      // uint32
  ack: number;      // uint32
  /** TCP flags byte (plus NS in bit 8): FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 */
  flags: number;
  window: number;   // raw, unscaled
  ipOffset: number;
  tcpOffset: number;
  tcpHeaderLength: number;
  /** Payload bytes present: buf[payloadOffset, payloadOffset + payloadLength). */
  buf: Buffer;
  payloadOffset: number;
  payloadLength: number;
  /** TCP payload length on the wire (IP total length based); > payloadLength when snaplen cut it. */
  payloadWireLength: number;
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export type { TcpOptionFacts as TcpOptions } from '../model/tcp-facts.js';

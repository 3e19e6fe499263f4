import type { Reassembled } from './defrag.js';

/** What an IP layer hands to the transport layer. */
export interface NetResult {
  /** The IP protocol number of the payload (after IPv6 extension headers). */
  proto: number;
  /**
   * Transport bytes: buf[start, end) present, wireLength on the wire. buf is the packet's bytes,
   * or the reassembled payload when this packet completed a fragmented datagram.
   */
  buf: Buffer;
  start: number;
  end: number;
  wireLength: number;
  /** Pseudo-header sum without the length, for the TCP checksum: add the length with pseudoSum(). */
  addrSum: number;
  /** This packet is a fragment of a datagram not complete yet: no transport layer to show. */
  incompleteFragment: boolean;
  reassembled?: Reassembled;
  /** Where this packet's IP datagram (or fragment) ends in the packet bytes; padding may follow. */
  packetEnd: number;
  src: string;
  dst: string;
}

/**
 * The one field model that drives the layers tree, the hex highlighting and the JSON.
 * `name` is Wireshark's display-filter field name where one exists (ip.ttl, tcp.seq_raw).
 * Offsets are relative to the start of the packet bytes.
 */
export interface Field {
  name: string;
  label: string;
  value: string | number | boolean | null;
  /** What the value means, for people: "0x0018 (PSH, ACK)", "Good", "relative 1". */
  display: string;
  offset: number;
  length: number;
  children?: Field[];
  /** One line for people learning the protocol: what the field is for and what this value says. */
  meaning?: string;
}

export interface Layer {
  /** frame, eth, vlan, sll, sll2, null, ip, ipv6, tcp, ftp, ftp-data */
  name: string;
  /** "Ethernet II", "Internet Protocol Version 4", ... */
  label: string;
  offset: number;
  length: number;
  fields: Field[];
  /** Where offsets point: the packet bytes (default) or Dissection.reassembled.bytes. */
  source?: 'packet' | 'reassembled';
}

export interface Dissection {
  frame: number;
  ts: number;
  captureLength: number;
  wireLength: number;
  layers: Layer[];
  /** The packet bytes (or, for a reassembled IP datagram, those of the last fragment). */
  bytes: Buffer;
  /** When this packet completed an IP datagram: the reassembled IP payload and the frames it came from. */
  reassembled?: { bytes: Buffer; frames: number[] };
}

/**
 * TCP sequence numbers are 32-bit and wrap; streams can be longer than 4 GiB. We number the
 * bytes of each direction by a 64-bit stream offset (a JS number, exact below 2^53) counted
 * from a base sequence number, and map every 32-bit value to the offset nearest a reference.
 */

/** Stream offset of 32-bit `seq` relative to `base`, the one nearest `ref` (RFC 1982 style). */
export function unwrapSeq(seq: number, base: number, ref: number): number {
  return ref + ((seq - base - ref) | 0);
}

/** 32-bit sequence number of a stream offset. */
export function seqOf(offset: number, base: number): number {
  return (base + offset) >>> 0;
}

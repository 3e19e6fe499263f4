/**
 * Internet checksum (RFC 1071) verification for IPv4 headers and TCP segments.
 * Pure functions over buffers.
 */

export type ChecksumStatus = 'good' | 'bad' | 'unverified';

export interface ChecksumResult {
  status: ChecksumStatus;
  /** The value the field should hold (null when it could not be computed). */
  expected: number | null;
  /**
   * The stored value equals the pseudo-header sum alone: the sending host left the
   * checksum to its NIC (checksum offload) and captured the packet before that.
   * Status is then 'unverified', not 'bad'.
   */
  likelyOffload: boolean;
  /** Why it is unverified, for people: "snaplen cut the segment", ... */
  reason?: string;
}

/** One's complement 16-bit sum of buf[start, end), not folded beyond 32 bits worth of carries. */
export function onesSum(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  return fold(sum);
}

export function fold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Verify the IPv4 header checksum over ihlBytes at off. */
export function ipv4HeaderChecksum(buf: Buffer, off: number, ihlBytes: number, available: number): ChecksumResult {
  if (available < ihlBytes) return { status: 'unverified', expected: null, likelyOffload: false, reason: 'header cut by snaplen' };
  const stored = buf.readUInt16BE(off + 10);
  const sumWithout = fold(onesSum(buf, off, off + 10) + onesSum(buf, off + 12, off + ihlBytes));
  const expected = (~sumWithout) & 0xffff;
  return { status: stored === expected ? 'good' : 'bad', expected, likelyOffload: false };
}

/** Sum of the TCP pseudo-header for IPv4 (RFC 793) or IPv6 (RFC 8200 §8.1). */
export function pseudoHeaderSum(buf: Buffer, srcOff: number, dstOff: number, addrLen: 4 | 16, proto: number, tcpLength: number): number {
  let sum = onesSum(buf, srcOff, srcOff + addrLen) + onesSum(buf, dstOff, dstOff + addrLen);
  sum += proto;
  sum += tcpLength > 0xffff ? fold(tcpLength) : tcpLength;
  return fold(sum);
}

/**
 * Verify a TCP checksum. `segment` holds the whole TCP segment (header + payload) at
 * segOff with segLen bytes present; wireLen is the segment length the IP header announces.
 */
export function tcpChecksum(pseudoSum: number, segment: Buffer, segOff: number, segLen: number, wireLen: number): ChecksumResult {
  if (segLen < wireLen) return { status: 'unverified', expected: null, likelyOffload: false, reason: 'segment cut by snaplen' };
  const stored = segment.readUInt16BE(segOff + 16);
  const sumWithout = fold(pseudoSum + onesSum(segment, segOff, segOff + 16) + onesSum(segment, segOff + 18, segOff + wireLen));
  const expected = (~sumWithout) & 0xffff;
  if (stored === expected) return { status: 'good', expected, likelyOffload: false };
  if (expected === 0 && stored === 0xffff) {
    // One's complement -0 and +0: every receiver's verification sum comes out right, so the segment is
    // accepted; RFC 1624 says a sender should have written 0x0000 (Wireshark calls it bad).
    return { status: 'good', expected, likelyOffload: false, reason: '0xffff instead of 0x0000: the same sum, accepted by receivers (RFC 1624)' };
  }
  // Offloading stacks store the folded pseudo-header sum (Linux: ~csum_tcpudp_magic(..., 0)).
  const partial = fold(pseudoSum);
  if (stored === partial || stored === ((~partial) & 0xffff)) {
    return { status: 'unverified', expected, likelyOffload: true, reason: 'likely checksum offload' };
  }
  return { status: 'bad', expected, likelyOffload: false };
}

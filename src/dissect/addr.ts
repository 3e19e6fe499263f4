/**
 * Address formatting with bounded direct-mapped caches, so the fast path allocates a string
 * only the first time it meets an address (or when a colliding one evicted it).
 */

const V4_SLOTS = 4096;

export class AddressCache {
  private readonly v4Keys = new Uint32Array(V4_SLOTS);
  private readonly v4Used = new Uint8Array(V4_SLOTS);
  private readonly v4Strs: string[] = new Array<string>(V4_SLOTS).fill('');
  private readonly v6Keys = new Uint32Array(V4_SLOTS * 4);
  private readonly v6Used = new Uint8Array(V4_SLOTS);
  private readonly v6Strs: string[] = new Array<string>(V4_SLOTS).fill('');

  ipv4(buf: Buffer, off: number): string {
    const key = u32(buf, off);
    const slot = (Math.imul(key, 0x9e3779b1) >>> 20) & (V4_SLOTS - 1);
    if (this.v4Used[slot] === 1 && this.v4Keys[slot] === key) return this.v4Strs[slot]!;
    const s = formatIpv4(buf, off);
    this.v4Keys[slot] = key;
    this.v4Used[slot] = 1;
    this.v4Strs[slot] = s;
    return s;
  }

  ipv6(buf: Buffer, off: number): string {
    const a = u32(buf, off);
    const b = u32(buf, off + 4);
    const c = u32(buf, off + 8);
    const d = u32(buf, off + 12);
    const slot = (Math.imul(a ^ Math.imul(b, 31) ^ Math.imul(c, 961) ^ Math.imul(d, 0x9e3779b1), 0x85ebca6b) >>> 20) & (V4_SLOTS - 1);
    const k = slot * 4;
    const keys = this.v6Keys;
    if (this.v6Used[slot] === 1 && keys[k] === a && keys[k + 1] === b && keys[k + 2] === c && keys[k + 3] === d) {
      return this.v6Strs[slot]!;
    }
    const s = formatIpv6(buf, off);
    keys[k] = a; keys[k + 1] = b; keys[k + 2] = c; keys[k + 3] = d;
    this.v6Used[slot] = 1;
    this.v6Strs[slot] = s;
    return s;
  }
}

function u32(b: Buffer, o: number): number {
  return b[o]! * 0x1000000 + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
}

export function formatIpv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** True for ::ffff:a.b.c.d. */
export function isIpv4Mapped(buf: Buffer, off: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 10] === 0xff && buf[off + 11] === 0xff;
}

/** RFC 5952 text form; IPv4-mapped addresses are written as plain IPv4 (the report contract). */
export function formatIpv6(buf: Buffer, off: number): string {
  if (isIpv4Mapped(buf, off)) return formatIpv4(buf, off + 12);
  return formatIpv6Strict(buf, off);
}

/** RFC 5952 text form, keeping ::ffff:a.b.c.d as such (what Wireshark shows). */
export function formatIpv6Strict(buf: Buffer, off: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(buf.readUInt16BE(off + i * 2));
  if (isIpv4Mapped(buf, off)) return `::ffff:${formatIpv4(buf, off + 12)}`;
  // Longest run of two or more zero words is written as "::" (first one on ties).
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

export function formatMac(buf: Buffer, off: number, len = 6): string {
  const parts: string[] = [];
  for (let i = 0; i < len; i++) parts.push(buf[off + i]!.toString(16).padStart(2, '0'));
  return parts.join(':');
}

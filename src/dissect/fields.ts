import type { Field } from './field.js';

/** Build one Field; `display` defaults to the value written out. */
export function field(
  name: string, label: string, value: Field['value'], offset: number, length: number,
  display?: string, children?: Field[],
): Field {
  const f: Field = { name, label, value, display: display ?? String(value), offset, length };
  if (children && children.length > 0) f.children = children;
  return f;
}

export function hex(n: number, digits: number): string {
  return '0x' + n.toString(16).padStart(digits, '0');
}

/** A one-bit (or few-bit) flag child of a bit field, displayed like Wireshark's ".... ..1. = Syn: Set". */
export function bitField(
  name: string, label: string, whole: number, mask: number, totalBits: number, offset: number, length: number,
): Field {
  let shift = 0;
  while (((mask >> shift) & 1) === 0 && shift < totalBits) shift++;
  const v = (whole & mask) >>> shift;
  let bits = '';
  for (let i = totalBits - 1; i >= 0; i--) {
    bits += (mask >> i) & 1 ? String((whole >> i) & 1) : '.';
    if (i % 4 === 0 && i > 0) bits += ' ';
  }
  const isFlag = mask !== 0 && (mask & (mask - 1)) === 0;
  const meaning = isFlag ? (v ? 'Set' : 'Not set') : String(v);
  return field(name, label, isFlag ? v === 1 : v, offset, length, `${bits} = ${label}: ${meaning}`);
}

/** The "_ws.malformed" marker Wireshark uses when a header is broken or cut. */
export function malformed(reason: string, offset: number, length: number): Field {
  return field('_ws.malformed', 'Malformed packet', reason, offset, Math.max(0, length), `Malformed: ${reason}`);
}

export function printable(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
  return s;
}

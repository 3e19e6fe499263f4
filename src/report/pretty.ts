/**
 * Indents compact JSON bytes exactly as JSON.stringify(value, null, 2) lays them out, shifted
 * right by `baseIndent` spaces after every newline. Reports stringify compactly (the fast native
 * path) and indent here in one byte pass: JSON.stringify with a gap argument and a regex
 * re-indent cost several times more and make far more garbage.
 *
 * The input must be JSON.stringify output (no whitespace outside strings).
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJ = 0x7b;
const CLOSE_OBJ = 0x7d;
const OPEN_ARR = 0x5b;
const CLOSE_ARR = 0x5d;
const NL = 0x0a;
const SPACE = 0x20;

/** Writes the indented form of `src` into a growable output; returns the bytes. */
export function indentJson(src: Buffer, baseIndent = 0): Buffer {
  const out = new ByteOut(src.length * 2 + 64);
  indentJsonInto(src, baseIndent, out);
  return out.take();
}

export function indentJsonInto(src: Buffer, baseIndent: number, out: ByteOut): void {
  const n = src.length;
  let depth = baseIndent;
  let i = 0;
  while (i < n) {
    const b = src[i]!;
    if (b === QUOTE) {
      // Copy the whole string: find its closing quote (one not escaped by an odd run of backslashes).
      let j = i + 1;
      for (;;) {
        j = src.indexOf(QUOTE, j);
        if (j < 0) { j = n - 1; break; }
        let k = j - 1;
        while (src[k] === BACKSLASH) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j++;
      }
      out.copy(src, i, j + 1);
      i = j + 1;
    } else if (b === OPEN_OBJ || b === OPEN_ARR) {
      const next = src[i + 1];
      if (next === b + 2) { // {} or []
        out.byte(b);
        out.byte(next);
        i += 2;
      } else {
        depth += 2;
        out.byte(b);
        out.newline(depth);
        i++;
      }
    } else if (b === CLOSE_OBJ || b === CLOSE_ARR) {
      depth -= 2;
      out.newline(depth);
      out.byte(b);
      i++;
    } else if (b === COMMA) {
      out.byte(COMMA);
      out.newline(depth);
      i++;
    } else if (b === COLON) {
      out.byte(COLON);
      out.byte(SPACE);
      i++;
    } else {
      // A number, true, false or null: up to the next structural byte.
      let j = i + 1;
      while (j < n) {
        const c = src[j]!;
        if (c === COMMA || c === CLOSE_OBJ || c === CLOSE_ARR) break;
        j++;
      }
      out.copy(src, i, j);
      i = j;
    }
  }
}

/** An append-only byte buffer that doubles as needed. */
export class ByteOut {
  private buf: Buffer;
  length = 0;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, 64));
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }

  newline(indent: number): void {
    this.ensure(indent + 1);
    const buf = this.buf;
    let p = this.length;
    buf[p++] = NL;
    const end = p + indent;
    while (p < end) buf[p++] = SPACE;
    this.length = end;
  }

  copy(src: Buffer, from: number, to: number): void {
    const len = to - from;
    this.ensure(len);
    if (len < 32) {
      const buf = this.buf;
      let p = this.length;
      for (let k = from; k < to; k++) buf[p++] = src[k]!;
    } else {
      src.copy(this.buf, this.length, from, to);
    }
    this.length += len;
  }

  ascii(s: string): void {
    this.ensure(s.length * 3);
    this.length += this.buf.write(s, this.length, 'utf8');
  }

  /** The bytes written so far (a view; valid until the next write after reset()). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }

  /** The bytes written, copied out. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }

  private ensure(extra: number): void {
    if (this.length + extra > this.buf.length) this.grow(extra);
  }

  private grow(extra: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.length + extra) cap *= 2;
    const next = Buffer.allocUnsafe(cap);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}

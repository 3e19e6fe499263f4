/**
 * Writes JSON bytes laid out exactly as JSON.stringify(value, null, 2) lays them out, shifted
 * right by a base indent, straight into a reusable byte buffer. Reports of many sessions spent
 * most of their time building strings (and collecting them); writing bytes makes no garbage.
 *
 * A container needs no stack: `first` says whether the innermost open container has no member
 * yet, and closing any value makes its parent non-empty.
 */
const NL = 0x0a;
const SPACE = 0x20;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const DOT = 0x2e;
const ZERO = 0x30;

/** For ASCII characters JSON.stringify escapes with a letter (or themselves), that byte; 0 for \u00XX. */
const SHORT_ESCAPES = new Uint8Array(0x80);
for (const [c, e] of [[0x08, 0x62], [0x09, 0x74], [0x0a, 0x6e], [0x0c, 0x66], [0x0d, 0x72], [QUOTE, QUOTE], [BACKSLASH, BACKSLASH]]) {
  SHORT_ESCAPES[c!] = e!;
}
/** Lower-case hex digits, as JSON.stringify writes \u00XX. */
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/** Strings at least this long are checked with a regular expression and copied natively when nothing needs escaping. */
const NATIVE_STRING = 32;
/** What JSON.stringify escapes, and anything outside ASCII (written as UTF-8 on the slow path). */
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\u0080-\uffff]/;

declare global {
  interface Buffer {
    /** Node's own latin1 encoder without write()'s argument checks (undocumented, present since Node 0.x). */
    latin1Write(s: string, offset: number): number;
  }
}

/** Timestamps below 2^32 s written from their integer microseconds give String(roundTs(t)) (see writeTs). */
const TS_FAST_LIMIT = 2 ** 32;

/**
 * An object member's key, `"name": `, with the bytes that go before it at each indent (`,`, a
 * newline, the indent) joined to it once: writing a member's start is then one copy.
 */
export class JsonKey {
  readonly bytes: Buffer;
  private readonly later: (Uint8Array | undefined)[] = [];
  private readonly first: (Uint8Array | undefined)[] = [];

  constructor(name: string) {
    this.bytes = Buffer.from(JSON.stringify(name) + ': ', 'utf8');
  }

  /** `,` newline, `indent` spaces and the key: a member after another. */
  after(indent: number): Uint8Array {
    return this.later[indent] ?? this.build(indent, true);
  }

  /** Newline, `indent` spaces and the key: an object's first member. */
  opening(indent: number): Uint8Array {
    return this.first[indent] ?? this.build(indent, false);
  }

  private build(indent: number, comma: boolean): Uint8Array {
    const lead = comma ? 2 : 1;
    const seg = new Uint8Array(lead + indent + this.bytes.length);
    if (comma) seg[0] = COMMA;
    seg[lead - 1] = NL;
    seg.fill(SPACE, lead, lead + indent);
    seg.set(this.bytes, lead + indent);
    if (indent < 256) (comma ? this.later : this.first)[indent] = seg;
    return seg;
  }
}

const keyCache = new Map<string, JsonKey>();

/** The key `name`, made once (for up to 1024 names). */
export function jsonKey(name: string): JsonKey {
  let k = keyCache.get(name);
  if (k === undefined) {
    k = new JsonKey(name);
    if (keyCache.size < 1024) keyCache.set(name, k);
  }
  return k;
}

const newlines: Uint8Array[] = [];

/** A newline and `indent` spaces. */
function newlineIndent(indent: number): Uint8Array {
  let seg = newlines[indent];
  if (seg === undefined) {
    seg = new Uint8Array(1 + indent).fill(SPACE);
    seg[0] = NL;
    if (indent < 256) newlines[indent] = seg;
  }
  return seg;
}

/** Two ASCII digits for each of 0-99, for writing numbers two digits at a time. */
const DIGIT_PAIRS = new Uint8Array(200);
for (let i = 0; i < 100; i++) {
  DIGIT_PAIRS[2 * i] = ZERO + Math.floor(i / 10);
  DIGIT_PAIRS[2 * i + 1] = ZERO + (i % 10);
}

/** Digits of a non-negative integer below 2^31. */
function digitCount(x: number): number {
  return x < 100000
    ? (x < 100 ? (x < 10 ? 1 : 2) : x < 1000 ? 3 : x < 10000 ? 4 : 5)
    : (x < 10000000 ? (x < 1000000 ? 6 : 7) : x < 100000000 ? 8 : x < 1000000000 ? 9 : 10);
}

export class PrettyJsonWriter {
  private buf: Buffer;
  length = 0;
  private indent = 0;
  private first = false;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, 256));
  }

  /** Starts over with an empty buffer; `indent` is the column of the first value's closing bracket. */
  reset(baseIndent = 0): this {
    this.length = 0;
    this.indent = baseIndent;
    this.first = false;
    return this;
  }

  /** The bytes written so far (a view, valid until the next write after reset()). */
  view(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  text(): string {
    return this.buf.toString('utf8', 0, this.length);
  }

  openObject(): void {
    this.byte(0x7b);
    this.indent += 2;
    this.first = true;
  }

  closeObject(): void {
    this.close(0x7d);
  }

  openArray(): void {
    this.byte(0x5b);
    this.indent += 2;
    this.first = true;
  }

  closeArray(): void {
    this.close(0x5d);
  }

  /** Starts an object member; `key` comes from jsonKey(). The value follows. */
  key(key: JsonKey): void {
    // Separator, newline, indent and key in one native copy: most of a report's bytes are these.
    const seg = this.first ? key.opening(this.indent) : key.after(this.indent);
    this.first = false;
    this.ensure(seg.length);
    this.buf.set(seg, this.length);
    this.length += seg.length;
  }

  /** Starts an array element. The value follows. */
  element(): void {
    this.separate();
  }

  null(): void {
    this.ascii('null');
  }

  bool(b: boolean): void {
    this.ascii(b ? 'true' : 'false');
  }

  /** A number as JSON.stringify writes it (non-finite numbers are null). */
  number(n: number): void {
    // -0 takes the integer path too: JSON.stringify writes it as 0.
    if ((n | 0) === n && n >= 0) this.uint(n);
    else if (Number.isSafeInteger(n) && n >= 0) this.bigUint(n);
    else this.ascii(Number.isFinite(n) ? String(n) : 'null');
  }

  /**
   * Epoch seconds rounded to microseconds, as `number(roundTs(t))` would write them. The digits
   * come from the integer microseconds: for 0 <= t < 2^32 the spacing of doubles is under a
   * microsecond, so the shortest decimal that reads back as roundTs(t) is exactly those digits
   * with trailing zeros dropped.
   */
  ts(t: number): void {
    const us = Math.round(t * 1e6);
    if (!(t >= 0 && t < TS_FAST_LIMIT)) {
      this.number(us / 1e6);
      return;
    }
    const sec = Math.floor(us / 1e6);
    let frac = (us - sec * 1e6) | 0;
    this.uint(sec);
    if (frac === 0) return;
    let digits = 6;
    for (let q = (frac / 10) | 0; frac === q * 10; q = (frac / 10) | 0) {
      frac = q;
      digits--;
    }
    this.ensure(7);
    const buf = this.buf;
    buf[this.length] = DOT;
    const end = this.length + 1 + digits;
    for (let p = end - 1; p > this.length; p--) {
      const q = (frac / 10) | 0;
      buf[p] = ZERO + frac - q * 10;
      frac = q;
    }
    this.length = end;
  }

  /** A string as JSON.stringify writes it. */
  string(s: string): void {
    const n = s.length;
    this.ensure(n + 2);
    if (n >= NATIVE_STRING && !NEEDS_ESCAPE.test(s)) {
      // Nothing to escape: one native copy of the characters.
      const buf = this.buf;
      buf[this.length] = QUOTE;
      const end = this.length + 1 + buf.latin1Write(s, this.length + 1);
      buf[end] = QUOTE;
      this.length = end + 1;
      return;
    }
    let buf = this.buf;
    const start = this.length;
    let p = start;
    buf[p++] = QUOTE;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x20 && c <= 0x7f && c !== QUOTE && c !== BACKSLASH) {
        buf[p++] = c;
        continue;
      }
      if (c > 0x7f) {
        // Non-ASCII: the rare path, through JSON.stringify (lone surrogates) and UTF-8.
        this.length = start;
        this.utf8(JSON.stringify(s));
        return;
      }
      // An escape (at most 6 bytes for this character), the rest still needing a byte each.
      this.length = p;
      this.ensure(6 + (n - i) + 1);
      buf = this.buf;
      buf[p++] = BACKSLASH;
      const short = SHORT_ESCAPES[c]!;
      if (short !== 0) {
        buf[p++] = short;
      } else {
        buf[p++] = 0x75; // u
        buf[p++] = ZERO;
        buf[p++] = ZERO;
        buf[p++] = HEX[c >> 4]!;
        buf[p++] = HEX[c & 15]!;
      }
    }
    buf[p++] = QUOTE;
    this.length = p;
  }

  /** Any JSON value (plain objects, arrays, strings, numbers, booleans, null), as JSON.stringify writes it. */
  value(x: unknown): void {
    if (x === null) return this.null();
    switch (typeof x) {
      case 'string':
        return this.string(x);
      case 'number':
        return this.number(x);
      case 'boolean':
        return this.bool(x);
      case 'object':
        break;
      default:
        return this.null(); // undefined and functions, in arrays
    }
    if (Array.isArray(x)) {
      if (x.length === 0) return this.ascii('[]');
      this.openArray();
      for (const v of x) {
        this.element();
        this.value(v);
      }
      this.closeArray();
      return;
    }
    const o = x as Record<string, unknown>;
    this.openObject();
    for (const k of Object.keys(o)) {
      const v = o[k];
      if (v === undefined || typeof v === 'function') continue;
      this.key(jsonKey(k));
      this.value(v);
    }
    this.closeObject();
  }

  /** An object member whose value may be left out: undefined is skipped, as JSON.stringify does. */
  member(key: JsonKey, x: unknown): void {
    if (x === undefined) return;
    this.key(key);
    this.value(x);
  }

  /** member() for a value that is usually a string or null (the common case is not dispatched on type). */
  stringMember(key: JsonKey, x: string | null | undefined): void {
    if (typeof x === 'string') {
      this.key(key);
      this.string(x);
    } else {
      this.member(key, x);
    }
  }

  /** member() for a value that is usually a number or null. */
  numberMember(key: JsonKey, x: number | null | undefined): void {
    if (typeof x === 'number') {
      this.key(key);
      this.number(x);
    } else {
      this.member(key, x);
    }
  }

  private close(bracket: number): void {
    this.indent -= 2;
    if (!this.first) this.newline();
    this.byte(bracket);
    this.first = false;
  }

  private separate(): void {
    if (this.first) this.first = false;
    else this.byte(COMMA);
    this.newline();
  }

  private newline(): void {
    const seg = newlineIndent(this.indent);
    this.ensure(seg.length);
    this.buf.set(seg, this.length);
    this.length += seg.length;
  }

  private byte(b: number): void {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
  }

  private uint(n: number): void {
    if (n >= 0x80000000) {
      this.bigUint(n);
      return;
    }
    // Below 2^31 the digits come from int32 arithmetic, two at a time.
    let x = n | 0;
    const digits = digitCount(x);
    this.ensure(digits);
    const buf = this.buf;
    let p = this.length + digits;
    this.length = p;
    while (x >= 100) {
      const q = (x / 100) | 0;
      const r = (x - q * 100) << 1;
      buf[--p] = DIGIT_PAIRS[r + 1]!;
      buf[--p] = DIGIT_PAIRS[r]!;
      x = q;
    }
    if (x >= 10) {
      buf[--p] = DIGIT_PAIRS[(x << 1) + 1]!;
      buf[--p] = DIGIT_PAIRS[x << 1]!;
    } else {
      buf[--p] = ZERO + x;
    }
  }

  private bigUint(n: number): void {
    let digits = 1;
    for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
    this.ensure(digits);
    const buf = this.buf;
    const end = this.length + digits;
    for (let p = end - 1; p >= this.length; p--) {
      buf[p] = ZERO + (n % 10);
      n = Math.floor(n / 10);
    }
    this.length = end;
  }

  private ascii(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.length;
    for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.length = p;
  }

  private utf8(s: string): void {
    this.ensure(s.length * 3);
    this.length += this.buf.write(s, this.length, "utf8");
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

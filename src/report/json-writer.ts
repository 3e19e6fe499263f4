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

/** Timestamps below 2^32 s written from their integer microseconds give String(roundTs(t)) (see writeTs). */
const TS_FAST_LIMIT = 2 ** 32;

/*
 * Separators, newlines, indents and keys are most of a report's bytes, and the same few
 * sequences over and over: they are kept per indent as little-endian doubles and stored 8 bytes
 * at a time through a DataView (a byte at a time they cost several times more). A store may
 * run up to 7 bytes past the sequence, into room ensure() made; later bytes overwrite them.
 */

/** A byte sequence of `length` bytes, as the little-endian doubles that store it 8 bytes at a time. */
interface Run {
  readonly length: number;
  readonly words: Float64Array;
}

/** Indents deeper than this (nesting no report has) are written a byte at a time, not cached. */
const MAX_CACHED_INDENT = 64;

function run(bytes: Buffer): Run {
  const padded = Buffer.alloc(Math.ceil(bytes.length / 8) * 8);
  bytes.copy(padded);
  const words = new Float64Array(padded.length / 8);
  for (let i = 0; i < words.length; i++) {
    const w = padded.readDoubleLE(i * 8);
    // A NaN's payload bits may not survive a store. Runs are UTF-8 text, which never makes one: that
    // would take a byte of 0xf0 or more followed by 0x7f or 0xff.
    if (Number.isNaN(w)) throw new Error(`internal: JSON run ${JSON.stringify(bytes.toString('latin1'))} is not UTF-8 text`);
    words[i] = w;
  }
  return { length: bytes.length, words };
}

/** `prefix`, a newline, `indent` spaces, then `tail`. */
function lineRun(prefix: number | null, indent: number, tail: Buffer | null): Run {
  const bytes = Buffer.alloc((prefix === null ? 0 : 1) + 1 + indent + (tail === null ? 0 : tail.length), SPACE);
  let p = 0;
  if (prefix !== null) bytes[p++] = prefix;
  bytes[p] = NL;
  tail?.copy(bytes, p + 1 + indent);
  return run(bytes);
}

/** The run at `cache[indent * 2 + variant]`, made once (deeper indents than any report has are not kept). */
function cachedRun(cache: (Run | undefined)[], indent: number, variant: 0 | 1, prefix: number | null, tail: Buffer | null): Run {
  if (indent > MAX_CACHED_INDENT) return lineRun(prefix, indent, tail);
  return (cache[indent * 2 + variant] ??= lineRun(prefix, indent, tail));
}

/** `"name": ` for object members, with its runs per indent (see jsonKey). */
export class JsonKey {
  private readonly runs: (Run | undefined)[] = [];

  constructor(readonly bytes: Buffer) {}

  /** A comma (unless first), a newline, the indent, and the key. */
  run(indent: number, first: boolean): Run {
    return first ? cachedRun(this.runs, indent, 0, null, this.bytes) : cachedRun(this.runs, indent, 1, COMMA, this.bytes);
  }
}

/** A comma (unless first), a newline and the indent, before an array element. */
const ELEMENT_RUNS: (Run | undefined)[] = [];
/** A newline, the indent and a closing bracket. */
const CLOSE_RUNS: (Run | undefined)[] = [];
const CLOSE_OBJECT = Buffer.from('}');
const CLOSE_ARRAY = Buffer.from(']');

const keyCache = new Map<string, JsonKey>();

/** `"name": ` for member() and key(), computed once per name. */
export function jsonKey(name: string): JsonKey {
  let k = keyCache.get(name);
  if (k === undefined) {
    k = new JsonKey(Buffer.from(JSON.stringify(name) + ': ', 'utf8'));
    if (keyCache.size < 1024) keyCache.set(name, k);
  }
  return k;
}

export class PrettyJsonWriter {
  private buf: Buffer;
  /** Over `buf`, for the 8-byte stores of runs. */
  private dv: DataView;
  length = 0;
  private indent = 0;
  private first = false;

  constructor(initial = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(initial, 256));
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Starts over with an empty buffer; `indent` is the column of the first value's closing bracket. */
  reset(baseIndent = 0): this {
    this.length = 0;
    this.indent = baseIndent;
    this.first = false;
    return this;
  }

  /** Keeps the bytes written so far; the next value is appended after them, at `baseIndent`. */
  continueAt(baseIndent: number): this {
    this.indent = baseIndent;
    this.first = false;
    return this;
  }

  /**
   * Continues inside an array whose elements sit at `elementIndent`: the next element() writes
   * the separator a `first` element (none) or a later one (a comma) gets.
   */
  continueElements(elementIndent: number, first: boolean): this {
    this.indent = elementIndent;
    this.first = first;
    return this;
  }

  /**
   * Bytes rendered elsewhere at this position (array elements with their separators), copied as
   * they are; what follows them is not the array's first element any more.
   */
  raw(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
    this.first = false;
  }

  /** Forgets the bytes written so far (after they were saved elsewhere), keeping the indent and position. */
  drop(): void {
    this.length = 0;
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
    this.put(key.run(this.indent, this.first));
    this.first = false;
  }

  /** Starts an array element. The value follows. */
  element(): void {
    this.put(this.first ? cachedRun(ELEMENT_RUNS, this.indent, 0, null, null) : cachedRun(ELEMENT_RUNS, this.indent, 1, COMMA, null));
    this.first = false;
  }

  null(): void {
    this.ascii('null');
  }

  bool(b: boolean): void {
    this.ascii(b ? 'true' : 'false');
  }

  /** A number as JSON.stringify writes it (non-finite numbers are null). */
  number(n: number): void {
    if (Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0)) this.uint(n);
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
    if (this.first) this.byte(bracket);
    else if (bracket === 0x7d) this.put(cachedRun(CLOSE_RUNS, this.indent, 0, null, CLOSE_OBJECT));
    else this.put(cachedRun(CLOSE_RUNS, this.indent, 1, null, CLOSE_ARRAY));
    this.first = false;
  }

  private put(r: Run): void {
    this.ensure(r.length + 8);
    const p = this.length;
    const words = r.words;
    const dv = this.dv;
    for (let i = 0, at = p; i < words.length; i++, at += 8) dv.setFloat64(at, words[i]!, true);
    this.length = p + r.length;
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
    // Below 2^31 the digits come from int32 arithmetic, much cheaper than double division and modulo.
    let x = n | 0;
    let digits = 1;
    for (let m = x; m >= 10; m = (m / 10) | 0) digits++;
    this.ensure(digits);
    const buf = this.buf;
    const end = this.length + digits;
    for (let p = end - 1; p >= this.length; p--) {
      const q = (x / 10) | 0;
      buf[p] = ZERO + x - q * 10;
      x = q;
    }
    this.length = end;
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
    this.dv = new DataView(next.buffer, next.byteOffset, next.byteLength);
  }
}

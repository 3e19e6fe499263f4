/**
 * A Wireshark-compatible subset of the display-filter language: comparisons (== != < <= > >=
 * and eq ne lt le gt ge), contains, matches (~), in {…} with ranges, && || ! and and/or/not,
 * parentheses, and a bare field as an existence test. Parses to an AST; field names are
 * checked against the catalogue, and a syntax error says where, with a caret under the column.
 */
import { FILTER_FIELDS, nearestField, type FieldType } from './fields.js';

export type Literal =
  | { kind: 'number'; value: number; text: string }
  | { kind: 'string'; value: string; text: string }
  | { kind: 'address'; text: string; net: AddressNet }
  /** A bare word: a string for string fields, a number or address where it parses as one. */
  | { kind: 'word'; text: string };

export interface AddressNet {
  v6: boolean;
  /** The address as a big integer (32 or 128 bits). */
  value: bigint;
  prefix: number;
}

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export type FilterNode =
  | { kind: 'exists'; field: string }
  | { kind: 'compare'; field: string; op: CompareOp; value: Literal }
  | { kind: 'contains'; field: string; value: Literal }
  | { kind: 'matches'; field: string; regex: RegExp }
  | { kind: 'in'; field: string; items: Array<Literal | { kind: 'range'; from: Literal; to: Literal }> }
  /** `field & mask`: some bit of the mask is set. */
  | { kind: 'bits'; field: string; mask: number }
  | { kind: 'not'; node: FilterNode }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode };

export class FilterSyntaxError extends Error {
  constructor(readonly expr: string, readonly column: number, readonly reason: string) {
    super(`${reason} at column ${column + 1}`);
  }

  /** The expression, a caret under the column, and the reason: what a user sees. */
  explain(): string {
    return `${this.expr}\n${' '.repeat(this.column)}^ ${this.reason}`;
  }
}

type Tok =
  | { t: 'field'; v: string; at: number }
  | { t: 'op'; v: string; at: number }
  | { t: 'str'; v: string; at: number; raw: string }
  | { t: 'word'; v: string; at: number }
  | { t: 'end'; at: number };

const WORD_OPS: Record<string, string> = {
  eq: '==', ne: '!=', lt: '<', le: '<=', gt: '>', ge: '>=', and: '&&', or: '||', not: '!', contains: 'contains', matches: 'matches', in: 'in',
};

function lex(expr: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === ' ' || c === '\t') { i++; continue; }
    const two = expr.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||', '..'].includes(two)) { out.push({ t: 'op', v: two, at: i }); i += 2; continue; }
    if ('<>!(){},~&'.includes(c)) { out.push({ t: 'op', v: c === '~' ? 'matches' : c, at: i }); i++; continue; }
    if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < expr.length && expr[j] !== '"') {
        if (expr[j] === '\\' && j + 1 < expr.length) {
          const n = expr[j + 1]!;
          v += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
          j += 2;
        } else v += expr[j++];
      }
      if (j >= expr.length) throw new FilterSyntaxError(expr, i, 'the string is not closed with "');
      out.push({ t: 'str', v, at: i, raw: expr.slice(i, j + 1) });
      i = j + 1;
      continue;
    }
    // Fields, words, numbers and addresses (with ':' and '/') run up to a delimiter.
    let j = i;
    while (j < expr.length && !' \t()!{},<>="&|~'.includes(expr[j]!)) {
      if (expr.startsWith('..', j) && j > i && !expr.slice(i, j).includes(':')) break; // 1..5 in a set
      j++;
    }
    if (j === i) throw new FilterSyntaxError(expr, i, `unexpected "${c}"`);
    const word = expr.slice(i, j);
    const op = WORD_OPS[word.toLowerCase()];
    if (op) out.push({ t: 'op', v: op, at: i });
    else out.push({ t: /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/i.test(word) && /[a-z]/i.test(word) && !/^[0-9a-f]*:/i.test(word) ? 'field' : 'word', v: word, at: i });
    i = j;
  }
  out.push({ t: 'end', at: expr.length });
  return out;
}

/** Parse a display filter. Throws FilterSyntaxError. */
export function parseFilter(expr: string): FilterNode {
  const toks = lex(expr);
  let p = 0;
  const peek = (): Tok => toks[p]!;
  const isOp = (v: string): boolean => { const t = peek(); return t.t === 'op' && t.v === v; };
  const fail = (t: Tok, reason: string): never => { throw new FilterSyntaxError(expr, t.at, reason); };

  const fieldName = (): string => {
    const t = peek();
    if (t.t !== 'field') fail(t, t.t === 'end' ? 'a field name is missing' : `expected a field name, not "${'v' in t ? t.v : ''}"`);
    const name = (t as { v: string }).v.toLowerCase();
    if (!FILTER_FIELDS[name]) {
      const near = nearestField(name);
      fail(t, `unknown field "${(t as { v: string }).v}"${near ? `; did you mean ${near}?` : ''}`);
    }
    p++;
    return name;
  };

  const literal = (field: string): Literal => {
    const t = peek();
    p++;
    if (t.t === 'str') return { kind: 'string', value: t.v, text: t.raw };
    if (t.t === 'word' || t.t === 'field') return typed(t.v, FILTER_FIELDS[field]!.type, t);
    return fail(t, t.t === 'end' ? 'a value is missing' : `expected a value, not "${'v' in t ? t.v : ''}"`);
  };

  const typed = (text: string, type: FieldType, t: Tok): Literal => {
    if (type === 'address') {
      const net = parseAddress(text);
      if (!net) return fail(t, `"${text}" is not an IPv4 or IPv6 address (or a network like 10.0.0.0/8)`);
      return { kind: 'address', text, net };
    }
    if (type === 'number' || type === 'boolean') {
      const lower = text.toLowerCase();
      if (type === 'boolean' && (lower === 'true' || lower === 'false')) return { kind: 'number', value: lower === 'true' ? 1 : 0, text };
      const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : NaN;
      if (Number.isNaN(n)) return fail(t, `"${text}" is not a number`);
      return { kind: 'number', value: n, text };
    }
    return { kind: 'word', text };
  };

  const primary = (): FilterNode => {
    if (isOp('!')) { p++; return { kind: 'not', node: primary() }; }
    if (isOp('(')) {
      const open = peek();
      p++;
      const node = or();
      if (!isOp(')')) fail(peek().t === 'end' ? open : peek(), peek().t === 'end' ? 'this parenthesis is never closed' : 'expected ")"');
      p++;
      return node;
    }
    const field = fieldName();
    const t = peek();
    if (t.t !== 'op' || ['&&', '||', ')'].includes(t.v)) return { kind: 'exists', field };
    p++;
    switch (t.v) {
      case '==': case '!=': case '<': case '<=': case '>': case '>=':
        return { kind: 'compare', field, op: t.v as CompareOp, value: literal(field) };
      case 'contains': return { kind: 'contains', field, value: literal(field) };
      case '&': {
        const v = literal(field);
        if (v.kind !== 'number') return fail(t, '& takes a number (a bit mask such as 0x02)');
        return { kind: 'bits', field, mask: v.value };
      }
      case 'matches': {
        const v = peek();
        if (v.t !== 'str') return fail(v, 'matches takes a quoted regular expression');
        p++;
        try {
          // Wireshark's matches is case-insensitive unless the pattern says otherwise.
          return { kind: 'matches', field, regex: new RegExp((v as { v: string }).v, 'i') };
        } catch (e) {
          return fail(v, `bad regular expression: ${(e as Error).message}`);
        }
      }
      case 'in': {
        if (!isOp('{')) fail(peek(), 'in takes a set: {value, value, …}');
        p++;
        const items: Array<Literal | { kind: 'range'; from: Literal; to: Literal }> = [];
        for (;;) {
          if (peek().t === 'end') fail(peek(), 'the set is not closed with }');
          const from = literal(field);
          if (isOp('..')) { p++; items.push({ kind: 'range', from, to: literal(field) }); } else items.push(from);
          if (isOp('}')) break;
          // As in Wireshark 4: elements are separated by commas.
          if (!isOp(',')) fail(peek(), 'separate the elements of a set with commas: {a, b, c}');
          p++;
        }
        p++;
        return { kind: 'in', field, items };
      }
      default:
        return fail(t, `unexpected "${t.v}" after ${field}`);
    }
  };

  const and = (): FilterNode => {
    let left = primary();
    while (isOp('&&')) { p++; left = { kind: 'and', left, right: primary() }; }
    return left;
  };
  const or = (): FilterNode => {
    let left = and();
    while (isOp('||')) { p++; left = { kind: 'or', left, right: and() }; }
    return left;
  };

  if (peek().t === 'end') fail(peek(), 'the filter is empty');
  const node = or();
  if (peek().t !== 'end') fail(peek(), `unexpected "${'v' in peek() ? (peek() as { v: string }).v : ''}"; join conditions with && or ||`);
  return node;
}

/** "10.0.0.1", "10.0.0.0/8", "fd00::1", "fd00::/16" → a network, or null. */
export function parseAddress(text: string): AddressNet | null {
  const [addr, bits, ...rest] = text.split('/');
  if (rest.length > 0 || addr === undefined) return null;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(addr);
  let value: bigint;
  let v6: boolean;
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((x) => x > 255)) return null;
    value = parts.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
    v6 = false;
  } else {
    const v = parseIpv6(addr);
    if (v === null) return null;
    value = v;
    v6 = true;
  }
  const max = v6 ? 128 : 32;
  const prefix = bits === undefined ? max : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return null;
  return { v6, value, prefix };
}

function parseIpv6(text: string): bigint | null {
  let s = text;
  // An embedded IPv4 tail (::ffff:10.0.0.1).
  const tail = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const v4 = parseAddress(tail[2]!);
    if (!v4 || v4.v6) return null;
    s = `${tail[1]}${(v4.value >> 16n).toString(16)}:${(v4.value & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (h: string): number[] => (h === '' ? [] : h.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head.some(Number.isNaN) || rest.some(Number.isNaN)) return null;
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return null;
  const groups = [...head, ...new Array(halves.length === 2 ? missing : 0).fill(0), ...rest];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/**
 * Evaluation of a parsed display filter against a record of field values, with Wireshark's
 * semantics: a field may occur several times; `==`, `<`, `contains`, `matches` and `in` hold
 * when any occurrence does, `!=` when every occurrence differs; a comparison with an absent
 * field is false; a bare field is true when it occurs.
 */
import type { AddressNet, FilterNode, Literal } from './parse.js';
import { parseAddress } from './parse.js';
import { FILTER_FIELDS } from './fields.js';

/** An address as a number of 32 (IPv4) or 128 (IPv6) bits. */
export interface AddressValue {
  v6: boolean;
  value: bigint;
}

export type FieldValue = number | string | AddressValue;

/** The values a record has for a field; an empty list when the field is absent. */
export interface FieldRecord {
  values(field: string): readonly FieldValue[];
}

export type Predicate = (r: FieldRecord) => boolean;

export function compileFilter(node: FilterNode): Predicate {
  switch (node.kind) {
    case 'and': { const a = compileFilter(node.left); const b = compileFilter(node.right); return (r) => a(r) && b(r); }
    case 'or': { const a = compileFilter(node.left); const b = compileFilter(node.right); return (r) => a(r) || b(r); }
    case 'not': { const a = compileFilter(node.node); return (r) => !a(r); }
    case 'exists': return (r) => r.values(node.field).length > 0;
    case 'bits': return (r) => r.values(node.field).some((v) => typeof v === 'number' && (v & node.mask) !== 0);
    case 'contains': {
      const needle = literalText(node.value);
      return (r) => r.values(node.field).some((v) => valueText(v).includes(needle));
    }
    case 'matches': {
      const re = node.regex;
      return (r) => r.values(node.field).some((v) => re.test(valueText(v)));
    }
    case 'in': {
      const tests = node.items.map((item) => (item.kind === 'range'
        ? rangeTest(node.field, item.from, item.to)
        : equalTest(node.field, item)));
      return (r) => r.values(node.field).some((v) => tests.some((t) => t(v)));
    }
    case 'compare': {
      const eq = equalTest(node.field, node.value);
      if (node.op === '==') return (r) => r.values(node.field).some(eq);
      if (node.op === '!=') return (r) => { const vs = r.values(node.field); return vs.length > 0 && vs.every((v) => !eq(v)); };
      const cmp = orderTest(node.field, node.value);
      const ok = node.op === '<' ? (c: number) => c < 0 : node.op === '<=' ? (c: number) => c <= 0 : node.op === '>' ? (c: number) => c > 0 : (c: number) => c >= 0;
      return (r) => r.values(node.field).some((v) => { const c = cmp(v); return c !== null && ok(c); });
    }
  }
}

function literalText(l: Literal): string {
  return l.kind === 'string' ? l.value : l.text;
}

function valueText(v: FieldValue): string {
  return typeof v === 'object' ? addressText(v) : String(v);
}

function addressText(a: AddressValue): string {
  if (!a.v6) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((a.value >> s) & 0xffffn).toString(16));
  return groups.join(':');
}

function netOf(field: string, l: Literal): AddressNet | null {
  if (l.kind === 'address') return l.net;
  if (FILTER_FIELDS[field]?.type === 'address') return parseAddress(literalText(l));
  return null;
}

function inNet(v: FieldValue, net: AddressNet): boolean {
  if (typeof v !== 'object' || v.v6 !== net.v6) return false;
  const shift = BigInt((net.v6 ? 128 : 32) - net.prefix);
  return (v.value >> shift) === (net.value >> shift);
}

function equalTest(field: string, l: Literal): (v: FieldValue) => boolean {
  const net = netOf(field, l);
  if (net) return (v) => inNet(v, net);
  if (l.kind === 'number') return (v) => v === l.value || (typeof v === 'string' && v === l.text);
  const text = literalText(l);
  const num = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : null;
  return (v) => (typeof v === 'number' ? num !== null && v === num : typeof v === 'string' && v === text);
}

function orderTest(field: string, l: Literal): (v: FieldValue) => number | null {
  const net = netOf(field, l);
  if (net) {
    return (v) => (typeof v === 'object' && v.v6 === net.v6 ? (v.value < net.value ? -1 : v.value > net.value ? 1 : 0) : null);
  }
  const text = literalText(l);
  const num = l.kind === 'number' ? l.value : /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : null;
  return (v) => {
    if (typeof v === 'number') return num === null ? null : v - num;
    if (typeof v === 'string') return v < text ? -1 : v > text ? 1 : 0;
    return null;
  };
}

function rangeTest(field: string, from: Literal, to: Literal): (v: FieldValue) => boolean {
  const lo = orderTest(field, from);
  const hi = orderTest(field, to);
  return (v) => { const a = lo(v); const b = hi(v); return a !== null && b !== null && a >= 0 && b <= 0; };
}

/** An address field value from its text (IPv4-mapped IPv6 is written as IPv4 by the model). */
export function addressValue(ip: string): AddressValue | null {
  const net = parseAddress(ip);
  return net ? { v6: net.v6, value: net.value } : null;
}

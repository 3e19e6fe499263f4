import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Dissection, Field } from '../../src/dissect/field.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const CAPTURES = join(ROOT, 'captures');
export const EXPECTED = join(CAPTURES, 'expected');

const CAPTURE_NAME = /\.(pcap|pcapng|cap)(\.gz)?$/;

/** Every capture under captures/ (recursively), as paths relative to captures/. */
export function listCaptures(dir = CAPTURES): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (p === EXPECTED) continue;
    if (statSync(p).isDirectory()) out.push(...listCaptures(p));
    else if (CAPTURE_NAME.test(name)) out.push(relative(CAPTURES, p));
  }
  return out;
}

/** One row of captures/expected/<capture>.tsv, written by captures/tshark-fields.sh. */
export type TsharkRow = Record<string, string>;

export function expectedPath(rel: string): string {
  return join(EXPECTED, `${rel}.tsv`);
}

export function loadExpected(rel: string): Map<number, TsharkRow> | null {
  const p = expectedPath(rel);
  if (!existsSync(p)) return null;
  const lines = readFileSync(p, 'utf8').split('\n').filter((l) => l.length > 0);
  const header = lines[0]!.split('\t');
  const rows = new Map<number, TsharkRow>();
  for (const line of lines.slice(1)) {
    const cols = line.split('\t');
    const row: TsharkRow = {};
    header.forEach((h, i) => { row[h] = cols[i] ?? ''; });
    rows.set(Number(row['frame.number']), row);
  }
  return rows;
}

/** tshark joins repeated fields (one per FTP line, an ICMP error's inner header) with 0x1f. */
export const SEP = '\x1f';

export function first(v: string | undefined): string {
  return (v ?? '').split(SEP)[0]!;
}

export function all(v: string | undefined): string[] {
  return v ? v.split(SEP) : [];
}

/** tshark's checksum status numbers (0 Bad, 1 Good, 2 Unverified) as ftpscope spells them. */
export const TSHARK_STATUS: Record<string, string> = { '0': 'bad', '1': 'good', '2': 'unverified' };

/** First field with this name anywhere in the dissection (depth first, layer order). */
export function findField(d: Dissection, name: string): Field | undefined {
  const walk = (fs: Field[]): Field | undefined => {
    for (const f of fs) {
      if (f.name === name) return f;
      const c = f.children && walk(f.children);
      if (c) return c;
    }
    return undefined;
  };
  for (const l of d.layers) {
    const f = walk(l.fields);
    if (f) return f;
  }
  return undefined;
}

/** Wireshark writes ::ffff:a.b.c.d; ftpscope's fast path (and the report contract) writes a.b.c.d. */
export function unmapped(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

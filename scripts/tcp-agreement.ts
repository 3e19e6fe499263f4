/**
 * How far ftpscope's per-packet TCP analysis agrees with tshark's, measured over every capture under
 * captures/ that has a captures/expected/<capture>.analysis.tsv (written by captures/tcp-analysis.sh).
 *
 *   node dist/scripts/tcp-agreement.js [--disagreements]
 *
 * Per flag: agreement = frames flagged by both / frames flagged by either (the measure), over the
 * whole corpus. Per value: frames where both show the same value (RTTs within 1 µs) / frames where either
 * shows one. The test test/tcp/analysis-agreement.test.ts runs the same measure and holds it to the
 * targets and to the list of known disagreements in docs/tcp-analysis-agreement.md.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { streamPackets } from '../src/analysis/sources/packets.js';
import type { PacketFact } from '../src/model/packet-facts.js';
import type { PacketFieldName } from '../src/model/packet-fields.js';
import { packetFieldValue } from '../src/report/packet-fields.js';

/** The repository: two levels up from dist/scripts/, one from scripts/ (the TypeScript source, in tests). */
export const ROOT = [new URL('../../', import.meta.url).pathname, new URL('../', import.meta.url).pathname]
  .find((p) => existsSync(join(p, 'captures', 'expected'))) ?? process.cwd();

/** The analysis flags compared, as Wireshark names them. */
export const FLAG_FIELDS = [
  'tcp.analysis.retransmission', 'tcp.analysis.fast_retransmission', 'tcp.analysis.spurious_retransmission',
  'tcp.analysis.out_of_order', 'tcp.analysis.lost_segment', 'tcp.analysis.ack_lost_segment', 'tcp.analysis.duplicate_ack',
  'tcp.analysis.zero_window', 'tcp.analysis.zero_window_probe', 'tcp.analysis.zero_window_probe_ack',
  'tcp.analysis.window_full', 'tcp.analysis.window_update', 'tcp.analysis.keep_alive', 'tcp.analysis.keep_alive_ack',
  'tcp.analysis.reused_ports',
] as const satisfies readonly PacketFieldName[];

/** The values compared; times within TIME_TOLERANCE seconds count as equal. */
export const VALUE_FIELDS = [
  'tcp.nxtseq', 'tcp.window_size', 'tcp.analysis.acks_frame', 'tcp.analysis.ack_rtt', 'tcp.analysis.initial_rtt',
  'tcp.analysis.bytes_in_flight', 'tcp.analysis.duplicate_ack_num', 'tcp.analysis.duplicate_ack_frame',
  'tcp.analysis.rto', 'tcp.analysis.rto_frame',
] as const satisfies readonly PacketFieldName[];

const TIME_FIELDS = new Set<string>(['tcp.analysis.ack_rtt', 'tcp.analysis.initial_rtt', 'tcp.analysis.rto']);
export const TIME_TOLERANCE = 1e-6;

export interface FieldCount {
  field: string;
  /** Frames where both show it (flags) / show the same value (values). */
  both: number;
  /** Frames where either shows it. */
  either: number;
  ftpscopeOnly: number;
  tsharkOnly: number;
  /** Values both show but differently. */
  different: number;
}

export interface Disagreement {
  capture: string;
  frame: number;
  field: string;
  ftpscope: string;
  tshark: string;
}

export interface Agreement {
  captures: number;
  frames: number;
  fields: FieldCount[];
  disagreements: Disagreement[];
}

const CAPTURE_NAME = /\.(pcap|pcapng|cap)(\.gz)?$/;

/** Captures with an .analysis.tsv, as paths relative to captures/. */
export function analysisCaptures(root = ROOT): string[] {
  const captures = join(root, 'captures');
  const expected = join(captures, 'expected');
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (p === expected) continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (CAPTURE_NAME.test(name) && existsSync(join(expected, `${relative(captures, p)}.analysis.tsv`))) out.push(relative(captures, p));
    }
  };
  walk(captures);
  return out;
}

export function readAnalysisTsv(path: string): Map<number, Record<string, string>> {
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const header = lines[0]!.split('\t');
  const rows = new Map<number, Record<string, string>>();
  for (const line of lines.slice(1)) {
    const cols = line.split('\t');
    const row: Record<string, string> = {};
    header.forEach((h, i) => { row[h] = cols[i] ?? ''; });
    rows.set(Number(row['frame.number']), row);
  }
  return rows;
}

/** ftpscope's facts for every TCP packet of a capture, by frame. */
export async function analyzeCapture(path: string): Promise<Map<number, PacketFact>> {
  const facts = new Map<number, PacketFact>();
  await streamPackets({ files: [path], merged: false, name: path, ignored: [] }, { onPacket: (f) => { facts.set(f.frame, f); } });
  return facts;
}

function valueText(field: string, v: unknown): string {
  if (v === null || v === undefined) return '';
  if (TIME_FIELDS.has(field)) return (v as number).toFixed(9);
  return String(v);
}

export async function measureAgreement(root = ROOT, captures = analysisCaptures(root)): Promise<Agreement> {
  const counts = new Map<string, FieldCount>();
  for (const f of [...FLAG_FIELDS, ...VALUE_FIELDS]) counts.set(f, { field: f, both: 0, either: 0, ftpscopeOnly: 0, tsharkOnly: 0, different: 0 });
  const disagreements: Disagreement[] = [];
  let frames = 0;
  for (const rel of captures) {
    const rows = readAnalysisTsv(join(root, 'captures', 'expected', `${rel}.analysis.tsv`));
    const facts = await analyzeCapture(join(root, 'captures', rel));
    const ctx = { firstTs: 0 };
    for (const [frame, row] of rows) {
      const fact = facts.get(frame) ?? null;
      if (row['tcp.stream'] === '' && fact === null) continue;
      frames++;
      for (const field of FLAG_FIELDS) {
        const ours = fact !== null && packetFieldValue(fact, field, ctx) === true;
        const theirs = (row[field] ?? '') !== '';
        if (!ours && !theirs) continue;
        const c = counts.get(field)!;
        c.either++;
        if (ours && theirs) c.both++;
        else {
          if (ours) c.ftpscopeOnly++;
          else c.tsharkOnly++;
          disagreements.push({ capture: rel, frame, field, ftpscope: ours ? '1' : '', tshark: theirs ? '1' : '' });
        }
      }
      for (const field of VALUE_FIELDS) {
        const v = fact === null ? null : packetFieldValue(fact, field, ctx);
        const ours = valueText(field, v);
        const theirs = row[field] ?? '';
        if (ours === '' && theirs === '') continue;
        const c = counts.get(field)!;
        c.either++;
        let same = ours === theirs;
        if (!same && ours !== '' && theirs !== '' && TIME_FIELDS.has(field)) same = Math.abs(Number(ours) - Number(theirs)) <= TIME_TOLERANCE + 1e-12;
        if (same) {
          c.both++;
          continue;
        }
        if (ours === '') c.tsharkOnly++;
        else if (theirs === '') c.ftpscopeOnly++;
        else c.different++;
        disagreements.push({ capture: rel, frame, field, ftpscope: ours, tshark: theirs });
      }
    }
  }
  return { captures: captures.length, frames, fields: [...counts.values()], disagreements };
}

export function ratio(c: FieldCount): number {
  return c.either === 0 ? 1 : c.both / c.either;
}

/** The per-field table, as in the README and docs/tcp-analysis-agreement.md. */
export function agreementTable(a: Agreement): string {
  const lines = [
    `${a.frames} TCP frames in ${a.captures} captures; agreement = frames where both agree / frames where either shows the field`,
    '',
    '| field | both | either | ftpscope only | tshark only | values differ | agreement |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of a.fields) {
    const pct = c.either === 0 ? 'n/a (never set)' : `${(100 * ratio(c)).toFixed(2)}%`;
    lines.push(`| \`${c.field}\` | ${c.both} | ${c.either} | ${c.ftpscopeOnly} | ${c.tsharkOnly} | ${c.different} | ${pct} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const a = await measureAgreement();
  console.log(agreementTable(a));
  if (process.argv.includes('--disagreements')) {
    console.log('');
    for (const d of a.disagreements) console.log([d.capture, d.frame, d.field, d.ftpscope, d.tshark].join('\t'));
  }
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}

/**
 * Loads the control-stream fixtures made by fixtures/make-fixtures.sh: the reassembled bytes of each
 * direction, tshark's FTP fields per frame, and the zeek / suricata-verify expected outputs.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineSplitter, type LineSplitterOptions, type SplitLine } from '../../src/ftp/lines.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** tshark -T json -e … output for one frame; every field is a list of strings. */
export type TsharkFrame = Record<string, string[] | undefined>;

export interface ControlStream {
  /** Fixture folder, e.g. "zeek-ipv4". */
  capture: string;
  stream: number;
  c2s: Buffer;
  s2c: Buffer;
  tshark: TsharkFrame[];
}

export function controlStreams(): ControlStream[] {
  const out: ControlStream[] = [];
  for (const entry of readdirSync(FIXTURES, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory()) continue;
    const capture = entry.name;
    const dir = join(FIXTURES, capture);
    for (const f of readdirSync(dir).sort()) {
      const m = /^stream(\d+)\.c2s\.bin$/.exec(f);
      if (!m) continue;
      const stream = Number(m[1]);
      out.push({
        capture,
        stream,
        c2s: readFileSync(join(dir, f)),
        s2c: readFileSync(join(dir, `stream${stream}.s2c.bin`)),
        tshark: JSON.parse(readFileSync(join(dir, `stream${stream}.tshark.json`), 'utf8')) as TsharkFrame[],
      });
    }
  }
  return out;
}

export function fixtureText(capture: string, file: string): string {
  return readFileSync(join(FIXTURES, capture, file), 'utf8');
}

export function fixtureExists(capture: string, file: string): boolean {
  return existsSync(join(FIXTURES, capture, file));
}

/** Rows of a zeek TSV log keyed by its #fields names; '-' becomes null. */
export function zeekLog(capture: string, file = 'zeek-ftp.log'): Record<string, string | null>[] {
  const lines = fixtureText(capture, file).split('\n');
  const fields = lines.find((l) => l.startsWith('#fields\t'))!.split('\t').slice(1);
  return lines
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const cols = l.split('\t');
      const row: Record<string, string | null> = {};
      fields.forEach((f, i) => (row[f] = cols[i] === '-' ? null : (cols[i] ?? null)));
      return row;
    });
}

/**
 * The part of the control stream that is FTP text: after AUTH TLS is accepted (234), the client's
 * next bytes and the server's bytes after the 234 line are TLS.
 */
export function plainPart(bytes: Buffer, dir: 'c2s' | 's2c'): Buffer {
  const marker = dir === 'c2s' ? /^AUTH (TLS|SSL)\r?\n/im : /^234 .*\r?\n/m;
  const m = marker.exec(bytes.toString('latin1'));
  return m ? bytes.subarray(0, m.index + m[0].length) : bytes;
}

/** All lines of a byte stream, fed in one push, then flushed. */
export function splitAll(bytes: Buffer, opts?: LineSplitterOptions): SplitLine[] {
  const s = new LineSplitter(opts);
  const lines = s.push(bytes);
  const last = s.flush();
  if (last) lines.push(last);
  return lines;
}

/** The same, fed in pieces cut at the given offsets. */
export function splitInPieces(bytes: Buffer, cuts: number[], opts?: LineSplitterOptions): SplitLine[] {
  const s = new LineSplitter(opts);
  const lines: SplitLine[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    lines.push(...s.push(bytes.subarray(at, c)));
    at = c;
  }
  const last = s.flush();
  if (last) lines.push(last);
  return lines;
}

/** Where each line starts in the stream (offsets of raw bytes). */
export function lineOffsets(lines: SplitLine[]): number[] {
  const out: number[] = [];
  let at = 0;
  for (const l of lines) {
    out.push(at);
    at += l.raw!.length;
  }
  return out;
}

/** tshark frames of one direction with their offset in that direction's byte stream. */
export function framesAt(cs: ControlStream, dir: 'c2s' | 's2c'): { offset: number; frame: TsharkFrame }[] {
  const frames = cs.tshark.filter((f) => {
    const fromServer = f['tcp.srcport']?.[0] === '21';
    return (dir === 's2c') === fromServer && Number(f['tcp.len']?.[0] ?? 0) > 0;
  });
  if (frames.length === 0) return [];
  const base = Math.min(...frames.map((f) => Number(f['tcp.seq']![0])));
  return frames.map((frame) => ({ offset: Number(frame['tcp.seq']![0]) - base, frame }));
}

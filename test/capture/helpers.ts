import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCapture, type ReadOptions } from '../../src/capture/open.js';
import type { CaptureInfo, PacketRecord } from '../../src/capture/types.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const EXPECTED_DIR = join(ROOT, 'test', 'capture', 'expected');

/** One frame as tshark reported it (test/capture/expected/*.frames.tsv). */
export interface ExpectedFrame {
  frame: number;
  /** null when the packet has no timestamp (simple packet blocks). */
  time: number | null;
  caplen: number;
  wirelen: number;
  interfaceId: number | null;
  comment: string | null;
}

export interface ExpectedCapture {
  /** Path relative to the repository root, e.g. captures/public/zeek/ipv4.pcap. */
  capture: string;
  frames: ExpectedFrame[];
}

export function loadExpected(): ExpectedCapture[] {
  return readdirSync(EXPECTED_DIR)
    .filter((f) => f.endsWith('.frames.tsv'))
    .sort()
    .map((f) => {
      const lines = readFileSync(join(EXPECTED_DIR, f), 'utf8').split('\n').filter((l) => l !== '');
      const capture = lines[0]!.replace(/^# /, '');
      const frames = lines.slice(1).map((l) => {
        const [frame, time, caplen, wirelen, ifid, comment] = l.split('\t');
        return {
          frame: Number(frame),
          time: time ? Number(time) : null,
          caplen: Number(caplen),
          wirelen: Number(wirelen),
          interfaceId: ifid ? Number(ifid) : null,
          comment: comment ? comment : null,
        };
      });
      return { capture, frames };
    });
}

export interface SeenPacket {
  frame: number;
  ts: number;
  caplen: number;
  wirelen: number;
  interfaceId: number;
  linkType: number;
  fileOffset: number;
  comment: string | null;
}

export function snapshot(rec: PacketRecord): SeenPacket {
  return {
    frame: rec.frame,
    ts: rec.ts,
    caplen: rec.caplen,
    wirelen: rec.wirelen,
    interfaceId: rec.interfaceId,
    linkType: rec.linkType,
    fileOffset: rec.fileOffset,
    comment: rec.comment ?? null,
  };
}

export async function readAll(path: string, opts?: ReadOptions): Promise<{ info: CaptureInfo; packets: SeenPacket[] }> {
  const packets: SeenPacket[] = [];
  const info = await readCapture(path, (r) => packets.push(snapshot(r)), opts);
  return { info, packets };
}

export function capturePath(rel: string): string {
  return join(ROOT, rel);
}

export function exists(rel: string): boolean {
  return existsSync(join(ROOT, rel));
}

/** Small deterministic PRNG (mulberry32) so robustness runs are repeatable. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FtpscopeError } from '../../src/errors.js';
import { readCapture } from '../../src/capture/open.js';
import { capturePath, loadExpected, prng, readAll, snapshot, type SeenPacket } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'ftpscope-robust-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Every uncompressed bundled capture (gzip is damaged separately below).
const captures = loadExpected().map((e) => e.capture).filter((c) => !c.endsWith('.gz'));

/** Offsets where a record or block ends (a cut there leaves a valid, shorter capture). */
function boundaries(bytes: Buffer, format: string): Set<number> {
  const out = new Set<number>();
  if (format === 'pcap') {
    const le = [0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34].includes(bytes.readUInt32LE(0));
    const hl = recordHeaderLength(bytes);
    for (let p = 24; p <= bytes.length; ) {
      out.add(p);
      if (p + hl > bytes.length) break;
      p += hl + (le ? bytes.readUInt32LE(p + 8) : bytes.readUInt32BE(p + 8));
    }
    return out;
  }
  let le = true;
  for (let p = 0; p + 12 <= bytes.length; ) {
    if (bytes.readUInt32LE(p) === 0x0a0d0d0a) le = bytes.readUInt32LE(p + 8) === 0x1a2b3c4d;
    p += le ? bytes.readUInt32LE(p + 4) : bytes.readUInt32BE(p + 4);
    out.add(p);
  }
  return out;
}

/** 24 for Kuznetzov's patched pcap (magic a1b2cd34), else 16. */
function recordHeaderLength(bytes: Buffer): number {
  return bytes.readUInt32LE(0) === 0xa1b2cd34 || bytes.readUInt32BE(0) === 0xa1b2cd34 ? 24 : 16;
}

/** End offset of each packet's record or block, read from the file itself. */
function recordEnds(bytes: Buffer, packets: SeenPacket[], format: string): number[] {
  return packets.map((p) => {
    if (format === 'pcap') return p.fileOffset + recordHeaderLength(bytes) + p.caplen;
    const le = bytes.readUInt32LE(p.fileOffset + 4);
    const be = bytes.readUInt32BE(p.fileOffset + 4);
    const ok = (n: number) => n >= 12 && n % 4 === 0 && p.fileOffset + n <= bytes.length;
    return p.fileOffset + (ok(le) && (!ok(be) || le <= be) ? le : be);
  });
}

async function readDamaged(bytes: Buffer, name: string): Promise<{ packets: SeenPacket[]; error: unknown; truncated: boolean; codes: string[] }> {
  const file = join(tmp, name);
  writeFileSync(file, bytes);
  const packets: SeenPacket[] = [];
  try {
    const info = await readCapture(file, (r) => packets.push(snapshot(r)));
    const codes = info.findings.map((f) => f.code).filter((c) => c !== 'unknown-link-type');
    return { packets, error: null, truncated: info.truncated, codes };
  } catch (e) {
    return { packets, error: e, truncated: true, codes: [] };
  }
}

describe.each(captures)('%s damaged', (rel) => {
  const bytes = readFileSync(capturePath(rel));
  const full = readAll(capturePath(rel));

  it('cut at many offsets: the packets before the cut, then one capture-truncated finding', async () => {
    const { info, packets } = await full;
    const ends = recordEnds(bytes, packets, info.format);
    const clean = boundaries(bytes, info.format);
    const rnd = prng(bytes.length);
    const cuts = new Set<number>();
    for (let i = 1; i < 40; i++) cuts.add(Math.floor((bytes.length * i) / 40));
    for (let i = 0; i < 20; i++) cuts.add(Math.floor(rnd() * bytes.length));
    for (const e of ends.slice(0, 5)) cuts.add(e);
    for (let c = 1; c < 40; c++) cuts.add(c);
    for (const cut of cuts) {
      if (cut <= 0 || cut >= bytes.length) continue;
      const r = await readDamaged(bytes.subarray(0, cut), `cut-${cut}`);
      const good = packets.filter((_, i) => ends[i]! <= cut);
      if (JSON.stringify(r.packets) !== JSON.stringify(good)) expect(r.packets, `cut at ${cut}`).toEqual(good);
      if (r.error) {
        expect(r.error, `cut at ${cut}`).toBeInstanceOf(FtpscopeError);
        expect((r.error as FtpscopeError).code).toBe('capture-corrupt');
        expect(good.length).toBe(0);
      } else if (clean.has(cut)) {
        // A cut exactly between records leaves a shorter, valid capture (trailing non-packet blocks aside).
        expect(r.codes.filter((c) => c === 'capture-corrupt')).toEqual([]);
      } else {
        expect(r.truncated, `cut at ${cut}`).toBe(true);
        expect(r.codes, `cut at ${cut}`).toEqual(['capture-truncated']);
      }
    }
  });

  it('random byte flips: only FtpscopeError, never a hang, the packets before the damage intact', async () => {
    const { info, packets } = await full;
    const ends = recordEnds(bytes, packets, info.format);
    const rnd = prng(0x5eed + bytes.length);
    for (let trial = 0; trial < 40; trial++) {
      const copy = Buffer.from(bytes);
      const flips = 1 + Math.floor(rnd() * 4);
      let first = copy.length;
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(rnd() * copy.length);
        copy[at] = copy[at]! ^ (1 + Math.floor(rnd() * 255));
        first = Math.min(first, at);
      }
      const r = await readDamaged(copy, `flip-${trial}`);
      if (r.error) expect(r.error, `trial ${trial}`).toBeInstanceOf(FtpscopeError);
      const before = packets.filter((_, i) => ends[i]! <= first);
      const kept = r.packets.slice(0, before.length);
      if (JSON.stringify(kept) !== JSON.stringify(before)) expect(kept, `trial ${trial}, first flip at ${first}`).toEqual(before);
      expect(r.codes.filter((c) => c === 'capture-corrupt' || c === 'capture-truncated').length).toBeLessThanOrEqual(1);
    }
  });
});

describe('damaged gzip', () => {
  const gz = readFileSync(capturePath('captures/fixtures/ipv4.pcap.gz'));

  it('a cut .gz yields the packets inflated so far and a capture-truncated warning', async () => {
    const r = await readDamaged(gz.subarray(0, Math.floor(gz.length * 0.7)), 'cut.pcap.gz');
    expect(r.error).toBeNull();
    expect(r.packets.length).toBeGreaterThan(0);
    expect(r.packets.length).toBeLessThan(95);
    expect(r.codes).toEqual(['capture-truncated']);
  });

  it('garbage inside the deflate stream is reported, never thrown past FtpscopeError', async () => {
    const rnd = prng(7);
    for (let trial = 0; trial < 30; trial++) {
      const copy = Buffer.from(gz);
      const at = 20 + Math.floor(rnd() * (copy.length - 28));
      copy[at] = copy[at]! ^ 0xff;
      const r = await readDamaged(copy, `gzflip-${trial}.gz`);
      if (r.error) {
        expect(r.error).toBeInstanceOf(FtpscopeError);
        expect((r.error as FtpscopeError).code).toBe('capture-corrupt');
      }
    }
  });
});

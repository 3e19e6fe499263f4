import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCapture, readFrame } from '../../src/capture/open.js';
import { FtpscopeError } from '../../src/errors.js';
import { capturePath } from './helpers.js';

interface Kept { frame: number; ts: number; fileOffset: number; bytes: Buffer; interfaceId: number; comment?: string }

async function keepAll(path: string): Promise<Kept[]> {
  const out: Kept[] = [];
  await readCapture(path, (r) => out.push({
    frame: r.frame, ts: r.ts, fileOffset: r.fileOffset, interfaceId: r.interfaceId, comment: r.comment,
    bytes: Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen)),
  }));
  return out;
}

describe.each([
  'captures/fixtures/ipv4-be-ns.pcap',
  'captures/fixtures/ipv4-multisection.pcapng',
  'captures/fixtures/ipv4-pb-comments.pcapng',
  'captures/fixtures/ipv4.pcap.gz',
  'captures/fixtures/ipv4-be.pcapng.gz',
])('readFrame %s', (rel) => {
  const path = capturePath(rel);

  it('returns the same packet as the streaming read, with and without the offset hint', async () => {
    const all = await keepAll(path);
    for (const want of [all[0]!, all[1]!, all[40]!, all[60]!, all[all.length - 1]!]) {
      for (const hint of [want.fileOffset, undefined]) {
        const { rec } = await readFrame(path, want.frame, hint);
        expect(rec.frame).toBe(want.frame);
        expect(rec.ts).toBe(want.ts);
        expect(rec.fileOffset).toBe(want.fileOffset);
        expect(rec.interfaceId).toBe(want.interfaceId);
        expect(rec.comment).toBe(want.comment);
        expect(rec.offset).toBe(0);
        expect(rec.buf.equals(want.bytes)).toBe(true);
      }
    }
  });

  it('says frame-not-found past the end', async () => {
    const e = await readFrame(path, 10_000).catch((x) => x);
    expect(e).toBeInstanceOf(FtpscopeError);
    expect(e.code).toBe('frame-not-found');
    expect(e.message).toMatch(/there is no frame 10000; the capture has 95 frames/);
  });
});

it('a pcap hint that points at garbage is frame-not-found, not a crash', async () => {
  const path = capturePath('captures/fixtures/ipv4-be-us.pcap');
  const size = readFileSync(path).length;
  for (const hint of [0, 25, size - 3, size + 100]) {
    const e = await readFrame(path, 3, hint).catch((x) => x);
    expect(e, `hint ${hint}`).toBeInstanceOf(FtpscopeError);
    expect(e.code).toBe('frame-not-found');
  }
});

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { FtpscopeError } from '../../src/errors.js';
import { readCapture } from '../../src/capture/open.js';
import { capturePath, prng } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'ftpscope-errors-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function file(name: string, bytes: Buffer | string): string {
  const p = join(tmp, name);
  writeFileSync(p, bytes);
  return p;
}

async function failure(path: string): Promise<FtpscopeError> {
  try {
    await readCapture(path, () => {});
  } catch (e) {
    expect(e).toBeInstanceOf(FtpscopeError);
    return e as FtpscopeError;
  }
  throw new Error(`${path} was read without error`);
}

const rnd = prng(42);
const randomBytes = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(rnd() * 256)));
randomBytes.set([0x37, 0x13, 0xfe, 0x99], 0);
const pcap = readFileSync(capturePath('captures/fixtures/ipv4-be-us.pcap'));

describe('inputs that are not captures each get their own one-line message', () => {
  it.each([
    ['missing file', () => join(tmp, 'nope.pcap'), 'file-not-found', /no such file/],
    ['directory', () => { const d = join(tmp, 'dir.pcap'); mkdirSync(d); return d; }, 'file-is-directory', /is a directory/],
    ['empty file', () => file('empty.pcap', Buffer.alloc(0)), 'file-empty', /is empty/],
    ['text file', () => file('notes.pcap', 'USER anonymous\r\nPASS guest\r\n'), 'capture-is-text', /looks like a text file, not a capture.*USER anonymous/],
    ['random bytes', () => file('random.pcap', randomBytes), 'capture-not-recognized', /unrecognized magic number 37 13 fe 99/],
    ['corrupt gzip', () => file('bad.pcap.gz', Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3]), randomBytes])), 'capture-corrupt', /gzip data is corrupt/],
    ['gzip of text', () => file('text.gz', gzipSync('hello, this is not a capture\n')), 'capture-is-text', /after gunzip\) looks like a text file/],
    ['gzip of nothing', () => file('nothing.gz', gzipSync(Buffer.alloc(0))), 'file-empty', /gzip file holding no data/],
    ['cut inside the pcap header', () => file('short.pcap', pcap.subarray(0, 20)), 'capture-corrupt', /inside the 24-byte pcap header/],
    ['a corrupt first record', () => { const b = Buffer.from(pcap); b.writeUInt32BE(0x7fffffff, 24 + 8); return file('bad-first.pcap', b); }, 'capture-corrupt', /claims 2147483647 captured bytes .* at byte 24/],
  ])('%s', async (_what, make, code, message) => {
    const e = await failure(make());
    expect(e.code).toBe(code);
    expect(e.describe()).toMatch(message);
    expect(e.describe()).not.toContain('\n');
    expect(e.hint).toBeTruthy();
  });

  it.skipIf(process.getuid?.() === 0)('permission denied (skipped as root: root reads every file)', async () => {
    const p = file('secret.pcap', pcap);
    chmodSync(p, 0o000);
    const e = await failure(p);
    expect(e.code).toBe('file-unreadable');
    expect(e.message).toMatch(/permission denied/);
  });
});

describe('damage after good packets is a finding, not an error', () => {
  it('garbage mid-file: capture-corrupt error finding with file, byte offset and what was wrong', async () => {
    const b = Buffer.from(pcap);
    // Record 11's caplen: walk 10 records of the big-endian file.
    let p = 24;
    for (let i = 0; i < 10; i++) p += 16 + b.readUInt32BE(p + 8);
    b.writeUInt32BE(0xffffff00, p + 8);
    const path = file('mid.pcap', b);
    let n = 0;
    const info = await readCapture(path, () => n++);
    expect(n).toBe(10);
    expect(info.truncated).toBe(true);
    expect(info.findings).toHaveLength(1);
    const f = info.findings[0]!;
    expect(f.code).toBe('capture-corrupt');
    expect(f.severity).toBe('error');
    expect(f.message).toContain(path);
    expect(f.message).toContain(`byte ${p}`);
    expect(f.message).toContain('claims 4294967040 captured bytes');
  });

  it('pcapng block lengths that are not a multiple of 4 are corruption', async () => {
    const b = Buffer.from(readFileSync(capturePath('captures/fixtures/ipv4.pcapng')));
    // Find the 5th EPB and break its length.
    let p = 0;
    let epbs = 0;
    while (p < b.length) {
      const type = b.readUInt32LE(p);
      if (type === 6 && ++epbs === 5) break;
      p += b.readUInt32LE(p + 4);
    }
    b.writeUInt32LE(b.readUInt32LE(p + 4) + 2, p + 4);
    let n = 0;
    const info = await readCapture(file('len.pcapng', b), () => n++);
    expect(n).toBe(4);
    expect(info.findings.map((f) => f.code)).toEqual(['capture-corrupt']);
    expect(info.findings[0]!.message).toMatch(/not a multiple of 4/);
  });
});

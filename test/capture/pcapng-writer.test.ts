import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, constants, createWriteStream, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { STAGING } from '../../src/capture/file-sink.js';
import { FtpscopeError } from '../../src/errors.js';
import { capturePath } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'ftpscope-writer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
function takesDirectIo(path: string): boolean {
  if (!constants.O_DIRECT) return false;
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_DIRECT));
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
}
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

interface Pkt { ts: number; linkType: number; bytes: Buffer; wirelen: number; comment?: string }

async function packetsOf(path: string): Promise<{ pkts: Pkt[]; comments: string[]; linkTypes: string[] }> {
  const pkts: Pkt[] = [];
  const info = await readCapture(path, (r) => pkts.push({
    ts: r.ts, linkType: r.linkType, wirelen: r.wirelen, comment: r.comment,
    bytes: Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen)),
  }));
  return { pkts, comments: info.comments, linkTypes: info.linkTypes };
}

/** Copies real captures through the writer: ipv4 (EN10MB) on interface 0, ipv6 on interface 1 in ns. */
async function writeFixture(out: string | NodeJS.WritableStream): Promise<{ src: Pkt[] }> {
  const a = (await packetsOf(capturePath('captures/public/zeek/ipv4.pcap'))).pkts;
  const b = (await packetsOf(capturePath('captures/fixtures/ipv4-snaplen60.pcap'))).pkts;
  const w = new PcapngWriter(out as string, { comment: 'written by the writer test' });
  const i0 = w.addInterface(1, { name: 'eth0' });
  const i1 = w.addInterface(1, { name: 'cut0', tsresol: 9, snaplen: 60 });
  const src: Pkt[] = [];
  a.forEach((p, i) => {
    const comment = i % 7 === 0 ? `packet ${i + 1} ✓` : undefined;
    w.writePacket(i0, p.ts, p.bytes, p.wirelen, comment);
    src.push({ ...p, comment });
  });
  for (const p of b) {
    w.writePacket(i1, p.ts, p.bytes, p.wirelen);
    src.push(p);
  }
  await w.close();
  expect(w.packets).toBe(a.length + b.length);
  expect(w.dropped).toBe(0);
  return { src };
}

describe('PcapngWriter', () => {
  it('round-trips through our reader: bytes, wire lengths, timestamps, comments', async () => {
    const path = join(tmp, 'rt.pcapng');
    const { src } = await writeFixture(path);
    const back = await packetsOf(path);
    expect(back.comments).toEqual(['written by the writer test']);
    expect(back.pkts.length).toBe(src.length);
    back.pkts.forEach((p, i) => {
      const s = src[i]!;
      expect(p.bytes.equals(s.bytes), `packet ${i + 1}`).toBe(true);
      expect(p.wirelen).toBe(s.wirelen);
      expect(Math.abs(p.ts - s.ts)).toBeLessThan(1e-6);
      expect(p.comment).toBe(s.comment);
      expect(p.linkType).toBe(1);
    });
  });

  it('writes to a fs.WriteStream as well', async () => {
    const path = join(tmp, 'stream.pcapng');
    const { src } = await writeFixture(createWriteStream(path));
    expect((await packetsOf(path)).pkts.length).toBe(src.length);
  });

  it.skipIf(!hasTshark)('is read by tshark: same frames, times, lengths, comments, interfaces', async () => {
    const path = join(tmp, 'tshark.pcapng');
    const { src } = await writeFixture(path);
    const out = execFileSync('tshark', ['-n', '-r', path, '-T', 'fields', '-E', 'separator=/t',
      '-e', 'frame.time_epoch', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'frame.interface_id', '-e', 'frame.comment'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const rows = out.trim().split('\n').map((l) => l.split('\t'));
    expect(rows.length).toBe(src.length);
    rows.forEach(([time, caplen, len, ifid, comment], i) => {
      const s = src[i]!;
      expect(Math.abs(Number(time) - s.ts)).toBeLessThan(1e-6);
      expect(Number(caplen)).toBe(s.bytes.length);
      expect(Number(len)).toBe(s.wirelen);
      expect(Number(ifid)).toBe(i < 95 ? 0 : 1);
      expect(comment || undefined).toBe(s.comment);
    });
    const capinfos = execFileSync('capinfos', [path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    expect(capinfos).toContain('written by the writer test');
    expect(capinfos).toMatch(/ftpscope 0\.1\.0/);
  });

  it('drops are in the file: an ISB per interface that lost packets, which our reader turns into a finding and tshark reads past', async () => {
    const path = join(tmp, 'isb.pcapng');
    const src = (await packetsOf(capturePath('captures/public/zeek/ipv4.pcap'))).pkts;
    const w = new PcapngWriter(path);
    const kept = w.addInterface(1, { name: 'lv-all-kept' });
    const lossy = w.addInterface(1, { name: 'lv-lossy' });
    src.forEach((p, i) => w.writePacket(i % 2 ? lossy : kept, p.ts, p.bytes, p.wirelen));
    w.setInterfaceStatistics(lossy, { received: 6 + Math.floor(src.length / 2), interfaceDropped: 6, comment: '6 packets dropped by the kernel while capturing on lv-lossy' });
    await w.close();
    const info = await readCapture(path, () => {});
    expect(info.packets).toBe(src.length);
    // Only the interface that lost packets is reported, with the count and the reason from the file.
    expect(info.findings.map((f) => [f.code, f.message])).toEqual([['capture-drops-recorded',
      `${path}: the recording says 6 packets of ${6 + Math.floor(src.length / 2)} on interface 1 were lost while it was made (6 packets dropped by the kernel while capturing on lv-lossy): expect gaps`]]);
    if (hasTshark) {
      const n = execFileSync('tshark', ['-n', '-r', path, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(n.trim().split('\n')).toHaveLength(src.length);
      expect(execFileSync('capinfos', [path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toContain('Number of stat entries = 1');
    }
  });

  it('drops of its own (the disk behind) go in the ISB too; without any, no ISB is written', async () => {
    const slow = join(tmp, 'slow.pcapng');
    const w = new PcapngWriter(slow, { overflow: 'drop', maxPendingBytes: 1 });
    const i = w.addInterface(1, { name: 'lv0' });
    const big = Buffer.alloc(1500, 7);
    // Twice the staging buffer at once: the first one staged goes to the file, then the rest waits on it and is dropped.
    const n = Math.ceil((2 * STAGING) / 1532);
    for (let k = 0; k < n; k++) w.writePacket(i, 1700000000 + k / 1000, big);
    await w.close();
    expect(w.dropped).toBeGreaterThan(0);
    const info = await readCapture(slow, () => {});
    expect(info.packets).toBe(n - w.dropped);
    expect(info.findings.map((f) => f.message)).toEqual([expect.stringContaining(`says ${w.dropped} packets of ${n} on interface 0 were lost while it was made (${w.dropped} packets not written: the disk could not keep up)`)]);
    const clean = join(tmp, 'clean.pcapng');
    await writeFixture(clean);
    expect((await readCapture(clean, () => {})).findings).toEqual([]);
  });

  it('a file (straight to the disk where O_DIRECT is allowed) holds the same bytes as a stream, also at every flush along the way', async () => {
    // Packets of every size (partial blocks carried between direct writes), with the periodic
    // flush's complete writes (the partial block through the page cache) at odd moments.
    const lengths = [60, 1514, 64294, 3, 4096, 4095, 65535, 200000, 17];
    const fill = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, k) => (k * 31 + seed) & 255));
    const path = join(tmp, 'direct.pcapng');
    const chunks: Buffer[] = [];
    const stream = new PassThrough();
    // Copied: the writer reuses a staging buffer once the stream has called back for it.
    stream.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
    const file = new PcapngWriter(path, { comment: 'same bytes' });
    const mem = new PcapngWriter(stream, { comment: 'same bytes' });
    const ids = [file, mem].map((w) => w.addInterface(1, { name: 'eth0', snaplen: 262144 }));
    const prefixes: { size: number; bytes: Buffer }[] = [];
    for (let k = 0; k < 400; k++) {
      const bytes = fill(lengths[k % lengths.length]!, k);
      [file, mem].forEach((w, i) => w.writePacket(ids[i]!, 1700000000 + k / 100, bytes, bytes.length, k % 50 === 0 ? `packet ${k}` : undefined));
      if (k % 97 === 96) {
        // What the periodic flush promises: once its writes are done, the file holds every packet so far.
        file.flush(true);
        await until(() => file.queuedBytes === 0);
        prefixes.push({ size: statSync(path).size, bytes: readFileSync(path) });
      }
    }
    await Promise.all([file.close(), mem.close()]);
    const whole = Buffer.concat(chunks);
    expect(readFileSync(path).equals(whole)).toBe(true);
    expect(prefixes.length).toBe(4);
    for (const p of prefixes) {
      expect(p.size).toBeGreaterThan(0);
      expect(p.bytes.equals(whole.subarray(0, p.size))).toBe(true);
    }
    // The first flush came after 97 packets: everything staged by then was in the file (blocks end on a block length).
    expect(prefixes[0]!.size % 4).toBe(0);
    // Where this directory's file system takes O_DIRECT, the writer used it (and the bytes above are the proof it did no harm).
    expect(file.directIo).toBe(takesDirectIo(join(tmp, 'probe')));
  });

  it('a path it cannot write is output-unwritable at once', () => {
    expect(() => new PcapngWriter(join(tmp, 'no', 'such', 'dir.pcapng'))).toThrow(FtpscopeError);
  });
});

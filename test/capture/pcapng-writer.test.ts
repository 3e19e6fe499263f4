import { execFileSync, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { FtpscopeError } from '../../src/errors.js';
import { capturePath } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'ftpscope-writer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
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

  it('a path it cannot write is output-unwritable at once', () => {
    expect(() => new PcapngWriter(join(tmp, 'no', 'such', 'dir.pcapng'))).toThrow(FtpscopeError);
  });
});

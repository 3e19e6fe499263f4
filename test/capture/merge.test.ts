/**
 * Many captures read as one (src/capture/merge.ts), against Wireshark's tools: the sets in
 * captures/multi/ were cut from real captures by editcap/tshark or written by a real tcpdump ring
 * buffer (captures/multi/make.sh, record-ring.sh); captures/expected/multi/ holds mergecap's merged
 * order read by tshark, and every file read alone by tshark.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveCaptureInputs } from '../../src/capture/inputs.js';
import { FrameMap, readCaptures, readMergedFrame } from '../../src/capture/merge.js';
import { FtpscopeError } from '../../src/errors.js';
import { ROOT } from './helpers.js';

const MULTI = join(ROOT, 'captures/multi');
const EXP = join(ROOT, 'captures/expected/multi');

/** Rows of an expected file, without its first line (the command that made it). */
function tsv(name: string): string[][] {
  return readFileSync(join(EXP, name), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
}

const us = (t: string | number): string => Number(t).toFixed(6);

interface Seen { frame: number; ts: number; len: number; caplen: number; file: number; local: number; offset: number; sha: string }

async function merge(files: string[], opts: Parameters<typeof readCaptures>[2] = {}) {
  const seen: Seen[] = [];
  const m = await readCaptures(files, (r, file, local) => {
    seen.push({ frame: r.frame, ts: r.ts, len: r.wirelen, caplen: r.caplen, file, local, offset: r.fileOffset,
      sha: createHash('sha256').update(r.buf.subarray(r.offset, r.offset + r.caplen)).digest('hex') });
  }, opts);
  return { ...m, seen };
}

const tmp = mkdtempSync(join(tmpdir(), 'mf-merge-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.each(['tour-ring', 'roles', 'ring-2121', 'ties'])('captures/multi/%s', (set) => {
  const inputs = resolveCaptureInputs([join(MULTI, set)]);
  const merged = tsv(`${set}.merged.tsv`);
  const perFile = new Map(tsv(`${set}.per-file.tsv`).map((r) => [`${r[0]}#${r[1]}`, r]));

  it('is read in mergecap\'s order: every frame with tshark\'s global number, time and lengths', async () => {
    expect(inputs.merged).toBe(true);
    const m = await merge(inputs.files);
    expect(m.seen.length).toBe(merged.length);
    for (const [i, row] of merged.entries()) {
      const s = m.seen[i]!;
      const got = [s.frame, us(s.ts), s.len, s.caplen];
      if (got.join() !== [Number(row[0]), us(row[1]!), Number(row[2]), Number(row[3])].join()) expect(got, `row ${i + 1}`).toEqual(row.slice(0, 4));
    }
    expect(m.info.packets).toBe(merged.length);
    expect(m.info.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    // ties: the same packets at the same times in both files; mergecap takes the file named later first.
    if (set === 'ties') expect(m.seen.slice(0, 4).map((s) => s.caplen < s.len)).toEqual([true, false, true, false]);
  });

  it('maps every global frame to its file and its frame there, as tshark numbers that file alone (time, length, offset)', async () => {
    const m = await merge(inputs.files);
    for (const s of m.seen) {
      const row = perFile.get(`${basename(inputs.files[s.file]!)}#${s.local}`);
      expect(row, `frame ${s.frame}`).toBeDefined();
      if (us(row![2]!) !== us(s.ts) || Number(row![3]) !== s.len || Number(row![4]) !== s.offset) {
        expect([us(s.ts), s.len, s.offset], `frame ${s.frame}`).toEqual([us(row![2]!), Number(row![3]), Number(row![4])]);
      }
      const at = m.frames.locate(s.frame);
      if (at?.file !== s.file || at.frame !== s.local) expect(at, `frame ${s.frame}`).toEqual({ file: s.file, frame: s.local });
    }
    expect(m.frames.locate(0)).toBeNull();
    expect(m.frames.locate(merged.length + 1)).toBeNull();
    // Each file's first and last frame, as the report lists them.
    for (const [i, f] of m.files.entries()) {
      const mine = m.seen.filter((s) => s.file === i);
      expect([f.firstFrame, f.lastFrame, f.packets]).toEqual([mine[0]!.frame, mine.at(-1)!.frame, mine.length]);
    }
  });

  it('re-reads any packet from its own file by its global frame, also when the frame map gave up', async () => {
    const m = await merge(inputs.files);
    const capped = new FrameMap(1);
    await readCaptures(inputs.files, () => {}, { frames: capped });
    expect(capped.complete).toBe(false);
    const sample = m.seen.filter((s, i) => i % 97 === 0 || i === m.seen.length - 1 || m.seen[i - 1]?.file !== s.file);
    for (const [i, s] of sample.entries()) {
      // Without the map the set is merged again up to the frame: a few frames are enough for that path.
      for (const map of i % 8 === 0 ? [m.frames, capped] : [m.frames]) {
        const rec = await readMergedFrame(inputs.files, map, s.frame, s.offset);
        const sha = createHash('sha256').update(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)).digest('hex');
        expect([rec.frame, sha, rec.origin]).toEqual([s.frame, s.sha, { file: inputs.files[s.file], frame: s.local }]);
      }
    }
  });
});

describe('merge order', () => {
  it('does not depend on the order the files are named in (no equal times across files here)', async () => {
    for (const set of ['tour-ring', 'ring-2121']) {
      const files = resolveCaptureInputs([join(MULTI, set)]).files;
      const a = (await merge(files)).seen.map((s) => [s.frame, s.sha]);
      const b = (await merge([...files].reverse())).seen.map((s) => [s.frame, s.sha]);
      expect(b).toEqual(a);
    }
  });

  it('overlapping files are interleaved in time order and said to overlap', async () => {
    const m = await merge(resolveCaptureInputs([join(MULTI, 'roles')]).files);
    const times = m.seen.map((s) => s.ts);
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!)).toBe(true);
    const overlap = m.info.findings.filter((f) => f.code === 'capture-files-overlap');
    expect(overlap).toHaveLength(1);
    expect(overlap[0]!.message).toMatch(/control\.pcapng starts [\d.]+ s before .*data\.pcap ends/);
  });

  it('time going backwards inside a file: a finding naming the file, its frame there, the byte offset and the global frame', async () => {
    const file = join(MULTI, 'backwards/late-then-early.pcap');
    const rows = tsv('late-then-early.tsv');
    // tshark: the first frame earlier than the one before it.
    const back = rows.findIndex((r, i) => i > 0 && Number(r[1]) < Number(rows[i - 1]![1]));
    const [frame, , offset] = rows[back]!;
    const m = await merge(resolveCaptureInputs([join(MULTI, 'backwards')]).files);
    expect(m.seen.map((s) => s.frame)).toEqual(rows.map((r) => Number(r[0])));
    const f = m.info.findings.filter((x) => x.code === 'capture-time-backwards');
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.frame).toBe(Number(frame));
    expect(f[0]!.message).toContain(`${file}: time goes backwards at its frame ${frame} (byte ${offset}; frame ${frame} of the merged set)`);
    const later = rows.slice(back).filter((r) => Number(r[1]) < Math.max(...rows.slice(0, back).map((x) => Number(x[1])))).length;
    expect(f[0]!.message).toContain(`${later} of its packets are earlier than a packet merged before them`);
  });

  it('files with different link types are decoded each by its own; a note says they differ', async () => {
    const files = ['captures/vsftpd-any-sll2.pcap', 'captures/vsftpd-pasv-ipv4.pcap'].map((f) => join(ROOT, f));
    const m = await merge(files);
    // tshark's frame counts of each (captures/expected/*.tsv: one line per frame after the header).
    const count = (f: string) => readFileSync(join(ROOT, 'captures/expected', basename(f) + '.tsv'), 'utf8').trim().split('\n').length - 1;
    expect(m.files.map((f) => f.packets)).toEqual(files.map(count));
    expect(m.info.linkTypes.sort()).toEqual(['EN10MB', 'LINUX_SLL2']);
    const note = m.info.findings.filter((f) => f.code === 'capture-files-link-types');
    expect(note).toHaveLength(1);
    expect(note[0]!.message).toMatch(/LINUX_SLL2: .*vsftpd-any-sll2\.pcap; EN10MB: .*vsftpd-pasv-ipv4\.pcap/);
  });
});

describe('bad files among good ones: one finding naming the file and the byte, the rest read', () => {
  const ring = resolveCaptureInputs([join(MULTI, 'tour-ring')]).files;
  const perFile = tsv('tour-ring.per-file.tsv');
  const total = perFile.length;
  const rowsOf = (name: string) => perFile.filter((r) => r[0] === name);
  /** A fresh copy of the set in tmp/dir, to damage. */
  const copySet = (dir: string): string[] => {
    const out = join(tmp, dir);
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    return ring.map((f) => {
      const to = join(out, basename(f));
      copyFileSync(f, to);
      return to;
    });
  };

  it('a file cut short in a packet: capture-truncated at that packet\'s byte, the packets before it and every other file kept', async () => {
    const files = copySet('cut');
    const rows = rowsOf('tour-2.pcapng');
    const [, , , , off150] = rows[149]!;
    truncateSync(files[2]!, Number(off150) + 10);
    const m = await merge(files);
    expect(m.seen.length).toBe(total - (rows.length - 149));
    const f = m.info.findings.filter((x) => x.code === 'capture-truncated');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toContain(`${files[2]} is cut short at byte ${off150}`);
    expect(m.files[2]!.truncated).toBe(true);
    expect(m.info.truncated).toBe(true);
  });

  it('a file damaged part-way: capture-corrupt at the damaged block\'s byte; the other files read on', async () => {
    const files = copySet('corrupt');
    const rows = rowsOf('tour-2.pcapng');
    const off = Number(rows[99]![4]);
    const fd = openSync(files[2]!, 'r+');
    writeSync(fd, Buffer.from([0xff, 0xff, 0xff, 0xf0]), 0, 4, off + 4); // the block's length
    closeSync(fd);
    const m = await merge(files);
    expect(m.seen.length).toBe(total - (rows.length - 99));
    const f = m.info.findings.filter((x) => x.code === 'capture-corrupt');
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toContain(`${files[2]} is damaged at byte ${off}`);
    expect(m.files[5]!.packets).toBe(rowsOf('tour-5.pcapng').length);
  });

  it('a file that is not a capture, one missing, one empty: capture-file-skipped for each, with the reason and byte', async () => {
    const files = copySet('skipped');
    const fd = openSync(files[1]!, 'r+');
    writeSync(fd, Buffer.from('JUNK'), 0, 4, 0);
    closeSync(fd);
    writeFileSync(files[4]!, '');
    const missing = join(tmp, 'skipped', 'gone.pcap');
    const m = await merge([...files, missing]);
    const skipped = m.info.findings.filter((x) => x.code === 'capture-file-skipped');
    expect(skipped.map((f) => f.severity)).toEqual(['error', 'error', 'error']);
    expect(skipped[0]!.message).toMatch(new RegExp(`^${files[1]} is not a pcap or pcapng capture \\(unrecognized magic number 4a 55 4e 4b at byte 0\\); this file was skipped, the other 6 files of the set were read`));
    expect(skipped[1]!.message).toContain(`${files[4]} is empty (0 bytes)`);
    expect(skipped[2]!.message).toContain(`${missing}: no such file`);
    expect(m.seen.length).toBe(total - rowsOf('tour-1.pcap').length - rowsOf('tour-4.pcap.gz').length);
    expect(m.files.map((f) => f.skipped === null)).toEqual([true, false, true, true, false, true, false]);
  });

  it('no file readable at all: the error of the first, as one file would give', async () => {
    const a = join(tmp, 'none-1.pcap');
    const b = join(tmp, 'none-2.pcap');
    const err = await merge([a, b]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FtpscopeError);
    expect((err as FtpscopeError).message).toBe(`none of the 2 captures could be read; the first: ${a}: no such file`);
  });
});

describe('resolveCaptureInputs', () => {
  it('a directory gives its capture files in natural order, files that are not captures left out; a file named twice is read once', () => {
    const dir = join(tmp, 'dir');
    mkdirSync(dir, { recursive: true });
    for (const f of ['ftp.pcap10', 'ftp.pcap2', 'ftp.pcap']) copyFileSync(join(ROOT, 'captures/public/zeek/ipv4.pcap'), join(dir, f));
    copyFileSync(join(MULTI, 'tour-ring/tour-3.pcapng.gz'), join(dir, 'ftp.pcap1.gz'));
    writeFileSync(join(dir, 'README.txt'), 'notes\n');
    writeFileSync(join(dir, '.hidden.pcap'), 'x');
    const r = resolveCaptureInputs([dir, join(dir, 'ftp.pcap2')]);
    expect(r.files.map((f) => basename(f))).toEqual(['ftp.pcap', 'ftp.pcap1.gz', 'ftp.pcap2', 'ftp.pcap10']);
    expect(r.ignored).toEqual([join(dir, 'README.txt')]);
    expect(r.merged).toBe(true);
  });

  it('one file is read as one file; a pipe cannot be merged; an empty directory is an error', () => {
    expect(resolveCaptureInputs(['a.pcap'])).toMatchObject({ files: ['a.pcap'], merged: false, name: 'a.pcap' });
    expect(() => resolveCaptureInputs(['/dev/stdin', 'a.pcap'])).toThrow(/standard input \(-\) cannot be merged/);
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    expect(() => resolveCaptureInputs([empty])).toThrow(/holds no pcap or pcapng file/);
  });
});

import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Extractor, isInside, type ExtractIndex } from '../../src/report/extract.js';
import type { DataConnection, Session } from '../../src/model/types.js';
import { readSuricataFileChecks } from '../helpers/zeek-log.js';
import { analyzed, PUB, ZEEK_EXPECTED } from './captures.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'ftpscope-extract-'));
  dirs.push(d);
  return d;
}
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function extract(capture: string): Promise<{ dir: string; index: ExtractIndex }> {
  const dir = tempDir();
  const ex = new Extractor(dir, capture);
  ex.settle(await analyzed(capture, { openDataSink: ex.openDataSink }));
  return { dir, index: ex.finish() };
}

function checkIndex(dir: string, index: ExtractIndex): void {
  const onDisk = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as ExtractIndex;
  expect(onDisk).toEqual(JSON.parse(JSON.stringify(index)));
  for (const f of index.files) {
    expect(isInside(dir, f.file)).toBe(true);
    expect(statSync(path.join(dir, f.file)).size).toBe(f.size);
    // Not the whole transfer: named so, and a file with holes has no hash (its zeros identify nothing).
    expect(f.file.endsWith('.incomplete')).toBe(!f.complete);
    if (f.gaps.length > 0) {
      expect(f.sha256).toBeNull();
      continue;
    }
    expect(sha256(readFileSync(path.join(dir, f.file)))).toBe(f.sha256);
  }
  // Nothing but the files and the index; no temporary files left behind.
  expect(readdirSync(dir).sort()).toEqual([...index.files.map((f) => f.file), 'index.json'].sort());
}

describe('extract', () => {
  it('bug-4877: the 4 files with suricata\'s sha256 and size', async () => {
    const { dir, index } = await extract('suricata-verify/bug-4877/input.pcap');
    checkIndex(dir, index);
    const checks = readSuricataFileChecks(`${PUB}/suricata-verify/bug-4877/test.yaml`).filter((c) => c['fileinfo.sha256']);
    for (const c of checks) {
      const f = index.files.find((x) => x.sha256 === c['fileinfo.sha256'] && x.command?.arg === c['fileinfo.filename']);
      expect(f, `${c['fileinfo.filename']} ${c['fileinfo.sha256']}`).toBeDefined();
      expect(f!.size).toBe(Number(c['fileinfo.size']));
      expect(f!.complete).toBe(true);
      expect(f!.session).toBe(1);
      expect(f!.file).toMatch(new RegExp(`^s1-d${f!.dataConnection}-(stor|retr)-`));
    }
    expect(new Set(index.files.map((f) => f.direction))).toEqual(new Set(['upload', 'download']));
  });

  it('retr.pcap: the README with zeek\'s sha256 and the file content zeek extracted', async () => {
    const { dir, index } = await extract('zeek/retr.pcap');
    checkIndex(dir, index);
    const out = readFileSync(`${ZEEK_EXPECTED}/scripts.base.frameworks.file-analysis.ftp/out`, 'utf8');
    const sha = /SHA256: ([0-9a-f]{64})/.exec(out)![1];
    const f = index.files.find((x) => x.command?.verb === 'RETR')!;
    expect(f.sha256).toBe(sha);
    // `thefile` is the content with one header line added by the btest harness.
    const thefile = readFileSync(`${ZEEK_EXPECTED}/scripts.base.frameworks.file-analysis.ftp/thefile`);
    const content = thefile.subarray(thefile.indexOf(0x0a) + 1);
    expect(readFileSync(path.join(dir, f.file)).equals(content)).toBe(true);
  });

  it('ipv4.pcap: listings and downloads, named after session, data connection and path', async () => {
    const { dir, index } = await extract('zeek/ipv4.pcap');
    checkIndex(dir, index);
    const a = await analyzed('zeek/ipv4.pcap');
    expect(index.files).toHaveLength(a.sessions[0]!.dataConnections.length);
    for (const dc of a.sessions[0]!.dataConnections) {
      const f = index.files.find((x) => x.dataConnection === dc.id)!;
      expect(f.sha256).toBe(dc.sha256);
      expect(f.direction).toBe(dc.direction);
      expect(f.command).toEqual(dc.command);
    }
    expect(index.files.filter((f) => f.direction === 'listing').every((f) => f.file.endsWith('.txt'))).toBe(true);
  });

  it('bigtransfer.pcap: each captured byte at its offset in the file, the gaps as holes, as zeek\'s file_chunk events place them', async () => {
    const { dir, index } = await extract('zeek/bigtransfer.pcap');
    checkIndex(dir, index);
    const big = index.files.find((f) => f.missingBytes > 0)!;
    expect(big.complete).toBe(false);
    expect(big.file).toBe('s1-d2-retr-rand.txt.incomplete');
    // zeek (expected/core.tcp.large-file-reassembly/out): every chunk of the file it saw, "file_chunk, length, offset, data".
    const chunks = readFileSync(`${ZEEK_EXPECTED}/core.tcp.large-file-reassembly/out`, 'latin1').split('\n')
      .map((l) => /^file_chunk, (\d+), (\d+), (.*)$/.exec(l)).filter((m) => m !== null)
      .map((m) => ({ length: Number(m![1]), offset: Number(m![2]), data: Buffer.from(m![3]!.replace(/\\x([0-9a-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1') }))
      .filter((c) => !(c.offset === 0 && c.length === 270)); // the listing's
    const fileSize = 5416666670; // files.log total, the 150 reply's and the SIZE reply's
    expect(big.size).toBe(fileSize);
    const holes: Array<{ offset: number; length: number }> = [];
    let end = 0;
    for (const c of chunks) {
      if (c.offset > end) holes.push({ offset: end, length: c.offset - end });
      end = c.offset + c.length;
    }
    if (end < fileSize) holes.push({ offset: end, length: fileSize - end });
    expect(big.gaps).toEqual(holes);
    expect(big.gaps.reduce((n, g) => n + g.length, 0)).toBe(5416642848); // files.log missing_bytes
    const fd = openSync(path.join(dir, big.file), 'r');
    try {
      for (const c of chunks) {
        const got = Buffer.alloc(c.length);
        readSync(fd, got, 0, c.length, c.offset);
        expect(got.equals(c.data), `chunk at ${c.offset}`).toBe(true);
      }
      // A hole reads as zeros.
      const hole = Buffer.alloc(64, 1);
      readSync(fd, hole, 0, 64, holes[0]!.offset);
      expect(hole.equals(Buffer.alloc(64))).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('run twice into the same directory: the same files, no -2 copies', async () => {
    const dir = tempDir();
    const run = async (): Promise<ExtractIndex> => {
      const ex = new Extractor(dir, 'bug-4877');
      ex.settle(await analyzed('suricata-verify/bug-4877/input.pcap', { openDataSink: ex.openDataSink }));
      return ex.finish();
    };
    const first = await run();
    const second = await run();
    expect(second.files.map((f) => f.file)).toEqual(first.files.map((f) => f.file));
    checkIndex(dir, second);
  });

  it('a name at the length limit taken on disk gets a suffix that fits (no endless loop), and no temporary file stays', () => {
    const dir = tempDir();
    const session = { id: 1 } as Session;
    const arg = `${'x'.repeat(120)}/${'y'.repeat(120)}/${'z'.repeat(60)}.bin`; // 300 characters
    const dc = {
      id: 1, client: { ip: '10.0.0.2', port: 1 }, server: { ip: '10.0.0.1', port: 2 },
      command: { verb: 'RETR', arg, frame: null }, path: `/${arg}`, direction: 'download', complete: true,
      expectedBytes: null, missingBytes: 0,
    } as unknown as DataConnection;
    const names: string[] = [];
    for (const content of ['one', 'two', 'three']) {
      const ex = new Extractor(dir, 'synthetic');
      const sink = ex.openDataSink(session, dc)!;
      sink.write(Buffer.from(content));
      sink.end(dc, session);
      names.push(ex.finish().files[0]!.file);
    }
    for (const n of names) expect(Buffer.byteLength(n)).toBeLessThanOrEqual(200);
    expect(names[1]).toMatch(/-2\.bin$/);
    expect(names[2]).toMatch(/-3\.bin$/);
    expect(new Set(names).size).toBe(3);
    expect(readdirSync(dir).filter((f) => f.startsWith('.ftpscope-part-'))).toEqual([]);
  });

  it('a hostile remote path cannot escape the directory; a name taken on disk gets a suffix', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 's1-d1-retr-etc_passwd'), 'already here');
    const ex = new Extractor(dir, 'synthetic');
    const session = { id: 1 } as Session;
    const hostile = ['../../etc/passwd', '/etc/passwd', '..\\..\\boot.ini', 'a\x00/../../b', '../../../../../../tmp/x'];
    hostile.forEach((arg, i) => {
      const dc = {
        id: i === 0 ? 1 : i + 1, client: { ip: '10.0.0.2', port: 1 }, server: { ip: '10.0.0.1', port: 2 },
        command: { verb: 'RETR', arg, frame: null }, path: arg, direction: 'download', complete: true,
        expectedBytes: null, missingBytes: 0,
      } as unknown as DataConnection;
      const sink = ex.openDataSink(session, dc)!;
      sink.write(Buffer.from(`payload ${i}`));
      sink.end(dc, session);
    });
    const index = ex.finish();
    expect(index.files).toHaveLength(hostile.length);
    expect(index.files[0]!.file).toBe('s1-d1-retr-etc_passwd-2');
    expect(readFileSync(path.join(dir, 's1-d1-retr-etc_passwd'), 'utf8')).toBe('already here');
    for (const f of index.files) {
      expect(isInside(dir, f.file)).toBe(true);
      expect(path.dirname(path.resolve(dir, f.file))).toBe(path.resolve(dir));
    }
  });
});

describe('Extractor: sessions settled as they become final (issue 18)', async () => {
  const { loadPackets, toRecord } = await import('../tcp/support.js');
  const { Pipeline } = await import('../../src/analysis/pipeline.js');
  // vsftpd-pasv-nat-ipv4.pcap (two control connections, two downloads) played 40 times, 200 s
  // apart: 80 sessions, each final long before the capture ends.
  const seed = await loadPackets('vsftpd-pasv-nat-ipv4.pcap');
  const COPIES = 40;

  function run(retire: boolean): { index: ExtractIndex; heldMax: number; retired: number } {
    const ex = new Extractor(tempDir(), 'copies');
    let retired = 0;
    const pipeline = new Pipeline({
      openDataSink: ex.openDataSink,
      retireSession: retire ? (s) => { retired++; ex.settleSession(s); } : undefined,
    }, { type: 'pcap', name: 'copies' });
    let frame = 0;
    let heldMax = 0;
    for (let c = 0; c < COPIES; c++) {
      for (const p of seed) pipeline.push(toRecord({ ...p, frame: ++frame }, c * 200));
      heldMax = Math.max(heldMax, ex.heldDataConnections);
    }
    ex.settle(pipeline.finish());
    return { index: ex.finish(), heldMax, retired };
  }

  it('holds only the data connections of sessions still open, and writes the same index as settling at the end', () => {
    const streamed = run(true);
    const atEnd = run(false);
    expect(streamed.retired).toBeGreaterThanOrEqual(2 * COPIES - 2);
    expect(streamed.heldMax).toBeLessThanOrEqual(2);
    expect(atEnd.heldMax).toBeGreaterThanOrEqual(2 * (COPIES - 1));
    expect(streamed.index.files.length).toBe(2 * COPIES);
    expect(streamed.index.files.map((f) => f.file)).toEqual(atEnd.index.files.map((f) => f.file));
    expect(streamed.index.skipped).toEqual(atEnd.index.skipped);
  });
});

import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
    const bytes = readFileSync(path.join(dir, f.file));
    expect(bytes.length).toBe(f.size);
    expect(sha256(bytes)).toBe(f.sha256);
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

  it('bigtransfer.pcap: a transfer with gaps is written as seen and marked incomplete', async () => {
    const { dir, index } = await extract('zeek/bigtransfer.pcap');
    checkIndex(dir, index);
    const big = index.files.find((f) => f.missingBytes > 0)!;
    expect(big.complete).toBe(false);
    expect(big.size).toBeLessThan(big.expectedBytes ?? Infinity);
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

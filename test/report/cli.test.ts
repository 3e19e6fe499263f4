import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectValidReport } from '../helpers/validate-report.js';
import { PUB } from './captures.js';

/** The built CLI, as users run it (`npm test` builds first). */
const MAIN = 'dist/src/cli/main.js';

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, FTPSCOPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tmp = '';
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
  tmp = mkdtempSync(path.join(tmpdir(), 'ftpscope-cli-'));
  writeFileSync(path.join(tmp, 'random.pcap'), Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) & 0xff)));
  writeFileSync(path.join(tmp, 'notes.txt'), 'USER anonymous\r\nPASS x\r\n'.repeat(50));
  writeFileSync(path.join(tmp, 'empty.pcap'), '');
  writeFileSync(path.join(tmp, 'a-file'), 'x');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const IPV4 = `${PUB}/zeek/ipv4.pcap`;

describe('CLI error paths: one line on stderr, exit 2, no stack trace', () => {
  const cases: Array<[string, () => string[]]> = [
    ['missing file', () => ['report', path.join(tmp, 'nope.pcap')]],
    ['a directory', () => ['report', tmp]],
    ['an empty file', () => ['report', path.join(tmp, 'empty.pcap')]],
    ['random bytes', () => ['report', path.join(tmp, 'random.pcap')]],
    ['a text file', () => ['report', path.join(tmp, 'notes.txt')]],
    ['unknown option', () => ['report', IPV4, '--jsn']],
    ['missing capture argument', () => ['report']],
    ['--json with --ndjson', () => ['report', IPV4, '--json', '--ndjson']],
    ['a bad --ftp-port', () => ['report', IPV4, '--ftp-port', 'http']],
    ['--ftp-port 0', () => ['report', IPV4, '--ftp-port', '0']],
    ['flow: a session that does not exist', () => ['flow', IPV4, '--session', '99']],
    ['flow: a bad width', () => ['flow', IPV4, '--width', 'wide']],
    ['flow: missing file', () => ['flow', path.join(tmp, 'nope.pcap')]],
    ['extract: no --out', () => ['extract', IPV4]],
    ['extract: --out is a file', () => ['extract', IPV4, '--out', path.join(tmp, 'a-file')]],
    ['extract: --out inside a file', () => ['extract', IPV4, '--out', path.join(tmp, 'a-file', 'sub')]],
    ['extract: --out where nothing can be created', () => ['extract', IPV4, '--out', '/proc/ftpscope-cannot-exist/x']],
    ['extract: missing file', () => ['extract', path.join(tmp, 'nope.pcap'), '--out', path.join(tmp, 'x')]],
  ];
  it.each(cases)('%s', (_name, args) => {
    const r = run(...args());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    // commander's "(Did you mean --json?)" hint is the only second line allowed
    const lines = r.stderr.trimEnd().split('\n').filter((l) => !/^\(Did you mean .*\?\)$/.test(l));
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^ftpscope: /);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  });

  it('names the file in its message', () => {
    expect(run('report', path.join(tmp, 'nope.pcap')).stderr).toContain('nope.pcap');
    expect(run('report', tmp).stderr).toContain(tmp);
  });
});

describe('CLI outputs', () => {
  it('report: text, exit 0', () => {
    const r = run('report', IPV4);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Session 1 /m);
    expect(r.stdout).toContain('RETR robots.txt');
    expect(r.stderr).toBe(''); // no progress line when stderr is not a terminal
  });

  it('report --json: valid against the schema, passwords masked unless --show-passwords', () => {
    const capture = `${PUB}/suricata-verify/bug-3519/input.pcap`;
    const masked = JSON.parse(run('report', capture, '--json').stdout);
    expectValidReport(masked);
    const pass = (rep: any) => rep.sessions[0].commands.find((c: any) => c.verb === 'PASS').arg;
    expect(pass(masked)).toBe('****');
    const shown = JSON.parse(run('report', capture, '--json', '--show-passwords').stdout);
    expectValidReport(shown);
    expect(pass(shown)).not.toBe('****');
  });

  it('report --ndjson: one JSON object per line, ending with a summary', () => {
    const r = run('report', IPV4, '--ndjson');
    expect(r.code).toBe(0);
    const objs = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const types = new Set(objs.map((o) => o.type));
    for (const t of ['session-open', 'command', 'reply', 'data-open', 'data-close', 'finding', 'session-close', 'end']) {
      expect(types).toContain(t);
    }
    expect(objs[objs.length - 1].type).toBe('end');
    const json = JSON.parse(run('report', IPV4, '--json').stdout);
    expect(objs.filter((o) => o.type === 'command').map((o) => o.command.verb)).toEqual(json.sessions[0].commands.map((c: any) => c.verb));
  });

  it('report --ftp-port: a control connection on another port is analyzed', () => {
    // The active-mode capture's control connection is on 21; asking for another port changes nothing there.
    const r = run('report', IPV4, '--json', '--ftp-port', '2121', '--ftp-port', '990');
    expect(r.code).toBe(0);
    expectValidReport(JSON.parse(r.stdout));
  });

  it('a truncated capture still reports, exit 0', () => {
    const whole = readFileSync(IPV4);
    const cut = path.join(tmp, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    const r = run('report', cut, '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expectValidReport(rep);
    expect(rep.source.truncated).toBe(true);
    expect(rep.sessions.length).toBe(1);
  });

  it('flow: every line fits 80 columns', () => {
    const r = run('flow', `${PUB}/zeek/ipv6.pcap`, '--width', '80');
    expect(r.code).toBe(0);
    for (const l of r.stdout.trimEnd().split('\n')) expect(Array.from(l).length).toBeLessThanOrEqual(80);
    expect(r.stdout).toMatch(/\|-- EPRT /);
    expect(run('flow', IPV4, '--session', '1').stdout).toMatch(/^Session 1 /);
  });

  it('extract: writes the files and index.json, exit 0', () => {
    const out = path.join(tmp, 'out4877');
    const r = run('extract', `${PUB}/suricata-verify/bug-4877/input.pcap`, '--out', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^wrote 4 files /);
    const index = JSON.parse(readFileSync(path.join(out, 'index.json'), 'utf8'));
    expect(index.files).toHaveLength(4);
  });
});

describe('a capture from a pipe (tcpdump -w - | ftpscope report /dev/stdin)', () => {
  function piped(file: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
    // A real pipe from a shell (Node's own stdio pipes are sockets): read in sequence, without sizes or seeks.
    const script = 'f=$1; node=$2; main=$3; shift 3; cat "$f" | "$node" "$main" report /dev/stdin "$@"';
    const r = spawnSync('sh', ['-c', script, 'sh', file, process.execPath, MAIN, ...args], {
      encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, FTPSCOPE_DEBUG: '' },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  for (const file of [IPV4, 'captures/tour.pcapng', `${PUB}/zeek/bigtransfer.pcap`]) {
    it(`${file}: the same report as from the file`, () => {
      const fromFile = JSON.parse(run('report', '--json', file).stdout);
      const fromPipe = piped(file, '--json');
      expect(fromPipe.code).toBe(0);
      const got = JSON.parse(fromPipe.stdout);
      expect(got.source.name).toBe('/dev/stdin');
      expect({ ...got, source: { ...got.source, name: file } }).toEqual(fromFile);
    });
  }

  it('- stands for standard input', () => {
    const script = 'f=$1; node=$2; main=$3; cat "$f" | "$node" "$main" report - --json';
    const r = spawnSync('sh', ['-c', script, 'sh', IPV4, process.execPath, MAIN], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.status).toBe(0);
    const got = JSON.parse(r.stdout);
    expect(got.source.name).toBe('/dev/stdin');
    expect({ ...got, source: { ...got.source, name: IPV4 } }).toEqual(JSON.parse(run('report', '--json', IPV4).stdout));
  });

  it('gzip through a pipe says to decompress on the way', () => {
    const r = piped('captures/vsftpd-eprt-port20-ipv4.pcap.gz');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ftpscope: \/dev\/stdin is gzip-compressed data from a pipe.*zcat/);
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
  });
});

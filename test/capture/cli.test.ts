// `ftpscope capture` and `ftpscope interfaces` as users run them: the built CLI (npm test builds first).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveAvailable } from '../../src/capture/live.js';
import { readCapture } from '../../src/capture/open.js';
import { expectValidReport } from '../helpers/validate-report.js';
import { ROOT } from './helpers.js';
import { curl, sleep, startFtpServer } from './ftp-peer.js';

const MAIN = join(ROOT, 'dist/src/cli/main.js');
const live = liveAvailable() && process.getuid?.() === 0;
const haveCurl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
let tmp = '';
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
  tmp = mkdtempSync(join(tmpdir(), 'ftpscope-capture-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: { ...process.env, FTPSCOPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts the CLI in the background; resolves with its output once it exits. */
function start(...args: string[]): { exited: Promise<{ code: number | null; stdout: string; stderr: string }>; interrupt(): void; started: Promise<void> } {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, FTPSCOPE_DEBUG: '' } });
  let stdout = '';
  let stderr = '';
  let onStart!: () => void;
  const started = new Promise<void>((r) => { onStart = r; });
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); if (stderr.includes('capturing on')) onStart(); });
  const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code) => { onStart(); resolve({ code, stdout, stderr }); });
  });
  return { exited, started, interrupt: () => child.kill('SIGINT') };
}

describe('capture and interfaces: errors are one line with exit 2', () => {
  it.each([
    ['no -i', ['capture'], /required option '-i, --interface <name>'/],
    ['a bad -c', ['capture', '-i', 'lo', '-c', 'many'], /'many' is not a positive integer/],
    ['a bad --duration', ['capture', '-i', 'lo', '--duration', '-3'], /not a positive number of seconds|unknown option/],
    ['--json with --ndjson', ['capture', '-i', 'lo', '--json', '--ndjson'], /cannot be combined/],
  ])('%s', (_what, args, message) => {
    const r = run(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.skipIf(!live)('an unknown interface, a bad filter and an unwritable -w each say what to do', () => {
    for (const [args, message] of [
      [['capture', '-i', 'nosuch0'], /no capture interface named "nosuch0" .*\(list them with: ftpscope interfaces\)/],
      [['capture', '-i', 'lo', '-f', 'tcp and and'], /bad capture filter "tcp and and": .*syntax error/],
      [['capture', '-i', 'lo', '-w', join('/nonexistent', 'x.pcapng')], /cannot write \/nonexistent\/x.pcapng/],
    ] as const) {
      const r = run(...args);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it.skipIf(!live)('interfaces lists the loopback with its address', () => {
    const r = run('interfaces');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^lo\s+127\.0\.0\.1.*\(loopback\)$/m);
    const json = JSON.parse(run('interfaces', '--json').stdout) as { name: string; loopback: boolean }[];
    expect(json.find((i) => i.name === 'lo')?.loopback).toBe(true);
  });
});

describe.skipIf(!live || !haveCurl)('capture on loopback with a real FTP server and client', () => {
  it('Ctrl-C ends the capture, prints a contract-valid --json report and leaves a complete -w file', async () => {
    const root = join(tmp, 'root');
    mkdirSync(root, { recursive: true });
    const content = Buffer.from('ftpscope capture CLI test\n'.repeat(3000));
    writeFileSync(join(root, 'f.txt'), content);
    const srv = await startFtpServer(root);
    const out = join(tmp, 'cli.pcapng');
    const cli = start('capture', '-i', 'lo', '-f', `tcp and (port ${srv.port} or portrange ${srv.pasvMin}-${srv.pasvMax})`,
      '--ftp-port', String(srv.port), '-w', out, '--json');
    try {
      await cli.started;
      await sleep(200);
      expect((await curl(`ftp://127.0.0.1:${srv.port}/f.txt`)).equals(content)).toBe(true);
      await sleep(300);
    } finally {
      cli.interrupt();
      await srv.close();
    }
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/capturing on lo \(EN10MB, via (libpcap|cap)\)/);
    const m = /(\d+) packets captured, (\d+) written to/.exec(r.stderr);
    expect(m).not.toBeNull();
    const report = JSON.parse(r.stdout) as { source: { type: string; packets: number }; sessions: { dataConnections: { sha256: string | null; command: { verb: string } | null }[] }[] };
    expectValidReport(report);
    expect(report.source.type).toBe('live');
    expect(report.source.packets).toBe(Number(m![1]));
    const dc = report.sessions.flatMap((s) => s.dataConnections).find((d) => d.command?.verb === 'RETR');
    expect(dc?.sha256).toBe(createHash('sha256').update(content).digest('hex'));
    let n = 0;
    const info = await readCapture(out, () => n++);
    expect(n).toBe(Number(m![2]));
    expect(info.truncated).toBe(false);
  });

  it('--ndjson streams events and -c stops by itself', async () => {
    const root = join(tmp, 'root2');
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'g.txt'), 'small file\n');
    const srv = await startFtpServer(root);
    const cli = start('capture', '-i', 'lo', '-f', `tcp and (port ${srv.port} or portrange ${srv.pasvMin}-${srv.pasvMax})`,
      '--ftp-port', String(srv.port), '--ndjson', '-c', '12', '--duration', '20');
    try {
      await cli.started;
      await sleep(200);
      await curl(`ftp://127.0.0.1:${srv.port}/g.txt`);
    } finally {
      await srv.close();
    }
    const r = await cli.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/12 packets captured/);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines[0]!.type).toBe('session-open');
    expect(lines.map((l) => l.type)).toContain('command');
    expect(lines.at(-1)!.type).toBe('end');
  });
});

/**
 * The real CLI (dist/, built by `npm test`): `ftpscope proxy` with --log and --record relays a
 * curl transfer, writes NDJSON and a pcapng, and prints a summary on SIGINT. Bad options get
 * one line saying what to do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { readCapture } from '../../src/capture/open.js';
import * as net from 'node:net';
import { RawFtp, freePort, randomFile, run, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const MAIN = path.resolve('dist/src/cli/main.js');
const d = fs.existsSync('/usr/sbin/vsftpd') && fs.existsSync(MAIN) ? describe : describe.skip;

d('ftpscope proxy (CLI)', () => {
  let ftpd: Vsftpd;
  let work: string;

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-cli-');
  });
  afterAll(async () => {
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('relays, logs NDJSON, records pcapng, prints a summary on SIGINT', async () => {
    const blob = randomFile(ftpd.pub, 'cli.bin', 700_001);
    fs.chmodSync(blob.file, 0o644);
    const port = await freePort();
    const log = path.join(work, 'events.ndjson');
    const rec = path.join(work, 'rec.pcapng');
    const child = spawn(process.execPath, [MAIN, 'proxy', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${ftpd.port}`,
      '--log', log, '--record', rec], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => { stdout += b; });
    child.stderr.on('data', (b) => { stderr += b; });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    for (let i = 0; i < 100 && !stderr.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
    expect(stderr).toContain(`proxy listening on 127.0.0.1:${port}`);
    const out = path.join(work, 'got.bin');
    const r = await run('curl', ['-sS', '--max-time', '20', '-o', out, `ftp://127.0.0.1:${port}/pub/cli.bin`]);
    expect(r.stderr).toBe('');
    expect(sha256File(out)).toBe(blob.sha256);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(stdout).toContain('1 sessions, 1 transfers');
    expect(stdout).toContain(blob.sha256);
    const events = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(events[0].type).toBe('session-open');
    expect(events.some((e) => e.type === 'data-close')).toBe(true);
    const a = await analyzeFile(rec, { ftpPorts: [port, ftpd.port] });
    // One session: the server-facing legs belong to it (originalServer), they are not a second session.
    expect(a.sessions.map((s) => s.dataConnections.find((dc) => dc.direction === 'download')?.sha256)).toEqual([blob.sha256]);
    expect(a.sessions[0]!.originalServer).toEqual({ ip: '127.0.0.1', port: ftpd.port });
  });

  for (const serverPayload of [false, true]) {
    it(`--record${serverPayload ? ' --record-server-payload' : ''}: the server-facing data leg ${serverPayload ? 'whole' : 'cut to its headers'}, the download's sha256 in the report of the file`, async () => {
      const size = 300_007;
      const blob = randomFile(ftpd.pub, 'legs.bin', size);
      fs.chmodSync(blob.file, 0o644);
      const port = await freePort();
      const rec = path.join(work, `legs-${serverPayload}.pcapng`);
      const child = spawn(process.execPath, [MAIN, 'proxy', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${ftpd.port}`,
        '--record', rec, ...(serverPayload ? ['--record-server-payload'] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
      child.stdout.resume();
      let stderr = '';
      child.stderr.on('data', (b) => { stderr += b; });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      for (let i = 0; i < 100 && !stderr.includes('listening'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(stderr).toContain('listening');
      const r = await run('curl', ['-sS', '--max-time', '20', '-o', path.join(work, 'legs.bin'), `ftp://127.0.0.1:${port}/pub/legs.bin`]);
      expect(r.stderr).toBe('');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      // Payload bytes each frame kept and left out: the download is in the file once, or twice.
      let kept = 0;
      let cut = 0;
      await readCapture(rec, (p) => {
        kept += p.caplen;
        cut += p.wirelen - p.caplen;
      });
      expect(cut).toBe(serverPayload ? 0 : size);
      expect(kept).toBeGreaterThan(size * (serverPayload ? 2 : 1));
      expect(kept).toBeLessThan(size * (serverPayload ? 2 : 1) + 100_000);
      const a = await analyzeFile(rec, { ftpPorts: [port, ftpd.port] });
      expect(a.findings.map((f) => f.code)).not.toContain('capture-snaplen');
      expect(a.sessions.map((s) => s.dataConnections.find((dc) => dc.direction === 'download')?.sha256)).toEqual([blob.sha256]);
    });
  }

  const bad: [string[], RegExp][] = [
    [['proxy', '--mode', 'reverse'], /reverse mode needs --upstream/],
    [['proxy', '--upstream', 'nonsense'], /--upstream nonsense: expected HOST:PORT/],
    [['proxy', '--upstream', '127.0.0.1:21', '--tls-terminate'], /--tls-terminate needs --cert FILE and --key FILE/],
    [['proxy', '--upstream', '127.0.0.1:21', '--pasv-ports', '9-1'], /--pasv-ports 9-1/],
    [['proxy', '--mode', 'forward', '--allow', '10.0.0.0/99'], /not a valid CIDR/],
    [['proxy', '--upstream', '127.0.0.1:21', '--tls-terminate', '--cert', '/nonexistent', '--key', '/nonexistent'], /cannot read --cert/],
    [['proxy', '--mode', 'forward', '--allow', 'ftp.example.org:0'], /--allow ftp\.example\.org:0: '0' is not a port list/],
    [['proxy', '--mode', 'forward', '--allow', '*.example.org', '--allow-resolved', 'example.org'], /--allow-resolved example\.org: not an address or CIDR/],
    [['proxy', '--upstream', '127.0.0.1:21', '--allow-resolved', '10.0.0.0/8'], /--allow-resolved is for forward mode/],
    [['proxy', '--upstream', '127.0.0.1:21', '--login-timeout', 'soon'], /'soon' is not a whole number/],
  ];
  for (const [args, msg] of bad) {
    it(`${args.join(' ')}: one line, exit 2`, async () => {
      const r = await run(process.execPath, [MAIN, ...args], 10_000);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }

  it('--help names every abuse limit with its default', async () => {
    const r = await run(process.execPath, [MAIN, 'proxy', '--help'], 10_000);
    expect(r.code).toBe(0);
    const help = r.stdout.replace(/\s+/g, ' ');
    for (const [opt, dflt] of [['--max-sessions-per-address', '16'], ['--max-connect-rate', '120'], ['--login-timeout', '30'],
      ['--max-invalid-commands', '20'], ['--tls-handshake-timeout', '10'], ['--greeting-timeout', '20'], ['--history', '200']]) {
      expect(help).toMatch(new RegExp(`${opt} <[a-z]+> [^-]*\\(default: ${dflt}\\)`));
    }
    for (const opt of ['--allow-resolved', '--allow-low-data-ports', '--no-hash']) expect(help).toContain(opt);
  });

  it('--log coalesces repeated findings: one line, then one line with the count, not one per occurrence', async () => {
    const port = await freePort();
    const log = path.join(work, 'flood.ndjson');
    const child = spawn(process.execPath, [MAIN, 'proxy', '--listen', `127.0.0.1:${port}`, '--upstream', `127.0.0.1:${ftpd.port}`,
      '--log', log, '--max-invalid-commands', '300', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let up = false;
    for (let i = 0; i < 200 && !up; i++) {
      up = await new Promise<boolean>((r) => { const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); }); s.on('error', () => r(false)); });
      if (!up) await new Promise((r) => setTimeout(r, 50));
    }
    // 500 lines that are not commands: the analysis raises ftp-malformed-command for each of the 301 it sees.
    const c = await RawFtp.connect('127.0.0.1', port);
    await c.login();
    c.sock.write('X\r\n'.repeat(500));
    await settle(() => c.closed, 10_000);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {
      type: string; finding?: { code: string; count?: number };
    });
    const malformed = lines.filter((l) => l.type === 'finding' && l.finding!.code === 'ftp-malformed-command');
    expect(malformed.map((l) => l.finding!.count)).toEqual([undefined, 300]);
    expect(lines.filter((l) => l.type === 'finding' && l.finding!.code === 'proxy-invalid-commands')).toHaveLength(1);
    // The summary comes before the session's last line (session 1 was the readiness probe).
    const mine = lines.filter((l) => (l as { session?: number }).session === 2);
    expect(mine.findIndex((l) => l.finding?.count === 300)).toBe(mine.length - 2);
    expect(mine.at(-1)!.type).toBe('session-close');
  });

  it('a port in use: proxy-listen error, one line', async () => {
    const r = await run(process.execPath, [MAIN, 'proxy', '--listen', `127.0.0.1:${ftpd.port}`, '--upstream', '127.0.0.1:21'], 10_000);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/^ftpscope: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE/);
  });
});

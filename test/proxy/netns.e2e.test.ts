/**
 * The transparent proxy as a network engineer runs it, in network namespaces (bench/netns-lab.ts):
 * curl and lftp in a client namespace, a router namespace that forwards and REDIRECTs FTP to
 * `ftpscope proxy --mode transparent`, and vsftpd in a server namespace; IPv4 and IPv6. The
 * truth is the served files' sha256, the addresses we gave the namespaces, and what the real
 * clients did. Checks what docs/proxy.md says about the passive-port rule, the original server
 * in the log and the summary, a 100 MB recording that analyses whole, live byte counts and FINs
 * in the dashboard under tmux, and kernel drops said live by `capture --tui`.
 * Needs root, iproute2, nftables, vsftpd, curl, lftp and tmux; skipped (saying why) otherwise.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADDR, labUnavailable, startLab, type Lab, type NsName } from '../../bench/netns-lab.js';
import { hasTmux, tmuxForTest, until } from '../helpers/tmux.js';
import { hasBinary } from './peers.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const PASV: [number, number] = [50000, 50100];
const why = labUnavailable() ?? (!hasTmux() ? 'tmux is not installed' : !hasBinary('lftp') ? 'lftp is not installed'
  : !fs.existsSync(CLI) ? 'the CLI is not built (npm run build)' : null);

interface Served { name: string; size: number; sha256: string }

describe.skipIf(why !== null)(`transparent proxy between real peers in network namespaces${why ? ` (skipped: ${why})` : ''}`, () => {
  let lab: Lab;
  const files: Record<string, Served> = {};
  const serve = (name: string, size: number): void => {
    const content = randomBytes(size);
    const file = path.join(lab.pub, name);
    fs.writeFileSync(file, content);
    fs.chmodSync(file, 0o644);
    files[name] = { name, size, sha256: createHash('sha256').update(content).digest('hex') };
  };
  const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

  beforeAll(async () => {
    lab = await startLab();
    serve('small.bin', 1024 * 1024 + 7);
    serve('mid.bin', 24 * 1024 * 1024);
    serve('big.bin', 100 * 1024 * 1024);
  }, 60_000);
  afterAll(async () => {
    await lab?.stop();
  });

  /** `ftpscope ARGS` in a namespace, once it says it is listening (or capturing). */
  async function ftpscope(where: NsName, args: string[], ready: RegExp): Promise<{ child: ChildProcess; out: () => string; err: () => string; stop: () => Promise<number | null> }> {
    const child = lab.spawn(where, process.execPath, [CLI, ...args]);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => { out += d; });
    child.stderr!.on('data', (d) => { err += d; });
    await until(() => ready.test(err) || child.exitCode !== null, () => `ftpscope ${args.join(' ')} to start (stderr: ${err})`);
    expect(child.exitCode, err).toBeNull();
    return {
      child, out: () => out, err: () => err,
      stop: () => new Promise((resolve) => {
        child.once('close', (code) => resolve(code));
        child.kill('SIGINT');
      }),
    };
  }

  /** curl in the client namespace; the file it got, or null when it failed. */
  async function curl(url: string, flags: string[] = []): Promise<{ code: number | null; file: string; stderr: string }> {
    const file = path.join(lab.dir, `curl-${randomBytes(3).toString('hex')}`);
    const r = await lab.run('client', 'curl', ['-sS', '-g', '--connect-timeout', '5', '--max-time', '60', ...flags, '-o', file, url], 90_000);
    return { code: r.code, file, stderr: r.stderr };
  }

  async function lftp(host: string, settings: string[]): Promise<{ code: number | null; file: string; stderr: string }> {
    const file = path.join(lab.dir, `lftp-${randomBytes(3).toString('hex')}`);
    const script = [...settings, 'set net:max-retries 1', 'set net:timeout 5', `get pub/small.bin -o ${file}`, 'bye'].join('; ');
    const r = await lab.run('client', 'lftp', ['-e', script, `ftp://${host.includes(':') ? `[${host}]` : host}`], 60_000);
    return { code: r.code, file, stderr: r.stderr };
  }

  it('docs/proxy.md, tested: without the passive-port rule curl gets no data (unless it uses the 227 address, or active mode) while lftp does; with the rule every client does; each session names the server the client dialled, in the log and the summary', async () => {
    const log = path.join(lab.dir, 'transparent.ndjson');
    const proxy = await ftpscope('router', ['proxy', '--mode', 'transparent', '--listen', '[::]:2121', '--pasv-ports', `${PASV[0]}-${PASV[1]}`, '--log', log], /listening/);
    lab.redirect(2121);
    const small = files['small.bin']!;
    const url4 = `ftp://${ADDR.server4}/pub/small.bin`;
    const url6 = `ftp://[${ADDR.server6}]/pub/small.bin`;
    const ok = (r: { code: number | null; file: string; stderr: string }): void => {
      expect(r.code, r.stderr).toBe(0);
      expect(sha(r.file)).toBe(small.sha256);
    };

    // Only the control port is redirected.
    // curl (EPSV, and PASV too: it ignores the 227 address by default) dials the server's address
    // on the proxy's passive port; the router forwards that to the server, which refuses it.
    for (const flags of [[], ['--disable-epsv']]) {
      const r = await curl(url4, flags);
      expect(r.code, `curl ${flags.join(' ')} should fail without the passive-port rule`).not.toBe(0);
    }
    ok(await curl(url4, ['--disable-epsv', '--no-ftp-skip-pasv-ip'])); // PASV to the 227 address: the proxy itself
    ok(await curl(url4, ['-P', '-'])); // active: the proxy connects to the client
    ok(await lftp(ADDR.server4, [])); // lftp uses PASV and the 227 address

    // With the passive ports redirected too (keeping the port), every client gets its data.
    lab.redirectPorts(PASV);
    ok(await curl(url4));
    ok(await curl(url4, ['--disable-epsv']));
    ok(await curl(url6));
    ok(await lftp(ADDR.server4, ['set ftp:prefer-epsv yes']));
    ok(await lftp(ADDR.server6, []));

    expect(await proxy.stop()).toBe(0);
    const sessionLines = proxy.out().split('\n').filter((l) => l.startsWith('session '));
    expect(sessionLines.length).toBe(10);
    for (const l of sessionLines) expect(l).toMatch(/ → (10\.88\.0\.1:21|\[fd88::1\]:21) /);
    // The log names the original server of every session, as soon as it is known.
    const events = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; session: number; originalServer?: { ip: string; port: number }; sessionInfo?: { client: { ip: string }; originalServer?: { ip: string; port: number } } });
    const opened = events.filter((e) => e.type === 'session-open');
    expect(opened).toHaveLength(10);
    for (const o of opened) {
      const want = { ip: o.sessionInfo!.client.ip.includes(':') ? ADDR.server6 : ADDR.server4, port: 21 };
      const named = events.find((e) => e.type === 'session-server' && e.session === o.session);
      expect(named?.originalServer, `session ${o.session}`).toEqual(want);
      expect(events.find((e) => e.type === 'session-close' && e.session === o.session)?.sessionInfo?.originalServer).toEqual(want);
    }
  }, 120_000);

  it('a 100 MB download with --record and --log: the recording analyses to one session, the original server, zero missing bytes and the served sha256', async () => {
    lab.unredirect();
    lab.redirect(2121);
    lab.redirectPorts(PASV);
    const rec = path.join(lab.dir, 'big.pcapng');
    const proxy = await ftpscope('router', ['proxy', '--mode', 'transparent', '--listen', '[::]:2121', '--pasv-ports', `${PASV[0]}-${PASV[1]}`,
      '--record', rec, '--log', path.join(lab.dir, 'big.ndjson')], /listening/);
    const big = files['big.bin']!;
    const r = await curl(`ftp://${ADDR.server4}/pub/big.bin`);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(r.file)).toBe(big.sha256);
    fs.rmSync(r.file);
    expect(await proxy.stop()).toBe(0);
    expect(proxy.out()).toMatch(/recording: \d+ packets written, none left out/);
    const rep = await lab.run('router', process.execPath, [CLI, 'report', rec, '--json', '--ftp-port', '2121'], 120_000);
    expect(rep.code, rep.stderr).toBe(0);
    const report = JSON.parse(rep.stdout) as {
      sessions: { server: { port: number }; originalServer?: object; dataConnections: { direction: string; bytes: number; missingBytes: number; sha256: string | null; complete: boolean }[] }[];
      unpairedDataConnections: unknown[]; findings: { code: string }[];
    };
    expect(report.sessions).toHaveLength(1);
    expect(report.unpairedDataConnections).toEqual([]);
    expect(report.findings.map((f) => f.code)).not.toContain('capture-drops-recorded');
    const s = report.sessions[0]!;
    expect(s.server.port).toBe(2121);
    expect(s.originalServer).toEqual({ ip: ADDR.server4, port: 21 });
    const dc = s.dataConnections.find((d) => d.direction === 'download')!;
    expect([dc.bytes, dc.missingBytes, dc.sha256, dc.complete]).toEqual([big.size, 0, big.sha256, true]);
    fs.rmSync(rec);
  }, 120_000);

  it('proxy --tui under tmux: the byte count of a rate-limited transfer grows on screen while it runs, then the ladder draws the FINs', async () => {
    lab.unredirect();
    lab.redirect(2121);
    lab.redirectPorts(PASV);
    const t = tmuxForTest('lvpx', 'lv-netns');
    t.tmux('new-session', '-d', '-s', 'lvpx', '-x', '160', '-y', '110',
      `ip netns exec ${lab.ns.router} ${process.execPath} ${CLI} proxy --mode transparent --listen '[::]:2121' --pasv-ports ${PASV[0]}-${PASV[1]} --tui; echo __EXIT=$?; sleep 60`);
    await t.waitFor(/waiting for the first FTP session on \[::\]:2121/, 'the empty dashboard saying what it waits for');
    const mid = files['mid.bin']!;
    const file = path.join(lab.dir, 'tui-mid.bin');
    // The server's link is the bottleneck (6 MB/s, about 4 s for the file): the proxy relays at that rate from the start.
    lab.limitServer(48);
    const download = lab.run('client', 'curl', ['-sS', '-o', file, `ftp://${ADDR.server4}/pub/mid.bin`], 90_000);
    // Sample the data connection's row while it runs: its bytes column must move, more than once.
    const seen: number[] = [];
    const unit: Record<string, number> = { B: 1, KiB: 1024, MiB: 1048576 };
    const row = /└ RETR mid\.bin .*?(\d+(?:\.\d+)?) (B|KiB|MiB) +▸ /;
    const deadline = Date.now() + 30_000;
    let running = true;
    while (Date.now() < deadline && running) {
      const m = row.exec(t.pane());
      if (m) {
        const n = Number(m[1]) * unit[m[2]!]!;
        if (seen.at(-1) !== n) seen.push(n);
      } else if (seen.length > 0) {
        running = false;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    // Three or more figures below the final one, each larger than the last: it moved while it ran.
    expect(seen.filter((n) => n < mid.size).length, `byte counts seen while running: ${seen.join(', ')}`).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    const r = await download;
    lab.limitServer(null);
    expect(r.code, r.stderr).toBe(0);
    expect(sha(file)).toBe(mid.sha256);
    // The session, relayed to the server the client dialled; the transfer done.
    let text = await t.waitFor(/└ RETR mid\.bin .*24 MiB +✓ 226/, 'the finished transfer');
    expect(text).toContain(`→ ${ADDR.server4}:21 via `);
    // Its ladder: both sides' FINs of the data connection and of the control connection (curl quit).
    await t.keys('Enter');
    text = await t.waitFor(/D1 FIN[\s\S]*D1 FIN/, 'the data connection FINs in the ladder');
    text = await t.waitFor(/\|-- FIN -+>\|[\s\S]*\|<-+ FIN --\||\|<-+ FIN --\|[\s\S]*\|-- FIN -+>\|/, 'the control connection FINs in the ladder');
    expect(text).toContain(`server ${ADDR.server4}:21 via `);
    expect(text).not.toContain('so far');
    await t.keys('q');
    text = await t.waitFor(/__EXIT=0/, 'the proxy to exit with its summary');
    expect(text).toMatch(new RegExp(`session 1 +10\\.88\\.2\\.2:\\d+ +→ 10\\.88\\.0\\.1:21`));
    expect(text).toContain(`download /pub/mid.bin  ${mid.size} bytes  complete  sha256 ${mid.sha256}`);
  }, 120_000);

  it('capture --tui with a tiny kernel buffer: drops in the status line as they happen, said on quit with what to change, and in the -w file', async () => {
    lab.unredirect(); // the client reaches vsftpd directly
    const t = tmuxForTest('lvcap', 'lv-netns');
    const out = path.join(lab.dir, 'drops.pcapng');
    t.tmux('new-session', '-d', '-s', 'lvcap', '-x', '150', '-y', '40',
      `ip netns exec ${lab.ns.client} ${process.execPath} ${CLI} capture -i lvc0 -f tcp --tui -B 64 --immediate -s 65535 -w ${out}; echo __EXIT=$?; sleep 60`);
    await t.waitFor(/waiting for the first FTP session on lvc0/, 'the empty capture dashboard');
    const download = lab.run('client', 'curl', ['-sS', '--limit-rate', '4M', '-o', '/dev/null', `ftp://${ADDR.server4}/pub/mid.bin`], 90_000);
    await t.waitFor(/! the kernel has dropped \d+ packets on lvc0/, 'kernel drops in the status line while capturing');
    expect((await download).code).toBe(0);
    await t.keys('q');
    await t.waitFor(/__EXIT=0/, 'the capture to stop');
    const text = t.tmux('capture-pane', '-p', '-J', '-t', 'lvcap'); // the quit line, unwrapped
    expect(text).toMatch(/\d+ DROPPED by the kernel \(the report has gaps\)\. Give it a bigger kernel buffer \(-B \d+ KiB; it was 64 KiB\)/);
    const rep = await lab.run('client', process.execPath, [CLI, 'report', out, '--json'], 60_000);
    const report = JSON.parse(rep.stdout) as { findings: { code: string; message: string }[] };
    expect(report.findings.find((f) => f.code === 'capture-drops-recorded')?.message).toMatch(/dropped by the kernel while capturing on lvc0/);
  }, 120_000);
});

/**
 * Proxy benchmark (npm run bench:proxy): the same transfers direct and through the proxy, in
 * the same run, on loopback. Peers are separate processes: vsftpd (the server) and curl (the
 * client); the proxy runs in this process with its full analysis (pairing, sha256 of every
 * data byte). Prints ratios; targets are >= 80% of direct throughput and < 1 ms added per
 * command round trip. The proxy runs in its own process (this file with --serve-proxy), as it
 * does in use: the benchmark spawning curls must not stall its event loop, and its CPU time is
 * read from /proc apart from the benchmark's.
 * The single transfer is measured --runs times, direct, proxied and through a bare relay (the
 * floor any Node relay pays, see serveBareRelay) in turn, so all see the same load from whatever
 * else runs on the machine; the median ratio is the result.
 * Each run also goes through a proxy started with --no-hash (same relay, no sha256), and, with
 * --modproxy DIR (proftpd-core, proftpd-basic and proftpd-mod-proxy unpacked there with
 * `apt-get download` + `dpkg -x`, with their libraries), through ProFTPD mod_proxy in reverse mode.
 * Then the soak figures: --sessions trivial sessions (greeting, USER, PASS, QUIT; 16 at a time)
 * direct, through the proxy and through mod_proxy: sessions per second, and the proxy's RSS every 1000.
 *   node dist/bench/proxy.js [--size-mb 1024] [--runs 3] [--parallel 50] [--noops 1000] [--sessions 10000]
 *                            [--data-mode client|passive|active] [--modproxy DIR] [--record-dir DIR]
 *   node dist/bench/proxy.js --abuse-soak 300     (the local soak: see abuseSoak)
 */
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startProxy } from '../src/proxy/server.js';
import type { DataMode } from '../src/proxy/rewrite.js';
import { freeSlots, gcFigures, procStats, runLoad, spawnProxy as spawnCli, startPeers, writeGcProbe } from './abuse.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const SIZE_MB = Number(arg('--size-mb', '1024'));
const PARALLEL = Number(arg('--parallel', '50'));
const NOOPS = Number(arg('--noops', '1000'));
const DATA_MODE = arg('--data-mode', 'client') as DataMode;
const RUNS = Math.max(1, Number(arg('--runs', '3')));
/** Where --record and --log write (the disk under test; /dev/shm takes the disk out and leaves the recording's CPU cost). */
const RECORD_DIR = arg('--record-dir', '');
const SESSIONS = Math.max(0, Number(arg('--sessions', '10000')));
const MODPROXY = arg('--modproxy', process.env.FTPSCOPE_BENCH_MODPROXY ?? '');
/** --baseline DIR: a build of the code before (DIR/dist/src/proxy/server.js), measured in the same run. */
const BASELINE = arg('--baseline', '');

function say(s: string): void {
  process.stdout.write(s + '\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** User and system CPU seconds of one process (not its children). */
function cpuOf(pid: number): { user: number; sys: number } {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLK_TCK, sys: Number(fields[12]) / CLK_TCK };
}

/** The proxy in a child process; resolves once it listens. It stops when its stdin closes. */
async function spawnProxy(upstreamPort: number, role = '--serve-proxy', extra: string[] = []): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  // execArgv: `node --cpu-prof dist/bench/proxy.js` profiles the proxy process too.
  const child = spawn(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, role, '--upstream-port', String(upstreamPort), '--data-mode', DATA_MODE, ...extra], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.on('exit', (code) => reject(new Error(`proxy process exited (${code})`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.stdin.end();
    }),
  };
}

async function serveProxy(): Promise<void> {
  // --proxy-module: another build's src/proxy/server.js (the code before a change, measured in the same run).
  const mod = arg('--proxy-module', '');
  const start = mod ? ((await import(path.resolve(mod))) as { startProxy: typeof startProxy }).startProxy : startProxy;
  // Every client of the benchmark comes from 127.0.0.1: the per-address limits would measure themselves.
  const proxy = await start({
    mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: '127.0.0.1', port: Number(arg('--upstream-port', '0')) }, dataMode: DATA_MODE,
    maxSessionsPerAddress: 0, connectRatePerMinute: 0, maxSessions: 2000, hash: !process.argv.includes('--no-hash'),
  });
  process.stdout.write(`${proxy.address().port}\n`);
  process.stdin.on('close', () => { void proxy.close().then(() => process.exit(0)); });
  process.stdin.resume();
}

/**
 * The floor of any FTP relay written on Node: control bytes piped as they are except 227/229
 * replies, pointed at a one-shot listener whose connection is piped to the server's data port.
 * No decoding, no hashing, no analysis. Measured next to the proxy, it shows how much of the gap
 * to direct any relay in this runtime pays (two more socket copies per byte), and how much is ours.
 */
async function serveBareRelay(): Promise<void> {
  const upstreamPort = Number(arg('--upstream-port', '0'));
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    client.pipe(upstream);
    let pending = '';
    let holding = false;
    const drain = (): void => {
      let nl: number;
      while (!holding && (nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl + 1);
        pending = pending.slice(nl + 1);
        const pasv = /^227 .*\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(line);
        const epsv = /^229 .*\(\|\|\|(\d+)\|\)/.exec(line);
        if (!pasv && !epsv) {
          client.write(line, 'latin1');
          continue;
        }
        const dataPort = pasv ? Number(pasv[5]) * 256 + Number(pasv[6]) : Number(epsv![1]);
        // Later replies wait until the rewritten one is out (its listener listens).
        holding = true;
        const once = net.createServer((dc) => {
          once.close();
          const ds = net.connect(dataPort, '127.0.0.1');
          dc.pipe(ds);
          ds.pipe(dc);
          dc.on('error', () => ds.destroy());
          ds.on('error', () => dc.destroy());
        });
        once.listen(0, '127.0.0.1', () => {
          const p = (once.address() as net.AddressInfo).port;
          client.write(pasv ? `227 Entering Passive Mode (127,0,0,1,${p >> 8},${p & 255}).\r\n` : `229 Entering Extended Passive Mode (|||${p}|)\r\n`);
          holding = false;
          drain();
        });
      }
    };
    upstream.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      drain();
    });
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as net.AddressInfo).port}\n`));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}

/**
 * `ftpscope proxy --log F --record F` as a user runs it (the CLI, its own process): started per
 * run so each recording starts empty, and stopped with SIGINT so the recording is finished and
 * its exit summary says whether anything was left out.
 */
async function spawnRecordingProxy(upstreamPort: number, dir: string): Promise<{ port: number; pid: number; stop(): Promise<string> }> {
  const cli = new URL('../src/cli/main.js', import.meta.url).pathname;
  const log = path.join(RECORD_DIR || dir, `bench-${process.pid}.ndjson`);
  const rec = path.join(RECORD_DIR || dir, `bench-${process.pid}.pcapng`);
  const child = spawn(process.execPath, [cli, 'proxy', '--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${upstreamPort}`, '--data-mode', DATA_MODE,
    '--log', log, '--record', rec], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  const port = await new Promise<number>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`recording proxy exited (${code}): ${err}`)));
  });
  return {
    port,
    pid: child.pid!,
    stop: () => new Promise<string>((resolve) => {
      child.once('exit', () => {
        fs.rmSync(log, { force: true });
        fs.rmSync(rec, { force: true });
        resolve(out);
      });
      child.kill('SIGINT');
    }),
  };
}

/** CPU seconds of a process and its reaped children (vsftpd forks a process per session and reaps it). */
function cpuOfTree(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // Fields 14-17 of proc(5) (utime stime cutime cstime) are 11-14 after the command name.
  const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  return ticks / CLK_TCK;
}
/** vsftpd's session processes: their CPU time reaches the master only once it has reaped them. */
async function reaped(pid: number): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const busy = fs.readdirSync('/proc').some((d) => {
      if (!/^\d+$/.test(d)) return false;
      try {
        const st = fs.readFileSync(`/proc/${d}/stat`, 'latin1');
        return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    });
    if (!busy) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'latin1' }).trim()) || 100;

async function startVsftpd(dir: string): Promise<{ port: number; pid: number; stop(): void }> {
  const port = await freePort();
  const root = path.join(dir, 'root');
  fs.mkdirSync(path.join(root, 'pub'), { recursive: true });
  fs.mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  const conf = path.join(dir, 'vsftpd.conf');
  fs.writeFileSync(conf, [
    'listen=YES', 'background=NO', 'listen_address=127.0.0.1', `listen_port=${port}`, 'anonymous_enable=YES',
    // The server asks for a password: ProFTPD mod_proxy does not accept a 230 to USER.
    'no_anon_password=NO', `anon_root=${root}`, 'local_enable=NO', 'seccomp_sandbox=NO',
    'secure_chroot_dir=/var/run/vsftpd/empty', 'connect_from_port_20=NO', 'max_clients=1000', 'max_per_ip=1000',
    'xferlog_enable=NO', 'pasv_enable=YES', 'port_enable=YES', '',
  ].join('\n'));
  const child = spawn('/usr/sbin/vsftpd', [conf], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

interface CurlResult { bytes: number; cpuSec: number }

/** One download with curl; its CPU time is read with the shell's `times` after it exits. */
function curl(port: number, file: string): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const script = 'curl -sS -o /dev/null -w "%{size_download}" "$1"; rc=$?; times >&2; exit $rc';
    const c = spawn('/bin/sh', ['-c', script, 'sh', `ftp://127.0.0.1:${port}/pub/${file}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => { out += d; });
    c.stderr.on('data', (d) => { err += d; });
    c.on('close', (code) => {
      const lines = err.trim().split('\n');
      const children = lines.pop() ?? '';
      const cpuSec = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((a, m) => a + Number(m[1]) * 60 + Number(m[2]), 0);
      if (code === 0) resolve({ bytes: Number(out), cpuSec });
      else reject(new Error(`curl: ${lines.join(' ').trim()}`));
    });
  });
}

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Sequential NOOP round trips on one control connection; mean ms per round trip. */
async function noopLatency(port: number, n: number): Promise<number> {
  const sock = net.connect(port, '127.0.0.1');
  sock.setNoDelay(true);
  sock.setEncoding('latin1');
  let buf = '';
  let wake: (() => void) | null = null;
  sock.on('data', (d: string) => { buf += d; wake?.(); });
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (/^\d{3} /.test(l)) return l;
        continue;
      }
      await new Promise<void>((r) => { wake = r; });
    }
  };
  await line();
  sock.write('USER anonymous\r\n');
  await line();
  sock.write('PASS x@y\r\n');
  await line();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    sock.write('NOOP\r\n');
    await line();
  }
  const ms = (performance.now() - t0) / n;
  sock.destroy();
  return ms;
}

const mbps = (bytes: number, ms: number) => (bytes / 1e6) / (ms / 1000);

/**
 * ProFTPD mod_proxy in reverse mode in front of the same vsftpd, from packages unpacked under
 * `root` (usr/sbin/proftpd, usr/lib/proftpd/mod_proxy.so and the libraries they need under
 * usr/lib/x86_64-linux-gnu). mod_proxy, loaded that way, needs the system libssl preloaded.
 */
async function startModProxy(root: string, dir: string, upstreamPort: number): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const run = path.join(dir, 'proftpd');
  fs.mkdirSync(path.join(run, 'tables'), { recursive: true });
  const conf = path.join(run, 'proftpd.conf');
  fs.writeFileSync(conf, [
    'ServerName "bench mod_proxy"', 'ServerType standalone', 'DefaultServer on', `Port ${port}`, 'DefaultAddress 127.0.0.1',
    'UseIPv6 off', 'User nobody', 'Group nogroup', `ModulePath ${path.join(root, 'usr/lib/proftpd')}`, 'LoadModule mod_proxy.c',
    `PidFile ${path.join(run, 'proftpd.pid')}`, `ScoreboardFile ${path.join(run, 'scoreboard')}`, 'DelayTable none', 'WtmpLog off',
    'TransferLog none', `SystemLog ${path.join(run, 'system.log')}`, 'MaxInstances 2000', 'TimeoutIdle 600',
    // No reverse lookup per session (the proxy does none either).
    'UseReverseDNS off', 'DelayEngine off',
    '<IfModule mod_proxy.c>', '  ProxyEngine on', '  ProxyRole reverse', `  ProxyReverseServers ftp://127.0.0.1:${upstreamPort}`,
    `  ProxyTables ${path.join(run, 'tables')}`, `  ProxyLog ${path.join(run, 'proxy.log')}`, '</IfModule>', '',
  ].join('\n'));
  // proftpd refuses a scoreboard in a world-writable directory; the tables are written after it drops to nobody.
  fs.chmodSync(run, 0o755);
  fs.chmodSync(path.join(run, 'tables'), 0o777);
  const libssl = execFileSync('sh', ['-c', 'ldconfig -p | sed -n "s/.*libssl.so.3 .*=> //p" | head -1'], { encoding: 'latin1' }).trim();
  const child = spawn(path.join(root, 'usr/sbin/proftpd'), ['-n', '-q', '-c', conf], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LD_LIBRARY_PATH: path.join(root, 'usr/lib/x86_64-linux-gnu'), LD_PRELOAD: libssl },
  });
  let err = '';
  child.stderr!.on('data', (d) => { err += d; });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`proftpd exited: ${err.trim()}`);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port, pid: child.pid!,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) { resolve(); return; }
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/**
 * `n` trivial sessions (greeting, USER, PASS, QUIT), `concurrency` at a time, each on a new
 * control connection; `every` is called after each 1000. Returns sessions per second.
 */
async function sessionSoak(port: number, n: number, concurrency: number, every?: (done: number) => void): Promise<{ perSec: number; failed: number }> {
  let next = 0;
  let done = 0;
  let failed = 0;
  const one = () => new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setEncoding('latin1');
    let buf = '';
    let step = 0;
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 20_000);
    s.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!/^\d{3} /.test(l)) continue;
        if (step === 0 && l.startsWith('220')) { s.write('USER anonymous\r\n'); step = 1; }
        else if (step === 1 && l.startsWith('331')) { s.write('PASS x@y\r\n'); step = 2; }
        else if (step === 2 && l.startsWith('230')) { s.write('QUIT\r\n'); step = 3; }
        else if (step === 3 && l.startsWith('221')) { step = 4; }
        else { s.destroy(); }
      }
    });
    s.on('error', () => {});
    s.on('close', () => { clearTimeout(t); resolve(step === 4); });
  });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < n) {
      next++;
      if (!(await one())) failed++;
      if (++done % 1000 === 0) every?.(done);
    }
  }));
  return { perSec: n / ((performance.now() - t0) / 1000), failed };
}

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  if (!fs.existsSync('/usr/sbin/vsftpd')) {
    say('bench:proxy needs vsftpd (apt-get install vsftpd) and curl');
    process.exitCode = 2;
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpscope-bench-proxy-'));
  fs.chmodSync(dir, 0o755);
  const ftpd = await startVsftpd(dir);
  const pub = path.join(dir, 'root', 'pub');
  const size = SIZE_MB * 1024 * 1024;
  // Random content (not sparse): the proxy hashes every byte, as it does for real traffic.
  const chunk = Buffer.alloc(8 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.random() * 0x100000000) >>> 0, i);
  const fd = fs.openSync(path.join(pub, 'big.bin'), 'w');
  for (let off = 0; off < size; off += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, size - off));
  fs.closeSync(fd);
  const each = Math.floor(size / PARALLEL);
  for (let i = 0; i < PARALLEL; i++) fs.writeFileSync(path.join(pub, `p${i}.bin`), chunk.subarray(0, Math.min(each, chunk.length)));
  const eachBytes = Math.min(each, chunk.length);
  // Warm the page cache so both runs read from memory.
  execFileSync('cat', [path.join(pub, 'big.bin')], { stdio: 'ignore', maxBuffer: 1 });

  const proxy = await spawnProxy(ftpd.port);
  const pport = proxy.port;
  const bare = await spawnProxy(ftpd.port, '--serve-bare-relay');
  const nohash = await spawnProxy(ftpd.port, '--serve-proxy', ['--no-hash']);
  const baseline = BASELINE ? await spawnProxy(ftpd.port, '--serve-proxy', ['--proxy-module', path.join(BASELINE, 'dist/src/proxy/server.js')]) : null;
  let modproxy: Awaited<ReturnType<typeof startModProxy>> | null = null;
  if (MODPROXY) {
    try {
      modproxy = await startModProxy(MODPROXY, dir, ftpd.port);
    } catch (e) {
      say(`mod_proxy not measured: ${(e as Error).message}`);
    }
  }
  try {
    say(`ftpscope proxy benchmark: ${SIZE_MB} MB single transfer, ${PARALLEL} parallel transfers, ${NOOPS} NOOP round trips; data mode ${DATA_MODE}; node ${process.version}, ${os.cpus().length} CPUs; --record and --log to ${RECORD_DIR || dir}`);
    say('');
    const single = async (port: number) => {
      await reaped(ftpd.pid);
      const ftpd0 = cpuOfTree(ftpd.pid);
      const proxy0 = cpuOf(proxy.pid);
      const r = await timed(() => curl(port, 'big.bin'));
      const proxy1 = cpuOf(proxy.pid);
      if (r.value.bytes !== size) throw new Error('short transfer');
      await reaped(ftpd.pid);
      return { mbps: mbps(size, r.ms), curl: r.value.cpuSec, ftpd: cpuOfTree(ftpd.pid) - ftpd0, user: proxy1.user - proxy0.user, sys: proxy1.sys - proxy0.sys };
    };
    const gb = size / 2 ** 30;
    const perGb = (s: number) => `${(s / gb).toFixed(2)}`;
    const ratios: number[] = [];
    const bareRatios: number[] = [];
    const recRatios: number[] = [];
    const nohashRatios: number[] = [];
    const modRatios: number[] = [];
    const vsMod: number[] = [];
    const baseRatios: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      const direct = await single(ftpd.port);
      const proxied = await single(pport);
      const relayed = await single(bare.port);
      const unhashed = await single(nohash.port);
      const viaMod = modproxy ? await single(modproxy.port) : null;
      const viaBase = baseline ? await single(baseline.port) : null;
      // The same proxy with --log and --record (the recording waits for the disk by default: nothing is left out).
      const recording = await spawnRecordingProxy(ftpd.port, dir);
      await reaped(ftpd.pid);
      const recCpu0 = cpuOf(recording.pid);
      const t0 = performance.now();
      const rec = await timed(() => curl(recording.port, 'big.bin'));
      if (rec.value.bytes !== size) throw new Error('short transfer through the recording proxy');
      const recCpu1 = cpuOf(recording.pid);
      const recCpu = { user: recCpu1.user - recCpu0.user, sys: recCpu1.sys - recCpu0.sys };
      const summary = await recording.stop();
      const finished = performance.now() - t0;
      const recMbps = mbps(size, rec.ms);
      recRatios.push(recMbps / proxied.mbps);
      const proxyCpu = proxied.user + proxied.sys;
      ratios.push(proxied.mbps / direct.mbps);
      bareRatios.push(relayed.mbps / direct.mbps);
      nohashRatios.push(unhashed.mbps / direct.mbps);
      say(`single 1x${SIZE_MB} MB #${run}  direct ${direct.mbps.toFixed(0).padStart(6)} MB/s   proxy ${proxied.mbps.toFixed(0).padStart(6)} MB/s   ratio ${(proxied.mbps / direct.mbps * 100).toFixed(1)}%   load average ${os.loadavg()[0].toFixed(1)}`);
      say(`  proxy --no-hash ${unhashed.mbps.toFixed(0)} MB/s, ${(unhashed.mbps / direct.mbps * 100).toFixed(1)}% of direct (target >= 75%)`);
      if (viaBase) {
        baseRatios.push(viaBase.mbps / direct.mbps);
        say(`  baseline build (${BASELINE}) ${viaBase.mbps.toFixed(0)} MB/s, ${(viaBase.mbps / direct.mbps * 100).toFixed(1)}% of direct`);
      }
      if (viaMod) {
        modRatios.push(viaMod.mbps / direct.mbps);
        vsMod.push(proxied.mbps / viaMod.mbps);
        say(`  ProFTPD mod_proxy ${viaMod.mbps.toFixed(0)} MB/s, ${(viaMod.mbps / direct.mbps * 100).toFixed(1)}% of direct; ftpscope/mod_proxy ${(proxied.mbps / viaMod.mbps).toFixed(2)}x (--no-hash ${(unhashed.mbps / viaMod.mbps).toFixed(2)}x)`);
      }
      say(`  bare Node relay (no decoding, no hashing) ${relayed.mbps.toFixed(0)} MB/s, ${(relayed.mbps / direct.mbps * 100).toFixed(1)}% of direct: the floor any relay in this runtime pays`);
      say(`  CPU s per GB    direct: vsftpd ${perGb(direct.ftpd)} + curl ${perGb(direct.curl)} = ${perGb(direct.ftpd + direct.curl)}`);
      say(`                  proxy:  vsftpd ${perGb(proxied.ftpd)} + curl ${perGb(proxied.curl)} + proxy ${perGb(proxyCpu)} (user ${perGb(proxied.user)}, sys ${perGb(proxied.sys)}) = ${perGb(proxied.ftpd + proxied.curl + proxyCpu)}`);
      say(`  the proxy's own cost (relay + analysis incl. sha256) allows ${mbps(size, proxyCpu * 1000).toFixed(0)} MB/s on one core`);
      say(`  with --log and --record: ${recMbps.toFixed(0)} MB/s, ${(recMbps / proxied.mbps * 100).toFixed(1)}% of the bare proxy (target >= 70%); ` +
        `CPU s per GB: proxy ${perGb(recCpu.user + recCpu.sys)} (user ${perGb(recCpu.user)}, sys ${perGb(recCpu.sys)}: the kernel writing the file) ` +
        `against ${perGb(proxyCpu)} bare; recording finished ${(finished / 1000).toFixed(2)} s after the transfer began; ` +
        `${/recording: (.*)/.exec(summary)?.[1] ?? 'no recording summary'}`);
    }
    for (const l of [ratios, bareRatios, nohashRatios, modRatios, vsMod, baseRatios]) l.sort((a, b) => a - b);
    const med = (list: number[]) => (list[Math.floor((list.length - 1) / 2)]! * 100).toFixed(1);
    recRatios.sort((a, b) => a - b);
    say(`single 1x${SIZE_MB} MB median ratio ${med(ratios)}% of ${RUNS} (target >= 80%); --no-hash ${med(nohashRatios)}% (target >= 75%); bare relay ${med(bareRatios)}%` +
      `${modRatios.length ? `; mod_proxy ${med(modRatios)}%, ftpscope/mod_proxy ${(Number(med(vsMod)) / 100).toFixed(2)}x` : ''}` +
      `${baseRatios.length ? `; baseline build ${med(baseRatios)}%` : ''}; ${os.cpus().length} CPUs shared by vsftpd, curl and (proxied) the proxy`);
    say(`  --log and --record: median ${med(recRatios)}% of the bare proxy's throughput (target >= 70%)`);

    const par = (port: number) => Promise.all(Array.from({ length: PARALLEL }, (_, i) => curl(port, `p${i}.bin`)));
    const directN = await timed(() => par(ftpd.port));
    const cpuN0 = cpuOf(proxy.pid);
    const proxiedN = await timed(() => par(pport));
    const cpuN1 = cpuOf(proxy.pid);
    const totalN = eachBytes * PARALLEL;
    const dN = mbps(totalN, directN.ms);
    const pN = mbps(totalN, proxiedN.ms);
    say(`parallel ${PARALLEL}x${(eachBytes / 1048576).toFixed(1)} MB  direct ${dN.toFixed(0).padStart(6)} MB/s   proxy ${pN.toFixed(0).padStart(6)} MB/s   ratio ${(pN / dN * 100).toFixed(1)}%  (target >= 80%)`);
    say(`  proxy CPU ${((cpuN1.user + cpuN1.sys - cpuN0.user - cpuN0.sys) / (totalN / 2 ** 30)).toFixed(2)} s per GB (${PARALLEL} sessions: control, relays, analysis)`);

    // Round trips in rounds that alternate the targets, so that a burst of load elsewhere on the
    // machine lands on all of them; the median of the rounds is the figure.
    const targets: [string, number][] = [['direct', ftpd.port], ['proxy', pport]];
    if (baseline) targets.push(['baseline build', baseline.port]);
    if (modproxy) targets.push(['mod_proxy', modproxy.port]);
    const ROUNDS = 5;
    const lat = new Map<string, number[]>(targets.map(([name]) => [name, []]));
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, port] of targets) lat.get(name)!.push(await noopLatency(port, Math.max(1, Math.round(NOOPS / ROUNDS))));
    }
    const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const ld = medianOf(lat.get('direct')!);
    const lp = medianOf(lat.get('proxy')!);
    say(`NOOP round trip x${NOOPS} (median of ${ROUNDS} alternating rounds)  direct ${(ld * 1000).toFixed(0).padStart(6)} µs     proxy ${(lp * 1000).toFixed(0).padStart(6)} µs     added ${((lp - ld) * 1000).toFixed(0)} µs  (target < 1000 µs)`);
    for (const [name] of targets.slice(2)) {
      const l = medianOf(lat.get(name)!);
      say(`  ${name} ${(l * 1000).toFixed(0)} µs per NOOP round trip (added ${((l - ld) * 1000).toFixed(0)} µs)`);
    }

    if (SESSIONS > 0) {
      // Soak figures: sessions per second sustained, and what the proxy's memory does over them.
      await reaped(ftpd.pid);
      const sd = await sessionSoak(ftpd.port, Math.min(SESSIONS, 2000), 16);
      await reaped(ftpd.pid);
      const rss0 = rssMb(proxy.pid);
      const marks: string[] = [];
      const sp = await sessionSoak(pport, SESSIONS, 16, (n) => { if (n % Math.max(1000, Math.floor(SESSIONS / 10 / 1000) * 1000) === 0) marks.push(`${n / 1000}k ${rssMb(proxy.pid).toFixed(0)}`); });
      const rss1 = rssMb(proxy.pid);
      say(`sessions (greeting, USER, PASS, QUIT; 16 at a time)  direct ${sd.perSec.toFixed(0)}/s   proxy ${sp.perSec.toFixed(0)}/s over ${SESSIONS} sessions` +
        `${sp.failed + sd.failed ? ` (${sp.failed + sd.failed} failed)` : ''}`);
      say(`  proxy RSS ${rss0.toFixed(0)} MB before, ${rss1.toFixed(0)} MB after ${SESSIONS} sessions; by thousands of sessions: ${marks.join(', ')} MB`);
      if (baseline) {
        await reaped(ftpd.pid);
        const b0 = rssMb(baseline.pid);
        const sb = await sessionSoak(baseline.port, SESSIONS, 16);
        say(`  baseline build ${sb.perSec.toFixed(0)}/s; its RSS ${b0.toFixed(0)} MB before, ${rssMb(baseline.pid).toFixed(0)} MB after ${SESSIONS} sessions`);
      }
      if (modproxy) {
        await reaped(ftpd.pid);
        const sm = await sessionSoak(modproxy.port, Math.min(SESSIONS, 2000), 16);
        say(`  mod_proxy ${sm.perSec.toFixed(0)}/s${sm.failed ? ` (${sm.failed} failed)` : ''}`);
      }
    }
  } finally {
    await modproxy?.stop();
    await baseline?.stop();
    await nohash.stop();
    await bare.stop();
    await proxy.stop();
    ftpd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The local soak (not in CI): `node dist/bench/proxy.js --abuse-soak 300`. The CI test's load
 * (bench/abuse.ts) for that many seconds after a 30 s warm-up, the proxy CLI's RSS and
 * descriptors sampled every 10 s; the growth after the warm-up is the figure (target < 10 MB).
 */
async function abuseSoak(seconds: number): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pxy-abuse-soak-'));
  const peers = await startPeers(dir);
  const log = path.join(dir, 'events.ndjson');
  const probe = writeGcProbe(dir);
  const proxy = await spawnCli(peers, ['--max-sessions', '80', '--max-sessions-per-address', '8', '--max-connect-rate', '3000',
    '--login-timeout', '3', '--tls-handshake-timeout', '2', '--greeting-timeout', '2', '-q'], log, ['--expose-gc', '--require', probe.preload]);
  const mb = (b: number) => (b / 1048576).toFixed(1);
  try {
    say(`abuse soak: ${seconds} s of load after a 30 s warm-up; proxy pid ${proxy.pid}; node ${process.version}, ${os.cpus().length} CPUs`);
    say('every 10 s: RSS as it is, then heap and RSS right after a full GC (the probe; heap is what a leak grows)');
    const warm = await runLoad({ proxyPort: proxy.port, peers, durationMs: 30_000 });
    const base = procStats(proxy.pid);
    const baseGc = await gcFigures(proxy.pid, probe.out);
    say(`after warm-up  RSS ${mb(base.rssKb * 1024)} MB  fds ${base.fds}  after GC: heap ${mb(baseGc.heapUsed)} MB, RSS ${mb(baseGc.rss)} MB` +
      `  (warm-up: ${JSON.stringify(warm.ok)}, ${warm.failed.length} failed)`);
    const samples: { t: number; rssKb: number; fds: number; heap: number; gcRss: number }[] = [];
    const t0 = Date.now();
    let sampling = Promise.resolve();
    const timer = setInterval(() => {
      sampling = sampling.then(async () => {
        const st = procStats(proxy.pid);
        const g = await gcFigures(proxy.pid, probe.out);
        const t = Math.round((Date.now() - t0) / 1000);
        samples.push({ t, ...st, heap: g.heapUsed, gcRss: g.rss });
        say(`t=${String(t).padStart(4)} s  RSS ${mb(st.rssKb * 1024).padStart(6)} MB  fds ${String(st.fds).padStart(4)}   after GC: heap ${mb(g.heapUsed).padStart(6)} MB  RSS ${mb(g.rss).padStart(6)} MB`);
      }).catch(() => {});
    }, 10_000);
    const load = await runLoad({ proxyPort: proxy.port, peers, durationMs: seconds * 1000 });
    clearInterval(timer);
    await sampling;
    // Quiet again: what the load left behind.
    for (let i = 0; i < 100 && procStats(proxy.pid).fds > base.fds; i++) await new Promise((r) => setTimeout(r, 200));
    const end = procStats(proxy.pid);
    const endGc = await gcFigures(proxy.pid, probe.out);
    const slots = await freeSlots(proxy.port, Array.from({ length: 10 }, (_, i) => `127.0.0.${20 + i}`), 80);
    const first = samples.slice(0, Math.max(1, Math.floor(samples.length / 3)));
    const last = samples.slice(-Math.max(1, Math.floor(samples.length / 3)));
    const avg = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    say(`legitimate transfers: ${JSON.stringify(load.ok)}; failed ${load.failed.length}${load.failed.length ? ': ' + load.failed.slice(0, 3).join(' | ') : ''}`);
    say(`abuse rounds: ${JSON.stringify(load.abuse)}`);
    say(`heap after GC: ${mb(baseGc.heapUsed)} MB after warm-up, ${mb(endGc.heapUsed)} MB after the load (growth ${mb(endGc.heapUsed - baseGc.heapUsed)} MB); ` +
      `first third of the load ${mb(avg(first.map((x) => x.heap)))} MB on average, last third ${mb(avg(last.map((x) => x.heap)))} MB`);
    say(`RSS after GC: ${mb(baseGc.rss)} MB after warm-up, ${mb(endGc.rss)} MB after the load (growth ${mb(endGc.rss - baseGc.rss)} MB; target < 10 MB); ` +
      `first third ${mb(avg(first.map((x) => x.gcRss)))} MB on average, last third ${mb(avg(last.map((x) => x.gcRss)))} MB`);
    say(`RSS as sampled (GC timing included): ${mb(base.rssKb * 1024)} MB after warm-up, min ${mb(Math.min(...samples.map((x) => x.rssKb)) * 1024)}, ` +
      `max ${mb(Math.max(...samples.map((x) => x.rssKb)) * 1024)} during the load, ${mb(end.rssKb * 1024)} MB after it`);
    say(`fds after warm-up ${base.fds}, during the load max ${Math.max(...samples.map((x) => x.fds))}, after the load ${end.fds}`);
    say(`slots after the load: ${slots.greeted} of 80 connections greeted`);
    say(`log: ${(fs.statSync(log).size / 1e6).toFixed(1)} MB, ${fs.readFileSync(log, 'latin1').split('\n').length - 1} lines`);
    const keep = arg('--keep-log', '');
    if (keep) fs.copyFileSync(log, keep);
  } finally {
    await proxy.stop();
    await peers.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const soakAt = process.argv.indexOf('--abuse-soak');
(process.argv.includes('--serve-proxy') ? serveProxy() : process.argv.includes('--serve-bare-relay') ? serveBareRelay()
  : soakAt > 0 ? abuseSoak(Number(process.argv[soakAt + 1] ?? '300')) : main()).catch((e) => {
  process.stderr.write(`bench:proxy: ${(e as Error).message}\n`);
  process.exitCode = 1;
});

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
 *   node dist/bench/proxy.js [--size-mb 1024] [--runs 3] [--parallel 50] [--noops 1000] [--data-mode client|passive|active] [--record-dir DIR]
 */
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startProxy } from '../src/proxy/server.js';
import type { DataMode } from '../src/proxy/rewrite.js';

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
async function spawnProxy(upstreamPort: number, role = '--serve-proxy'): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  // execArgv: `node --cpu-prof dist/bench/proxy.js` profiles the proxy process too.
  const child = spawn(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, role, '--upstream-port', String(upstreamPort), '--data-mode', DATA_MODE], { stdio: ['pipe', 'pipe', 'inherit'] });
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
  const proxy = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: '127.0.0.1', port: Number(arg('--upstream-port', '0')) }, dataMode: DATA_MODE });
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
    'no_anon_password=YES', `anon_root=${root}`, 'local_enable=NO', 'seccomp_sandbox=NO',
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
    for (let run = 1; run <= RUNS; run++) {
      const direct = await single(ftpd.port);
      const proxied = await single(pport);
      const relayed = await single(bare.port);
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
      say(`single 1x${SIZE_MB} MB #${run}  direct ${direct.mbps.toFixed(0).padStart(6)} MB/s   proxy ${proxied.mbps.toFixed(0).padStart(6)} MB/s   ratio ${(proxied.mbps / direct.mbps * 100).toFixed(1)}%   load average ${os.loadavg()[0].toFixed(1)}`);
      say(`  bare Node relay (no decoding, no hashing) ${relayed.mbps.toFixed(0)} MB/s, ${(relayed.mbps / direct.mbps * 100).toFixed(1)}% of direct: the floor any relay in this runtime pays`);
      say(`  CPU s per GB    direct: vsftpd ${perGb(direct.ftpd)} + curl ${perGb(direct.curl)} = ${perGb(direct.ftpd + direct.curl)}`);
      say(`                  proxy:  vsftpd ${perGb(proxied.ftpd)} + curl ${perGb(proxied.curl)} + proxy ${perGb(proxyCpu)} (user ${perGb(proxied.user)}, sys ${perGb(proxied.sys)}) = ${perGb(proxied.ftpd + proxied.curl + proxyCpu)}`);
      say(`  the proxy's own cost (relay + analysis incl. sha256) allows ${mbps(size, proxyCpu * 1000).toFixed(0)} MB/s on one core`);
      say(`  with --log and --record: ${recMbps.toFixed(0)} MB/s, ${(recMbps / proxied.mbps * 100).toFixed(1)}% of the bare proxy (target >= 70%); ` +
        `CPU s per GB: proxy ${perGb(recCpu.user + recCpu.sys)} (user ${perGb(recCpu.user)}, sys ${perGb(recCpu.sys)}: the kernel writing the file) ` +
        `against ${perGb(proxyCpu)} bare; recording finished ${(finished / 1000).toFixed(2)} s after the transfer began; ` +
        `${/recording: (.*)/.exec(summary)?.[1] ?? 'no recording summary'}`);
    }
    ratios.sort((a, b) => a - b);
    bareRatios.sort((a, b) => a - b);
    const med = (list: number[]) => (list[Math.floor((list.length - 1) / 2)]! * 100).toFixed(1);
    recRatios.sort((a, b) => a - b);
    say(`single 1x${SIZE_MB} MB median ratio ${med(ratios)}% of ${RUNS} (target >= 80%); bare relay ${med(bareRatios)}%; ${os.cpus().length} CPUs shared by vsftpd, curl and (proxied) the proxy`);
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

    const ld = await noopLatency(ftpd.port, NOOPS);
    const lp = await noopLatency(pport, NOOPS);
    say(`NOOP round trip x${NOOPS}  direct ${(ld * 1000).toFixed(0).padStart(6)} µs     proxy ${(lp * 1000).toFixed(0).padStart(6)} µs     added ${((lp - ld) * 1000).toFixed(0)} µs  (target < 1000 µs)`);
  } finally {
    await bare.stop();
    await proxy.stop();
    ftpd.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

(process.argv.includes('--serve-proxy') ? serveProxy() : process.argv.includes('--serve-bare-relay') ? serveBareRelay() : main()).catch((e) => {
  process.stderr.write(`bench:proxy: ${(e as Error).message}\n`);
  process.exitCode = 1;
});

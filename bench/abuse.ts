/**
 * The soak-and-abuse load for `ftpscope proxy` (issue 20), shared by the CI test
 * (test/proxy/soak.test.ts, about a minute) and the local soak (`node dist/bench/proxy.js
 * --abuse-soak 300`). Everything is real: the proxy is the CLI in its own process (its RSS and
 * descriptors are read from /proc), vsftpd serves the files (FTPS optional), a small real TCP
 * server plays the hostile upstream, and the legitimate clients are curl, lftp and basic-ftp.
 *
 * The proxy runs in forward mode so that one process serves both upstreams: legitimate users log
 * in as anonymous@127.0.0.1:<vsftpd>, the hostile ones as x@127.0.0.1:<hostile>. Each kind of
 * client has a loopback address of its own (127.0.0.1 legitimate, 127.0.0.2-8 abuse), so the
 * per-address limits hit the abusers and must leave the others alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { Client } from 'basic-ftp';

export const LEGIT_ADDRESS = '127.0.0.1';
export const ABUSE_ADDRESSES = {
  authTlsClose: '127.0.0.2',
  invalidFlood: '127.0.0.3',
  idleHorde: '127.0.0.4',
  hostileUpstream: '127.0.0.5',
  noopFlood: '127.0.0.6',
  connectFlood: '127.0.0.7',
  tlsStall: '127.0.0.8',
} as const;
export type AbuseKind = keyof typeof ABUSE_ADDRESSES;

/**
 * The built CLI: dist/src/cli/main.js next to this file when it runs from dist/bench, else (the
 * test runs this file from source) the build under the working directory.
 */
export function cliMain(): string {
  const beside = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'src', 'cli', 'main.js');
  return fs.existsSync(beside) ? beside : path.resolve('dist/src/cli/main.js');
}

/**
 * For measuring only (the local soak): a preload for the proxy's node process that, on SIGUSR2,
 * runs a full GC and writes the memory figures after it to `out`. Needs --expose-gc. Heap after a
 * full GC is what a leak grows; RSS alone swings by tens of MB with the GC's timing.
 */
export function writeGcProbe(dir: string): { preload: string; out: string } {
  const preload = path.join(dir, 'gc-probe.cjs');
  const out = path.join(dir, 'gc-probe.json');
  fs.writeFileSync(preload, `process.on('SIGUSR2', () => { global.gc(); global.gc(); const m = process.memoryUsage();
  require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ at: Date.now(), heapUsed: m.heapUsed, rss: m.rss, external: m.external, arrayBuffers: m.arrayBuffers }));
});
`);
  return { preload, out };
}

/** Asks the probed process for its memory after a full GC (writeGcProbe). */
export async function gcFigures(pid: number, out: string): Promise<{ heapUsed: number; rss: number; external: number; arrayBuffers: number }> {
  const since = Date.now();
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    try {
      const v = JSON.parse(fs.readFileSync(out, 'utf8')) as { at: number; heapUsed: number; rss: number; external: number; arrayBuffers: number };
      if (v.at >= since) return v;
    } catch { /* not written yet */ }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('no answer from the GC probe');
}

export function procStats(pid: number): { rssKb: number; fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  return { rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

async function waitPort(port: number, failed: () => string | null): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const f = failed();
    if (f) throw new Error(f);
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on 127.0.0.1:${port}`);
}

export interface SoakFile { name: string; size: number; sha256: string }

export interface Peers {
  vsftpdPort: number;
  hostilePort: number;
  pub: string;
  files: SoakFile[];
  certFile: string;
  keyFile: string;
  stop(): Promise<void>;
}

/** vsftpd (anonymous, FTPS optional, writable pub/) and the hostile upstream, under `dir`. */
export async function startPeers(dir: string): Promise<Peers> {
  fs.chmodSync(dir, 0o755);
  const root = path.join(dir, 'root');
  const pub = path.join(root, 'pub');
  fs.mkdirSync(pub, { recursive: true });
  fs.chmodSync(root, 0o755);
  fs.chmodSync(pub, 0o777);
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=localhost']);
  const files: SoakFile[] = [];
  for (const [name, size] of [['small.bin', 10_000], ['mid.bin', 300_000], ['big.bin', 3_000_000]] as const) {
    const buf = randomBytes(size);
    fs.writeFileSync(path.join(pub, name), buf, { mode: 0o644 });
    files.push({ name, size, sha256: createHash('sha256').update(buf).digest('hex') });
  }
  const vsftpdPort = await freePort();
  fs.mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  const conf = path.join(dir, 'vsftpd.conf');
  fs.writeFileSync(conf, [
    'listen=YES', 'background=NO', 'listen_address=127.0.0.1', `listen_port=${vsftpdPort}`, 'anonymous_enable=YES',
    'no_anon_password=YES', `anon_root=${root}`, 'local_enable=NO', 'write_enable=YES', 'anon_upload_enable=YES',
    'anon_other_write_enable=YES', 'anon_umask=022', 'seccomp_sandbox=NO', 'secure_chroot_dir=/var/run/vsftpd/empty',
    'connect_from_port_20=NO', 'max_clients=2000', 'max_per_ip=2000', 'xferlog_enable=NO', 'pasv_enable=YES', 'port_enable=YES',
    'ssl_enable=YES', `rsa_cert_file=${certFile}`, `rsa_private_key_file=${keyFile}`, 'allow_anon_ssl=YES',
    'force_anon_logins_ssl=NO', 'force_anon_data_ssl=NO', 'require_ssl_reuse=YES', 'ssl_ciphers=HIGH', '',
  ].join('\n'));
  const ftpd = spawn('/usr/sbin/vsftpd', [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let ftpdErr = '';
  ftpd.stderr!.on('data', (d) => { ftpdErr += d; });
  await waitPort(vsftpdPort, () => (ftpd.exitCode !== null ? `vsftpd exited: ${ftpdErr}` : null));
  const hostile = await startHostile();
  return {
    vsftpdPort, hostilePort: hostile.port, pub, files, certFile, keyFile,
    async stop() {
      await hostile.stop();
      if (ftpd.exitCode === null) {
        const gone = new Promise((r) => ftpd.once('exit', r));
        ftpd.kill('SIGTERM');
        await gone;
      }
    },
  };
}

/**
 * The hostile upstream: each connection gets the next misbehaviour in turn: no greeting at all,
 * 100 KB of binary garbage as a greeting, a malformed 227, a 227 naming port 25, a reply of
 * 200,000 lines, or a close in the middle of a reply.
 */
async function startHostile(): Promise<{ port: number; stop(): Promise<void> }> {
  const garbage = randomBytes(100 * 1024);
  const socks = new Set<net.Socket>();
  let n = 0;
  const srv = net.createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    const kind = n++ % 6;
    if (kind === 0) return; // silent
    if (kind === 1) { sock.write(garbage); return; }
    sock.write('220 hostile\r\n');
    let buf = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const verb = buf.slice(0, nl).trim().split(' ')[0]!.toUpperCase();
        buf = buf.slice(nl + 1);
        if (verb === 'USER') sock.write('331 Password.\r\n');
        else if (verb === 'PASS') sock.write('230 In.\r\n');
        else if (verb === 'PASV' && kind === 2) sock.write('227 Entering Passive Mode (999,1,1,1,1,1).\r\n');
        else if (verb === 'PASV' && kind === 3) sock.write('227 Entering Passive Mode (127,0,0,1,0,25).\r\n');
        else if (verb === 'PASV' && kind === 4) sock.write('227-x\r\n' + ' y\r\n'.repeat(200_000) + '227 done\r\n');
        else if (verb === 'PASV') { sock.write('227-half a reply\r\n'); sock.destroy(); }
        else if (verb === 'QUIT') sock.end('221 Bye.\r\n');
        else sock.write('200 OK.\r\n');
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    stop: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); srv.close(() => r()); }),
  };
}

export interface ProxyProcess {
  pid: number;
  port: number;
  child: ChildProcess;
  /** SIGTERM, then the exit code and what it printed. */
  stop(): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** The real CLI: `ftpscope proxy --mode forward ...` with `extra` options, on a free port. */
export async function spawnProxy(peers: Peers, extra: string[], logFile: string | null, nodeArgs: string[] = []): Promise<ProxyProcess> {
  const port = await freePort();
  const args = [...nodeArgs, cliMain(), 'proxy', '--mode', 'forward', '--listen', `127.0.0.1:${port}`,
    '--allow', `127.0.0.1:${peers.vsftpdPort},${peers.hostilePort}`,
    '--tls-terminate', '--cert', peers.certFile, '--key', peers.keyFile, ...(logFile ? ['--log', logFile] : []), ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => { stdout += d; });
  child.stderr!.on('data', (d) => { stderr += d; });
  await waitPort(port, () => (child.exitCode !== null ? `proxy exited: ${stderr}` : null));
  return {
    pid: child.pid!, port, child,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) { resolve({ code: child.exitCode, stdout, stderr }); return; }
      child.once('exit', (code) => resolve({ code, stdout, stderr }));
      child.kill('SIGTERM');
    }),
  };
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    c.stdout.on('data', (d: Buffer) => out.push(d));
    c.stderr.on('data', (d) => { err += d; });
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    c.on('close', (code) => { clearTimeout(t); resolve({ code, stdout: Buffer.concat(out), stderr: err }); });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface LoadResult {
  /** Legitimate transfers that completed with the right sha256, by client. */
  ok: Record<'curl' | 'lftp' | 'basic-ftp', number>;
  /** Legitimate transfers that failed: what and why. */
  failed: string[];
  /** Rounds each abuse made. */
  abuse: Record<AbuseKind, number>;
}

/**
 * Runs legitimate transfers and every abuse at the same time until `durationMs` has passed.
 * `legitConcurrency` loops of each legitimate client run at once.
 */
export async function runLoad(o: { proxyPort: number; peers: Peers; durationMs: number; legitConcurrency?: number }): Promise<LoadResult> {
  const deadline = Date.now() + o.durationMs;
  const live = () => Date.now() < deadline;
  const res: LoadResult = {
    ok: { curl: 0, lftp: 0, 'basic-ftp': 0 }, failed: [],
    abuse: { authTlsClose: 0, invalidFlood: 0, idleHorde: 0, hostileUpstream: 0, noopFlood: 0, connectFlood: 0, tlsStall: 0 },
  };
  const user = `anonymous@127.0.0.1:${o.peers.vsftpdPort}`;
  const files = o.peers.files;
  const pick = (i: number) => files[i % files.length]!;
  const fail = (who: string, f: SoakFile, why: string) => { if (res.failed.length < 50) res.failed.push(`${who} ${f.name}: ${why.trim().slice(0, 200)}`); };

  const curlLoop = async (k: number) => {
    for (let i = k; live(); i++) {
      const f = pick(i);
      const r = await run('curl', ['-sS', '--max-time', '60', '--interface', LEGIT_ADDRESS,
        `ftp://${encodeURIComponent(user)}:x@127.0.0.1:${o.proxyPort}/pub/${f.name}`]);
      if (r.code === 0 && sha(r.stdout) === f.sha256) res.ok.curl++;
      else fail('curl', f, `exit ${r.code} ${r.stderr} (${r.stdout.length} bytes)`);
    }
  };
  const lftpLoop = async (k: number) => {
    for (let i = k; live(); i++) {
      const f = pick(i);
      // Active mode (PORT through the proxy) for variety; curl and basic-ftp use passive.
      const r = await run('lftp', ['-u', `${user},x`, '-e',
        `set net:max-retries 1; set net:timeout 30; set ftp:passive-mode off; set ftp:ssl-allow no; set net:socket-bind-ipv4 ${LEGIT_ADDRESS}; cat pub/${f.name}; quit`,
        `ftp://127.0.0.1:${o.proxyPort}`]);
      if (r.code === 0 && sha(r.stdout) === f.sha256) res.ok.lftp++;
      else fail('lftp', f, `exit ${r.code} ${r.stderr} (${r.stdout.length} bytes)`);
    }
  };
  const basicLoop = async (k: number) => {
    for (let i = k; live(); i++) {
      const f = pick(i);
      const c = new Client(30_000);
      try {
        // FTPS through --tls-terminate: PROT P data, the server side resuming the TLS session.
        await c.access({ host: '127.0.0.1', port: o.proxyPort, user, password: 'x', secure: true, secureOptions: { rejectUnauthorized: false } });
        const h = createHash('sha256');
        await c.downloadTo(new Writable({ write(chunk, _e, cb) { h.update(chunk); cb(); } }), `pub/${f.name}`);
        const down = h.digest('hex');
        const upName = `up-${process.pid}-${k}-${i}.bin`;
        await c.uploadFrom(Readable.from([fs.readFileSync(path.join(o.peers.pub, f.name))]), `pub/${upName}`);
        const up = path.join(o.peers.pub, upName);
        const upSha = sha(fs.readFileSync(up));
        fs.rmSync(up, { force: true });
        if (down === f.sha256 && upSha === f.sha256) res.ok['basic-ftp']++;
        else fail('basic-ftp', f, `sha256 down ${down === f.sha256 ? 'ok' : 'WRONG'}, up ${upSha === f.sha256 ? 'ok' : 'WRONG'}`);
      } catch (e) {
        fail('basic-ftp', f, (e as Error).message);
      } finally {
        c.close();
      }
    }
  };

  const conc = o.legitConcurrency ?? 1;
  const legit = [
    ...Array.from({ length: conc }, (_, k) => curlLoop(k)),
    ...Array.from({ length: conc }, (_, k) => lftpLoop(k + 1)),
    ...Array.from({ length: conc }, (_, k) => basicLoop(k + 2)),
  ];
  const abuse = (Object.keys(ABUSE_ADDRESSES) as AbuseKind[]).map((kind) => abuseLoop(kind, o.proxyPort, o.peers, live, () => res.abuse[kind]++));
  await Promise.all([...legit, ...abuse]);
  return res;
}

/** One abuse, over and over until `live()` says stop. Abusers do not care how their rounds end. */
async function abuseLoop(kind: AbuseKind, port: number, peers: Peers, live: () => boolean, round: () => void): Promise<void> {
  const from = ABUSE_ADDRESSES[kind];
  if (kind === 'idleHorde') {
    // Twenty connections that never log in, replaced as they are closed.
    await Promise.all(Array.from({ length: 20 }, async () => {
      while (live()) {
        const s = await raw(port, from);
        round();
        // The proxy closes them (address limit, login timeout); the abuser only waits, until the load ends.
        await s.closed(120_000, live);
        s.destroy();
        await pause(50);
      }
    }));
    return;
  }
  if (kind === 'connectFlood') {
    // Connect and hang up as fast as possible (four at a time): the rate limit's business.
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (live()) {
        const s = await raw(port, from);
        round();
        s.destroy();
      }
    }));
    return;
  }
  while (live()) {
    const s = await raw(port, from);
    round();
    try {
      await s.line(5000); // 220, or 421 when over a limit
      switch (kind) {
        case 'authTlsClose':
          s.write('AUTH TLS\r\n');
          if (Math.random() < 0.5) await s.line(5000);
          s.end();
          break;
        case 'tlsStall':
          // A handshake begun and never finished: the TLS handshake timeout's business.
          s.write('AUTH TLS\r\n');
          await s.line(5000);
          s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
          await s.closed(15_000);
          break;
        case 'invalidFlood':
          s.write(Buffer.from('X\r\n'.repeat(100_000)));
          await s.closed(10_000);
          break;
        case 'noopFlood':
          s.write(`USER anonymous@127.0.0.1:${peers.vsftpdPort}\r\n`);
          await s.line(5000);
          s.write('PASS x\r\n');
          await s.line(5000);
          s.write('NOOP\r\n'.repeat(10_000));
          await s.closed(10_000);
          break;
        case 'hostileUpstream':
          s.write(`USER x@127.0.0.1:${peers.hostilePort}\r\n`);
          if ((await s.line(10_000)).startsWith('331')) {
            s.write('PASS x\r\nPASV\r\nQUIT\r\n');
            await s.closed(10_000);
          }
          break;
      }
    } catch {
      // A refused or closed abuser: that is the point.
    }
    s.destroy();
  }
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawConn {
  write(b: string | Buffer): void;
  end(): void;
  destroy(): void;
  /** The next line (without CRLF); rejects on close or timeout. */
  line(timeoutMs: number): Promise<string>;
  /** Resolves when the connection is closed, after timeoutMs, or once `live` says stop. */
  closed(timeoutMs: number, live?: () => boolean): Promise<void>;
}

function raw(port: number, localAddress: string): Promise<RawConn> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    let buf = '';
    let isClosed = false;
    const waiters: (() => void)[] = [];
    const wake = () => { for (const w of waiters.splice(0)) w(); };
    s.setEncoding('latin1');
    s.on('data', (d: string) => { if (buf.length < 65536) buf += d; wake(); });
    s.on('close', () => { isClosed = true; wake(); });
    s.on('error', () => {});
    const conn: RawConn = {
      write: (b) => { if (!s.destroyed) s.write(b); },
      end: () => s.end(),
      destroy: () => s.destroy(),
      async line(timeoutMs) {
        const until = Date.now() + timeoutMs;
        for (;;) {
          const nl = buf.indexOf('\n');
          if (nl >= 0) {
            const l = buf.slice(0, nl).replace(/\r$/, '');
            buf = buf.slice(nl + 1);
            return l;
          }
          if (isClosed) throw new Error('closed');
          if (Date.now() > until) throw new Error('timeout');
          await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
        }
      },
      async closed(timeoutMs, live) {
        const until = Date.now() + timeoutMs;
        while (!isClosed && Date.now() < until && (!live || live())) await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
      },
    };
    // Connected or refused, the abuser goes on (a refused connect shows as a closed one).
    s.once('connect', () => resolve(conn));
    s.once('error', () => { isClosed = true; resolve(conn); });
  });
}

/**
 * After the load: every slot free? Opens `n` connections from `addresses` (spread evenly) and
 * returns how many got the proxy's 220 greeting (a leaked slot shows as a 421).
 */
export async function freeSlots(port: number, addresses: string[], n: number): Promise<{ greeted: number; replies: string[] }> {
  const conns = await Promise.all(Array.from({ length: n }, (_, i) => raw(port, addresses[i % addresses.length]!)));
  const replies = await Promise.all(conns.map((c) => c.line(10_000).catch((e: Error) => `(${e.message})`)));
  for (const c of conns) c.destroy();
  return { greeted: replies.filter((r) => r.startsWith('220')).length, replies };
}

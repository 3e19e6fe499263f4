/**
 * Real peers for the proxy tests: vsftpd from the distribution on a loopback port (anonymous,
 * with a writable pub/ directory; optionally IPv6 and FTPS with require_ssl_reuse), a
 * self-signed certificate from openssl, and small helpers to run curl/lftp and hash files.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';

export interface Vsftpd {
  host: string;
  port: number;
  /** Anonymous root (owned by root); files live in root/pub. */
  root: string;
  pub: string;
  certFile: string | null;
  stop(): Promise<void>;
}

export function hasBinary(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host, port: 0 }, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export function makeCert(dir: string): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
    '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  return { cert, key };
}

export async function startVsftpd(opts: { ipv6?: boolean; tls?: boolean; tlsOptional?: boolean; activeFrom20?: boolean } = {}): Promise<Vsftpd> {
  const host = opts.ipv6 ? '::1' : '127.0.0.1';
  const port = await freePort(host);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpscope-proxy-vsftpd-'));
  fs.chmodSync(base, 0o755);
  const root = path.join(base, 'root');
  const pub = path.join(root, 'pub');
  fs.mkdirSync(pub, { recursive: true });
  fs.chmodSync(root, 0o755);
  execFileSync('chown', ['ftp:ftp', pub]);
  fs.chmodSync(pub, 0o777);
  let certFile: string | null = null;
  const conf = [
    'background=NO',
    opts.ipv6 ? 'listen_ipv6=YES' : 'listen_ipv6=NO',
    opts.ipv6 ? 'listen_address6=::1' : 'listen_address=127.0.0.1',
    'listen=' + (opts.ipv6 ? 'NO' : 'YES'),
    `listen_port=${port}`,
    'anonymous_enable=YES',
    'no_anon_password=NO',
    `anon_root=${root}`,
    'local_enable=NO',
    'write_enable=YES',
    'anon_upload_enable=YES',
    'anon_mkdir_write_enable=YES',
    'anon_other_write_enable=YES',
    'anon_umask=022',
    'pasv_enable=YES',
    'port_enable=YES',
    `connect_from_port_20=${opts.activeFrom20 ? 'YES' : 'NO'}`,
    'seccomp_sandbox=NO',
    'secure_chroot_dir=/var/run/vsftpd/empty',
    'xferlog_enable=NO',
    'dirmessage_enable=NO',
    'use_localtime=NO',
    'max_clients=500',
    'max_per_ip=500',
    'pasv_promiscuous=NO',
    'port_promiscuous=NO',
  ];
  if (opts.tls || opts.tlsOptional) {
    const c = makeCert(base);
    certFile = c.cert;
    // tlsOptional: FTPS for the clients that ask for it, plain FTP for the others.
    const force = opts.tlsOptional ? 'NO' : 'YES';
    conf.push('ssl_enable=YES', `rsa_cert_file=${c.cert}`, `rsa_private_key_file=${c.key}`, 'allow_anon_ssl=YES',
      `force_anon_logins_ssl=${force}`, `force_anon_data_ssl=${force}`, 'require_ssl_reuse=YES', 'ssl_ciphers=HIGH');
  }
  fs.mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  const confFile = path.join(base, 'vsftpd.conf');
  fs.writeFileSync(confFile, conf.join('\n') + '\n');
  const child: ChildProcess = spawn('/usr/sbin/vsftpd', [confFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  await waitForPort(host, port, () => (child.exitCode !== null ? `vsftpd exited: ${stderr}` : null));
  return {
    host, port, root, pub, certFile,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

async function waitForPort(host: string, port: number, failed: () => string | null): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const f = failed();
    if (f) throw new Error(f);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listening on ${host}:${port}`);
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** A file of random bytes; its sha256 is the content we control. */
export function randomFile(dir: string, name: string, size: number): { file: string; sha256: string } {
  const file = path.join(dir, name);
  const buf = randomBytes(size);
  fs.writeFileSync(file, buf);
  return { file, sha256: sha256(buf) };
}

export interface RunResult { code: number | null; stdout: string; stderr: string }

export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
  });
}

/** Open file descriptors of this process (leak checks). */
export function fdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

export async function settle(pred: () => boolean, ms = 5000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return pred();
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A minimal FTP client on raw sockets, for sequences the real clients will not produce. */
export class RawFtp {
  private buf = '';
  private waiters: (() => void)[] = [];
  readonly events: string[] = [];
  closed = false;

  private constructor(public sock: net.Socket) {
    this.attach(sock);
  }

  private attach(sock: net.Socket): void {
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => { this.buf += d; this.wake(); });
    sock.on('close', () => { this.closed = true; this.events.push('control-close'); this.wake(); });
    sock.on('error', () => {});
  }

  /** After a 234: the TLS handshake on the control connection (self-signed certificates accepted). */
  async startTls(): Promise<void> {
    const raw = this.sock;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    const t = tls.connect({ socket: raw, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', () => resolve());
      t.once('error', reject);
    });
    this.sock = t;
    this.attach(t);
  }

  static connect(host: string, port: number, localAddress?: string): Promise<RawFtp> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port, localAddress });
      s.once('connect', () => resolve(new RawFtp(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** The next complete reply: "code text" of its last line, multi-line replies joined. */
  async reply(timeoutMs = 10_000): Promise<{ code: number; text: string }> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(\d{3})([ -])/.exec(this.buf);
      if (m) {
        const code = m[1];
        const re = m[2] === ' ' ? /^.*\r?\n/ : new RegExp(`^[\\s\\S]*?\\r?\\n${code} .*\\r?\\n`);
        const full = re.exec(this.buf);
        if (full) {
          this.buf = this.buf.slice(full[0].length);
          const text = full[0].trimEnd();
          this.events.push(`reply ${code}`);
          return { code: Number(code), text };
        }
      }
      if (this.closed) throw new Error(`control connection closed; pending: ${JSON.stringify(this.buf)}`);
      if (Date.now() > until) throw new Error(`no reply within ${timeoutMs} ms; pending: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 100); });
    }
  }

  send(line: string): void {
    this.sock.write(line + '\r\n');
  }

  async cmd(line: string): Promise<{ code: number; text: string }> {
    this.send(line);
    return this.reply();
  }

  async login(): Promise<void> {
    const g = await this.reply();
    if (g.code !== 220) throw new Error(`greeting ${g.text}`);
    const u = await this.cmd('USER anonymous');
    if (u.code === 331) await this.cmd('PASS x@y');
  }

  close(): void {
    this.sock.destroy();
  }
}

/** Parse a 227 reply's address. */
export function pasvTarget(text: string): { ip: string; port: number } {
  const m = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(text);
  if (!m) throw new Error(`not a 227: ${text}`);
  return { ip: `${m[1]}.${m[2]}.${m[3]}.${m[4]}`, port: Number(m[5]) * 256 + Number(m[6]) };
}

/**
 * A small real FTP server written to misbehave: `onLine` answers each command line (return the
 * bytes to send, or null to say nothing); `greeting` is sent on accept (null: never greet).
 */
export interface HostileUpstream {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  stop(): Promise<void>;
}

export async function startHostileUpstream(opts: {
  greeting: string | Buffer | null;
  onLine?: (line: string, sock: net.Socket) => string | Buffer | null;
}): Promise<HostileUpstream> {
  let accepted = 0;
  const socks = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    accepted++;
    socks.add(sock);
    sock.on('close', () => socks.delete(sock));
    sock.on('error', () => {});
    if (opts.greeting !== null) sock.write(opts.greeting);
    let buf = '';
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '');
        buf = buf.slice(nl + 1);
        const out = opts.onLine?.(line, sock) ?? null;
        if (out !== null && !sock.destroyed) sock.write(out);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    get accepted() { return accepted; },
    stop: () => new Promise<void>((r) => { for (const s of socks) s.destroy(); srv.close(() => r()); }),
  };
}

/** A plain FTP dialogue for hostile upstreams: login, NOOP, QUIT; `extra` answers the rest. */
export function ftpDialogue(extra: (verb: string, line: string) => string | null = () => null): (line: string, sock: net.Socket) => string | null {
  return (line, sock) => {
    const verb = line.split(' ')[0]!.toUpperCase();
    const own = extra(verb, line);
    if (own !== null) return own;
    switch (verb) {
      case 'USER': return '331 Password please.\r\n';
      case 'PASS': return '230 Logged in.\r\n';
      case 'TYPE': return '200 Type set.\r\n';
      case 'QUIT': setImmediate(() => sock.end()); return '221 Bye.\r\n';
      case 'NOOP': return '200 NOOP ok.\r\n';
      default: return '502 Not implemented.\r\n';
    }
  };
}

/** Resident set size and open descriptors of a process, from /proc. */
export function procStats(pid: number): { rssKb: number; fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssKb, fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

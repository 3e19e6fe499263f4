// Real FTP servers and clients for tests: vsftpd from the distribution and ftp-srv from npm as servers, curl and lftp
// as clients. Tests that need a tool call skipReason(...) first and skip with that reason when it is not null.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import ftpSrvModule from 'ftp-srv';

export { makeServedTree, makeClientFiles, hashTree, sha256Hex, loadServedManifest } from './served-tree.js';

export interface FtpServer {
  kind: 'vsftpd' | 'ftp-srv';
  host: string;
  port: number;
  root: string;
  pasvPorts: [number, number];
  stop(): Promise<void>;
}

export interface FtpUser {
  name: string;
  password: string;
}

export interface TlsOptions {
  cert: string;
  key: string;
  /** vsftpd's require_ssl_reuse: data connections must resume the control connection's TLS session. Default true. */
  requireSslReuse?: boolean;
}

export interface VsftpdOptions {
  /** Served directory; made root-owned and non-writable as vsftpd requires. Anonymous and local users see it as /. */
  root: string;
  /** 0 or omitted: a free port. */
  port?: number;
  host?: '127.0.0.1' | '::1' | string;
  pasvPorts?: [number, number];
  tls?: TlsOptions;
  /** Local system accounts (created with useradd when missing; root only). */
  users?: FtpUser[];
  anonymous?: boolean;
  /** Subdirectory of root made world-writable for uploads (anonymous and local). Default 'upload'. */
  uploadDir?: string;
  /** Active-mode data connections from port 20 instead of an ephemeral port. Default false. */
  connectFromPort20?: boolean;
  /** Extra vsftpd.conf lines. */
  extraConfig?: string[];
}

export interface FtpSrvOptions {
  root: string;
  port?: number;
  host?: string;
  pasvPorts?: [number, number];
  users?: FtpUser[];
  anonymous?: boolean;
  /** Explicit TLS (AUTH TLS) with this certificate. */
  tls?: { cert: string; key: string };
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
}

// ---------------------------------------------------------------- environment

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** True when `cmd` is on PATH (or an absolute path that exists). */
export function have(cmd: string): boolean {
  if (cmd.includes('/')) return existsSync(cmd);
  return spawnSync('sh', ['-c', `command -v "${cmd}"`], { stdio: 'ignore' }).status === 0;
}

/** Why a test needing these tools (and 'root' when it needs privileges) cannot run here, or null when it can. */
export function skipReason(...needs: string[]): string | null {
  const missing: string[] = [];
  for (const need of needs) {
    if (need === 'root') {
      if (!isRoot()) missing.push('root privileges (run as root, as CI does)');
    } else if (!have(need)) {
      missing.push(`${need} (apt-get install ${need === 'editcap' ? 'wireshark-common' : need})`);
    }
  }
  return missing.length ? `needs ${missing.join(', ')}` : null;
}

export function vsftpdBinary(): string {
  for (const candidate of ['/usr/sbin/vsftpd', '/usr/local/sbin/vsftpd']) if (existsSync(candidate)) return candidate;
  return 'vsftpd';
}

// ---------------------------------------------------------------- ports

/** A TCP port that was free on host a moment ago (the kernel picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function portIsFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports, for a passive-port range. */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 30000 + Math.floor(Math.random() * (60000 - 30000 - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portIsFree(p, host);
    if (ok) return [base, base + count - 1];
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}

/** Resolves once a server at host:port sends its 220 greeting. */
export async function waitForGreeting(host: string, port: number, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect({ host, port });
        let text = '';
        const timer = setTimeout(() => socket.destroy(new Error('no greeting')), 2000);
        socket.on('data', (chunk) => {
          text += chunk.toString('latin1');
          if (/^220 /m.test(text)) {
            clearTimeout(timer);
            socket.end('QUIT\r\n');
            resolve(text);
          }
        });
        socket.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
    } catch (err) {
      lastError = (err as Error).message;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`no FTP greeting from ${host}:${port} within ${timeoutMs} ms (${lastError})`);
}

// ---------------------------------------------------------------- vsftpd

/**
 * Creates (or resets the password of) a local system account for FTP logins. Root only. Its home is '/', which always
 * exists: vsftpd changes into the home before local_root, and a home left over from an earlier test would be gone.
 */
export function ensureSystemUser(user: FtpUser): void {
  if (!isRoot()) throw new Error(`creating the FTP user ${user.name} needs root`);
  const exists = spawnSync('id', [user.name], { stdio: 'ignore' }).status === 0;
  const made = exists
    ? spawnSync('usermod', ['--home', '/', '--shell', '/bin/bash', user.name], { encoding: 'utf8' })
    : spawnSync('useradd', ['--no-create-home', '--home-dir', '/', '--shell', '/bin/bash', user.name], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`${exists ? 'usermod' : 'useradd'} ${user.name} failed: ${made.stderr.trim()}`);
  const set = spawnSync('chpasswd', [], { input: `${user.name}:${user.password}\n`, encoding: 'utf8' });
  if (set.status !== 0) throw new Error(`chpasswd ${user.name} failed: ${set.stderr.trim()}`);
}

/** Starts vsftpd (as root) in the foreground with its own config; stop() ends it and every session it forked. */
export async function startVsftpd(options: VsftpdOptions): Promise<FtpServer> {
  if (!isRoot()) throw new Error('vsftpd needs root (chroot, privilege separation); skip with skipReason("root", "vsftpd")');
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const pasvPorts = options.pasvPorts ?? (await freePortRange(20, host));
  const work = mkdtempSync(join(tmpdir(), 'ftpscope-vsftpd-'));
  const empty = join(work, 'empty');
  mkdirSync(empty);
  chmodSync(work, 0o755);
  chmodSync(empty, 0o755);
  chmodSync(options.root, 0o755);
  const uploadDir = join(options.root, options.uploadDir ?? 'upload');
  mkdirSync(uploadDir, { recursive: true });
  chmodSync(uploadDir, 0o1777);
  if (options.users?.length) {
    assertSearchableByOthers(options.root);
    for (const user of options.users) ensureSystemUser(user);
  }

  const ipv6 = host.includes(':');
  const lines = [
    ipv6 ? 'listen=NO' : 'listen=YES',
    ipv6 ? 'listen_ipv6=YES' : 'listen_ipv6=NO',
    ipv6 ? `listen_address6=${host}` : `listen_address=${host}`,
    `listen_port=${port}`,
    'background=NO',
    'seccomp_sandbox=NO',
    `anonymous_enable=${options.anonymous === false ? 'NO' : 'YES'}`,
    'no_anon_password=YES',
    `anon_root=${options.root}`,
    'anon_upload_enable=YES',
    'anon_umask=022',
    'ftp_username=ftp',
    `local_enable=${options.users?.length ? 'YES' : 'NO'}`,
    `local_root=${options.root}`,
    'chroot_local_user=YES',
    'local_umask=022',
    'write_enable=YES',
    'userlist_enable=NO',
    'pam_service_name=vsftpd',
    'pasv_enable=YES',
    `pasv_min_port=${pasvPorts[0]}`,
    `pasv_max_port=${pasvPorts[1]}`,
    'port_enable=YES',
    `connect_from_port_20=${options.connectFromPort20 ? 'YES' : 'NO'}`,
    'ascii_download_enable=YES',
    'ascii_upload_enable=YES',
    'hide_ids=YES',
    'nopriv_user=nobody',
    `secure_chroot_dir=${empty}`,
    'xferlog_enable=YES',
    `vsftpd_log_file=${join(work, 'vsftpd.log')}`,
    'delay_failed_login=0',
    'max_per_ip=0',
  ];
  if (options.tls) {
    lines.push(
      'ssl_enable=YES',
      `rsa_cert_file=${options.tls.cert}`,
      `rsa_private_key_file=${options.tls.key}`,
      'allow_anon_ssl=YES',
      'force_local_logins_ssl=NO',
      'force_local_data_ssl=NO',
      'force_anon_logins_ssl=NO',
      'force_anon_data_ssl=NO',
      `require_ssl_reuse=${options.tls.requireSslReuse === false ? 'NO' : 'YES'}`,
      'ssl_ciphers=HIGH',
    );
  }
  lines.push(...(options.extraConfig ?? []));
  const conf = join(work, 'vsftpd.conf');
  writeFileSync(conf, lines.join('\n') + '\n');

  // Its own process group, so stop() also ends the per-session processes vsftpd forks.
  const child = spawn(vsftpdBinary(), [conf], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForGreeting(host, port),
      exited.then(() => {
        throw new Error(`vsftpd exited at start: ${output.trim() || readLog(work)}`);
      }),
    ]);
  } catch (err) {
    await killGroup(child, exited);
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return {
    kind: 'vsftpd',
    host,
    port,
    root: options.root,
    pasvPorts,
    async stop() {
      await killGroup(child, exited);
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** Local users log in as themselves, so every directory above their root must be searchable by others. */
function assertSearchableByOthers(root: string): void {
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      throw new Error(`vsftpd's local users cannot reach ${root}: ${dir} is not searchable by others (chmod o+x ${dir})`);
    }
    if (dir === dirname(dir)) return;
  }
}

function readLog(work: string): string {
  try {
    return readFileSync(join(work, 'vsftpd.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return 'no log';
  }
}

async function killGroup(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 2000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- ftp-srv (npm, in-process)

type FtpSrvCtor = new (options: Record<string, unknown>) => {
  on(event: string, listener: (...args: any[]) => void): void;
  listen(): Promise<unknown>;
  close(): Promise<unknown>;
};

const quietLog: Record<string, unknown> = {
  child: () => quietLog,
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
};

/** Starts ftp-srv in this process; anonymous login is allowed unless anonymous is false. */
export async function startFtpSrv(options: FtpSrvOptions): Promise<FtpServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const pasvPorts = options.pasvPorts ?? (await freePortRange(20, host));
  mkdirSync(join(options.root, 'upload'), { recursive: true });
  const FtpSrv = ((ftpSrvModule as unknown as { FtpSrv?: FtpSrvCtor }).FtpSrv ?? ftpSrvModule) as unknown as FtpSrvCtor;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const server = new FtpSrv({
    url: `ftp://${urlHost}:${port}`,
    pasv_url: host,
    pasv_min: pasvPorts[0],
    pasv_max: pasvPorts[1],
    anonymous: options.anonymous !== false,
    greeting: ['ftpscope test server (ftp-srv)'],
    log: quietLog,
    tls: options.tls ? { cert: readFileSync(options.tls.cert), key: readFileSync(options.tls.key) } : false,
  });
  server.on('login', ({ username, password }: { username: string; password: string }, resolve: (v: unknown) => void, reject: (e: Error) => void) => {
    if (username === 'anonymous' && options.anonymous !== false) return resolve({ root: options.root });
    const user = options.users?.find((u) => u.name === username);
    if (user && user.password === password) return resolve({ root: options.root });
    return reject(new Error('Login incorrect'));
  });
  server.on('client-error', () => {});
  await server.listen();
  return {
    kind: 'ftp-srv',
    host,
    port,
    root: options.root,
    pasvPorts,
    async stop() {
      await server.close();
    },
  };
}

// ---------------------------------------------------------------- clients

/** ftp://[user:pass@]host:port/path, with IPv6 hosts in brackets and the path's segments escaped. */
export function ftpUrl(server: Pick<FtpServer, 'host' | 'port'>, path: string, user?: FtpUser): string {
  const host = server.host.includes(':') ? `[${server.host}]` : server.host;
  const auth = user ? `${encodeURIComponent(user.name)}:${encodeURIComponent(user.password)}@` : '';
  const escaped = path.split('/').map(encodeURIComponent).join('/');
  return `ftp://${auth}${host}:${server.port}${escaped.startsWith('/') ? escaped : `/${escaped}`}`;
}

/** Runs a command with a hard timeout; never rejects for a non-zero exit (look at code / timedOut). */
export function run(cmd: string, args: string[], options: { timeoutMs?: number; input?: string } = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd} could not be started: ${err.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr, timedOut });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** curl with -sS and sane timeouts in front of args. */
export function runCurl(args: string[], options: { timeoutMs?: number } = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const seconds = String(Math.max(1, Math.floor(timeoutMs / 1000) - 1));
  return run('curl', ['-sS', '--connect-timeout', '5', '--max-time', seconds, ...args], { timeoutMs });
}

/** lftp -c SCRIPT with retries off and a network timeout, so a failure ends instead of looping. */
export function runLftp(script: string, options: { timeoutMs?: number } = {}): Promise<RunResult> {
  const prelude = 'set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; set ftp:ssl-allow no; set xfer:clobber yes;';
  return run('lftp', ['-c', `${prelude} ${script}`], options);
}

/** A self-signed certificate and key for TLS tests (needs openssl). */
export function makeSelfSignedCert(dir: string, commonName = 'localhost'): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', `/CN=${commonName}`, '-keyout', key, '-out', cert],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr.trim()}`);
  return { cert, key };
}

/** A fresh temporary directory, searchable by others so vsftpd's unprivileged processes reach it (caller removes it). */
export function tempDir(prefix = 'ftpscope-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

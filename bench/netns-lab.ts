/**
 * A small network of Linux network namespaces, set up as a network engineer would to try the
 * transparent proxy and live capture: a client, a router that forwards between two veth links
 * (and REDIRECTs FTP to a proxy when asked), and vsftpd on the server. IPv4 and IPv6.
 *
 *   client  lvc0 10.88.2.2 / fd88:2::2 ──veth── lvrc 10.88.2.1 / fd88:2::1  router
 *   router  lvrs 10.88.0.2 / fd88::2   ──veth── lvs0 10.88.0.1 / fd88::1    server (vsftpd :21)
 *
 * Namespace names carry a unique id; nothing here talks to any address but loopback and these
 * namespaces. Needs root, iproute2, nftables and vsftpd. Used by the namespace tests and the
 * live-capture benchmark; `stop()` removes everything (namespaces, their links, files, processes).
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ADDR = {
  client4: '10.88.2.2', router4c: '10.88.2.1', router4s: '10.88.0.2', server4: '10.88.0.1',
  client6: 'fd88:2::2', router6c: 'fd88:2::1', router6s: 'fd88::2', server6: 'fd88::1',
} as const;

/** The passive ports vsftpd uses (the proxy reaches them directly; clients never do). */
export const SERVER_PASV = [40000, 40099] as const;

export type NsName = 'client' | 'router' | 'server';

export interface RunResult { code: number | null; stdout: string; stderr: string }

export interface Lab {
  id: string;
  ns: Record<NsName, string>;
  /** vsftpd's anonymous root; files go in `pub`. */
  pub: string;
  /** A scratch directory removed by stop(). */
  dir: string;
  /** Spawns a command inside a namespace; the lab kills what is still running at stop(). */
  spawn(where: NsName, cmd: string, args: string[], opts?: SpawnOptions): ChildProcess;
  /** Runs a command inside a namespace to its end (killed after timeoutMs). */
  run(where: NsName, cmd: string, args: string[], timeoutMs?: number): Promise<RunResult>;
  /** The router REDIRECTs the client's connections to port 21 to the proxy's `proxyPort`. */
  redirect(proxyPort: number): void;
  /**
   * The router also REDIRECTs the client's connections to `ports`, keeping the port: the passive
   * ports the proxy announces, for clients that dial the server's address on them (docs/proxy.md).
   */
  redirectPorts(ports: [number, number]): void;
  /** Removes every REDIRECT rule: the client reaches the server directly. */
  unredirect(): void;
  /**
   * The server's link sends at most `mbit` Mbit/s (a token bucket on its veth), as a WAN link
   * would: a transfer then runs at that rate from its first byte. null removes the limit.
   */
  limitServer(mbit: number | null): void;
  stop(): Promise<void>;
}

function hasBinary(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the lab cannot run here, or null when it can. */
export function labUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces, nftables and vsftpd need it)';
  for (const b of ['ip', 'nft', 'tc', 'curl']) if (!hasBinary(b)) return `${b} is not installed`;
  if (!fs.existsSync('/usr/sbin/vsftpd')) return 'vsftpd is not installed';
  // Root in a container may still lack the right to make namespaces: try one.
  const probe = `lv-probe-${process.pid.toString(36)}`;
  try {
    sh(['ip', 'netns', 'add', probe]);
  } catch (e) {
    return `cannot create a network namespace (${((e as { stderr?: Buffer }).stderr?.toString() ?? '').trim() || 'ip netns add failed'})`;
  }
  try { sh(['ip', 'netns', 'del', probe]); } catch { /* gone */ }
  return null;
}

function sh(args: string[]): void {
  execFileSync(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Builds the network and starts vsftpd; throws (after cleaning up) when any step fails. */
export async function startLab(opts: { offload?: boolean } = {}): Promise<Lab> {
  const id = `${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  const ns: Record<NsName, string> = { client: `lvc-${id}`, router: `lvr-${id}`, server: `lvs-${id}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `lv-lab-${id}-`));
  const children = new Set<ChildProcess>();
  const inNs = (where: NsName, args: string[]): void => sh(['ip', 'netns', 'exec', ns[where], ...args]);
  const lab: Lab = {
    id, ns, dir, pub: path.join(dir, 'root', 'pub'),
    spawn(where, cmd, args, o = {}) {
      const child = spawn('ip', ['netns', 'exec', ns[where], cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...o });
      children.add(child);
      child.once('exit', () => children.delete(child));
      child.on('error', () => {});
      return child;
    },
    run(where, cmd, args, timeoutMs = 60_000) {
      return new Promise((resolve) => {
        const child = lab.spawn(where, cmd, args);
        let stdout = '';
        let stderr = '';
        child.stdout?.on('data', (d) => { stdout += d; });
        child.stderr?.on('data', (d) => { stderr += d; });
        const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
      });
    },
    redirect(proxyPort) {
      for (const family of ['ip', 'ip6']) {
        inNs('router', ['nft', 'add', 'table', family, 'lvproxy']);
        inNs('router', ['nft', 'add', 'chain', family, 'lvproxy', 'prerouting', '{ type nat hook prerouting priority dstnat; }']);
        inNs('router', ['nft', 'add', 'rule', family, 'lvproxy', 'prerouting', 'iifname', 'lvrc', 'tcp', 'dport', '21', 'redirect', 'to', `:${proxyPort}`]);
      }
    },
    redirectPorts(ports) {
      for (const family of ['ip', 'ip6']) {
        inNs('router', ['nft', 'add', 'rule', family, 'lvproxy', 'prerouting', 'iifname', 'lvrc', 'tcp', 'dport', `${ports[0]}-${ports[1]}`, 'redirect']);
      }
    },
    unredirect() {
      for (const family of ['ip', 'ip6']) {
        try { inNs('router', ['nft', 'delete', 'table', family, 'lvproxy']); } catch { /* none */ }
      }
    },
    limitServer(mbit) {
      try { inNs('server', ['tc', 'qdisc', 'del', 'dev', 'lvs0', 'root']); } catch { /* no limit yet */ }
      if (mbit !== null) inNs('server', ['tc', 'qdisc', 'add', 'dev', 'lvs0', 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '64kb', 'latency', '200ms']);
    },
    async stop() {
      for (const c of children) c.kill('SIGKILL');
      const deadline = Date.now() + 5000;
      while (children.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const n of Object.values(ns)) {
        try { sh(['ip', 'netns', 'del', n]); } catch { /* not created */ }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const n of Object.values(ns)) sh(['ip', 'netns', 'add', n]);
    sh(['ip', 'link', 'add', 'lvc0', 'netns', ns.client, 'type', 'veth', 'peer', 'name', 'lvrc', 'netns', ns.router]);
    sh(['ip', 'link', 'add', 'lvrs', 'netns', ns.router, 'type', 'veth', 'peer', 'name', 'lvs0', 'netns', ns.server]);
    const link = (where: NsName, ifc: string, v4: string, v6: string): void => {
      inNs(where, ['ip', 'addr', 'add', `${v4}/24`, 'dev', ifc]);
      inNs(where, ['ip', '-6', 'addr', 'add', `${v6}/64`, 'dev', ifc, 'nodad']);
      inNs(where, ['ip', 'link', 'set', ifc, 'up']);
      if (opts.offload === false && hasBinary('ethtool')) inNs(where, ['ethtool', '-K', ifc, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
    };
    link('client', 'lvc0', ADDR.client4, ADDR.client6);
    link('router', 'lvrc', ADDR.router4c, ADDR.router6c);
    link('router', 'lvrs', ADDR.router4s, ADDR.router6s);
    link('server', 'lvs0', ADDR.server4, ADDR.server6);
    for (const n of ['client', 'router', 'server'] as const) inNs(n, ['ip', 'link', 'set', 'lo', 'up']);
    inNs('client', ['ip', 'route', 'add', 'default', 'via', ADDR.router4c]);
    inNs('client', ['ip', '-6', 'route', 'add', 'default', 'via', ADDR.router6c]);
    inNs('server', ['ip', 'route', 'add', 'default', 'via', ADDR.router4s]);
    inNs('server', ['ip', '-6', 'route', 'add', 'default', 'via', ADDR.router6s]);
    inNs('router', ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    inNs('router', ['sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    await startVsftpd(lab);
  } catch (e) {
    await lab.stop();
    throw e;
  }
  return lab;
}

async function startVsftpd(lab: Lab): Promise<void> {
  const root = path.join(lab.dir, 'root');
  fs.mkdirSync(lab.pub, { recursive: true });
  fs.chmodSync(lab.dir, 0o755);
  fs.chmodSync(root, 0o755);
  fs.mkdirSync('/var/run/vsftpd/empty', { recursive: true });
  const conf = path.join(lab.dir, 'vsftpd.conf');
  fs.writeFileSync(conf, [
    'listen=NO', 'listen_ipv6=YES', 'background=NO', 'listen_port=21', 'anonymous_enable=YES', 'no_anon_password=YES',
    `anon_root=${root}`, 'local_enable=NO', 'seccomp_sandbox=NO', 'secure_chroot_dir=/var/run/vsftpd/empty',
    'connect_from_port_20=NO', 'xferlog_enable=NO', 'pasv_enable=YES', 'port_enable=YES',
    `pasv_min_port=${SERVER_PASV[0]}`, `pasv_max_port=${SERVER_PASV[1]}`, 'max_clients=200', 'max_per_ip=200',
    'use_localtime=NO', 'dirmessage_enable=NO', '',
  ].join('\n'));
  const child = lab.spawn('server', '/usr/sbin/vsftpd', [conf]);
  let err = '';
  child.stderr?.on('data', (d) => { err += d; });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`vsftpd exited: ${err}`);
    const r = await lab.run('server', 'sh', ['-c', 'ss -Hltn "sport = :21" | grep -q .']);
    if (r.code === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('vsftpd did not listen on :21');
}

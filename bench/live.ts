/**
 * Live-capture benchmark (npm run bench:live, root): does `ftpscope capture` keep up with a real
 * transfer without the kernel dropping packets? In network namespaces (bench/netns-lab.ts), curl
 * in the client namespace downloads a file from vsftpd through the router, rate-limited as a WAN
 * link would be, over veths with their default offloads (GSO/GRO: packets up to 64 KiB), while
 * `ftpscope capture -i lvc0 --json` runs in the client namespace. For each setting it prints
 * the kernel's drop count, the bytes the report misses, and whether the sha256 is the served
 * file's. It is a benchmark, not a test: nothing fails on a slow machine.
 *   node dist/bench/live.js [--size-mb 20] [--rate 2M] [--runs 2] [--settings all|defaults] [--tui]
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ADDR, labUnavailable, startLab, type Lab } from './netns-lab.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
}

const SIZE_MB = Number(arg('--size-mb', '20'));
const RATE = arg('--rate', '2M');
const RUNS = Math.max(1, Number(arg('--runs', '2')));
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Setting { name: string; args: string[] }

const SETTINGS: Setting[] = [
  { name: 'before: -s 262144, 16 MiB, immediate mode', args: ['-s', '262144', '-B', String(16 * 1024), '--immediate'] },
  { name: 'before, with -s 65600', args: ['-s', '65600', '-B', String(16 * 1024), '--immediate'] },
  { name: 'defaults now (whole packets, 64 MiB, block delivery)', args: [] },
];

interface Outcome { kernelDropped: number; missing: number; bytes: number; shaOk: boolean; packets: number }

const TUI = process.argv.includes('--tui');

/**
 * With --tui the capture runs with its dashboard in a tmux of its own (as a person watches it):
 * the dashboard's drawing competes with reading packets. Drops are read from the line it prints
 * on quit; the bytes from a report of its -w file.
 */
async function onceTui(lab: Lab, s: Setting, sha: string, size: number, run: number): Promise<Outcome> {
  const sock = `lv-bench-${lab.id}-${run}-${randomBytes(2).toString('hex')}`;
  const file = path.join(lab.dir, `tui-${run}.pcapng`);
  const errFile = path.join(lab.dir, `tui-${run}.err`);
  const cmd = [process.execPath, CLI, 'capture', '-i', 'lvc0', '-f', 'tcp', '--tui', '-w', file, ...s.args].map((a) => `'${a}'`).join(' ');
  const tmux = (...a: string[]) => lab.run('client', 'tmux', ['-L', sock, ...a]);
  await tmux('new-session', '-d', '-x', '120', '-y', '40', `${cmd} 2>'${errFile}'`);
  try {
    for (let i = 0; i < 200 && !(await tmux('capture-pane', '-p')).stdout.includes('LIVE'); i++) await new Promise((r) => setTimeout(r, 50));
    const r = await lab.run('client', 'curl', ['-sS', '--limit-rate', RATE, '-o', '/dev/null', `ftp://${ADDR.server4}/pub/live.bin`], 300_000);
    if (r.code !== 0) throw new Error(`curl: ${r.stderr}`);
    await new Promise((res) => setTimeout(res, 500));
    await tmux('send-keys', 'q');
    for (let i = 0; i < 200 && !fs.readFileSync(errFile, 'utf8').includes('packets captured'); i++) await new Promise((r) => setTimeout(r, 50));
  } finally {
    // tmux's kill-server returns before the server is gone, and leaves its socket file: wait, then remove it.
    await tmux('kill-server');
    for (let i = 0; i < 100 && (await tmux('ls')).code === 0; i++) await new Promise((r) => setTimeout(r, 50));
    fs.rmSync(path.join(`/tmp/tmux-${process.getuid?.() ?? 0}`, sock), { force: true });
  }
  const err = fs.readFileSync(errFile, 'utf8');
  const rep = await lab.run('client', process.execPath, [CLI, 'report', file, '--json']);
  const report = JSON.parse(rep.stdout) as { sessions: { dataConnections: { direction: string; bytes: number; missingBytes: number; sha256: string | null }[] }[] };
  const dc = report.sessions.flatMap((x) => x.dataConnections).find((d) => d.direction === 'download');
  const dropped = /(\d+) DROPPED by the kernel/.exec(err);
  const packets = /(\d+) packets captured/.exec(err);
  return { kernelDropped: dropped ? Number(dropped[1]) : 0, missing: dc?.missingBytes ?? size, bytes: dc?.bytes ?? 0, shaOk: dc?.sha256 === sha, packets: packets ? Number(packets[1]) : 0 };
}

async function once(lab: Lab, s: Setting, sha: string, size: number): Promise<Outcome> {
  const cap = lab.spawn('client', process.execPath, [CLI, 'capture', '-i', 'lvc0', '-f', 'tcp', '--json', ...s.args]);
  let out = '';
  let err = '';
  cap.stdout!.on('data', (d) => { out += d; });
  cap.stderr!.on('data', (d) => { err += d; });
  for (let i = 0; i < 200 && !err.includes('capturing on'); i++) await new Promise((r) => setTimeout(r, 25));
  if (!err.includes('capturing on')) throw new Error(`capture did not start: ${err}`);
  const r = await lab.run('client', 'curl', ['-sS', '--limit-rate', RATE, '-o', '/dev/null', `ftp://${ADDR.server4}/pub/live.bin`], 300_000);
  if (r.code !== 0) throw new Error(`curl: ${r.stderr}`);
  await new Promise((res) => setTimeout(res, 500));
  const exited = new Promise((res) => cap.once('close', res));
  cap.kill('SIGINT');
  await exited;
  const report = JSON.parse(out) as { sessions: { dataConnections: { direction: string; bytes: number; missingBytes: number; sha256: string | null }[] }[] };
  const dc = report.sessions.flatMap((x) => x.dataConnections).find((d) => d.direction === 'download');
  const dropped = /(\d+) DROPPED by the kernel/.exec(err);
  const packets = /(\d+) packets captured/.exec(err);
  return {
    kernelDropped: dropped ? Number(dropped[1]) : 0,
    missing: dc?.missingBytes ?? size,
    bytes: dc?.bytes ?? 0,
    shaOk: dc?.sha256 === sha,
    packets: packets ? Number(packets[1]) : 0,
  };
}

async function main(): Promise<void> {
  const why = labUnavailable();
  if (why) {
    process.stdout.write(`bench:live needs network namespaces: ${why}\n`);
    process.exitCode = 2;
    return;
  }
  const lab = await startLab();
  try {
    const size = SIZE_MB * 1024 * 1024;
    const content = randomBytes(size);
    fs.writeFileSync(path.join(lab.pub, 'live.bin'), content);
    fs.chmodSync(path.join(lab.pub, 'live.bin'), 0o644);
    const sha = createHash('sha256').update(content).digest('hex');
    const which = arg('--settings', 'all') === 'defaults' ? SETTINGS.slice(-1) : SETTINGS;
    process.stdout.write(`live capture benchmark${TUI ? ' (with the dashboard, in tmux)' : ''}: ${SIZE_MB} MB download at ${RATE}/s over veths with GSO/GRO, ${RUNS} runs per setting; ` +
      `node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0]!.toFixed(1)}\n`);
    for (const s of which) {
      for (let run = 1; run <= RUNS; run++) {
        const o = TUI ? await onceTui(lab, s, sha, size, run) : await once(lab, s, sha, size);
        process.stdout.write(`${s.name.padEnd(55)} #${run}  ${String(o.packets).padStart(6)} packets  ` +
          `${String(o.kernelDropped).padStart(4)} dropped by the kernel  ${String(o.missing).padStart(8)} bytes missing  ` +
          `sha256 ${o.shaOk ? 'right' : 'WRONG/none'}  load ${os.loadavg()[0]!.toFixed(1)}\n`);
      }
    }
  } finally {
    await lab.stop();
  }
}

main().catch((e) => {
  process.stderr.write(`bench:live: ${(e as Error).message}\n`);
  process.exitCode = 1;
});

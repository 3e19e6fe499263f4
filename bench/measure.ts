/** Timing and peak RSS of a child process, for the benchmarks (bench:report, bench:shapes). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { CLI } from './capture-gen.js';

export interface Timed {
  seconds: number;
  /** user + system CPU seconds of the child (null without /usr/bin/time). */
  cpu: number | null;
  maxRssMB: number | null;
  ok: boolean;
  note: string;
}

export const HAVE_TIME = existsSync('/usr/bin/time');
export const RSS_HOOK = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\n__maxrss_kb__ "+process.resourceUsage().maxRSS+"\\n"))';

/** Run a command with stdout discarded; wall time and peak RSS. */
export function timed(cmd: string, args: string[]): Timed {
  const full = HAVE_TIME ? ['/usr/bin/time', ['-v', cmd, ...args]] as const : [cmd, args] as const;
  const start = process.hrtime.bigint();
  const r = spawnSync(full[0], [...full[1]], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? '') ?? /__maxrss_kb__ (\d+)/.exec(r.stderr ?? '');
  const user = /User time \(seconds\): ([\d.]+)/.exec(r.stderr ?? '');
  const sys = /System time \(seconds\): ([\d.]+)/.exec(r.stderr ?? '');
  const cpu = user && sys ? Number(user[1]) + Number(sys[1]) : null;
  const err = (r.stderr ?? '').split('\n').filter((l) => l && !/^\s|__maxrss|Command exited/.test(l)).slice(0, 2).join(' | ');
  return { seconds, cpu, maxRssMB: rss ? Number(rss[1]) / 1024 : null, ok: r.status === 0, note: r.status === 0 ? '' : `exit ${r.status}: ${err}` };
}

/** `ftpscope report --json file` (or another command: `args` before the file), from `cli` (default: this build). */
export function ours(file: string, args: string[] = ['report', '--json'], cli = CLI): Timed {
  return timed(process.execPath, [...(HAVE_TIME ? [] : ['--import', RSS_HOOK]), cli, ...args, file]);
}

export function tsharkAvailable(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function tshark(file: string): Timed {
  return timed('tshark', ['-n', '-r', file, '-Y', 'ftp', '-T', 'fields', '-e', 'ftp.request.command']);
}

export function fmt(t: Timed): string {
  return `${t.seconds.toFixed(2)} s wall${t.cpu !== null ? `, ${t.cpu.toFixed(2)} s CPU` : ''}, peak RSS ${t.maxRssMB === null ? '?' : t.maxRssMB.toFixed(0) + ' MB'}${t.ok ? '' : ` (${t.note})`}`;
}

/** The run with the median wall time of `runs` runs (runs alternate with the peer's by the caller). */
export function median(list: Timed[]): Timed {
  return [...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)]!;
}

export function spread(list: Timed[]): string {
  return list.length > 1 ? ` [runs: ${list.map((t) => t.seconds.toFixed(2)).join(', ')} s]` : '';
}

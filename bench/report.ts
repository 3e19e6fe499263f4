/**
 * Report benchmark (npm run bench:report): `ftpscope report --json` against
 * `tshark -r F -Y ftp -T fields -e ftp.request.command`, measured in the same run, on two
 * generated captures:
 *   - data-heavy: suricata-verify bug-4877 (4 active-mode transfers, 400 KB) repeated until ≥ 1 GB;
 *   - control-heavy: the zeek ipv4 and suricata-verify bug-3519 / ftp-download-* sessions repeated
 *     thousands of times.
 * Each repetition moves the FTP clients to new IPv4 addresses whose decimal text has the same
 * length, rewritten in the headers and in PORT/EPRT/227 texts (so TCP sequence numbers stay
 * valid and every repetition pairs like the original), with checksums recomputed and
 * timestamps shifted after the previous repetition.
 *
 *   node dist/bench/report.js [--data-bytes N] [--control-reps N] [--runs N] [--tshark-bytes N] [--keep]
 *                             [--only data-heavy,control-heavy,ring] [--ring-files N] [--dir D]
 *
 * Both tools run on the same whole capture, --runs times each (default 3), alternating, and the
 * median wall times are compared. --tshark-bytes N runs both on a slice of about N bytes (the
 * first repetitions) instead, which is quicker. Peak RSS comes from /usr/bin/time -v (or process.resourceUsage
 * inside the child when that is missing). CPU time (user + system) is printed next to wall time:
 * on a shared machine it is the fairer comparison.
 *
 * ring: many captures, one analysis. The data-heavy capture (--data-bytes) is written out by
 * tcpdump twice: as one file (`tcpdump -r G -w one.pcap`) and as a ring buffer of --ring-files files
 * (default 10; `tcpdump -r G -w ring/ftp.pcap -C MB`, rotating by size as a ring buffer does). Both
 * by the same writer on purpose: the kernel copies a file out of the page cache at a speed that
 * depends on how it was written (large writes get large page-cache folios; tcpdump's small writes
 * make reading the same bytes 2-3 times as costly in system time), which would otherwise be
 * measured as a difference between one file and many. Then `ftpscope report --json one.pcap` and
 * `ftpscope report --json ring/` run --runs times each, alternating. Target: the set within 10% of
 * the one file's time, peak RSS < 150 MB. The two JSON reports must agree on every session
 * (checked once, outside the timed runs).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, CLI, generate, loadSeed, MB, type Seed } from './capture-gen.js';
import { fmt, HAVE_TIME, median, ours, spread, type Timed, tshark, tsharkAvailable } from './measure.js';

/** The sessions of `ftpscope report --json` (outside the timed runs: the whole report is parsed here). */
function sessionsJson(input: string): string {
  const r = spawnSync(process.execPath, [CLI, 'report', '--json', input], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`ftpscope report ${input} failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { sessions: unknown[]; unpairedDataConnections: unknown[] };
  return JSON.stringify([j.sessions, j.unpairedDataConnections]);
}

/** `tcpdump -r from -w to [args]`: rewrites a capture as tcpdump writes it (-C MB: as a ring buffer). */
function tcpdumpWrite(from: string, to: string, args: string[] = []): void {
  // As root tcpdump drops to its own user before writing; keep root so it can write here.
  const asRoot = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
  const r = spawnSync('tcpdump', ['-r', from, '-w', to, ...args, ...asRoot], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tcpdump -w failed (is tcpdump installed?): ${r.stderr.trim().split('\n').pop()}`);
}

/**
 * Cuts `file` into a ring buffer of about `files` files with tcpdump -C (rotation by size, in
 * units of 1,000,000 bytes), the tool that writes ring buffers in the field.
 */
function ringOf(file: string, dir: string, files: number): string[] {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  tcpdumpWrite(file, join(dir, 'ftp.pcap'), ['-C', String(Math.ceil(statSync(file).size / files / 1e6))]);
  return readdirSync(dir).sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).map((f) => join(dir, f));
}

async function ringBench(dir: string, seeds: Seed[], dataBytes: number, files: number, runs: number, keep: boolean): Promise<string> {
  const generated = join(dir, 'ring-generated.pcap');
  const single = join(dir, 'ring-single.pcap');
  const ringDir = join(dir, 'ring');
  const g = generate(generated, seeds, { bytes: dataBytes });
  const size = statSync(generated).size;
  try {
    tcpdumpWrite(generated, single);
    const parts = ringOf(generated, ringDir, files);
    rmSync(generated, { force: true });
    const setSize = parts.reduce((n, p) => n + statSync(p).size, 0);
    console.log(`\nring: ${single}, ${(size / MB).toFixed(0)} MB (${g.sessions} FTP sessions), written by tcpdump as it and as ${parts.length} files by tcpdump -C ` +
      `(${(setSize / MB).toFixed(0)} MB in all, ${parts.map((p) => (statSync(p).size / MB).toFixed(0)).join(' + ')} MB) in ${ringDir}`);
    const same = sessionsJson(single) === sessionsJson(ringDir);
    console.log(`  the reports of the one file and of the set agree on every session and data connection: ${same ? 'yes' : 'NO'}`);
    const one: Timed[] = [];
    const set: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      one.push(ours(single));
      set.push(ours(ringDir));
    }
    const failed = [...one, ...set].filter((t) => !t.ok);
    if (failed.length > 0 || !same) {
      for (const t of failed) console.log(`  a run failed after ${t.seconds.toFixed(2)} s: ${t.note}`);
      process.exitCode = 1;
      return `ring: FAILED (${failed.length} failed runs${same ? '' : ', reports differ'})`;
    }
    const a = median(one);
    const b = median(set);
    const rssOne = Math.max(...one.map((t) => t.maxRssMB ?? 0));
    const rssSet = Math.max(...set.map((t) => t.maxRssMB ?? 0));
    const ratio = b.seconds / a.seconds;
    // CPU: the median of each tool's CPU times (not the CPU of the median-wall run): steadier on a shared machine.
    const medianCpu = (l: Timed[]): number | null => (l.some((t) => t.cpu === null) ? null : [...l].map((t) => t.cpu!).sort((x, y) => x - y)[Math.floor(l.length / 2)]!);
    const cpuOne = medianCpu(one);
    const cpuSet = medianCpu(set);
    const cpuRatio = cpuOne !== null && cpuSet !== null ? cpuSet / cpuOne : null;
    const cpus = (l: Timed[]): string => (l.every((t) => t.cpu !== null) ? ` [CPU: ${l.map((t) => t.cpu!.toFixed(2)).join(', ')} s]` : '');
    console.log(`  one file:      ${fmt(a)}${spread(one)}${cpus(one)}`);
    console.log(`  ${parts.length} files:      ${fmt(b)}${spread(set)}${cpus(set)}`);
    const pct = (r: number): string => `${Math.abs((r - 1) * 100).toFixed(1)}% ${r >= 1 ? 'more' : 'less'}`;
    console.log(`  the set takes ${pct(ratio)} wall time than the one file (medians)` +
      `${cpuRatio !== null ? `, ${pct(cpuRatio)} CPU time (medians)` : ''} (target: within 10%); ` +
      `peak RSS ${rssSet.toFixed(0)} MB vs ${rssOne.toFixed(0)} MB (target < 150 MB)`);
    return `ring: ${(size / MB).toFixed(0)} MB as ${parts.length} files ${b.seconds.toFixed(2)} s vs one file ${a.seconds.toFixed(2)} s ` +
      `(${ratio >= 1 ? '+' : ''}${((ratio - 1) * 100).toFixed(1)}% wall${cpuRatio !== null ? `, ${cpuRatio >= 1 ? '+' : ''}${((cpuRatio - 1) * 100).toFixed(1)}% CPU` : ''}), ` +
      `peak RSS ${rssSet.toFixed(0)} MB vs ${rssOne.toFixed(0)} MB`;
  } finally {
    if (!keep) {
      rmSync(generated, { force: true });
      rmSync(single, { force: true });
      rmSync(ringDir, { recursive: true, force: true });
    }
  }
}


async function main(): Promise<void> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build`);
  const dataBytes = arg('--data-bytes', 1.05e9);
  const controlReps = arg('--control-reps', 2500);
  const tsharkBytes = arg('--tshark-bytes', Infinity);
  const runs = Math.max(1, arg('--runs', 3));
  const keep = process.argv.includes('--keep');
  const onlyAt = process.argv.indexOf('--only');
  const only = onlyAt > 0 ? new Set(process.argv[onlyAt + 1]!.split(',')) : null;
  const ringFiles = Math.max(2, arg('--ring-files', 10));
  const dirAt = process.argv.indexOf('--dir');
  const dir = dirAt > 0 ? process.argv[dirAt + 1]! : join(tmpdir(), 'ftpscope-bench-report');
  spawnSync('mkdir', ['-p', dir]);
  const withTshark = tsharkAvailable();

  const dataSeeds = [await loadSeed('suricata-verify/bug-4877/input.pcap')];
  const controlSeeds = await Promise.all([
    'zeek/ipv4.pcap', 'suricata-verify/bug-3519/input.pcap',
    'suricata-verify/ftp/ftp-download-active/input.pcap', 'suricata-verify/ftp/ftp-download-passive/input.pcap',
  ].map(loadSeed));

  const benches = [
    { name: 'data-heavy', seeds: dataSeeds, opts: { bytes: dataBytes } },
    { name: 'control-heavy', seeds: controlSeeds, opts: { rounds: controlReps } },
  ].filter((b) => !only || only.has(b.name));
  console.log(`ftpscope report --json vs tshark -Y ftp -T fields -e ftp.request.command (node ${process.version}, ${HAVE_TIME ? '/usr/bin/time -v' : 'resourceUsage'} for RSS; median of ${runs} alternating runs each)`);
  const summary: string[] = [];
  for (const b of benches) {
    const file = join(dir, `${b.name}.pcap`);
    const g = generate(file, b.seeds, b.opts);
    const size = statSync(file).size;
    console.log(`\n${b.name}: ${file}, ${(size / MB).toFixed(0)} MB, ${g.rounds} repetitions of ${b.seeds.map((s) => s.name).join(' + ')} (${g.sessions} FTP sessions)`);
    // tshark runs on the same whole capture unless --tshark-bytes asks for a shorter slice (quicker, but
    // it then weighs both tools' start-up more).
    let target = file;
    let sliceNote = '';
    if (withTshark && size > tsharkBytes) {
      target = join(dir, `${b.name}-slice.pcap`);
      const sliceRounds = Math.max(1, Math.floor(g.rounds * (tsharkBytes / size)));
      generate(target, b.seeds, { rounds: sliceRounds });
      sliceNote = ` (slice of ${(statSync(target).size / MB).toFixed(0)} MB, ${sliceRounds} repetitions)`;
    }
    const oursRuns: Timed[] = [];
    const tsharkRuns: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      oursRuns.push(ours(target));
      if (withTshark) tsharkRuns.push(tshark(target));
    }
    // A run that failed measured nothing: no figures from this capture at all.
    const failed = [...oursRuns.map((t) => ['ftpscope', t] as const), ...tsharkRuns.map((t) => ['tshark', t] as const)].filter(([, t]) => !t.ok);
    if (failed.length > 0) {
      for (const [tool, t] of failed) console.log(`  ${tool} failed after ${t.seconds.toFixed(2)} s: ${t.note}`);
      console.log('  no figures: a failed run is not a measurement');
      summary.push(`${b.name}: FAILED (${failed.length} of ${oursRuns.length + tsharkRuns.length} runs)`);
      process.exitCode = 1;
      if (!keep) rmSync(file, { force: true });
      if (!keep && target !== file) rmSync(target, { force: true });
      continue;
    }
    const a = median(oursRuns);
    const worstRss = Math.max(...oursRuns.map((t) => t.maxRssMB ?? 0));
    console.log(`  ftpscope${sliceNote}: ${fmt(a)}  (${(statSync(target).size / MB / a.seconds).toFixed(0)} MB/s)${spread(oursRuns)}`);
    let line = `${b.name}: ${(size / MB).toFixed(0)} MB, ftpscope ${a.seconds.toFixed(2)} s, peak RSS ${worstRss.toFixed(0)} MB`;
    if (withTshark) {
      const t = median(tsharkRuns);
      const ratio = t.seconds / a.seconds;
      const cpuRatio = t.cpu !== null && a.cpu !== null ? t.cpu / a.cpu : null;
      console.log(`  tshark${sliceNote}:   ${fmt(t)}${spread(tsharkRuns)}`);
      console.log(`  ratio: ftpscope is ${ratio.toFixed(1)}x tshark's speed by wall time${cpuRatio !== null ? `, ${cpuRatio.toFixed(1)}x by CPU time` : ''} (target >= 10x); peak RSS ${worstRss.toFixed(0)} MB (target < 150 MB)`);
      line += `; tshark ${t.seconds.toFixed(2)} s: ${ratio.toFixed(1)}x wall${cpuRatio !== null ? `, ${cpuRatio.toFixed(1)}x CPU` : ''}${sliceNote}`;
      if (!keep && target !== file) rmSync(target, { force: true });
    } else {
      console.log('  tshark is not installed: no ratio (apt-get install tshark)');
      line += '; tshark not installed';
    }
    summary.push(line);
    if (!keep) rmSync(file, { force: true });
  }
  if (!only || only.has('ring')) summary.push(await ringBench(dir, dataSeeds, dataBytes, ringFiles, runs, keep));
  console.log('\nsummary:\n  ' + summary.join('\n  '));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:report: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});

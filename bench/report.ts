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
import { pcapFileHeader } from '../src/capture/pcap.js';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../src/capture/open.js';

const BUILT_ROOT = new URL('../../', import.meta.url).pathname;
const ROOT = existsSync(join(BUILT_ROOT, 'captures')) ? BUILT_ROOT : process.cwd();
const PUB = join(ROOT, 'captures/public');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const MB = 1e6;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

interface SeedPacket {
  ts: number;
  bytes: Buffer;
  wirelen: number;
}

interface Seed {
  name: string;
  packets: SeedPacket[];
  /** FTP client addresses (they connect to port 21) as 4 bytes. */
  clients: Buffer[];
  duration: number;
}

/** The Ethernet/IPv4/TCP offsets of a packet, or null when it is something else. */
function offsets(p: Buffer): { ip: number; tcp: number; end: number } | null {
  let off = 12;
  let type = p.readUInt16BE(off);
  while (type === 0x8100 || type === 0x88a8) {
    off += 4;
    type = p.readUInt16BE(off);
  }
  const ip = off + 2;
  if (type !== 0x0800 || p.length < ip + 20 || p[ip + 9] !== 6) return null;
  const ihl = (p[ip]! & 0x0f) * 4;
  const total = p.readUInt16BE(ip + 2);
  return { ip, tcp: ip + ihl, end: Math.min(p.length, ip + total) };
}

async function loadSeed(rel: string): Promise<Seed> {
  const packets: SeedPacket[] = [];
  const clients = new Map<string, Buffer>();
  await readCapture(join(PUB, rel), (r) => {
    if (r.linkType !== 1) return;
    const bytes = Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen));
    packets.push({ ts: r.ts, bytes, wirelen: r.wirelen });
    const o = offsets(bytes);
    if (o && bytes.readUInt16BE(o.tcp + 2) === 21) {
      const src = bytes.subarray(o.ip + 12, o.ip + 16);
      clients.set(src.toString('hex'), Buffer.from(src));
    }
  });
  const t0 = packets[0]?.ts ?? 0;
  return { name: rel, packets, clients: [...clients.values()], duration: (packets.at(-1)?.ts ?? t0) - t0 };
}

/** Octet values whose decimal text has as many digits as `v`'s. */
function sameWidthRange(v: number): [number, number] {
  return v < 10 ? [0, 9] : v < 100 ? [10, 99] : [100, 255];
}

/** Repetition k's replacement for an address: last two octets stepped within their digit widths. */
function shiftAddress(a: Buffer, k: number): Buffer {
  const out = Buffer.from(a);
  const [lo3, hi3] = sameWidthRange(a[2]!);
  const [lo4, hi4] = sameWidthRange(a[3]!);
  const n3 = hi3 - lo3 + 1;
  const n4 = hi4 - lo4 + 1;
  const idx = (((a[2]! - lo3) * n4 + (a[3]! - lo4)) + k) % (n3 * n4);
  out[2] = lo3 + Math.floor(idx / n4);
  out[3] = lo4 + (idx % n4);
  return out;
}

function textForms(a: Buffer): string[] {
  return [[...a].join(','), [...a].join('.')];
}

function sum16(buf: Buffer, start: number, end: number, init = 0): number {
  let s = init;
  let i = start;
  for (; i + 1 < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) s += buf[i]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** Recompute the IPv4 header and TCP checksums (TCP only when the whole segment was captured). */
function fixChecksums(p: Buffer, o: { ip: number; tcp: number; end: number }, wholeSegment: boolean): void {
  p.writeUInt16BE(0, o.ip + 10);
  p.writeUInt16BE(fold(sum16(p, o.ip, o.tcp)), o.ip + 10);
  if (!wholeSegment) return;
  const len = o.end - o.tcp;
  p.writeUInt16BE(0, o.tcp + 16);
  let s = sum16(p, o.ip + 12, o.ip + 20) + 6 + len;
  s = sum16(p, o.tcp, o.end, s);
  p.writeUInt16BE(fold(s), o.tcp + 16);
}

/** Streams pcap records to a file in large writes. */
class PcapOut {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(8 << 20);
  private used = 0;
  size = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    this.put(pcapFileHeader(1));
  }

  record(ts: number, bytes: Buffer, wirelen: number): void {
    const h = Buffer.allocUnsafe(16);
    const sec = Math.floor(ts);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(Math.min(999999, Math.round((ts - sec) * 1e6)), 4);
    h.writeUInt32LE(bytes.length, 8);
    h.writeUInt32LE(wirelen, 12);
    this.put(h);
    this.put(bytes);
  }

  private put(b: Buffer): void {
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      writeSync(this.fd, b);
    } else {
      b.copy(this.buf, this.used);
      this.used += b.length;
    }
    this.size += b.length;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Writes repetition k of a seed: clients moved, texts rewritten, checksums fixed, time shifted. */
function writeRepetition(out: PcapOut, seed: Seed, k: number, tsOffset: number): void {
  const swaps = seed.clients.map((c) => ({ from: c, to: shiftAddress(c, k) }));
  const texts = swaps.flatMap((s) => textForms(s.from).map((f, i) => ({ from: Buffer.from(f), to: Buffer.from(textForms(s.to)[i]!) })));
  for (const sp of seed.packets) {
    const p = Buffer.from(sp.bytes);
    const o = offsets(p);
    if (o) {
      for (const s of swaps) {
        for (const at of [o.ip + 12, o.ip + 16]) if (p.compare(s.from, 0, 4, at, at + 4) === 0) s.to.copy(p, at);
      }
      const sport = p.readUInt16BE(o.tcp);
      const dport = p.readUInt16BE(o.tcp + 2);
      if (sport === 21 || dport === 21) {
        const payload = o.tcp + ((p[o.tcp + 12]! >> 4) * 4);
        for (const t of texts) {
          for (let at = p.indexOf(t.from, payload); at >= 0 && at < o.end; at = p.indexOf(t.from, at + 1)) t.to.copy(p, at);
        }
      }
      fixChecksums(p, o, p.length >= o.end && sp.wirelen === p.length);
    }
    out.record(sp.ts + tsOffset, p, sp.wirelen);
  }
}

/** Repeats the seeds in turn (one round = one repetition of each) until the size or round count. */
function generate(path: string, seeds: Seed[], opts: { bytes?: number; rounds?: number }): { rounds: number; sessions: number } {
  const out = new PcapOut(path);
  let offset = 0;
  let rounds = 0;
  const t0 = Math.min(...seeds.map((s) => s.packets[0]!.ts));
  while ((opts.bytes === undefined || out.size < opts.bytes) && (opts.rounds === undefined || rounds < opts.rounds)) {
    for (const seed of seeds) {
      const shift = offset - (seed.packets[0]!.ts - t0);
      writeRepetition(out, seed, rounds, shift);
      offset += seed.duration + 1;
    }
    rounds++;
  }
  out.close();
  return { rounds, sessions: rounds * seeds.length };
}

interface Timed {
  seconds: number;
  /** user + system CPU seconds of the child (null without /usr/bin/time). */
  cpu: number | null;
  maxRssMB: number | null;
  ok: boolean;
  note: string;
}

const HAVE_TIME = existsSync('/usr/bin/time');
const RSS_HOOK = 'data:text/javascript,process.on("exit",()=>process.stderr.write("\\n__maxrss_kb__ "+process.resourceUsage().maxRSS+"\\n"))';

/** Run a command with stdout discarded; wall time and peak RSS. */
function timed(cmd: string, args: string[]): Timed {
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

function ours(file: string): Timed {
  return timed(process.execPath, [...(HAVE_TIME ? [] : ['--import', RSS_HOOK]), CLI, 'report', '--json', file]);
}

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

function tsharkAvailable(): boolean {
  return spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
}

function tshark(file: string): Timed {
  return timed('tshark', ['-n', '-r', file, '-Y', 'ftp', '-T', 'fields', '-e', 'ftp.request.command']);
}

function fmt(t: Timed): string {
  return `${t.seconds.toFixed(2)} s wall${t.cpu !== null ? `, ${t.cpu.toFixed(2)} s CPU` : ''}, peak RSS ${t.maxRssMB === null ? '?' : t.maxRssMB.toFixed(0) + ' MB'}${t.ok ? '' : ` (${t.note})`}`;
}

/** The run with the median wall time of `runs` runs (runs alternate with the peer's by the caller). */
function median(list: Timed[]): Timed {
  return [...list].sort((a, b) => a.seconds - b.seconds)[Math.floor(list.length / 2)]!;
}

function spread(list: Timed[]): string {
  return list.length > 1 ? ` [runs: ${list.map((t) => t.seconds.toFixed(2)).join(', ')} s]` : '';
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

/**
 * Capture reading benchmark (npm run bench:read): read + fast-path decode throughput and peak
 * memory on a generated ≥ 1 GB capture, against `cat` and tshark measured in the same run.
 *
 * The capture repeats the packets of the bundled captures (captures/**.pcap, Ethernet) until it
 * reaches the target size; it is written under the OS temp dir and reused when present.
 *   node dist/bench/read.js [--bytes N] [--tshark-bytes N] [--keep]
 * tshark is far slower than a plain read, so it runs on a slice (the first 64 MB by default) and
 * ours is measured on that same slice too; the ratio compares like with like.
 */
import { pcapFileHeader } from '../src/capture/pcap.js';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readCapture } from '../src/capture/open.js';
import { FastDecoder, newFastPacket } from '../src/dissect/fast.js';

// dist/bench/read.js → the repository root; else the current directory.
const BUILT_ROOT = new URL('../../', import.meta.url).pathname;
const ROOT = existsSync(join(BUILT_ROOT, 'captures')) ? BUILT_ROOT : process.cwd();
const MB = 1e6;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

function findCaptures(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && e.name !== 'fixtures') findCaptures(p, out);
    else if (e.isFile() && /\.pcap$/.test(e.name)) out.push(p);
  }
  return out.sort();
}

/** pcap records (header + bytes) of every Ethernet packet in the bundled captures. */
async function seedRecords(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (const file of findCaptures(join(ROOT, 'captures'))) {
    await readCapture(file, (r) => {
      if (r.linkType !== 1) return;
      const h = Buffer.alloc(16);
      const sec = Math.floor(r.ts);
      h.writeUInt32LE(sec, 0);
      h.writeUInt32LE(Math.round((r.ts - sec) * 1e6), 4);
      h.writeUInt32LE(r.caplen, 8);
      h.writeUInt32LE(r.wirelen, 12);
      parts.push(h, Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen)));
    }).catch(() => undefined);
  }
  return Buffer.concat(parts);
}


/** Writes header + seed repeated until `bytes`, in whole records. */
function writeRepeated(path: string, seed: Buffer, bytes: number): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, pcapFileHeader(1));
    let size = 24;
    const block = Buffer.concat(Array.from({ length: Math.max(1, Math.floor((8 << 20) / seed.length)) }, () => seed));
    while (size < bytes) {
      writeSync(fd, block);
      size += block.length;
    }
  } finally {
    closeSync(fd);
  }
}

async function ours(path: string, decode: boolean): Promise<{ seconds: number; packets: number; bytes: number }> {
  const decoder = new FastDecoder();
  const fp = newFastPacket();
  let packets = 0;
  let tcp = 0;
  const t0 = performance.now();
  const info = await readCapture(path, decode ? (r) => { packets++; if (decoder.decode(r, fp)) tcp++; } : () => { packets++; });
  const seconds = (performance.now() - t0) / 1000;
  if (decode && tcp === 0) throw new Error('no TCP packets decoded: the benchmark capture is wrong');
  return { seconds, packets, bytes: info.bytes };
}

function timeCommand(cmd: string, args: string[]): number | null {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  if (r.status !== 0) return null;
  return (performance.now() - t0) / 1000;
}

function best<T extends { seconds: number }>(runs: T[]): T {
  return runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

interface Measured { seconds: number; packets: number; bytes: number; maxRssMB: number }

/** Best of two runs of `ours` in a child process (this file with --measure). */
function measureInChild(file: string, decode: boolean): Measured {
  const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, '--measure', file, decode ? 'decode' : 'read'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measuring ${file} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout) as Measured;
}

async function measure(file: string, decode: boolean): Promise<void> {
  const run = best([await ours(file, decode), await ours(file, decode)]);
  process.stdout.write(JSON.stringify({ ...run, maxRssMB: (process.resourceUsage().maxRSS * 1024) / MB }));
}

async function main(): Promise<void> {
  const m = process.argv.indexOf('--measure');
  if (m > 0) return measure(process.argv[m + 1]!, process.argv[m + 2] === 'decode');
  const target = arg('--bytes', 1.1e9);
  const tsharkBytes = arg('--tshark-bytes', 64e6);
  const keep = process.argv.includes('--keep');
  const seed = await seedRecords();
  if (seed.length === 0) throw new Error('no bundled Ethernet pcap captures found under captures/');
  const file = join(tmpdir(), `ftpscope-bench-read-${seed.length}-${target}.pcap`);
  if (!existsSync(file) || statSync(file).size < target) {
    // Captures from an earlier seed (the bundled captures changed) are stale: don't let them pile up.
    for (const old of readdirSync(tmpdir()).filter((f) => /^ftpscope-bench-read-\d+-\d+\.pcap$/.test(f))) rmSync(join(tmpdir(), old), { force: true });
    process.stderr.write(`writing ${(target / MB).toFixed(0)} MB benchmark capture ${file} ...\n`);
    writeRepeated(file, seed, target);
  }
  const size = statSync(file).size;
  console.log(`capture: ${file} (${(size / MB).toFixed(0)} MB, seed ${seed.length} bytes from the bundled captures)`);
  console.log(`machine: ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)} (figures are only comparable on an idle machine)`);

  // Warm the page cache, then measure cat as the I/O ceiling.
  spawnSync('sh', ['-c', `cat '${file}' > /dev/null`]);
  const catRuns = [0, 1].map(() => timeCommand('sh', ['-c', `cat '${file}' > /dev/null`])).filter((x): x is number => x !== null);
  const catSeconds = catRuns.length ? Math.min(...catRuns) : null;

  // Measured in a fresh process, so peak RSS is the reader's alone (not the capture generation's).
  const readOnly = measureInChild(file, false);
  const decoded = measureInChild(file, true);
  const maxRssMB = Math.max(readOnly.maxRssMB, decoded.maxRssMB);

  const rate = (bytes: number, s: number) => `${(bytes / MB / s).toFixed(0)} MB/s`;
  console.log(`cat > /dev/null:            ${catSeconds ? rate(size, catSeconds) : 'n/a'}`);
  console.log(`ftpscope read only:         ${rate(readOnly.bytes, readOnly.seconds)}, ${(readOnly.packets / readOnly.seconds / 1e6).toFixed(2)} M packets/s`);
  console.log(`ftpscope read + decodeFast: ${rate(decoded.bytes, decoded.seconds)}, ${(decoded.packets / decoded.seconds / 1e6).toFixed(2)} M packets/s (${decoded.packets} packets)`);
  console.log(`peak RSS:                   ${maxRssMB.toFixed(1)} MB (target < 100 MB)`);
  if (catSeconds) console.log(`ratio read+decode / cat:    ${(catSeconds / decoded.seconds).toFixed(2)}x of cat's throughput`);

  const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;
  if (hasTshark && tsharkBytes > 0) {
    const slice = join(tmpdir(), `ftpscope-bench-read-slice-${seed.length}-${tsharkBytes}.pcap`);
    if (!existsSync(slice) || statSync(slice).size < tsharkBytes) writeRepeated(slice, seed, tsharkBytes);
    const sliceSize = statSync(slice).size;
    spawnSync('sh', ['-c', `cat '${slice}' > /dev/null`]);
    const tsharkSeconds = timeCommand('sh', ['-c', `tshark -n -r '${slice}' -T fields -e tcp.seq > /dev/null 2>&1`]);
    const oursSlice = measureInChild(slice, true);
    console.log(`tshark -T fields -e tcp.seq on a ${(sliceSize / MB).toFixed(0)} MB slice (tshark would take minutes on the whole file):`);
    if (tsharkSeconds) {
      console.log(`  tshark:                   ${rate(sliceSize, tsharkSeconds)}`);
      console.log(`  ftpscope read + decode:   ${rate(oursSlice.bytes, oursSlice.seconds)}`);
      console.log(`  ratio ftpscope / tshark:  ${(tsharkSeconds / oursSlice.seconds).toFixed(1)}x faster`);
    } else console.log('  tshark failed on the slice');
    if (!keep) rmSync(slice, { force: true });
  } else if (!hasTshark) {
    console.log('tshark: not installed, skipped (apt-get install tshark)');
  }
  console.log(`(the capture is kept for the next run; remove it with: rm ${file})`);
}

main().catch((e) => {
  console.error(`bench:read failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});

/**
 * Shapes benchmark (npm run bench:shapes): `ftpscope report --json` against tshark, and `flow` and
 * `extract` for peak RSS and success, on captures of the shapes real traffic has, each generated
 * from bundled captures by rewriting addresses, ports, sequence numbers and times (capture-gen.ts):
 *
 *   short        10,000 short sessions (bench:report's control-heavy capture)
 *   long         40 long sessions at once, each with ~3,440 commands and ~1,720 findings
 *                (vsftpd-pasv-nat-ipv4: a PASV behind NAT, repeated in each session)
 *   commands     one session with 1,000,000 commands (a CWD and its reply, repeated)
 *   flows        100,000 control connections open at once (handshake, banner, login; never closed)
 *   data-conns   one session with 100,000 data connections (PASV ... RETR ... 226, repeated)
 *   bulk         1 GB of bulk transfers (bench:report's data-heavy capture)
 *   big-gaps     one 5.4 GB transfer with gaps (zeek's bigtransfer.pcap, 200 MB of it filled in)
 *
 *   node dist/bench/shapes.js [--only long,flows] [--scale F] [--runs N] [--cli PATH] [--no-tshark]
 *                             [--no-views] [--keep] [--dir D] [--baseline PATH]
 *
 * --scale multiplies every shape's size (default 0.25; 1 for the sizes above, 0.01 for a quick look). --cli runs another build in place of
 * this one; --baseline PATH (a built dist/src/cli/main.js, e.g. of the code before a change) runs in the
 * same alternation, so before and after are measured under the same load. Shapes run in --only's order. report and tshark (`tshark -n -r F -Y ftp -T fields -e
 * ftp.request.command`, the peer bench:report uses) run --runs times each (default 3), alternating,
 * and the medians are compared. A benchmark, not a test: nothing fails on a slow machine.
 */
import { mkdirSync, readFileSync, rmSync, statfsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, CLI, clientMoves, generate, loadSeed, MB, PcapOut, rewritePacket, writeBigGaps, writeSpliced } from './capture-gen.js';
import { fmt, HAVE_TIME, median, ours, spread, type Timed, tshark, tsharkAvailable } from './measure.js';

const NAT = 'captures/vsftpd-pasv-nat-ipv4.pcap';

/** A shape made of one seed's frames [from, to) repeated `full` times (at scale 1) in `sessions` sessions. */
function splicedShape(o: { from: number; to: number; full: number; sessions: number; dataPort?: number }): Shape['make'] {
  return (path, scale) => writeSpliced(path, NAT, { from: o.from, to: o.to, reps: Math.max(1, Math.round(o.full * scale)), sessions: o.sessions, dataPort: o.dataPort });
}

interface Shape {
  name: string;
  what: string;
  make(path: string, scale: number): Promise<void>;
}

const SHAPES: Shape[] = [
  {
    name: 'short', what: '10,000 short sessions',
    async make(path, scale) {
      const seeds = await Promise.all(['zeek/ipv4.pcap', 'suricata-verify/bug-3519/input.pcap',
        'suricata-verify/ftp/ftp-download-active/input.pcap', 'suricata-verify/ftp/ftp-download-passive/input.pcap'].map(loadSeed));
      generate(path, seeds, { rounds: Math.max(1, Math.round(2500 * scale)) });
    },
  },
  {
    // The seed's second, short control connection comes along in each copy: 80 sessions, 40 of them long.
    name: 'long', what: '40 long sessions, ~3,440 commands and ~1,720 findings each',
    // frames 16-34: PASV (a NAT'd address), TYPE, SIZE, RETR over a data connection, 226
    make: splicedShape({ from: 15, to: 34, full: 860, sessions: 40, dataPort: 57476 }),
  },
  {
    name: 'commands', what: 'one session with 1,000,000 commands',
    // frames 35-37: CWD, its ACK, 250
    make: splicedShape({ from: 34, to: 37, full: 1e6, sessions: 1 }),
  },
  {
    name: 'flows', what: '100,000 control connections open at once',
    async make(path, scale) {
      const seed = await loadSeed(NAT);
      const out = new PcapOut(path);
      const n = Math.max(1, Math.round(100_000 * scale));
      // frames 3-10: handshake, 220, USER, 230; never closed. 100 client addresses x 1,000 ports.
      for (let c = 0; c < n; c++) {
        const rw = { moves: clientMoves(seed, c % 100), ports: new Map([[43158, 2000 + Math.floor(c / 100)]]) };
        for (let i = 2; i < 10; i++) out.record(seed.packets[i]!.ts + c * 0.001, rewritePacket(seed.packets[i]!, rw), seed.packets[i]!.wirelen);
      }
      out.close();
    },
  },
  {
    name: 'data-conns', what: 'one session with 100,000 data connections',
    make: splicedShape({ from: 15, to: 34, full: 100_000, sessions: 1, dataPort: 57476 }),
  },
  {
    name: 'bulk', what: '1 GB of bulk transfers',
    async make(path, scale) {
      generate(path, [await loadSeed('suricata-verify/bug-4877/input.pcap')], { bytes: 1.05e9 * scale });
    },
  },
  {
    name: 'big-gaps', what: 'one 5.4 GB transfer with gaps, 200 MB of it captured',
    make: (path, scale) => writeBigGaps(path, 200e6 * scale),
  },
];

interface Row {
  shape: Shape;
  mb: number;
  /** The --baseline build's runs, when asked for. */
  base: { report: Timed; flow: Timed | null; extract: Timed | null } | null;
  ours: Timed | null;
  tshark: Timed | null;
  flow: Timed | null;
  extract: Timed | null;
}

function rss(t: Timed | null): string {
  if (!t) return '-';
  return `${t.maxRssMB === null ? '?' : t.maxRssMB.toFixed(0)} MB${t.ok ? '' : ' FAILED'}`;
}

async function main(): Promise<void> {
  // A quarter of each shape by default, to fit in 15 minutes on the project's 2-CPU VM (with --baseline
  // it took 16.5 under load 6.5-9; --scale 1, the full shapes, takes far longer).
  const scale = arg('--scale', 0.25);
  const runs = Math.max(1, arg('--runs', 3));
  const keep = process.argv.includes('--keep');
  const opt = (name: string): string | null => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1]! : null;
  };
  const only = opt('--only')?.split(',') ?? null;
  const cli = opt('--cli') ?? CLI;
  const baseline = opt('--baseline');
  const dir = opt('--dir') ?? join(tmpdir(), 'ftpscope-bench-shapes');
  const withTshark = !process.argv.includes('--no-tshark') && tsharkAvailable();
  const views = !process.argv.includes('--no-views');
  mkdirSync(dir, { recursive: true });
  const unknown = only?.filter((n) => !SHAPES.some((s) => s.name === n)) ?? [];
  if (unknown.length) throw new Error(`unknown shape ${unknown.join(', ')}: ${SHAPES.map((s) => s.name).join(', ')}`);
  console.log(`bench:shapes: ${cli} report --json vs tshark -Y ftp (node ${process.version}, scale ${scale}, ` +
    `median of ${runs} alternating runs, ${HAVE_TIME ? '/usr/bin/time -v' : 'resourceUsage'} for peak RSS; load ${loadavg()})`);
  const rows: Row[] = [];
  const chosen = only ? only.map((n) => SHAPES.find((s) => s.name === n)!) : SHAPES;
  for (const shape of chosen) {
    const file = join(dir, `${shape.name}.pcap`);
    const free = statfsSync(dir);
    if (free.bavail * free.bsize < 1.5e9 * scale + 2e8) {
      console.log(`\n${shape.name}: skipped: ${((free.bavail * free.bsize) / MB).toFixed(0)} MB free in ${dir}`);
      continue;
    }
    const g0 = Date.now();
    await shape.make(file, scale);
    const mb = statSync(file).size / MB;
    console.log(`\n${shape.name}: ${shape.what} (scale ${scale}): ${file}, ${mb.toFixed(0)} MB, generated in ${((Date.now() - g0) / 1000).toFixed(1)} s`);
    const oursRuns: Timed[] = [];
    const tsharkRuns: Timed[] = [];
    const baseRuns: Timed[] = [];
    for (let i = 0; i < runs; i++) {
      oursRuns.push(ours(file, ['report', '--json'], cli));
      if (baseline) baseRuns.push(ours(file, ['report', '--json'], baseline));
      if (withTshark) tsharkRuns.push(tshark(file));
    }
    const row: Row = {
      shape, mb, base: baseline ? { report: pick(baseRuns), flow: null, extract: null } : null,
      ours: pick(oursRuns), tshark: withTshark ? pick(tsharkRuns) : null, flow: null, extract: null,
    };
    if (row.base) console.log(`  baseline:      ${fmt(row.base.report)}${spread(baseRuns)}`);
    console.log(`  report --json: ${fmt(row.ours!)}${spread(oursRuns)}`);
    if (row.tshark) console.log(`  tshark:        ${fmt(row.tshark)}${spread(tsharkRuns)}`);
    if (row.ours!.ok && row.tshark?.ok) console.log(`  ratio: ${(row.tshark.seconds / row.ours!.seconds).toFixed(1)}x tshark's speed (wall, medians)`);
    if (views) {
      row.flow = ours(file, ['flow', '--width', '100'], cli);
      const outDir = join(dir, `${shape.name}-extract`);
      row.extract = ours(file, ['extract', '--out', outDir], cli);
      rmSync(outDir, { recursive: true, force: true });
      if (row.base && baseline) {
        row.base.flow = ours(file, ['flow', '--width', '100'], baseline);
        row.base.extract = ours(file, ['extract', '--out', outDir], baseline);
        rmSync(outDir, { recursive: true, force: true });
        console.log(`  baseline flow: ${fmt(row.base.flow)}`);
        console.log(`  baseline extract: ${fmt(row.base.extract)}`);
      }
      console.log(`  flow:          ${fmt(row.flow)}`);
      console.log(`  extract:       ${fmt(row.extract)}`);
    }
    rows.push(row);
    if (!keep) rmSync(file, { force: true });
  }
  const t = (x: Timed | null): string => (x ? `${x.seconds.toFixed(2)} s, ${rss(x)}` : '-');
  const ratio = (a: Timed | null, b: Timed | null): string => (a?.ok && b?.ok ? `${(b.seconds / a.seconds).toFixed(1)}x` : '-');
  if (baseline) {
    console.log(`\n| shape | capture | before: report --json | after: report --json | tshark | ratio before / after | flow RSS before / after | extract RSS before / after |\n|---|---|---|---|---|---|---|---|`);
    for (const r of rows) {
      console.log(`| ${r.shape.what} | ${r.mb.toFixed(0)} MB | ${t(r.base!.report)} | ${t(r.ours)} | ${t(r.tshark)} | ` +
        `${ratio(r.base!.report, r.tshark)} / ${ratio(r.ours, r.tshark)} | ${rss(r.base!.flow)} / ${rss(r.flow)} | ${rss(r.base!.extract)} / ${rss(r.extract)} |`);
    }
    return;
  }
  console.log(`\n| shape | capture | report --json | tshark | ratio | flow | extract |\n|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    console.log(`| ${r.shape.what} | ${r.mb.toFixed(0)} MB | ${t(r.ours)} | ${t(r.tshark)} | ${ratio(r.ours, r.tshark)} | ${rss(r.flow)} | ${rss(r.extract)} |`);
  }
}

/** The median run, with the worst peak RSS of all runs; a failed run fails the figure. */
function pick(list: Timed[]): Timed {
  const failed = list.find((t) => !t.ok);
  if (failed) return failed;
  const m = median(list);
  return { ...m, maxRssMB: Math.max(...list.map((t) => t.maxRssMB ?? 0)) };
}

/** The 1, 5 and 15 minute load averages: the machine is shared. */
function loadavg(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return '?';
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:shapes: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});

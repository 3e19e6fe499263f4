/**
 * Dashboard benchmark (npm run bench:tui): time to the first screen and per-key latency on a
 * large generated capture, against tshark reading the same file in the same run.
 *
 * The capture repeats captures/public/zeek/ipv4.pcap (one FTP session, 4 data connections,
 * 95 packets) with a different client address per copy (checksums adjusted), so every copy is
 * a session of its own: 10k sessions, ~950k packets by default.
 *   node dist/bench/tui.js [--copies N] [--keep]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, openSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { readFrame } from '../src/capture/open.js';
import { startFileDashboard } from '../src/tui/app.js';
import { loadCapture } from '../src/analysis/sources/file.js';
import { actionFor } from '../src/tui/keymap.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const SEED = join(ROOT, 'captures/public/zeek/ipv4.pcap');

/** stdout directly: console.* is sent to the debug log while the dashboard owns the terminal. */
function say(line: string): void {
  process.stdout.write(line + '\n');
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

/** One's-complement 16-bit checksum update (RFC 1624) when one 32-bit word changes. */
function adjust(csum: number, oldWord: number, newWord: number): number {
  let sum = (~csum & 0xffff) + (~(oldWord >>> 16) & 0xffff) + (~oldWord & 0xffff) + (newWord >>> 16) + (newWord & 0xffff);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function generate(path: string, copies: number): { packets: number; bytes: number } {
  const seed = readFileSync(SEED);
  const clientIp = 0x8d8edceb; // 141.142.220.235, the seed's FTP client
  const fd = openSync(path, 'w');
  writeSync(fd, seed.subarray(0, 24));
  let packets = 0;
  let bytes = 24;
  const chunk: Buffer[] = [];
  let chunkLen = 0;
  const flush = (): void => { if (chunkLen) { writeSync(fd, Buffer.concat(chunk, chunkLen)); chunk.length = 0; chunkLen = 0; } };
  for (let c = 0; c < copies; c++) {
    const newIp = (0x0a000000 | (c + 1)) >>> 0; // 10.x.y.z
    const dt = c * 0.25;
    for (let off = 24; off + 16 <= seed.length;) {
      const caplen = seed.readUInt32LE(off + 8);
      const rec = Buffer.from(seed.subarray(off, off + 16 + caplen));
      off += 16 + caplen;
      const ts = rec.readUInt32LE(0) + rec.readUInt32LE(4) / 1e6 + dt;
      rec.writeUInt32LE(Math.floor(ts), 0);
      rec.writeUInt32LE(Math.round((ts % 1) * 1e6) % 1_000_000, 4);
      const ip = 16 + 14;
      if (rec.readUInt16BE(16 + 12) === 0x0800 && rec.length >= ip + 20) {
        const ihl = (rec[ip] & 0x0f) * 4;
        for (const at of [ip + 12, ip + 16]) {
          if (rec.readUInt32BE(at) !== clientIp) continue;
          rec.writeUInt32BE(newIp, at);
          rec.writeUInt16BE(adjust(rec.readUInt16BE(ip + 10), clientIp, newIp), ip + 10);
          const tcpCsum = ip + ihl + 16;
          if (rec[ip + 9] === 6 && rec.length >= tcpCsum + 2) rec.writeUInt16BE(adjust(rec.readUInt16BE(tcpCsum), clientIp, newIp), tcpCsum);
        }
      }
      chunk.push(rec);
      chunkLen += rec.length;
      bytes += rec.length;
      packets++;
      if (chunkLen > 4 << 20) flush();
    }
  }
  flush();
  closeSync(fd);
  return { packets, bytes };
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `median ${q(0.5).toFixed(2)} ms  p95 ${q(0.95).toFixed(2)} ms  max ${s[s.length - 1].toFixed(2)} ms  (n=${s.length})`;
}

function tsharkSeconds(path: string): number | null {
  try { execFileSync('tshark', ['-v'], { stdio: 'ignore' }); } catch { return null; }
  const t0 = performance.now();
  const r = spawnSync('tshark', ['-n', '-r', path, '-q', '-z', 'io,stat,0'], { stdio: 'ignore' });
  return r.status === 0 ? (performance.now() - t0) / 1000 : null;
}

/** A fixed CPU loop, timed in the same run: on a shared machine it shows how contended the CPU was. */
function calibrate(): number {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 1e7; i++) x = (x + i) | 0;
  if (x === 42) say('');
  return performance.now() - t;
}

async function main(): Promise<void> {
  const copies = arg('--copies', 10_000);
  say(`calibration: a 1e7-iteration loop took ${calibrate().toFixed(1)} ms (about 10 ms on an idle core; scale the figures below by it)`);
  const path = join(tmpdir(), `ftpscope-bench-tui-${process.pid}.pcap`);
  const g0 = performance.now();
  const gen = generate(path, copies);
  say(`generated ${path}: ${copies} sessions, ${gen.packets} packets, ${(statSync(path).size / 1e6).toFixed(1)} MB in ${((performance.now() - g0) / 1000).toFixed(1)} s`);

  try {
    const input = new PassThrough();
    const output = Object.assign(new PassThrough(), { columns: 160, rows: 50, isTTY: true });
    output.resume();
    // what `ftpscope <capture>` does: read in the background, draw at once, fill in
    // a key pressed while the file loads waits for whatever runs at that moment: the event
    // loop's delay while loading is that wait
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const t0 = performance.now();
    const load = loadCapture(path);
    await Promise.race([load.analysis, load.firstPacket]);
    const run = startFileDashboard(load, {
      title: path, input, output,
      readFrame: async (f, o) => (await readFrame(path, f, o)).rec,
    });
    const tFirst = performance.now() - t0;
    const analysis = await load.analysis;
    const tComplete = performance.now() - t0;
    loopDelay.disable();
    await new Promise((r) => setTimeout(r, 250)); // the dashboard's last refresh
    const r0 = performance.now();
    run.dashboard.render();
    const tRender = performance.now() - r0;
    say(`sessions found: ${analysis.sessions.length}, packets: ${analysis.source.packets}`);
    say(`time to first screen (ftpscope <capture>: drawn while the file is read): ${tFirst.toFixed(1)} ms`);
    say(`time to the complete analysis on screen (read + analyze ${gen.packets} packets): ${(tComplete / 1000).toFixed(2)} s`);
    say(`one full redraw of the complete analysis (160×50): ${tRender.toFixed(1)} ms`);
    const ms = (ns: number): string => (ns / 1e6).toFixed(1);
    say(`a key's wait while the file loads (event loop delay): median ${ms(loopDelay.percentile(50))} ms  p95 ${ms(loopDelay.percentile(95))} ms  max ${ms(loopDelay.max)} ms`);
    const firstScreen = tComplete;

    const d = run.dashboard;
    const latencies = new Map<string, number[]>();
    const press = async (key: string, ch: string | null = null, waitDetail = false): Promise<void> => {
      const inPrompt = d.prompt !== null && key.length === 1;
      const where = d.prompt ? 'prompt' : d.screen === 'session' ? d.focus : d.screen;
      const t = performance.now();
      d.key({ name: key, ch: ch ?? (key.length === 1 ? key : null) });
      if (waitDetail) await d.idle();
      const ms = performance.now() - t;
      const action = actionFor(key) ?? key;
      const label = inPrompt ? 'type in /' : action === 'enter' ? `enter@${where}` : action;
      latencies.set(label, [...(latencies.get(label) ?? []), ms]);
    };
    for (let i = 0; i < 200; i++) await press('j');
    for (let i = 0; i < 50; i++) await press('pagedown');
    for (let i = 0; i < 20; i++) { await press('G'); await press('g'); }
    for (let i = 0; i < 8; i++) await press('s');
    await press('/');
    for (const ch of '10.0.1') await press(ch, ch);
    await press('enter');
    await press('escape');
    await press('/');
    await press('backspace');
    for (let i = 0; i < 6; i++) await press('backspace');
    await press('enter');
    await press('G');
    await press('enter', null, true);
    await press('tab');
    for (let i = 0; i < 60; i++) await press('j', null, true); // packets: each move re-reads and dissects one packet
    await press('enter');
    for (let i = 0; i < 40; i++) await press('j');
    await press('6');
    await press('escape');
    await press('7');
    await press('1');
    say('per-key latency (key handled, screen redrawn; packet moves include re-reading + dissecting the packet):');
    const all: number[] = [];
    for (const [label, ms] of latencies) {
      all.push(...ms);
      say(`  ${label.padEnd(14)} ${stats(ms)}`);
    }
    say(`  ${'all keys'.padEnd(14)} ${stats(all)}`);
    const p95 = [...all].sort((a, b) => a - b)[Math.floor(all.length * 0.95)];
    say(`ratio p95 key latency / 50 ms budget: ${(p95 / 50).toFixed(3)}`);
    run.close();
    await run.closed;
    say(`calibration after the keys: ${calibrate().toFixed(1)} ms`);

    const tshark = tsharkSeconds(path);
    if (tshark !== null) {
      say(`peer: tshark reading the same file (tshark -r -q -z io,stat,0): ${tshark.toFixed(2)} s`);
      say(`ratio ftpscope complete analysis on screen / tshark read: ${(firstScreen / 1000 / tshark).toFixed(2)}`);
      say(`ratio ftpscope first screen / tshark read: ${(tFirst / 1000 / tshark).toFixed(4)}`);
    } else {
      say('peer: tshark not installed; no ratio');
    }
  } finally {
    if (!process.argv.includes('--keep')) rmSync(path, { force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`bench:tui failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});

// Session exports. Oracles: tshark reading the exported pcapng must show exactly what it shows for
// the same frames of the original capture (every field below, and the bytes); ftpscope reading it
// must analyze the session the same way (same commands, replies, data connections, bytes, sha256).
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { sessionToJson } from '../../src/report/json.js';
import {
  analyzeForExport, defaultExportPath, exportJson, exportLadder, exportSessionPcapng, exportTransfer, sessionFrames,
  withFragments, writeFramesPcapng,
} from '../../src/report/export.js';
import { renderLadder } from '../../src/report/ladder.js';
import type { Session } from '../../src/model/types.js';
import { ALL_CAPTURES, PUB } from './captures.js';

const CLI = 'dist/src/cli/main.js';

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ex-export-'));
  return dir;
}

/** The fields tshark shows for each packet; compared between the original and the export. */
const FIELDS = [
  'frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.comment', 'frame.protocols', 'eth.src', 'eth.dst', 'sll.src.eth',
  'ip.src', 'ip.dst', 'ip.id', 'ipv6.src', 'ipv6.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.flags',
  'tcp.len', 'tcp.window_size_value', 'ftp.request.command', 'ftp.request.arg', 'ftp.response.code', 'ftp.response.arg',
];

function tshark(args: string[]): string {
  return execFileSync('tshark', ['-n', ...args], { encoding: 'latin1', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
}

/**
 * The given fields for each packet (all of them, or the listed frames in capture order); frames
 * are picked here rather than with -Y: tshark 4.0 cannot parse a long `frame.number in {…}`.
 */
function tsharkFields(file: string, frames?: readonly number[], fields = FIELDS): string[] {
  const rows = tshark(['-r', file, '-T', 'fields', '-E', 'occurrence=a', '-e', 'frame.number', ...fields.flatMap((f) => ['-e', f])])
    .split('\n').filter((l) => l !== '');
  return pick(rows.map((r) => r.slice(r.indexOf('\t') + 1)), frames);
}

function pick<T>(rows: T[], frames?: readonly number[]): T[] {
  return frames ? frames.map((f) => rows[f - 1]!) : rows;
}

/** Hex of every packet's bytes, one line per packet (tshark -x, offsets and ASCII dropped). */
function tsharkBytes(file: string, frames?: readonly number[]): string[] {
  const packets: string[] = [];
  let cur = '';
  for (const line of tshark(['-r', file, '-x']).split('\n')) {
    const m = /^[0-9a-f]{4,}\s+((?:[0-9a-f]{2} ?)+)/.exec(line);
    if (m) cur += m[1]!.replace(/\s+/g, '');
    else if (line.trim() === '' && cur) { packets.push(cur); cur = ''; }
  }
  if (cur) packets.push(cur);
  return pick(packets, frames);
}

/** The session's JSON with frame numbers mapped into the export (frame n of the export is frames[n-1]). */
function normalized(s: Session, frameMap: Map<number, number> | null): unknown {
  const json = JSON.parse(JSON.stringify(sessionToJson(s)));
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        // frame, setupFrame, and the TCP analysis' fromFrame/toFrame of a stall
        if ((k === 'frame' || k.endsWith('Frame')) && typeof x === 'number') out[k] = frameMap ? frameMap.get(x) ?? `missing ${x}` : x;
        // a folded finding's example frames
        else if (k === 'frames' && Array.isArray(x) && frameMap) out[k] = x.map((n: number) => frameMap.get(n) ?? `missing ${n}`);
        // finding messages name frames too ("frame 12"): compare them through the same map
        else if (k === 'message' && typeof x === 'string' && frameMap) out[k] = x.replace(/\bframes? (\d+)(?:–(\d+))?/g, (m, n, to) => `frame ${frameMap.get(Number(n)) ?? `missing ${n}`}${to ? `–${frameMap.get(Number(to)) ?? `missing ${to}`}` : ''}`);
        else out[k] = walk(x);
      }
      return out;
    }
    return v;
  };
  const out = walk(json) as Record<string, unknown>;
  out.id = 1;
  return out;
}

describe('export: the session as pcapng', () => {
  // Every bundled capture, every session (the largest recorded ones carry MB-sized transfers), and
  // the IP-fragmented ones: a fragmented packet's earlier fragments belong to the session too.
  for (const capture of [...ALL_CAPTURES, '../fixtures/dissect/ipv4-fragments.pcap', '../fixtures/dissect/ipv6-fragments.pcap']) {
    it(`${capture}: tshark sees the same packets, ftpscope the same session`, async () => {
      const file = `${PUB}/${capture}`;
      const a = await analyzeForExport(file);
      const dir = tempDir();
      try {
        for (const s of a.sessions) {
          expect(sessionFrames(s), `session ${s.id} keeps all its packets`).not.toBeNull();
          const frames = await withFragments(file, sessionFrames(s)!);
          if (capture.includes('fragments')) expect(frames.length).toBeGreaterThan(sessionFrames(s)!.length);
          const out = join(dir, `s${s.id}.pcapng`);
          const r = await exportSessionPcapng(file, s, out);
          expect(r.path).toBe(out);
          // tshark: the export's packets are the original's frames, field for field and byte for byte
          expect(tsharkFields(out), `session ${s.id}`).toEqual(tsharkFields(file, frames));
          expect(tsharkBytes(out)).toEqual(tsharkBytes(file, frames));
          // ftpscope: the same analysis of that session
          const again = await analyzeFile(out);
          expect(again.sessions.length, `session ${s.id}: one session in the export`).toBe(1);
          const map = new Map(frames.map((f, i) => [f, i + 1]));
          expect(normalized(again.sessions[0]!, null)).toEqual(normalized(s, map));
          expect(again.unpairedDataConnections).toEqual([]);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, 120_000);
  }

  it('keeps nanosecond and pcapng if_tsresol/if_tsoffset timestamps exactly (no rounding through a double)', async () => {
    const dir = tempDir();
    try {
      for (const f of ['captures/fixtures/ipv4-be-ns.pcap', 'captures/fixtures/ipv4-tsresol-pow2-offset.pcapng', 'captures/fixtures/ipv4-tsresol-ms.pcapng', 'captures/fixtures/ipv4-pb-comments.pcapng', 'captures/fixtures/ipv4-multisection.pcapng']) {
        const a = await analyzeForExport(f);
        const frames = sessionFrames(a.sessions[0]!)!;
        const out = join(dir, 'x.pcapng');
        await writeFramesPcapng(f, frames, out, { overwrite: true });
        expect(tsharkFields(out, undefined, ['frame.time_epoch', 'frame.comment']), f)
          .toEqual(tsharkFields(f, frames, ['frame.time_epoch', 'frame.comment']));
      }
      // the nanosecond capture really has digits a double would lose
      expect(tshark(['-r', 'captures/fixtures/ipv4-be-ns.pcap', '-c', '1', '-T', 'fields', '-e', 'frame.time_epoch'])).toMatch(/\.\d{9}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a session list that dropped packets is re-analyzed, not exported short', async () => {
    const file = `${PUB}/zeek/ipv4.pcap`;
    const a = await analyzeFile(file, { keepPackets: true, maxPacketsPerSession: 16 });
    const s = a.sessions[0]!;
    expect(s.packets!.dropped).toBeGreaterThan(0);
    expect(sessionFrames(s)).toBeNull();
    const dir = tempDir();
    try {
      const r = await exportSessionPcapng(file, s, join(dir, 'x.pcapng'));
      expect(r.what).toMatch(/^session 1 \(95 packets: control \+ 4 data connections\)$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('export: one transfer, the ladder, the JSON', () => {
  it('writes the transfer\'s bytes with the sha256 the analysis reports (zeek retr.pcap: 16557 bytes, zeek\'s sha256)', async () => {
    const file = `${PUB}/zeek/retr.pcap`;
    const a = await analyzeFile(file);
    const s = a.sessions[0]!;
    const dc = s.dataConnections.find((d) => d.command?.verb === 'RETR')!;
    const dir = tempDir();
    try {
      const out = join(dir, defaultExportPath(file, 'transfer', s, dc));
      const r = await exportTransfer(file, s.id, dc.id, out);
      const bytes = readFileSync(out);
      expect(bytes.length).toBe(16557);
      // zeek's own baseline (scripts.base.frameworks.file-analysis.ftp/out) gives this SHA256
      expect(createHash('sha256').update(bytes).digest('hex')).toBe('202674eba48e832690a4475113acf8b16a3f6c82c04c94b36bb2c7ce457ac8d2');
      expect(r.sha256).toBe(dc.sha256);
      expect(r.what).toMatch(/^D\d+ RETR \/README \(16\.2 KiB, complete\)$/);
      expect(out).toMatch(/retr-s1-d\d+-retr-README$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the ladder and JSON files are what flow and report --json print for the session, masked', async () => {
    const file = `${PUB}/zeek/ipv4.pcap`;
    const s = (await analyzeFile(file)).sessions[0]!;
    const dir = tempDir();
    try {
      exportLadder(s, join(dir, 'l.txt'), { width: 90 });
      expect(readFileSync(join(dir, 'l.txt'), 'utf8')).toBe(renderLadder(s, { width: 90 }).map((l) => l.text).join('\n') + '\n');
      exportJson(s, join(dir, 's.json'));
      const json = JSON.parse(readFileSync(join(dir, 's.json'), 'utf8'));
      expect(json).toEqual(JSON.parse(JSON.stringify(sessionToJson(s))));
      expect(json.commands.find((c: { verb: string }) => c.verb === 'PASS').arg).toBe('****');
      exportJson(s, join(dir, 'p.json'), { showPasswords: true });
      expect(JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8')).commands.find((c: { verb: string }) => c.verb === 'PASS').arg).toBe('test');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ftpscope export (CLI)', () => {
  const run = (args: string[], cwd?: string) => spawnSync('node', [join(process.cwd(), CLI), 'export', ...args], { encoding: 'utf8', cwd });

  it('writes each output asked for and says where, on one line each', () => {
    const dir = tempDir();
    try {
      const cap = join(process.cwd(), PUB, 'zeek/ipv4.pcap');
      const r = run([cap, '--session', '1', '--out', 's1.pcapng', '--ladder', 's1.txt', '--json', 's1.json'], dir);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.split('\n').filter(Boolean)).toEqual([
        'wrote session 1 (95 packets: control + 4 data connections) to s1.pcapng',
        'wrote the ladder of session 1 to s1.txt',
        'wrote session 1 as JSON to s1.json',
      ]);
      const t = run([cap, '--session', '1', '--transfer', 'D4', '--out', 'robots.txt'], dir);
      expect(t.stdout).toBe('wrote D4 RETR robots.txt (77 B, complete) to robots.txt\n');
      expect(readFileSync(join(dir, 'robots.txt'), 'utf8')).toMatch(/^User-agent: \*/);
      // the pcapng keeps the password (evidence); the JSON masks it
      expect(tshark(['-r', join(dir, 's1.pcapng'), '-Y', 'ftp.request.command == "PASS"', '-T', 'fields', '-e', 'ftp.request.arg']).trim()).toBe('test');
      expect(readFileSync(join(dir, 's1.json'), 'utf8')).not.toMatch(/"test"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('bad input: one clear line, exit 2, nothing written or replaced', () => {
    const dir = tempDir();
    try {
      const cap = join(process.cwd(), PUB, 'zeek/ipv4.pcap');
      writeFileSync(join(dir, 'exists.pcapng'), 'keep me');
      const cases: Array<[string[], RegExp]> = [
        [[cap, '--session', '1', '--out', 'exists.pcapng'], /^ftpscope: exists\.pcapng already exists \(choose another name, or add --force to replace it\)\n$/],
        [[cap, '--session', '1', '--out', 'nodir/x.pcapng'], /^ftpscope: cannot write nodir\/x\.pcapng: no directory nodir/],
        [[cap, '--session', '9', '--out', 'x.pcapng'], /^ftpscope: .*has no session 9 \(it has 1\)/],
        [[cap, '--session', '1', '--transfer', 'D9', '--out', 'x.bin'], /^ftpscope: session 1 has no data connection D9 \(it has D1, D2, D3, D4\)\n$/],
        [[cap, '--session', '1', '--transfer', 'x', '--out', 'x.bin'], /^ftpscope: --transfer 'x' is not a data connection id/],
        [[cap, '--session', '1'], /^ftpscope: nothing to export/],
        [[cap, '--session', '1', '--out', 'same', '--json', 'same'], /^ftpscope: two outputs name the same file/],
        [[cap, '--session', '1', '--out', '.'], /^ftpscope: \. is a directory/],
      ];
      for (const [args, re] of cases) {
        const r = run(args, dir);
        expect(r.stderr, args.join(' ')).toMatch(re);
        expect(r.stderr.split('\n').length, args.join(' ')).toBe(2);
        expect(r.status).toBe(2);
      }
      expect(readFileSync(join(dir, 'exists.pcapng'), 'utf8')).toBe('keep me');
      expect(existsSync(join(dir, 'x.pcapng')) || existsSync(join(dir, 'x.bin'))).toBe(false);
      // --force replaces
      expect(run([cap, '--session', '1', '--out', 'exists.pcapng', '--force'], dir).status).toBe(0);
      expect(statSync(join(dir, 'exists.pcapng')).size).toBeGreaterThan(1000);
      if (process.getuid?.() !== 0) {
        chmodSync(dir, 0o500);
        expect(run([cap, '--session', '1', '--out', 'y.pcapng'], dir).stderr).toMatch(/^ftpscope: cannot write y\.pcapng: \. is not writable/);
        chmodSync(dir, 0o700);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

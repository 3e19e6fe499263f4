import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadExpected, first } from '../dissect/expected.js';

/** The built CLI, as users run it (`npm test` builds first). */
const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const IPV4 = 'captures/public/zeek/ipv4.pcap';

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FTPSCOPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
});

describe('ftpscope inspect', () => {
  it('prints the layers of a frame with relative numbers and FTP decoding learned from the frames before it', () => {
    const r = run('inspect', IPV4, '--frame', '6');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Frame 6: 82 bytes on wire, 82 bytes captured$/m);
    expect(r.stdout).toMatch(/Sequence number: 1 \(relative sequence number\) \[38-41\]/);
    expect(r.stdout).toMatch(/Calculated window size: 14656 \(scaled by 64\)/);
    expect(r.stdout).toMatch(/Request command: USER \[66-69\]/);
    expect(r.stdout).toMatch(/^0050 {2}0d 0a .*ftp\]$/m);
  });

  it('--json agrees with tshark on the numbers', () => {
    const rows = loadExpected('public/zeek/ipv4.pcap')!;
    for (const n of [1, 2, 6, 40]) {
      const r = run('inspect', IPV4, '--frame', String(n), '--json');
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.frame).toBe(n);
      const fields = j.layers.flatMap((l: { fields: unknown[] }) => l.fields) as { name: string; value: unknown }[];
      const v = (name: string) => String(fields.find((f) => f.name === name)?.value);
      const row = rows.get(n)!;
      for (const k of ['ip.src', 'ip.dst', 'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.len']) expect(v(k)).toBe(first(row[k]));
      const tcp = j.layers.find((l: { name: string }) => l.name === 'tcp');
      const seq = tcp.fields.find((f: { name: string }) => f.name === 'tcp.seq');
      expect(String(seq.value)).toBe(first(row['tcp.seq']));
    }
  });

  it('masks PASS unless --show-passwords, in the fields and in the bytes', () => {
    const masked = run('inspect', IPV4, '--frame', '9');
    expect(masked.code).toBe(0);
    expect(masked.stdout).toMatch(/Request arg: \*\*\*\*/);
    expect(masked.stdout).not.toMatch(/test/);
    const shown = run('inspect', IPV4, '--frame', '9', '--show-passwords');
    expect(shown.stdout).toMatch(/Request arg: test/);
  });

  it('shows a reassembled datagram under the frame that completed it', () => {
    const r = run('inspect', 'captures/fixtures/dissect/ipv4-fragments.pcap', '--frame', '6');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Reassembled IPv4 datagram: 3 fragments, 93 bytes, frames 4, 5, 6/);
    expect(r.stdout).toMatch(/^Reassembled IP payload: 93 bytes from frames 4, 5, 6$/m);
    expect(r.stdout).toMatch(/Response code: 220 \(2yz positive completion reply; x2z connections; Service ready for new user\)/);
  });

  it('decodes FTP on another port as report detects it, with or without --ftp-port', () => {
    const cap = 'captures/fixtures/dissect/loopback-offload.pcap';
    // report finds the control session on 40021 by its greeting; inspect runs the same analysis.
    const report = JSON.parse(run('report', cap, '--json').stdout) as { sessions: Array<{ server: { port: number } }> };
    expect(report.sessions.map((s) => s.server.port)).toContain(40021);
    for (const extra of [[], ['--ftp-port', '40021']]) {
      const r = run('inspect', cap, '--frame', '6', ...extra);
      expect(r.stdout).toMatch(/Request command: USER/);
      expect(r.stdout).toMatch(/^Analysis: session 1, control connection; sent by the FTP client/m);
      expect(r.stdout).toMatch(/Checksum status: Unverified \(likely checksum offload\)/);
    }
  });

  it('a frame out of range, a bad frame number or none: one line, exit 2', () => {
    for (const args of [['--frame', '96'], ['--frame', '0'], ['--frame', 'x'], []]) {
      const r = run('inspect', IPV4, ...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/at .*\.js/);
    }
    expect(run('inspect', IPV4, '--frame', '96').stderr).toMatch(/there is no frame 96; the capture has 95 frames/);
    expect(run('inspect', 'captures/nope.pcap', '--frame', '1').stderr).toMatch(/no such file/);
  });
});

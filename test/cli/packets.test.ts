import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAnalysisTsv } from '../../scripts/tcp-agreement.js';

/** The built CLI, as users run it (`npm test` builds first). */
const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const LOSS = 'captures/tcp/tcp-loss.pcap';

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FTPSCOPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
});

/** Fields both print the same way (microsecond captures: tshark's nine decimals end in 000). */
const DIFFABLE = [
  'frame.number', 'tcp.stream', 'tcp.len', 'tcp.nxtseq', 'tcp.window_size', 'tcp.window_size_scalefactor',
  'tcp.analysis.retransmission', 'tcp.analysis.fast_retransmission', 'tcp.analysis.spurious_retransmission',
  'tcp.analysis.out_of_order', 'tcp.analysis.lost_segment', 'tcp.analysis.ack_lost_segment',
  'tcp.analysis.duplicate_ack_num', 'tcp.analysis.duplicate_ack_frame', 'tcp.analysis.zero_window',
  'tcp.analysis.window_full', 'tcp.analysis.window_update', 'tcp.analysis.keep_alive', 'tcp.analysis.keep_alive_ack',
  'tcp.analysis.reused_ports', 'tcp.analysis.acks_frame', 'tcp.analysis.ack_rtt', 'tcp.analysis.initial_rtt',
  'tcp.analysis.bytes_in_flight', 'tcp.analysis.rto', 'tcp.analysis.rto_frame',
];

describe('ftpscope packets', () => {
  it.each([[LOSS], ['captures/tcp/tcp-stalled.pcap'], ['captures/tcp/tcp-slow-reader.pcap'], ['captures/tour.pcapng']])(
    '-e prints what tshark -T fields -e prints, line for line (%s)', (capture) => {
      const r = run('packets', capture, ...DIFFABLE.flatMap((f) => ['-e', f]));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const rows = readAnalysisTsv(join(ROOT, 'captures/expected', capture.replace(/^captures\//, '') + '.analysis.tsv'));
      const want = [...rows.values()].filter((row) => row['tcp.stream'] !== '').map((row) => DIFFABLE.map((f) => row[f] ?? '').join('\t'));
      const got = r.stdout.replace(/\n$/, '').split('\n');
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(got[i], `line ${i + 1}`).toBe(want[i]);
    });

  it('lists every TCP packet with frame, time, session and connection, direction, flags and analysis tags', () => {
    const r = run('packets', LOSS);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^\s+frame\s+time\s+connection\s+dir\s+TCP flags\s+len\s+analysis$/);
    expect(r.stdout).toMatch(/^\s+3\s+0\.\d{6}\s+s1 ctrl\s+C→S\*\s+SYN\s+len=0$/m);
    expect(r.stdout).toMatch(/^\s+46\s+\S+\s+s1 D1\s+S→C\s+ACK, PSH\s+len=1448\s+LOST$/m);
    expect(r.stdout).toMatch(/^\s+49\s+\S+\s+s1 D1\s+C→S\*\s+ACK\s+len=0\s+DUP ACK #2$/m);
    // frames 1 and 2 are ARP: not TCP, not listed
    expect(r.stdout).not.toMatch(/^\s+1\s/m);
  });

  it('--flagged keeps only packets with an analysis flag; --ndjson is one object per packet', () => {
    const all = run('packets', LOSS, '--ndjson').stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const flagged = run('packets', LOSS, '--ndjson', '--flagged').stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    const rows = readAnalysisTsv(join(ROOT, 'captures/expected/tcp/tcp-loss.pcap.analysis.tsv'));
    expect(all.length).toBe([...rows.values()].filter((x) => x['tcp.stream'] !== '').length);
    expect(flagged.length).toBeGreaterThan(10);
    expect(flagged.every((p) => p.analysis.flags.length > 0)).toBe(true);
    const p46 = all.find((p) => p.frame === 46);
    expect(p46).toMatchObject({ session: 1, connection: 'D1', channel: 'data', role: 'server', direction: 'server-to-client', len: 1448 });
    expect(p46.analysis.flags).toEqual(['tcp.analysis.lost_segment']);
    expect(p46.analysis.tags).toEqual(['LOST']);
  });

  it('--json is an array; with -e its objects are keyed by the field names, flags as booleans', () => {
    const r = run('packets', LOSS, '--json', '-e', 'frame.number', '-e', 'tcp.analysis.duplicate_ack', '-e', 'ftpscope.connection', '-e', 'tcp.analysis.ack_rtt');
    expect(r.code).toBe(0);
    const arr = JSON.parse(r.stdout);
    expect(Array.isArray(arr)).toBe(true);
    expect(arr.find((p: { 'frame.number': number }) => p['frame.number'] === 49)).toMatchObject({ 'tcp.analysis.duplicate_ack': true, 'ftpscope.connection': 'D1' });
    expect(Object.keys(arr[0])).toEqual(['frame.number', 'tcp.analysis.duplicate_ack', 'ftpscope.connection', 'tcp.analysis.ack_rtt']);
  });

  it('an unknown field is a usage error naming it', () => {
    const r = run('packets', LOSS, '-e', 'tcp.analysis.bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'tcp.analysis.bogus' is not a field ftpscope knows/);
    expect(r.stdout).toBe('');
  });
});

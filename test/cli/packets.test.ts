/**
 * `ftpscope packets`: -e prints what tshark -T fields -e prints (captures/expected/**.analysis.tsv,
 * made by tshark); -Y lists the frames tshark -Y lists for the same expression
 * (test/report/filter/expected, made by tshark), on real captures; several files are one capture.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

function tsharkFrames(capture: string, expr: string): number[] {
  const name = capture.replace(/^captures\//, '').replace(/\//g, '__');
  const line = readFileSync(join(ROOT, `test/report/filter/expected/${name}.tsv`), 'utf8').split('\n').find((l) => l.split('\t')[0] === expr)!;
  const frames = line.split('\t')[1] ?? '';
  return frames === '' ? [] : frames.split(',').map(Number);
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
    expect(lines[0]).toMatch(/^\s+frame\s+time\s+connection\s+dir\s+phase\s+TCP flags\s+len\s+analysis \/ meaning$/);
    expect(r.stdout).toMatch(/^\s+3\s+0\.\d{6}\s+s1 ctrl\s+C→S\*\s+handshake\s+SYN\s+len=0\s+SYN seq=0$/m);
    expect(r.stdout).toMatch(/^\s+46\s+\S+\s+s1 D1\s+S→C\s+data\s+ACK, PSH\s+len=1448\s+\[LOST\] FTP-DATA /m);
    expect(r.stdout).toMatch(/^\s+49\s+\S+\s+s1 D1\s+C→S\*\s+ack\s+ACK\s+len=0\s+\[DUP ACK #2\] seq=/m);
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

  it.each([
    ['captures/vsftpd-pasv-ipv4.pcap', 'ftp.response.code == 226'],
    ['captures/vsftpd-pasv-ipv4.pcap', 'tcp.flags.syn == 1 && tcp.flags.ack == 0'],
    ['captures/vsftpd-lftp-ipv6.pcapng', 'tcp && ipv6.src == fd00:21::2'],
    ['captures/public/zeek/ipv4.pcap', 'ftp.request.command in {"PASV", "EPSV"}'],
  ])('-Y on %s, %s: the frames tshark selects', (capture, expr) => {
    const want = tsharkFrames(capture, expr);
    expect(want.length).toBeGreaterThan(0);
    const r = run('packets', capture, '-Y', expr, '--ndjson');
    expect(r.code, r.stderr).toBe(0);
    const got = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { frame: number }).frame);
    expect(got).toEqual(want);
    // --json: the same packets as one array; -e with -Y: the fields of the same frames
    const arr = JSON.parse(run('packets', capture, '-Y', expr, '--json').stdout) as Array<{ frame: number }>;
    expect(arr.map((p) => p.frame)).toEqual(want);
    expect(run('packets', capture, '-Y', expr, '-e', 'frame.number').stdout.trim().split('\n').map(Number)).toEqual(want);
  });

  it('without -Y lists every TCP packet, one line each after the header, with its role and phase', () => {
    const r = run('packets', 'captures/public/zeek/ipv4.pcap');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').slice(1);
    // tshark: 95 TCP packets in this capture (test/tui/expected/ipv4-packets.tsv)
    expect(lines).toHaveLength(readFileSync(join(ROOT, 'test/tui/expected/ipv4-packets.tsv'), 'utf8').trim().split('\n').length - 1);
    expect(lines[0]).toMatch(/^\s+1 +0\.000000 +s1 ctrl +C→S\* +handshake +SYN +len=0 +SYN/);
  });

  it('several files are one capture: frames and times as mergecap numbers them (tshark on the merged set)', () => {
    const rows = new Map(readFileSync(join(ROOT, 'captures/expected/multi/tour-ring.merged.tsv'), 'utf8').trim().split('\n')
      .filter((l) => !l.startsWith('#')).map((l) => l.split('\t')).map((c) => [Number(c[0]), c[1]!]));
    const r = run('packets', 'captures/multi/tour-ring', '-e', 'frame.number', '-e', 'frame.time_epoch');
    expect(r.code, r.stderr).toBe(0);
    const got = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    expect(got.length).toBeGreaterThan(100);
    for (const [frame, time] of got) expect(time, `frame ${frame}`).toBe(rows.get(Number(frame)));
  });
});

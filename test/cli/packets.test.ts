/**
 * `ftpscope packets -Y`: the frames it lists are the frames tshark -Y lists for the same
 * expression (test/report/filter/expected, made by tshark), on real captures.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const CLI = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

function tsharkFrames(capture: string, expr: string): number[] {
  const name = capture.replace(/^captures\//, '').replace(/\//g, '__');
  const line = readFileSync(`test/report/filter/expected/${name}.tsv`, 'utf8').split('\n').find((l) => l.split('\t')[0] === expr)!;
  const frames = line.split('\t')[1] ?? '';
  return frames === '' ? [] : frames.split(',').map(Number);
}

describe('ftpscope packets -Y', () => {
  it.each([
    ['captures/vsftpd-pasv-ipv4.pcap', 'ftp.response.code == 226'],
    ['captures/vsftpd-pasv-ipv4.pcap', 'tcp.flags.syn == 1 && tcp.flags.ack == 0'],
    ['captures/vsftpd-lftp-ipv6.pcapng', 'tcp && ipv6.src == fd00:21::2'],
    ['captures/public/zeek/ipv4.pcap', 'ftp.request.command in {"PASV", "EPSV"}'],
  ])('%s, %s: the frames tshark selects', (capture, expr) => {
    const want = tsharkFrames(capture, expr);
    expect(want.length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [CLI, 'packets', capture, '-Y', expr, '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const got = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { frame: number }).frame);
    expect(got).toEqual(want);
  });

  it('without -Y lists every TCP packet, one line each, with its role and phase', () => {
    const r = spawnSync(process.execPath, [CLI, 'packets', 'captures/public/zeek/ipv4.pcap'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    // tshark: 95 TCP packets in this capture (test/tui/expected/ipv4-packets.tsv)
    expect(lines).toHaveLength(readFileSync('test/tui/expected/ipv4-packets.tsv', 'utf8').trim().split('\n').length - 1);
    expect(lines[0]).toMatch(/^\s+1 +0\.000000 ctrl +C→S\* handshake +0 SYN/);
  });
});

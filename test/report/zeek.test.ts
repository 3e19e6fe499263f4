// report --format zeek against Zeek's own baselines (captures/public/zeek/expected, btest output of
// the zeek commit in MANIFEST.md). Each case runs with the FTP::logged_commands its btest script
// set. Every row Zeek logged is matched to ours (same command, in order) and compared field by
// field; the fields we deliberately write differently are listed per row with the reason
// (docs/integrations.md), and the test fails if any other field differs, or if a listed
// difference disappears (the list would then be stale).
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readZeekLog } from '../helpers/zeek-log.js';
import { compressPath, zeekString } from '../../src/report/zeek.js';

const CLI = 'dist/src/cli/main.js';
const Z = 'captures/public/zeek';

/** Opaque per-run ids (ours are stable hashes, Zeek's random), and content sniffing we do not do. */
const ALWAYS_DIFFERENT = ['ts', 'uid', 'fuid', 'mime_type'];

interface Case {
  pcap: string;
  baseline: string;
  commands?: string;
  showPasswords: boolean;
  /** Row index in Zeek's log → fields that differ on purpose, and why. */
  differ?: Record<number, Record<string, string>>;
}

const CASES: Case[] = [
  { pcap: 'ipv4.pcap', baseline: 'scripts.base.protocols.ftp.ftp-ipv4', showPasswords: true },
  { pcap: 'ipv6.pcap', baseline: 'scripts.base.protocols.ftp.ftp-ipv6', showPasswords: true },
  { pcap: 'ftp-auth-tls.pcap', baseline: 'scripts.base.protocols.ftp.ftp-auth-tls', commands: '<init>,AUTH', showPasswords: false },
  {
    pcap: 'ipv6-multiline-reply.pcap', baseline: 'scripts.base.protocols.ftp.ftp-multiline-reply', commands: '<init>,USER,PASS', showPasswords: true,
    differ: { 4: { reply_code: 'the server\'s unsolicited 221 answers no command; Zeek gives it to the RETR still pending (we keep 550)', reply_msg: 'same' } },
  },
  {
    pcap: 'ftp-missing-reply-code.pcap', baseline: 'scripts.base.protocols.ftp.ftp-missing-reply-code', commands: 'USER,PASS,SYST,QUIT', showPasswords: false,
    differ: { 2: { reply_code: 'SYST got a line without a code; Zeek repeats the previous reply (230), we keep analyzing and pair the next reply', reply_msg: 'same' } },
  },
  {
    pcap: 'ftp-invalid-reply-code.pcap', baseline: 'scripts.base.protocols.ftp.ftp-invalid-reply-code', commands: 'USER,PASS,SYST,QUIT', showPasswords: false,
    differ: { 2: { reply_code: '"99 PASV invalid" is no reply code; Zeek repeats the previous reply (230) and stops, we pair the next reply', reply_msg: 'same' } },
  },
  {
    pcap: 'fake-server-delays-all.pcap', baseline: 'scripts.base.protocols.ftp.ftp-max-pending-commands', commands: 'USER,SYST', showPasswords: true,
    differ: { 0: { password: 'PASS was pipelined after USER: Zeek writes USER\'s row when its reply comes, after PASS was seen; we give each row the password sent up to it' } },
  },
];

function run(args: string[], cwd?: string): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync('node', [join(process.cwd(), CLI), ...args], { encoding: 'utf8', cwd, maxBuffer: 64 << 20 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function ours(pcap: string, log: 'ftp' | 'files', extra: string[]): { rows: Record<string, string | null>[]; text: string } {
  const r = run(['report', join(Z, pcap), '--format', 'zeek', '--zeek-log', log, ...extra]);
  expect(r.stderr).toBe('');
  const dir = mkdtempSync(join(tmpdir(), 'ex-zeek-'));
  try {
    writeFileSync(join(dir, `${log}.log`), r.stdout);
    return { rows: readZeekLog(join(dir, `${log}.log`)), text: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Times of the packets carrying each command, as tshark sees them, in order. */
function commandTimes(pcap: string): Array<[string, number]> {
  const out = execFileSync('tshark', ['-n', '-r', join(Z, pcap), '-Y', 'ftp.request', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;', '-e', 'frame.time_epoch', '-e', 'ftp.request.command'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return out.split('\n').filter(Boolean).flatMap((l) => {
    const [t, cmds] = l.split('\t');
    return cmds!.split(';').map((c) => [c.toUpperCase(), Number(t)] as [string, number]);
  });
}

describe('report --format zeek: ftp.log against zeek\'s baselines', () => {
  for (const c of CASES) {
    it(`${c.pcap} (${c.baseline})`, () => {
      const theirs = readZeekLog(join(Z, 'expected', c.baseline, 'ftp.log'));
      const extra = [...(c.commands ? ['--zeek-commands', c.commands] : []), ...(c.showPasswords ? ['--show-passwords'] : [])];
      const { rows, text } = ours(c.pcap, 'ftp', extra);
      // the same header lines as Zeek's, up to the open/close stamps
      const header = (t: string) => t.split('\n').filter((l) => l.startsWith('#') && !/^#(open|close)/.test(l));
      const zeekHeader = header(readFileSync(join(Z, 'expected', c.baseline, 'ftp.log'), 'utf8').replace(/^###.*\n/, '').replace(/^#open XXXX.*$/m, ''));
      expect(header(text)).toEqual(zeekHeader);
      // every Zeek row has its own row here, in order (ours may log more: commands after Zeek stopped)
      let at = 0;
      theirs.forEach((z, i) => {
        while (at < rows.length && rows[at]!.command !== z.command) at++;
        expect(at, `Zeek's row ${i} (${z.command}) has a row of ours`).toBeLessThan(rows.length);
        const mine = rows[at++]!;
        const differ = c.differ?.[i] ?? {};
        const differing = Object.keys(z).filter((k) => !ALWAYS_DIFFERENT.includes(k) && z[k] !== mine[k]);
        expect(differing.sort(), `row ${i} ${z.command}: ours ${JSON.stringify(mine)}\nzeek ${JSON.stringify(z)}`).toEqual(Object.keys(differ).sort());
        // fuid is set on the same rows, uid is one per session
        expect(mine.fuid === null, `row ${i} fuid`).toBe(z.fuid === null);
        expect(mine.uid).toMatch(/^C[0-9A-Za-z]{17}$/);
        expect(mine.uid).toBe(rows[0]!.uid);
      });
      // ts is the time of the packet that carried the command (tshark), <init> excepted
      const times = commandTimes(c.pcap);
      for (const r of rows.filter((x) => x.command !== '<init>')) {
        const i = times.findIndex(([cmd]) => cmd === r.command);
        expect(i, `${r.command} seen by tshark`).toBeGreaterThanOrEqual(0);
        expect(r.ts).toBe(times[i]![1].toFixed(6));
        times.splice(0, i + 1);
      }
    });
  }

  it('passwords are "<hidden>" unless --show-passwords, for every user (our one masking policy)', () => {
    const { rows } = ours('ipv6-multiline-reply.pcap', 'ftp', ['--zeek-commands', 'USER,PASS']);
    const pass = rows.find((r) => r.command === 'PASS')!;
    expect([pass.password, pass.arg]).toEqual(['<hidden>', '<hidden>']);
    expect(rows.map((r) => r.password)).not.toContain('root@sponge.es.net');
  });
});

describe('report --format zeek: files.log', () => {
  it('bigtransfer.pcap: the rows of zeek\'s files.log (core.tcp.large-file-reassembly)', () => {
    const theirs = readZeekLog(join(Z, 'expected/core.tcp.large-file-reassembly/files.log'));
    const { rows } = ours('bigtransfer.pcap', 'files', []);
    expect(rows).toHaveLength(theirs.length);
    // That btest attaches a DATA_EVENT analyzer and no hash analyzer: analyzers and sha256 are its configuration.
    const config = ['analyzers', 'sha256'];
    const differ: Record<number, string[]> = {
      // data after a gap: Zeek delivers it when the receiver acknowledges past the gap (frame 70);
      // we count to the packet that carried the last new bytes (frame 69, 219 µs earlier)
      1: ['duration'],
    };
    theirs.forEach((z, i) => {
      const mine = rows[i]!;
      const differing = Object.keys(z).filter((k) => ![...ALWAYS_DIFFERENT, ...config].includes(k) && z[k] !== mine[k]);
      expect(differing, `row ${i}: ${JSON.stringify(mine)}`).toEqual(differ[i] ?? []);
    });
    expect(rows[1]!.duration).toBe('150.490685');
    expect(rows[0]!.analyzers).toBe('SHA256');
    expect(rows[0]!.sha256).toMatch(/^[0-9a-f]{64}$/); // the listing is complete
    expect(rows[1]!.sha256).toBeNull(); // 5416642848 bytes missing: no hash
  });

  it('ftp.log fuids name files.log rows, and files.log uids name the data connections', () => {
    const ftp = ours('ipv4.pcap', 'ftp', ['--show-passwords']).rows;
    const files = ours('ipv4.pcap', 'files', []).rows;
    const fuids = ftp.map((r) => r.fuid).filter((f): f is string => f !== null);
    expect(fuids).toHaveLength(2);
    for (const f of fuids) expect(files.map((r) => r.fuid)).toContain(f);
    // zeek's conn.log: 4 ftp-data connections carrying 342/77 bytes, in the same endpoints
    const conns = readZeekLog(join(Z, 'expected/scripts.base.protocols.ftp.ftp-ipv4/conn.log')).filter((r) => r.service === 'ftp-data');
    expect(files.map((r) => [r['id.orig_h'], r['id.orig_p'], r['id.resp_h'], r['id.resp_p'], r.seen_bytes]).sort())
      .toEqual(conns.map((r) => [r['id.orig_h'], r['id.orig_p'], r['id.resp_h'], r['id.resp_p'], String(Number(r.orig_bytes) + Number(r.resp_bytes))]).sort());
    // active mode: the server opened the connection and sent the file (is_orig T)
    expect(files.filter((r) => r.is_orig === 'T').map((r) => r['id.orig_p']).sort()).toEqual(['61918', '61920']);
  });
});

describe('report --format zeek: the format', () => {
  it('escapes as Zeek\'s ASCII writer does', () => {
    expect(zeekString('')).toBe('(empty)');
    expect(zeekString('-')).toBe('\\x2d');
    expect(zeekString('(empty)')).toBe('\\x28empty)');
    expect(zeekString('a\tb\\c\x01')).toBe('a\\x09b\\x5cc\\x01');
    expect(zeekString('naïve ✓')).toBe('naïve ✓');
  });

  it('compress_path as Zeek\'s own test expects (testing/btest/bifs/compress_path.zeek)', () => {
    const cases: Array<[string, string]> = [
      ['./../foo', '../foo'], ['././../foo', '../foo'], ['/1/2/3', '/1/2/3'], ['/1/./2/3', '/1/2/3'], ['/1/2/../3', '/1/3'],
      ['1/2/3/', '1/2/3'], ['1/2//3///', '1/2/3'], ['~/zeek/testing', '~/zeek/testing'], ['~jon/./zeek/testing', '~jon/zeek/testing'],
      ['~/zeek/testing/../././.', '~/zeek'], ['./zeek', './zeek'], ['../zeek', '../zeek'], ['../zeek/testing/..', '../zeek'],
      ['./zeek/..', '.'], ['./zeek/../..', '..'], ['./zeek/../../..', '../..'], ['./..', '..'], ['../..', '../..'], ['/..', '/..'],
      ['~/..', '~/..'], ['/../..', '/../..'], ['~/../..', '~/../..'], ['zeek/..', ''], ['zeek/../..', '..'],
    ];
    for (const [input, want] of cases) expect(compressPath(input), input).toBe(want);
  });

  it('writes ftp.log and files.log to --out-dir, never replacing them without --force; bad options get one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ex-zeek-'));
    try {
      const cap = join(process.cwd(), Z, 'ipv4.pcap');
      const r = run(['report', cap, '--format', 'zeek'], dir);
      expect(r.stdout).toBe('wrote ftp.log (1 sessions) and files.log\n');
      expect(existsSync(join(dir, 'files.log'))).toBe(true);
      const again = run(['report', cap, '--format', 'zeek', '--out-dir', dir]);
      expect(again.stderr).toBe(`ftpscope: ${join(dir, 'ftp.log')} already exists (choose another name, or add --force to replace it)\n`);
      expect(again.status).toBe(2);
      expect(run(['report', cap, '--format', 'zeek', '--out-dir', dir, '--force']).status).toBe(0);
      for (const [args, re] of [
        [['--format', 'xml'], /^ftpscope: --format 'xml' is not one of text, json, ndjson, zeek, ecs\n$/],
        [['--format', 'zeek', '--json'], /^ftpscope: --format zeek and json cannot be used together/],
        [['--json', '--ndjson'], /^ftpscope: --json and --ndjson cannot be used together/],
        [['--zeek-log', 'ftp'], /^ftpscope: --out-dir, --zeek-log, --zeek-commands and --force go with --format zeek\n$/],
        [['--format', 'zeek', '--zeek-log', 'conn'], /^ftpscope: --zeek-log 'conn' is not ftp or files\n$/],
        [['--format', 'zeek', '--zeek-commands', 'US ER'], /^ftpscope: --zeek-commands: 'US ER' is not an FTP command/],
        [['--format', 'zeek', '--out-dir', join(dir, 'nope')], /^ftpscope: cannot write .*nope\/ftp\.log: no directory/],
      ] as Array<[string[], RegExp]>) {
        const b = run(['report', cap, ...args]);
        expect(b.stderr, args.join(' ')).toMatch(re);
        expect(b.status).toBe(2);
      }
      // --json and --format json together are the same request
      expect(run(['report', cap, '--format', 'json', '--json']).status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

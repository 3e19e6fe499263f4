/**
 * Many captures, one analysis, end to end through the built CLI: report, flow, extract, inspect and
 * open (without a terminal) on the sets in captures/multi/. Expected values come from tshark
 * (captures/expected/multi/: mergecap's merged order, each file alone; captures/expected/*.tsv) and
 * from content we control (captures/served/captures.json, captures/multi/ring-2121.json: the sha256
 * of what the FTP clients saved).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExpected, first } from '../dissect/expected.js';
import { expectValidReport } from '../helpers/validate-report.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const RING = 'captures/multi/tour-ring';
const RING2121 = 'captures/multi/ring-2121';
const EXP = join(ROOT, 'captures/expected/multi');

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, FTPSCOPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tsv(name: string): string[][] {
  return readFileSync(join(EXP, name), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
}

interface Transfer { session: number; verb: string; path: string; bytes: number | null; sha256: string | null }
const tourTransfers = (JSON.parse(readFileSync(join(ROOT, 'captures/served/captures.json'), 'utf8')) as { captures: { file: string; transfers: Transfer[] }[] })
  .captures.find((c) => c.file === 'tour.pcapng')!.transfers;
const ringTransfers = (JSON.parse(readFileSync(join(ROOT, 'captures/multi/ring-2121.json'), 'utf8')) as { transfers: Transfer[] }).transfers;

/** A report's data connections as [session, verb, path, bytes, sha256]. */
function transfersOf(rep: any): unknown[][] {
  return rep.sessions.flatMap((s: any) => s.dataConnections.map((d: any) => [s.id, d.command?.verb, d.path, d.bytes, d.sha256]));
}

let tmp = '';
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
  tmp = mkdtempSync(join(tmpdir(), 'mf-multi-cli-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('report on a set of files', () => {
  it('tour-ring/ (six files, pcap and pcapng, two gzip\'d): one analysis; transfers as the clients saved them, frames as tshark numbers the merged set', () => {
    const r = run('report', RING, '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const rep = JSON.parse(r.stdout);
    expectValidReport(rep);
    expect(rep.sessions).toHaveLength(5);
    // Session 1 spans four files: its 1 MiB download is one transfer with the served file's sha256.
    for (const t of tourTransfers.filter((x) => x.sha256)) {
      expect(transfersOf(rep)).toContainEqual([t.session, t.verb, t.path, t.bytes, t.sha256]);
    }
    // Every command and reply sits at the global frame where tshark, reading mergecap's output, decodes it.
    const merged = new Map(tsv('tour-ring.merged.tsv').map((row) => [Number(row[0]), row]));
    let checked = 0;
    for (const s of rep.sessions) {
      for (const c of s.commands) {
        expect(first(merged.get(c.frame)?.[4]), `frame ${c.frame}`).toBe(c.verb);
        for (const rp of c.replies) {
          // tshark leaves FTP undecoded in a segment it takes for a retransmission (the 426 at the end, sent again with FIN).
          const code = first(merged.get(rp.frame)?.[5]);
          if (code !== '' || rp.code !== 426) expect(code, `frame ${rp.frame}`).toBe(String(rp.code));
        }
        checked++;
      }
    }
    expect(checked).toBe(tsv('tour-ring.merged.tsv').filter((row) => row[4] !== '').length);
  });

  it('lists each file with its packets (tshark\'s count) and the global frames it holds', () => {
    const rep = JSON.parse(run('report', RING, '--json').stdout);
    const files = tsv('tour-ring.files.tsv');
    expect(rep.source.files.map((f: any) => [basename(f.name), f.packets])).toEqual(files.map((f) => [f[0], Number(f[1])]));
    let next = 1;
    for (const [i, f] of rep.source.files.entries()) {
      const n = Number(files[i]![1]);
      expect([f.firstFrame, f.lastFrame, f.frameRuns, f.skipped]).toEqual([next, next + n - 1, [[next, 1, n]], null]);
      expect(f.firstTs).toBeCloseTo(Number(files[i]![2]), 6);
      next += n;
    }
    expect(rep.source.packets).toBe(next - 1);
    expect(rep.source.files.map((f: any) => [f.format, f.gzip])).toEqual([
      ['pcapng', false], ['pcap', false], ['pcapng', false], ['pcapng', true], ['pcap', true], ['pcapng', false],
    ]);
    const text = run('report', RING).stdout;
    expect(text).toMatch(/^6 files merged in time order; frame numbers count across them:$/m);
    expect(text).toMatch(/^ {2}5\. captures\/multi\/tour-ring\/tour-4\.pcap\.gz: pcap\.gz, 300 packets, .*, frames 1201-1500, /m);
  });

  it('the files named one by one, in any order, give the report of the directory', () => {
    const dir = JSON.parse(run('report', RING, '--json').stdout);
    const files = tsv('tour-ring.files.tsv').map((f) => `${RING}/${f[0]}`);
    const named = JSON.parse(run('report', ...[...files].reverse(), '--json').stdout);
    expect(named.sessions).toEqual(dir.sessions);
    expect(named.source.files.map((f: any) => f.name)).toEqual([...files].reverse());
  });

  it('--ndjson: the events carry global frames, and the end line lists the files', () => {
    const r = run('report', RING, '--ndjson');
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const end = events.at(-1);
    expect([end.type, end.sessions, end.source.files.length, end.source.packets]).toEqual(['end', 5, 6, 1585]);
    const json = JSON.parse(run('report', RING, '--json').stdout);
    const verbs = (list: any[]) => list.map((c) => `${c.verb}@${c.frame}`);
    expect(verbs(events.filter((e) => e.type === 'command').map((e) => e.command)))
      .toEqual(verbs(json.sessions.flatMap((s: any) => s.commands)).sort((a: string, b: string) => Number(a.split('@')[1]) - Number(b.split('@')[1])));
  });

  it('ring-2121/ (a tcpdump -C -z gzip ring buffer): the lftp session spans all three files; transfers match what the clients saved', () => {
    const r = run('report', RING2121, '--json');
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expectValidReport(rep);
    expect(rep.sessions).toHaveLength(2);
    for (const t of ringTransfers.filter((x) => x.sha256)) {
      expect(transfersOf(rep)).toContainEqual([t.session, t.verb, t.path, t.bytes, t.sha256]);
    }
    const s1 = rep.sessions[0];
    const fileOf = (frame: number) => rep.source.files.findIndex((f: any) => f.firstFrame <= frame && frame <= f.lastFrame);
    expect(new Set(s1.commands.map((c: any) => fileOf(c.frame)))).toEqual(new Set([0, 1, 2]));
  });

  it('--ftp-port applies to every file: a later file that starts mid-session on 2121 is FTP only with it', () => {
    // The second and third files of the ring: the first starts inside a download, then NOOP; no greeting.
    const files = [`${RING2121}/ftp.pcap1.gz`, `${RING2121}/ftp.pcap2`];
    const without = JSON.parse(run('report', ...files, '--json').stdout);
    const withPort = JSON.parse(run('report', ...files, '--json', '--ftp-port', '2121').stdout);
    expect(without.sessions).toHaveLength(1);
    expect(withPort.sessions).toHaveLength(2);
    // tshark (told 2121 is FTP) numbers NOOP in the whole ring; these files start after the first one's frames.
    const before = Number(tsv('ring-2121.files.tsv').find((f) => f[0] === 'ftp.pcap.gz')![1]);
    const noop = tsv('ring-2121.merged.tsv').find((row) => row[4] === 'NOOP')!;
    expect(withPort.sessions[0].commands.find((c: any) => c.verb === 'NOOP').frame).toBe(Number(noop[0]) - before);
  });

  it('roles/ (control connections in one file, data connections in another, overlapping): paired as in the one capture', () => {
    const set = JSON.parse(run('report', 'captures/multi/roles', '--json').stdout);
    const one = JSON.parse(run('report', 'captures/vsftpd-epsv-user-ipv4.pcap', '--json').stdout);
    expect(transfersOf(set)).toEqual(transfersOf(one));
    expect(transfersOf(set)).toHaveLength(6);
    expect(set.findings.map((f: any) => f.code)).toContain('capture-files-overlap');
  });
});

describe('flow, extract, open and inspect on a set', () => {
  it('flow: the ladder of a session spanning files is the one capture\'s ladder (the set is the whole capture cut up)', () => {
    const set = run('flow', RING, '--session', '1', '--width', '100');
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toBe(run('flow', 'captures/tour.pcapng', '--session', '1', '--width', '100').stdout);
    expect(set.stdout).toMatch(/RETR blob-1MiB\.bin/);
  });

  it('extract: the files transferred across the set, with the sha256 the clients saw', () => {
    const out = join(tmp, 'extract');
    const r = run('extract', RING, '--out', out);
    expect(r.code, r.stderr).toBe(0);
    const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
    expect(index.source).toBe(RING);
    const got = index.files.map((f: any) => f.sha256);
    for (const t of tourTransfers.filter((x) => x.sha256)) expect(got).toContain(t.sha256);
  });

  it('open without a terminal prints the report of the set', () => {
    const r = run('open', RING);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(run('report', RING).stdout);
  });

  it('inspect --frame N: N is global; it says which file and which frame there, and decodes what tshark decodes', () => {
    const perFile = tsv('tour-ring.per-file.tsv');
    const tour = loadExpected('tour.pcapng')!; // tshark on the capture the ring was cut from
    for (const n of [1, 300, 301, 1234, 1585]) {
      const [file, local] = perFile[n - 1]!;
      const text = run('inspect', RING, '--frame', String(n), '--no-hex');
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout.split('\n')[0]).toBe(`frame ${n} of the merged set is frame ${local} of ${RING}/${file}`);
      expect(text.stdout).toContain(`Frame ${n} (frame ${local} of ${RING}/${file}): `);
      const j = JSON.parse(run('inspect', RING, '--frame', String(n), '--json').stdout);
      expect([j.frame, j.file]).toEqual([n, { name: `${RING}/${file}`, frame: Number(local) }]);
      const fields = j.layers.flatMap((l: any) => l.fields) as { name: string; value: unknown }[];
      const row = tour.get(n)!;
      for (const k of ['ip.src', 'ip.dst', 'tcp.srcport', 'tcp.seq_raw', 'tcp.len']) {
        if (first(row[k]) !== '') expect(String(fields.find((f) => f.name === k)?.value), `frame ${n} ${k}`).toBe(first(row[k]));
      }
    }
  });

  it('inspect: a frame beyond the set says how many there are, exit 2', () => {
    const r = run('inspect', RING, '--frame', '1586');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ftpscope: ${RING}: there is no frame 1586; the 6 files have 1585 frames (give a frame number from 1 to 1585)\n`);
  });
});

describe('bad input in a set', () => {
  it('a missing file and a damaged one among good ones: one line each on stderr naming the file (and byte), the rest analysed, exit 0', () => {
    const dir = join(tmp, 'bad');
    mkdirSync(dir, { recursive: true });
    const files = tsv('tour-ring.files.tsv').map((f) => {
      copyFileSync(join(ROOT, RING, f[0]!), join(dir, f[0]!));
      return join(dir, f[0]!);
    });
    const cut = readFileSync(files[5]!);
    const off = Number(tsv('tour-ring.per-file.tsv').filter((r) => r[0] === 'tour-5.pcapng')[40]![4]);
    writeFileSync(files[5]!, cut.subarray(0, off + 7));
    const missing = join(dir, 'gone.pcap');
    const r = run('report', ...files, missing, '--json');
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toEqual([
      `ftpscope: error: ${missing}: no such file; this file was skipped, the other 6 files of the set were read`,
      expect.stringMatching(new RegExp(`^ftpscope: warning: ${files[5]} is cut short at byte ${off}: `)),
    ]);
    const rep = JSON.parse(r.stdout);
    expectValidReport(rep);
    expect(rep.sessions).toHaveLength(5);
    expect(rep.source.files.at(-1).skipped).toBe(`${missing}: no such file`);
    expect(rep.source.packets).toBe(1500 + 40);
  });

  it('nothing readable, a pipe among files, a directory without captures: one line, exit 2', () => {
    const a = run('report', join(tmp, 'x.pcap'), join(tmp, 'y.pcap'));
    expect([a.code, a.stdout]).toEqual([2, '']);
    expect(a.stderr).toBe(`ftpscope: none of the 2 captures could be read; the first: ${join(tmp, 'x.pcap')}: no such file (check the path)\n`);
    const b = run('report', '-', RING);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/^ftpscope: standard input \(-\) cannot be merged with other captures \(/);
    const fifo = join(tmp, 'mf-fifo');
    spawnSync('mkfifo', [fifo]);
    const p = run('report', fifo, RING);
    expect([p.code, p.stderr]).toEqual([2, `ftpscope: ${fifo} is a pipe, which cannot be merged with other captures (save it to a file first, then name the files)\n`]);
    const empty = join(tmp, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'notes.txt'), 'no captures here\n');
    const c = run('flow', empty);
    expect(c.code).toBe(2);
    expect(c.stderr).toBe(`ftpscope: ${empty} holds no pcap or pcapng file (1 other file) (name the capture files, or the directory a ring buffer (tcpdump -C / -G) wrote into)\n`);
  });

  it('time going backwards in a file: a warning line and the finding', () => {
    const r = run('report', 'captures/multi/backwards', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^ftpscope: warning: captures\/multi\/backwards\/late-then-early\.pcap: time goes backwards at its frame 46 /);
    expect(JSON.parse(r.stdout).findings.map((f: any) => f.code)).toContain('capture-time-backwards');
  });
});

/**
 * The display-filter language itself (parse and evaluate), and its use by report, flow and the
 * sessions view: sessions kept are checked against tshark's decoding of the same capture
 * (captures/expected/tour.pcapng.tsv).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../../src/analysis/sources/file.js';
import { DisplayFilter, FilterSyntaxError } from '../../../src/report/filter/index.js';
import { buildSessionRows } from '../../../src/tui/views/sessions.js';

const CLI = new URL('../../../dist/src/cli/main.js', import.meta.url).pathname;
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

function syntaxError(expr: string): FilterSyntaxError {
  try {
    DisplayFilter.parse(expr);
  } catch (e) {
    if (e instanceof FilterSyntaxError) return e;
    throw e;
  }
  throw new Error(`${expr} parsed`);
}

describe('display-filter syntax', () => {
  it.each([
    ['ftp.response.code >=', 20, 'a value is missing'],
    ['ftp.respons.code == 226', 0, 'did you mean ftp.response.code?'],
    ['(tcp.port == 21', 0, 'never closed'],
    ['tcp.port == 21 tcp.port == 20', 15, 'join conditions with && or ||'],
    ['ftp.request.command == "RETR', 23, 'not closed'],
    ['tcp.port in {20 21}', 16, 'separate the elements of a set with commas'],
    ['ip.addr == 10.0.0.300', 11, 'not an IPv4 or IPv6 address'],
    ['tcp.port == abc', 12, 'not a number'],
    ['ftp.request.arg matches "("', 24, 'bad regular expression'],
  ])('%s: says where (column %i) and why', (expr, column, reason) => {
    const e = syntaxError(expr);
    expect(e.column).toBe(column);
    expect(e.reason).toContain(reason);
    const [line, caret] = e.explain().split('\n');
    expect(line).toBe(expr);
    expect(caret!.indexOf('^')).toBe(column);
  });

  it('accepts the word forms, sets with ranges, CIDR and existence', () => {
    for (const expr of ['tcp.port eq 21 and not ftp.response.code ge 400', 'ftp.response.code in {200..299, 331}',
      'ip.addr == 10.0.0.0/8 or ipv6.addr == fd00::/8', 'ftpscope.transfer && !ftpscope.transfer.complete', 'tcp.flags & 0x12']) {
      expect(() => DisplayFilter.parse(expr), expr).not.toThrow();
    }
  });

  it('a malformed filter on the command line is one message with a caret, exit 2', () => {
    const r = run('report', 'captures/tour.pcapng', '-Y', 'ftp.respons.code == 226');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ftpscope: bad display filter: unknown field "ftp.respons.code"; did you mean ftp.response.code\? at column 1\n  ftp.respons.code == 226\n  \^/);
  });
});

describe('filters keep the sessions and data connections that match', async () => {
  // tshark's view of tour.pcapng: the client port of each control connection with a given reply code.
  const [head, ...rows] = readFileSync('captures/expected/tour.pcapng.tsv', 'utf8').trimEnd().split('\n');
  const names = head!.split('\t');
  const tsv = rows.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [names[i], v])));
  const clientPortsWith = (pred: (r: Record<string, string>) => boolean): number[] =>
    [...new Set(tsv.filter(pred).map((r) => Number(r['tcp.srcport'] === '21' ? r['tcp.dstport'] : r['tcp.srcport'])))].sort((a, b) => a - b);
  const a = await analyzeFile('captures/tour.pcapng');

  it.each([
    ['ftp.response.code == 530', (r: Record<string, string>) => r['ftp.response.code'].split(',').includes('530')],
    // (not >= 400: tshark does not decode the 426 that rides on session 5's FIN segment, frame 1584)
    ['ftp.response.code >= 500', (r: Record<string, string>) => r['ftp.response.code'].split(',').some((c) => Number(c) >= 500)],
    ['ftp.request.command == "PORT"', (r: Record<string, string>) => r['ftp.request.command'] === 'PORT'],
    ['ftp.request.command == "STOR"', (r: Record<string, string>) => r['ftp.request.command'] === 'STOR'],
  ])('report -Y %s keeps the sessions tshark sees it in', (expr, pred) => {
    const want = clientPortsWith(pred);
    expect(want.length).toBeGreaterThan(0);
    const r = run('report', 'captures/tour.pcapng', '--json', '-Y', expr);
    expect(r.status, r.stderr).toBe(0);
    const got = (JSON.parse(r.stdout) as { sessions: Array<{ client: { port: number } }> }).sessions.map((s) => s.client.port).sort((x, y) => x - y);
    expect(got).toEqual(want);
    // The dashboard's sessions view keeps the same sessions for the same text.
    const rows = buildSessionRows(a, expr, { column: 'start', reverse: false }).filter((x) => x.kind === 'session');
    expect(rows.map((x) => (x.kind === 'session' ? x.session.client.port : 0)).sort((x, y) => x - y)).toEqual(want);
  });

  it('a filter on transfer fields keeps only the matching data connections', () => {
    const f = DisplayFilter.parse('ftpscope.transfer.direction == "upload"');
    const kept = a.sessions.map((s) => f.keepSession(s)).filter((s) => s !== null);
    const uploads = a.sessions.flatMap((s) => s.dataConnections.filter((d) => d.direction === 'upload'));
    expect(kept.flatMap((s) => s!.dataConnections)).toEqual(uploads);
    // tshark: STOR is the upload command of the capture
    expect(kept.flatMap((s) => s!.dataConnections.map((d) => d.command?.verb))).toEqual(uploads.map(() => 'STOR'));
    const r = run('flow', 'captures/tour.pcapng', '-Y', 'ftpscope.transfer.direction == "upload"');
    expect(r.status).toBe(0);
    expect(r.stdout.match(/^Session \d+/gm)).toHaveLength(kept.length);
  });

  it('text that is not a filter is searched for, word by word', () => {
    const rows = buildSessionRows(a, 'anonymous RETR', { column: 'start', reverse: false }).filter((x) => x.kind === 'session');
    const want = a.sessions.filter((s) => s.user === 'anonymous' && s.commands.some((c) => c.verb === 'RETR'));
    expect(want.length).toBeGreaterThan(0);
    expect(rows.map((x) => (x.kind === 'session' ? x.session.id : 0))).toEqual(want.map((s) => s.id));
  });
});

import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import type { PacketRecord } from '../../src/capture/types.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { Analysis } from '../../src/model/types.js';
import { buildSessionRows, sessionMatches, sessionRowText, SORT_COLUMNS } from '../../src/tui/views/sessions.js';
import { endpoint } from '../../src/tui/text.js';
import { CAPTURES, readTsv } from './harness.js';

async function records(rel: string): Promise<PacketRecord[]> {
  const out: PacketRecord[] = [];
  await readCapture(CAPTURES + rel, (rec) => {
    out.push({ ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0 });
  });
  return out;
}

/** Data bytes per session as zeek's conn.log counts them (ftp-data connections). */
function zeekDataBytes(dir: string): number {
  return readTsv(CAPTURES + `zeek/expected/${dir}/conn.log`).filter((c) => c.service === 'ftp-data')
    .reduce((n, c) => n + Number(c.orig_bytes) + Number(c.resp_bytes), 0);
}

describe('sessions view: sort and filter on two real sessions', async () => {
  const v4 = await records('zeek/ipv4.pcap');
  const v6 = await records('zeek/ipv6.pcap');
  const shift = v4[v4.length - 1].ts + 1 - v6[0].ts;
  v6.forEach((r, i) => { r.frame = v4.length + i + 1; r.ts += shift; });
  const p = new Pipeline({}, { type: 'pcap', name: 'two' });
  for (const r of [...v4, ...v6]) p.push(r);
  const a = p.finish();
  const v4Bytes = zeekDataBytes('scripts.base.protocols.ftp.ftp-ipv4');
  const v6Bytes = zeekDataBytes('scripts.base.protocols.ftp.ftp-ipv6');
  const order = (column: typeof SORT_COLUMNS[number], reverse: boolean): string[] =>
    buildSessionRows(a, '', { column, reverse }).filter((r) => r.kind === 'session')
      .map((r) => (r.kind === 'session' && r.session.client.ip.includes(':') ? 'v6' : 'v4'));

  it('sorts by bytes as zeek counts them, both ways', () => {
    expect(v4Bytes).not.toBe(v6Bytes);
    const smaller = v4Bytes < v6Bytes ? 'v4' : 'v6';
    const larger = smaller === 'v4' ? 'v6' : 'v4';
    expect(order('bytes', false)).toEqual([smaller, larger]);
    expect(order('bytes', true)).toEqual([larger, smaller]);
  });

  it('sorts by start (capture order) and keeps data connections under their session', () => {
    expect(order('start', false)).toEqual(['v4', 'v6']);
    const rows = buildSessionRows(a, '', { column: 'start', reverse: true });
    let owner: number | null = null;
    for (const r of rows) {
      if (r.kind === 'session') owner = r.session.id;
      else if (r.kind === 'data') expect(r.session.id).toBe(owner);
    }
  });

  it('every sort column gives every session once', () => {
    for (const c of SORT_COLUMNS) for (const rev of [false, true]) expect(order(c, rev).sort()).toEqual(['v4', 'v6']);
  });

  it('filters by address, user, command, file name and finding code', () => {
    const ids = (f: string): number => buildSessionRows(a, f, { column: 'start', reverse: false }).filter((r) => r.kind === 'session').length;
    const log6 = readTsv(CAPTURES + 'zeek/expected/scripts.base.protocols.ftp.ftp-ipv6/ftp.log');
    expect(ids(log6[0]['id.orig_h'])).toBe(1);
    expect(ids('EPRT')).toBe(1);
    expect(ids('anonymous')).toBe(2);
    expect(ids('robots.txt')).toBe(2);
    expect(ids('cleartext-credentials')).toBe(a.sessions.filter((s) => s.findings.some((f) => f.code === 'cleartext-credentials')).length);
    expect(ids('no-such-thing')).toBe(0);
  });
});

const EXPECTED = new URL('./expected/', import.meta.url).pathname;
const ROOT_CAPTURES = new URL('../../captures/', import.meta.url).pathname;

describe('the filter finds what a row shows: statuses, modes, setup verbs, data endpoints', async () => {
  const aborted = await analyzeFile(ROOT_CAPTURES + 'vsftpd-aborted.pcap', {});
  const sort = { column: 'start', reverse: false } as const;
  /** Control client ports of the sessions a filter keeps. */
  const kept = (a: Analysis, f: string): number[] =>
    buildSessionRows(a, f, sort).flatMap((r) => (r.kind === 'session' ? [r.session.client.port] : []));

  // tshark's decode of the capture (test/tui/expected/make.sh): the 227/229/426 replies, to the control client's port
  const replies = readTsv(EXPECTED + 'vsftpd-aborted.pcap-setup.tsv');
  const clientsWith = (code: string): number[] => [...new Set(replies.filter((r) => r['ftp.response.code'] === code).map((r) => Number(r['tcp.dstport'])))].sort();
  /** The announced passive port of each 227/229 reply → the control client's port. */
  const announced = new Map(replies.filter((r) => r['ftp.response.code'] === '227' || r['ftp.response.code'] === '229').map((r) => {
    const arg = r['ftp.response.arg'];
    const m = /\|\|\|(\d+)\|/.exec(arg) ?? /\d+,\d+,\d+,\d+,(\d+),(\d+)/.exec(arg)!;
    const port = m.length === 3 ? Number(m[1]) * 256 + Number(m[2]) : Number(m[1]);
    return [port, Number(r['tcp.dstport'])];
  }));
  /** Sessions whose data connection (to an announced port) was reset, as tshark saw the RSTs. */
  const resetClients = [...new Set(readTsv(EXPECTED + 'vsftpd-aborted.pcap-rst.tsv')
    .flatMap((r) => [announced.get(Number(r['tcp.srcport'])), announced.get(Number(r['tcp.dstport']))])
    .filter((p): p is number => p !== undefined))].sort();

  it('426 keeps the sessions tshark saw a 426 on; reset those whose data connection was reset', () => {
    expect(clientsWith('426').length).toBeGreaterThan(0);
    expect(kept(aborted, '426').sort()).toEqual(clientsWith('426'));
    expect(resetClients.length).toBeGreaterThan(0);
    expect(kept(aborted, 'reset').sort()).toEqual(resetClients);
  });

  it('passive, PASV and EPSV keep the sessions tshark saw enter that mode; a data endpoint keeps its session', () => {
    expect(kept(aborted, 'passive').sort()).toEqual([...new Set(announced.values())].sort());
    expect(kept(aborted, 'PASV').sort()).toEqual(clientsWith('227'));
    expect(kept(aborted, 'epsv').sort()).toEqual(clientsWith('229'));
    for (const [port, client] of announced) expect(kept(aborted, `:${port}`)).toEqual([client]);
    expect(kept(aborted, 'active')).toEqual([]);
  });

  it('a status that changes later (a live session) is found without a new command or data connection', async () => {
    const a = await analyzeFile(CAPTURES + 'zeek/ipv4.pcap', {});
    const s = a.sessions[0];
    expect(sessionMatches(s, '451')).toBe(false);
    s.dataConnections[0].finalReply = { code: 451, text: 'Requested action aborted', frame: null };
    expect(sessionMatches(s, '451')).toBe(true);
  });

  it('on every bundled capture, each word of a row\'s status and each data connection\'s mode, verb and endpoints keep that row', async () => {
    const files = ['vsftpd-aborted.pcap', 'tour.pcapng', 'vsftpd-lftp-ipv6.pcapng', 'vsftpd-port-ipv4.pcap', 'vsftpd-login-failed.pcap',
      'fixtures/ipv4-spb.pcapng', 'public/zeek/ipv4.pcap', 'public/zeek/ipv6.pcap'];
    let checked = 0;
    for (const f of files) {
      const a = await analyzeFile(ROOT_CAPTURES + f, {});
      for (const row of buildSessionRows(a, '', sort)) {
        const segments = sessionRowText(row, 200);
        const text = segments.map((s) => s.text).join('');
        const status = segments[segments.length - 1].text.trim(); // the status column, drawn in its own style
        const needles = status.split(/\s+/).filter((w) => !/^[✓x!]$/.test(w));
        if (row.kind === 'data' || row.kind === 'unpaired') {
          const dc = row.dc;
          needles.push(...[dc.mode, dc.setup].filter((x): x is NonNullable<typeof x> => !!x), endpoint(dc.server), endpoint(dc.client));
          for (const n of needles.slice(-2)) expect(text).toContain(n);
        }
        for (const n of needles) {
          const keys = buildSessionRows(a, n, sort).map((r) => r.key);
          expect(keys, `${f}: /${n} keeps ${row.key} (${text.trim()})`).toContain(row.key);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });
});

import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import type { PacketRecord } from '../../src/capture/types.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { buildSessionRows, SORT_COLUMNS } from '../../src/tui/views/sessions.js';
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

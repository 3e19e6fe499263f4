/**
 * Issue 14, points 4, 5, 8 and 9 on the captures recorded for them (captures/engine/record.sh: vsftpd, curl and
 * Python ftplib in network namespaces). Expected values come from what the clients were told to do and saved
 * (captures/engine/scenarios.json) and from tshark's view of every packet (captures/expected/engine/*.tsv).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { AnalysisEvent, DataConnection } from '../../src/model/types.js';
import { Extractor } from '../../src/report/extract.js';
import { eventToJson, toReportJson } from '../../src/report/json.js';
import { renderReportText } from '../../src/report/text.js';
import { expectValidReport } from '../helpers/validate-report.js';

const DIR = 'captures/engine';

interface Transfer {
  verb: string; arg?: string; path?: string; rest?: number; bytes: number; sha256: string;
  relativePath?: string; relativeCwd?: string; serverPath?: string; fileBytes?: number; fileSha256?: string;
}
interface Scenario { file: string; forged?: { original: string; forged: string }; sessions: Array<{ session: number; pwd?: boolean; transfers: Transfer[] }> }
const scenarios = (JSON.parse(readFileSync(`${DIR}/scenarios.json`, 'utf8')) as { captures: Scenario[] }).captures;
const scenario = (file: string): Scenario => scenarios.find((c) => c.file === file)!;

function tshark(file: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(`captures/expected/engine/${file}.tsv`, 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = head!.split('\t');
  return rows.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
}
const FIN = 0x01;
const flags = (r: Record<string, string>): number => parseInt(r['tcp.flags'] || '0', 16);

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe('4. the server\'s FIN is not in the capture: its number is no byte', () => {
  for (const file of ['engine-resume-no-fin.pcap', 'engine-resume-no-fin-2mb.pcap']) {
    it(`${file}: the bytes the client received, complete, closed by FIN`, async () => {
      const want = scenario(file).sessions[0]!.transfers[0]!;
      const a = await analyzeFile(`${DIR}/${file}`);
      const dc = a.sessions[0]!.dataConnections[0]!;
      // The capture as tshark reads it: no FIN from the server's side of the data connection, and the client's
      // FIN acknowledges one number past the server's last byte (that FIN's).
      const rows = tshark(file).filter((r) => r['tcp.srcport'] === String(dc.server.port) || r['tcp.dstport'] === String(dc.server.port));
      const fromServer = rows.filter((r) => r['tcp.srcport'] === String(dc.server.port));
      expect(fromServer.some((r) => flags(r) & FIN)).toBe(false);
      const serverData = fromServer.reduce((n, r) => n + Number(r['tcp.len'] || 0), 0);
      expect(serverData).toBe(want.bytes);
      const clientFin = rows.find((r) => r['tcp.dstport'] === String(dc.server.port) && flags(r) & FIN)!;
      expect(Number(clientFin['tcp.ack'])).toBe(1 + want.bytes + 1);

      expect(dc.restOffset).toBe(want.rest);
      expect(dc.bytes).toBe(want.bytes);
      expect(dc.missingBytes).toBe(0);
      expect(dc.closeReason).toBe('fin');
      expect(dc.complete).toBe(true);
      expect(dc.sha256).toBe(want.sha256);
      expect(dc.outcome).toBe('ok');
      expect(a.sessions[0]!.findings).toEqual([]); // anonymous without PASS (vsftpd no_anon_password)
      expect(renderReportText(a)).not.toMatch(/never closed|capture ends|of \d+ bytes announced/);
    });
  }
});

describe('5. a client that navigates with CWD and never sends PWD (engine-relative-cwd.pcap, Python ftplib)', async () => {
  const sc = scenario('engine-relative-cwd.pcap');
  const a = await analyzeFile(`${DIR}/engine-relative-cwd.pcap`);
  const rows = tshark('engine-relative-cwd.pcap');

  it('session 1: cwd and paths relative to the unknown start directory, marked so', () => {
    const s = a.sessions[0]!;
    expect(rows.filter((r) => r['tcp.dstport'] === '21' && r['tcp.srcport'] === String(s.client.port)).map((r) => r['ftp.request.command'])).not.toContain('PWD');
    const want = sc.sessions[0]!.transfers;
    const retrs = s.commands.filter((c) => c.verb === 'RETR');
    expect(retrs.map((c) => [c.arg, c.cwd, c.cwdAnchored])).toEqual(want.map((t) => [t.arg, t.relativeCwd, false]));
    expect(s.dataConnections.map((d) => [d.path, d.bytes, d.sha256])).toEqual(want.map((t) => [t.relativePath, t.bytes, t.sha256]));
    // Before the first CWD nothing is known, not even relatively.
    expect(s.commands.find((c) => c.verb === 'USER')!.cwd).toBeNull();
    const json = toReportJson(a) as { sessions: Array<{ commands: Array<Record<string, unknown>> }> };
    expectValidReport(json);
    expect(json.sessions[0]!.commands.filter((c) => c.verb === 'RETR').map((c) => c.cwdAnchored)).toEqual([false, false]);
  });

  it('session 2: a PWD at the end anchors every earlier relative path (tshark: the 257 names the directory)', () => {
    const s = a.sessions[1]!;
    const pwdReply = rows.find((r) => r['tcp.dstport'] === String(s.client.port) && r['ftp.response.code'] === '257')!;
    const named = /"(.*)"/.exec(pwdReply['ftp.response.arg']!)![1]!;
    const want = sc.sessions[1]!.transfers;
    const retr = s.commands.find((c) => c.verb === 'RETR')!;
    expect(retr.cwd).toBe(named);
    expect(retr.cwdAnchored).toBeUndefined();
    expect(s.dataConnections.map((d) => d.path)).toEqual(want.map((t) => t.serverPath));
    expect(s.commands.filter((c) => c.verb === 'CWD').map((c) => c.cwd)).toEqual([null, '/pub', '/pub/data']);
    const json = toReportJson(a) as { sessions: Array<{ commands: Array<Record<string, unknown>> }> };
    expect(json.sessions[1]!.commands.some((c) => 'cwdAnchored' in c)).toBe(false);
  });
});

describe('8. extract: long names, a second run, and RETR -rf (engine-long-names.pcap, curl)', async () => {
  const sc = scenario('engine-long-names.pcap').sessions[0]!.transfers;
  const file = `${DIR}/engine-long-names.pcap`;
  const run = async (dir: string) => {
    const ex = new Extractor(dir, file);
    ex.settle(await analyzeFile(file, { openDataSink: ex.openDataSink }));
    return ex.finish();
  };

  it('the 300-character RETR is written under a name within the limit, twice into one directory without copies', async () => {
    expect(sc[0]!.arg!.length).toBe(300);
    const dir = mkdtempSync(path.join(tmpdir(), 'eng-extract-long-'));
    dirs.push(dir);
    const first = await run(dir);
    const second = await run(dir); // used to spin forever here: "-2" cut off again by the length limit
    expect(second.files.map((f) => f.file)).toEqual(first.files.map((f) => f.file));
    expect(readdirSync(dir).sort()).toEqual([...first.files.map((f) => f.file), 'index.json'].sort());
    for (const [i, f] of second.files.entries()) {
      expect(Buffer.byteLength(f.file)).toBeLessThanOrEqual(200);
      expect(f.sha256).toBe(sc[i]!.sha256);
      expect(createHash('sha256').update(readFileSync(path.join(dir, f.file))).digest('hex')).toBe(sc[i]!.sha256);
    }
  });

  it('RETR -rf names a file "-rf": its path, not the working directory', async () => {
    const a = await analyzeFile(file);
    const dc = a.sessions[0]!.dataConnections.find((d) => d.command?.arg === '-rf')!;
    // curl was at "/" (its PWD's 257) and sent "RETR -rf".
    expect(dc.path).toBe('/-rf');
    expect(dc.bytes).toBe(sc[1]!.bytes);
    const dir = mkdtempSync(path.join(tmpdir(), 'eng-extract-rf-'));
    dirs.push(dir);
    const index = await run(dir);
    expect(index.files.find((f) => f.command?.arg === '-rf')!.file).toBe(`s1-d${dc.id}-retr--rf`);
  });
});

describe('9. a retransmission with other bytes (engine-retransmission-mismatch.pcap: RETR pub/good.txt, then a forged copy saying RETR pub/evil.txt)', async () => {
  const sc = scenario('engine-retransmission-mismatch.pcap');
  const events: AnalysisEvent[] = [];
  const a = await analyzeFile(`${DIR}/engine-retransmission-mismatch.pcap`, { onEvent: (e) => events.push(e) });
  const s = a.sessions[0]!;
  // tshark: the RETR it decodes, and the segment after it with the same sequence number and length (which it
  // takes for a retransmission and does not decode again).
  const rows = tshark('engine-retransmission-mismatch.pcap');
  const first = rows.find((r) => r['ftp.request.command'] === 'RETR')!;
  const forged = rows.find((r) => Number(r['frame.number']) > Number(first['frame.number'])
    && r['tcp.seq_raw'] === first['tcp.seq_raw'] && r['tcp.len'] === first['tcp.len'] && r['tcp.srcport'] === first['tcp.srcport']);

  it('tshark sees the two copies', () => {
    expect(`RETR ${first['ftp.request.arg']}`).toBe(sc.forged!.original);
    expect(forged).toBeDefined();
    // Before the server acknowledged the first: a retransmission that can still be compared with it.
    const ack = rows.find((r) => Number(r['frame.number']) > Number(first['frame.number']) && r['tcp.srcport'] === '21'
      && BigInt(r['tcp.ack_raw']!) > BigInt(first['tcp.seq_raw']!));
    expect(Number(ack!['frame.number'])).toBeGreaterThan(Number(forged!['frame.number']));
  });

  it('the first copy wins, and a warning names both frames', () => {
    expect(s.commands.filter((c) => c.verb === 'RETR').map((c) => [c.arg, c.frame])).toEqual([[first['ftp.request.arg'], Number(first['frame.number'])]]);
    expect(s.dataConnections[0]!.sha256).toBe(sc.sessions[0]!.transfers[0]!.sha256);
    const f = s.findings.find((x) => x.code === 'tcp-retransmission-mismatch')!;
    expect(f.severity).toBe('warning');
    expect(f.frame).toBe(Number(forged!['frame.number']));
    expect(f.message).toContain(`frame ${forged!['frame.number']}`);
    expect(f.message).toContain(`first copy (frame ${first['frame.number']})`);
    expect(f.message).toMatch(/^control connection: the client retransmitted/);
  });

  it('in the text report, the JSON and the NDJSON events', () => {
    expect(renderReportText(a)).toMatch(new RegExp(`warning tcp-retransmission-mismatch  \\[#${forged!['frame.number']}\\]: .*first copy \\(frame ${first['frame.number']}\\)`));
    const json = toReportJson(a) as { sessions: Array<{ findings: Array<{ code: string; frame: number }> }> };
    expectValidReport(json);
    expect(json.sessions[0]!.findings.filter((x) => x.code === 'tcp-retransmission-mismatch').map((x) => x.frame)).toEqual([Number(forged!['frame.number'])]);
    const nd = events.filter((e) => e.type === 'finding').map((e) => eventToJson(e) as { session: number | null; finding: { code: string } });
    expect(nd.filter((l) => l.finding.code === 'tcp-retransmission-mismatch').map((l) => l.session)).toEqual([s.id]);
  });
});

/** For type use in the scenario checks. */
export type { DataConnection };

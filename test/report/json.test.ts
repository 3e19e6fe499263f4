import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { eventToJson, reportJsonChunks, toReportJson } from '../../src/report/json.js';
import type { AnalysisEvent } from '../../src/model/types.js';
import { TOOL } from '../../src/version.js';
import { expectValidReport } from '../helpers/validate-report.js';
import { readSuricataFileChecks, readZeekLog } from '../helpers/zeek-log.js';
import { analyzed, PUB, ALL_CAPTURES, ZEEK_EXPECTED } from './captures.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

async function report(capture: string, opts?: { showPasswords?: boolean }): Promise<Json> {
  return JSON.parse(JSON.stringify(toReportJson(await analyzed(capture), opts))) as Json;
}

function dataConnections(r: Json): Json[] {
  return r.sessions.flatMap((s: Json) => s.dataConnections);
}

function sameConn(d: Json, a: { ip: string; port: number }, b: { ip: string; port: number }): boolean {
  const eq = (x: Json, y: { ip: string; port: number }): boolean => x.ip === y.ip && x.port === y.port;
  return (eq(d.client, a) && eq(d.server, b)) || (eq(d.client, b) && eq(d.server, a));
}

describe('report JSON against zeek expected outputs', () => {
  for (const [capture, dir] of [
    ['zeek/ipv4.pcap', 'scripts.base.protocols.ftp.ftp-ipv4'],
    ['zeek/ipv6.pcap', 'scripts.base.protocols.ftp.ftp-ipv6'],
  ] as const) {
    it(`${capture}: data channels, setups and byte counts match ftp.log and conn.log`, async () => {
      const r = await report(capture);
      expectValidReport(r);
      const ftpLog = readZeekLog(`${ZEEK_EXPECTED}/${dir}/ftp.log`);
      const connLog = readZeekLog(`${ZEEK_EXPECTED}/${dir}/conn.log`);
      const control = connLog.find((row) => row.service === 'ftp')!;
      expect(r.sessions).toHaveLength(1);
      const s = r.sessions[0];
      expect(s.client).toEqual({ ip: control['id.orig_h'], port: Number(control['id.orig_p']) });
      expect(s.server).toEqual({ ip: control['id.resp_h'], port: Number(control['id.resp_p']) });
      expect(s.user).toBe(ftpLog[0]!.user);

      // ftp.log: each setup row names the data channel zeek expected (passive flag, orig_h, resp_h, resp_p).
      for (const row of ftpLog.filter((x) => x['data_channel.resp_p'] !== null)) {
        const dc = dataConnections(r).find((d) => d.server.ip === row['data_channel.resp_h'] && d.server.port === Number(row['data_channel.resp_p']));
        expect(dc, `${row.command} ${row.arg}`).toBeDefined();
        expect(dc.client.ip).toBe(row['data_channel.orig_h']);
        expect(dc.mode).toBe(row['data_channel.passive'] === 'T' ? 'passive' : 'active');
        expect(dc.setup).toBe(row.command);
        const setupCmd = s.commands.find((c: Json) => c.verb === row.command && c.frame !== null &&
          (dc.mode === 'active' ? c.frame === dc.setupFrame : c.replies.some((rep: Json) => rep.frame === dc.setupFrame)));
        expect(setupCmd, `setupFrame ${dc.setupFrame} points at the ${row.command} exchange`).toBeDefined();
      }
      // conn.log: every ftp-data connection, with its bytes.
      const dataRows = connLog.filter((x) => x.service === 'ftp-data');
      expect(dataConnections(r)).toHaveLength(dataRows.length);
      expect(r.unpairedDataConnections).toHaveLength(0);
      for (const row of dataRows) {
        const dc = dataConnections(r).find((d) => d.client.ip === row['id.orig_h'] && d.client.port === Number(row['id.orig_p']) &&
          d.server.ip === row['id.resp_h'] && d.server.port === Number(row['id.resp_p']));
        expect(dc, `${row['id.orig_h']}:${row['id.orig_p']} -> ${row['id.resp_h']}:${row['id.resp_p']}`).toBeDefined();
        expect(dc.bytes).toBe(Number(row.orig_bytes) + Number(row.resp_bytes));
        expect(dc.missingBytes).toBe(Number(row.missed_bytes));
        expect(dc.complete).toBe(true);
        expect(dc.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(dc.end - dc.start).toBeCloseTo(Number(row.duration), 3);
      }
      // RETR rows carry zeek's file size.
      const retrSizes = ftpLog.filter((x) => x.command === 'RETR').map((x) => Number(x.file_size));
      expect(dataConnections(r).filter((d) => d.command?.verb === 'RETR').map((d) => d.bytes)).toEqual(retrSizes);
    });
  }

  it('zeek/retr.pcap: the EPSV connection serves RETR /README with zeek\'s size and sha256', async () => {
    const r = await report('zeek/retr.pcap');
    expectValidReport(r);
    const out = readFileSync(`${ZEEK_EXPECTED}/scripts.base.frameworks.file-analysis.ftp/out`, 'utf8');
    const m = /\[orig_h=([^,]+), orig_p=(\d+)\/tcp, resp_h=([^,]+), resp_p=(\d+)\/tcp/.exec(out)!;
    const sha = /SHA256: ([0-9a-f]{64})/.exec(out)![1];
    const size = Number(/file #0, (\d+), 0/.exec(out.split('FILE_STATE_REMOVE')[1]!)![1]);
    const dc = dataConnections(r).find((d) => sameConn(d, { ip: m[1]!, port: Number(m[2]) }, { ip: m[3]!, port: Number(m[4]) }));
    expect(dc).toBeDefined();
    expect(dc.setup).toBe('EPSV');
    expect(dc.command.verb).toBe('RETR');
    expect(dc.direction).toBe('download');
    expect(dc.bytes).toBe(size);
    expect(dc.sha256).toBe(sha);
    expect(dc.complete).toBe(true);
  });

  it('zeek/bigtransfer.pcap: byte and gap counts of conn.log, incomplete and without sha256', async () => {
    const r = await report('zeek/bigtransfer.pcap');
    expectValidReport(r);
    const rows = readZeekLog(`${ZEEK_EXPECTED}/core.tcp.large-file-reassembly/conn.log`).filter((x) => x.service === 'ftp-data');
    for (const row of rows) {
      const dc = [...dataConnections(r), ...r.unpairedDataConnections].find((d: Json) =>
        d.client.port === Number(row['id.orig_p']) && d.server.port === Number(row['id.resp_p']));
      expect(dc).toBeDefined();
      expect(dc.bytes).toBe(Number(row.orig_bytes) + Number(row.resp_bytes));
      expect(dc.missingBytes).toBe(Number(row.missed_bytes));
      if (dc.missingBytes > 0) {
        expect(dc.complete).toBe(false);
        expect(dc.sha256).toBeNull();
      }
    }
  });

  it('zeek/ftp-auth-tls.pcap: AUTH TLS → 234 marks the session tls', async () => {
    const r = await report('zeek/ftp-auth-tls.pcap');
    expectValidReport(r);
    const log = readZeekLog(`${ZEEK_EXPECTED}/scripts.base.protocols.ftp.ftp-auth-tls/ftp.log`);
    const auth = log.find((x) => x.command === 'AUTH')!;
    const s = r.sessions[0];
    expect(s.tls).toBe(true);
    const cmd = s.commands.find((c: Json) => c.verb === 'AUTH');
    expect(cmd.arg).toBe(auth.arg);
    expect(cmd.replies[0].code).toBe(Number(auth.reply_code));
    expect(cmd.replies[0].text).toBe(auth.reply_msg);
    const greeting = log.find((x) => x.command === '<init>')!;
    expect(s.greeting.code).toBe(Number(greeting.reply_code));
  });
});

describe('report JSON against suricata-verify expected outputs', () => {
  it('bug-4877: the 4 files with their sha256 and size, attributed to STOR/RETR of that name', async () => {
    const r = await report('suricata-verify/bug-4877/input.pcap');
    expectValidReport(r);
    const checks = readSuricataFileChecks(`${PUB}/suricata-verify/bug-4877/test.yaml`).filter((c) => c['fileinfo.sha256']);
    expect(checks.length).toBeGreaterThanOrEqual(4);
    for (const c of checks) {
      const dc = dataConnections(r).find((d) =>
        sameConn(d, { ip: c.src_ip!, port: Number(c.src_port) }, { ip: c.dest_ip!, port: Number(c.dest_port) }));
      expect(dc, `${c.src_ip}:${c.src_port} <-> ${c.dest_ip}:${c.dest_port}`).toBeDefined();
      expect(dc.sha256).toBe(c['fileinfo.sha256']);
      expect(dc.bytes).toBe(Number(c['fileinfo.size']));
      expect(dc.complete).toBe(c['fileinfo.gaps'] === 'false');
      expect(['STOR', 'RETR']).toContain(dc.command.verb);
      expect(dc.command.arg.split('/').pop()).toBe(c['fileinfo.filename']);
      expect(dc.path.endsWith(c['fileinfo.filename']!)).toBe(true);
      expect(dc.mode).toBe('active');
    }
  });

  it('bug-3519: PASS is masked unless asked for; replies in order (output-eve-ftp checks)', async () => {
    const yaml = readFileSync(`${PUB}/suricata-verify/output-eve-ftp/test.yaml`, 'utf8');
    const pass = /ftp\.command: PASS\n\s+ftp\.command_data: (\S+)\n\s+ftp\.reply: \['([^']+)'\]/.exec(yaml)!;
    const masked = await report('suricata-verify/bug-3519/input.pcap');
    expectValidReport(masked);
    const cmds = masked.sessions.flatMap((s: Json) => s.commands);
    expect(cmds.filter((c: Json) => c.verb === 'PASS').map((c: Json) => c.arg)).toEqual(['****']);
    const shown = await report('suricata-verify/bug-3519/input.pcap', { showPasswords: true });
    const p = shown.sessions.flatMap((s: Json) => s.commands).find((c: Json) => c.verb === 'PASS');
    expect(p.arg).toBe(pass[1]);
    expect(p.replies.map((x: Json) => x.text)).toEqual([pass[2]]);
    const nlstReplies = /ftp\.command: NLST\n\s+ftp\.reply: \[\s*"([^"]+)",\s*"([^"]+)"\]/.exec(yaml)!;
    const nlst = cmds.find((c: Json) => c.verb === 'NLST');
    expect(nlst.replies.map((x: Json) => x.text)).toEqual([nlstReplies[1], nlstReplies[2]]);
    const counts = [...yaml.matchAll(/count: (\d+)\n\s+match:\n\s+event_type: ftp\n\s+ftp\.command: (\w+)\n\n/g)];
    expect(counts.length).toBeGreaterThanOrEqual(6);
    for (const [, n, verb] of counts) expect(cmds.filter((c: Json) => c.verb === verb)).toHaveLength(Number(n));
  });
});

describe('report JSON: contract conventions on every bundled capture', () => {
  it.each(ALL_CAPTURES)('%s is valid against schema/report.v1.json', async (capture) => {
    const a = await analyzed(capture);
    const r = toReportJson(a) as Json;
    expectValidReport(r);
    expect(r.tool).toEqual({ name: TOOL.name, version: TOOL.version });
    expect(r.source.name).toBe(`${PUB}/${capture}`);
    const text = JSON.stringify(r);
    expect(text).not.toMatch(/"(tcp|packets)":\s*[{[]/); // TCP state and packet history are never serialized
    expect(text).not.toMatch(/::ffff:\d/i);
    // timestamps at µs precision
    for (const s of r.sessions as Json[]) {
      for (const t of [s.start, s.end, ...s.commands.map((c: Json) => c.ts)]) expect(Math.round(t * 1e6) / 1e6).toBe(t);
    }
    // The streamed writer produces exactly JSON.stringify(report, null, 2).
    expect([...reportJsonChunks(a)].join('')).toBe(JSON.stringify(r, null, 2));
  });
});

describe('NDJSON events', () => {
  it('one object per event with the report\'s shapes; commands and replies in order', async () => {
    const events: AnalysisEvent[] = [];
    const lines: string[] = [];
    const a = await analyzed('zeek/ipv4.pcap', {
      onEvent: (ev) => { events.push(ev); lines.push(JSON.stringify(eventToJson(ev))); },
    });
    const r = toReportJson(a) as Json;
    const objs = lines.map((l) => JSON.parse(l) as Json);
    expect(objs.every((o) => typeof o.type === 'string' && 'session' in o)).toBe(true);
    const cmdLines = objs.filter((o) => o.type === 'command').map((o) => [o.command.frame, o.command.verb, o.command.arg]);
    const reportCmds = r.sessions[0].commands.map((c: Json) => [c.frame, c.verb, c.arg]);
    expect(cmdLines).toEqual(reportCmds);
    const closes = objs.filter((o) => o.type === 'data-close').map((o) => o.dataConnection);
    expect(closes.map((d) => d.id).sort()).toEqual(r.sessions[0].dataConnections.map((d: Json) => d.id).sort());
    for (const d of closes) {
      expect(d).toEqual(r.sessions[0].dataConnections.find((x: Json) => x.id === d.id));
    }
    const replyLines = objs.filter((o) => o.type === 'reply');
    expect(replyLines.length).toBe(r.sessions[0].commands.reduce((n: number, c: Json) => n + c.replies.length, 0) +
      (r.sessions[0].unsolicitedReplies?.length ?? 0) + (r.sessions[0].greeting ? 1 : 0) -
      (r.sessions[0].unsolicitedReplies?.some((u: Json) => u.frame === r.sessions[0].greeting?.frame) ? 1 : 0));
  });

  it('masks PASS in command and reply events', async () => {
    const lines: string[] = [];
    await analyzed('suricata-verify/bug-3519/input.pcap', { onEvent: (ev) => lines.push(JSON.stringify(eventToJson(ev))) });
    const pass = lines.map((l) => JSON.parse(l) as Json).filter((o) => o.type === 'command' && o.command.verb === 'PASS');
    expect(pass.map((o) => o.command.arg)).toEqual(['****']);
  });
});

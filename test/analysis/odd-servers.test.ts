/**
 * Issue 14, points 1, 2, 3, 6 and 7 on the public captures named there, against zeek's and suricata-verify's
 * own expected outputs (captures/public/.../expected, test.yaml) and the exchanges as their authors wrote them.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { Analysis, AnalysisEvent, Session } from '../../src/model/types.js';
import { toReportJson, eventToJson } from '../../src/report/json.js';
import { renderReportText } from '../../src/report/text.js';
import { FindingList, findingsPane } from '../../src/tui/views/findings.js';
import { dcStatus, sessionRowText } from '../../src/tui/views/sessions.js';
import { readZeekLog } from '../helpers/zeek-log.js';
import { FtpAnalyzer } from '../../src/analysis/analyzer.js';
import { createConnection } from '../../src/tcp/connection.js';
import { controlStreams } from '../ftp/fixtures.js';
import { expectValidReport } from '../helpers/validate-report.js';

const PUB = 'captures/public';
const ZEEK = `${PUB}/zeek/expected`;

function replyOf(s: Session, verb: string): string[] {
  return s.commands.filter((c) => c.verb === verb).map((c) => c.replies.map((r) => `${r.code} ${r.text}`).join(' | '));
}

function codes(s: Session): string[] {
  return s.findings.map((f) => f.code);
}

/** The TSV tshark wrote for a capture (captures/tshark-fields.sh). */
function tshark(rel: string): Record<string, string>[] {
  const [head, ...rows] = readFileSync(`captures/expected/${rel}.tsv`, 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = head!.split('\t');
  return rows.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [cols[i], v])));
}

describe('1. a late greeting (zeek fake-server-delays-all.pcap)', async () => {
  const a = await analyzeFile(`${PUB}/zeek/fake-server-delays-all.pcap`);
  const s = a.sessions[0]!;
  // zeek's `output`: the requests in order, then the replies in order; the first reply is the greeting.
  const out = readFileSync(`${ZEEK}/scripts.base.protocols.ftp.ftp-max-pending-commands/output`, 'utf8').split('\n');
  const requests = out.filter((l) => l.startsWith('ftp_request')).map((l) => l.split(', ').slice(2));
  const replies = out.filter((l) => l.startsWith('ftp_reply')).map((l) => l.split(', ').slice(2));

  it('the 220 that came after the commands is the greeting', () => {
    expect(s.greeting).toMatchObject({ code: Number(replies[0]![0]), text: replies[0]![1] });
    expect(s.unsolicitedReplies).toEqual([]);
  });

  it('every command gets its own reply, in order (zeek ftp.log: USER 230, SYST 215)', () => {
    expect(s.commands.map((c) => [c.verb, c.arg ?? ''])).toEqual(requests.map(([v, arg]) => [v, arg ?? '']));
    expect(s.commands.map((c) => c.replies.map((r) => [String(r.code), r.text]))).toEqual(replies.slice(1).map((r) => [r]));
    for (const row of readZeekLog(`${ZEEK}/scripts.base.protocols.ftp.ftp-max-pending-commands/ftp.log`)) {
      expect(replyOf(s, row.command!)).toEqual([`${row.reply_code} ${row.reply_msg}`]);
    }
  });

  it('no false setup or data findings from a shifted pairing', () => {
    // Left: the PORT argument "114,115" really is no address, and neither is the 227's text.
    expect(codes(s)).not.toContain('data-connection-not-seen');
    expect(s.findings.find((f) => f.code === 'ftp-malformed-setup')?.message).not.toMatch(/reply to PASV has no usable address: "Fake response TYPE/);
    expect(s.unseenTransfers).toEqual([]);
  });
});

describe('2. a reply without a code', () => {
  for (const [name, verb] of [['missing', 'SYST'], ['invalid', 'PASV']] as const) {
    it(`zeek ftp-${name}-reply-code.pcap: the line answers ${verb} with a finding, QUIT gets the 221`, async () => {
      const a = await analyzeFile(`${PUB}/zeek/ftp-${name}-reply-code.pcap`);
      const s = a.sessions[0]!;
      const dir = `${ZEEK}/scripts.base.protocols.ftp.ftp-${name}-reply-code`;
      const bad = readZeekLog(`${dir}/analyzer.log`)[0]!;
      expect(bad.failure_reason).toBe('non-numeric reply code');
      const cmd = s.commands.find((c) => c.verb === verb)!;
      expect(cmd.replies).toEqual([]);
      expect(cmd.malformedReplies?.map((m) => m.text)).toEqual([bad.failure_data]);
      const f = s.findings.find((x) => x.code === 'ftp-malformed-reply')!;
      expect(f.message).toContain(`answered ${verb}`);
      expect(f.message).toContain(bad.failure_data);
      // zeek's ftp.log: USER and PASS as logged (zeek stops at the line it cannot read).
      for (const row of readZeekLog(`${dir}/ftp.log`).filter((r) => r.command === 'USER' || r.command === 'PASS')) {
        expect(replyOf(s, row.command!)).toEqual([`${row.reply_code} ${row.reply_msg}`]);
      }
      // What follows lands where its code fits (tshark: the QUIT and the 221).
      const rows = tshark(`public/zeek/ftp-${name}-reply-code.pcap`);
      const bye = rows.find((r) => r['ftp.response.code'] === '221')!;
      expect(s.commands.find((c) => c.verb === 'QUIT')!.replies.map((r) => [r.code, r.frame])).toEqual([[221, Number(bye['frame.number'])]]);
      expect(codes(s)).not.toContain('ftp-malformed-setup');
      expect(codes(s)).not.toContain('ftp-no-reply');
      expect(renderReportText(a)).toMatch(new RegExp(`${bad.failure_data}  \\(not an FTP reply\\)`));
      expectValidReport(toReportJson(a));
    });
  }

  it('suricata-verify bug-8489-03: three pipelined PWDs, one 257; CWD gets its 250', async () => {
    const a = await analyzeFile(`${PUB}/suricata-verify/bug-8489-03/bug-8489-03.pcap`);
    const s = a.sessions[0]!;
    // bug-8489-03.syn: the exchange as written.
    const syn = readFileSync(`${PUB}/suricata-verify/bug-8489-03/bug-8489-03.syn`, 'latin1');
    const sent = [...syn.matchAll(/^default > \(content:"(.*)";\);$/gm)].flatMap((m) => m[1]!.split('\\x0d\\x0a').filter((l) => l));
    const got = [...syn.matchAll(/^default < \(content:"(.*)";\);$/gm)].map((m) => m[1]!.replace(/\\x0d\\x0a$/, ''));
    expect(s.commands.map((c) => `${c.verb}${c.arg ? ' ' + c.arg : ''}`)).toEqual(sent);
    const pwds = s.commands.filter((c) => c.verb === 'PWD');
    expect(pwds.map((c) => c.replies.length)).toEqual([1, 0, 0]);
    expect(`${pwds[0]!.replies[0]!.code} ${pwds[0]!.replies[0]!.text}`).toBe(got.find((l) => l.startsWith('257')));
    const cwd = s.commands.find((c) => c.verb === 'CWD')!;
    expect(cwd.replies.map((r) => `${r.code} ${r.text}`)).toEqual([got.find((l) => l.startsWith('250'))]);
    expect(s.findings.find((f) => f.code === 'ftp-no-reply')!.message).toMatch(/^PWD, PWD got no reply before the server answered CWD/);
  });
});

describe('3. not FTP on another port (suricata-verify irc)', () => {
  it('IRC whose client opens with PASS and USER is no FTP session (test.yaml: no ftp flow)', async () => {
    const yaml = readFileSync(`${PUB}/suricata-verify/irc/test.yaml`, 'utf8');
    expect(yaml).toMatch(/count: 0\s+match:\s+event_type: flow\s+app_proto: ftp/);
    const a = await analyzeFile(`${PUB}/suricata-verify/irc/input.pcap`);
    expect(a.sessions).toEqual([]);
    expect(a.findings.map((f) => f.code)).not.toContain('cleartext-credentials');
  });

  /** The real control stream of zeek's ipv4.pcap without its greeting, on port 2121: the client speaks first. */
  function onPort2121(serverFirstLine: string | null): Analysis {
    const cs = controlStreams().find((x) => x.capture === 'zeek-ipv4')!;
    const s2c = cs.s2c.toString('latin1');
    const afterGreeting = s2c.slice(s2c.indexOf('\r\n') + 2);
    const an = new FtpAnalyzer({ sourceType: 'pcap', sourceName: 'edited' });
    const conn = createConnection(1, { ip: '141.142.220.235', port: 50003 }, { ip: '199.233.217.249', port: 2121 }, 1, 1);
    an.open(conn, 1, 1);
    const user = cs.c2s.subarray(0, cs.c2s.indexOf(0x0a) + 1);
    an.data(conn, 0, user, 0, user.length, 2, 2);
    if (serverFirstLine !== null) {
      const reply = Buffer.from(serverFirstLine === '' ? afterGreeting : serverFirstLine, 'latin1');
      an.data(conn, 1, reply, 0, reply.length, 3, 3);
    }
    conn.closeReason = 'fin';
    an.close(conn, 'fin', 4, 4);
    return an.finish();
  }

  it('the client\'s first command is confirmed by a well-formed reply from the server', () => {
    const a = onPort2121('');
    expect(a.sessions).toHaveLength(1);
    expect(a.sessions[0]!.commands[0]!.replies.map((r) => r.code)).toEqual([331]);
    expect(a.sessions[0]!.findings.find((f) => f.code === 'ftp-nonstandard-port')!.message).toMatch(/confirmed by the server's reply/);
  });

  it('an FTP-looking first command alone is not enough: a server that never answers, or answers otherwise, is no session', () => {
    expect(onPort2121(null).sessions).toEqual([]);
    expect(onPort2121(':irc.example.net NOTICE AUTH :*** Looking up your hostname\r\n').sessions).toEqual([]);
  });

  it('FTP on port 21 and --ftp-port is kept as it is, even unconfirmed', async () => {
    const a = await analyzeFile(`${PUB}/suricata-verify/irc/input.pcap`, { ftpPorts: [6667] });
    expect(a.sessions).toHaveLength(1);
  });
});

describe('6. findings of one code are one finding with a count (zeek ftp-many-port-expected.pcap.gz)', async () => {
  const events: AnalysisEvent[] = [];
  const a: Analysis = await analyzeFile(`${PUB}/zeek/ftp-many-port-expected.pcap.gz`, { onEvent: (e) => events.push(e) });
  const s = a.sessions[0]!;
  const rows = tshark('public/zeek/ftp-many-port-expected.pcap.gz');
  const ports = rows.filter((r) => r['ftp.request.command'] === 'PORT');
  const MAX_PENDING = 256; // FtpSession's bound on commands waiting for a reply

  it('one ftp-unanswered-commands finding counting every command past the bound, one port-address-mismatch counting every PORT', () => {
    expect(ports).toHaveLength(500);
    expect(s.findings.filter((f) => f.code === 'ftp-unanswered-commands')).toHaveLength(1);
    const unanswered = s.findings.find((f) => f.code === 'ftp-unanswered-commands')!;
    expect(unanswered.count).toBe(ports.length - MAX_PENDING);
    // The first and the last occurrence: the 257th and the 500th PORT.
    expect(unanswered.frame).toBe(Number(ports[MAX_PENDING]!['frame.number']));
    expect(unanswered.frames![unanswered.frames!.length - 1]).toBe(Number(ports[ports.length - 1]!['frame.number']));
    expect(unanswered.frames!.length).toBe(10);
    const mismatch = s.findings.find((f) => f.code === 'port-address-mismatch')!;
    expect(mismatch.count).toBe(ports.length);
    expect(mismatch.frame).toBe(Number(ports[0]!['frame.number']));
    expect(s.findings).toHaveLength(2);
  });

  it('nothing is dropped uncounted: every occurrence was announced as an event', () => {
    const announced = events.filter((e) => e.type === 'finding' && e.session === s);
    expect(announced.length).toBe(s.findings.reduce((n, f) => n + (f.count ?? 1), 0));
  });

  it('JSON, text and the dashboard show the counts', () => {
    const json = toReportJson(a) as { sessions: Array<{ findings: Array<Record<string, unknown>> }> };
    expectValidReport(json);
    expect(json.sessions[0]!.findings.map((f) => [f.code, f.count, (f.frames as number[]).length]))
      .toEqual([['port-address-mismatch', 500, 10], ['ftp-unanswered-commands', 244, 10]]);
    expect(renderReportText(a)).toMatch(/warning ftp-unanswered-commands ×244 {2}\[#\d+ .* … #\d+\]: /);
    const pane = findingsPane(new FindingList(a));
    expect(pane.title).toBe('Findings (2, 744 occurrences)');
    const texts = [0, 1].map((i) => pane.row(i).map((seg) => seg.text).join(''));
    expect(texts.some((t) => /ftp-unanswered-commands\s+×244 /.test(t))).toBe(true);
    expect(texts.some((t) => /port-address-mismatch\s+×500 /.test(t))).toBe(true);
    // NDJSON: each occurrence as it was found.
    const lines = events.filter((e) => e.type === 'finding').map((e) => eventToJson(e) as { finding: { code: string } });
    expect(lines.filter((l) => l.finding.code === 'ftp-unanswered-commands')).toHaveLength(244);
  });
});

describe('7. how a transfer ended apart from what the capture holds (zeek bigtransfer.pcap, pure-ftpd)', async () => {
  const a = await analyzeFile(`${PUB}/zeek/bigtransfer.pcap`);
  const s = a.sessions[0]!;
  const dc = s.dataConnections.find((d) => d.command?.verb === 'RETR')!;
  const files = readZeekLog(`${ZEEK}/core.tcp.large-file-reassembly/files.log`);

  it('226 and most bytes missing: ok per the peers, capture-gaps, no transfer-failed', () => {
    const zf = files.find((r) => r['id.resp_p'] === String(dc.server.port))!;
    expect(dc.missingBytes).toBe(Number(zf.missing_bytes));
    expect(dc.finalReply?.code).toBe(226);
    expect(dc.outcome).toBe('ok');
    expect(dc.complete).toBe(false);
    expect(codes(s)).toEqual(['capture-gaps']);
    expect(codes(s)).not.toContain('transfer-failed');
    expect(dcStatus(dc)).toMatchObject({ text: '✓ 226, capture missing 5.0 GiB', level: 1 });
    // The dashboard row keeps the whole status at 80 columns (it takes room from the label).
    const row = sessionRowText({ kind: 'data', key: 'd', session: s, dc }, 80);
    expect(row.map((seg) => seg.text).join('')).toHaveLength(80);
    expect(row[row.length - 1]).toMatchObject({ text: '✓ 226, capture missing 5.0 GiB', style: 'warn' });
    const json = toReportJson(a) as { sessions: Array<{ dataConnections: Array<Record<string, unknown>> }> };
    expect(json.sessions[0]!.dataConnections.map((d) => [d.outcome, d.gaps])).toEqual([['ok', 0], ['ok', 9]]);
  });

  it('a transfer the server answers with 426 and a reset is failed (captures/vsftpd-aborted.pcap)', async () => {
    const b = await analyzeFile('captures/vsftpd-aborted.pcap');
    const failed = b.sessions.flatMap((x) => x.dataConnections).filter((d) => d.finalReply?.code === 426);
    expect(failed.length).toBeGreaterThan(0);
    for (const d of failed) {
      expect(d.outcome).toBe('failed');
      expect(dcStatus(d).text).toMatch(/^x 426/);
    }
    const f = b.sessions.flatMap((x) => x.findings).filter((x) => x.code === 'transfer-failed');
    expect(f.length).toBeGreaterThan(0);
    expect(f.every((x) => x.severity === 'error' && /server replied 426/.test(x.message))).toBe(true);
  });
});

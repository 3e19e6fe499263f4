/**
 * Transfers whose announced data connection is not in the capture (suricata-verify bug-3519: the
 * capture holds only the control connection, with two PORT transfers answered 150/226) are kept
 * as facts and shown as rows of their own, never as a session without transfers. Expected values
 * come from tshark's decoding of the same capture (captures/expected/.../input.pcap.tsv).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { toReportJson } from '../../src/report/json.js';
import { renderReportText } from '../../src/report/text.js';
import { buildSessionRows, sessionRowText } from '../../src/tui/views/sessions.js';

const CAPTURE = 'captures/public/suricata-verify/bug-3519/input.pcap';

function tshark(): Array<Record<string, string>> {
  const [head, ...rows] = readFileSync(`captures/expected/public/suricata-verify/bug-3519/input.pcap.tsv`, 'utf8').trimEnd().split('\n');
  const names = head!.split('\t');
  return rows.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [names[i], v])));
}

describe('transfers whose data connection is not in the capture', async () => {
  const rows = tshark();
  // Each PORT announces h1,h2,h3,h4,p1,p2; the transfer command follows it.
  const ports = rows.filter((r) => r['ftp.request.command'] === 'PORT').map((r) => {
    const n = r['ftp.request.arg'].split(',').map(Number);
    return { ip: n.slice(0, 4).join('.'), port: n[4]! * 256 + n[5]! };
  });
  const transfers = rows.filter((r) => ['NLST', 'RETR'].includes(r['ftp.request.command']));
  const a = await analyzeFile(CAPTURE);
  const s = a.sessions[0]!;

  it('are facts of the session, with the announced endpoint and the command that used it', () => {
    expect(ports).toHaveLength(2);
    expect(new Set(rows.map((r) => r['frame.number'])).size).toBe(rows.length);
    expect(s.dataConnections).toHaveLength(0);
    expect(s.unseenTransfers.map((u) => ({ verb: u.command.verb, frame: u.command.frame, announced: u.announced, mode: u.mode, setup: u.setup })))
      .toEqual(transfers.map((t, i) => ({ verb: t['ftp.request.command'], frame: Number(t['frame.number']), announced: ports[i], mode: 'active', setup: 'PORT' })));
    const json = toReportJson(a) as { sessions: Array<{ unseenTransfers: Array<{ finalReply: { code: number } | null }> }> };
    expect(json.sessions[0]!.unseenTransfers.map((u) => u.finalReply?.code)).toEqual([226, 226]);
  });

  it('the text report says so under each command', () => {
    const text = renderReportText(a);
    for (const p of ports) expect(text).toContain(`data connection not in the capture: active PORT to ${p.ip}:${p.port}`);
  });

  it.each([80, 120])('the sessions list shows each as a row of its own at %i columns, and counts it as a transfer', (width) => {
    const list = buildSessionRows(a, '', { column: 'start', reverse: false });
    const unseen = list.filter((r) => r.kind === 'unseen');
    expect(unseen).toHaveLength(2);
    unseen.forEach((r, i) => {
      const text = sessionRowText(r, width).map((x) => x.text).join('');
      expect(text).toHaveLength(width);
      expect(text).toContain('not in capture');
      expect(text).toContain(`${ports[i]!.ip}:${ports[i]!.port}`);
      expect(text).toContain('226');
    });
    if (width >= 96) expect(sessionRowText(list[0]!, width).map((x) => x.text).join('')).toMatch(/ 2 +\d+ B/);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReportText, reportTextChunks } from '../../src/report/text.js';
import { SessionPiece } from '../../src/report/json.js';
import { analyzed, ALL_CAPTURES, ZEEK_EXPECTED } from './captures.js';

/** Index of the first line at or after `from` that satisfies `pred`, or -1. */
function findLine(lines: string[], from: number, pred: (l: string) => boolean): number {
  for (let i = from; i < lines.length; i++) if (pred(lines[i]!)) return i;
  return -1;
}

describe('text report', () => {
  it.each(ALL_CAPTURES)('%s: each session\'s commands in order, each data connection under its command', async (capture) => {
    const a = await analyzed(capture);
    const lines = renderReportText(a).split('\n');
    for (const s of a.sessions) {
      let at = findLine(lines, 0, (l) => l.startsWith(`Session ${s.id} `));
      expect(at, `session ${s.id} header`).toBeGreaterThanOrEqual(0);
      const commandLines: number[] = [];
      for (const c of s.commands) {
        const tag = c.frame !== null ? `#${c.frame}` : '';
        const next = findLine(lines, at + 1, (l) => /^\s+[+-]\d+\.\d{3} /.test(l) && l.includes(` ${c.verb}`) && l.includes(tag));
        expect(next, `${c.verb} ${tag} after line ${at}`).toBeGreaterThan(at);
        commandLines.push(next);
        at = next;
      }
      for (const dc of s.dataConnections) {
        const sessionStart = findLine(lines, 0, (l) => l.startsWith(`Session ${s.id} `));
        const dataLine = findLine(lines, sessionStart, (l) => l.trim().startsWith(`data #${dc.id} `));
        expect(dataLine, `data #${dc.id} of session ${s.id}`).toBeGreaterThan(sessionStart);
        if (!dc.command) continue;
        const ci = s.commands.findIndex((c) => c.frame === dc.command!.frame && c.verb === dc.command!.verb);
        expect(ci, `command of data #${dc.id}`).toBeGreaterThanOrEqual(0);
        expect(dataLine).toBeGreaterThan(commandLines[ci]!);
        if (ci + 1 < commandLines.length) expect(dataLine).toBeLessThan(commandLines[ci + 1]!);
        // indented deeper than the command line, with its facts
        expect(lines[dataLine]!.search(/\S/)).toBeGreaterThan(lines[commandLines[ci]!]!.search(/\S/));
        const block = lines.slice(dataLine, dataLine + 4).join('\n');
        expect(block).toContain(dc.mode ?? 'mode unknown');
        expect(block).toContain(`${dc.bytes} `);
        if (dc.complete && dc.sha256) expect(block).toContain(`sha256 ${dc.sha256}`);
        // Not complete: how the transfer ended (its peers' account), then what the capture lacks, apart.
        if (!dc.complete) expect(block).toMatch(dc.outcome === 'failed' ? /transfer FAILED: \S/ : /transfer (ok|unknown) /);
        if (!dc.complete && dc.missingBytes > 0) expect(block).toMatch(/capture missing \S+ \S+ in \d+ gaps?/);
      }
      for (const f of s.findings) expect(lines.some((l) => l.includes(f.code))).toBe(true);
    }
    for (const f of a.findings) expect(lines.some((l) => l.includes(f.code))).toBe(true);
  });

  it('masks PASS unless showPasswords', async () => {
    const a = await analyzed('suricata-verify/bug-3519/input.pcap');
    const pass = a.sessions.flatMap((s) => s.commands).find((c) => c.verb === 'PASS')!;
    expect(pass.arg).toBeTruthy();
    const masked = renderReportText(a);
    expect(masked).toMatch(/ PASS \*\*\*\*$/m);
    expect(masked).not.toContain(`PASS ${pass.arg}`);
    expect(renderReportText(a, { showPasswords: true })).toContain(`PASS ${pass.arg}`);
  });

  it('cuts lines to the width when one is given', async () => {
    const a = await analyzed('zeek/ipv6.pcap');
    for (const l of renderReportText(a, { width: 60 }).split('\n')) expect(Array.from(l).length).toBeLessThanOrEqual(60);
  });

  it('keeps how a transfer ended apart from what the capture lacks (bigtransfer.pcap: 226, most bytes not captured)', async () => {
    const a = await analyzed('zeek/bigtransfer.pcap');
    const text = renderReportText(a);
    // zeek's file_chunk events (expected/core.tcp.large-file-reassembly/out): where the capture holds bytes of the file.
    const chunks = readFileSync(`${ZEEK_EXPECTED}/core.tcp.large-file-reassembly/out`, 'utf8').split('\n')
      .map((l) => /^file_chunk, (\d+), (\d+),/.exec(l)).filter((m) => m !== null).map((m) => [Number(m![2]), Number(m![1])] as const)
      .filter(([off, len]) => off > 0 || len > 270); // the first chunk of 270 bytes is the LIST's
    let holes = 0;
    let end = 0;
    for (const [off, len] of chunks.sort((x, y) => x[0] - y[0])) {
      if (off > end) holes++;
      end = Math.max(end, off + len);
    }
    expect(holes).toBe(9);
    expect(text).toContain(`transfer ok (226); capture missing 5.04 GiB in ${holes} gaps`);
    expect(text).not.toContain('FAILED');
    const s = a.sessions[0]!;
    expect(s.findings.map((f) => f.code)).toEqual(['capture-gaps']);
    expect(s.findings[0]!.message).toContain(`5416642848 bytes of it in ${holes} gaps`);
  });
});

describe('text report of prerendered sessions (the spool, issue 18)', () => {
  it('a long session comes back in pieces: a character cut between two pieces is whole in the text', async () => {
    const a = await analyzed('zeek/ipv4.pcap');
    const session = Buffer.from('\nSession 1 … café ✓\n', 'utf8');
    // Cut inside the three bytes of "…" and inside the two of "é".
    const cuts = [session.indexOf('…') + 1, session.indexOf('é') + 1];
    const pieces = [session.subarray(0, cuts[0]), new SessionPiece(session.subarray(cuts[0], cuts[1])), new SessionPiece(session.subarray(cuts[1]))];
    const text = [...reportTextChunks(a, {}, { count: 1, dataConnections: 0, chunks: () => pieces })].join('');
    expect(text).toContain(session.toString('utf8'));
    expect(text).not.toContain('\ufffd');
  });
});

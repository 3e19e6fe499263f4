/**
 * Issue 18: report --json keeps a session's live state, not its history. On small versions of
 * bench:shapes' `commands` (one session, thousands of commands), `long` (many long sessions at
 * once) and `data-conns` (one session, thousands of data connections) shapes, the counters the
 * code exposes show the commands and the final data connections streamed to the spool as they
 * completed, the sessions holding a few of either at most, and the findings still there; the
 * document is the one the whole-session analysis renders.
 */
import { readdirSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { SpliceOptions } from '../../bench/capture-gen.js';
import { printReport, type ReportCounters } from '../../src/cli/report.js';
import { STREAM_COMMANDS_AFTER, STREAM_DATA_AFTER } from '../../src/analysis/analyzer.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { reportJsonPieces } from '../../src/report/json.js';
import { CWD_FRAMES, HELD_BOUND, shapeDir, TRANSFER_FRAMES, writeNatShape } from '../helpers/shapes.js';

const file = shapeDir('ftpscope-streaming-');

/** A capture of bench:shapes' kind (see bench/shapes.ts): the seed's frames [from, to) repeated. */
function shape(name: string, o: SpliceOptions): Promise<string> {
  return writeNatShape(file(`${name}.pcap`), o);
}

async function streamedReport(path: string, streamCommandsAfter?: number, streamDataConnectionsAfter?: number): Promise<{ text: string; counters: ReportCounters }> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (b: Buffer) => parts.push(Buffer.from(b))); // ChunkedWriter reuses its buffers
  const counters: ReportCounters = { commandsStreamed: 0, maxCommandsHeld: 0, bytesSpooled: 0 };
  await printReport({ files: [path], merged: false, name: path, ignored: [] }, {
    json: true, showPasswords: false, out, counters, streamCommandsAfter, streamDataConnectionsAfter,
  });
  return { text: Buffer.concat(parts).toString('utf8'), counters };
}

/** The document rendered from an analysis that kept every session and command whole. */
async function wholeReport(path: string): Promise<string> {
  const a = await analyzeFile(path);
  return [...reportJsonPieces(a, { showPasswords: false, graphs: false })].join('') + '\n';
}

describe('report --json streams commands to the spool as they complete (issue 18)', () => {
  it('one session of 5,000 commands (the commands shape): streamed past the default threshold, output unchanged', async () => {
    const path = await shape('commands', { ...CWD_FRAMES, reps: 5000, sessions: 1 });
    const { text, counters } = await streamedReport(path);
    const doc = JSON.parse(text) as { sessions: { commands: unknown[] }[] };
    const listed = doc.sessions.reduce((n, s) => n + s.commands.length, 0);
    expect(listed).toBeGreaterThan(5000);
    // The long session's commands all went through the spool once it passed the threshold.
    expect(counters.commandsStreamed).toBeGreaterThan(5000);
    expect(counters.maxCommandsHeld).toBeGreaterThan(STREAM_COMMANDS_AFTER);
    expect(counters.maxCommandsHeld).toBeLessThan(STREAM_COMMANDS_AFTER + HELD_BOUND);
    expect(text === await wholeReport(path)).toBe(true);
  });

  it('sessions shorter than the threshold are not streamed (the scenarios)', async () => {
    const { counters } = await streamedReport('captures/scenarios/13-zero-window.pcap');
    expect(counters.commandsStreamed).toBe(0);
  });

  it('one session of 5,000 commands, streamed from the first: a few held, output unchanged', async () => {
    const path = await shape('commands0', { ...CWD_FRAMES, reps: 5000, sessions: 1 });
    const { text, counters } = await streamedReport(path, 0);
    const doc = JSON.parse(text) as { sessions: { commands: unknown[] }[] };
    const listed = doc.sessions.reduce((n, s) => n + s.commands.length, 0);
    expect(listed).toBeGreaterThan(5000);
    // Every command went through the spool (the pending ones at the end too), none was held to the end.
    expect(counters.commandsStreamed).toBe(listed);
    expect(counters.bytesSpooled).toBeGreaterThan(listed * 100);
    expect(counters.maxCommandsHeld).toBeLessThan(HELD_BOUND);
    expect(text === await wholeReport(path)).toBe(true);
  });

  it('40 long sessions at once (the long shape), streamed from the first: a few held each, findings present, output unchanged', async () => {
    const path = await shape('long', { ...TRANSFER_FRAMES, reps: 30, sessions: 40 });
    const { text, counters } = await streamedReport(path, 0);
    const doc = JSON.parse(text) as { sessions: { commands: unknown[]; findings: { code: string; count?: number }[] }[] };
    const listed = doc.sessions.reduce((n, s) => n + s.commands.length, 0);
    expect(doc.sessions.filter((s) => s.commands.length > 100)).toHaveLength(40);
    expect(counters.commandsStreamed).toBe(listed);
    expect(counters.maxCommandsHeld).toBeLessThan(HELD_BOUND);
    // The session's findings are folded per code: the PASV behind NAT is there once, with its count.
    const long = doc.sessions.find((s) => s.commands.length > 100)!;
    const nat = long.findings.find((f) => f.code === 'pasv-address-mismatch');
    expect(nat?.count).toBeGreaterThanOrEqual(30);
    expect(text === await wholeReport(path)).toBe(true);
  });

  it('one session of 3,000 data connections (the data-conns shape): the final ones streamed past the threshold, output unchanged', async () => {
    const path = await shape('data-conns', { ...TRANSFER_FRAMES, reps: 3000, sessions: 1 });
    const { text, counters } = await streamedReport(path);
    const doc = JSON.parse(text) as { sessions: { dataConnections: { id: number; sha256: string | null }[]; findings: { code: string; count?: number }[] }[] };
    const long = doc.sessions.find((s) => s.dataConnections.length > 100)!;
    const n = long.dataConnections.length;
    expect(n).toBeGreaterThanOrEqual(3000);
    // In id order, none lost or repeated, though most were written before the session ended.
    expect(long.dataConnections.map((dc) => dc.id)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    // All but the last few hundred went through the spool; the session never held more than the threshold and one.
    expect(counters.dataConnectionsStreamed).toBeGreaterThan(3000 - STREAM_DATA_AFTER);
    expect(counters.maxDataConnectionsHeld).toBeLessThanOrEqual(STREAM_DATA_AFTER + 1);
    // The diagnosis still sees the PASV behind NAT on every transfer (a finding per session, with its count).
    expect(long.findings.find((f) => f.code === 'pasv-address-mismatch')?.count).toBeGreaterThanOrEqual(3000);
    expect(text === await wholeReport(path)).toBe(true);
  });

  it('data connections streamed from the first final one: a few held at once, output unchanged', async () => {
    const path = await shape('data-conns0', { ...TRANSFER_FRAMES, reps: 500, sessions: 2 });
    const { text, counters } = await streamedReport(path, 0, 0);
    expect(counters.dataConnectionsStreamed).toBeGreaterThan(900);
    expect(counters.maxDataConnectionsHeld).toBeLessThan(HELD_BOUND);
    expect(text === await wholeReport(path)).toBe(true);
  });

  // The diagnosis reads facts gathered as the commands complete (CommandFacts) and the streamed data
  // connections a rule can still use (keptForDiagnosis): on the diagnosis lab's recorded failures,
  // every finding and every byte is what the whole-session analysis gives.
  const scenarios = readdirSync('captures/scenarios').filter((f) => /\.pcap(ng)?$/.test(f)).sort();
  it.each(scenarios)('scenario %s: the streamed document is the whole-session one', async (name) => {
    const path = `captures/scenarios/${name}`;
    const { text, counters } = await streamedReport(path, 0, 0);
    expect(counters.maxCommandsHeld).toBeLessThan(HELD_BOUND);
    expect(text === await wholeReport(path)).toBe(true);
  });
});

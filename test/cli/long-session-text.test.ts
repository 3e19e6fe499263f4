/**
 * Issue 18: `flow` and `report` (text) on one long session (bench:shapes' `commands` shape,
 * small): the ladder and the session's text go to the spool a line at a time and come back in
 * pieces (they are longer than a read), and what is printed is what renderLadder and
 * renderReportText make of the whole session.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CWD_FRAMES, shapeDir, writeNatShape } from '../helpers/shapes.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { renderLadder } from '../../src/report/ladder.js';
import { renderReportText } from '../../src/report/text.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const file = shapeDir('ftpscope-flow-long-');

function longSession(): Promise<string> {
  return writeNatShape(file('commands.pcap'), { ...CWD_FRAMES, reps: 30_000, sessions: 1 });
}

describe('flow and report on a long session', () => {
  it('30,000 commands: the printed ladder is the whole session\'s, though it reaches the spool and comes back in pieces', async () => {
    const path = await longSession();
    const r = spawnSync(process.execPath, [MAIN, 'flow', path, '--width', '100'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const a = await analyzeFile(path);
    const expected = a.sessions.map((s) => renderLadder(s, { width: 100 }).map((l) => l.text).join('\n')).join('\n\n') + '\n';
    // Longer than the spool's reads (1 MiB): the pieces had to be put back together.
    expect(r.stdout.length).toBeGreaterThan(3 << 20);
    expect(r.stdout.split('\n').length).toBe(expected.split('\n').length);
    expect(r.stdout === expected).toBe(true);
  });

  it('30,000 commands: the text report is the whole session\'s, though it reaches the spool and comes back in pieces', async () => {
    const path = await longSession();
    const r = spawnSync(process.execPath, [MAIN, 'report', path], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const expected = renderReportText(await analyzeFile(path));
    expect(r.stdout.length).toBeGreaterThan(2 << 20);
    expect(r.stdout.split('\n').length).toBe(expected.split('\n').length);
    expect(r.stdout === expected).toBe(true);
  });
});

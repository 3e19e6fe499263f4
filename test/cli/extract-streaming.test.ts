/**
 * Issue 18: extract keeps a session's live state, not its command history. On a small version of
 * bench:shapes' `long` shape (long sessions of PASV, TYPE, SIZE, RETR over a data connection), the
 * streaming counters show each session's commands forgotten as they completed, and its final data
 * connections accounted for and let go past the threshold; the files and the index are those of a
 * run that kept everything (a display filter, which may ask about the session, keeps them).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STREAM_COMMANDS_AFTER, STREAM_DATA_AFTER, type StreamingCounters } from '../../src/analysis/analyzer.js';
import { extractFiles } from '../../src/cli/extract.js';
import { displayFilterArg } from '../../src/cli/report.js';
import { HELD_BOUND, shapeDir, TRANSFER_FRAMES, writeNatShape } from '../helpers/shapes.js';

const file = shapeDir('ftpscope-extract-streaming-');

describe('extract forgets commands as they complete (issue 18)', () => {
  it('two sessions of 2,400 commands and 600 transfers each: a few hundred commands held, the same files and index', async () => {
    const path = await writeNatShape(file('long.pcap'), { ...TRANSFER_FRAMES, reps: 600, sessions: 2 });
    const capture = { files: [path], merged: false, name: path, ignored: [] };

    const counters: StreamingCounters = { commandsStreamed: 0, maxCommandsHeld: 0 };
    const streamed = await extractFiles(capture, { out: file('streamed') }, counters);
    expect(counters.commandsStreamed).toBeGreaterThan(2 * 2000);
    expect(counters.maxCommandsHeld).toBeLessThan(STREAM_COMMANDS_AFTER + HELD_BOUND);
    // 601 data connections per session: those past the threshold went before their session ended.
    expect(counters.dataConnectionsStreamed).toBeGreaterThan(2 * (601 - STREAM_DATA_AFTER));
    expect(counters.maxDataConnectionsHeld).toBeLessThanOrEqual(STREAM_DATA_AFTER + 1);

    const keptCounters: StreamingCounters = { commandsStreamed: 0, maxCommandsHeld: 0 };
    const kept = await extractFiles(capture, { out: file('kept'), displayFilter: displayFilterArg('ftp') }, keptCounters);
    expect(keptCounters.commandsStreamed).toBe(0);
    expect(keptCounters.dataConnectionsStreamed ?? 0).toBe(0);

    expect(streamed.files.length).toBeGreaterThan(1000);
    expect(streamed).toEqual(kept);
    const names = readdirSync(file('streamed')).sort();
    expect(names).toEqual(readdirSync(file('kept')).sort());
    for (const name of names) {
      expect(readFileSync(join(file('streamed'), name)).equals(readFileSync(join(file('kept'), name))), name).toBe(true);
    }
  });
});

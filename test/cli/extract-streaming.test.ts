/**
 * Issue 18: extract keeps a session's live state, not its command history. On a small version of
 * bench:shapes' `long` shape (long sessions of PASV, TYPE, SIZE, RETR over a data connection), the
 * streaming counters show each session's commands forgotten as they completed, and its final data
 * connections accounted for and let go past the threshold; the files and the index are those of a
 * run that kept everything (a display filter, which may ask about the session, keeps them).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSpliced } from '../../bench/capture-gen.js';
import { STREAM_COMMANDS_AFTER, STREAM_DATA_AFTER, type StreamingCounters } from '../../src/analysis/analyzer.js';
import { extractFiles } from '../../src/cli/extract.js';
import { displayFilterArg } from '../../src/cli/report.js';

const NAT = 'captures/vsftpd-pasv-nat-ipv4.pcap';
/** What a session holds at most past the threshold: the commands of the chunk just read, awaiting their replies. */
const HELD_BOUND = 16;

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ftpscope-extract-streaming-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('extract forgets commands as they complete (issue 18)', () => {
  it('two sessions of 2,400 commands and 600 transfers each: a few hundred commands held, the same files and index', async () => {
    const path = join(dir, 'long.pcap');
    // frames 16-34 of the seed: PASV (a NAT'd address), TYPE, SIZE, RETR over a data connection, 226
    await writeSpliced(path, NAT, { from: 15, to: 34, reps: 600, sessions: 2, dataPort: 57476 });
    const capture = { files: [path], merged: false, name: path, ignored: [] };

    const counters: StreamingCounters = { commandsStreamed: 0, maxCommandsHeld: 0 };
    const streamed = await extractFiles(capture, { out: join(dir, 'streamed') }, counters);
    expect(counters.commandsStreamed).toBeGreaterThan(2 * 2000);
    expect(counters.maxCommandsHeld).toBeLessThan(STREAM_COMMANDS_AFTER + HELD_BOUND);
    // 601 data connections per session: those past the threshold went before their session ended.
    expect(counters.dataConnectionsStreamed).toBeGreaterThan(2 * (601 - STREAM_DATA_AFTER));
    expect(counters.maxDataConnectionsHeld).toBeLessThanOrEqual(STREAM_DATA_AFTER + 1);

    const keptCounters: StreamingCounters = { commandsStreamed: 0, maxCommandsHeld: 0 };
    const kept = await extractFiles(capture, { out: join(dir, 'kept'), displayFilter: displayFilterArg('ftp') }, keptCounters);
    expect(keptCounters.commandsStreamed).toBe(0);
    expect(keptCounters.dataConnectionsStreamed ?? 0).toBe(0);

    expect(streamed.files.length).toBeGreaterThan(1000);
    expect(streamed).toEqual(kept);
    const names = readdirSync(join(dir, 'streamed')).sort();
    expect(names).toEqual(readdirSync(join(dir, 'kept')).sort());
    for (const name of names) {
      expect(readFileSync(join(dir, 'streamed', name)).equals(readFileSync(join(dir, 'kept', name))), name).toBe(true);
    }
  });
});

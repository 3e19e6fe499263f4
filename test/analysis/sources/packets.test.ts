/**
 * streamPackets (`ftpscope packets` without -Y) hands every packet on in bounded memory: the
 * packet table forgets each session once it is final, its rows are handed on, and its
 * connections can take no more packets. Counted with the table's own counters, not RSS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate, loadSeed } from '../../../bench/capture-gen.js';
import { streamPackets } from '../../../src/analysis/sources/packets.js';

const dir = mkdtempSync(join(tmpdir(), 'ftpscope-stream-packets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('streamPackets on many sessions one after another', () => {
  it('hands on every packet in order while holding the connections of a few sessions only', async () => {
    const file = join(dir, 'sessions.pcap');
    // The zeek ipv4 session (one control connection, 4 data connections, 39 s), 200 times in a row.
    const g = generate(file, [await loadSeed('zeek/ipv4.pcap')], { rounds: 200 });
    expect(g.sessions).toBe(200);
    const counters = { maxConnectionsHeld: 0 };
    const frames: number[] = [];
    const sessions = new Set<number>();
    await streamPackets({ files: [file], merged: false, name: file, ignored: [] }, {
      counters,
      onPacket: (f) => {
        frames.push(f.frame);
        if (f.session !== null) sessions.add(f.session);
      },
    });
    expect(frames.length).toBe(200 * 95);
    expect(frames.every((f, i) => f === i + 1)).toBe(true);
    expect(sessions.size).toBe(200);
    // 1000 connections in all; the table holds those of the sessions within two linger times (120 s) of packet time.
    expect(counters.maxConnectionsHeld).toBeGreaterThan(0);
    expect(counters.maxConnectionsHeld).toBeLessThan(50);
  });
});

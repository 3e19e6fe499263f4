/**
 * streamPackets (`ftpscope packets`) hands every packet on in bounded memory: the packet table
 * forgets each session once it is final, its rows are handed on, and its connections can take no
 * more packets (counted with the table's own counters, not RSS); and a row is handed on only once
 * its facts are final, so it reads as the whole analysis does.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generate, loadSeed } from '../../../bench/capture-gen.js';
import { analyzePackets, streamPackets } from '../../../src/analysis/sources/packets.js';
import { packetToJson } from '../../../src/report/packet-fields.js';
import type { PacketFact } from '../../../src/model/packet-facts.js';

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

/** A packet's facts as `packets --json` prints them, and the commands and replies it completed. */
function facts(p: PacketFact, firstTs: number): string {
  const meaning = p.meaning?.kind === 'control'
    ? p.meaning.lines.map((l) => (l.kind === 'command' ? `${l.command.verb} ${l.command.arg ?? ''}` : `${l.reply.code} ${l.reply.text}`))
    : p.meaning;
  return JSON.stringify({ ...packetToJson(p, { firstTs }), meaning });
}

describe('streamPackets agrees with the whole analysis on every bundled capture', () => {
  const ROOT = join(import.meta.dirname, '..', '..', '..');
  const captures = readdirSync(join(ROOT, 'captures'), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.pcap(ng)?$/.test(f)).map((f) => join('captures', f)).sort();

  it.each(captures)('%s: every packet, the same facts, whether handed on as read or after the end', async (rel) => {
    const file = join(ROOT, rel);
    const inputs = { files: [file], merged: false, name: file, ignored: [] };
    const whole = await analyzePackets(inputs);
    const expected = [...whole.packets()].map((p) => facts(p, whole.start));
    const streamed: string[] = [];
    await streamPackets(inputs, { onPacket: (p, firstTs) => { streamed.push(facts(p, firstTs)); } });
    expect(streamed.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(streamed[i], `packet ${i + 1}`).toBe(expected[i]);
  });
});

/**
 * The dashboard over a set of captures: packets are numbered globally, and the layers and hex
 * panes re-read each packet from the file it is in (loadCaptures' frame reader). The set is
 * captures/multi/roles (control connections in one file, data connections in another, overlapping
 * all the time); expected values are tshark's, reading each file alone and mergecap's merge.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCaptures, type CapturesLoad } from '../../src/analysis/sources/files.js';
import { resolveCaptureInputs } from '../../src/capture/inputs.js';
import type { Analysis } from '../../src/model/types.js';
import { makePacketLoader } from '../../src/tui/packet-detail.js';
import { openHarness, type Harness } from './harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const SET = 'captures/multi/roles';
const EXP = join(ROOT, 'captures/expected/multi');

function tsv(name: string): string[][] {
  return readFileSync(join(EXP, name), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t'));
}
const us = (t: string | number): string => Number(t).toFixed(6);
const perFile = new Map(tsv('roles.per-file.tsv').map((r) => [`${r[0]}#${r[1]}`, r]));
const merged = new Map(tsv('roles.merged.tsv').map((r) => [Number(r[0]), r]));

let load: CapturesLoad;
let a: Analysis;
beforeAll(async () => {
  load = loadCaptures(resolveCaptureInputs([join(ROOT, SET)]));
  a = await load.analysis;
});

let h: Harness | null = null;
afterEach(async () => { await h?.close(); h = null; });

describe('dashboard on a set of captures', () => {
  it('every packet of every session is re-read from its own file: tshark\'s time and offset there, mergecap\'s global frame', async () => {
    let n = 0;
    const files = new Set<string>();
    for (const s of a.sessions) {
      const list = s.packets!;
      for (let i = 0; i < list.count; i++) {
        const fact = list.at(i);
        const rec = await load.readFrame(fact.frame, fact.fileOffset);
        const where = `${basename(rec.origin!.file)}#${rec.origin!.frame}`;
        const row = perFile.get(where);
        expect(row, `frame ${fact.frame}`).toBeDefined();
        expect([rec.frame, us(rec.ts), rec.wirelen, fact.fileOffset], `frame ${fact.frame} (${where})`)
          .toEqual([fact.frame, us(row![2]!), Number(row![3]), Number(row![4])]);
        expect(us(merged.get(fact.frame)![1]!)).toBe(us(rec.ts));
        files.add(basename(rec.origin!.file));
        n++;
      }
    }
    expect(n).toBeGreaterThan(300);
    expect(files).toEqual(new Set(['control.pcapng', 'data.pcap']));
  });

  it('layers name the file and the frame in it: a control packet from control.pcapng, a data packet from data.pcap', async () => {
    h = await openHarness({ title: 'roles', live: false, snapshot: () => a, loadPacket: makePacketLoader(load.readFrame) }, 160, 50);
    // The first session's control connection: its packets come from control.pcapng.
    await h.press('enter', '4', '/');
    await h.type('Capture file');
    await h.press('enter');
    expect(h.selected()!.text).toMatch(/Capture file: .*captures\/multi\/roles\/control\.pcapng/);
    const frame = h.run.dashboard.frame!;
    const local = /Frame number in that file: (\d+)/.exec(h.screen())![1]!;
    const row = perFile.get(`control.pcapng#${local}`)!;
    expect(us(row[2]!)).toBe(us(merged.get(frame)![1]!));
    expect(h.screen()).toContain(`Layers — frame ${frame} `);
    await h.press('escape', 'escape', 'escape');
    // Its first data connection (the STOR of session 1): the data connection's packets are in data.pcap.
    await h.press('g', 'down', 'enter', '4', '/');
    await h.type('Capture file');
    await h.press('enter');
    expect(h.selected()!.text).toMatch(/Capture file: .*captures\/multi\/roles\/data\.pcap/);
    const dataFrame = h.run.dashboard.frame!;
    const dataLocal = /Frame number in that file: (\d+)/.exec(h.screen())![1]!;
    expect(us(perFile.get(`data.pcap#${dataLocal}`)![2]!)).toBe(us(merged.get(dataFrame)![1]!));
  });
});

/**
 * The graphs view and the packets view's analysis marks, on a real blessed screen (PassThrough
 * streams, fixed size), on a recorded capture where a client stops reading for 5 s.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analysisOf, fileSource, openHarness, type Harness } from './harness.js';
import { graphsOf, connectionPackets } from '../../src/tui/views/graphs.js';

/** Relative to captures/public/ (the harness' root). */
const STALLED = '../tcp/tcp-stalled.pcap';

let h: Harness | null = null;
afterEach(async () => { await h?.close(); h = null; });

async function open(cols: number, rows: number, opts: { noColor?: boolean } = {}): Promise<Harness> {
  h = await openHarness(fileSource(STALLED, await analysisOf(STALLED)), cols, rows, opts);
  return h;
}

function cursorFrame(t: Harness): number {
  const m = /cursor ▶ frame (\d+)/.exec(t.screen());
  expect(m, t.screen()).not.toBeNull();
  return Number(m![1]);
}

describe('graphs view', () => {
  it.each([[false], [true]])('draws the time–sequence and throughput graphs with markers that read without colour (NO_COLOR %s)', async (noColor) => {
    const t = await open(120, 40, { noColor });
    await t.press('enter', '8');
    const text = t.screen();
    expect(text).toMatch(/Graphs — session 1, D1 RETR \/pub\/file-256KiB\.bin \(\d+ packets\)/);
    expect(text).toContain('⣿ data, ─ ACK, ┄ receive window, R retransmission, Z zero window');
    expect(text).toMatch(/[\u2801-\u28ff]/); // braille data dots
    expect(text).toMatch(/─{10,}/); // the ACK line, flat through the stall
    expect(text).toMatch(/Z/); // zero-window ACKs on it
    expect(text).toMatch(/throughput: peak [\d.]+ [KM]iB\/s/);
    expect(text).toMatch(/[▁▂▃▄▅▆▇█]/);
    // what limited each stretch: the receiver through the 5 s stall
    const strip = t.lines().find((l) => /^ +limited /.test(l))!;
    expect(strip).toMatch(/R{40,}/);
    expect(text).toContain('limited by: R receiver, L loss, W window, S sender');
    expect(text).toMatch(/TCP: 256 KiB in [\d.]+ s .*zero window 1× [\d.]+ s; 1 stall/);
    if (noColor) expect(t.written()).not.toMatch(/\x1b\[3[1-7]m/);
  });

  it('the cursor walks the time axis and selects the packet nearest it; e jumps to flagged packets; Enter shows it in Packets', async () => {
    const t = await open(120, 40);
    await t.press('enter', '8');
    const a = await analysisOf(STALLED);
    const s = a.sessions[0]!;
    const dc = s.dataConnections[0]!;
    const packets = connectionPackets(s, dc);
    // the view's own geometry: 120 columns, the body less the title
    const g = graphsOf({ session: s, dc, packets, cursor: 0, frame: null }, 120, 37);
    const first = cursorFrame(t);
    for (let i = 0; i < 30; i++) await t.press('right');
    const col = 30 + (g.columns[g.frames.indexOf(first)] ?? 0);
    expect(cursorFrame(t)).toBe(packets[g.nearest[Math.min(col, g.nearest.length - 1)]!]!.frame);
    await t.press('a');
    const flagged = cursorFrame(t);
    expect(t.screen()).toMatch(new RegExp(`cursor ▶ frame ${flagged} .*\\[[A-Z ,#0-9-]+\\]`));
    expect(packets.find((p) => p.frame === flagged)!.analysis!.flags).not.toBe(0);
    await t.press('enter');
    expect(t.screen()).toMatch(/Packets — session 1/);
    expect(t.selected()!.text).toMatch(new RegExp(`^▶ +${flagged} `));
  });
});

describe('packets view marks analysis flags', () => {
  it('a tag column (RETX, DUP ACK #n, ZERO WIN, KEEP-ALIVE) and a / A walk the flagged packets', async () => {
    const t = await open(160, 50);
    await t.press('enter', '3');
    expect(t.screen()).toMatch(/No\. +Time +Conn +Dir +Flags +Len +Analysis +Summary/);
    const a = await analysisOf(STALLED);
    const list = a.sessions[0]!.packets!;
    const flagged: number[] = [];
    for (let i = 0; i < list.count; i++) if (list.at(i).analysis && list.at(i).analysis!.flags !== 0) flagged.push(list.at(i).frame);
    expect(flagged.length).toBeGreaterThan(3);
    await t.press('a');
    expect(t.selected()!.text).toMatch(new RegExp(`^▶ +${flagged[0]} `));
    await t.press('a', 'a');
    const third = t.selected()!.text;
    expect(third).toMatch(new RegExp(`^▶ +${flagged[2]} `));
    expect(third).toMatch(/ (RETX|SPURIOUS|DUP ACK #\d+|ZERO WIN|KEEP-ALIVE|WIN UPDATE|WIN FULL|LOST|OOO)/);
    await t.press('A');
    expect(t.selected()!.text).toMatch(new RegExp(`^▶ +${flagged[1]} `));
    // a flagged row is styled apart (bold, with colour), an ordinary one is not bold
    const row = t.rowOf(new RegExp(`^ +${flagged[2]} `));
    expect(row).toBeGreaterThan(0);
  });
});

import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import type { PacketRecord } from '../../src/capture/types.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import { CAPTURES, openHarness } from './harness.js';
import type { DashboardSource } from '../../src/tui/dashboard.js';

async function records(rel: string): Promise<PacketRecord[]> {
  const out: PacketRecord[] = [];
  await readCapture(CAPTURES + rel, (rec) => {
    out.push({ ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0 });
  });
  return out;
}

const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Wait until the screen shows something (the dashboard redraws on its own timer), up to 5 s. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !cond(); i++) await wait(20);
}

describe('live dashboard (a pipeline fed real packets while the screen runs)', () => {
  it('follows the newest session, keeps a selection pinned to its item, pauses with a pending count', async () => {
    const v4 = await records('zeek/ipv4.pcap');
    const v6 = await records('zeek/ipv6.pcap');
    // frames continue across the two captures as one live source would number them
    // and times, so the IPv6 session starts after the IPv4 one
    const shift = v4[v4.length - 1].ts + 1 - v6[0].ts;
    v6.forEach((r, i) => { r.frame = v4.length + i + 1; r.ts += shift; });
    const pipeline = new Pipeline({ keepPackets: true, maxPacketsPerSession: 1000 }, { type: 'live', name: 'test' });
    const source: DashboardSource = { title: 'live test', live: true, snapshot: () => pipeline.snapshot(), waiting: 'waiting for the first FTP session on lv0' };
    const t = await openHarness(source, 100, 30);

    expect(t.screen()).toContain('● LIVE');
    // A live source says what it waits for, not that the capture had none.
    expect(t.screen()).toContain('waiting for the first FTP session on lv0');
    expect(t.screen()).not.toContain('no FTP sessions found');
    for (const r of v4.slice(0, 20)) pipeline.push(r);
    await until(() => t.screen().includes('1 sessions'));
    expect(t.screen()).toContain('1 sessions');
    expect(t.screen()).toContain('[following]');
    for (const r of v4.slice(20)) pipeline.push(r);
    for (const r of v6.slice(0, 10)) pipeline.push(r);
    await until(() => t.screen().includes('2 sessions'));
    // following: the newest session (the IPv6 one) is selected
    expect(t.selected()!.text).toMatch(/\[[0-9a-f]+:[0-9a-f:]+/);

    // moving away stops following; the selection stays on its item while rows are added
    await t.press('g');
    const pinned = t.selected()!.text;
    expect(pinned).toContain('141.142.220.235');
    expect(t.screen()).not.toContain('[following]');
    for (const r of v6.slice(10, 60)) pipeline.push(r);
    await until(() => t.screen().includes(`${v4.length + 60} packets`));
    expect(t.selected()!.text).toContain('141.142.220.235');

    // pause: the screen stops changing and counts what is pending
    await t.press('p');
    const body = (): string => t.lines().slice(1).join('\n');
    const before = body();
    for (const r of v6.slice(60, 100)) pipeline.push(r);
    await until(() => t.screen().includes('40 packets pending'));
    expect(t.screen()).toContain('PAUSED, 40 packets pending');
    expect(body()).toBe(before);
    await t.press('p');
    await until(() => !t.screen().includes('PAUSED'));
    expect(t.screen()).not.toContain('PAUSED');
    expect(t.screen()).toContain(`${v4.length + 100} packets`);

    // G resumes following
    await t.press('G');
    expect(t.screen()).toContain('[following]');
    for (const r of v6.slice(100)) pipeline.push(r);
    await until(() => t.screen().includes(`${v4.length + v6.length} packets`));
    expect(t.selected()!.text).toMatch(/\[[0-9a-f]+:[0-9a-f:]+|└/);
    await t.close();
  });

  it('trouble as it happens (drops) is in the status line, over the hints, until it is over; a key\'s message comes first', async () => {
    const pipeline = new Pipeline({ keepPackets: true }, { type: 'live', name: 'test' });
    let notice: string | null = null;
    const source: DashboardSource = { title: 'live test', live: true, snapshot: () => pipeline.snapshot(), notice: () => notice };
    const t = await openHarness(source, 100, 30);
    const status = (): string => t.lines().at(-1)!;
    expect(status()).toContain('Enter open');
    notice = '! the kernel has dropped 6 packets on lv0 so far';
    await until(() => status().includes('dropped 6'));
    expect(status()).toContain('! the kernel has dropped 6 packets on lv0 so far');
    await t.press('s'); // a key's message (the sort) is shown over it
    expect(status()).toContain('sorted by');
    notice = null;
    await t.press('s');
    await until(() => !status().includes('dropped'));
    expect(status()).not.toContain('dropped');
    await t.close();
  });
});

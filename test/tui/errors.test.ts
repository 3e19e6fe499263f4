import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readFrame } from '../../src/capture/open.js';
import { startDashboard } from '../../src/tui/app.js';
import { makePacketLoader } from '../../src/tui/packet-detail.js';
import { analysisOf, openHarness } from './harness.js';

describe('dashboard under errors', () => {
  it('a packet that cannot be re-read is a one-line message in the layers pane, and the dashboard goes on', async () => {
    const a = await analysisOf('zeek/ipv4.pcap');
    const gone = '/nonexistent/ipv4.pcap';
    const t = await openHarness({ title: gone, live: false, snapshot: () => a,
      loadPacket: makePacketLoader(async (f, o) => (await readFrame(gone, f, o)).rec) }, 80, 24);
    await t.press('enter', '4');
    expect(t.screen()).toMatch(/frame 1: .*nonexistent\/ipv4\.pcap/);
    await t.press('escape', 'j');
    expect(t.run.dashboard.screen).toBe('session');
    await t.close();
  });

  it('an exception inside the dashboard restores the terminal before it is reported', async () => {
    const a = await analysisOf('zeek/ipv4.pcap');
    let calls = 0;
    const input = new PassThrough();
    const output = Object.assign(new PassThrough(), { columns: 80, rows: 24, isTTY: true });
    let written = '';
    output.on('data', (d: Buffer) => { written += d.toString('latin1'); });
    const run = startDashboard({ title: 'failing', live: true, snapshot: () => {
      if (++calls > 2) throw new Error('snapshot broke');
      return a;
    } }, { input, output, refreshMs: 10 });
    await expect(run.closed).rejects.toThrow('snapshot broke');
    expect(written.lastIndexOf('\x1b[?1049l')).toBeGreaterThan(written.lastIndexOf('\x1b[?1049h'));
  });

  it('a terminal that fails to write (closed under it) ends the dashboard without writing to it again', async () => {
    const a = await analysisOf('zeek/ipv4.pcap');
    const input = new PassThrough();
    const output = Object.assign(new PassThrough(), { columns: 80, rows: 24, isTTY: true });
    let written = '';
    output.on('data', (d: Buffer) => { written += d.toString('latin1'); });
    const run = startDashboard({ title: 'hangup', live: true, snapshot: () => a }, { input, output, refreshMs: 10 });
    await new Promise((r) => setImmediate(r));
    expect(written).toContain('\x1b[?1049h');
    const before = written.length;
    output.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }));
    await run.closed;
    await new Promise((r) => setImmediate(r)); // let anything written reach the 'data' listener
    // restoring would have written the leave-alternate-screen sequence, among others
    expect(written.slice(before)).toBe('');
    expect(process.listenerCount('SIGHUP')).toBe(0);
  });
});

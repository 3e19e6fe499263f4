// startLiveCapture (src/analysis/sources/live.ts): live packets → Pipeline and -w, as `ftpscope capture` runs it.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { liveAvailable } from '../../../src/capture/live.js';
import { readCapture } from '../../../src/capture/open.js';
import { startLiveCapture } from '../../../src/analysis/sources/live.js';
import { analyzeFile } from '../../../src/analysis/sources/file.js';
import { curl, sleep, startFtpServer } from '../../capture/ftp-peer.js';

const ready = liveAvailable() && process.getuid?.() === 0 && spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'ftpscope-startlive-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('startLiveCapture', () => {
  it.skipIf(!ready)('pairs a passive and an active download live, hashes the data, and writes the same traffic to -w (needs root, cap, curl)', async () => {
    const root = join(tmp, 'root');
    mkdirSync(root);
    const content = Buffer.from(Array.from({ length: 5000 }, (_, i) => `row ${i}\n`).join(''));
    writeFileSync(join(root, 'data.txt'), content);
    const sha = createHash('sha256').update(content).digest('hex');
    const srv = await startFtpServer(root);
    const out = join(tmp, 'cli.pcapng');
    const activeMin = srv.pasvMin + 5000;
    const events: string[] = [];
    const running = startLiveCapture({
      device: 'lo',
      // Only this test's connections: other tests may be moving bulk data over loopback meanwhile.
      filter: `tcp and host 127.0.0.1 and (port ${srv.port} or portrange ${srv.pasvMin}-${srv.pasvMax} or portrange ${activeMin}-${activeMin + 9})`,
      write: out,
      ftpPorts: [srv.port],
      keepPackets: true,
      onEvent: (ev) => events.push(ev.type),
    });
    try {
      await sleep(300);
      expect((await curl(`ftp://127.0.0.1:${srv.port}/data.txt`)).equals(content)).toBe(true);
      expect((await curl(`ftp://127.0.0.1:${srv.port}/data.txt`, ['-P', `127.0.0.1:${activeMin}-${activeMin + 9}`])).equals(content)).toBe(true);
      await sleep(500);
    } finally {
      await srv.close();
    }
    const result = await running.stop();
    expect(result.reason).toBe('stopped');
    expect(result.written, `written ${result.written}, dropped ${result.dropped}, captured ${result.packets}`).toBe(result.packets);
    const a = result.analysis;
    expect(a.source.type).toBe('live');
    const ours = a.sessions.filter((s) => s.server.port === srv.port);
    expect(ours).toHaveLength(2);
    const dcs = ours.flatMap((s) => s.dataConnections).filter((d) => d.command?.verb === 'RETR');
    expect(dcs.map((d) => d.mode).sort()).toEqual(['active', 'passive']);
    for (const dc of dcs) {
      expect(dc.bytes).toBe(content.length);
      expect(dc.sha256).toBe(sha);
    }
    expect(events).toContain('session-open');
    expect(events).toContain('data-close');

    // A frame the dashboard asks for comes from memory.
    const frame = ours[0]!.commands[0]!.frame!;
    const rec = await running.readFrame(frame);
    expect(rec.frame).toBe(frame);

    // The file written alongside holds the same traffic: analyzing it gives the same transfers.
    let n = 0;
    await readCapture(out, () => n++);
    expect(n).toBe(result.packets);
    const again = await analyzeFile(out, { ftpPorts: [srv.port] });
    const againDcs = again.sessions.flatMap((s) => s.dataConnections).filter((d) => d.command?.verb === 'RETR');
    expect(againDcs.map((d) => d.sha256)).toEqual([sha, sha]);
  });

  it.skipIf(!ready)('stops by itself after -c packets and after --duration', async () => {
    const byCount = startLiveCapture({ device: 'lo', filter: 'tcp', count: 3 });
    const traffic = setInterval(() => { void curl('http://127.0.0.1:9/').catch(() => {}); }, 100);
    try {
      const r = await byCount.done;
      expect(r.reason).toBe('count');
      expect(r.packets).toBeGreaterThanOrEqual(3);
    } finally {
      clearInterval(traffic);
    }
    const t0 = Date.now();
    const byTime = await startLiveCapture({ device: 'lo', filter: 'tcp port 9', durationSec: 0.5 }).done;
    expect(byTime.reason).toBe('duration');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
  });
});

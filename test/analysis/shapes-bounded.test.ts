/**
 * Issue 18: memory is bounded whatever the shape of the traffic. The shapes of bench:shapes that
 * the streaming tests (test/cli/report-streaming.test.ts, extract-streaming.test.ts) and the
 * flow-table test (pipeline.test.ts) do not cover, small, read through the Pipeline and checked
 * with the counters it exposes, not RSS:
 *
 *   short     many short sessions: each is handed on (retired) as it ends, a few held at once;
 *   bulk      bulk transfers: the reassembly buffers stay far below the budget and the bytes moved;
 *   big-gaps  one transfer of more than 4 GiB with gaps: the gaps are counted, never buffered.
 */
import { describe, expect, it } from 'vitest';
import { generate, loadSeed, writeBigGaps } from '../../bench/capture-gen.js';
import { readCapture } from '../../src/capture/open.js';
import { Pipeline } from '../../src/analysis/pipeline.js';
import type { Analysis, Session } from '../../src/model/types.js';
import { shapeDir } from '../helpers/shapes.js';

const file = shapeDir('ftpscope-shapes-');

/** The capture through a Pipeline that retires final sessions, sampling how many sessions it holds. */
async function analyze(path: string): Promise<{ a: Analysis; pipeline: Pipeline; retired: Session[]; heldMax: number }> {
  const retired: Session[] = [];
  const pipeline = new Pipeline({ inputReusedOnSignal: true, retireSession: (s) => retired.push(s) }, { type: 'pcap', name: path });
  let heldMax = 0;
  let n = 0;
  const info = await readCapture(path, (rec) => {
    pipeline.push(rec);
    if (++n % 256 === 0) heldMax = Math.max(heldMax, pipeline.snapshot().sessions.length);
  }, { beforeReuse: () => pipeline.inputReused() });
  return { a: pipeline.finish(info), pipeline, retired, heldMax };
}

describe('bounded on every shape (issue 18): the shapes the other tests do not cover', () => {
  it('short: 400 short sessions, each handed on as it ends, a few held at once', async () => {
    const path = file('short.pcap');
    const seeds = await Promise.all(['zeek/ipv4.pcap', 'suricata-verify/bug-3519/input.pcap',
      'suricata-verify/ftp/ftp-download-active/input.pcap', 'suricata-verify/ftp/ftp-download-passive/input.pcap'].map(loadSeed));
    const { sessions } = generate(path, seeds, { rounds: 100 });
    expect(sessions).toBe(400);
    const { a, pipeline, retired, heldMax } = await analyze(path);
    // Every session was handed on once final; the analysis held those of about one round at a time.
    expect(retired.length + a.sessions.length).toBe(400);
    expect(retired.length).toBeGreaterThanOrEqual(396);
    expect(heldMax).toBeLessThanOrEqual(8);
    expect(pipeline.counters.peakFlows).toBeLessThanOrEqual(16);
  });

  it('bulk: 40 MB of transfers, the reassembly buffers far below the budget and the bytes moved', async () => {
    const path = file('bulk.pcap');
    const { sessions } = generate(path, [await loadSeed('suricata-verify/bug-4877/input.pcap')], { bytes: 40e6 });
    const { a, pipeline, retired } = await analyze(path);
    const all = [...retired, ...a.sessions];
    expect(all).toHaveLength(sessions);
    const dcs = all.flatMap((s) => s.dataConnections);
    const moved = dcs.reduce((n, dc) => n + dc.bytes, 0);
    expect(moved).toBeGreaterThan(30e6);
    // Copies of one session: the same transfers in each, whole, with the same bytes and digests.
    expect(new Set(all.map((s) => s.dataConnections.map((dc) => `${dc.bytes} ${dc.sha256}`).join(' | '))).size).toBe(1);
    expect(dcs.every((dc) => dc.complete && dc.sha256 !== null)).toBe(true);
    const c = pipeline.counters;
    expect(c.peakBufferedBytes).toBeLessThan(c.maxBufferedBytes / 8);
    expect(c.peakBufferedBytes).toBeLessThan(moved / 20);
    expect(c.bufferedBytes).toBe(0);
  });

  it('big-gaps: a RETR of 5,416,666,670 bytes with 20 MB captured: the gaps counted, not buffered', async () => {
    const path = file('big-gaps.pcap');
    await writeBigGaps(path, 20e6);
    const { a, pipeline, retired } = await analyze(path);
    const dc = [...retired, ...a.sessions].flatMap((s) => s.dataConnections).find((d) => d.command?.verb === 'RETR')!;
    // The server's 150 reply gives the size; the capture holds a little of it.
    expect(dc.expectedBytes).toBe(5_416_666_670);
    expect(dc.missingBytes).toBeGreaterThan(5_000_000_000);
    expect(dc.bytes - dc.missingBytes).toBeGreaterThan(20e6 - 15_000);
    expect(dc.complete).toBe(false);
    expect(pipeline.counters.peakBufferedBytes).toBeLessThan(4 << 20);
  });
});

/**
 * Issue 18: memory is bounded by the flow table, whatever the number of connections open at once.
 * The "flows" shape of bench:shapes, small: vsftpd-pasv-nat-ipv4.pcap's control connection up to
 * its login (handshake, 220, USER, 230; never closed), copied onto 600 client ports, so 600
 * control connections are open at once. Checked with the pipeline's counters, not RSS.
 */
import { describe, expect, it } from 'vitest';
import { analysisLimits, DEFAULT_MEMORY_BUDGET_MB, Pipeline, type PipelineOptions } from '../../src/analysis/pipeline.js';
import type { Session } from '../../src/model/types.js';
import { loadPackets, toRecord, type StoredPacket } from '../tcp/support.js';

const seed = await loadPackets('vsftpd-pasv-nat-ipv4.pcap');
const CLIENT_PORT = 43158;

/** Frames 3-10 (the login) with the client's port moved to `port` (Ethernet, IPv4: the TCP checksum is not checked). */
function openControl(port: number, dt: number): StoredPacket[] {
  return seed.slice(2, 10).map((p) => {
    const bytes = Buffer.from(p.bytes);
    const tcp = 14 + (bytes[14]! & 0x0f) * 4;
    for (const at of [tcp, tcp + 2]) if (bytes.readUInt16BE(at) === CLIENT_PORT) bytes.writeUInt16BE(port, at);
    return { ...p, bytes, ts: p.ts + dt };
  });
}

function run(n: number, opts: PipelineOptions): { pipeline: Pipeline; retired: Session[]; liveMax: number } {
  const retired: Session[] = [];
  const pipeline = new Pipeline({ ...opts, retireSession: (s) => retired.push(s) }, { type: 'pcap', name: 'flows' });
  let frame = 0;
  let liveMax = 0;
  for (let c = 0; c < n; c++) {
    for (const p of openControl(2000 + c, c * 0.001)) pipeline.push(toRecord({ ...p, frame: ++frame }));
    liveMax = Math.max(liveMax, pipeline.analyzer.analysis().sessions.length);
  }
  return { pipeline, retired, liveMax };
}

describe('Pipeline: many flows open at once (bench:shapes flows)', () => {
  it('the flow table never holds more than --max-flows; the oldest idle are evicted and counted', () => {
    const { pipeline, retired, liveMax } = run(600, { maxFlows: 100 });
    const c = pipeline.counters;
    expect(c.maxFlows).toBe(100);
    expect(c.peakFlows).toBe(100);
    expect(c.flows).toBeLessThanOrEqual(100);
    expect(c.evictedFlows).toBe(500);
    // Evicted connections end their sessions, which are handed on (to the report's spool) at once:
    // the analysis keeps only the sessions of the connections still in the table.
    expect(retired.length).toBe(500);
    expect(liveMax).toBeLessThanOrEqual(100);
    // The first connections, idle the longest, went first.
    expect(retired.slice(0, 3).map((s) => s.client.port)).toEqual([2000, 2001, 2002]);
    expect(retired[0]!.findings.some((f) => f.code === 'tcp-flow-evicted')).toBe(true);

    const a = pipeline.finish();
    const f = a.findings.find((x) => x.code === 'tcp-flows-evicted');
    expect(f?.severity).toBe('warning');
    expect(f?.message).toMatch(/^500 connections were closed early .*\(100 connections at once\).*--max-flows/);
    expect(retired.length + a.sessions.length).toBe(600);
  });

  it('without evictions there is no tcp-flows-evicted finding', () => {
    const { pipeline } = run(50, { maxFlows: 100 });
    expect(pipeline.counters.evictedFlows).toBe(0);
    expect(pipeline.finish().findings.some((x) => x.code === 'tcp-flows-evicted')).toBe(false);
  });

  it('--memory-budget sizes the flow table and the reassembly buffers; --max-flows overrides the table', () => {
    const dflt = analysisLimits({});
    expect(dflt).toEqual(analysisLimits({ memoryBudgetMB: DEFAULT_MEMORY_BUDGET_MB }));
    expect(dflt.maxFlows).toBe(4096);
    expect(dflt.maxBufferedBytes).toBe(48 * 1024 * 1024);
    const small = analysisLimits({ memoryBudgetMB: 12 });
    expect(small.maxFlows).toBe(512);
    expect(small.maxBufferedBytes).toBe(6 * 1024 * 1024);
    expect(analysisLimits({ memoryBudgetMB: 12, maxFlows: 70_000 }).maxFlows).toBe(70_000);
    const { pipeline } = run(600, { memoryBudgetMB: 3 });
    expect(pipeline.counters.maxFlows).toBe(256);
    expect(pipeline.counters.peakFlows).toBe(256);
    expect(pipeline.counters.evictedFlows).toBe(600 - 256);
  });
});

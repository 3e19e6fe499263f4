/**
 * A recording that cannot keep up: the disk is a stream that takes 20 ms per chunk. By default
 * (backpressure) the relay waits for it and nothing is lost; with --record-overflow drop the
 * relay runs on and the packets left out are counted and said: as it happens (a finding event),
 * at the end, and in the file itself (an ISB), so a report of the file says so too.
 * Real peers: vsftpd and curl through the proxy on loopback; the served file's sha256 is the truth.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { startProxy } from '../../src/proxy/server.js';
import { SYNTHESIZED_COMMENT } from '../../src/proxy/recorder.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { AnalysisEvent } from '../../src/model/types.js';
import { hasBinary, randomFile, run, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

/** A file written through a stream that is slow: each chunk is on disk 20 ms after it was handed over (50 MiB/s at most). */
class SlowDisk extends Writable {
  maxQueued = 0;
  private readonly fd: number;
  constructor(file: string) {
    super({ highWaterMark: 1 << 16 });
    this.fd = fs.openSync(file, 'w');
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.maxQueued = Math.max(this.maxQueued, this.writableLength);
    fs.writeSync(this.fd, chunk);
    setTimeout(cb, 20);
  }
  override _final(cb: (e?: Error | null) => void): void {
    fs.closeSync(this.fd);
    cb();
  }
}

const d = fs.existsSync('/usr/sbin/vsftpd') && hasBinary('curl') ? describe : describe.skip;

d('--record when the disk falls behind', () => {
  let ftpd: Vsftpd;
  let work: string;
  let blob: { file: string; sha256: string };
  const SIZE = 24 * 1024 * 1024 + 5;
  /** Far less than one transfer: without the relay waiting, the writer would have to drop. */
  const MAX_PENDING = 256 * 1024;

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('lv-rec-overflow-');
    blob = randomFile(ftpd.pub, 'slow.bin', SIZE);
    fs.chmodSync(blob.file, 0o644);
  });
  afterAll(async () => {
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function download(overflow: 'wait' | 'drop'): Promise<{ pcap: string; writer: PcapngWriter; disk: SlowDisk; events: AnalysisEvent[]; dropped: number }> {
    const pcap = path.join(work, `${overflow}.pcapng`);
    const disk = new SlowDisk(pcap);
    const writer = new PcapngWriter(disk, { comment: SYNTHESIZED_COMMENT, overflow, maxPendingBytes: MAX_PENDING });
    const events: AnalysisEvent[] = [];
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      recordTo: writer, onEvent: (ev) => events.push(ev),
    });
    const out = path.join(work, `${overflow}.bin`);
    const r = await run('curl', ['-sS', '--max-time', '60', '-o', out, `ftp://anonymous:x@127.0.0.1:${p.address().port}/pub/slow.bin`]);
    expect(r.stderr).toBe('');
    expect(sha256File(out)).toBe(blob.sha256);
    await settle(() => p.activeSessions === 0);
    const live = p.snapshot();
    const dc = live.sessions[0]!.dataConnections.find((x) => x.direction === 'download')!;
    // The relay and the live analysis saw every byte either way.
    expect(dc.sha256).toBe(blob.sha256);
    const dropped = p.recording()!.dropped;
    await p.close();
    return { pcap, writer, disk, events, dropped };
  }

  it('backpressure (the default): the relay waits for the disk, nothing is left out, the file analyses whole', async () => {
    const { pcap, writer, disk, events, dropped } = await download('wait');
    expect(dropped).toBe(0);
    expect(writer.dropped).toBe(0);
    // What waited for the disk stayed bounded, far below the 48 MiB recorded: the relay took the wait,
    // not the writer's queue (which holds at most a read or two on each leg past the high-water mark).
    expect(disk.maxQueued).toBeLessThanOrEqual(20 << 20);
    expect(events.some((e) => e.type === 'finding' && e.finding.code === 'proxy-record-dropped')).toBe(false);
    const a = await analyzeFile(pcap);
    expect(a.findings.map((f) => f.code)).not.toContain('capture-drops-recorded');
    const dc = a.sessions[0]!.dataConnections.find((x) => x.direction === 'download')!;
    expect([dc.bytes, dc.missingBytes, dc.sha256]).toEqual([SIZE, 0, blob.sha256]);
  });

  it('--record-overflow drop: the relay runs on; the drops are said as they happen, at the end, and in the file', async () => {
    const { pcap, writer, events, dropped } = await download('drop');
    expect(dropped).toBeGreaterThan(0);
    expect(writer.dropped).toBe(dropped);
    const said = events.filter((e): e is Extract<AnalysisEvent, { type: 'finding' }> => e.type === 'finding' && e.finding.code === 'proxy-record-dropped');
    // The first as it happened, the total when the proxy stopped.
    expect(said.length).toBeGreaterThanOrEqual(2);
    expect(said.at(-1)!.finding.message).toContain(`left out ${dropped} packets in all`);
    // A report of the file says so, and the transfer in it has gaps instead of a wrong hash.
    const a = await analyzeFile(pcap);
    const f = a.findings.find((x) => x.code === 'capture-drops-recorded');
    expect(f?.message).toContain(`says ${dropped} packets of `);
    const dc = a.sessions[0]?.dataConnections.find((x) => x.direction === 'download');
    if (dc) {
      expect(dc.complete).toBe(false);
      expect(dc.sha256).toBeNull();
    }
    if (hasBinary('capinfos')) {
      // Wireshark's tools read the same count from the ISB.
      const ci = await run('capinfos', ['-M', pcap]);
      expect(ci.stdout).toMatch(new RegExp(`Number of packets = .*`));
      expect(ci.stdout + ci.stderr).not.toMatch(/error|corrupt/i);
    }
  });
});

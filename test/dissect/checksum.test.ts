import { describe, it, expect } from 'vitest';
import { join } from 'node:path';
import { readCapture } from '../../src/capture/open.js';
import { dissect } from '../../src/dissect/dissect.js';
import { CAPTURES, findField, loadExpected, first } from './expected.js';

async function statuses(rel: string) {
  const rows = loadExpected(rel)!;
  const out: { frame: number; ours: string; display: string; tshark: string }[] = [];
  await readCapture(join(CAPTURES, rel), (r) => {
    const f = findField(dissect(r), 'tcp.checksum.status');
    if (f) out.push({ frame: r.frame, ours: String(f.value), display: f.display, tshark: first(rows.get(r.frame)!['tcp.checksum.status']) });
  });
  return out;
}

describe('TCP checksum offload', () => {
  it('a real loopback capture: tshark calls every checksum bad, ftpscope "unverified (likely checksum offload)"', async () => {
    const s = await statuses('fixtures/dissect/loopback-offload.pcap');
    expect(s.length).toBeGreaterThan(20);
    for (const x of s) {
      expect(x.tshark).toBe('0');
      expect(x.ours).toBe('unverified');
      expect(x.display).toMatch(/likely checksum offload/);
    }
  });

  it('a checksum that is neither right nor a pseudo-header sum stays bad', async () => {
    const s = await statuses('fixtures/dissect/checksums.pcap');
    const bad = s.filter((x) => x.tshark === '0');
    expect(bad.filter((x) => x.ours === 'bad').length).toBeGreaterThan(10);
    expect(bad.filter((x) => x.ours === 'unverified' && /offload/.test(x.display)).length).toBeGreaterThan(10);
    expect(s.filter((x) => x.tshark === '1').every((x) => x.ours === 'good')).toBe(true);
  });

  it('a snaplen-cut segment is unverified, as tshark says', async () => {
    const s = await statuses('fixtures/ipv4-snaplen60.pcap');
    expect(s.every((x) => x.ours === 'unverified' && x.tshark === '2')).toBe(true);
  });
});

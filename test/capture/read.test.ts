import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import { capturePath, exists, loadExpected, readAll } from './helpers.js';

const expected = loadExpected();

describe('readCapture agrees with tshark on every frame of every bundled capture', () => {
  it('has expected files to compare against', () => {
    expect(expected.length).toBeGreaterThan(10);
  });

  // Both read paths: through the thread pool, and blocking reads (as report, flow and extract use).
  it.each(expected.flatMap((e) => [[e.capture, '', e], [e.capture, ', blocking reads', e]] as const))('%s%s', async (_name, mode, exp) => {
    const { info, packets } = await readAll(capturePath(exp.capture), { blocking: mode !== '' });
    expect(info.packets).toBe(exp.frames.length);
    expect(packets.length).toBe(exp.frames.length);
    expect(info.truncated).toBe(false);
    for (let i = 0; i < exp.frames.length; i++) {
      const want = exp.frames[i]!;
      const got = packets[i]!;
      const at = `${exp.capture} frame ${want.frame}`;
      expect(got.frame, at).toBe(want.frame);
      if (want.time === null) expect(got.ts, at).toBe(0);
      else expect(Math.abs(got.ts - want.time), `${at}: ts ${got.ts} vs ${want.time}`).toBeLessThan(1e-6);
      expect(got.caplen, at).toBe(want.caplen);
      expect(got.wirelen, at).toBe(want.wirelen);
      if (want.interfaceId !== null) expect(got.interfaceId, at).toBe(want.interfaceId);
      expect(got.comment, at).toBe(want.comment);
    }
  });
});

const F = 'captures/fixtures/';

describe('format details', () => {
  it.each([
    ['ipv4-be-us.pcap', 'pcap', false],
    ['ipv4-be-ns.pcap', 'pcap', false],
    ['ipv4-le-ns.pcap', 'pcap', false],
    ['ipv4-kuznetzov.pcap', 'pcap', false],
    ['ipv4.pcap.gz', 'pcap', true],
    ['ipv4.pcapng', 'pcapng', false],
    ['ipv4-be.pcapng', 'pcapng', false],
    ['ipv4-be.pcapng.gz', 'pcapng', true],
  ] as const)('%s is %s (gzip %s), EN10MB, no findings', async (name, format, gzip) => {
    const { info } = await readAll(capturePath(F + name));
    expect(info.format).toBe(format);
    expect(info.gzip).toBe(gzip);
    expect(info.linkTypes).toEqual(['EN10MB']);
    expect(info.findings).toEqual([]);
  });

  it.each([
    ['dissect/sll2-ipv4.pcap', 'LINUX_SLL2'],
    ['dissect/sll-ipv6.pcap', 'LINUX_SLL'],
    ['dissect/raw-101-ipv4.pcap', 'RAW'],
    ['dissect/raw-12-ipv4.pcap', 'RAW'],
    ['dissect/raw-14-ipv6.pcap', 'RAW'],
    ['dissect/null-be-ipv4.pcap', 'NULL'],
    ['dissect/loop-ipv6.pcap', 'LOOP'],
    ['dissect/ipv4-228.pcap', 'IPV4'],
    ['dissect/ipv6-229.pcap', 'IPV6'],
    ['dissect/vlan-qinq.pcap', 'EN10MB'],
  ])('%s has link type %s, which needs no finding', async (name, linkType) => {
    if (!exists(F + name)) return; // the dissect fixtures belong to the dissect tests
    const { info } = await readAll(capturePath(F + name));
    expect(info.linkTypes).toEqual([linkType]);
    expect(info.findings).toEqual([]);
  });

  it('keeps section and interface comments', async () => {
    expect((await readAll(capturePath(F + 'ipv4.pcapng'))).info.comments).toEqual([
      "converted by editcap for ftpscope's reader tests",
    ]);
    expect((await readAll(capturePath(F + 'ipv4-pb-comments.pcapng'))).info.comments).toEqual([
      'capture comment: obsolete packet blocks',
      'interface comment',
    ]);
    expect((await readAll(capturePath(F + 'ipv4-multisection.pcapng'))).info.comments).toEqual(['section one', 'section two']);
  });

  it('numbers frames across sections and takes each section its own interfaces', async () => {
    const { packets } = await readAll(capturePath(F + 'ipv4-multisection.pcapng'));
    expect(packets.map((p) => p.frame)).toEqual(packets.map((_, i) => i + 1));
    expect(new Set(packets.map((p) => p.interfaceId))).toEqual(new Set([0, 1]));
  });

  it('marks snaplen-cut packets by caplen < wirelen', async () => {
    const { packets } = await readAll(capturePath(F + 'ipv4-snaplen60.pcap'));
    expect(packets.some((p) => p.caplen < p.wirelen)).toBe(true);
    expect(packets.every((p) => p.caplen <= 60)).toBe(true);
  });

  it('reports an unknown link type as a finding and still delivers the packets', async () => {
    const { info, packets } = await readAll(capturePath(F + 'ipv4-linktype-147.pcap'));
    expect(packets.length).toBe(95);
    expect(packets[0]!.linkType).toBe(147);
    expect(info.linkTypes).toEqual(['USER0']);
    expect(info.findings.map((f) => f.code)).toEqual(['unknown-link-type']);
    expect(info.findings[0]!.message).toContain('147');
  });

  it('hands over fileOffset so records can be found again', async () => {
    const { packets } = await readAll(capturePath(F + 'ipv4-be-us.pcap'));
    expect(packets[0]!.fileOffset).toBe(24);
    expect(packets[1]!.fileOffset).toBe(24 + 16 + packets[0]!.caplen);
  });
});

describe('reading controls', () => {
  it('reports progress up to the file size and stops when aborted', async () => {
    const path = capturePath('captures/public/suricata-verify/bug-4877/input.pcap');
    const seen: [number, number | null][] = [];
    const all = await readCapture(path, () => {}, { onProgress: (read, total) => seen.push([read, total]) });
    const size = statSync(path).size;
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toEqual([size, size]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![0]).toBeGreaterThanOrEqual(seen[i - 1]![0]);
    expect(all.bytes).toBe(size);

    const ctl = new AbortController();
    ctl.abort();
    let n = 0;
    const info = await readCapture(path, () => n++, { signal: ctl.signal });
    // Aborting stops at the next chunk boundary; aborted before the start, nothing is delivered.
    expect(n).toBe(0);
    expect(info.packets).toBe(0);
    expect(info.truncated).toBe(false);
  });

  it('waits between chunks for the promise pace() returns, and reads on once it settles', async () => {
    const path = capturePath('captures/public/suricata-verify/bug-4877/input.pcap');
    const whole = await readCapture(path, () => {});
    let packets = 0;
    let waits = 0;
    let release: (() => void) | null = null;
    const reading = readCapture(path, () => packets++, {
      chunkSize: 64 * 1024,
      pace: () => {
        if (waits++ !== 1) return undefined;
        return new Promise<void>((resolve) => { release = resolve; });
      },
    });
    // The second pause holds the reader: what it delivered so far stays put while the promise is pending.
    while (release === null) await new Promise((r) => setTimeout(r, 5));
    const atPause = packets;
    await new Promise((r) => setTimeout(r, 50));
    expect(packets).toBe(atPause);
    expect(atPause).toBeLessThan(whole.packets);
    release!();
    const info = await reading;
    expect(info.packets).toBe(whole.packets);
    expect(packets).toBe(whole.packets);
    expect(waits).toBeGreaterThan(2);
  });
});

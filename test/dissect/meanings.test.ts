/**
 * The layers view that teaches: every IPv4, IPv6, TCP and FTP field has a one-line meaning in the
 * field model (so inspect --json carries it), the seq/ack arithmetic continues past the handshake,
 * PORT/PASV/EPRT/EPSV arguments are decoded with their arithmetic, and the handshake view says who
 * opens an active-mode data connection.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import { dissect } from '../../src/dissect/dissect.js';
import type { Field } from '../../src/dissect/field.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { handshakeLines } from '../../src/tui/views/handshake.js';
import { readAnalysisTsv } from '../../scripts/tcp-agreement.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const TEACHING_LAYERS = new Set(['ip', 'ipv6', 'tcp', 'ftp']);

function inspectJson(capture: string, frame: number) {
  const r = spawnSync(process.execPath, [MAIN, 'inspect', capture, '--frame', String(frame), '--json'], { cwd: ROOT, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { layers: { name: string; fields: Field[] }[]; analysis: Record<string, unknown> };
}

function all(fields: readonly Field[]): Field[] {
  return fields.flatMap((f) => [f, ...all(f.children ?? [])]);
}

describe('every IPv4, IPv6, TCP and FTP field has a meaning', () => {
  it.each([
    ['vsftpd-pasv-ipv4.pcap'], ['vsftpd-lftp-ipv6.pcapng'], ['vsftpd-aborted.pcap'], ['tcp/tcp-loss.pcap'], ['tcp/tcp-stalled.pcap'],
    ['fixtures/dissect/ipv4-options.pcap'], ['fixtures/dissect/ipv6-ext-headers.pcap'], ['fixtures/dissect/ipv4-fragments.pcap'],
    ['fixtures/dissect/ipv6-fragments.pcap'], ['fixtures/dissect/vlan-snaplen64.pcap'],
  ])('%s', async (rel) => {
    let checked = 0;
    // The first frames hold every kind of field these captures have (handshakes, options, FTP lines, data).
    const stop = new AbortController();
    await readCapture(join(ROOT, 'captures', rel), (rec) => {
      if (rec.frame > 250) { stop.abort(); return; }
      const copy = { ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0 };
      // Contexts that bring out every kind of field: relative numbers, scaled windows, FTP lines both ways.
      const d = dissect(copy, { tcp: { senderIsn: 0, receiverIsn: 0, senderWindowShift: 7 }, ftp: { channel: 'control', fromClient: rec.frame % 2 === 0 } });
      for (const l of d.layers) {
        if (!TEACHING_LAYERS.has(l.name)) continue;
        for (const f of all(l.fields)) {
          expect(f.meaning, `frame ${rec.frame} ${f.name} (${f.label})`).toBeTruthy();
          // one line, and it does not say the field's label again ("Don't fragment: Set … — Don't fragment: …")
          expect(f.meaning!).not.toContain('\n');
          if (f.display !== '') expect(f.meaning!.includes(`${f.label}:`), `${f.name}: ${f.meaning}`).toBe(false);
          checked++;
        }
      }
    }, { signal: stop.signal });
    expect(checked).toBeGreaterThan(50);
  });

  it('the examples of the issue: TTL, the scaled window, the checksum', async () => {
    const j = inspectJson('captures/public/zeek/ipv4.pcap', 6);
    const f = Object.fromEntries(j.layers.flatMap((l) => all(l.fields)).map((x) => [x.name, x]));
    expect(f['ip.ttl']!.meaning).toMatch(/^TTL \d+: hops left before a router drops it/);
    expect(f['tcp.window_size_value']!.meaning).toBe(`Window ${f['tcp.window_size_value']!.value} × 64 = ${f['tcp.window_size']!.value} bytes the sender can still take (scaled by the factor agreed in the SYNs)`);
    expect(f['tcp.checksum']!.meaning).toMatch(/pseudo-header/);
    expect(f['tcp.checksum.status']!.meaning).toMatch(/^(good|bad|not verified)/);
  });
});

describe('seq/ack arithmetic past the handshake', () => {
  it('a data segment: next seq = seq + length, equal to tshark\'s tcp.nxtseq, and the ACK that acknowledges it with the RTT', () => {
    const rows = readAnalysisTsv(join(ROOT, 'captures/expected/tcp/tcp-noscale.pcap.analysis.tsv'));
    // the segment frame 101 acknowledges, per tshark
    const ack = [...rows.values()].find((r) => r['tcp.analysis.acks_frame'] !== '' && Number(r['frame.number']) > 90)!;
    const seg = Number(ack['tcp.analysis.acks_frame']);
    const j = inspectJson('captures/tcp/tcp-noscale.pcap', seg);
    const f = Object.fromEntries(j.layers.flatMap((l) => all(l.fields)).map((x) => [x.name, x]));
    expect(f['tcp.nxtseq']!.value).toBe(Number(rows.get(seg)!['tcp.nxtseq']));
    const seq = f['tcp.seq']!.value as number;
    const len = f['tcp.len']!.value as number;
    const rtt = Number(ack['tcp.analysis.ack_rtt']);
    const rttText = rtt < 0.001 ? `${(rtt * 1e6).toFixed(0)} µs` : `${(rtt * 1000).toFixed(2)} ms`;
    expect(f['tcp.nxtseq']!.meaning).toContain(`next seq = ${seq} + ${len} = ${seq + len}`);
    expect(f['tcp.nxtseq']!.meaning).toContain(`the ACK in frame ${ack['frame.number']} acknowledges it, ${rttText} later (RTT)`);
    // and the ACK says which segment and why, with tshark's RTT
    const a = inspectJson('captures/tcp/tcp-noscale.pcap', Number(ack['frame.number']));
    const g = Object.fromEntries(a.layers.flatMap((l) => all(l.fields)).map((x) => [x.name, x]));
    expect(g['tcp.analysis.acks_frame']!.value).toBe(seg);
    expect(g['tcp.analysis.acks_frame']!.meaning).toBe(`ack = ${seq} + ${len}: the seq of frame ${seg} plus its length: everything up to it arrived`);
    expect(Math.abs((g['tcp.analysis.ack_rtt']!.value as number) - rtt)).toBeLessThanOrEqual(1e-6);
    expect((a.analysis.tcpAnalysis as { acksFrame: number }).acksFrame).toBe(seg);
  });

  it('analysis flags in the layers: a duplicate ACK with its number and the ACK it repeats', () => {
    const rows = readAnalysisTsv(join(ROOT, 'captures/expected/tcp/tcp-loss.pcap.analysis.tsv'));
    const dup = [...rows.values()].find((r) => r['tcp.analysis.duplicate_ack_num'] === '2')!;
    const j = inspectJson('captures/tcp/tcp-loss.pcap', Number(dup['frame.number']));
    const f = Object.fromEntries(j.layers.flatMap((l) => all(l.fields)).map((x) => [x.name, x]));
    expect(f['tcp.analysis.duplicate_ack']).toBeDefined();
    expect(f['tcp.analysis.duplicate_ack_num']!.value).toBe(2);
    expect(f['tcp.analysis.duplicate_ack_frame']!.value).toBe(Number(dup['tcp.analysis.duplicate_ack_frame']));
    expect(f['tcp.analysis.flags']!.display).toBe('DUP ACK');
  });
});

describe('PORT / PASV / EPRT / EPSV decoded with the arithmetic', () => {
  it('PORT h1,h2,h3,h4,p1,p2: the port is p1*256+p2, the port the server then connects to', async () => {
    const a = await analyzeFile(join(ROOT, 'captures/vsftpd-port-ipv4.pcap'));
    const dc = a.sessions[0]!.dataConnections[0]!;
    const j = inspectJson('captures/vsftpd-port-ipv4.pcap', dc.setupFrame!);
    const f = Object.fromEntries(j.layers.flatMap((l) => all(l.fields)).map((x) => [x.name, x]));
    const port = f['ftp.active.port']!;
    expect(port.value).toBe(dc.server.port); // active mode: the FTP client is the TCP server
    const [p1, p2] = String(f['ftp.request.arg']!.value).split(',').slice(4).map(Number) as [number, number];
    expect(port.meaning).toBe(`${p1}*256+${p2} = ${p1 * 256 + p2}: the last two numbers are the port's high and low byte; the client listens there and the server connects to it (active mode)`);
    expect(f['ftp.active.ip']!.value).toBe(dc.server.ip);
  });

  it('227 (h1,h2,h3,h4,p1,p2) and 229 (|||port|)', async () => {
    for (const [rel, code] of [['vsftpd-pasv-ipv4.pcap', 227], ['vsftpd-epsv-user-ipv4.pcap', 229]] as const) {
      const a = await analyzeFile(join(ROOT, 'captures', rel));
      const s = a.sessions[0]!;
      const dc = s.dataConnections[0]!;
      const j = inspectJson(`captures/${rel}`, dc.setupFrame!);
      const f = Object.fromEntries(j.layers.flatMap((l) => all(l.fields)).map((x) => [x.name, x]));
      expect(f['ftp.response.code']!.value).toBe(code);
      expect(f['ftp.passive.port']!.value).toBe(dc.server.port);
      expect(f['ftp.passive.port']!.meaning).toMatch(code === 227 ? /^\d+\*256\+\d+ = \d+: .*passive mode\)$/ : /^\d+: written out in decimal \(RFC 2428\); the address is the server's own/);
    }
  });
});

describe('the handshake view says who opens an active-mode data connection', () => {
  it('the TCP client is the FTP server', async () => {
    const a = await analyzeFile(join(ROOT, 'captures/vsftpd-port-ipv4.pcap'));
    const dc = a.sessions[0]!.dataConnections[0]!;
    expect(dc.opener).toBe('server');
    const text = handshakeLines(dc.tcp, 'session 1, data connection D1', dc.opener).map((l) => l.text).join('\n');
    expect(text).toContain('Active mode: the FTP server opens the data connection');
    expect(text).toMatch(/So here the TCP client \(the side that sends the SYN, on the left\) is the\s+FTP server/);
  });
});

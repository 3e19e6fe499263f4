/**
 * --record: the synthesized pcapng opens in tshark (checksums right, no TCP analysis
 * warnings, stream lengths equal to the bytes we served) and in ftpscope's own pipeline (both
 * legs' sessions with their transfers and sha256 intact); and --log writes NDJSON events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'basic-ftp';
import { startProxy } from '../../src/proxy/server.js';
import { SYNTHESIZED_COMMENT } from '../../src/proxy/recorder.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { eventToJson } from '../../src/report/json.js';
import { hasBinary, randomFile, run, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('--record and --log', () => {
  let ftpd: Vsftpd;
  let work: string;
  let blob: { file: string; sha256: string };
  let pcap: string;
  let proxyPort = 0;
  const SIZE = 1024 * 1024 + 17;
  const events: object[] = [];

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-rec-');
    blob = randomFile(ftpd.pub, 'rec.bin', SIZE);
    fs.chmodSync(blob.file, 0o644);
    pcap = path.join(work, 'proxy.pcapng');
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      recordTo: new PcapngWriter(pcap, { comment: SYNTHESIZED_COMMENT }),
      onEvent: (ev) => events.push(JSON.parse(JSON.stringify(eventToJson(ev)))),
    });
    proxyPort = p.address().port;
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: proxyPort, user: 'anonymous', password: 'secret' });
    const out = path.join(work, 'rec.bin');
    await c.downloadTo(out, 'pub/rec.bin');
    await c.uploadFrom(out, 'pub/rec-up.bin');
    c.close();
    await settle(() => p.activeSessions === 0);
    await p.close();
  });
  afterAll(async () => {
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('ftpscope reads the recording: both legs are sessions whose transfers keep the served sha256', async () => {
    const a = await analyzeFile(pcap, { ftpPorts: [proxyPort, ftpd.port] });
    expect(a.source.type).toBe('pcapng');
    expect(a.sessions).toHaveLength(2);
    const ports = a.sessions.map((s) => s.server.port).sort();
    expect(ports).toEqual([proxyPort, ftpd.port].sort());
    for (const s of a.sessions) {
      expect(s.handshake.seen).toBe(true);
      const t = s.dataConnections.filter((dc) => dc.direction !== 'listing');
      expect(t.map((dc) => [dc.direction, dc.bytes, dc.sha256, dc.complete])).toEqual([
        ['download', SIZE, blob.sha256, true],
        ['upload', SIZE, blob.sha256, true],
      ]);
    }
  });

  const tsharkIt = hasBinary('tshark') ? it : it.skip;
  tsharkIt('tshark reads it: correct checksums, no TCP analysis warnings, the FTP commands, the comment', async () => {
    const bad = await run('tshark', ['-n', '-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
      '-Y', 'tcp.checksum.status == 0 || ip.checksum.status == 0 || tcp.analysis.flags', '-T', 'fields', '-e', 'frame.number']);
    expect(bad.code, bad.stderr).toBe(0);
    expect(bad.stdout.trim()).toBe('');
    const cmds = await run('tshark', ['-n', '-r', pcap, '-d', `tcp.port==${proxyPort},ftp`, '-d', `tcp.port==${ftpd.port},ftp`,
      '-Y', 'ftp.request', '-T', 'fields', '-e', 'tcp.dstport', '-e', 'ftp.request.command']);
    const byPort = (port: number) => cmds.stdout.trim().split('\n').filter((l) => l.startsWith(`${port}\t`)).map((l) => l.split('\t')[1]);
    expect(byPort(proxyPort)).toEqual(expect.arrayContaining(['USER', 'PASS', 'RETR', 'STOR']));
    expect(byPort(ftpd.port)).toEqual(byPort(proxyPort));
    const comment = await run('tshark', ['-n', '-r', pcap, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment']);
    expect(comment.stdout).toContain('synthesized by the proxy');
    // Every data stream's payload is exactly the served file.
    const payload = await run('tshark', ['-n', '-r', pcap, '-T', 'fields', '-e', 'tcp.stream', '-e', 'tcp.len']);
    const perStream = new Map<string, number>();
    for (const l of payload.stdout.trim().split('\n')) {
      const [s, len] = l.split('\t');
      perStream.set(s, (perStream.get(s) ?? 0) + Number(len));
    }
    expect([...perStream.values()].filter((n) => n === SIZE)).toHaveLength(4);
  });

  it('NDJSON events: session, commands with PASS masked, replies, data connections', () => {
    const types = new Set(events.map((e) => (e as { type: string }).type));
    expect([...types]).toEqual(expect.arrayContaining(['session-open', 'command', 'reply', 'data-open', 'data-close', 'session-close']));
    const pass = events.find((e) => (e as { command?: { verb?: string } }).command?.verb === 'PASS') as { command: { arg: string } };
    expect(pass.command.arg).toBe('****');
    const closes = events.filter((e) => (e as { type: string }).type === 'data-close') as { dataConnection: { sha256: string | null } }[];
    expect(closes.map((c) => c.dataConnection.sha256)).toEqual(expect.arrayContaining([blob.sha256, blob.sha256]));
  });
});

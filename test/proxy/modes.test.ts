/**
 * Forward mode (USER name@host[:port], --allow), IPv6 on ::1, and transparent mode refusing a
 * connection that was not redirected — all against vsftpd with real clients.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { Client, enterPassiveModeIPv6 } from 'basic-ftp';
import { startProxy, type RunningProxy } from '../../src/proxy/server.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { analyzeFile, analyzeFilePackets } from '../../src/analysis/sources/file.js';
import { RawFtp, hasBinary, randomFile, run, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('forward mode', () => {
  let ftpd: Vsftpd;
  let p: RunningProxy;
  let work: string;
  let blob: { file: string; sha256: string };

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-fwd-');
    blob = randomFile(ftpd.pub, 'f.bin', 3 * 1024 * 1024);
    fs.chmodSync(blob.file, 0o644);
    // vsftpd listens on a random port of loopback: the rules name any port, and loopback as a place names may resolve to.
    p = await startProxy({ mode: 'forward', listen: { ip: '127.0.0.1', port: 0 }, allow: ['127.0.0.1/32:*', 'localhost:*'], allowResolved: ['127.0.0.0/8'] });
  });
  afterAll(async () => {
    await p?.close();
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const users = (port: number) => [
    `anonymous@127.0.0.1:${port}`,
    `anonymous@localhost:${port}`,
  ];

  it('USER name@host:port reaches the server; transfers keep their sha256 (basic-ftp)', async () => {
    for (const user of users(ftpd.port)) {
      const c = new Client(20_000);
      await c.access({ host: '127.0.0.1', port: p.address().port, user, password: 'x@y' });
      const out = path.join(work, 'f.bin');
      await c.downloadTo(out, 'pub/f.bin');
      expect(sha256File(out)).toBe(blob.sha256);
      c.close();
    }
    await settle(() => p.activeSessions === 0);
    const sessions = p.snapshot().sessions;
    expect(sessions.at(-1)!.dataConnections.at(-1)!.sha256).toBe(blob.sha256);
    // Each session names the server it was relayed to: the address, and the host name when one was typed.
    expect(sessions.slice(-2).map((s) => s.originalServer)).toEqual([
      { ip: '127.0.0.1', port: ftpd.port },
      { ip: '127.0.0.1', port: ftpd.port, name: 'localhost' },
    ]);
  });

  it('a forward-mode recording reads as one session with the destination the user typed (name and address)', async () => {
    const rec = path.join(work, 'fwd.pcapng');
    const q = await startProxy({ mode: 'forward', listen: { ip: '127.0.0.1', port: 0 }, allow: [`localhost:${ftpd.port}`], allowResolved: ['127.0.0.0/8'], recordTo: new PcapngWriter(rec) });
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: q.address().port, user: `anonymous@localhost:${ftpd.port}`, password: 'x@y' });
    const out = path.join(work, 'fwd.bin');
    await c.downloadTo(out, 'pub/f.bin');
    c.close();
    expect(sha256File(out)).toBe(blob.sha256);
    await settle(() => q.activeSessions === 0);
    await q.close();
    const a = await analyzeFile(rec, { ftpPorts: [q.address().port] });
    expect(a.sessions).toHaveLength(1);
    expect(a.unpairedDataConnections).toEqual([]);
    expect(a.sessions[0]!.originalServer).toEqual({ ip: '127.0.0.1', port: ftpd.port, name: 'localhost' });
    expect(a.sessions[0]!.dataConnections.find((dc) => dc.direction === 'download')?.sha256).toBe(blob.sha256);
  });

  it('curl with the destination in the user name', async () => {
    const out = path.join(work, 'curl.bin');
    // curl splits -u at the first colon; in the URL the user name is percent-decoded.
    const r = await run('curl', ['-sS', '--max-time', '30', '-o', out,
      `ftp://anonymous%40127.0.0.1%3A${ftpd.port}:x@127.0.0.1:${p.address().port}/pub/f.bin`]);
    expect(r.stderr).toBe('');
    expect(sha256File(out)).toBe(blob.sha256);
  });

  const refused: { name: string; user: string; reply: number }[] = [
    { name: 'a destination outside --allow', user: 'anonymous@127.0.0.2:21', reply: 530 },
    { name: 'a host name outside --allow', user: 'anonymous@example.invalid', reply: 421 },
    { name: 'no destination at all', user: 'anonymous', reply: 530 },
    { name: 'an unreachable destination', user: 'anonymous@127.0.0.1:1', reply: 421 },
    { name: 'a malformed port', user: 'anonymous@127.0.0.1:99999', reply: 530 },
  ];
  for (const tc of refused) {
    it(`refuses ${tc.name} with ${tc.reply}`, async () => {
      const c = await RawFtp.connect('127.0.0.1', p.address().port);
      expect((await c.reply()).code).toBe(220);
      const r = await c.cmd(`USER ${tc.user}`);
      expect(r.code).toBe(tc.reply);
      if (tc.reply === 530) {
        // The client may try another destination on the same connection.
        expect((await c.cmd(`USER anonymous@127.0.0.1:${ftpd.port}`)).code).toBe(331);
        expect((await c.cmd('PASS x@y')).code).toBe(230);
      }
      c.close();
      await settle(() => p.activeSessions === 0);
    });
  }

  it('the default allow list is empty: nothing is relayed', async () => {
    const q = await startProxy({ mode: 'forward', listen: { ip: '127.0.0.1', port: 0 } });
    const c = await RawFtp.connect('127.0.0.1', q.address().port);
    await c.reply();
    const r = await c.cmd(`USER anonymous@127.0.0.1:${ftpd.port}`);
    expect(r.code).toBe(530);
    expect(r.text).toContain('not allowed');
    c.close();
    const a = await q.close();
    expect(a.sessions[0].findings.map((f) => f.code)).toContain('proxy-destination-refused');
  });
});

// Containers sometimes run without IPv6 on the loopback interface.
const hasV6Loopback = Object.values(os.networkInterfaces()).some((l) => l?.some((a) => a.address === '::1'));
(hasV6Loopback ? d : describe.skip)('IPv6 on ::1', () => {
  let ftpd: Vsftpd;
  let p: RunningProxy;
  let work: string;
  let blob: { file: string; sha256: string };

  beforeAll(async () => {
    ftpd = await startVsftpd({ ipv6: true });
    work = tmpDir('ftpscope-proxy-v6-');
    blob = randomFile(ftpd.pub, 'six.bin', 2 * 1024 * 1024 + 6);
    fs.chmodSync(blob.file, 0o644);
    p = await startProxy({ mode: 'reverse', listen: { ip: '::1', port: 0 }, upstream: { ip: '::1', port: ftpd.port },
      recordTo: new PcapngWriter(path.join(work, 'v6.pcapng')) });
  });
  afterAll(async () => {
    await p?.close();
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('EPSV download and upload with basic-ftp', async () => {
    const c = new Client(20_000);
    await c.access({ host: '::1', port: p.address().port, user: 'anonymous', password: 'x' });
    c.prepareTransfer = enterPassiveModeIPv6;
    const out = path.join(work, 'six.bin');
    await c.downloadTo(out, 'pub/six.bin');
    expect(sha256File(out)).toBe(blob.sha256);
    await c.uploadFrom(out, 'pub/six-up.bin');
    expect(sha256File(path.join(ftpd.pub, 'six-up.bin'))).toBe(blob.sha256);
    c.close();
  });

  it('EPRT (active) download with curl', async () => {
    const out = path.join(work, 'six-eprt.bin');
    const r = await run('curl', ['-sS', '-g', '--max-time', '30', '--ftp-port', '::1', '-o', out, `ftp://[::1]:${p.address().port}/pub/six.bin`]);
    expect(r.stderr).toBe('');
    expect(sha256File(out)).toBe(blob.sha256);
    await settle(() => p.activeSessions === 0);
    const dcs = p.snapshot().sessions.flatMap((s) => s.dataConnections);
    expect(dcs.map((dc) => dc.setup)).toEqual(['EPSV', 'EPSV', 'EPRT']);
    expect(dcs.every((dc) => dc.client.ip === '::1')).toBe(true);
  });

  const tsharkIt = hasBinary('tshark') ? it : it.skip;
  tsharkIt('the IPv6 recording has correct TCP checksums and no TCP analysis warnings (tshark)', async () => {
    await p.close();
    const pcap = path.join(work, 'v6.pcapng');
    const bad = await run('tshark', ['-n', '-r', pcap, '-o', 'tcp.check_checksum:TRUE',
      // Whole segments verify; those of the server-facing data legs, cut to their headers, cannot be checked.
      '-Y', '!ipv6 || (frame.cap_len == frame.len && tcp.checksum.status != 1) || tcp.analysis.flags', '-T', 'fields', '-e', 'frame.number']);
    expect(bad.code, bad.stderr).toBe(0);
    expect(bad.stdout.trim()).toBe('');
    const frames = await run('tshark', ['-n', '-r', pcap, '-T', 'fields', '-e', 'frame.number']);
    expect(frames.stdout.trim().split('\n').length).toBeGreaterThan(100);
    // The server-facing data legs as tshark finds them (by their SYN's comment, payload by tcp.len):
    // the bytes of a download come from the FTP server, of an upload from the client (the proxy),
    // whichever side dialled (the EPRT download's leg may be the server's).
    const legs = await run('tshark', ['-n', '-r', pcap, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tcp.len', '-e', 'frame.comment']);
    const { packets } = await analyzeFilePackets(pcap, { ftpPorts: [p.address().port] });
    const facts = new Map([...packets()].map((f) => [f.frame, f]));
    const dataLegs = new Set<string>();
    const senders = new Map<string, Set<string>>();
    for (const [frame, stream, len, comment] of legs.stdout.trim().split('\n').map((l) => l.split('|'))) {
      if (comment?.includes('server-facing data leg')) dataLegs.add(stream!);
      if (!dataLegs.has(stream!) || Number(len) === 0) continue;
      const f = facts.get(Number(frame))!;
      expect(f.channel).toBe('proxy-data');
      const set = senders.get(stream!) ?? new Set<string>();
      set.add(f.sender ?? 'unknown');
      senders.set(stream!, set);
    }
    expect([...senders.values()].map((set) => [...set])).toEqual([['server'], ['client'], ['server']]);
  });
});

describe('transparent mode', () => {
  it('a connection that was not redirected gets 421 saying so', async () => {
    const p = await startProxy({ mode: 'transparent', listen: { ip: '127.0.0.1', port: 0 } });
    const c = await RawFtp.connect('127.0.0.1', p.address().port);
    const r = await c.reply();
    expect(r.code).toBe(421);
    expect(r.text).toMatch(/redirect/i);
    c.close();
    await p.close();
  });
});

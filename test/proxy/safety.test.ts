/**
 * Safety and failure handling with real peers: bounce refused, a foreign data connection
 * refused, the 226 held until the data is through, the upstream down, a client killed
 * mid-transfer, and no file descriptor left behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { startProxy, type RunningProxy } from '../../src/proxy/server.js';
import { RawFtp, fdCount, freePort, pasvTarget, randomFile, settle, startVsftpd, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('proxy safety against vsftpd', () => {
  let ftpd: Vsftpd;
  let p: RunningProxy;
  const SIZE = 8 * 1024 * 1024;
  let blob: { file: string; sha256: string };

  beforeAll(async () => {
    ftpd = await startVsftpd();
    blob = randomFile(ftpd.pub, 'big.bin', SIZE);
    fs.chmodSync(blob.file, 0o644);
    p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, acceptTimeoutSec: 3 });
  });
  afterAll(async () => {
    await p?.close();
    await ftpd?.stop();
  });

  async function login(localAddress?: string): Promise<RawFtp> {
    const c = await RawFtp.connect('127.0.0.1', p.address().port, localAddress);
    await c.login();
    return c;
  }

  function findings(): string[] {
    return p.snapshot().sessions.flatMap((s) => s.findings.map((f) => f.code));
  }

  const bounces: { name: string; cmd: string }[] = [
    { name: 'PORT to another address', cmd: 'PORT 127,0,0,2,200,10' },
    { name: 'PORT to a privileged port', cmd: 'PORT 127,0,0,1,0,25' },
    { name: 'EPRT to another address', cmd: 'EPRT |1|10.1.2.3|5000|' },
    { name: 'LPRT to another address', cmd: 'LPRT 4,4,192,0,2,1,2,19,136' },
  ];
  for (const b of bounces) {
    it(`bounce refused: ${b.name} gets 501 and a finding, the session goes on`, async () => {
      const c = await login();
      const r = await c.cmd(b.cmd);
      expect(r.code).toBe(501);
      expect((await c.cmd('NOOP')).code).toBe(200);
      c.close();
      await settle(() => p.activeSessions === 0);
      expect(findings()).toContain('proxy-bounce-refused');
    });
  }

  it('a data connection from 127.0.0.2 is refused and reported; the client itself still connects', async () => {
    const c = await login();
    await c.cmd('TYPE I');
    const target = pasvTarget((await c.cmd('PASV')).text);
    const foreign = net.connect({ host: target.ip, port: target.port, localAddress: '127.0.0.2' });
    foreign.on('error', () => {});
    const foreignClosed = await new Promise<boolean>((resolve) => {
      foreign.once('close', () => resolve(true));
      foreign.on('data', () => resolve(false));
      setTimeout(() => resolve(false), 3000);
    });
    expect(foreignClosed).toBe(true);
    const data = net.connect({ host: target.ip, port: target.port });
    const hash = createHash('sha256');
    let bytes = 0;
    const done = new Promise<void>((resolve) => data.on('end', () => resolve()));
    data.on('data', (chunk: Buffer) => { hash.update(chunk); bytes += chunk.length; });
    c.send('RETR pub/big.bin');
    expect((await c.reply()).code).toBe(150);
    const final = c.reply(30_000);
    await done;
    expect((await final).code).toBe(226);
    expect(bytes).toBe(SIZE);
    expect(hash.digest('hex')).toBe(blob.sha256);
    c.close();
    await settle(() => p.activeSessions === 0);
    expect(findings()).toContain('proxy-foreign-data-connection');
  });

  it('the 226 is held until the relayed data connection has closed, even for a slow reader', async () => {
    const c = await login();
    await c.cmd('TYPE I');
    const target = pasvTarget((await c.cmd('PASV')).text);
    const data = net.connect({ host: target.ip, port: target.port });
    const order: string[] = [];
    let bytes = 0;
    data.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      data.pause();
      setTimeout(() => data.resume(), 1);
    });
    const ended = new Promise<void>((resolve) => data.on('end', () => { order.push('data-end'); resolve(); }));
    c.send('RETR pub/big.bin');
    expect((await c.reply()).code).toBe(150);
    const final = c.reply(60_000).then((r) => { order.push(`reply-${r.code}`); return r; });
    await Promise.all([ended, final]);
    expect(order).toEqual(['data-end', 'reply-226']);
    expect(bytes).toBe(SIZE);
    c.close();
    await settle(() => p.activeSessions === 0);
  });

  it('a client that keeps its data connection open until the 226 still gets it (no deadlock on the hold)', async () => {
    const c = await login();
    await c.cmd('TYPE I');
    const target = pasvTarget((await c.cmd('PASV')).text);
    const data = net.connect({ host: target.ip, port: target.port, allowHalfOpen: true });
    let bytes = 0;
    data.on('data', (b: Buffer) => { bytes += b.length; });
    const ended = new Promise<void>((resolve) => data.on('end', () => resolve()));
    c.send('RETR pub/big.bin');
    expect((await c.reply()).code).toBe(150);
    await ended;
    const r = await c.reply(10_000);
    expect(r.code).toBe(226);
    expect(bytes).toBe(SIZE);
    data.end();
    c.close();
    await settle(() => p.activeSessions === 0);
  });

  it('an unreachable upstream gives the client 421 with the reason, and a finding', async () => {
    const dead = await freePort();
    const q = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: '127.0.0.1', port: dead } });
    const c = await RawFtp.connect('127.0.0.1', q.address().port);
    const r = await c.reply();
    expect(r.code).toBe(421);
    expect(r.text).toContain('ECONNREFUSED');
    await settle(() => c.closed);
    expect(c.closed).toBe(true);
    await settle(() => q.activeSessions === 0);
    const a = await q.close();
    expect(a.sessions.flatMap((s) => s.findings.map((f) => f.code))).toContain('proxy-upstream-unreachable');
  });

  it('a client killed mid-transfer closes both sides and leaves no descriptor open', async () => {
    const before = fdCount();
    for (let i = 0; i < 5; i++) {
      const c = await login();
      await c.cmd('TYPE I');
      const target = pasvTarget((await c.cmd('EPSV').then(async (r) => {
        const port = Number(/\|\|\|(\d+)\|/.exec(r.text)![1]);
        return { text: `(127,0,0,1,${port >> 8},${port & 255})` };
      })).text);
      const data = net.connect({ host: target.ip, port: target.port });
      data.on('error', () => {});
      let got = 0;
      const some = new Promise<void>((resolve) => data.on('data', (b: Buffer) => { got += b.length; if (got > 100_000) resolve(); }));
      c.send('RETR pub/big.bin');
      await some;
      data.resetAndDestroy();
      c.sock.resetAndDestroy();
    }
    expect(await settle(() => p.activeSessions === 0, 10_000)).toBe(true);
    expect(await settle(() => fdCount() <= before, 10_000)).toBe(true);
    // The proxy is still serving.
    const c = await login();
    expect((await c.cmd('NOOP')).code).toBe(200);
    c.close();
  });

  it('hostile input does not kill the proxy: overlong lines, binary noise, a flood of commands', async () => {
    const c = await login();
    c.sock.write('NOOP ' + 'A'.repeat(20_000) + '\r\n');
    expect((await c.reply()).code).toBe(500);
    c.sock.write(Buffer.from([0xff, 0xf4, 0xff, 0xf2, 0, 1, 2, 3, 13, 10]));
    await c.reply();
    expect((await c.cmd('NOOP')).code).toBe(200);
    c.sock.write('NOOP\r\n'.repeat(5000));
    await settle(() => c.closed, 5000);
    c.close();
    const c2 = await login();
    expect((await c2.cmd('NOOP')).code).toBe(200);
    c2.close();
    await settle(() => p.activeSessions === 0);
  });
});

/**
 * Data-channel options and timers with real peers: --pasv-ports skips ports in use,
 * --pasv-address is what 227 announces, the control idle timeout, the accept timeout, and a
 * server that vanishes mid-transfer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { startProxy } from '../../src/proxy/server.js';
import { RawFtp, fdCount, freePort, pasvTarget, randomFile, run, settle, startVsftpd, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('data-channel options and timers', () => {
  let ftpd: Vsftpd;

  beforeAll(async () => {
    ftpd = await startVsftpd();
    const f = randomFile(ftpd.pub, 'o.bin', 4 * 1024 * 1024);
    fs.chmodSync(f.file, 0o644);
  });
  afterAll(async () => {
    await ftpd?.stop();
  });

  it('--pasv-ports skips a port in use; --pasv-address is announced in 227, EPSV carries only the port', async () => {
    const base = await freePort();
    const busy = net.createServer().listen(base, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      pasvPorts: { from: base, to: base + 2 }, pasvAddress: '203.0.113.7',
    });
    const c = await RawFtp.connect('127.0.0.1', p.address().port);
    await c.login();
    const t = pasvTarget((await c.cmd('PASV')).text);
    expect(t.ip).toBe('203.0.113.7');
    expect(t.port).toBeGreaterThan(base);
    expect(t.port).toBeLessThanOrEqual(base + 2);
    const e = await c.cmd('EPSV');
    const port = Number(/\|\|\|(\d+)\|/.exec(e.text)![1]);
    expect(port).toBeGreaterThanOrEqual(base);
    expect(port).toBeLessThanOrEqual(base + 2);
    expect(port).not.toBe(base);
    c.close();
    busy.close();
    await p.close();
  });

  it('an idle control connection gets 421 with the reason and is closed', async () => {
    const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, idleTimeoutSec: 1 });
    const c = await RawFtp.connect('127.0.0.1', p.address().port);
    await c.login();
    const r = await c.reply(5000);
    expect(r.code).toBe(421);
    expect(r.text).toMatch(/idle/i);
    await settle(() => c.closed);
    expect(c.closed).toBe(true);
    const a = await p.close();
    expect(a.sessions[0].findings.map((f) => f.code)).toContain('proxy-idle-timeout');
  });

  it('--no-hash: the transfer is relayed whole, counted and paired; sha256 is null and a finding says why', async () => {
    const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, hash: false });
    const r = await run('curl', ['-sS', '--max-time', '30', '-o', '-', `ftp://127.0.0.1:${p.address().port}/pub/o.bin`]);
    expect(r.stderr).toBe('');
    expect(await settle(() => p.activeSessions === 0)).toBe(true);
    const a = await p.close();
    const dc = a.sessions[0]!.dataConnections.find((x) => x.direction === 'download')!;
    expect(dc.bytes).toBe(4 * 1024 * 1024);
    expect(dc.command?.verb).toBe('RETR');
    expect(dc.complete).toBe(true);
    expect(dc.sha256).toBeNull();
    expect(a.findings.map((f) => f.code)).toContain('proxy-no-hash');
  });

  it('a passive expectation nobody uses expires: 425 for the transfer, a finding, the session goes on', async () => {
    const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, acceptTimeoutSec: 1 });
    const c = await RawFtp.connect('127.0.0.1', p.address().port);
    await c.login();
    await c.cmd('PASV');
    c.send('RETR pub/o.bin');
    const replies = [await c.reply(15_000), await c.reply(15_000)];
    expect(replies[0].code).toBe(150);
    expect(replies[1].code).toBeGreaterThanOrEqual(400);
    expect((await c.cmd('NOOP')).code).toBe(200);
    c.close();
    const a = await p.close();
    expect(a.sessions[0].findings.map((f) => f.code)).toContain('proxy-data-failed');
  });

  it('a server vanishing mid-transfer closes the client side and every socket', async () => {
    // A server that greets, logs in, announces a passive port, sends part of a file, then resets everything.
    const before = fdCount();
    const data = net.createServer();
    await new Promise<void>((r) => data.listen(0, '127.0.0.1', () => r()));
    const dport = (data.address() as net.AddressInfo).port;
    const sockets: net.Socket[] = [];
    data.on('connection', (s) => { sockets.push(s); s.on('error', () => {}); s.write(Buffer.alloc(100_000)); });
    const ctl = net.createServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.write('220 test\r\n');
      s.on('data', (b) => {
        const line = b.toString();
        if (line.startsWith('USER')) s.write('230 ok\r\n');
        else if (line.startsWith('PASV')) s.write(`227 Entering Passive Mode (127,0,0,1,${dport >> 8},${dport & 255}).\r\n`);
        else if (line.startsWith('RETR')) {
          s.write('150 here it comes\r\n');
          setTimeout(() => { for (const x of sockets) x.resetAndDestroy(); }, 200);
        }
      });
    });
    await new Promise<void>((r) => ctl.listen(0, '127.0.0.1', () => r()));
    const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: '127.0.0.1', port: (ctl.address() as net.AddressInfo).port } });
    const c = await RawFtp.connect('127.0.0.1', p.address().port);
    expect((await c.reply()).code).toBe(220);
    await c.cmd('USER x');
    const t = pasvTarget((await c.cmd('PASV')).text);
    const ds = net.connect(t.port, t.ip);
    ds.on('error', () => {});
    ds.resume();
    const dsClosed = new Promise((r) => ds.on('close', r));
    c.send('RETR f');
    expect((await c.reply()).code).toBe(150);
    await dsClosed;
    await settle(() => c.closed, 5000);
    expect(c.closed).toBe(true);
    expect(await settle(() => p.activeSessions === 0)).toBe(true);
    await p.close();
    ctl.close();
    data.close();
    expect(await settle(() => fdCount() <= before, 5000)).toBe(true);
  });
});

/**
 * A client that reads slowly: the proxy's writes to it stay queued, so the relay must stop
 * reading (its read buffer is reused) until they are flushed. The bytes the client gets and
 * the analysis' sha256 must both be the served file's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { createHash } from 'node:crypto';
import { startProxy, type RunningProxy } from '../../src/proxy/server.js';
import type { DataMode } from '../../src/proxy/rewrite.js';
import { readBufferGrowthBytes } from '../../src/proxy/data.js';
import { RawFtp, pasvTarget, hasBinary, randomFile, startVsftpd, settle, type Vsftpd } from './peers.js';

const canRun = hasBinary('vsftpd') || fs.existsSync('/usr/sbin/vsftpd');
const d = canRun ? describe : describe.skip;

/** Reads the data connection in bursts with stalls in between; resolves with the sha256 and size. */
function slowRead(sock: net.Socket, stallEvery: number, stallMs: number): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    let sinceStall = 0;
    sock.on('data', (b: Buffer) => {
      h.update(b);
      bytes += b.length;
      sinceStall += b.length;
      if (sinceStall >= stallEvery) {
        sinceStall = 0;
        sock.pause();
        setTimeout(() => sock.resume(), stallMs);
      }
    });
    sock.on('end', () => resolve({ sha256: h.digest('hex'), bytes }));
    sock.on('error', reject);
  });
}

d('proxy relay with a slow reader', () => {
  let ftpd: Vsftpd;
  const proxies: RunningProxy[] = [];
  const SIZE = 12 * 1024 * 1024 + 7;
  let source: { file: string; sha256: string };

  beforeAll(async () => {
    ftpd = await startVsftpd();
    source = randomFile(ftpd.pub, 'slow.bin', SIZE);
    fs.chmodSync(source.file, 0o644);
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await ftpd?.stop();
  });

  // Mirrored: the proxy connects to the server's PASV port; active: the server connects to the proxy.
  for (const dataMode of ['client', 'active'] as DataMode[]) {
    it(`--data-mode ${dataMode}: a download read in stalled bursts arrives whole, and the analysis hashes the same bytes`, async () => {
      const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, dataMode });
      proxies.push(p);
      const c = await RawFtp.connect('127.0.0.1', p.address().port);
      await c.login();
      await c.cmd('TYPE I');
      const target = pasvTarget((await c.cmd('PASV')).text);
      const data = net.connect({ host: target.ip, port: target.port });
      data.pause();
      await new Promise<void>((resolve, reject) => { data.once('connect', resolve); data.once('error', reject); });
      c.send('RETR pub/slow.bin');
      expect((await c.reply()).code).toBe(150);
      // Let the proxy fill both socket buffers before the first read.
      await new Promise((r) => setTimeout(r, 300));
      const got = slowRead(data, 1 << 20, 15);
      data.resume();
      expect(await got).toEqual({ sha256: source.sha256, bytes: SIZE });
      expect((await c.reply(20_000)).code).toBe(226);
      c.close();
      await settle(() => p.activeSessions === 0);
      const s = p.snapshot().sessions[0];
      const retr = s.dataConnections.find((dc) => dc.command?.verb === 'RETR');
      expect([retr?.bytes, retr?.sha256, retr?.complete]).toEqual([SIZE, source.sha256, true]);
      // The bulk read grew the relay's read buffer; its growth is given back when the connection ends.
      expect(readBufferGrowthBytes()).toBe(0);
    });
  }
});

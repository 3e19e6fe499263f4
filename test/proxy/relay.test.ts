/**
 * The proxy in reverse mode between real clients (basic-ftp, curl, lftp) and vsftpd: every
 * data-channel setup, multi-megabyte transfers with sha256 on both ends, listings, REST, ABOR.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'basic-ftp';
import { startProxy, type RunningProxy } from '../../src/proxy/server.js';
import type { DataMode } from '../../src/proxy/rewrite.js';
import * as net from 'node:net';
import { RawFtp, pasvTarget, hasBinary, randomFile, run, sha256File, startVsftpd, tmpDir, settle, type Vsftpd } from './peers.js';

const canRun = hasBinary('vsftpd') || fs.existsSync('/usr/sbin/vsftpd');
const d = canRun ? describe : describe.skip;

d('reverse proxy against vsftpd', () => {
  let ftpd: Vsftpd;
  let work: string;
  const proxies: RunningProxy[] = [];
  const SIZE = 5 * 1024 * 1024 + 123;
  const ABORT_SIZE = 96 * 1024 * 1024;
  let source: { file: string; sha256: string };

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-relay-');
    source = randomFile(ftpd.pub, 'blob.bin', SIZE);
    fs.chmodSync(source.file, 0o644);
    // The ABOR test needs a transfer the server cannot finish into socket and relay buffers
    // (several MB on loopback) before the ABOR arrives, or vsftpd rightly answers 226.
    fs.chmodSync(randomFile(ftpd.pub, 'abort-me.bin', ABORT_SIZE).file, 0o644);
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function proxy(dataMode: DataMode = 'client'): Promise<RunningProxy> {
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, dataMode,
    });
    proxies.push(p);
    return p;
  }

  async function client(p: RunningProxy): Promise<Client> {
    const c = new Client(20_000);
    await c.access({ host: p.address().ip, port: p.address().port, user: 'anonymous', password: 'x@y' });
    return c;
  }

  const cases: { name: string; dataMode: DataMode; setup: 'PASV' | 'EPSV' }[] = [
    { name: 'PASV mirrored', dataMode: 'client', setup: 'PASV' },
    { name: 'EPSV mirrored', dataMode: 'client', setup: 'EPSV' },
    { name: 'PASV to the client, PORT to the server (--data-mode active)', dataMode: 'active', setup: 'PASV' },
    { name: 'EPSV to the client, EPRT to the server (--data-mode active)', dataMode: 'active', setup: 'EPSV' },
  ];
  for (const tc of cases) {
    it(`${tc.name}: download and upload of ${SIZE} bytes keep their sha256, the analysis sees both`, async () => {
      const p = await proxy(tc.dataMode);
      const c = await client(p);
      if (tc.setup === 'EPSV') c.prepareTransfer = (await import('basic-ftp')).enterPassiveModeIPv6;
      else c.prepareTransfer = (await import('basic-ftp')).enterPassiveModeIPv4;
      const down = path.join(work, `down-${tc.dataMode}-${tc.setup}.bin`);
      await c.cd('pub');
      await c.downloadTo(down, 'blob.bin');
      expect(sha256File(down)).toBe(source.sha256);
      const upName = `up-${tc.dataMode}-${tc.setup}.bin`;
      await c.uploadFrom(down, upName);
      expect(sha256File(path.join(ftpd.pub, upName))).toBe(source.sha256);
      const list = await c.list();
      expect(list.map((f) => f.name)).toContain(upName);
      c.close();
      await settle(() => p.activeSessions === 0);
      const a = p.snapshot();
      expect(a.sessions).toHaveLength(1);
      const s = a.sessions[0];
      expect(s.user).toBe('anonymous');
      const transfers = s.dataConnections.filter((dc) => dc.direction !== 'listing');
      expect(transfers.map((dc) => [dc.direction, dc.bytes, dc.sha256])).toEqual([
        ['download', SIZE, source.sha256],
        ['upload', SIZE, source.sha256],
      ]);
      expect(s.dataConnections.every((dc) => dc.setup === tc.setup)).toBe(true);
    });
  }

  it('curl in active mode (PORT, then EPRT) through --data-mode passive and mirrored', async () => {
    for (const dataMode of ['client', 'passive'] as DataMode[]) {
      const p = await proxy(dataMode);
      const url = `ftp://127.0.0.1:${p.address().port}/pub/blob.bin`;
      for (const flags of [['--ftp-port', '127.0.0.1', '--disable-eprt'], ['--ftp-port', '127.0.0.1']]) {
        const out = path.join(work, `curl-${dataMode}-${flags.length}.bin`);
        const r = await run('curl', ['-sS', '--max-time', '30', ...flags, '-o', out, url]);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(sha256File(out)).toBe(source.sha256);
      }
      await settle(() => p.activeSessions === 0);
      const setups = p.snapshot().sessions.flatMap((s) => s.dataConnections.map((dc) => dc.setup));
      expect(setups).toEqual(['PORT', 'EPRT']);
    }
  });

  it('lftp: listing, REST resume of a partial download', async () => {
    const p = await proxy();
    const partial = path.join(work, 'resume.bin');
    fs.writeFileSync(partial, fs.readFileSync(source.file).subarray(0, 1_000_000));
    const r = await run('lftp', ['-e',
      `set net:max-retries 1; set ftp:passive-mode true; cd pub; cls -1; get -c blob.bin -o ${partial}; quit`,
      '-u', 'anonymous,x', `ftp://127.0.0.1:${p.address().port}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('blob.bin');
    expect(sha256File(partial)).toBe(source.sha256);
    await settle(() => p.activeSessions === 0);
    const s = p.snapshot().sessions[0];
    expect(s.commands.some((c) => c.verb === 'REST' && c.arg === '1000000')).toBe(true);
    const retr = s.dataConnections.find((dc) => dc.command?.verb === 'RETR');
    expect(retr?.bytes).toBe(SIZE - 1_000_000);
  });

  it('ABOR during a download (Telnet IP + Synch, data connection closed, as clients do): 426 then 225/226, the session goes on', async () => {
    const p = await proxy();
    const c = await RawFtp.connect('127.0.0.1', p.address().port);
    await c.login();
    await c.cmd('TYPE I');
    const target = pasvTarget((await c.cmd('PASV')).text);
    const data = net.connect({ host: target.ip, port: target.port });
    data.on('error', () => {});
    let got = 0;
    const some = new Promise<void>((resolve) => data.on('data', (b: Buffer) => {
      got += b.length;
      if (got > 200_000) resolve();
    }));
    data.pause();
    c.send('RETR pub/abort-me.bin');
    expect((await c.reply()).code).toBe(150);
    data.resume();
    await some;
    // curl sends IAC IP IAC, then DM as TCP urgent data (cut out of the stream the proxy reads), then ABOR;
    // this is what arrives. The client also closes its data connection.
    c.sock.write(Buffer.concat([Buffer.from([0xff, 0xf4, 0xff]), Buffer.from('ABOR\r\n')]));
    data.destroy();
    const r1 = await c.reply(20_000);
    const r2 = await c.reply(20_000);
    // RFC 959: ABOR after the transfer ended is answered 225 or 226 (vsftpd says 225).
    expect(r1.code).toBe(426);
    expect([225, 226]).toContain(r2.code);
    expect((await c.cmd('NOOP')).code).toBe(200);
    c.close();
    await settle(() => p.activeSessions === 0);
    const s = p.snapshot().sessions.at(-1)!;
    expect(s.commands.find((cm) => cm.verb === 'RETR')!.replies.map((r) => r.code)).toEqual([150, 426]);
  });
});

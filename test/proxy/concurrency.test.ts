/**
 * 100 concurrent sessions through one proxy, each downloading its own file and uploading it
 * back: every sha256 intact on both ends, every session in the analysis, and no file
 * descriptor left open in the proxy's process afterwards. Also --max-sessions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { Client } from 'basic-ftp';
import { startProxy } from '../../src/proxy/server.js';
import { RawFtp, fdCount, randomFile, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('100 concurrent sessions', () => {
  let ftpd: Vsftpd;
  let work: string;
  const N = 100;
  const files: { name: string; sha256: string }[] = [];

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-many-');
    for (let i = 0; i < N; i++) {
      const f = randomFile(ftpd.pub, `f${i}.bin`, 64 * 1024 + i * 997);
      fs.chmodSync(f.file, 0o644);
      files.push({ name: `f${i}.bin`, sha256: f.sha256 });
    }
  });
  afterAll(async () => {
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('each transfers a file with its sha256 intact; no descriptors leak', async () => {
    const before = fdCount();
    // All from 127.0.0.1: the per-address limits are not what this test is about.
    const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      maxSessionsPerAddress: 0, connectRatePerMinute: 0 });
    const results = await Promise.all(files.map(async (f, i) => {
      const c = new Client(30_000);
      try {
        await c.access({ host: '127.0.0.1', port: p.address().port, user: 'anonymous', password: 'x' });
        const hash = createHash('sha256');
        await c.downloadTo(new Writable({ write(chunk, _e, cb) { hash.update(chunk); cb(); } }), `pub/${f.name}`);
        const down = hash.digest('hex');
        await c.uploadFrom(path.join(ftpd.pub, f.name), `pub/up${i}.bin`);
        return { down, up: sha256File(path.join(ftpd.pub, `up${i}.bin`)) };
      } finally {
        c.close();
      }
    }));
    expect(results.map((r) => r.down)).toEqual(files.map((f) => f.sha256));
    expect(results.map((r) => r.up)).toEqual(files.map((f) => f.sha256));
    expect(await settle(() => p.activeSessions === 0, 10_000)).toBe(true);
    const a = await p.close();
    expect(a.sessions).toHaveLength(N);
    const seen = a.sessions.flatMap((s) => s.dataConnections.filter((dc) => dc.direction === 'download').map((dc) => dc.sha256)).sort();
    expect(seen).toEqual(files.map((f) => f.sha256).sort());
    expect(await settle(() => fdCount() <= before, 10_000)).toBe(true);
  });

  it('--max-sessions: the session over the limit gets 421, the others go on', async () => {
    const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, maxSessions: 2 });
    const a = await RawFtp.connect('127.0.0.1', p.address().port);
    const b = await RawFtp.connect('127.0.0.1', p.address().port);
    await a.login();
    await b.login();
    const c = await RawFtp.connect('127.0.0.1', p.address().port);
    const r = await c.reply();
    expect(r.code).toBe(421);
    expect((await a.cmd('NOOP')).code).toBe(200);
    a.close();
    b.close();
    c.close();
    const an = await p.close();
    expect(an.findings.map((f) => f.code)).toContain('proxy-max-sessions');
  });
});

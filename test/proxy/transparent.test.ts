/**
 * Transparent mode behind a real nftables REDIRECT: connections from 127.0.0.3 to vsftpd's port
 * are redirected to the proxy, which finds the original destination with SO_ORIGINAL_DST
 * (koffi) and relays; the proxy's own connections (from 127.0.0.1) are excluded by the rule.
 * Needs root (CAP_NET_ADMIN) and nft; skipped otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { execFileSync } from 'node:child_process';
import { startProxy, type RunningProxy } from '../../src/proxy/server.js';
import { hasBinary, randomFile, run, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const TABLE = `ftpscope_test_${process.pid}`;

function nft(...args: string[]): void {
  execFileSync('nft', args, { stdio: 'pipe' });
}

function canRedirect(): boolean {
  if (!fs.existsSync('/usr/sbin/vsftpd') || !hasBinary('nft') || process.getuid?.() !== 0) return false;
  try {
    nft('add', 'table', 'ip', TABLE);
    nft('delete', 'table', 'ip', TABLE);
    return true;
  } catch {
    return false;
  }
}

const d = canRedirect() ? describe : describe.skip;

d('transparent mode behind nftables REDIRECT', () => {
  let ftpd: Vsftpd;
  let p: RunningProxy;
  let work: string;
  let blob: { file: string; sha256: string };

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-tp-');
    blob = randomFile(ftpd.pub, 'tp.bin', 2 * 1024 * 1024 + 3);
    fs.chmodSync(blob.file, 0o644);
    p = await startProxy({ mode: 'transparent', listen: { ip: '127.0.0.1', port: 0 } });
    nft('add', 'table', 'ip', TABLE);
    nft('add', 'chain', 'ip', TABLE, 'output', '{ type nat hook output priority -100; }');
    // Only the test client's address is redirected: the proxy's own upstream connection leaves from 127.0.0.1.
    nft('add', 'rule', 'ip', TABLE, 'output', 'ip', 'saddr', '127.0.0.3', 'tcp', 'dport', String(ftpd.port),
      'redirect', 'to', `:${p.address().port}`);
  });
  afterAll(async () => {
    try { nft('delete', 'table', 'ip', TABLE); } catch { /* already gone */ }
    await p?.close();
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a client that believes it talks to the server is relayed; PASV and EPSV downloads keep their sha256', async () => {
    for (const flags of [['--disable-epsv'], []]) {
      const out = path.join(work, `tp-${flags.length}.bin`);
      const r = await run('curl', ['-sS', '--max-time', '20', '--interface', '127.0.0.3', ...flags, '-o', out,
        `ftp://anonymous:x@127.0.0.1:${ftpd.port}/pub/tp.bin`]);
      expect(r.stderr).toBe('');
      expect(sha256File(out)).toBe(blob.sha256);
    }
    await settle(() => p.activeSessions === 0);
    const sessions = p.snapshot().sessions;
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      expect(s.client.ip).toBe('127.0.0.3');
      // The address the client dialled, which SO_ORIGINAL_DST gave: not the proxy's own.
      expect(s.originalServer).toEqual({ ip: '127.0.0.1', port: ftpd.port });
      expect(s.server.port).toBe(p.address().port);
      expect(s.dataConnections.find((dc) => dc.direction === 'download')?.sha256).toBe(blob.sha256);
    }
    expect(sessions.map((s) => s.dataConnections.at(-1)!.setup)).toEqual(['PASV', 'EPSV']);
  });
});

const hasV6Loopback = Object.values(os.networkInterfaces()).some((l) => l?.some((a) => a.address === '::1'));

(canRedirect() && hasV6Loopback ? describe : describe.skip)('transparent mode over IPv6 (IP6T_SO_ORIGINAL_DST)', () => {
  const TABLE6 = `${TABLE}_6`;
  let ftpd: Vsftpd;
  let p: RunningProxy;
  let work: string;
  let blob: { file: string; sha256: string };

  beforeAll(async () => {
    ftpd = await startVsftpd({ ipv6: true });
    work = tmpDir('ftpscope-proxy-tp6-');
    blob = randomFile(ftpd.pub, 'tp6.bin', 1024 * 1024 + 6);
    fs.chmodSync(blob.file, 0o644);
    p = await startProxy({ mode: 'transparent', listen: { ip: '::1', port: 0 } });
    nft('add', 'table', 'ip6', TABLE6);
    nft('add', 'chain', 'ip6', TABLE6, 'output', '{ type nat hook output priority -100; }');
    // One loopback address: the test client is told apart by its (privileged, non-ephemeral) source ports.
    nft('add', 'rule', 'ip6', TABLE6, 'output', 'tcp', 'sport', '1500-1510', 'tcp', 'dport', String(ftpd.port),
      'redirect', 'to', `:${p.address().port}`);
  });
  afterAll(async () => {
    try { nft('delete', 'table', 'ip6', TABLE6); } catch { /* already gone */ }
    await p?.close();
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('the original IPv6 destination is found and the EPSV download keeps its sha256', async () => {
    const out = path.join(work, 'tp6.bin');
    const r = await run('curl', ['-sS', '-g', '--max-time', '20', '--local-port', '1500-1510', '-o', out,
      `ftp://anonymous:x@[::1]:${ftpd.port}/pub/tp6.bin`]);
    expect(r.stderr).toBe('');
    expect(sha256File(out)).toBe(blob.sha256);
    await settle(() => p.activeSessions === 0);
    const s = p.snapshot().sessions[0];
    expect(s.client.ip).toBe('::1');
    expect(s.originalServer).toEqual({ ip: '::1', port: ftpd.port });
    expect(s.dataConnections.find((dc) => dc.direction === 'download')?.sha256).toBe(blob.sha256);
  });
});

// The test helpers themselves, against real servers and clients: the content they serve is byte-for-byte the content
// captures/served/manifest.json describes (written by record.sh), and every server/client pair moves it intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'basic-ftp';
import {
  freePort,
  freePortRange,
  ftpUrl,
  hashTree,
  loadServedManifest,
  makeClientFiles,
  makeSelfSignedCert,
  makeServedTree,
  runCurl,
  runLftp,
  sha256Hex,
  skipReason,
  startFtpSrv,
  startVsftpd,
  tempDir,
  type FtpServer,
} from './ftp-servers.js';

const manifest = loadServedManifest();
const servedSha = (path: string) => manifest.files.find((f) => f.path === path)!.sha256;
const user = { name: 'ftpscope-test', password: 'test-Passw0rd-1' };

describe('served tree', () => {
  it('regenerates exactly the content record.sh served (captures/served/manifest.json)', () => {
    const dir = tempDir();
    try {
      expect(makeServedTree(join(dir, 'srv'))).toEqual(manifest.files);
      expect(makeClientFiles(join(dir, 'cli'))).toEqual(manifest.clientFiles);
      expect(hashTree(join(dir, 'srv'))).toEqual(manifest.files);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('free ports', () => {
  it('finds a free port and a free range', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const [lo, hi] = await freePortRange(5);
    expect(hi - lo).toBe(4);
  });
});

const vsftpdSkip = skipReason('root', 'vsftpd', 'curl');
describe.skipIf(vsftpdSkip !== null)(`vsftpd on loopback${vsftpdSkip ? ` (skipped: ${vsftpdSkip})` : ''}`, () => {
  let dir: string;
  let v4: FtpServer;
  beforeAll(async () => {
    dir = tempDir();
    makeServedTree(join(dir, 'srv'));
    makeClientFiles(join(dir, 'cli'));
    v4 = await startVsftpd({ root: join(dir, 'srv'), host: '127.0.0.1', users: [user] });
  });
  afterAll(async () => {
    await v4?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const downloads: [string, string[]][] = [
    ['EPSV', []],
    ['PASV', ['--disable-epsv']],
    ['EPRT', ['-P', '127.0.0.1']],
    ['PORT', ['-P', '127.0.0.1', '--disable-eprt']],
  ];
  it.each(downloads)('curl downloads the 1 MiB blob anonymously with %s, sha256 as in the manifest', async (_mode, flags) => {
    const result = await runCurl([...flags, ftpUrl(v4, '/pub/blob-1MiB.bin')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(sha256Hex(result.stdout)).toBe(servedSha('pub/blob-1MiB.bin'));
  });

  it('a local user uploads with curl; the server stores the same bytes', async () => {
    const source = join(dir, 'cli', 'upload-300KiB.bin');
    const result = await runCurl(['-T', source, ftpUrl(v4, '/upload/from-curl.bin', user)]);
    expect(result.code).toBe(0);
    expect(sha256Hex(readFileSync(join(v4.root, 'upload', 'from-curl.bin')))).toBe(
      manifest.clientFiles.find((f) => f.path === 'upload-300KiB.bin')!.sha256,
    );
  });

  it('a wrong password is refused with 530 (curl exit 67)', async () => {
    const result = await runCurl([ftpUrl(v4, '/pub/', { name: user.name, password: 'wrong' })]);
    expect(result.code).toBe(67);
  });

  it.skipIf(skipReason('lftp') !== null)('lftp lists a directory and fetches a file with spaces in its name', async () => {
    const out = join(dir, 'lftp-spaces.txt');
    const result = await runLftp(
      `open -p ${v4.port} ${v4.host}; cd /pub/docs; cls -1; get "/pub/name with spaces.txt" -o ${out}`,
    );
    expect(result.code).toBe(0);
    expect(result.stdout.toString().split('\n').filter(Boolean).sort()).toEqual(['a.txt', 'b.txt', 'c.bin', 'nested/']);
    expect(sha256Hex(readFileSync(out))).toBe(servedSha('pub/name with spaces.txt'));
  });

  it('serves IPv6 on ::1 (EPSV)', async (ctx) => {
    let v6: FtpServer | undefined;
    try {
      v6 = await startVsftpd({ root: join(dir, 'srv'), host: '::1' });
    } catch (err) {
      ctx.skip(`no IPv6 loopback: ${(err as Error).message}`);
    }
    try {
      const result = await runCurl([ftpUrl(v6!, '/pub/docs/c.bin')]);
      expect(result.code).toBe(0);
      expect(sha256Hex(result.stdout)).toBe(servedSha('pub/docs/c.bin'));
    } finally {
      await v6?.stop();
    }
  });

  it.skipIf(skipReason('openssl') !== null)('explicit TLS with session reuse required (curl --ssl-reqd)', async () => {
    const tls = makeSelfSignedCert(dir);
    const secure = await startVsftpd({ root: join(dir, 'srv'), tls: { ...tls, requireSslReuse: true }, users: [user] });
    try {
      const result = await runCurl(['--ssl-reqd', '-k', ftpUrl(secure, '/pub/small.txt', user)]);
      expect(result.stderr).toBe('');
      expect(sha256Hex(result.stdout)).toBe(servedSha('pub/small.txt'));
    } finally {
      await secure.stop();
    }
  });

  it('stop() frees the port', async () => {
    const extra = await startVsftpd({ root: join(dir, 'srv') });
    await extra.stop();
    const result = await runCurl([ftpUrl(extra, '/pub/small.txt')], { timeoutMs: 5000 });
    expect(result.code).toBe(7); // couldn't connect
  });
});

describe('ftp-srv in process', () => {
  let dir: string;
  let server: FtpServer;
  beforeAll(async () => {
    dir = tempDir();
    makeServedTree(join(dir, 'srv'));
    server = await startFtpSrv({ root: join(dir, 'srv'), users: [user] });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skipReason('curl') !== null)('curl downloads with PASV', async () => {
    const result = await runCurl(['--disable-epsv', ftpUrl(server, '/pub/blob-1MiB.bin')]);
    expect(result.code).toBe(0);
    expect(sha256Hex(result.stdout)).toBe(servedSha('pub/blob-1MiB.bin'));
  });

  it('basic-ftp logs in as a local user, uploads and downloads', async () => {
    const client = new Client(10_000);
    try {
      await client.access({ host: server.host, port: server.port, user: user.name, password: user.password });
      const local = join(dir, 'up.txt');
      writeFileSync(local, 'basic-ftp upload\n');
      await client.uploadFrom(local, '/upload/basic.txt');
      const back = join(dir, 'back.bin');
      await client.downloadTo(back, '/pub/docs/c.bin');
      expect(readFileSync(join(server.root, 'upload', 'basic.txt'), 'utf8')).toBe('basic-ftp upload\n');
      expect(sha256Hex(readFileSync(back))).toBe(servedSha('pub/docs/c.bin'));
    } finally {
      client.close();
    }
  });

  it('refuses a wrong password', async () => {
    const client = new Client(10_000);
    try {
      await expect(client.access({ host: server.host, port: server.port, user: user.name, password: 'nope' })).rejects.toThrow(
        /530|incorrect/i,
      );
    } finally {
      client.close();
    }
  });
});

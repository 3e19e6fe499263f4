/**
 * TLS: termination with a self-signed certificate against vsftpd with require_ssl_reuse=YES
 * (the server-side data connections must resume the control TLS session), and passthrough.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'basic-ftp';
import { startProxy, type RunningProxy } from '../../src/proxy/server.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { analyzeFilePackets } from '../../src/analysis/sources/file.js';
import { hasBinary, makeCert, randomFile, run, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('TLS through the proxy against vsftpd (require_ssl_reuse=YES)', () => {
  let ftpd: Vsftpd;
  let work: string;
  let blob: { file: string; sha256: string };
  let cert: { cert: string; key: string };
  const proxies: RunningProxy[] = [];

  beforeAll(async () => {
    ftpd = await startVsftpd({ tls: true });
    work = tmpDir('ftpscope-proxy-tls-');
    cert = makeCert(work);
    blob = randomFile(ftpd.pub, 'secret.bin', 3 * 1024 * 1024 + 1);
    fs.chmodSync(blob.file, 0o644);
  });
  afterAll(async () => {
    for (const p of proxies) await p.close();
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function terminating(): Promise<RunningProxy> {
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      tls: { certFile: cert.cert, keyFile: cert.key },
    });
    proxies.push(p);
    return p;
  }

  it('--tls-terminate: basic-ftp (explicit FTPS, PROT P) downloads and uploads; the analysis sees the decrypted session', async () => {
    const p = await terminating();
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: p.address().port, user: 'anonymous', password: 'x', secure: true,
      secureOptions: { rejectUnauthorized: false } });
    // While the session runs: TLS since AUTH's 234, and still decoded (the login after it is seen).
    const live = p.snapshot().sessions[0]!;
    expect(live.tls).toBe(true);
    expect(live.commands.find((cm) => cm.verb === 'AUTH')?.replies.map((r) => r.code)).toEqual([234]);
    expect(live.commands.map((cm) => cm.verb)).toEqual(expect.arrayContaining(['USER', 'PASS', 'PBSZ', 'PROT']));
    expect(live.findings.find((f) => f.code === 'control-tls')?.message).toMatch(/still decoded/);
    // The password went inside TLS: no clear-text credentials finding.
    expect(live.findings.map((f) => f.code)).not.toContain('cleartext-credentials');
    const out = path.join(work, 'secret.bin');
    await c.downloadTo(out, 'pub/secret.bin');
    expect(sha256File(out)).toBe(blob.sha256);
    await c.uploadFrom(out, 'pub/secret-up.bin');
    expect(sha256File(path.join(ftpd.pub, 'secret-up.bin'))).toBe(blob.sha256);
    c.close();
    await settle(() => p.activeSessions === 0);
    const s = p.snapshot().sessions[0];
    expect(s.tls).toBe(true);
    expect(s.user).toBe('anonymous');
    expect(s.commands.map((cm) => cm.verb)).toEqual(expect.arrayContaining(['PBSZ', 'PROT', 'RETR', 'STOR']));
    expect(s.dataConnections.filter((dc) => dc.direction !== 'listing').map((dc) => dc.sha256)).toEqual([blob.sha256, blob.sha256]);
    expect(s.findings.map((f) => f.code)).toContain('proxy-tls-terminated');
  });

  it('--tls-terminate: curl --ssl-reqd (passive) and lftp (active, PORT) with PROT P', async () => {
    const p = await terminating();
    const out = path.join(work, 'curl.bin');
    const r = await run('curl', ['-sS', '-k', '--ssl-reqd', '--max-time', '30', '-o', out, `ftp://127.0.0.1:${p.address().port}/pub/secret.bin`]);
    expect(r.stderr).toBe('');
    expect(sha256File(out)).toBe(blob.sha256);
    // curl 7.88's active-mode FTPS fails against vsftpd directly too; lftp covers active mode.
    const out2 = path.join(work, 'lftp.bin');
    const l = await run('lftp', ['-e', `set ssl:verify-certificate no; set ftp:ssl-force true; set ftp:ssl-protect-data true; set ftp:passive-mode off; set net:max-retries 1; get pub/secret.bin -o ${out2}; quit`,
      '-u', 'anonymous,x', `ftp://127.0.0.1:${p.address().port}`]);
    expect(l.code, l.stderr).toBe(0);
    expect(sha256File(out2)).toBe(blob.sha256);
    await settle(() => p.activeSessions === 0);
    const dcs = p.snapshot().sessions.flatMap((s) => s.dataConnections.filter((dc) => dc.direction === 'download'));
    expect(dcs.map((dc) => [dc.mode, dc.sha256])).toEqual([['passive', blob.sha256], ['active', blob.sha256]]);
  });

  // The recording holds what the proxy relayed: with --tls-terminate, the clear text it decrypted; in
  // passthrough, the TLS records after AUTH TLS. The server-facing control leg's packets are read
  // the way tshark reads the file: FTP lines where it decodes FTP, TLS where it decodes TLS.
  const tsharkIt = hasBinary('tshark') ? it : it.skip;
  tsharkIt.each([
    { mode: 'terminate', tls: true },
    { mode: 'passthrough', tls: false },
  ])('--record, $mode: the server-facing control leg read as tshark reads it (FTP lines, TLS records)', async ({ mode, tls }) => {
    const pcap = path.join(work, `tls-record-${mode}.pcapng`);
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      ...(tls ? { tls: { certFile: cert.cert, keyFile: cert.key } } : {}), recordTo: new PcapngWriter(pcap),
    });
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: p.address().port, user: 'anonymous', password: 'x', secure: true,
      secureOptions: { rejectUnauthorized: false } });
    await c.list('pub');
    c.close();
    await settle(() => p.activeSessions === 0);
    await p.close();
    const { packets } = await analyzeFilePackets(pcap, { ftpPorts: [p.address().port] });
    const facts = new Map([...packets()].map((f) => [f.frame, f]));
    const t = await run('tshark', ['-n', '-r', pcap, '-d', `tcp.port==${ftpd.port},ftp`, '-T', 'fields', '-E', 'separator=|',
      '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tcp.len', '-e', 'frame.comment', '-e', 'frame.protocols', '-e', 'ftp.request.command']);
    expect(t.code, t.stderr).toBe(0);
    let leg: string | null = null;
    const commands: string[] = [];
    let tlsFrames = 0;
    for (const [frame, stream, len, comment, protocols, command] of t.stdout.trim().split('\n').map((l) => l.split('|'))) {
      if (comment?.includes('server-facing control leg')) leg = stream!;
      if (stream !== leg || Number(len) === 0) continue;
      const f = facts.get(Number(frame))!;
      expect(f.channel).toBe('proxy-control');
      expect(f.tls, `frame ${frame}`).toBe(protocols!.split(':').includes('tls'));
      if (f.tls) tlsFrames++;
      if (command) {
        expect(f.wire?.map((l) => (l.kind === 'request' ? l.verb : null)), `frame ${frame}`).toEqual([command]);
        commands.push(command);
      }
    }
    // The proxy's own AUTH TLS to the server (terminate) or the client's relayed (passthrough) is read in
    // clear; what follows is clear text the proxy decrypted, or TLS it relayed.
    expect(commands[0]).toBe('AUTH');
    if (tls) {
      expect(commands).toEqual(expect.arrayContaining(['USER', 'PASS', 'LIST']));
      expect(tlsFrames).toBe(0);
    } else {
      expect(commands).toEqual(['AUTH']);
      expect(tlsFrames).toBeGreaterThan(5);
    }
  });

  it('passthrough (default): the control TLS is relayed opaquely and the session is marked tls', async () => {
    const p = await startProxy({ mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port } });
    proxies.push(p);
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: p.address().port, user: 'anonymous', password: 'x', secure: true,
      secureOptions: { rejectUnauthorized: false } });
    // Data goes straight to the server's announced address: the proxy cannot read the encrypted 227.
    const list = await c.list('pub');
    expect(list.map((f) => f.name)).toContain('secret.bin');
    c.close();
    await settle(() => p.activeSessions === 0);
    const s = p.snapshot().sessions[0];
    expect(s.tls).toBe(true);
    expect(s.controlBytes[0] + s.controlBytes[1]).toBeGreaterThan(1000);
    expect(s.findings.map((f) => f.code)).toContain('proxy-tls-passthrough');
  });
});

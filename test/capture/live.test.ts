import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../src/capture/open.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { LIVE_PERMISSION_HINT, listInterfaces, liveAvailable, openError, openLive } from '../../src/capture/live.js';
import { FtpscopeError } from '../../src/errors.js';
import { loadLibpcap, PCAP_ERROR_PERM_DENIED } from '../../src/capture/libpcap.js';
import { curl, sleep, startFtpServer } from './ftp-peer.js';

const isRoot = process.getuid?.() === 0;
const haveCap = liveAvailable();
const haveCurl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
const haveTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'ftpscope-live-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const why = !haveCap ? 'cap is not built (apt-get install libpcap-dev && npm rebuild cap)' : !isRoot ? 'not root (live capture needs CAP_NET_RAW)' : '';

describe('live capture errors', () => {
  it.skipIf(!haveCap)('lists interfaces with their addresses, loopback included', () => {
    const lo = listInterfaces().find((i) => i.loopback);
    expect(lo).toBeDefined();
    expect(lo!.addresses.map((a) => a.addr)).toContain('127.0.0.1');
  });

  it.skipIf(!haveCap)('an interface that does not exist is live-interface', () => {
    const e = (() => { try { openLive({ device: 'nosuch0', onPacket() {} }); } catch (x) { return x; } })() as FtpscopeError;
    expect(e).toBeInstanceOf(FtpscopeError);
    expect(e.code).toBe('live-interface');
    expect(e.describe()).toMatch(/(no capture interface named|cannot capture on interface) "nosuch0".*ftpscope interfaces/);
  });

  it.skipIf(!haveCap || !isRoot)('a bad BPF filter is live-interface naming the filter, and does not crash later', () => {
    for (const filter of ['tcp port nosuchport', 'tcp and and']) {
      const e = (() => { try { openLive({ device: 'lo', filter, onPacket() {} }); } catch (x) { return x; } })() as FtpscopeError;
      expect(e).toBeInstanceOf(FtpscopeError);
      expect(e.code).toBe('live-interface');
      expect(e.message).toContain(`bad capture filter "${filter}"`);
    }
    (globalThis as { gc?: () => void }).gc?.();
  });

  it.skipIf(!haveCap || !isRoot)('without privilege libpcap refuses, and we say how to grant it (real libpcap as user nobody)', () => {
    const capPath = createRequire(import.meta.url).resolve('cap');
    const script = `const { Cap } = require(${JSON.stringify(capPath)});
      try { new Cap().open('lo', '', 1 << 20, Buffer.alloc(65535)); console.log('OPENED'); } catch (e) { console.log(e.message); }
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
    const e = openError('lo', '', r.stdout);
    expect(e.code).toBe('live-permission');
    expect(e.hint).toBe(LIVE_PERMISSION_HINT);
    expect(e.describe()).toContain('setcap cap_net_raw,cap_net_admin=eip');
  });

  it.skipIf(!loadLibpcap() || !isRoot)('without privilege pcap_activate says PERM_DENIED, which we map to live-permission (koffi, as user nobody)', () => {
    const koffiPath = createRequire(import.meta.url).resolve('koffi');
    const script = `const koffi = require(${JSON.stringify(koffiPath)});
      let lib; for (const n of ['libpcap.so.1', 'libpcap.so.0.8', 'libpcap.so']) { try { lib = koffi.load(n); break; } catch {} }
      const p = lib.func('void *pcap_create(const char *, _Out_ uint8_t *)')('lo', Buffer.alloc(512));
      const status = lib.func('int pcap_activate(void *)')(p);
      console.log(JSON.stringify({ status, message: lib.func('const char *pcap_geterr(void *)')(p) }));`;
    const r = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
    const { status, message } = JSON.parse(r.stdout) as { status: number; message: string };
    expect(status).toBe(PCAP_ERROR_PERM_DENIED);
    expect(openError('lo', '', message).code).toBe('live-permission');
  });
});

describe('live capture on loopback with a real FTP server and client', () => {
  it.skipIf(!haveCap || !isRoot || !haveCurl)(`captures the FTP exchange and writes a pcapng both readers accept${why ? ` (skipped: ${why})` : ''}`, async () => {
    const root = join(tmp, 'root');
    const content = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i} of the served file\n`).join(''));
    rmSync(root, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(root);
    writeFileSync(join(root, 'served.txt'), content);
    const sha = createHash('sha256').update(content).digest('hex');

    const { port, pasvMin, pasvMax, close } = await startFtpServer(root);

    const out = process.env.FTPSCOPE_KEEP_LIVE ?? join(tmp, 'live.pcapng');
    const writer = new PcapngWriter(out, { comment: 'live test' });
    const live = openLive({
      device: 'lo',
      filter: `tcp and host 127.0.0.1 and (port ${port} or portrange ${pasvMin}-${pasvMax})`,
      onPacket: (r) => { writer.writePacket(ifId, r.ts, r.buf.subarray(r.offset, r.offset + r.caplen), r.wirelen); },
    });
    const ifId = writer.addInterface(live.linkType, { name: 'lo' });
    // tcpdump on the same traffic: an independent record of every packet's kernel timestamp.
    const dumpFile = join(tmp, 'tcpdump.pcap');
    const tcpdump = haveTcpdump
      ? spawn('tcpdump', ['-i', 'lo', '-U', '-n', '-s', '0', '-w', dumpFile, `tcp and host 127.0.0.1 and (port ${port} or portrange ${pasvMin}-${pasvMax})`], { stdio: 'ignore' })
      : null;
    try {
      await sleep(tcpdump ? 1500 : 300);
      const got = await curl(`ftp://127.0.0.1:${port}/served.txt`);
      expect(createHash('sha256').update(got).digest('hex')).toBe(sha);
      await sleep(500);
    } finally {
      live.stop();
      await close();
      await writer.close();
      if (tcpdump) {
        const exited = new Promise((r) => tcpdump.once('close', r));
        tcpdump.kill('SIGINT');
        await exited;
      }
    }
    expect(live.stats().packets).toBeGreaterThan(10);
    if (live.backend === 'libpcap') expect(live.stats().kernelDropped).toBe(0);

    if (tcpdump) {
      // Same packets (keyed by their headers: cap keeps at most 65535 bytes of loopback's 64 KiB
      // frames), and with the libpcap backend the kernel's timestamps: each packet socket stamps
      // on its own receive, so they agree within microseconds, not exactly.
      const key = (r: { buf: Buffer; offset: number; caplen: number }) => r.buf.toString('hex', r.offset, r.offset + Math.min(r.caplen, 96));
      const theirs = new Map<string, number>();
      await readCapture(dumpFile, (r) => { theirs.set(key(r), r.ts); });
      const ours: [string, number][] = [];
      await readCapture(out, (r) => { ours.push([key(r), r.ts]); });
      expect(ours.length).toBe(theirs.size);
      for (const [bytes, ts] of ours) {
        expect(theirs.has(bytes)).toBe(true);
        if (live.backend === 'libpcap') expect(Math.abs(theirs.get(bytes)! - ts)).toBeLessThan(100e-6);
      }
    }

    const payloads: Buffer[] = [];
    const info = await readCapture(out, (r) => payloads.push(Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen))));
    expect(info.packets).toBe(live.stats().packets);
    expect(info.comments).toEqual(['live test']);
    const all = Buffer.concat(payloads).toString('latin1');
    expect(all).toMatch(/220[- ]ftpscope live test\r\n/);
    expect(all).toMatch(/USER anonymous\r\n/);
    expect(all).toMatch(/EPSV|PASV/);
    expect(all).toContain('RETR served.txt\r\n');
    expect(all).toContain('line 19999 of the served file');

    if (spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0) {
      const t = spawnSync('tshark', ['-n', '-r', out, '-d', `tcp.port==${port},ftp`, '-Y', 'ftp.request.command == "RETR"', '-T', 'fields', '-e', 'ftp.request.arg'], { encoding: 'utf8' });
      expect(t.stdout.trim()).toBe('served.txt');
      const n = spawnSync('tshark', ['-n', '-r', out, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
      expect(n.stdout.trim().split('\n').length).toBe(info.packets);
    }
  });
});

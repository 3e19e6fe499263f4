/**
 * End to end on a live source: `ftpscope proxy --tui` in tmux between a real FTP server
 * (ftp-srv, from npm) and a real client (basic-ftp). The dashboard must show the session and
 * its transfer while the proxy runs, list and dissect the packets it synthesized for the client's
 * legs, and restore the terminal on q.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Client } from 'basic-ftp';
import ftpSrv from 'ftp-srv';
import { afterAll, describe, expect, it } from 'vitest';
import { hasTmux, tmuxForTest } from '../helpers/tmux.js';
import { bytes } from '../../src/tui/text.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = ROOT + 'dist/src/cli/main.js';
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(!hasTmux())('ftpscope proxy --tui in tmux, between ftp-srv and basic-ftp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ftpscope-tui-proxy-'));
  let server: InstanceType<typeof ftpSrv.FtpSrv> | null = null;
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the session and its RETR live, with the bytes transferred', async () => {
    const { tmux, waitFor } = tmuxForTest('px', 'ftpscope-proxy-test');
    const content = randomBytes(200_000);
    writeFileSync(join(dir, 'blob.bin'), content);
    const ftpPort = await freePort();
    const proxyPort = await freePort();
    const pasvMin = 40000 + (process.pid % 1000) * 10;
    // ftp-srv logs through bunyan by default; keep the test output clean
    const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };
    server = new ftpSrv.FtpSrv({
      url: `ftp://127.0.0.1:${ftpPort}`, pasv_url: '127.0.0.1', pasv_min: pasvMin, pasv_max: pasvMin + 9,
      anonymous: true, greeting: ['ftpscope dashboard test'], log: quiet as never,
    });
    server.on('login', (_data, resolve) => resolve({ root: dir }));
    server.on('client-error', () => {});
    await server.listen();

    tmux('new-session', '-d', '-s', 'px', '-x', '120', '-y', '30',
      `cd ${ROOT} && TERM=xterm-256color node ${CLI} proxy --listen 127.0.0.1:${proxyPort} --upstream 127.0.0.1:${ftpPort} --tui; echo __EXIT=$?; sleep 30`);
    await waitFor(/● LIVE/, 'the live dashboard');

    const client = new Client(10_000);
    const received: Buffer[] = [];
    try {
      await client.access({ host: '127.0.0.1', port: proxyPort, user: 'anonymous', password: 'guest@' });
      await client.list();
      await client.downloadTo(new Writable({ write(c: Buffer, _e, cb) { received.push(c); cb(); } }), 'blob.bin');
    } finally {
      client.close();
    }
    const got = Buffer.concat(received);
    expect(createHash('sha256').update(got).digest('hex')).toBe(createHash('sha256').update(content).digest('hex'));

    // The row appears when the data connection opens, and shows the transfer complete once the proxy has
    // seen it close and the 226 (the dashboard redraws on its own clock, so screens in between are possible).
    const size = bytes(content.length).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const doneRow = new RegExp(`└ RETR blob\\.bin[^\\n]*${size}(?![^\\n]*incomplete)`);
    let text = await waitFor(doneRow, 'the RETR data connection in the sessions view, with its bytes');
    expect(text).toContain('anonymous');
    expect(text).toContain(`127.0.0.1:${proxyPort}`);
    const retrRow = text.split('\n').find((l) => l.includes('└ RETR blob.bin'))!;
    expect(retrRow).toContain(bytes(content.length));
    expect(retrRow).not.toContain('incomplete');
    expect(text).toMatch(/└ LIST/);

    tmux('send-keys', '-t', 'px', '2');
    text = await waitFor(/Flow — session 1/, 'the flow of the session');
    expect(text).toMatch(/USER anonymous/);

    // The packets the proxy synthesized for the client's legs: listed, dissected, and the handshake view works.
    tmux('send-keys', '-t', 'px', '3');
    text = await waitFor(/Packets — session 1/, 'the packet list of the session');
    // (the Analysis column stays empty: the proxy's synthesized packets have no TCP analysis)
    expect(text).toMatch(/ctrl +C→S\* +SYN +0 +SYN seq=\d+/);
    expect(text).toMatch(/ctrl +C→S\* +ACK,PSH +\d+ +Request: USER anonymous/);
    tmux('send-keys', '-t', 'px', '4');
    text = await waitFor(/Layers — frame \d+/, 'the layers of the selected packet');
    expect(text).toContain('Protocols in frame: eth:ip:tcp');
    tmux('send-keys', '-t', 'px', '6');
    text = await waitFor(/Handshake —/, 'the handshake view of the control connection');
    expect(text).toMatch(/SYN-SENT +── SYN ─/);
    expect(text).toMatch(/ESTABLISHED +── ACK ─/);

    tmux('send-keys', '-t', 'px', 'q');
    text = await waitFor(/__EXIT=\d+/, 'the proxy to exit');
    expect(text).toContain('__EXIT=0');
    expect(tmux('display', '-p', '-t', 'px', '#{alternate_on}').trim()).toBe('0');
    expect(tmux('display', '-p', '-t', 'px', '#{cursor_flag}').trim()).toBe('1');
  });
});

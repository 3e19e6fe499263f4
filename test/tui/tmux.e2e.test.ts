/**
 * End to end: the real CLI in a detached tmux session of fixed size, driven by keys, read back
 * with capture-pane, as a user would see it. Needs tmux and a built dist/ (npm test builds).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { hasTmux, processAlive, tmuxForTest, until } from '../helpers/tmux.js';
import { readTsv } from './harness.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = ROOT + 'dist/src/cli/main.js';
const frame1 = readTsv(ROOT + 'test/tui/expected/ipv4-frame1.tsv')[0];
const syn = readTsv(ROOT + 'test/tui/expected/ipv4-syn.tsv');
const ftpLog = readTsv(ROOT + 'captures/public/zeek/expected/scripts.base.protocols.ftp.ftp-ipv4/ftp.log');
const connLog = readTsv(ROOT + 'captures/public/zeek/expected/scripts.base.protocols.ftp.ftp-ipv4/conn.log');

describe.skipIf(!hasTmux())('ftpscope <capture> in tmux', () => {
  it('shows sessions, a RETR and its data connection, the handshake and a field\'s bytes; q restores the terminal', async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build first`).toBe(true);
    const { tmux, waitFor, keys, typeText } = tmuxForTest('e2e');
    const cmd = `cd ${ROOT} && TERM=xterm-256color node ${CLI} captures/public/zeek/ipv4.pcap; echo __EXIT=$?; sleep 30`;
    tmux('new-session', '-d', '-s', 'e2e', '-x', '80', '-y', '24', cmd);

    const client = `${ftpLog[0]['id.orig_h']}:${ftpLog[0]['id.orig_p']}`;
    let text = await waitFor(/Sessions \(1\)/, 'the sessions view');
    expect(text).toContain(client);
    expect(tmux('display', '-p', '-t', 'e2e', '#{alternate_on}').trim()).toBe('1');
    // a RETR and its data connection, nested under the session
    // at 80 columns the path gives way to the pairing evidence (mode, verb, announced endpoint)
    expect(text).toMatch(/└ RETR .*\(passive PASV\) .*→ 199\.233\.217\.249:\d+/);
    expect(text.match(/└ /g)).toHaveLength(connLog.filter((c) => c.service === 'ftp-data').length);

    // the flow: find the RETR arrow and the data connection it used
    await keys('Enter');
    await waitFor(/Flow — session 1/, 'the flow view');
    await keys('/');
    await typeText('RETR robots');
    await keys('Enter');
    text = await waitFor(/RETR robots\.txt/, 'RETR in the flow');
    expect(text).toMatch(/D\d+ passive PASV/);

    // the handshake teaching view of the control connection
    await keys('Escape', '6');
    text = await waitFor(/Handshake —/, 'the handshake view');
    expect(text).toMatch(/SYN-SENT +── SYN ─/);
    expect(text).toMatch(/◀── SYN, ACK ─/);
    expect(text).toMatch(/ESTABLISHED +── ACK ─/);
    expect(text).toContain(`seq=${syn[0]['tcp.seq_raw']} (relative 0)`);

    // a field's bytes in the hex view: TCP source port of frame 1
    await keys('Escape', '4', '/');
    await typeText('Source port');
    await keys('Enter');
    const hex = Number(frame1['tcp.srcport']).toString(16).padStart(4, '0').replace(/(..)(..)/, '$1 $2');
    text = await waitFor(new RegExp(`\\[${hex}\\]`), `the source port bytes [${hex}] in the hex view`);
    expect(text).toContain(`Source port: ${frame1['tcp.srcport']}`);

    // a bigger terminal reflows to four panes
    tmux('resize-window', '-t', 'e2e', '-x', '160', '-y', '50');
    text = await waitFor(/Packets — session 1/, 'the wide layout after resizing');
    expect(text).toMatch(/Flow — session 1/);
    expect(text).toMatch(/Layers — frame/);
    expect(text).toMatch(/Hex — frame/);

    await keys('q');
    text = await waitFor(/__EXIT=\d+/, 'the process to exit');
    expect(text).toContain('__EXIT=0');
    expect(tmux('display', '-p', '-t', 'e2e', '#{alternate_on}').trim()).toBe('0');
    expect(tmux('display', '-p', '-t', 'e2e', '#{cursor_flag}').trim()).toBe('1');
    expect(text).not.toMatch(/Error|at .*\.js:\d+/);
  });

  it('Ctrl-C quits from a prompt and restores the terminal; NO_COLOR and --no-mouse are accepted', async () => {
    const { tmux, waitFor, keys, typeText } = tmuxForTest('e2e');
    const cmd = `cd ${ROOT} && NO_COLOR=1 TERM=xterm-256color node ${CLI} open --no-mouse captures/public/zeek/ipv6.pcap; echo __EXIT=$?; sleep 30`;
    tmux('new-session', '-d', '-s', 'e2e', '-x', '100', '-y', '30', cmd);
    await waitFor(/Sessions \(1\)/, 'the sessions view');
    await keys('/');
    await typeText('EPSV');
    await keys('C-c');
    const text = await waitFor(/__EXIT=\d+/, 'the process to exit');
    expect(text).toContain('__EXIT=0');
    expect(tmux('display', '-p', '-t', 'e2e', '#{alternate_on}').trim()).toBe('0');
    expect(tmux('display', '-p', '-t', 'e2e', '#{cursor_flag}').trim()).toBe('1');
  });

  it.each([[false], [true]])('the layers and hex panes mask PASS unless --show-passwords (%s)', async (show) => {
    const { tmux, waitFor, keys, typeText } = tmuxForTest('e2e');
    // tshark: frame 11 of this capture is "PASS not-the-password" (captures/expected/vsftpd-login-failed.pcap.tsv)
    const secret = readTsv(ROOT + 'captures/expected/vsftpd-login-failed.pcap.tsv').find((r) => r['frame.number'] === '11')!;
    expect(secret['ftp.request.command']).toBe('PASS');
    const cmd = `cd ${ROOT} && NO_COLOR=1 TERM=xterm-256color node ${CLI} captures/vsftpd-login-failed.pcap${show ? ' --show-passwords' : ''}; echo __EXIT=$?; sleep 30`;
    tmux('new-session', '-d', '-s', 'e2e', '-x', '160', '-y', '50', cmd);
    // The whole file read (every control connection tshark sees a SYN for), so the packet lists are complete.
    const sessions = readTsv(ROOT + 'captures/expected/vsftpd-login-failed.pcap.tsv').filter((r) => r['tcp.dstport'] === '21' && r['tcp.flags'] === '0x0002').length;
    await waitFor(new RegExp(`Sessions \\(${sessions}\\)`), 'the sessions view with every session');
    await keys('Enter', '3');
    await waitFor(/\[\*\] Packets — session 1/, 'the packets pane, focused');
    await keys('/');
    await typeText('Request: PASS');
    await waitFor(/search: \/Request: PASS/, 'the search text in the prompt');
    await keys('Enter');
    await waitFor(/Hex — frame 11\b/, 'the hex of the PASS packet');
    // the layers pane: find the FTP argument in the tree
    await keys('Tab');
    await waitFor(/\[\*\] Layers — frame 11\b/, 'the layers pane, focused');
    await keys('/');
    await typeText('Request arg');
    await waitFor(/search: \/Request arg/, 'the search text in the prompt');
    await keys('Enter');
    const screen = await waitFor(/Layers — frame 11\b[\s\S]*Request arg/, 'the FTP layer of the PASS packet');
    if (show) {
      expect(screen).toContain(`Request arg: ${secret['ftp.request.arg']}`);
      expect(screen).toContain(`Request: PASS ${secret['ftp.request.arg']}`);
      expect(screen).toMatch(/ot-the-p \[ftp\*?\]/); // the hex pane's ASCII column, 8 bytes a row at this width
    } else {
      expect(screen).toMatch(/Request arg: \*{4} \(masked/);
      expect(screen).toMatch(/Request: PASS \*{4}/);
      expect(screen).toMatch(/\*{8} \[ftp\*?\]/);
      expect(screen).not.toContain(secret['ftp.request.arg']);
      expect(screen).not.toContain('ot-the-p');
    }
  });

  it('closing the window under the dashboard ends it quietly: no native assertion, nothing on stderr', async () => {
    const { tmux, waitFor } = tmuxForTest('e2e');
    const dir = mkdtempSync(join(tmpdir(), 'ftpscope-hangup-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const stderr = join(dir, 'stderr');
    // exec: the pane's process is the dashboard itself, so its pid is the pane's
    const cmd = `cd ${ROOT} && exec env TERM=xterm-256color node ${CLI} captures/tour.pcapng 2>${stderr}`;
    tmux('new-session', '-d', '-s', 'e2e', '-x', '100', '-y', '30', cmd);
    // a second window keeps the tmux server up once the dashboard's window is gone
    tmux('new-window', '-d', '-t', 'e2e', 'sleep 300');
    const pid = Number(tmux('display', '-p', '-t', 'e2e:0', '#{pane_pid}').trim());
    await waitFor(/Sessions \(5\)/, 'the sessions view');

    tmux('kill-window', '-t', 'e2e:0');
    await until(() => !processAlive(pid), () => `the dashboard (pid ${pid}) to exit after its window was closed`);
    const written = readFileSync(stderr, 'utf8');
    expect(written).not.toMatch(/Assertion|ResetStdio|Native stack/);
    expect(written).toBe('');
  });
});

describe.skipIf(!hasTmux())('ftpscope <not a capture> in tmux', () => {
  it('says what is wrong in one line and never takes over the terminal', async () => {
    const { tmux, waitFor } = tmuxForTest('e2e');
    const cmd = `cd ${ROOT} && TERM=xterm-256color node ${CLI} package.json; echo __EXIT=$?; sleep 30`;
    tmux('new-session', '-d', '-s', 'e2e', '-x', '100', '-y', '20', cmd);
    const text = await waitFor(/__EXIT=\d+/, 'the process to exit');
    expect(text).toMatch(/__EXIT=2/);
    const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('__EXIT'));
    expect(lines.join('\n')).toMatch(/^ftpscope: .*package\.json/);
    expect(text).not.toMatch(/\bat .*\.js:\d+/);
    expect(tmux('display', '-p', '-t', 'e2e', '#{alternate_on}').trim()).toBe('0');
  });
});

describe('ftpscope <capture> without a terminal', () => {
  it('prints the text report instead of the dashboard', () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build first`).toBe(true);
    const out = execFileSync('node', [CLI, 'captures/public/zeek/ipv4.pcap'], { cwd: ROOT, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(out).not.toContain('\x1b[');
    expect(out).toContain(`${ftpLog[0]['id.orig_h']}:${ftpLog[0]['id.orig_p']}`);
    expect(out).toContain('RETR');
  });
});

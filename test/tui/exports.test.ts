// The dashboard's export keys: each asks for a path with a default, asks before replacing a file,
// and says where it wrote; what it writes is what `ftpscope export` writes (tested there against
// tshark). Here: the prompt, on a real blessed screen, and once end to end in tmux.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analysisOf, CAPTURES, fileSource, openHarness, type Harness } from './harness.js';
import { fileExports } from '../../src/tui/exports.js';
import { sessionToJson } from '../../src/report/json.js';
import { hasTmux, tmuxForTest } from '../helpers/tmux.js';
import { helpLines } from '../../src/tui/keymap.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = ROOT + 'dist/src/cli/main.js';

async function open(rel: string, cols = 120, rows = 30): Promise<Harness> {
  const a = await analysisOf(rel);
  return openHarness({ ...fileSource(rel, a), exports: fileExports(CAPTURES + rel) }, cols, rows);
}

const statusLine = (h: Harness): string => h.lines()[h.lines().length - 1]!.trim();

async function exported(h: Harness): Promise<void> {
  await h.run.dashboard.exporting;
  await h.settle();
}

describe('dashboard export keys', () => {
  it('w: the session as pcapng, default path offered, written where the status line says', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ex-tui-'));
    const h = await open('zeek/ipv4.pcap');
    try {
      await h.press('w');
      expect(statusLine(h)).toMatch(/^save session as pcapng \(session 1\) to: ipv4-s1\.pcapng▏ +\(Enter save, Esc cancel, Ctrl-U clear\)$/);
      await h.press('\x15'); // Ctrl-U clears the default
      await h.type(join(dir, 's1.pcapng'));
      await h.press('enter');
      await exported(h);
      expect(statusLine(h)).toBe(`wrote session 1 (95 packets: control + 4 data connections) to ${join(dir, 's1.pcapng')}`);
      const n = execFileSync('tshark', ['-r', join(dir, 's1.pcapng'), '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      expect(n.trim().split('\n')).toHaveLength(95);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an existing file: asks y/n; n goes back to the path, y replaces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ex-tui-'));
    const target = join(dir, 's1.json');
    writeFileSync(target, 'old');
    const h = await open('zeek/ipv4.pcap');
    try {
      await h.press('e', '\x15');
      await h.type(target);
      await h.press('enter');
      expect(statusLine(h)).toBe(`${target} exists. Replace it? (y/n)`);
      await h.press('n');
      expect(statusLine(h)).toMatch(/^save session JSON \(session 1\) to: .*s1\.json▏/);
      expect(readFileSync(target, 'utf8')).toBe('old');
      await h.press('enter', 'y');
      await exported(h);
      expect(statusLine(h)).toBe(`wrote session 1 as JSON to ${target}`);
      const a = await analysisOf('zeek/ipv4.pcap');
      expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual(JSON.parse(JSON.stringify(sessionToJson(a.sessions[0]!))));
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('x: the transfer of the selected D row; with the session row selected it says what to select', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ex-tui-'));
    const h = await open('zeek/ipv4.pcap');
    try {
      await h.press('x');
      expect(statusLine(h)).toBe('select a transfer: its D row in the sessions list, or one of its packets in the flow or packets pane');
      // the rows under the session: D1 LIST, D2 RETR, …
      await h.press('down', 'down', 'x');
      expect(statusLine(h)).toMatch(/^save transfer file D2 to: ipv4-s1-d2-retr-robots\.txt▏/);
      await h.press('\x15');
      await h.type(join(dir, 'robots.txt'));
      await h.press('enter');
      await exported(h);
      expect(statusLine(h)).toBe(`wrote D2 RETR robots.txt (77 B, complete) to ${join(dir, 'robots.txt')}`);
      expect(readFileSync(join(dir, 'robots.txt'), 'utf8')).toMatch(/^User-agent: \*/);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('L: the ladder; Esc cancels without writing; a bad path gets one line and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ex-tui-'));
    const h = await open('zeek/ipv4.pcap');
    try {
      await h.press('L', 'escape');
      expect(statusLine(h)).toBe('export cancelled');
      await h.press('L', '\x15');
      await h.type(join(dir, 'missing', 'l.txt'));
      await h.press('enter');
      await exported(h);
      // the line is cut to the terminal's width (120 columns here)
      expect(`not saved: cannot write ${join(dir, 'missing', 'l.txt')}: no directory ${join(dir, 'missing')} (choose a path in a writable directory)`)
        .toMatch(new RegExp('^' + statusLine(h).replace(/…$/, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      expect(existsSync(join(dir, 'missing'))).toBe(false);
      await h.press('L', '\x15');
      await h.type(join(dir, 'l.txt'));
      await h.press('enter');
      await exported(h);
      expect(readFileSync(join(dir, 'l.txt'), 'utf8')).toMatch(/^Session 1 {2}user anonymous/);
      expect(readFileSync(join(dir, 'l.txt'), 'utf8')).toContain('PASS ****');
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('live sources have no exports, and say so', async () => {
    const a = await analysisOf('zeek/ipv4.pcap');
    const h = await openHarness({ ...fileSource('zeek/ipv4.pcap', a), live: true }, 120, 30);
    try {
      await h.press('w');
      expect(statusLine(h)).toMatch(/^exports need a capture file/);
    } finally {
      await h.close();
    }
  });

  it('? lists the export keys', () => {
    const help = helpLines().join('\n');
    expect(help).toMatch(/Export\n {2}w F2 +save the session as pcapng/);
    expect(help).toMatch(/ {2}x +save the selected transfer's file/);
    expect(help).toMatch(/ {2}L +save the session's ladder as text/);
    expect(help).toMatch(/ {2}e +save the session's report as JSON/);
  });
});

describe.skipIf(!hasTmux())('dashboard export in tmux', () => {
  it('w writes the session as pcapng that tshark and ftpscope open, and the status line says where', async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build first`).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'ex-tmux-'));
    try {
      const { tmux, waitFor, keys, typeText } = tmuxForTest('ex');
      const cmd = `cd ${dir} && TERM=xterm-256color node ${CLI} ${ROOT}captures/public/zeek/ipv6.pcap; echo __EXIT=$?; sleep 30`;
      tmux('new-session', '-d', '-s', 'ex', '-x', '120', '-y', '30', cmd);
      await waitFor(/Sessions \(1\)/, 'the sessions view');
      await keys('w');
      await waitFor(/to: ipv6-s1\.pcapng/, 'the path prompt with its default');
      await keys('Enter');
      await waitFor(/wrote session 1 \(\d+ packets: control \+ 5 data connections\) to \S+ipv6-s1\.pcapng/, 'the message saying where');
      // again: the file exists now, so it asks; n keeps it
      await keys('w', 'Enter');
      await waitFor(/ipv6-s1\.pcapng exists\. Replace it\? \(y\/n\)/, 'the replace question');
      await keys('n', 'Escape', 'q');
      const text = await waitFor(/__EXIT=\d+/, 'the process to exit');
      expect(text).toContain('__EXIT=0');
      const file = join(dir, 'ipv6-s1.pcapng');
      const frames = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
      const original = execFileSync('tshark', ['-r', `${ROOT}captures/public/zeek/ipv6.pcap`, '-T', 'fields', '-e', 'frame.number', '-Y', 'tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
      expect(frames.length).toBe(original.length);
      const report = JSON.parse(execFileSync('node', [CLI, 'report', '--json', file], { encoding: 'utf8' }));
      expect(report.sessions).toHaveLength(1);
      expect(report.sessions[0].dataConnections.map((d: { bytes: number }) => d.bytes)).toEqual([342, 43, 77, 77, 342]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

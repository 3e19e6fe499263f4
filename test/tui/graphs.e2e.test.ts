/**
 * End to end: the graphs view of the real CLI in a detached tmux session, with NO_COLOR (the
 * markers must carry the meaning), driven by keys and read back with capture-pane.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasTmux, tmuxForTest } from '../helpers/tmux.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = ROOT + 'dist/src/cli/main.js';

describe.skipIf(!hasTmux())('graphs in tmux', () => {
  it('8 opens the graphs of the stalled download; the cursor selects packets; Enter shows one in Packets', async () => {
    expect(existsSync(CLI), `${CLI} is missing: run npm run build first`).toBe(true);
    const { tmux, waitFor, keys } = tmuxForTest('graphs', 'tca-graphs');
    const cmd = `cd ${ROOT} && NO_COLOR=1 TERM=xterm-256color node ${CLI} captures/tcp/tcp-stalled.pcap; echo __EXIT=$?; sleep 30`;
    tmux('new-session', '-d', '-s', 'graphs', '-x', '120', '-y', '40', cmd);
    await waitFor(/Sessions \(2\)/, 'the sessions view');
    await keys('Enter', '8');
    let text = await waitFor(/Graphs — session 1, D1 RETR/, 'the graphs view');
    expect(text).toContain('R retransmission, Z zero window');
    expect(text).toMatch(/[\u2801-\u28ff]/);
    expect(text).toMatch(/Z/);
    expect(text).toMatch(/ +limited .*R{40,}/);
    const before = /cursor ▶ frame (\d+)/.exec(text)![1];
    await keys('Right', 'Right', 'Right', 'Right', 'Right', 'Right', 'Right', 'Right', 'Right', 'Right', 'Right', 'Right');
    text = await waitFor(new RegExp(`cursor ▶ frame (?!${before}\\b)\\d+`), 'the cursor to select another packet');
    await keys('a');
    text = await waitFor(/cursor ▶ frame \d+ .*\[[A-Z]/, 'a flagged packet under the cursor');
    const flagged = /cursor ▶ frame (\d+)/.exec(text)![1];
    await keys('Enter');
    text = await waitFor(/Packets — session 1/, 'the packets view');
    expect(text).toMatch(new RegExp(`▶ +${flagged} `));
    await keys('q');
    text = await waitFor(/__EXIT=\d+/, 'the process to exit');
    expect(text).toContain('__EXIT=0');
    expect(text).not.toMatch(/Error|at .*\.js:\d+/);
  });
});

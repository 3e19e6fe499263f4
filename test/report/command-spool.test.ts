/**
 * CommandSpool: a session's commands streamed as they complete and copied back into the session's
 * JSON give the bytes writeSessionJson writes from a session that kept them all, including
 * commands whose cwd is relative to a start directory a later 257 names (or never does).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FtpSession } from '../../src/ftp/session.js';
import type { Session } from '../../src/model/types.js';
import { CommandSpool } from '../../src/report/command-spool.js';
import { PrettyJsonWriter } from '../../src/report/json-writer.js';
import { writeSessionJson } from '../../src/report/json.js';

function newSession(id: number): Session {
  return {
    id, client: { ip: '10.0.0.2', port: 40000 }, server: { ip: '10.0.0.1', port: 21 }, start: 0, end: 0,
    user: null, loggedIn: null, tls: false, tlsInfo: null, handshake: { seen: true, rttMs: null, mss: null },
    greeting: null, commands: [], unsolicitedReplies: [], dataConnections: [], unseenTransfers: [], findings: [], controlBytes: [0, 0],
    closed: false, packets: null, tcp: null,
  };
}

/** [command, reply] pairs after a 220 greeting, as latin1 lines. */
function play(m: FtpSession, dialogue: [string, string][]): void {
  let frame = 1;
  const line = (dir: 0 | 1, text: string): void => {
    m.push(dir, Buffer.from(`${text}\r\n`, 'latin1'), frame * 0.001, frame);
    frame++;
  };
  line(1, '220 ready');
  for (const [c, r] of dialogue) {
    line(0, c);
    line(1, r);
  }
  m.end(frame * 0.001, frame);
}

function whole(dialogue: [string, string][]): string {
  const s = newSession(1);
  play(new FtpSession(s), dialogue);
  const w = new PrettyJsonWriter().reset(4);
  writeSessionJson(w, s, {});
  return w.text();
}

function streamed(dialogue: [string, string][]): { json: string; held: number; spooled: number } {
  const dir = mkdtempSync(join(tmpdir(), 'ftpscope-command-spool-'));
  const spool = new CommandSpool(dir, 8, {});
  try {
    const s = newSession(1);
    let held = 0;
    const m = new FtpSession(s, {
      commands: {
        done: () => {},
        unsolicited: () => {},
        release: (_s, c) => {
          held = Math.max(held, s.commands.length);
          spool.command(s, c);
        },
        anchored: (_s, start) => spool.anchored(s, start),
      },
    });
    play(m, dialogue);
    const w = new PrettyJsonWriter().reset(4);
    writeSessionJson(w, s, {}, (out, x) => spool.copy(x.id, (b) => out.raw(b)));
    return { json: w.text(), held, spooled: spool.commandsStreamed };
  } finally {
    spool.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const LOGIN: [string, string][] = [['USER anonymous', '331 password please'], ['PASS x', '230 in']];

describe('CommandSpool', () => {
  it('copies anchored commands back as writeSessionJson writes them', () => {
    const d: [string, string][] = [...LOGIN, ['PWD', '257 "/srv" is cwd'], ['CWD pub', '250 ok'], ['NOOP', '200 d\u00e9j\u00e0 vu'], ['QUIT', '221 bye']];
    const got = streamed(d);
    expect(got.spooled).toBe(6);
    expect(got.json).toBe(whole(d));
  });

  it('renders commands with a relative cwd when copied: anchored by a later 257, or left relative', () => {
    const relative: [string, string][] = [...LOGIN, ['CWD pub', '250 ok'], ['CWD data', '250 ok'], ['NOOP', '200 ok']];
    const anchored: [string, string][] = [...relative, ['PWD', '257 "/srv/ftp/pub/data" is cwd'], ['CWD ..', '250 ok'], ['QUIT', '221 bye']];
    for (const d of [relative, anchored, [...relative, ['QUIT', '221 bye']] as [string, string][]]) {
      const got = streamed(d);
      expect(got.json).toBe(whole(d));
      expect(got.held).toBeLessThan(3);
    }
    expect(whole(anchored)).not.toContain('cwdAnchored');
    expect(whole(relative)).toContain('cwdAnchored');
  });

  it('reads back parked commands across reads, whole characters included, and anchors them all', () => {
    // About 4 MB of parked lines with non-ASCII text: reads of 1 MiB end inside lines and characters.
    const d: [string, string][] = [...LOGIN];
    for (let i = 0; i < 12_000; i++) {
      d.push([`CWD r\u00e9pertoire-${i}`, `250 r\u00e9pertoire chang\u00e9 ${'\u00e9'.repeat(i % 7)}`]);
      d.push(['CDUP', '250 ok']);
    }
    d.push(['PWD', '257 "/srv" is cwd'], ['QUIT', '221 bye']);
    const got = streamed(d);
    expect(got.spooled).toBe(d.length);
    const expected = whole(d);
    expect(expected.length).toBeGreaterThan(4 << 20);
    expect(expected).not.toContain('cwdAnchored');
    expect(got.json === expected).toBe(true);
  });
});

/**
 * `flow --format mermaid|plantuml`: checked by structure on every bundled capture (each
 * participant declared before use, arrows in the text ladder's order, each drawn from the side
 * tshark says sent its packet), then rendered once by the real tools: Mermaid's own library in
 * headless Chromium, and Debian's plantuml. A session with hostile arguments proves the escaping.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, CHROMIUM, launchChromium } from '../../scripts/chromium.js';
import { mermaidSequence, plantumlSequence } from '../../src/report/sequence.js';
import { renderLadder } from '../../src/report/ladder.js';
import { formatEndpoint } from '../../src/report/format.js';
import type { Session } from '../../src/model/types.js';
import { analyzed, ALL_CAPTURES } from './captures.js';
import { all, loadExpected, type TsharkRow } from '../dissect/expected.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-seq-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tsharkOf(capture: string): Map<number, TsharkRow> {
  const rel = capture.startsWith('../') ? capture.slice(3) : `public/${capture}`;
  return loadExpected(rel)!;
}

function source(r: TsharkRow): string {
  return formatEndpoint({ ip: all(r['ip.src'])[0] || all(r['ipv6.src'])[0]!, port: Number(r['tcp.srcport']) });
}

interface Parsed {
  participants: Map<string, string>;
  arrows: Array<{ from: string; to: string; frame: number | null; text: string }>;
  notes: Array<{ over: string[]; text: string }>;
}

/** Reads a diagram back by its grammar: the lines each tool accepts, nothing else. */
function parse(text: string, dialect: 'mermaid' | 'plantuml'): Parsed {
  const lines = text.trimEnd().split('\n').map((l) => l.trim());
  const p: Parsed = { participants: new Map(), arrows: [], notes: [] };
  if (dialect === 'mermaid') expect(lines[0]).toBe('sequenceDiagram');
  else {
    expect(lines[0]).toMatch(/^@startuml session-\d+$/);
    expect(lines.at(-1)).toBe('@enduml');
  }
  const participant = dialect === 'mermaid' ? /^participant (\w+) as (.+)$/ : /^participant "([^"]+)" as (\w+)$/;
  const arrow = dialect === 'mermaid' ? /^(\w+)(->>|-->>|-\))(\w+): (.*)$/ : /^(\w+) (->|-->|->>) (\w+) : (.*)$/;
  const note = dialect === 'mermaid' ? /^Note over (\w+),(\w+): (.*)$/ : /^note over (\w+), (\w+) : (.*)$/;
  for (const line of lines.slice(1, dialect === 'plantuml' ? -1 : undefined)) {
    let m: RegExpExecArray | null;
    if (line.startsWith('title ')) continue;
    if ((m = participant.exec(line))) {
      const [id, label] = dialect === 'mermaid' ? [m[1]!, m[2]!] : [m[2]!, m[1]!];
      expect(p.arrows.length + p.notes.length, 'participants come first').toBe(0);
      expect(p.participants.has(id), `${id} declared once`).toBe(false);
      p.participants.set(id, label);
    } else if ((m = arrow.exec(line))) {
      const frame = /^(?:[+-]\d+\.\d{3} )?(?:#|#35;|&#35;)(\d+) /.exec(m[4]!);
      p.arrows.push({ from: m[1]!, to: m[3]!, frame: frame ? Number(frame[1]) : null, text: m[4]! });
    } else if ((m = note.exec(line))) {
      p.notes.push({ over: [m[1]!, m[2]!], text: m[3]! });
    } else {
      throw new Error(`not ${dialect} sequence syntax: ${line}`);
    }
  }
  for (const a of p.arrows) for (const id of [a.from, a.to]) expect(p.participants.has(id), `${id} declared`).toBe(true);
  for (const n of p.notes) for (const id of n.over) expect(p.participants.has(id), `${id} declared`).toBe(true);
  return p;
}

describe('flow --format mermaid | plantuml', () => {
  it.each(ALL_CAPTURES)('%s: participants declared, arrows in the ladder\'s order, from the side that sent them', async (capture) => {
    const a = await analyzed(capture);
    const t = tsharkOf(capture);
    for (const s of a.sessions) {
      // The text ladder's arrows: the sequence both diagrams must draw.
      const ladder = renderLadder(s, { width: 200 }).filter((l) => l.sender !== null && l.kind !== 'note');
      for (const [dialect, text] of [['mermaid', mermaidSequence(s)], ['plantuml', plantumlSequence(s)]] as const) {
        const p = parse(text, dialect);
        expect(p.participants.size).toBe(2 + 2 * s.dataConnections.length);
        expect(p.arrows.map((x) => x.frame)).toEqual(ladder.map((l) => l.frame));
        p.arrows.forEach((x, i) => {
          // Client-side participants (C, Dnc) send what the FTP client sent.
          const fromClient = x.from === 'C' || /^D\d+c$/.test(x.from);
          expect(fromClient ? 'client' : 'server', x.text).toBe(ladder[i]!.sender);
          if (x.frame !== null) {
            // The participant's endpoint is the packet's source in tshark's view.
            expect(p.participants.get(x.from)!.split(' ').at(-1), `${dialect} ${x.text}`).toBe(source(t.get(x.frame)!));
          }
        });
      }
    }
  });

  it('the CLI prints one diagram per session, and only diagrams', () => {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'flow', 'captures/tour.pcapng', '--format', 'mermaid'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.match(/^sequenceDiagram$/gm)?.length).toBe(5);
    const u = spawnSync(process.execPath, ['dist/src/cli/main.js', 'flow', 'captures/tour.pcapng', '--format', 'plantuml', '--session', '2'], { encoding: 'utf8' });
    expect(u.stdout.match(/^@startuml/gm)?.length).toBe(1);
    expect(u.stdout).toContain('PASS &#42;&#42;&#42;&#42;'); // ****, escaped for PlantUML
    const bad = spawnSync(process.execPath, ['dist/src/cli/main.js', 'flow', 'captures/tour.pcapng', '--format', 'svg'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});

/** A copy of a real session whose arguments carry what each syntax treats as markup. */
async function hostileSession(): Promise<{ s: Session; arg: string }> {
  const a = await analyzed('../tour.pcapng');
  const s = structuredClone(a.sessions[0]!);
  s.id = 99; // PlantUML names each image after its @startuml: one of its own
  const arg = 'a;b #59; <b>x</b> & **bold** //it// ""m"" __u__ --s-- ~~w~~ [[http://x]] \\n %date% "q"';
  const cwd = s.commands.find((c) => c.verb === 'CWD')!;
  cwd.arg = arg;
  return { s, arg };
}

describe('rendered by the real tools', () => {
  it('Mermaid (its own library, in headless Chromium) renders every session, hostile text as text', async () => {
    if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
    const mermaidJs = createRequire(import.meta.url).resolve('mermaid/dist/mermaid.min.js');
    const a = await analyzed('../tour.pcapng');
    const v6 = await analyzed('../vsftpd-lftp-ipv6.pcapng');
    const { s: hostile, arg } = await hostileSession();
    const sessions = [...a.sessions, ...v6.sessions, hostile];
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.setContent('<!DOCTYPE html><html><body></body></html>');
      await page.addScriptTag({ path: mermaidJs });
      for (const s of sessions) {
        const src = mermaidSequence(s);
        const p = parse(src, 'mermaid');
        const got = await page.evaluate(async (src) => {
          const m = (globalThis as unknown as { mermaid: { initialize(o: object): void; render(id: string, t: string): Promise<{ svg: string }> } }).mermaid;
          m.initialize({ startOnLoad: false, securityLevel: 'strict' });
          try {
            const { svg } = await m.render(`d${Math.random().toString(36).slice(2)}`, src);
            const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
            return { messages: [...doc.querySelectorAll('.messageText')].map((e) => e.textContent ?? ''), notes: doc.querySelectorAll('.noteText').length, error: null };
          } catch (e) {
            return { messages: [], notes: 0, error: String((e as Error).message ?? e) };
          }
        }, src);
        expect(got.error, `session ${s.id}`).toBeNull();
        expect(got.messages.length).toBe(p.arrows.length);
        expect(got.notes).toBeGreaterThanOrEqual(p.notes.length);
        if (s === hostile) expect(got.messages.some((m) => m.includes(`CWD ${arg}`)), got.messages.join('\n')).toBe(true);
      }
      expect(requests).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('PlantUML (Debian\'s plantuml) renders every session, hostile text as text', async () => {
    const a = await analyzed('../tour.pcapng');
    const { s: hostile, arg } = await hostileSession();
    const file = path.join(tmp, 'flow.puml');
    fs.writeFileSync(file, [...a.sessions, hostile].map((s) => plantumlSequence(s)).join('\n'));
    const r = spawnSync('plantuml', ['-tsvg', '-failfast2', '-o', tmp, file], { encoding: 'utf8' });
    // CI installs plantuml (.ci/run); missing, this fails rather than passing by doing nothing.
    expect(r.error, 'plantuml is missing: apt-get install plantuml').toBeUndefined();
    expect(r.status, r.stderr + r.stdout).toBe(0);
    const svgs = fs.readdirSync(tmp).filter((f) => f.endsWith('.svg')).sort();
    expect(svgs.length).toBe(a.sessions.length + 1);
    for (const f of svgs) expect(fs.readFileSync(path.join(tmp, f), 'utf8')).not.toMatch(/Syntax Error/i);
    // The hostile session's text, read back out of its SVG, is the argument as sent.
    const last = fs.readFileSync(path.join(tmp, 'session-99.svg'), 'utf8');
    const texts = [...last.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!
      .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#(\d+);/g, (_x, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&'));
    expect(texts.some((x) => x.includes(`CWD ${arg}`)), texts.join('\n')).toBe(true);
  }, 60_000);
});

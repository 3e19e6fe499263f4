/**
 * The HTML report in a real browser: Debian's Chromium, headless and offline, opens the file as a
 * user opening an attachment would (file://), and the test reads the DOM. Expected values come
 * from tshark's view of each capture (captures/expected/*.tsv), zeek's baselines and the finding
 * catalogue; the analysis itself is used only where the report must show all of something it
 * found (one table row per session, one lane per data connection).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { chromiumAvailable, CHROMIUM, launchChromium, type Browser } from '../../scripts/chromium.js';
import { captureInputs, writeHtmlReport } from '../../src/cli/report.js';
import { HtmlReport } from '../../src/report/html.js';
import { FINDING_CODES } from '../../src/model/finding-codes.js';
import { formatEndpoint } from '../../src/report/format.js';
import type { Analysis } from '../../src/model/types.js';
import { analyzed, ALL_CAPTURES, PUB, ZEEK_EXPECTED } from './captures.js';
import { all, loadExpected, type TsharkRow } from '../dissect/expected.js';
import { readZeekLog } from '../helpers/zeek-log.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-html-'));
let browser: Browser;

beforeAll(async () => {
  // CI installs chromium (.ci/run); without it this test must fail, not pass by doing nothing.
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** What the page asked the network for, and what it logged, while it loaded. */
interface Opened {
  page: Page;
  requests: string[];
  console: string[];
}

/** Opens a file as a user would (file://); every request it makes is recorded, and any outside file:// is refused. */
async function open(file: string): Promise<Opened> {
  const page = await browser.context.newPage();
  const requests: string[] = [];
  const logged: string[] = [];
  page.on('request', (r) => requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') logged.push(m.text()); });
  page.on('pageerror', (e) => logged.push(`pageerror: ${e.message}`));
  await page.route(/^(?!file:)/, (route) => route.abort());
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  // Let anything the page would load late (lazy images, timers) try.
  await page.waitForTimeout(100);
  return { page, requests, console: logged };
}

/** captures/expected/<rel>.tsv for a capture named as in captures.ts. */
function tsharkOf(capture: string): Map<number, TsharkRow> {
  const rel = capture.startsWith('../') ? capture.slice(3) : `public/${capture}`;
  const t = loadExpected(rel);
  if (!t) throw new Error(`no tshark fields for ${capture}`);
  return t;
}

/** tshark's endpoints of a TCP packet, written as the report writes endpoints (ARP and the like: none). */
function endpoints(r: TsharkRow): [string, string] {
  if (!r['tcp.srcport']) return ['', ''];
  const ep = (d: 'src' | 'dst'): string => formatEndpoint({ ip: all(r[`ip.${d}`])[0] || all(r[`ipv6.${d}`])[0]!, port: Number(r[`tcp.${d}port`]) });
  return [ep('src'), ep('dst')];
}

const connKey = (a: string, b: string): string => [a, b].sort().join(' ');

/** Everything the test reads from one session's part of the page. */
interface SessionDom {
  row: { id: string; cells: string[] };
  findings: Array<{ code: string; severity: string; frame: string | null; fix: string }>;
  svg: {
    lanes: Array<{ lane: string; left: string; right: string }>;
    control: { left: string; right: string };
    arrows: Array<{ kind: string; lane: string; frame: number | null; sender: string; ts: number; y: number; x1: number; x2: number; label: string }>;
  } | null;
}

async function readDom(page: Page): Promise<{ rows: number; sessions: Map<number, SessionDom>; legend: Map<string, string>; csp: string | null }> {
  const raw = await page.evaluate(() => {
    const rows = [...document.querySelectorAll('#sessions-table tbody tr')].map((tr) => ({
      id: tr.getAttribute('data-session')!, cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
    }));
    const sessions = [...document.querySelectorAll('section.session')].map((sec) => {
      const svg = sec.querySelector('svg.ladder');
      const ctl = svg?.querySelector('g.lifelines');
      return {
        id: sec.getAttribute('data-session')!,
        findings: [...sec.querySelectorAll('li.finding')].map((li) => ({
          code: li.getAttribute('data-code')!, severity: li.getAttribute('data-severity')!, frame: li.getAttribute('data-frame'),
          fix: li.querySelector('.fix')?.textContent ?? '',
        })),
        svg: svg ? {
          lanes: [...svg.querySelectorAll('g.lane')].map((g) => ({ lane: g.getAttribute('data-lane')!, left: g.getAttribute('data-left')!, right: g.getAttribute('data-right')! })),
          control: { left: ctl!.getAttribute('data-left')!, right: ctl!.getAttribute('data-right')! },
          arrows: [...svg.querySelectorAll('g.arrow')].map((g) => {
            const line = g.querySelector('line')!;
            return {
              kind: g.getAttribute('data-kind')!, lane: g.getAttribute('data-lane')!,
              frame: g.hasAttribute('data-frame') ? Number(g.getAttribute('data-frame')) : null,
              sender: g.getAttribute('data-sender')!, ts: Number(g.getAttribute('data-ts')),
              // Where the browser laid it out, not what the attributes claim.
              y: line.getBoundingClientRect().top + window.scrollY,
              x1: Number(line.getAttribute('x1')), x2: Number(line.getAttribute('x2')),
              label: g.querySelector('title')?.textContent ?? '',
            };
          }),
        } : null,
      };
    });
    const legend = [...document.querySelectorAll('#codes-table tbody tr')].map((tr) => [tr.getAttribute('data-code')!, tr.querySelectorAll('td')[3]!.textContent ?? '']);
    const csp = document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? null;
    return { rows, sessions, legend, csp };
  });
  const sessions = new Map<number, SessionDom>();
  for (const s of raw.sessions) {
    const row = raw.rows.find((r) => r.id === s.id)!;
    sessions.set(Number(s.id), { row, findings: s.findings, svg: s.svg });
  }
  return { rows: raw.rows.length, sessions, legend: new Map(raw.legend as Array<[string, string]>), csp: raw.csp };
}

/** Writes the report the way `ftpscope report --html` does (the command's own function). */
async function htmlOf(capture: string): Promise<string> {
  const file = path.join(tmp, `${capture.replace(/[^\w.-]+/g, '_')}.html`);
  const err = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write; // its "wrote …" line
  try {
    await writeHtmlReport(captureInputs([`${PUB}/${capture}`]), file, { showPasswords: false });
  } finally {
    process.stderr.write = err;
  }
  return file;
}

describe('ftpscope report --html in headless Chromium', () => {
  it('the command writes the file and says where', () => {
    const out = path.join(tmp, 'cli.html');
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'report', 'captures/tour.pcapng', '--html', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`wrote ${out}: 5 sessions`);
    expect(fs.readFileSync(out, 'utf8')).toMatch(/^<!DOCTYPE html>/);
    const both = spawnSync(process.execPath, ['dist/src/cli/main.js', 'report', 'captures/tour.pcapng', '--html', out, '--json'], { encoding: 'utf8' });
    expect(both.status).toBe(2);
    const bad = spawnSync(process.execPath, ['dist/src/cli/main.js', 'report', 'captures/tour.pcapng', '--html', path.join(tmp, 'no/such/dir/x.html')], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/cannot write/);
  });

  it('the network check catches a page that fetches (so a quiet report proves something)', async () => {
    const file = await htmlOf('../tour.pcapng');
    const leaky = path.join(tmp, 'leaky.html');
    // An image from elsewhere: the report's CSP must refuse it, and the check must see it tried.
    fs.writeFileSync(leaky, fs.readFileSync(file, 'utf8').replace('</body>', '<img src="http://192.0.2.1/x.png"></body>'));
    const o = await open(leaky);
    await o.page.close();
    expect(o.console.join('\n')).toMatch(/Content Security Policy/);
    // And without the CSP the request itself is seen.
    const bare = path.join(tmp, 'bare.html');
    fs.writeFileSync(bare, '<!DOCTYPE html><html><body><img src="http://192.0.2.1/x.png"></body></html>');
    const b = await open(bare);
    await b.page.close();
    expect(b.requests.some((u) => u.startsWith('http://192.0.2.1/'))).toBe(true);
  });

  it.each(ALL_CAPTURES)('%s: offline, every session, finding, lane and arrow as the capture has them', async (capture) => {
    const a: Analysis = await analyzed(capture);
    const t = tsharkOf(capture);
    const file = await htmlOf(capture);
    const o = await open(file);
    const dom = await readDom(o.page);
    await o.page.close();

    // Nothing fetched (the file itself is the one request), nothing refused or broken.
    expect(o.requests).toEqual([pathToFileURL(file).href]);
    expect(o.console).toEqual([]);
    expect(dom.csp).toMatch(/default-src 'none'/);

    // One table row per session; tshark sees as many FTP control connections.
    const tsharkControl = new Set<string>();
    for (const r of t.values()) if (r['ftp.request.command'] || r['ftp.response.code']) tsharkControl.add(connKey(...endpoints(r)));
    expect(dom.rows).toBe(a.sessions.length);
    expect(dom.rows).toBe(tsharkControl.size);

    for (const s of a.sessions) {
      const d = dom.sessions.get(s.id)!;
      expect(d, `session ${s.id}`).toBeDefined();
      expect(d.row.cells[1]).toBe(formatEndpoint(s.client));
      // Findings: each listed with its code's fix from the catalogue, and explained in the legend.
      expect(d.findings.map((f) => f.code)).toEqual(s.findings.map((f) => f.code));
      for (const f of d.findings) {
        expect(f.fix).toBe(FINDING_CODES[f.code as keyof typeof FINDING_CODES].fix);
        expect(dom.legend.get(f.code)).toBe(FINDING_CODES[f.code as keyof typeof FINDING_CODES].fix);
        expect(d.row.cells[8]).toContain(f.code);
      }

      // The ladder: one lane per data connection, each lane's ends the connection's endpoints.
      const svg = d.svg!;
      expect(svg.lanes.map((l) => l.lane).sort()).toEqual(s.dataConnections.map((dc) => `D${dc.id}`).sort());
      expect(svg.control).toEqual({ left: formatEndpoint(s.client), right: formatEndpoint(s.server) });
      const ends = new Map<string, [string, string]>([['control', [svg.control.left, svg.control.right]]]);
      for (const l of svg.lanes) ends.set(l.lane, [l.left, l.right]);

      // Arrows in time order, laid out top to bottom, pointing from their sender.
      const arrows = svg.arrows;
      for (let i = 1; i < arrows.length; i++) {
        expect(arrows[i]!.ts, arrows[i]!.label).toBeGreaterThanOrEqual(arrows[i - 1]!.ts);
        expect(arrows[i]!.y, arrows[i]!.label).toBeGreaterThan(arrows[i - 1]!.y);
      }
      for (const ar of arrows) expect(ar.sender === 'client' ? ar.x2 > ar.x1 : ar.x2 < ar.x1, ar.label).toBe(true);

      // Every arrow that stands for a packet is drawn from the side tshark says sent it, on its connection.
      const conns = new Map<string, TsharkRow[]>();
      for (const [lane, [l, r]] of ends) conns.set(lane, [...t.values()].filter((row) => connKey(...endpoints(row)) === connKey(l, r)));
      for (const ar of arrows) {
        if (ar.frame === null) continue;
        const row = t.get(ar.frame)!;
        expect(row, `frame ${ar.frame}`).toBeDefined();
        const [l, r] = ends.get(ar.lane)!;
        expect(endpoints(row), `${ar.label} #${ar.frame}`).toEqual(ar.sender === 'client' ? [l, r] : [r, l]);
      }

      // The right arrows: the commands tshark decodes, in order (TLS records and Telnet IAC bytes
      // tshark also calls commands are not FTP verbs) …
      const verbs = (conns.get('control') ?? []).flatMap((row) => all(row['ftp.request.command'])).filter((v) => /^[A-Za-z]{3,4}$/.test(v));
      // tshark decodes the first command of a segment; those a client pipelined after it in the same
      // segment (suricata-verify bug-8489-03: "PWD PWD PWD") share its frame and are not in its fields.
      const cmdArrows = arrows.filter((ar) => ar.kind === 'command');
      const segmentFirsts = cmdArrows.filter((ar, i, list) => i === 0 || ar.frame === null || ar.frame !== list[i - 1]!.frame);
      expect(segmentFirsts.map((ar) => ar.label.split(' ')[0])).toEqual(verbs.map((v) => v.toUpperCase()));
      // … each reply on a packet where tshark reads that reply code …
      const replyArrows = arrows.filter((ar) => ar.kind === 'reply');
      for (const ar of replyArrows) {
        const row = t.get(ar.frame!)!;
        // tshark leaves a few packets undecoded (tour.pcapng #1584: a 426 riding on the server's FIN
        // after the client closed); those must at least carry a payload.
        if (row['frame.protocols']!.endsWith(':ftp')) expect(all(row['ftp.response.code']), ar.label).toContain(ar.label.slice(0, 3));
        else expect(Number(row['tcp.len']), ar.label).toBeGreaterThan(0);
      }
      // … every SYN, SYN-ACK, first FIN per side and first RST of the session's connections …
      const flags = (row: TsharkRow): number => parseInt(row['tcp.flags']!, 16);
      const tcpArrows = arrows.filter((ar) => ar.kind === 'tcp');
      for (const [lane, rows] of conns) {
        const mine = tcpArrows.filter((ar) => ar.lane === lane);
        const framesOf = (label: string): number[] => mine.filter((ar) => ar.label.replace(/^D\d+ /, '') === label).map((ar) => ar.frame!);
        const syn = rows.filter((r) => (flags(r) & 0x12) === 0x02);
        const synAck = rows.filter((r) => (flags(r) & 0x12) === 0x12);
        expect(framesOf('SYN').length, `${lane} SYN`).toBe(syn.length > 0 ? 1 : 0);
        for (const f of framesOf('SYN')) expect(syn.map((r) => Number(r['frame.number']))).toContain(f);
        expect(framesOf('SYN-ACK').length, `${lane} SYN-ACK`).toBe(synAck.length > 0 ? 1 : 0);
        for (const f of framesOf('SYN-ACK')) expect(synAck.map((r) => Number(r['frame.number']))).toContain(f);
        const fins = rows.filter((r) => flags(r) & 0x01);
        for (const f of framesOf('FIN')) expect(fins.map((r) => Number(r['frame.number']))).toContain(f);
        // A connection ends at its first RST: a FIN sent after it closes nothing.
        const firstRst = rows.find((r) => flags(r) & 0x04);
        const live = fins.filter((r) => !firstRst || Number(r['frame.number']) < Number(firstRst['frame.number']));
        for (const side of new Set(live.map((r) => endpoints(r)[0]))) {
          expect(framesOf('FIN'), `${lane} first FIN from ${side}`).toContain(Number(live.find((r) => endpoints(r)[0] === side)!['frame.number']));
        }
        const rsts = rows.filter((r) => flags(r) & 0x04);
        // The analysis copies a connection's TCP facts when it closes, so a RST after FINs from both
        // sides (tour.pcapng #1585) is not in them; every RST before that is.
        const finSides = new Set(live.map((r) => endpoints(r)[0]));
        const bothFinned = finSides.size === 2 && firstRst && live.every((r) => Number(r['frame.number']) < Number(firstRst['frame.number']));
        if (firstRst && !bothFinned) expect(framesOf('RST')).toContain(Number(firstRst['frame.number']));
        for (const f of framesOf('RST')) expect(rsts.map((r) => Number(r['frame.number']))).toContain(f);
      }
      // … and a payload arrow for each data connection: nothing else is drawn as an arrow.
      for (const dc of s.dataConnections) expect(arrows.filter((ar) => ar.kind === 'data' && ar.lane === `D${dc.id}`).length).toBeGreaterThan(0);
      const known = cmdArrows.length + replyArrows.length + tcpArrows.length + arrows.filter((ar) => ar.kind === 'data').length;
      expect(known).toBe(arrows.length);
    }

    // zeek agrees on how many data connections the public captures hold (its conn.log, service ftp-data).
    const zeekDir = ZEEK_FOR[capture];
    if (zeekDir) {
      const conn = readZeekLog(`${ZEEK_EXPECTED}/${zeekDir}/conn.log`);
      const lanes = [...dom.sessions.values()].reduce((n, d) => n + d.svg!.lanes.length, 0);
      expect(lanes).toBe(conn.filter((r) => r.service === 'ftp-data').length);
    }
  }, 60_000);

  it('text from the wire stays text: no markup, script or fetch gets in', async () => {
    const a = await analyzed('../tour.pcapng');
    const hostile = '</code></td></tr></table></svg><script>window.__pwned = 1</script><img src="http://192.0.2.1/x.png" onerror="window.__pwned = 2">"\'&amp;';
    const s = structuredClone(a.sessions[0]!);
    s.user = hostile;
    s.commands.find((c) => c.verb === 'CWD')!.arg = hostile;
    s.findings = [{ severity: 'error', code: 'transfer-failed', message: hostile, frame: s.commands[0]!.frame }];
    const report = new HtmlReport();
    // Added out of order, as sessions finish: the report is in session order all the same.
    for (const x of [a.sessions[2]!, s, a.sessions[1]!]) report.add(x);
    const file = path.join(tmp, 'hostile.html');
    try {
      fs.writeFileSync(file, Array.from(report.chunks(a), (c) => c.toString()).join(''));
    } finally {
      report.close();
    }
    const o = await open(file);
    const got = await o.page.evaluate(() => ({
      scripts: document.scripts.length,
      images: document.images.length,
      pwned: (window as unknown as { __pwned?: number }).__pwned ?? null,
      order: [...document.querySelectorAll('#sessions-table tbody tr')].map((tr) => tr.getAttribute('data-session')),
      sections: [...document.querySelectorAll('section.session')].map((x) => x.getAttribute('data-session')),
      user: document.querySelector('#sessions-table tbody tr[data-session="1"] td:nth-child(4)')?.textContent ?? '',
      ladder: [...document.querySelectorAll('#session-1 svg.ladder g.arrow.command title')].map((t) => t.textContent),
      finding: document.querySelector('#session-1 li.finding .message')?.textContent ?? '',
    }));
    await o.page.close();
    expect(o.requests).toEqual([pathToFileURL(file).href]);
    expect(got.scripts).toBe(1); // the report's own filter
    expect(got.images).toBe(0);
    expect(got.pwned).toBeNull();
    expect(got.order).toEqual(['1', '2', '3']);
    expect(got.sections).toEqual(['1', '2', '3']);
    expect(got.user).toContain(hostile);
    expect(got.ladder).toContain(`CWD ${hostile}`);
    expect(got.finding).toBe(hostile);
  });

  it('masks passwords unless asked, as every other output does', async () => {
    const t = tsharkOf('../tour.pcapng');
    const secrets = [...t.values()].filter((r) => r['ftp.request.command'] === 'PASS').map((r) => r['ftp.request.arg']!);
    expect(secrets.length).toBeGreaterThan(0);
    const render = async (showPasswords: boolean): Promise<string> => {
      const report = new HtmlReport({ showPasswords });
      try {
        const a = await analyzed('../tour.pcapng');
        for (const s of a.sessions) report.add(s);
        return Array.from(report.chunks(a), (c) => c.toString()).join('');
      } finally {
        report.close();
      }
    };
    const masked = await render(false);
    const shown = await render(true);
    for (const secret of secrets) {
      expect(masked).not.toContain(secret);
      expect(shown).toContain(secret);
    }
    expect(masked).toContain('PASS ****');
  });
});

/** The zeek btest whose conn.log covers each public capture. */
const ZEEK_FOR: Record<string, string> = {
  'zeek/ipv4.pcap': 'scripts.base.protocols.ftp.ftp-ipv4',
  'zeek/ipv6.pcap': 'scripts.base.protocols.ftp.ftp-ipv6',
  'zeek/ftp-auth-tls.pcap': 'scripts.base.protocols.ftp.ftp-auth-tls',
};

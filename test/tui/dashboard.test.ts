import { afterEach, describe, expect, it } from 'vitest';
import { KEY_TABLE, keyLabel } from '../../src/tui/keymap.js';
import { analysisOf, CAPTURES, fileSource, openHarness, readTsv, type Harness } from './harness.js';

const EXPECTED = new URL('./expected/', import.meta.url).pathname;
const ZEEK = CAPTURES + 'zeek/expected/';

// Independent expectations: zeek's ftp.log / conn.log and tshark fields stored next to this test.
const ftpLog = readTsv(ZEEK + 'scripts.base.protocols.ftp.ftp-ipv4/ftp.log');
const connLog = readTsv(ZEEK + 'scripts.base.protocols.ftp.ftp-ipv4/conn.log');
const ipv4Syn = readTsv(EXPECTED + 'ipv4-syn.tsv');
const ipv4Frame1 = readTsv(EXPECTED + 'ipv4-frame1.tsv')[0];
const ipv4Packets = readTsv(EXPECTED + 'ipv4-packets.tsv');

const client = `${ftpLog[0]['id.orig_h']}:${ftpLog[0]['id.orig_p']}`;
const server = `${ftpLog[0]['id.resp_h']}:${ftpLog[0]['id.resp_p']}`;

const SIZES = [
  { cols: 80, rows: 24 },
  { cols: 160, rows: 50 },
] as const;

let h: Harness | null = null;
afterEach(async () => { await h?.close(); h = null; });

async function open(rel: string, cols: number, rows: number, opts: { noColor?: boolean } = {}): Promise<Harness> {
  const a = await analysisOf(rel);
  h = await openHarness(fileSource(rel, a), cols, rows, opts);
  return h;
}

describe.each(SIZES)('dashboard at $cols×$rows on zeek/ipv4.pcap', ({ cols, rows }) => {
  it('sessions view: the session with its addresses and user, data connections nested, selection inverse and marked', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    const lines = t.lines();
    expect(lines).toHaveLength(rows);
    const sessionRow = t.rowOf(new RegExp(client.replace(/\./g, '\\.')));
    expect(sessionRow).toBeGreaterThan(0);
    expect(lines[sessionRow]).toContain('anonymous');
    expect(lines[sessionRow].startsWith('▶')).toBe(true);
    expect(t.selected()?.y).toBe(sessionRow);
    expect(t.run.terminal.isInverse(cols - 1, sessionRow)).toBe(true);
    // zeek: two RETR of robots.txt, four ftp-data connections
    const dataRows = lines.filter((l) => l.includes('└'));
    expect(dataRows).toHaveLength(connLog.filter((c) => c.service === 'ftp-data').length);
    expect(dataRows.filter((l) => /└ RETR /.test(l))).toHaveLength(ftpLog.filter((r) => r.command === 'RETR').length);
    // the path gives way to the pairing evidence when narrow (see 'data connection rows' below)
    if (cols >= 120) expect(dataRows.filter((l) => l.includes('RETR robots.txt'))).toHaveLength(ftpLog.filter((r) => r.command === 'RETR').length);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(cols);
    // fewer columns when narrow; all of them when wide
    const header = lines[sessionRow - 1];
    for (const c of ['client → server', 'user', 'bytes', 'status']) expect(header).toContain(c);
    for (const c of ['start', 'dur', 'cmds', 'xfers']) expect(header.includes(c)).toBe(cols >= 120);
  });

  it('moving down moves the inverse selection to the next item; g returns to the first', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    const first = t.selected()!.y;
    await t.press('down', 'j');
    expect(t.selected()!.y).toBe(first + 2);
    expect(t.selected()!.text).toMatch(cols >= 120 ? /└ RETR robots\.txt/ : /└ RETR /);
    expect(t.lines()[first].startsWith('▶')).toBe(false);
    expect(t.run.terminal.isInverse(0, first)).toBe(false);
    await t.press('g');
    expect(t.selected()!.y).toBe(first);
  });

  it('Enter on a RETR data connection opens the session at that connection\'s packets', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('down', 'down', 'enter');
    const screen = t.screen();
    expect(screen).toMatch(/Packets — session 1/);
    // the selected packet is the data connection's SYN, to the port zeek logged for it
    const dc = connLog.filter((c) => c.service === 'ftp-data')[1];
    const sel = t.selected()!.text;
    expect(sel).toMatch(/D2 +C→S\* +SYN /);
    expect(screen).toContain(`Layers — frame`);
    expect(dc['id.resp_p']).toBe('56667');
  });

  it('flow view: the ladder with the handshake, USER and RETR; selecting an arrow selects its packet', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('enter');
    expect(t.screen()).toMatch(/Flow — session 1/);
    expect(t.screen()).toContain('SYN');
    await t.press('/');
    await t.type('RETR robots');
    await t.press('enter');
    // the first match may be the nested data connection's title; n goes on to the command's arrow
    const arrow = /#(\d+) +\|-+ RETR robots\.txt/;
    for (let i = 0; i < 5 && !arrow.test(t.selected()!.text); i++) await t.press('n');
    const sel = t.selected()!.text;
    expect(sel).toMatch(arrow);
    const frame = Number(arrow.exec(sel)![1]);
    expect(t.screen()).toContain(`Layers — frame ${frame} `);
    expect(t.run.dashboard.frame).toBe(frame);
  });

  it('layers and hex: a field is shown with its value and its bytes are highlighted in the hex view', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('enter', '4');
    await t.press('/');
    await t.type('Source port');
    await t.press('enter');
    const port = Number(ipv4Frame1['tcp.srcport']);
    const layersSel = t.selected()!.text;
    expect(layersSel).toContain(`Source port: ${port}`);
    const hex = port.toString(16).padStart(4, '0').replace(/(..)(..)/, '$1 $2');
    // the hex row shows the two bytes bracketed, and drawn inverse
    const hexRow = t.rowOf(new RegExp(`\\[${hex}\\]`));
    expect(hexRow).toBeGreaterThan(0);
    const x = t.lines()[hexRow].indexOf(`[${hex}]`) + 1;
    expect(t.run.terminal.isInverse(x + (cols >= 140 ? 0 : 0), hexRow)).toBe(true);
    expect(t.lines()[hexRow]).toMatch(/\[tcp\*\]/);
  });

  it('packets view: every packet of the session, with tshark\'s lengths, SYN/FIN flags and FTP commands', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('enter', '3');
    expect(t.screen()).toContain(`[1/${ipv4Packets.length}]`);
    expect(t.screen()).toMatch(/No\. +Time +Conn +Dir +Flags +Len +Analysis +Summary/);
    const seen = new Map<number, string>();
    for (let i = 0; i < 40 && seen.size < ipv4Packets.length; i++) {
      for (const l of t.lines()) {
        const m = /^[▶ ] +(\d+) \d+\.\d{6}/.exec(l.split('│')[0]);
        if (m) seen.set(Number(m[1]), l.split('│')[0]);
      }
      await t.press('pagedown');
    }
    expect(seen.size).toBe(ipv4Packets.length);
    for (const p of ipv4Packets) {
      const row = seen.get(Number(p['frame.number']))!;
      const [, conn, dir, flags, len] = /^[▶ ] +\d+ \S+ +(\S+) +(\S+) +(\S+) +(\d+)/.exec(row)!;
      expect(Number(len), row).toBe(Number(p['tcp.len']));
      expect(flags.split(',').includes('SYN'), row).toBe(p['tcp.flags.syn'] === '1');
      expect(flags.split(',').includes('FIN'), row).toBe(p['tcp.flags.fin'] === '1');
      expect(conn === 'ctrl', row).toBe(p['tcp.stream'] === '0');
      // Direction in FTP roles: the FTP client is the address that opened the control connection
      // (stream 0); `*` marks the TCP initiator, the sender of each connection's first SYN.
      const ftpClient = ipv4Packets.find((q) => q['tcp.stream'] === '0' && q['tcp.flags.syn'] === '1')!['ip.src'];
      const syn = ipv4Packets.find((q) => q['tcp.stream'] === p['tcp.stream'] && q['tcp.flags.syn'] === '1')!;
      const initiator = p['tcp.srcport'] === syn['tcp.srcport'] && p['ip.src'] === syn['ip.src'];
      expect(dir, row).toBe(`${p['ip.src'] === ftpClient ? 'C→S' : 'S→C'}${initiator ? '*' : ''}`);
      if (p['ftp.request.command']) expect(row).toContain(`Request: ${p['ftp.request.command']}`);
      if (p['ftp.response.code']) expect(row).toContain(`Response: ${p['ftp.response.code']}`);
    }
  });

  it('layers: a reply\'s FTP layer with its code, at the frame tshark decodes as that reply', async () => {
    const frame = ipv4Packets.find((p) => p['ftp.response.code'] === '331')!['frame.number'];
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('enter', '3', '/');
    await t.type('Response: 331');
    await t.press('enter');
    expect(t.selected()!.text).toMatch(new RegExp(`^▶ +${frame} `));
    await t.press('enter', '/');
    await t.type('ftp');
    await t.press('enter');
    const layers = await t.scrolledText();
    expect(layers).toContain(`Layers — frame ${frame} `);
    expect(layers).toMatch(/File Transfer Protocol/);
    expect(layers).toMatch(/331/);
  });

  it('layers tree: h closes a node and hides its fields, l opens it again, h on a field goes to its layer', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('enter', '4', '/');
    await t.type('Ethernet II');
    await t.press('enter');
    expect(t.selected()!.text).toMatch(/^▶ ▾ Ethernet II/);
    const dst = /Destination: /;
    expect(t.screen()).toMatch(dst);
    await t.press('h');
    expect(t.selected()!.text).toMatch(/^▶ ▸ Ethernet II/);
    expect(t.screen().split('Hex —')[0]).not.toMatch(dst);
    await t.press('l', 'down');
    expect(t.selected()!.text).toMatch(dst);
    await t.press('h');
    expect(t.selected()!.text).toMatch(/^▶ ▾ Ethernet II/);
  });

  it('layers: TTL and the addresses as tshark decodes them', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('enter', '4', '/');
    await t.type('Time to live');
    await t.press('enter');
    expect(t.selected()!.text).toContain(`Time to live: ${ipv4Frame1['ip.ttl']}`);
  });

  it('handshake view: SYN, SYN-ACK, ACK with raw and relative numbers, states and the arithmetic', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('6');
    const s = t.screen();
    const [syn, synAck] = ipv4Syn.filter((r) => r['tcp.stream'] === '0');
    expect(s).toMatch(/SYN-SENT +── SYN ─/);
    expect(s).toMatch(/◀── SYN, ACK ─/);
    expect(s).toMatch(/ESTABLISHED +── ACK ─/);
    expect(s).toContain(`seq=${syn['tcp.seq_raw']} (relative 0)`);
    expect(s).toContain(`seq=${synAck['tcp.seq_raw']} (relative 0) ack=${synAck['tcp.ack_raw']} (relative 1)`);
    expect(s).toContain(`win=${syn['tcp.window_size_value']}`);
    expect(s).toContain(`frame ${syn['frame.number']}`);
    expect(s).toMatch(/CLOSED +LISTEN/);
    const all = await t.scrolledText();
    expect(all).toMatch(/client ISN \+ 1 = \d+ \+ 1 = \d+, because SYN\s+consumes one sequence number/);
  });

  it('findings view lists what was found; Enter jumps to its frame', async () => {
    const a = await analysisOf('zeek/ipv4.pcap');
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('7');
    const all = [...a.findings, ...a.sessions.flatMap((s) => s.findings)];
    expect(all.length).toBeGreaterThan(0);
    expect(t.screen()).toContain(`Findings (${all.length})`);
    for (const f of all) expect(t.screen()).toContain(f.code);
    const sel = t.selected()!.text;
    const frame = Number(/^▶ \S+ \S+ +\S+ \d+ +(\d+)/.exec(sel)?.[1] ?? /\s(\d+)\s/.exec(sel)![1]);
    await t.press('enter');
    expect(t.run.dashboard.screen).toBe('session');
    expect(t.run.dashboard.frame).toBe(frame);
    expect(t.screen()).toContain(`Layers — frame ${frame} `);
  });

  it('help is generated from the key table', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('?');
    const text = await t.scrolledText();
    for (const b of KEY_TABLE) {
      expect(text).toContain(b.help);
      expect(text).toContain(b.keys.map(keyLabel).join(' '));
    }
    await t.press('escape');
    expect(t.run.dashboard.screen).toBe('sessions');
  });

  it('Tab cycles panes and Esc goes back out', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows);
    await t.press('enter');
    expect(t.run.dashboard.focus).toBe('flow');
    await t.press('tab');
    expect(t.run.dashboard.focus).toBe('packets');
    await t.press('tab', 'tab');
    expect(t.run.dashboard.focus).toBe('hex');
    await t.press('S-tab');
    expect(t.run.dashboard.focus).toBe('layers');
    await t.press('escape');
    expect(t.run.dashboard.focus).toBe('packets');
    await t.press('escape');
    expect(t.run.dashboard.screen).toBe('sessions');
  });

  it('Tab and Shift-Tab visit all four panes and come back to the same screen; the focused one is marked without colour', async () => {
    const t = await open('zeek/ipv4.pcap', cols, rows, { noColor: true });
    await t.press('enter');
    const TITLE = { flow: 'Flow', packets: 'Packets', layers: 'Layers', hex: 'Hex' } as const;
    /** Pane titles carrying the focus mark, in plain text. */
    const marked = (): string[] => t.lines().slice(1).flatMap((l) => [...l.matchAll(/\[\*\] (\w+)/g)].map((m) => m[1]));
    expect(marked()).toEqual([TITLE[t.run.dashboard.focus]]);
    const start = t.screen();
    for (const key of ['tab', 'S-tab']) {
      const seen = new Set<string>();
      for (let i = 0; i < 4; i++) {
        await t.press(key);
        seen.add(t.run.dashboard.focus);
        // the focused pane is on screen, and it alone is marked
        expect(marked(), `${key} ×${i + 1}`).toEqual([TITLE[t.run.dashboard.focus]]);
        if (i < 3) expect(t.screen()).not.toBe(start);
      }
      expect([...seen].sort()).toEqual(['flow', 'hex', 'layers', 'packets']);
      expect(t.screen(), `four ${key}`).toBe(start);
    }
  });
});

describe('dashboard behaviour', () => {
  it('/ filters sessions by file name, address or finding code; no match says so; Esc clears', async () => {
    const t = await open('zeek/ipv4.pcap', 80, 24);
    await t.press('/');
    await t.type('robots.txt');
    await t.press('enter');
    expect(t.screen()).toContain('1 match /robots.txt');
    await t.press('/');
    await t.type('nosuchthing');
    await t.press('enter');
    expect(t.screen()).toContain('no session matches /nosuchthing');
    await t.press('escape');
    expect(t.screen()).toContain(client);
  });

  it('/ opens an empty prompt each time, in the sessions and in a pane; Ctrl-U clears what was typed', async () => {
    const t = await open('zeek/ipv4.pcap', 80, 24);
    const prompt = (): string => t.lines()[23];
    await t.press('/');
    await t.type('robots.txt');
    expect(prompt()).toMatch(/^ filter: \/robots\.txt▏/);
    await t.press('enter');
    expect(t.screen()).toContain('1 match /robots.txt');
    await t.press('/');
    expect(prompt()).toMatch(/^ filter: \/▏/);
    await t.type('nosuch');
    await t.press('\x15'); // Ctrl-U, as a terminal sends it
    expect(prompt()).toMatch(/^ filter: \/▏/);
    await t.type('anonymous');
    await t.press('enter');
    expect(t.screen()).toContain('1 match /anonymous');
    // a pane's search too
    await t.press('enter', '/');
    await t.type('RETR');
    await t.press('enter', '/');
    expect(prompt()).toMatch(/^ search: \/▏/);
    await t.press('escape');
    expect(prompt()).not.toMatch(/search:/);
  });

  it('a capture without FTP sessions says so and suggests --ftp-port', async () => {
    // link type 147 is not decoded, so the FTP in it is not found
    const t = await open('../fixtures/ipv4-linktype-147.pcap', 120, 24);
    expect(t.screen()).toContain('Sessions (0)');
    expect(t.screen()).toContain('no FTP sessions found; if FTP runs on a port other than 21 and was not recognised, try --ftp-port N');
  });

  it('reflows on resize: four panes when wide, two stacked when narrow, a notice below the minimum', async () => {
    const t = await open('zeek/ipv4.pcap', 160, 50);
    await t.press('enter');
    expect(t.screen()).toMatch(/Flow — session 1/);
    expect(t.screen()).toMatch(/Packets — session 1/);
    expect(t.screen()).toMatch(/Hex — frame/);
    await t.resize(80, 24);
    expect(t.lines()).toHaveLength(24);
    expect(t.screen()).toMatch(/Flow — session 1/);
    expect(t.screen()).not.toMatch(/Packets — session 1/);
    await t.resize(40, 10);
    expect(t.screen()).toContain('Terminal too small (40×10)');
    await t.resize(100, 30);
    expect(t.screen()).toMatch(/Flow — session 1/);
  });

  it('NO_COLOR: no colours are drawn, the selection is still inverse and statuses keep their markers', async () => {
    const t = await open('zeek/ipv4.pcap', 80, 24, { noColor: true });
    expect(t.written()).not.toMatch(/\x1b\[3[1-7]m|\x1b\[38;5;/);
    expect(t.selected()).not.toBeNull();
    expect(t.screen()).toMatch(/[✓!x] /);
  });

  it('q quits and leaves the alternate screen with the cursor visible', async () => {
    const t = await open('zeek/ipv4.pcap', 80, 24);
    expect(t.written()).toContain('\x1b[?1049h');
    await t.press('q');
    await t.run.closed;
    expect(t.written()).toContain('\x1b[?1049l');
    expect(t.written().lastIndexOf('\x1b[?25h')).toBeGreaterThan(t.written().lastIndexOf('\x1b[?25l'));
    h = null;
  });

  it('mouse: a click selects the row under it, the wheel scrolls', async () => {
    const t = await open('zeek/ipv4.pcap', 80, 24);
    const row = t.lines().findIndex((l) => /└ RETR .*\(active/.test(l));
    await t.press(`\x1b[<0;10;${row + 1}M`, `\x1b[<0;10;${row + 1}m`);
    expect(t.selected()!.y).toBe(row);
    await t.press('enter');
    const first = t.selected()!.text;
    await t.press(`\x1b[<65;10;5M`);
    expect(t.selected()!.text).not.toBe(first);
  });

  it('the ipv6 capture: bracketed IPv6 endpoints and EPSV/EPRT data connections', async () => {
    const log = readTsv(ZEEK + 'scripts.base.protocols.ftp.ftp-ipv6/ftp.log');
    const t = await open('zeek/ipv6.pcap', 160, 50);
    expect(t.screen()).toContain(`[${log[0]['id.orig_h']}]:${log[0]['id.orig_p']}`);
    expect(t.screen()).toMatch(/EPSV/);
    expect(t.screen()).toMatch(/EPRT/);
  });
});

describe('title bar at 80 columns', () => {
  // tshark's view of the capture (captures/expected, written by captures/tshark-fields.sh)
  const frames = readTsv(new URL('../../captures/expected/vsftpd-aborted.pcap.tsv', import.meta.url).pathname);
  const controlSyns = frames.filter((f) => f['tcp.dstport'] === '21' && Number(f['tcp.flags']) === 0x002);

  it.each([
    { what: 'a long path', status: null },
    { what: 'a long path while the file is read', status: 'reading 45% of 1.5 MiB…' },
  ])('keeps the session, packet and findings counts with $what; the title gives way', async ({ status }) => {
    const rel = '../vsftpd-aborted.pcap';
    const a = await analysisOf(rel);
    const title = `/home/someone/captures/2026/november/${rel.slice(3)}`;
    h = await openHarness({ ...fileSource(rel, a), title, status: () => status }, 80, 24);
    await h.press('7');
    const findings = /Findings \((\d+)\)/.exec(h.screen())![1];
    const bar = h.lines()[0];
    expect(bar.length).toBeLessThanOrEqual(80);
    expect(bar).toContain(`${controlSyns.length} sessions  ${frames.length} packets  ${findings} findings`);
    if (status) expect(bar).toContain(status);
    // the path is shortened from the left (its end stays) or left out
    expect(bar).not.toContain(title);
    const shown = /…(\S+)/.exec(bar)?.[1];
    if (shown !== undefined) expect(title.endsWith(shown)).toBe(true);
    if (!status) expect(shown).toBeDefined();
    expect(bar).toMatch(/\? help {2}q quit$/);
  });
});

/** host:port as the sessions view writes endpoints (IPv6 in brackets). */
const hostPort = (host: string, port: string | number): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

interface Announced { mode: 'passive' | 'active'; verb: string; endpoint: string }

/** The data endpoints zeek logged (data_channel.*), with the command that announced them. */
function fromZeek(dir: string): Announced[] {
  return readTsv(`${ZEEK}${dir}/ftp.log`).filter((r) => r['data_channel.resp_p'] !== '-').map((r) => ({
    mode: r['data_channel.passive'] === 'T' ? 'passive' : 'active', verb: r.command,
    endpoint: hostPort(r['data_channel.resp_h'], r['data_channel.resp_p']),
  }));
}

/** The data endpoints in tshark's decode of the 227/229 replies and PORT/EPRT commands. */
function fromTshark(file: string): Announced[] {
  const out: Announced[] = [];
  for (const r of readTsv(EXPECTED + file)) {
    const server = r['ip.src'] || r['ipv6.src'];
    const arg = r['ftp.response.arg'] || r['ftp.request.arg'];
    if (r['ftp.response.code'] === '227') {
      const n = /(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(arg)!.slice(1).map(Number);
      out.push({ mode: 'passive', verb: 'PASV', endpoint: hostPort(n.slice(0, 4).join('.'), n[4] * 256 + n[5]) });
    } else if (r['ftp.response.code'] === '229') {
      out.push({ mode: 'passive', verb: 'EPSV', endpoint: hostPort(server, /\|\|\|(\d+)\|/.exec(arg)![1]) });
    } else if (r['ftp.request.command'] === 'EPRT') {
      const [, , host, port] = arg.split('|');
      out.push({ mode: 'active', verb: 'EPRT', endpoint: hostPort(host, port) });
    } else if (r['ftp.request.command'] === 'PORT') {
      const n = arg.split(',').map(Number);
      out.push({ mode: 'active', verb: 'PORT', endpoint: hostPort(n.slice(0, 4).join('.'), n[4] * 256 + n[5]) });
    }
  }
  return out;
}

describe.each([{ cols: 120, rows: 30 }, { cols: 80, rows: 24 }])('data connection rows at $cols columns', ({ cols, rows }) => {
  it.each([
    { rel: '../vsftpd-lftp-ipv6.pcapng', announced: () => fromTshark('vsftpd-lftp-ipv6.pcapng-setup.tsv'), verbAlways: true },
    { rel: '../vsftpd-aborted.pcap', announced: () => fromTshark('vsftpd-aborted.pcap-setup.tsv'), verbAlways: true },
    { rel: 'zeek/ipv4.pcap', announced: () => fromZeek('scripts.base.protocols.ftp.ftp-ipv4'), verbAlways: true },
    // 36-character IPv6 addresses: at 80 columns the mode and the endpoint stay, the verb may go
    { rel: 'zeek/ipv6.pcap', announced: () => fromZeek('scripts.base.protocols.ftp.ftp-ipv6'), verbAlways: false },
  ])('$rel: each shows passive/active, the setup verb and the announced endpoint', async ({ rel, announced, verbAlways }) => {
    const t = await open(rel, cols, rows, { noColor: true });
    const dataRows = t.lines().filter((l) => l.includes('└'));
    const want = announced();
    expect(want.length).toBeGreaterThan(0);
    expect(dataRows).toHaveLength(want.length);
    for (const w of want) {
      const row = dataRows.filter((l) => l.includes(w.endpoint));
      expect(row, `${w.endpoint} in\n${dataRows.join('\n')}`).toHaveLength(1);
      expect(row[0]).toMatch(new RegExp(`\\b${w.mode}\\b`));
      if (verbAlways || cols >= 120) expect(row[0]).toMatch(new RegExp(`\\b${w.mode} ${w.verb}\\b`));
    }
  });
});

describe('display filters in the dashboard', () => {
  it('/ takes a display filter on sessions, and says when text that looks like one is searched for instead', async () => {
    const t = await open('../tour.pcapng', 120, 30);
    await t.press('/');
    await t.type('ftp.response.code == 530');
    await t.press('enter');
    // tshark: the only 530 of tour.pcapng is in the session from port 58906 (captures/expected/tour.pcapng.tsv)
    expect(t.screen()).toContain('1 match /ftp.response.code == 530');
    expect(t.screen()).toContain(':58906');
    await t.press('/');
    await t.type('ftp.respons.code == 530');
    await t.press('enter');
    expect(t.screen()).toMatch(/not a display filter \(unknown field "ftp.respons.code"; did you mean ftp.response.code\?/);
  });

  it('/ in the packets pane jumps to the next packet a display filter matches', async () => {
    const t = await open('../tour.pcapng', 120, 30);
    await t.press('enter', '3', '/');
    await t.type('tcp.flags.syn == 1 && tcp.flags.ack == 1');
    await t.press('enter');
    expect(t.selected()!.text).toMatch(/SYN,ACK/);
  });
});

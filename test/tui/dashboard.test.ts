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
    expect(dataRows.filter((l) => l.includes('RETR robots.txt'))).toHaveLength(ftpLog.filter((r) => r.command === 'RETR').length);
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
    expect(t.selected()!.text).toMatch(/└ RETR robots\.txt/);
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
    expect(sel).toMatch(/D2 +C→S SYN /);
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
    expect(t.screen()).toMatch(/No\. +Time +Conn +Dir +Flags +Len +Summary/);
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
      const [, conn, dir, flags, len] = /^[▶ ] +\d+ \S+ +(\S+) +(\S+) (\S+) +(\d+)/.exec(row)!;
      expect(Number(len), row).toBe(Number(p['tcp.len']));
      expect(flags.split(',').includes('SYN'), row).toBe(p['tcp.flags.syn'] === '1');
      expect(flags.split(',').includes('FIN'), row).toBe(p['tcp.flags.fin'] === '1');
      expect(conn === 'ctrl', row).toBe(p['tcp.stream'] === '0');
      // the TCP client of each connection is the sender of its first SYN
      const syn = ipv4Packets.find((q) => q['tcp.stream'] === p['tcp.stream'] && q['tcp.flags.syn'] === '1')!;
      expect(dir, row).toBe(p['tcp.srcport'] === syn['tcp.srcport'] ? 'C→S' : 'S→C');
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
});

describe('dashboard behaviour', () => {
  it('/ filters sessions by file name, address or finding code; no match says so; Esc clears', async () => {
    const t = await open('zeek/ipv4.pcap', 80, 24);
    await t.press('/');
    await t.type('robots.txt');
    await t.press('enter');
    expect(t.screen()).toContain('1 match /robots.txt');
    await t.press('/', 'backspace');
    await t.type('nosuchthing');
    await t.press('enter');
    expect(t.screen()).toContain('no session matches /robots.txtnosuchthing'.replace('robots.txt', 'robots.tx'));
    await t.press('escape');
    expect(t.screen()).toContain(client);
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
    const row = t.lines().findIndex((l) => l.includes('└ RETR robots.txt (active'));
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

/**
 * The diagnosis lab (captures/scenarios/): every recorded failure is recognised with the code that names
 * its cause, the evidence in the message points at the right frames, addresses and counts, and no other
 * diagnosis is raised. Expected values come from what we control (scenarios.json: the configuration we
 * chose, what the clients said and saved) and from tshark's view of each capture
 * (captures/scenarios/tshark/*.tsv, written by tshark-fields.sh), never from ftpscope's own output.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { isDiagnosis } from '../../src/analysis/diagnosis.js';
import { renderReportText } from '../../src/report/text.js';
import type { Analysis } from '../../src/model/types.js';
import type { Finding } from '../../src/model/findings.js';

const DIR = 'captures/scenarios';

interface Scenario {
  id: string;
  file: string;
  server: string;
  client: string;
  runs: { client: string; exit: number; error: string; stdout: string }[];
  truth: Record<string, any>;
  expect: Record<string, any> & { code: string };
}

const manifest = JSON.parse(readFileSync(`${DIR}/scenarios.json`, 'utf8')) as { scenarios: Scenario[] };
const scenarios = new Map(manifest.scenarios.map((s) => [s.id, s]));

/** One packet as tshark sees it. */
interface Row {
  frame: number;
  t: number;
  src: string;
  dst: string;
  stream: number;
  sport: number;
  dport: number;
  flags: number;
  len: number;
  cmd: string;
  arg: string;
  code: number | null;
  text: string;
  pasvIp: string;
  pasvPort: number | null;
  activeIp: string;
  activePort: number | null;
  /** TLS handshake message types and extension types in the packet (tshark's tls.handshake.*). */
  tlsTypes: number[];
  tlsExtensions: number[];
  analysis: string[];
}

function tshark(file: string): Row[] {
  const [, ...lines] = readFileSync(`${DIR}/tshark/${file}.tsv`, 'utf8').trimEnd().split('\n');
  return lines.map((l) => {
    const c = l.split('\t');
    const num = (x: string | undefined) => (x ? Number(x.split(',')[0]) : null);
    return {
      frame: Number(c[0]), t: Number(c[1]), src: c[2]!, dst: c[3]!, stream: Number(c[4]), sport: Number(c[5]), dport: Number(c[6]),
      flags: parseInt(c[7]!, 16), len: Number(c[8]), cmd: c[9] ?? '', arg: c[10] ?? '', code: num(c[11]), text: c[12] ?? '',
      pasvIp: c[13] ?? '', pasvPort: num(c[14]), activeIp: c[15] ?? '', activePort: num(c[16]),
      tlsTypes: c[17] ? c[17].split(',').map(Number) : [],
      tlsExtensions: c[18] ? c[18].split(',').map(Number) : [],
      analysis: c[19] ? c[19].split(',') : [],
    };
  });
}

const SYN = 0x02;
const ACK = 0x10;
const isSyn = (r: Row) => (r.flags & (SYN | ACK)) === SYN;
const isSynAck = (r: Row) => (r.flags & (SYN | ACK)) === (SYN | ACK);
/** tshark streams whose SYN was never answered with a SYN-ACK. */
function unansweredStreams(rows: Row[]): Set<number> {
  const syn = new Set(rows.filter(isSyn).map((r) => r.stream));
  for (const r of rows.filter(isSynAck)) syn.delete(r.stream);
  return syn;
}
const firstSynOf = (rows: Row[], stream: number) => rows.find((r) => r.stream === stream && isSyn(r))!;
const synCount = (rows: Row[], stream: number) => rows.filter((r) => r.stream === stream && isSyn(r)).length;
const reply = (rows: Row[], code: number) => rows.filter((r) => r.code === code);
const command = (rows: Row[], verb: string) => rows.filter((r) => r.cmd === verb);

const cache = new Map<string, Promise<Analysis>>();
function analysisOf(id: string): Promise<Analysis> {
  const sc = scenarios.get(id)!;
  let p = cache.get(id);
  if (!p) cache.set(id, (p = analyzeFile(`${DIR}/${sc.file}`)));
  return p;
}
function diagnoses(a: Analysis): Finding[] {
  return [...a.sessions.flatMap((s) => s.findings), ...a.findings].filter((f) => isDiagnosis(f.code) || f.code === 'login-repeated-failures');
}
async function only(id: string, code: string): Promise<{ a: Analysis; fs: Finding[]; rows: Row[]; sc: Scenario }> {
  const sc = scenarios.get(id)!;
  expect(sc.expect.code, 'scenarios.json names the cause this scenario was built for').toBe(code);
  const a = await analysisOf(id);
  const all = diagnoses(a);
  // No false diagnosis: every diagnosis raised names the scenario's cause.
  expect([...new Set(all.map((f) => f.code))]).toEqual([code]);
  return { a, fs: all, rows: tshark(sc.file), sc };
}
/** The fix names the option of each of the three servers. */
function namesThreeServers(message: string): void {
  expect(message).toMatch(/vsftpd/);
  expect(message).toMatch(/ProFTPD/);
  expect(message).toMatch(/pure-ftpd/);
}

describe('diagnosis lab: each recorded failure is recognised, with its evidence and fix', () => {
  it('covers the twenty scenarios of issue 16, each capture recorded', () => {
    expect([...scenarios.keys()]).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1).padStart(2, '0')));
    for (const sc of scenarios.values()) expect(readFileSync(`${DIR}/${sc.file}`).length).toBe((sc as any).captureSize);
  });

  it('01 PASV announces the private address behind NAT: the data SYN goes nowhere', async () => {
    const { fs, rows, sc } = await only('01', 'pasv-private-address');
    const r227 = reply(rows, 227)[0]!;
    expect(r227.pasvIp).toBe(sc.expect.announced);
    const f = fs[0]!;
    expect(f.frame).toBe(r227.frame);
    const stream = [...unansweredStreams(rows)].find((s) => firstSynOf(rows, s).dst === sc.expect.announced)!;
    expect(f.message).toContain(`${sc.expect.announced}:${r227.pasvPort}`);
    expect(f.message).toContain(`reached it at ${sc.expect.controlServer}`);
    expect(f.message).toContain(`SYN to ${sc.expect.announced} (frame ${firstSynOf(rows, stream).frame}) was sent ${synCount(rows, stream)} times`);
    expect(f.message).toContain(`pasv_address=${sc.expect.controlServer}`);
    expect(f.message).toContain(`MasqueradeAddress ${sc.expect.controlServer}`);
    expect(f.message).toContain(`-P ${sc.expect.controlServer}`);
    expect(sc.runs[0]!.exit).not.toBe(0); // curl failed
  });

  it('02 a firewall drops the passive port range: data SYNs retransmitted, never answered', async () => {
    const { fs, rows, sc } = await only('02', 'passive-data-blocked');
    const blocked = [...unansweredStreams(rows)].filter((s) => firstSynOf(rows, s).dst === sc.expect.controlServer);
    expect(blocked.length).toBeGreaterThan(0);
    expect(fs).toHaveLength(blocked.length); // one per session, each lftp attempt
    for (const [i, f] of fs.entries()) {
      const syn = firstSynOf(rows, blocked[i]!);
      expect(f.frame).toBe(syn.frame);
      expect(f.message).toContain(`port ${syn.dport}`);
      expect(f.message).toContain(`was sent ${synCount(rows, blocked[i]!)} times`);
      namesThreeServers(f.message);
    }
  });

  it("03 active mode blocked by the client's firewall: the server's SYNs unanswered, then 425", async () => {
    const { fs, rows, sc } = await only('03', 'active-data-blocked');
    const port = command(rows, 'PORT')[0]!;
    const stream = [...unansweredStreams(rows)].find((s) => firstSynOf(rows, s).dst === sc.expect.client)!;
    const syn = firstSynOf(rows, stream);
    expect(syn.dport).toBe(port.activePort);
    const f = fs[0]!;
    expect(f.frame).toBe(syn.frame);
    expect(f.message).toContain(`${port.activeIp}:${port.activePort}`);
    expect(f.message).toContain(`was sent ${synCount(rows, stream)} times`);
    expect(f.message).toContain(`replied 425`);
    expect(reply(rows, 425)).toHaveLength(1);
  });

  it('04 EPSV blocked where PASV is let through: the client falls back to PASV', async () => {
    const { fs, rows, sc } = await only('04', 'epsv-data-blocked');
    const epsvPort = Number(/\|\|\|(\d+)\|/.exec(reply(rows, 229)[0]!.text)![1]);
    const stream = [...unansweredStreams(rows)].find((s) => firstSynOf(rows, s).dport === epsvPort)!;
    const f = fs[0]!;
    expect(f.frame).toBe(firstSynOf(rows, stream).frame);
    const pasv = reply(rows, 227)[0]!;
    const pasvSyn = rows.find((r) => isSynAck(r) && r.src === pasv.pasvIp && r.sport === pasv.pasvPort);
    expect(pasvSyn, 'the PASV data connection opened').toBeDefined();
    expect(f.message).toContain(`${pasv.pasvIp}:${pasv.pasvPort}`);
    expect(sc.truth.downloaded.sha256).toBe((manifest as any).served.find((x: any) => x.path === 'pub/small.txt').sha256);
  });

  it('05 a client behind NAT without an FTP helper: PORT names its private address, refused', async () => {
    const { fs, rows, sc } = await only('05', 'port-private-address');
    const port = command(rows, 'PORT')[0]!;
    expect(port.activeIp).toBe(sc.expect.announced);
    const f = fs[0]!;
    expect(f.frame).toBe(port.frame);
    expect(f.message).toContain(`comes from ${sc.expect.controlClient}`);
    const r500 = rows.find((r) => r.code !== null && r.code >= 500 && r.frame > port.frame)!;
    expect(f.message).toContain(`${r500.code} ${r500.text}`);
  });

  it('06 FTPS hides PASV from the firewall helper: the TLS data SYNs are dropped', async () => {
    const { fs, rows } = await only('06', 'tls-data-blocked');
    const auth = command(rows, 'AUTH')[0]!;
    const stream = [...unansweredStreams(rows)].find((s) => firstSynOf(rows, s).frame > auth.frame)!;
    expect(fs[0]!.frame).toBe(firstSynOf(rows, stream).frame);
    expect(fs[0]!.message).toContain(`was sent ${synCount(rows, stream)} times`);
    // The plain session before it went through the same firewall.
    expect(rows.some((r) => isSynAck(r) && r.frame < auth.frame && r.sport !== 21)).toBe(true);
  });

  it('07 vsftpd requires TLS session reuse and ftplib does not reuse: the data connection is refused', async () => {
    const { fs, rows, sc } = await only('07', 'tls-session-reuse-required');
    expect(sc.runs.find((r) => r.client === 'python-ftplib')!.stdout).toContain('522');
    expect(sc.runs.find((r) => r.client === 'lftp')!.exit).toBe(0);
    expect(fs).toHaveLength(1); // lftp's session, which resumed, is not diagnosed
    // The ClientHello of ftplib's data connection (the last data stream): its first payload from the client.
    const dataStreams = [...new Set(rows.filter((r) => r.sport !== 21 && r.dport !== 21).map((r) => r.stream))];
    const last = dataStreams[dataStreams.length - 1]!;
    const hello = rows.find((r) => r.stream === last && r.len > 0 && r.src === '203.0.113.10')!;
    expect(fs[0]!.frame).toBe(hello.frame);
    expect(fs[0]!.message).toContain('vsftpd require_ssl_reuse=NO');
    // The resumption offer as tshark decodes it: lftp's data ClientHello carries pre_shared_key (41), ftplib's does not.
    const a = await analysisOf('07');
    const PSK = 41;
    for (const session of a.sessions) {
      for (const dc of session.dataConnections) {
        const helloRow = rows.find((r) => r.sport === dc.client.port && r.dport === dc.server.port && r.tlsTypes.includes(1))!;
        expect(dc.tlsResumption).toBe(helloRow.tlsExtensions.includes(PSK));
      }
    }
    expect(a.sessions.flatMap((x) => x.dataConnections).map((dc) => dc.tlsResumption)).toEqual([true, false]);
  });

  it('08 TYPE A on a binary file: the bytes received differ from its size', async () => {
    const { fs, rows, sc } = await only('08', 'ascii-mode-binary');
    const retr = command(rows, 'RETR')[0]!;
    expect(fs[0]!.frame).toBe(retr.frame);
    const dataStream = rows.find((r) => r.frame > retr.frame && r.sport !== 21 && r.len > 0)!.stream;
    const wire = rows.filter((r) => r.stream === dataStream && r.len > 0 && !r.analysis.includes('retransmission')).reduce((n, r) => n + r.len, 0);
    expect(fs[0]!.message).toContain(`${wire} bytes arrived`);
    expect(fs[0]!.message).toContain(`size as ${sc.truth.served.bytes}`);
    expect(wire).not.toBe(sc.truth.served.bytes);
    expect(sc.truth.downloaded.sha256).not.toBe(sc.truth.served.sha256);
  });

  it('09 REST resume with a wrong offset: the file gets a hole, the sizes tell', async () => {
    const { fs, rows, sc } = await only('09', 'resume-offset-mismatch');
    const rest = command(rows, 'REST')[0]!;
    expect(Number(rest.arg)).toBe(sc.truth.restOffset);
    expect(fs[0]!.frame).toBe(rest.frame);
    const firstRetr = command(rows, 'RETR')[0]!;
    const firstData = rows.find((r) => r.frame > firstRetr.frame && r.sport !== 21 && r.len > 0)!.stream;
    const delivered = rows.filter((r) => r.stream === firstData && r.len > 0 && r.src === '198.51.100.7').reduce((n, r) => n + r.len, 0);
    expect(fs[0]!.message).toContain(`past the ${delivered} bytes`);
    expect(sc.truth.firstSaved).toBeLessThanOrEqual(delivered);
    expect(fs[0]!.message).toContain(`ends up ${sc.truth.resumedFile.bytes} bytes long instead of ${sc.truth.served.bytes}`);
    expect(sc.truth.resumedFile.sha256).not.toBe(sc.truth.served.sha256);
  });

  it('10 a NAT idle timeout kills the control connection during a long transfer: no 226', async () => {
    const { fs, rows, sc } = await only('10', 'control-lost-during-transfer');
    const retr = command(rows, 'RETR')[0]!;
    expect(fs[0]!.frame).toBe(retr.frame);
    expect(reply(rows, 226)).toHaveLength(0);
    const rst = rows.find((r) => r.sport === 21 && (r.flags & 0x04) !== 0)!;
    expect(fs[0]!.message).toContain(`RST (frame ${rst.frame})`);
    expect(fs[0]!.message).toContain(`all ${sc.truth.served.bytes} bytes`);
    expect(sc.truth.downloaded.sha256).toBe(sc.truth.served.sha256); // the file arrived; the session did not end well
    expect(sc.runs[0]!.exit).not.toBe(0);
  });

  it("11 the server's idle timeout gives 421", async () => {
    const { fs, rows, sc } = await only('11', 'server-idle-timeout');
    const r421 = reply(rows, 421)[0]!;
    expect(fs[0]!.frame).toBe(r421.frame);
    expect(fs[0]!.message).toContain(`about ${sc.expect.timeoutSec} s`);
    expect(fs[0]!.message).toContain('TimeoutIdle');
  });

  it('12 the passive port range is exhausted: the server falls back to a port the firewall drops', async () => {
    const { fs, rows } = await only('12', 'pasv-ports-exhausted');
    const held = reply(rows, 227).slice(0, 2).map((r) => r.pasvPort!);
    const stream = [...unansweredStreams(rows)][0]!;
    const syn = firstSynOf(rows, stream);
    expect(held.includes(syn.dport)).toBe(false);
    expect(fs[0]!.frame).toBe(syn.frame);
    expect(fs[0]!.message).toContain(`ports ${Math.min(...held)}-${Math.max(...held)}`);
    expect(fs[0]!.message).toContain(`${syn.dport}`);
  });

  it('13 a slow reader with zero windows: the client set the pace (its zero windows counted as tshark flags them)', async () => {
    const { fs, rows } = await only('13', 'transfer-receiver-limited');
    expect(fs).toHaveLength(1);
    // tshark's tcp.analysis.zero_window packets: the first, and the episodes (a run of them from the receiver)
    const zero = rows.filter((r) => r.analysis.includes('zero_window'));
    expect(zero.length).toBeGreaterThan(0);
    const { stream, src } = zero[0]!;
    let periods = 0;
    let seconds = 0;
    let since: number | null = null;
    for (const r of rows.filter((x) => x.stream === stream && x.src === src)) {
      const z = r.analysis.includes('zero_window');
      if (z && since === null) { periods++; since = r.t; } else if (!z && since !== null) { seconds += r.t - since; since = null; }
    }
    expect(fs[0]!.frame).toBe(zero[0]!.frame);
    expect(fs[0]!.message).toContain(`${periods} zero-window periods, ${seconds.toFixed(1)} s in total`);
    // the receiver is the FTP client (the capture is at the client, which sent the zero windows)
    expect(src).toBe(rows.find((r) => r.cmd === 'RETR')!.src);
    expect(fs[0]!.message).toMatch(/the client read slowly/);
  });

  it('14 a lossy link: retransmissions, low throughput', async () => {
    const { fs, rows } = await only('14', 'lossy-path');
    const m = /(\d+) of (\d+) packets of data connection \d+ \(([\d.]+):(\d+) -> ([\d.]+):(\d+)\)/.exec(fs[0]!.message)!;
    const stream = rows.find((r) => r.sport === Number(m[4]) && r.dport === Number(m[6]))!.stream;
    const packets = rows.filter((r) => r.stream === stream);
    const flagged = packets.filter((r) => r.analysis.some((x) => x.includes('retransmission'))).length;
    // tshark independently sees the loss on that connection: at least 5 retransmissions, at least 2% of its packets.
    expect(flagged).toBeGreaterThanOrEqual(5);
    expect(flagged / packets.length).toBeGreaterThanOrEqual(0.02);
    expect(Number(m[1])).toBeGreaterThanOrEqual(5);
    // Ours and tshark's counts agree to within a segment or two: the two classify an odd segment (a repeated
    // FIN, a partial overlap) differently, which changes nothing about the loss.
    expect(Math.abs(Number(m[1]) - flagged)).toBeLessThanOrEqual(Math.max(2, flagged / 10));
  });

  it('15 a path-MTU black hole on the data connection: the transfer stalls after the handshake', async () => {
    const { fs, rows } = await only('15', 'data-stalled');
    const r150 = reply(rows, 150)[0]!;
    const dataStream = rows.find((r) => isSynAck(r) && r.sport !== 21)!.stream;
    const ack = rows.find((r) => r.stream === dataStream && r.flags === ACK)!;
    expect(fs[0]!.frame).toBe(ack.frame);
    expect(fs[0]!.message).toContain(`(frame ${r150.frame})`);
    expect(rows.filter((r) => r.stream === dataStream && r.len > 0)).toHaveLength(0);
  });

  it('16 disk full on STOR: 452 after partial data', async () => {
    const { fs, rows, sc } = await only('16', 'upload-storage-full');
    const r452 = reply(rows, 452)[0]!;
    expect(fs[0]!.frame).toBe(r452.frame);
    const stor = command(rows, 'STOR')[0]!;
    const data = rows.find((r) => r.frame > stor.frame && r.dport !== 21 && r.sport !== 21 && r.len > 0)!.stream;
    const sent = rows.filter((r) => r.stream === data && r.len > 0 && !r.analysis.includes('retransmission')).reduce((n, r) => n + r.len, 0);
    expect(fs[0]!.message).toContain(`${sent} bytes arrived`);
    expect(sc.truth.stored.bytes).toBeLessThan(sent);
  });

  it('17 permission denied: 550 on RETR, 553 on STOR', async () => {
    const { fs, rows } = await only('17', 'transfer-refused');
    const refusals = [reply(rows, 550)[0]!.frame, reply(rows, 553)[0]!.frame];
    // One diagnosis per session names both refusals, each with its reply, and the fix for each kind.
    expect(fs).toHaveLength(1);
    expect(fs[0]!.frame).toBe(refusals[0]);
    expect(fs[0]!.count).toBe(2);
    expect(fs[0]!.frames).toEqual(refusals);
    for (const fr of refusals) expect(fs[0]!.message).toContain(`(frame ${fr})`);
    expect(fs[0]!.message).toMatch(/for downloads, check that the path exists.*for uploads, let the user write there/);
  });

  it('18 brute-force login failures: repeated 530', async () => {
    const { fs, rows, sc } = await only('18', 'login-repeated-failures');
    // One connection per guess; pure-ftpd answers the PASS with 530, then curl's QUIT with "530 Logout.".
    const failedPass = command(rows, 'PASS').map((p) => rows.find((r) => r.stream === p.stream && r.frame > p.frame && r.code !== null)!);
    expect(failedPass.map((r) => r.code)).toEqual(Array(sc.expect.attempts).fill(530));
    expect(fs).toHaveLength(1);
    expect(fs[0]!.frame).toBe(failedPass[2]!.frame); // raised at the third failure
  });

  it('19 anonymous login disabled: 530 with the reply text', async () => {
    const { fs, rows } = await only('19', 'anonymous-login-refused');
    const r530 = reply(rows, 530)[0]!;
    expect(fs[0]!.frame).toBe(r530.frame);
    expect(fs[0]!.message).toContain(r530.text);
  });

  it('20 a PORT bounce attempt towards a third host: the server refuses it', async () => {
    const { fs, rows, sc } = await only('20', 'port-bounce');
    const port = command(rows, 'PORT')[0]!;
    expect(port.activeIp).toBe(sc.expect.target);
    expect(fs[0]!.frame).toBe(port.frame);
    expect(fs[0]!.severity).toBe('warning'); // refused
    expect(fs[0]!.message).toContain('refused');
  });

  it('the text report shows the diagnosis first, ahead of the commands', async () => {
    const text = renderReportText(await analysisOf('01'));
    const lines = text.split('\n');
    const diag = lines.findIndex((l) => l.startsWith('  Diagnosis (error, pasv-private-address'));
    const greeting = lines.findIndex((l) => l.startsWith('  greeting '));
    expect(diag).toBeGreaterThan(0);
    expect(diag).toBeLessThan(greeting);
  });
});

describe('no false diagnosis on the other bundled captures', () => {
  /** Every capture under captures/ but the lab's: recorded, public, and the dissection fixtures. */
  function walk(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory()) return p === 'captures/scenarios' ? [] : walk(p);
      return /\.(pcap|pcapng|cap)(\.gz)?$/.test(e.name) ? [p] : [];
    });
  }
  const bundled = walk('captures').sort();
  /**
   * The real failures among them: zeek's ipv6-multiline-reply.pcap asks for a file the server does not have
   * (550), which is what transfer-refused names; the TCP failure captures' slow reader (a client reading at
   * 40 KiB/s) and stopped reader (a client that stops reading) set the pace with zero windows. Each
   * finding's frame is checked against tshark's fields.
   */
  const KNOWN: Record<string, string[]> = {
    'captures/public/zeek/ipv6-multiline-reply.pcap': ['transfer-refused'],
    'captures/tcp/tcp-slow-reader.pcap': ['transfer-receiver-limited'],
    'captures/tcp/tcp-stalled.pcap': ['transfer-receiver-limited'],
  };

  it('finds them all', () => expect(bundled.length).toBeGreaterThan(60));

  it.each(bundled)('%s', async (file) => {
    // A few fixtures are unreadable on purpose (errors are tested elsewhere): no analysis, no diagnosis.
    const a = await analyzeFile(file).catch(() => null);
    if (a === null) return;
    const found = diagnoses(a);
    expect(found.map((f) => f.code).filter((c) => c !== 'login-repeated-failures')).toEqual(KNOWN[file] ?? []);
    if (KNOWN[file]) {
      // transfer-refused points at the 550 (tshark's fields); transfer-receiver-limited at the receiver's
      // first zero window (tshark's TCP analysis)
      const refused = KNOWN[file]![0] === 'transfer-refused';
      const [head, ...lines] = readFileSync(file.replace('captures/', 'captures/expected/') + (refused ? '.tsv' : '.analysis.tsv'), 'utf8').trimEnd().split('\n');
      const col = head!.split('\t');
      const at = (l: string, name: string) => l.split('\t')[col.indexOf(name)]!;
      if (refused) {
        const row = lines.find((l) => at(l, 'frame.number') === String(found[0]!.frame))!;
        expect(at(row, 'ftp.response.code')).toBe('550');
      } else {
        const first = lines.find((l) => at(l, 'tcp.analysis.zero_window') === '1')!;
        expect(found[0]!.frame).toBe(Number(at(first, 'frame.number')));
      }
    }
  });
});

describe('every view shows the same diagnosis', () => {
  it("the HTML report's sessions table names the diagnosis, not merely the worst finding", async () => {
    const { sessionDiagnosis } = await import('../../src/report/html.js');
    // Scenario 03: the 425 (data-connection-failed, an error) is listed before the diagnosis, an error too.
    const s = (await analysisOf('03')).sessions[0]!;
    const codes = s.findings.map((f) => f.code);
    expect(codes.indexOf('data-connection-failed')).toBeLessThan(codes.indexOf('active-data-blocked'));
    expect(sessionDiagnosis(s).text).toMatch(/^active-mode data connections never opened/);
  });
});

describe('docs/diagnosis.md', () => {
  it('is the rendering of the recorded scenarios (run `npm run docs:diagnosis` after re-recording or changing a diagnosis)', async () => {
    const { renderDiagnosisDoc } = await import('../../src/report/diagnosis-doc.js');
    const analyses = new Map<string, Analysis>();
    for (const id of scenarios.keys()) analyses.set(id, await analysisOf(id));
    const doc = readFileSync('docs/diagnosis.md', 'utf8');
    expect(doc).toBe(renderDiagnosisDoc([...scenarios.values()] as any, analyses) + '\n');
    // Every diagnosis code has its section, which the findings catalogue and the dashboard's ? link to.
    for (const sc of scenarios.values()) expect(doc).toContain(`<a id="${sc.expect.code}"></a>`);
    const { FINDING_CODES } = await import('../../src/model/finding-codes.js');
    for (const info of Object.values(FINDING_CODES) as { doc?: string }[]) {
      if (info.doc) expect(doc).toContain(`<a id="${info.doc.replace('diagnosis.md#', '')}"></a>`);
    }
  });
});

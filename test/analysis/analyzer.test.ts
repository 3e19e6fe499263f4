import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { FtpAnalyzer } from '../../src/analysis/analyzer.js';
import { createConnection } from '../../src/tcp/connection.js';
import type { Analysis, DataConnection } from '../../src/model/types.js';
import { readSuricataFileChecks, readZeekLog } from '../helpers/zeek-log.js';

const PUB = 'captures/public';
const ZEEK = `${PUB}/zeek/expected`;

function allData(a: Analysis): DataConnection[] {
  return a.sessions.flatMap((s) => s.dataConnections);
}

function findConn(a: Analysis, origIp: string, origPort: number, respIp: string, respPort: number): DataConnection | undefined {
  return allData(a).find((d) => d.client.ip === origIp && d.client.port === origPort && d.server.ip === respIp && d.server.port === respPort);
}

describe('pairing against zeek (conn.log / ftp.log)', () => {
  for (const [capture, dir] of [
    ['zeek/ipv4.pcap', 'scripts.base.protocols.ftp.ftp-ipv4'],
    ['zeek/ipv6.pcap', 'scripts.base.protocols.ftp.ftp-ipv6'],
  ] as const) {
    it(`${capture}: every ftp-data connection zeek saw is paired, with zeek's byte counts`, async () => {
      const a = await analyzeFile(`${PUB}/${capture}`);
      expect(a.sessions).toHaveLength(1);
      const dataRows = readZeekLog(`${ZEEK}/${dir}/conn.log`).filter((r) => r.service === 'ftp-data');
      expect(dataRows.length).toBeGreaterThan(0);
      expect(allData(a)).toHaveLength(dataRows.length);
      expect(a.unpairedDataConnections).toHaveLength(0);
      for (const r of dataRows) {
        const dc = findConn(a, r['id.orig_h']!, Number(r['id.orig_p']), r['id.resp_h']!, Number(r['id.resp_p']));
        expect(dc, `data connection ${r['id.orig_h']}:${r['id.orig_p']} → ${r['id.resp_h']}:${r['id.resp_p']}`).toBeDefined();
        expect(dc!.bytes).toBe(Number(r.orig_bytes) + Number(r.resp_bytes));
        expect(dc!.missingBytes).toBe(Number(r.missed_bytes));
        expect(dc!.setup).not.toBeNull();
        expect(dc!.command).not.toBeNull();
        expect(dc!.complete).toBe(true);
      }
      // Each setup zeek logged (data_channel.*) is the setup of the connection to that port.
      for (const r of readZeekLog(`${ZEEK}/${dir}/ftp.log`).filter((r) => r['data_channel.resp_p'])) {
        const dc = allData(a).find((d) => d.server.ip === r['data_channel.resp_h'] && d.server.port === Number(r['data_channel.resp_p']));
        expect(dc, `connection for ${r.command} ${r.arg ?? ''}`).toBeDefined();
        expect(dc!.setup).toBe(r.command);
        expect(dc!.mode).toBe(r['data_channel.passive'] === 'T' ? 'passive' : 'active');
        expect(dc!.client.ip).toBe(r['data_channel.orig_h']);
      }
      // RETRs zeek logged carry zeek's file size.
      const retrSizes = readZeekLog(`${ZEEK}/${dir}/ftp.log`).filter((r) => r.command === 'RETR').map((r) => Number(r.file_size));
      const ourRetrs = allData(a).filter((d) => d.command?.verb === 'RETR').map((d) => d.bytes);
      expect(ourRetrs).toEqual(retrSizes);
    });
  }

  it('zeek/retr.pcap: the EPSV connection opened before SIZE/CWD belongs to RETR /README, with zeek\'s sha256', async () => {
    const a = await analyzeFile(`${PUB}/zeek/retr.pcap`);
    const out = readFileSync(`${ZEEK}/scripts.base.frameworks.file-analysis.ftp/out`, 'utf8');
    const conn = /\[orig_h=([^,]+), orig_p=(\d+)\/tcp, resp_h=([^,]+), resp_p=(\d+)\/tcp/.exec(out)!;
    const sha = /SHA256: ([0-9a-f]{64})/.exec(out)![1];
    const size = Number(/file #0, (\d+), 0/.exec(out.split('FILE_STATE_REMOVE')[1])![1]);
    const dc = findConn(a, conn[1], Number(conn[2]), conn[3], Number(conn[4]));
    expect(dc).toBeDefined();
    expect(dc!.setup).toBe('EPSV');
    expect(dc!.command?.verb).toBe('RETR');
    expect(dc!.command?.arg).toBe('/README');
    expect(dc!.path).toBe('/README');
    expect(dc!.bytes).toBe(size);
    expect(dc!.sha256).toBe(sha);
    // Commands between the setup and the transfer did not capture it.
    const session = a.sessions.find((s) => s.dataConnections.includes(dc!))!;
    const verbsBetween = session.commands.filter((c) => c.frame! > dc!.setupFrame! && c.frame! < dc!.command!.frame!).map((c) => c.verb);
    expect(verbsBetween.length).toBeGreaterThan(0);
  });

  it('zeek/bigtransfer.pcap: > 4 GiB stream with wraparound gives zeek\'s byte and gap counts', async () => {
    const a = await analyzeFile(`${PUB}/zeek/bigtransfer.pcap`);
    const files = readZeekLog(`${ZEEK}/core.tcp.large-file-reassembly/files.log`);
    const big = files.reduce((x, y) => (Number(y.missing_bytes) > Number(x.missing_bytes) ? y : x));
    const seen = Number(big.seen_bytes);
    const missing = Number(big.missing_bytes);
    const dc = allData(a).concat(a.unpairedDataConnections).find((d) => d.missingBytes > 0);
    expect(dc).toBeDefined();
    expect(dc!.bytes).toBe(seen + missing);
    expect(dc!.missingBytes).toBe(missing);
    expect(dc!.complete).toBe(false);
    expect(dc!.sha256).toBeNull();
  });

  it('zeek/ipv6-multiline-reply.pcap: every reply, its code, its line count and its last line, in order', async () => {
    const a = await analyzeFile(`${PUB}/zeek/ipv6-multiline-reply.pcap`);
    // zeek prints one ftp_reply per line: "T" marks a continuation line; an "F" line ends a reply.
    const rows = readFileSync(`${ZEEK}/scripts.base.protocols.ftp.ftp-multiline-reply/out`, 'utf8')
      .split('\n').filter((l) => l.startsWith('ftp_reply, ')).map((l) => l.split(', '));
    const expected: { code: number; lines: number; last: string }[] = [];
    let run = 0;
    let firstCode = 0;
    for (const [, cont, code, ...msg] of rows) {
      if (run === 0) firstCode = Number(code);
      run++;
      if (cont === 'F') {
        expected.push({ code: firstCode, lines: run, last: msg.join(', ') });
        run = 0;
      }
    }
    const s = a.sessions[0];
    const replies = [
      ...(s.greeting ? [{ code: s.greeting.code, text: s.greeting.text }] : []),
      ...s.commands.flatMap((c) => c.replies),
      ...s.unsolicitedReplies,
    ].sort((x, y) => ('ts' in x ? (x as { ts: number }).ts : 0) - ('ts' in y ? (y as { ts: number }).ts : 0));
    const ours = replies.map((r) => {
      const lines = r.text.split('\n');
      return { code: r.code, lines: lines.length, last: lines[lines.length - 1].replace(/^\d{3} /, '') };
    });
    expect(ours).toEqual(expected);
    // The server's closing 221 came without a QUIT: unsolicited.
    expect(s.unsolicitedReplies.map((r) => r.code)).toContain(221);
  });
});

describe('pairing against suricata-verify', () => {
  it('bug-4877: active mode from port 20, the 4 files with suricata\'s sha256 and size', async () => {
    const a = await analyzeFile(`${PUB}/suricata-verify/bug-4877/input.pcap`);
    const checks = readSuricataFileChecks(`${PUB}/suricata-verify/bug-4877/test.yaml`);
    expect(checks.length).toBeGreaterThanOrEqual(4);
    for (const c of checks) {
      const ends = new Set([`${c.src_ip}:${c.src_port}`, `${c.dest_ip}:${c.dest_port}`]);
      const dc = allData(a).find((d) => ends.has(`${d.client.ip}:${d.client.port}`) && ends.has(`${d.server.ip}:${d.server.port}`));
      expect(dc, `${c['fileinfo.filename']} ${c.src_ip}:${c.src_port}`).toBeDefined();
      expect(dc!.mode).toBe('active');
      expect(dc!.command?.arg).toContain(c['fileinfo.filename']);
      expect(dc!.bytes).toBe(Number(c['fileinfo.size']));
      expect(dc!.sha256).toBe(c['fileinfo.sha256']);
      expect(dc!.complete).toBe(true);
    }
  });
});

describe('FtpAnalyzer memory bounds', () => {
  let id = 1;
  /** One TCP connection with a handshake, `bytes` each way, closed by FIN. */
  function connect(a: FtpAnalyzer, client: string, cport: number, server: string, sport: number, bytes: [number, number]): void {
    const conn = createConnection(id++, { ip: client, port: cport }, { ip: server, port: sport }, id, id);
    conn.handshake.seen = true;
    a.open(conn, id, id);
    const payload = Buffer.alloc(100, 0x41);
    for (const dir of [0, 1] as const) if (bytes[dir] > 0) a.data(conn, dir, payload, 0, bytes[dir], id, id);
    conn.closeReason = 'fin';
    a.close(conn, 'fin', id, id);
  }
  const analyzer = (): FtpAnalyzer => new FtpAnalyzer({ sourceType: 'pcap', sourceName: 'bounds', retireSession: () => {} });

  it('remembers a bounded number of FTP peer addresses: the oldest are forgotten', () => {
    // A connection both ways between two known FTP peers, with no setup: listed as unpaired.
    const a = analyzer();
    connect(a, '10.0.0.1', 40000, '10.9.9.9', 21, [0, 0]);
    connect(a, '10.0.0.1', 40001, '10.9.9.9', 50001, [50, 50]);
    expect(a.finish().unpairedDataConnections.map((d) => d.guessedRole)).toEqual([expect.stringContaining('between FTP peers')]);
    // 2^16 sessions of other clients later, 10.0.0.1 is forgotten: the same connection is not listed.
    const b = analyzer();
    connect(b, '10.0.0.1', 40000, '10.9.9.9', 21, [0, 0]);
    for (let i = 0; i < 1 << 16; i++) connect(b, `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, 40000, '10.9.9.9', 21, [0, 0]);
    connect(b, '10.0.0.1', 40001, '10.9.9.9', 50001, [50, 50]);
    expect(b.finish().unpairedDataConnections).toEqual([]);
  });
});

/**
 * --record: the synthesized pcapng opens in tshark (checksums right, no TCP analysis
 * warnings, stream lengths equal to the bytes we served) and in ftpscope's own pipeline (both
 * legs' sessions with their transfers and sha256 intact); and --log writes NDJSON events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'basic-ftp';
import { startProxy } from '../../src/proxy/server.js';
import { SYNTHESIZED_COMMENT } from '../../src/proxy/recorder.js';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { analyzeFile, analyzeFilePackets } from '../../src/analysis/sources/file.js';
import { connectionLabel, packetSummary } from '../../src/report/packet-facts.js';
import { eventToJson, reportJsonChunks, toReportJson } from '../../src/report/json.js';
import { expectValidReport } from '../helpers/validate-report.js';
import { renderLadder } from '../../src/report/ladder.js';
import type { Analysis } from '../../src/model/types.js';
import { hasBinary, randomFile, run, settle, sha256File, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('--record and --log', () => {
  let ftpd: Vsftpd;
  let work: string;
  let blob: { file: string; sha256: string };
  let pcap: string;
  let proxyPort = 0;
  const SIZE = 1024 * 1024 + 17;
  const events: object[] = [];
  let live: Analysis;

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-rec-');
    blob = randomFile(ftpd.pub, 'rec.bin', SIZE);
    fs.chmodSync(blob.file, 0o644);
    pcap = path.join(work, 'proxy.pcapng');
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      recordTo: new PcapngWriter(pcap, { comment: SYNTHESIZED_COMMENT }),
      onEvent: (ev) => events.push(JSON.parse(JSON.stringify(eventToJson(ev)))),
    });
    proxyPort = p.address().port;
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: proxyPort, user: 'anonymous', password: 'secret' });
    const out = path.join(work, 'rec.bin');
    await c.downloadTo(out, 'pub/rec.bin');
    await c.uploadFrom(out, 'pub/rec-up.bin');
    c.close();
    await settle(() => p.activeSessions === 0);
    live = await p.close();
  });
  afterAll(async () => {
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('ftpscope reads the recording: one session, its server-facing legs linked to it (originalServer), transfers with the served sha256', async () => {
    const a = await analyzeFile(pcap, { ftpPorts: [proxyPort, ftpd.port] });
    expect(a.source.type).toBe('pcapng');
    // The server-facing data legs, cut to their headers, are not a snaplen's loss: nothing is said missing.
    expect(a.findings.map((f) => f.code)).not.toContain('capture-snaplen');
    // The server-facing legs are part of the session the client made, not a second session nor unpaired data.
    expect(a.sessions).toHaveLength(1);
    expect(a.unpairedDataConnections).toEqual([]);
    const s = a.sessions[0]!;
    // Nothing is hidden silently: the report says how many connections it attached to their sessions
    // (the server-facing control leg, and one per data connection).
    expect(a.findings.find((f) => f.code === 'proxy-recording-legs')?.message).toMatch(new RegExp(`^${1 + s.dataConnections.length} TCP connections are server-facing legs`));
    expect(s.server.port).toBe(proxyPort);
    expect(s.originalServer).toEqual({ ip: ftpd.host, port: ftpd.port });
    expect(s.handshake.seen).toBe(true);
    const t = s.dataConnections.filter((dc) => dc.direction !== 'listing');
    expect(t.map((dc) => [dc.direction, dc.bytes, dc.sha256, dc.complete])).toEqual([
      ['download', SIZE, blob.sha256, true],
      ['upload', SIZE, blob.sha256, true],
    ]);
    // The live analysis named the same server.
    expect(live.sessions[0]!.originalServer).toEqual({ ip: ftpd.host, port: ftpd.port });
    // In the JSON report (an addition to contract v1): valid, and the streamed report says the same.
    const json = toReportJson(a) as { sessions: { originalServer?: object }[] };
    expectValidReport(json);
    expect(json.sessions[0]!.originalServer).toEqual({ ip: ftpd.host, port: ftpd.port });
    expect([...reportJsonChunks(a)].join('')).toBe(JSON.stringify(json, null, 2));
  });

  it('FINs of the proxy legs are teardown facts as a capture of them gives: the same steps, senders and frames live and in the recording', async () => {
    const file = await analyzeFile(pcap, { ftpPorts: [proxyPort] });
    const liveSession = live.sessions[0]!;
    const fileSession = file.sessions[0]!;
    const steps = (t: { teardown: { kind: string; dir: number; frame: number | null }[] } | null) => t?.teardown.map((e) => [e.kind, e.dir, e.frame]);
    expect(steps(liveSession.tcp)!.length).toBeGreaterThanOrEqual(4);
    expect(steps(liveSession.tcp)).toEqual(steps(fileSession.tcp));
    expect(liveSession.tcp!.finFrame).toEqual(fileSession.tcp!.finFrame);
    expect(liveSession.dataConnections.length).toBe(fileSession.dataConnections.length);
    liveSession.dataConnections.forEach((dc, i) => {
      const kinds = steps(dc.tcp)!.map((e) => e[0]);
      expect(kinds.filter((k) => k === 'fin')).toHaveLength(2);
      expect(steps(dc.tcp)).toEqual(steps(fileSession.dataConnections[i]!.tcp));
    });
    // Drawn in the ladder as for a capture: a FIN arrow from each side of the control connection
    // and of each data connection, at the same frames (times aside: the file keeps microseconds).
    const tcpLines = (session: typeof liveSession) => renderLadder(session, { width: 100 })
      .filter((l) => l.kind === 'tcp').map((l) => [l.frame, l.text.replace(/^\s*[+-][\d.]+/, '')]);
    const lines = tcpLines(liveSession).map(([, text]) => String(text));
    expect(lines.filter((l) => /\bFIN\b/.test(l) && !/of FIN|D\d+ /.test(l))).toHaveLength(2);
    for (const dc of liveSession.dataConnections) expect(lines.filter((l) => l.includes(`D${dc.id} FIN`))).toHaveLength(2);
    expect(tcpLines(liveSession)).toEqual(tcpLines(fileSession));
  });

  const tsharkIt = hasBinary('tshark') ? it : it.skip;
  tsharkIt('tshark reads it: correct checksums, no TCP analysis warnings, the FTP commands, the comment', async () => {
    const bad = await run('tshark', ['-n', '-r', pcap, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
      '-Y', 'tcp.checksum.status == 0 || ip.checksum.status == 0 || tcp.analysis.flags', '-T', 'fields', '-e', 'frame.number']);
    expect(bad.code, bad.stderr).toBe(0);
    expect(bad.stdout.trim()).toBe('');
    const cmds = await run('tshark', ['-n', '-r', pcap, '-d', `tcp.port==${proxyPort},ftp`, '-d', `tcp.port==${ftpd.port},ftp`,
      '-Y', 'ftp.request', '-T', 'fields', '-e', 'tcp.dstport', '-e', 'ftp.request.command']);
    const byPort = (port: number) => cmds.stdout.trim().split('\n').filter((l) => l.startsWith(`${port}\t`)).map((l) => l.split('\t')[1]);
    expect(byPort(proxyPort)).toEqual(expect.arrayContaining(['USER', 'PASS', 'RETR', 'STOR']));
    expect(byPort(ftpd.port)).toEqual(byPort(proxyPort));
    const comment = await run('tshark', ['-n', '-r', pcap, '-Y', 'frame.comment', '-T', 'fields', '-e', 'frame.comment']);
    expect(comment.stdout).toContain('synthesized by the proxy');
    // Every data stream's payload is exactly the served file.
    const payload = await run('tshark', ['-n', '-r', pcap, '-T', 'fields', '-e', 'tcp.stream', '-e', 'tcp.len']);
    const perStream = new Map<string, number>();
    for (const l of payload.stdout.trim().split('\n')) {
      const [s, len] = l.split('\t');
      perStream.set(s, (perStream.get(s) ?? 0) + Number(len));
    }
    expect([...perStream.values()].filter((n) => n === SIZE)).toHaveLength(4);
    // The payload is written once: the server-facing data legs' segments are cut to their 54 bytes
    // of headers (their original length kept), the client-facing ones are whole.
    const sizes = await run('tshark', ['-n', '-r', pcap, '-Y', 'tcp.len > 0', '-T', 'fields', '-e', 'tcp.stream', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'tcp.len']);
    const streams = new Map<string, { cut: number; whole: number }>();
    for (const l of sizes.stdout.trim().split('\n')) {
      const [stream, cap, len, tcpLen] = l.split('\t');
      const st = streams.get(stream!) ?? { cut: 0, whole: 0 };
      streams.set(stream!, st);
      if (Number(cap) < Number(len)) {
        expect([Number(cap), Number(len) - Number(cap)]).toEqual([54, Number(tcpLen)]);
        st.cut += Number(tcpLen);
      } else {
        st.whole += Number(tcpLen);
      }
    }
    const cutStreams = [...streams.values()].filter((st) => st.cut > 0);
    expect(cutStreams.every((st) => st.whole === 0)).toBe(true);
    expect(cutStreams.map((st) => st.cut).filter((n) => n === SIZE)).toHaveLength(2);
    expect([...streams.values()].filter((st) => st.whole === SIZE)).toHaveLength(2);
  });

  tsharkIt('every packet of the server-facing legs belongs to the session, sent by the FTP side tshark names, its lines decoded and PASS masked', async () => {
    const { packets } = await analyzeFilePackets(pcap, { ftpPorts: [proxyPort] });
    const facts = new Map([...packets()].map((p) => [p.frame, p]));
    // tshark names the legs by their SYN's comment, and decodes the server leg as FTP on the server's port.
    const fields = await run('tshark', ['-n', '-r', pcap, '-d', `tcp.port==${ftpd.port},ftp`, '-T', 'fields', '-E', 'separator=|',
      '-e', 'frame.number', '-e', 'tcp.stream', '-e', 'tcp.dstport', '-e', 'tcp.len', '-e', 'frame.comment', '-e', 'ftp.request.command', '-e', 'ftp.response.code']);
    expect(fields.code, fields.stderr).toBe(0);
    const rows = fields.stdout.trim().split('\n').map((l) => l.split('|'));
    const legKind = new Map<string, string>();
    for (const [, stream, , , comment] of rows) {
      const m = /server-facing (control|data) leg/.exec(comment ?? '');
      if (m) legKind.set(stream!, m[1]!);
    }
    expect([...legKind.values()].sort()).toEqual(['control', 'data', 'data']);
    const dataSenders = new Map<string, Set<string>>();
    let commands = 0;
    for (const [frame, stream, dstPort, len, , command, reply] of rows) {
      const p = facts.get(Number(frame))!;
      const kind = legKind.get(stream!);
      if (kind === undefined) {
        expect(p.channel, `frame ${frame}`).not.toMatch(/^proxy-/);
        continue;
      }
      expect([p.channel, p.session], `frame ${frame}`).toEqual([`proxy-${kind}`, 1]);
      expect(connectionLabel(p)).toBe(kind === 'control' ? 'Sctrl' : 'Sdata');
      if (kind === 'control') {
        // The proxy is the FTP client of the server: what it sends goes to the server's port.
        expect(p.sender, `frame ${frame}`).toBe(Number(dstPort) === ftpd.port ? 'client' : 'server');
        if (command) {
          commands++;
          expect(p.wire?.map((l) => (l.kind === 'request' ? l.verb : null)), `frame ${frame}`).toEqual([command]);
          expect(packetSummary(p, null), `frame ${frame}`).toMatch(command === 'PASS' ? /^Request: PASS \*{4}$/ : new RegExp(`^Request: ${command}`));
        }
        if (reply) expect(packetSummary(p, null), `frame ${frame}`).toMatch(new RegExp(`^Response: ${reply} `));
      } else if (Number(len) > 0) {
        const set = dataSenders.get(stream!) ?? new Set<string>();
        set.add(p.sender ?? 'unknown');
        dataSenders.set(stream!, set);
      }
    }
    expect(commands).toBeGreaterThanOrEqual(6);
    // The download's bytes come from the FTP server and the upload's from the client (the proxy), in that order.
    expect([...dataSenders.values()].map((set) => [...set])).toEqual([['server'], ['client']]);
  });

  tsharkIt('--record-server-payload keeps the server-facing data legs whole: the payload twice', async () => {
    const full = path.join(work, 'proxy-full.pcapng');
    const p = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port },
      recordTo: new PcapngWriter(full), recordServerPayload: true,
    });
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: p.address().port, user: 'anonymous', password: 'secret' });
    await c.downloadTo(path.join(work, 'full.bin'), 'pub/rec.bin');
    c.close();
    await settle(() => p.activeSessions === 0);
    await p.close();
    const sizes = await run('tshark', ['-n', '-r', full, '-Y', 'tcp.len > 0', '-T', 'fields', '-e', 'tcp.stream', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', 'tcp.len']);
    const perStream = new Map<string, number>();
    for (const l of sizes.stdout.trim().split('\n')) {
      const [stream, cap, len, tcpLen] = l.split('\t');
      expect(cap).toBe(len);
      perStream.set(stream!, (perStream.get(stream!) ?? 0) + Number(tcpLen));
    }
    expect([...perStream.values()].filter((n) => n === SIZE)).toHaveLength(2);
    expect(sha256File(path.join(work, 'full.bin'))).toBe(blob.sha256);
  });

  it('NDJSON events: session, commands with PASS masked, replies, data connections', () => {
    const types = new Set(events.map((e) => (e as { type: string }).type));
    expect([...types]).toEqual(expect.arrayContaining(['session-open', 'command', 'reply', 'data-open', 'data-close', 'session-close']));
    const pass = events.find((e) => (e as { command?: { verb?: string } }).command?.verb === 'PASS') as { command: { arg: string } };
    expect(pass.command.arg).toBe('****');
    // The server the session was relayed to, as soon as the proxy connected to it.
    const server = events.find((e) => (e as { type: string }).type === 'session-server') as { session: number; originalServer: object };
    expect(server).toMatchObject({ session: 1, originalServer: { ip: ftpd.host, port: ftpd.port } });
    const closeEv = events.find((e) => (e as { type: string }).type === 'session-close') as { sessionInfo: { originalServer: object } };
    expect(closeEv.sessionInfo.originalServer).toEqual({ ip: ftpd.host, port: ftpd.port });
    const closes = events.filter((e) => (e as { type: string }).type === 'data-close') as { dataConnection: { sha256: string | null } }[];
    expect(closes.map((c) => c.dataConnection.sha256)).toEqual(expect.arrayContaining([blob.sha256, blob.sha256]));
  });
});

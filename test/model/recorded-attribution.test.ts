/**
 * Attribution rules on real captures: which transfer command a data connection belongs to when the
 * connection opens before the command, other commands sit between setup and transfer, the server
 * connects from an ephemeral port or from port 20; and what is listed when no control connection
 * was captured at all.
 *
 * test/model/fixtures/zeek-ipv4-without-control.pcap was made from zeek's ipv4.pcap with
 *   tshark -r captures/public/zeek/ipv4.pcap -Y '!(tcp.port == 21)' -w test/model/fixtures/zeek-ipv4-without-control.pcap -F pcap
 * Its expected values are zeek's conn.log for the original capture.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { Analysis, DataConnection, Session } from '../../src/model/types.js';
import { readZeekLog } from '../helpers/zeek-log.js';

const catalog = JSON.parse(readFileSync('captures/served/captures.json', 'utf8')) as {
  captures: { file: string; transfers: { session: number; verb: string; mode: string; setup: string }[] }[];
};

function expectedOf(file: string) {
  return catalog.captures.find((c) => c.file === file)!;
}

function dataOf(a: Analysis): { s: Session; dc: DataConnection }[] {
  return a.sessions.flatMap((s) => s.dataConnections.map((dc) => ({ s, dc })));
}

function between(s: Session, dc: DataConnection): string[] {
  return s.commands.filter((c) => c.frame! > dc.setupFrame! && c.frame! < dc.command!.frame!).map((c) => c.verb);
}

describe('attribution on recorded captures', () => {
  it('lftp over IPv6: connections opened before their transfer command belong to it', async () => {
    const file = 'vsftpd-lftp-ipv6.pcapng';
    const a = await analyzeFile(`captures/${file}`);
    const want = expectedOf(file).transfers;
    const got = dataOf(a);
    expect(got.map(({ dc }) => `${dc.command?.verb} ${dc.mode} ${dc.setup}`)).toEqual(want.map((t) => `${t.verb} ${t.mode} ${t.setup}`));
    const early = got.filter(({ dc }) => dc.tcp!.handshake.synFrame! < dc.command!.frame!);
    expect(early.length).toBeGreaterThan(0);
    for (const { s, dc } of early) expect(dc.setupFrame!).toBeLessThan(dc.tcp!.handshake.synFrame!);
    for (const { s, dc } of got) for (const v of between(s, dc)) expect(['RETR', 'STOR', 'LIST', 'NLST']).not.toContain(v);
  });

  it('active mode from an ephemeral port (connect_from_port_20=NO): the FTP server is the TCP client', async () => {
    const a = await analyzeFile('captures/vsftpd-port-ipv4.pcap');
    const got = dataOf(a);
    expect(got).toHaveLength(expectedOf('vsftpd-port-ipv4.pcap').transfers.length);
    for (const { s, dc } of got) {
      expect(dc.mode).toBe('active');
      expect(dc.setup).toBe('PORT');
      expect(dc.client.ip).toBe(s.server.ip);
      expect(dc.server.ip).toBe(s.client.ip);
      expect(dc.client.port).not.toBe(20);
      expect(dc.complete).toBe(true);
    }
    expect(a.unpairedDataConnections).toEqual([]);
  });

  it('EPRT on IPv4 with the server connecting from port 20', async () => {
    const a = await analyzeFile('captures/vsftpd-eprt-port20-ipv4.pcap.gz');
    const got = dataOf(a);
    expect(got).toHaveLength(expectedOf('vsftpd-eprt-port20-ipv4.pcap.gz').transfers.length);
    for (const { s, dc } of got) {
      expect(dc.setup).toBe('EPRT');
      expect(dc.mode).toBe('active');
      expect(dc.client).toEqual({ ip: s.server.ip, port: 20 });
      expect(dc.guessedRole).toBeNull();
    }
  });

  for (const file of ['tour.pcapng', 'vsftpd-pasv-nat-ipv4.pcap']) {
    it(`TYPE and SIZE between setup and transfer do not take the connection (${file})`, async () => {
      const a = await analyzeFile(`captures/${file}`);
      const got = dataOf(a);
      expect(got.map(({ dc }) => dc.command?.verb)).toEqual(expectedOf(file).transfers.map((t) => t.verb));
      const interleaved = got.filter(({ s, dc }) => between(s, dc).some((v) => ['SIZE', 'TYPE', 'CWD', 'MDTM'].includes(v)));
      expect(interleaved.length).toBeGreaterThan(0);
      for (const { s, dc } of got) for (const v of between(s, dc)) expect(['RETR', 'STOR', 'LIST', 'NLST']).not.toContain(v);
    });
  }
});

describe('no control connection in the capture', () => {
  it('lists each data connection zeek saw as unpaired, with its bytes and a guessed role', async () => {
    const a = await analyzeFile('test/model/fixtures/zeek-ipv4-without-control.pcap');
    expect(a.sessions).toEqual([]);
    const rows = readZeekLog('captures/public/zeek/expected/scripts.base.protocols.ftp.ftp-ipv4/conn.log').filter((r) => r.service === 'ftp-data');
    const key = (ip1: string, p1: number, ip2: string, p2: number) => `${ip1}:${p1} → ${ip2}:${p2}`;
    expect(a.unpairedDataConnections.map((d) => `${key(d.client.ip, d.client.port, d.server.ip, d.server.port)} ${d.bytes}`).sort())
      .toEqual(rows.map((r) => `${key(r['id.orig_h']!, Number(r['id.orig_p']), r['id.resp_h']!, Number(r['id.resp_p']))} ${Number(r.orig_bytes) + Number(r.resp_bytes)}`).sort());
    for (const d of a.unpairedDataConnections) {
      expect(d.guessedRole).toMatch(/control connection was not captured/);
      expect(d.command).toBeNull();
      expect(d.complete).toBe(true);
      expect(d.sha256).toMatch(/^[0-9a-f]{64}$/);
    }
  });
});

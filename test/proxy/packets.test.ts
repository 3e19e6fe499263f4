/**
 * The dashboard's packet list for proxied sessions (keepPackets, no --record): every analyzed
 * leg's synthesized packets are listed on its session, and each can be read back from memory
 * and decodes to the same TCP facts; a transfer's payload is the file we served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'basic-ftp';
import { startProxy, type RunningProxy } from '../../src/proxy/server.js';
import { FastDecoder, newFastPacket } from '../../src/dissect/fast.js';
import { TCP_ACK, TCP_SYN } from '../../src/dissect/types.js';
import type { Session } from '../../src/model/types.js';
import { randomFile, settle, startVsftpd, tmpDir, type Vsftpd } from './peers.js';

const d = fs.existsSync('/usr/sbin/vsftpd') ? describe : describe.skip;

d('proxy keepPackets: session packet lists from synthesized packets kept in memory', () => {
  let ftpd: Vsftpd;
  let work: string;
  let blob: { file: string; sha256: string };
  let proxy: RunningProxy;
  let session: Session;
  const SIZE = 300_000 + 7;

  beforeAll(async () => {
    ftpd = await startVsftpd();
    work = tmpDir('ftpscope-proxy-pkts-');
    blob = randomFile(ftpd.pub, 'pk.bin', SIZE);
    fs.chmodSync(blob.file, 0o644);
    proxy = await startProxy({
      mode: 'reverse', listen: { ip: '127.0.0.1', port: 0 }, upstream: { ip: ftpd.host, port: ftpd.port }, keepPackets: true,
    });
    const c = new Client(20_000);
    await c.access({ host: '127.0.0.1', port: proxy.address().port, user: 'anonymous', password: 'x' });
    await c.downloadTo(path.join(work, 'pk.bin'), 'pub/pk.bin');
    c.close();
    await settle(() => proxy.activeSessions === 0);
    session = proxy.snapshot().sessions[0]!;
  });
  afterAll(async () => {
    await proxy?.close();
    await ftpd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('lists the control and data connections\' packets, each starting with SYN, SYN/ACK, ACK', () => {
    const list = session.packets!;
    const items = Array.from({ length: list.count }, (_, i) => list.at(i));
    const conns = [...new Set(items.map((p) => p.tcpId))];
    expect(conns).toContain(session.tcp!.id);
    const download = session.dataConnections.find((dc) => dc.direction === 'download')!;
    expect(conns).toContain(download.tcp!.id);
    for (const id of conns) {
      expect(items.filter((p) => p.tcpId === id).slice(0, 3).map((p) => [p.dir, p.flags & (TCP_SYN | TCP_ACK)]))
        .toEqual([[0, TCP_SYN], [1, TCP_SYN | TCP_ACK], [0, TCP_ACK]]);
    }
    // The connection's handshake facts are those of its synthesized SYN and SYN/ACK.
    const hs = session.tcp!.handshake;
    const [syn, synAck] = items.filter((p) => p.tcpId === session.tcp!.id);
    expect([hs.synFrame, hs.synAckFrame, hs.isn[0], hs.isn[1]]).toEqual([syn!.frame, synAck!.frame, syn!.seq, synAck!.seq]);
    expect(session.handshake.mss).toEqual([1460, 1460]);
    // Commands and replies carry the frames of the packets that carried them, as from a capture.
    for (const c of session.commands) {
      const ref = items.find((p) => p.frame === c.frame)!;
      expect([ref.tcpId, ref.dir, ref.sender, ref.len > 0]).toEqual([session.tcp!.id, 0, 'client', true]);
    }
    // Frames are numbered in order.
    for (let i = 1; i < items.length; i++) expect(items[i]!.frame).toBeGreaterThan(items[i - 1]!.frame);
  });

  it('each listed packet reads back and decodes to the listed TCP facts; the download\'s payload is the served file', async () => {
    const dec = new FastDecoder();
    const fp = newFastPacket();
    const download = session.dataConnections.find((dc) => dc.direction === 'download')!;
    const hash = createHash('sha256');
    let payload = 0;
    const list = session.packets!;
    for (let i = 0; i < list.count; i++) {
      const ref = list.at(i);
      const rec = await proxy.readFrame(ref.frame);
      expect(rec.frame).toBe(ref.frame);
      expect(dec.decode(rec, fp) && fp.kind === 'tcp').toBe(true);
      expect([fp.seq, fp.ack, fp.flags, fp.payloadLength]).toEqual([ref.seq, ref.ack, ref.flags, ref.len]);
      const conn = ref.tcpId === session.tcp!.id ? session.tcp! : session.dataConnections.find((dc) => dc.tcp?.id === ref.tcpId)!.tcp!;
      const from = ref.dir === 0 ? conn.client : conn.server;
      expect([fp.src, fp.srcPort]).toEqual([from.ip, from.port]);
      if (ref.tcpId === download.tcp!.id && ref.len > 0) {
        hash.update(fp.buf.subarray(fp.payloadOffset, fp.payloadOffset + fp.payloadLength));
        payload += ref.len;
      }
    }
    expect(payload).toBe(SIZE);
    expect(hash.digest('hex')).toBe(blob.sha256);
  });

  it('a frame no longer (or never) kept is a clear error', async () => {
    await expect(proxy.readFrame(10_000_000)).rejects.toMatchObject({ code: 'frame-not-found', message: expect.stringMatching(/no longer kept in memory/) });
  });
});

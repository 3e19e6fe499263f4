import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../../src/tcp/budget.js';
import type { Dir } from '../../src/tcp/events.js';
import { Reassembler, type ReassemblySink } from '../../src/tcp/reassembly.js';
import {
  capturePath, connPackets, decodeAll, loadPackets, recut, rng, sha256, shuffle, track, Recorder, type Decoded,
  type StoredPacket,
} from './support.js';

const BUG_4877 = 'public/suricata-verify/bug-4877/input.pcap';

/** The files suricata-verify says bug-4877's data connections carry (test.yaml). */
function suricataFiles() {
  const yaml = readFileSync(capturePath('public/suricata-verify/bug-4877/test.yaml'), 'utf8');
  const seen = new Map<string, { srcIp: string; srcPort: number; dstIp: string; dstPort: number; sha256: string; size: number }>();
  for (const block of yaml.split('- filter:').slice(1)) {
    const get = (k: string) => new RegExp(`\\b${k.replace('.', '\\.')}: (\\S+)`).exec(block)?.[1];
    if (get('fileinfo.sha256') === undefined) continue;
    const f = {
      srcIp: get('src_ip')!, srcPort: Number(get('src_port')), dstIp: get('dest_ip')!, dstPort: Number(get('dest_port')),
      sha256: get('fileinfo.sha256')!, size: Number(get('fileinfo.size')),
    };
    seen.set(`${f.srcIp} ${f.srcPort} ${f.dstIp} ${f.dstPort}`, f);
  }
  return [...seen.values()];
}

type File = ReturnType<typeof suricataFiles>[number];

/** The data connection carrying `f` and the direction of its bytes. */
function splitConnection(all: Decoded[], f: File) {
  const pkts = connPackets(all, f.srcPort, f.dstPort);
  const fromSender = (d: Decoded) => d.src === f.srcIp && d.srcPort === f.srcPort;
  const handshake = pkts.filter((d) => d.flags & 0x02);
  const fins = pkts.filter((d) => d.flags & 0x05);
  const data = pkts.filter((d) => !(d.flags & 0x07) && d.payloadLength > 0);
  const acks = pkts.filter((d) => !(d.flags & 0x07) && d.payloadLength === 0);
  return { pkts, fromSender, handshake, fins, data, acks };
}

function senderLog(rec: Recorder, f: File) {
  const log = rec.conns.find((l) => [l.conn.client.port, l.conn.server.port].includes(f.srcPort) &&
    [l.conn.client.port, l.conn.server.port].includes(f.dstPort))!;
  const dir: Dir = log.conn.client.ip === f.srcIp && log.conn.client.port === f.srcPort ? 0 : 1;
  return { log, dir };
}

describe('reassembly gives the same byte stream whatever the order and cut of the segments', async () => {
  const packets = await loadPackets(BUG_4877);
  const all = decodeAll(packets);
  const files = suricataFiles();

  it('suricata-verify lists 4 files for bug-4877', () => {
    expect(files.length).toBe(4);
  });

  for (const f of files) {
    const name = `${f.srcIp}:${f.srcPort} -> ${f.dstIp}:${f.dstPort} (${f.size} bytes)`;
    const { handshake, fins, data, acks } = splitConnection(all, f);

    it(`in capture order: ${name} has suricata's sha256 and size`, () => {
      const { rec } = track(handshake.concat(data, acks, fins).sort((a, b) => a.p.frame - b.p.frame).map((d) => d.p));
      const { log, dir } = senderLog(rec, f);
      expect(rec.sha256(log, dir)).toBe(f.sha256);
      expect(log.conn.bytes[dir]).toBe(f.size);
      expect(log.conn.missing).toEqual([0, 0]);
      expect(log.conn.findings).toEqual([]);
    });

    it(`shuffled and duplicated segments (10 seeds): ${name}`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const rand = rng(seed);
        const dups = data.filter(() => rand() < 0.2);
        const order = [...handshake, ...shuffle([...data, ...dups], rand), ...fins].map((d) => d.p);
        const { rec } = track(order);
        const { log, dir } = senderLog(rec, f);
        expect(rec.sha256(log, dir), `seed ${seed}`).toBe(f.sha256);
        expect(log.conn.missing).toEqual([0, 0]);
        expect(log.conn.retransmissions).toBeGreaterThanOrEqual(dups.length);
        expect(log.conn.findings).toEqual([]);
      }
    });

    it(`re-cut into overlapping segments, shuffled (10 seeds): ${name}`, () => {
      const inOrder = track(handshake.concat(data, fins).map((d) => d.p), {}, new Recorder(true)).rec;
      const { log, dir } = senderLog(inOrder, f);
      const stream = Buffer.concat(log.data[dir]);
      const template = data.find((d) => d.payloadLength > 0 && log.conn.client.port === (dir === 0 ? d.srcPort : d.dstPort))!;
      const base = (log.conn.handshake.isn[dir]! + 1) >>> 0;
      for (let seed = 1; seed <= 10; seed++) {
        const rand = rng(seed);
        const segs: StoredPacket[] = [];
        for (let pos = 0; pos < stream.length;) {
          const start = Math.max(0, pos - Math.floor(rand() * 600));
          const end = Math.min(stream.length, pos + 1 + Math.floor(rand() * 2000));
          segs.push(recut(template, base + start, stream.subarray(start, end)));
          pos = end;
        }
        for (let i = 0; i < 20; i++) {
          const start = Math.floor(rand() * stream.length);
          segs.push(recut(template, base + start, stream.subarray(start, start + 1 + Math.floor(rand() * 3000))));
        }
        const { rec } = track([...handshake.map((d) => d.p), ...shuffle(segs, rand), ...fins.map((d) => d.p)]);
        const got = senderLog(rec, f);
        expect(rec.sha256(got.log, got.dir), `seed ${seed}`).toBe(f.sha256);
        expect(got.log.conn.missing).toEqual([0, 0]);
        expect(got.log.conn.findings).toEqual([]);
      }
    });
  }

  it('a retransmission with different bytes is a finding; the first copy wins', () => {
    const f = files.find((x) => x.size === 69120)!;
    const { handshake, fins, data, acks, fromSender } = splitConnection(all, f);
    const ordered = [...handshake, ...data, ...acks, ...fins].sort((a, b) => a.p.frame - b.p.frame);
    const victim = data.filter(fromSender)[10];
    const evil = recut(victim, victim.seq, Buffer.from(victim.p.bytes.subarray(victim.payloadOffset)), 100000);
    evil.bytes[victim.payloadOffset + 5] ^= 0xff;
    const at = ordered.indexOf(victim);

    // The altered copy after the original: the original's bytes stay.
    const after = ordered.map((d) => d.p);
    after.splice(at + 1, 0, evil);
    const a = track(after).rec;
    const sa = senderLog(a, f);
    expect(a.sha256(sa.log, sa.dir)).toBe(f.sha256);
    expect(sa.log.conn.findings.map((x) => [x.code, x.frame])).toEqual([['tcp-retransmission-mismatch', 100000]]);

    // The altered copy first: it wins, and the original arriving later is the mismatch.
    const before = ordered.map((d) => d.p);
    before.splice(at, 0, evil);
    const b = track(before, {}, new Recorder(true)).rec;
    const sb = senderLog(b, f);
    expect(b.sha256(sb.log, sb.dir)).not.toBe(f.sha256);
    expect(sb.log.conn.findings.map((x) => [x.code, x.frame])).toEqual([['tcp-retransmission-mismatch', victim.p.frame]]);
    const got = Buffer.concat(sb.log.data[sb.dir]);
    expect(got.length).toBe(f.size);
    const fixedBack = Buffer.from(got);
    const off = (victim.seq - (sb.log.conn.handshake.isn[sb.dir]! + 1)) >>> 0;
    fixedBack[off + 5] ^= 0xff;
    expect(sha256(fixedBack)).toBe(f.sha256);
  });
});

describe('Reassembler fed a real stream split at every byte offset', async () => {
  const f = { port: 38141 }; // retr.pcap's EPSV data connection (zeek: 16557 bytes of /README)
  const { rec } = track(await loadPackets('public/zeek/retr.pcap'), {}, new Recorder(true));
  const log = rec.conns.find((l) => l.conn.server.port === f.port)!;
  const dir: Dir = log.conn.bytes[0] > 0 ? 0 : 1;
  const stream = Buffer.concat(log.data[dir]);
  const zeekSha = /SHA256: ([0-9a-f]{64})/.exec(
    readFileSync(capturePath('public/zeek/expected/scripts.base.frameworks.file-analysis.ftp/out'), 'utf8'),
  )![1];

  it('the in-order stream is the file zeek hashed', () => {
    expect(stream.length).toBe(16557);
    expect(sha256(stream)).toBe(zeekSha);
  });

  it('two segments, either order, every split point', () => {
    const parts: Buffer[] = [];
    let gaps = 0;
    const sink: ReassemblySink = {
      deliver: (_d, b, from, to) => void parts.push(Buffer.from(b.subarray(from, to))),
      gap: () => void gaps++,
      mismatch: () => void gaps++,
      overflow: () => void gaps++,
    };
    for (let k = 0; k <= stream.length; k++) {
      for (const lateFirst of [false, true]) {
        parts.length = 0;
        const r = new Reassembler(0, sink, 1 << 20, new ByteBudget(1 << 24), 1 << 16);
        const first = (lo: number, hi: number) => r.segment(stream, lo, hi - lo, hi - lo, lo, 0, null);
        if (lateFirst) { first(k, stream.length); first(0, k); } else { first(0, k); first(k, stream.length); }
        r.flush(0, null);
        if (r.next !== stream.length || !Buffer.concat(parts).equals(stream)) {
          throw new Error(`split at ${k} (${lateFirst ? 'late half first' : 'in order'}) gave a different stream`);
        }
      }
    }
    expect(gaps).toBe(0);
  });
});

describe('Reassembler bounds', async () => {
  const { rec } = track(await loadPackets('public/zeek/retr.pcap'), {}, new Recorder(true));
  const log = rec.conns.find((l) => l.conn.server.port === 38141)!;
  const stream = Buffer.concat(log.data[log.conn.bytes[0] > 0 ? 0 : 1]);

  it('many tiny out-of-order ranges hit the range limit: skip ahead, never stall, count everything', () => {
    const got: Buffer[] = [];
    let gaps = 0;
    let overflows = 0;
    const sink: ReassemblySink = {
      deliver: (_d, b, from, to) => void got.push(Buffer.from(b.subarray(from, to))),
      gap: (_d, n) => void (gaps += n),
      mismatch: () => { throw new Error('no mismatch expected'); },
      overflow: () => void overflows++,
    };
    const budget = new ByteBudget(1 << 30);
    const r = new Reassembler(0, sink, 1 << 30, budget, 0);
    // Every byte but the first, one byte per segment, last first: all must wait for byte 0.
    for (let i = stream.length - 1; i >= 1; i--) r.segment(stream, i, 1, 1, i, 0, null);
    expect(overflows).toBeGreaterThan(0);
    r.segment(stream, 0, 1, 1, 0, 0, null);
    r.flush(0, null);
    const delivered = got.reduce((s, b) => s + b.length, 0);
    expect(delivered + gaps).toBe(stream.length);
    expect(r.next).toBe(stream.length);
    expect(budget.used).toBe(0);
    // What was delivered is the tail of the stream (the lowest ranges were given up).
    expect(Buffer.concat(got).equals(stream.subarray(stream.length - delivered))).toBe(true);
  });
});

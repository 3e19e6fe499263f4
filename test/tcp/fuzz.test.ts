import { describe, expect, it } from 'vitest';
import { TcpTracker } from '../../src/tcp/tracker.js';
import { decodeAll, feed, loadPackets, rng, Recorder, type StoredPacket } from './support.js';

const CAPTURES = [
  'public/zeek/ipv4.pcap',
  'public/zeek/ipv6.pcap',
  'public/zeek/bigtransfer.pcap',
  'public/suricata-verify/bug-3519/input.pcap',
  'public/suricata-verify/bug-4877/input.pcap',
];

/**
 * Real packets damaged at random (dropped, duplicated, reordered, truncated, with sequence
 * numbers, ACKs and flags overwritten): the tracker must never throw, never stall a stream,
 * and its counters must agree with the events it sent.
 */
describe('TcpTracker on damaged real traffic', async () => {
  const sets = await Promise.all(CAPTURES.map(loadPackets));
  for (const [i, cap] of CAPTURES.entries()) {
    it(cap, () => {
      const decoded = decodeAll(sets[i]);
      for (let seed = 1; seed <= 40; seed++) {
        const rand = rng(seed * 7919 + i);
        const out: StoredPacket[] = [];
        for (const d of decoded) {
          const r = rand();
          if (r < 0.1) continue;
          const bytes = Buffer.from(d.p.bytes);
          if (rand() < 0.1) bytes.writeUInt32BE((rand() * 2 ** 32) >>> 0, d.tcpOffset + 4);
          if (rand() < 0.1) bytes.writeUInt32BE((rand() * 2 ** 32) >>> 0, d.tcpOffset + 8);
          if (rand() < 0.1) bytes[d.tcpOffset + 13] = (rand() * 256) | 0;
          const cut = rand() < 0.1 ? bytes.subarray(0, d.payloadOffset + ((rand() * d.payloadLength) | 0)) : bytes;
          const p = { ...d.p, bytes: cut };
          out.splice(rand() < 0.2 ? Math.max(0, out.length - ((rand() * 8) | 0)) : out.length, 0, p);
          if (r > 0.95) out.push(p);
        }
        const rec = new Recorder();
        const tracker = new TcpTracker(rec, {
          maxOutOfOrderBytesPerDirection: 1 + ((rand() * 20000) | 0),
          maxBufferedBytes: 1 + ((rand() * 50000) | 0),
          maxRetainedBytesPerDirection: (rand() * 5000) | 0,
          maxFlows: 1 + ((rand() * 4) | 0),
          idleTimeoutSec: 1 + rand() * 30,
          closedLingerSec: rand() * 10,
        });
        feed(tracker, out);
        tracker.end(out.length > 0 ? out[out.length - 1].ts : 0);
        expect(tracker.connections, `seed ${seed}`).toBe(0);
        expect(tracker.bufferedBytes, `seed ${seed}`).toBe(0);
        for (const l of rec.conns) {
          const c = l.conn;
          expect(l.pos, `seed ${seed} conn ${c.id}`).toEqual([c.bytes[0] + c.missing[0], c.bytes[1] + c.missing[1]]);
          expect(l.closes.length).toBe(1);
          expect(l.eventsAfterClose).toBe(0);
          expect(l.opens).toBe(1);
          expect(c.closeReason).toBe(l.closes[0].reason);
          expect(c.packets).toBe(l.packets);
          for (const gaps of l.gaps) for (const [, len] of gaps) expect(len).toBeGreaterThan(0);
        }
      }
    });
  }
});

/**
 * The expected-data-channel table. Addresses are those of the recorded captures
 * (captures/served/captures.json: the veth pair, and the NAT address vsftpd announced).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ExpectationTable, type Expectation } from '../../src/ftp/pairing.js';

const { addresses: A } = JSON.parse(readFileSync('captures/served/captures.json', 'utf8')) as { addresses: Record<string, string> };
const SERVER = A.server4;
const CLIENT = A.client4;
const NAT = A.natPasv4;
const THIRD = '198.51.100.9';

type Owner = string;

/** A passive expectation: the FTP server listens at `announced`:port; its control address is SERVER. */
function passive(owner: Owner, announced: string, port: number, created: number, peer = CLIENT): Expectation<Owner> {
  return { owner, setup: 'PASV', listenerIp: announced, listenerPort: port, controlIp: SERVER, peerIp: peer, created, frame: null, slot: owner };
}

/** An active expectation: the FTP client listens at `announced`:port; its control address is CLIENT. */
function active(owner: Owner, announced: string, port: number, created: number): Expectation<Owner> {
  return { owner, setup: 'PORT', listenerIp: announced, listenerPort: port, controlIp: CLIENT, peerIp: SERVER, created, frame: null, slot: owner };
}

describe('ExpectationTable', () => {
  const cases: {
    name: string;
    add: Expectation<Owner>[];
    opts?: { lifetimeSec?: number; maxEntries?: number };
    /** connection: client ip, server ip, server port, ts */
    conn: [string, string, number, number];
    want: { owner: Owner; exact: boolean } | null;
  }[] = [
    { name: 'the announced address matches exactly', add: [passive('s1', SERVER, 50010, 0)], conn: [CLIENT, SERVER, 50010, 1], want: { owner: 's1', exact: true } },
    { name: 'another port does not match', add: [passive('s1', SERVER, 50010, 0)], conn: [CLIENT, SERVER, 50011, 1], want: null },
    { name: "a NAT'd PASV announcement matches at the control address", add: [passive('s1', NAT, 50010, 0)], conn: [CLIENT, SERVER, 50010, 1], want: { owner: 's1', exact: false } },
    {
      name: 'an exact match beats a newer control-address fallback on the same port',
      add: [passive('exact', SERVER, 50010, 0), passive('nat', NAT, 50010, 5)], conn: [CLIENT, SERVER, 50010, 6], want: { owner: 'exact', exact: true },
    },
    {
      name: 'of two exact matches the one from the expected peer wins over a newer one for another peer',
      add: [passive('peer', SERVER, 50010, 0), passive('other', SERVER, 50010, 5, THIRD)], conn: [CLIENT, SERVER, 50010, 6], want: { owner: 'peer', exact: true },
    },
    {
      name: 'of equal candidates the newest wins',
      add: [passive('old', SERVER, 50010, 0), passive('new', SERVER, 50010, 5)], conn: [CLIENT, SERVER, 50010, 6], want: { owner: 'new', exact: true },
    },
    { name: 'FXP: a third host connecting to the announced address still matches', add: [passive('s1', SERVER, 50010, 0)], conn: [THIRD, SERVER, 50010, 1], want: { owner: 's1', exact: true } },
    { name: 'active mode: the server connects to the PORT address', add: [active('s1', CLIENT, 41000, 0)], conn: [SERVER, CLIENT, 41000, 1], want: { owner: 's1', exact: true } },
    {
      name: "a NAT'd PORT (private address announced) pairs with the connection seen at the client's control address",
      add: [active('s1', '192.168.1.5', 41000, 0)], conn: [SERVER, CLIENT, 41000, 1], want: { owner: 's1', exact: false },
    },
    { name: 'an unrelated host at the announced port does not match', add: [passive('s1', SERVER, 50010, 0)], conn: [CLIENT, THIRD, 50010, 1], want: null },
    { name: 'an expectation past its lifetime does not match', add: [passive('s1', SERVER, 50010, 0)], opts: { lifetimeSec: 300 }, conn: [CLIENT, SERVER, 50010, 301], want: null },
    { name: 'one at the end of its lifetime still matches', add: [passive('s1', SERVER, 50010, 0)], opts: { lifetimeSec: 300 }, conn: [CLIENT, SERVER, 50010, 300], want: { owner: 's1', exact: true } },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const t = new ExpectationTable<Owner>(c.opts);
      for (const e of c.add) t.add(e);
      const m = t.take(...c.conn);
      expect(m && { owner: m.expectation.owner, exact: m.exact }).toEqual(c.want);
      expect(t.size).toBe(c.add.length - (m ? 1 : 0));
    });
  }

  it('an expectation is consumed once', () => {
    const t = new ExpectationTable<Owner>();
    t.add(passive('s1', SERVER, 50010, 0));
    expect(t.take(CLIENT, SERVER, 50010, 1)?.expectation.owner).toBe('s1');
    expect(t.take(CLIENT, SERVER, 50010, 2)).toBeNull();
    expect(t.size).toBe(0);
  });

  it('expire() removes and returns what outlived the lifetime, keeps the rest', () => {
    const t = new ExpectationTable<Owner>({ lifetimeSec: 10 });
    t.add(passive('a', SERVER, 50010, 0));
    t.add(passive('b', SERVER, 50010, 8));
    t.add(active('c', CLIENT, 41000, 1));
    expect(t.expire(12).map((e) => e.owner).sort()).toEqual(['a', 'c']);
    expect(t.size).toBe(1);
    expect(t.take(CLIENT, SERVER, 50010, 12)?.expectation.owner).toBe('b');
  });

  it('is bounded: past maxEntries the oldest is dropped and counted', () => {
    const t = new ExpectationTable<Owner>({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) t.add(passive(`s${i}`, SERVER, 50000 + i, i));
    expect(t.size).toBe(3);
    expect(t.evicted).toBe(2);
    expect(t.take(CLIENT, SERVER, 50000, 5)).toBeNull();
    expect(t.take(CLIENT, SERVER, 50001, 5)).toBeNull();
    expect(t.take(CLIENT, SERVER, 50004, 5)?.expectation.owner).toBe('s4');
  });

  it('removeOwner() forgets one session\'s expectations only', () => {
    const t = new ExpectationTable<Owner>();
    t.add(passive('a', SERVER, 50010, 0));
    t.add(passive('b', SERVER, 50010, 0));
    t.add(active('a', CLIENT, 41000, 0));
    t.removeOwner('a');
    expect(t.size).toBe(1);
    expect(t.take(CLIENT, SERVER, 50010, 1)?.expectation.owner).toBe('b');
  });
});

import { describe, expect, it } from 'vitest';
import { SessionSpool } from '../../src/report/spool.js';
import type { Session } from '../../src/model/types.js';
import { renderSessionJson, SessionPiece, writeSessionJson } from '../../src/report/json.js';
import { analyzed, ALL_CAPTURES } from './captures.js';

describe('SessionSpool', () => {
  it('gives sessions back in id order, whatever order they finished in, small and larger than a read', () => {
    // Texts we control: each session renders as its id repeated to a chosen length.
    const sizes = [10, 3 << 20, 1, 700_000, 400_000, 5, 1 << 20, 2 << 20, 64, 999_999];
    const finishOrder = [3, 1, 2, 4, 5, 6, 9, 7, 8, 10, 0].filter((i) => i < sizes.length);
    const render = (s: Session): string => String.fromCharCode(65 + (s.id % 26)).repeat(sizes[s.id]!);
    const spool = new SessionSpool(render);
    try {
      for (const id of finishOrder) spool.add({ id, dataConnections: [{}, {}] } as unknown as Session);
      // Each Buffer is valid until the next one is asked for: read it at once.
      const got: string[] = [];
      for (const b of spool.chunks()) got.push(b.toString('latin1'));
      expect(spool.sessions).toBe(sizes.length);
      expect(spool.dataConnections).toBe(2 * sizes.length);
      expect(got.map((t) => t.length)).toEqual(sizes);
      got.forEach((t, id) => expect(t === String.fromCharCode(65 + id).repeat(sizes[id]!), `session ${id}`).toBe(true));
    } finally {
      spool.close();
    }
  });
});

describe('SessionSpool written a piece at a time ({ text })', () => {
  it('stores the pieces back to back; split, a session longer than a read comes back in pieces that join to it', () => {
    // Sessions of lines we control: line k of session id is "<id>:<k>" padded to a length that varies.
    const lineCounts = [3, 200_000, 0, 1, 70_000, 9];
    const text = (id: number): string[] => Array.from({ length: lineCounts[id]! }, (_, k) => `${k === 0 ? '' : '\n'}${id}:${k}`.padEnd(5 + (k % 37), '.'));
    const spool = new SessionSpool({ text: (s, write) => { for (const t of text(s.id)) write(t); } });
    try {
      for (const id of [4, 1, 0, 5, 3, 2]) spool.add({ id, dataConnections: [] } as unknown as Session);
      const got: string[] = [];
      for (const c of spool.chunks({ split: true })) {
        if (c instanceof SessionPiece) got[got.length - 1] += c.bytes.toString('latin1');
        else got.push(c.toString('latin1'));
      }
      expect(got.map((t) => t.length)).toEqual(lineCounts.map((_, id) => text(id).join('').length));
      expect(got[1]!.length).toBeGreaterThan(2 << 20);
      got.forEach((t, id) => expect(t === text(id).join(''), `session ${id}`).toBe(true));
    } finally {
      spool.close();
    }
  });
});

describe('SessionSpool with the JSON writer as its staging buffer', () => {
  it('gives back exactly what renderSessionJson writes, for real sessions finished out of order and across flushes', async () => {
    const sessions: Session[] = [];
    for (const capture of ALL_CAPTURES) sessions.push(...(await analyzed(capture)).sessions);
    expect(sessions.length).toBeGreaterThan(5);
    // Renumbered copies, so that their rendered bytes pass the 1 MiB flush several times.
    const copies = Array.from({ length: 16 }, (_, k) => sessions.map((s, i) => ({ ...s, id: k * sessions.length + i + 1 }))).flat();
    const expected = copies.map((s) => renderSessionJson(s, {}));
    expect(expected.reduce((n, t) => n + t.length, 0)).toBeGreaterThan(3 << 20);
    // A fixed shuffle: every session finishes out of order relative to some neighbour.
    const order = copies.map((_, i) => i).sort((a, b) => ((a * 7919) % 101) - ((b * 7919) % 101) || a - b);
    const spool = new SessionSpool({ json: (w, s) => writeSessionJson(w, s, {}), indent: 4 });
    try {
      for (const i of order) spool.add(copies[i]!);
      const got: string[] = [];
      for (const b of spool.chunks()) got.push(b.toString('utf8'));
      expect(got.length).toBe(copies.length);
      got.forEach((t, i) => expect(t === expected[i], `session ${copies[i]!.id}`).toBe(true));
    } finally {
      spool.close();
    }
  });
});

import { describe, expect, it } from 'vitest';

/* eslint-disable @typescript-eslint/no-explicit-any */
import { jsonKey, PrettyJsonWriter } from '../../src/report/json-writer.js';
import { renderSessionJson, sessionToJson, toReportJson, writeSessionJson } from '../../src/report/json.js';
import { roundTs } from '../../src/report/format.js';
import { analyzed, ALL_CAPTURES } from './captures.js';

/** Node's own JSON.stringify with a gap is the reference layout. */
function reference(value: unknown, base: number): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n' + ' '.repeat(base));
}

function written(f: (w: PrettyJsonWriter) => void, base = 0, initial = 256): string {
  const w = new PrettyJsonWriter(initial).reset(base);
  f(w);
  return w.text();
}

describe('writeSessionJson lays out a session as JSON.stringify(sessionToJson(s), null, 2) does', () => {
  for (const capture of ALL_CAPTURES) {
    it(`every session and the whole report of ${capture}`, async () => {
      const a = await analyzed(capture);
      for (const s of a.sessions) {
        expect(renderSessionJson(s)).toBe(reference(sessionToJson(s), 4));
        expect(written((w) => writeSessionJson(w, s, { showPasswords: true }))).toBe(reference(sessionToJson(s, { showPasswords: true }), 0));
      }
      const whole = toReportJson(a);
      expect(written((w) => w.value(whole), 0, 1)).toBe(reference(whole, 0));
    });
  }

  it('on sessions with texts, numbers and optional fields edited to the awkward cases', async () => {
    const a = await analyzed('zeek/ipv4.pcap');
    const s = a.sessions[0]!;
    const edits: ((x: any) => void)[] = [
      (x) => { x.greeting = null; x.tlsInfo = { sni: 'a"b\\', version: undefined }; },
      (x) => { x.handshake = { seen: false, rttMs: NaN, mss: null }; x.user = undefined; x.loggedIn = undefined; },
      (x) => { x.start = Infinity; x.end = -0; x.controlBytes = [1e21, 5e-7]; x.commands = []; x.unsolicitedReplies = []; },
      (x) => { x.start = -1.5; x.end = 2 ** 32 + 0.123456; x.handshake = { seen: true, rttMs: -0, mss: [undefined, 1460] }; },
      (x) => { x.commands = x.commands.map((c: any) => ({ ...c, verb: 'pass', arg: 'ü\u0000"', cwd: undefined, frame: undefined, replies: [] })); },
      (x) => { x.client = { ip: '::ffff:10.0.0.1', port: 21 }; x.tls = undefined; x.closed = undefined; x.greeting = { code: 220, text: undefined, frame: undefined }; },
      (x) => { x.dataConnections = x.dataConnections.map((d: any, i: number) => ({ ...d, command: i % 2 ? null : { verb: 'retr', arg: undefined, frame: undefined }, finalReply: i % 2 ? { code: 426, text: 'x"', frame: undefined } : null, mode: undefined, complete: i % 2 === 0, sha256: 'ab', start: NaN })); x.findings = [{ severity: 'info', code: 'c', message: 'm\n', frame: undefined }]; },
      (x) => { x.commands = x.commands.map((c: any) => ({ ...c, arg: '\ud800 lone, \u2028, \x7f, 漢', cwd: 'a\\b\t', replies: [{ code: 226, text: '"', frame: 1, ts: 0.0000005 }] })); },
    ];
    for (const edit of edits) {
      const x: any = { ...s, handshake: { ...s.handshake }, commands: [...s.commands] };
      edit(x);
      for (const opts of [{}, { showPasswords: true }]) {
        expect(written((w) => writeSessionJson(w, x, opts), 4)).toBe(reference(sessionToJson(x, opts), 4));
      }
    }
  });
});

describe('PrettyJsonWriter', () => {
  it('writes any plain value as JSON.stringify(v, null, 2), from a buffer too small to start with', () => {
    const tricky = ['a"b', 'a\\', 'a\\\\"', '{[,:]}', '"', '', 'ü—漢\u0000\u001f', '\\"\\\\', '1e21', 'null', '\ud83d\ude00', '\udc00',
      // Every ASCII character, alone and together; escapes in a long string that outgrows the buffer.
      ...Array.from({ length: 0x80 }, (_, c) => String.fromCharCode(c)), String.fromCharCode(...Array.from({ length: 0x80 }, (_, c) => c)),
      'x'.repeat(300) + '\n'.repeat(40) + '"\\'.repeat(50) + '\u0001\u007f\r\t\b\f', 'banner\n  line 2\n  line 3'];
    const values: unknown[] = [
      null, true, false, 0, -0, -1, 1.5, 1e21, 2 ** 53, -(2 ** 53), NaN, -Infinity, 123456789012, 5e-7,
      9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 5416666670, 1329843212,
      [], {}, [[]], [{}], { a: {} }, [undefined, () => 1, null], { u: undefined, f: () => 1, n: null },
      ...tricky, tricky, Object.fromEntries(tricky.map((t, i) => [t, [t, i, {}, [[]], { x: {} }]])),
    ];
    for (const v of values) {
      for (const base of [0, 4]) expect(written((w) => w.value(v), base, 1)).toBe(reference(v, base));
    }
  });

  it('integers are written as JSON.stringify writes them, around every digit-count and digit-pair boundary', () => {
    const ints: number[] = [];
    for (let n = 0; n <= 2000; n++) ints.push(n, -n);
    for (let p = 1; p <= 1e15; p *= 10) ints.push(p - 1, p, p + 1, 2 * p - 1, 5 * p + 7);
    ints.push(2 ** 31 - 2, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2 ** 53 - 1, 2 ** 53);
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = 0; i < 20000; i++) ints.push(Math.floor(random() * 2 ** 31), Math.floor(random() * 2 ** (53 * random())));
    for (const n of ints) expect(written((w) => w.number(n)), String(n)).toBe(JSON.stringify(n));
  });

  it('long strings with nothing to escape, and long ones with escapes or non-ASCII, are written as JSON.stringify writes them', () => {
    const strings = [
      'y'.repeat(31), 'y'.repeat(32), 'y'.repeat(33), 'Here comes the directory listing. '.repeat(40),
      'x'.repeat(40) + '"', 'x'.repeat(40) + '\\', 'x'.repeat(40) + '\n', '\u0000' + 'x'.repeat(40), 'x'.repeat(40) + '\u007f',
      'é'.repeat(40), 'x'.repeat(40) + '\u00ff', 'x'.repeat(40) + '\ud800', 'x'.repeat(40) + '😀',
    ];
    for (const str of strings) expect(written((w) => w.string(str))).toBe(JSON.stringify(str));
  });

  it('ts(t) writes what number(roundTs(t)) writes', () => {
    const edges = [0, 1e-7, 5e-7, 0.000001, 0.5, 1, 999999.9999995, 1329843212.4655719, 1700000000, 2 ** 31, 2 ** 32 - 1e-6, 2 ** 32, 2 ** 32 + 0.5, 1e15, -0.5, -0, NaN, Infinity];
    let seed = 42;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const samples = [...edges];
    for (let i = 0; i < 20000; i++) samples.push(random() * 2 ** (32 * random()), Math.floor(random() * 2e9) + Math.floor(random() * 1e6) / 1e6);
    for (const t of samples) {
      expect(written((w) => w.ts(t)), String(t)).toBe(JSON.stringify(roundTs(t)));
    }
  });

  it('keys come quoted and escaped, and members skip undefined as JSON.stringify does', () => {
    expect(written((w) => {
      w.openObject();
      w.member(jsonKey('a"b'), 1);
      w.member(jsonKey('skipped'), undefined);
      w.member(jsonKey('n'), null);
      w.closeObject();
    })).toBe(reference({ 'a"b': 1, skipped: undefined, n: null }, 0));
  });

  it('nesting deeper than the cached indents, with non-ASCII and escaped keys at every depth, as JSON.stringify writes it', () => {
    // Separators, indents and keys are stored 8 bytes at a time from runs cached per indent (up to 64 columns).
    const keys = ['k', 'a"b', 'ü—漢', '\u0000', '\u007f\u00ff', 'x'.repeat(13), '😀'];
    let value: unknown = { leaf: [1, 'two', null, [], {}] };
    for (let depth = 0; depth < 45; depth++) {
      const key = keys[depth % keys.length]!;
      value = depth % 3 === 0 ? [value, depth, { [key]: depth }] : { [key]: value, [`${key}${depth}`]: [] };
    }
    for (const base of [0, 3, 61]) {
      expect(written((w) => w.value(value), base, 1)).toBe(reference(value, base));
    }
  });
});

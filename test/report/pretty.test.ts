import { describe, expect, it } from 'vitest';

/* eslint-disable @typescript-eslint/no-explicit-any */
import { PassThrough } from 'node:stream';
import { indentJson } from '../../src/report/pretty.js';
import { ChunkedWriter } from '../../src/report/output.js';
import { compactSessionJson, renderSessionJson, reportJsonPieces, sessionToJson, toReportJson } from '../../src/report/json.js';
import { analyzed, ALL_CAPTURES } from './captures.js';

/** Node's own JSON.stringify with a gap is the reference layout. */
function reference(value: unknown, base: number): string {
  return JSON.stringify(value, null, 2).replace(/\n/g, '\n' + ' '.repeat(base));
}

describe('indentJson lays out compact JSON as JSON.stringify(v, null, 2) does', () => {
  for (const capture of ALL_CAPTURES) {
    it(`every session and the whole report of ${capture}`, async () => {
      const a = await analyzed(capture);
      for (const s of a.sessions) {
        const v = sessionToJson(s, { showPasswords: true });
        expect(indentJson(Buffer.from(JSON.stringify(v)), 4).toString()).toBe(reference(v, 4));
        expect(renderSessionJson(s)).toBe(reference(sessionToJson(s), 4));
        expect(indentJson(Buffer.from(compactSessionJson(s)), 0).toString()).toBe(reference(sessionToJson(s), 0));
        expect(compactSessionJson(s, { showPasswords: true })).toBe(JSON.stringify(v));
      }
      const whole = toReportJson(a);
      expect(indentJson(Buffer.from(JSON.stringify(whole))).toString()).toBe(reference(whole, 0));
    });
  }

  it('strings with quotes, backslash runs, brackets, commas, colons and non-ASCII text', async () => {
    // Real session objects with their texts replaced by the awkward cases.
    const a = await analyzed('zeek/ipv4.pcap');
    const tricky = ['a"b', 'a\\', 'a\\\\"', '{[,:]}', '"', '', 'ü—漢\u0000\u001f', '\\"\\\\', '1e21', 'null'];
    for (const text of tricky) {
      const v = JSON.parse(JSON.stringify(sessionToJson(a.sessions[0]!)));
      v.greeting.text = text;
      v.commands[0].arg = text;
      v.user = { [text]: [text, {}, [], [[]], { x: {} }] };
      expect(indentJson(Buffer.from(JSON.stringify(v)), 4).toString()).toBe(reference(v, 4));
    }
  });
});

describe('compactSessionJson is JSON.stringify(sessionToJson(s)) byte for byte', () => {
  it('on sessions with texts, numbers and optional fields edited to the awkward cases', async () => {
    const a = await analyzed('zeek/ipv4.pcap');
    const s = a.sessions[0]!;
    const edits: ((x: any) => void)[] = [
      (x) => { x.greeting = null; x.tlsInfo = { sni: 'a"b\\', version: undefined }; },
      (x) => { x.handshake = { seen: false, rttMs: NaN, mss: null }; x.user = undefined; x.loggedIn = undefined; },
      (x) => { x.start = Infinity; x.end = -0; x.controlBytes = [1e21, 5e-7]; x.commands = []; x.unsolicitedReplies = []; },
      (x) => { x.commands = x.commands.map((c: any) => ({ ...c, verb: 'pass', arg: 'ü\u0000"', cwd: undefined, frame: undefined, replies: [] })); },
      (x) => { x.client = { ip: '::ffff:10.0.0.1', port: 21 }; x.tls = undefined; x.closed = undefined; x.greeting = { code: 220, text: undefined, frame: undefined }; },
    ];
    for (const edit of edits) {
      const x: any = { ...s, handshake: { ...s.handshake }, commands: [...s.commands] };
      edit(x);
      for (const opts of [{}, { showPasswords: true }]) {
        expect(compactSessionJson(x, opts)).toBe(JSON.stringify(sessionToJson(x, opts)));
      }
    }
  });
});

describe('ChunkedWriter', () => {
  it('passes pieces through in order, larger and smaller than its chunk, whatever the reader pace', async () => {
    const a = await analyzed('zeek/ipv4.pcap');
    const big = 'x'.repeat(3 << 20);
    const pieces: (string | Buffer)[] = [...reportJsonPieces(a), big, Buffer.from('ünï'), '\n'];
    const stream = new PassThrough({ highWaterMark: 1024 });
    const got: Buffer[] = [];
    stream.on('data', (b: Buffer) => got.push(b));
    const w = new ChunkedWriter(stream);
    for (const p of pieces) await w.write(p);
    await w.end();
    expect(Buffer.concat(got).toString()).toBe(pieces.map(String).join(''));
  });
});

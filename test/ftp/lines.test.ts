import { describe, expect, test } from 'vitest';
import { LineSplitter, type SplitLine } from '../../src/ftp/lines.js';
import { controlStreams, framesAt, lineOffsets, plainPart, splitAll, splitInPieces } from './fixtures.js';

const streams = controlStreams();
const directions = ['c2s', 's2c'] as const;
const cases = streams.flatMap((cs) => directions.map((dir) => ({ name: `${cs.capture}#${cs.stream} ${dir}`, cs, dir })));

const comparable = (lines: SplitLine[]) =>
  lines.map((l) => ({ text: l.text, raw: l.raw!.toString('hex'), overlong: l.overlong, telnet: l.telnet ?? null }));
/** What a splitter without raw bytes (the analyzer's) must give the same. */
const decoded = (lines: SplitLine[]) => lines.map((l) => ({ text: l.text, overlong: l.overlong, telnet: l.telnet ?? null }));
const textOnly = { keepRaw: false } as const;

describe('LineSplitter on real control streams', () => {
  test('fixtures are present', () => {
    expect(streams.length).toBeGreaterThanOrEqual(10);
  });

  test.each(cases)('$name: same lines whatever the split point', ({ cs, dir }) => {
    const bytes = cs[dir];
    const whole = comparable(splitAll(bytes));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const split = comparable(splitInPieces(bytes, [cut]));
      if (JSON.stringify(split) !== JSON.stringify(whole)) expect({ cut, split }).toEqual({ cut, split: whole });
    }
    const oneByOne = comparable(splitInPieces(bytes, Array.from({ length: bytes.length }, (_, i) => i)));
    expect(oneByOne).toEqual(whole);
  });

  test.each(cases)('$name: without raw bytes, the same lines whatever the split point', ({ cs, dir }) => {
    const bytes = cs[dir];
    const whole = decoded(splitAll(bytes));
    expect(decoded(splitAll(bytes, textOnly))).toEqual(whole);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const split = decoded(splitInPieces(bytes, [cut], textOnly));
      if (JSON.stringify(split) !== JSON.stringify(whole)) expect({ cut, split }).toEqual({ cut, split: whole });
    }
    expect(splitAll(bytes, textOnly).every((l) => l.raw === null)).toBe(true);
  });

  test.each(cases)('$name: pieces given as ranges of a larger buffer give the same lines', ({ cs, dir }) => {
    // The TCP layer hands over ranges of the capture's read buffer: whatever lies outside a range
    // (here LF, IAC and non-ASCII bytes before it, a whole command line after it) must not be seen.
    const bytes = cs[dir];
    const junk = Buffer.from('\n\xff\xfb\x01\xe9\r\n', 'latin1');
    const host = Buffer.concat([junk, bytes, Buffer.from('NOOP\r\n')]);
    for (const opts of [textOnly, {}]) {
      const whole = JSON.stringify((opts.keepRaw === false ? decoded : comparable)(splitAll(bytes, opts)));
      for (let cut = 0; cut <= bytes.length; cut += Math.max(1, bytes.length >> 6)) {
        const s = new LineSplitter(opts);
        const lines = [...s.push(host, junk.length, junk.length + cut), ...s.push(host, junk.length + cut, junk.length + bytes.length)];
        const last = s.flush();
        if (last) lines.push(last);
        const got = JSON.stringify((opts.keepRaw === false ? decoded : comparable)(lines));
        if (got !== whole) expect({ cut, got }).toEqual({ cut, got: whole });
      }
    }
  });

  test.each(cases)('$name: the raw bytes of the lines are the stream, nothing lost', ({ cs, dir }) => {
    const bytes = plainPart(cs[dir], dir);
    const lines = splitAll(bytes);
    expect(Buffer.concat(lines.map((l) => l.raw)).equals(bytes)).toBe(true);
    expect(lines.every((l) => !l.overlong)).toBe(true);
  });

  test.each(cases)('$name: what tshark decoded at each frame lies inside one of our lines', ({ cs, dir }) => {
    const lines = splitAll(plainPart(cs[dir], dir));
    const starts = lineOffsets(lines);
    const frames = framesAt(cs, dir);
    const plainLength = plainPart(cs[dir], dir).length;
    let checked = 0;
    for (const { offset, frame } of frames) {
      if (offset >= plainLength) continue;
      let i = starts.length - 1;
      while (starts[i]! > offset) i--;
      const text = lines[i]!.text;
      for (const key of ['ftp.request.command', 'ftp.request.arg', 'ftp.response.arg']) {
        const v = frame[key]?.[0];
        if (v === undefined) continue;
        // tshark does not speak Telnet in FTP: it shows IAC sequences as undecodable bytes (U+FFFD),
        // which our splitter removed and reported.
        if (v.includes('\ufffd')) expect(lines[i]!.telnet, `frame ${frame['frame.number']}`).toBeDefined();
        else expect(text, `frame ${frame['frame.number']}`).toContain(v);
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

function run(input: Buffer | string, max?: number, cuts: number[] = [], keepRaw = true): SplitLine[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  return splitInPieces(bytes, cuts, { maxLineLength: max, keepRaw });
}

const IAC = '\xff';
const hostile: { name: string; input: string; max?: number; expected: Partial<SplitLine & { rawText: string }>[] }[] = [
  { name: 'CRLF and bare LF', input: 'USER a\r\nPASS b\nQUIT\r\n', expected: [{ text: 'USER a' }, { text: 'PASS b' }, { text: 'QUIT' }] },
  { name: 'empty lines', input: '\r\n\n', expected: [{ text: '' }, { text: '' }] },
  { name: 'lone CR is data', input: 'a\rb\r\n\r\r\n', expected: [{ text: 'a\rb' }, { text: '\r' }] },
  { name: 'NUL bytes are kept', input: 'US\0ER x\r\n', expected: [{ text: 'US\0ER x', rawText: 'US\0ER x\r\n' }] },
  { name: 'IAC IAC is one 0xFF', input: `RETR a${IAC}${IAC}b\r\n`, expected: [{ text: 'RETR a\xffb', rawText: `RETR a${IAC}${IAC}b\r\n` }] },
  { name: 'Synch before ABOR (IAC IP IAC DM)', input: `${IAC}\xf4${IAC}\xf2ABOR\r\n`, expected: [{ text: 'ABOR', telnet: ['IP', 'DM'] }] },
  { name: 'option negotiation removed', input: `${IAC}\xfb\x01${IAC}\xfd\x0aNOOP\r\n`, expected: [{ text: 'NOOP', telnet: ['WILL 1', 'DO 10'] }] },
  { name: 'LF inside a subnegotiation does not end the line', input: `${IAC}\xfa\x18\n\x01${IAC}\xf0SYST\r\n`, expected: [{ text: 'SYST', telnet: ['SB 24'] }] },
  { name: 'IAC before a non-command byte is a literal 0xFF', input: `CWD x${IAC}y\r\n`, expected: [{ text: 'CWD x\xffy' }] },
  { name: 'IAC right before LF ends the line', input: `CWD x${IAC}\nPWD\n`, expected: [{ text: 'CWD x\xff' }, { text: 'PWD' }] },
  { name: 'UTF-8 decoded when valid', input: 'RETR caf\xc3\xa9.txt\r\n', expected: [{ text: 'RETR café.txt' }] },
  { name: 'latin1 when not UTF-8', input: 'RETR caf\xe9.txt\r\n', expected: [{ text: 'RETR café.txt' }] },
  { name: 'overlong line cut, rest discarded to the next LF', input: 'A'.repeat(40) + '\r\nNOOP\r\n', max: 16, expected: [{ text: 'A'.repeat(16), overlong: true, rawText: 'A'.repeat(16) }, { text: 'NOOP' }] },
  { name: 'a line cut inside a UTF-8 character keeps its UTF-8 text', input: 'MKD \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n', max: 9, expected: [{ text: 'MKD 日', overlong: true }] },
  { name: 'a line of exactly the limit is not overlong', input: 'B'.repeat(16) + '\nC\n', max: 16, expected: [{ text: 'B'.repeat(16), overlong: false }, { text: 'C' }] },
  { name: 'Telnet bytes count toward the limit', input: `${IAC}\xfa\x18${'x'.repeat(30)}\nSTAT\n`, max: 8, expected: [{ text: '', overlong: true }, { text: 'STAT' }] },
  { name: 'trailing partial line comes out of flush', input: 'QUIT', expected: [{ text: 'QUIT', rawText: 'QUIT', overlong: false }] },
];

describe('LineSplitter on hostile input', () => {
  test.each(hostile)('$name (split at every offset)', ({ input, max, expected }) => {
    const bytes = Buffer.from(input, 'latin1');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const lines = run(bytes, max, [cut]);
      expect(lines.length, `cut at ${cut}`).toBe(expected.length);
      lines.forEach((l, i) => {
        const e = expected[i]!;
        if (e.text !== undefined) expect(l.text, `cut at ${cut}`).toBe(e.text);
        if (e.overlong !== undefined) expect(l.overlong).toBe(e.overlong);
        if (e.telnet !== undefined) expect(l.telnet).toEqual(e.telnet);
        if (e.rawText !== undefined) expect(l.raw!.toString('latin1')).toBe(e.rawText);
      });
      expect(decoded(run(bytes, max, [cut], false)), `without raw bytes, cut at ${cut}`).toEqual(decoded(lines));
    }
  });

  test('random bytes rich in IAC, CR, LF and UTF-8, cut into random pieces, split the same as whole', () => {
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const alphabet = [0xff, 0xff, 0xfa, 0xf0, 0xf4, 0xf2, 0xfb, 0xfd, 0x0d, 0x0a, 0x0a, 0x00, 0x41, 0x42, 0x20, 0xc3, 0xa9, 0xe6, 0x97];
    for (let round = 0; round < 300; round++) {
      const bytes = Buffer.from(Array.from({ length: 20 + rand(400) }, () => alphabet[rand(alphabet.length)]!));
      const max = 8 + rand(64);
      const whole = comparable(splitInPieces(bytes, [], { maxLineLength: max }));
      for (let k = 0; k < 20; k++) {
        const cuts = Array.from({ length: 1 + rand(12) }, () => rand(bytes.length + 1)).sort((a, b) => a - b);
        expect(comparable(splitInPieces(bytes, cuts, { maxLineLength: max })), `round ${round} cuts ${cuts}`).toEqual(whole);
        // Without raw bytes (plain lines after a line begun in an earlier piece take another path).
        const textOnlyLines = decoded(splitInPieces(bytes, cuts, { maxLineLength: max, keepRaw: false }));
        expect(textOnlyLines, `round ${round} cuts ${cuts}, without raw bytes`).toEqual(whole.map(({ text, overlong, telnet }) => ({ text, overlong, telnet })));
      }
      // Lines never exceed the limit by more than their terminator.
      for (const l of splitInPieces(bytes, [], { maxLineLength: max })) expect(l.raw!.length).toBeLessThanOrEqual(max + 1);
    }
  });

  test('mostly plain ASCII with lines around the limit: without raw bytes, the same lines as the byte path', () => {
    let seed = 11;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const ascii = [0x41, 0x42, 0x20, 0x30, 0x0d, 0x00, 0x7f];
    const rare = [0xff, 0xf4, 0xc3, 0xa9, 0x80];
    for (let round = 0; round < 300; round++) {
      const max = 4 + rand(24);
      // Most rounds are all ASCII (the fast path's case); the rest have a rare byte now and then.
      const rareEvery = round % 3 === 0 ? 200 : Infinity;
      const parts: number[] = [];
      while (parts.length < 30 + rand(600)) {
        // Lines of lengths near the limit.
        const len = Math.max(0, max - 3 + rand(7));
        for (let k = 0; k < len; k++) parts.push(rand(rareEvery) === 0 ? rare[rand(rare.length)]! : ascii[rand(ascii.length)]!);
        parts.push(rand(3) === 0 ? 0x0d : 0x41, 0x0a);
      }
      const bytes = Buffer.from(parts);
      const reference = decoded(splitInPieces(bytes, [], { maxLineLength: max }));
      for (let k = 0; k < 10; k++) {
        const cuts = Array.from({ length: rand(8) }, () => rand(bytes.length + 1)).sort((a, b) => a - b);
        expect(decoded(splitInPieces(bytes, cuts, { maxLineLength: max, keepRaw: false })), `round ${round} cuts ${cuts}`).toEqual(reference);
      }
    }
  });

  test('lftp aborting a download (vsftpd-aborted recording): Synch IAC IP IAC DM before ABOR, in separate segments', () => {
    const cs = streams.find((c) => c.capture === 'rec-vsftpd-aborted' && c.c2s.includes(Buffer.from('ABOR')));
    if (!cs) return; // the project's recordings are not in this checkout
    const abor = splitAll(cs.c2s).find((l) => l.text === 'ABOR')!;
    expect(abor.telnet).toEqual(['IP', 'DM']);
    expect(abor.raw!.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xf4, 0xff, 0xf2]));
  });

  test('UTF-8 split across chunks decodes the same', () => {
    const bytes = Buffer.from('MKD 日本語\r\n', 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) expect(run(bytes, undefined, [cut])[0]!.text).toBe('MKD 日本語');
  });

  test('10 MB without a newline: bounded memory, one cut line, then normal lines again', () => {
    const s = new LineSplitter({ maxLineLength: 8192 });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const lines: SplitLine[] = [];
    let maxPending = 0;
    const total = 10 * 1024 * 1024;
    for (let sent = 0; sent < total; sent += chunk.length) {
      lines.push(...s.push(chunk));
      maxPending = Math.max(maxPending, s.pendingBytes);
    }
    lines.push(...s.push(Buffer.from('\r\nUSER x\r\n')));
    expect(maxPending).toBeLessThanOrEqual(8192);
    expect(lines.map((l) => [l.text.length, l.overlong])).toEqual([[8192, true], [6, false]]);
    expect(lines[1]!.text).toBe('USER x');
    expect(s.discardedBytes).toBe(total - 8192 + 2);
    expect(s.pendingBytes).toBe(0);
  });

  test('flush while discarding an overlong line returns nothing; flush of nothing is null', () => {
    const s = new LineSplitter({ maxLineLength: 4 });
    expect(s.push(Buffer.from('abcdefgh')).map((l) => l.overlong)).toEqual([true]);
    expect(s.flush()).toBeNull();
    expect(s.flush()).toBeNull();
    expect(s.push(Buffer.from('ok\n'))[0]!.text).toBe('ok');
  });

  test('a dangling IAC at end of stream is kept as data', () => {
    const lines = run(`PWD${IAC}`);
    expect(lines[0]!.text).toBe('PWD\xff');
  });

  test('rejects a nonsensical limit', () => {
    expect(() => new LineSplitter({ maxLineLength: 0 })).toThrow(RangeError);
  });
});

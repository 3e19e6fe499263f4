import { describe, expect, test } from 'vitest';
import { ReplyParser, parseControlResponse, parseFeatures, replyCodeOf, type ParsedReply } from '../../src/ftp/replies.js';
import type { SplitLine } from '../../src/ftp/lines.js';
// basic-ftp's own reply grouping, the peer our parseControlResponse follows.
import { parseControlResponse as basicFtpParse } from 'basic-ftp/dist/parseControlResponse.js';
import {
  controlStreams, fixtureExists, fixtureText, framesAt, lineOffsets, plainPart, splitAll, splitInPieces, zeekLog,
} from './fixtures.js';

const streams = controlStreams();
const byName = (capture: string) => streams.find((s) => s.capture === capture)!;

type Item = ParsedReply | { malformed: string };

function parse(lines: SplitLine[]): Item[] {
  const p = new ReplyParser();
  const out: Item[] = [];
  for (const l of lines) {
    const r = p.pushLine(l.text);
    if (r) out.push(r);
  }
  const rest = p.end();
  if (rest) out.push(rest);
  return out;
}

const repliesOf = (items: Item[]) => items.filter((i): i is ParsedReply => !('malformed' in i));
const lastLineText = (r: ParsedReply) => r.lines[r.lines.length - 1]!.slice(4);

describe('ReplyParser on real server streams', () => {
  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))(
    '$name: same replies whatever the split point, malformed lines only where zeek found them',
    ({ cs }) => {
      const bytes = plainPart(cs.s2c, 's2c');
      const whole = parse(splitAll(bytes));
      // zeek's analyzer.log names the line it could not read as a reply ("non-numeric reply code").
      const zeekMalformed = fixtureExists(cs.capture, 'zeek-analyzer.log')
        ? zeekLog(cs.capture, 'zeek-analyzer.log').filter((r) => r.failure_reason === 'non-numeric reply code').map((r) => ({ malformed: r.failure_data }))
        : [];
      expect(whole.filter((i) => 'malformed' in i)).toEqual(zeekMalformed);
      expect(whole.every((r) => !('quirks' in r))).toBe(true);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const split = parse(splitInPieces(bytes, [cut]));
        if (JSON.stringify(split) !== JSON.stringify(whole)) expect({ cut, split }).toEqual({ cut, split: whole });
      }
    },
  );

  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))(
    '$name: at every frame that starts a line, our code and text are what tshark decoded',
    ({ cs }) => {
      const bytes = plainPart(cs.s2c, 's2c');
      const lines = splitAll(bytes);
      const starts = new Map(lineOffsets(lines).map((o, i) => [o, lines[i]!]));
      let checked = 0;
      for (const { offset, frame } of framesAt(cs, 's2c')) {
        const line = starts.get(offset);
        if (!line) continue; // tshark decodes the fragment a segment starts with; it lies inside a line (lines test)
        const code = replyCodeOf(line.text);
        const hasCode = code > 0 && (line.text.length === 3 || line.text[3] === ' ' || line.text[3] === '-');
        const arg = hasCode ? line.text.slice(4) : line.text;
        expect(frame['ftp.response.code']?.[0], `frame ${frame['frame.number']}`).toBe(hasCode ? String(code) : undefined);
        expect(frame['ftp.response.arg']?.[0], `frame ${frame['frame.number']}`).toBe(arg === '' ? undefined : arg);
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    },
  );

  const withZeekLog = streams.filter((cs) => fixtureExists(cs.capture, 'zeek-ftp.log'));
  test.each(withZeekLog.map((cs) => ({ name: cs.capture, cs })))(
    "$name: every reply in zeek's ftp.log is one of ours, in order",
    ({ cs }) => {
      const ours = repliesOf(parse(splitAll(plainPart(cs.s2c, 's2c'))));
      let at = 0;
      for (const row of zeekLog(cs.capture)) {
        const code = Number(row.reply_code);
        // zeek skips the whitespace after the code.
        while (at < ours.length && !(ours[at]!.code === code && lastLineText(ours[at]!).trimStart() === row.reply_msg)) at++;
        expect(at, `zeek row ${row.command} ${code} ${row.reply_msg}`).toBeLessThan(ours.length);
      }
    },
  );

  test("every reply line of the 11-line banner capture is what zeek's ftp_reply events give", () => {
    // zeek prints: ftp_reply, <continued>, <code, 0 on inner lines>, <c$ftp$reply_msg: the first line's text until the reply ends>
    const expected = fixtureText('zeek-ipv6-multiline-reply', 'zeek-out')
      .split('\n')
      .filter((l) => l.startsWith('ftp_reply, '))
      .map((l) => l.slice('ftp_reply, '.length));
    const ours: string[] = [];
    for (const r of repliesOf(parse(splitAll(byName('zeek-ipv6-multiline-reply').s2c)))) {
      if (r.lines.length === 1) {
        ours.push(`F, ${r.code}, ${lastLineText(r).trimStart()}`);
        continue;
      }
      const first = r.lines[0]!.slice(4).trimStart();
      ours.push(`T, ${r.openingCode ?? r.code}, ${first}`);
      for (let i = 1; i < r.lines.length - 1; i++) ours.push(`T, 0, ${first}`);
      ours.push(`F, ${r.code}, ${lastLineText(r).trimStart()}`);
    }
    expect(ours).toEqual(expected);
    const banner = repliesOf(parse(splitAll(byName('zeek-ipv6-multiline-reply').s2c)))[0]!;
    expect(banner.code).toBe(220);
    expect(banner.lines).toHaveLength(12);
  });

  test('suricata-verify bug-3519: PASS gets "Login successful.", NLST gets its two replies in a row', () => {
    const yaml = fixtureText('sv-bug-3519', 'suricata-test.yaml');
    expect(yaml).toContain("ftp.reply: ['Login successful.']");
    expect(yaml).toContain('"Here comes the directory listing.",\n          "Directory send OK."]');
    const ours = repliesOf(parse(splitAll(byName('sv-bug-3519').s2c)));
    expect(ours.some((r) => r.code === 230 && r.text === 'Login successful.')).toBe(true);
    const i = ours.findIndex((r) => r.text === 'Here comes the directory listing.');
    expect(i).toBeGreaterThanOrEqual(0);
    expect(ours[i + 1]!.text).toBe('Directory send OK.');
  });

  test('multi-line texts: FEAT inner lines as sent, banner indentation kept', () => {
    const feat = repliesOf(parse(splitAll(plainPart(byName('zeek-ftp-auth-tls').s2c, 's2c')))).find((r) => r.code === 211)!;
    const tsharkInner = byName('zeek-ftp-auth-tls').tshark
      .filter((f) => f['tcp.srcport']?.[0] === '21' && !f['ftp.response.code'] && f['ftp.response.arg'])
      .map((f) => f['ftp.response.arg']![0]);
    expect(feat.lines.slice(1, -1)).toEqual(tsharkInner);
    expect(feat.text.split('\n').slice(1, -1)).toEqual(tsharkInner);
  });
});

describe('parseFeatures', () => {
  const featCaptures = streams.filter((cs) => splitAll(plainPart(cs.c2s, 'c2s')).some((l) => l.text.toUpperCase() === 'FEAT'));
  test('there are FEAT exchanges in the captures', () => expect(featCaptures.length).toBeGreaterThanOrEqual(2));
  test.each(featCaptures.map((cs) => ({ name: cs.capture, cs })))('$name: the features are the inner lines tshark shows', ({ cs }) => {
    const feat = repliesOf(parse(splitAll(plainPart(cs.s2c, 's2c')))).find((r) => r.code === 211 && r.lines.length > 2)!;
    // Inner lines tshark saw at the start of a segment (it does not decode the others).
    const lines = splitAll(plainPart(cs.s2c, 's2c'));
    const starts = new Map(lineOffsets(lines).map((o, i) => [o, lines[i]!.text]));
    const seen = framesAt(cs, 's2c')
      .filter(({ offset, frame }) => starts.has(offset) && !frame['ftp.response.code'] && frame['ftp.response.arg'])
      .map(({ frame }) => frame['ftp.response.arg']![0]!.trim());
    const features = parseFeatures(feat);
    for (const f of seen.filter((f) => feat.lines.some((l) => l.trim() === f))) expect(features).toContain(f);
    expect(features.length).toBe(feat.lines.length - 2);
  });
  test('one-line and odd replies', () => {
    expect(parseFeatures({ code: 211, text: 'no features', lines: ['211 no features'] })).toEqual([]);
    expect(parseFeatures({ code: 211, text: '', lines: ['211-Features:', ' MDTM', 'SIZE', '211-', ' ', '211 End'] })).toEqual(['MDTM', 'SIZE']);
  });
});

describe('parseControlResponse (basic-ftp style, for the proxy)', () => {
  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))(
    '$name: fed in two pieces at every offset, gives each reply once, as the ReplyParser does',
    ({ cs }) => {
      const text = plainPart(cs.s2c, 's2c').toString('latin1');
      // A line that is no reply is a message of its own, as basic-ftp's grouping has it.
      const expected = parse(splitAll(Buffer.from(text, 'latin1'))).map((r) => ('malformed' in r ? r.malformed : r.lines.join('\n')));
      for (let cut = 0; cut <= text.length; cut++) {
        const a = parseControlResponse(text.slice(0, cut));
        const b = parseControlResponse(a.rest + text.slice(cut));
        const got = [...a.messages, ...b.messages];
        if (JSON.stringify(got) !== JSON.stringify(expected)) expect({ cut, got }).toEqual({ cut, got: expected });
        expect(b.rest).toBe('');
      }
    },
  );

  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))(
    "$name: the same messages as basic-ftp's parseControlResponse",
    ({ cs }) => {
      const text = plainPart(cs.s2c, 's2c').toString('latin1');
      const peer = basicFtpParse(text);
      const ours = parseControlResponse(text);
      // basic-ftp drops blank lines (the captures have none outside replies) and lines without a code
      // ("SYST not supported"), which ours keeps so that the session can report them.
      expect(ours.messages.filter((m) => replyCodeOf(m) > 0).map((m) => m.split('\n').filter((l) => l.trim() !== '').join('\n'))).toEqual(peer.messages);
      expect(ours.rest).toBe(peer.rest);
    },
  );

  test('an open multi-line reply and a partial line stay in rest', () => {
    expect(parseControlResponse('220-a\r\n220-b\r\n')).toEqual({ messages: [], rest: '220-a\r\n220-b\r\n' });
    expect(parseControlResponse('331 ok\r\n230 Logg')).toEqual({ messages: ['331 ok'], rest: '230 Logg' });
    expect(parseControlResponse('bogus\r\n200 ok\n')).toEqual({ messages: ['bogus', '200 ok'], rest: '' });
  });
});

describe('ReplyParser rules and quirks', () => {
  const table: { name: string; lines: string[]; expected: Partial<ParsedReply>[] }[] = [
    { name: 'single line', lines: ['200 Type set to I.'], expected: [{ code: 200, text: 'Type set to I.' }] },
    { name: 'bare code', lines: ['200'], expected: [{ code: 200, text: '' }] },
    {
      name: 'RFC 959 §4.2 example: an indented number does not end the reply',
      lines: ['123-First line', 'Second line', '  234 A line beginning with numbers', '123 The last line'],
      expected: [{ code: 123, text: 'First line\nSecond line\n  234 A line beginning with numbers\nThe last line' }],
    },
    {
      name: 'inner lines carrying the opening code lose it in text, keep it in lines',
      lines: ['250-Directory', '250-  file1', '250 End'],
      expected: [{ code: 250, text: 'Directory\n  file1\nEnd', lines: ['250-Directory', '250-  file1', '250 End'] }],
    },
    {
      name: 'inner line with another code and dash stays inside',
      lines: ['211-Status', '213-not me', '211 End'],
      expected: [{ code: 211, text: 'Status\n213-not me\nEnd' }],
    },
    {
      name: 'a 230- block closed by 226 (real servers): closes, takes the closing code, notes the opening one',
      lines: ['230-Welcome', '230-Be nice', '226 Transfer complete.', '200 next'],
      expected: [
        { code: 226, openingCode: 230, quirks: ['code-mismatch'], text: 'Welcome\nBe nice\nTransfer complete.' },
        { code: 200, text: 'next' },
      ],
    },
    { name: 'no space after the code (accepted as zeek does)', lines: ['220FTP ready'], expected: [{ code: 220, text: 'FTP ready', quirks: ['no-space-after-code'] }] },
    { name: 'RFC 2228 protected reply', lines: ['631 base64=='], expected: [{ code: 631, text: 'base64==' }] },
    { name: 'empty inner line', lines: ['214-Help', '', '214 End'], expected: [{ code: 214, text: 'Help\n\nEnd' }] },
  ];
  test.each(table)('$name', ({ lines, expected }) => {
    const p = new ReplyParser();
    const got = lines.map((l) => p.pushLine(l)).filter((r): r is ParsedReply => r !== null && !('malformed' in r));
    expect(got.length).toBe(expected.length);
    got.forEach((r, i) => expect(r).toMatchObject(expected[i]!));
  });

  test.each(['', 'hello', '22 short', '020 bad class', '720 bad class', '\0\0\0', 'ABC def'])('malformed outside a reply: %j', (line) => {
    const p = new ReplyParser();
    expect(p.pushLine(line)).toEqual({ malformed: line });
    expect(p.inReply).toBe(false);
  });

  test('inReply tracks an open multi-line reply', () => {
    const p = new ReplyParser();
    expect(p.pushLine('220-a')).toBeNull();
    expect(p.inReply).toBe(true);
    expect(p.pushLine('garbage is an inner line')).toBeNull();
    expect(p.pushLine('220 b')).toMatchObject({ code: 220 });
    expect(p.inReply).toBe(false);
  });

  test('too many lines: bounded, counted, and the closing line still found', () => {
    const p = new ReplyParser({ maxLinesPerReply: 5 });
    expect(p.pushLine('213-listing')).toBeNull();
    for (let i = 0; i < 1000; i++) expect(p.pushLine(`-rw-r--r-- file${i}`)).toBeNull();
    const r = p.pushLine('213 End') as ParsedReply;
    expect(r.code).toBe(213);
    expect(r.lines).toHaveLength(5);
    expect(r.omittedLines).toBe(997);
    expect(r.lines[4]).toBe('213 End');
    expect(r.text.split('\n')).toEqual(['listing', '-rw-r--r-- file0', '-rw-r--r-- file1', '-rw-r--r-- file2', 'End']);
    expect(r.quirks).toEqual(['too-many-lines']);
  });

  test('end() returns an unterminated reply once', () => {
    const p = new ReplyParser();
    p.pushLine('220-Welcome');
    p.pushLine('220-more');
    expect(p.end()).toMatchObject({ code: 220, text: 'Welcome\nmore', quirks: ['unterminated'] });
    expect(p.end()).toBeNull();
  });
});

import { describe, expect, test } from 'vitest';
import { isKnownReplyCode, parseExpectedSize, replyCodeMeaning } from '../../src/ftp/reply-codes.js';
import { ReplyParser, type ParsedReply } from '../../src/ftp/replies.js';
import { controlStreams, fixtureExists, fixtureText, plainPart, splitAll, zeekLog } from './fixtures.js';

const streams = controlStreams();

function replies(bytes: Buffer): ParsedReply[] {
  const p = new ReplyParser();
  const out: ParsedReply[] = [];
  for (const l of splitAll(bytes)) {
    const r = p.pushLine(l.text);
    if (r && !('malformed' in r)) out.push(r);
  }
  return out;
}

describe('parseExpectedSize on the real 150 replies', () => {
  test("zeek's ftp.log file_size for RETR is the size the 150 reply announces", () => {
    let checked = 0;
    for (const cs of streams.filter((s) => fixtureExists(s.capture, 'zeek-ftp.log'))) {
      const sizes = replies(plainPart(cs.s2c, 's2c')).filter((r) => r.code === 150).map((r) => parseExpectedSize(r.text)).filter((n) => n !== null);
      for (const row of zeekLog(cs.capture).filter((r) => r.command === 'RETR' && r.file_size !== null)) {
        expect(sizes, `${cs.capture} ${row.arg}`).toContain(Number(row.file_size));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  test("suricata-verify bug-4877: the announced sizes are the files' sizes in test.yaml", () => {
    const yaml = fixtureText('sv-bug-4877', 'suricata-test.yaml');
    const files = new Map([...yaml.matchAll(/fileinfo\.filename: (\S+)[\s\S]*?fileinfo\.size: (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    expect(files.size).toBe(2);
    const announced = replies(streams.find((s) => s.capture === 'sv-bug-4877')!.s2c).filter((r) => r.code === 150 && /\(\d+ bytes\)/.test(r.text));
    expect(announced.length).toBe(2);
    for (const r of announced) {
      const name = /for (\S+) \(/.exec(r.text)![1]!;
      expect(parseExpectedSize(r.text), name).toBe(files.get(name));
    }
  });

  test('150 replies without a size, and pure-ftpd\'s approximate kbytes, give null', () => {
    const all = streams.flatMap((cs) => replies(plainPart(cs.s2c, 's2c'))).filter((r) => r.code === 150 && !/bytes\)/.test(r.text));
    expect(all.length).toBeGreaterThanOrEqual(8);
    for (const r of all) expect(parseExpectedSize(r.text), r.text).toBeNull();
    expect(all.some((r) => r.text.includes('kbytes to download'))).toBe(true);
  });

  test.each([
    ['Opening BINARY mode data connection for README (16557 bytes).', 16557],
    ["Opening BINARY mode data connection for 'robots.txt' (77 bytes).", 77],
    ['Opening BINARY mode data connection for file.txt(12345 bytes).', 12345],
    ['Opening BINARY mode data connection for file.txt (12345 Bytes).', 12345],
    ['Opening BINARY mode data connection for a (1) (2 bytes).', 2],
    ['Opening BINARY mode data connection for empty (0 bytes).', 0],
    ['Opening BINARY mode data connection for x (1 byte).', 1],
    ['Opening data channel for file download from server of "/x"', null],
    ['Opening BINARY mode data connection for (77 bytes) later (abc bytes).', 77],
    ['Opening BINARY mode data connection for huge (99999999999999999 bytes).', null],
  ] as [string, number | null][])('%s', (text, expected) => expect(parseExpectedSize(text)).toBe(expected));
});

describe('replyCodeMeaning', () => {
  test('every code the real servers sent is one the RFCs define', () => {
    const codes = new Set(streams.flatMap((cs) => replies(plainPart(cs.s2c, 's2c')).map((r) => r.code)));
    expect(codes.size).toBeGreaterThan(15);
    for (const c of codes) expect(isKnownReplyCode(c), String(c)).toBe(true);
  });

  test('RFC 959 §4.2.2 codes are all known', () => {
    const rfc959 = [110, 120, 125, 150, 200, 202, 211, 212, 213, 214, 215, 220, 221, 225, 226, 227, 230, 250, 257, 331,
      332, 350, 421, 425, 426, 450, 451, 452, 500, 501, 502, 503, 504, 530, 532, 550, 551, 552, 553];
    for (const c of rfc959) expect(isKnownReplyCode(c), String(c)).toBe(true);
    for (const c of [232, 234, 235, 334, 335, 336, 431, 533, 534, 535, 536, 537, 631, 632, 633, 228, 229, 522]) {
      expect(isKnownReplyCode(c), String(c)).toBe(true);
    }
  });

  test('digits follow RFC 959 §4.2.1', () => {
    expect(replyCodeMeaning(226)).toEqual({
      summary: 'Closing data connection; transfer OK',
      digits: ['Positive completion', 'Connections', 'Detail 6'],
    });
    expect(replyCodeMeaning(553).digits).toEqual(['Permanent negative completion', 'File system', 'Detail 3']);
    expect(replyCodeMeaning(331).digits[1]).toBe('Authentication and accounting');
    expect(replyCodeMeaning(632).digits[0]).toBe('Protected reply');
  });

  test('unknown codes are described from their digits', () => {
    expect(replyCodeMeaning(299)).toEqual({ summary: 'Positive completion (unknown group 9)', digits: ['Positive completion', 'Unknown group 9', 'Detail 9'] });
    expect(replyCodeMeaning(454).summary).toBe('Transient negative completion (file system)');
    expect(replyCodeMeaning(540).summary).toBe('Permanent negative completion (unspecified)');
  });
});

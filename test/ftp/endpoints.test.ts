import { describe, expect, test } from 'vitest';
import {
  canonicalIp, formatEprtArg, formatEpsvReply, formatLprtArg, formatLpsvReply, formatPasvReply, formatPortArg,
  parseEprtArg, parseEpsvReply, parseLprtArg, parseLpsvReply, parsePasvReply, parsePortArg, type HostPort,
} from '../../src/ftp/endpoints.js';
import { parseCommand } from '../../src/ftp/commands.js';
// basic-ftp's parsers of the same replies, as a peer.
import { parseEpsvResponse, parsePasvResponse } from 'basic-ftp/dist/transfer.js';
import { replyCodeOf } from '../../src/ftp/replies.js';
import { controlStreams, framesAt, lineOffsets, plainPart, splitAll, zeekLog, fixtureExists } from './fixtures.js';

const streams = controlStreams();

/** Our lines at the offsets where tshark frames start, with tshark's fields for that frame. */
function alignedLines(dir: 'c2s' | 's2c') {
  return streams.flatMap((cs) => {
    const lines = splitAll(plainPart(cs[dir], dir));
    const starts = new Map(lineOffsets(lines).map((o, i) => [o, lines[i]!.text]));
    return framesAt(cs, dir)
      .filter(({ offset }) => starts.has(offset))
      .map(({ offset, frame }) => ({ where: `${cs.capture} frame ${frame['frame.number']}`, text: starts.get(offset)!, frame }));
  });
}

describe('data-channel announcements in the real captures, against tshark', () => {
  const c2s = alignedLines('c2s');
  const s2c = alignedLines('s2c');

  test('PORT arguments: tshark ftp.active.cip / ftp.active.port', () => {
    const ports = c2s.filter((l) => parseCommand(l.text)?.verb === 'PORT');
    expect(ports.length).toBeGreaterThanOrEqual(6);
    for (const { where, text, frame } of ports) {
      const arg = parseCommand(text)!.arg!;
      // Where tshark reads no address ("PORT 114,115" of zeek's fake server), neither do we.
      if (frame['ftp.active.cip'] === undefined) {
        expect(parsePortArg(arg), where).toBeNull();
        continue;
      }
      expect(parsePortArg(arg), where).toEqual({ ip: frame['ftp.active.cip']![0], port: Number(frame['ftp.active.port']![0]) });
      expect(formatPortArg(parsePortArg(arg)!), where).toBe(arg);
    }
  });

  test('EPRT arguments: tshark ftp.eprt.ip(v6) / ftp.eprt.port', () => {
    const eprts = c2s.filter((l) => parseCommand(l.text)?.verb === 'EPRT');
    expect(eprts.length).toBeGreaterThanOrEqual(2);
    for (const { where, text, frame } of eprts) {
      const arg = parseCommand(text)!.arg!;
      const ip = frame['ftp.eprt.ip']?.[0] ?? frame['ftp.eprt.ipv6']![0];
      expect(parseEprtArg(arg), where).toEqual({ ip, port: Number(frame['ftp.eprt.port']![0]) });
      expect(formatEprtArg(parseEprtArg(arg)!), where).toBe(arg);
    }
  });

  test('227 replies: tshark ftp.passive.ip / ftp.passive.port', () => {
    const pasv = s2c.filter((l) => replyCodeOf(l.text) === 227);
    expect(pasv.length).toBeGreaterThanOrEqual(5);
    for (const { where, text, frame } of pasv) {
      const hp = parsePasvReply(text.slice(4));
      if (frame['ftp.passive.ip'] === undefined) {
        expect(hp, where).toBeNull(); // "227 Fake response PASV": no address for tshark either
        continue;
      }
      expect(hp, where).toEqual({ ip: frame['ftp.passive.ip']![0], port: Number(frame['ftp.passive.port']![0]) });
      const peer = parsePasvResponse(text);
      expect(hp, `${where} vs basic-ftp`).toEqual({ ip: peer.host, port: peer.port });
      // The parenthesized part is byte-for-byte what the server sent.
      expect(text).toContain(/\(.*\)/.exec(formatPasvReply(hp!))![0]);
    }
  });

  test('229 replies: tshark ftp.epsv.port', () => {
    const epsv = s2c.filter((l) => replyCodeOf(l.text) === 229);
    expect(epsv.length).toBeGreaterThanOrEqual(5);
    for (const { where, text, frame } of epsv) {
      const r = parseEpsvReply(text.slice(4));
      expect(r, where).toEqual({ port: Number(frame['ftp.epsv.port']![0]) });
      expect(r!.port, `${where} vs basic-ftp`).toBe(parseEpsvResponse(text));
      expect(text).toContain(`(|||${r!.port}|)`);
    }
  });
});

describe("zeek's ftp.log data_channel columns", () => {
  const rows = streams
    .filter((cs) => fixtureExists(cs.capture, 'zeek-ftp.log'))
    .flatMap((cs) => zeekLog(cs.capture).map((row) => ({ capture: cs.capture, row })))
    .filter(({ row }) => row['data_channel.resp_p'] !== null);

  test('there are rows for PASV, PORT, EPSV and EPRT', () => {
    expect(new Set(rows.map((r) => r.row.command))).toEqual(new Set(['PASV', 'PORT', 'EPSV', 'EPRT']));
  });

  test.each(rows.map(({ capture, row }) => ({ name: `${capture} ${row.command} ${row.arg ?? row.reply_msg}`, row })))('$name', ({ row }) => {
    const port = Number(row['data_channel.resp_p']!.split('/')[0]);
    const host = row['data_channel.resp_h'];
    switch (row.command) {
      case 'PASV': expect(parsePasvReply(row.reply_msg!)).toEqual({ ip: host, port }); break;
      case 'EPSV': expect(parseEpsvReply(row.reply_msg!)).toEqual({ port }); break;
      case 'PORT': expect(parsePortArg(row.arg!)).toEqual({ ip: host, port }); break;
      case 'EPRT': expect(parseEprtArg(row.arg!)).toEqual({ ip: host, port }); break;
      default: throw new Error(`unexpected ${row.command}`);
    }
  });
});

describe('RFC examples', () => {
  test('RFC 2428 §2 EPRT examples', () => {
    expect(parseEprtArg('|1|132.235.1.2|6275|')).toEqual({ ip: '132.235.1.2', port: 6275 });
    expect(parseEprtArg('|2|1080::8:800:200C:417A|5282|')).toEqual({ ip: '1080::8:800:200c:417a', port: 5282 });
  });
  test('RFC 2428 §3 EPSV reply', () => {
    expect(parseEpsvReply('Entering Extended Passive Mode (|||6446|)')).toEqual({ port: 6446 });
  });
});

describe('round trips: parse(format(x)) == x', () => {
  const v4: HostPort[] = [
    { ip: '0.0.0.0', port: 1 }, { ip: '255.255.255.255', port: 65535 }, { ip: '10.0.0.1', port: 256 },
    { ip: '192.168.1.20', port: 255 }, { ip: '172.16.5.4', port: 20 }, { ip: '127.0.0.1', port: 21 },
  ];
  const v6: HostPort[] = [
    { ip: '::1', port: 5282 }, { ip: '2001:db8::1', port: 65535 }, { ip: 'fe80::12', port: 1234 },
    { ip: '2001:db8:0:1:1:1:1:1', port: 1 }, { ip: '2001:db8::1:0:0:1', port: 40000 }, { ip: '::', port: 2 },
  ];
  test.each(v4)('IPv4 $ip:$port through PORT, 227, EPRT, LPRT, 228', (hp) => {
    expect(parsePortArg(formatPortArg(hp))).toEqual(hp);
    expect(parsePasvReply(formatPasvReply(hp))).toEqual(hp);
    expect(parseEprtArg(formatEprtArg(hp))).toEqual(hp);
    expect(parseLprtArg(formatLprtArg(hp))).toEqual(hp);
    expect(parseLpsvReply(formatLpsvReply(hp))).toEqual(hp);
    expect(parseEpsvReply(formatEpsvReply(hp.port))).toEqual({ port: hp.port });
  });
  test.each(v6)('IPv6 $ip:$port through EPRT, LPRT, 228', (hp) => {
    expect(parseEprtArg(formatEprtArg(hp))).toEqual(hp);
    expect(parseLprtArg(formatLprtArg(hp))).toEqual(hp);
    expect(parseLpsvReply(formatLpsvReply(hp))).toEqual(hp);
    expect(() => formatPortArg(hp)).toThrow(RangeError);
  });
  test('IPv4-mapped IPv6 comes out as IPv4, and PORT accepts it', () => {
    expect(parseEprtArg('|2|::ffff:10.1.2.3|2121|')).toEqual({ ip: '10.1.2.3', port: 2121 });
    expect(parseEprtArg('|2|::FFFF:0a01:0203|2121|')).toEqual({ ip: '10.1.2.3', port: 2121 });
    expect(parseLprtArg('6,16,0,0,0,0,0,0,0,0,0,0,255,255,10,1,2,3,2,8,73')).toEqual({ ip: '10.1.2.3', port: 2121 });
    expect(formatPortArg({ ip: '::ffff:10.1.2.3', port: 2121 })).toBe('10,1,2,3,8,73');
    expect(canonicalIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
  });
  test('canonical IPv6 text (RFC 5952)', () => {
    const table: [string, string | null][] = [
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'], ['2001:db8:0000:0001:0:0:0:1', '2001:db8:0:1::1'],
      ['0:0:0:0:0:0:0:0', '::'], ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
      ['2001:db8:1:2:3:4:5:0', '2001:db8:1:2:3:4:5:0'], ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['::1.2.3.4', '::102:304'], ['1::2::3', null], ['12345::', null], ['fe80::1%eth0', null], [':::', null], ['1.2.3', null],
    ];
    for (const [input, expected] of table) expect(canonicalIp(input), input).toBe(expected);
  });
  test('any EPRT/EPSV delimiter from 33 to 126', () => {
    for (let c = 33; c <= 126; c++) {
      const d = String.fromCharCode(c);
      if (/[0-9.:]/.test(d)) continue; // would be part of the address or port
      expect(parseEprtArg(`${d}1${d}10.0.0.1${d}2000${d}`), d).toEqual({ ip: '10.0.0.1', port: 2000 });
      expect(parseEpsvReply(`Entering Extended Passive Mode (${d}${d}${d}2000${d})`), d).toEqual({ port: 2000 });
    }
  });
  test('227 forms seen in the wild', () => {
    const hp = { ip: '10.0.0.1', port: 1025 };
    for (const text of ['Entering Passive Mode (10,0,0,1,4,1).', 'Entering Passive Mode 10,0,0,1,4,1', '=10,0,0,1,4,1',
      'Entering Passive Mode (10, 0, 0, 1, 4, 1)', 'Passive mode ok (010,000,000,001,004,001)']) {
      expect(parsePasvReply(text), text).toEqual(hp);
    }
  });
});

describe('malformed announcements give null, never throw', () => {
  const table: [string, (s: string) => unknown, string][] = [
    ['PORT', parsePortArg, '1,2,3,4,5'],
    ['PORT', parsePortArg, '1,2,3,4,5,6,7'],
    ['PORT', parsePortArg, '256,1,1,1,1,1'],
    ['PORT', parsePortArg, '1,2,3,4,0,0'],
    ['PORT', parsePortArg, '1,2,3,4,256,1'],
    ['PORT', parsePortArg, '1,2,3,4,1,256'],
    ['PORT', parsePortArg, 'a,b,c,d,e,f'],
    ['PORT', parsePortArg, '-1,2,3,4,5,6'],
    ['PORT', parsePortArg, '1.2.3.4.5.6'],
    ['PORT', parsePortArg, ''],
    ['PORT', parsePortArg, '1,2,3,4,5,6x'],
    ['PORT', parsePortArg, '1,2,3,4,5,0006'],
    ['PORT', parsePortArg, '1,,2,3,4,5,6'],
    ['PORT', parsePortArg, '1,2,3,4,5,6,'],
    ['PORT', parsePortArg, '1,2,3 4,5,6'],
    ['227', parsePasvReply, 'Entering Passive Mode'],
    ['227', parsePasvReply, 'Entering Passive Mode (1,2,3,4,5)'],
    ['227', parsePasvReply, 'Entering Passive Mode (999,1,1,1,1,1)'],
    ['227', parsePasvReply, 'Entering Passive Mode (1,2,3,4,0,0)'],
    ['227', parsePasvReply, 'Entering Passive Mode (1,2,3,4,5,6,7)'],
    ['EPRT', parseEprtArg, '|3|1.2.3.4|5|'],
    ['EPRT', parseEprtArg, '|1|::1|5|'],
    ['EPRT', parseEprtArg, '|2|1.2.3.4|5|'],
    ['EPRT', parseEprtArg, '|1|1.2.3.4|0|'],
    ['EPRT', parseEprtArg, '|1|1.2.3.4|65536|'],
    ['EPRT', parseEprtArg, '|1|1.2.3.4|5'],
    ['EPRT', parseEprtArg, '1|1.2.3.4|5|'],
    ['EPRT', parseEprtArg, '|1|1.2.3.256|5|'],
    ['EPRT', parseEprtArg, '|2|fe80::1%eth0|5|'],
    ['EPRT', parseEprtArg, '|2|::1::2|5|'],
    ['EPRT', parseEprtArg, '\x7f1\x7f1.2.3.4\x7f5\x7f'],
    ['EPRT', parseEprtArg, '|1|1.2.3.4|5|6|'],
    ['EPRT', parseEprtArg, ''],
    ['229', parseEpsvReply, 'Entering Extended Passive Mode (|||0|)'],
    ['229', parseEpsvReply, 'Entering Extended Passive Mode (|||65536|)'],
    ['229', parseEpsvReply, 'Entering Extended Passive Mode (||6446|)'],
    ['229', parseEpsvReply, 'Entering Extended Passive Mode (|||abc|)'],
    ['229', parseEpsvReply, 'Entering Extended Passive Mode'],
    ['LPRT', parseLprtArg, '4,4,1,2,3,4,2,0,0'],
    ['LPRT', parseLprtArg, '4,16,1,2,3,4,2,1,1'],
    ['LPRT', parseLprtArg, '6,4,1,2,3,4,2,1,1'],
    ['LPRT', parseLprtArg, '4,4,1,2,3,4,3,1,1,1'],
    ['LPRT', parseLprtArg, '4,4,1,2,3,256,2,1,1'],
    ['LPRT', parseLprtArg, '4,4,1,2,3,4,2,1'],
    ['228', parseLpsvReply, 'Entering Long Passive Mode'],
    ['228', parseLpsvReply, 'Entering Long Passive Mode (4,4,1,2,3,4)'],
  ];
  test.each(table)('%s %j', (_what, parse, input) => expect(parse(input)).toBeNull());

  test('PORT numbers may have white space around them, and leading zeros up to three digits', () => {
    expect(parsePortArg(' 10 ,\t0, 0 ,1,004 , 1\u00a0')).toEqual({ ip: '10.0.0.1', port: 1025 });
    expect(parsePasvReply('Entering Passive Mode (10, 0, 0, 1, 4, 1)')).toEqual({ ip: '10.0.0.1', port: 1025 });
  });

  test('random input never throws and anything accepted is in range', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const alphabet = '0123456789,|.:()abcdefABCDEF !#-';
    for (let i = 0; i < 20000; i++) {
      const len = Math.floor(rand() * 40);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rand() * alphabet.length)];
      for (const parse of [parsePortArg, parsePasvReply, parseEprtArg, parseLprtArg, parseLpsvReply]) {
        const hp = parse(s);
        if (hp) {
          expect(hp.port).toBeGreaterThanOrEqual(1);
          expect(hp.port).toBeLessThanOrEqual(65535);
          expect(canonicalIp(hp.ip)).toBe(hp.ip);
        }
      }
      const e = parseEpsvReply(s);
      if (e) expect(e.port >= 1 && e.port <= 65535).toBe(true);
    }
  });

  test('format refuses what it cannot write', () => {
    expect(() => formatPortArg({ ip: '10.0.0.1', port: 0 })).toThrow(RangeError);
    expect(() => formatEpsvReply(70000)).toThrow(RangeError);
    expect(() => formatEprtArg({ ip: 'not-an-ip', port: 21 })).toThrow(RangeError);
  });
});

import { describe, expect, test } from 'vitest';
import { looksLikeClientCommand, looksLikeFtpReply, looksLikeServerGreeting } from '../../src/ftp/detect.js';
import { controlStreams, fixtureExists, plainPart, splitAll, zeekLog } from './fixtures.js';
import { ReplyParser } from '../../src/ftp/replies.js';

const streams = controlStreams();

describe('FTP detection from first lines', () => {
  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))('$name: both first lines say FTP', ({ cs }) => {
    const serverFirst = splitAll(cs.s2c)[0]!.text;
    const clientFirst = splitAll(cs.c2s)[0]!.text;
    expect(looksLikeServerGreeting(serverFirst), serverFirst).toBe(true);
    expect(looksLikeClientCommand(clientFirst), clientFirst).toBe(true);
    // and never the other way round
    expect(looksLikeClientCommand(serverFirst)).toBe(false);
    expect(looksLikeServerGreeting(clientFirst)).toBe(false);
  });

  test.each(['220 ProFTPD Server ready.', '220-Welcome', '220', '220 Microsoft FTP Service'])('greeting: %j', (line) => {
    expect(looksLikeServerGreeting(line)).toBe(true);
  });

  test.each([
    '220 mail.example.com ESMTP Postfix', '220 mx.example.org SMTP ready', '220-smtp.example.net ESMTP Exim 4.96',
    '200 news.example.com NNTP Service Ready', '+OK POP3 server ready', '* OK [CAPABILITY IMAP4rev1] ready',
    'SSH-2.0-OpenSSH_9.2p1', 'HTTP/1.1 200 OK', '2200 nope', '', '\x16\x03\x01\x02\x00',
  ])('not a greeting: %j', (line) => expect(looksLikeServerGreeting(line)).toBe(false));

  test.each(['USER anonymous', 'user bob', 'AUTH TLS', 'FEAT', 'SYST', 'OPTS UTF8 ON', 'HOST ftp.example.com', 'CLNT lftp', 'EPSV', 'PASV'])(
    'client command: %j',
    (line) => expect(looksLikeClientCommand(line)).toBe(true),
  );

  test.each([
    'GET / HTTP/1.1', 'EHLO client.example.com', 'HELO x', 'a001 LOGIN bob secret', 'SSH-2.0-PuTTY', 'HELP', 'QUIT', 'NOOP',
    '', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 'CAPA',
  ])('not a client command on its own: %j', (line) => expect(looksLikeClientCommand(line)).toBe(false));

  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))(
    '$name: picked up mid-session, the first line of every server reply looks like an FTP reply, no command does',
    ({ cs }) => {
      const p = new ReplyParser();
      // Except the lines zeek's analyzer.log names as no reply ("non-numeric reply code").
      const notReplies = fixtureExists(cs.capture, 'zeek-analyzer.log')
        ? new Set(zeekLog(cs.capture, 'zeek-analyzer.log').map((r) => r.failure_data)) : new Set();
      for (const l of splitAll(plainPart(cs.s2c, 's2c'))) {
        if (!p.inReply) expect(looksLikeFtpReply(l.text), l.text).toBe(!notReplies.has(l.text));
        p.pushLine(l.text);
      }
      for (const l of splitAll(plainPart(cs.c2s, 'c2s'))) expect(looksLikeFtpReply(l.text), l.text).toBe(false);
    },
  );

  test.each(['', '999 nope', '220x', '+OK', ' 226 indented', '2', '22'])('not an FTP reply: %j', (line) => {
    expect(looksLikeFtpReply(line)).toBe(false);
  });
});

/** The diagnosis module's building blocks: private addresses, binary sniffing, server identity. */
import { describe, expect, it } from 'vitest';
import { isDiagnosis, isPrivateIp, serverKind } from '../../src/analysis/diagnosis.js';
import { looksBinary } from '../../src/ftp/transfer.js';
import type { Session } from '../../src/model/types.js';

describe('isPrivateIp', () => {
  it.each([
    ['10.0.0.5', true], ['172.16.0.1', true], ['172.31.255.255', true], ['172.32.0.1', false], ['192.168.1.10', true],
    ['100.64.0.1', true], ['100.128.0.1', false], ['169.254.1.1', true], ['198.51.100.7', false], ['203.0.113.99', false],
    ['fd00::1', true], ['fe80::1', true], ['2001:db8::1', false], ['::ffff:10.1.2.3', true],
  ])('%s → %s', (ip, want) => expect(isPrivateIp(ip)).toBe(want));
});

describe('looksBinary', () => {
  it('text with CR LF, tabs and UTF-8 is text', () => {
    expect(looksBinary(Buffer.from('a\tb\r\nc\u00e9\u2713\n'))).toBe(false);
  });
  it('a NUL byte makes it binary', () => {
    expect(looksBinary(Buffer.from([0x41, 0x00, 0x42]))).toBe(true);
  });
  it('many control bytes make it binary, a few do not', () => {
    expect(looksBinary(Buffer.from([1, 2, 3, 4, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46]))).toBe(true);
    expect(looksBinary(Buffer.from('x'.repeat(100) + '\x01'))).toBe(false);
  });
});

describe('serverKind and isDiagnosis', () => {
  const withGreeting = (text: string) => ({ greeting: { code: 220, text, frame: 1 } }) as unknown as Session;
  it('reads the server from its greeting', () => {
    expect(serverKind(withGreeting('(vsFTPd 3.0.3)'))).toBe('vsftpd');
    expect(serverKind(withGreeting('ProFTPD Server (lab) [198.51.100.7]'))).toBe('proftpd');
    expect(serverKind(withGreeting('---------- Welcome to Pure-FTPd [privsep] ----------'))).toBe('pure-ftpd');
    expect(serverKind(withGreeting('Microsoft FTP Service'))).toBe(null);
  });
  it('knows the diagnosis codes from the others', () => {
    expect(isDiagnosis('pasv-private-address')).toBe(true);
    expect(isDiagnosis('pasv-address-mismatch')).toBe(false);
    expect(isDiagnosis('no-such-code')).toBe(false);
  });
});

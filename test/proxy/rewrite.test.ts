/** The pure pieces: bounce checks, passive-reply targets, forward-mode user names, allow lists, option parsing. */
import { describe, expect, it } from 'vitest';
import {
  checkActiveTarget, parseActiveTarget, parsePassiveReply, formatClientPassiveReply, formatServerActiveCommand,
  serverPassiveVerb, parseHostPortOption, normalizeIp,
} from '../../src/proxy/rewrite.js';
import { parseAllowList } from '../../src/proxy/allow.js';
import { parsePortRange } from '../../src/proxy/ports.js';
import { parseSockaddr } from '../../src/proxy/original-dst.js';

describe('bounce protection', () => {
  const cases: { verb: 'PORT' | 'EPRT' | 'LPRT'; arg: string; peer: string; ok: boolean }[] = [
    // Arguments as real clients send them (curl, lftp, the captures in captures/public).
    { verb: 'PORT', arg: '172,23,0,3,174,127', peer: '172.23.0.3', ok: true },
    { verb: 'PORT', arg: '141,142,220,235,131,46', peer: '141.142.220.235', ok: true },
    { verb: 'PORT', arg: '141,142,220,235,131,46', peer: '::ffff:141.142.220.235', ok: true },
    { verb: 'PORT', arg: '10,0,0,5,0,21', peer: '10.0.0.5', ok: false },
    { verb: 'PORT', arg: '192,168,1,1,200,10', peer: '10.0.0.5', ok: false },
    { verb: 'EPRT', arg: '|1|127.0.0.1|49001|', peer: '127.0.0.1', ok: true },
    { verb: 'EPRT', arg: '|2|::1|49001|', peer: '::1', ok: true },
    { verb: 'EPRT', arg: '|2|::1|80|', peer: '::1', ok: false },
    { verb: 'EPRT', arg: '|1|127.0.0.2|49001|', peer: '127.0.0.1', ok: false },
    { verb: 'LPRT', arg: '4,4,127,0,0,1,2,195,80', peer: '127.0.0.1', ok: true },
  ];
  for (const tc of cases) {
    it(`${tc.verb} ${tc.arg} from ${tc.peer}: ${tc.ok ? 'allowed' : 'refused'}`, () => {
      const t = parseActiveTarget(tc.verb, tc.arg);
      expect(t).not.toBeNull();
      expect(checkActiveTarget(t!, tc.peer).ok).toBe(tc.ok);
    });
  }
  it('malformed arguments parse to null (the machine answers 501)', () => {
    for (const [verb, arg] of [['PORT', '1,2,3'], ['PORT', '300,1,1,1,1,1'], ['EPRT', '|3|x|1|'], ['PORT', null]] as const) {
      expect(parseActiveTarget(verb, arg)).toBeNull();
    }
  });
});

describe('passive replies', () => {
  it('connects to the control peer, and says when the server announced elsewhere (NAT)', () => {
    expect(parsePassiveReply('PASV', 'Entering Passive Mode (10,0,0,7,195,80).', '203.0.113.5'))
      .toEqual({ target: { ip: '203.0.113.5', port: 50000 }, announcedElsewhere: '10.0.0.7' });
    expect(parsePassiveReply('EPSV', 'Entering Extended Passive Mode (|||50001|)', '2001:db8::21'))
      .toEqual({ target: { ip: '2001:db8::21', port: 50001 }, announcedElsewhere: null });
    expect(parsePassiveReply('PASV', 'nonsense', '203.0.113.5')).toBeNull();
  });
  it('formats what the client sees; a 227 cannot carry IPv6', () => {
    expect(formatClientPassiveReply('PASV', { ip: '192.0.2.7', port: 50000 })).toBe('227 Entering Passive Mode (192,0,2,7,195,80).\r\n');
    expect(formatClientPassiveReply('EPSV', { ip: '::1', port: 50000 })).toBe('229 Entering Extended Passive Mode (|||50000|)\r\n');
    expect(formatClientPassiveReply('PASV', { ip: '::1', port: 50000 })).toBeNull();
  });
  it('picks the server-side verbs by family', () => {
    expect(serverPassiveVerb('PASV', '192.0.2.1')).toBe('PASV');
    expect(serverPassiveVerb('PORT', '192.0.2.1')).toBe('PASV');
    expect(serverPassiveVerb('PASV', '2001:db8::1')).toBe('EPSV');
    expect(serverPassiveVerb('EPRT', '192.0.2.1')).toBe('EPSV');
    expect(formatServerActiveCommand('PASV', { ip: '192.0.2.9', port: 40001 })).toBe('PORT 192,0,2,9,156,65\r\n');
    expect(formatServerActiveCommand('PASV', { ip: '::1', port: 40001 })).toBe('EPRT |2|::1|40001|\r\n');
  });
});

describe('allow list (forward mode)', () => {
  const allow = parseAllowList(['*.example.org', '192.0.2.0/24', '2001:db8::/32', 'ftp.gnu.org,10.1.2.3',
    'files.example.net:2121,2200-2299', '[2001:db8:ff::/48]:990', '198.51.100.7:*']);
  // [typed host, port, resolved address, allowed]
  const cases: [string, number, string, boolean][] = [
    ['ftp.example.org', 21, '203.0.113.1', true],
    ['example.org', 21, '203.0.113.1', false],
    ['evil.com', 21, '192.0.2.77', true],
    ['evil.com', 21, '::ffff:192.0.2.77', true],
    ['evil.com', 21, '2001:db8:1::5', true],
    ['ftp.gnu.org', 21, '209.51.188.20', true],
    ['x', 21, '10.1.2.3', true],
    ['x', 21, '10.1.2.4', false],
    ['FTP.EXAMPLE.ORG.', 21, '1.1.1.1', true],
    // Rules without a port allow 21 only.
    ['ftp.example.org', 25, '203.0.113.1', false],
    ['evil.com', 2121, '192.0.2.77', false],
    ['files.example.net', 2121, '203.0.113.9', true],
    ['files.example.net', 2250, '203.0.113.9', true],
    ['files.example.net', 21, '203.0.113.9', false],
    ['any.host', 990, '2001:db8:ff::1', true],
    ['any.host', 21, '2001:db8:ff::1', true], // also inside 2001:db8::/32, port 21
    ['198.51.100.7', 60000, '198.51.100.7', true],
    // A name rule does not let the name resolve to loopback, private or link-local addresses.
    ['evil.example.org', 21, '127.0.0.1', false],
    ['evil.example.org', 21, '10.9.9.9', false],
    ['evil.example.org', 21, '169.254.169.254', false],
    ['evil.example.org', 21, '::1', false],
    ['evil.example.org', 21, 'fe80::1', false],
    ['evil.example.org', 21, '::ffff:127.0.0.1', false],
    // An address rule says where may be reached, whatever the name.
    ['internal.example.org', 21, '10.1.2.3', true],
  ];
  for (const [host, port, ip, ok] of cases) {
    it(`${host}:${port} (${ip}): ${ok}`, () => expect(allow.check(host, port, ip).ok).toBe(ok));
  }
  it('--allow-resolved: a name rule may resolve only into those addresses', () => {
    const a = parseAllowList(['*.corp.test'], ['10.0.0.0/8', '127.0.0.1']);
    expect(a.check('ftp.corp.test', 21, '10.4.4.4').ok).toBe(true);
    expect(a.check('ftp.corp.test', 21, '127.0.0.1').ok).toBe(true);
    const v = a.check('ftp.corp.test', 21, '203.0.113.1');
    expect(v.ok).toBe(false);
    expect(!v.ok && v.reason).toMatch(/203\.0\.113\.1.*--allow-resolved/);
  });
  it('precheck refuses without a DNS lookup what no rule can allow', () => {
    const names = parseAllowList(['*.example.org']);
    expect(names.precheck('ftp.example.org', 21).ok).toBe(true);
    const port = names.precheck('ftp.example.org', 25);
    expect(!port.ok && port.reason).toMatch(/port 25 is not allowed for ftp\.example\.org/);
    expect(names.precheck('evil.com', 21).ok).toBe(false);
    // With an address rule for the port, any name may resolve into it: a lookup is needed.
    expect(parseAllowList(['10.0.0.0/8']).precheck('evil.com', 21).ok).toBe(true);
    expect(parseAllowList(['10.0.0.0/8']).precheck('evil.com', 25).ok).toBe(false);
    expect(parseAllowList(['127.0.0.1']).precheck('127.0.0.1', 25).ok).toBe(false);
  });
  it('empty means deny everything', () => expect(parseAllowList([]).check('localhost', 21, '127.0.0.1').ok).toBe(false));
  it('bad entries are refused with a message', () => {
    expect(() => parseAllowList(['10.0.0.0/33'])).toThrow(/CIDR/);
    expect(() => parseAllowList(['ho st'])).toThrow(/pattern/);
    expect(() => parseAllowList(['host:0'])).toThrow(/port list/);
    expect(() => parseAllowList(['host:21-x'])).toThrow(/port list/);
    expect(() => parseAllowList(['[2001:db8::/32'])).toThrow(/\]/);
    expect(() => parseAllowList([], ['example.org'])).toThrow(/--allow-resolved example\.org/);
  });
});

describe('options and addresses', () => {
  it('parses --listen/--upstream forms', () => {
    expect(parseHostPortOption('127.0.0.1:2121', 'x')).toEqual({ ip: '127.0.0.1', port: 2121 });
    expect(parseHostPortOption('[::1]:21', 'x')).toEqual({ ip: '::1', port: 21 });
    expect(parseHostPortOption('2121', '0.0.0.0')).toEqual({ ip: '0.0.0.0', port: 2121 });
    expect(parseHostPortOption('ftp.example.org:21', '')).toEqual({ ip: 'ftp.example.org', port: 21 });
    expect(parseHostPortOption('::1:21', 'x')).toBeNull();
    expect(parseHostPortOption('h:70000', 'x')).toBeNull();
  });
  it('parses --pasv-ports', () => {
    expect(parsePortRange('50000-50100')).toEqual({ from: 50000, to: 50100 });
    expect(parsePortRange('5-1')).toBeNull();
    expect(parsePortRange('0-10')).toBeNull();
  });
  it('normalizes IPv4-mapped addresses', () => {
    expect(normalizeIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
  });
  it('decodes struct sockaddr_in / sockaddr_in6 from SO_ORIGINAL_DST', () => {
    const v4 = Buffer.alloc(16);
    v4.writeUInt16LE(2, 0); v4.writeUInt16BE(21, 2); Buffer.from([192, 0, 2, 1]).copy(v4, 4);
    expect(parseSockaddr(v4)).toEqual({ ip: '192.0.2.1', port: 21 });
    const v6 = Buffer.alloc(28);
    v6.writeUInt16LE(10, 0); v6.writeUInt16BE(2121, 2);
    Buffer.from('20010db8000000000000000000000021', 'hex').copy(v6, 8);
    expect(parseSockaddr(v6)).toEqual({ ip: '2001:db8::21', port: 2121 });
  });
});

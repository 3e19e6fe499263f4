import { describe, expect, it } from 'vitest';
import {
  formatBytes, formatDuration, formatEndpoint, formatIsoTs, formatThroughput, normalizeIp, printable, roundTs, truncate,
} from '../../src/report/format.js';

describe('format helpers', () => {
  it.each([
    [0, '0 B'], [1023, '1023 B'], [1024, '1.00 KiB'], [1536, '1.50 KiB'], [16557, '16.2 KiB'], [5416666670, '5.04 GiB'],
  ])('formatBytes(%d) = %s', (n, s) => expect(formatBytes(n)).toBe(s));

  it.each([
    [0.00042, '420 µs'], [0.0123, '12.3 ms'], [4.2149, '4.21 s'], [185, '3m05s'], [7380, '2h03m'],
  ])('formatDuration(%d) = %s', (n, s) => expect(formatDuration(n)).toBe(s));

  it('throughput needs a duration', () => {
    expect(formatThroughput(1000, 0)).toBeNull();
    expect(formatThroughput(2048, 1)).toBe('2.00 KiB/s');
  });

  it.each([
    ['::ffff:10.1.2.3', '10.1.2.3'], ['::FFFF:192.168.0.1', '192.168.0.1'], ['2001:db8::1', '2001:db8::1'], ['10.0.0.1', '10.0.0.1'],
  ])('normalizeIp(%s) = %s', (a, b) => expect(normalizeIp(a)).toBe(b));

  it('brackets IPv6 endpoints', () => {
    expect(formatEndpoint({ ip: '2001:db8::1', port: 21 })).toBe('[2001:db8::1]:21');
    expect(formatEndpoint({ ip: '::ffff:10.0.0.1', port: 21 })).toBe('10.0.0.1:21');
  });

  it('rounds timestamps to microseconds', () => {
    expect(roundTs(1700000000.1234567)).toBe(1700000000.123457);
    expect(formatIsoTs(1700000000.000001)).toBe('2023-11-14T22:13:20.000001Z');
  });

  it('neutralizes terminal escapes in untrusted text', () => {
    expect(printable('a\x1b[2Jb\x00\r')).toBe('a\\e[2Jb\\x00\\x0d');
  });

  it('truncates with an ellipsis', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
  });
});

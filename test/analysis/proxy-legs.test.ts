/**
 * The comment that ties a server-facing leg of a proxy recording to its session: written by the
 * proxy, read back by the analysis; anything else (other tools' comments, a damaged one) is not a leg.
 */
import { describe, expect, it } from 'vitest';
import { parseProxyLegComment, proxyLegComment, type ProxyLeg } from '../../src/analysis/proxy-legs.js';

describe('proxy leg comments', () => {
  const legs: ProxyLeg[] = [
    { kind: 'control', client: { ip: '10.88.2.2', port: 40000 }, server: { ip: '10.88.2.1', port: 2121 } },
    { kind: 'data', client: { ip: 'fd88:2::2', port: 1 }, server: { ip: 'fd88:2::1', port: 65535 } },
    { kind: 'control', client: { ip: '127.0.0.1', port: 5 }, server: { ip: '127.0.0.1', port: 6 }, name: 'ftp.example.org' },
    { kind: 'data', client: { ip: '10.88.2.2', port: 40000 }, server: { ip: '10.88.2.1', port: 2121 }, serverDialled: true },
  ];
  it('round-trips kind, both endpoints (IPv4 and IPv6), a forward-mode name and who dialled an active-mode leg', () => {
    for (const leg of legs) expect(parseProxyLegComment(proxyLegComment(leg))).toEqual(leg);
    expect(proxyLegComment(legs[1]!)).toBe('ftpscope proxy: server-facing data leg of the session [fd88:2::2]:1 -> [fd88:2::1]:65535');
    expect(proxyLegComment(legs[3]!)).toBe('ftpscope proxy: server-facing data leg of the session 10.88.2.2:40000 -> 10.88.2.1:2121 (dialled by the server)');
    // The proxy dials unless the comment says otherwise (it is not written "false").
    expect(parseProxyLegComment(proxyLegComment({ ...legs[1]!, serverDialled: false }))).toEqual(legs[1]);
  });
  it('a name that is no host name is left out rather than written', () => {
    const leg: ProxyLeg = { ...legs[0]!, name: 'evil) (name x' };
    expect(proxyLegComment(leg)).not.toContain('name');
    expect(parseProxyLegComment(proxyLegComment(leg))).toEqual(legs[0]);
  });
  it('other comments, and damaged ones, are not legs', () => {
    for (const text of [
      'ftpscope proxy: Ethernet/IP/TCP headers synthesized by the proxy from socket data (not captured from the wire)',
      'ftpscope proxy: server-facing control leg of the session 10.0.0.1:0 -> 10.0.0.2:21',
      'ftpscope proxy: server-facing control leg of the session 10.0.0.1:70000 -> 10.0.0.2:21',
      'ftpscope proxy: server-facing ctrl leg of the session 10.0.0.1:1 -> 10.0.0.2:21',
      'ftpscope proxy: server-facing data leg of the session 999.0.0.1:1 -> 10.0.0.2:21',
      'ftpscope proxy: server-facing data leg of the session 10.0.0.1:1 -> 10.0.0.2:21 trailing',
      'packet 7',
    ]) expect(parseProxyLegComment(text), text).toBeNull();
  });
});

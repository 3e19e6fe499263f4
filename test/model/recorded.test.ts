import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { toReportJson } from '../../src/report/json.js';
import type { Analysis, DataConnection, Session } from '../../src/model/types.js';
import { expectValidReport } from '../helpers/validate-report.js';
import { loadBundledCaptures, type BundledCapture } from '../helpers/served-tree.js';

/**
 * The captures recorded by captures/record.sh, checked against captures/served/captures.json:
 * sizes and sha256 values there come from the served files and the clients' saved files.
 */

type ExpectedTransfer = BundledCapture['transfers'][number];

const catalog = loadBundledCaptures();

/** tshark's view of the control channel's TLS ClientHellos (the command that made the file is its first line). */
function tsharkHellos(file: string): { sni: string; version: string }[] {
  const path = `test/model/expected/${file}.client-hello.tsv`;
  return readFileSync(path, 'utf8').trim().split('\n').filter((l) => !l.startsWith('#')).slice(1).map((l) => {
    const [, sni, versions] = l.split('\t');
    return { sni, version: tlsVersionName(versions.split(',')[0]) };
  });
}

function tlsVersionName(hex: string): string {
  const names: Record<string, string> = { '0x0304': 'TLS 1.3', '0x0303': 'TLS 1.2', '0x0302': 'TLS 1.1', '0x0301': 'TLS 1.0' };
  return names[hex] ?? hex;
}

function codesOf(s: Session): string[] {
  return s.findings.map((f) => f.code);
}

const cache = new Map<string, Promise<Analysis>>();
function analysisOf(file: string): Promise<Analysis> {
  let p = cache.get(file);
  if (!p) cache.set(file, (p = analyzeFile(`captures/${file}`)));
  return p;
}

describe('recorded captures against captures.json', () => {
  for (const cap of catalog.captures) {
    describe(cap.file, () => {
      it('has one session per control connection, with user, login outcome and IP version', async () => {
        const a = await analysisOf(cap.file);
        expect(a.sessions).toHaveLength(cap.sessions.length);
        for (const es of cap.sessions) {
          const s = a.sessions[es.session - 1];
          expect(s.client.ip.includes(':') ? 6 : 4).toBe(es.ip);
          if (s.tls) {
            // AUTH TLS came before USER: the login is encrypted, nothing about it may be claimed.
            expect(s.user).toBeNull();
            expect(s.loggedIn).toBeNull();
            expect(codesOf(s)).not.toContain('cleartext-credentials');
            continue;
          }
          if (codesOf(s).includes('control-gap')) {
            // The capture lost control segments (tshark: "previous segment not captured"): the USER/PASS
            // exchange may be among them; the model must not invent it.
            expect([null, es.user]).toContain(s.user);
            continue;
          }
          expect(s.user, `session ${es.session}`).toBe(es.user);
          if (es.login === 'ok') {
            expect(s.loggedIn, `session ${es.session}`).toBe(true);
            expect(codesOf(s)).not.toContain('login-failed');
          } else {
            expect(s.loggedIn, `session ${es.session}`).toBe(false);
            expect(codesOf(s)).toContain('login-failed');
          }
          expect(s.closed).toBe(true);
        }
        // Three or more wrong passwords over separate connections are password guessing to a user.
        const failed = cap.sessions.filter((x) => x.login === 'failed').length;
        expect(a.findings.some((f) => f.code === 'login-repeated-failures')).toBe(failed >= 3);
      });

      it('pairs every data connection with its setup and transfer command; bytes and sha256 as the programs saw them', async () => {
        const a = await analysisOf(cap.file);
        expect(a.unpairedDataConnections.map((d) => `${d.client.ip}:${d.client.port} → ${d.server.ip}:${d.server.port} ${d.bytes} B (${d.guessedRole})`)).toEqual([]);
        for (const es of cap.sessions) {
          const s = a.sessions[es.session - 1];
          const want = cap.transfers.filter((t) => t.session === es.session);
          // Under TLS the setup and the command are encrypted: only the mode can be known.
          expect(s.dataConnections.map(label), `session ${es.session}`)
            .toEqual(want.map((t) => (t.tls ? `undefined null ${t.mode} null` : `${t.verb} ${t.path} ${t.mode} ${t.setup}`)));
          want.forEach((t, i) => checkTransfer(s, s.dataConnections[i], t));
        }
      });

      it('reports what a user must know: NAT announcements, refused data connections, TLS', async () => {
        const a = await analysisOf(cap.file);
        for (const t of cap.transfers.filter((x) => x.announced)) {
          const s = a.sessions[t.session - 1];
          const f = s.findings.find((x) => x.code === 'pasv-address-mismatch');
          expect(f, `session ${t.session}`).toBeDefined();
          expect(f!.message).toContain(t.announced);
          // The client connected to the control address instead (curl ignores the PASV address): said once per connection.
          // One finding per code, counting its occurrences.
          const fallback = s.findings.filter((x) => x.code === 'data-at-control-address');
          expect(fallback).toHaveLength(1);
          expect(fallback[0]!.count ?? 1).toBe(cap.transfers.filter((x) => x.session === t.session && x.announced).length);
        }
        for (const n of cap.expectedNoConnection ?? []) {
          const s = a.sessions[n.session - 1];
          const c = s.commands.find((x) => x.verb === n.verb && x.arg !== null && n.path.endsWith(x.arg));
          expect(c, `${n.verb} ${n.path}`).toBeDefined();
          expect(c!.replies.map((r) => r.code)).toContain(n.reply);
          expect(s.dataConnections.some((d) => d.command?.frame === c!.frame)).toBe(false);
          expect(s.findings.find((f) => f.code === 'data-connection-failed')!.message).toContain(n.announced);
          const setup = s.commands.filter((x) => x.verb === n.setup).pop();
          expect(setup, n.setup).toBeDefined();
          expect(codesOf(s)).toContain('port-address-mismatch');
          expect(s.findings.find((f) => f.code === 'port-address-mismatch')!.message).toContain(n.announced);
        }
        const tlsSessions = new Set(cap.transfers.filter((t) => t.tls).map((t) => t.session));
        a.sessions.forEach((s, i) => expect(s.tls, `session ${i + 1}`).toBe(tlsSessions.has(i + 1)));
        if (tlsSessions.size > 0) {
          const hellos = tsharkHellos(cap.file);
          const ours = [...tlsSessions].map((n) => a.sessions[n - 1].tlsInfo);
          // Only the first ClientHello of a control channel counts (a HelloRetryRequest makes the client send another).
          expect(ours).toEqual(hellos.slice(0, 1).map((h) => ({ sni: h.sni || null, version: h.version })));
        }
      });

      it('gives a schema-valid JSON report', async () => {
        expectValidReport(toReportJson(await analysisOf(cap.file)));
      });
    });
  }

  it('covers every capture record.sh made', () => {
    for (const cap of catalog.captures) expect(existsSync(`captures/${cap.file}`), cap.file).toBe(true);
  });
});

function label(d: DataConnection): string {
  return `${d.command?.verb} ${d.path} ${d.mode} ${d.setup}`;
}

function checkTransfer(s: Session, dc: DataConnection, t: ExpectedTransfer): void {
  const what = `session ${t.session} ${t.verb} ${t.path}`;
  if (t.tls) {
    expect(dc.complete, what).toBe(t.complete);
    expect(dc.closeReason, what).toBe('fin');
    expect(dc.bytes, what).toBeGreaterThan(t.fileBytes!); // ciphertext: the file plus TLS records
    expect(dc.sha256, what).toBeNull();
    expect(dc.guessedRole, what).toContain('TLS');
    return;
  }
  expect(dc.command, what).not.toBeNull();
  expect(dc.direction, what).toBe(t.verb === 'RETR' ? 'download' : t.verb === 'STOR' ? 'upload' : 'listing');
  // Attributed to the transfer command, which was sent after the setup.
  const cmd = s.commands.find((c) => c.frame === dc.command!.frame && c.verb === t.verb);
  expect(cmd, what).toBeDefined();
  expect(dc.setupFrame!, what).toBeLessThanOrEqual(dc.command!.frame!);
  expect(dc.complete, what).toBe(t.complete);
  if (t.bytes !== null) {
    expect(dc.bytes, what).toBe(t.bytes);
    expect(dc.sha256, what).toBe(t.sha256);
  } else {
    expect(dc.sha256, what).toBe(t.complete && !t.tls && !t.clientConvertedLineEnds ? expect.any(String) : dc.sha256);
  }
  if (!t.complete) {
    expect(dc.sha256, what).toBeNull();
    expect(dc.bytes, what).toBeGreaterThanOrEqual(t.clientBytes!);
    // Cut off: the peers say so (426, a reset), and that is a failed transfer, not a capture problem.
    const f = s.findings.find((x) => x.code === 'transfer-failed');
    expect(f, what).toBeDefined();
    expect(dc.outcome, what).toBe('failed');
  } else {
    expect(dc.finalReply?.code, what).toBe(226);
    expect(dc.missingBytes, what).toBe(0);
    expect(dc.gaps, what).toBe(0);
    expect(dc.outcome, what).toBe('ok');
  }
  // curl and lftp save listings with LF line ends; the wire carries CR LF: one more byte per line.
  if (t.clientConvertedLineEnds && t.clientBytes !== undefined) expect(dc.bytes, what).toBeGreaterThan(t.clientBytes);
  expect(dc.restOffset, what).toBe(t.rest ?? null);
  if (t.transferType === 'A') expect(dc.transferType, what).toBe('A');
  else if (t.verb !== 'LIST' && t.verb !== 'NLST') expect(dc.transferType, what).not.toBe('A');
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { reportSchemaErrors } from '../helpers/validate-report.js';

/**
 * The schema must accept exactly what docs/report-json.md describes. The accepted document is the
 * contract's own example (its jsonc block with the comments and alternatives resolved), read from
 * docs/, so the schema and the doc cannot drift apart silently.
 */
function contractExample(): Record<string, any> {
  const md = readFileSync(new URL('../../docs/report-json.md', import.meta.url), 'utf8');
  const block = /```jsonc\n([\s\S]*?)```/.exec(md)![1]!;
  const json = block
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\/\/[^\n]*/g, '')
    // "a" | "b" | null → the first alternative
    .replace(/("[^"\n]*"|-?[\d.]+|\[[^\]\n]*\]|null|true|false)(\s*\|\s*("[^"\n]*"|-?[\d.]+|\[[^\]\n]*\]|null|\{[^}\n]*\}))+/g, '$1')
    .replace(/(\})\s*\|\s*null/g, '$1')
    .replace(/\{\s*\.\.\.\s*\}/g, '{}')
    .replace(/\{\.\.\.\}/g, '{}')
    .replace(/, \.\.\. \}/g, ' }')
    .replace(/,(\s*[}\]])/g, '$1');
  return JSON.parse(json);
}

describe('schema/report.v1.json', () => {
  it('matches the key list of docs/report-json.md (the copy of the shared contract)', () => {
    const shared = '/work/shared/contract/report-json.md';
    const doc = readFileSync(new URL('../../docs/report-json.md', import.meta.url), 'utf8');
    let original: string | null = null;
    try { original = readFileSync(shared, 'utf8'); } catch { /* not on CI */ }
    if (original !== null) expect(doc).toBe(original);
  });

  it('accepts the contract example after filling its placeholders', () => {
    const ex = contractExample();
    // The example elides parts of objects; complete them the way the contract describes.
    const s = ex.sessions[0];
    const endpoint = { ip: '10.0.0.2', port: 40001 };
    s.client = { ip: '10.0.0.2', port: 40000 };
    s.server = { ip: '10.0.0.1', port: 21 };
    s.commands[0].replies[1] = { ...s.commands[0].replies[1], text: 'Transfer complete.', frame: 30, ts: 1700000000.95 };
    s.dataConnections[0].client = endpoint;
    s.dataConnections[0].server = { ip: '10.0.0.1', port: 50000 };
    s.dataConnections[0].sha256 = 'a'.repeat(64);
    expect(reportSchemaErrors(ex)).toEqual([]);
  });

  const base = (): Record<string, any> => ({
    version: 1, tool: { name: 'ftpscope', version: '0.1.0' },
    source: { type: 'pcap', name: 'x.pcap', packets: 1, bytes: 10, linkTypes: ['EN10MB'], truncated: false },
    sessions: [{
      id: 1, client: { ip: '10.0.0.2', port: 40000 }, server: { ip: '2001:db8::1', port: 21 },
      start: 1, end: 2, user: null, tls: false, handshake: { seen: false, rttMs: null, mss: null }, greeting: null,
      commands: [{ frame: 4, ts: 1.5, verb: 'PASS', arg: '****', cwd: null, replies: [] }],
      dataConnections: [{
        id: 1, client: { ip: '10.0.0.2', port: 40001 }, server: { ip: '10.0.0.1', port: 50000 }, mode: null,
        setup: null, setupFrame: null, command: null, direction: null, path: null, expectedBytes: null,
        bytes: 0, missingBytes: 0, start: 1, end: 2, complete: false, sha256: null,
      }],
      findings: [{ severity: 'warning', code: 'cleartext-credentials', message: 'm', frame: 4 }],
    }],
    unpairedDataConnections: [], findings: [],
  });

  const rejects: Array<[string, (r: Record<string, any>) => void]> = [
    ['version 2', (r) => { r.version = 2; }],
    ['a missing contract key', (r) => { delete r.sessions[0].greeting; }],
    ['an IPv4-mapped IPv6 address', (r) => { r.sessions[0].client.ip = '::ffff:10.0.0.2'; }],
    ['a lower-case verb', (r) => { r.sessions[0].commands[0].verb = 'pass'; }],
    ['a frame of 0', (r) => { r.sessions[0].commands[0].frame = 0; }],
    ['a sha256 on an incomplete transfer', (r) => { r.sessions[0].dataConnections[0].sha256 = 'a'.repeat(64); }],
    ['an unknown mode', (r) => { r.sessions[0].dataConnections[0].mode = 'extended'; }],
    ['an unknown severity', (r) => { r.sessions[0].findings[0].severity = 'fatal'; }],
    ['a port above 65535', (r) => { r.sessions[0].server.port = 70000; }],
    ['a string timestamp', (r) => { r.sessions[0].start = '2024-01-01'; }],
    ['a folded finding counting 1', (r) => { Object.assign(r.sessions[0].findings[0], { count: 1, frames: [4] }); }],
    ['a count without frames', (r) => { r.sessions[0].findings[0].count = 3; }],
    ['an unknown outcome', (r) => { r.sessions[0].dataConnections[0].outcome = 'partial'; }],
    ['cwdAnchored true', (r) => { r.sessions[0].commands[0].cwdAnchored = true; }],
    ['a malformed reply without text', (r) => { r.sessions[0].commands[0].malformedReplies = [{ frame: 5, ts: 1.6 }]; }],
  ];

  it('accepts the additions of issue 14 (docs/report-json-additions.md)', () => {
    const r = base();
    Object.assign(r.sessions[0].findings[0], { count: 3, frames: [4, 9, 12] });
    Object.assign(r.sessions[0].commands[0], { cwd: './pub', cwdAnchored: false, malformedReplies: [{ text: 'SYST not supported', frame: 5, ts: 1.6 }] });
    Object.assign(r.sessions[0].dataConnections[0], { outcome: 'failed', gaps: 2 });
    expect(reportSchemaErrors(r)).toEqual([]);
  });

  it('accepts a minimal valid report', () => {
    expect(reportSchemaErrors(base())).toEqual([]);
  });

  it.each(rejects)('rejects %s', (_name, mutate) => {
    const r = base();
    mutate(r);
    expect(reportSchemaErrors(r).length).toBeGreaterThan(0);
  });
});

// report --format ecs: every line is a JSON document that uses only fields of docs/ecs-template.json
// (whose mappings are "dynamic": "strict", so Elasticsearch/OpenSearch would refuse anything else),
// with values of the mapped types; the ECS fields are ECS's own names and allowed values.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { ECS_FIELDS, ecsTemplate } from '../../src/report/ecs.js';
import { ALL_CAPTURES, PUB } from './captures.js';

const CLI = 'dist/src/cli/main.js';
const template = JSON.parse(readFileSync('docs/ecs-template.json', 'utf8'));

/**
 * The ECS fields we write, each checked by hand against the ECS 8.x field reference
 * (generated/csv/fields.csv of github.com/elastic/ecs, 8.11/8.12): name and type.
 */
const ECS_REFERENCE: Record<string, string> = {
  '@timestamp': 'date', message: 'match_only_text', tags: 'keyword', 'ecs.version': 'keyword',
  'event.kind': 'keyword', 'event.category': 'keyword', 'event.type': 'keyword', 'event.action': 'keyword', 'event.outcome': 'keyword',
  'event.module': 'keyword', 'event.dataset': 'keyword', 'event.provider': 'keyword', 'event.code': 'keyword', 'event.severity': 'long',
  'event.reason': 'keyword', 'event.start': 'date', 'event.end': 'date', 'event.duration': 'long', 'event.sequence': 'long',
  'log.level': 'keyword',
  'source.ip': 'ip', 'source.port': 'long', 'source.bytes': 'long', 'destination.ip': 'ip', 'destination.port': 'long', 'destination.bytes': 'long',
  'client.ip': 'ip', 'client.port': 'long', 'client.bytes': 'long', 'server.ip': 'ip', 'server.port': 'long', 'server.bytes': 'long',
  'network.transport': 'keyword', 'network.protocol': 'keyword', 'network.type': 'keyword', 'network.iana_number': 'keyword', 'network.bytes': 'long',
  'user.name': 'keyword', 'related.ip': 'ip', 'related.user': 'keyword', 'related.hash': 'keyword',
  'url.original': 'wildcard', 'url.scheme': 'keyword', 'url.domain': 'keyword', 'url.path': 'wildcard',
  'file.name': 'keyword', 'file.path': 'keyword', 'file.directory': 'keyword', 'file.extension': 'keyword', 'file.size': 'long',
  'file.hash.sha256': 'keyword', 'tls.established': 'boolean',
};
/** ECS 8 maps these with Elasticsearch-only types (match_only_text, wildcard); the template uses text/keyword, which both engines have. */
const PORTABLE: Record<string, string> = { match_only_text: 'text', wildcard: 'keyword' };

/** ECS's allowed values for the categorization fields (event.kind, event.category and the event.type each category allows). */
const KINDS = ['alert', 'asset', 'enrichment', 'event', 'metric', 'state', 'pipeline_error', 'signal'];
const TYPES_BY_CATEGORY: Record<string, string[]> = {
  network: ['access', 'allowed', 'connection', 'denied', 'end', 'info', 'protocol', 'start'],
  file: ['access', 'change', 'creation', 'deletion', 'info'],
  authentication: ['start', 'end', 'info'],
};

function mapped(name: string): { type: string } | undefined {
  let node = template.template.mappings.properties;
  const parts = name.split('.');
  for (const p of parts.slice(0, -1)) node = node?.[p]?.properties;
  return node?.[parts[parts.length - 1]!];
}

/** Leaf fields of a document as dotted names (arrays are values). */
function leaves(doc: Record<string, unknown>, prefix = ''): Array<[string, unknown]> {
  return Object.entries(doc).flatMap(([k, v]) => (v && typeof v === 'object' && !Array.isArray(v)
    ? leaves(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]]));
}

function typeOk(type: string, v: unknown): boolean {
  const one = (x: unknown): boolean => {
    switch (type) {
      case 'keyword': case 'text': return typeof x === 'string';
      case 'long': return Number.isSafeInteger(x);
      case 'boolean': return typeof x === 'boolean';
      case 'ip': return typeof x === 'string' && isIP(x) !== 0;
      case 'date': return typeof x === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(x) && !Number.isNaN(Date.parse(x));
      default: return false;
    }
  };
  return Array.isArray(v) ? v.length > 0 && v.every(one) : one(v);
}

describe('docs/ecs-template.json', () => {
  it('is the template ECS_FIELDS describes (regenerate it from ecsTemplate() when a field is added)', () => {
    expect(template).toEqual(ecsTemplate());
    expect(template.template.mappings.dynamic).toBe('strict');
  });

  it('uses ECS\'s own names and types for every field outside ftpscope.*', () => {
    for (const [name, type] of Object.entries(ECS_FIELDS)) {
      if (name.startsWith('ftpscope.')) continue;
      expect(ECS_REFERENCE[name], `${name} is an ECS field`).toBeDefined();
      expect(type, name).toBe(PORTABLE[ECS_REFERENCE[name]!] ?? ECS_REFERENCE[name]);
    }
  });
});

describe('report --format ecs', () => {
  for (const capture of ALL_CAPTURES) {
    it(`${capture}: every line parses and uses only template fields, with their types and ECS's allowed values`, () => {
      const r = spawnSync('node', [CLI, 'report', join(PUB, capture), '--format', 'ecs'], { encoding: 'utf8', maxBuffer: 256 << 20 });
      expect(r.stderr).toBe('');
      const lines = r.stdout.split('\n').filter(Boolean);
      // The IRC capture (USER and PASS, but no FTP server) is no FTP session: no event at all.
      if (capture === 'suricata-verify/irc/input.pcap') expect(lines).toEqual([]);
      else expect(lines.length).toBeGreaterThan(0);
      const json = JSON.parse(spawnSync('node', [CLI, 'report', join(PUB, capture), '--json'], { encoding: 'utf8', maxBuffer: 256 << 20 }).stdout);
      const actions: Record<string, number> = {};
      for (const line of lines) {
        const doc = JSON.parse(line);
        for (const [name, value] of leaves(doc)) {
          const m = mapped(name);
          expect(m, `${name} is in the template`).toBeDefined();
          expect(typeOk(m!.type, value), `${name} = ${JSON.stringify(value)} is a ${m!.type}`).toBe(true);
        }
        expect(KINDS).toContain(doc.event.kind);
        for (const c of doc.event.category) {
          expect(Object.keys(TYPES_BY_CATEGORY)).toContain(c);
        }
        // each event.type is allowed by at least one of the document's categories
        for (const t of doc.event.type) expect(doc.event.category.some((c: string) => TYPES_BY_CATEGORY[c]!.includes(t)), `${t} in ${doc.event.category}`).toBe(true);
        expect(doc.ecs.version).toMatch(/^8\.\d+\.\d+$/);
        actions[doc.event.action] = (actions[doc.event.action] ?? 0) + 1;
        if (doc.event.action === 'ftp-command' && doc.ftpscope.command.verb === 'PASS' && doc.ftpscope.command.arg !== undefined) expect(doc.ftpscope.command.arg).toBe('****');
        if (doc.event.action === 'ftp-transfer' && doc.file?.hash) {
          const s = json.sessions.find((x: { id: number }) => x.id === doc.ftpscope.session.id);
          const dc = s.dataConnections.find((d: { id: number }) => `D${d.id}` === doc.ftpscope.transfer.id);
          expect(doc.file.hash.sha256).toBe(dc.sha256);
        }
      }
      // the same sessions, commands, data connections and findings as the JSON report
      type J = { commands: unknown[]; dataConnections: unknown[]; findings: unknown[] };
      const sessions = json.sessions as J[];
      expect(actions['ftp-session'] ?? 0).toBe(sessions.length);
      expect(actions['ftp-command'] ?? 0).toBe(sessions.reduce((n, s) => n + s.commands.length, 0));
      expect(actions['ftp-transfer'] ?? 0).toBe(sessions.reduce((n, s) => n + s.dataConnections.length, 0) + json.unpairedDataConnections.length);
      expect(actions['ftp-finding'] ?? 0).toBe(sessions.reduce((n, s) => n + s.findings.length, 0) + json.findings.length);
    }, 60_000);
  }

  it('a successful and a failed login, as authentication events (vsftpd-login-failed.pcap)', () => {
    const r = spawnSync('node', [CLI, 'report', 'captures/vsftpd-login-failed.pcap', '--format', 'ecs'], { encoding: 'utf8' });
    const pass = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((d) => d.ftpscope.command?.verb === 'PASS');
    expect(pass.length).toBeGreaterThan(1);
    for (const d of pass) expect(d.event.category).toContain('authentication');
    expect(new Set(pass.map((d) => d.event.outcome))).toEqual(new Set(['success', 'failure']));
    const shown = spawnSync('node', [CLI, 'report', 'captures/vsftpd-login-failed.pcap', '--format', 'ecs', '--show-passwords'], { encoding: 'utf8' }).stdout;
    expect(shown).toContain('not-the-password');
    expect(r.stdout).not.toContain('not-the-password');
  });

  it('-Y keeps the sessions the display filter matches, in zeek and ecs alike', () => {
    const cap = 'captures/vsftpd-login-failed.pcap';
    const all = spawnSync('node', [CLI, 'report', cap, '--format', 'ecs'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const failed = spawnSync('node', [CLI, 'report', cap, '--format', 'ecs', '-Y', 'ftp.response.code == 530'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const sessions = (docs: Array<{ event: { action: string }; ftpscope: { session?: { id: number } } }>) => docs.filter((d) => d.event.action === 'ftp-session').map((d) => d.ftpscope.session!.id);
    expect(sessions(failed).length).toBeGreaterThan(0);
    expect(sessions(failed).length).toBeLessThan(sessions(all).length);
    const zeek = spawnSync('node', [CLI, 'report', cap, '--format', 'zeek', '--zeek-log', 'ftp', '--zeek-commands', 'PASS', '-Y', 'ftp.response.code == 530'], { encoding: 'utf8' }).stdout;
    const codes = zeek.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t')[12]);
    expect(codes.length).toBe(sessions(failed).length);
    expect(new Set(codes)).toEqual(new Set(['530']));
  });
});

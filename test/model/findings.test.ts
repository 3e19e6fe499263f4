/**
 * Findings on the recorded captures, checked frame by frame against tshark's view of the same packets
 * (captures/expected/<capture>.tsv, written by captures/tshark-fields.sh): a finding must point at the
 * packet that shows the problem, and every such packet must have its finding.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { Analysis } from '../../src/model/types.js';

const catalog = JSON.parse(readFileSync('captures/served/captures.json', 'utf8')) as { captures: { file: string }[] };

type Row = Record<string, string>;

function tshark(file: string): Row[] {
  const [head, ...lines] = readFileSync(`captures/expected/${file}.tsv`, 'utf8').split('\n').filter((l) => l.length > 0);
  const cols = head.split('\t');
  return lines.map((l) => {
    const v = l.split('\t');
    return Object.fromEntries(cols.map((c, i) => [c, v[i] ?? '']));
  });
}

/** Every value of a field (tshark joins repeated occurrences with 0x1f). */
function values(r: Row, field: string): string[] {
  return r[field] ? r[field].split('\x1f') : [];
}

const isControl = (r: Row) => r['tcp.srcport'] === '21' || r['tcp.dstport'] === '21';
const clientPort = (r: Row) => (r['tcp.srcport'] === '21' ? r['tcp.dstport'] : r['tcp.srcport']);

/** Finding frames with a code, by the control connection's client port. */
function findingFrames(a: Analysis, code: string): string[] {
  // A code found more than once in a session is one finding whose `frames` lists the occurrences (up to 10).
  return a.sessions.flatMap((s) => s.findings.filter((f) => f.code === code)
    .flatMap((f) => (f.frames ?? [f.frame]).map((fr) => `${s.client.port}#${fr}`))).sort();
}

/** The first frame per control connection matching `pick`, as client-port#frame. */
function firstPer(rows: Row[], pick: (r: Row) => boolean): string[] {
  const seen = new Map<string, string>();
  for (const r of rows) if (isControl(r) && pick(r) && !seen.has(clientPort(r))) seen.set(clientPort(r), r['frame.number']);
  return [...seen].map(([p, f]) => `${p}#${f}`).sort();
}

function allOf(rows: Row[], pick: (r: Row) => boolean): string[] {
  return rows.filter((r) => isControl(r) && pick(r)).map((r) => `${clientPort(r)}#${r['frame.number']}`).sort();
}

/** The segment carrying AUTH's 234 reply and everything after it on that connection is TLS. */
function plainRows(rows: Row[]): Row[] {
  const tlsFrom = new Map<string, number>();
  for (const r of rows) if (isControl(r) && values(r, 'ftp.response.code').includes('234') && !tlsFrom.has(clientPort(r))) tlsFrom.set(clientPort(r), Number(r['frame.number']));
  return rows.filter((r) => !isControl(r) || !(Number(r['frame.number']) > (tlsFrom.get(clientPort(r)) ?? Infinity)));
}

function resetsBeforeClose(rows: Row[]): string[] {
  const fins = new Map<string, Set<string>>();
  const out = new Map<string, string>();
  for (const r of rows) {
    if (!isControl(r) || r['tcp.flags'] === '') continue;
    const flags = parseInt(r['tcp.flags'], 16);
    const port = clientPort(r);
    const f = fins.get(port) ?? new Set<string>();
    fins.set(port, f);
    if (flags & 0x04 && f.size < 2 && !out.has(port)) out.set(port, r['frame.number']);
    if (flags & 0x01) f.add(r['tcp.srcport']);
  }
  return [...out].map(([p, f]) => `${p}#${f}`).sort();
}

describe('findings point at the packets tshark shows', () => {
  for (const { file } of catalog.captures.filter((c) => existsSync(`captures/expected/${c.file}.tsv`))) {
    it(file, async () => {
      const a = await analyzeFile(`captures/${file}`);
      const rows = plainRows(tshark(file));
      const reply = (code: string) => (r: Row) => r['tcp.srcport'] === '21' && values(r, 'ftp.response.code').includes(code);
      // A password in clear text: the first PASS of each connection.
      expect(findingFrames(a, 'cleartext-credentials')).toEqual(firstPer(rows, (r) => values(r, 'ftp.request.command').includes('PASS')));
      // Every 530 is a failed login.
      expect(findingFrames(a, 'login-failed')).toEqual(allOf(rows, reply('530')));
      // Every 425 is a data connection the server could not open.
      expect(findingFrames(a, 'data-connection-failed')).toEqual(allOf(rows, reply('425')));
      // A 227 announcing another address than the packet's source.
      expect(findingFrames(a, 'pasv-address-mismatch')).toEqual(allOf(rows, (r) => {
        if (!reply('227')(r)) return false;
        const m = /\((\d+),(\d+),(\d+),(\d+),\d+,\d+\)/.exec(r['ftp.response.arg']);
        return m !== null && m.slice(1, 5).join('.') !== r['ip.src'];
      }));
      // A control connection reset: at its first RST, unless both sides had already sent FIN (then the RST
      // only answers bytes that arrived after the close: the connection had ended normally).
      expect(findingFrames(a, 'control-reset')).toEqual(resetsBeforeClose(tshark(file)));
    });
  }
});

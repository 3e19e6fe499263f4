import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractName, isInside, limitBytes, sanitizeComponent } from '../../src/report/extract.js';
import type { DataConnection, Session } from '../../src/model/types.js';

/** Hostile names a server or client can put in a RETR/STOR argument or a 257 reply. */
const HOSTILE = [
  '../../etc/passwd', '..', '.', '/', '/etc/shadow', '....//....//etc/passwd', '..\\..\\windows\\system32',
  'C:\\Windows\\win.ini', 'a\x00b/../../x', 'evil\nname\r', '\x1b[31mred\x1b[0m', '  ', '', '.hidden',
  'con', 'NUL.txt', 'x'.repeat(1000), 'é'.repeat(300), '日本語/ファイル.txt', 'a/./b/../../../../c', '~/.ssh/id_rsa',
  '%2e%2e%2f%2e%2e%2fetc', 'name.', 'trailing ', '\u202egnp.exe',
];

function dc(arg: string | null, pathStr: string | null, id = 1, direction: DataConnection['direction'] = 'download'): DataConnection {
  return {
    id, client: { ip: '10.0.0.2', port: 40001 }, server: { ip: '10.0.0.1', port: 50000 }, mode: 'passive', setup: 'PASV',
    setupFrame: 1, command: arg === null ? null : { verb: 'RETR', arg, frame: 2 }, direction, path: pathStr,
    expectedBytes: null, bytes: 0, missingBytes: 0, start: 0, end: 0, complete: true, sha256: null, restOffset: null,
    transferType: 'I', closeReason: 'fin', finalReply: null, guessedRole: null, tcp: null,
  };
}
const session = { id: 3 } as Session;

describe('sanitizeComponent', () => {
  it.each(HOSTILE)('makes %j one safe component', (raw) => {
    const s = sanitizeComponent(raw);
    expect(s.length).toBeGreaterThan(0);
    expect(s).not.toMatch(/[/\\\x00-\x1f\x7f]/);
    expect(s).not.toMatch(/^\./);
    expect(['.', '..']).not.toContain(s);
    expect(Buffer.byteLength(s)).toBeLessThanOrEqual(200);
  });
});

describe('extractName', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ftpscope-names-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(HOSTILE)('keeps %j inside the output directory, traceable to its session and data connection', (raw) => {
    for (const name of [extractName(session, dc(raw, raw)), extractName(session, dc(raw, null)), extractName(null, dc(raw, raw, 7))]) {
      expect(isInside(dir, name)).toBe(true);
      expect(path.dirname(path.join(dir, name))).toBe(dir);
      expect(name).toMatch(/^(s3-d1|u-d7)-/);
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(200);
    }
  });

  it('keeps the remote path readable', () => {
    expect(extractName(session, dc('robots.txt', '/pub/robots.txt'))).toBe('s3-d1-retr-pub_robots.txt');
    expect(extractName(session, { ...dc(null, '/pub', 2, 'listing'), command: { verb: 'LIST', arg: null, frame: 9 } }))
      .toBe('s3-d2-list-pub.txt');
    expect(extractName(null, dc(null, null, 4, null))).toBe('u-d4-data-40001-50000.bin');
  });
});

describe('isInside', () => {
  it.each([
    ['a', true], ['a/b', true], ['../a', false], ['/etc/passwd', false], ['.', false], ['', false], ['a/../../b', false],
  ])('%j → %s', (p, inside) => {
    expect(isInside('/tmp/out', p)).toBe(inside);
  });
});

describe('limitBytes', () => {
  it('cuts on a character boundary and keeps a short extension', () => {
    const cut = limitBytes('é'.repeat(200) + '.pdf', 101);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(101);
    expect(cut.endsWith('.pdf')).toBe(true);
    expect(cut).not.toContain('\ufffd');
  });
});

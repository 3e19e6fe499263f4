/**
 * The command line as users type it (the built CLI; `npm test` builds first): a mistyped command.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const IPV4 = 'captures/public/zeek/ipv4.pcap';

function run(args: string[], cwd = ROOT): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd, encoding: 'utf8', env: { ...process.env, FTPSCOPE_DEBUG: '' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A usage error: exit 2, nothing on stdout, one line on stderr and no stack. */
function expectUsageError(r: ReturnType<typeof run>): string {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  return lines[0];
}

let tmp = '';
beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
  tmp = mkdtempSync(join(tmpdir(), 'ftpscope-commands-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('ftpscope <word>: a command or a capture', () => {
  it('a word that is no command and no file is an unknown command, exit 2', () => {
    const line = expectUsageError(run(['bogus', 'file']));
    expect(line).toMatch(/^ftpscope: unknown command 'bogus'( |$)/);
    expect(line).not.toMatch(/too many arguments|for 'open'/);
    expect(expectUsageError(run(['bogus']))).toMatch(/^ftpscope: unknown command 'bogus'/);
  });

  it('a mistyped command gets commander\'s suggestion on the same line', () => {
    expect(expectUsageError(run(['flw', IPV4]))).toBe("ftpscope: unknown command 'flw' (did you mean flow?)");
  });

  it('a capture path as the first argument still opens it (the report, without a terminal)', () => {
    const r = run([IPV4]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Session 1 /m);
    expect(r.stdout).toContain('RETR robots.txt');
  });

  it('a path that does not exist is reported as a missing file, not as a command', () => {
    const line = expectUsageError(run(['nope.pcap']));
    expect(line).toMatch(/^ftpscope: nope\.pcap: no such file/);
  });

  it('a file named like a word is opened, not taken for a command', () => {
    writeFileSync(join(tmp, 'bogus'), 'not a capture\n');
    const line = expectUsageError(run(['bogus'], tmp));
    expect(line).not.toContain('unknown command');
    expect(line).toContain('bogus');
  });

  it('other usage errors are one line without commander\'s "error:"', () => {
    expect(expectUsageError(run(['report', IPV4, '--jsn']))).toBe("ftpscope: unknown option '--jsn' (did you mean --json?)");
  });
});

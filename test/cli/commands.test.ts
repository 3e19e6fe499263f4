/**
 * The command line as users type it (the built CLI; `npm test` builds first): a mistyped command,
 * the hint when a capture has no FTP session, and the narrowest flow diagram.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PcapngWriter } from '../../src/capture/pcapng-writer.js';
import { TCP_ACK, TCP_PSH, buildFrame } from '../../src/proxy/packets.js';

const ROOT = join(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const IPV4 = 'captures/public/zeek/ipv4.pcap';
const HINT = 'no FTP sessions found; if FTP runs on a port other than 21 and was not recognised, try --ftp-port N';

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
/** FTP on port 2121, captured mid-session: no greeting, and a first command (NOOP) that SMTP shares. */
let midSession = '';

async function writeMidSessionCapture(file: string): Promise<void> {
  const client = { ip: '10.0.0.1', port: 40000 };
  const server = { ip: '10.0.0.2', port: 2121 };
  const mac = (n: number): Buffer => Buffer.from([2, 0, 0, 0, 0, n]);
  const seq = { c: 1000, s: 5000 };
  const w = new PcapngWriter(file);
  const ifId = w.addInterface(1);
  let ts = 1_700_000_000;
  const send = (fromClient: boolean, line: string): void => {
    const payload = Buffer.from(line + '\r\n', 'latin1');
    const [src, dst] = fromClient ? [client, server] : [server, client];
    const frame = buildFrame({
      src, dst, seq: fromClient ? seq.c : seq.s, ack: fromClient ? seq.s : seq.c, flags: TCP_ACK | TCP_PSH,
      window: 65535, payload, ipId: 1, srcMac: mac(fromClient ? 1 : 2), dstMac: mac(fromClient ? 2 : 1),
    });
    if (fromClient) seq.c += payload.length; else seq.s += payload.length;
    w.writePacket(ifId, (ts += 0.01), frame);
  };
  send(true, 'NOOP');
  send(false, '200 NOOP ok.');
  send(true, 'PWD');
  send(false, '257 "/" is the current directory');
  send(true, 'TYPE I');
  send(false, '200 Switching to Binary mode.');
  await w.close();
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does it)`);
  tmp = mkdtempSync(join(tmpdir(), 'ftpscope-commands-'));
  midSession = join(tmp, 'mid-session-2121.pcapng');
  await writeMidSessionCapture(midSession);
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

describe('a capture without FTP sessions suggests --ftp-port', () => {
  it('report and flow say so, and --ftp-port finds the session the hint is about', () => {
    const report = run(['report', midSession]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout.split('\n')).toContain(HINT);
    const flow = run(['flow', midSession]);
    expect(flow.code, flow.stderr).toBe(0);
    expect(flow.stdout).toBe(`${midSession}: ${HINT}\n`);

    const named = run(['report', midSession, '--ftp-port', '2121']);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toMatch(/^1 FTP session,/m);
    expect(named.stdout).toContain('PWD');
    expect(named.stdout).not.toContain(HINT);
  });

  it('a capture with sessions does not show the hint', () => {
    expect(run(['report', IPV4]).stdout).not.toContain('no FTP sessions found');
  });
});

describe('flow --width', () => {
  it('refuses a width below 40 with a usage error', () => {
    expect(expectUsageError(run(['flow', IPV4, '--width', '20']))).toBe('ftpscope: --width must be at least 40 (got 20)');
    expect(expectUsageError(run(['flow', IPV4, '--width', '39']))).toBe('ftpscope: --width must be at least 40 (got 39)');
  });

  // Also catches the ladder's own minimum (MIN_WIDTH in src/report/ladder.ts) moving away from the CLI's.
  it('draws exactly as wide as asked at the minimum of 40', () => {
    const r = run(['flow', IPV4, '--width', '40']);
    expect(r.code, r.stderr).toBe(0);
    const widths = r.stdout.trimEnd().split('\n').map((l) => Array.from(l).length);
    expect(Math.max(...widths)).toBe(40);
  });
});

describe('a reader that closes standard output early (ftpscope … | head)', () => {
  /** Runs the CLI with its stdout read up to the first chunk, then closed, as `head -c1` does. */
  function closeAfterFirstChunk(args: string[]): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env: { ...process.env, FTPSCOPE_DEBUG: '' } });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
      child.stdout.once('data', () => child.stdout.destroy());
      child.on('close', (code) => resolve({ code, stderr }));
    });
  }

  it.each([
    ['report --help', ['report', '--help']],
    ['report of a capture', ['report', 'captures/tour.pcapng']],
  ])('%s: exit 0 and nothing on stderr', async (_name, args) => {
    const r = await closeAfterFirstChunk(args);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

/**
 * Real peers: ftp-srv (npm) as the server, basic-ftp (npm) as the client, talking through a relay that
 * records each direction's bytes exactly as TCP delivered them. Our parsers must see in those bytes what
 * the two implementations exchanged.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import ftpSrv from 'ftp-srv';
import { Client, type FTPResponse } from 'basic-ftp';
import { parseControlResponse as basicFtpParse } from 'basic-ftp/dist/parseControlResponse.js';
import { LineSplitter, type SplitLine } from '../../src/ftp/lines.js';
import { ReplyParser, parseFeatures, type ParsedReply } from '../../src/ftp/replies.js';
import { parseCommand, type ParsedCommand } from '../../src/ftp/commands.js';
import { parseEpsvReply, parsePasvReply } from '../../src/ftp/endpoints.js';
import { parseExpectedSize } from '../../src/ftp/reply-codes.js';

const quiet = { child: () => quiet, trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {} };

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Recording {
  c2s: Buffer[];
  s2c: Buffer[];
}

/** A TCP relay that records every chunk of each direction. */
async function startRelay(target: number, rec: Recording): Promise<{ port: number; server: Server }> {
  const server = createServer((client: Socket) => {
    const upstream = connect(target, '127.0.0.1');
    client.on('data', (d) => {
      rec.c2s.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d) => {
      rec.s2c.push(Buffer.from(d));
      client.write(d);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as AddressInfo).port, server };
}

function feed(chunks: Buffer[]): SplitLine[] {
  const s = new LineSplitter();
  const out = chunks.flatMap((c) => s.push(c));
  const last = s.flush();
  if (last) out.push(last);
  return out;
}

function replies(lines: SplitLine[]): ParsedReply[] {
  const p = new ReplyParser();
  const out: ParsedReply[] = [];
  for (const l of lines) {
    const r = p.pushLine(l.text);
    expect(r !== null && 'malformed' in r ? r : null).toBeNull();
    if (r && !('malformed' in r)) out.push(r);
  }
  return out;
}

const FILE = Buffer.from('ftpscope peer test: a file with known bytes\n'.repeat(100));
const UTF8_DIR = 'café-日本';

describe('ftp-srv and basic-ftp through a recording relay', () => {
  const rec: Recording = { c2s: [], s2c: [] };
  const answered: FTPResponse[] = [];
  let root = '';
  let ftp: InstanceType<typeof ftpSrv.FtpSrv>;
  let relay: Server;
  let downloaded = Buffer.alloc(0);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ftpscope-peers-'));
    writeFileSync(join(root, 'hello.txt'), FILE);
    const port = await freePort();
    ftp = new ftpSrv.FtpSrv({
      url: `ftp://127.0.0.1:${port}`,
      pasv_url: '127.0.0.1',
      pasv_min: 40000 + (port % 2000),
      pasv_max: 40000 + (port % 2000) + 50,
      anonymous: true,
      greeting: ['ftpscope peer test', '  an indented second line', 'third'],
      log: quiet as never,
    });
    ftp.on('login', (_data: unknown, resolve: (r: { root: string }) => void) => resolve({ root }));
    ftp.on('client-error', () => {});
    await ftp.listen();
    const r = await startRelay(port, rec);
    relay = r.server;

    const client = new Client(10_000);
    try {
      answered.push(await client.access({ host: '127.0.0.1', port: r.port, user: 'anonymous', password: 'guest@example.org' }));
      for (const cmd of ['SYST', 'FEAT', 'HELP', 'PWD', 'TYPE I', `MKD ${UTF8_DIR}`, 'SIZE hello.txt', 'STAT']) {
        answered.push(await client.send(cmd, true));
      }
      await client.list();
      const chunks: Buffer[] = [];
      await client.downloadTo(new Writable({ write(c, _e, cb) { chunks.push(Buffer.from(c)); cb(); } }), 'hello.txt');
      downloaded = Buffer.concat(chunks);
      answered.push(await client.send('NOOP'));
    } finally {
      client.close();
    }
    await new Promise((r) => setTimeout(r, 200));
  });

  afterAll(async () => {
    relay?.close();
    await ftp?.close().catch(() => {});
    if (root) rmSync(root, { recursive: true, force: true });
  });

  test('the transfer worked (the bytes we served came back)', () => {
    expect(createHash('sha256').update(downloaded).digest('hex')).toBe(createHash('sha256').update(FILE).digest('hex'));
  });

  test("every response basic-ftp handed back is one of our replies, in order, with the same lines", () => {
    const ours = replies(feed(rec.s2c));
    let at = 0;
    for (const a of answered) {
      while (at < ours.length && ours[at]!.lines.join('\n') !== a.message) at++;
      expect(at, `basic-ftp got ${a.code} ${JSON.stringify(a.message)}`).toBeLessThan(ours.length);
      expect(ours[at]!.code).toBe(a.code);
      at++;
    }
    expect(answered.length).toBeGreaterThanOrEqual(10);
  });

  test("our grouping equals basic-ftp's over the chunks as TCP delivered them", () => {
    const peer: string[] = [];
    let rest = '';
    for (const c of rec.s2c) {
      const r = basicFtpParse(rest + c.toString('utf8'));
      peer.push(...r.messages);
      rest = r.rest;
    }
    expect(replies(feed(rec.s2c)).map((r) => r.lines.filter((l) => l.trim() !== '').join('\n'))).toEqual(peer);
  });

  test('the multi-line greeting, FEAT and HELP come out whole', () => {
    const ours = replies(feed(rec.s2c));
    const greeting = ours[0]!;
    expect(greeting.code).toBe(220);
    expect(greeting.text.split('\n').slice(0, 3)).toEqual(['ftpscope peer test', '  an indented second line', 'third']);
    const feat = ours.find((r) => r.code === 211 && r.lines[0]!.includes('Extensions'))
      ?? ours.find((r) => r.code === 211 && parseFeatures(r).length > 0)!;
    expect(parseFeatures(feat)).toEqual(expect.arrayContaining(['SIZE', 'UTF8', 'AUTH TLS']));
    expect(ours.some((r) => r.code === 211 && r.lines.length > 3 && r.text.includes('Supported commands'))).toBe(true);
  });

  test('commands: every line the client sent parses, the UTF-8 argument included', () => {
    const cmds = feed(rec.c2s).map((l) => parseCommand(l.text));
    expect(cmds.every((c) => c !== null)).toBe(true);
    const verbs = (cmds as ParsedCommand[]).map((c) => c.verb);
    // ftp-srv lets anonymous in at USER (230), so basic-ftp sends no PASS.
    expect(verbs.indexOf('USER')).toBeGreaterThanOrEqual(0);
    for (const v of ['OPTS', 'SYST', 'FEAT', 'HELP', 'PWD', 'TYPE', 'MKD', 'SIZE', 'STAT', 'LIST', 'RETR', 'NOOP']) expect(verbs).toContain(v);
    expect((cmds as ParsedCommand[]).find((c) => c.verb === 'MKD')!.arg).toBe(UTF8_DIR);
  });

  test('UTF-8 path in the 257 reply decodes as UTF-8', () => {
    const mkd = replies(feed(rec.s2c)).find((r) => r.code === 257 && r.text.includes('caf'));
    expect(mkd?.text).toContain(UTF8_DIR);
  });

  test("the announced data port is in the server's passive range, and SIZE gives the file's length", () => {
    const ours = replies(feed(rec.s2c));
    const setup = ours.find((r) => r.code === 229 || r.code === 227)!;
    const port = setup.code === 229 ? parseEpsvReply(setup.text)?.port : parsePasvReply(setup.text)?.port;
    expect(port).toBeGreaterThanOrEqual(40000);
    const size = ours.find((r) => r.code === 213 && /^\d+$/.test(r.text));
    expect(Number(size?.text)).toBe(FILE.length);
    // ftp-srv announces no size in its 150 replies: nothing to find, nothing invented.
    const opening = ours.filter((r) => r.code === 150 || r.code === 125);
    expect(opening.length).toBeGreaterThanOrEqual(2);
    for (const r of opening) expect(parseExpectedSize(r.text), r.text).toBeNull();
  });
});

/**
 * The control-session state machine, driven by events (no sockets): real control conversations
 * extracted by tshark from public captures (fixtures/extract-control.sh) replayed through it,
 * split at every byte offset; then a playbook of the cases the captures do not contain.
 */
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessionMachine, type MachineCommand, type MachineOptions } from '../../src/proxy/session-machine.js';
import { parsePasvReply, parseEpsvReply } from '../../src/ftp/endpoints.js';
import type { DataMode } from '../../src/proxy/rewrite.js';

const here = path.dirname(fileURLToPath(import.meta.url));
type Chunk = [0 | 1, string];
const fixture = (name: string): Chunk[] => JSON.parse(fs.readFileSync(path.join(here, 'fixtures', name), 'utf8'));

const CLIENT_LISTENER = { ip: '198.51.100.1', base: 50000 };
const SERVER_LISTENER = { ip: '198.51.100.2', base: 40000 };

function machine(over: Partial<MachineOptions> = {}): SessionMachine {
  return new SessionMachine({
    mode: 'reverse', dataMode: 'client', tlsTerminate: false, clientIp: '192.0.2.10',
    maxLineLength: 8192, maxQueuedLines: 200, maxPendingCommands: 200, ...over,
  });
}

interface Replay { toServer: string; toClient: string; log: string[] }

/** Replays a conversation; data legs "listen" and "connect" at once, and finish before the client's next command. */
function replay(chunks: Chunk[], clientIp: string, serverIp: string, dataMode: DataMode, split: number | null): Replay {
  const m = machine({ clientIp, dataMode });
  const toServer: Buffer[] = [];
  const toClient: Buffer[] = [];
  const log: string[] = [];
  const open = new Set<number>();
  const handle = (cmds: MachineCommand[]): void => {
    for (const c of cmds) {
      switch (c.type) {
        case 'to-server': toServer.push(c.data); break;
        case 'to-client': toClient.push(c.data); break;
        case 'data-open': {
          log.push(`data-open ${c.id} client=${JSON.stringify(c.client)} server=${JSON.stringify(c.server)}`);
          open.add(c.id);
          if ('listen' in c.client) handle(m.dataListening(c.id, 'client', { ip: CLIENT_LISTENER.ip, port: CLIENT_LISTENER.base + c.id }));
          if ('listen' in c.server) handle(m.dataListening(c.id, 'server', { ip: SERVER_LISTENER.ip, port: SERVER_LISTENER.base + c.id }));
          handle(m.dataEstablished(c.id));
          break;
        }
        case 'data-cancel': log.push(`data-cancel ${c.id}`); open.delete(c.id); break;
        case 'finding': log.push(`finding ${c.finding.code}`); break;
        case 'close': log.push('close'); break;
        default: break;
      }
    }
  };
  handle(m.upstreamConnected(serverIp));
  let offset = 0;
  chunks.forEach(([dir, hex]) => {
    const bytes = Buffer.from(hex, 'hex');
    if (dir === 0) {
      for (const id of [...open]) { open.delete(id); handle(m.dataDone(id, null)); }
    }
    // `split` is an offset into the whole conversation: the chunk holding it is cut there.
    const at = split !== null && split >= offset && split < offset + bytes.length ? split - offset : -1;
    offset += bytes.length;
    const pieces = at > 0 ? [bytes.subarray(0, at), bytes.subarray(at)] : [bytes];
    for (const p of pieces) handle(dir === 0 ? m.clientBytes(p) : m.serverBytes(p));
  });
  for (const id of [...open]) handle(m.dataDone(id, null));
  return { toServer: Buffer.concat(toServer).toString('latin1'), toClient: Buffer.concat(toClient).toString('latin1'), log };
}

const lines = (s: string) => s.split('\r\n').filter((l) => l !== '');
const SETUP = /^(PORT|EPRT|LPRT|PASV|EPSV|LPSV)\b/i;
const SETUP_REPLY = /^(227|228|229|200 (PORT|EPRT|LPRT))/;

const conversations = [
  { name: 'zeek ipv4.pcap (PASV, PORT)', file: 'zeek-ipv4-control.json', client: '141.142.220.235', server: '199.233.217.249' },
  { name: 'zeek ipv6.pcap (EPSV)', file: 'zeek-ipv6-control.json', client: '2001:470:1f11:81f:c999:d94:aa7c:2e3e', server: '2001:470:4867:99::21' },
  { name: 'suricata-verify ftp-download-active (PORT)', file: 'suricata-active-control.json', client: '172.23.0.3', server: '172.23.0.2' },
];

describe('real control conversations through the state machine', () => {
  for (const conv of conversations) {
    // The recorded server answered the client's own setup commands, so only the mirroring mode replays faithfully.
    for (const dataMode of ['client'] as DataMode[]) {
      it(`${conv.name}, --data-mode ${dataMode}: everything but the data-channel setup passes byte for byte`, () => {
        const chunks = fixture(conv.file);
        const clientIn = chunks.filter((c) => c[0] === 0).map((c) => Buffer.from(c[1], 'hex').toString('latin1')).join('');
        const serverIn = chunks.filter((c) => c[0] === 1).map((c) => Buffer.from(c[1], 'hex').toString('latin1')).join('');
        const r = replay(chunks, conv.client, conv.server, dataMode, null);
        expect(lines(r.toServer).filter((l) => !SETUP.test(l))).toEqual(lines(clientIn).filter((l) => !SETUP.test(l)));
        expect(lines(r.toClient).filter((l) => !SETUP_REPLY.test(l))).toEqual(lines(serverIn).filter((l) => !SETUP_REPLY.test(l)));
        // Every setup the client made got one data relay, and passive replies announce the proxy's listener.
        const setups = lines(clientIn).filter((l) => SETUP.test(l));
        expect(r.log.filter((l) => l.startsWith('data-open'))).toHaveLength(setups.length);
        for (const l of lines(r.toClient)) {
          if (l.startsWith('227 ')) expect(parsePasvReply(l.slice(4))?.ip).toBe(CLIENT_LISTENER.ip);
          if (l.startsWith('229 ')) expect(parseEpsvReply(l.slice(4))?.port).toBeGreaterThan(CLIENT_LISTENER.base);
        }
        expect(r.log.filter((l) => l.startsWith('finding'))).toEqual([]);
      });
    }

    it(`${conv.name}: the same result with the conversation split at every byte offset`, () => {
      const chunks = fixture(conv.file);
      const whole = replay(chunks, conv.client, conv.server, 'client', null);
      const total = chunks.reduce((n, c) => n + c[1].length / 2, 0);
      for (let k = 1; k < total; k++) {
        const r = replay(chunks, conv.client, conv.server, 'client', k);
        if (r.toServer !== whole.toServer || r.toClient !== whole.toClient) {
          expect({ k, toServer: r.toServer, toClient: r.toClient }).toEqual({ k, toServer: whole.toServer, toClient: whole.toClient });
        }
      }
    });
  }

  it('the suricata PORT conversation from a NATed client address: every PORT refused as a bounce', () => {
    const r = replay(fixture('suricata-active-control.json'), '203.0.113.9', '172.23.0.2', 'client', null);
    expect(lines(r.toServer).filter((l) => SETUP.test(l))).toEqual([]);
    expect(r.log.filter((l) => l === 'finding proxy-bounce-refused')).toHaveLength(3);
    expect(lines(r.toClient).filter((l) => l.startsWith('501 PORT refused'))).toHaveLength(3);
  });
});

/** A playbook step: bytes from one side, or a data event; then what the client and server must have received. */
describe('playbook', () => {
  function run(m: SessionMachine, steps: ((m: SessionMachine) => MachineCommand[])[]): MachineCommand[] {
    return steps.flatMap((s) => s(m));
  }
  const client = (s: string) => (m: SessionMachine) => m.clientBytes(Buffer.from(s, 'latin1'));
  const server = (s: string) => (m: SessionMachine) => m.serverBytes(Buffer.from(s, 'latin1'));
  const sent = (cmds: MachineCommand[], type: 'to-client' | 'to-server') =>
    cmds.filter((c) => c.type === type).map((c) => (c as { data: Buffer }).data.toString('latin1')).join('');
  const ready = () => {
    const m = machine();
    m.upstreamConnected('192.0.2.1');
    m.serverBytes(Buffer.from('220 hi\r\n'));
    m.drain();
    return m;
  };

  it('holds the 226 until the relayed data connection is done', () => {
    const m = ready();
    const out = run(m, [client('PASV\r\n'), server('227 Entering Passive Mode (192,0,2,1,4,1).\r\n')]);
    expect(out.find((c) => c.type === 'data-open')).toMatchObject({ id: 1, client: { listen: true }, server: { connect: { ip: '192.0.2.1', port: 1025 } } });
    expect(sent(m.dataListening(1, 'client', { ip: '192.0.2.10', port: 50001 }), 'to-client')).toBe('227 Entering Passive Mode (192,0,2,10,195,81).\r\n');
    m.dataEstablished(1);
    expect(sent(run(m, [client('RETR x\r\n'), server('150 go\r\n226 done\r\n')]), 'to-client')).toBe('150 go\r\n');
    expect(sent(run(m, [client('NOOP\r\n'), server('200 ok\r\n')]), 'to-client')).toBe('');
    expect(sent(m.dataDone(1, null), 'to-client')).toBe('226 done\r\n200 ok\r\n');
  });

  it('answers locally in order: a refused PORT waits behind the pending TYPE reply', () => {
    const m = ready();
    const out = run(m, [client('TYPE I\r\nPORT 10,0,0,1,200,1\r\nNOOP\r\n')]);
    expect(sent(out, 'to-server')).toBe('TYPE I\r\nNOOP\r\n');
    expect(sent(out, 'to-client')).toBe('');
    expect(sent(run(m, [server('200 Type I\r\n200 NOOP\r\n')]), 'to-client'))
      .toBe('200 Type I\r\n501 PORT refused: target address 10.0.0.1 is not the client\'s address 192.0.2.10.\r\n200 NOOP\r\n');
  });

  it('EPSV ALL: forwarded, then PORT/PASV refused with 501 and EPSV still works', () => {
    const m = ready();
    expect(sent(run(m, [client('EPSV ALL\r\n')]), 'to-server')).toBe('EPSV ALL\r\n');
    expect(sent(run(m, [server('200 EPSV ALL ok\r\n'), client('PASV\r\nPORT 192,0,2,10,200,1\r\n')]), 'to-client'))
      .toBe('200 EPSV ALL ok\r\n501 PASV not allowed after EPSV ALL.\r\n501 PORT not allowed after EPSV ALL.\r\n');
    expect(sent(run(m, [client('EPSV\r\n')]), 'to-server')).toBe('EPSV\r\n');
  });

  it('LPSV/LPRT (RFC 1639) are rewritten like PASV/PORT', () => {
    const m = ready();
    const out = run(m, [client('LPRT 4,4,192,0,2,10,2,19,136\r\n')]);
    expect(out.find((c) => c.type === 'data-open')).toMatchObject({ client: { connect: { ip: '192.0.2.10', port: 5000 } }, server: { listen: true } });
    expect(sent(m.dataListening(1, 'server', { ip: '192.0.2.99', port: 40001 }), 'to-server')).toBe('LPRT 4,4,192,0,2,99,2,156,65\r\n');
    expect(sent(run(m, [server('200 LPRT ok\r\n')]), 'to-client')).toBe('200 LPRT command successful.\r\n');
  });

  it('commands sent while a listener opens are queued, then relayed in order', () => {
    const m = machine({ dataMode: 'active' });
    m.upstreamConnected('192.0.2.1');
    m.serverBytes(Buffer.from('220 hi\r\n'));
    const out = run(m, [client('PASV\r\nTYPE I\r\n')]);
    expect(sent(out, 'to-server')).toBe('');
    m.dataListening(1, 'client', { ip: '192.0.2.10', port: 50001 });
    expect(sent(m.dataListening(1, 'server', { ip: '192.0.2.99', port: 40001 }), 'to-server')).toBe('PORT 192,0,2,99,156,65\r\nTYPE I\r\n');
    expect(sent(run(m, [server('200 PORT ok\r\n200 TYPE ok\r\n')]), 'to-client')).toBe('227 Entering Passive Mode (192,0,2,10,195,81).\r\n200 TYPE ok\r\n');
  });

  it('ABOR after a Telnet Synch whose urgent DM was cut out reaches the server as IAC IP IAC DM ABOR', () => {
    const m = ready();
    const out = m.clientBytes(Buffer.from([0xff, 0xf4, 0xff, ...Buffer.from('ABOR\r\n')]));
    expect(sent(out, 'to-server')).toBe('\xff\xf4\xff\xf2ABOR\r\n');
  });

  it('an overlong command line is refused with 500 and reported, not forwarded', () => {
    const m = machine({ maxLineLength: 64 });
    m.upstreamConnected('192.0.2.1');
    m.serverBytes(Buffer.from('220 hi\r\n'));
    const out = run(m, [client('SITE ' + 'x'.repeat(200) + '\r\nNOOP\r\n')]);
    expect(sent(out, 'to-server')).toBe('NOOP\r\n');
    expect(out.filter((c) => c.type === 'finding').map((c) => (c as { finding: { code: string } }).finding.code)).toEqual(['proxy-line-too-long']);
  });

  it('the server closing releases held replies and closes', () => {
    const m = ready();
    run(m, [client('PASV\r\n'), server('227 (192,0,2,1,4,1)\r\n')]);
    m.dataListening(1, 'client', { ip: '192.0.2.10', port: 50001 });
    m.dataEstablished(1);
    run(m, [client('RETR x\r\n'), server('150 go\r\n426 broken\r\n')]);
    const out = m.serverClosed();
    expect(sent(out, 'to-client')).toBe('426 broken\r\n');
    expect(out.at(-1)).toMatchObject({ type: 'close' });
  });

  const forwardUsers: { arg: string; dest: object | null }[] = [
    { arg: 'anonymous@ftp.example.org', dest: { user: 'anonymous', host: 'ftp.example.org', port: 21 } },
    { arg: 'me@corp@ftp.example.org:2121', dest: { user: 'me@corp', host: 'ftp.example.org', port: 2121 } },
    { arg: 'u@[2001:db8::1]:21', dest: { user: 'u', host: '2001:db8::1', port: 21 } },
    { arg: 'u@2001:db8::1', dest: { user: 'u', host: '2001:db8::1', port: 21 } },
    { arg: 'u@host:0', dest: null },
    { arg: 'nohost', dest: null },
    { arg: 'u@', dest: null },
  ];
  for (const tc of forwardUsers) {
    it(`forward mode USER ${tc.arg}`, () => {
      const m = machine({ mode: 'forward' });
      const greet = sent(m.drain(), 'to-client');
      expect(greet).toMatch(/^220 /);
      const out = m.clientBytes(Buffer.from(`USER ${tc.arg}\r\n`));
      if (tc.dest) expect(out.find((c) => c.type === 'connect-upstream')).toMatchObject({ dest: tc.dest });
      else expect(sent(out, 'to-client')).toMatch(/^530 /);
    });
  }

  it('forward mode: greeting swallowed, real USER sent, a 230 answer relayed as is', () => {
    const m = machine({ mode: 'forward' });
    m.drain();
    m.clientBytes(Buffer.from('USER anonymous@127.0.0.1:2121\r\n'));
    m.upstreamConnected('192.0.2.1');
    expect(sent(m.serverBytes(Buffer.from('220 real server\r\n')), 'to-server')).toBe('USER anonymous\r\n');
    expect(sent(m.serverBytes(Buffer.from('230 no password needed\r\n')), 'to-client')).toBe('230 no password needed\r\n');
  });
});

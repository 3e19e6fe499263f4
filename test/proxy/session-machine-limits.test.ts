/**
 * The state machine's limits and upstream validation (issue 20), as playbooks: events in,
 * commands out, no sockets. Each conversation is also replayed split at every byte offset of
 * the side that carries the interesting bytes: the outcome must not depend on TCP's chunking.
 */
import { describe, expect, it } from 'vitest';
import { SessionMachine, GREETING_MAX_BYTES, type MachineCommand, type MachineOptions } from '../../src/proxy/session-machine.js';

function machine(over: Partial<MachineOptions> = {}): SessionMachine {
  return new SessionMachine({
    mode: 'reverse', dataMode: 'client', tlsTerminate: false, clientIp: '192.0.2.10',
    maxLineLength: 8192, maxQueuedLines: 200, maxPendingCommands: 200, maxInvalidCommands: 20, ...over,
  });
}

interface Outcome { toClient: string; toServer: string; findings: string[]; closed: boolean; dataOpens: number }

function collect(m: SessionMachine, steps: ((m: SessionMachine) => MachineCommand[])[]): Outcome {
  const o: Outcome = { toClient: '', toServer: '', findings: [], closed: false, dataOpens: 0 };
  for (const step of steps) {
    for (const c of step(m)) {
      if (c.type === 'to-client') o.toClient += c.data.toString('latin1');
      else if (c.type === 'to-server') o.toServer += c.data.toString('latin1');
      else if (c.type === 'finding') o.findings.push(c.finding.code);
      else if (c.type === 'close') o.closed = true;
      else if (c.type === 'data-open') o.dataOpens++;
    }
  }
  return o;
}

/** The same conversation with `bytes` (one side's) cut at `at`. */
function cut(bytes: Buffer, at: number | null): Buffer[] {
  return at === null || at <= 0 || at >= bytes.length ? [bytes] : [bytes.subarray(0, at), bytes.subarray(at)];
}

/** Replays for every split offset and checks each equals the unsplit outcome. */
function everyOffset(bytes: Buffer, run: (pieces: Buffer[]) => Outcome): Outcome {
  const whole = run([bytes]);
  for (let k = 1; k < bytes.length; k++) {
    const r = run(cut(bytes, k));
    if (JSON.stringify(r) !== JSON.stringify(whole)) expect({ k, ...r }).toEqual({ k, ...whole });
  }
  return whole;
}

const lines = (s: string) => s.split('\r\n').filter((l) => l !== '');
const greeted = (m: SessionMachine) => [...m.upstreamConnected('198.51.100.2'), ...m.serverBytes(Buffer.from('220 hello\r\n'))];

describe('client limits', () => {
  it('invalid lines: 20 answered with 500, the 21st closes with 421 and one finding; nothing reaches the server', () => {
    const flood = Buffer.from('X\r\n'.repeat(30) + 'NOOP\r\n');
    const o = everyOffset(flood, (pieces) => collect(machine(), [greeted, ...pieces.map((p) => (m: SessionMachine) => m.clientBytes(p))]));
    const replies = lines(o.toClient);
    expect(replies[0]).toBe('220 hello');
    expect(replies.slice(1, 21).every((l) => l.startsWith('500 '))).toBe(true);
    expect(replies[21]).toMatch(/^421 Too many invalid commands \(20\)/);
    expect(replies).toHaveLength(22);
    expect(o.findings).toEqual(['proxy-invalid-commands']);
    expect(o.closed).toBe(true);
    expect(o.toServer).toBe('');
  });

  it('overlong lines count as invalid too', () => {
    const m = machine({ maxLineLength: 64, maxInvalidCommands: 2 });
    const o = collect(m, [greeted, (x) => x.clientBytes(Buffer.from(('A'.repeat(100) + '\r\n').repeat(3)))]);
    expect(lines(o.toClient).slice(1).map((l) => l.slice(0, 3))).toEqual(['500', '500', '421']);
    expect(o.findings.filter((f) => f === 'proxy-invalid-commands')).toHaveLength(1);
  });

  it('commands the server answers 500 count against the same limit', () => {
    const m = machine({ maxInvalidCommands: 2 });
    const o = collect(m, [greeted,
      (x) => x.clientBytes(Buffer.from('FOO\r\n')), (x) => x.serverBytes(Buffer.from('500 Unknown command.\r\n')),
      (x) => x.clientBytes(Buffer.from('BAR\r\n')), (x) => x.serverBytes(Buffer.from('500 Unknown command.\r\n')),
      (x) => x.clientBytes(Buffer.from('BAZ\r\n')), (x) => x.serverBytes(Buffer.from('500 Unknown command.\r\n')),
    ]);
    expect(lines(o.toClient).map((l) => l.slice(0, 3))).toEqual(['220', '500', '500', '500', '421']);
    expect(o.closed).toBe(true);
  });

  it('10,000 pipelined NOOPs: one flood finding and one 421, whatever the chunking', () => {
    const flood = Buffer.from('NOOP\r\n'.repeat(10_000));
    for (const at of [null, 6, 1199, 1200, 1201, 30_001]) {
      const m = machine();
      const o = collect(m, [greeted, ...cut(flood, at).map((p) => (x: SessionMachine) => x.clientBytes(p))]);
      expect(o.findings).toEqual(['proxy-command-flood']);
      expect(lines(o.toClient).filter((l) => l.startsWith('421'))).toHaveLength(1);
      // What was relayed is bounded by the pending limit.
      expect(lines(o.toServer).length).toBeLessThanOrEqual(200);
    }
  });

  it('lines queued while the upstream connects are bounded in bytes as well as in number', () => {
    const m = machine({ maxQueuedBytes: 1024 });
    const o = collect(m, [(x) => x.clientBytes(Buffer.from(('NOOP ' + 'a'.repeat(200) + '\r\n').repeat(10)))]);
    expect(o.findings).toEqual(['proxy-command-flood']);
    expect(o.closed).toBe(true);
  });

  it('login: the timer is moot once USER/PASS got 230; before that, loginTimeout closes with 421', () => {
    const m = machine();
    collect(m, [greeted, (x) => x.clientBytes(Buffer.from('USER anonymous\r\n')), (x) => x.serverBytes(Buffer.from('331 Password.\r\n'))]);
    expect(m.loggedIn).toBe(false);
    collect(m, [(x) => x.clientBytes(Buffer.from('PASS x\r\n')), (x) => x.serverBytes(Buffer.from('230 Logged in.\r\n'))]);
    expect(m.loggedIn).toBe(true);
    expect(collect(m, [(x) => x.loginTimeout(30)]).toClient).toBe('');

    const late = machine();
    const o = collect(late, [greeted, (x) => x.clientBytes(Buffer.from('USER anonymous\r\n')), (x) => x.serverBytes(Buffer.from('530 No.\r\n')), (x) => x.loginTimeout(30)]);
    expect(lines(o.toClient).at(-1)).toMatch(/^421 Login timeout \(30 s\)/);
    expect(o.findings).toEqual(['proxy-login-timeout']);
    expect(o.closed).toBe(true);
  });
});

describe('the upstream is validated', () => {
  const connected = (m: SessionMachine) => m.upstreamConnected('198.51.100.2');

  it('a greeting that is not an FTP reply is not relayed: 421 and a finding', () => {
    const junk = Buffer.from('SSH-2.0-OpenSSH_9.2\r\n');
    const o = everyOffset(junk, (pieces) => collect(machine(), [connected, ...pieces.map((p) => (m: SessionMachine) => m.serverBytes(p))]));
    expect(o.toClient).toMatch(/^421 Service not available: the server's greeting is not valid FTP\.\r\n$/);
    expect(o.findings).toEqual(['proxy-upstream-greeting']);
    expect(o.closed).toBe(true);
  });

  it('a multi-line greeting within the limits is relayed whole; one over 100 lines is refused', () => {
    const ok = Buffer.from('220-Welcome\r\n' + ' line\r\n'.repeat(50) + '220 ready\r\n');
    const o = everyOffset(ok, (pieces) => collect(machine(), [connected, ...pieces.map((p) => (m: SessionMachine) => m.serverBytes(p))]));
    expect(o.toClient).toBe(ok.toString('latin1'));
    expect(o.findings).toEqual([]);
    const long = Buffer.from('220-Welcome\r\n' + ' line\r\n'.repeat(150) + '220 ready\r\n');
    const r = collect(machine(), [connected, (m) => m.serverBytes(long)]);
    expect(r.toClient).toMatch(/^421 /);
    expect(r.findings).toEqual(['proxy-upstream-greeting']);
  });

  it(`more than ${GREETING_MAX_BYTES} bytes without a complete greeting is refused, nothing of it relayed`, () => {
    const big = Buffer.concat([Buffer.from('220-'), Buffer.alloc(GREETING_MAX_BYTES + 10, 0x41)]);
    for (const at of [null, 1, 4, 8192, GREETING_MAX_BYTES]) {
      const o = collect(machine(), [connected, ...cut(big, at).map((p) => (m: SessionMachine) => m.serverBytes(p))]);
      expect(o.toClient).toMatch(/^421 [^\r\n]*\r\n$/);
      expect(o.findings).toEqual(['proxy-upstream-greeting']);
    }
  });

  it('no greeting in time: greetingTimeout closes with 421 and the reason; after the greeting it does nothing', () => {
    const o = collect(machine(), [connected, (m) => m.greetingTimeout(20)]);
    expect(o.toClient).toMatch(/^421 .*no greeting within 20 s/);
    expect(o.findings).toEqual(['proxy-upstream-greeting']);
    const after = machine();
    collect(after, [greeted]);
    expect(collect(after, [(m) => m.greetingTimeout(20)]).toClient).toBe('');
  });

  const passive: { name: string; reply: string; over?: Partial<MachineOptions>; code: string; finding: string | null; opens: number }[] = [
    { name: '227 with a byte above 255', reply: '227 Entering Passive Mode (999,1,1,1,1,1).\r\n', code: '425', finding: 'proxy-bad-passive-reply', opens: 0 },
    { name: '227 announcing port 0', reply: '227 Entering Passive Mode (198,51,100,2,0,0).\r\n', code: '425', finding: 'proxy-bad-passive-reply', opens: 0 },
    { name: '227 with no numbers', reply: '227 Entering Passive Mode.\r\n', code: '425', finding: 'proxy-bad-passive-reply', opens: 0 },
    { name: '227 announcing port 25', reply: '227 Entering Passive Mode (198,51,100,2,0,25).\r\n', code: '425', finding: 'proxy-upstream-data-refused', opens: 0 },
    { name: '227 announcing port 25 with --allow-low-data-ports', reply: '227 Entering Passive Mode (198,51,100,2,0,25).\r\n', over: { allowLowDataPorts: true }, code: '227', finding: null, opens: 1 },
    { name: 'a valid 227', reply: '227 Entering Passive Mode (198,51,100,2,195,80).\r\n', code: '227', finding: null, opens: 1 },
  ];
  for (const tc of passive) {
    it(`${tc.name}: the client gets ${tc.code}`, () => {
      const reply = Buffer.from(tc.reply);
      const o = everyOffset(reply, (pieces) => {
        const m = machine(tc.over);
        return collect(m, [greeted, (x) => x.clientBytes(Buffer.from('PASV\r\n')), ...pieces.map((p) => (x: SessionMachine) => x.serverBytes(p)),
          // The relay's listener for the client, when one was asked for.
          (x) => x.dataListening(1, 'client', { ip: '192.0.2.1', port: 50001 })]);
      });
      const replies = lines(o.toClient);
      expect(replies[1]!.slice(0, 3)).toBe(tc.code);
      expect(replies[1]).not.toContain('999');
      expect(o.findings).toEqual(tc.finding ? [tc.finding] : []);
      expect(o.dataOpens).toBe(tc.opens);
    });
  }

  it('a 229 announcing port 21 is refused like a 227', () => {
    const o = collect(machine(), [greeted, (x) => x.clientBytes(Buffer.from('EPSV\r\n')), (x) => x.serverBytes(Buffer.from('229 Entering Extended Passive Mode (|||21|)\r\n'))]);
    expect(lines(o.toClient)[1]).toMatch(/^425 .*privileged port 21/);
    expect(o.dataOpens).toBe(0);
  });

  it('a transfer whose relay failed gets 426, even when the server says 226', () => {
    const m = machine();
    const o = collect(m, [greeted, (x) => x.clientBytes(Buffer.from('PASV\r\n')),
      (x) => x.serverBytes(Buffer.from('227 Entering Passive Mode (198,51,100,2,195,80).\r\n')),
      (x) => x.dataListening(1, 'client', { ip: '192.0.2.1', port: 50001 }),
      (x) => x.dataEstablished(1),
      (x) => x.clientBytes(Buffer.from('RETR f\r\n')), (x) => x.serverBytes(Buffer.from('150 Opening.\r\n')),
      (x) => x.dataDone(1, 'client data TLS: the peer closed the connection during the TLS handshake'),
      (x) => x.serverBytes(Buffer.from('226 Transfer complete.\r\n')),
      (x) => x.clientBytes(Buffer.from('NOOP\r\n')), (x) => x.serverBytes(Buffer.from('200 NOOP ok.\r\n'))]);
    expect(lines(o.toClient).map((l) => l.slice(0, 3))).toEqual(['220', '227', '150', '426', '200']);
    expect(o.findings).toEqual(['proxy-data-failed']);
  });
});

describe('the server goes away', () => {
  it('a command left unanswered gets 421 before the close; a QUIT does not', () => {
    const o = collect(machine(), [greeted, (x) => x.clientBytes(Buffer.from('RETR f\r\n')), (x) => x.serverBytes(Buffer.from('150 Opening.\r\n')), (x) => x.serverClosed()]);
    expect(lines(o.toClient)).toEqual(['220 hello', '150 Opening.', '421 Service not available: the server closed the control connection without answering.']);
    expect(o.closed).toBe(true);
    const q = collect(machine(), [greeted, (x) => x.clientBytes(Buffer.from('QUIT\r\n')), (x) => x.serverClosed()]);
    expect(lines(q.toClient)).toEqual(['220 hello']);
  });
});

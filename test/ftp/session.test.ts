/**
 * FtpSession driven by real control streams (test/ftp/fixtures, made by make-fixtures.sh from the
 * public and recorded captures): the commands and reply codes it reads are tshark's, and feeding
 * the same bytes cut at any offset gives the same model. The hostile cases edit real streams.
 */
import { describe, expect, it } from 'vitest';
import { FtpSession, type SessionEffect } from '../../src/ftp/session.js';
import type { FtpReply, Session } from '../../src/model/types.js';
import { controlStreams, fixtureText, framesAt, plainPart, type ControlStream } from './fixtures.js';

interface Chunk {
  dir: 0 | 1;
  frame: number;
  bytes: Buffer;
}

/** A fresh session model as the analyzer makes one (client/server from the fixture's ports). */
function newSession(clientIp = '10.0.0.2', serverIp = '10.0.0.1'): Session {
  return {
    id: 1, client: { ip: clientIp, port: 40000 }, server: { ip: serverIp, port: 21 }, start: 0, end: 0,
    user: null, loggedIn: null, tls: false, tlsInfo: null, handshake: { seen: true, rttMs: null, mss: null },
    greeting: null, commands: [], unsolicitedReplies: [], dataConnections: [], findings: [], controlBytes: [0, 0],
    closed: false, packets: null, tcp: null,
  };
}

/** Each frame's new payload, in frame order (retransmitted bytes skipped, as a reassembler would). */
function chunksOf(cs: ControlStream): Chunk[] {
  const out: Chunk[] = [];
  for (const [dir, name] of [[0, 'c2s'], [1, 's2c']] as const) {
    const stream = dir === 0 ? cs.c2s : cs.s2c;
    let next = 0;
    for (const { offset, frame } of framesAt(cs, name).sort((a, b) => a.offset - b.offset || num(a.frame['frame.number']) - num(b.frame['frame.number']))) {
      const end = Math.min(offset + num(frame['tcp.len']), stream.length);
      if (end <= next) continue;
      out.push({ dir, frame: num(frame['frame.number']), bytes: stream.subarray(Math.max(offset, next), end) });
      next = end;
    }
  }
  return out.sort((a, b) => a.frame - b.frame);
}

function num(v: string[] | undefined): number {
  return Number(v?.[0] ?? 0);
}

/** Feed chunks (ts = frame number, so order is visible) and end the session. */
const playAs = (chunks: Chunk[], model: Session) => play(chunks, model);
function play(chunks: Chunk[], model = newSession()): { model: Session; effects: SessionEffect[] } {
  const m = new FtpSession(model);
  const effects: SessionEffect[] = [];
  for (const c of chunks) effects.push(...m.push(c.dir, c.bytes, c.frame, c.frame));
  effects.push(...m.end(chunks.length > 0 ? chunks[chunks.length - 1].frame : 0, null));
  return { model, effects };
}

/** The chunks with the one holding byte `at` of direction `dir` cut in two there. */
function splitAt(chunks: Chunk[], dir: 0 | 1, at: number): Chunk[] {
  const out: Chunk[] = [];
  let pos = 0;
  for (const c of chunks) {
    if (c.dir === dir && at > pos && at < pos + c.bytes.length) {
      out.push({ ...c, bytes: c.bytes.subarray(0, at - pos) }, { ...c, bytes: c.bytes.subarray(at - pos) });
    } else {
      out.push(c);
    }
    if (c.dir === dir) pos += c.bytes.length;
  }
  return out;
}

/** What a reader of the model sees (no TCP object), for comparisons. */
function view(s: Session): unknown {
  return JSON.parse(JSON.stringify({ ...s, tcp: null }));
}

/** Streams whose bytes tshark reassembled completely (a capture that lost control bytes is not a playbook). */
function completeStreams(): ControlStream[] {
  return controlStreams().filter((cs) => {
    const ok = (name: 'c2s' | 's2c', bytes: Buffer) => {
      let next = 0;
      for (const { offset, frame } of framesAt(cs, name).sort((a, b) => a.offset - b.offset)) {
        if (offset > next) return false;
        next = Math.max(next, offset + Number(frame['tcp.len']![0]));
      }
      return next === bytes.length;
    };
    return ok('c2s', cs.c2s) && ok('s2c', cs.s2c);
  });
}

function atLineStart(bytes: Buffer, offset: number): boolean {
  return offset === 0 || bytes[offset - 1] === 0x0a;
}

interface Seen {
  frame: number;
  verb?: string;
  arg?: string | null;
  code?: number;
}

/** tshark's first command / reply code of each frame that starts a line, within the plain-text part. */
function tsharkView(cs: ControlStream, name: 'c2s' | 's2c'): Seen[] {
  const bytes = name === 'c2s' ? cs.c2s : cs.s2c;
  const plain = plainPart(bytes, name).length;
  return framesAt(cs, name)
    .filter(({ offset, frame }) => offset < plain && atLineStart(bytes, offset)
      && (name === 'c2s' ? frame['ftp.request.command'] : frame['ftp.response.code']))
    // tshark does not interpret Telnet IAC sequences (the IP/Synch before ABOR); they are checked apart.
    .filter(({ frame }) => !/[^\x20-\x7e]/.test(frame['ftp.request.command']?.[0] ?? ''))
    .map(({ frame }) => name === 'c2s'
      ? { frame: Number(frame['frame.number']![0]), verb: frame['ftp.request.command']![0].toUpperCase(), arg: frame['ftp.request.arg']?.[0] ?? null }
      : { frame: Number(frame['frame.number']![0]), code: Number(frame['ftp.response.code']![0]) });
}

function allReplies(effects: SessionEffect[]): FtpReply[] {
  return effects.filter((e) => e.type === 'reply').map((e) => (e as { reply: FtpReply }).reply);
}

const streams = completeStreams();

describe('FtpSession on real control streams, against tshark', () => {
  it('has fixtures to play, including the recorded ones when present', () => {
    expect(streams.length).toBeGreaterThanOrEqual(8);
  });

  for (const cs of streams) {
    describe(`${cs.capture} stream ${cs.stream}`, () => {
      const chunks = chunksOf(cs);
      const played = play(chunks);
      const base = played.model;

      it('without line effects: the same model and the same data-channel effects, and no command or reply effects', () => {
        const m = new FtpSession(newSession(base.client.ip, base.server.ip), { lineEffects: false });
        const effects: SessionEffect[] = [];
        for (const c of chunks) effects.push(...m.push(c.dir, c.bytes, c.frame, c.frame));
        effects.push(...m.end(chunks.length > 0 ? chunks[chunks.length - 1]!.frame : 0, null));
        expect(JSON.stringify(m.model)).toBe(JSON.stringify(base));
        const notLine = (e: SessionEffect): boolean => e.type !== 'command' && e.type !== 'reply';
        expect(effects.every(notLine)).toBe(true);
        expect(effects.map((e) => e.type)).toEqual(played.effects.filter(notLine).map((e) => e.type));
        expect(played.effects.some((e) => e.type === 'command')).toBe(true);
      });

      it('reads each command tshark reads, in order, with the same verb and argument', () => {
        const want = tsharkView(cs, 'c2s');
        const firstByFrame = new Map<number, Seen>();
        for (const c of base.commands) if (c.frame !== null && !firstByFrame.has(c.frame)) firstByFrame.set(c.frame, { frame: c.frame, verb: c.verb, arg: c.arg });
        expect(want.map((w) => firstByFrame.get(w.frame) ?? { frame: w.frame, missing: true })).toEqual(want);
        // …and no more: every line of the plain part is one command.
        const plainLines = plainPart(cs.c2s, 'c2s').toString('latin1').split('\n').filter((l) => l.replace(/\r$/, '').length > 0);
        expect(base.commands.length).toBe(plainLines.length);
      });

      it('starts a reply at each frame where tshark sees a reply code, or continues a multi-line one there', () => {
        const mine = allReplies(played.effects);
        const byFrame = new Map<number, { code: number; lines: string[] }>();
        for (const r of mine) if (r.frame !== null && !byFrame.has(r.frame)) byFrame.set(r.frame, r);
        for (const w of tsharkView(cs, 's2c')) {
          const r = byFrame.get(w.frame);
          if (r) {
            expect(Number(r.lines[0].slice(0, 3)), `frame ${w.frame}`).toBe(w.code);
          } else {
            // An inner "xyz-" line of a multi-line reply (ProFTPD style) starting a segment.
            expect(mine.some((x) => x.lines.slice(1).some((l) => l.startsWith(String(w.code)))), `frame ${w.frame}`).toBe(true);
          }
        }
        // Each command has its final reply (or a line that is no reply, in its place) unless the stream ended first,
        // or the server answered a pipelined burst once (the commands ftp-no-reply names).
        const unanswered = base.commands.filter((c) => !c.replies.some((r) => r.code >= 200) && !c.malformedReplies);
        const skipped = played.effects.flatMap((e) => (e.type === 'finding' && e.finding.code === 'ftp-no-reply' ? [e.finding.message] : []))
          .reduce((n, m) => n + m.slice(0, m.indexOf(' got no reply')).split(', ').length, 0);
        expect(unanswered.length).toBeLessThanOrEqual(base.tls ? base.commands.length : 1 + skipped);
      });

      it('gives the identical model fed byte by byte and cut at every offset of either direction', () => {
        const want = view(base);
        const bytewise = chunks.flatMap((c) => [...c.bytes].map((b) => ({ ...c, bytes: Buffer.from([b]) })));
        expect(view(play(bytewise).model)).toEqual(want);
        for (const dir of [0, 1] as const) {
          const total = chunks.filter((c) => c.dir === dir).reduce((n, c) => n + c.bytes.length, 0);
          for (let at = 1; at < total; at++) {
            const got = view(play(splitAt(chunks, dir, at)).model);
            if (JSON.stringify(got) !== JSON.stringify(want)) expect(got, `${dir === 0 ? 'client' : 'server'} bytes cut at ${at}`).toEqual(want);
          }
        }
      });
    });
  }
});

// ---- hostile and tricky cases, made by editing a real stream -------------------------------------

/** zeek's ipv4.pcap (NetBSD ftpd, anonymous, PASV and PORT listings and downloads). */
const netbsd = controlStreams().find((cs) => cs.capture === 'zeek-ipv4' && cs.stream === 0)!;

/** One chunk per command line or per reply line of the real stream, in the order they were sent. */
function lineChunks(cs: ControlStream): Chunk[] {
  const out: Chunk[] = [];
  for (const c of chunksOf(cs)) {
    for (const line of c.bytes.toString('latin1').split(/(?<=\n)/)) out.push({ ...c, bytes: Buffer.from(line, 'latin1') });
  }
  return out;
}

function text(c: Chunk): string {
  return c.bytes.toString('latin1');
}

function line(dir: 0 | 1, s: string, frame: number): Chunk {
  return { dir, frame, bytes: Buffer.from(`${s}\r\n`, 'latin1') };
}

/** Insert client line + server reply before the first client line matching `before`. */
function insertBefore(chunks: Chunk[], before: RegExp, cmd: string, reply: string): Chunk[] {
  const i = chunks.findIndex((c) => c.dir === 0 && before.test(text(c)));
  expect(i, String(before)).toBeGreaterThanOrEqual(0);
  const f = chunks[i].frame;
  return [...chunks.slice(0, i), line(0, cmd, f), line(1, reply, f), ...chunks.slice(i)];
}

function replyCodes(s: Session, verb: string): number[][] {
  return s.commands.filter((c) => c.verb === verb).map((c) => c.replies.map((r) => r.code));
}

function slots(effects: SessionEffect[]) {
  return effects.filter((e) => e.type === 'bind').map((e) => (e as { slot: import('../../src/ftp/session.js').DataSlot }).slot);
}

describe('FtpSession: cases edited from a real stream (zeek ipv4.pcap, NetBSD ftpd)', () => {
  const real = lineChunks(netbsd);
  // The hosts of ipv4.pcap, so PASV/PORT addresses agree with the control connection.
  const play = (chunks: Chunk[]) => playAs(chunks, newSession('141.142.220.235', '199.233.217.249'));
  const plain = play(real);

  it('the real stream: four transfers bound to their setups, TYPE and 150 "(N bytes)" carried', () => {
    const bound = slots(plain.effects);
    expect(bound.map((s) => `${s.command!.verb} ${s.setup} ${s.transferType} ${s.expectedBytes}`)).toEqual([
      'LIST PASV null null', 'RETR PASV I 77', 'LIST PORT A null', 'RETR PORT I 77',
    ]);
    expect(bound.map((s) => s.path)).toEqual([null, 'robots.txt', null, 'robots.txt']);
    expect(bound.every((s) => s.finalReply?.code === 226)).toBe(true);
    expect(plain.model.loggedIn).toBe(true);
    expect(plain.model.user).toBe('anonymous');
    expect(plain.model.findings.map((f) => f.code)).toEqual(['cleartext-credentials']);
  });

  it('pipelined commands (TYPE, PASV, RETR in one segment) pair with their replies and the RETR uses that PASV', () => {
    const i = real.findIndex((c) => text(c) === 'TYPE I\r\n');
    const j = real.findIndex((c, k) => k > i && text(c).startsWith('RETR'));
    const client = real.slice(i, j + 1).filter((c) => c.dir === 0);
    const server = real.slice(i, j + 1).filter((c) => c.dir === 1);
    const piped = [...real.slice(0, i), { dir: 0 as const, frame: client[0].frame, bytes: Buffer.concat(client.map((c) => c.bytes)) }, ...server, ...real.slice(j + 1)];
    const got = play(piped);
    for (const verb of ['TYPE', 'PASV', 'RETR']) expect(replyCodes(got.model, verb)).toEqual(replyCodes(plain.model, verb));
    const retr = slots(got.effects).find((s) => s.command!.verb === 'RETR')!;
    expect(retr.setup).toBe('PASV');
    expect(retr.announced).toEqual(slots(plain.effects).find((s) => s.command!.verb === 'RETR')!.announced);
    expect(retr.transferType).toBe('I');
  });

  it('a command that never got a reply does not take the next transfer\'s 150 and 226', () => {
    const i = real.findIndex((c) => c.dir === 0 && /^RETR/.test(text(c)));
    const t = play([...real.slice(0, i), line(0, 'NOOP', real[i].frame), ...real.slice(i)]);
    expect(replyCodes(t.model, 'NOOP')).toEqual([[]]);
    expect(replyCodes(t.model, 'RETR')).toEqual(replyCodes(plain.model, 'RETR'));
    expect(slots(t.effects).map((s) => `${s.command!.verb} ${s.setup} ${s.finalReply?.code}`))
      .toEqual(slots(plain.effects).map((s) => `${s.command!.verb} ${s.setup} ${s.finalReply?.code}`));
    expect(t.model.findings.filter((f) => f.code === 'ftp-no-reply').map((f) => f.message)).toEqual([expect.stringMatching(/^NOOP got no reply before the server answered RETR/)]);
  });

  it('a reply only some verbs get (227 for PASV) goes past an unanswered command to the one that can get it', () => {
    const i = real.findIndex((c) => c.dir === 0 && /^PASV/.test(text(c)));
    const t = play([...real.slice(0, i), line(0, 'TYPE I', real[i].frame), ...real.slice(i)]);
    expect(replyCodes(t.model, 'PASV')).toEqual(replyCodes(plain.model, 'PASV'));
    expect(t.model.commands.find((c) => c.verb === 'TYPE' && c.replies.length === 0)).toBeDefined();
    expect(slots(t.effects).map((s) => `${s.command!.verb} ${s.setup} ${s.announced.port} ${s.finalReply?.code}`))
      .toEqual(slots(plain.effects).map((s) => `${s.command!.verb} ${s.setup} ${s.announced.port} ${s.finalReply?.code}`));
    expect(t.model.findings.filter((f) => f.code === 'ftp-no-reply').map((f) => f.message)).toEqual([expect.stringMatching(/^TYPE got no reply before the server answered PASV/)]);
  });

  it('a generic reply (200) stays with the oldest waiting command; pairing realigns at the next distinctive one', () => {
    const i = real.findIndex((c) => text(c) === 'TYPE I\r\n');
    const t = play([...real.slice(0, i), line(0, 'NOOP', real[i].frame), ...real.slice(i)]);
    const typeReply = replyCodes(plain.model, 'TYPE')[0]!;
    expect(replyCodes(t.model, 'NOOP')).toEqual([typeReply]);
    expect(slots(t.effects).map((s) => `${s.command!.verb} ${s.setup} ${s.announced.port} ${s.finalReply?.code}`))
      .toEqual(slots(plain.effects).map((s) => `${s.command!.verb} ${s.setup} ${s.announced.port} ${s.finalReply?.code}`));
    expect(t.model.findings.filter((f) => f.code === 'ftp-no-reply').map((f) => f.message)).toEqual([expect.stringMatching(/^TYPE got no reply before the server answered PASV/)]);
  });

  it('an unsolicited 421 (no QUIT) is listed apart with a finding; a 221 without QUIT too', () => {
    const noQuit = real.filter((c) => !text(c).startsWith('QUIT') && !text(c).startsWith('221'));
    const last = noQuit[noQuit.length - 1].frame + 1;
    const t = play([...noQuit, line(1, '421 Timeout (900 seconds): closing control connection.', last)]);
    expect(t.model.unsolicitedReplies.map((r) => r.code)).toEqual([421]);
    expect(t.model.findings.map((f) => f.code)).toContain('service-closing');
    expect(t.model.commands.every((c) => c.replies.length > 0)).toBe(true);
    const bye = play(real.filter((c) => !text(c).startsWith('QUIT')));
    expect(bye.model.unsolicitedReplies.map((r) => r.code)).toEqual([221]);
    expect(bye.model.findings.map((f) => f.code)).not.toContain('service-closing');
  });

  it('a 230- block closed by a line with another code takes that code (as clients read it), with a finding', () => {
    const edited = real.map((c) => (text(c).startsWith('230 Guest login ok') ? { ...c, bytes: Buffer.from(text(c).replace(/^230 /, '226 '), 'latin1') } : c));
    const t = play(edited);
    expect(t.model.commands.filter((c) => c.verb === 'PASS').flatMap((c) => c.replies.map((r) => r.code))).toEqual([226]);
    expect(t.model.findings.map((f) => f.code)).toContain('ftp-reply-code-mismatch');
    // Reply pairing is not thrown off: SYST still gets its 215.
    expect(replyCodes(t.model, 'SYST')).toEqual([[215]]);
  });

  it('REST applies to the next transfer only; SIZE 213 gives the expected size', () => {
    let e = insertBefore(real, /^RETR/, 'REST 40', '350 Restarting at 40. Send STORE or RETRIEVE to initiate transfer.');
    e = insertBefore(e, /^PASV/, 'SIZE robots.txt', '213 77');
    const bound = slots(play(e).effects);
    expect(bound.map((s) => s.restOffset)).toEqual([null, 40, null, null]);
    expect(bound.map((s) => s.expectedBytes)).toEqual([null, 77, null, 77]);
  });

  it('SIZE 213 alone (no "(N bytes)" in the 150) sets expectedBytes of that path only', () => {
    const no150Size = real.map((c) => (/^150 .*\(77 bytes\)/.test(text(c)) ? { ...c, bytes: Buffer.from(text(c).replace(' (77 bytes)', ''), 'latin1') } : c));
    const e = insertBefore(no150Size, /^TYPE I/, 'SIZE robots.txt', '213 1234');
    expect(slots(play(e).effects).map((s) => s.expectedBytes)).toEqual([null, 1234, null, 1234]);
    expect(slots(play(no150Size).effects).map((s) => s.expectedBytes)).toEqual([null, null, null, null]);
  });

  it('the working directory follows CWD, CDUP and 257, and resolves relative transfer paths', () => {
    let e = insertBefore(real, /^SYST/, 'PWD', '257 "/" is the current directory.');
    e = insertBefore(e, /^TYPE I/, 'CWD pub/NetBSD', '250 CWD command successful.');
    e = insertBefore(e, /^TYPE A/, 'PWD', '257 "/pub/NetBSD" is the current directory.');
    e = insertBefore(e, /^TYPE A/, 'CDUP', '250 CDUP command successful.');
    e = insertBefore(e, /^TYPE I/, 'CWD ../etc', '550 ../etc: No such file or directory.');
    const t = play(e);
    // A listing without argument lists the working directory.
    expect(slots(t.effects).map((s) => s.path)).toEqual(['/', '/pub/NetBSD/robots.txt', '/pub', '/pub/robots.txt']);
    expect(t.model.commands.find((c) => c.verb === 'CDUP')!.cwd).toBe('/pub/NetBSD');
  });

  it('a server-side gap ends the multi-line reply it cut; the next reply is not glued onto it', () => {
    const m = new FtpSession(newSession('141.142.220.235', '199.233.217.249'));
    for (const c of real) {
      if (c.dir === 1 && text(c).startsWith('230 Guest login ok')) m.gap(1, c.bytes.length, c.frame);
      else m.push(c.dir, c.bytes, c.frame, c.frame);
    }
    m.end(0, null);
    const pass = m.model.commands.find((c) => c.verb === 'PASS')!;
    expect(pass.replies.map((r) => r.code)).toEqual([230]);
    expect(replyCodes(m.model, 'SYST')).toEqual([[215]]);
    expect(m.model.findings.map((f) => f.code)).toContain('control-gap');
  });

  it('a line without a code after a 150 is kept with the transfer, which still gets its 226', () => {
    const i = real.findIndex((c) => c.dir === 1 && /^150 /.test(text(c)));
    const t = play([...real.slice(0, i + 1), line(1, 'Transferring robots.txt ...', real[i]!.frame), ...real.slice(i + 1)]);
    const cmd = t.model.commands.find((c) => c.replies.some((r) => r.frame === real[i]!.frame))!;
    expect(cmd.malformedReplies?.map((m) => m.text)).toEqual(['Transferring robots.txt ...']);
    expect(cmd.replies.map((r) => r.code)).toEqual([150, 226]);
    for (const verb of ['RETR', 'LIST', 'PORT', 'QUIT']) expect(replyCodes(t.model, verb)).toEqual(replyCodes(plain.model, verb));
  });

  it('a 120 greeting, then the 220 that completes it, both before the client waited: USER still gets its own reply', () => {
    const greeting = real.filter((c) => c.dir === 1 && c.frame === real.find((x) => x.dir === 1)!.frame);
    const user = real.find((c) => c.dir === 0)!;
    const rest = real.filter((c) => !greeting.includes(c) && c !== user);
    const t = play([user, line(1, '120 Service ready in 1 minute.', greeting[0]!.frame), ...greeting, ...rest]);
    expect(t.model.greeting?.code).toBe(120);
    expect(t.model.unsolicitedReplies.map((r) => r.code)).toEqual([220]);
    expect(replyCodes(t.model, 'USER')).toEqual(replyCodes(plain.model, 'USER'));
  });

  it('an overlong command line is cut with a finding and the session goes on', () => {
    const e = real.map((c) => (text(c) === 'SYST\r\n' ? { ...c, bytes: Buffer.from(`SITE ${'A'.repeat(20_000)}\r\n`) } : c));
    const t = play(e);
    expect(t.model.findings.map((f) => f.code)).toContain('ftp-line-too-long');
    expect(slots(t.effects)).toHaveLength(4);
    expect(t.model.commands.find((c) => c.verb === 'SITE')!.arg!.length).toBeLessThan(20_000);
  });
});

describe('FtpSession: a pipelined burst answered once (suricata-verify bug-8489-03)', () => {
  const cs = controlStreams().find((x) => x.capture === 'sv-bug-8489-03')!;
  // exchange.syn: the exchange as its author wrote it.
  const syn = fixtureText('sv-bug-8489-03', 'exchange.syn');

  it('the 250 goes to CWD, past the PWDs that got none, and the working directory follows it', () => {
    const m = new FtpSession(newSession('1.1.1.1', '2.2.2.2'));
    for (const c of chunksOf(cs)) m.push(c.dir, c.bytes, c.frame, c.frame);
    const target = /CWD (\S+)\\x0d\\x0a/.exec(syn)![1]!;
    expect(m.model.commands.find((c) => c.verb === 'CWD')!.replies.map((r) => r.code)).toEqual([250]);
    expect(m.workingDirectory).toBe(target);
    m.end(0, null);
  });
});

describe('FtpSession: AUTH TLS (zeek ftp-auth-tls.pcap)', () => {
  const cs = controlStreams().find((x) => x.capture === 'zeek-ftp-auth-tls')!;
  // tshark's FTP fields stop at the TLS records: what follows the last FTP frame goes in as one chunk per direction.
  const chunks = chunksOf(cs);
  const last = chunks[chunks.length - 1].frame;
  for (const dir of [0, 1] as const) {
    const seen = chunks.filter((c) => c.dir === dir).reduce((n, c) => n + c.bytes.length, 0);
    const all = dir === 0 ? cs.c2s : cs.s2c;
    if (seen < all.length) chunks.push({ dir, frame: last + 1 + dir, bytes: all.subarray(seen) });
  }
  const t = play(chunks);

  it('234 switches to TLS: no line after it is decoded, the ClientHello is read', () => {
    const auth = t.model.commands.findIndex((c) => c.verb === 'AUTH');
    expect(auth).toBeGreaterThanOrEqual(0);
    expect(t.model.commands).toHaveLength(auth + 1);
    expect(t.model.commands[auth].replies.map((r) => r.code)).toEqual([234]);
    expect(t.model.tls).toBe(true);
    expect(t.model.tlsInfo?.version).toMatch(/^TLS 1\.[0-3]$/);
    expect(t.model.findings.map((f) => f.code)).toContain('control-tls');
    expect(t.model.findings.map((f) => f.code)).not.toContain('ftp-malformed-command');
    expect(t.model.findings.map((f) => f.code)).not.toContain('ftp-malformed-reply');
  });
});

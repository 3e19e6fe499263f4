import { describe, expect, test } from 'vitest';
import { parseCommand, verbInfo, knownVerbs, CREDENTIAL_VERBS, TRANSFER_VERBS, SETUP_VERBS, type ParsedCommand } from '../../src/ftp/commands.js';
import {
  controlStreams, fixtureExists, fixtureText, framesAt, lineOffsets, plainPart, splitAll, zeekLog,
} from './fixtures.js';

const streams = controlStreams();
const commandsOf = (bytes: Buffer): ParsedCommand[] =>
  splitAll(bytes).map((l) => parseCommand(l.text)).filter((c): c is ParsedCommand => c !== null);

describe('parseCommand on real client streams', () => {
  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))(
    '$name: every line is a command, and at every frame that starts a line we decode what tshark decodes',
    ({ cs }) => {
      const bytes = plainPart(cs.c2s, 'c2s');
      const lines = splitAll(bytes);
      expect(lines.filter((l) => parseCommand(l.text) === null).map((l) => l.text)).toEqual([]);
      const offsets = lineOffsets(lines);
      const starts = new Map(offsets.map((o, i) => [o, lines[i]!]));
      // tshark decodes the first line of a segment; lines a client pipelined after it in the same segment
      // (bug-8489-03's "PWD PWD PWD") it does not, and only those are left unchecked.
      const frameStarts = new Set(framesAt(cs, 'c2s').map(({ offset }) => offset));
      const pipelined = offsets.filter((o) => !frameStarts.has(o)).length;
      let checked = 0;
      for (const { offset, frame } of framesAt(cs, 'c2s')) {
        const line = starts.get(offset);
        if (!line) continue;
        const c = parseCommand(line.text)!;
        checked++;
        if (frame['ftp.request.command']![0]!.includes('\ufffd')) {
          // tshark reads the Telnet Synch (IAC IP IAC DM) before ABOR as the command; we remove it.
          expect(line.telnet, `frame ${frame['frame.number']}`).toBeDefined();
          continue;
        }
        expect(c.verb, `frame ${frame['frame.number']}`).toBe(frame['ftp.request.command']![0]!.toUpperCase());
        expect(c.arg ?? undefined, `frame ${frame['frame.number']}`).toBe(frame['ftp.request.arg']?.[0]);
      }
      expect(checked + pipelined).toBe(lines.length);
      expect(pipelined).toBe(cs.capture === 'sv-bug-8489-03' ? 2 : 0);
    },
  );

  test.each(streams.map((cs) => ({ name: `${cs.capture}#${cs.stream}`, cs })))('$name: every verb sent is known', ({ cs }) => {
    for (const c of commandsOf(plainPart(cs.c2s, 'c2s'))) expect(verbInfo(c.verb), c.verb).not.toBeNull();
  });

  const withZeekLog = streams.filter((cs) => fixtureExists(cs.capture, 'zeek-ftp.log'));
  test.each(withZeekLog.map((cs) => ({ name: cs.capture, cs })))("$name: zeek's logged commands are ours, in order", ({ cs }) => {
    const ours = commandsOf(plainPart(cs.c2s, 'c2s'));
    let at = 0;
    for (const row of zeekLog(cs.capture)) {
      if (row.command === '<init>') continue;
      // zeek logs transfer arguments as URLs built from the server address, the cwd and the argument.
      // zeek logs a password as "<hidden>".
      const argMatches = (c: ParsedCommand) =>
        row.arg?.startsWith('ftp://') ? c.arg !== null && row.arg.endsWith(c.arg) : row.arg === '<hidden>' || c.arg === row.arg;
      while (at < ours.length && !(ours[at]!.verb === row.command && argMatches(ours[at]!))) at++;
      expect(at, `zeek row ${row.command} ${row.arg}`).toBeLessThan(ours.length);
      at++;
    }
  });

  test('suricata-verify bug-3519: the per-verb counts, PORT twice, PASS anonymous', () => {
    const yaml = fixtureText('sv-bug-3519', 'suricata-test.yaml');
    const counts = [...yaml.matchAll(/count: (\d+)\n\s+match:\n\s+event_type: ftp\n(?:\s+ftp\.command: (\w+)\n)?/g)];
    const ours = commandsOf(streams.find((s) => s.capture === 'sv-bug-3519')!.c2s);
    for (const m of counts) {
      const n = Number(m[1]);
      const verb = m[2];
      // Suricata's total (8) also counts the transaction it opens for the 220 greeting.
      expect(verb ? ours.filter((c) => c.verb === verb).length : ours.length + 1, verb ?? 'all').toBe(n);
    }
    expect(counts.length).toBeGreaterThanOrEqual(7);
    expect(yaml).toContain('ftp.command_data: anonymous');
    expect(ours.find((c) => c.verb === 'PASS')!.arg).toBe('anonymous');
  });
});

describe('parseCommand rules', () => {
  const table: [string, ParsedCommand | null][] = [
    ['USER anonymous', { verb: 'USER', arg: 'anonymous' }],
    ['user anonymous', { verb: 'USER', arg: 'anonymous' }],
    ['PWD', { verb: 'PWD', arg: null }],
    ['CWD ', { verb: 'CWD', arg: null }],
    ['RETR  leading space.txt', { verb: 'RETR', arg: ' leading space.txt' }],
    ['STOR trailing ', { verb: 'STOR', arg: 'trailing ' }],
    ['USER\tbob', { verb: 'USER', arg: 'bob' }],
    ['XSHA256 file', { verb: 'XSHA256', arg: 'file' }],
    ['SITE CHMOD 644 f', { verb: 'SITE', arg: 'CHMOD 644 f' }],
    ['FOOB bar', { verb: 'FOOB', arg: 'bar' }],
    ['', null],
    [' USER x', null],
    ['220 ready', null],
    ['A', null],
    ['VERYLONGVERBNAME x', null],
    ['\x16\x03\x01\x02\x00\x01', null],
    ['US\0ER x', null],
  ];
  test.each(table)('%j', (line, expected) => expect(parseCommand(line)).toEqual(expected));
});

describe('verbInfo', () => {
  const rfcVerbs: [string, string[]][] = [
    ['RFC 959', ['USER', 'PASS', 'ACCT', 'CWD', 'CDUP', 'SMNT', 'REIN', 'QUIT', 'PORT', 'PASV', 'TYPE', 'STRU', 'MODE',
      'RETR', 'STOR', 'STOU', 'APPE', 'ALLO', 'RNFR', 'RNTO', 'ABOR', 'DELE', 'RMD', 'MKD', 'PWD', 'LIST', 'NLST', 'SITE',
      'SYST', 'STAT', 'HELP', 'NOOP']],
    ['RFC 2228', ['AUTH', 'ADAT', 'PROT', 'PBSZ', 'CCC', 'MIC', 'CONF', 'ENC']],
    ['RFC 2389', ['FEAT', 'OPTS']],
    ['RFC 2428', ['EPRT', 'EPSV']],
    ['RFC 3659', ['MLST', 'MLSD', 'SIZE', 'MDTM', 'REST']],
    ['RFC 7151', ['HOST']],
    ['RFC 1639', ['LPRT', 'LPSV']],
  ];
  test.each(rfcVerbs)('%s verbs are known with their RFC', (rfc, verbs) => {
    for (const v of verbs) expect(verbInfo(v), v).toMatchObject({ verb: v, rfc });
  });

  test('common extensions are known', () => {
    for (const v of ['CLNT', 'XCWD', 'XMKD', 'XPWD', 'XRMD', 'XCUP', 'MFMT', 'MFCT', 'AVBL', 'LANG']) expect(verbInfo(v), v).not.toBeNull();
  });

  test('credential verbs are access verbs', () => {
    expect([...CREDENTIAL_VERBS].sort()).toEqual(['ACCT', 'PASS']);
    for (const v of CREDENTIAL_VERBS) expect(verbInfo(v)?.kind).toBe('access');
  });

  test('lookup ignores case; unknown verbs give null', () => {
    expect(verbInfo('retr')?.verb).toBe('RETR');
    expect(verbInfo('FOOB')).toBeNull();
  });

  test('kinds agree with the transfer and setup sets', () => {
    for (const v of TRANSFER_VERBS) expect(verbInfo(v)?.kind, v).toBe('transfer');
    for (const v of SETUP_VERBS) expect(verbInfo(v)?.kind, v).toBe('setup');
    expect([...TRANSFER_VERBS].sort()).toEqual(['APPE', 'LIST', 'MLSD', 'NLST', 'RETR', 'STOR', 'STOU']);
    expect([...SETUP_VERBS].sort()).toEqual(['EPRT', 'EPSV', 'LPRT', 'LPSV', 'PASV', 'PORT']);
    for (const v of knownVerbs()) {
      const info = verbInfo(v)!;
      expect(info.summary.length, v).toBeGreaterThan(3);
      if (info.kind === 'transfer') expect(TRANSFER_VERBS.has(v), v).toBe(true);
    }
  });
});

/**
 * `ftpscope packets`: every TCP packet with the facts the analysis recorded for it, one line each
 * (frame, time, session and connection, FTP role and direction, phase, TCP flags, length, TCP
 * analysis tags, what it meant). -Y keeps the packets a display filter matches, as tshark -Y does;
 * -e prints chosen fields by their Wireshark names, as tshark -T fields -e does, so the two can be
 * diffed. One capture, or several files (or a directory) merged as one.
 */
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { analyzePackets, streamPackets } from '../analysis/sources/packets.js';
import { FtpscopeError } from '../errors.js';
import type { PacketFact } from '../model/packet-facts.js';
import { isPacketFieldName, PACKET_FIELDS, type PacketFieldName } from '../model/packet-fields.js';
import type { Session } from '../model/types.js';
import { analysisTags, TA_FLAG_MASK } from '../model/tcp-analysis.js';
import { flagsText } from '../dissect/tcp.js';
import type { DisplayFilter } from '../report/filter/index.js';
import type { CaptureInputs } from '../capture/inputs.js';
import { connectionLabel, directionLabel, packetSummary } from '../report/packet-facts.js';
import { packetFieldText, packetFieldValue, packetToJson, secondsText, type FieldContext } from '../report/packet-fields.js';
import { analyzeWithProgress, captureArgs, captureInputs, collectPort, displayFilterArg, quietOnEpipe, withPasswords, CAPTURES_ARG_HELP } from './report.js';
import { collectIfGrown, preferThroughputGc } from './batch-gc.js';

/** Output queued for stdout beyond which reading the capture waits for it to drain. */
const QUEUE_BYTES = 1 << 20;

interface PacketsFlags {
  json?: boolean;
  ndjson?: boolean;
  field?: PacketFieldName[];
  header?: boolean;
  flagged?: boolean;
  ftpPort?: number[];
  showPasswords?: boolean;
  displayFilter?: DisplayFilter;
}

function collectField(value: string, previous: PacketFieldName[] = []): PacketFieldName[] {
  if (!isPacketFieldName(value)) {
    const near = Object.keys(PACKET_FIELDS).filter((n) => n.includes(value) || value.includes(n.split('.').pop()!)).slice(0, 4);
    throw new InvalidArgumentError(`'${value}' is not a field ftpscope knows${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; see ftpscope packets --help`);
  }
  return [...previous, value];
}

const FIELD_HELP = Object.entries(PACKET_FIELDS).map(([name, f]) => `  ${name.padEnd(40)} ${f.label}`).join('\n');

const HEADER = `${'frame'.padStart(7)} ${'time'.padStart(12)}  ${'connection'.padEnd(10)} ${'dir'.padEnd(5)} ${'phase'.padEnd(9)} ${'TCP flags'.padEnd(14)} len        analysis / meaning`;

/** The human line: frame, time, session and connection, direction, phase, TCP flags, length, analysis tags, meaning. */
function textLine(p: PacketFact, ctx: FieldContext, summary: string): string {
  const time = secondsText(p.ts - ctx.firstTs).slice(0, -3);
  const where = p.session !== null ? `s${p.session} ${connectionLabel(p)}` : connectionLabel(p);
  const tags = p.analysis ? analysisTags(p.analysis).map((t) => `[${t}]`).join(' ') : '';
  return `${String(p.frame).padStart(7)} ${time.padStart(12)}  ${where.padEnd(10)} ${directionLabel(p).padEnd(5)} ${p.phase.padEnd(9)} ${flagsText(p.flags).padEnd(14)} len=${String(p.len).padEnd(6)} ${tags ? tags + ' ' : ''}${summary}`.trimEnd();
}

export function registerPackets(program: Command): void {
  program
    .command('packets')
    .description('list every TCP packet with its facts: connection, FTP role, direction, phase, TCP analysis flags, meaning; -Y selects packets as tshark -Y does, -e prints fields as tshark -T fields -e does')
    .argument('<captures...>', CAPTURES_ARG_HELP, captureArgs)
    .option('-Y, --display-filter <expr>', 'list only the packets this display filter matches (ftpscope filters lists the fields)', displayFilterArg)
    .option('-e, --field <name>', 'print this field (repeatable; Wireshark\'s display-filter names, like tshark -T fields -e)', collectField)
    .option('--header', 'with -e: print the field names as the first line (tshark -E header=y)')
    .option('--flagged', 'only packets with a TCP analysis flag (retransmission, duplicate ACK, zero window, ...)')
    .option('--json', 'print a JSON array, one object per packet')
    .option('--ndjson', 'print one JSON object per packet per line')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .addHelpText('after', `\nWith -e, text output is one tab-separated line per packet, as tshark -T fields prints it (times\nwith nine decimals, flags as 1 or nothing), so the two can be diffed. Without -Y the packets are\nprinted as the capture is read, in bounded memory; with -Y once it is read (the filter sees the\nsessions as they ended). Fields:\n${FIELD_HELP}`)
    .action(async (captures: string[], flags: PacketsFlags) => {
      preferThroughputGc();
      if (flags.json && flags.ndjson) throw new FtpscopeError('usage', '--json and --ndjson cannot be used together', 'pick one output format');
      quietOnEpipe();
      const inputs = captureInputs(captures);
      const show = flags.showPasswords === true;
      const filter = withPasswords(flags.displayFilter, show);
      const fields = flags.field ?? null;
      let pending = '';
      let first = true;
      const out = (s: string): void => {
        pending += s;
        if (pending.length >= 1 << 16) {
          process.stdout.write(pending);
          pending = '';
        }
      };
      const print = (p: PacketFact, ctx: FieldContext, session: Session | null): void => {
        if (flags.flagged && (!p.analysis || (p.analysis.flags & TA_FLAG_MASK) === 0)) return;
        if (flags.json || flags.ndjson) {
          const obj = fields ? Object.fromEntries(fields.map((f) => [f, packetFieldValue(p, f, ctx)])) : { ...packetToJson(p, ctx), summary: summaryOf(p, session, show) };
          const text = JSON.stringify(obj);
          if (flags.json) out(`${first ? '\n' : ',\n'}  ${text}`);
          else out(text + '\n');
        } else if (fields) {
          out(fields.map((f) => packetFieldText(p, f, ctx)).join('\t') + '\n');
        } else {
          out(textLine(p, ctx, summaryOf(p, session, show)) + '\n');
        }
        first = false;
      };
      if (flags.json) out('[');
      if (fields && flags.header && !flags.json && !flags.ndjson) out(fields.join('\t') + '\n');
      if (!fields && !flags.json && !flags.ndjson) out(HEADER + '\n');
      const pace = (): Promise<unknown> | undefined => (process.stdout.writableLength > QUEUE_BYTES ? once(process.stdout, 'drain') : undefined);
      if (filter && rereadable(inputs)) {
        // The filter sees each packet's session as it ended (its user, its transfers' outcome): the
        // analysis runs to the end first, keeping the sessions only; then the packets stream past the
        // filter as they would without it, in bounded memory whatever the capture's size.
        const final = new Map<number, Session>();
        const a = await analyzeWithProgress(inputs, {
          ftpPorts: flags.ftpPort, retireSession: (s) => final.set(s.id, s), blockingReads: true, housekeeping: collectIfGrown,
        });
        for (const s of a.sessions) final.set(s.id, s);
        const session = (id: number): Session | null => final.get(id) ?? null;
        let fctx: Parameters<DisplayFilter['matchesPacket']>[1] | null = null;
        let ctx: FieldContext | null = null;
        await streamPackets(inputs, {
          ftpPorts: flags.ftpPort,
          housekeeping: collectIfGrown,
          pace,
          onPacket: (p, firstTs) => {
            fctx ??= { start: firstTs, session, showPasswords: show };
            ctx ??= { firstTs };
            if (filter.matchesPacket(p, fctx)) print(p, ctx, p.session !== null ? session(p.session) : null);
          },
        });
      } else if (filter) {
        // Standard input cannot be read twice: the packets' facts are kept while the capture is read.
        const { analysis, packets, start } = await analyzePackets(inputs, { ftpPorts: flags.ftpPort });
        const byId = new Map(analysis.sessions.map((s) => [s.id, s]));
        const fctx = { start, session: (id: number) => byId.get(id) ?? null, showPasswords: show };
        const ctx: FieldContext = { firstTs: start };
        for (const p of packets()) {
          if (!filter.matchesPacket(p, fctx)) continue;
          print(p, ctx, p.session !== null ? byId.get(p.session) ?? null : null);
          if (process.stdout.writableLength > QUEUE_BYTES) await once(process.stdout, 'drain');
        }
      } else {
        let ctx: FieldContext | null = null;
        await streamPackets(inputs, {
          ftpPorts: flags.ftpPort,
          housekeeping: collectIfGrown,
          pace,
          onPacket: (p, firstTs, session) => {
            ctx ??= { firstTs };
            print(p, ctx, session);
          },
        });
      }
      if (flags.json) out(first ? ']\n' : '\n]\n');
      process.stdout.write(pending);
    });
}

/** What the packet meant, worded with its data connection's command when it belongs to a session. */
function summaryOf(p: PacketFact, session: Session | null, showPasswords: boolean): string {
  const dc = session && p.channel === 'data' ? session.dataConnections.find((d) => d.id === p.dataConnection) ?? null : null;
  return packetSummary(p, dc, showPasswords);
}

/** Whether the capture can be read twice: files, not standard input or another pipe. */
function rereadable(inputs: CaptureInputs): boolean {
  return inputs.files.every((f) => {
    try {
      return f !== '-' && statSync(f).isFile();
    } catch {
      return true; // missing or unreadable: the first read says so
    }
  });
}

import { once } from 'node:events';
import { InvalidArgumentError, type Command } from 'commander';
import { streamPackets } from '../analysis/sources/packets.js';
import { FtpscopeError } from '../errors.js';
import type { PacketFact } from '../model/packet-facts.js';
import { isPacketFieldName, PACKET_FIELDS, type PacketFieldName } from '../model/packet-fields.js';
import { analysisTags, TA_FLAG_MASK } from '../model/tcp-analysis.js';
import { flagsText } from '../dissect/tcp.js';
import { connectionLabel, directionLabel } from '../report/packet-facts.js';
import { packetFieldText, packetFieldValue, packetToJson, secondsText, type FieldContext } from '../report/packet-fields.js';
import { checkCapturePath, collectPort, quietOnEpipe, captureArg, CAPTURE_ARG_HELP } from './report.js';

/** Output queued for stdout beyond which reading the capture waits for it to drain. */
const QUEUE_BYTES = 1 << 20;

interface PacketsFlags {
  json?: boolean;
  ndjson?: boolean;
  field?: PacketFieldName[];
  header?: boolean;
  flagged?: boolean;
  ftpPort?: number[];
}

function collectField(value: string, previous: PacketFieldName[] = []): PacketFieldName[] {
  if (!isPacketFieldName(value)) {
    const near = Object.keys(PACKET_FIELDS).filter((n) => n.includes(value) || value.includes(n.split('.').pop()!)).slice(0, 4);
    throw new InvalidArgumentError(`'${value}' is not a field ftpscope knows${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; see ftpscope packets --help`);
  }
  return [...previous, value];
}

const FIELD_HELP = Object.entries(PACKET_FIELDS).map(([name, f]) => `  ${name.padEnd(40)} ${f.label}`).join('\n');

/** The human line: frame, time, session and connection, direction, TCP flags, length, analysis tags. */
function textLine(p: PacketFact, ctx: FieldContext): string {
  const time = secondsText(p.ts - ctx.firstTs).slice(0, -3);
  const where = p.session !== null ? `s${p.session} ${connectionLabel(p)}` : connectionLabel(p);
  const tags = p.analysis ? analysisTags(p.analysis).join(', ') : '';
  return `${String(p.frame).padStart(7)} ${time.padStart(12)}  ${where.padEnd(10)} ${directionLabel(p).padEnd(5)} ${flagsText(p.flags).padEnd(14)} len=${String(p.len).padEnd(5)}${tags ? ' ' + tags : ''}`.trimEnd();
}

export function registerPackets(program: Command): void {
  program
    .command('packets')
    .description('list every TCP packet with its frame, time, connection, FTP role, direction and TCP analysis flags')
    .argument('<capture>', CAPTURE_ARG_HELP, captureArg)
    .option('--json', 'print a JSON array, one object per packet')
    .option('--ndjson', 'print one JSON object per packet per line')
    .option('-e, --field <name>', 'print this field (repeatable; Wireshark\'s display-filter names, like tshark -T fields -e)', collectField)
    .option('--header', 'with -e: print the field names as the first line (tshark -E header=y)')
    .option('--flagged', 'only packets with a TCP analysis flag (retransmission, duplicate ACK, zero window, ...)')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .addHelpText('after', `\nWith -e, text output is one tab-separated line per packet, as tshark -T fields prints it (times\nwith nine decimals, flags as 1 or nothing), so the two can be diffed. Fields:\n${FIELD_HELP}`)
    .action(async (capture: string, flags: PacketsFlags) => {
      if (flags.json && flags.ndjson) throw new FtpscopeError('usage', '--json and --ndjson cannot be used together', 'pick one output format');
      quietOnEpipe();
      checkCapturePath(capture);
      const fields = flags.field ?? null;
      let ctx: FieldContext | null = null;
      let pending = '';
      let first = true;
      const out = (s: string): void => {
        pending += s;
        if (pending.length >= 1 << 16) {
          process.stdout.write(pending);
          pending = '';
        }
      };
      if (flags.json) out('[');
      if (fields && flags.header && !flags.json && !flags.ndjson) out(fields.join('\t') + '\n');
      if (!fields && !flags.json && !flags.ndjson) out(`${'frame'.padStart(7)} ${'time'.padStart(12)}  ${'connection'.padEnd(10)} ${'dir'.padEnd(5)} ${'TCP flags'.padEnd(14)} len    analysis\n`);
      await streamPackets(capture, {
        ftpPorts: flags.ftpPort,
        pace: () => (process.stdout.writableLength > QUEUE_BYTES ? once(process.stdout, 'drain') : undefined),
        onPacket: (p, firstTs) => {
          ctx ??= { firstTs };
          if (flags.flagged && (!p.analysis || (p.analysis.flags & TA_FLAG_MASK) === 0)) return;
          if (flags.json || flags.ndjson) {
            const obj = fields
              ? Object.fromEntries(fields.map((f) => [f, packetFieldValue(p, f, ctx!)]))
              : packetToJson(p, ctx);
            const text = JSON.stringify(obj);
            if (flags.json) out(`${first ? '\n' : ',\n'}  ${text}`);
            else out(text + '\n');
          } else if (fields) {
            out(fields.map((f) => packetFieldText(p, f, ctx!)).join('\t') + '\n');
          } else {
            out(textLine(p, ctx) + '\n');
          }
          first = false;
        },
      });
      if (flags.json) out(first ? ']\n' : '\n]\n');
      process.stdout.write(pending);
    });
}

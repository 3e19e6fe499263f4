import type { Command } from 'commander';
import { readCapture } from '../capture/open.js';
import type { PacketRecord } from '../capture/types.js';
import { FtpscopeError } from '../errors.js';
import { FastDecoder, newFastPacket } from '../dissect/fast.js';
import { ContextTracker } from '../dissect/context.js';
import { dissect, type DissectContext } from '../dissect/dissect.js';
import type { Dissection, Field } from '../dissect/field.js';
import { dissectionToJson, renderLayersText } from '../report/layers.js';
import { checkCapturePath, collectPort, positiveInt, quietOnEpipe, captureArg, CAPTURE_ARG_HELP } from './report.js';

export interface InspectOptions {
  /** Extra FTP control ports besides 21. */
  ftpPorts?: number[];
  /** Keep PASS arguments as sent (default: masked as ****, in the fields and the bytes). */
  showPasswords?: boolean;
}

/**
 * Full dissection of one frame, with the connection context (ISNs, window scale, FTP roles,
 * IP fragments) learned by reading the capture up to it with the fast path.
 */
export async function inspectFrame(path: string, frame: number, opts: InspectOptions = {}): Promise<Dissection> {
  const decoder = new FastDecoder();
  const pkt = newFastPacket();
  const tracker = new ContextTracker({ ftpPorts: [21, ...(opts.ftpPorts ?? [])] });
  const abort = new AbortController();
  let result: Dissection | null = null;
  const info = await readCapture(path, (rec) => {
    if (result || rec.frame > frame) return;
    if (rec.frame < frame) {
      if (decoder.decode(rec, pkt)) tracker.observe(pkt);
      return;
    }
    const own = copyRecord(rec);
    // The fast path consumes this packet's fragment; full dissection gets its own copy of the pending ones.
    const defrag = decoder.defrag.clone();
    const ctx: DissectContext = decoder.decode(own, pkt) ? tracker.observe(pkt) : {};
    result = dissect(own, { ...ctx, defrag });
    abort.abort();
  }, { signal: abort.signal });
  if (!result) {
    throw new FtpscopeError('frame-not-found',
      `${path}: there is no frame ${frame}; the capture has ${info.packets} frame${info.packets === 1 ? '' : 's'}${info.truncated ? ' (it is cut short)' : ''}`,
      info.packets > 0 ? `give a frame number from 1 to ${info.packets}` : 'the capture holds no packets');
  }
  return opts.showPasswords ? result : maskPasswords(result);
}

function copyRecord(rec: PacketRecord): PacketRecord {
  return { ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0 };
}

/** PASS arguments become **** in the fields and in the bytes, as in every ftpscope report. */
export function maskPasswords(d: Dissection): Dissection {
  for (const layer of d.layers) {
    if (layer.name !== 'ftp') continue;
    for (const line of layer.fields) {
      const kids = line.children ?? [];
      if (kids[0]?.name !== 'ftp.request.command' || kids[0].value !== 'PASS') continue;
      const arg = kids.find((f: Field) => f.name === 'ftp.request.arg');
      if (!arg) continue;
      const bytes = layer.source === 'reassembled' ? d.reassembled?.bytes : d.bytes;
      if (bytes) {
        const copy = Buffer.from(bytes);
        copy.fill(0x2a, arg.offset, arg.offset + arg.length);
        if (layer.source === 'reassembled' && d.reassembled) d.reassembled = { ...d.reassembled, bytes: copy };
        else d.bytes = copy;
      }
      arg.value = '****';
      line.display = line.display.replace(/^(\S+\s+).*?(\\r\\n| \(line continues.*)?$/, (_m, verb: string, tail?: string) => `${verb}****${tail ?? ''}`);
      arg.display = '**** (masked; --show-passwords shows it)';
    }
  }
  return d;
}

interface InspectFlags {
  frame: number;
  json?: boolean;
  hex?: boolean;
  ftpPort?: number[];
  showPasswords?: boolean;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('decode one packet layer by layer: every field with its meaning and byte range, then a hex dump')
    .argument('<capture>', CAPTURE_ARG_HELP, captureArg)
    .requiredOption('--frame <n>', 'the frame to decode, numbered from 1 as in Wireshark and ftpscope report', positiveInt)
    .option('--json', 'print {frame, ts, captureLength, wireLength, layers: [{name, offset, length, fields}]} as JSON')
    .option('--no-hex', 'leave out the hex dump')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS arguments instead of ****')
    .action(async (capture: string, flags: InspectFlags) => {
      quietOnEpipe();
      checkCapturePath(capture);
      const d = await inspectFrame(capture, flags.frame, { ftpPorts: flags.ftpPort, showPasswords: flags.showPasswords });
      if (flags.json) process.stdout.write(JSON.stringify(dissectionToJson(d), null, 2) + '\n');
      else process.stdout.write(renderLayersText(d, { hex: flags.hex !== false }));
    });
}

import type { Command } from 'commander';
import { inspectFrame } from '../analysis/sources/inspect.js';
import { maskDissection } from '../ftp/masking.js';
import { dissectionToJson, renderLayersText } from '../report/layers.js';
import { factLine, factToJson } from '../report/packet-facts.js';
import { checkCapturePath, collectPort, positiveInt, quietOnEpipe, captureArg, CAPTURE_ARG_HELP } from './report.js';

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
    .option('--json', 'print {frame, ts, captureLength, wireLength, layers: [{name, offset, length, fields}], analysis} as JSON')
    .option('--no-hex', 'leave out the hex dump')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .action(async (capture: string, flags: InspectFlags) => {
      quietOnEpipe();
      checkCapturePath(capture);
      const { dissection, fact } = await inspectFrame(capture, flags.frame, { ftpPorts: flags.ftpPort });
      const d = maskDissection(dissection, flags.showPasswords);
      if (flags.json) {
        process.stdout.write(JSON.stringify({ ...dissectionToJson(d), analysis: fact ? factToJson(fact, flags.showPasswords) : null }, null, 2) + '\n');
      } else {
        process.stdout.write((fact ? factLine(fact, flags.showPasswords) + '\n' : '') + renderLayersText(d, { hex: flags.hex !== false }));
      }
    });
}

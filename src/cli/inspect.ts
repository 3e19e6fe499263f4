import type { Command } from 'commander';
import { inspectFrame } from '../analysis/sources/inspect.js';
import { maskDissection } from '../ftp/masking.js';
import { dissectionToJson, renderLayersText } from '../report/layers.js';
import { factLine, factToJson } from '../report/packet-facts.js';
import { collectPort, positiveInt, quietOnEpipe, captureArgs, captureInputs, warnAboutFindings, CAPTURES_ARG_HELP } from './report.js';

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
    .argument('<captures...>', CAPTURES_ARG_HELP, captureArgs)
    .requiredOption('--frame <n>', 'the frame to decode, numbered from 1 as in Wireshark and ftpscope report (across all the files given, in merged order)', positiveInt)
    .option('--json', 'print {frame, ts, captureLength, wireLength, layers: [{name, offset, length, fields}], analysis} as JSON')
    .option('--no-hex', 'leave out the hex dump')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .action(async (captures: string[], flags: InspectFlags) => {
      quietOnEpipe();
      const capture = captureInputs(captures);
      const { dissection, fact, origin, findings } = await inspectFrame(capture, flags.frame, { ftpPorts: flags.ftpPort });
      // A file of the set skipped or damaged changes which packet a global frame is: say so.
      if (capture.merged) warnAboutFindings(findings);
      const d = maskDissection(dissection, flags.showPasswords);
      if (flags.json) {
        // file: where a frame of a merged set is (its file and frame number there); absent for one file.
        const file = origin ? { file: { name: origin.file, frame: origin.frame } } : {};
        process.stdout.write(JSON.stringify({ ...dissectionToJson(d), ...file, analysis: fact ? factToJson(fact, flags.showPasswords) : null }, null, 2) + '\n');
      } else {
        const where = origin ? `frame ${flags.frame} of the merged set is frame ${origin.frame} of ${origin.file}\n` : '';
        process.stdout.write(where + (fact ? factLine(fact, flags.showPasswords) + '\n' : '') + renderLayersText(d, { hex: flags.hex !== false }));
      }
    });
}

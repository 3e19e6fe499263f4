import * as path from 'node:path';
import type { Command } from 'commander';
import { Extractor } from '../report/extract.js';
import { formatBytes } from '../report/format.js';
import { analyzeWithProgress, collectPort, captureArgs, captureInputs, CAPTURES_ARG_HELP } from './report.js';

interface ExtractFlags {
  out: string;
  ftpPort?: number[];
}

export function registerExtract(program: Command): void {
  program
    .command('extract')
    .description('write every transferred file (downloads, uploads, listings) to a directory, with an index.json')
    .argument('<captures...>', CAPTURES_ARG_HELP, captureArgs)
    .requiredOption('--out <dir>', 'directory to write into (created if missing)')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .action(async (captures: string[], flags: ExtractFlags) => {
      const capture = captureInputs(captures);
      const extractor = new Extractor(flags.out, capture.name);
      // Blocking reads: the extractor writes with writeSync, so nothing waits on the event loop.
      const a = await analyzeWithProgress(capture, { ftpPorts: flags.ftpPort, openDataSink: extractor.openDataSink, blockingReads: true });
      extractor.settle(a);
      const index = extractor.finish();
      const total = index.files.reduce((n, f) => n + f.size, 0);
      const incomplete = index.files.filter((f) => !f.complete).length;
      process.stdout.write(`wrote ${index.files.length} file${index.files.length === 1 ? '' : 's'} ` +
        `(${formatBytes(total)}${incomplete ? `, ${incomplete} incomplete` : ''}) to ${flags.out}; ` +
        `index: ${path.join(flags.out, 'index.json')}\n`);
      if (index.skipped.length > 0) {
        process.stderr.write(`ftpscope: ${index.skipped.length} data connection(s) not written, see "skipped" in index.json\n`);
      }
    });
}

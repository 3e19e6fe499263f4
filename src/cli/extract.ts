import * as path from 'node:path';
import type { Command } from 'commander';
import { Extractor, type ExtractIndex } from '../report/extract.js';
import { formatBytes } from '../report/format.js';
import type { DisplayFilter } from '../report/filter/index.js';
import {
  analyzeWithProgress, collectPort, captureArgs, captureInputs, displayFilterArg, limitsOf, positiveInt, CAPTURES_ARG_HELP, DISPLAY_FILTER_HELP,
  MAX_FLOWS_HELP, MEMORY_BUDGET_HELP,
} from './report.js';
import { preferThroughputGc } from './batch-gc.js';
import type { CommandSink, StreamingCounters } from '../analysis/analyzer.js';
import type { CaptureInputs } from '../capture/inputs.js';

export interface ExtractFlags {
  out: string;
  ftpPort?: number[];
  displayFilter?: DisplayFilter;
  maxFlows?: number;
  memoryBudget?: number;
}

/** A command sink that keeps nothing (AnalyzerOptions.streamCommands). */
const FORGET_COMMANDS: CommandSink = { command: () => {}, anchored: () => {} };

/** Analyzes the capture and writes its files to flags.out; `counters` hears what streaming commands did. */
export async function extractFiles(capture: CaptureInputs, flags: ExtractFlags, counters?: StreamingCounters): Promise<ExtractIndex> {
  const f = flags.displayFilter; // passwords stay masked: an extract is chosen by what reports show
  const extractor = new Extractor(flags.out, capture.name, f && ((s, dc) => (f.perTransfer || !s ? f.matchesTransfer(s, dc) : f.matchesSession(s))));
  try {
    // Blocking reads: the extractor writes with writeSync, so nothing waits on the event loop.
    const a = await analyzeWithProgress(capture, {
      ftpPorts: flags.ftpPort, ...limitsOf(flags), openDataSink: extractor.openDataSink, retireSession: (s) => extractor.settleSession(s), blockingReads: true,
      // A file's name and path come from its data connection, not the session's command list: unless
      // a display filter may ask about the session, commands are forgotten as they complete (a session
      // of a million commands held them all), and a long session's final data connections are
      // accounted for and let go before the session ends.
      ...(f ? {} : { streamCommands: FORGET_COMMANDS, streamDataConnections: { dataConnection: (s, dc) => extractor.settleData(s, dc) } }),
      streamingCounters: counters,
    });
    extractor.settle(a);
    return extractor.finish();
  } catch (e) {
    // No temporary .ftpscope-part-* file is left behind when the run fails.
    extractor.abandon();
    throw e;
  }
}

export function registerExtract(program: Command): void {
  program
    .command('extract')
    .description('write every transferred file (downloads, uploads, listings) to a directory, with an index.json')
    .argument('<captures...>', CAPTURES_ARG_HELP, captureArgs)
    .requiredOption('--out <dir>', 'directory to write into (created if missing)')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('-Y, --display-filter <expr>', DISPLAY_FILTER_HELP, displayFilterArg)
    .option('--max-flows <n>', MAX_FLOWS_HELP, positiveInt)
    .option('--memory-budget <MB>', MEMORY_BUDGET_HELP, positiveInt)
    .addHelpText('after', `
Files are named s<session>-d<data connection>-<verb>-<remote path>. Bytes missing from the capture
are holes (zeros) at their true offsets, listed under "gaps" in index.json; a file that is not the
whole transfer ends in ".incomplete".

Existing files in the directory: a file with the same name and the same content (a previous run
on the same capture) is replaced, so running extract twice gives no duplicates; a file with the
same name but other content is left alone and the new file gets -2, -3, ... before its extension.
index.json is rewritten and lists this run's files only.`)
    .action(async (captures: string[], flags: ExtractFlags) => {
      preferThroughputGc();
      const index = await extractFiles(captureInputs(captures), flags);
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

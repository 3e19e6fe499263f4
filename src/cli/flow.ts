import type { Command } from 'commander';
import { FtpscopeError } from '../errors.js';
import { renderLadder } from '../report/ladder.js';
import { formatEndpoint } from '../report/format.js';
import { NO_SESSIONS_HINT } from '../report/text.js';
import { analyzeWithProgress, collectPort, positiveInt, quietOnEpipe, captureArg, CAPTURE_ARG_HELP } from './report.js';

/** The narrowest ladder renderLadder draws (MIN_WIDTH in src/report/ladder.ts); it widens anything less. */
const MIN_FLOW_WIDTH = 40;

interface FlowFlags {
  session?: number;
  width?: number;
  ftpPort?: number[];
  graphs?: boolean;
}

export function registerFlow(program: Command): void {
  program
    .command('flow')
    .description('draw each FTP session as a ladder diagram: commands, replies and nested data connections')
    .argument('<capture>', CAPTURE_ARG_HELP, captureArg)
    .option('--session <id>', 'only this session (ids as in `ftpscope report`)', positiveInt)
    .option('--width <columns>', 'diagram width, at least 40 (default: the terminal width, or 80)', positiveInt)
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--graphs', 'under each data connection: its throughput over time as a sparkline and what limited it')
    .action(async (capture: string, flags: FlowFlags) => {
      // Refused rather than silently drawn wider than asked.
      if (flags.width !== undefined && flags.width < MIN_FLOW_WIDTH) {
        throw new FtpscopeError('usage', `--width must be at least ${MIN_FLOW_WIDTH} (got ${flags.width})`);
      }
      quietOnEpipe();
      const a = await analyzeWithProgress(capture, { ftpPorts: flags.ftpPort, blockingReads: true, transferTimelines: flags.graphs === true });
      const width = flags.width ?? (process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80);
      let sessions = a.sessions;
      if (flags.session !== undefined) {
        sessions = a.sessions.filter((s) => s.id === flags.session);
        if (sessions.length === 0) {
          throw new FtpscopeError('usage', `${capture} has no session ${flags.session} (it has ${a.sessions.length})`,
            a.sessions.length > 0 ? `use an id from 1 to ${a.sessions.length}, as listed by ftpscope report` : 'no FTP session was found in it');
        }
      }
      const out: string[] = [];
      if (a.sessions.length === 0) out.push(`${capture}: ${NO_SESSIONS_HINT}`);
      for (const s of sessions) {
        if (out.length > 0) out.push('');
        for (const line of renderLadder(s, { width, graphs: flags.graphs === true })) out.push(line.text);
      }
      if (flags.session === undefined && a.unpairedDataConnections.length > 0) {
        out.push('', `unpaired data connections (${a.unpairedDataConnections.length}):`);
        for (const dc of a.unpairedDataConnections) {
          out.push(`  #${dc.id} ${formatEndpoint(dc.client)} -> ${formatEndpoint(dc.server)} ${dc.bytes} bytes`.slice(0, width));
        }
      }
      process.stdout.write(out.join('\n') + '\n');
    });
}

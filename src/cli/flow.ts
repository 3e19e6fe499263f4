import { Option, type Command } from 'commander';
import { FtpscopeError } from '../errors.js';
import { MIN_LADDER_WIDTH, renderLadder } from '../report/ladder.js';
import { formatEndpoint } from '../report/format.js';
import { mermaidSequence, plantumlSequence } from '../report/sequence.js';
import { NO_SESSIONS_HINT } from '../report/text.js';
import type { DisplayFilter } from '../report/filter/index.js';
import { analyzeWithProgress, collectPort, displayFilterArg, positiveInt, quietOnEpipe, withPasswords, captureArgs, captureInputs, CAPTURES_ARG_HELP, DISPLAY_FILTER_HELP } from './report.js';

/** The narrowest ladder renderLadder draws; it widens anything less. */
const MIN_FLOW_WIDTH = MIN_LADDER_WIDTH;

interface FlowFlags {
  session?: number;
  width?: number;
  ftpPort?: number[];
  graphs?: boolean;
  showPasswords?: boolean;
  displayFilter?: DisplayFilter;
  format?: 'text' | 'mermaid' | 'plantuml';
}

export function registerFlow(program: Command): void {
  program
    .command('flow')
    .description('draw each FTP session as a ladder diagram in time order: commands, replies and each data connection on its own lane')
    .argument('<captures...>', CAPTURES_ARG_HELP, captureArgs)
    .option('--session <id>', 'only this session (ids as in `ftpscope report`)', positiveInt)
    .option('--width <columns>', 'diagram width, at least 40 (default: the terminal width, or 80)', positiveInt)
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .option('-Y, --display-filter <expr>', DISPLAY_FILTER_HELP, displayFilterArg)
    .addOption(new Option('--format <format>', 'text (the ladder), or a sequence diagram for wikis and tickets: mermaid (one sequenceDiagram per session) or plantuml (one @startuml block per session)')
      .choices(['text', 'mermaid', 'plantuml']).default('text'))
    .option('--graphs', 'under each data connection: its throughput over time as a sparkline and what limited it')
    .action(async (captures: string[], flags: FlowFlags) => {
      // Refused rather than silently drawn wider than asked.
      if (flags.width !== undefined && flags.width < MIN_FLOW_WIDTH) {
        throw new FtpscopeError('usage', `--width must be at least ${MIN_FLOW_WIDTH} (got ${flags.width})`);
      }
      quietOnEpipe();
      const capture = captureInputs(captures);
      const a = await analyzeWithProgress(capture, { ftpPorts: flags.ftpPort, blockingReads: true, transferTimelines: flags.graphs === true });
      const width = flags.width ?? (process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80);
      const filter = withPasswords(flags.displayFilter, flags.showPasswords === true);
      let sessions = filter ? a.sessions.map((s) => filter.keepSession(s)).filter((s): s is NonNullable<typeof s> => s !== null) : a.sessions;
      if (flags.session !== undefined) {
        sessions = sessions.filter((s) => s.id === flags.session);
        if (sessions.length === 0) {
          throw new FtpscopeError('usage', `${capture.name} has no session ${flags.session} (it has ${a.sessions.length})`,
            a.sessions.length > 0 ? `use an id from 1 to ${a.sessions.length}, as listed by ftpscope report` : 'no FTP session was found in it');
        }
      }
      if (flags.format === 'mermaid' || flags.format === 'plantuml') {
        // Only diagrams on stdout, so it can be piped to a renderer; the hint goes to stderr.
        if (a.sessions.length === 0) process.stderr.write(`${capture.name}: ${NO_SESSIONS_HINT}\n`);
        const draw = flags.format === 'mermaid' ? mermaidSequence : plantumlSequence;
        process.stdout.write(sessions.map((s) => draw(s, { showPasswords: flags.showPasswords })).join('\n'));
        return;
      }
      const out: string[] = [];
      if (a.sessions.length === 0) out.push(`${capture.name}: ${NO_SESSIONS_HINT}`);
      for (const s of sessions) {
        if (out.length > 0) out.push('');
        for (const line of renderLadder(s, { width, showPasswords: flags.showPasswords, graphs: flags.graphs === true })) out.push(line.text);
      }
      const unpaired = filter ? a.unpairedDataConnections.filter((dc) => filter.matchesTransfer(null, dc)) : a.unpairedDataConnections;
      if (filter && sessions.length === 0 && a.sessions.length > 0 && flags.session === undefined) out.push(`${capture.name}: no session matches the display filter ${filter.expr}`);
      if (flags.session === undefined && unpaired.length > 0) {
        out.push('', `unpaired data connections (${unpaired.length}):`);
        for (const dc of unpaired) {
          out.push(`  #${dc.id} ${formatEndpoint(dc.client)} -> ${formatEndpoint(dc.server)} ${dc.bytes} bytes`.slice(0, width));
        }
      }
      process.stdout.write(out.join('\n') + '\n');
    });
}

import { Option, type Command } from 'commander';
import { FtpscopeError } from '../errors.js';
import { MIN_LADDER_WIDTH, writeLadderText } from '../report/ladder.js';
import { formatEndpoint } from '../report/format.js';
import { mermaidSequence, plantumlSequence } from '../report/sequence.js';
import { NO_SESSIONS_HINT } from '../report/text.js';
import { ChunkedWriter } from '../report/output.js';
import { SessionSpool } from '../report/spool.js';
import { SessionPiece } from '../report/json.js';
import type { Session } from '../model/types.js';
import type { DisplayFilter } from '../report/filter/index.js';
import {
  analyzeWithProgress, collectPort, displayFilterArg, limitsOf, positiveInt, quietOnEpipe, withPasswords, captureArgs, captureInputs, CAPTURES_ARG_HELP,
  DISPLAY_FILTER_HELP, MAX_FLOWS_HELP, MEMORY_BUDGET_HELP,
} from './report.js';
import { collectingWrite, preferThroughputGc } from './batch-gc.js';

/** How long a closed connection's late packets still count as its own (the tracker's linger, TIME-WAIT). */
const LATE_PACKETS_SEC = 60;
/** Final sessions held back for their late packets, at most. */
const MAX_WAITING = 1024;

/** The narrowest ladder drawn (report/ladder.ts); anything less is widened. */
const MIN_FLOW_WIDTH = MIN_LADDER_WIDTH;

interface FlowFlags {
  session?: number;
  width?: number;
  ftpPort?: number[];
  graphs?: boolean;
  showPasswords?: boolean;
  displayFilter?: DisplayFilter;
  format?: 'text' | 'mermaid' | 'plantuml';
  maxFlows?: number;
  memoryBudget?: number;
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
    .option('--max-flows <n>', MAX_FLOWS_HELP, positiveInt)
    .option('--memory-budget <MB>', MEMORY_BUDGET_HELP, positiveInt)
    .addOption(new Option('--format <format>', 'text (the ladder), or a sequence diagram for wikis and tickets: mermaid (one sequenceDiagram per session) or plantuml (one @startuml block per session)')
      .choices(['text', 'mermaid', 'plantuml']).default('text'))
    .option('--graphs', 'under each data connection: its throughput over time as a sparkline and what limited it')
    .action(async (captures: string[], flags: FlowFlags) => {
      preferThroughputGc();
      // Refused rather than silently drawn wider than asked.
      if (flags.width !== undefined && flags.width < MIN_FLOW_WIDTH) {
        throw new FtpscopeError('usage', `--width must be at least ${MIN_FLOW_WIDTH} (got ${flags.width})`);
      }
      quietOnEpipe();
      const capture = captureInputs(captures);
      const width = flags.width ?? (process.stdout.isTTY && process.stdout.columns ? process.stdout.columns : 80);
      const filter = withPasswords(flags.displayFilter, flags.showPasswords === true);
      const diagram = flags.format === 'mermaid' || flags.format === 'plantuml';
      const draw = flags.format === 'mermaid' ? mermaidSequence : plantumlSequence;
      // Each session is drawn once final and parked in a spool (memory: the sessions still open),
      // then written in id order.
      // A ladder goes to the spool a line at a time (a long session's would be hundreds of MB as one string).
      const spool = diagram
        ? new SessionSpool((s) => draw(s, { showPasswords: flags.showPasswords }))
        : new SessionSpool({ text: (s, write) => writeLadderText(s, { width, showPasswords: flags.showPasswords, graphs: flags.graphs === true }, collectingWrite(write)) });
      let seen = 0;
      const draw1 = (all: Session): void => {
        const s = filter ? filter.keepSession(all) : all;
        if (s) spool.add(s);
      };
      // A final session still takes its connection's late packets (the last ACK of a FIN) for a
      // while, and the ladder draws them: it is drawn once that while has passed in capture time,
      // or when too many wait.
      const waiting: Session[] = [];
      const keep = (s: Session): void => {
        seen++;
        if (flags.session !== undefined && s.id !== flags.session) return;
        waiting.push(s);
        while (waiting.length > MAX_WAITING || (waiting.length > 0 && waiting[0]!.end < s.end - LATE_PACKETS_SEC)) draw1(waiting.shift()!);
      };
      try {
        const a = await analyzeWithProgress(capture, { ftpPorts: flags.ftpPort, ...limitsOf(flags), retireSession: keep, blockingReads: true, transferTimelines: flags.graphs === true });
        for (const s of a.sessions) keep(s);
        for (const s of waiting.splice(0)) draw1(s);
        if (flags.session !== undefined && spool.sessions === 0) {
          throw new FtpscopeError('usage', `${capture.name} has no session ${flags.session} (it has ${seen})`,
            seen > 0 ? `use an id from 1 to ${seen}, as listed by ftpscope report` : 'no FTP session was found in it');
        }
        const w = new ChunkedWriter(process.stdout);
        if (diagram) {
          // Only diagrams on stdout, so it can be piped to a renderer; the hint goes to stderr.
          if (seen === 0) process.stderr.write(`${capture.name}: ${NO_SESSIONS_HINT}\n`);
          let first = true;
          for (const chunk of spool.chunks()) {
            if (!first) await w.write('\n');
            first = false;
            await w.write(chunk);
          }
          await w.end();
          return;
        }
        // Lines, a blank one between ladders, as one text ending in a newline.
        let any = false;
        const line = async (text: string | Buffer): Promise<void> => {
          if (any) await w.write('\n');
          any = true;
          await w.write(text);
        };
        if (seen === 0) await line(`${capture.name}: ${NO_SESSIONS_HINT}`);
        // A long session comes back in pieces: the first begins its ladder, the others go on with it.
        for (const chunk of spool.chunks({ split: true })) {
          if (chunk instanceof SessionPiece) {
            await w.write(chunk.bytes);
            continue;
          }
          if (any) await line('');
          await line(chunk);
        }
        const unpaired = filter ? a.unpairedDataConnections.filter((dc) => filter.matchesTransfer(null, dc)) : a.unpairedDataConnections;
        if (filter && spool.sessions === 0 && seen > 0 && flags.session === undefined) await line(`${capture.name}: no session matches the display filter ${filter.expr}`);
        if (flags.session === undefined && unpaired.length > 0) {
          await line('');
          await line(`unpaired data connections (${unpaired.length}):`);
          for (const dc of unpaired) {
            await line(`  #${dc.id} ${formatEndpoint(dc.client)} -> ${formatEndpoint(dc.server)} ${dc.bytes} bytes`.slice(0, width));
          }
        }
        await w.write('\n');
        await w.end();
      } finally {
        spool.close();
      }
    });
}

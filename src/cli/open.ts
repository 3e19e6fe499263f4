import * as fs from 'node:fs';
import type { Command } from 'commander';
import { FtpscopeError } from '../errors.js';
import { captureArgs, captureInputs, collectPort, printReport, quietOnEpipe } from './report.js';
import { preferThroughputGc } from './batch-gc.js';

interface OpenFlags {
  ftpPort?: number[];
  mouse: boolean;
  color: boolean;
  showPasswords?: boolean;
}

/**
 * `ftpscope <capture>` and `ftpscope open <capture>`: the dashboard on a terminal, the text
 * report when stdout is not one (pipes, CI), so scripts never get escape codes.
 */
export function registerOpen(program: Command, { defaultCommand }: { defaultCommand: boolean }): void {
  program
    .command('open', { isDefault: defaultCommand })
    .description('open a capture in the terminal dashboard (the default command; prints the report when not on a terminal)')
    .argument('[captures...]', 'pcap or pcapng files (optionally gzip-compressed) or directories of them, merged in time order into one analysis', captureArgs)
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--no-mouse', 'do not capture the mouse (lets the terminal select text)')
    .option('--no-color', 'no colours (NO_COLOR is honoured too); meaning never depends on colour')
    .option('--show-passwords', 'show PASS, ACCT and ADAT arguments instead of **** (packets, layers, hex, flow)')
    .action(async (captures: string[] | undefined, flags: OpenFlags) => {
      if (captures === undefined || captures.length === 0) {
        program.outputHelp();
        return;
      }
      const capture = captureInputs(captures);
      const showPasswords = !!flags.showPasswords;
      const tty = process.stdout.isTTY === true && process.stdin.isTTY === true;
      if (!tty) {
        quietOnEpipe();
        preferThroughputGc();
        await printReport(capture, { ftpPorts: flags.ftpPort, showPasswords });
        return;
      }
      const single = capture.merged ? null : capture.files[0]!;
      if (single !== null && !fs.statSync(single).isFile()) {
        throw new FtpscopeError('capture-unsupported', `${single} is a pipe, and the dashboard re-reads packets from its file`,
          'save the capture to a file first (tee capture.pcap), or use ftpscope report, which reads pipes');
      }
      // The dashboard (blessed) is loaded only when it runs, so other commands start faster.
      const { loadCaptures } = await import('../analysis/sources/files.js');
      const { runFileDashboard } = await import('../tui/app.js');
      const { fileExports } = await import('../tui/exports.js');
      // One file, or a set merged; either way the loader re-reads a packet from the file it is in.
      const load = loadCaptures(capture, flags.ftpPort);
      // A file that is not a capture fails at once: report it before taking over the terminal.
      await Promise.race([load.analysis, load.firstPacket]);
      await runFileDashboard(load, {
        title: capture.name,
        mouse: flags.mouse,
        noColor: !flags.color,
        showPasswords,
        readFrame: load.readFrame,
        // Exports re-read a session's packets from its one file (a merged set: not yet).
        exports: single !== null ? fileExports(single, { ftpPorts: flags.ftpPort, showPasswords }) : undefined,
      });
    });
}


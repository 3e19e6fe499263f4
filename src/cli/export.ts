import type { Command } from 'commander';
import { FtpscopeError } from '../errors.js';
import {
  analyzeForExport, checkOutput, exportJson, exportLadder, exportSessionPcapng, exportTransfer, findSession, findTransfer,
  parseTransferId, type ExportResult,
} from '../report/export.js';
import { MIN_LADDER_WIDTH } from '../report/ladder.js';
import { checkCapturePath, collectPort, positiveInt } from './report.js';

interface ExportFlags {
  session: number;
  out?: string;
  transfer?: string;
  ladder?: string;
  json?: string;
  width?: number;
  force?: boolean;
  ftpPort?: number[];
  showPasswords?: boolean;
}

/**
 * `ftpscope export <capture> --session ID`: what the dashboard's export keys write, from the
 * command line. One analysis serves every output asked for in the same run.
 */
export function registerExport(program: Command): void {
  program
    .command('export')
    .description('save one session: its packets as pcapng (control + data connections), one transfer\'s file, its ladder, its JSON')
    .argument('<capture>', 'pcap or pcapng file (optionally gzip-compressed); a file, since its packets are read twice')
    .requiredOption('--session <id>', 'the session (ids as in `ftpscope report`)', positiveInt)
    .option('--out <file>', 'write the session\'s packets as pcapng (with --transfer: that transfer\'s file)')
    .option('--transfer <Dn>', 'with --out: write the payload of this data connection of the session (D1, D2, …)')
    .option('--ladder <file>', 'write the session\'s flow ladder as text')
    .option('--json <file>', 'write the session\'s report as JSON')
    .option('--width <columns>', `ladder width, at least ${MIN_LADDER_WIDTH} (default 100)`, positiveInt)
    .option('--force', 'replace files that already exist')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'ladder and JSON: print PASS, ACCT and ADAT arguments instead of **** (the pcapng always keeps the real bytes)')
    .addHelpText('after', `
Examples:
  ftpscope export capture.pcap --session 2 --out s2.pcapng
  ftpscope export capture.pcap --session 2 --transfer D1 --out robots.txt
  ftpscope export capture.pcap --session 2 --ladder s2.txt --json s2.json

Existing files are not replaced without --force. Each file written is reported on one line.`)
    .action(async (capture: string, flags: ExportFlags) => {
      if (!flags.out && !flags.ladder && !flags.json) {
        throw new FtpscopeError('usage', 'nothing to export', 'give --out FILE (pcapng, or with --transfer the file), --ladder FILE or --json FILE');
      }
      if (flags.transfer !== undefined && !flags.out) {
        throw new FtpscopeError('usage', '--transfer needs --out FILE (where to write the transferred file)');
      }
      const transfer = flags.transfer === undefined ? null : parseTransferId(flags.transfer);
      if (flags.transfer !== undefined && transfer === null) {
        throw new FtpscopeError('usage', `--transfer '${flags.transfer}' is not a data connection id`, 'use D1, D2, … as listed by ftpscope report');
      }
      if (flags.width !== undefined && flags.width < MIN_LADDER_WIDTH) {
        throw new FtpscopeError('usage', `--width must be at least ${MIN_LADDER_WIDTH} (got ${flags.width})`);
      }
      const outputs = [flags.out, flags.ladder, flags.json].filter((f): f is string => f !== undefined);
      if (new Set(outputs).size !== outputs.length) {
        throw new FtpscopeError('usage', 'two outputs name the same file', 'give each of --out, --ladder and --json its own file');
      }
      checkCapturePath(capture);
      // Every output is checked before the capture is read: a bad path fails at once, and nothing is half written.
      for (const f of outputs) checkOutput(f, flags.force);

      const opts = { overwrite: flags.force === true, ftpPorts: flags.ftpPort, showPasswords: flags.showPasswords === true };
      const results: ExportResult[] = [];
      if (transfer !== null) {
        // The transferred bytes are streamed by an analysis of their own (the one below keeps packets, not payloads).
        results.push(await exportTransfer(capture, flags.session, transfer, flags.out!, opts));
      }
      const wantPackets = flags.out !== undefined && transfer === null;
      if (wantPackets || flags.ladder || flags.json) {
        const a = await analyzeForExport(capture, { ftpPorts: flags.ftpPort });
        const s = findSession(a, capture, flags.session);
        if (transfer !== null) findTransfer(s, transfer);
        if (wantPackets) results.push(await exportSessionPcapng(capture, s, flags.out!, opts));
        if (flags.ladder) results.push(exportLadder(s, flags.ladder, { ...opts, width: flags.width }));
        if (flags.json) results.push(exportJson(s, flags.json, opts));
      }
      for (const r of results) process.stdout.write(`wrote ${r.what} to ${r.path}\n`);
    });
}

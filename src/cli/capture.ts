import { InvalidArgumentError, type Command } from 'commander';
import type { PacketRecord } from '../capture/types.js';
import { FtpscopeError } from '../errors.js';
import type { Analysis } from '../model/types.js';
import { eventToJson, findingToJson, reportJsonChunks } from '../report/json.js';
import { renderReportText } from '../report/text.js';
import { collectPort, positiveInt, quietOnEpipe } from './report.js';

import { dropAdvice, startLiveCapture, type CaptureResult, type LiveCaptureOptions } from '../analysis/sources/live.js';
import { LIVE_DEFAULTS } from '../capture/live.js';

interface CaptureFlags {
  interface: string;
  filter?: string;
  write?: string;
  count?: number;
  duration?: number;
  snaplen?: number;
  bufferSize?: number;
  immediate?: boolean;
  json?: boolean;
  ndjson?: boolean;
  ftpPort?: number[];
  showPasswords?: boolean;
  tui?: boolean;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0) throw new InvalidArgumentError(`'${value}' is not a positive number of seconds.`);
  return n;
}

function bufferArg(value: string): number {
  const n = positiveInt(value);
  if (n < 64 || n > 4 * 1024 * 1024) throw new InvalidArgumentError(`'${value}' KiB is not between 64 and 4194304 (4 GiB).`);
  return n * 1024;
}

function snaplenArg(value: string): number {
  const n = positiveInt(value);
  if (n > 262144) throw new InvalidArgumentError(`'${value}' is larger than 262144, the most a capture keeps.`);
  return n;
}

export function registerCapture(program: Command): void {
  program
    .command('capture')
    .description('capture FTP traffic live from a network interface (libpcap) and analyze it as it happens')
    .requiredOption('-i, --interface <name>', 'interface to capture on (see: ftpscope interfaces)')
    .option('-f, --filter <bpf>', 'BPF capture filter, e.g. "tcp port 21 or portrange 1024-65535"')
    .option('-w, --write <file>', 'also write every captured packet to this pcapng file')
    .option('-c, --count <n>', 'stop after this many packets', positiveInt)
    .option('--duration <seconds>', 'stop after this many seconds', seconds)
    .option('-s, --snaplen <bytes>', `bytes kept of each packet (default ${LIVE_DEFAULTS.snaplen}: whole packets, GSO/GRO ones included)`, snaplenArg)
    .option('-B, --buffer-size <KiB>', `kernel buffer for packets not yet read, in KiB as tcpdump's -B (default ${LIVE_DEFAULTS.bufferSize / 1024})`, bufferArg)
    .option('--immediate', 'hand each packet over as it arrives (libpcap immediate mode: lower latency, but the buffer holds far fewer packets)')
    .option('--json', 'when stopped, print the report as JSON instead of text')
    .option('--ndjson', 'print one JSON object per event as it happens (sessions, commands, replies, data connections, findings)')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .option('--tui', 'watch the capture in the interactive dashboard')
    .addHelpText('after', '\nStops on Ctrl-C, -c or --duration, then prints the report. Needs root or CAP_NET_RAW.')
    .action(async (flags: CaptureFlags) => {
      if ([flags.json, flags.ndjson, flags.tui].filter(Boolean).length > 1) {
        throw new FtpscopeError('usage', '--json, --ndjson and --tui cannot be combined', 'pick one output');
      }
      quietOnEpipe();
      const showPasswords = flags.showPasswords === true;
      const out = (s: string): void => { process.stdout.write(s); };
      const opts: LiveCaptureOptions = {
        device: flags.interface,
        filter: flags.filter,
        write: flags.write,
        count: flags.count,
        durationSec: flags.duration,
        snaplen: flags.snaplen,
        bufferSize: flags.bufferSize,
        immediate: flags.immediate,
        ftpPorts: flags.ftpPort,
        keepPackets: flags.tui === true,
        maxPacketsPerSession: flags.tui ? 5000 : undefined,
        onEvent: flags.ndjson ? (ev) => out(JSON.stringify(eventToJson(ev, { showPasswords })) + '\n') : undefined,
      };
      if (flags.tui) return runTui(opts, showPasswords);

      const running = startLiveCapture(opts);
      const onSigint = (): void => { void running.stop('interrupted'); };
      process.once('SIGINT', onSigint);
      process.once('SIGTERM', onSigint);
      process.stderr.write(`ftpscope: capturing on ${running.live.device} (${running.live.linkTypeName}, via ${running.live.backend})${flags.filter ? ` with filter "${flags.filter}"` : ''}${flags.write ? `, writing ${flags.write}` : ''}; Ctrl-C stops\n`);
      let result: CaptureResult;
      try {
        result = await running.done;
      } finally {
        process.removeListener('SIGINT', onSigint);
        process.removeListener('SIGTERM', onSigint);
      }
      process.stderr.write(captureSummary(result, opts, running.live.backend));
      const a = result.analysis;
      if (flags.ndjson) {
        out(JSON.stringify({
          type: 'end', session: null, source: { ...a.source, linkTypes: [...a.source.linkTypes] },
          sessions: a.sessions.length, unpairedDataConnections: a.unpairedDataConnections.length,
          findings: a.findings.map(findingToJson),
        }) + '\n');
      } else if (flags.json) {
        for (const chunk of reportJsonChunks(a, { showPasswords })) out(chunk);
        out('\n');
      } else {
        out(renderReportText(a, { showPasswords }));
      }
    });
}

async function runTui(opts: LiveCaptureOptions, showPasswords: boolean): Promise<void> {
  let app: { runLiveDashboard?: (source: {
    title: string;
    snapshot(): Analysis;
    stop(): void | Promise<void>;
    readFrame?: (frame: number, fileOffset: number) => Promise<PacketRecord>;
    waiting?: string;
    notice?: () => string | null;
  }, opts?: { showPasswords?: boolean }) => Promise<void> } | null = null;
  try {
    app = await import('../tui/app.js');
  } catch {
    app = null;
  }
  if (!app?.runLiveDashboard) {
    throw new FtpscopeError('usage', 'the dashboard is not available in this build', 'run capture without --tui to get the report');
  }
  if (!process.stdout.isTTY) {
    throw new FtpscopeError('usage', '--tui needs a terminal, and stdout is not one', 'run it in a terminal, or drop --tui to get the report');
  }
  const running = startLiveCapture(opts);
  await app.runLiveDashboard({
    title: running.title,
    snapshot: () => running.pipeline.snapshot(),
    stop: async () => { await running.stop('stopped'); },
    readFrame: (frame, fileOffset) => running.readFrame(frame, fileOffset),
    waiting: running.waiting,
    // Drops as they happen, in the status line: the kernel's (gaps ahead) and the -w file's.
    notice: () => {
      const c = running.counts();
      const parts = [
        c.kernelDropped > 0 ? `the kernel has dropped ${c.kernelDropped} packets on ${opts.device}: expect gaps (raise -B, narrow -f)` : '',
        c.writeDropped > 0 ? `${c.writeDropped} packets not written to ${opts.write}: the disk is behind` : '',
      ].filter(Boolean);
      return parts.length ? `! ${parts.join('; ')}` : null;
    },
  }, { showPasswords });
  const result = await running.done;
  // Said on quit too: the dashboard is gone, and a count of drops decides whether to trust the figures.
  process.stderr.write(captureSummary(result, opts, running.live.backend));
}

/** The line said when capturing stops: counts, drops, and what to change when there were any. */
export function captureSummary(result: CaptureResult, opts: LiveCaptureOptions, backend: string): string {
  const parts = [`${result.packets} packets captured`];
  if (opts.write) parts.push(`${result.written} written to ${opts.write}${result.dropped ? ` (${result.dropped} not written: the disk was too slow)` : ''}`);
  if (result.kernelDropped) parts.push(`${result.kernelDropped} DROPPED by the kernel (the report has gaps). ${dropAdvice(opts)}`);
  // The cap addon hands on no drop counters: say so rather than a reassuring 0.
  else parts.push(backend === 'libpcap' ? '0 dropped by the kernel' : `kernel drops unknown (the ${backend} backend does not count them)`);
  return `ftpscope: ${parts.join(', ')}\n`;
}

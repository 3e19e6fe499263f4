import { InvalidArgumentError, type Command } from 'commander';
import { openLive, type LiveCapture } from '../capture/live.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { RecentPackets } from '../capture/recent.js';
import type { CaptureInfo, PacketRecord } from '../capture/types.js';
import { FtpscopeError } from '../errors.js';
import { finding } from '../model/findings.js';
import { Pipeline } from '../model/pipeline.js';
import type { Analysis, AnalysisEvent } from '../model/types.js';
import { eventToJson, reportJsonChunks } from '../report/json.js';
import { renderReportText } from '../report/text.js';
import { collectPort, positiveInt, quietOnEpipe } from './report.js';

export interface LiveCaptureOptions {
  device: string;
  /** BPF capture filter. */
  filter?: string;
  snaplen?: number;
  /** Write every packet to this pcapng file. */
  write?: string;
  /** Stop after this many packets. */
  count?: number;
  /** Stop after this many seconds. */
  durationSec?: number;
  ftpPorts?: number[];
  /** Keep per-session packet lists (the dashboard). */
  keepPackets?: boolean;
  maxPacketsPerSession?: number;
  onEvent?: (ev: AnalysisEvent) => void;
  /** Memory for recently captured packets that readFrame can return (default 32 MiB). */
  recentBytes?: number;
}

export type StopReason = 'count' | 'duration' | 'interrupted' | 'stopped' | 'error';

export interface CaptureResult {
  analysis: Analysis;
  reason: StopReason;
  packets: number;
  /** Packets written to --write, and those the writer had to drop because the disk fell behind. */
  written: number;
  dropped: number;
  /** Packets the kernel dropped (libpcap backend; 0 when unknown). */
  kernelDropped: number;
}

/** A running live capture feeding the analysis pipeline: what `capture` and the live dashboard drive. */
export interface RunningCapture {
  pipeline: Pipeline;
  live: LiveCapture;
  title: string;
  /** Settles once capturing has stopped and the output file is complete. */
  done: Promise<CaptureResult>;
  /** Stops capturing (idempotent); resolves like done. */
  stop(reason?: StopReason): Promise<CaptureResult>;
  /** A recently captured packet, for full dissection. */
  readFrame(frame: number, fileOffset?: number): Promise<PacketRecord>;
}

/** Interval at which idle flows and stale expectations expire while capturing. */
const TICK_MS = 1000;

/**
 * Starts capturing on a device, feeding each packet to a new Pipeline (and to the -w writer).
 * Throws FtpscopeError at once when the capture cannot start (no cap, no privilege, bad device
 * or filter, unwritable output).
 */
export function startLiveCapture(opts: LiveCaptureOptions): RunningCapture {
  const title = `live: ${opts.device}${opts.filter ? ` (${opts.filter})` : ''}`;
  const pipeline = new Pipeline(
    { ftpPorts: opts.ftpPorts, keepPackets: opts.keepPackets, maxPacketsPerSession: opts.maxPacketsPerSession, onEvent: opts.onEvent },
    { type: 'live', name: opts.device },
  );
  const writer = opts.write ? new PcapngWriter(opts.write, { comment: `ftpscope live capture on ${opts.device}${opts.filter ? ` with filter "${opts.filter}"` : ''}` }) : null;
  const recent = new RecentPackets(opts.recentBytes);
  let ifId = 0;
  let stopping: Promise<CaptureResult> | null = null;
  let resolveDone!: (r: CaptureResult) => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<CaptureResult>((res, rej) => { resolveDone = res; rejectDone = rej; });
  let packets = 0;
  let failure: unknown = null;

  let live: LiveCapture;
  try {
    live = openLive({
      device: opts.device,
      filter: opts.filter,
      snaplen: opts.snaplen,
      onPacket: (rec) => {
        packets++;
        if (writer) writer.writePacket(ifId, rec.ts, rec.buf.subarray(rec.offset, rec.offset + rec.caplen), rec.wirelen);
        recent.add(rec);
        pipeline.push(rec);
        if (opts.count !== undefined && packets >= opts.count) void stop('count');
      },
      onError: (e) => {
        failure = e;
        void stop('error');
      },
    });
  } catch (e) {
    if (writer) void writer.close().catch(() => {});
    throw e;
  }
  if (writer) ifId = writer.addInterface(live.linkType, { name: opts.device, snaplen: opts.snaplen });

  const ticker = setInterval(() => pipeline.tick(Date.now() / 1000), TICK_MS);
  const timer = opts.durationSec !== undefined ? setTimeout(() => void stop('duration'), opts.durationSec * 1000) : null;

  function stop(reason: StopReason = 'stopped'): Promise<CaptureResult> {
    if (stopping) return stopping;
    stopping = (async () => {
      live.stop();
      clearInterval(ticker);
      if (timer) clearTimeout(timer);
      const info: CaptureInfo = {
        name: opts.device, format: 'pcapng', gzip: false, packets, bytes: live.stats().bytes,
        linkTypes: [live.linkTypeName], truncated: false, comments: [], findings: [],
      };
      const kernelDropped = live.stats().kernelDropped ?? 0;
      if (kernelDropped > 0) {
        info.findings.push(finding('warning', 'capture-kernel-drops',
          `the kernel dropped ${kernelDropped} packets on ${opts.device} before ftpscope could read them: expect gaps (a narrower -f filter or a smaller -s snaplen helps)`));
      }
      let closeError: unknown = null;
      if (writer) {
        await writer.close().catch((e) => { closeError = e; });
        if (writer.dropped > 0) {
          info.findings.push(finding('warning', 'capture-write-dropped',
            `${writer.dropped} packets were analyzed but not written to ${opts.write}: the disk could not keep up`));
        }
      }
      const analysis = pipeline.finish(info);
      const err = failure ?? closeError;
      if (err) throw err;
      return { analysis, reason, packets, written: writer?.packets ?? 0, dropped: writer?.dropped ?? 0, kernelDropped };
    })();
    stopping.then(resolveDone, rejectDone);
    return stopping;
  }

  return {
    pipeline,
    live,
    title,
    done,
    stop,
    readFrame: async (frame) => {
      const rec = recent.get(frame);
      if (rec) return rec;
      const range = recent.range();
      throw new FtpscopeError('frame-not-found', `frame ${frame} is no longer kept in memory${range ? ` (frames ${range[0]}-${range[1]} are)` : ''}`,
        'write the capture with -w FILE and open that file to see every packet');
    },
  };
}

interface CaptureFlags {
  interface: string;
  filter?: string;
  write?: string;
  count?: number;
  duration?: number;
  snaplen?: number;
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
    .option('-s, --snaplen <bytes>', 'bytes kept of each packet (default: whole packets)', snaplenArg)
    .option('--json', 'when stopped, print the report as JSON instead of text')
    .option('--ndjson', 'print one JSON object per event as it happens (sessions, commands, replies, data connections, findings)')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS arguments instead of ****')
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
      process.stderr.write(`ftpscope: ${result.packets} packets captured${flags.write ? `, ${result.written} written to ${flags.write}` : ''}${result.dropped ? ` (${result.dropped} not written: disk too slow)` : ''}${result.kernelDropped ? `, ${result.kernelDropped} dropped by the kernel` : ''}\n`);
      const a = result.analysis;
      if (flags.ndjson) {
        out(JSON.stringify({
          type: 'end', session: null, source: { ...a.source, linkTypes: [...a.source.linkTypes] },
          sessions: a.sessions.length, unpairedDataConnections: a.unpairedDataConnections.length,
          findings: a.findings.map((f) => ({ severity: f.severity, code: f.code, message: f.message, frame: f.frame })),
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
  }, { showPasswords });
  const result = await running.done;
  if (opts.write) process.stderr.write(`ftpscope: ${result.written} packets written to ${opts.write}\n`);
}

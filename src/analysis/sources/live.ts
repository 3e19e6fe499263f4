/**
 * The live source: packets from a network interface (libpcap) into one Pipeline, optionally
 * written to pcapng as they come, the latest kept in memory for full dissection. Expiry runs on
 * the packets' own timestamps, like every source.
 */
import { LIVE_DEFAULTS, openLive, type LiveCapture } from '../../capture/live.js';
import { PcapngWriter } from '../../capture/pcapng-writer.js';
import { RecentPackets } from '../../capture/recent.js';
import type { CaptureInfo, PacketRecord } from '../../capture/types.js';
import { FtpscopeError } from '../../errors.js';
import { finding } from '../../model/findings.js';
import type { Analysis, AnalysisEvent } from '../../model/types.js';
import { Pipeline } from '../pipeline.js';

export interface LiveCaptureOptions {
  device: string;
  /** BPF capture filter. */
  filter?: string;
  snaplen?: number;
  /** Kernel buffer, bytes (LIVE_DEFAULTS.bufferSize when absent). */
  bufferSize?: number;
  /** libpcap immediate mode (see LiveOptions.immediate). */
  immediate?: boolean;
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

/** Counts of a running capture, as they stand. */
export interface LiveCounts {
  packets: number;
  /** Dropped by the kernel so far (libpcap backend; 0 when unknown). */
  kernelDropped: number;
  /** Not written to -w because the disk fell behind. */
  writeDropped: number;
}

/** A running live capture feeding the analysis pipeline: what `capture` and the live dashboard drive. */
export interface RunningCapture {
  pipeline: Pipeline;
  live: LiveCapture;
  title: string;
  /** What the empty dashboard waits for. */
  waiting: string;
  /** The counts now (the dashboard's status line asks every refresh). */
  counts(): LiveCounts;
  /** Settles once capturing has stopped and the output file is complete. */
  done: Promise<CaptureResult>;
  /** Stops capturing (idempotent); resolves like done. */
  stop(reason?: StopReason): Promise<CaptureResult>;
  /** A recently captured packet, for full dissection. */
  readFrame(frame: number, fileOffset?: number): Promise<PacketRecord>;
}

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
      bufferSize: opts.bufferSize,
      immediate: opts.immediate,
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

  const timer = opts.durationSec !== undefined ? setTimeout(() => void stop('duration'), opts.durationSec * 1000) : null;

  function stop(reason: StopReason = 'stopped'): Promise<CaptureResult> {
    if (stopping) return stopping;
    stopping = (async () => {
      live.stop();
      if (timer) clearTimeout(timer);
      const info: CaptureInfo = {
        name: opts.device, format: 'pcapng', gzip: false, packets, bytes: live.stats().bytes,
        linkTypes: [live.linkTypeName], truncated: false, comments: [], findings: [],
      };
      const stats = live.stats();
      const kernelDropped = stats.kernelDropped ?? 0;
      if (kernelDropped > 0) {
        info.findings.push(finding('warning', 'capture-kernel-drops',
          `the kernel dropped ${kernelDropped} packets on ${opts.device} before ftpscope could read them: expect gaps. ${dropAdvice(opts)}`));
      }
      let closeError: unknown = null;
      if (writer) {
        // The file says what the capture lost, so a report of it says so too (capture-drops-recorded).
        if (kernelDropped > 0) writer.setInterfaceStatistics(ifId, { received: packets + kernelDropped, interfaceDropped: kernelDropped, comment: `${kernelDropped} packets dropped by the kernel while capturing on ${opts.device}` });
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
    waiting: `waiting for the first FTP session on ${opts.device}${opts.filter ? ` (filter "${opts.filter}")` : ''}`,
    counts: () => ({ packets, kernelDropped: live.stats().kernelDropped ?? 0, writeDropped: writer?.dropped ?? 0 }),
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

/** What to change when the kernel drops packets, in the words of the command's options. */
export function dropAdvice(opts: { bufferSize?: number; filter?: string; immediate?: boolean }): string {
  const kib = Math.round((opts.bufferSize ?? LIVE_DEFAULTS.bufferSize) / 1024);
  const was = kib >= 1024 ? `${Math.round(kib / 1024)} MiB` : `${kib} KiB`;
  return `Give it a bigger kernel buffer (-B ${Math.max(kib * 2, 128 * 1024)} KiB; it was ${was})` +
    `${opts.filter ? ', a narrower -f filter' : ', a -f filter naming the FTP hosts'}` +
    `${opts.immediate ? ', or drop --immediate' : ''}.`;
}

/**
 * The file source: a capture file (pcap, pcapng, gzip of either) read into one Pipeline, either
 * all at once (reports) or in the background for the dashboard, which shows what has been
 * analyzed so far and settles with the final analysis.
 */
import { readCapture } from '../../capture/open.js';
import type { PacketRecord } from '../../capture/types.js';
import { Pipeline, type PipelineOptions } from '../pipeline.js';
import type { Analysis } from '../../model/types.js';
import type { PacketFact } from '../../model/packet-facts.js';
import { analyzePackets } from './packets.js';

export interface AnalyzeFileOptions extends PipelineOptions {
  onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  /** Blocking file reads (see ReadOptions.blocking): for callers whose output is synchronous. */
  blockingReads?: boolean;
  /** See ReadOptions.pace. */
  pace?: () => Promise<unknown> | undefined;
}

/**
 * Analyze a capture file keeping the facts of every TCP packet, FTP or not (display filters on
 * packets): the analysis, the packets' facts in capture order, and the time of the first packet.
 */
export function analyzeFilePackets(path: string, opts: Pick<AnalyzeFileOptions, 'ftpPorts'> = {}): Promise<{ analysis: Analysis; packets: () => Iterable<PacketFact>; start: number }> {
  return analyzePackets({ files: [path], merged: false, name: path, ignored: [] }, opts);
}

/** Analyze a capture file. */
export async function analyzeFile(path: string, opts: AnalyzeFileOptions = {}): Promise<Analysis> {
  let pipeline: Pipeline | null = null;
  const info = await readCapture(path, (rec) => {
    pipeline ??= new Pipeline({ ...opts, inputReusedOnSignal: true }, { type: 'pcap', name: path });
    pipeline.push(rec);
  }, {
    onProgress: opts.onProgress, beforeReuse: () => pipeline?.inputReused(), blocking: opts.blockingReads, pace: opts.pace,
  });
  pipeline ??= new Pipeline(opts, { type: info.format, name: path });
  pipeline.analyzer.source.type = info.format;
  return pipeline.finish(info);
}

export interface FileLoad {
  /** The final analysis; rejects when the file cannot be read. */
  analysis: Promise<Analysis>;
  /** Resolves at the first packet (or when the file turned out empty). */
  firstPacket: Promise<void>;
  /** What has been analyzed so far. */
  snapshot(): Analysis;
  /** Bytes read so far and the file's size (null when unknown) while reading, then null. */
  progress(): { read: number; total: number | null } | null;
}

/** Read and analyze the capture in the background, keeping packet facts; the dashboard shows it as it fills in. */
export function loadCapture(path: string, ftpPorts?: number[]): FileLoad {
  const pipeline = new Pipeline({ ftpPorts, keepPackets: true }, { type: 'pcap', name: path });
  return loadInBackground(pipeline,
    (onPacket, onProgress) => readCapture(path, onPacket, { chunkSize: SLICE, firstSlice: FIRST_SLICE, onProgress }),
    (info) => {
      pipeline.analyzer.source.type = info.format;
      return pipeline.finish(info);
    });
}

/**
 * What one file and a merged set share when the dashboard reads them in the background: the
 * first packet's signal, the progress figures, snapshots while reading. `read` feeds every packet
 * to the pipeline's push; `finish` makes the final analysis from what the read resolves to.
 */
export function loadInBackground<T>(
  pipeline: Pipeline,
  read: (onPacket: (rec: PacketRecord) => void, onProgress: (read: number, total: number | null) => void) => Promise<T>,
  finish: (result: T) => Analysis,
): FileLoad {
  let readBytes = 0;
  let total: number | null = null;
  let done = false;
  let first = true;
  let gotFirst: () => void = () => {};
  const firstPacket = new Promise<void>((resolve) => { gotFirst = resolve; });
  const analysis = read((rec) => {
    if (first) { first = false; gotFirst(); }
    pipeline.push(rec);
  }, (r, t) => { readBytes = r; total = t; }).then((result) => {
    done = true;
    gotFirst();
    return finish(result);
  });
  return {
    analysis,
    firstPacket,
    snapshot: () => pipeline.snapshot(),
    progress: () => (done ? null : { read: readBytes, total }),
  };
}

/**
 * The dashboard reads in small chunks: packets of one chunk are analyzed without a break, and
 * the event loop (keys, redraws) runs between chunks. readCapture's 4 MiB chunks held keys for
 * hundreds of milliseconds; 256 KiB is about 20 ms of analysis on one core.
 */
export const SLICE = 256 << 10;

/**
 * The first screen waits only for the packets of the first 32 KiB (a few hundred: the first
 * sessions), not for a whole slice's analysis, which runs while the code is still cold.
 */
export const FIRST_SLICE = 32 << 10;

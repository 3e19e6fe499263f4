/**
 * A capture file read in the background for the dashboard: the first screen does not wait for
 * the whole file; it shows what has been analyzed so far and settles with the final analysis.
 */
import { readCapture } from '../capture/open.js';
import { Pipeline } from '../model/pipeline.js';
import type { Analysis } from '../model/types.js';
import { formatBytes } from '../report/format.js';

export interface FileLoad {
  /** The final analysis; rejects when the file cannot be read. */
  analysis: Promise<Analysis>;
  /** Resolves at the first packet (or when the file turned out empty). */
  firstPacket: Promise<void>;
  /** What has been analyzed so far. */
  snapshot(): Analysis;
  /** "reading 45% of 120 MiB…" while reading, then null. */
  status(): string | null;
}

/** Read and analyze the capture in the background; the dashboard shows it as it fills in. */
export function loadCapture(path: string, ftpPorts?: number[]): FileLoad {
  const pipeline = new Pipeline({ ftpPorts, keepPackets: true }, { type: 'pcap', name: path });
  let read = 0;
  let total: number | null = null;
  let done = false;
  let first = true;
  let gotFirst: () => void = () => {};
  const firstPacket = new Promise<void>((resolve) => { gotFirst = resolve; });
  const analysis = readCapture(path, (rec) => {
    if (first) { first = false; gotFirst(); }
    pipeline.push(rec);
  }, { chunkSize: SLICE, onProgress: (r, t) => { read = r; total = t; } }).then((info) => {
    pipeline.analyzer.source.type = info.format;
    done = true;
    gotFirst();
    return pipeline.finish(info);
  });
  return {
    analysis,
    firstPacket,
    snapshot: () => pipeline.snapshot(),
    status: () => (done ? null : `reading ${total ? `${Math.min(99, Math.floor((read / total) * 100))}% of ${formatBytes(total)}` : formatBytes(read)}…`),
  };
}

/**
 * The dashboard reads in small chunks: packets of one chunk are analyzed without a break, and
 * the event loop (keys, redraws) runs between chunks. readCapture's 4 MiB chunks held keys for
 * hundreds of milliseconds; 256 KiB is about 20 ms of analysis on one core.
 */
const SLICE = 256 << 10;

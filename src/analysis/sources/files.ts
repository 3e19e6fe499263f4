/**
 * The files source: several capture files (or a directory of them) merged in timestamp order
 * into one Pipeline, so a session that spans files is one session and frames are numbered
 * across the set. Reports read it all at once; the dashboard reads it in the background, as
 * file.ts does for one file, and re-reads a packet from its own file through the frame map.
 */
import type { CaptureInputs } from '../../capture/inputs.js';
import { FrameMap, readCaptures, readMergedFrame, type MergeResult } from '../../capture/merge.js';
import { readFrame } from '../../capture/open.js';
import type { PacketRecord } from '../../capture/types.js';
import { finding } from '../../model/findings.js';
import type { Analysis, SourceFile } from '../../model/types.js';
import { Pipeline } from '../pipeline.js';
import { analyzeFile, loadCapture, loadInBackground, SLICE, type AnalyzeFileOptions, type FileLoad } from './file.js';

/** One file as always, or a set merged. */
export function analyzeCaptures(inputs: CaptureInputs, opts: AnalyzeFileOptions = {}): Promise<Analysis> {
  return inputs.merged ? analyzeFiles(inputs, opts) : analyzeFile(inputs.files[0]!, opts);
}

/** Analyze a set of capture files as one capture. */
export async function analyzeFiles(inputs: CaptureInputs, opts: AnalyzeFileOptions = {}): Promise<Analysis> {
  const pipeline = new Pipeline({ ...opts, inputReusedOnSignal: true }, { type: 'pcap', name: inputs.name });
  const m = await readCaptures(inputs.files, (rec) => pipeline.push(rec), {
    name: inputs.name, onProgress: opts.onProgress, beforeReuse: () => pipeline.inputReused(), blocking: opts.blockingReads, pace: opts.pace,
  });
  return finishSet(pipeline, m, inputs);
}

export interface CapturesLoad extends FileLoad {
  /** Re-reads a packet by its (global) frame for full dissection, from the file it is in. */
  readFrame(frame: number, fileOffset: number): Promise<PacketRecord>;
}

/** The dashboard's loader: one file as always, or a set merged; either way with a frame reader. */
export function loadCaptures(inputs: CaptureInputs, ftpPorts?: number[]): CapturesLoad {
  if (!inputs.merged) {
    const path = inputs.files[0]!;
    return { ...loadCapture(path, ftpPorts), readFrame: async (frame, fileOffset) => (await readFrame(path, frame, fileOffset)).rec };
  }
  const pipeline = new Pipeline({ ftpPorts, keepPackets: true }, { type: 'pcap', name: inputs.name });
  // Filled as packets are merged: the dashboard may look at a packet before the set is read.
  const frames = new FrameMap();
  const load = loadInBackground(pipeline,
    (onPacket, onProgress) => readCaptures(inputs.files, onPacket, { name: inputs.name, chunkSize: SLICE, frames, onProgress }),
    (m) => finishSet(pipeline, m, inputs));
  return {
    ...load,
    readFrame: (frame, fileOffset) => readMergedFrame(inputs.files, frames, frame, fileOffset),
  };
}

/**
 * Runs of one file listed in the report at most; files interleaved packet by packet (two capture
 * points) would list one per packet, so their frameRuns are null instead (inspect still maps them).
 */
const MAX_RUNS_LISTED = 10_000;

function finishSet(pipeline: Pipeline, m: MergeResult, inputs: CaptureInputs): Analysis {
  const src = pipeline.analyzer.source;
  src.type = m.info.format;
  src.files = m.files.map((f, i): SourceFile => ({
    name: f.name, format: f.format, gzip: f.gzip, packets: f.packets, bytes: f.bytes, linkTypes: [...f.linkTypes],
    truncated: f.truncated, firstFrame: f.firstFrame, lastFrame: f.lastFrame, firstTs: f.firstTs, lastTs: f.lastTs,
    skipped: f.skipped, frameRuns: listedRuns(m.frames.runsOf(i)),
  }));
  if (inputs.ignored.length > 0) {
    const n = inputs.ignored.length;
    const shown = inputs.ignored.slice(0, 8).join(', ') + (n > 8 ? ` and ${n - 8} more` : '');
    pipeline.analyzer.addGlobalFinding(finding('info', 'capture-file-skipped',
      `${n} file${n === 1 ? '' : 's'} in the directory ${n === 1 ? 'is' : 'are'} not a capture (no pcap, pcapng or gzip header) and ${n === 1 ? 'was' : 'were'} left out: ${shown}`));
  }
  return pipeline.finish(m.info);
}

function listedRuns(runs: [number, number, number][] | null): [number, number, number][] | null {
  return runs && runs.length <= MAX_RUNS_LISTED ? runs : null;
}

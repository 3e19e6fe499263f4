import type { CaptureInfo, PacketRecord } from '../capture/types.js';
import { readCapture } from '../capture/open.js';
import { FtpAnalyzer } from './analyzer.js';
import { fillSource, finishAnalysis, PacketFront } from './front.js';
import type { Analysis, AnalysisEvent, DataConnection, DataSink, Session, SourceInfo } from './types.js';

export interface PipelineOptions {
  /** Control ports besides 21 (--ftp-port). */
  ftpPorts?: number[];
  /** Fill Session.packets (the dashboard). */
  keepPackets?: boolean;
  /** Ring size per session when keepPackets. */
  maxPacketsPerSession?: number;
  onEvent?: (ev: AnalysisEvent) => void;
  openDataSink?: (session: Session | null, dc: DataConnection) => DataSink | null;
  /** Hand over and forget each session once final, keeping memory bounded (see FtpAnalyzer). */
  retireSession?: (s: Session) => void;
  /** Packet buffers stay valid until inputReused() is called (see TcpTrackerOptions). */
  inputReusedOnSignal?: boolean;
}

/**
 * Packets in, Analysis out: the packet front (fast-path decode → TCP tracker) feeding the FTP
 * analyzer on the same thread. One per source; files, live capture and anything else that
 * yields PacketRecords share it.
 */
export class Pipeline {
  readonly analyzer: FtpAnalyzer;
  private readonly front: PacketFront;
  private finished: Analysis | null = null;

  constructor(opts: PipelineOptions, source: { type: SourceInfo['type']; name: string }) {
    this.analyzer = new FtpAnalyzer({ ...opts, sourceType: source.type, sourceName: source.name });
    this.front = new PacketFront(this.analyzer, opts);
  }

  push(rec: PacketRecord): void {
    this.front.push(rec);
  }

  /** The buffers of the packets pushed so far are about to be overwritten. */
  inputReused(): void {
    this.front.inputReused();
  }

  tick(nowTs: number): void {
    this.front.tick(nowTs);
  }

  snapshot(): Analysis {
    fillSource(this.analyzer, this.front.counts());
    return this.analyzer.analysis();
  }

  finish(info?: CaptureInfo): Analysis {
    this.finished ??= finishAnalysis(this.analyzer, this.front.end(), info);
    return this.finished;
  }
}

/** Analyze a capture file (pcap, pcapng, gzip of either). */
export async function analyzeFile(
  path: string,
  opts: PipelineOptions & {
    onProgress?: (bytesRead: number, totalBytes: number | null) => void;
    /** Blocking file reads (see ReadOptions.blocking): for callers whose output is synchronous. */
    blockingReads?: boolean;
    /** See ReadOptions.pace. */
    pace?: () => Promise<unknown> | undefined;
  } = {},
): Promise<Analysis> {
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

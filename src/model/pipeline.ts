import type { CaptureInfo, PacketRecord } from '../capture/types.js';
import { readCapture } from '../capture/open.js';
import { FastDecoder, newFastPacket } from '../dissect/fast.js';
import { TcpTracker } from '../tcp/tracker.js';
import { linkTypeName } from '../capture/linktypes.js';
import { FtpAnalyzer } from './analyzer.js';
import { finding } from './findings.js';
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

/** How often (in packets) idle flows and stale expectations are expired. */
const EXPIRE_EVERY = 8192;

/**
 * Packets in, Analysis out: fast-path decode → TCP tracker → FTP analyzer. One per source;
 * files, live capture and anything else that yields PacketRecords share it.
 */
export class Pipeline {
  readonly analyzer: FtpAnalyzer;
  private readonly tracker: TcpTracker;
  private readonly decoder = new FastDecoder();
  private readonly fp = newFastPacket();
  private readonly linkTypes = new Set<number>();
  /** Packets nearly always share one link type: the set is updated when it changes. */
  private lastLinkType = -1;
  private lastTs = 0;
  private packets = 0;
  private bytes = 0;
  private snaplenCut = 0;
  private firstSnaplenFrame: number | null = null;
  private malformed = 0;
  private firstMalformedFrame: number | null = null;
  private finished: Analysis | null = null;

  constructor(opts: PipelineOptions, source: { type: SourceInfo['type']; name: string }) {
    this.analyzer = new FtpAnalyzer({ ...opts, sourceType: source.type, sourceName: source.name });
    const ports = new Set([21, ...(opts.ftpPorts ?? [])]);
    this.tracker = new TcpTracker(this.analyzer, { isServerPort: (p) => ports.has(p) || p === 20, inputReusedOnSignal: opts.inputReusedOnSignal });
  }

  push(rec: PacketRecord): void {
    this.packets++;
    this.bytes += rec.caplen;
    if (rec.ts > this.lastTs) this.lastTs = rec.ts;
    if (rec.linkType !== this.lastLinkType) {
      this.lastLinkType = rec.linkType;
      this.linkTypes.add(rec.linkType);
    }
    if (rec.caplen < rec.wirelen && this.snaplenCut++ === 0) this.firstSnaplenFrame = rec.frame;
    const fp = this.fp;
    if (this.decoder.decode(rec, fp) && fp.kind === 'tcp') {
      this.tracker.push(fp, rec);
    } else if (fp.kind === 'malformed' && this.malformed++ === 0) {
      this.firstMalformedFrame = rec.frame;
    }
    if (this.packets % EXPIRE_EVERY === 0) this.tick(rec.ts);
  }

  /** The buffers of the packets pushed so far are about to be overwritten. */
  inputReused(): void {
    this.tracker.inputReused();
  }

  tick(nowTs: number): void {
    this.tracker.expire(nowTs);
    this.analyzer.expire(nowTs);
  }

  snapshot(): Analysis {
    this.fillSource();
    return this.analyzer.analysis();
  }

  finish(info?: CaptureInfo): Analysis {
    if (this.finished) return this.finished;
    this.tracker.end(this.lastTs);
    const src = this.fillSource();
    if (info) {
      src.truncated = info.truncated;
      src.bytes = info.bytes;
      if (info.linkTypes.length > 0) src.linkTypes = info.linkTypes;
      for (const f of info.findings) this.analyzer.addGlobalFinding(f);
    }
    if (this.snaplenCut > 0) {
      this.analyzer.addGlobalFinding(finding('warning', 'capture-snaplen',
        `${this.snaplenCut} packets were cut short by the capture's snaplen (first: frame ${this.firstSnaplenFrame}); their missing bytes count as gaps. Capture with -s 0 to keep whole packets`, this.firstSnaplenFrame));
    }
    if (this.malformed > 0) {
      this.analyzer.addGlobalFinding(finding('warning', 'malformed-packets',
        `${this.malformed} packets have broken link/IP/TCP headers and were skipped (first: frame ${this.firstMalformedFrame})`, this.firstMalformedFrame));
    }
    this.finished = this.analyzer.finish();
    return this.finished;
  }

  private fillSource(): SourceInfo {
    const src = this.analyzer.source;
    src.packets = this.packets;
    src.bytes = this.bytes;
    src.linkTypes = [...this.linkTypes].map(linkTypeName);
    return src;
  }
}

export interface AnalyzeFileOptions extends PipelineOptions {
  onProgress?: (bytesRead: number, totalBytes: number | null) => void;
  /** Blocking file reads (see ReadOptions.blocking): for callers whose output is synchronous. */
  blockingReads?: boolean;
  /** See ReadOptions.pace. */
  pace?: () => Promise<unknown> | undefined;
}

/** Analyze a capture file (pcap, pcapng, gzip of either). */
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

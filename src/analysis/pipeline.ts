import type { CaptureInfo, PacketRecord } from '../capture/types.js';
import { FastDecoder, newFastPacket } from '../dissect/fast.js';
import { TCP_ACK, TCP_SYN, type FastPacket } from '../dissect/types.js';
import { PAYLOAD_ON_CLIENT_LEG, parseProxyLegComment } from './proxy-legs.js';
import type { Defragmenter } from '../dissect/defrag.js';
import { TcpTracker } from '../tcp/tracker.js';
import { linkTypeName } from '../capture/linktypes.js';
import { FtpAnalyzer, type CommandSink, type DataConnectionSink, type StreamingCounters } from './analyzer.js';
import { ExpiryClock } from './clock.js';
import { finding } from '../model/findings.js';
import type { Analysis, AnalysisEvent, DataConnection, DataSink, Session, SourceInfo } from '../model/types.js';

export interface PipelineOptions {
  /** Control ports besides 21 (--ftp-port). */
  ftpPorts?: number[];
  /** Keep the per-packet fact table and fill Session.packets (the dashboard). */
  keepPackets?: boolean;
  /** Ring size per session when keepPackets. */
  maxPacketsPerSession?: number;
  /** Rows of the per-packet fact table kept (newest). */
  maxPacketRows?: number;
  /** Facts for the packets of every TCP connection, FTP or not (inspect). */
  factsForAllConnections?: boolean;
  onEvent?: (ev: AnalysisEvent) => void;
  openDataSink?: (session: Session | null, dc: DataConnection) => DataSink | null;
  /** Hand over and forget each session once final, keeping memory bounded (see FtpAnalyzer). */
  retireSession?: (s: Session) => void;
  /** Hand over and forget each command once complete (see AnalyzerOptions.streamCommands). */
  streamCommands?: CommandSink;
  /** Filled in with what streaming commands did (see StreamingCounters). */
  streamingCounters?: StreamingCounters;
  /** See AnalyzerOptions.streamCommandsAfter. */
  streamCommandsAfter?: number;
  /** Hand over and forget each final data connection of a long session (see AnalyzerOptions.streamDataConnections). */
  streamDataConnections?: DataConnectionSink;
  /** See AnalyzerOptions.streamDataConnectionsAfter. */
  streamDataConnectionsAfter?: number;
  /** Packet buffers stay valid until inputReused() is called (see TcpTrackerOptions). */
  inputReusedOnSignal?: boolean;
  /** Keep each transfer diagnosis' throughput timeline (see AnalyzerOptions.transferTimelines). */
  transferTimelines?: boolean;
  /** Connections tracked at once (--max-flows); default: what memoryBudgetMB allows. */
  maxFlows?: number;
  /** Memory for the flow table and the reassembly buffers, in MB (--memory-budget). */
  memoryBudgetMB?: number;
  /**
   * Called after every HOUSEKEEPING_PACKETS packets, between two packets: the caller's moment for
   * work outside the analysis that must keep pace with it (the batch commands' heap collection).
   */
  housekeeping?: () => void;
}

/** Packets between two calls of PipelineOptions.housekeeping (a power of two). */
export const HOUSEKEEPING_PACKETS = 16384;

/** --memory-budget's default: with the rest of a run, peak RSS stays under 150 MB. */
export const DEFAULT_MEMORY_BUDGET_MB = 96;
/**
 * What one open connection holds at most while it waits (tracker flow, FTP session, line
 * buffers), measured on bench:shapes' flows shape: 100,000 open control connections.
 */
const BYTES_PER_FLOW = 12 * 1024;

/**
 * The bounds a memory budget sets: half of it for the flow table (the connections open at once),
 * half for out-of-order and retransmission buffers across all flows. --max-flows overrides the first.
 */
export function analysisLimits(opts: Pick<PipelineOptions, 'maxFlows' | 'memoryBudgetMB'>): { maxFlows: number; maxBufferedBytes: number } {
  const budget = (opts.memoryBudgetMB ?? DEFAULT_MEMORY_BUDGET_MB) * 1024 * 1024;
  return {
    maxFlows: opts.maxFlows ?? Math.max(256, Math.floor(budget / 2 / BYTES_PER_FLOW)),
    maxBufferedBytes: Math.max(1 << 20, Math.floor(budget / 2)),
  };
}

/** What a pipeline holds and dropped, for tests and benchmarks (bounded memory shows in these, not in RSS). */
export interface PipelineCounters {
  /** Connections in the flow table now, the most at once, and its bound. */
  flows: number;
  peakFlows: number;
  maxFlows: number;
  /** Open connections closed early to make room (the tcp-flows-evicted finding). */
  evictedFlows: number;
  /** Bytes held in reassembly buffers now. */
  bufferedBytes: number;
  /** The most bytes the reassembly buffers held at once, and their budget (--memory-budget). */
  peakBufferedBytes: number;
  maxBufferedBytes: number;
}

/** Proxy legs cut to their headers remembered at once (a leg lives as long as its transfer). */
const MAX_CUT_LEGS = 4096;

/** A TCP connection's key, the same from either direction. */
function legKey(fp: FastPacket): string {
  const a = `${fp.src} ${fp.srcPort}`;
  const b = `${fp.dst} ${fp.dstPort}`;
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

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
  private readonly clock: ExpiryClock;
  /** Packets nearly always share one link type: the set is updated when it changes. */
  private lastLinkType = -1;
  private lastTs = 0;
  private packets = 0;
  private bytes = 0;
  private snaplenCut = 0;
  private firstSnaplenFrame: number | null = null;
  /**
   * Server-facing data legs of a proxy recording whose segments are cut to their headers (their
   * payload is the client-facing leg's): not a snaplen's loss. Keys of both directions, the latest kept.
   */
  private readonly cutLegs = new Set<string>();
  private malformed = 0;
  private firstMalformedFrame: number | null = null;
  private finished: Analysis | null = null;
  private readonly housekeeping: (() => void) | null;

  constructor(opts: PipelineOptions, source: { type: SourceInfo['type']; name: string }) {
    this.housekeeping = opts.housekeeping ?? null;
    this.analyzer = new FtpAnalyzer({ ...opts, sourceType: source.type, sourceName: source.name });
    const ports = new Set([21, ...(opts.ftpPorts ?? [])]);
    this.tracker = new TcpTracker(this.analyzer, {
      isServerPort: (p) => ports.has(p) || p === 20, inputReusedOnSignal: opts.inputReusedOnSignal, ...analysisLimits(opts),
    });
    this.clock = new ExpiryClock(this.tracker.sweepIntervalSec, (now) => {
      this.tracker.expire(now);
      this.analyzer.expire(now);
    });
  }

  push(rec: PacketRecord): void {
    if (this.packets === 0) this.analyzer.source.start = rec.ts;
    if ((this.packets & (HOUSEKEEPING_PACKETS - 1)) === HOUSEKEEPING_PACKETS - 1) this.housekeeping?.();
    this.packets++;
    this.bytes += rec.caplen;
    if (rec.ts > this.lastTs) this.lastTs = rec.ts;
    if (rec.linkType !== this.lastLinkType) {
      this.lastLinkType = rec.linkType;
      this.linkTypes.add(rec.linkType);
    }
    let cut = rec.caplen < rec.wirelen;
    this.clock.advance(rec.ts);
    const fp = this.fp;
    if (this.decoder.decode(rec, fp) && fp.kind === 'tcp') {
      // A proxy recording names the session of each server-facing leg on its SYN (see proxy-legs.ts).
      if (rec.comment !== undefined && (fp.flags & TCP_SYN) !== 0 && (fp.flags & TCP_ACK) === 0) this.proxyLeg(rec.comment, fp);
      if (cut && this.cutLegs.size > 0 && this.cutLegs.has(legKey(fp))) cut = false;
      this.tracker.push(fp, rec);
    } else if (fp.kind === 'malformed' && this.malformed++ === 0) {
      this.firstMalformedFrame = rec.frame;
    }
    if (cut && this.snaplenCut++ === 0) this.firstSnaplenFrame = rec.frame;
  }

  private proxyLeg(comment: string, fp: FastPacket): void {
    for (const line of comment.split('\n')) {
      const leg = parseProxyLegComment(line);
      if (leg) this.analyzer.noteProxyLeg({ ip: fp.src, port: fp.srcPort }, { ip: fp.dst, port: fp.dstPort }, leg);
      if (line === PAYLOAD_ON_CLIENT_LEG) {
        if (this.cutLegs.size >= MAX_CUT_LEGS) this.cutLegs.delete(this.cutLegs.keys().next().value!);
        this.cutLegs.add(legKey(fp));
      }
    }
  }

  /** The IP fragments held so far (a copy): full dissection of the next packet completes datagrams as this pipeline does. */
  defragSnapshot(): Defragmenter {
    return this.decoder.defrag.clone();
  }

  /** How long a closed connection still takes packets (and so can still add rows to its session), in seconds of packet time. */
  get closedLingerSec(): number {
    return this.tracker.closedLingerSec;
  }

  /** The buffers of the packets pushed so far are about to be overwritten. */
  inputReused(): void {
    this.tracker.inputReused();
  }

  get counters(): PipelineCounters {
    const t = this.tracker;
    return {
      flows: t.flowCount, peakFlows: t.peakFlows, maxFlows: t.maxFlows, evictedFlows: t.evicted,
      bufferedBytes: t.bufferedBytes, peakBufferedBytes: t.peakBufferedBytes, maxBufferedBytes: t.maxBufferedBytes,
    };
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
    if (this.tracker.evicted > 0) {
      this.analyzer.addGlobalFinding(finding('warning', 'tcp-flows-evicted',
        `${this.tracker.evicted} connections were closed early because the flow table was full (${this.tracker.maxFlows} connections at once); ` +
          'each is listed with tcp-flow-evicted. Raise --max-flows (or --memory-budget) to follow more connections at once', null));
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

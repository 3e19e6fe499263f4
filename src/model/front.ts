import type { CaptureInfo, PacketRecord } from '../capture/types.js';
import { FastDecoder, newFastPacket } from '../dissect/fast.js';
import { TcpTracker } from '../tcp/tracker.js';
import type { StreamHandler } from '../tcp/events.js';
import { linkTypeName } from '../capture/linktypes.js';
import type { FtpAnalyzer } from './analyzer.js';
import { finding } from './findings.js';
import type { Analysis } from './types.js';

/** What the packet front feeds: stream events, and the time for expiring what waits on it. */
export interface FrontSink extends StreamHandler {
  expire(nowTs: number): void;
}

/** The front's counts over all packets, for the analysis's source and capture-level findings. */
export interface FrontSummary {
  packets: number;
  bytes: number;
  lastTs: number;
  linkTypes: number[];
  snaplenCut: number;
  firstSnaplenFrame: number | null;
  malformed: number;
  firstMalformedFrame: number | null;
}

export interface FrontOptions {
  /** Control ports besides 21 (--ftp-port). */
  ftpPorts?: number[];
  /** Packet buffers stay valid until inputReused() is called (see TcpTrackerOptions). */
  inputReusedOnSignal?: boolean;
}

/** How often (in packets) idle flows and stale expectations are expired. */
const EXPIRE_EVERY = 8192;

/**
 * Packets in, stream events out: fast-path decode and the TCP tracker, with the counts a
 * report needs about the packets themselves. Its sink is the FTP analyzer (Pipeline); any
 * other StreamHandler with expire() can take its place.
 */
export class PacketFront {
  private readonly tracker: TcpTracker;
  private readonly decoder = new FastDecoder();
  private readonly fp = newFastPacket();
  private readonly linkTypes = new Set<number>();
  private readonly summary: FrontSummary = {
    packets: 0, bytes: 0, lastTs: 0, linkTypes: [], snaplenCut: 0, firstSnaplenFrame: null, malformed: 0, firstMalformedFrame: null,
  };

  constructor(private readonly sink: FrontSink, opts: FrontOptions) {
    const ports = new Set([21, ...(opts.ftpPorts ?? [])]);
    this.tracker = new TcpTracker(sink, { isServerPort: (p) => ports.has(p) || p === 20, inputReusedOnSignal: opts.inputReusedOnSignal });
  }

  push(rec: PacketRecord): void {
    const sum = this.summary;
    sum.packets++;
    sum.bytes += rec.caplen;
    if (rec.ts > sum.lastTs) sum.lastTs = rec.ts;
    if (!this.linkTypes.has(rec.linkType)) this.linkTypes.add(rec.linkType);
    if (rec.caplen < rec.wirelen && sum.snaplenCut++ === 0) sum.firstSnaplenFrame = rec.frame;
    const fp = this.fp;
    if (this.decoder.decode(rec, fp) && fp.kind === 'tcp') {
      this.tracker.push(fp, rec);
    } else if (fp.kind === 'malformed' && sum.malformed++ === 0) {
      sum.firstMalformedFrame = rec.frame;
    }
    if (sum.packets % EXPIRE_EVERY === 0) this.tick(rec.ts);
  }

  /** The buffers of the packets pushed so far are about to be overwritten. */
  inputReused(): void {
    this.tracker.inputReused();
  }

  tick(nowTs: number): void {
    this.tracker.expire(nowTs);
    this.sink.expire(nowTs);
  }

  /** The counts so far (live sources show them before the end). */
  counts(): FrontSummary {
    this.summary.linkTypes = [...this.linkTypes];
    return this.summary;
  }

  /** The source ended: every open connection is closed (events go to the sink first). */
  end(): FrontSummary {
    this.tracker.end(this.summary.lastTs);
    return this.counts();
  }
}

/** Fills the analysis's source from the front's counts. */
export function fillSource(analyzer: FtpAnalyzer, sum: FrontSummary): void {
  const src = analyzer.source;
  src.packets = sum.packets;
  src.bytes = sum.bytes;
  src.linkTypes = sum.linkTypes.map(linkTypeName);
}

/**
 * After the front's end(): the source, the capture-level findings (from the reader's info and
 * the front's counts), and the analyzer's final settlement.
 */
export function finishAnalysis(analyzer: FtpAnalyzer, sum: FrontSummary, info?: CaptureInfo): Analysis {
  fillSource(analyzer, sum);
  const src = analyzer.source;
  if (info) {
    src.truncated = info.truncated;
    src.bytes = info.bytes;
    if (info.linkTypes.length > 0) src.linkTypes = info.linkTypes;
    for (const f of info.findings) analyzer.addGlobalFinding(f);
  }
  if (sum.snaplenCut > 0) {
    analyzer.addGlobalFinding(finding('warning', 'capture-snaplen',
      `${sum.snaplenCut} packets were cut short by the capture's snaplen (first: frame ${sum.firstSnaplenFrame}); their missing bytes count as gaps. Capture with -s 0 to keep whole packets`, sum.firstSnaplenFrame));
  }
  if (sum.malformed > 0) {
    analyzer.addGlobalFinding(finding('warning', 'malformed-packets',
      `${sum.malformed} packets have broken link/IP/TCP headers and were skipped (first: frame ${sum.firstMalformedFrame})`, sum.firstMalformedFrame));
  }
  return analyzer.finish();
}

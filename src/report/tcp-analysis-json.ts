/**
 * The transfer diagnosis as JSON: `tcpAnalysis` of each data connection and `controlTcpAnalysis` of
 * each session (additions to contract v1: docs/report-json-additions.md, schema/report.v1.json).
 * Times are rounded to the microsecond, durations and RTTs to three decimals; the per-bucket
 * timeline is included only when asked for (--graphs), as it is the bulk of the object.
 */
import type { FtpRole } from '../model/packet-facts.js';
import { senderRole } from '../model/packet-facts.js';
import type { TcpTransferAnalysis } from '../model/tcp-analysis.js';
import { roundTs } from './format.js';

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

export function tcpAnalysisToJson(a: TcpTransferAnalysis, initiatorRole: FtpRole | null, withTimeline = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    sender: senderRole(initiatorRole, a.dir),
    fromInitiator: a.dir === 0,
    bytes: a.bytes,
    durationSec: r6(a.durationSec),
    throughput: a.throughput === null ? null : Math.round(a.throughput),
    rttMs: a.rttMs ? { min: r3(a.rttMs.min), median: r3(a.rttMs.median), max: r3(a.rttMs.max), samples: a.rttMs.samples } : null,
    pathRttMs: a.pathRttMs === null ? null : r3(a.pathRttMs),
    segments: a.segments,
    retransmittedSegments: a.retransmittedSegments,
    retransmittedBytes: a.retransmittedBytes,
    spuriousRetransmissions: a.spuriousRetransmissions,
    outOfOrder: a.outOfOrder,
    lostSegments: a.lostSegments,
    ackedUnseen: a.ackedUnseen,
    rtos: a.rtos,
    rtoMaxSec: a.rtoMaxSec === null ? null : r6(a.rtoMaxSec),
    zeroWindow: { periods: a.zeroWindow.periods, seconds: r6(a.zeroWindow.seconds) },
    windowFull: a.windowFull,
    maxWindow: a.maxWindow,
    maxInFlight: a.maxInFlight,
    maxFlight: a.maxFlight,
    windowScale: [a.windowScale[0], a.windowScale[1]],
    handshakeSeen: a.handshakeSeen,
    causeSeconds: {
      receiver: r6(a.causeSeconds.receiver), loss: r6(a.causeSeconds.loss), window: r6(a.causeSeconds.window), sender: r6(a.causeSeconds.sender),
    },
    limitedBy: a.limitedBy,
    stalls: a.stalls.map((s) => ({
      start: roundTs(s.start), end: roundTs(s.end), seconds: r6(s.end - s.start), fromFrame: s.fromFrame, toFrame: s.toFrame, cause: s.cause, open: s.open,
    })),
    moreStalls: a.moreStalls,
  };
  if (withTimeline) {
    out.timeline = { start: roundTs(a.timeline.start), bucketSec: r6(a.timeline.bucketSec), bytes: a.timeline.bytes.slice(), cause: a.timeline.cause.slice() };
  }
  return out;
}

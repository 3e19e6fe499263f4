/**
 * The transfer diagnosis as JSON: `tcpAnalysis` of each data connection and `controlTcpAnalysis` of
 * each session (additions to contract v1: docs/report-json-additions.md, schema/report.v1.json).
 * Times are rounded to the microsecond, durations and RTTs to three decimals. By default the object
 * holds what the diagnosis concluded (throughput, RTTs, retransmitted bytes, zero-window time,
 * stalls, limiting cause); `detail` (report --graphs) adds the counters behind it and the per-bucket
 * timeline. Written straight into the report's writer (a report has tens of thousands of these), and
 * built as an object for NDJSON; both give the same keys in the same order.
 */
import type { FtpRole } from '../model/packet-facts.js';
import { senderRole } from '../model/packet-facts.js';
import type { TcpTransferAnalysis } from '../model/tcp-analysis.js';
import { roundTs } from './format.js';
import { jsonKey, type JsonKey, type PrettyJsonWriter } from './json-writer.js';

import type { TransferStall } from '../model/tcp-analysis.js';

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

function stallJson(s: TransferStall): Record<string, unknown> {
  return { start: roundTs(s.start), end: roundTs(s.end), seconds: r6(s.end - s.start), fromFrame: s.fromFrame, toFrame: s.toFrame, cause: s.cause, open: s.open };
}

export function tcpAnalysisToJson(a: TcpTransferAnalysis, initiatorRole: FtpRole | null, detail = false): Record<string, unknown> {
  const out: Record<string, unknown> = {
    sender: senderRole(initiatorRole, a.dir),
    bytes: a.bytes,
    durationSec: r6(a.durationSec),
    throughput: a.throughput === null ? null : Math.round(a.throughput),
    rttMs: a.rttMs ? { min: r3(a.rttMs.min), median: r3(a.rttMs.median), max: r3(a.rttMs.max) } : null,
    pathRttMs: a.pathRttMs === null ? null : r3(a.pathRttMs),
    retransmittedSegments: a.retransmittedSegments,
    retransmittedBytes: a.retransmittedBytes,
    rtos: a.rtos,
    zeroWindow: { periods: a.zeroWindow.periods, seconds: r6(a.zeroWindow.seconds) },
    stalls: a.stalls.map(stallJson),
    limitedBy: a.limitedBy,
    causeSeconds: {
      receiver: r6(a.causeSeconds.receiver), loss: r6(a.causeSeconds.loss), window: r6(a.causeSeconds.window), sender: r6(a.causeSeconds.sender),
    },
  };
  if (detail) {
    Object.assign(out, {
      fromInitiator: a.dir === 0,
      segments: a.segments,
      spuriousRetransmissions: a.spuriousRetransmissions,
      outOfOrder: a.outOfOrder,
      lostSegments: a.lostSegments,
      ackedUnseen: a.ackedUnseen,
      rtoMaxSec: a.rtoMaxSec === null ? null : r6(a.rtoMaxSec),
      windowFull: a.windowFull,
      maxWindow: a.maxWindow,
      maxInFlight: a.maxInFlight,
      maxFlight: a.maxFlight,
      windowScale: [a.windowScale[0], a.windowScale[1]],
      handshakeSeen: a.handshakeSeen,
      moreStalls: a.moreStalls,
      timeline: { start: roundTs(a.timeline.start), bucketSec: r6(a.timeline.bucketSec), bytes: a.timeline.bytes.slice(), cause: a.timeline.cause.slice() },
    });
  }
  return out;
}

const K = {
  sender: jsonKey('sender'), bytes: jsonKey('bytes'), durationSec: jsonKey('durationSec'), throughput: jsonKey('throughput'),
  rttMs: jsonKey('rttMs'), min: jsonKey('min'), median: jsonKey('median'), max: jsonKey('max'), pathRttMs: jsonKey('pathRttMs'),
  retransmittedSegments: jsonKey('retransmittedSegments'), retransmittedBytes: jsonKey('retransmittedBytes'), rtos: jsonKey('rtos'),
  zeroWindow: jsonKey('zeroWindow'), periods: jsonKey('periods'), seconds: jsonKey('seconds'), stalls: jsonKey('stalls'),
  limitedBy: jsonKey('limitedBy'), causeSeconds: jsonKey('causeSeconds'), receiver: jsonKey('receiver'), loss: jsonKey('loss'),
  window: jsonKey('window'), senderCause: jsonKey('sender'),
};

/**
 * A non-negative number rounded to the microsecond (or null), written without making a string of it:
 * the writer's ts() prints exactly what JSON.stringify prints for such a number.
 */
function micros(w: PrettyJsonWriter, key: JsonKey, x: number | null): void {
  w.key(key);
  if (x === null) w.null();
  else w.ts(x);
}

/** As tcpAnalysisToJson(a, role, detail) would be written, without building it when not detailed. */
export function writeTcpAnalysis(w: PrettyJsonWriter, a: TcpTransferAnalysis, initiatorRole: FtpRole | null, detail: boolean): void {
  if (detail) {
    w.value(tcpAnalysisToJson(a, initiatorRole, true));
    return;
  }
  w.openObject();
  w.stringMember(K.sender, senderRole(initiatorRole, a.dir));
  w.numberMember(K.bytes, a.bytes);
  micros(w, K.durationSec, r6(a.durationSec));
  w.numberMember(K.throughput, a.throughput === null ? null : Math.round(a.throughput));
  w.key(K.rttMs);
  if (a.rttMs) {
    w.openObject();
    micros(w, K.min, r3(a.rttMs.min));
    micros(w, K.median, r3(a.rttMs.median));
    micros(w, K.max, r3(a.rttMs.max));
    w.closeObject();
  } else {
    w.null();
  }
  micros(w, K.pathRttMs, a.pathRttMs === null ? null : r3(a.pathRttMs));
  w.numberMember(K.retransmittedSegments, a.retransmittedSegments);
  w.numberMember(K.retransmittedBytes, a.retransmittedBytes);
  w.numberMember(K.rtos, a.rtos);
  w.key(K.zeroWindow);
  w.openObject();
  w.numberMember(K.periods, a.zeroWindow.periods);
  micros(w, K.seconds, r6(a.zeroWindow.seconds));
  w.closeObject();
  w.key(K.stalls);
  w.value(a.stalls.length === 0 ? NO_STALLS : a.stalls.map(stallJson));
  w.stringMember(K.limitedBy, a.limitedBy);
  w.key(K.causeSeconds);
  w.openObject();
  micros(w, K.receiver, r6(a.causeSeconds.receiver));
  micros(w, K.loss, r6(a.causeSeconds.loss));
  micros(w, K.window, r6(a.causeSeconds.window));
  micros(w, K.senderCause, r6(a.causeSeconds.sender));
  w.closeObject();
  w.closeObject();
}

const NO_STALLS: readonly unknown[] = [];

/**
 * The transfer diagnosis in FTP terms: the TCP layer's summary of a connection's bulk direction
 * (src/tcp/diagnosis.ts), and the findings it gives, worded with who sent and who received (the
 * FTP client or server) and what to do about it.
 *
 * A finding needs the cause to have mattered: transfers shorter than a second are not called
 * window- or receiver-limited (every transfer is limited by something; a fast one is fine), and loss
 * needs several retransmissions or a timeout.
 */
import type { TcpConnection } from '../tcp/events.js';
import { finding, type Finding } from '../model/findings.js';
import { senderRole, type FtpRole } from '../model/packet-facts.js';
import type { Dir } from '../model/tcp-facts.js';
import type { TcpTransferAnalysis, TransferStall } from '../model/tcp-analysis.js';

/** A cause must take at least this share of the transfer's time, and MIN_CAUSE_SEC, to be named. */
export const CAUSE_SHARE = 0.3;
export const MIN_CAUSE_SEC = 0.5;
/** Retransmissions count as loss from this share of the data segments (and at least MIN_RETRANSMISSIONS). */
export const LOSS_SHARE = 0.01;
export const MIN_RETRANSMISSIONS = 3;

/**
 * The diagnosis of a connection's data direction (`dir`: the TCP direction of the transfer's sender
 * when the FTP context says which it is, else the one that sent more) as it stands; null for a
 * connection without analysis (the proxy's). `timeline`: include the per-bucket throughput and causes
 * (graphs); `ended`: the connection is over, so the diagnosis state is let go after.
 */
export function transferAnalysisOf(conn: TcpConnection, ended: boolean, dir?: Dir, timeline = true): TcpTransferAnalysis | null {
  const d = conn.analysis?.diagnosis;
  if (!d) return null;
  const a = d.summary(conn, conn.end, ended, dir, timeline);
  // Taken once the connection is over: its per-direction state is not needed any more.
  if (ended) d.freeze();
  return a;
}

/** The TCP direction that carries a transfer's file: downloads and listings from the FTP server, uploads from the client. */
export function dataDirOf(direction: 'download' | 'upload' | 'listing' | null, opener: FtpRole | null): Dir | undefined {
  if (direction === null || opener === null) return undefined;
  const sender: FtpRole = direction === 'upload' ? 'client' : 'server';
  return sender === opener ? 0 : 1;
}

/** Names for the two sides of a connection, from the FTP role of its TCP initiator (null: roles unknown). */
export interface Sides {
  initiatorRole: FtpRole | null;
  /** What is moving, for messages: "RETR /pub/file", "data connection 3", "the control connection". */
  what: string;
  /** Whether findings of slowness apply (data connections; a control connection is only checked for loss). */
  data: boolean;
}

function sideName(role: FtpRole | null, fallback: string): string {
  return role === null ? fallback : `the ${role}`;
}

function secs(s: number): string {
  return s >= 10 ? `${s.toFixed(0)} s` : s >= 1 ? `${s.toFixed(1)} s` : `${(s * 1000).toFixed(0)} ms`;
}

function kib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(bytes >= 10240 ? 0 : 1)} KiB`;
}

function rate(bytesPerSec: number): string {
  return bytesPerSec >= 1e6 ? `${(bytesPerSec / 1e6).toFixed(1)} MB/s` : `${(bytesPerSec / 1e3).toFixed(0)} kB/s`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;
}

/** Seconds the transfer spent in any state (its active time). */
export function activeSeconds(a: TcpTransferAnalysis): number {
  const c = a.causeSeconds;
  return c.receiver + c.loss + c.window + c.sender;
}

const STALL_CAUSE_TEXT: Record<TransferStall['cause'], (snd: string, rcv: string) => string> = {
  'zero-window': (_snd, rcv) => `${rcv}'s receive window was zero (it stopped reading)`,
  retransmission: (snd) => `${snd} was waiting to retransmit lost data (retransmission timeout)`,
  idle: (snd) => `${snd} had nothing unacknowledged and sent nothing: its application paused`,
  unacknowledged: (_snd, rcv) => `data was in flight and ${rcv} acknowledged nothing (lost ACKs, or a dead path)`,
};

/** The findings a connection's diagnosis gives. */
export function diagnosisFindings(a: TcpTransferAnalysis, sides: Sides): Finding[] {
  const out: Finding[] = [];
  if (a.segments === 0) return out;
  const dir: Dir = a.dir;
  const snd = sideName(senderRole(sides.initiatorRole, dir), 'the sender');
  const rcv = sideName(senderRole(sides.initiatorRole, dir === 0 ? 1 : 0), 'the receiver');
  const rcvDir: Dir = dir === 0 ? 1 : 0;
  const active = activeSeconds(a);
  const c = a.causeSeconds;

  // Loss: retransmissions (spurious ones are not loss) or timeouts. A control connection's single
  // timeout is noise in a session of minutes; a data transfer's is a stall of 200 ms or more.
  const real = a.retransmittedSegments - a.spuriousRetransmissions;
  const minRtos = sides.data ? 1 : 2;
  if ((real >= MIN_RETRANSMISSIONS && real / a.segments >= LOSS_SHARE) || a.rtos >= minRtos) {
    const resent = `${pct(a.retransmittedSegments / a.segments)} of segments retransmitted (${a.retransmittedSegments} of ${a.segments}, ${a.retransmittedBytes} bytes sent twice${a.spuriousRetransmissions ? `, ${a.spuriousRetransmissions} of them not needed` : ''})`;
    const parts = [resent];
    if (a.rtos > 0) parts.push(`${a.rtos} retransmission timeout${a.rtos === 1 ? '' : 's'} of up to ${secs(a.rtoMaxSec ?? 0)}`);
    if (c.loss > 0 && active > 0) parts.push(`${secs(c.loss)} of ${secs(active)} spent recovering`);
    const capture = a.ackedUnseen > 0 ? `; the capture itself also missed ${a.ackedUnseen} segment${a.ackedUnseen === 1 ? '' : 's'} ${rcv} acknowledged` : '';
    // Reordering makes duplicate ACKs, and TCP retransmits on them as if a segment were lost.
    const text = a.outOfOrder > real
      ? `reordering on the path between ${snd} (sending) and ${rcv}: ${a.outOfOrder} segments arrived out of order, and TCP took it for loss: ${parts.join(', ')}`
      : `${parts.join(', ')}: packet loss between ${snd} (sending) and ${rcv}`;
    out.push(finding('warning', 'transfer-loss', `${sides.what}: ${text}${capture}`, a.firstRetransmissionFrame));
  }
  // With data missing from the capture, times between what it shows say nothing about the transfer.
  if (!sides.data || a.ackedUnseen > 0) return out;

  // The receiver set the pace: zero windows, or a window shrunk while the sender filled it.
  const zw = a.zeroWindow;
  if ((zw.periods > 0 && zw.seconds >= 0.2) || (c.receiver >= MIN_CAUSE_SEC && c.receiver >= CAUSE_SHARE * active)) {
    const zwText = zw.periods > 0 ? `${zw.periods} zero-window period${zw.periods === 1 ? '' : 's'}, ${secs(zw.seconds)} in total` : `its window shrank below half its size while ${snd} kept it full`;
    out.push(finding('warning', 'transfer-receiver-limited',
      `${sides.what}: ${rcv} read slowly: ${zwText}; ${secs(c.receiver)} of ${secs(active)} limited by ${rcv}'s window: ${rcv}, not the network or ${snd}, set the pace`,
      a.firstZeroWindowFrame));
  }

  // The window itself was the limit: bytes in flight at the advertised window while it was at its largest.
  if (c.window >= MIN_CAUSE_SEC && c.window >= CAUSE_SHARE * active && a.maxWindow !== null) {
    const ws = a.windowScale[rcvDir];
    const peer = a.windowScale[dir];
    const why = !a.handshakeSeen ? 'the handshake is not in the capture, so whether window scaling is on is unknown'
      : ws === null ? `window scaling is off on ${rcv} (no WS option in its SYN)`
        : peer === null ? `window scaling is off: ${snd}'s SYN had no WS option, so ${rcv}'s is ignored`
          : `${rcv}'s receive buffer is the limit (window scaling is on, shift ${ws}): raise it (net.ipv4.tcp_rmem, SO_RCVBUF)`;
    const r = a.pathRttMs;
    const rtt = r ? `; at ${r.toFixed(r < 10 ? 1 : 0)} ms RTT that caps the transfer at ${rate(a.maxWindow / (r / 1000))}` : '';
    out.push(finding('warning', 'transfer-window-limited',
      `${sides.what}: bytes in flight pinned at ${kib(a.maxWindow)} (${rcv}'s advertised window) for ${secs(c.window)} of ${secs(active)}${rtt}: ${why}`,
      null));
  }

  // Stalls: no new data for longer than max(1 s, 4 × RTT).
  if (a.stalls.length > 0) {
    const longest = a.stalls.reduce((x, y) => (y.end - y.start > x.end - x.start ? y : x));
    const total = a.stalls.reduce((t, x) => t + (x.end - x.start), 0);
    const n = a.stalls.length + a.moreStalls;
    const frames = longest.toFrame !== null ? `frames ${longest.fromFrame}–${longest.toFrame}` : `from frame ${longest.fromFrame}`;
    const ended = longest.open ? '; the connection ended stalled' : '';
    out.push(finding('warning', 'transfer-stalled',
      `${sides.what}: no new data for ${secs(longest.end - longest.start)} (${frames})${n > 1 ? `, ${n} stalls, ${secs(total)} in total` : ''}: ${STALL_CAUSE_TEXT[longest.cause](snd, rcv)}${ended}`,
      longest.fromFrame));
  }
  return out;
}

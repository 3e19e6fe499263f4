import type { FastPacket } from '../dissect/types.js';
import { TCP_ACK, TCP_SYN } from '../dissect/types.js';
import type { PacketRecord } from '../capture/types.js';
import type { Endpoint } from '../model/types.js';
import { ByteBudget } from './budget.js';
import { SegmentRings } from './analysis.js';
import { createConnection } from './connection.js';
import type { CloseReason, Dir, StreamHandler } from './events.js';
import { Flow, type FlowLimits } from './flow.js';
import { FlowTable } from './flow-table.js';
import { guessClientSide } from './roles.js';
import { RetainedPool, RetentionEpoch } from './retained.js';

export interface TcpTrackerOptions {
  /** Out-of-order bytes held per direction; beyond it delivery skips ahead and reports a gap. */
  maxOutOfOrderBytesPerDirection?: number;
  /** Bytes held by all flows together (out-of-order data and retransmission checks). */
  maxBufferedBytes?: number;
  /** Delivered but unacknowledged bytes kept per direction to check retransmissions against. */
  maxRetainedBytesPerDirection?: number;
  /** Flows idle this long are closed with 'timeout'. */
  idleTimeoutSec?: number;
  /** Closed connections stay in the table this long, so their last ACKs and retransmitted FINs are theirs. */
  closedLingerSec?: number;
  /** Bound on the flow table: the longest idle flows are evicted (with a finding) to make room. */
  maxFlows?: number;
  /** Helps guess roles when the handshake was not captured. */
  isServerPort?: (port: number) => boolean;
  /**
   * Packet buffers stay valid until inputReused() is called (a capture file read in chunks):
   * bytes kept for retransmission checks are copied only if still needed then.
   */
  inputReusedOnSignal?: boolean;
}

const DEFAULTS = {
  maxOutOfOrderBytesPerDirection: 4 * 1024 * 1024,
  maxBufferedBytes: 256 * 1024 * 1024,
  maxRetainedBytesPerDirection: 256 * 1024,
  idleTimeoutSec: 15 * 60,
  // Linux TIME-WAIT (2 MSL).
  closedLingerSec: 60,
  maxFlows: 65536,
};

/** Sweeps for idle flows should run this many times per (shortest) timeout, and at most once a second. */
const SWEEPS_PER_TIMEOUT = 4;

/**
 * Turns fast-path TCP packets into stream events: flows by 4-tuple, roles from the SYN (or a
 * guess when it was not captured), handshake facts, in-order delivery with gaps, FIN/RST,
 * port reuse, idle expiry. Pure: no I/O, only the handler's callbacks.
 *
 * Event order per connection: open (after the first packet's handshake facts are recorded),
 * then data and gap events in stream order per direction, each packet's packet() after the
 * events it caused, and close once: after both FINs (or a FIN when the other side is absent
 * from the capture), a RST, the idle timeout, eviction or end(), with everything held
 * delivered first. After close only packet() is called, for the connection's late packets.
 * Per direction, delivered bytes plus gap lengths always equal the stream position reached.
 */
export class TcpTracker {
  private readonly table = new FlowTable();
  private readonly opts: typeof DEFAULTS & Pick<TcpTrackerOptions, 'isServerPort' | 'inputReusedOnSignal'>;
  private readonly limits: FlowLimits;
  private nextId = 1;
  private open = 0;
  /** Open connections closed early to make room in the flow table. */
  evicted = 0;
  /** The most flows the table held at once (never above maxFlows). */
  peakFlows = 0;
  /** How often the owner's clock should call expire(), in seconds of packet time. */
  readonly sweepIntervalSec: number;

  constructor(private readonly handler: StreamHandler, opts: TcpTrackerOptions = {}) {
    this.opts = { ...DEFAULTS, ...stripUndefined(opts) };
    this.limits = {
      maxOutOfOrderBytesPerDirection: this.opts.maxOutOfOrderBytesPerDirection,
      maxRetainedBytesPerDirection: this.opts.maxRetainedBytesPerDirection,
      budget: new ByteBudget(this.opts.maxBufferedBytes),
      retention: this.opts.inputReusedOnSignal ? new RetentionEpoch() : null,
      retainedPool: new RetainedPool(),
      rings: new SegmentRings(),
    };
    this.sweepIntervalSec = Math.max(1, Math.min(this.opts.idleTimeoutSec, this.opts.closedLingerSec) / SWEEPS_PER_TIMEOUT);
  }

  /** Connections opened and not yet closed. */
  get connections(): number {
    return this.open;
  }

  /** Flows in the table now (open, or closed and lingering). */
  get flowCount(): number {
    return this.table.size;
  }

  /** How long a closed connection still takes packets, in seconds of packet time (TcpTrackerOptions.closedLingerSec). */
  get closedLingerSec(): number {
    return this.opts.closedLingerSec;
  }

  /** The flow table's bound (TcpTrackerOptions.maxFlows). */
  get maxFlows(): number {
    return this.opts.maxFlows;
  }

  /** Bytes held in reassembly buffers across all flows. */
  get bufferedBytes(): number {
    return this.limits.budget.used;
  }

  /** The most bytes the reassembly buffers held at once, and the budget they share. */
  get peakBufferedBytes(): number {
    return this.limits.budget.peak;
  }

  get maxBufferedBytes(): number {
    return this.limits.budget.max;
  }

  push(pkt: FastPacket, rec: PacketRecord): void {
    if (pkt.kind !== 'tcp') return;
    const ts = rec.ts;
    const syn = (pkt.flags & TCP_SYN) !== 0;
    const found = this.table.find(pkt);
    let flow: Flow | null = found === null ? null : found.flow;
    let dir: Dir = found === null ? 0 : found.dir;
    let replaced: Flow | null = null;
    if (flow !== null && ts - flow.lastTs > (flow.closed ? this.opts.closedLingerSec : this.opts.idleTimeoutSec)) {
      // Past its timeout and not swept yet: this packet belongs to a new connection.
      if (!flow.closed) this.closeFlow(flow, 'timeout', flow.lastTs + this.opts.idleTimeoutSec, null);
      this.table.remove(flow);
      replaced = flow;
      flow = null;
    } else if (flow !== null && syn && this.startsNewConnection(flow, dir, pkt)) {
      this.retire(flow, ts, rec.frame);
      replaced = flow;
      flow = null;
    }
    if (flow === null) {
      flow = this.create(pkt, rec);
      const oldDir = dir;
      dir = flow.conn.client.ip === pkt.src && flow.conn.client.port === pkt.srcPort ? 0 : 1;
      if (replaced) handOverAnalysis(replaced, oldDir, flow, dir, pkt);
    }
    const wasClosed = flow.closed;
    flow.onPacket(dir, pkt, rec);
    if (flow.closed && !wasClosed) this.open--;
  }

  /** The packet buffers seen so far are about to be overwritten (with inputReusedOnSignal). */
  inputReused(): void {
    this.limits.retention?.inputReused();
  }

  /** Close flows idle past the timeout; forget closed ones past their linger. */
  expire(nowTs: number): void {
    const idleBefore = nowTs - this.opts.idleTimeoutSec;
    const lingerBefore = nowTs - this.opts.closedLingerSec;
    for (const flow of this.table.flows) {
      if (flow.closed) {
        if (flow.lastTs < lingerBefore) this.table.remove(flow);
      } else if (flow.lastTs < idleBefore) {
        this.closeFlow(flow, 'timeout', flow.lastTs + this.opts.idleTimeoutSec, null);
        this.table.remove(flow);
      }
    }
  }

  /** The source ended: close every open connection with 'end'. */
  end(ts: number): void {
    for (const flow of this.table.flows) {
      if (!flow.closed) this.closeFlow(flow, 'end', Math.max(ts, flow.lastTs), null);
      this.table.remove(flow);
    }
  }

  /**
   * A SYN on a known 4-tuple: a retransmission or a simultaneous open belongs to the
   * connection; a SYN after a close, or with a new ISN, starts a new one.
   */
  private startsNewConnection(flow: Flow, dir: Dir, pkt: FastPacket): boolean {
    const hs = flow.conn.handshake;
    const isn = hs.isn[dir];
    if ((pkt.flags & TCP_ACK) !== 0) {
      // A SYN/ACK: new only when the old connection is over and this is not its own SYN/ACK again.
      return (flow.closed || flow.anyFinOrRst) && isn !== pkt.seq;
    }
    if (flow.closed || flow.anyFinOrRst) return isn !== pkt.seq || flow.closed;
    if (isn !== null) return isn !== pkt.seq;
    // No SYN recorded from this side yet.
    if (dir === 1 && flow.awaitingSynAck) return false; // simultaneous open
    // The SYN captured after its SYN/ACK (capture reordering): it is the one the SYN/ACK answered.
    if (dir === 0 && hs.synAckFrame !== null && flow.halves[0].baseKnown && ((pkt.seq + 1) >>> 0) === flow.halves[0].base) return false;
    return flow.conn.packets > 0;
  }

  /** Make room for a new connection on the same 4-tuple. */
  private retire(flow: Flow, ts: number, frame: number): void {
    if (!flow.closed) {
      flow.addFinding(
        'info',
        'tcp-port-reuse',
        `a new SYN (frame ${frame}) reused this connection's addresses and ports before it was seen to close`,
        frame,
      );
      this.closeFlow(flow, flow.anyFinOrRst ? 'fin' : 'timeout', ts, frame);
    }
    this.table.remove(flow);
  }

  private create(pkt: FastPacket, rec: PacketRecord): Flow {
    if (this.table.size >= this.opts.maxFlows) this.evict(rec.ts, rec.frame);
    const syn = (pkt.flags & TCP_SYN) !== 0;
    const ack = (pkt.flags & TCP_ACK) !== 0;
    let senderIsClient: boolean;
    if (syn) senderIsClient = !ack; // a SYN/ACK seen first comes from the server
    else senderIsClient = guessClientSide(pkt.srcPort, pkt.dstPort, this.opts.isServerPort) === 0;
    const a: Endpoint = { ip: pkt.src, port: pkt.srcPort };
    const b: Endpoint = { ip: pkt.dst, port: pkt.dstPort };
    const client = senderIsClient ? a : b;
    const server = senderIsClient ? b : a;
    const conn = createConnection(this.nextId++, client, server, rec.ts, rec.frame);
    const flow = new Flow(conn, this.handler, this.limits);
    this.table.add(flow);
    if (this.table.size > this.peakFlows) this.peakFlows = this.table.size;
    this.open++;
    return flow;
  }

  /** The table is full: close and drop the flows idle the longest (a batch, to amortize the scan). */
  private evict(ts: number, frame: number): void {
    const batch = Math.max(1, this.opts.maxFlows >> 6);
    const byAge = [...this.table.flows].sort((x, y) => (x.closed === y.closed ? x.lastTs - y.lastTs : x.closed ? -1 : 1));
    for (const flow of byAge.slice(0, batch)) {
      if (!flow.closed) {
        flow.addFinding(
          'warning',
          'tcp-flow-evicted',
          `the flow table was full (${this.opts.maxFlows} flows) at frame ${frame}; this connection, idle the longest, ` +
            'was closed early (raise --max-flows or --memory-budget for captures with this many concurrent connections)',
          frame,
        );
        this.closeFlow(flow, 'timeout', ts, frame);
        this.evicted++;
      }
      this.table.remove(flow);
    }
  }

  private closeFlow(flow: Flow, reason: CloseReason, ts: number, frame: number | null): void {
    if (flow.closed) return;
    flow.close(reason, ts, frame);
    this.open--;
  }
}

/**
 * Wireshark keeps one conversation per 4-tuple and starts a new one only for a SYN with a new
 * ISN (tcp.analysis.reused_ports); the tracker also starts a new connection after a timeout or a
 * close. The per-packet analysis follows Wireshark's rule, so its flags stay comparable with tshark's.
 */
function handOverAnalysis(old: Flow, oldDir: Dir, flow: Flow, dir: Dir, pkt: FastPacket): void {
  const prev = old.conn.analysis;
  const next = flow.conn.analysis;
  if (!prev || !next) return;
  if (prev.startsNewConversation(oldDir, pkt)) next.markReusedPorts();
  else next.continueFrom(prev, oldDir !== dir);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

import type { FastPacket } from '../dissect/types.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../dissect/types.js';
import type { PacketRecord } from '../capture/types.js';
import { addFinding, finding } from '../model/findings.js';
import type { FindingCode } from '../model/finding-codes.js';
import type { ByteBudget } from './budget.js';
import type { CloseReason, Dir, StreamHandler, TcpConnection } from './events.js';
import { recordAck, recordSyn, recordSynAck } from './handshake.js';
import { Reassembler, type ReassemblySink } from './reassembly.js';
import type { RetainedPool, RetentionEpoch } from './retained.js';
import { unwrapSeq } from './seq.js';
import { ConnectionAnalysis, type SegmentRings } from './analysis.js';
import { MAX_TEARDOWN_EVENTS, type TeardownEvent } from '../model/tcp-facts.js';

export interface FlowLimits {
  maxOutOfOrderBytesPerDirection: number;
  maxRetainedBytesPerDirection: number;
  budget: ByteBudget;
  /** Set when delivered bytes may be referenced in the input until it is reused (see RetentionEpoch). */
  retention: RetentionEpoch | null;
  /** What closed connections' retained bytes leave for the next ones (see RetainedPool). */
  retainedPool: RetainedPool;
  /** The TCP analysis' unacknowledged-segment rings of all the tracker's connections. */
  rings: SegmentRings;
}

/** One direction's sequence space. */
class Half {
  /** Sequence number of stream offset 0 (the ISN + 1 when the SYN was seen). */
  base = 0;
  baseKnown = false;
  /** Stream offset of the FIN, -1 until one is seen (or inferred from the peer's ACK). */
  finOffset = -1;
  /**
   * The end of what the peer acknowledged beyond every number seen from this side, -1 when
   * nothing is. The last number there may be this side's FIN (lost from the capture), which is
   * no byte: it is held back until more is known (a later ACK or data beyond it make it a byte,
   * the peer closing makes it the FIN).
   */
  ackedEnd = -1;
  /** Packets seen from this side. */
  packets = 0;
  constructor(readonly reasm: Reassembler) {}
}

/**
 * One TCP connection as the tracker follows it: both directions' reassembly, the handshake,
 * FIN/RST, and the counters on its TcpConnection. Turns packets into stream events.
 */
export class Flow implements ReassemblySink {
  readonly halves: [Half, Half];
  lastTs: number;
  closed = false;
  /** Taken out of the flow table; a lookup cache must not return it. */
  removed = false;
  private opened = false;
  private overflowReported: [boolean, boolean] = [false, false];
  /** Whether each side's FIN has been acknowledged by the other (a teardown step). */
  private finAcked: [boolean, boolean] = [false, false];

  constructor(
    readonly conn: TcpConnection,
    private readonly handler: StreamHandler,
    limits: FlowLimits,
  ) {
    this.lastTs = conn.start;
    const mk = (dir: Dir) =>
      new Half(new Reassembler(dir, this, limits.maxOutOfOrderBytesPerDirection, limits.budget, limits.maxRetainedBytesPerDirection, limits.retention, limits.retainedPool));
    this.halves = [mk(0), mk(1)];
    conn.analysis = new ConnectionAnalysis(limits.rings);
  }

  /** Only a SYN has been seen from the client: a bare SYN from the server is a simultaneous open. */
  get awaitingSynAck(): boolean {
    const hs = this.conn.handshake;
    return hs.synFrame !== null && hs.synAckFrame === null && this.conn.bytes[0] === 0 && this.conn.bytes[1] === 0;
  }

  get anyFinOrRst(): boolean {
    return this.halves[0].finOffset >= 0 || this.halves[1].finOffset >= 0 || this.conn.rstFrame !== null;
  }

  /** The bookkeeping and stream events of one packet of this connection. */
  onPacket(dir: Dir, pkt: FastPacket, rec: PacketRecord): void {
    const conn = this.conn;
    const ts = rec.ts;
    const frame = rec.frame;
    // Wireshark's per-packet analysis does not depend on the reassembly below: first, for every packet.
    conn.analysis!.packet(dir, pkt, ts, frame);
    conn.packets++;
    conn.lastFrame = frame;
    if (ts > conn.end) conn.end = ts;
    if (ts > this.lastTs) this.lastTs = ts;
    const flags = pkt.flags;
    if (this.closed) {
      // Late FIN/RST (after the other side's RST, say) are still facts about the connection.
      if ((flags & TCP_FIN) !== 0 && conn.finFrame[dir] === null) {
        conn.finFrame[dir] = frame;
        this.teardownStep('fin', dir, frame, ts);
      }
      if ((flags & TCP_RST) !== 0 && conn.rstFrame === null) {
        conn.rstFrame = frame;
        conn.rstBy = dir;
        this.teardownStep('rst', dir, frame, ts);
      }
      if ((flags & TCP_ACK) !== 0 && (flags & (TCP_FIN | TCP_RST)) === 0) this.lateFinAck(dir, pkt.ack, frame, ts);
      this.handler.packet?.(conn, dir, pkt, rec);
      return;
    }
    const half = this.halves[dir];
    const other = this.halves[dir === 0 ? 1 : 0];
    const syn = (flags & TCP_SYN) !== 0;
    half.packets++;

    if (syn) {
      if ((flags & TCP_ACK) === 0) {
        if (!recordSyn(conn.handshake, dir, pkt, ts, frame)) conn.retransmissions++;
      } else {
        recordSynAck(conn.handshake, dir, pkt, ts, frame);
        if (!other.baseKnown) this.setBase(other, pkt.ack);
      }
      if (!half.baseKnown) this.setBase(half, (pkt.seq + 1) >>> 0);
    } else {
      recordAck(conn.handshake, dir, pkt, ts, frame);
    }

    if (!this.opened) {
      // Opened once the first packet's handshake facts are recorded, before any stream event.
      this.opened = true;
      this.handler.open(conn, ts, frame);
    }

    if ((flags & TCP_ACK) !== 0 && other.baseKnown) {
      this.onAck(other, dir, pkt.ack, ts, frame, (flags & TCP_FIN) !== 0 || half.finOffset >= 0);
    }

    const rst = (flags & TCP_RST) !== 0;
    const dataSeq = syn ? (pkt.seq + 1) >>> 0 : pkt.seq;
    if (!half.baseKnown) this.setBase(half, dataSeq);
    if (pkt.payloadWireLength > 0 && !rst) this.onPayload(half, dir, pkt, dataSeq, ts, frame);
    if ((flags & TCP_FIN) !== 0 && !rst) this.onFin(half, dir, pkt, dataSeq, frame, ts);
    if (rst && conn.rstFrame === null) {
      conn.rstFrame = frame;
      conn.rstBy = dir;
      this.teardownStep('rst', dir, frame, ts);
    }

    this.handler.packet?.(conn, dir, pkt, rec);

    if (rst) this.close('rst', ts, frame);
    else if (half.finOffset >= 0 && (other.finOffset >= 0 || other.packets === 0)) {
      // Both sides finished; or only one side is in the capture at all (asymmetric routing, a
      // one-way span port), so no other FIN can come: the FIN ends the connection.
      this.close('fin', ts, frame);
    }
  }

  /** Deliver what is held (holes as gaps), then tell the handler the connection ended. */
  close(reason: CloseReason, ts: number, frame: number | null): void {
    if (this.closed) return;
    if (!this.opened) {
      this.opened = true;
      this.handler.open(this.conn, ts, frame);
    }
    for (const half of this.halves) {
      if (half.finOffset >= 0 && reason === 'fin') half.reasm.finish(half.finOffset, ts, frame);
      else half.reasm.flush(ts, frame);
      half.reasm.free();
    }
    this.closed = true;
    this.conn.analysis?.release();
    this.conn.closeReason = reason;
    this.handler.close(this.conn, reason, ts, frame);
  }

  /**
   * A TCP-layer finding: kept on the connection (folded per code, so a retransmitting peer cannot
   * flood it) and handed to the consumer, which lists it where people look (the FTP session).
   */
  addFinding(severity: 'info' | 'warning' | 'error', code: FindingCode, message: string, frame: number | null): void {
    const f = finding(severity, code, message, frame);
    addFinding(this.conn.findings, f);
    this.handler.finding?.(this.conn, f);
  }

  // --- ReassemblySink ---

  deliver(dir: Dir, src: Buffer, from: number, to: number, ts: number, frame: number | null): void {
    this.conn.bytes[dir] += to - from;
    this.handler.data(this.conn, dir, src, from, to, ts, frame);
  }

  gap(dir: Dir, length: number, ts: number, frame: number | null): void {
    this.conn.missing[dir] += length;
    this.handler.gap(this.conn, dir, length, ts, frame);
  }

  mismatch(dir: Dir, offset: number, length: number, frame: number | null, firstFrame: number | null): void {
    this.addFinding(
      'warning',
      'tcp-retransmission-mismatch',
      `${sideName(dir)} retransmitted ${length} byte(s) at stream offset ${offset}${frame === null ? '' : ` in frame ${frame}`} ` +
        `with contents different from the first copy (${firstFrame === null ? 'an earlier frame' : `frame ${firstFrame}`}); ` +
        'the first copy was kept (check for a middlebox rewriting data or an injection attempt)',
      frame,
    );
  }

  overflow(dir: Dir, skipped: number, frame: number | null): void {
    if (this.overflowReported[dir]) return;
    this.overflowReported[dir] = true;
    this.addFinding(
      'warning',
      'tcp-reassembly-limit',
      `${sideName(dir)} had more out-of-order data than the reassembly limit; skipped a hole of ${skipped} byte(s) ` +
        '(the capture probably lost packets; raise the limit if the data matters)',
      frame,
    );
  }

  // --- per-packet steps ---

  private setBase(half: Half, seq: number): void {
    half.base = seq;
    half.baseKnown = true;
  }

  private teardownStep(kind: TeardownEvent['kind'], dir: Dir, frame: number | null, ts: number): void {
    const list = this.conn.teardown;
    if (list.length < MAX_TEARDOWN_EVENTS) list.push({ kind, dir, frame, ts });
  }

  /** After the close: an ACK that acknowledges the other side's FIN is still the teardown's last step. */
  private lateFinAck(dir: Dir, ack: number, frame: number, ts: number): void {
    const peer: Dir = dir === 0 ? 1 : 0;
    const half = this.halves[peer];
    if (this.finAcked[peer] || half.finOffset < 0 || !half.baseKnown) return;
    if (unwrapSeq(ack, half.base, half.finOffset) > half.finOffset) {
      this.finAcked[peer] = true;
      this.teardownStep('ack', dir, frame, ts);
    }
  }

  /**
   * An ACK (sent by `acker`) for `half`'s data: bytes below it reached the receiver, so holes there
   * are gaps. A FIN takes a sequence number but is no byte: an ACK one beyond everything seen from
   * `half` acknowledges its FIN when the capture lost it, and that number must never be counted as
   * a missing byte. `ackerClosing`: the acker has sent its own FIN (in this packet or before).
   */
  private onAck(half: Half, acker: Dir, ack: number, ts: number, frame: number, ackerClosing: boolean): void {
    const reasm = half.reasm;
    let off = unwrapSeq(ack, half.base, reasm.next);
    const peer: Dir = acker === 0 ? 1 : 0;
    if (half.finOffset >= 0) {
      if (off > half.finOffset) {
        if (!this.finAcked[peer]) {
          this.finAcked[peer] = true;
          this.teardownStep('ack', acker, frame, ts);
        }
        off = half.finOffset; // the FIN takes one number
      }
    } else if (off > reasm.highest) {
      if (ackerClosing) {
        // The acker closes and acknowledges one number beyond `half`'s data: `half`'s FIN, which
        // the capture lost. Nothing follows a FIN, so the connection can end here.
        half.finOffset = off - 1;
        this.finAcked[peer] = true;
      } else if (off > half.ackedEnd) {
        half.ackedEnd = off;
      }
      off -= 1; // the last number may be the FIN: held back
    }
    if (off > reasm.next) reasm.skipTo(off, ts, frame);
    reasm.acked(off);
  }

  private onPayload(half: Half, dir: Dir, pkt: FastPacket, dataSeq: number, ts: number, frame: number): void {
    const reasm = half.reasm;
    let off = unwrapSeq(dataSeq, half.base, reasm.next);
    let wire = pkt.payloadWireLength;
    let present = Math.min(pkt.payloadLength, wire);
    let from = pkt.payloadOffset;
    // A keep-alive repeats the byte before the next one (often garbage); it is not data.
    if (wire === 1 && off === reasm.next - 1 && (pkt.flags & (TCP_SYN | TCP_FIN)) === 0) return;
    if (this.conn.firstPayload[dir] === null && off >= 0) this.conn.firstPayload[dir] = { frame, ts };
    if (off + wire > reasm.next) {
      // new bytes (not a retransmission): the mark is updated in place, no object per packet
      const last = this.conn.lastPayload[dir];
      if (last === null) this.conn.lastPayload[dir] = { frame, ts };
      else { last.frame = frame; last.ts = ts; }
    }
    if (off < 0) {
      // Bytes from before the capture started following this direction.
      if (off + wire <= 0) return;
      const cut = -off;
      from += Math.min(cut, present);
      present = Math.max(present - cut, 0);
      wire -= cut;
      off = 0;
    }
    if (half.finOffset >= 0 && off + wire > half.finOffset) {
      // Nothing follows a FIN; a peer that sends more is misbehaving and it is not stream data.
      if (off >= half.finOffset) return;
      wire = half.finOffset - off;
      present = Math.min(present, wire);
    }
    // Data beyond a held-back acknowledged number: that number was a byte the capture lacks, not a FIN.
    if (half.ackedEnd > reasm.next && off >= half.ackedEnd) reasm.skipTo(half.ackedEnd, ts, frame);
    if (reasm.segment(pkt.buf, from, present, wire, off, ts, frame)) this.conn.retransmissions++;
  }

  private onFin(half: Half, dir: Dir, pkt: FastPacket, dataSeq: number, frame: number, ts: number): void {
    if (half.finOffset >= 0) return;
    half.finOffset = Math.max(unwrapSeq(dataSeq, half.base, half.reasm.next) + pkt.payloadWireLength, half.reasm.next);
    if (this.conn.finFrame[dir] === null) {
      this.conn.finFrame[dir] = frame;
      this.teardownStep('fin', dir, frame, ts);
    }
  }
}

function sideName(dir: Dir): string {
  return dir === 0 ? 'the client' : 'the server';
}

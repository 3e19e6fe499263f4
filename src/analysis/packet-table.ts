/**
 * The per-packet fact table: one row per TCP packet of the connections the analysis follows,
 * stored column-wise in typed arrays (about 80 bytes a packet), as a ring that keeps the newest
 * `maxRows` and counts what it dropped. Each row records what the analysis decided about the
 * packet when it passed: its connection, the direction, its TCP phase, the numbers relative to
 * each side's ISN, its TCP analysis (Wireshark's tcp.analysis.* flags and values), and (through its connection's entry) which session or data connection it
 * belongs to and the FTP role of its sender. Control lines a packet completed are attached by
 * frame. Sessions see their packets through PacketList views over the table.
 */
import { isControlChannel, isDataChannel, senderRole, type ControlLine, type FtpRole, type PacketChannel, type PacketFact, type PacketList, type TcpPhase, type WireLine } from '../model/packet-facts.js';
import type { TcpFacts } from '../model/tcp-facts.js';
import type { AnalysisResult } from '../tcp/analysis.js';
import type { Endpoint, Session } from '../model/types.js';
import { TA_FLAG_MASK, WSCALE_NONE, WSCALE_UNKNOWN, type TcpPacketAnalysis } from '../model/tcp-analysis.js';
import { looksLikeTls } from '../ftp/tls-hello.js';

const UNKNOWN_ENDPOINT: Endpoint = Object.freeze({ ip: '', port: 0 });

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

const PHASES: readonly TcpPhase[] = ['handshake', 'data', 'ack', 'teardown', 'reset'];
const PHASE_INDEX: Record<TcpPhase, number> = { handshake: 0, data: 1, ack: 2, teardown: 3, reset: 4 };

// bits column: phase (3 bits), dir, relSeq known, relAck known, tls
const BIT_DIR = 1 << 3;
const BIT_SEQ = 1 << 4;
const BIT_ACK = 1 << 5;
const BIT_TLS = 1 << 6;
const BIT_REPEATED = 1 << 7;

// aflags column: the TA_* flag bits (0-14), then these.
/** Wireshark showed tcp.analysis.initial_rtt on this packet. */
const AF_INITIAL_RTT = 1 << 15;
/** The sender's window scale as known at the packet: 0-14 a shift, 15 unknown, 16 none. */
const AF_SCALE_SHIFT = 16;
const AF_SCALE_MASK = 0x1f << AF_SCALE_SHIFT;
const SCALE_CODE_UNKNOWN = 15;
const SCALE_CODE_NONE = 16;
/** The row has TCP analysis values (captured packets; the proxy's synthesized ones have none). */
const AF_ANALYZED = 1 << 21;

/** Packets a candidate connection keeps for its session, should it turn out to be FTP control. */
const MAX_PENDING_ROWS = 256;

/** What the analysis knows about one connection, shared by all its rows. */
export interface ConnectionEntry {
  tcpId: number;
  /** Wireshark's initial RTT of the connection (seconds), once known. */
  initialRtt: number | null;
  channel: PacketChannel | 'candidate';
  /**
   * A connection that was not FTP control but may still turn out to be an unpaired data
   * connection when it closes: its rows are not final until then (see settled()).
   */
  undecided: boolean;
  /** Control: the frame where a line still incomplete began (FtpSession.openLineFrame); rows from it on are not final. */
  openLineFrame: number | null;
  session: Session | null;
  dataConnection: number | null;
  /** FTP role of the TCP initiator; null while unknown or not FTP. */
  initiatorRole: FtpRole | null;
  /** Bases of relative numbering per direction (see PacketFact.isn). */
  isn: [number | null, number | null];
  /** Window shift per direction, once both SYNs were seen. */
  shift: [number | null, number | null];
  /** Frame of the reply after which the control connection carries TLS; data connections: always TLS. */
  tlsAfter: number | null;
  /** Rows of a candidate, handed to its session if it becomes one. */
  pending: number[] | null;
  /** The packet list of its session (looked up once, not per packet). */
  list: SessionPackets | null;
  /** The TCP initiator and the other side, once a packet was seen. */
  client: Endpoint | null;
  server: Endpoint | null;
  /** The connection's retransmission count after its last packet: a rise marks the next packet as one. */
  retransmissions: number;
}

/** The packet fields a row is made from (a captured packet, or one the proxy synthesized). */
export interface RowInput {
  frame: number;
  ts: number;
  fileOffset: number;
  flags: number;
  seq: number;
  ack: number;
  len: number;
  window: number;
  /** The TCP analysis of the packet (captured packets), as the TCP layer left it. */
  analysis?: RowAnalysis;
}

/** The per-packet analysis values a row keeps, as the TCP layer's AnalysisResult has them. */
export type RowAnalysis = Pick<AnalysisResult,
  'flags' | 'hasTa' | 'acksFrame' | 'ackRtt' | 'bytesInFlight' | 'dupAckNum' | 'dupAckFrame' | 'windowScale' | 'initialRtt' | 'rto' | 'rtoFrame'>;

/** Analysis values few packets have, kept beside the columns by row number. */
type SparseAnalysis = Pick<RowAnalysis, 'dupAckNum' | 'dupAckFrame' | 'rto' | 'rtoFrame'>;

export interface PacketTableOptions {
  /** Rows kept (newest); older ones are dropped and counted. */
  maxRows?: number;
  /** Rows kept per session's list (newest). */
  maxRowsPerSession?: number;
}

export class PacketTable {
  private cap = 0;
  private readonly maxRows: number;
  readonly maxRowsPerSession: number;
  /** Rows ever added; row `seq` lives in slot seq % cap while seq >= firstSeq. */
  private next = 0;
  private frame = new Uint32Array(0);
  private ts = new Float64Array(0);
  private fileOffset = new Float64Array(0);
  private tcpId = new Uint32Array(0);
  private seq = new Uint32Array(0);
  private ack = new Uint32Array(0);
  private relSeq = new Uint32Array(0);
  private relAck = new Uint32Array(0);
  private len = new Uint32Array(0);
  private window = new Uint16Array(0);
  private flags = new Uint16Array(0);
  private bits = new Uint8Array(0);
  // TCP analysis: flags and window scale, acknowledged frame, its RTT, bytes in flight (about 16 bytes a row).
  private aflags = new Uint32Array(0);
  private acksFrame = new Uint32Array(0);
  private ackRtt = new Float32Array(0);
  private inFlight = new Uint32Array(0);
  /** The frame whose ACK acknowledges this segment exactly (its acks_frame is this one), 0 while none. */
  private ackedBy = new Uint32Array(0);
  private readonly sparse = new Map<number, SparseAnalysis>();
  private readonly entries = new Map<number, ConnectionEntry>();
  private readonly lines = new Map<number, ControlLine[]>();
  /**
   * A control packet's own first line (what Wireshark decodes of a packet alone), kept as bytes in
   * `wireText` at row column `wireAt` (-1: none), `wireLen` bytes long, and decoded when a view asks.
   */
  private wireAt = new Float64Array(0);
  private wireLen = new Uint16Array(0);
  private readonly wireText = new ByteRing();
  private readonly lists = new Map<Session, SessionPackets>();
  /** The connections each session was given (follow), so that forgetSession need not walk every entry. */
  private readonly connectionsOf = new Map<Session, number[]>();

  constructor(opts: PacketTableOptions = {}) {
    this.maxRows = Math.max(16, opts.maxRows ?? 4_000_000);
    this.maxRowsPerSession = Math.max(16, opts.maxRowsPerSession ?? 250_000);
  }

  /** The oldest row still kept. */
  get firstSeq(): number {
    return Math.max(0, this.next - this.cap);
  }

  get rows(): number {
    return this.next - this.firstSeq;
  }

  /** Connections and session packet lists the table holds (they go with forgetSession). */
  get connectionsHeld(): number {
    return this.entries.size;
  }

  get sessionListsHeld(): number {
    return this.lists.size;
  }

  get dropped(): number {
    return this.firstSeq;
  }

  /** The number the next row will get (rows ever added). */
  get nextSeq(): number {
    return this.next;
  }

  /**
   * Whether row `seqNo`'s facts are final: what its connection is to the analysis is decided (not a
   * candidate for FTP detection, not a possible unpaired data connection), and no control line that
   * began in it or before is still incomplete.
   */
  settled(seqNo: number): boolean {
    if (seqNo < this.firstSeq || seqNo >= this.next) return true;
    const e = this.entries.get(this.tcpId[seqNo % this.cap]!);
    if (!e) return true;
    if (e.channel === 'candidate' || e.undecided) return false;
    return e.openLineFrame === null || this.frame[seqNo % this.cap]! < e.openLineFrame;
  }

  entry(tcpId: number): ConnectionEntry | undefined {
    return this.entries.get(tcpId);
  }

  /** Start following a connection (or change what it is to the analysis). */
  follow(tcpId: number, what: Pick<ConnectionEntry, 'channel' | 'session' | 'dataConnection' | 'initiatorRole'>): ConnectionEntry {
    let e = this.entries.get(tcpId);
    if (!e) {
      e = {
        tcpId, initialRtt: null, channel: what.channel, undecided: false, openLineFrame: null, session: null, dataConnection: null, initiatorRole: null,
        isn: [null, null], shift: [null, null], tlsAfter: null, pending: null, client: null, server: null, retransmissions: 0, list: null,
      };
      this.entries.set(tcpId, e);
    }
    e.channel = what.channel;
    e.dataConnection = what.dataConnection;
    e.initiatorRole = what.initiatorRole;
    if (what.channel === 'candidate') e.pending ??= [];
    if (what.session && e.session !== what.session) {
      e.session = what.session;
      const conns = this.connectionsOf.get(what.session);
      if (conns) conns.push(tcpId);
      else this.connectionsOf.set(what.session, [tcpId]);
      const list = this.listOf(what.session);
      e.list = list;
      if (e.pending) for (const seq of e.pending) if (seq >= this.firstSeq) list.push(seq);
    }
    if (what.channel !== 'candidate') e.pending = null;
    return e;
  }

  /** Stop following a connection that turned out not to be FTP: its rows stay, new ones are not kept. */
  forget(tcpId: number): void {
    const e = this.entries.get(tcpId);
    if (!e) return;
    e.channel = 'other';
    e.pending = null;
    this.entries.delete(tcpId);
  }

  /** A session no view shows any more: its list and its connections' entries (their rows age out of the ring). */
  forgetSession(session: Session): void {
    this.lists.delete(session);
    for (const id of this.connectionsOf.get(session) ?? []) if (this.entries.get(id)?.session === session) this.entries.delete(id);
    this.connectionsOf.delete(session);
  }

  /** The session's packet list (created on first use). */
  listOf(session: Session): SessionPackets {
    let l = this.lists.get(session);
    if (!l) this.lists.set(session, (l = new SessionPackets(this)));
    return l;
  }

  /** A control line completed in `frame` (attached to that frame's row, now or when it is added). */
  noteLine(frame: number | null, line: ControlLine): void {
    if (frame === null) return;
    const list = this.lines.get(frame);
    if (list) list.push(line);
    else this.lines.set(frame, [line]);
  }

  /** The control lines of `frame` are no longer needed (its row was handed on and will not be read again). */
  dropLines(frame: number): void {
    this.lines.delete(frame);
  }

  /** Mark the control connection as carrying TLS after `frame` (the reply that accepted AUTH). */
  tlsAfter(tcpId: number, frame: number | null): void {
    const e = this.entries.get(tcpId);
    if (e && e.tlsAfter === null) e.tlsAfter = frame ?? 0;
  }

  /**
   * Record one packet of a followed connection; `conn` holds its TCP facts as of this packet.
   * `payload[start, end)`, when given, is the packet's TCP payload (read during the call only:
   * only a control packet's first line is kept).
   */
  add(conn: TcpFacts, dir: 0 | 1, p: RowInput, payload?: Uint8Array, start = 0, end = payload?.length ?? 0): void {
    const e = this.entries.get(conn.id);
    if (!e) return;
    if (e.client === null) {
      e.client = { ip: conn.client.ip, port: conn.client.port };
      e.server = { ip: conn.server.ip, port: conn.server.port };
    }
    if (this.next - this.firstSeq >= this.cap) this.grow();
    const seqNo = this.next++;
    const i = seqNo % this.cap;
    if (seqNo >= this.cap) {
      this.lines.delete(this.frame[i]!);
      if (this.sparse.size > 0) this.sparse.delete(seqNo - this.cap);
    }
    const other = dir === 0 ? 1 : 0;
    const flags = p.flags;
    const hs = conn.handshake;
    // Bases of relative numbering: the ISN once the SYN is seen, else Wireshark's "first seen is 1".
    if (e.isn[dir] === null || ((flags & TCP_SYN) !== 0 && hs.isn[dir] !== null)) {
      e.isn[dir] = hs.isn[dir] ?? ((flags & TCP_SYN) !== 0 ? p.seq : (p.seq - 1) >>> 0);
    }
    if ((flags & TCP_ACK) !== 0 && e.isn[other] === null) e.isn[other] = hs.isn[other] ?? ((p.ack - 1) >>> 0);
    if (e.shift[dir] === null && hs.options[0] && hs.options[1]) {
      const a = hs.options[dir]!.wscale;
      const b = hs.options[other]!.wscale;
      // RFC 7323 §2.2: scaling is on only when both SYNs carried the option.
      e.shift[dir] = a !== undefined && b !== undefined ? a : 0;
    }
    this.frame[i] = p.frame;
    this.ts[i] = p.ts;
    this.fileOffset[i] = p.fileOffset;
    this.tcpId[i] = conn.id;
    this.seq[i] = p.seq;
    this.ack[i] = p.ack;
    this.relSeq[i] = (p.seq - e.isn[dir]!) >>> 0;
    const ackKnown = (flags & TCP_ACK) !== 0 && e.isn[other] !== null;
    this.relAck[i] = ackKnown ? (p.ack - e.isn[other]!) >>> 0 : 0;
    this.len[i] = p.len;
    this.window[i] = p.window;
    this.flags[i] = flags;
    if (e.tlsAfter === null && payload && end > start && (e.channel === 'proxy-control' || e.channel === 'proxy-data') && looksLikeTls(payload.subarray(start, end))) {
      // A proxy's server-facing leg is not read as a session (no AUTH TLS reply to go by): its first TLS record says it.
      e.tlsAfter = p.frame - 1;
    }
    const tls = e.channel === 'data' ? e.tlsAfter !== null : e.tlsAfter !== null && p.frame > e.tlsAfter;
    // A packet-by-packet decoder reads each clear-text segment's own bytes as FTP, but not a
    // retransmission's: Wireshark shows it as one and decodes nothing.
    const retransmitted = conn.retransmissions > e.retransmissions;
    e.retransmissions = conn.retransmissions;
    this.wireAt[i] = -1;
    if (payload && end > start && (e.channel === 'control' || e.channel === 'proxy-control') && !retransmitted && !tls) {
      const n = firstLineLength(payload, start, end);
      this.wireAt[i] = this.wireText.append(payload, start, n, seqNo, this.firstSeq);
      this.wireLen[i] = n;
    }
    this.bits[i] = PHASE_INDEX[phaseOf(conn, flags, p)] | (dir ? BIT_DIR : 0) | BIT_SEQ | (ackKnown ? BIT_ACK : 0) | (tls ? BIT_TLS : 0)
      | (retransmitted ? BIT_REPEATED : 0);
    const a = p.analysis;
    this.ackedBy[i] = 0;
    this.aflags[i] = 0;
    if (a) {
      const scale = a.windowScale >= 0 ? a.windowScale : a.windowScale === WSCALE_NONE ? SCALE_CODE_NONE : SCALE_CODE_UNKNOWN;
      const showRtt = a.hasTa && a.initialRtt === a.initialRtt;
      if (showRtt) e.initialRtt = a.initialRtt;
      this.aflags[i] = AF_ANALYZED | (a.flags & TA_FLAG_MASK) | (showRtt ? AF_INITIAL_RTT : 0) | (scale << AF_SCALE_SHIFT);
      this.acksFrame[i] = a.acksFrame;
      this.ackRtt[i] = a.ackRtt;
      this.inFlight[i] = a.bytesInFlight;
      if (a.acksFrame !== 0) {
        // Tell the acknowledged segment who acknowledged it (the teaching view follows the arithmetic).
        const r = this.findFrame(a.acksFrame);
        if (r >= 0 && this.ackedBy[r % this.cap] === 0) this.ackedBy[r % this.cap] = p.frame;
      }
      if (a.dupAckNum !== 0 || a.rto === a.rto) {
        this.sparse.set(seqNo, { dupAckNum: a.dupAckNum, dupAckFrame: a.dupAckFrame, rto: a.rto, rtoFrame: a.rtoFrame });
      }
    }
    if (e.list) e.list.push(seqNo);
    else if (e.pending && e.pending.length < MAX_PENDING_ROWS) e.pending.push(seqNo);
  }

  /** The facts of row `seqNo`, or null when it was dropped. */
  fact(seqNo: number): PacketFact | null {
    if (seqNo < this.firstSeq || seqNo >= this.next) return null;
    const i = seqNo % this.cap;
    const e = this.entries.get(this.tcpId[i]!);
    const bits = this.bits[i]!;
    const dir = (bits & BIT_DIR ? 1 : 0) as 0 | 1;
    const fromInitiator = dir === 0;
    const sender = senderRole(e?.initiatorRole ?? null, dir);
    const channel: PacketChannel = !e || e.channel === 'candidate' ? 'other' : e.channel;
    const frame = this.frame[i]!;
    const len = this.len[i]!;
    const relSeq = bits & BIT_SEQ ? this.relSeq[i]! : null;
    let meaning: PacketFact['meaning'] = null;
    const lines = this.lines.get(frame);
    if (lines && channel === 'control') meaning = { kind: 'control', lines };
    else if (isDataChannel(channel)) {
      if (len > 0 && relSeq !== null) meaning = { kind: 'transfer', offset: Math.max(0, relSeq - 1) };
    }
    const other = dir === 0 ? 1 : 0;
    return {
      frame,
      wire: isControlChannel(channel) ? this.wireOf(i, sender) : null,
      ts: this.ts[i]!,
      fileOffset: this.fileOffset[i]!,
      tcpId: this.tcpId[i]!,
      channel,
      session: e?.session?.id ?? null,
      dataConnection: e?.dataConnection ?? null,
      sender,
      fromInitiator,
      dir,
      src: (dir === 0 ? e?.client : e?.server) ?? UNKNOWN_ENDPOINT,
      dst: (dir === 0 ? e?.server : e?.client) ?? UNKNOWN_ENDPOINT,
      phase: PHASES[bits & 7]!,
      flags: this.flags[i]!,
      seq: this.seq[i]!,
      ack: this.ack[i]!,
      relSeq,
      relAck: bits & BIT_ACK ? this.relAck[i]! : null,
      isn: [e?.isn[dir] ?? null, e?.isn[other] ?? null],
      windowShift: e?.shift[dir] ?? null,
      tls: (bits & BIT_TLS) !== 0,
      repeated: (bits & BIT_REPEATED) !== 0,
      len,
      window: this.window[i]!,
      meaning,
      analysis: this.aflags[i]! & AF_ANALYZED ? this.analysisOf(seqNo, i, e) : null,
    };
  }

  private analysisOf(seqNo: number, i: number, e: ConnectionEntry | undefined): TcpPacketAnalysis {
    const af = this.aflags[i]!;
    const code = (af & AF_SCALE_MASK) >>> AF_SCALE_SHIFT;
    const windowScale = code === SCALE_CODE_NONE ? WSCALE_NONE : code === SCALE_CODE_UNKNOWN ? WSCALE_UNKNOWN : code;
    const rtt = this.ackRtt[i]!;
    const acks = this.acksFrame[i]!;
    const x = this.sparse.get(seqNo);
    // The segment this ACK acknowledges, and the ACK that acknowledges this segment, while kept.
    let ackedSegment: TcpPacketAnalysis['ackedSegment'] = null;
    if (acks !== 0) {
      const r = this.findFrame(acks);
      if (r >= 0) {
        const j = r % this.cap;
        const e2 = this.entries.get(this.tcpId[j]!);
        const d2 = this.bits[j]! & BIT_DIR ? 1 : 0;
        const base = e2?.isn[d2] ?? null;
        ackedSegment = { frame: acks, relSeq: base === null ? null : (this.seq[j]! - base) >>> 0, len: this.len[j]!, flags: this.flags[j]! };
      }
    }
    let ackedBy: TcpPacketAnalysis['ackedBy'] = null;
    const by = this.ackedBy[i]!;
    if (by !== 0) {
      const r = this.findFrame(by);
      ackedBy = { frame: by, rtt: r >= 0 ? this.ts[r % this.cap]! - this.ts[i]! : null };
    }
    return {
      flags: af & TA_FLAG_MASK,
      acksFrame: acks === 0 ? null : acks,
      // Stored as float32; times are kept to the microsecond.
      ackRtt: acks === 0 || rtt !== rtt ? null : Math.round(rtt * 1e6) / 1e6,
      initialRtt: af & AF_INITIAL_RTT ? e?.initialRtt ?? null : null,
      bytesInFlight: this.inFlight[i]! === 0 ? null : this.inFlight[i]!,
      dupAckNum: x && x.dupAckNum !== 0 ? x.dupAckNum : null,
      dupAckFrame: x && x.dupAckNum !== 0 ? x.dupAckFrame : null,
      // SYNs are never scaled (RFC 7323 §2.2).
      windowSize: windowScale >= 0 && (this.flags[i]! & TCP_SYN) === 0 ? this.window[i]! * 2 ** windowScale : this.window[i]!,
      windowScale,
      rto: x && x.rto === x.rto ? x.rto : null,
      rtoFrame: x && x.rto === x.rto ? x.rtoFrame : null,
      ackedSegment,
      ackedBy,
    };
  }

  /** The wire lines of the row in slot `i` (see wireAt), decoded now. */
  private wireOf(i: number, sender: FtpRole | null): WireLine[] | null {
    const at = this.wireAt[i]!;
    if (at < 0 || sender === null) return null;
    return wireLines(this.wireText.text(at, this.wireLen[i]!), sender);
  }

  /** Row of `frame` (binary search: rows are in capture order), -1 when not kept. */
  findFrame(frame: number): number {
    let lo = this.firstSeq;
    let hi = this.next - 1;
    while (lo <= hi) {
      const mid = Math.floor((lo + hi) / 2);
      const f = this.frame[mid % this.cap]!;
      if (f === frame) return mid;
      if (f < frame) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  frameOf(seqNo: number): number {
    return this.frame[seqNo % this.cap]!;
  }

  private grow(): void {
    if (this.cap >= this.maxRows) return; // full: the ring overwrites the oldest row
    const cap = Math.min(this.maxRows, Math.max(4096, this.cap * 2));
    const move = <T extends Uint32Array | Float64Array | Float32Array | Uint16Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const a = make(cap);
      a.set(old);
      return a;
    };
    // Before the ring first wraps, row seq lives at index seq: growing keeps every index.
    this.frame = move(this.frame, (n) => new Uint32Array(n));
    this.ts = move(this.ts, (n) => new Float64Array(n));
    this.fileOffset = move(this.fileOffset, (n) => new Float64Array(n));
    this.tcpId = move(this.tcpId, (n) => new Uint32Array(n));
    this.seq = move(this.seq, (n) => new Uint32Array(n));
    this.ack = move(this.ack, (n) => new Uint32Array(n));
    this.relSeq = move(this.relSeq, (n) => new Uint32Array(n));
    this.relAck = move(this.relAck, (n) => new Uint32Array(n));
    this.len = move(this.len, (n) => new Uint32Array(n));
    this.window = move(this.window, (n) => new Uint16Array(n));
    this.flags = move(this.flags, (n) => new Uint16Array(n));
    this.bits = move(this.bits, (n) => new Uint8Array(n));
    this.wireAt = move(this.wireAt, (n) => new Float64Array(n));
    this.wireLen = move(this.wireLen, (n) => new Uint16Array(n));
    this.aflags = move(this.aflags, (n) => new Uint32Array(n));
    this.acksFrame = move(this.acksFrame, (n) => new Uint32Array(n));
    this.ackRtt = move(this.ackRtt, (n) => new Float32Array(n));
    this.inFlight = move(this.inFlight, (n) => new Uint32Array(n));
    this.ackedBy = move(this.ackedBy, (n) => new Uint32Array(n));
    this.cap = cap;
  }
}

/** Where a packet sits in its connection's life, from its flags and the connection's facts so far. */
function phaseOf(conn: TcpFacts, flags: number, p: RowInput): TcpPhase {
  if ((flags & TCP_RST) !== 0) return 'reset';
  if ((flags & TCP_SYN) !== 0) return 'handshake';
  if (p.frame === conn.handshake.ackFrame) return 'handshake';
  if ((flags & TCP_FIN) !== 0) return 'teardown';
  if (p.len > 0) return 'data';
  if (conn.finFrame[0] !== null || conn.finFrame[1] !== null) return 'teardown';
  return 'ack';
}

/** One session's rows: indices into the table, newest `maxRowsPerSession` kept. */
export class SessionPackets implements PacketList {
  private seqs = new Float64Array(64);
  private start = 0;
  private end = 0;
  private trimmed = 0;

  constructor(private readonly table: PacketTable, frozenFrom?: SessionPackets) {
    if (frozenFrom) {
      this.seqs = frozenFrom.seqs.slice(frozenFrom.start, frozenFrom.end);
      this.end = this.seqs.length;
      this.trimmed = frozenFrom.trimmed;
    }
  }

  push(seqNo: number): void {
    if (this.end === this.seqs.length) {
      const live = this.end - this.start;
      const a = new Float64Array(Math.max(64, live * 2));
      a.set(this.seqs.subarray(this.start, this.end));
      this.seqs = a;
      this.start = 0;
      this.end = live;
    }
    this.seqs[this.end++] = seqNo;
    const max = this.table.maxRowsPerSession;
    // Trim in batches, so the list is not shifted for every packet.
    if (this.end - this.start > max + (max >> 3)) {
      const excess = this.end - this.start - max;
      this.start += excess;
      this.trimmed += excess;
    }
  }

  /** First index whose row the table still keeps. */
  private first(): number {
    const firstSeq = this.table.firstSeq;
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.seqs[mid]! < firstSeq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get count(): number {
    return this.end - this.first();
  }

  get dropped(): number {
    return this.trimmed + (this.first() - this.start);
  }

  at(i: number): PacketFact {
    const f = this.table.fact(this.seqs[this.first() + i]!);
    if (!f) throw new RangeError(`packet ${i} is no longer kept`);
    return f;
  }

  indexOfFrame(frame: number): number {
    const base = this.first();
    let lo = base;
    let hi = this.end - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const f = this.table.frameOf(this.seqs[mid]!);
      if (f === frame) return mid - base;
      if (f < frame) lo = mid + 1;
      else hi = mid - 1;
    }
    for (let i = base; i < this.end; i++) if (this.table.frameOf(this.seqs[i]!) === frame) return i - base;
    return -1;
  }

  frozen(): PacketList {
    return new SessionPackets(this.table, this);
  }
}

/** The longest first line kept per packet. */
const MAX_WIRE_LINE = 512;

/** Bytes of a payload's first line, without its CR LF, at most MAX_WIRE_LINE. */
function firstLineLength(payload: Uint8Array, start = 0, end = payload.length): number {
  // Looks no further than the longest line kept (the payload may sit in a much larger buffer).
  const stop = Math.min(end, start + MAX_WIRE_LINE + 1);
  let eol = start;
  while (eol < stop && payload[eol] !== 0x0a) eol++;
  let n = eol - start;
  if ((eol < stop || eol === end) && n > 0 && payload[eol - 1] === 0x0d) n--;
  return Math.min(n, MAX_WIRE_LINE);
}

/**
 * A control packet's own payload as Wireshark's FTP dissector reads a packet alone: its first
 * line only (pipelined commands after it, and a multi-line reply's later lines, are shown as
 * text, not decoded): from the client, a verb and its argument; from the server, a reply code
 * when the line starts with three digits, and the text.
 */
export function wireLines(payload: Buffer | string, sender: FtpRole): WireLine[] {
  const text = typeof payload === 'string' ? payload : payload.toString('latin1', 0, firstLineLength(payload));
  if (text === '') return [];
  if (sender === 'client') {
    const sp = text.indexOf(' ');
    return [{ kind: 'request', verb: (sp < 0 ? text : text.slice(0, sp)).toUpperCase(), arg: sp < 0 ? null : text.slice(sp + 1) }];
  }
  const m = /^(\d{3})([ -]|$)/.exec(text);
  return [{ kind: 'response', code: m ? Number(m[1]) : null, arg: m ? text.slice(m[0].length) : text }];
}

/**
 * Short byte strings appended in row order, in fixed-size blocks: a block is released once every
 * row that stored bytes in it has left the table's ring, so the text stays bounded with the rows.
 */
class ByteRing {
  private static readonly BLOCK = 1 << 20;
  private readonly blocks: (Uint8Array | null)[] = [];
  /** Newest row stored in each block. */
  private readonly lastRow: number[] = [];
  /** Index in `blocks` of the first block still held. */
  private first = 0;
  private used = ByteRing.BLOCK;

  /** Store `src[start, start + n)` for row `seqNo`; returns where (for text()). Blocks whose rows are all older than `oldestRow` are released. */
  append(src: Uint8Array, start: number, n: number, seqNo: number, oldestRow: number): number {
    while (this.first < this.blocks.length - 1 && this.lastRow[this.first]! < oldestRow) {
      this.blocks[this.first] = null;
      this.first++;
    }
    if (this.used + n > ByteRing.BLOCK) {
      this.blocks.push(new Uint8Array(ByteRing.BLOCK));
      this.lastRow.push(seqNo);
      this.used = 0;
    }
    const b = this.blocks.length - 1;
    this.blocks[b]!.set(src.subarray(start, start + n), this.used);
    this.lastRow[b] = seqNo;
    const at = b * ByteRing.BLOCK + this.used;
    this.used += n;
    return at;
  }

  /** The bytes stored at `at`, as latin1 text. */
  text(at: number, n: number): string {
    const block = this.blocks[Math.floor(at / ByteRing.BLOCK)];
    if (!block) return '';
    const off = at % ByteRing.BLOCK;
    return Buffer.from(block.buffer, block.byteOffset + off, n).toString('latin1');
  }
}

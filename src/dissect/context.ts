import type { FastPacket } from './types.js';
import type { DissectContext } from './dissect.js';
import { TCP_ACK, TCP_SYN } from './types.js';
import { parseTcpOptions } from './tcp-options.js';
import { parseEpsvReply, parseEprtArg, parsePasvReply, parsePortArg } from '../ftp/endpoints.js';

/**
 * Learns, from the packets before the one a person looks at, what its full dissection needs:
 * both ISNs (relative seq/ack as Wireshark computes them), the window scale each side
 * announced, and whether the connection is FTP control or data. Pure: feed it decoded
 * packets in capture order. Bounded: at most maxConnections and maxExpectations, oldest dropped.
 */
export interface ContextTrackerOptions {
  /** Server ports treated as FTP control (default [21]). */
  ftpPorts?: number[];
  maxConnections?: number;
  maxExpectations?: number;
}

interface Side {
  isn: number | null;
  /** Window scale from this side's SYN: undefined = no SYN seen, null = SYN without the option. */
  wscale: number | null | undefined;
}

interface Conn {
  /** Index 0: the endpoint that sorts first in the key; 1: the other. */
  sides: [Side, Side];
  /** Side index of the client (the one that sent the SYN or talks to the FTP port); null while unknown. */
  client: 0 | 1 | null;
  channel: 'control' | 'data' | null;
  /** The server accepted AUTH TLS/SSL (234): later control bytes are TLS records, not lines. */
  tls: boolean;
}

interface Expectation {
  ip: string | null;
  port: number;
}

export class ContextTracker {
  private readonly conns = new Map<string, Conn>();
  private readonly expectations: Expectation[] = [];
  private readonly ftpPorts: Set<number>;
  private readonly maxConnections: number;
  private readonly maxExpectations: number;

  constructor(opts: ContextTrackerOptions = {}) {
    this.ftpPorts = new Set(opts.ftpPorts ?? [21]);
    this.maxConnections = opts.maxConnections ?? 65536;
    this.maxExpectations = opts.maxExpectations ?? 1024;
  }

  /** Feed one TCP packet (pkt.kind === 'tcp'); returns the context for dissecting that same packet. */
  observe(pkt: FastPacket): DissectContext {
    const aFirst = pkt.src < pkt.dst || (pkt.src === pkt.dst && pkt.srcPort <= pkt.dstPort);
    const key = aFirst ? `${pkt.src}|${pkt.srcPort}|${pkt.dst}|${pkt.dstPort}` : `${pkt.dst}|${pkt.dstPort}|${pkt.src}|${pkt.srcPort}`;
    const me: 0 | 1 = aFirst ? 0 : 1;
    const peer: 0 | 1 = aFirst ? 1 : 0;
    const syn = (pkt.flags & TCP_SYN) !== 0;
    const ack = (pkt.flags & TCP_ACK) !== 0;
    let c = this.conns.get(key);
    // A new SYN with another ISN on the same 4-tuple starts a new connection (port reuse).
    if (c && syn && !ack && c.sides[me].isn !== null && c.sides[me].isn !== pkt.seq) c = undefined;
    if (!c) c = this.add(key, pkt, me);
    const s = c.sides[me];
    const o = c.sides[peer];
    if (syn) {
      if (s.wscale === undefined) {
        const opts = parseTcpOptions(pkt.buf, pkt.tcpOffset + 20, pkt.tcpHeaderLength - 20);
        s.wscale = opts.wscale ?? null;
      }
      if (s.isn === null || s.isn !== pkt.seq) s.isn = pkt.seq;
      if (!ack && c.client === null) c.client = me;
      if (ack && c.client === null) c.client = peer;
    } else if (s.isn === null) {
      s.isn = (pkt.seq - 1) >>> 0; // no SYN seen: Wireshark calls the first byte seen relative 1
    }
    if (ack && o.isn === null) o.isn = (pkt.ack - 1) >>> 0;

    const ctx: DissectContext = { tcp: {} };
    if (s.isn !== null) ctx.tcp!.senderIsn = s.isn;
    if (o.isn !== null) ctx.tcp!.receiverIsn = o.isn;
    if (s.wscale !== undefined && o.wscale !== undefined) {
      // RFC 7323 §2.2: scaling is on only when both SYNs carried the option.
      ctx.tcp!.senderWindowShift = s.wscale !== null && o.wscale !== null ? s.wscale : 0;
    }
    if (c.channel !== null && c.client !== null && !c.tls) {
      ctx.ftp = { channel: c.channel, fromClient: c.client === me };
      if (c.channel === 'control' && pkt.payloadLength > 0) c.tls = this.learn(pkt, c.client === me);
    }
    return ctx;
  }

  private add(key: string, pkt: FastPacket, me: 0 | 1): Conn {
    if (this.conns.size >= this.maxConnections) {
      const oldest = this.conns.keys().next().value;
      if (oldest !== undefined) this.conns.delete(oldest);
    }
    const c: Conn = { sides: [{ isn: null, wscale: undefined }, { isn: null, wscale: undefined }], client: null, channel: null, tls: false };
    const peer: 0 | 1 = me === 0 ? 1 : 0;
    if (this.ftpPorts.has(pkt.dstPort)) { c.channel = 'control'; c.client = me; }
    else if (this.ftpPorts.has(pkt.srcPort)) { c.channel = 'control'; c.client = peer; }
    else if (this.takeExpectation(pkt.dst, pkt.dstPort)) { c.channel = 'data'; c.client = me; }
    else if (this.takeExpectation(pkt.src, pkt.srcPort)) { c.channel = 'data'; c.client = peer; }
    this.conns.set(key, c);
    return c;
  }

  /**
   * PORT/EPRT from the client, 227/229 from the server: announce where a data connection will go.
   * Returns true when the server accepted AUTH (234): the control connection turns to TLS.
   */
  private learn(pkt: FastPacket, fromClient: boolean): boolean {
    let tls = false;
    const text = pkt.buf.toString('latin1', pkt.payloadOffset, pkt.payloadOffset + Math.min(pkt.payloadLength, 4096));
    for (const line of text.split('\n')) {
      const l = line.replace(/\r$/, '');
      if (!fromClient && l.startsWith('234')) tls = true;
      let hp: Expectation | null = null;
      if (fromClient) {
        const m = /^(PORT|EPRT)\s+(.*)$/i.exec(l);
        if (m) hp = m[1]!.toUpperCase() === 'PORT' ? parsePortArg(m[2]!) : parseEprtArg(m[2]!);
      } else if (l.startsWith('227')) {
        hp = parsePasvReply(l.slice(4));
      } else if (l.startsWith('229')) {
        const e = parseEpsvReply(l.slice(4));
        if (e) hp = { ip: pkt.src, port: e.port };
      }
      if (!hp) continue;
      if (this.expectations.length >= this.maxExpectations) this.expectations.shift();
      this.expectations.push({ ip: hp.ip, port: hp.port });
    }
    return tls;
  }

  /** A connection to an announced port: on the announced address, or anywhere (NAT rewrites addresses). */
  private takeExpectation(ip: string, port: number): boolean {
    let i = this.expectations.findIndex((e) => e.port === port && e.ip === ip);
    if (i < 0) i = this.expectations.findIndex((e) => e.port === port);
    if (i < 0) return false;
    this.expectations.splice(i, 1);
    return true;
  }
}

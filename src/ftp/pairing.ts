import type { SetupVerb } from '../model/types.js';

/**
 * The expected-data-channel table (Zeek's ftp_data_expected, with Suricata's fallback):
 * every PASV/EPSV/LPSV reply and PORT/EPRT/LPRT command announces where a data
 * connection will arrive. A new TCP connection is matched on the announced port, at the
 * announced address (exact) or at the control connection's address (NAT'd announcements),
 * preferring the exact match, then the newest expectation. Unused expectations expire and
 * the table is bounded.
 */
export interface Expectation<Owner> {
  owner: Owner;
  setup: SetupVerb;
  /** Who accepts the data connection: the FTP server for passive setups, the client for active. */
  listenerIp: string;
  listenerPort: number;
  /** The control connection's address of that same side (matches a NAT'd announcement). */
  controlIp: string;
  /** The address the connection should come from, by the control connection. */
  peerIp: string;
  created: number;
  frame: number | null;
  /** Opaque slot the owner uses to attribute the connection. */
  slot: unknown;
}

export interface ExpectationMatch<Owner> {
  expectation: Expectation<Owner>;
  /** True when the announced address itself matched; false for the control-address fallback. */
  exact: boolean;
}

export interface ExpectationTableOptions {
  /** Seconds an unused expectation stays (Zeek uses 5 minutes). */
  lifetimeSec?: number;
  /** Table bound; the oldest expectation is dropped past it. */
  maxEntries?: number;
}

export class ExpectationTable<Owner> {
  private readonly byPort = new Map<number, Expectation<Owner>[]>();
  private count = 0;
  private readonly lifetime: number;
  private readonly max: number;
  /** Expectations dropped because the table was full (reported by the owner). */
  evicted = 0;

  constructor(opts: ExpectationTableOptions = {}) {
    this.lifetime = opts.lifetimeSec ?? 300;
    this.max = opts.maxEntries ?? 4096;
  }

  get size(): number {
    return this.count;
  }

  add(e: Expectation<Owner>): void {
    if (this.count >= this.max) this.dropOldest();
    let list = this.byPort.get(e.listenerPort);
    if (!list) this.byPort.set(e.listenerPort, (list = []));
    list.push(e);
    this.count++;
  }

  /**
   * Find and consume the expectation a new connection (SYN from client to server) fulfils.
   * A connection matches when its responder port is the announced port and its responder
   * address is the announced one or the control one; connections from the expected peer
   * address are preferred over others (FXP: a third host).
   */
  take(clientIp: string, serverIp: string, serverPort: number, ts: number): ExpectationMatch<Owner> | null {
    const list = this.byPort.get(serverPort);
    if (!list) return null;
    let best = -1;
    let bestScore = 0;
    for (let i = list.length - 1; i >= 0; i--) {
      const e = list[i];
      if (ts - e.created > this.lifetime) continue;
      let score = 0;
      if (e.listenerIp === serverIp) score = 4;
      else if (e.controlIp === serverIp) score = 2;
      else continue;
      if (e.peerIp === clientIp) score += 1;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    if (best < 0) return null;
    const [e] = list.splice(best, 1);
    if (list.length === 0) this.byPort.delete(serverPort);
    this.count--;
    return { expectation: e, exact: bestScore >= 4 };
  }

  /** Remove expectations older than the lifetime; returns them so the owner can report them unused. */
  expire(now: number): Expectation<Owner>[] {
    const out: Expectation<Owner>[] = [];
    for (const [port, list] of this.byPort) {
      const keep = list.filter((e) => {
        if (now - e.created > this.lifetime) {
          out.push(e);
          return false;
        }
        return true;
      });
      if (keep.length === 0) this.byPort.delete(port);
      else this.byPort.set(port, keep);
    }
    this.count -= out.length;
    return out;
  }

  /** Forget every expectation of one owner (its control connection ended long ago). */
  removeOwner(owner: Owner): void {
    for (const [port, list] of this.byPort) {
      const keep = list.filter((e) => e.owner !== owner);
      this.count -= list.length - keep.length;
      if (keep.length === 0) this.byPort.delete(port);
      else this.byPort.set(port, keep);
    }
  }

  private dropOldest(): void {
    let oldestPort = -1;
    let oldest = Infinity;
    for (const [port, list] of this.byPort) {
      if (list[0].created < oldest) {
        oldest = list[0].created;
        oldestPort = port;
      }
    }
    if (oldestPort < 0) return;
    const list = this.byPort.get(oldestPort)!;
    list.shift();
    if (list.length === 0) this.byPort.delete(oldestPort);
    this.count--;
    this.evicted++;
  }
}

import type { FastPacket } from '../dissect/types.js';
import type { Dir } from './events.js';
import type { Flow } from './flow.js';

export interface Lookup {
  flow: Flow;
  dir: Dir;
}

/** Both ports of a packet as sent, as one map key. */
function portsKey(srcPort: number, dstPort: number): number {
  return srcPort * 65536 + dstPort;
}

/**
 * Flows by 4-tuple. Each flow is stored under both directions (source address → destination
 * address → ports), so a lookup builds no key string: the decoder's address strings are
 * looked up as they are. The last flow found is checked first (bulk transfers send long runs
 * of packets on one connection).
 */
export class FlowTable {
  private readonly bySrc = new Map<string, Map<string, Map<number, Flow>>>();
  /** Insertion order: the oldest flows come first. */
  readonly flows = new Set<Flow>();
  private last: Flow | null = null;
  private readonly hit: Lookup = { flow: null as unknown as Flow, dir: 0 };

  get size(): number {
    return this.flows.size;
  }

  /** The flow of this packet and its direction, or null. The result object is reused. */
  find(pkt: FastPacket): Lookup | null {
    const last = this.last;
    if (last !== null && !last.removed) {
      const c = last.conn.client;
      const s = last.conn.server;
      if (pkt.srcPort === c.port && pkt.dstPort === s.port && pkt.src === c.ip && pkt.dst === s.ip) return this.found(last, 0);
      if (pkt.srcPort === s.port && pkt.dstPort === c.port && pkt.src === s.ip && pkt.dst === c.ip) return this.found(last, 1);
    }
    const flow = this.bySrc.get(pkt.src)?.get(pkt.dst)?.get(portsKey(pkt.srcPort, pkt.dstPort));
    if (flow === undefined) return null;
    this.last = flow;
    const c = flow.conn.client;
    return this.found(flow, pkt.srcPort === c.port && pkt.src === c.ip ? 0 : 1);
  }

  add(flow: Flow): void {
    const c = flow.conn.client;
    const s = flow.conn.server;
    this.put(c.ip, s.ip, portsKey(c.port, s.port), flow);
    this.put(s.ip, c.ip, portsKey(s.port, c.port), flow);
    this.flows.add(flow);
    this.last = flow;
  }

  remove(flow: Flow): void {
    flow.removed = true;
    const c = flow.conn.client;
    const s = flow.conn.server;
    this.drop(c.ip, s.ip, portsKey(c.port, s.port), flow);
    this.drop(s.ip, c.ip, portsKey(s.port, c.port), flow);
    this.flows.delete(flow);
    if (this.last === flow) this.last = null;
  }

  private put(src: string, dst: string, ports: number, flow: Flow): void {
    let byDst = this.bySrc.get(src);
    if (byDst === undefined) this.bySrc.set(src, (byDst = new Map()));
    let byPorts = byDst.get(dst);
    if (byPorts === undefined) byDst.set(dst, (byPorts = new Map()));
    byPorts.set(ports, flow);
  }

  /** Removes the entry if it is this flow's, and the maps it leaves empty. */
  private drop(src: string, dst: string, ports: number, flow: Flow): void {
    const byDst = this.bySrc.get(src);
    const byPorts = byDst?.get(dst);
    if (byPorts === undefined || byPorts.get(ports) !== flow) return;
    byPorts.delete(ports);
    if (byPorts.size > 0) return;
    byDst!.delete(dst);
    if (byDst!.size === 0) this.bySrc.delete(src);
  }

  private found(flow: Flow, dir: Dir): Lookup {
    this.hit.flow = flow;
    this.hit.dir = dir;
    return this.hit;
  }
}

import type { FastPacket } from '../dissect/types.js';
import type { Dir } from './events.js';
import type { Flow } from './flow.js';

/** Map key of a packet's 4-tuple as sent (the reverse direction has its own key). */
export function tupleKey(src: string, srcPort: number, dst: string, dstPort: number): string {
  return src + ' ' + srcPort + ' ' + dst + ' ' + dstPort;
}

export interface Lookup {
  flow: Flow;
  dir: Dir;
}

/**
 * Flows by 4-tuple. Each flow is stored under both directions' keys, so a lookup is one key
 * build and one map probe; the last flow found is checked first without building a key
 * (bulk transfers send long runs of packets on one connection).
 */
export class FlowTable {
  private readonly byKey = new Map<string, Flow>();
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
    const flow = this.byKey.get(tupleKey(pkt.src, pkt.srcPort, pkt.dst, pkt.dstPort));
    if (flow === undefined) return null;
    this.last = flow;
    const c = flow.conn.client;
    return this.found(flow, pkt.srcPort === c.port && pkt.src === c.ip ? 0 : 1);
  }

  add(flow: Flow): void {
    this.byKey.set(flow.keys[0], flow);
    this.byKey.set(flow.keys[1], flow);
    this.flows.add(flow);
    this.last = flow;
  }

  remove(flow: Flow): void {
    flow.removed = true;
    if (this.byKey.get(flow.keys[0]) === flow) this.byKey.delete(flow.keys[0]);
    if (this.byKey.get(flow.keys[1]) === flow) this.byKey.delete(flow.keys[1]);
    this.flows.delete(flow);
    if (this.last === flow) this.last = null;
  }

  private found(flow: Flow, dir: Dir): Lookup {
    this.hit.flow = flow;
    this.hit.dir = dir;
    return this.hit;
  }
}

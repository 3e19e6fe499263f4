/**
 * Full dissections of the packets someone looked at: loaded one at a time on selection
 * (re-read from the file by offset), kept in a small cache, errors kept as one-line text.
 */
import type { Dissection } from '../dissect/field.js';
import { isFtpscopeError } from '../errors.js';
import type { PacketFact } from '../model/packet-facts.js';
import { layerRows, type LayerRow } from './views/layers.js';

export interface Detail {
  frame: number;
  state: 'loading' | 'ok' | 'error';
  d: Dissection | null;
  rows: LayerRow[];
  error: string;
}

export type PacketLoader = (fact: PacketFact) => Promise<Dissection>;

export class PacketDetails {
  private readonly cache = new Map<number, Detail>();
  private seq = 0;

  constructor(private readonly load: PacketLoader | undefined, private readonly max = 32) {}

  get(frame: number | null): Detail | null {
    return frame === null ? null : this.cache.get(frame) ?? null;
  }

  /** Start loading `frame` unless known; `settled(latest)` runs when it is done. */
  request(frame: number, ref: PacketFact | null, settled: (latest: boolean) => void): void {
    if (this.cache.has(frame)) return;
    if (!ref || !this.load) {
      this.put({ frame, state: 'error', d: null, rows: [],
        error: this.load ? `frame ${frame} is not in this session's packet list` : 'this source cannot re-read packets' });
      return;
    }
    const entry: Detail = { frame, state: 'loading', d: null, rows: [], error: '' };
    this.put(entry);
    const seq = ++this.seq;
    this.load(ref).then((d) => {
      entry.state = 'ok';
      entry.d = d;
      entry.rows = layerRows(d);
    }, (e: unknown) => {
      entry.state = 'error';
      entry.error = isFtpscopeError(e) ? e.describe() : e instanceof Error ? e.message : String(e);
    }).finally(() => settled(seq === this.seq));
  }

  /** Resolves when every load in flight has settled (tests, benchmark). */
  async idle(): Promise<void> {
    for (let i = 0; i < 100 && [...this.cache.values()].some((d) => d.state === 'loading'); i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  private put(d: Detail): void {
    this.cache.set(d.frame, d);
    if (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value as number);
  }
}

/** What the layers and hex panes say when there is no dissection to show. */
export function detailStatus(frame: number | null, det: Detail | null): string {
  if (frame === null) return 'select a packet (an arrow in the flow or a row in packets)';
  if (!det) return `frame ${frame}`;
  if (det.state === 'loading') return `reading frame ${det.frame}…`;
  if (det.state === 'error') return `frame ${det.frame}: ${det.error}`;
  return '';
}

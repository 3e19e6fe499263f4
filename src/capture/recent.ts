import type { PacketRecord } from './types.js';

/**
 * The most recent packets of a live source, copied, so one can be dissected when someone looks
 * at it. Bounded by bytes and by count; the oldest go first. Frames must arrive in order.
 */
export class RecentPackets {
  private items: PacketRecord[] = [];
  private start = 0;
  private bytes = 0;
  dropped = 0;

  constructor(private readonly maxBytes = 32 << 20, private readonly maxCount = 100_000) {}

  /** Keeps a copy of the packet; with `owned` the record and its bytes are the caller's to give away, kept as they are. */
  add(rec: PacketRecord, owned = false): void {
    const copy: PacketRecord = owned ? rec : {
      ...rec,
      buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)),
      offset: 0,
    };
    this.items.push(copy);
    this.bytes += copy.caplen;
    while (this.items.length - this.start > this.maxCount || (this.bytes > this.maxBytes && this.items.length - this.start > 1)) {
      this.bytes -= this.items[this.start]!.caplen;
      this.start++;
      this.dropped++;
    }
    if (this.start > 4096 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  /** The packet with this frame number, while it is still kept. */
  get(frame: number): PacketRecord | null {
    if (this.items.length === this.start) return null;
    const first = this.items[this.start]!.frame;
    const i = this.start + (frame - first);
    const rec = i >= this.start && i < this.items.length ? this.items[i]! : null;
    return rec && rec.frame === frame ? rec : null;
  }

  /** [first, last] frame kept, or null when empty. */
  range(): [number, number] | null {
    if (this.items.length === this.start) return null;
    return [this.items[this.start]!.frame, this.items[this.items.length - 1]!.frame];
  }
}

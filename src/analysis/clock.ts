/**
 * The one clock that drives expiry (idle flows, unused PASV/PORT expectations) for every
 * source: the timestamps of what the source hands on (packets, or the proxy's socket events).
 * A sweep runs when the clock has advanced by `intervalSec` since the last one.
 */
export class ExpiryClock {
  private next = -Infinity;
  /** Latest time seen. */
  now = -Infinity;

  constructor(private readonly intervalSec: number, private readonly sweep: (now: number) => void) {}

  /** Time moved on to `ts` (earlier times, from reordered packets, do not move it back). */
  advance(ts: number): void {
    if (ts > this.now) this.now = ts;
    if (this.now >= this.next) {
      this.next = this.now + this.intervalSec;
      this.sweep(this.now);
    }
  }
}

/** How often expiry runs, in seconds of source time. */
export const EXPIRY_INTERVAL_SEC = 15;

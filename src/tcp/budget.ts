/**
 * A byte budget shared by every buffer of one tracker, so the sum over all flows is bounded
 * and not only each flow's share.
 */
export class ByteBudget {
  used = 0;
  /** The most `used` has been (tests and benchmarks read it). */
  peak = 0;
  constructor(readonly max: number) {}

  tryTake(n: number): boolean {
    if (this.used + n > this.max) return false;
    this.used += n;
    if (this.used > this.peak) this.peak = this.used;
    return true;
  }

  give(n: number): void {
    this.used -= n;
  }
}

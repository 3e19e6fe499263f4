/**
 * Coalescing of repeated findings, for a service that runs for months: the first finding of a
 * key goes out as it is; later ones within the interval are only counted; at each interval one
 * summary per key says how many there were (a finding of the same code with `count`). A key
 * with nothing new at a tick is forgotten, so the next occurrence goes out in full again.
 * Pure: the caller supplies the clock ticks. Keys are bounded; past the bound, new keys share
 * one overflow key (still counted, never dropped silently).
 */
import type { Finding } from '../model/findings.js';

interface Entry<O> {
  /** Occurrences since the last emitted line. */
  count: number;
  latest: Finding;
  /** Whatever the caller attached to the key's findings (the session they belong to). */
  owner: O | null;
  /** Distinct sub-keys (e.g. client addresses) seen among them, bounded. */
  subjects: Set<string>;
  subjectOverflow: boolean;
}

const MAX_SUBJECTS = 16;

export interface CoalescerOptions {
  /** The summary period, for the text ("in the last N s"). */
  intervalSec: number;
  /** Keys tracked at once (default 10000). */
  maxKeys?: number;
}

export const OVERFLOW_KEY = '(other)';

export interface Coalesced<O> {
  key: string;
  finding: Finding;
  owner: O | null;
}

export class FindingCoalescer<O = unknown> {
  private readonly entries = new Map<string, Entry<O>>();
  private readonly maxKeys: number;

  constructor(private readonly opts: CoalescerOptions) {
    this.maxKeys = opts.maxKeys ?? 10_000;
  }

  get keys(): number {
    return this.entries.size;
  }

  /**
   * Offer a finding. Returns it when it should be emitted now (the first of its key), or null
   * when it was counted into the next summary. `subject` (an address, say) is listed in the summary.
   */
  offer(key: string, f: Finding, subject?: string, owner: O | null = null): Finding | null {
    // A finding that is itself a summary is never coalesced again.
    if (f.count !== undefined) return f;
    let e = this.entries.get(key);
    if (!e) {
      if (this.entries.size >= this.maxKeys) {
        key = OVERFLOW_KEY;
        e = this.entries.get(key);
      }
      if (!e) {
        this.entries.set(key, { count: 0, latest: f, owner, subjects: new Set(), subjectOverflow: false });
        return f;
      }
    }
    e.count++;
    e.latest = f;
    if (key === OVERFLOW_KEY) e.owner = null;
    if (subject !== undefined && !e.subjects.has(subject)) {
      if (e.subjects.size < MAX_SUBJECTS) e.subjects.add(subject); else e.subjectOverflow = true;
    }
    return null;
  }

  /** The periodic tick: one summary per key with repeats; quiet keys are forgotten. */
  tick(): Coalesced<O>[] {
    const out: Coalesced<O>[] = [];
    for (const [key, e] of this.entries) {
      if (e.count === 0) {
        this.entries.delete(key);
        continue;
      }
      out.push({ key, owner: e.owner, finding: this.summary(e, `in the last ${this.opts.intervalSec} s`) });
      e.count = 0;
      e.subjects.clear();
      e.subjectOverflow = false;
    }
    return out;
  }

  /** Summaries for the keys `match` selects (a session that closed), which are then forgotten. */
  flush(match: (key: string) => boolean): Coalesced<O>[] {
    const out: Coalesced<O>[] = [];
    for (const [key, e] of this.entries) {
      if (!match(key)) continue;
      if (e.count > 0) out.push({ key, owner: e.owner, finding: this.summary(e, 'since the last line') });
      this.entries.delete(key);
    }
    return out;
  }

  private summary(e: Entry<O>, when: string): Finding {
    const f = e.latest;
    const who = e.subjects.size > 0 ? ` (from ${[...e.subjects].join(', ')}${e.subjectOverflow ? ' and others' : ''})` : '';
    return {
      severity: f.severity, code: f.code, frame: f.frame, count: e.count,
      message: `${e.count} more ${e.count === 1 ? 'time' : 'times'} ${when}${who}; the latest: ${f.message}`,
    };
  }
}

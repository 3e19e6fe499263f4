/**
 * `ftpscope proxy --log FILE`: one NDJSON line per analysis event (report/json.ts eventToJson,
 * passwords masked), written so that a proxy running for months keeps its log and its memory
 * bounded by what happens, not by what clients repeat:
 *
 * - repeated findings are coalesced per session and code (the first line as it is, then one line
 *   with `count` per period and at the session's close; docs/report-json-additions.md);
 * - when the file does not keep up (a slow disk), lines beyond LOG_QUEUE_LIMIT queued bytes are
 *   dropped and counted instead of queued in memory; the drop is said once on stderr and the
 *   count is in the exit summary.
 */
import type { AnalysisEvent, Session } from '../model/types.js';
import { eventToJson } from '../report/json.js';
import { FindingCoalescer } from '../proxy/coalesce.js';

/** Bytes queued towards the log file beyond which lines are dropped (counted). */
export const LOG_QUEUE_LIMIT = 8 << 20;

export interface LogSink {
  write(line: string): void;
  /** Bytes written but not yet flushed. */
  readonly queued: number;
}

export class ProxyLog {
  private readonly coalescer: FindingCoalescer<Session>;
  private droppedLines = 0;
  private warned = false;

  constructor(
    private readonly sink: LogSink,
    private readonly opts: { showPasswords: boolean; intervalSec: number; onFirstDrop?: () => void },
  ) {
    this.coalescer = new FindingCoalescer<Session>({ intervalSec: opts.intervalSec });
  }

  get dropped(): number {
    return this.droppedLines;
  }

  event(ev: AnalysisEvent): void {
    if (ev.type === 'finding') {
      const sid = ev.session?.id ?? null;
      const f = this.coalescer.offer(keyOf(sid, ev.finding.code), ev.finding, undefined, ev.session);
      if (f) this.line({ ...ev, finding: f });
      return;
    }
    if (ev.type === 'session-close') {
      // The session's repeats are summed up before its last line; then its keys are forgotten.
      const prefix = `${ev.session.id}\u0000`;
      for (const { finding } of this.coalescer.flush((k) => k.startsWith(prefix))) this.line({ type: 'finding', session: ev.session, finding });
    }
    this.line(ev);
  }

  /** The periodic summary of repeats (call every intervalSec). */
  tick(): void {
    for (const { owner, finding } of this.coalescer.tick()) this.line({ type: 'finding', session: owner, finding });
  }

  /** Everything still counted goes out (the proxy is stopping). */
  close(): void {
    for (const { owner, finding } of this.coalescer.flush(() => true)) this.line({ type: 'finding', session: owner, finding });
  }

  private line(ev: AnalysisEvent): void {
    if (this.sink.queued > LOG_QUEUE_LIMIT) {
      this.droppedLines++;
      if (!this.warned) {
        this.warned = true;
        this.opts.onFirstDrop?.();
      }
      return;
    }
    this.sink.write(JSON.stringify(eventToJson(ev, { showPasswords: this.opts.showPasswords })) + '\n');
  }
}

function keyOf(session: number | null, code: string): string {
  return `${session ?? '-'}\u0000${code}`;
}

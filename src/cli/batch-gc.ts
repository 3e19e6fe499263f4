import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Old-generation growth allowed between two full collections in a batch run, beyond what the
 * last one left live. Sized so that the JS heap, the young generation and the read buffers stay
 * well under the 150 MB peak a report of any capture aims at.
 */
const HEADROOM_BYTES = 32 << 20;

/** A full collection, for batch runs only (see preferThroughputGc). */
let collect: (() => void) | null = null;
/** used_heap_size at which the next full collection runs. */
let collectAt = HEADROOM_BYTES;

/**
 * Batch commands (report, flow, extract, packets) read a capture from start to end and print
 * once: their throughput and memory matter, their pause times do not. V8's incremental marking,
 * there to keep pauses short, runs beside the analysis for most of a large capture, and while it
 * runs the short-lived objects of each packet and session survive young-generation collections
 * and are promoted. Measured on bench:report's 10,000-session capture: the garbage collector took
 * 1.1 s of 3.5 s of CPU and peak RSS reached 149 MB, with about 10 MB live; without incremental
 * marking the same run takes 25-30% less CPU and peaks near 107 MB, with the same output. The
 * dashboard, the proxy and live capture keep V8's default: their pauses are seen. (Tried on the
 * dashboard's load of bench:tui's 10,000 sessions, which keeps every packet's facts: the complete
 * analysis took 5.6-7.6 s instead of 4.9-5.9 s, and a key waited up to 350-610 ms instead of 130-170 ms.)
 *
 * Without incremental marking V8 leaves the first full collection until the old generation is
 * about 100 MB, whatever is live. On bulk transfers the state of every connection and session
 * lives long enough to be promoted and then dies there: on bench:report's 1 GB capture the heap
 * reached 104 MB with under 24 MB live, and peak RSS 150-165 MB. So batch runs also collect in
 * full whenever the heap has grown HEADROOM_BYTES (or half of what was live, if more) past what
 * the last collection left (collectIfGrown, the pipeline's housekeeping every 16,384 packets): a
 * collection of a heap this size takes about 10 ms.
 */
export function preferThroughputGc(): void {
  setFlagsFromString('--no-incremental-marking');
  if (collect !== null) return;
  // A context created after --expose-gc has the gc() function; ours was made before the flag.
  setFlagsFromString('--expose-gc');
  try {
    collect = runInNewContext('gc') as () => void;
  } catch {
    return; // a runtime without it: V8's own schedule, as before
  }
  // One full collection now, before the capture is read (the heap holds little more than the code
  // loaded so far: a few milliseconds). Without it V8's own first full collection came at a moment
  // of its choosing during the analysis, and in most runs on bench:report's 10,000 sessions it
  // was followed by young-generation collections that promoted most of what survived them: 2.9-4.7 s
  // of CPU and 129-137 MB instead of 1.9-2.9 s and 105-108 MB, in 5 runs of 6 against 0 of 18
  // with it (and 106 MB instead of 125-129 MB on the 1 GB capture).
  collect();
}

/** Between packets (PipelineOptions.housekeeping): a full collection when the heap grew past its allowance. */
export function collectIfGrown(): void {
  if (collect === null) return;
  if (getHeapStatistics().used_heap_size < collectAt) return;
  collect();
  // A large live set (a queue of output, many open flows) grows the allowance with it (by half of it), as V8's
  // own heuristics would: marking it every HEADROOM_BYTES would cost more than it saves.
  const live = getHeapStatistics().used_heap_size;
  collectAt = live + Math.max(HEADROOM_BYTES, live / 2);
}

/** Lines written between two chances of a heap collection (a power of two). */
const HOUSEKEEPING_LINES = 1 << 14;

/**
 * `write`, with collectIfGrown every HOUSEKEEPING_LINES calls: drawing a long session's text (a
 * report or a ladder written a line at a time) makes garbage as fast as reading the capture did.
 */
export function collectingWrite(write: (text: string) => void): (text: string) => void {
  let lines = 0;
  return (text) => {
    write(text);
    if ((++lines & (HOUSEKEEPING_LINES - 1)) === 0) collectIfGrown();
  };
}

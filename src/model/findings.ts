import type { FindingCode } from './finding-codes.js';

/**
 * Findings are data, never exceptions: a stable code, a severity, a message that says
 * what to check, and the frame it points at (null where there is none, e.g. the proxy
 * without recording). Codes come from the catalogue in finding-codes.ts (docs/findings.md).
 *
 * One owner (a session, a TCP connection, the capture) lists each code (and severity) once:
 * later occurrences are folded into the first, which counts them and keeps example frames.
 * A capture with 689 PASV replies announcing a foreign address has one
 * `pasv-address-mismatch` finding with `count: 689`, not 689 lines, and nothing is dropped
 * without being counted.
 */
export type Severity = 'info' | 'warning' | 'error';

export interface Finding {
  severity: Severity;
  code: FindingCode;
  /** The message of the first occurrence (the one at the earliest frame). */
  message: string;
  /** The first occurrence's frame: the earliest. */
  frame: number | null;
  /** Occurrences folded into this finding; absent means one. */
  count?: number;
  /**
   * Example frames of the folded occurrences (those that have one), ascending: the earliest
   * MAX_EXAMPLE_FRAMES - 1 and the last. Absent while there is only one occurrence.
   */
  frames?: number[];
}

export function finding(severity: Severity, code: FindingCode, message: string, frame: number | null = null): Finding {
  return { severity, code, message, frame };
}

/** Example frames kept per folded finding: the first ones and the latest. */
export const MAX_EXAMPLE_FRAMES = 10;

/** Occurrences of a finding (1 unless folded). */
export function occurrences(f: Finding): number {
  return f.count ?? 1;
}

/**
 * Add an occurrence to an owner's list: a new entry (the object given) when its code and
 * severity are not listed yet, else folded into the listed one. Returns the listed entry.
 * Bounded by the catalogue: at most one entry per code and severity. The entry's message and
 * frame are the earliest occurrence's, whatever order the occurrences are found in (a gap is
 * told when the bytes after it arrive, a transfer's findings when it ends).
 */
export function addFinding(list: Finding[], f: Finding): Finding {
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    if (e.code === f.code && e.severity === f.severity) {
      if (e.frames === undefined) e.frames = e.frame === null ? [] : [e.frame];
      e.count = occurrences(e) + occurrences(f);
      for (const fr of f.frames ?? (f.frame === null ? [] : [f.frame])) addExample(e.frames, fr);
      if (f.frame !== null && (e.frame === null || f.frame < e.frame)) {
        e.frame = f.frame;
        e.message = f.message;
      }
      return e;
    }
  }
  list.push(f);
  return f;
}

/** Keep `frames` ascending with the earliest MAX_EXAMPLE_FRAMES - 1 and the last. */
function addExample(frames: number[], fr: number): void {
  let i = frames.length;
  while (i > 0 && frames[i - 1]! > fr) i--;
  if (frames.length < MAX_EXAMPLE_FRAMES) {
    frames.splice(i, 0, fr);
  } else if (i === frames.length) {
    frames[frames.length - 1] = fr; // a new last
  } else if (i < frames.length - 1) {
    frames.splice(i, 0, fr); // among the earliest: the latest of those gives way
    frames.splice(frames.length - 2, 1);
  }
}

/**
 * A finding that stands for several occurrences found together (one diagnosis naming each): its
 * count and example frames, as addFinding would have folded them.
 */
export function foldedOccurrences(f: Finding, frames: (number | null)[]): void {
  f.count = frames.length;
  f.frames = [];
  for (const fr of frames) if (fr !== null) addExample(f.frames, fr);
}

/** A copy of a finding that shares nothing mutable with it. */
export function copyFinding(f: Finding): Finding {
  const c: Finding = { severity: f.severity, code: f.code, message: f.message, frame: f.frame };
  if (f.count !== undefined) c.count = f.count;
  if (f.frames !== undefined) c.frames = f.frames.slice();
  return c;
}

/**
 * Append with folding (see addFinding); returns true when the finding is listed as a new entry,
 * false when it was folded into an earlier one (and counted there).
 */
export function pushFinding(list: Finding[], f: Finding): boolean {
  return addFinding(list, f) === f;
}

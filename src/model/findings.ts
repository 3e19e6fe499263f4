import type { FindingCode } from './finding-codes.js';

/**
 * Findings are data, never exceptions: a stable code, a severity, a message that says
 * what to check, and the frame it points at (null where there is none, e.g. the proxy
 * without recording). Codes come from the catalogue in finding-codes.ts (docs/findings.md).
 */
export type Severity = 'info' | 'warning' | 'error';

export interface Finding {
  severity: Severity;
  code: FindingCode;
  message: string;
  frame: number | null;
  /**
   * How many occurrences this finding stands for when repeats were coalesced (the proxy's log
   * and refusals); absent for a single one.
   */
  count?: number;
}

export function finding(severity: Severity, code: FindingCode, message: string, frame: number | null = null): Finding {
  return { severity, code, message, frame };
}

/** Every bounded list of findings keeps at most this many; the rest are counted. */
export const MAX_FINDINGS_PER_OWNER = 1000;

/** Append with a bound; returns false when the finding was dropped. */
export function pushFinding(list: Finding[], f: Finding, max = MAX_FINDINGS_PER_OWNER): boolean {
  if (list.length >= max) return false;
  list.push(f);
  return true;
}

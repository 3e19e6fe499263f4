/**
 * Flow view: the session's ladder diagram as `ftpscope flow` draws it, with data connections
 * nested where they happened. Lines that stand for a packet carry its frame, so selecting an
 * arrow selects that packet.
 */
import type { Session } from '../../model/types.js';
import { renderLadder, type LadderLine } from '../../report/ladder.js';
import { isDiagnosis } from '../../analysis/diagnosis.js';
import type { PaneModel } from '../pane.js';
import type { Style } from '../theme.js';

const KIND_STYLE: Record<LadderLine['kind'], Style | undefined> = {
  command: 'client', reply: 'server', tcp: 'dim', data: undefined, note: 'dim',
};

export function ladderFor(session: Session, width: number, showPasswords = false): LadderLine[] {
  return renderLadder(session, { width, showPasswords });
}

/**
 * Keys that survive a growing ladder (live sources insert nested data connections above the
 * end): what the line stands for, numbered among lines that stand for the same thing.
 */
export function ladderKeys(lines: LadderLine[]): string[] {
  const seen = new Map<string, number>();
  return lines.map((l) => {
    const base = `${l.frame ?? '-'}:${l.connId ?? '-'}:${l.kind}:${l.frame === null ? l.text.trim().slice(0, 40) : ''}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}#${n}`;
  });
}

export function flowPane(session: Session | null, lines: LadderLine[]): PaneModel {
  const keys = ladderKeys(lines);
  let index: Map<string, number> | null = null;
  // The session's diagnosis heads the pane, ahead of the detail (the whole text is in the findings view and `?`).
  const diagnosis = session?.findings.find((f) => isDiagnosis(f.code)) ?? null;
  return {
    title: session ? `Flow — session ${session.id}${diagnosis ? ` — diagnosis: ${diagnosis.code}` : ''}` : 'Flow',
    ...(diagnosis ? { header: `Diagnosis: ${diagnosis.message}` } : {}),
    source: {
      count: lines.length,
      keyAt: (i) => keys[i],
      indexOf: (k) => {
        index ??= new Map(keys.map((key, i) => [key, i]));
        return index.get(String(k)) ?? -1;
      },
    },
    row: (i) => [{ text: lines[i].text, style: KIND_STYLE[lines[i].kind] }],
    empty: session ? 'nothing to draw' : 'select a session',
    matches: (i, needle) => lines[i].text.toLowerCase().includes(needle.toLowerCase()),
  };
}

/**
 * Flow view: the session's ladder diagram as `ftpscope flow` draws it, with data connections
 * nested where they happened. Lines that stand for a packet carry its frame, so selecting an
 * arrow selects that packet.
 */
import type { Session } from '../../model/types.js';
import { renderLadder, type LadderLine } from '../../report/ladder.js';
import type { PaneModel } from '../pane.js';
import type { Style } from '../theme.js';

const KIND_STYLE: Record<LadderLine['kind'], Style | undefined> = {
  command: 'client', reply: 'server', tcp: 'dim', data: undefined, note: 'dim',
};

export function ladderFor(session: Session, width: number): LadderLine[] {
  return renderLadder(session, { width });
}

export function flowPane(session: Session | null, lines: LadderLine[]): PaneModel {
  return {
    title: session ? `Flow — session ${session.id}` : 'Flow',
    source: {
      count: lines.length,
      keyAt: (i) => i,
      indexOf: (k) => (typeof k === 'number' && k < lines.length ? k : -1),
    },
    row: (i) => [{ text: lines[i].text, style: KIND_STYLE[lines[i].kind] }],
    empty: session ? 'nothing to draw' : 'select a session',
    matches: (i, needle) => lines[i].text.toLowerCase().includes(needle.toLowerCase()),
  };
}

/** The title bar (source, counts, live/paused/loading state) and the status bar (prompt, message, hints). */
import type { Analysis } from '../model/types.js';
import type { Row } from './terminal.js';
import { fit } from './text.js';

export type ScreenName = 'sessions' | 'session' | 'handshake' | 'findings' | 'help';

export interface TitleState {
  title: string;
  analysis: Analysis;
  /** Loading text of a file being read, else null. */
  status: string | null;
  live: boolean;
  paused: boolean;
  pending: number;
}

export function titleBar(cols: number, t: TitleState): Row {
  const a = t.analysis;
  let state = '';
  if (t.status) state = `  ${t.status}`;
  else if (t.live) state = t.paused ? `  ‖ PAUSED, ${t.pending} packets pending (p resumes)` : '  ● LIVE';
  const packets = a.source.type === 'proxy' ? '' : `  ${a.source.packets} packets`;
  const left = ` ftpscope  ${t.title}  ${a.sessions.length} sessions${packets}${a.source.truncated ? '  [truncated]' : ''}${state}`;
  const right = ' ? help  q quit ';
  return [{ text: fit(left, Math.max(0, cols - right.length)) + right.slice(0, cols), style: 'bar' }];
}

const HINTS: Record<ScreenName, string> = {
  sessions: 'Enter open  / filter  s sort  6 handshake  7 findings',
  session: 'Tab pane  Enter drill in  Esc back  / search  6 handshake',
  handshake: '↑↓ scroll  Esc back',
  findings: 'Enter jump to frame  Esc back',
  help: 'Esc close',
};

export function statusBar(cols: number, screen: ScreenName, prompt: { filter: boolean; text: string } | null, message: string): Row {
  if (prompt) {
    return [{ text: fit(` ${prompt.filter ? 'filter' : 'search'}: /${prompt.text}▏  (Enter apply, Esc cancel)`, cols), style: 'bar' }];
  }
  return [{ text: fit(` ${message || HINTS[screen]}`, cols), style: 'bar' }];
}

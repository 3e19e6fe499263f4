/** The title bar (source, counts, live/paused/loading state) and the status bar (prompt, message, hints). */
import type { Analysis } from '../model/types.js';
import type { Row } from './terminal.js';
import { fit } from './text.js';

export type ScreenName = 'sessions' | 'session' | 'handshake' | 'findings' | 'help' | 'graphs';

export interface TitleState {
  title: string;
  analysis: Analysis;
  /** Loading text of a file being read, else null. */
  status: string | null;
  live: boolean;
  paused: boolean;
  pending: number;
  /** Findings listed in the findings view; null while not counted yet. */
  findings: number | null;
}

const BRAND = 'ftpscope';
const HELP = ' ? help  q quit ';
/** A title shortened below this many characters says nothing: it is left out instead. */
const MIN_TITLE = 10;

/**
 * " ftpscope  <title>  3 sessions  1695 packets  4 findings  <state>      ? help  q quit ".
 * The counts and the state matter most: when the bar is too narrow the title (a file path,
 * a listen address) is shortened from the left, then left out, then the name, then the hints.
 */
export function titleBar(cols: number, t: TitleState): Row {
  const a = t.analysis;
  let state = '';
  if (t.status) state = t.status;
  else if (t.live) state = t.paused ? `‖ PAUSED, ${t.pending} packets pending (p resumes)` : '● LIVE';
  const counts = [
    `${a.sessions.length} sessions`,
    a.source.type === 'proxy' ? '' : `${a.source.packets} packets`,
    t.findings === null ? '' : `${t.findings} findings`,
    a.source.truncated ? '[truncated]' : '',
    state,
  ].filter((p) => p !== '').join('  ');
  const bar = (left: string[], right: string): Row => {
    const l = ' ' + left.filter((p) => p !== '').join('  ');
    return [{ text: fit(l, Math.max(0, cols - right.length)) + right.slice(0, cols), style: 'bar' }];
  };
  const fits = (left: string[], right: string): boolean => 1 + left.filter((p) => p !== '').join('  ').length + right.length <= cols;
  if (fits([BRAND, t.title, counts], HELP)) return bar([BRAND, t.title, counts], HELP);
  // room for the title: what is left once everything else and its separator are placed
  const room = cols - HELP.length - 1 - BRAND.length - 2 - counts.length - 2;
  if (room >= MIN_TITLE) return bar([BRAND, '…' + t.title.slice(t.title.length - (room - 1)), counts], HELP);
  if (fits([BRAND, counts], HELP)) return bar([BRAND, counts], HELP);
  if (fits([counts], HELP)) return bar([counts], HELP);
  return bar([counts], '');
}

const HINTS: Record<ScreenName, string> = {
  sessions: 'Enter open  / filter  s sort  6 handshake  7 findings  w save pcapng',
  session: 'Tab pane  Enter drill in  Esc back  / search  6 handshake  w/x/L/e save',
  handshake: '↑↓ scroll  Esc back',
  findings: 'Enter jump to frame  Esc back',
  graphs: '← → cursor  e/E flagged packet  Enter show in Packets  Esc back',
  help: 'Esc close',
};

/**
 * The bottom line: the prompt while one is open, else the last key's message, else a live
 * source's notice (drops as they happen, in the warning style), else the screen's hints.
 */
export function statusBar(cols: number, screen: ScreenName, prompt: { filter: boolean; text: string } | null, message: string, notice: string | null = null): Row {
  if (prompt) {
    return [{ text: fit(` ${prompt.filter ? 'filter' : 'search'}: /${prompt.text}▏  (Enter apply, Esc cancel, Ctrl-U clear)`, cols), style: 'bar' }];
  }
  if (!message && notice) return [{ text: fit(` ${notice}`, cols), style: 'warn' }];
  return [{ text: fit(` ${message || HINTS[screen]}`, cols), style: 'bar' }];
}

/**
 * The one key table: key handling looks actions up here and the `?` help is generated from it,
 * so the two cannot disagree.
 */
export type Action =
  | 'up' | 'down' | 'pageUp' | 'pageDown' | 'top' | 'bottom' | 'scrollLeft' | 'scrollRight'
  | 'nextPane' | 'prevPane' | 'enter' | 'back'
  | 'search' | 'nextMatch' | 'prevMatch' | 'sort' | 'reverseSort'
  | 'follow' | 'pause'
  | 'viewSessions' | 'viewFlow' | 'viewPackets' | 'viewLayers' | 'viewHex' | 'viewHandshake' | 'viewFindings' | 'viewGraphs'
  | 'nextFlagged' | 'prevFlagged'
  | 'exportPcapng' | 'exportTransfer' | 'exportLadder' | 'exportJson'
  | 'help' | 'quit';

export interface KeyBinding {
  keys: string[];
  action: Action;
  group: 'Move' | 'Panes' | 'Views' | 'Search' | 'Live' | 'Export' | 'Other';
  help: string;
}

export const KEY_TABLE: readonly KeyBinding[] = [
  { keys: ['up', 'k'], action: 'up', group: 'Move', help: 'previous row' },
  { keys: ['down', 'j'], action: 'down', group: 'Move', help: 'next row' },
  { keys: ['pageup', 'C-b'], action: 'pageUp', group: 'Move', help: 'page up' },
  { keys: ['pagedown', 'C-f', 'space'], action: 'pageDown', group: 'Move', help: 'page down' },
  { keys: ['g', 'home'], action: 'top', group: 'Move', help: 'first row' },
  { keys: ['G', 'end'], action: 'bottom', group: 'Move', help: 'last row (live: resume following)' },
  { keys: ['left', 'h'], action: 'scrollLeft', group: 'Move', help: 'scroll left (layers: close node, go to parent)' },
  { keys: ['right', 'l'], action: 'scrollRight', group: 'Move', help: 'scroll right (layers: open node)' },
  { keys: ['tab'], action: 'nextPane', group: 'Panes', help: 'next pane' },
  { keys: ['S-tab'], action: 'prevPane', group: 'Panes', help: 'previous pane' },
  { keys: ['enter'], action: 'enter', group: 'Panes', help: 'drill in (session → flow → layers; finding → its frame)' },
  { keys: ['escape', 'backspace'], action: 'back', group: 'Panes', help: 'go back' },
  { keys: ['1'], action: 'viewSessions', group: 'Views', help: 'sessions' },
  { keys: ['2'], action: 'viewFlow', group: 'Views', help: 'flow ladder of the session' },
  { keys: ['3'], action: 'viewPackets', group: 'Views', help: 'packets of the session' },
  { keys: ['4'], action: 'viewLayers', group: 'Views', help: 'layers of the selected packet' },
  { keys: ['5'], action: 'viewHex', group: 'Views', help: 'hex of the selected packet' },
  { keys: ['6', 't'], action: 'viewHandshake', group: 'Views', help: 'TCP handshake of the selected connection (teaching)' },
  { keys: ['7', '!'], action: 'viewFindings', group: 'Views', help: 'all findings' },
  { keys: ['8', 'v'], action: 'viewGraphs', group: 'Views', help: 'graphs of the data connection (sequence, throughput)' },
  { keys: ['/'], action: 'search', group: 'Search', help: 'filter sessions / search this pane' },
  { keys: ['n'], action: 'nextMatch', group: 'Search', help: 'next match' },
  { keys: ['N'], action: 'prevMatch', group: 'Search', help: 'previous match' },
  { keys: ['a'], action: 'nextFlagged', group: 'Search', help: 'next packet with a TCP analysis flag (RETX, DUP ACK…)' },
  { keys: ['A'], action: 'prevFlagged', group: 'Search', help: 'previous packet with a TCP analysis flag' },
  { keys: ['s'], action: 'sort', group: 'Search', help: 'sort sessions by the next column' },
  { keys: ['r'], action: 'reverseSort', group: 'Search', help: 'reverse the sort order' },
  { keys: ['f'], action: 'follow', group: 'Live', help: 'follow the newest item' },
  { keys: ['p'], action: 'pause', group: 'Live', help: 'pause / resume updates (shows pending count)' },
  { keys: ['w', 'f2'], action: 'exportPcapng', group: 'Export', help: 'save the session as pcapng (with its data connections)' },
  { keys: ['x'], action: 'exportTransfer', group: 'Export', help: 'save the selected transfer\'s file (D row or its packet)' },
  { keys: ['L'], action: 'exportLadder', group: 'Export', help: 'save the session\'s ladder as text' },
  { keys: ['e'], action: 'exportJson', group: 'Export', help: 'save the session\'s report as JSON' },
  { keys: ['?'], action: 'help', group: 'Other', help: 'this help' },
  { keys: ['q', 'C-c'], action: 'quit', group: 'Other', help: 'quit' },
];

const BY_KEY = new Map<string, Action>();
for (const b of KEY_TABLE) for (const k of b.keys) BY_KEY.set(k, b.action);

export function actionFor(key: string): Action | null {
  return BY_KEY.get(key) ?? null;
}

const KEY_NAMES: Record<string, string> = {
  up: '↑', down: '↓', left: '←', right: '→', pageup: 'PgUp', pagedown: 'PgDn', escape: 'Esc',
  backspace: 'Backspace', enter: 'Enter', tab: 'Tab', 'S-tab': 'Shift-Tab', home: 'Home', end: 'End',
  space: 'Space', 'C-c': 'Ctrl-C', 'C-b': 'Ctrl-B', 'C-f': 'Ctrl-F', f2: 'F2',
};

export function keyLabel(key: string): string {
  return KEY_NAMES[key] ?? key;
}

/** Help text lines, grouped, generated from KEY_TABLE. */
export function helpLines(): string[] {
  const out: string[] = [];
  let group = '';
  for (const b of KEY_TABLE) {
    if (b.group !== group) {
      if (out.length) out.push('');
      out.push(b.group);
      group = b.group;
    }
    out.push(`  ${b.keys.map(keyLabel).join(' ').padEnd(22)} ${b.help}`);
  }
  out.push('', 'Exports ask for a path (a default is filled in), ask before replacing a file, and say where they wrote.');
  out.push('Mouse: click selects a row, the wheel scrolls (off with --no-mouse).');
  return out;
}

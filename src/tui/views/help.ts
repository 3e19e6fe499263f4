/** Help on `?`, generated from the key table that also drives key handling. */
import { helpLines } from '../keymap.js';
import type { PaneModel } from '../pane.js';

export function helpPane(): PaneModel {
  const lines = helpLines();
  return {
    title: 'Help — keys (Esc to close)',
    source: { count: lines.length, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < lines.length ? k : -1) },
    row: (i) => [{ text: lines[i], style: lines[i] && !lines[i].startsWith(' ') ? 'key' : undefined }],
    empty: '',
    textOnly: true,
  };
}

import { describe, expect, it } from 'vitest';
import { actionFor, helpLines, KEY_TABLE, keyLabel } from '../../src/tui/keymap.js';
import { renderPane, type PaneModel } from '../../src/tui/pane.js';
import { arraySource, VList } from '../../src/tui/vlist.js';
import { sanitize } from '../../src/tui/terminal.js';

describe('key table', () => {
  it('binds every key once, and the help lists every binding', () => {
    const keys = KEY_TABLE.flatMap((b) => b.keys);
    expect(new Set(keys).size).toBe(keys.length);
    const help = helpLines().join('\n');
    for (const b of KEY_TABLE) {
      for (const k of b.keys) expect(actionFor(k)).toBe(b.action);
      expect(help).toContain(`${b.keys.map(keyLabel).join(' ')}`);
      expect(help).toContain(b.help);
    }
  });

  it('covers the keys the issue names', () => {
    for (const k of ['up', 'down', 'h', 'j', 'k', 'l', 'pageup', 'pagedown', 'g', 'G', 'tab', 'S-tab', 'enter', 'escape',
      'backspace', '/', 'n', 'N', 'f', 'p', 'q', 'C-c', '?']) expect(actionFor(k), k).not.toBeNull();
  });
});

describe('VList: selection pinned to items', () => {
  it('keeps the selected item when rows are inserted before it or the list is filtered', () => {
    const list = new VList();
    let items = ['a', 'b', 'c', 'd'];
    list.moveTo(arraySource(items, (x) => x), 2);
    expect(list.key).toBe('c');
    items = ['new1', 'new2', ...items];
    expect(list.sync(arraySource(items, (x) => x))).toBe(4);
    items = items.filter((x) => x !== 'a' && x !== 'new1');
    expect(items[list.sync(arraySource(items, (x) => x))]).toBe('c');
  });

  it('falls back to the nearest row when the item is gone, and follow tracks the newest', () => {
    const list = new VList();
    list.moveTo(arraySource(['a', 'b', 'c'], (x) => x), 2);
    expect(list.sync(arraySource(['a', 'b'], (x) => x))).toBe(1);
    list.follow = true;
    expect(list.sync(arraySource(['a', 'b', 'c', 'd', 'e'], (x) => x))).toBe(4);
    expect(list.key).toBe('e');
  });
});

describe('renderPane: virtualized', () => {
  it('asks the model only for the rows that are visible, however long the list', () => {
    const asked: number[] = [];
    const n = 1_000_000;
    const model: PaneModel = {
      title: 'big', empty: '',
      source: { count: n, keyAt: (i) => i, indexOf: (k) => Number(k) },
      row: (i) => { asked.push(i); return [{ text: `row ${i}` }]; },
    };
    const list = new VList();
    list.moveTo(model.source, 654_321);
    const rows = renderPane(model, list, { x: 0, y: 0, width: 40, height: 12 }, true);
    expect(rows).toHaveLength(12);
    expect(asked).toHaveLength(11);
    expect(asked).toContain(654_321);
    expect(rows.every((r) => r.reduce((w, s) => w + s.text.length, 0) === 40)).toBe(true);
  });
});

describe('renderPane: focus reads without colour', () => {
  it('marks the focused pane\'s title in plain text when several panes share the screen', () => {
    const model: PaneModel = { title: 'Flow — session 1', empty: '', source: { count: 0, keyAt: (i) => i, indexOf: () => -1 }, row: () => [] };
    const plain = (focused: boolean, several: boolean): string =>
      renderPane(model, new VList(), { x: 0, y: 0, width: 40, height: 3 }, focused, '', several)[0].map((s) => s.text).join('');
    expect(plain(true, true)).not.toBe(plain(false, true));
    expect(plain(true, true)).toMatch(/^ \[\*\] Flow — session 1 /);
    expect(plain(false, true)).toMatch(/^ Flow — session 1 /);
    // a pane alone on screen is focused by definition: no mark
    expect(plain(true, false)).toBe(plain(false, false));
  });
});

describe('sanitize', () => {
  it('replaces control bytes and wide characters so rows keep their width', () => {
    expect(sanitize('a\x1b[31mb\tc')).toBe('a.[31mb.c');
    expect(sanitize('日本')).toBe('??');
    expect(sanitize('→ └ ✓')).toBe('→ └ ✓');
  });
});

describe('terminal isolation', () => {
  it('only src/tui/terminal.ts imports blessed', async () => {
    const { readdirSync, readFileSync, statSync } = await import('node:fs');
    const root = new URL('../../src/', import.meta.url).pathname;
    const importers: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = dir + name;
        if (statSync(p).isDirectory()) walk(p + '/');
        else if (p.endsWith('.ts') && /from ['"]blessed['"]|require\(['"]blessed['"]\)|import\(['"]blessed['"]\)/.test(readFileSync(p, 'utf8'))) {
          importers.push(p.slice(root.length));
        }
      }
    };
    walk(root);
    expect(importers).toEqual(['tui/terminal.ts']);
  });
});

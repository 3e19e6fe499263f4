/**
 * A pane is a titled, virtualized list: the model hands out only the rows asked for, the pane
 * draws the visible window with a selection marker ("▶", so it reads without attributes) and
 * inverse video when focused. Where several panes share the screen, the focused one's title
 * starts with FOCUS_MARK, so focus reads without colour or attributes too.
 */
import type { Row, Segment } from './terminal.js';
import type { Style } from './theme.js';
import { fit } from './text.js';
import type { ListSource, VList } from './vlist.js';

export interface PaneModel {
  title: string;
  /** Column titles, drawn under the pane title. */
  header?: string;
  source: ListSource;
  /** Row i, at most `width` columns (longer text is cut; hscroll is applied by the pane). */
  row(i: number, width: number): Row;
  /** Shown when there are no rows. */
  empty: string;
  /** Search support for `/`, n, N. */
  matches?(i: number, needle: string): boolean;
  /** Rows are not selectable items (plain text): no marker, no highlight, arrows scroll. */
  textOnly?: boolean;
}

export interface Rect { x: number; y: number; width: number; height: number }

/** Rows of content that fit under the title and header. */
export function bodyHeight(model: PaneModel, rect: Rect): number {
  return Math.max(0, rect.height - 1 - (model.header !== undefined ? 1 : 0));
}

function cut(row: Row, from: number, width: number, style?: Style): Row {
  const out: Segment[] = [];
  let pos = 0;
  let used = 0;
  for (const seg of row) {
    const start = Math.max(from - pos, 0);
    pos += seg.text.length;
    if (start >= seg.text.length || used >= width) continue;
    const text = seg.text.slice(start, start + (width - used));
    used += text.length;
    out.push({ text, style: style ?? seg.style });
  }
  if (used < width) out.push({ text: ' '.repeat(width - used), style });
  return out;
}

/** Title prefix of the focused pane when several panes are on screen. */
export const FOCUS_MARK = '[*]';

/**
 * `markFocus`: several panes share the screen, so the focused one says so in its title text
 * (a single pane is focused by definition and carries no mark).
 */
export function renderPane(model: PaneModel, list: VList, rect: Rect, focused: boolean, info = '', markFocus = false): Row[] {
  const rows: Row[] = [];
  const h = bodyHeight(model, rect);
  const count = model.source.count;
  const idx = list.sync(model.source);
  let top: number;
  if (model.textOnly) {
    // Plain text scrolls: the "selection" is the first visible line.
    top = Math.max(0, Math.min(idx, count - h));
    list.index = list.top = top;
  } else top = list.scrollInto(h, count);
  const pos = count ? (model.textOnly ? `${top + 1}-${Math.min(count, top + h)}/${count}` : `${idx + 1}/${count}`) : '0';
  const title = ` ${markFocus && focused ? FOCUS_MARK + ' ' : ''}${model.title}${info ? '  ' + info : ''}`;
  const right = ` [${pos}] `;
  rows.push([{
    text: fit(title, Math.max(0, rect.width - right.length)) + right.slice(0, rect.width),
    style: focused ? 'paneTitleFocused' : 'paneTitle',
  }]);
  if (model.header !== undefined) rows.push([{ text: fit((model.textOnly ? '' : '  ') + model.header, rect.width), style: 'dim' }]);
  const marker = model.textOnly ? 0 : 2;
  const inner = Math.max(0, rect.width - marker);
  for (let r = 0; r < h; r++) {
    const i = top + r;
    if (i >= count) {
      rows.push([{ text: fit(count === 0 && r === 0 ? '  ' + model.empty : '', rect.width), style: count === 0 ? 'dim' : undefined }]);
      continue;
    }
    const selected = !model.textOnly && i === idx;
    const style: Style | undefined = selected ? (focused ? 'selected' : 'selectedIdle') : undefined;
    const content = cut(model.row(i, inner + list.hscroll), list.hscroll, inner, style);
    rows.push(marker ? [{ text: selected ? '▶ ' : '  ', style }, ...content] : content);
  }
  return rows;
}

/** Index of the next row matching `needle` after (or before, with dir -1) the selection, wrapping. */
export function findMatch(model: PaneModel, from: number, needle: string, dir: 1 | -1): number {
  const n = model.source.count;
  if (!needle || !model.matches || n === 0) return -1;
  for (let k = 1; k <= n; k++) {
    const i = (((from + dir * k) % n) + n) % n;
    if (model.matches(i, needle)) return i;
  }
  return -1;
}

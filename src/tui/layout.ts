/**
 * Where panes go. Wide terminals show flow and packets on the left, layers and hex on the
 * right; narrow ones stack two of them, chosen by the focused pane alone (so Tab, which steps
 * through PANE_ORDER, comes back to the screen it started from). Below the minimum size the
 * dashboard shows a notice instead.
 */
import type { Rect } from './pane.js';

export const MIN_COLS = 60;
export const MIN_ROWS = 12;
export const WIDE_COLS = 140;

export type SessionPane = 'flow' | 'packets' | 'layers' | 'hex';

/** Tab order of the session screen: down the left column, then down the right one. */
export const PANE_ORDER: readonly SessionPane[] = ['flow', 'packets', 'layers', 'hex'];

export function tooSmall(cols: number, rows: number): boolean {
  return cols < MIN_COLS || rows < MIN_ROWS;
}

/** Body = everything between the title bar and the status bar. */
export function bodyRect(cols: number, rows: number): Rect {
  return { x: 0, y: 1, width: cols, height: Math.max(0, rows - 2) };
}

export interface SessionLayout {
  panes: Array<{ pane: SessionPane; rect: Rect }>;
  /** Column of the vertical divider in the wide layout, else null. */
  divider: number | null;
}

export function sessionLayout(body: Rect, focus: SessionPane): SessionLayout {
  const { x, y, width, height } = body;
  if (width >= WIDE_COLS && height >= 20) {
    const leftW = Math.floor(width / 2);
    const rightW = width - leftW - 1;
    const topL = Math.ceil(height / 2);
    const topR = Math.ceil(height * 0.55);
    return {
      divider: x + leftW,
      panes: [
        { pane: 'flow', rect: { x, y, width: leftW, height: topL } },
        { pane: 'packets', rect: { x, y: y + topL, width: leftW, height: height - topL } },
        { pane: 'layers', rect: { x: x + leftW + 1, y, width: rightW, height: topR } },
        { pane: 'hex', rect: { x: x + leftW + 1, y: y + topR, width: rightW, height: height - topR } },
      ],
    };
  }
  // Narrow: the focused list over the selected packet's layers; looking at a packet (layers or
  // hex focused) shows layers over hex, so a selected field's bytes are always in view. The
  // focused pane is always one of the two.
  const top = Math.ceil(height / 2);
  const [upper, lower]: [SessionPane, SessionPane] = focus === 'layers' || focus === 'hex' ? ['layers', 'hex'] : [focus, 'layers'];
  return {
    divider: null,
    panes: [
      { pane: upper, rect: { x, y, width, height: top } },
      { pane: lower, rect: { x, y: y + top, width, height: height - top } },
    ],
  };
}

/**
 * A session's ladder as inline SVG, for the HTML report. It draws the rows of `ladderRows` (the
 * text ladder's rows), so order, lanes and arrow directions are the text ladder's: the FTP
 * client's control lifeline on the left, the server's on the right, and each data connection on
 * a lane of its own between them (its FTP client end left, its server end right). Lanes whose
 * connections do not overlap in time share a column, so the drawing stays as wide as the most
 * data connections open at once.
 *
 * Every drawn thing carries data attributes (kind, lane, frame, sender, time) so a reader's
 * browser, or a test, can tell what it stands for without reading pixels.
 */
import type { Session } from '../model/types.js';
import { formatRelTs, truncate } from './format.js';
import { isArrow, ladderEnds, ladderRows, type LadderLane, type LadderRow } from './ladder.js';
import { escapeHtml as esc } from './html-escape.js';

export interface LadderSvgOptions {
  showPasswords?: boolean;
  /** Rows drawn at most; the rest are counted in a last note (a session of 100,000 commands stays openable). */
  maxRows?: number;
}

export const DEFAULT_MAX_SVG_ROWS = 4000;

const ROW_H = 20;
const LANE_TITLE_H = 34;
/** A lane title whose two endpoints do not fit side by side (IPv6) puts them on a line each. */
const LANE_TITLE_TALL_H = 48;
const TOP = 44;
const TIME_X = 4;
const FRAME_X = 62;
const LEFT = 132;
const MARGIN = 36;
const TRACK_W = 250;
const TRACK_GAP = 24;
const MIN_CONTROL_W = 620;
/** Average advance of a 12px monospace character, for cutting labels to their arrow's length. */
const CHAR_W = 7.3;

interface LaneBox {
  lane: LadderLane;
  track: number;
  first: number;
  last: number;
  ends: [string, string];
}

/** The SVG of one session's ladder, as a string ready to be written into the HTML report. */
export function renderLadderSvg(s: Session, opts: LadderSvgOptions = {}): string {
  const all = ladderRows(s, { showPasswords: opts.showPasswords });
  const max = opts.maxRows ?? DEFAULT_MAX_SVG_ROWS;
  const rows = all.length > max ? all.slice(0, max) : all;

  // Each data connection's lane spans its rows; lanes that do not overlap share a column (track).
  const lanes = new Map<LadderLane, LaneBox>();
  rows.forEach((r, i) => {
    if (r.lane === 'control') return;
    const box = lanes.get(r.lane);
    if (box) box.last = i;
    else lanes.set(r.lane, { lane: r.lane, track: 0, first: i, last: i, ends: r.ends ?? ['?', '?'] });
  });
  const trackEnds: number[] = [];
  for (const box of lanes.values()) {
    let t = trackEnds.findIndex((end) => end < box.first);
    if (t < 0) t = trackEnds.length;
    trackEnds[t] = box.last;
    box.track = t;
  }
  const tracks = Math.max(1, trackEnds.length);
  const controlW = Math.max(MIN_CONTROL_W, 2 * MARGIN + tracks * TRACK_W + (tracks - 1) * TRACK_GAP);
  const xClient = LEFT;
  const xServer = LEFT + controlW;
  const width = xServer + 24;
  const trackX = (t: number): [number, number] => {
    const l = xClient + MARGIN + t * (TRACK_W + TRACK_GAP);
    return [l, l + TRACK_W];
  };
  const laneX = (lane: LadderLane): [number, number] => (lane === 'control' ? [xClient, xServer] : trackX(lanes.get(lane)!.track));

  // Row positions: a lane's title takes two lines (title, endpoints).
  const ys: number[] = [];
  let y = TOP;
  for (const r of rows) {
    ys.push(y);
    y += r.kind === 'lane' ? (endsSideBySide(r) ? LANE_TITLE_H : LANE_TITLE_TALL_H) : ROW_H;
  }
  const more = all.length - rows.length;
  const height = y + (more > 0 ? ROW_H : 0) + 12;

  const out: string[] = [];
  const [clientLabel, serverLabel] = ladderEnds(s);
  out.push(`<svg class="ladder" xmlns="http://www.w3.org/2000/svg" role="img" data-session="${s.id}" data-lanes="${lanes.size}"` +
    ` width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="ui-monospace, Menlo, Consolas, monospace" font-size="12">`);
  out.push(`<title>${esc(`Session ${s.id}: ${clientLabel} to ${serverLabel}`)}</title>`);
  // Control lifelines, labelled with their endpoints.
  out.push(`<g class="lifelines" data-lane="control" data-left="${esc(clientLabel.replace(/^client /, ''))}" data-right="${esc(serverLabel.replace(/^server /, ''))}">`);
  out.push(`<text x="${xClient}" y="16" class="end">${esc(clientLabel)}</text>`);
  out.push(`<text x="${xServer}" y="32" text-anchor="end" class="end">${esc(serverLabel)}</text>`);
  for (const x of [xClient, xServer]) out.push(`<line x1="${x}" y1="${TOP - 6}" x2="${x}" y2="${height - 8}" class="life"/>`);
  out.push('</g>');

  // Each data connection's lane: a band over its rows with its own two lifelines.
  for (const box of lanes.values()) {
    const [l, r] = trackX(box.track);
    const y0 = ys[box.first]! + 4;
    const y1 = ys[box.last]! + ROW_H;
    out.push(`<g class="lane" data-lane="${box.lane}" data-left="${esc(box.ends[0])}" data-right="${esc(box.ends[1])}" data-track="${box.track}">`);
    out.push(`<rect x="${l - 8}" y="${y0}" width="${r - l + 16}" height="${y1 - y0}" rx="4" class="band"/>`);
    const titleH = endsSideBySide(rows[box.first]!) ? LANE_TITLE_H : LANE_TITLE_TALL_H;
    for (const x of [l, r]) out.push(`<line x1="${x}" y1="${y0 + titleH - 6}" x2="${x}" y2="${y1}" class="life data"/>`);
    out.push('</g>');
  }

  rows.forEach((r, i) => out.push(drawRow(r, ys[i]!, s.start, laneX(r.lane), xClient, xServer)));
  if (more > 0) {
    out.push(`<text x="${xClient + 8}" y="${y + 14}" class="note">${esc(`… ${more} more rows: ftpscope flow --session ${s.id} shows them all`)}</text>`);
  }
  out.push('</svg>');
  return out.join('\n');
}

/** Whether a lane title's two endpoints fit on one line of its track. */
function endsSideBySide(r: LadderRow): boolean {
  if (r.kind !== 'lane' || !r.ends) return true;
  return (r.ends[0].length + r.ends[1].length + 2) * CHAR_W <= TRACK_W;
}

function drawRow(r: LadderRow, y: number, start: number, [l, rt]: [number, number], xClient: number, xServer: number): string {
  const attrs = `data-kind="${r.kind}" data-lane="${r.lane}" data-ts="${r.ts}"${r.frame !== null ? ` data-frame="${r.frame}"` : ''}` +
    `${r.sender ? ` data-sender="${r.sender}"` : ''}`;
  const gutter = `${r.timed ? `<text x="${TIME_X}" y="${y + 14}" class="time">${formatRelTs(r.ts - start)}</text>` : ''}` +
    `${r.frame !== null ? `<text x="${FRAME_X}" y="${y + 14}" class="frame">#${r.frame}</text>` : ''}`;
  const full = r.lane === 'control' ? r.label : `${r.lane} ${r.label}`;
  const tip = `<title>${esc(full)}</title>`;
  if (isArrow(r)) {
    const toRight = r.sender === 'client';
    const [x1, x2] = toRight ? [l, rt] : [rt, l];
    const ly = y + 15;
    const head = toRight ? `${x2},${ly} ${x2 - 8},${ly - 4} ${x2 - 8},${ly + 4}` : `${x2},${ly} ${x2 + 8},${ly - 4} ${x2 + 8},${ly + 4}`;
    const room = Math.max(4, Math.floor((rt - l - 20) / CHAR_W));
    const tx = toRight ? l + 8 : rt - 8;
    return `<g class="arrow ${r.kind} from-${r.sender}" ${attrs}>${tip}${gutter}` +
      `<line x1="${x1}" y1="${ly}" x2="${x2 + (toRight ? -6 : 6)}" y2="${ly}"/><polygon points="${head}"/>` +
      `<text x="${tx}" y="${y + 11}"${toRight ? '' : ' text-anchor="end"'}>${esc(truncate(r.label, room))}</text></g>`;
  }
  if (r.kind === 'lane') {
    const [le, re] = r.ends!;
    const room = Math.floor((xServer - l - 8) / CHAR_W);
    return `<g class="lane-title" ${attrs}>${tip}` +
      `<text x="${l}" y="${y + 16}" class="title">${esc(truncate(`${r.lane} ${r.label}`, room))}</text>` +
      `<text x="${l}" y="${y + 30}" class="end">${esc(le)}</text>` +
      `<text x="${rt}" y="${y + (endsSideBySide(r) ? 30 : 44)}" text-anchor="end" class="end">${esc(re)}</text></g>`;
  }
  // Notes, findings and transfers not in the capture: text across their lane.
  const x = r.kind === 'finding' || r.kind === 'unseen' ? xClient + 12 : l + 6;
  const room = Math.floor(((r.kind === 'finding' || r.kind === 'unseen' ? xServer : rt) - x - 6) / CHAR_W);
  const text = r.kind === 'finding' ? `! ${r.label}` : r.lane === 'control' ? r.label : `${r.lane} ${r.label}`;
  const sev = r.finding ? ` sev-${r.finding.severity}` : '';
  return `<g class="${r.kind}${sev}" ${attrs}${r.finding ? ` data-code="${r.finding.code}"` : ''}>${tip}${gutter}` +
    `<text x="${x}" y="${y + 14}" class="note">${esc(truncate(text, room))}</text></g>`;
}

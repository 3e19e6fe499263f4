/**
 * A session's ladder as Mermaid and PlantUML sequence diagrams, for wikis and tickets. Both draw
 * the rows of `ladderRows` (the text ladder's and the HTML report's rows), so the order, the
 * lanes and the direction of every arrow are the text ladder's. Participants: the FTP client's
 * control end on the left, the server's on the right, and between them each data connection as
 * two participants of its own (its FTP client end and its server end), declared in the order
 * they first appear.
 */
import type { Session } from '../model/types.js';
import { formatRelTs } from './format.js';
import { isArrow, ladderEnds, ladderRows, ladderTitle, type LadderLane, type LadderRow } from './ladder.js';

export interface SequenceOptions {
  /** Show secret arguments (PASS, ACCT, ADAT) instead of ****. */
  showPasswords?: boolean;
}

/** One participant of a sequence diagram: an id the diagram's syntax accepts and what it shows. */
export interface Participant {
  id: string;
  label: string;
  lane: LadderLane;
  role: 'client' | 'server';
}

/**
 * The participants of a session's diagram, left to right: the client's control end, each data
 * connection's two ends in the order the rows first show them, the server's control end.
 */
export function sequenceParticipants(s: Session, rows: LadderRow[]): Participant[] {
  const [client, server] = ladderEnds(s);
  const out: Participant[] = [{ id: 'C', label: client, lane: 'control', role: 'client' }];
  for (const r of rows) {
    if (r.kind !== 'lane') continue;
    const [l, rt] = r.ends!;
    out.push({ id: `${r.lane}c`, label: `${r.lane} client ${l}`, lane: r.lane, role: 'client' });
    out.push({ id: `${r.lane}s`, label: `${r.lane} server ${rt}`, lane: r.lane, role: 'server' });
  }
  out.push({ id: 'S', label: server, lane: 'control', role: 'server' });
  return out;
}

/** Participant ids of a lane's two ends: [FTP client end, FTP server end]. */
function laneIds(lane: LadderLane): [string, string] {
  return lane === 'control' ? ['C', 'S'] : [`${lane}c`, `${lane}s`];
}

/** "+0.115 #14 CWD pub": the gutter's time and frame, then the label. */
function rowText(r: LadderRow, start: number): string {
  const time = r.timed ? `${formatRelTs(r.ts - start)} ` : '';
  const frame = r.frame !== null ? `#${r.frame} ` : '';
  return `${time}${frame}${r.kind === 'finding' ? '! ' : ''}${r.label}`;
}

/**
 * Mermaid's text after ':' runs to the end of the line, but its lexer drops everything from a
 * `#` on (a comment), reads `;` as a statement break, `#name;` as an entity code and `<…>` as
 * HTML: those characters, and `&`, are written as entity codes.
 */
function mermaidText(s: string): string {
  return s.replace(/[#;<>&]/g, (c) => `#${c.charCodeAt(0)};`);
}

/** A Mermaid `sequenceDiagram` of one session. */
export function mermaidSequence(s: Session, opts: SequenceOptions = {}): string {
  const rows = ladderRows(s, opts);
  const out = ['sequenceDiagram', `  title ${mermaidText(ladderTitle(s))}`];
  for (const p of sequenceParticipants(s, rows)) out.push(`  participant ${p.id} as ${mermaidText(p.label)}`);
  for (const r of rows) {
    const [c, sv] = laneIds(r.lane);
    const text = mermaidText(rowText(r, s.start));
    if (isArrow(r)) {
      const [from, to] = r.sender === 'client' ? [c, sv] : [sv, c];
      // Replies dotted, TCP segments with an open head, commands and payload solid.
      const arrow = r.kind === 'reply' ? '-->>' : r.kind === 'tcp' ? '-)' : '->>';
      out.push(`  ${from}${arrow}${to}: ${text}`);
    } else {
      out.push(`  Note over ${c},${sv}: ${text}`);
    }
  }
  return out.join('\n') + '\n';
}

/**
 * PlantUML reads `\n` in a label as a line break, `<…>` and `[[…]]` as markup, and doubled
 * Creole markers (`**`, `//`, `""`, `--`, `__`, `~~`, `==`, `^^`) as formatting; its `~` escape
 * does not cover them all, but HTML character references do. Backslashes are doubled.
 */
function plantumlText(s: string): string {
  const ref = (c: string): string => `&#${c.charCodeAt(0)};`;
  return s
    .replace(/[&<>[\]\\~%]/g, (c) => (c === '\\' ? '\\\\' : ref(c)))
    .replace(/([*/"\-_=^])\1+/g, (run) => [...run].map(ref).join(''));
}

/** A PlantUML sequence diagram of one session (`@startuml` … `@enduml`). */
export function plantumlSequence(s: Session, opts: SequenceOptions = {}): string {
  const rows = ladderRows(s, opts);
  const out = [`@startuml session-${s.id}`, `title ${plantumlText(ladderTitle(s))}`];
  for (const p of sequenceParticipants(s, rows)) {
    // The label is quoted: only a '"' could end it early, and endpoints have none.
    out.push(`participant "${p.label.replace(/"/g, "'")}" as ${p.id}`);
  }
  for (const r of rows) {
    const [c, sv] = laneIds(r.lane);
    const text = plantumlText(rowText(r, s.start));
    if (isArrow(r)) {
      const [from, to] = r.sender === 'client' ? [c, sv] : [sv, c];
      const arrow = r.kind === 'reply' ? '-->' : r.kind === 'tcp' ? '->>' : '->';
      out.push(`${from} ${arrow} ${to} : ${text}`);
    } else {
      out.push(`note over ${c}, ${sv} : ${text}`);
    }
  }
  out.push('@enduml');
  return out.join('\n') + '\n';
}

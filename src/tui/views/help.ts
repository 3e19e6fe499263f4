/**
 * Help on `?`, generated from the key table that also drives key handling. Pressed on a finding,
 * it first explains that finding's code: what it means, the fix, and where the long explanation is
 * (docs/diagnosis.md for a diagnosis, docs/findings.md for the rest).
 */
import { helpLines } from '../keymap.js';
import type { PaneModel } from '../pane.js';
import type { Finding } from '../../model/findings.js';
import { FINDING_CODES, type FindingCodeInfo } from '../../model/finding-codes.js';

/** The lines that explain one finding's code (`?` on the findings view). */
export function findingHelpLines(f: Finding): string[] {
  const info = (FINDING_CODES as Record<string, FindingCodeInfo>)[f.code];
  const out = [`Finding ${f.code} (${f.severity})${f.frame !== null ? ` at frame ${f.frame}` : ''}`];
  const wrap = (label: string, text: string) => out.push(`  ${label}: ${text}`);
  wrap('here', f.message);
  if (info) {
    wrap('meaning', info.meaning);
    wrap('fix', info.fix);
    wrap('more', info.doc ? `docs/${info.doc}` : `docs/findings.md (${f.code})`);
  }
  out.push('');
  return out;
}

export function helpPane(finding: Finding | null = null): PaneModel {
  const lines = [...(finding ? findingHelpLines(finding) : []), ...helpLines()];
  return {
    title: 'Help — keys (Esc to close)',
    source: { count: lines.length, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < lines.length ? k : -1) },
    row: (i) => [{ text: lines[i], style: lines[i] && !lines[i].startsWith(' ') ? 'key' : undefined }],
    empty: '',
    textOnly: true,
  };
}

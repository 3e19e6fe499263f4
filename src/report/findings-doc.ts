/**
 * docs/findings.md, rendered from the finding-code catalogue (src/model/finding-codes.ts).
 * Pure: scripts/findings-doc.ts writes the file, a test checks it is current.
 */
import { FINDING_CODES, FINDING_GROUPS, type FindingCodeInfo, type FindingGroup } from '../model/finding-codes.js';

/** A table cell: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

function severities(info: FindingCodeInfo): string {
  return [info.severity, ...(info.otherSeverities ?? [])].join(' / ');
}

export function renderFindingsDoc(): string {
  const entries = Object.entries(FINDING_CODES) as [string, FindingCodeInfo][];
  const out: string[] = [
    '# Finding codes',
    '',
    '<!-- Generated from src/model/finding-codes.ts by `npm run docs:findings`; do not edit by hand. -->',
    '',
    'Every finding ftpscope raises is `{severity, code, message, frame}` (see [report-json.md](report-json.md)).',
    'A code found more than once in one session (or in the capture) is listed once: its `count` says how often, `frames` gives',
    'examples (the earliest and the last), and `frame` and `message` are the earliest occurrence\'s ([report-json-additions.md](report-json-additions.md)).',
    'The `code` is part of that stable contract: scripts may match on it, and codes are never renamed.',
    'The message says what was seen in this capture; this page says what each code means in general and what to do about it.',
    'Severity is the one the code is raised with; where two are listed, the first is the usual one and the meaning says when the other applies.',
    '',
  ];
  for (const [group, title] of Object.entries(FINDING_GROUPS) as [FindingGroup, string][]) {
    const rows = entries.filter(([, info]) => info.group === group);
    if (rows.length === 0) continue;
    out.push(`## ${title}`, '', '| code | severity | meaning | fix |', '|---|---|---|---|');
    for (const [code, info] of rows) {
      // A diagnosis links to its section in docs/diagnosis.md (the recorded failure, the report excerpt).
      const more = info.doc ? ` [Details](${info.doc}).` : '';
      out.push(`| \`${code}\` | ${severities(info)} | ${cell(info.meaning)}${more} | ${cell(info.fix)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

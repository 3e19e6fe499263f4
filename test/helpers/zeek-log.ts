import { readFileSync } from 'node:fs';

/** Rows of a Zeek TSV log (btest baseline) as objects keyed by the #fields names; '-' becomes null. */
export function readZeekLog(path: string): Record<string, string | null>[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const fieldsLine = lines.find((l) => l.startsWith('#fields\t'));
  if (!fieldsLine) throw new Error(`${path}: no #fields line`);
  const fields = fieldsLine.split('\t').slice(1);
  return lines
    .filter((l) => l.length > 0 && !l.startsWith('#'))
    .map((l) => {
      const cols = l.split('\t');
      const row: Record<string, string | null> = {};
      fields.forEach((f, i) => (row[f] = cols[i] === '-' ? null : cols[i]));
      return row;
    });
}

/** `suricata-verify` test.yaml fileinfo checks, read without a YAML dependency (the format is regular). */
export function readSuricataFileChecks(path: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let cur: Record<string, string> | null = null;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (/^- filter:/.test(line)) {
      cur = {};
      out.push(cur);
      continue;
    }
    const m = /^\s+([\w.]+):\s*(\S.*)$/.exec(line);
    if (cur && m) cur[m[1]] = m[2];
  }
  return out;
}

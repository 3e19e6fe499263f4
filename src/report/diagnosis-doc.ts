/**
 * docs/diagnosis.md, rendered from the diagnosis lab: for each recorded scenario (captures/scenarios/
 * scenarios.json), the symptom a person sees, what ftpscope shows (an excerpt of the real report of
 * that capture), the cause and the fix (from the finding-code catalogue). Pure: scripts/diagnosis-doc.ts
 * analyses the captures and writes the file; record.sh reruns it after every recording.
 */
import type { Analysis, Session } from '../model/types.js';
import type { Finding } from '../model/findings.js';
import { FINDING_CODES, type FindingCodeInfo } from '../model/finding-codes.js';
import { renderSessionText } from './text.js';

export interface LabScenario {
  id: string;
  file: string;
  title: string;
  server: string;
  client: string;
  steps: string[];
  runs: { client: string; exit: number; error: string; stdout: string }[];
  expect: { code: string } & Record<string, unknown>;
}

/** The scenarios as issue 16 names them. */
const NAMES: Record<string, string> = {
  '01': 'PASV announces a private address behind NAT',
  '02': 'A firewall drops the passive port range',
  '03': "Active mode blocked by the client's firewall",
  '04': 'EPSV blocked by a firewall that opens ports only where PASV points',
  '05': 'A NAT without an FTP helper leaves PORT with the private address',
  '06': "FTPS hides PASV from the firewall's FTP helper",
  '07': 'The server requires TLS session reuse on data; the client does not reuse',
  '08': 'TYPE A on a binary file',
  '09': 'REST resume with a wrong offset',
  '10': 'A NAT idle timeout kills the control connection during a long transfer',
  '11': "The server's idle timeout gives 421",
  '12': 'The passive port range is exhausted',
  '13': 'A slow reader: zero windows',
  '14': 'A lossy link',
  '15': 'A path-MTU black hole on the data connection',
  '16': 'Disk full on STOR',
  '17': 'Permission denied: 550 on RETR, 553 on STOR',
  '18': 'Brute-force login failures',
  '19': 'Anonymous login disabled',
  '20': 'A PORT bounce attempt towards a third host',
};

/** What the person in front of the client sees, in their words (the recorded client output follows it). */
const SYMPTOMS: Record<string, string> = {
  '01': 'The login works; the first listing or download hangs, then fails with a connection timeout.',
  '02': 'The login works; every listing and download hangs and times out, in passive mode.',
  '03': 'It works in passive mode but not in active mode: the transfer hangs, then the server says 425.',
  '04': 'Downloads work only after a long pause, or only when EPSV is turned off.',
  '05': 'Active mode fails at once: the server answers the PORT command with 500.',
  '06': 'Plain FTP works; with FTPS (AUTH TLS, PROT P) every transfer times out.',
  '07': 'FTPS login works; the transfer fails at once ("522 SSL connection failed: session reuse required").',
  '08': 'The download "works", but the file is corrupt and its size differs from the server\'s.',
  '09': 'The resumed download completes, but the file is corrupt (its checksum does not match).',
  '10': 'A long download finishes (all the bytes are there) but the client hangs waiting, then reports an error.',
  '11': 'After a pause, the next command fails: the server has closed the connection (421).',
  '12': 'Under load, some sessions cannot transfer: their data connections time out while others work.',
  '13': 'Downloads crawl although the network is fast.',
  '14': 'Transfers are slow and uneven.',
  '15': 'Listings and small files work; a larger download stalls right after it starts.',
  '16': 'An upload fails part-way with 452.',
  '17': 'A download or upload is refused at once (550, 553).',
  '18': 'The server log fills with failed logins from one address.',
  '19': 'Anonymous login is refused (530).',
  '20': 'A client asked the server to connect to another host (PORT), which the server refused.',
};

/** Frames a finding's message refers to ("(frame 14)"), and its own frame. */
function framesOf(f: Finding): Set<number> {
  const out = new Set<number>();
  if (f.frame !== null) out.add(f.frame);
  for (const m of f.message.matchAll(/frame (\d+)/g)) out.add(Number(m[1]));
  return out;
}

/** The lines of a session's text report that show the evidence: its head, the diagnosis, the lines of the frames named. */
function excerpt(s: Session, f: Finding): string[] {
  const lines = renderSessionText(s).split('\n').filter((l) => l !== '');
  const frames = framesOf(f);
  const out: string[] = [];
  let skipped = false;
  for (const [i, l] of lines.entries()) {
    const named = [...l.matchAll(/#(\d+)/g)].some((m) => frames.has(Number(m[1])));
    const keep = i === 0 || l.startsWith('  Diagnosis (') || (named && !l.startsWith('  Diagnosis'));
    if (keep) {
      if (skipped && out.length > 0) out.push('  …');
      out.push(l.startsWith('  Diagnosis (') ? wrap(l, 110) : l);
      skipped = false;
    } else skipped = true;
    if (out.length > 24) break;
  }
  return out;
}

function wrap(line: string, width: number): string {
  const words = line.trim().split(' ');
  const out: string[] = [];
  let cur = '  ';
  for (const w of words) {
    if (cur.length + w.length + 1 > width && cur.trim() !== '') {
      out.push(cur);
      cur = '      ';
    }
    cur += (cur.trim() === '' ? '' : ' ') + w;
  }
  out.push(cur);
  return out.join('\n');
}

export function renderDiagnosisDoc(scenarios: LabScenario[], analyses: Map<string, Analysis>): string {
  const out: string[] = [
    '# Diagnosis: symptom → what ftpscope shows → cause → fix',
    '',
    '<!-- Generated by `npm run docs:diagnosis` from captures/scenarios/ (record.sh reruns it); do not edit by hand. -->',
    '',
    'When a session fails, ftpscope names the cause as a **diagnosis**: a finding whose code says what went wrong, whose',
    'message names the evidence in the capture (frames, addresses, counts) and the fix for the server that greeted',
    '(vsftpd, ProFTPD, pure-ftpd) and for the common clients. The text report prints it first in the session, the',
    'dashboard heads the session screen with it, and `?` on it in the findings view leads here.',
    '',
    'Every section below comes from a real failure recorded by `captures/scenarios/record.sh` in network namespaces with',
    'real servers and clients (`captures/scenarios/scenarios.json` says what was done and what is true); the excerpts',
    'are from `ftpscope report` on that capture. All codes: [findings.md](findings.md).',
    '',
    '| # | scenario | server | client | diagnosis |',
    '|---|---|---|---|---|',
  ];
  const codes = FINDING_CODES as Record<string, FindingCodeInfo>;
  for (const sc of scenarios) {
    const code = sc.expect.code;
    const known = codes[code] !== undefined;
    out.push(`| ${Number(sc.id)} | [${NAMES[sc.id] ?? sc.title}](#${anchor(sc)}) | ${sc.server} | ${sc.client} | ${known ? `\`${code}\`` : 'not recognised yet'} |`);
  }
  out.push('');
  for (const sc of scenarios) {
    const code = sc.expect.code;
    const info = codes[code];
    const a = analyses.get(sc.id);
    out.push(`<a id="${anchor(sc)}"></a>`, '');
    out.push(`## ${Number(sc.id)}. ${NAMES[sc.id] ?? sc.title}: ${info ? `\`${code}\` (${info.severity})` : 'not recognised yet'}`, '');
    out.push(`**Scenario.** ${sc.title}. Recorded with ${sc.server} and ${sc.client}: ${sc.steps.join('; ')}. Capture: \`captures/scenarios/${sc.file}\`.`, '');
    const said = sc.runs.map((r) => r.error || (r.stdout.includes('"error"') ? /"error":\s*"([^"]*)"/.exec(r.stdout)?.[1] ?? '' : '')).filter((x) => x);
    out.push(`**Symptom.** ${SYMPTOMS[sc.id] ?? ''}${said.length ? ` The client said: ${[...new Set(said)].map((x) => `\`${x}\``).join(', ')}.` : ''}`, '');
    if (!a) continue;
    const hit = findDiagnosis(a, code);
    if (info && hit) {
      out.push(`**What ftpscope shows** (\`ftpscope report captures/scenarios/${sc.file}\`, excerpt):`, '', '```text');
      if (hit.session) out.push(...excerpt(hit.session, hit.finding));
      else out.push('Capture findings:', wrap(`  ${hit.finding.severity} ${hit.finding.code} [#${hit.finding.frame}]: ${hit.finding.message}`, 110));
      out.push('```', '');
      out.push(`**Cause.** ${info.meaning}`, '');
      out.push(`**Fix.** ${info.fix}`, '');
    } else {
      out.push('**What ftpscope shows.** No diagnosis for this failure yet: the report shows only what it measured.', '');
    }
  }
  return out.join('\n');
}

function anchor(sc: LabScenario): string {
  return (FINDING_CODES as Record<string, FindingCodeInfo>)[sc.expect.code] ? sc.expect.code : `scenario-${sc.id}`;
}

function findDiagnosis(a: Analysis, code: string): { session: Session | null; finding: Finding } | null {
  for (const s of a.sessions) {
    const f = s.findings.find((x) => x.code === code);
    if (f) return { session: s, finding: f };
  }
  const g = a.findings.find((x) => x.code === code);
  return g ? { session: null, finding: g } : null;
}

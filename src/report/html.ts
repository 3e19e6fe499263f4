/**
 * The HTML report (`ftpscope report --html out.html`): one self-contained file to attach to a
 * ticket. Inline CSS and SVG, one small inline script (a filter for the sessions table), and a
 * Content-Security-Policy that forbids every fetch, so the file works offline and cannot call out
 * even if a capture's text tried to. It renders the model and decides nothing: sessions, their
 * findings (with the catalogue's meaning and fix), their transfers, and each session's ladder as
 * SVG drawn from the same rows as `ftpscope flow`.
 *
 * Like the text and JSON reports it keeps memory bounded: each session is rendered the moment it
 * is final, its table row and its section parked in two spools, and the document is assembled in
 * session order at the end.
 */
import { isDiagnosis } from '../analysis/diagnosis.js';
import { createHash } from 'node:crypto';
import type { Analysis, DataConnection, Session, UnseenTransfer } from '../model/types.js';
import type { Finding, Severity } from '../model/findings.js';
import { FINDING_CODES, type FindingCode } from '../model/finding-codes.js';
import { commandText, maskReplyText } from '../ftp/masking.js';
import { TOOL } from '../version.js';
import {
  formatBytes, formatDuration, formatEndpoint, formatIsoTs, formatThroughput, printable, transferStatusLine,
} from './format.js';
import { escapeHtml as esc } from './html-escape.js';
import { renderLadderSvg } from './ladder-svg.js';
import { SessionSpool } from './spool.js';

export interface HtmlOptions {
  showPasswords?: boolean;
  /** Ladder rows drawn per session (see ladder-svg.ts). */
  maxLadderRows?: number;
}

/** The one script: typing in the box hides the sessions table's rows that do not contain the text. */
const SCRIPT = `document.getElementById('filter').addEventListener('input', function (e) {
  var q = e.target.value.toLowerCase();
  document.querySelectorAll('#sessions-table tbody tr').forEach(function (tr) {
    tr.hidden = q !== '' && tr.textContent.toLowerCase().indexOf(q) < 0;
  });
});`;

/**
 * Nothing may be fetched: no default source, styles only inline, the one script by its hash,
 * images only as data: URLs, no forms, no base URL.
 */
const CSP = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${createHash('sha256').update(SCRIPT).digest('base64')}'; ` +
  "base-uri 'none'; form-action 'none'";

const CSS = `
:root { --fg: #1d2330; --muted: #5b6475; --line: #d6dae3; --bg: #fff; --band: #f3f6fb; --client: #1f5fbf; --server: #1d7a46;
  --tcp: #7a7f8c; --data: #7b3fb0; --info: #1f5fbf; --warning: #9a6100; --error: #b3261e; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; padding: 16px 24px 48px; max-width: 1500px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; } h3 { font-size: 15px; margin: 18px 0 6px; }
code, .mono, td.num, td.ep { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
.muted { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; }
td.when { white-space: nowrap; }
tbody tr:hover { background: #fafbfd; }
.badge { display: inline-block; border-radius: 3px; padding: 0 6px; font-size: 12px; font-weight: 600; color: #fff; white-space: nowrap; }
.badge.ok { background: var(--server); } .badge.info { background: var(--info); } .badge.warning { background: var(--warning); } .badge.error { background: var(--error); }
.codes a { margin-right: 6px; white-space: nowrap; }
ul.findings { list-style: none; padding: 0; margin: 4px 0; }
ul.findings li { border-left: 4px solid var(--line); padding: 4px 10px; margin: 6px 0; background: var(--band); }
ul.findings li.sev-info { border-color: var(--info); } ul.findings li.sev-warning { border-color: var(--warning); } ul.findings li.sev-error { border-color: var(--error); }
.fix::before { content: "Fix: "; font-weight: 600; }
section.session { border-top: 2px solid var(--line); margin-top: 28px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 6px 0; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
.ladder-box { overflow-x: auto; border: 1px solid var(--line); border-radius: 4px; background: #fff; }
svg.ladder { display: block; }
svg.ladder text { fill: var(--fg); white-space: pre; }
svg.ladder .time, svg.ladder .frame, svg.ladder .end { fill: var(--muted); }
svg.ladder .life { stroke: #9aa3b2; stroke-width: 1.5; } svg.ladder .life.data { stroke: var(--data); stroke-dasharray: 4 3; stroke-width: 1; }
svg.ladder .band { fill: #f6f0fc; stroke: #e4d6f3; }
svg.ladder .arrow line { stroke-width: 1.5; }
svg.ladder .from-client line { stroke: var(--client); } svg.ladder .from-client polygon { fill: var(--client); }
svg.ladder .from-server line { stroke: var(--server); } svg.ladder .from-server polygon { fill: var(--server); }
svg.ladder .arrow.reply line { stroke-dasharray: 6 3; }
svg.ladder .arrow.tcp line { stroke: var(--tcp); stroke-width: 1; } svg.ladder .arrow.tcp polygon { fill: var(--tcp); } svg.ladder .arrow.tcp text { fill: var(--tcp); }
svg.ladder .arrow.data line { stroke: var(--data); stroke-width: 3; } svg.ladder .arrow.data polygon { fill: var(--data); }
svg.ladder .lane-title .title { font-weight: 600; fill: var(--data); }
svg.ladder .note { font-style: italic; fill: var(--muted); }
svg.ladder .finding .note { fill: var(--warning); font-style: normal; font-weight: 600; } svg.ladder .finding.sev-error .note { fill: var(--error); }
svg.ladder .unseen .note { fill: var(--error); }
input#filter { font: inherit; padding: 3px 6px; width: 320px; max-width: 100%; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
`;

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

/**
 * What the sessions table says about a session: the analysis' diagnosis when it made one (the finding
 * that names the cause, see analysis/diagnosis.ts), else its worst finding's severity and message (the
 * analysis' words; the session's section lists them all, each with its fix).
 */
export function sessionDiagnosis(s: Session): { level: Severity | 'ok'; text: string } {
  let worst: Finding | null = null;
  const diagnoses = s.findings.filter((f) => isDiagnosis(f.code));
  for (const f of diagnoses.length > 0 ? diagnoses : s.findings) if (worst === null || SEVERITY_RANK[f.severity] > SEVERITY_RANK[worst.severity]) worst = f;
  if (worst === null) return { level: 'ok', text: 'No findings.' };
  const more = s.findings.length - 1;
  return { level: worst.severity, text: `${printable(worst.message)}${more > 0 ? ` (+${more} more)` : ''}` };
}

/**
 * The HTML report of one analysis, built as sessions finish. `add` each final session (in any
 * order), then write `chunks(analysis)` in order, then `close()`.
 */
export class HtmlReport {
  private readonly rows: SessionSpool;
  private readonly sections: SessionSpool;
  /** Finding codes the report shows, with how often: the legend at the end explains each. */
  private readonly codes = new Map<FindingCode, number>();

  constructor(private readonly opts: HtmlOptions = {}) {
    this.rows = new SessionSpool((s) => this.tableRow(s));
    this.sections = new SessionSpool((s) => this.section(s));
  }

  /** Sessions added so far. */
  get sessions(): number {
    return this.rows.sessions;
  }

  add(s: Session): void {
    for (const f of s.findings) this.codes.set(f.code, (this.codes.get(f.code) ?? 0) + 1);
    this.rows.add(s);
    this.sections.add(s);
  }

  /**
   * The document in pieces: head, the sessions table's rows, the sessions, then the rest. A
   * Buffer handed out is reused for the next piece (the spool's read buffer): copy or write it
   * before asking for the next.
   */
  *chunks(a: Analysis): Generator<string | Buffer> {
    const src = a.source;
    const sessions = this.rows.sessions;
    const dcs = this.rows.dataConnections;
    for (const f of a.findings) this.codes.set(f.code, (this.codes.get(f.code) ?? 0) + 1);
    yield `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="${esc(`${TOOL.name} ${TOOL.version}`)}">
<title>${esc(`ftpscope report: ${src.name}`)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>ftpscope report</h1>
<p class="source"><code>${esc(printable(src.name))}</code>: ${esc(src.type)}, ${src.packets} packets, ${esc(formatBytes(src.bytes))}` +
      `${src.linkTypes.length ? `, ${esc(src.linkTypes.join('/'))}` : ''}${src.truncated ? ', <strong>truncated</strong>' : ''}</p>
<p class="totals" data-sessions="${sessions}" data-data-connections="${dcs}" data-unpaired="${a.unpairedDataConnections.length}">` +
      `${sessions} FTP session${sessions === 1 ? '' : 's'}, ${dcs} paired data connection${dcs === 1 ? '' : 's'}, ` +
      `${a.unpairedDataConnections.length} unpaired${a.findings.length ? `, <a href="#capture-findings">${a.findings.length} capture finding${a.findings.length === 1 ? '' : 's'}</a>` : ''}.</p>
</header>
<section id="sessions">
<h2>Sessions</h2>
${sessions === 0 ? '<p class="empty">No FTP sessions found; if FTP runs on a port other than 21 and was not recognised, try --ftp-port N.</p>\n' : ''}<p><label>Filter: <input id="filter" type="search" placeholder="address, user, finding code…"></label></p>
<table id="sessions-table">
<thead><tr><th>#</th><th>Client</th><th>Server</th><th>User</th><th>Started (UTC)</th><th>Duration</th><th>Transfers</th><th>Diagnosis</th><th>Findings</th></tr></thead>
<tbody>
`;
    yield* this.rows.chunks();
    yield '</tbody>\n</table>\n</section>\n';
    yield* this.sections.chunks();
    yield this.tail(a);
  }

  close(): void {
    try {
      this.rows.close();
    } finally {
      this.sections.close();
    }
  }

  private tableRow(s: Session): string {
    const d = sessionDiagnosis(s);
    const done = s.dataConnections.filter((dc) => dc.complete).length;
    const unseen = s.unseenTransfers?.length ?? 0;
    const transfers = s.dataConnections.length === 0 && unseen === 0 ? 'none'
      : `${done}/${s.dataConnections.length} complete${unseen ? `, ${unseen} not in capture` : ''}`;
    const counts = new Map<FindingCode, number>();
    for (const f of s.findings) counts.set(f.code, (counts.get(f.code) ?? 0) + 1);
    const codes = [...counts].map(([c, n]) => `<a href="#code-${c}">${c}${n > 1 ? ` ×${n}` : ''}</a>`).join(' ');
    const login = s.loggedIn === true ? '' : s.loggedIn === false ? ' <span class="muted">(login failed)</span>' : '';
    return `<tr data-session="${s.id}" data-level="${d.level}"><td class="num"><a href="#session-${s.id}">${s.id}</a></td>` +
      `<td class="ep">${esc(formatEndpoint(s.client))}</td><td class="ep">${esc(formatEndpoint(s.server))}</td>` +
      `<td>${s.user === null ? '<span class="muted">–</span>' : esc(printable(s.user))}${login}${s.tls ? ' <span class="badge info">TLS</span>' : ''}</td>` +
      `<td class="mono when">${esc(formatIsoTs(s.start).replace('T', ' '))}</td><td class="num">${esc(formatDuration(s.end - s.start))}</td>` +
      `<td class="transfers" data-data-connections="${s.dataConnections.length}">${esc(transfers)}</td>` +
      `<td class="diagnosis"><span class="badge ${d.level}">${d.level === 'ok' ? 'OK' : d.level}</span> ${esc(d.text)}</td>` +
      `<td class="codes">${codes}</td></tr>\n`;
  }

  private section(s: Session): string {
    const show = this.opts.showPasswords ?? false;
    const out: string[] = [];
    out.push(`<section class="session" id="session-${s.id}" data-session="${s.id}">`);
    out.push(`<h2>Session ${s.id} <span class="muted mono">${esc(formatEndpoint(s.client))} → ${esc(formatEndpoint(s.server))}</span></h2>`);
    const facts: Array<[string, string]> = [
      ['started', `${formatIsoTs(s.start)}, ${formatDuration(s.end - s.start)}${s.closed ? '' : ', not closed'}`],
      ['user', s.user === null ? '–' : `${printable(s.user)}${s.loggedIn === true ? ' (logged in)' : s.loggedIn === false ? ' (login failed)' : ''}`],
      ['handshake', s.handshake.seen
        ? `seen${s.handshake.rttMs !== null ? `, rtt ${s.handshake.rttMs.toFixed(2)} ms` : ''}${s.handshake.mss ? `, mss ${s.handshake.mss[0] ?? '-'}/${s.handshake.mss[1] ?? '-'}` : ''}`
        : 'not captured'],
      ['control bytes', `${formatBytes(s.controlBytes[0])} from the client, ${formatBytes(s.controlBytes[1])} from the server`],
    ];
    if (s.greeting) facts.push(['greeting', `${s.greeting.code} ${firstLine(maskReplyText(s.greeting.text, show))}`]);
    if (s.tls) {
      const i = s.tlsInfo;
      facts.push(['TLS', `on the control connection${i?.version ? `, ${i.version}` : ''}${i?.sni ? `, SNI ${printable(i.sni)}` : ''}; later commands are encrypted`]);
    }
    out.push(`<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`);

    out.push(`<h3>Findings (${s.findings.length})</h3>`);
    out.push(s.findings.length ? findingList(s.findings) : '<p class="muted">None.</p>');

    const n = s.dataConnections.length + (s.unseenTransfers?.length ?? 0);
    out.push(`<h3>Transfers (${n})</h3>`);
    out.push(n ? transferTable(s.dataConnections, s.unseenTransfers ?? [], show) : '<p class="muted">None.</p>');

    out.push('<h3>Ladder</h3>');
    out.push(`<div class="ladder-box">${renderLadderSvg(s, { showPasswords: show, maxRows: this.opts.maxLadderRows })}</div>`);
    out.push('</section>\n');
    return out.join('\n');
  }

  private tail(a: Analysis): string {
    const out: string[] = [];
    if (a.unpairedDataConnections.length > 0) {
      out.push(`<section id="unpaired"><h2>Unpaired data connections (${a.unpairedDataConnections.length})</h2>`);
      out.push(transferTable(a.unpairedDataConnections, [], this.opts.showPasswords ?? false));
      out.push('</section>');
    }
    if (a.findings.length > 0) {
      out.push(`<section id="capture-findings"><h2>Capture findings (${a.findings.length})</h2>${findingList(a.findings)}</section>`);
    }
    if (this.codes.size > 0) {
      out.push('<section id="legend"><h2>Finding codes in this report</h2><table id="codes-table">');
      out.push('<thead><tr><th>Code</th><th>Seen</th><th>Meaning</th><th>Fix</th></tr></thead><tbody>');
      for (const [code, count] of [...this.codes].sort((x, y) => x[0].localeCompare(y[0]))) {
        const info = FINDING_CODES[code];
        out.push(`<tr id="code-${code}" data-code="${code}"><td><code>${code}</code></td><td class="num">${count}</td>` +
          `<td>${esc(info.meaning)}</td><td>${esc(info.fix)}</td></tr>`);
      }
      out.push('</tbody></table></section>');
    }
    out.push(`<footer>Written by ${esc(`${TOOL.name} ${TOOL.version}`)}. Passwords are shown as **** unless the report was made with --show-passwords. ` +
      'Every finding code is explained in docs/findings.md.</footer>');
    out.push(`<script>${SCRIPT}</script>`);
    out.push('</body>\n</html>\n');
    return out.join('\n');
  }
}

function findingList(findings: Finding[]): string {
  return '<ul class="findings">' + findings.map((f) => {
    const info = FINDING_CODES[f.code];
    return `<li class="finding sev-${f.severity}" data-code="${f.code}" data-severity="${f.severity}"${f.frame !== null ? ` data-frame="${f.frame}"` : ''}>` +
      `<span class="badge ${f.severity}">${f.severity}</span> <code>${f.code}</code>${f.frame !== null ? ` <span class="muted">frame #${f.frame}</span>` : ''}: ` +
      `<span class="message">${esc(printable(f.message))}</span><div class="fix">${esc(info.fix)}</div></li>`;
  }).join('') + '</ul>';
}

function transferTable(dcs: DataConnection[], unseen: UnseenTransfer[], showPasswords: boolean): string {
  const out = ['<table class="transfers"><thead><tr><th>Conn</th><th>Command</th><th>Mode</th><th>Endpoints</th><th>Bytes</th>' +
    '<th>Duration</th><th>Outcome</th><th>TCP</th><th>sha256</th></tr></thead><tbody>'];
  for (const dc of dcs) {
    const cmd = dc.command ? commandText(dc.command.verb, dc.command.arg, showPasswords) : '–';
    const setup = `${dc.mode ?? 'mode unknown'} (${dc.setup ?? 'setup unknown'}${dc.setupFrame !== null ? ` #${dc.setupFrame}` : ''})` +
      `${dc.transferType ? `, TYPE ${dc.transferType}` : ''}${dc.restOffset ? `, REST ${dc.restOffset}` : ''}`;
    const size = dc.expectedBytes === null ? `${dc.bytes}` : `${dc.bytes} of ${dc.expectedBytes}`;
    const tput = formatThroughput(dc.bytes, dc.end - dc.start);
    const reply = dc.finalReply ? `; ${dc.finalReply.code} ${firstLine(maskReplyText(dc.finalReply.text, showPasswords))}` : '';
    const t = dc.tcp;
    const tcp = t ? [
      t.handshake.seen ? `handshake${t.handshake.rttMs !== null ? ` ${t.handshake.rttMs.toFixed(2)} ms` : ''}` : 'handshake not captured',
      t.closeReason ? `closed by ${t.closeReason.toUpperCase()}` : 'not closed',
      t.retransmissions ? `${t.retransmissions} retransmissions` : '',
      dc.missingBytes ? `${dc.missingBytes} bytes missing` : '',
    ].filter(Boolean).join(', ') : dc.closeReason ? `closed (${dc.closeReason})` : '';
    out.push(`<tr class="dc ${dc.complete ? 'complete' : 'incomplete'}" data-dc="${dc.id}"><td class="mono">D${dc.id}</td>` +
      `<td><code>${esc(printable(cmd))}</code>${dc.path !== null ? `<div class="muted mono">${esc(printable(dc.path))}</div>` : ''}` +
      `${dc.direction ? `<div class="muted">${dc.direction}</div>` : ''}${dc.guessedRole ? `<div class="muted">${esc(printable(dc.guessedRole))}</div>` : ''}</td>` +
      `<td>${esc(setup)}</td><td class="ep">${esc(formatEndpoint(dc.client))} → ${esc(formatEndpoint(dc.server))}</td>` +
      `<td class="num">${esc(size)}<div class="muted">${esc(formatBytes(dc.bytes))}</div></td>` +
      `<td class="num">${esc(formatDuration(dc.end - dc.start))}${tput ? `<div class="muted">${esc(tput)}</div>` : ''}</td>` +
      // How the transfer ended (the peers' account) and what the capture lacks are separate facts.
      `<td>${dc.complete ? '<span class="badge ok">complete</span>' : `<span class="badge ${dc.outcome === 'failed' ? 'error' : 'warning'}">${dc.outcome === 'failed' ? 'failed' : 'incomplete capture'}</span> ${esc(transferStatusLine(dc))}`}${esc(reply)}</td>` +
      `<td>${esc(tcp)}</td><td class="mono">${dc.sha256 ? `<span title="${dc.sha256}">${dc.sha256.slice(0, 16)}…</span>` : '–'}</td></tr>`);
  }
  for (const u of unseen) {
    out.push(`<tr class="unseen"><td class="mono">–</td><td><code>${esc(printable(commandText(u.command.verb, u.command.arg, showPasswords)))}</code></td>` +
      `<td>${esc(`${u.mode ?? 'mode unknown'} (${u.setup ?? 'setup unknown'})`)}</td><td class="ep">to ${esc(formatEndpoint(u.announced))}</td>` +
      `<td class="num">–</td><td class="num">–</td><td><span class="badge error">not in capture</span>` +
      `${u.finalReply ? ` ${esc(`${u.finalReply.code} ${firstLine(maskReplyText(u.finalReply.text, showPasswords))}`)}` : ''}</td><td></td><td></td></tr>`);
  }
  out.push('</tbody></table>');
  return out.join('\n');
}

function firstLine(text: string): string {
  const lines = text.split('\n');
  return printable(lines.find((l) => l.trim() !== '')?.trim() ?? '') + (lines.length > 1 ? ` (+${lines.length - 1} lines)` : '');
}

/**
 * `report --format zeek` and `report --format ecs`. Memory stays bounded as for the text and JSON
 * reports: each session is rendered the moment it is final and parked in a spool file, and the
 * output is assembled in session order at the end.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FtpscopeError } from '../errors.js';
import type { Analysis, Session } from '../model/types.js';
import { ChunkedWriter } from '../report/output.js';
import { SessionSpool } from '../report/spool.js';
import { checkOutput } from '../report/export.js';
import { filesLogRows, ftpLogRows, zeekFooter, zeekHeader, ZEEK_LOGGED_COMMANDS } from '../report/zeek.js';
import { findingDoc, sessionEcsLines, transferDoc } from '../report/ecs.js';
import type { DisplayFilter } from '../report/filter/index.js';
import { analyzeWithProgress, limitsOf, type AnalysisLimits } from './report.js';
import type { CaptureInputs } from '../capture/inputs.js';

interface ZeekFlags {
  ftpPort?: number[];
  maxFlows?: number;
  memoryBudget?: number;
  showPasswords: boolean;
  zeekCommands?: string;
  zeekLog?: string;
  outDir?: string;
  force?: boolean;
  /** -Y: only the sessions and data connections it matches. */
  filter?: DisplayFilter;
}

/** --zeek-commands "<init>,USER" adds to Zeek's default FTP::logged_commands; "all" logs every command. */
export function loggedCommands(list: string | undefined): ReadonlySet<string> | 'all' {
  if (list === undefined) return new Set(ZEEK_LOGGED_COMMANDS);
  if (list.trim().toLowerCase() === 'all') return 'all';
  const extra = list.split(',').map((c) => c.trim()).filter(Boolean).map((c) => (c.startsWith('<') ? c.toLowerCase() : c.toUpperCase()));
  const bad = extra.find((c) => !/^(<init>|[A-Z]{3,4})$/.test(c));
  if (bad !== undefined) throw new FtpscopeError('usage', `--zeek-commands: '${bad}' is not an FTP command`, 'give commands like USER,PASS,<init> or "all"');
  return new Set([...ZEEK_LOGGED_COMMANDS, ...extra]);
}

/** Every verb (and <init>) as logged: for "all". */
const EVERY = new Proxy(new Set<string>(), { get: (t, p) => (p === 'has' ? () => true : Reflect.get(t, p)) }) as ReadonlySet<string>;

export async function printZeek(capture: CaptureInputs, flags: ZeekFlags): Promise<void> {
  const chosen = loggedCommands(flags.zeekCommands);
  const logged = chosen === 'all' ? EVERY : chosen;
  if (flags.zeekLog !== undefined && flags.zeekLog !== 'ftp' && flags.zeekLog !== 'files') {
    throw new FtpscopeError('usage', `--zeek-log '${flags.zeekLog}' is not ftp or files`);
  }
  if (flags.zeekLog !== undefined && flags.outDir !== undefined) {
    throw new FtpscopeError('usage', '--zeek-log prints to standard output; --out-dir writes files', 'give one of them');
  }
  const dir = flags.outDir ?? '.';
  const targets = flags.zeekLog === undefined ? { ftp: path.join(dir, 'ftp.log'), files: path.join(dir, 'files.log') } : null;
  // Checked before the capture is read: nothing is replaced without --force, a bad directory fails at once.
  if (targets) for (const f of Object.values(targets)) checkOutput(f, flags.force);

  const opts = { showPasswords: flags.showPasswords, loggedCommands: logged };
  let first = Infinity;
  let last = -Infinity;
  const ftp = new SessionSpool((s) => ftpLogRows(s, opts));
  const files = new SessionSpool((s) => filesLogRows(s));
  try {
    const add = (all: Session): void => {
      const s = flags.filter ? flags.filter.keepSession(all) : all;
      if (!s) return;
      first = Math.min(first, s.start);
      last = Math.max(last, s.end);
      ftp.add(s);
      files.add(s);
    };
    const a = await analyzeWithProgress(capture, { ftpPorts: flags.ftpPort, ...limitsOf(flags), retireSession: add, blockingReads: true });
    for (const s of a.sessions) add(s);
    if (first === Infinity) first = last = Date.now() / 1000;
    const write = async (w: ChunkedWriter, name: 'ftp' | 'files', spool: SessionSpool): Promise<void> => {
      await w.write(zeekHeader(name, first));
      for (const chunk of spool.chunks()) await w.write(chunk);
      await w.write(zeekFooter(last));
    };
    if (!targets) {
      const w = new ChunkedWriter(process.stdout);
      await write(w, flags.zeekLog as 'ftp' | 'files', flags.zeekLog === 'ftp' ? ftp : files);
      await w.end();
      return;
    }
    for (const [name, file] of Object.entries(targets) as Array<['ftp' | 'files', string]>) {
      const stream = fs.createWriteStream(file, { flags: flags.force ? 'w' : 'wx' });
      const failed = new Promise<never>((_, reject) => stream.once('error', reject));
      try {
        const w = new ChunkedWriter(stream);
        await Promise.race([write(w, name, name === 'ftp' ? ftp : files), failed]);
        await Promise.race([w.end(), failed]);
        await Promise.race([new Promise<void>((resolve) => stream.end(resolve)), failed]);
      } catch (e) {
        throw new FtpscopeError('output-unwritable', `writing ${file} failed: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          'check free disk space and permissions');
      }
    }
    process.stdout.write(`wrote ${targets.ftp} (${ftp.sessions} sessions) and ${targets.files}\n`);
  } finally {
    ftp.close();
    files.close();
  }
}

export async function printEcs(capture: CaptureInputs, o: { ftpPorts?: number[]; limits?: AnalysisLimits; showPasswords: boolean; filter?: DisplayFilter }): Promise<void> {
  const opts = { showPasswords: o.showPasswords, source: capture.name };
  const spool = new SessionSpool((s) => sessionEcsLines(s, opts));
  // capture-wide findings carry no time of their own: they are dated at the capture's first session
  let first = Infinity;
  const add = (all: Session): void => {
    const s = o.filter ? o.filter.keepSession(all) : all;
    if (!s) return;
    first = Math.min(first, s.start);
    spool.add(s);
  };
  try {
    const a: Analysis = await analyzeWithProgress(capture, { ftpPorts: o.ftpPorts, ...o.limits, retireSession: add, blockingReads: true });
    for (const s of a.sessions) add(s);
    const unpaired = o.filter ? a.unpairedDataConnections.filter((dc) => o.filter!.matchesTransfer(null, dc)) : a.unpairedDataConnections;
    for (const dc of unpaired) first = Math.min(first, dc.start);
    if (first === Infinity) first = Date.now() / 1000;
    const w = new ChunkedWriter(process.stdout);
    for (const chunk of spool.chunks()) await w.write(chunk);
    // What belongs to no session: unpaired data connections and capture-wide findings.
    for (const dc of unpaired) await w.write(JSON.stringify(transferDoc(null, dc, opts)) + '\n');
    for (const f of a.findings) await w.write(JSON.stringify(findingDoc(null, f, first, opts)) + '\n');
    await w.end();
  } finally {
    spool.close();
  }
}

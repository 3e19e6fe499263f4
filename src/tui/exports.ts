/**
 * The dashboard's exports: what a key saves (the session as pcapng, the selected transfer's
 * file, the ladder, the session's JSON) and the path prompt that comes before it. The files are
 * written by report/export.ts, the same code as `ftpscope export`; this module only holds the
 * prompt's state: a path with a default, a y/n question before replacing a file, the result.
 */
import * as path from 'node:path';
import type { DataConnection, Session } from '../model/types.js';
import {
  defaultExportPath, exportJson, exportLadder, exportSessionPcapng, exportTransfer, outputExists, type ExportKind, type ExportResult,
} from '../report/export.js';

/** What the dashboard needs to export from a capture file (absent for live sources). */
export interface DashboardExports {
  defaultPath(kind: ExportKind, session: Session, dc: DataConnection | null): string;
  exists(file: string): boolean;
  run(kind: ExportKind, session: Session, dc: DataConnection | null, file: string, overwrite: boolean): Promise<ExportResult>;
}

/** Exports of a capture file, as `ftpscope export` writes them (same --ftp-port, same masking). */
export function fileExports(capture: string, opts: { ftpPorts?: number[]; showPasswords?: boolean } = {}): DashboardExports {
  return {
    defaultPath: (kind, session, dc) => defaultExportPath(capture, kind, session, dc ?? undefined),
    exists: outputExists,
    run: async (kind, session, dc, file, overwrite) => {
      const o = { overwrite, ftpPorts: opts.ftpPorts, showPasswords: opts.showPasswords };
      switch (kind) {
        case 'pcapng': return exportSessionPcapng(capture, session, file, o);
        case 'transfer': return exportTransfer(capture, session.id, dc!.id, file, o);
        case 'ladder': return exportLadder(session, file, o);
        case 'json': return exportJson(session, file, o);
      }
    },
  };
}

export const EXPORT_LABEL: Record<ExportKind, string> = {
  pcapng: 'save session as pcapng',
  transfer: 'save transfer file',
  ladder: 'save ladder as text',
  json: 'save session JSON',
};

/** The export prompt: editing the path, asking before replacing, or writing. */
export interface ExportPrompt {
  kind: ExportKind;
  session: Session;
  dc: DataConnection | null;
  text: string;
  stage: 'path' | 'confirm' | 'busy';
}

/** The status line while the prompt is open. */
export function exportPromptLine(p: ExportPrompt): string {
  const what = p.kind === 'transfer' && p.dc ? `${EXPORT_LABEL[p.kind]} D${p.dc.id}` : `${EXPORT_LABEL[p.kind]} (session ${p.session.id})`;
  switch (p.stage) {
    case 'path': return ` ${what} to: ${p.text}▏  (Enter save, Esc cancel, Ctrl-U clear)`;
    case 'confirm': return ` ${p.text} exists. Replace it? (y/n)`;
    case 'busy': return ` writing ${p.text}…`;
  }
}

/** "wrote session 2 (31 packets…) to /abs/s2.pcapng": the message after an export, with the full path. */
export function exportDoneMessage(r: ExportResult): string {
  return `wrote ${r.what} to ${path.resolve(r.path)}`;
}

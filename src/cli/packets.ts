import type { Command } from 'commander';
import { analyzeFilePackets } from '../analysis/sources/file.js';
import type { DisplayFilter } from '../report/filter/index.js';
import { connectionLabel, directionLabel, packetSummary } from '../report/packet-facts.js';
import { ChunkedWriter } from '../report/output.js';
import { captureArg, checkCapturePath, collectPort, displayFilterArg, quietOnEpipe, withPasswords, CAPTURE_ARG_HELP } from './report.js';

interface PacketsFlags {
  ftpPort?: number[];
  json?: boolean;
  showPasswords?: boolean;
  displayFilter?: DisplayFilter;
}

/**
 * `ftpscope packets`: every TCP packet with the facts the analysis recorded for it, one line each
 * (frame, time, connection, FTP role and direction, phase, what it meant); -Y keeps the packets a
 * display filter matches, as tshark -Y does.
 */
export function registerPackets(program: Command): void {
  program
    .command('packets')
    .description('list every TCP packet with its facts (connection, FTP role, direction, phase, meaning); -Y selects packets as tshark -Y does')
    .argument('<capture>', CAPTURE_ARG_HELP, captureArg)
    .option('-Y, --display-filter <expr>', 'list only the packets this display filter matches (ftpscope filters lists the fields)', displayFilterArg)
    .option('--json', 'one JSON object per line (NDJSON): frame, ts, tcpStream, channel, session, dataConnection, sender, fromInitiator, phase, len, summary')
    .option('--ftp-port <port>', 'also treat this port as an FTP control port (repeatable)', collectPort)
    .option('--show-passwords', 'print PASS, ACCT and ADAT arguments instead of ****')
    .action(async (capture: string, flags: PacketsFlags) => {
      quietOnEpipe();
      checkCapturePath(capture);
      const show = flags.showPasswords === true;
      const filter = withPasswords(flags.displayFilter, show);
      const { analysis, packets, start } = await analyzeFilePackets(capture, { ftpPorts: flags.ftpPort, blockingReads: true });
      const byId = new Map(analysis.sessions.map((s) => [s.id, s]));
      const ctx = { start, session: (id: number) => byId.get(id) ?? null };
      const w = new ChunkedWriter(process.stdout);
      for (const p of packets()) {
        if (filter && !filter.matchesPacket(p, ctx)) continue;
        const s = p.session !== null ? byId.get(p.session) ?? null : null;
        const dc = s && p.channel === 'data' ? s.dataConnections.find((d) => d.id === p.dataConnection) ?? null : null;
        const summary = packetSummary(p, dc, show);
        const line = flags.json
          ? JSON.stringify({ frame: p.frame, ts: p.ts, tcpStream: p.tcpId - 1, channel: p.channel, session: p.session,
            dataConnection: p.dataConnection, sender: p.sender, fromInitiator: p.fromInitiator, phase: p.phase, len: p.len, summary })
          : `${String(p.frame).padStart(7)} ${(p.ts - start).toFixed(6).padStart(12)} ${connectionLabel(p).padEnd(5)} ${directionLabel(p).padEnd(4)} ${p.phase.padEnd(9)} ${String(p.len).padStart(5)} ${summary}`;
        await w.write(line + '\n');
      }
      await w.end();
    });
}

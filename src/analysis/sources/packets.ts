/**
 * The packets source: every TCP packet of a capture (one file, or a set merged as one) with the
 * facts the analysis recorded for it (its connection, FTP role, direction, TCP analysis), in
 * capture order.
 *
 * streamPackets hands each row on as the capture is read, once what its connection is has been
 * decided (FTP detection on any port looks at the first line); rows wait for that at most
 * MAX_LAG_ROWS rows, so memory stays bounded whatever the capture size. Sessions are let go once
 * final, as the report does.
 *
 * analyzePackets keeps every packet's facts and the final analysis, for what needs the sessions as
 * they ended (a display filter on ftpscope.user or a transfer's fields).
 */
import { readCapture } from '../../capture/open.js';
import type { CaptureInputs } from '../../capture/inputs.js';
import { readCaptures } from '../../capture/merge.js';
import type { CaptureInfo, PacketRecord } from '../../capture/types.js';
import type { PacketFact } from '../../model/packet-facts.js';
import type { Analysis, Session } from '../../model/types.js';
import { Pipeline, type PipelineOptions } from '../pipeline.js';

/**
 * Rows that may wait for their connection to be decided before they are handed on anyway (FTP
 * detection decides within a connection's first 4 KiB; an unpaired data connection is known only
 * when it closes). The ring holds twice this: about 35 MB at most.
 */
export const MAX_LAG_ROWS = 1 << 18;

export interface PacketStreamOptions extends Pick<PipelineOptions, 'housekeeping'> {
  ftpPorts?: number[];
  /**
   * Called for every TCP packet, in capture order, with the time of the capture's first packet
   * and the packet's session as it stands (null outside FTP sessions).
   */
  onPacket: (fact: PacketFact, firstTs: number, session: Session | null) => void;
  /** Waits for the consumer (a slow pipe) between chunks of the file. */
  pace?: () => Promise<unknown> | undefined;
  /** Filled in as the stream goes: the most connections the packet table held at once (bounded memory shows here). */
  counters?: { maxConnectionsHeld: number };
}

/** Reads one file, or a set merged in time order with frames numbered across it. */
async function readInputs(inputs: CaptureInputs, onRecord: (rec: PacketRecord) => void,
  opts: { pace?: () => Promise<unknown> | undefined; beforeReuse: () => void }): Promise<CaptureInfo> {
  if (!inputs.merged) return readCapture(inputs.files[0]!, onRecord, { blocking: true, pace: opts.pace, beforeReuse: opts.beforeReuse });
  const m = await readCaptures(inputs.files, onRecord, { name: inputs.name, blocking: true, pace: opts.pace, beforeReuse: opts.beforeReuse });
  return m.info;
}

export async function streamPackets(inputs: CaptureInputs, opts: PacketStreamOptions): Promise<CaptureInfo> {
  let pipeline: Pipeline | null = null;
  let printed = 0;
  let firstTs: number | null = null;
  let lastTs = 0;
  /**
   * Sessions that are final, with the row count and the packet time when they became so. The
   * table forgets them (their packet list, their connections' entries) once every row before
   * that is handed on and their connections can take no more packets: twice the tracker's linger
   * later (a late ACK after the FIN still belongs to the session). Without this the table kept
   * every session of the capture.
   */
  const retired: { at: number; ts: number; session: Session }[] = [];
  let retiredHead = 0;
  const flush = (all: boolean): void => {
    const table = pipeline?.analyzer.packetTable;
    if (!table) return;
    const end = table.nextSeq;
    if (printed < table.firstSeq) printed = table.firstSeq; // cannot happen with the ring larger than the lag
    if (opts.counters && table.connectionsHeld > opts.counters.maxConnectionsHeld) opts.counters.maxConnectionsHeld = table.connectionsHeld;
    while (printed < end && (all || table.settled(printed) || end - printed > MAX_LAG_ROWS)) {
      const f = table.fact(printed++);
      if (!f) continue;
      opts.onPacket(f, firstTs ?? f.ts, table.entry(f.tcpId)?.session ?? null);
      // Handed on: its control lines (and the commands and replies they hold) need not wait for the ring to come round.
      if (f.meaning?.kind === 'control') table.dropLines(f.frame);
    }
    const forgetBefore = lastTs - 2 * pipeline!.closedLingerSec;
    for (let r = retired[retiredHead]; r !== undefined && r.at <= printed && (all || r.ts < forgetBefore); r = retired[++retiredHead]) {
      pipeline!.analyzer.forgetSession(r.session);
    }
    if (retiredHead > 1024 && retiredHead * 2 > retired.length) {
      retired.splice(0, retiredHead);
      retiredHead = 0;
    }
  };
  const make = (): Pipeline => new Pipeline({
    ftpPorts: opts.ftpPorts,
    factsForAllConnections: true,
    // The rows waiting to be handed on must still be in the ring.
    maxPacketRows: MAX_LAG_ROWS * 2,
    maxPacketsPerSession: 16,
    housekeeping: opts.housekeeping,
    retireSession: (s) => { retired.push({ at: pipeline!.analyzer.packetTable!.nextSeq, ts: lastTs, session: s }); },
    inputReusedOnSignal: true,
  }, { type: 'pcap', name: inputs.name });
  const info = await readInputs(inputs, (rec) => {
    pipeline ??= make();
    firstTs ??= rec.ts;
    if (rec.ts > lastTs) lastTs = rec.ts;
    pipeline.push(rec);
    flush(false);
  }, { pace: opts.pace, beforeReuse: () => pipeline?.inputReused() });
  pipeline ??= make();
  pipeline.finish(info);
  flush(true);
  return info;
}

/**
 * Analyze a capture keeping the facts of every TCP packet, FTP or not: the final analysis, the
 * packets' facts in capture order, and the time of the first packet.
 */
export async function analyzePackets(inputs: CaptureInputs, opts: Pick<PipelineOptions, 'ftpPorts'> = {}): Promise<{ analysis: Analysis; packets: () => Iterable<PacketFact>; start: number }> {
  let pipeline: Pipeline | null = null;
  let start: number | null = null;
  const make = (): Pipeline => new Pipeline({ ftpPorts: opts.ftpPorts, keepPackets: true, factsForAllConnections: true, inputReusedOnSignal: true },
    { type: 'pcap', name: inputs.name });
  const info = await readInputs(inputs, (rec) => {
    pipeline ??= make();
    start ??= rec.ts;
    pipeline.push(rec);
  }, { beforeReuse: () => pipeline?.inputReused() });
  pipeline ??= make();
  pipeline.analyzer.source.type = info.format;
  const analysis = pipeline.finish(info);
  const table = pipeline.analyzer.packetTable!;
  function* packets(): Iterable<PacketFact> {
    for (let seq = table.firstSeq, end = table.firstSeq + table.rows; seq < end; seq++) {
      const f = table.fact(seq);
      if (f) yield f;
    }
  }
  return { analysis, packets, start: start ?? 0 };
}

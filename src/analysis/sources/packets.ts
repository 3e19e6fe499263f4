/**
 * The packets source: every TCP packet of a capture with the facts the analysis recorded for it
 * (its connection, FTP role, direction, TCP analysis), in capture order, as the capture is read.
 * A row is handed on once what its connection is has been decided (FTP detection on any port
 * looks at the first line); rows wait for that at most MAX_LAG_ROWS rows, so memory stays bounded
 * whatever the capture size. Sessions are let go once final, as the report does.
 */
import { readCapture } from '../../capture/open.js';
import type { CaptureInfo } from '../../capture/types.js';
import type { PacketFact } from '../../model/packet-facts.js';
import { Pipeline } from '../pipeline.js';

/**
 * Rows that may wait for their connection to be decided before they are handed on anyway (FTP
 * detection decides within a connection's first 4 KiB; an unpaired data connection is known only
 * when it closes). The ring holds twice this: about 35 MB at most.
 */
export const MAX_LAG_ROWS = 1 << 18;

export interface PacketStreamOptions {
  ftpPorts?: number[];
  /** Called for every TCP packet, in capture order, with the time of the capture's first packet. */
  onPacket: (fact: PacketFact, firstTs: number) => void;
  /** Waits for the consumer (a slow pipe) between chunks of the file. */
  pace?: () => Promise<unknown> | undefined;
}

export async function streamPackets(path: string, opts: PacketStreamOptions): Promise<CaptureInfo> {
  let pipeline: Pipeline | null = null;
  let printed = 0;
  let firstTs: number | null = null;
  const flush = (all: boolean): void => {
    const table = pipeline?.analyzer.packetTable;
    if (!table) return;
    const end = table.nextSeq;
    if (printed < table.firstSeq) printed = table.firstSeq; // cannot happen with the ring larger than the lag
    while (printed < end && (all || table.settled(printed) || end - printed > MAX_LAG_ROWS)) {
      const f = table.fact(printed++);
      if (f) opts.onPacket(f, firstTs ?? f.ts);
    }
  };
  const make = (): Pipeline => new Pipeline({
    ftpPorts: opts.ftpPorts,
    factsForAllConnections: true,
    // The rows waiting to be handed on must still be in the ring.
    maxPacketRows: MAX_LAG_ROWS * 2,
    maxPacketsPerSession: 16,
    retireSession: () => {},
    inputReusedOnSignal: true,
  }, { type: 'pcap', name: path });
  const info = await readCapture(path, (rec) => {
    pipeline ??= make();
    firstTs ??= rec.ts;
    pipeline.push(rec);
    flush(false);
  }, { blocking: true, pace: opts.pace, beforeReuse: () => pipeline?.inputReused() });
  pipeline ??= make();
  pipeline.finish(info);
  flush(true);
  return info;
}

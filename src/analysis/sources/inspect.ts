/**
 * The inspect source: one frame of a capture file, decoded with what the analysis knows about
 * it. The capture is analyzed exactly as `report` analyzes it (the same FTP detection on any
 * port, the same pairing), up to that frame and on until its connection is known to be FTP or
 * not; then the frame is dissected with the facts recorded for it.
 */
import { readCapture } from '../../capture/open.js';
import type { PacketRecord } from '../../capture/types.js';
import { dissect } from '../../dissect/dissect.js';
import type { Defragmenter } from '../../dissect/defrag.js';
import type { Dissection } from '../../dissect/field.js';
import { FtpscopeError } from '../../errors.js';
import type { PacketFact } from '../../model/packet-facts.js';
import { dissectContextOf } from '../packet-context.js';
import { Pipeline } from '../pipeline.js';

/** Frames read past the inspected one to find the ACK of its data. */
const MAX_FRAMES_FOR_ACK = 20_000;

export interface InspectOptions {
  /** Extra FTP control ports besides 21. */
  ftpPorts?: number[];
}

export interface InspectedFrame {
  dissection: Dissection;
  /** What the analysis recorded for the frame; null when it is not TCP. */
  fact: PacketFact | null;
}

export async function inspectFrame(path: string, frame: number, opts: InspectOptions = {}): Promise<InspectedFrame> {
  const pipeline = new Pipeline({ ftpPorts: opts.ftpPorts, factsForAllConnections: true }, { type: 'pcap', name: path });
  const table = pipeline.analyzer.packetTable!;
  const abort = new AbortController();
  let own: PacketRecord | null = null;
  let defrag: Defragmenter | null = null;
  let row = -1;
  // Decided once the frame's connection is no longer a candidate for FTP detection, and the ACK of
  // its data (for the seq/ack arithmetic) has been seen, or MAX_FRAMES_FOR_ACK frames have passed.
  let after = 0;
  const decided = (): boolean => {
    if (row < 0) return true;
    const f = table.fact(row);
    const e = table.entry(f?.tcpId ?? -1);
    if (e && e.channel === 'candidate') return false;
    const waitsForAck = f !== null && (f.len > 0 || (f.flags & 0x03) !== 0) && !f.analysis?.ackedBy;
    return !waitsForAck || ++after > MAX_FRAMES_FOR_ACK;
  };
  const info = await readCapture(path, (rec) => {
    if (rec.frame === frame) {
      own = copyRecord(rec);
      // The fast path consumes this packet's fragment; full dissection gets its own copy of the pending ones.
      defrag = pipeline.defragSnapshot();
      pipeline.push(rec);
      row = table.findFrame(frame);
    } else {
      pipeline.push(rec);
    }
    if (own && decided()) abort.abort();
  }, { signal: abort.signal });
  if (!own) {
    throw new FtpscopeError('frame-not-found',
      `${path}: there is no frame ${frame}; the capture has ${info.packets} frame${info.packets === 1 ? '' : 's'}${info.truncated ? ' (it is cut short)' : ''}`,
      info.packets > 0 ? `give a frame number from 1 to ${info.packets}` : 'the capture holds no packets');
  }
  // The capture ended with the frame's connection still undecided: settle it as report does.
  if (!abort.signal.aborted) pipeline.finish(info);
  const fact = row >= 0 ? table.fact(row) : null;
  const ctx = fact ? dissectContextOf(fact) : {};
  return { dissection: dissect(own, { ...ctx, defrag: defrag ?? undefined }), fact };
}

function copyRecord(rec: PacketRecord): PacketRecord {
  return { ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0 };
}

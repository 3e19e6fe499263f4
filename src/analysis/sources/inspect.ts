/**
 * The inspect source: one frame of a capture file, decoded with what the analysis knows about
 * it. The capture is analyzed exactly as `report` analyzes it (the same FTP detection on any
 * port, the same pairing), up to that frame and on until its connection is known to be FTP or
 * not; then the frame is dissected with the facts recorded for it.
 */
import type { CaptureInputs } from '../../capture/inputs.js';
import { readCaptures } from '../../capture/merge.js';
import { readCapture } from '../../capture/open.js';
import type { PacketRecord } from '../../capture/types.js';
import { dissect } from '../../dissect/dissect.js';
import type { Defragmenter } from '../../dissect/defrag.js';
import type { Dissection } from '../../dissect/field.js';
import { FtpscopeError } from '../../errors.js';
import type { PacketFact } from '../../model/packet-facts.js';
import type { Finding } from '../../model/findings.js';
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
  /** In a merged set: the file the frame is in and its frame number there. */
  origin: { file: string; frame: number } | null;
  /** What reading found about the capture on the way (a set: files skipped or damaged). */
  findings: Finding[];
}

/**
 * `input`: one capture file, or a set (several files, a directory) merged as report merges it;
 * then `frame` is the global frame, and the record's origin names its file and frame there.
 */
export async function inspectFrame(input: string | CaptureInputs, frame: number, opts: InspectOptions = {}): Promise<InspectedFrame> {
  const set = typeof input === 'string' ? null : input.merged ? input : null;
  const name = typeof input === 'string' ? input : input.name;
  const path = typeof input === 'string' ? input : input.files[0]!;
  const pipeline = new Pipeline({ ftpPorts: opts.ftpPorts, factsForAllConnections: true }, { type: 'pcap', name });
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
  const onPacket = (rec: PacketRecord, file?: number, local?: number): void => {
    if (rec.frame === frame) {
      own = copyRecord(rec);
      if (set && file !== undefined && local !== undefined) own.origin = { file: set.files[file]!, frame: local };
      // The fast path consumes this packet's fragment; full dissection gets its own copy of the pending ones.
      defrag = pipeline.defragSnapshot();
      pipeline.push(rec);
      row = table.findFrame(frame);
    } else {
      pipeline.push(rec);
    }
    if (own && decided()) abort.abort();
  };
  const info = set
    ? (await readCaptures(set.files, onPacket, { name, signal: abort.signal })).info
    : await readCapture(path, onPacket, { signal: abort.signal });
  if (!own) {
    const what = set ? `the ${set.files.length} files have` : 'the capture has';
    throw new FtpscopeError('frame-not-found',
      `${name}: there is no frame ${frame}; ${what} ${info.packets} frame${info.packets === 1 ? '' : 's'}${info.truncated ? ' (it is cut short)' : ''}`,
      info.packets > 0 ? `give a frame number from 1 to ${info.packets}` : 'the capture holds no packets');
  }
  // The capture ended with the frame's connection still undecided: settle it as report does.
  if (!abort.signal.aborted) pipeline.finish(info);
  const fact = row >= 0 ? table.fact(row) : null;
  const ctx = fact ? dissectContextOf(fact) : {};
  return { dissection: dissect(own, { ...ctx, defrag: defrag ?? undefined }), fact, origin: (own as PacketRecord).origin ?? null, findings: info.findings };
}

function copyRecord(rec: PacketRecord): PacketRecord {
  return { ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0 };
}

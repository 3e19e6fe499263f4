import { FtpscopeError } from '../errors.js';
import { linkTypeName } from './linktypes.js';
import { emptyInfo, openCapture, scan, type OpenedCapture } from './open.js';
import { newPacketRecord, MAX_CAPLEN } from './parser.js';
import { PCAP_HEADER_LENGTH, PcapParser, parsePcapHeader } from './pcap.js';
import { MAX_BUFFERED_BLOCK, PcapngParser } from './pcapng.js';
import { sectionAt } from './section-index.js';
import { PlainFileSource } from './source.js';
import type { CaptureInfo, PacketRecord } from './types.js';

export interface FrameResult {
  /** The packet, with its own copy of the bytes (buf holds exactly the captured bytes, offset 0). */
  rec: PacketRecord;
  /** What was learned about the capture on the way (complete only when the file was scanned). */
  info: CaptureInfo;
}

/**
 * Reads one packet for full dissection. With a fileOffsetHint (PacketRecord.fileOffset from an
 * earlier read) a plain file is read at that offset directly: pcap always, pcapng when this
 * process has read the file before and knows its sections. Otherwise, and for gzip, the file is
 * scanned from the start up to the frame.
 */
export async function readFrame(path: string, frame: number, fileOffsetHint?: number): Promise<FrameResult> {
  if (!Number.isInteger(frame) || frame < 1) {
    throw new FtpscopeError('frame-not-found', `${path}: frame ${frame} does not exist (frames are numbered from 1)`, 'give a frame number shown by the report or Wireshark');
  }
  const cap = await openCapture(path);
  try {
    if (fileOffsetHint !== undefined && !cap.gzip) {
      const direct = cap.format === 'pcap'
        ? await readPcapAt(cap, frame, fileOffsetHint)
        : await readPcapngAt(cap, frame, fileOffsetHint);
      if (direct) return direct;
    }
    let found: PacketRecord | null = null;
    const ctl = { stop: false };
    const { info } = await scan(cap, (rec) => {
      if (rec.frame === frame && !found) {
        found = copyRecord(rec);
        ctl.stop = true;
      }
    }, {}, ctl);
    if (!found) {
      throw new FtpscopeError(
        'frame-not-found',
        `${path}: there is no frame ${frame}; the capture has ${info.packets} frame${info.packets === 1 ? '' : 's'}`,
        'give a frame number shown by the report or Wireshark',
      );
    }
    return { rec: found, info };
  } finally {
    await cap.src.close();
  }
}

function copyRecord(rec: PacketRecord): PacketRecord {
  return { ...rec, buf: Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)), offset: 0 };
}

async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const src = await PlainFileSource.open(path, offset);
  try {
    const buf = Buffer.alloc(length);
    let got = 0;
    while (got < length) {
      const n = await src.read(buf, got, length - got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    await src.close();
  }
}

function badHint(cap: OpenedCapture, frame: number, offset: number, why: string): FtpscopeError {
  return new FtpscopeError(
    'frame-not-found',
    `${cap.name}: frame ${frame} is not at byte ${offset} (${why})`,
    'the file changed since it was read; read it again',
  );
}

async function readPcapAt(cap: OpenedCapture, frame: number, offset: number): Promise<FrameResult | null> {
  const header = cap.end >= PCAP_HEADER_LENGTH ? parsePcapHeader(cap.buf) : null;
  if (!header) return null;
  const hl = header.recordHeaderLength;
  if (offset < PCAP_HEADER_LENGTH || offset + hl > cap.fileSize) throw badHint(cap, frame, offset, 'outside the packet records');
  const head = await readAt(cap.name, offset, hl);
  const caplen = header.littleEndian ? head.readUInt32LE(8) : head.readUInt32BE(8);
  if (caplen > MAX_CAPLEN) throw badHint(cap, frame, offset, `no packet record there: it would hold ${caplen} bytes`);
  const bytes = await readAt(cap.name, offset, hl + caplen);
  if (bytes.length < hl + caplen) throw badHint(cap, frame, offset, 'the record runs past the end of the file');
  return deliverOne(cap, frame, (ctx) => {
    const p = new PcapParser(ctx, frame);
    p.header = header;
    ctx.info.linkTypes.push(linkTypeName(header.linkType));
    p.parse(bytes, 0, bytes.length, offset);
  });
}

async function readPcapngAt(cap: OpenedCapture, frame: number, offset: number): Promise<FrameResult | null> {
  const section = sectionAt(cap.name, cap.fileSize, cap.mtimeMs, offset);
  if (!section) return null; // not read before in this process: scan instead
  const le = section.littleEndian;
  const head = await readAt(cap.name, offset, 8);
  if (head.length < 8) throw badHint(cap, frame, offset, 'past the end of the file');
  const len = le ? head.readUInt32LE(4) : head.readUInt32BE(4);
  if (len < 12 || len > MAX_BUFFERED_BLOCK) throw badHint(cap, frame, offset, `no packet block there: it would be ${len} bytes`);
  const block = await readAt(cap.name, offset, len);
  return deliverOne(cap, frame, (ctx) => {
    const p = new PcapngParser(ctx, frame, section);
    p.parse(block, 0, block.length, offset);
    for (const i of section.interfaces) {
      const n = linkTypeName(i.linkType);
      if (!ctx.info.linkTypes.includes(n)) ctx.info.linkTypes.push(n);
    }
  }, () => badHint(cap, frame, offset, 'no packet block there'));
}

function deliverOne(
  cap: OpenedCapture,
  frame: number,
  run: (ctx: { info: CaptureInfo; onPacket: (r: PacketRecord) => void; rec: PacketRecord }) => void,
  notThere?: () => FtpscopeError,
): FrameResult {
  const info = emptyInfo(cap.name, cap.format, cap.gzip);
  let found: PacketRecord | null = null;
  run({ info, rec: newPacketRecord(), onPacket: (r) => { found ??= copyRecord(r); } });
  if (!found) throw notThere ? notThere() : badHint(cap, frame, 0, 'no packet there');
  return { rec: found, info };
}

/**
 * Full dissection of the one packet someone looks at: re-read by its file offset, dissected
 * with the context the analysis recorded for it, secrets masked by the one masking policy.
 */
import type { PacketRecord } from '../capture/types.js';
import { dissect } from '../dissect/dissect.js';
import type { Dissection } from '../dissect/field.js';
import { dissectContextOf } from '../analysis/packet-context.js';
import { maskDissection } from '../ftp/masking.js';
import type { PacketFact } from '../model/packet-facts.js';

export type FrameReader = (frame: number, fileOffset: number) => Promise<PacketRecord>;

export function makePacketLoader(read: FrameReader, showPasswords = false): (fact: PacketFact) => Promise<Dissection> {
  return async (fact) => maskDissection(dissect(await read(fact.frame, fact.fileOffset), dissectContextOf(fact)), showPasswords);
}

// Small versions of bench:shapes' captures for the bounded-memory tests (issue 18): the seed and the
// frames bench/shapes.ts splices, a directory for the files, and what a streaming session may hold.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { writeSpliced, type SpliceOptions } from '../../bench/capture-gen.js';

/** A vsftpd session with a PASV behind NAT: the seed of the long, commands and data-conns shapes. */
export const NAT_SEED = 'captures/vsftpd-pasv-nat-ipv4.pcap';
/** Its frames 16-34: PASV (a NAT'd address), TYPE, SIZE, RETR over a data connection, 226. */
export const TRANSFER_FRAMES = { from: 15, to: 34, dataPort: 57476 } as const;
/** Its frames 35-37: CWD, its ACK, 250. */
export const CWD_FRAMES = { from: 34, to: 37 } as const;
/**
 * Streaming from the first, a session never holds more than this many commands (or data
 * connections): the few awaiting a reply, and those of the chunk just read.
 */
export const HELD_BOUND = 16;

/**
 * A temporary directory for one test file's captures, made before its tests and removed after
 * (call at module level); the function given back names a file in it.
 */
export function shapeDir(prefix: string): (name: string) => string {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  return (name) => join(dir, name);
}

/** NAT_SEED's frames [from, to) repeated (see SpliceOptions), written to `path`, which is returned. */
export async function writeNatShape(path: string, o: SpliceOptions): Promise<string> {
  await writeSpliced(path, NAT_SEED, o);
  return path;
}

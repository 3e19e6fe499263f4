import { createHash, type Hash } from 'node:crypto';
import type { DataConnection, TransferDirection } from '../model/types.js';

/**
 * Streams one data connection's payload: counts and hashes each TCP direction as bytes
 * arrive, never keeping them. Which direction is "the file" is known only once the
 * transfer command is (download: FTP server → client; upload: client → server), so both
 * directions are hashed until the end; in practice only one carries bytes.
 */
export class TransferAccumulator {
  private readonly hashes: [Hash | null, Hash | null] = [null, null];
  readonly delivered: [number, number] = [0, 0];
  readonly missing: [number, number] = [0, 0];
  /** A gap in a direction makes its hash meaningless. */
  private readonly gapped: [boolean, boolean] = [false, false];

  data(tcpDir: 0 | 1, bytes: Buffer): void {
    this.delivered[tcpDir] += bytes.length;
    if (this.gapped[tcpDir]) return;
    let h = this.hashes[tcpDir];
    if (!h) h = this.hashes[tcpDir] = createHash('sha256');
    h.update(bytes);
  }

  gap(tcpDir: 0 | 1, length: number): void {
    this.missing[tcpDir] += length;
    this.gapped[tcpDir] = true;
    this.hashes[tcpDir] = null;
  }

  /**
   * The TCP direction that carries the file: by the FTP direction when known (`ftpServerIsTcpClient`
   * tells which TCP side the FTP server is), else the direction with the most bytes.
   */
  static fileDirection(direction: TransferDirection | null, ftpServerIsTcpClient: boolean, acc: TransferAccumulator): 0 | 1 {
    if (direction === 'download' || direction === 'listing') return ftpServerIsTcpClient ? 0 : 1;
    if (direction === 'upload') return ftpServerIsTcpClient ? 1 : 0;
    const a = acc.delivered[0] + acc.missing[0];
    const b = acc.delivered[1] + acc.missing[1];
    return b > a ? 1 : 0;
  }

  /** Fill bytes/missingBytes/sha256 of the data connection; sha256 only when `complete`. */
  finish(dc: DataConnection, fileDir: 0 | 1): string | null {
    dc.bytes = this.delivered[fileDir] + this.missing[fileDir];
    dc.missingBytes = this.missing[fileDir];
    const h = this.hashes[fileDir];
    this.hashes[0] = this.hashes[1] = null;
    if (this.gapped[fileDir]) return null;
    // An empty transfer has a well-defined hash too (sha256 of nothing).
    return (h ?? createHash('sha256')).digest('hex');
  }
}

/**
 * TransferAccumulator on the served files (captures/served/make-tree.mjs), whose sizes and sha256 are in
 * captures/served/manifest.json: any split of the bytes gives the manifest's values; a gap gives no hash.
 */
import { describe, expect, it } from 'vitest';
import { servedFiles } from '../../captures/served/make-tree.mjs';
import { HashHeads, TransferAccumulator } from '../../src/ftp/transfer.js';
import type { DataConnection } from '../../src/model/types.js';
import { loadServedManifest } from '../helpers/served-tree.js';

const manifest = loadServedManifest();
const files = new Map(servedFiles());

function dc(): DataConnection {
  return {
    id: 1, client: { ip: '10.21.0.2', port: 40000 }, server: { ip: '10.21.0.1', port: 50000 }, mode: 'passive', setup: 'PASV',
    setupFrame: null, command: null, direction: null, path: null, expectedBytes: null, bytes: 0, missingBytes: 0, start: 0, end: 0,
    complete: false, sha256: null, restOffset: null, transferType: null, closeReason: null, finalReply: null, guessedRole: null, tcp: null,
  };
}

describe('TransferAccumulator', () => {
  for (const entry of manifest.files.filter((f) => f.size <= 4096)) {
    it(`${entry.path}: every split gives the manifest's size and sha256`, () => {
      const bytes = files.get(entry.path)!;
      expect(bytes).toBeDefined();
      for (let at = 0; at <= bytes.length; at += Math.max(1, Math.floor(bytes.length / 64))) {
        const acc = new TransferAccumulator();
        acc.data(1, bytes.subarray(0, at));
        acc.data(1, bytes.subarray(at));
        const d = dc();
        expect(acc.finish(d, 1)).toBe(entry.sha256);
        expect(d.bytes).toBe(entry.size);
        expect(d.missingBytes).toBe(0);
      }
    });
  }

  it('bytes kept across calls are copies: a caller reusing its buffer does not change the hash', () => {
    const entry = manifest.files.find((f) => f.size > 1000 && f.size <= 4096)!;
    const bytes = files.get(entry.path)!;
    const acc = new TransferAccumulator();
    const scratch = Buffer.alloc(bytes.length);
    for (let at = 0; at < bytes.length; at += 500) {
      const piece = bytes.subarray(at, at + 500);
      piece.copy(scratch);
      acc.data(1, scratch.subarray(0, piece.length));
      scratch.fill(0x55);
    }
    expect(acc.finish(dc(), 1)).toBe(entry.sha256);
  });

  for (const entry of manifest.files.filter((f) => f.size >= 4096)) {
    it(`${entry.path}: three pieces split on either side of the first 4 KiB give the manifest's sha256`, () => {
      const bytes = files.get(entry.path)!;
      for (const [a, b] of [[1, 2], [4000, 4096], [4095, 4097], [4096, 5000], [10, bytes.length - 1]] as const) {
        const acc = new TransferAccumulator();
        acc.data(1, bytes.subarray(0, a));
        acc.data(1, bytes.subarray(a, b));
        acc.data(1, bytes.subarray(b));
        expect(acc.finish(dc(), 1), `split at ${a}, ${b}`).toBe(entry.sha256);
      }
    });
  }

  it('what all accumulators keep for hashing at the end stays under its budget, and every hash is still right', () => {
    const entry = manifest.files.find((f) => f.path === 'pub/docs/c.bin')!;
    const bytes = files.get(entry.path)!;
    const heads = new HashHeads();
    // 6000 open transfers of 4 KiB would keep 24 MiB: past the budget, later ones hash as they go.
    const accs = Array.from({ length: 6000 }, () => {
      const acc = new TransferAccumulator(true, heads);
      acc.data(1, bytes);
      return acc;
    });
    expect(heads.held).toBeLessThanOrEqual(16 << 20);
    expect(heads.held).toBeGreaterThan(0);
    for (const acc of accs.slice(0, 3000)) expect(acc.finish(dc(), 1)).toBe(entry.sha256);
    for (const acc of accs.slice(3000)) acc.discard();
    expect(heads.held).toBe(0);
  });

  it('the 1 MiB blob fed in TCP-sized segments hashes to the manifest value', () => {
    const entry = manifest.files.find((f) => f.path === 'pub/blob-1MiB.bin')!;
    const bytes = files.get(entry.path)!;
    const acc = new TransferAccumulator();
    for (let at = 0; at < bytes.length; at += 1448) acc.data(1, bytes.subarray(at, at + 1448));
    const d = dc();
    expect(acc.finish(d, 1)).toBe(entry.sha256);
    expect(d.bytes).toBe(1048576);
  });

  it('a gap counts its bytes as missing and leaves no hash; the other direction is unaffected', () => {
    const bytes = files.get('pub/docs/b.txt')!;
    const acc = new TransferAccumulator();
    acc.data(1, bytes.subarray(0, 1000));
    acc.gap(1, 400);
    acc.data(1, bytes.subarray(1400));
    const d = dc();
    expect(acc.finish(d, 1)).toBeNull();
    expect(d.bytes).toBe(2400);
    expect(d.missingBytes).toBe(400);
  });

  it('an empty transfer has the sha256 of nothing (the manifest\'s empty.dat)', () => {
    const entry = manifest.files.find((f) => f.size === 0)!;
    const d = dc();
    expect(new TransferAccumulator().finish(d, 1)).toBe(entry.sha256);
    expect(d.bytes).toBe(0);
  });

  it('the file direction follows the FTP direction and which side the FTP server is', () => {
    const acc = new TransferAccumulator();
    acc.data(0, Buffer.alloc(10));
    const table: [DataConnection['direction'], boolean, 0 | 1][] = [
      ['download', false, 1], ['download', true, 0], ['listing', false, 1], ['listing', true, 0],
      ['upload', false, 0], ['upload', true, 1], [null, false, 0], [null, true, 0],
    ];
    for (const [direction, serverIsTcpClient, want] of table) {
      expect(TransferAccumulator.fileDirection(direction, serverIsTcpClient, acc), `${direction} ${serverIsTcpClient}`).toBe(want);
    }
  });
});

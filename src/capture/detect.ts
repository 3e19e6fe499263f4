import { FtpscopeError } from '../errors.js';
import { pcapMagic } from './pcap.js';
import { BT_SHB } from './pcapng.js';
import type { CaptureFormat } from './types.js';

/** Detects the capture format from its first bytes (never from the file name). */
export function detectFormat(head: Buffer, length: number): CaptureFormat | null {
  if (length >= 4 && head.readUInt32LE(0) === BT_SHB) return 'pcapng';
  if (length >= 4 && pcapMagic(head.subarray(0, length))) return 'pcap';
  return null;
}

export function isGzip(head: Buffer, length: number): boolean {
  return length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** True when the first bytes read like text (UTF-8 or ASCII, no control bytes but whitespace). */
export function looksLikeText(head: Buffer, length: number): boolean {
  const n = Math.min(length, 4096);
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) return false;
    if (b === 0x7f) return false;
  }
  // Reject byte soup that is not valid UTF-8 (cut the check before a possibly split last character).
  let end = n;
  while (end > 0 && n - end < 4 && (head[end - 1]! & 0xc0) === 0x80) end--;
  if (end > 0 && head[end - 1]! >= 0xc0) end--;
  return !head.subarray(0, end).toString('utf8').includes('\ufffd');
}

/** The error for a file whose first bytes are not a capture. */
export function unrecognizedError(name: string, head: Buffer, length: number, insideGzip: boolean): FtpscopeError {
  const where = insideGzip ? `${name} (after gunzip)` : name;
  if (looksLikeText(head, length)) {
    const firstLine = head.toString('utf8', 0, Math.min(length, 60)).split(/\r?\n/)[0]!.trim();
    return new FtpscopeError(
      'capture-is-text',
      `${where} looks like a text file, not a capture (it starts with "${firstLine}")`,
      'give ftpscope a pcap or pcapng file, e.g. one written by tcpdump -w or Wireshark',
    );
  }
  const hex = [...head.subarray(0, Math.min(4, length))].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return new FtpscopeError(
    'capture-not-recognized',
    `${where} is not a pcap or pcapng capture (unrecognized magic number ${hex} at byte 0)`,
    'pcap starts with d4 c3 b2 a1 or a1 b2 c3 d4, pcapng with 0a 0d 0d 0a; convert other formats with editcap -F pcapng',
  );
}

/** Maps a failed stat/open to the one-line error the user sees. */
export function fileError(name: string, e: unknown): FtpscopeError {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'ENOENT':
      return new FtpscopeError('file-not-found', `${name}: no such file`, 'check the path');
    case 'EISDIR':
      return new FtpscopeError('file-is-directory', `${name} is a directory, not a capture file`, 'name a .pcap or .pcapng file inside it');
    case 'EACCES':
    case 'EPERM':
      return new FtpscopeError('file-unreadable', `${name}: permission denied`, 'check the file permissions, or run as a user who may read it');
    default:
      return new FtpscopeError('file-unreadable', `${name}: cannot read (${err.code ?? err.message})`, 'check the file and the disk');
  }
}

import { resolve } from 'node:path';
import type { PcapngSection } from './pcapng.js';

/**
 * What readCapture learned about a plain pcapng file's sections and interfaces, so that
 * readFrame can decode a packet block found by its offset without re-reading the file.
 * Keyed by path and checked against size and mtime; a handful of files at most.
 */
interface Entry {
  size: number;
  mtimeMs: number;
  sections: PcapngSection[];
}

// A ring buffer of pcapng files re-read by the dashboard needs one entry per file (a few hundred bytes each).
const MAX_FILES = 1024;
const cache = new Map<string, Entry>();

export function rememberSections(path: string, size: number, mtimeMs: number, sections: PcapngSection[]): void {
  const key = resolve(path);
  cache.delete(key);
  cache.set(key, { size, mtimeMs, sections });
  while (cache.size > MAX_FILES) cache.delete(cache.keys().next().value!);
}

/** The section that holds the block at `offset`, when the file is known and unchanged. */
export function sectionAt(path: string, size: number, mtimeMs: number, offset: number): PcapngSection | null {
  const e = cache.get(resolve(path));
  if (!e || e.size !== size || e.mtimeMs !== mtimeMs) return null;
  let found: PcapngSection | null = null;
  for (const s of e.sections) {
    if (s.offset <= offset) found = s;
    else break;
  }
  return found;
}

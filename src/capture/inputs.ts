/**
 * What the capture arguments of a command name: one file (read as always), or a set of files
 * to merge (several files, a directory, or both). A directory contributes the files in it whose
 * first bytes are a pcap, pcapng or gzip header, whatever their names: tcpdump -C names its
 * ring files capture.pcap, capture.pcap1, capture.pcap2, and -G names them by strftime.
 */
import { closeSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FtpscopeError } from '../errors.js';
import { detectFormat, fileError, isGzip } from './detect.js';

export interface CaptureInputs {
  /** The files, in the order given (a directory's files in natural name order). */
  files: string[];
  /** Read as a set (merged) rather than as one file: more than one file, or a directory. */
  merged: boolean;
  /** What the input is called in reports: the file, the directory, or the files. */
  name: string;
  /** Files in the directories given that are not captures (left out), for a note. */
  ignored: string[];
}

/**
 * Resolves the capture arguments. Missing or unreadable files stay in the list: reading says
 * what is wrong with them (a single file fails; in a set, the merge reports it and reads the
 * rest). `-`/`/dev/stdin` can only be the one input: a pipe cannot be peeked at and
 * read again.
 */
export function resolveCaptureInputs(args: readonly string[]): CaptureInputs {
  if (args.length === 0) throw new FtpscopeError('usage', 'no capture given', 'name a pcap or pcapng file, several, or a directory of them');
  const pipes = args.filter((a) => a === '/dev/stdin' || a === '-');
  if (pipes.length > 0 && args.length > 1) {
    throw new FtpscopeError('usage', 'standard input (-) cannot be merged with other captures', 'save the piped capture to a file first, then name the files');
  }
  const files: string[] = [];
  const ignored: string[] = [];
  let dirs = 0;
  for (const arg of args) {
    let isDir = false;
    try {
      const st = statSync(arg);
      isDir = st.isDirectory();
      if (args.length > 1 && (st.isFIFO() || st.isCharacterDevice() || st.isSocket())) {
        // A set is peeked at, then read from the start: a pipe cannot be (and opening one could wait forever).
        throw new FtpscopeError('usage', `${arg} is a pipe, which cannot be merged with other captures`, 'save it to a file first, then name the files');
      }
    } catch (e) {
      if (e instanceof FtpscopeError) throw e;
      // Missing or unreadable: reported with the file's name when it is read.
    }
    if (!isDir) {
      files.push(arg);
      continue;
    }
    dirs++;
    const found = captureFilesIn(arg, ignored);
    if (found.length === 0) {
      throw new FtpscopeError('file-not-found', `${arg} holds no pcap or pcapng file${ignored.length ? ` (${ignored.length} other file${ignored.length === 1 ? '' : 's'})` : ''}`,
        'name the capture files, or the directory a ring buffer (tcpdump -C / -G) wrote into');
    }
    files.push(...found);
  }
  const unique = dedupe(files);
  const merged = unique.length > 1 || dirs > 0;
  const name = args.length === 1 ? args[0]! : unique.length <= 3 ? unique.join(' + ') : `${unique[0]} + ${unique.length - 1} more files`;
  return { files: unique, merged, name, ignored };
}

/** The capture files directly inside a directory (not in subdirectories, not hidden ones). */
function captureFilesIn(dir: string, ignored: string[]): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw fileError(dir, e);
  }
  const out: string[] = [];
  for (const n of names.sort(naturalOrder)) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    let st;
    try {
      st = statSync(p);
    } catch {
      continue; // a dangling link or a file removed meanwhile
    }
    if (!st.isFile()) continue;
    if (looksLikeCapture(p)) out.push(p);
    else ignored.push(p);
  }
  return out;
}

/** Its first bytes are a capture header or gzip (decompressed and checked when read). */
function looksLikeCapture(path: string): boolean {
  const head = Buffer.alloc(4);
  let n = 0;
  try {
    const fd = openSync(path, 'r');
    try {
      n = readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
  } catch {
    return true; // unreadable: let the merge say so, naming the file
  }
  return isGzip(head, n) || detectFormat(head, n) !== null;
}

/** The same file named twice (a directory and a file in it) is read once. */
function dedupe(files: string[]): string[] {
  const seen = new Set<string>();
  return files.filter((f) => {
    let key = f;
    try {
      key = realpathSync(f);
    } catch {
      // missing: keep it, the merge reports it
    }
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * "ftp.pcap2" before "ftp.pcap10", as tcpdump -C numbers its files: runs of digits compare as
 * numbers, the rest by code unit. (Not localeCompare: loading ICU's collator costs 70 ms.)
 */
export function naturalOrder(a: string, b: string): number {
  // tcpdump -z gzip renames ftp.pcap to ftp.pcap.gz: order by the name before compression.
  const ka = a.replace(/\.gz$/, '');
  const kb = b.replace(/\.gz$/, '');
  if (ka === kb) return a < b ? -1 : a > b ? 1 : 0;
  const re = /(\d+)|(\D+)/g;
  const pa = ka.match(re) ?? [];
  const pb = kb.match(re) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    const dx = x.charCodeAt(0) >= 48 && x.charCodeAt(0) <= 57;
    const dy = y.charCodeAt(0) >= 48 && y.charCodeAt(0) <= 57;
    if (dx && dy) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d;
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

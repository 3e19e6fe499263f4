#!/usr/bin/env node
// Deterministic content for the FTP servers that record.sh and the tests start.
// Plain JavaScript (not TypeScript) so record.sh can run it with bare `node`; test/helpers re-exports it with types.
//
//   node captures/served/make-tree.mjs SERVED_DIR CLIENT_DIR   -> writes both trees, prints the manifest as JSON
//
// Same seed, same bytes, same mtimes on every machine, so sha256 values and even directory listings repeat.
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync, utimesSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Fixed mtime (2024-01-02T03:04:05Z) so LIST/MLSD output does not change between recordings. */
export const FIXED_MTIME = new Date(Date.UTC(2024, 0, 2, 3, 4, 5));

/** Pseudo-random bytes: SHA-256 in counter mode over a text seed. */
export function seededBytes(seed, length) {
  const out = Buffer.allocUnsafe(length);
  let offset = 0;
  for (let counter = 0; offset < length; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(out, offset, 0, Math.min(block.length, length - offset));
  }
  return out;
}

// Line endings are mixed on purpose: an ASCII-mode (TYPE A) transfer rewrites them, an image-mode one does not.
const CRLF_TEXT = [
  'ftpscope test text: line endings matter here.\n',
  'This line ends in LF only.\n',
  'This line ends in CR LF.\r\n',
  'A lone CR\rinside a line, then LF.\n',
  'Tabs\tand trailing spaces   \n',
  '\n',
  'Non-ASCII UTF-8: \u00e9\u00e8\u00ea \u2713\n',
  'Last line has no newline at all',
].join('');

const DOC_LINES = (name, n) =>
  Array.from({ length: n }, (_, i) => `${name} line ${String(i + 1).padStart(4, '0')}\n`).join('');

/** The served tree: path (relative, '/'-separated) -> content. Directories are implied by paths. */
export function servedFiles() {
  return [
    ['pub/blob-1MiB.bin', seededBytes('ftpscope/blob-1MiB', 1 << 20)],
    ['pub/readme-crlf.txt', Buffer.from(CRLF_TEXT, 'utf8')],
    ['pub/small.txt', Buffer.from('hello from ftpscope\n', 'ascii')],
    ['pub/empty.dat', Buffer.alloc(0)],
    ['pub/name with spaces.txt', Buffer.from('a file whose name has spaces\n', 'ascii')],
    ['pub/docs/a.txt', Buffer.from(DOC_LINES('a', 10), 'ascii')],
    ['pub/docs/b.txt', Buffer.from(DOC_LINES('b', 200), 'ascii')],
    ['pub/docs/c.bin', seededBytes('ftpscope/docs/c', 4096)],
    ['pub/docs/nested/d.txt', Buffer.from(DOC_LINES('d', 3), 'ascii')],
  ];
}

/** Files the clients upload (they live on the client side, not in the served tree). */
export function clientFiles() {
  return [
    ['upload-300KiB.bin', seededBytes('ftpscope/upload-300KiB', 300 * 1024)],
    ['upload-note.txt', Buffer.from('uploaded by the ftpscope recorder\nsecond line\n', 'ascii')],
  ];
}

export function sha256Hex(buf) {
  return createHash('sha256').update(buf).digest('hex');
}

function writeTree(dir, entries) {
  const manifest = [];
  for (const [path, content] of entries) {
    const full = join(dir, ...path.split('/'));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    utimesSync(full, FIXED_MTIME, FIXED_MTIME);
    manifest.push({ path, size: content.length, sha256: sha256Hex(content) });
  }
  // Directory mtimes too, deepest first so writing children does not bump them afterwards.
  const dirs = new Set();
  for (const [path] of entries) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    utimesSync(join(dir, ...d.split('/')), FIXED_MTIME, FIXED_MTIME);
  }
  return manifest;
}

/** Writes the served tree under `dir` and returns its manifest [{path, size, sha256}] (sorted by path). */
export function makeServedTree(dir) {
  return writeTree(dir, servedFiles()).sort((a, b) => a.path.localeCompare(b.path));
}

/** Writes the client-side upload sources under `dir` and returns their manifest. */
export function makeClientFiles(dir) {
  return writeTree(dir, clientFiles()).sort((a, b) => a.path.localeCompare(b.path));
}

/** Manifest of whatever regular files are under `dir` now (used to hash what the servers received). */
export function hashTree(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      const full = join(d, name);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (st.isFile()) {
        const content = readFileSync(full);
        out.push({ path: relative(dir, full).split(sep).join('/'), size: content.length, sha256: sha256Hex(content) });
      }
    }
  };
  walk(dir);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [servedDir, clientDir] = process.argv.slice(2);
  if (!servedDir || !clientDir) {
    process.stderr.write('usage: make-tree.mjs SERVED_DIR CLIENT_DIR\n');
    process.exit(2);
  }
  const manifest = { served: makeServedTree(servedDir), client: makeClientFiles(clientDir) };
  process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
}

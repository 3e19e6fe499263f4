#!/usr/bin/env node
// The content the diagnosis-lab servers serve (captures/scenarios/record.sh), deterministic like captures/served:
// same seed, same bytes, same mtimes on every machine, so sizes and sha256 values in scenarios.json repeat.
//
//   node make-tree.mjs SERVED_DIR CLIENT_DIR   -> writes both trees, prints {served, client} manifests as JSON
import { seededBytes, sha256Hex, FIXED_MTIME } from '../served/make-tree.mjs';
import { mkdirSync, writeFileSync, utimesSync } from 'node:fs';
import { join, dirname } from 'node:path';

export function labServedFiles() {
  return [
    ['pub/small.txt', Buffer.from('hello from ftpscope\n', 'ascii')],
    // Binary files: random bytes hold LF and CR bytes that an ASCII-mode (TYPE A) transfer rewrites.
    ['pub/data-64KiB.bin', seededBytes('ftpscope-lab/data-64KiB', 64 * 1024)],
    ['pub/data-256KiB.bin', seededBytes('ftpscope-lab/data-256KiB', 256 * 1024)],
    // Made unreadable for the FTP users by record.sh (mode 0600, owner root): RETR gets 550.
    ['pub/secret.txt', Buffer.from('not for you\n', 'ascii')],
  ];
}

export function labClientFiles() {
  return [['upload-300KiB.bin', seededBytes('ftpscope/upload-300KiB', 300 * 1024)]];
}

function writeTree(dir, entries) {
  const out = [];
  for (const [path, content] of entries) {
    const full = join(dir, ...path.split('/'));
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
    utimesSync(full, FIXED_MTIME, FIXED_MTIME);
    out.push({ path, size: content.length, sha256: sha256Hex(content) });
  }
  return out;
}

const [servedDir, clientDir] = process.argv.slice(2);
if (!servedDir || !clientDir) {
  process.stderr.write('usage: make-tree.mjs SERVED_DIR CLIENT_DIR\n');
  process.exit(2);
}
process.stdout.write(JSON.stringify({ served: writeTree(servedDir, labServedFiles()), client: writeTree(clientDir, labClientFiles()) }) + '\n');

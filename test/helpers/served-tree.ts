// Typed access to captures/served/make-tree.mjs, the one generator of the deterministic content that record.sh served
// and that tests serve again. Keep the content there (plain JS, so record.sh can run it with bare `node`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tree from '../../captures/served/make-tree.mjs';

export interface ServedFile {
  path: string;
  size: number;
  sha256: string;
}

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const capturesDir = fileURLToPath(new URL('../../captures/', import.meta.url));

/** Writes the served tree (pub/..., with fixed mtimes) under dir and returns its manifest, sorted by path. */
export const makeServedTree: (dir: string) => ServedFile[] = tree.makeServedTree;
/** Writes the files the recorder's clients uploaded under dir and returns their manifest. */
export const makeClientFiles: (dir: string) => ServedFile[] = tree.makeClientFiles;
/** Manifest of the regular files under dir right now (e.g. what a server stored after an upload). */
export const hashTree: (dir: string) => ServedFile[] = tree.hashTree;
export const sha256Hex: (data: Buffer) => string = tree.sha256Hex;

/** captures/served/manifest.json: the served tree as record.sh served it. */
export interface ServedManifest {
  generator: string;
  mtime: string;
  files: ServedFile[];
  clientFiles: ServedFile[];
}

/** One expected data transfer of a bundled capture (captures/served/captures.json). */
export interface ExpectedTransfer {
  session: number;
  verb: string;
  path: string;
  mode: 'passive' | 'active';
  setup: 'PASV' | 'EPSV' | 'PORT' | 'EPRT';
  /** Bytes on the data connection; null when not known from a client or server file (abort, TLS, converted). */
  bytes: number | null;
  sha256: string | null;
  complete: boolean;
  transferType?: 'A' | 'I';
  clientBytes?: number;
  clientSha256?: string;
  clientConvertedLineEnds?: boolean;
  rest?: number;
  fileSha256?: string;
  fileBytes?: number;
  abort?: 'client-timeout' | 'ABOR';
  announced?: string;
  tls?: boolean;
}

export interface ExpectedSession {
  session: number;
  client: string;
  user: string;
  login: 'ok' | 'failed';
  server: string;
  ip: 4 | 6;
  note: string;
}

export interface BundledCapture {
  file: string;
  description: string;
  sessions: ExpectedSession[];
  transfers: ExpectedTransfer[];
  expectedNoConnection?: { session: number; verb: string; path: string; setup: string; announced: string; reply: number }[];
}

export interface BundledCaptures {
  generatedBy: string;
  addresses: Record<string, string>;
  captures: BundledCapture[];
}

export function loadServedManifest(): ServedManifest {
  return JSON.parse(readFileSync(`${capturesDir}served/manifest.json`, 'utf8')) as ServedManifest;
}

export function loadBundledCaptures(): BundledCaptures {
  return JSON.parse(readFileSync(`${capturesDir}served/captures.json`, 'utf8')) as BundledCaptures;
}

// The bundled captures are what captures/served/captures.json says they are: present, readable capture files, and
// their expected transfers consistent with the served content. Deeper checks (every packet against tshark, pairing,
// sha256 of the reassembled transfers) belong to the reader and analysis tests.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { capturesDir, loadBundledCaptures, loadServedManifest } from '../helpers/served-tree.js';

const bundled = loadBundledCaptures();
const manifest = loadServedManifest();

/** The container format from the magic number (pcap: either byte order, micro- or nanosecond; pcapng: SHB). */
function captureFormat(bytes: Buffer): { format: 'pcap' | 'pcapng'; nanosecond?: boolean; linkType?: number } | null {
  if (bytes.length < 24) return null;
  const magic = bytes.readUInt32BE(0);
  if (magic === 0x0a0d0d0a) return { format: 'pcapng' };
  const le = bytes.readUInt32LE(0);
  for (const [value, nanosecond] of [
    [0xa1b2c3d4, false],
    [0xa1b23c4d, true],
  ] as const) {
    if (le === value) return { format: 'pcap', nanosecond, linkType: bytes.readUInt32LE(20) };
    if (magic === value) return { format: 'pcap', nanosecond, linkType: bytes.readUInt32BE(20) };
  }
  return null;
}

function readCapture(file: string): Buffer {
  const raw = readFileSync(join(capturesDir, file));
  return raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
}

describe('captures/served/captures.json', () => {
  it('lists every capture at the top of captures/, and nothing else is there', () => {
    const onDisk = readdirSync(capturesDir).filter((f) => /\.(pcap|pcapng|pcap\.gz|pcapng\.gz)$/.test(f)).sort();
    expect(bundled.captures.map((c) => c.file).sort()).toEqual(onDisk);
  });

  it.each(bundled.captures.map((c) => [c.file, c] as const))('%s is a readable capture', (file) => {
    const bytes = readCapture(file);
    const format = captureFormat(bytes);
    expect(format, `${file}: unknown magic ${bytes.subarray(0, 4).toString('hex')}`).not.toBeNull();
    expect(format!.format).toBe(/\.pcapng(\.gz)?$/.test(file) ? 'pcapng' : 'pcap');
    expect(statSync(join(capturesDir, file)).size).toBeLessThan(4 * 1024 * 1024);
  });

  it('covers what issue 2 asks for: PASV, EPSV, PORT, EPRT; IPv4 and IPv6; download, upload, listing; failed login; abort', () => {
    const transfers = bundled.captures.flatMap((c) => c.transfers);
    const sessions = bundled.captures.flatMap((c) => c.sessions);
    expect(new Set(transfers.map((t) => t.setup))).toEqual(new Set(['PASV', 'EPSV', 'PORT', 'EPRT']));
    expect(new Set(sessions.map((s) => s.ip))).toEqual(new Set([4, 6]));
    for (const verb of ['RETR', 'STOR', 'LIST', 'NLST']) expect(transfers.some((t) => t.verb === verb)).toBe(true);
    expect(sessions.some((s) => s.login === 'failed')).toBe(true);
    expect(sessions.some((s) => s.user === 'anonymous')).toBe(true);
    expect(sessions.some((s) => s.user !== 'anonymous' && s.login === 'ok')).toBe(true);
    expect(transfers.some((t) => !t.complete && t.abort === 'ABOR')).toBe(true);
    expect(transfers.some((t) => !t.complete && t.abort === 'client-timeout')).toBe(true);
  });

  it('has a pcapng, a gzip-compressed nanosecond pcap and a LINUX_SLL2 capture', () => {
    const formats = bundled.captures.map((c) => ({ file: c.file, ...captureFormat(readCapture(c.file))! }));
    expect(formats.some((f) => f.format === 'pcapng')).toBe(true);
    expect(formats.some((f) => f.file.endsWith('.gz') && f.nanosecond)).toBe(true);
    expect(formats.some((f) => f.linkType === 276)).toBe(true); // LINKTYPE_LINUX_SLL2
    expect(existsSync(join(capturesDir, 'tour.pcapng'))).toBe(true);
  });

  it('image-mode downloads of whole served files carry exactly the served bytes', () => {
    let checked = 0;
    for (const c of bundled.captures) {
      for (const t of c.transfers) {
        if (t.verb !== 'RETR' || !t.complete || t.sha256 === null || t.transferType === 'A' || t.rest !== undefined) continue;
        const served = manifest.files.find((f) => `/${f.path}` === t.path);
        expect(served, `${c.file}: ${t.path} is not in the served tree`).toBeDefined();
        expect({ file: c.file, path: t.path, bytes: t.bytes, sha256: t.sha256 }).toEqual({
          file: c.file,
          path: t.path,
          bytes: served!.size,
          sha256: served!.sha256,
        });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('a resumed download is the tail of the served file from its REST offset', () => {
    const resumed = bundled.captures.flatMap((c) => c.transfers).filter((t) => t.rest !== undefined);
    expect(resumed.length).toBeGreaterThan(0);
    const blob = manifest.files.find((f) => f.path === 'pub/blob-1MiB.bin')!;
    for (const t of resumed) {
      expect(t.bytes! + t.rest!).toBe(blob.size);
      expect(t.fileSha256).toBe(blob.sha256);
    }
  });

  it('uploads stored on the server are the client files', () => {
    const uploads = bundled.captures.flatMap((c) => c.transfers).filter((t) => t.verb === 'STOR');
    expect(uploads.length).toBeGreaterThan(3);
    const known = new Set(manifest.clientFiles.map((f) => f.sha256));
    for (const t of uploads) expect(known.has(t.sha256!), `${t.path}`).toBe(true);
  });
});

describe('captures/public', () => {
  const publicDir = join(capturesDir, 'public');
  const manifestText = readFileSync(join(publicDir, 'MANIFEST.md'), 'utf8');
  const listed = [...manifestText.matchAll(/^([0-9a-f]{64}) {2}\.\/(.+)$/gm)].map((m) => [m[2]!, m[1]!] as const);

  it('MANIFEST.md names origin, commit and license of each source', () => {
    expect(manifestText).toMatch(/zeek.*a13de64fbbdb01f90961c04719b308fbbb6d199e.*BSD/);
    expect(manifestText).toMatch(/suricata-verify.*10a45e4bad6d29d0f1239d93119ea24e1bbdab19.*MIT/);
    expect(listed.length).toBeGreaterThan(20);
  });

  it.each(listed)('%s matches the sha256 in MANIFEST.md', (path, sha) => {
    expect(createHash('sha256').update(readFileSync(join(publicDir, path))).digest('hex')).toBe(sha);
  });

  it('every public pcap is readable', () => {
    for (const [path] of listed.filter(([p]) => p.endsWith('.pcap'))) {
      expect(captureFormat(readFileSync(join(publicDir, path))), path).not.toBeNull();
    }
  });
});

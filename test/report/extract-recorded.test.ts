import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import { Extractor, isInside } from '../../src/report/extract.js';
import { toReportJson } from '../../src/report/json.js';
import { expectValidReport } from '../helpers/validate-report.js';

/**
 * The project's own recordings (captures/record.sh): captures/served/captures.json lists, per
 * capture, each transfer with the size and sha256 of what the client saved or the server stored.
 * extract must write exactly those bytes.
 */
const MANIFEST = 'captures/served/captures.json';

interface RecordedTransfer { session: number; verb: string; path: string; mode: string; setup: string;
  bytes: number | null; sha256: string | null; complete: boolean; tls?: boolean }
interface RecordedCapture { file: string; transfers: RecordedTransfer[] }

const recorded: RecordedCapture[] = existsSync(MANIFEST)
  ? (JSON.parse(readFileSync(MANIFEST, 'utf8')) as { captures: RecordedCapture[] }).captures
  : [];

const dirs: string[] = [];
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

describe.skipIf(recorded.length === 0)('extract on the project\'s recorded captures', () => {
  it.each(recorded.map((c) => [c.file, c] as const))('%s: every served file, byte for byte', async (_name, c) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ftpscope-extract-rec-'));
    dirs.push(dir);
    const file = path.join('captures', c.file);
    const ex = new Extractor(dir, file);
    const a = await analyzeFile(file, { openDataSink: ex.openDataSink });
    expectValidReport(toReportJson(a));
    ex.settle(a);
    const index = ex.finish();
    for (const f of index.files) {
      expect(isInside(dir, f.file)).toBe(true);
      const bytes = readFileSync(path.join(dir, f.file));
      expect(bytes.length).toBe(f.size);
      expect(f.file.endsWith('.incomplete')).toBe(!f.complete);
      // Holes (bytes the capture lacks) leave no hash; everything else is hashed as written.
      if (f.gaps.length > 0) expect(f.sha256).toBeNull();
      else expect(createHash('sha256').update(bytes).digest('hex')).toBe(f.sha256);
    }
    // Under TLS (AUTH TLS, PROT P) the transfer commands are encrypted: nothing names those files.
    for (const t of c.transfers.filter((x) => !x.tls)) {
      const candidates = index.files.filter((f) => f.command?.verb === t.verb &&
        (f.path === t.path || (f.path ?? f.command?.arg ?? '').endsWith(t.path.split('/').pop()!)));
      expect(candidates.length, `${t.verb} ${t.path}`).toBeGreaterThan(0);
      if (t.sha256 !== null) {
        const hit = candidates.find((f) => f.sha256 === t.sha256);
        expect(hit, `${t.verb} ${t.path} with sha256 ${t.sha256}`).toBeDefined();
        expect(hit!.size).toBe(t.bytes);
        expect(hit!.complete).toBe(t.complete);
      } else if (!t.complete) {
        expect(candidates.some((f) => !f.complete), `${t.verb} ${t.path} marked incomplete`).toBe(true);
      }
    }
  });
});

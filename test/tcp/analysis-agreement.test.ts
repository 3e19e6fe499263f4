/**
 * ftpscope's per-packet TCP analysis against tshark's, frame by frame, over every capture with a
 * captures/expected/<capture>.analysis.tsv (captures/tcp-analysis.sh). tshark is not run here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  agreementTable, analysisCaptures, FLAG_FIELDS, measureAgreement, ratio, ROOT, VALUE_FIELDS, type Agreement,
} from '../../scripts/tcp-agreement.js';

const DOC = join(ROOT, 'docs', 'tcp-analysis-agreement.md');
/** The target for every flag. */
const FLAG_TARGET = 0.995;

/** The "Known disagreements" table of the doc: capture|field -> frames. */
function listedDisagreements(): Map<string, number> {
  const doc = readFileSync(DOC, 'utf8');
  const section = doc.slice(doc.indexOf('## Known disagreements'), doc.indexOf('\n## ', doc.indexOf('## Known disagreements') + 5));
  const out = new Map<string, number>();
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+)` \| `([^`]+)` \| (\d+) \| (.+) \|$/.exec(line);
    if (m) out.set(`${m[1]}|${m[2]}`, Number(m[3]));
  }
  return out;
}

describe('TCP analysis agrees with tshark', () => {
  let a: Agreement;
  beforeAll(async () => {
    a = await measureAgreement();
  }, 120_000);

  it('covers the corpus: recorded, public, fixture and failure captures', () => {
    const caps = analysisCaptures();
    expect(caps.length).toBeGreaterThanOrEqual(70);
    for (const want of ['tour.pcapng', 'public/zeek/bigtransfer.pcap', 'tcp/tcp-loss.pcap', 'tcp/tcp-reorder.pcap', 'tcp/tcp-slow-reader.pcap', 'tcp/tcp-noscale.pcap', 'tcp/tcp-stalled.pcap']) {
      expect(caps).toContain(want);
    }
    expect(a.frames).toBeGreaterThan(15_000);
  });

  it.each(FLAG_FIELDS.map((f) => [f]))('%s: at least 99.5% of frames flagged by either are flagged by both', (field) => {
    const c = a.fields.find((x) => x.field === field)!;
    expect(ratio(c), `${field}: ${c.ftpscopeOnly} only ftpscope, ${c.tsharkOnly} only tshark`).toBeGreaterThanOrEqual(FLAG_TARGET);
  });

  it('every flag but the zero-window probe pair occurs in the corpus (the probes are Linux keep-alives here)', () => {
    const never = a.fields.filter((c) => (FLAG_FIELDS as readonly string[]).includes(c.field) && c.either === 0).map((c) => c.field);
    expect(never.sort()).toEqual(['tcp.analysis.zero_window_probe', 'tcp.analysis.zero_window_probe_ack']);
  });

  it.each(VALUE_FIELDS.map((f) => [f]))('%s: equal wherever both show a value (RTTs within 1 µs)', (field) => {
    const c = a.fields.find((x) => x.field === field)!;
    expect(c.different).toBe(0);
    expect(c.both).toBeGreaterThan(0);
  });

  it('every remaining disagreement is listed with its reason in docs/tcp-analysis-agreement.md, and nothing else is', () => {
    const found = new Map<string, number>();
    for (const d of a.disagreements) found.set(`${d.capture}|${d.field}`, (found.get(`${d.capture}|${d.field}`) ?? 0) + 1);
    expect(Object.fromEntries(found)).toEqual(Object.fromEntries(listedDisagreements()));
  });

  it('the figures in docs/tcp-analysis-agreement.md are the measured ones', () => {
    const doc = readFileSync(DOC, 'utf8');
    const m = /<!-- agreement-table[^>]*-->\n([\s\S]*?)<!-- \/agreement-table -->/.exec(doc);
    expect(m?.[1]?.trim()).toBe(agreementTable(a).trim());
  });
});

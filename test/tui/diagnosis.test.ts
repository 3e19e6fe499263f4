/**
 * The dashboard shows a session's diagnosis first: at the head of the session's flow pane, first in
 * the findings view, and `?` on it explains the code with the section of docs/diagnosis.md to read.
 * Run on a real recorded failure (captures/scenarios/01: PASV announces a private address).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { analysisOf, fileSource, openHarness, type Harness } from './harness.js';

const REL = '../scenarios/01-pasv-private-address.pcap';
let h: Harness | null = null;
afterEach(async () => { await h?.close(); h = null; });

describe('diagnosis in the dashboard', () => {
  it('heads the session screen, leads the findings view, and ? on it shows meaning, fix and the doc section', async () => {
    const a = await analysisOf(REL);
    const diag = a.sessions[0]!.findings.find((f) => f.code === 'pasv-private-address')!;
    expect(diag).toBeDefined();
    h = await openHarness(fileSource(REL, a), 120, 32);

    await h.press('enter');
    expect(h.run.dashboard.screen).toBe('session');
    expect(h.screen()).toContain('diagnosis: pasv-private-address');
    expect(h.screen()).toContain(`Diagnosis: ${diag.message.slice(0, 40)}`);

    await h.press('7');
    // Sorted ahead of the warnings and errors that are not diagnoses (pasv-address-mismatch is one).
    expect(h.selected()!.text).toContain('pasv-private-address');
    expect(h.screen().indexOf('pasv-private-address')).toBeLessThan(h.screen().indexOf('pasv-address-mismatch'));

    await h.press('?');
    const help = await h.scrolledText();
    expect(help).toContain('Finding pasv-private-address (error)');
    expect(help).toContain('docs/diagnosis.md#pasv-private-address');
    expect(help).toContain('MasqueradeAddress');
  });
});

/** Findings of one code and severity in one owner are one finding with a count (issue 14, point 6). */
import { describe, expect, it } from 'vitest';
import { addFinding, finding, MAX_EXAMPLE_FRAMES, type Finding } from '../../src/model/findings.js';

describe('addFinding', () => {
  it('folds repeats of a code into the first, counting every occurrence', () => {
    const list: Finding[] = [];
    for (let i = 1; i <= 689; i++) addFinding(list, finding('warning', 'pasv-address-mismatch', `PASV ${i}`, 10 * i));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ code: 'pasv-address-mismatch', count: 689, frame: 10, message: 'PASV 1' });
    // The earliest examples and the last one.
    expect(list[0]!.frames).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 6890]);
    expect(list[0]!.frames).toHaveLength(MAX_EXAMPLE_FRAMES);
  });

  it('keeps the earliest occurrence\'s message and frame whatever order they are found in', () => {
    const list: Finding[] = [];
    addFinding(list, finding('warning', 'control-gap', 'later', 20));
    addFinding(list, finding('warning', 'control-gap', 'earlier', 18));
    expect(list[0]).toMatchObject({ frame: 18, message: 'earlier', count: 2, frames: [18, 20] });
  });

  it('keeps codes and severities apart, and a single occurrence has no count', () => {
    const list: Finding[] = [];
    addFinding(list, finding('error', 'transfer-failed', 'a', 1));
    addFinding(list, finding('warning', 'transfer-failed', 'b', 2));
    addFinding(list, finding('warning', 'capture-gaps', 'c', 3));
    expect(list.map((f) => [f.code, f.severity, f.count])).toEqual([
      ['transfer-failed', 'error', undefined], ['transfer-failed', 'warning', undefined], ['capture-gaps', 'warning', undefined],
    ]);
  });

  it('folds an already folded finding (a TCP connection\'s) with all its occurrences; frameless ones count too', () => {
    const conn: Finding[] = [];
    for (const fr of [5, 7, null]) addFinding(conn, finding('warning', 'tcp-retransmission-mismatch', `at ${fr}`, fr));
    const session: Finding[] = [finding('warning', 'tcp-retransmission-mismatch', 'at 3', 3)];
    addFinding(session, { ...conn[0]!, frames: [...conn[0]!.frames!] });
    expect(session[0]).toMatchObject({ count: 4, frame: 3, frames: [3, 5, 7] });
  });
});

/**
 * The finding-code catalogue (src/model/finding-codes.ts) against the source that raises the codes
 * and against docs/findings.md, which is rendered from it.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FINDING_CODES, type FindingCodeInfo } from '../../src/model/finding-codes.js';
import { renderFindingsDoc } from '../../src/report/findings-doc.js';

const SRC = 'src';
/** The catalogue and its renderer name every code without raising any. */
const NOT_RAISING = new Set(['src/model/finding-codes.ts', 'src/report/findings-doc.ts']);

interface Use { code: string; severity: string | null; where: string }

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

const SEVERITY = /^(['"])(info|warning|error)\1$/;

/**
 * Every place a finding code is written in src/, in the forms the source uses:
 *  - a constructor call with the severity first: finding(sev, 'code', ...), this.emitFinding(...),
 *    flow.addFinding(...) (the severity may be computed, e.g. severityOf(dc));
 *  - a finding object literal with severity and code side by side: { severity: 'info', code: 'code', ... }
 *    (the proxy's control.ts), in either order;
 *  - the proxy session machine's fatal(text, 'code', message), which raises an error finding.
 */
function scanCodeUses(files: string[]): Use[] {
  const uses: Use[] = [];
  for (const file of files) {
    const rel = relative('.', file).split('\\').join('/');
    if (NOT_RAISING.has(rel)) continue;
    const text = readFileSync(file, 'utf8');
    const at = (i: number) => `${rel}:${lineOf(text, i)}`;
    for (const m of text.matchAll(/\b(?:finding|emitFinding|addFinding)\(\s*([^,]+?)\s*,\s*(['"`])([^'"`]+)\2/g)) {
      const sev = SEVERITY.exec(m[1]!);
      uses.push({ code: m[3]!, severity: sev ? sev[2]! : null, where: at(m.index!) });
    }
    for (const m of text.matchAll(/\bseverity:\s*(['"])(info|warning|error)\1\s*,\s*code:\s*(['"`])([^'"`]+)\3/g)) {
      uses.push({ code: m[4]!, severity: m[2]!, where: at(m.index!) });
    }
    for (const m of text.matchAll(/\bcode:\s*(['"`])([^'"`]+)\1\s*,\s*severity:\s*(['"])(info|warning|error)\3/g)) {
      uses.push({ code: m[2]!, severity: m[4]!, where: at(m.index!) });
    }
    for (const m of text.matchAll(/\bfatal\(\s*(?:'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)\s*,\s*(['"])([^'"]+)\1/g)) {
      uses.push({ code: m[2]!, severity: null, where: at(m.index!) });
    }
  }
  return uses;
}

const catalogue = FINDING_CODES as Record<string, FindingCodeInfo>;
const uses = scanCodeUses(sourceFiles(SRC));

describe('finding-code catalogue', () => {
  it('docs/findings.md is the rendered catalogue', () => {
    const doc = readFileSync('docs/findings.md', 'utf8');
    expect(doc, 'docs/findings.md is out of date with src/model/finding-codes.ts: run `npm run docs:findings`').toBe(renderFindingsDoc());
  });

  it('knows every code raised in src/', () => {
    expect(uses.length).toBeGreaterThan(50); // the scan still finds the call sites
    const unknown = uses.filter((u) => !Object.hasOwn(catalogue, u.code)).map((u) => `${u.code} (${u.where})`);
    expect(unknown, 'codes raised in src/ but missing from FINDING_CODES in src/model/finding-codes.ts').toEqual([]);
  });

  it('has no dead codes: every entry is raised somewhere in src/', () => {
    const used = new Set(uses.map((u) => u.code));
    const dead = Object.keys(catalogue).filter((c) => !used.has(c));
    expect(dead, 'FINDING_CODES entries that nothing in src/ raises (remove them, or fix the scan)').toEqual([]);
  });

  it('lists every severity a code is raised with', () => {
    const wrong = uses
      .filter((u) => u.severity !== null && Object.hasOwn(catalogue, u.code))
      .filter((u) => {
        const info = catalogue[u.code]!;
        return u.severity !== info.severity && !(info.otherSeverities ?? []).includes(u.severity as FindingCodeInfo['severity']);
      })
      .map((u) => `${u.code} raised as ${u.severity} (${u.where}), catalogue says ${catalogue[u.code]!.severity}`);
    expect(wrong).toEqual([]);
  });

  it('gives each code a one-line meaning and fix', () => {
    for (const [code, info] of Object.entries(catalogue)) {
      expect(code).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)+$/);
      for (const text of [info.meaning, info.fix]) {
        expect(text.trim().length, code).toBeGreaterThan(10);
        expect(text, code).not.toMatch(/\n/);
      }
    }
  });
});

/**
 * The layering of src/: imports point down the list below, folders form no cycle, and no view
 * reaches into the TCP layer's live records. A new import that breaks this fails here.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(new URL('../src', import.meta.url).pathname);

/** Top to bottom: a folder may import from its own level or any level below it. */
const LEVELS: string[][] = [
  ['cli'],
  ['tui', 'proxy'],
  ['report'],
  ['analysis'],
  ['ftp', 'tcp', 'dissect', 'capture'],
  ['model', '.'], // '.': errors.ts, version.ts
];

/** Within the protocol level, the order that keeps it acyclic. */
const SAME_LEVEL_ALLOWED: Record<string, string[]> = {
  ftp: ['dissect'], // masking.ts masks a dissection's fields (types only)
  tcp: ['dissect', 'capture'],
  dissect: ['capture'],
  capture: [],
  tui: [],
  proxy: [],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function folderOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes('/') ? rel.split('/')[0]! : '.';
}

function levelOf(folder: string): number {
  const i = LEVELS.findIndex((l) => l.includes(folder));
  if (i < 0) throw new Error(`src/${folder} is in no level of test/architecture.test.ts: place it`);
  return i;
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]/gm;

const edges: Array<{ from: string; to: string; file: string; spec: string }> = [];
for (const file of files(SRC)) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
    edges.push({ from: folderOf(file), to: folderOf(target), file: relative(SRC, file), spec: m[1]! });
  }
}

describe('the layering of src/', () => {
  it('finds the imports it checks', () => {
    expect(edges.length).toBeGreaterThan(300);
  });

  it('imports point down the levels (cli → tui/proxy → report → analysis → ftp/tcp/dissect/capture → model)', () => {
    const bad = edges.filter((e) => {
      if (e.from === e.to) return false;
      const a = levelOf(e.from);
      const b = levelOf(e.to);
      if (b > a) return false;
      return !(a === b && (SAME_LEVEL_ALLOWED[e.from] ?? []).includes(e.to));
    });
    expect(bad.map((e) => `src/${e.file} imports ${e.spec}`)).toEqual([]);
  });

  it('model/ imports nothing above it', () => {
    expect(edges.filter((e) => e.from === 'model' && e.to !== 'model').map((e) => `src/${e.file} imports ${e.spec}`)).toEqual([]);
  });

  it('views and commands never import the TCP layer', () => {
    const bad = edges.filter((e) => ['tui', 'report', 'cli'].includes(e.from) && e.to === 'tcp');
    expect(bad.map((e) => `src/${e.file} imports ${e.spec}`)).toEqual([]);
  });

  it('folders form no cycle', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges) if (e.from !== e.to) (graph.get(e.from) ?? graph.set(e.from, new Set()).get(e.from)!).add(e.to);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]): void => {
      if (state.get(n) === 'done') return;
      if (state.get(n) === 'open') { cycles.push([...path.slice(path.indexOf(n)), n].join(' → ')); return; }
      state.set(n, 'open');
      for (const m of graph.get(n) ?? []) visit(m, [...path, n]);
      state.set(n, 'done');
    };
    for (const n of graph.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });
});

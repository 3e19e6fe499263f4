/**
 * Writes docs/diagnosis.md from the diagnosis lab's captures: `npm run docs:diagnosis` (record.sh runs it).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { analyzeFile } from '../src/analysis/sources/file.js';
import { renderDiagnosisDoc, type LabScenario } from '../src/report/diagnosis-doc.js';
import type { Analysis } from '../src/model/types.js';

// Compiled to dist/scripts/diagnosis-doc.js: the repository root is two levels up.
const root = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const { scenarios } = JSON.parse(readFileSync(root('captures/scenarios/scenarios.json'), 'utf8')) as { scenarios: LabScenario[] };
const analyses = new Map<string, Analysis>();
for (const sc of scenarios) analyses.set(sc.id, await analyzeFile(root(`captures/scenarios/${sc.file}`)));
writeFileSync(root('docs/diagnosis.md'), renderDiagnosisDoc(scenarios, analyses) + '\n');
console.log(`wrote ${root('docs/diagnosis.md')}`);

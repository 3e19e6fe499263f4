/**
 * Writes docs/findings.md from the finding-code catalogue: `npm run docs:findings`.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderFindingsDoc } from '../src/report/findings-doc.js';

// Compiled to dist/scripts/findings-doc.js: the repository root is two levels up.
const target = fileURLToPath(new URL('../../docs/findings.md', import.meta.url));
writeFileSync(target, renderFindingsDoc());
console.log(`wrote ${target}`);

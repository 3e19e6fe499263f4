/**
 * Renders the HTML report of captures/tour.pcapng in headless Chromium and saves the top of the
 * page as docs/report-screenshot.png, the picture in the README. Run by hand after a change to
 * the report's look (not in CI):
 *
 *   npm run build && node dist/scripts/screenshot-html.js [capture] [out.png]
 *
 * Needs Debian's chromium (apt-get install chromium) and the dev dependency playwright-core.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
// Relative to the repository, so the report names the capture as a reader of the README would.
const capture = process.argv[2] ? path.resolve(process.argv[2]) : 'captures/tour.pcapng';
const out = process.argv[3] ?? path.join(root, 'docs/report-screenshot.png');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-shot-'));
try {
  const html = path.join(dir, 'report.html');
  // The report as a user makes it: the real CLI.
  const r = spawnSync(process.execPath, [path.join(root, 'dist/src/cli/main.js'), 'report', capture, '--html', html], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) throw new Error(`ftpscope report --html exited with ${r.status}`);
  const browser = await launchChromium({ width: 1280, height: 1000 });
  try {
    const page = await browser.context.newPage();
    await page.goto(pathToFileURL(html).href);
    // The sessions table, then the start of the first session with its transfers and its ladder.
    const ladder = page.locator('#session-1 svg.ladder');
    const box = await ladder.boundingBox();
    const height = Math.min(1800, Math.ceil((box ? box.y + Math.min(box.height, 420) : 1000) + 16));
    await page.setViewportSize({ width: 1280, height });
    await page.screenshot({ path: out, clip: { x: 0, y: 0, width: 1280, height } });
    console.log(`wrote ${out} (1280x${height})`);
  } finally {
    await browser.close();
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

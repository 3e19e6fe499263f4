/**
 * Debian's Chromium, headless and offline, for the HTML report's test and its screenshot script.
 * playwright-core drives it and downloads no browser of its own. Every launch gets a fresh
 * profile directory (removed on close), and the flags keep Chromium from calling home: no
 * background networking, component updates, sync or QUIC.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = process.env.FTPSCOPE_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(opts: { width?: number; height?: number } = {}): Promise<Browser> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ht-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
      offline: true,
    });
    return {
      context,
      close: async () => {
        try {
          await context.close();
        } finally {
          fs.rmSync(profile, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}

import type { Command } from 'commander';
import { registerReport } from './report.js';
import { registerFlow } from './flow.js';
import { registerExtract } from './extract.js';
import { registerInspect } from './inspect.js';
import { registerCapture } from './capture.js';
import { registerInterfaces } from './interfaces.js';
import { registerProxy } from './proxy.js';
import { registerOpen } from './open.js';

/** Every command, in the order `ftpscope --help` lists them. One file per command. */
export function registerCommands(program: Command): void {
  registerOpen(program);
  registerReport(program);
  registerFlow(program);
  registerInspect(program);
  registerExtract(program);
  registerCapture(program);
  registerInterfaces(program);
  registerProxy(program);
}

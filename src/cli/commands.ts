import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Every command, in the order `ftpscope --help` lists them; one file per command. Each file is
 * imported only when needed: a run of one command loads that command's code alone (loading the
 * proxy, live capture and dashboard for a report cost a tenth of a second and, with the larger
 * heap, a third more garbage-collection time on large captures).
 */
const COMMANDS: readonly (readonly [string, () => Promise<Register>])[] = [
  ['open', async () => (await import('./open.js')).registerOpen],
  ['report', async () => (await import('./report.js')).registerReport],
  ['flow', async () => (await import('./flow.js')).registerFlow],
  ['inspect', async () => (await import('./inspect.js')).registerInspect],
  ['extract', async () => (await import('./extract.js')).registerExtract],
  ['capture', async () => (await import('./capture.js')).registerCapture],
  ['interfaces', async () => (await import('./interfaces.js')).registerInterfaces],
  ['proxy', async () => (await import('./proxy.js')).registerProxy],
];

/**
 * Registers the command named by the first argument when there is one, else all of them (for
 * the general help, the default command `open`, and suggestions after a mistyped name).
 */
export async function registerCommands(program: Command, args: readonly string[] = []): Promise<void> {
  const named = COMMANDS.find(([name]) => name === args[0]);
  for (const [, load] of named ? [named] : COMMANDS) (await load())(program);
}

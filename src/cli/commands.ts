import { existsSync } from 'node:fs';
import type { Command } from 'commander';

/** defaultCommand: whether `ftpscope <args>` without a command name runs this one (open). */
type Register = (program: Command, opts: { defaultCommand: boolean }) => void;

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
  ['packets', async () => (await import('./packets.js')).registerPackets],
  ['inspect', async () => (await import('./inspect.js')).registerInspect],
  ['extract', async () => (await import('./extract.js')).registerExtract],
  ['export', async () => (await import('./export.js')).registerExport],
  ['capture', async () => (await import('./capture.js')).registerCapture],
  ['interfaces', async () => (await import('./interfaces.js')).registerInterfaces],
  ['proxy', async () => (await import('./proxy.js')).registerProxy],
  ['filters', async () => (await import('./filters.js')).registerFilters],
];

/**
 * Registers the command named by the first argument when there is one, else all of them (for
 * the general help, the default command `open`, and suggestions after a mistyped name). When the
 * first argument is a mistyped command, `open` is not the default, so commander reports the
 * unknown command (with its did-you-mean) instead of `open` complaining about its arguments.
 */
export async function registerCommands(program: Command, args: readonly string[] = []): Promise<void> {
  const named = COMMANDS.find(([name]) => name === args[0]);
  const defaultCommand = !isUnknownCommand(args[0]);
  for (const [, load] of named ? [named] : COMMANDS) (await load())(program, { defaultCommand });
}

/**
 * Whether the first argument is meant as a command that does not exist. `ftpscope <capture>` opens
 * a capture, so a first word that names no command is still a capture when it exists or looks like
 * a path (has a / or a .; open then says it is missing). A bare word that is neither ("bogus",
 * "flw") is a mistyped command.
 */
export function isUnknownCommand(first: string | undefined): boolean {
  if (first === undefined || first.startsWith('-') || first === 'help') return false;
  if (COMMANDS.some(([name]) => name === first)) return false;
  if (first.includes('/') || first.includes('.')) return false;
  return !existsSync(first);
}

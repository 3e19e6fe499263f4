#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { isFtpscopeError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerCommands } from './commands.js';

/** Print one line for any error that reaches the top, never a stack (FTPSCOPE_DEBUG=1 shows it). */
export function reportFatal(e: unknown): number {
  if (isFtpscopeError(e)) {
    process.stderr.write(`ftpscope: ${e.describe()}\n`);
    return e.exitCode;
  }
  const msg = e instanceof Error ? e.message : String(e);
  process.stderr.write(`ftpscope: internal error: ${msg} (run with FTPSCOPE_DEBUG=1 for details and please report it)\n`);
  if (process.env.FTPSCOPE_DEBUG && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
  return 1;
}

/**
 * A commander error as one line like the CLI's own: "ftpscope: unknown option '--jsn' (did you
 * mean --json?)". Commander starts it with "error: " and puts its suggestion on a line of its own.
 */
function usageLine(s: string): string {
  let line = s.slice('error: '.length).replace(/\n\(Did you mean (.*)\)/, ' (did you mean $1)').trimEnd();
  if (/^unknown command '[^']*'$/.test(line)) line += ' (see ftpscope --help for the commands; a capture is opened by its path)';
  return `ftpscope: ${line}\n`;
}

/** The CLI; `args` (the arguments after the program name) decide which commands' code is loaded. */
export async function buildProgram(args: readonly string[] = []): Promise<Command> {
  const program = new Command();
  program
    .name('ftpscope')
    .description('See FTP traffic: pair control sessions with their data connections and decode every command and reply,\nfrom pcap/pcapng captures, live capture, or the built-in FTP proxy.')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s.startsWith('error: ') ? usageLine(s) : s) });
  await registerCommands(program, args);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv.slice(2));
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander already printed its one-line message
    }
    return reportFatal(e);
  }
}

/** Standard output closed by its reader (`ftpscope report --help | head`): nothing left to say, and no error. */
function isStdoutEpipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'EPIPE' && (e as NodeJS.ErrnoException).syscall === 'write';
}

process.on('uncaughtException', (e) => { process.exitCode = isStdoutEpipe(e) ? 0 : reportFatal(e); process.exit(); });
process.on('unhandledRejection', (e) => { process.exitCode = reportFatal(e); process.exit(); });

main(process.argv).then((code) => {
  process.exitCode = code;
});

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { onTestFinished } from 'vitest';

/** True when tmux is installed (the end-to-end tests skip without it). */
export function hasTmux(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `done` every 20 ms until it is true; throws saying what did not happen after `ms`. */
export async function until(done: () => boolean, what: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what()}`);
    await sleep(20);
  }
}

/**
 * Whether a process still runs. A zombie counts as gone: the tmux server daemonizes, so its parent
 * is PID 1, which in some containers never reaps it.
 */
export function processAlive(pid: number): boolean {
  try {
    // /proc/<pid>/stat is "pid (comm) state …"; comm may hold spaces ("tmux: server").
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

export interface TmuxDriver {
  /** This server's socket name (tmux -L). */
  readonly socket: string;
  readonly env: NodeJS.ProcessEnv;
  tmux(...args: string[]): string;
  pane(): string;
  waitFor(re: RegExp, what: string, ms?: number): Promise<string>;
  /** Keys by tmux name ("Enter", "Escape", "C-c"), paced so the dashboard reads Escape alone, not as Alt+next key. */
  keys(...k: string[]): Promise<void>;
  /** Literal text. */
  typeText(s: string): Promise<void>;
  /** Kill the server and return once it is really gone (see kill()). Safe to call twice. */
  kill(): Promise<void>;
}

let servers = 0;

/**
 * A private tmux server and one window target in it, driven as a user would. Each call gets a
 * socket of its own (pid, counter and random bytes in its name): a test never meets a server
 * another test is still shutting down, which made `tmux new-session` fail with "server exited
 * unexpectedly". CI runs without a terminal, so tmux gets a TERM of its own (the dashboard sets
 * its terminal type explicitly anyway).
 */
export function tmuxDriver(target: string, prefix = 'ftpscope-test'): TmuxDriver {
  const socket = `${prefix}-${process.pid}-${++servers}-${randomBytes(3).toString('hex')}`;
  const env = { ...process.env, TERM: process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm-256color' };
  const run = (args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
  const serverAnswers = (): boolean => {
    try {
      run(['ls']);
      return true;
    } catch {
      return false;
    }
  };
  // The server's pid and socket, learned as soon as it starts: a server shutting down cannot be asked.
  let server: { pid: number; socketPath: string } | null = null;
  const learnServer = (): void => {
    if (server) return;
    try {
      const [pid, socketPath] = run(['display', '-p', '#{pid} #{socket_path}']).trim().split(' ');
      server = { pid: Number(pid), socketPath };
    } catch { /* no server (yet) */ }
  };
  const tmux = (...args: string[]): string => {
    const out = run(args);
    if (args[0] === 'new-session') learnServer();
    return out;
  };
  const pane = (): string => tmux('capture-pane', '-p', '-t', target);

  async function waitFor(re: RegExp, what: string, ms = 15000): Promise<string> {
    const end = Date.now() + ms;
    let text = '';
    while (Date.now() < end) {
      text = pane();
      if (re.test(text)) return text;
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${what} (${re}); the pane shows:\n${text}`);
  }

  async function keys(...k: string[]): Promise<void> {
    for (const key of k) {
      tmux('send-keys', '-t', target, key);
      // blessed tells a lone Escape from an Alt+key sequence by the gap after it; this gap is that, not a wait for the screen.
      await sleep(60);
    }
  }

  async function typeText(s: string): Promise<void> {
    tmux('send-keys', '-t', target, '-l', s);
    // as a person types: the text and the key after it reach the dashboard as separate reads
    await sleep(100);
  }

  /**
   * `kill-server` returns before the server has exited: it stops answering `ls` at once but keeps
   * its socket for a while. Wait until it does not answer, its process has exited and its socket
   * file is gone (tmux leaves the file behind, so it is removed once nothing listens on it).
   */
  async function kill(): Promise<void> {
    learnServer();
    try { run(['kill-server']); } catch { /* not running */ }
    const known = server;
    server = null;
    await until(() => !serverAnswers() && (!known || !processAlive(known.pid)),
      () => `tmux server ${socket}${known ? ` (pid ${known.pid})` : ''} to exit`);
    if (known) {
      rmSync(known.socketPath, { force: true });
      await until(() => !existsSync(known.socketPath), () => `${known.socketPath} to be removed`);
    }
  }

  return { socket, env, tmux, pane, waitFor, keys, typeText, kill };
}

/** A tmux server for the running test alone, killed (and waited for) when the test finishes. */
export function tmuxForTest(target: string, prefix?: string): TmuxDriver {
  const t = tmuxDriver(target, prefix);
  onTestFinished(() => t.kill());
  return t;
}

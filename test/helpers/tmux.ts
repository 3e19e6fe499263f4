import { execFileSync } from 'node:child_process';

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

/**
 * A private tmux server (its own socket) and one window target in it, driven as a user would:
 * CI runs without a terminal, so tmux gets a TERM of its own (the dashboard sets its terminal
 * type explicitly anyway).
 */
export function tmuxDriver(socket: string, target: string) {
  const env = { ...process.env, TERM: process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm-256color' };
  const tmux = (...args: string[]): string => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', env });
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
  return { env, tmux, pane, waitFor };
}

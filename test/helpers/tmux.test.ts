/**
 * The tmux driver's guarantees the end-to-end tests rely on: every driver has a socket of its own,
 * and kill() returns only once the server has exited and its socket file is gone.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasTmux, processAlive, tmuxDriver } from './tmux.js';

describe.skipIf(!hasTmux())('tmuxDriver', () => {
  it('gives each driver its own socket', () => {
    const names = new Set(Array.from({ length: 20 }, () => tmuxDriver('x').socket));
    expect(names.size).toBe(20);
  });

  it('kill() returns once the server process has exited and its socket is gone', async () => {
    const t = tmuxDriver('k', 'ftpscope-helper-test');
    try {
      t.tmux('new-session', '-d', '-s', 'k', '-x', '40', '-y', '5', 'sleep 60');
      const [pid, socketPath] = t.tmux('display', '-p', '#{pid} #{socket_path}').trim().split(' ');
      expect(processAlive(Number(pid))).toBe(true);
      expect(existsSync(socketPath)).toBe(true);
      await t.kill();
      expect(processAlive(Number(pid))).toBe(false);
      expect(existsSync(socketPath)).toBe(false);
      expect(() => t.tmux('ls')).toThrow();
      // safe to call again, and the name can be used afresh
      await t.kill();
      t.tmux('new-session', '-d', '-s', 'k', 'sleep 60');
      expect(t.tmux('ls')).toMatch(/^k:/);
    } finally {
      await t.kill();
    }
  });

  it('processAlive is false for a process that does not exist', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2 ** 22 + 1)).toBe(false);
  });
});

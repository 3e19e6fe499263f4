import type { Command } from 'commander';
import { listInterfaces, type LiveInterface } from '../capture/live.js';

/** One line per device: name, its addresses, and what it is. */
export function renderInterfaces(list: LiveInterface[]): string {
  if (list.length === 0) return 'no capture interfaces found (are you allowed to capture? try as root)\n';
  const width = Math.max(...list.map((i) => i.name.length));
  return list.map((i) => {
    const addrs = i.addresses.map((a) => a.addr).join(', ') || '-';
    const notes = [i.loopback ? 'loopback' : null, i.description].filter(Boolean).join('; ');
    return `${i.name.padEnd(width)}  ${addrs}${notes ? `  (${notes})` : ''}`;
  }).join('\n') + '\n';
}

export function registerInterfaces(program: Command): void {
  program
    .command('interfaces')
    .description('list the network interfaces live capture can use, with their addresses')
    .option('--json', 'print the list as JSON')
    .action((flags: { json?: boolean }) => {
      const list = listInterfaces();
      process.stdout.write(flags.json ? JSON.stringify(list, null, 2) + '\n' : renderInterfaces(list));
    });
}

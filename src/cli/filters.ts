import type { Command } from 'commander';
import { filterFieldHelp } from '../report/filter/index.js';

const SYNTAX = `Display filters (-Y in report, flow and extract; / in the dashboard) use Wireshark's syntax:
  comparisons   == != < <= > >=   (or eq ne lt le gt ge)        ftp.response.code >= 400
  text          contains, matches (a case-insensitive regex)   ftp.request.arg matches "\\\\.iso$"
  sets          in {a, b, lo..hi}                               tcp.port in {20, 21, 50000..50100}
  bits          field & mask                                    tcp.flags & 0x02
  logic         && || !  (or and or not), parentheses           ftp && !(tcp.port == 21)
  existence     a field alone                                   ftpscope.transfer
  addresses     IPv4/IPv6, with a /prefix for networks           ip.addr == 10.0.0.0/8
A field that occurs several times matches when any occurrence does; != holds when none is equal.
report, flow and extract keep the sessions that match (a session's fields are those of its control
connection, every command and reply, and each data connection); a filter that names ftp-data.* or
ftpscope.transfer.* fields keeps only the matching data connections.

Fields:
`;

export function registerFilters(program: Command): void {
  program
    .command('filters')
    .description('list the display-filter syntax and fields (-Y, and / in the dashboard)')
    .action(() => {
      process.stdout.write(SYNTAX + filterFieldHelp() + '\n');
    });
}

import { readdirSync } from 'node:fs';
import { analyzeFile } from '../../src/analysis/sources/file.js';
import type { PipelineOptions } from '../../src/analysis/pipeline.js';
import type { Analysis } from '../../src/model/types.js';

/** The bundled public captures (copied from zeek and suricata-verify with their expected outputs). */
export const PUB = 'captures/public';
export const ZEEK_EXPECTED = `${PUB}/zeek/expected`;

export const PUBLIC_CAPTURES = [
  'zeek/ipv4.pcap', 'zeek/ipv6.pcap', 'zeek/retr.pcap', 'zeek/ftp-auth-tls.pcap', 'zeek/ipv6-multiline-reply.pcap',
  'zeek/bigtransfer.pcap', 'suricata-verify/bug-4877/input.pcap', 'suricata-verify/bug-3519/input.pcap',
  'suricata-verify/ftp/ftp-download-active/input.pcap', 'suricata-verify/ftp/ftp-download-passive/input.pcap',
  // Added for issue 14: servers and peers that are odd.
  'zeek/fake-server-delays-all.pcap', 'zeek/ftp-missing-reply-code.pcap', 'zeek/ftp-invalid-reply-code.pcap',
  'zeek/ftp-many-port-expected.pcap.gz', 'suricata-verify/bug-8489-03/bug-8489-03.pcap', 'suricata-verify/irc/input.pcap',
] as const;

/** Captures recorded for issue 14 (captures/engine), named relative to PUB like the others. */
export const ENGINE_CAPTURES: string[] = readdirSync('captures/engine')
  .filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f))
  .sort()
  .map((f) => `../engine/${f}`);

/** The project's own recordings (captures/record.sh), named relative to PUB like the public ones. */
export const RECORDED_CAPTURES: string[] = readdirSync('captures')
  .filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f))
  .sort()
  .map((f) => `../${f}`);

/** Everything bundled: the views are checked on all of it. */
export const ALL_CAPTURES: string[] = [...PUBLIC_CAPTURES, ...RECORDED_CAPTURES, ...ENGINE_CAPTURES];

const cache = new Map<string, Promise<Analysis>>();

/** Analyze a bundled capture once per test file (the analysis is not mutated by the views). */
export function analyzed(capture: string, opts?: PipelineOptions): Promise<Analysis> {
  if (opts) return analyzeFile(`${PUB}/${capture}`, opts);
  let p = cache.get(capture);
  if (!p) {
    p = analyzeFile(`${PUB}/${capture}`);
    cache.set(capture, p);
  }
  return p;
}

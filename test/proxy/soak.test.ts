/**
 * The soak-and-abuse test (issue 20), bounded for CI: the real CLI in forward mode with
 * --tls-terminate, curl, lftp and basic-ftp (FTPS) transferring through it while every abuse
 * runs at the same time from addresses of its own: AUTH TLS and close, TLS handshakes left
 * hanging, invalid-line floods, NOOP floods, an idle horde, a connection flood, and sessions to
 * a hostile upstream. Asserts: every legitimate transfer has the right sha256; the proxy's
 * descriptors and RSS come back within a fixed margin of where they were after a warm-up; no
 * session slot is left counted (every slot can be taken again); the log is coalesced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cliMain, freeSlots, procStats, runLoad, spawnProxy, startPeers, type Peers, type ProxyProcess } from '../../bench/abuse.js';
import { hasBinary, settle, tmpDir } from './peers.js';

const ready = fs.existsSync('/usr/sbin/vsftpd') && hasBinary('curl') && hasBinary('lftp') && hasBinary('openssl') && fs.existsSync(cliMain());
const d = ready ? describe : describe.skip;

/** Margins, not timings: generous enough for a loaded 2-CPU machine, far below what the defects cost (hundreds of MB). */
const RSS_MARGIN_KB = 48 * 1024;
const FD_MARGIN = 8;
const MAX_SESSIONS = 80;

d('soak and abuse through the real CLI', () => {
  let work: string;
  let peers: Peers | null = null;
  let proxy: ProxyProcess | null = null;
  afterAll(async () => {
    await proxy?.stop();
    await peers?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  it('legitimate transfers all complete while the abuse runs; descriptors, RSS and slots come back', async () => {
    work = tmpDir('pxy-soak-');
    peers = await startPeers(work);
    const log = path.join(work, 'events.ndjson');
    proxy = await spawnProxy(peers, [
      '--max-sessions', String(MAX_SESSIONS), '--max-sessions-per-address', '8', '--max-connect-rate', '3000',
      // Short enough that the idle horde and the stalled handshakes cycle during the run, long enough for
      // legitimate clients on a loaded machine.
      '--login-timeout', '10', '--tls-handshake-timeout', '5', '--greeting-timeout', '5', '--history', '50', '-q',
    ], log);
    const pid = proxy.pid;

    // Warm-up: every path once (JIT, buffers, TLS contexts). The RSS baseline is the highest seen
    // during it (the heap's working size under this load, GC swings included); the descriptor
    // baseline is taken once it is quiet again.
    let warmRss = 0;
    const sampler = setInterval(() => { warmRss = Math.max(warmRss, procStats(pid).rssKb); }, 250);
    const warm = await runLoad({ proxyPort: proxy.port, peers, durationMs: 8000 });
    clearInterval(sampler);
    expect(warm.failed).toEqual([]);
    let base = procStats(pid);
    await settle(() => { const now = procStats(pid); const same = now.fds === base.fds; base = now; return same; }, 15_000);
    base = { ...base, rssKb: Math.max(base.rssKb, warmRss) };

    const load = await runLoad({ proxyPort: proxy.port, peers, durationMs: 40_000 });
    expect(load.failed).toEqual([]);
    expect(load.ok.curl).toBeGreaterThan(5);
    expect(load.ok.lftp).toBeGreaterThan(5);
    expect(load.ok['basic-ftp']).toBeGreaterThan(5);
    for (const [kind, rounds] of Object.entries(load.abuse)) expect(rounds, kind).toBeGreaterThan(0);

    // Back to the baseline: descriptors (what a leaked session holds) and memory.
    expect(await settle(() => procStats(pid).fds <= base.fds + FD_MARGIN, 20_000), `fds ${procStats(pid).fds} vs ${base.fds}`).toBe(true);
    // Memory: back within the margin once the load has stopped (the GC may take a moment to give pages back).
    await settle(() => procStats(pid).rssKb < base.rssKb + RSS_MARGIN_KB, 10_000);
    const after = procStats(pid);
    if (process.env.FTPSCOPE_SOAK_VERBOSE) {
      process.stderr.write(`soak: ok ${JSON.stringify(load.ok)} abuse ${JSON.stringify(load.abuse)} base ${JSON.stringify(base)} after ${JSON.stringify(after)}\n`);
    }
    expect(after.rssKb, `RSS ${after.rssKb} KB after, ${base.rssKb} KB after the warm-up`).toBeLessThan(base.rssKb + RSS_MARGIN_KB);

    // No slot left counted: all of --max-sessions can be taken again, from addresses the limits have not seen.
    const fresh = Array.from({ length: 10 }, (_, i) => `127.0.0.${20 + i}`);
    const slots = await freeSlots(proxy.port, fresh, MAX_SESSIONS);
    expect(slots.greeted, slots.replies.filter((r) => !r.startsWith('220')).slice(0, 3).join(' | ')).toBe(MAX_SESSIONS);

    const stopped = await proxy.stop();
    proxy = null;
    expect(stopped.code).toBe(0);
    // The log: findings coalesced per session and code (the first, then a count), refusals per code.
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; session: number | null; finding?: { code: string } });
    const perKey = new Map<string, number>();
    for (const l of lines) if (l.type === 'finding') perKey.set(`${l.session} ${l.finding!.code}`, (perKey.get(`${l.session} ${l.finding!.code}`) ?? 0) + 1);
    const worst = [...perKey.entries()].sort((a, b) => b[1] - a[1])[0]!;
    expect(worst[1], `${worst[0]} logged ${worst[1]} times`).toBeLessThanOrEqual(4);
    const codes = new Set(lines.filter((l) => l.type === 'finding').map((l) => l.finding!.code));
    for (const c of ['proxy-invalid-commands', 'proxy-command-flood', 'proxy-address-limit', 'proxy-rate-limited', 'proxy-login-timeout',
      'proxy-tls-failed', 'proxy-upstream-greeting', 'proxy-bad-passive-reply', 'proxy-upstream-data-refused']) {
      expect(codes, c).toContain(c);
    }
  }, 170_000);
});

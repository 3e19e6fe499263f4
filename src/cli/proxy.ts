import * as fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { FtpscopeError } from '../errors.js';
import { startProxy, PROXY_DEFAULTS, type ProxyOptions, type RunningProxy } from '../proxy/server.js';
import { parseHostPortOption, formatHostPort, type DataMode } from '../proxy/rewrite.js';
import { parsePortRange } from '../proxy/ports.js';
import type { ProxyMode } from '../proxy/session-machine.js';
import { SYNTHESIZED_COMMENT, type RecordOverflow } from '../proxy/recorder.js';
import { PcapngWriter } from '../capture/pcapng-writer.js';
import { eventToJson } from '../report/json.js';
import { transferStatusLine } from '../report/format.js';
import type { Analysis, AnalysisEvent } from '../model/types.js';
import { ProxyLog } from './proxy-log.js';

interface ProxyCliOptions {
  listen: string;
  upstream?: string;
  mode?: ProxyMode;
  allow: string[];
  allowResolved: string[];
  dataMode: DataMode;
  pasvPorts?: string;
  pasvAddress?: string;
  maxSessions: number;
  maxSessionsPerAddress: number;
  maxConnectRate: number;
  loginTimeout: number;
  maxInvalidCommands: number;
  tlsHandshakeTimeout: number;
  greetingTimeout: number;
  allowLowDataPorts?: boolean;
  history: number;
  hash: boolean;
  maxLine: number;
  idleTimeout: number;
  tlsTerminate?: boolean;
  cert?: string;
  key?: string;
  tlsVerifyUpstream?: boolean;
  log?: string;
  record?: string;
  recordOverflow: RecordOverflow;
  recordServerPayload?: boolean;
  tui?: boolean;
  showPasswords?: boolean;
  quiet?: boolean;
}

function positive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError(`'${value}' is not a positive integer.`);
  return n;
}

/** 0 turns a limit off. */
function nonNegative(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`'${value}' is not a whole number (0 turns the limit off).`);
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerProxy(program: Command): void {
  program
    .command('proxy')
    .description('Run an FTP proxy (reverse, forward or transparent) and analyze every session live.\n' +
      'All data connections flow through it; PASV/EPSV/PORT/EPRT are rewritten; bounces are refused.')
    .option('-l, --listen <host:port>', 'address to listen on (:PORT for every address)', '127.0.0.1:2121')
    .option('-u, --upstream <host:port>', 'reverse mode: the FTP server to relay to')
    .addOption(new Option('-m, --mode <mode>', 'reverse (default with --upstream), forward (USER name@host[:port]) or transparent (behind an nftables/iptables REDIRECT)')
      .choices(['reverse', 'forward', 'transparent']))
    .option('--allow <rule>', 'forward mode: allowed destination, repeatable, default deny: a host pattern (*.example.org) matched against the name typed, or an address/CIDR matched against where it resolves; port 21 only unless given (host:2121, *.example.org:21,990, 10.0.0.0/8:*, [2001:db8::/32]:21)', collect, [])
    .option('--allow-resolved <cidr>', 'forward mode: where names allowed by a pattern may resolve (repeatable); without it, public addresses only (never loopback, private or link-local)', collect, [])
    .addOption(new Option('--data-mode <mode>', 'server-facing data connections: client (mirror the client), passive or active')
      .choices(['client', 'passive', 'active']).default('client'))
    .option('--pasv-ports <from-to>', 'port range for the passive listeners offered to clients')
    .option('--pasv-address <ipv4>', 'address announced in 227 replies (behind NAT)')
    .option('--max-sessions <n>', 'concurrent sessions; more get 421', positive, PROXY_DEFAULTS.maxSessions)
    .option('--max-sessions-per-address <n>', 'concurrent sessions per client address (IPv6: per /64); more get 421; 0 = no limit', nonNegative, PROXY_DEFAULTS.maxSessionsPerAddress)
    .option('--max-connect-rate <n>', 'new connections per client address per minute; more get 421; 0 = no limit', nonNegative, PROXY_DEFAULTS.connectRatePerMinute)
    .option('--login-timeout <seconds>', 'a client must be logged in (230) this long after connecting, or gets 421; 0 = no limit', nonNegative, PROXY_DEFAULTS.loginTimeoutSec)
    .option('--max-invalid-commands <n>', 'lines that are not FTP commands (or that the server answers 500) before 421 and close; 0 = no limit', nonNegative, PROXY_DEFAULTS.maxInvalidCommands)
    .option('--tls-handshake-timeout <seconds>', 'every TLS handshake (control and data, either side) must finish within this', positive, PROXY_DEFAULTS.tlsHandshakeTimeoutSec)
    .option('--greeting-timeout <seconds>', 'the server must greet within this, or the client gets 421', positive, PROXY_DEFAULTS.greetingTimeoutSec)
    .option('--allow-low-data-ports', 'connect to passive data ports below 1024 that servers announce (refused by default: a bounce)')
    .option('--history <n>', 'finished sessions kept in memory for the dashboard and the exit summary (the latest)', nonNegative, PROXY_DEFAULTS.historySessions)
    .option('--no-hash', 'do not compute the sha256 of data connections (still counted, paired and logged; sha256 null): for bulk relays that do not need them')
    .option('--max-line <bytes>', 'longest control line accepted', positive, PROXY_DEFAULTS.maxLineLength)
    .option('--idle-timeout <seconds>', 'close control connections idle this long (data activity counts)', positive, PROXY_DEFAULTS.idleTimeoutSec)
    .option('--tls-terminate', 'terminate AUTH TLS on both sides so the session is decoded (needs --cert and --key)')
    .option('--cert <file>', 'PEM certificate presented to clients with --tls-terminate')
    .option('--key <file>', 'PEM private key for --cert')
    .option('--tls-verify-upstream', "verify the server's certificate with --tls-terminate (off by default: FTP servers often self-sign)")
    .option('--log <file>', 'write NDJSON events (commands, replies, data connections, findings) to this file')
    .option('--record <file.pcapng>', 'write every leg as a pcapng with synthesized headers (tshark and ftpscope open it), each relayed data byte once (see --record-server-payload); it is evidence, so it keeps the real bytes, passwords included')
    .addOption(new Option('--record-overflow <policy>', 'when the disk cannot keep up with --record: backpressure (the relay waits; nothing is lost) or drop (packets are left out, counted and reported)')
      .choices(['backpressure', 'drop']).default('backpressure'))
    .option('--record-server-payload', "with --record, keep the payload of server-facing data legs too (by default their segments are cut to their headers: the relay copies data unchanged, so it is the client-facing legs' payload, and writing it twice halves what the disk allows)")
    .option('--tui', 'show sessions live in the dashboard')
    .option('--show-passwords', 'show PASS, ACCT and ADAT arguments in the log and the dashboard (--record always keeps them)')
    .option('-q, --quiet', 'no summary on exit')
    .action(async (o: ProxyCliOptions) => {
      await runProxy(o);
    });
}

function buildOptions(o: ProxyCliOptions): ProxyOptions {
  const listen = parseHostPortOption(o.listen, '127.0.0.1');
  if (!listen) throw new FtpscopeError('usage', `--listen ${o.listen}: expected HOST:PORT, [IPv6]:PORT, :PORT or PORT`);
  // ":2121" means every address (IPv4 and IPv6).
  if (listen.ip === '') listen.ip = '::';
  const upstream = o.upstream ? parseHostPortOption(o.upstream, '') : null;
  if (o.upstream && (!upstream || upstream.ip === '')) {
    throw new FtpscopeError('usage', `--upstream ${o.upstream}: expected HOST:PORT or [IPv6]:PORT`);
  }
  const mode: ProxyMode = o.mode ?? (upstream ? 'reverse' : 'forward');
  if (mode === 'reverse' && !upstream) throw new FtpscopeError('usage', 'reverse mode needs --upstream HOST:PORT', 'or choose --mode forward / transparent');
  if (mode !== 'reverse' && upstream) throw new FtpscopeError('usage', `--upstream is for reverse mode, not ${mode} mode`);
  if (mode === 'forward' && o.allow.length === 0 && !o.quiet) {
    process.stderr.write('ftpscope: forward mode with no --allow: every destination will be refused (add --allow HOST|CIDR)\n');
  }
  const pasvPorts = o.pasvPorts ? parsePortRange(o.pasvPorts) : null;
  if (o.pasvPorts && !pasvPorts) throw new FtpscopeError('usage', `--pasv-ports ${o.pasvPorts}: expected FROM-TO, e.g. 50000-50100`);
  let tls: ProxyOptions['tls'] = null;
  if (o.tlsTerminate) {
    if (!o.cert || !o.key) throw new FtpscopeError('usage', '--tls-terminate needs --cert FILE and --key FILE',
      'make a self-signed pair: openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -subj /CN=proxy');
    tls = { certFile: o.cert, keyFile: o.key, verifyUpstream: o.tlsVerifyUpstream };
  } else if (o.cert || o.key) {
    throw new FtpscopeError('usage', '--cert/--key are used only with --tls-terminate');
  }
  if (mode !== 'forward' && o.allowResolved.length > 0) throw new FtpscopeError('usage', '--allow-resolved is for forward mode');
  return {
    mode, listen, upstream, allow: o.allow, allowResolved: o.allowResolved, dataMode: o.dataMode, pasvPorts, pasvAddress: o.pasvAddress ?? null,
    maxSessions: o.maxSessions, maxSessionsPerAddress: o.maxSessionsPerAddress, connectRatePerMinute: o.maxConnectRate,
    loginTimeoutSec: o.loginTimeout, maxInvalidCommands: o.maxInvalidCommands, tlsHandshakeTimeoutSec: o.tlsHandshakeTimeout,
    greetingTimeoutSec: o.greetingTimeout, allowLowDataPorts: o.allowLowDataPorts === true, historySessions: o.history, hash: o.hash,
    maxLineLength: o.maxLine, idleTimeoutSec: o.idleTimeout, tls,
    // The dashboard lists each session's packets (synthesized, the latest kept in memory).
    keepPackets: o.tui === true,
    recordServerPayload: o.recordServerPayload === true,
  };
}

async function runProxy(o: ProxyCliOptions): Promise<void> {
  const opts = buildOptions(o);
  let log: fs.WriteStream | null = null;
  if (o.log) {
    try {
      fs.writeFileSync(o.log, '');
    } catch (e) {
      throw new FtpscopeError('output-unwritable', `cannot write --log ${o.log}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'choose a path in a writable directory');
    }
    log = fs.createWriteStream(o.log, { flags: 'a' });
    log.on('error', (e) => process.stderr.write(`ftpscope: --log ${o.log}: ${e.message}; logging stopped\n`));
  }
  const showPasswords = o.showPasswords ?? false;
  const file = log;
  const events = file ? new ProxyLog({
    write: (line) => { if (file.writable) file.write(line); },
    get queued() { return file.writableLength; },
  }, {
    showPasswords, intervalSec: PROXY_DEFAULTS.findingSummaryIntervalSec,
    onFirstDrop: () => process.stderr.write(`ftpscope: --log ${o.log} is not keeping up; lines are dropped and counted (the count is in the exit summary)\n`),
  }) : null;
  const ticker = events ? setInterval(() => events.tick(), PROXY_DEFAULTS.findingSummaryIntervalSec * 1000) : null;
  ticker?.unref();
  opts.onEvent = (ev: AnalysisEvent) => events?.event(ev);
  let writer: PcapngWriter | null = null;
  if (o.record) {
    // Flushed at least every second: a proxy that is killed loses at most the last second of its recording.
    writer = new PcapngWriter(o.record, { comment: SYNTHESIZED_COMMENT, overflow: o.recordOverflow === 'drop' ? 'drop' : 'wait', flushIntervalMs: 1000 });
    opts.recordTo = writer;
  }
  const proxy = await startProxy(opts);
  const where = formatHostPort(proxy.address());
  const target = opts.mode === 'reverse' ? ` → ${formatHostPort(opts.upstream!)}` : opts.mode === 'forward' ? ' (forward: USER name@host[:port])' : ' (transparent)';

  let stopping: Promise<Analysis> | null = null;
  const stop = (): Promise<Analysis> => {
    stopping ??= (async () => {
      const a = await proxy.close();
      if (ticker) clearInterval(ticker);
      events?.close();
      if (log) await new Promise<void>((r) => log!.end(() => r()));
      return a;
    })();
    return stopping;
  };

  if (o.tui) {
    const { runLiveDashboard } = await import('../tui/app.js');
    await runLiveDashboard({
      title: `proxy ${where}${target}`, snapshot: () => proxy.snapshot(), stop: async () => { await stop(); },
      readFrame: (frame) => proxy.readFrame(frame),
      waiting: `waiting for the first FTP session on ${where}${opts.mode === 'transparent' ? ' (connections redirected to it)' : ''}`,
      notice: () => recordNotice(proxy),
    }, { showPasswords });
    const a = await stop();
    if (!o.quiet) process.stdout.write(renderSummary(a, proxy, events?.dropped ?? 0));
    return;
  }

  if (!o.quiet) process.stderr.write(`ftpscope: proxy listening on ${where}${target}; Ctrl-C to stop\n`);
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const a = await stop();
  if (!o.quiet) process.stdout.write(renderSummary(a, proxy, events?.dropped ?? 0));
}

/** The dashboard's status line while --record is leaving packets out. */
function recordNotice(proxy: RunningProxy): string | null {
  const r = proxy.recording();
  return r && r.dropped > 0 ? `! --record has left out ${r.dropped} packets: the disk cannot keep up (--record-overflow drop)` : null;
}

/**
 * The exit summary: one line per session still in memory (the open ones and the latest
 * --history finished ones), their transfers, and totals since the proxy started.
 */
export function renderSummary(a: Analysis, proxy?: RunningProxy, logDropped = 0): string {
  const out: string[] = [];
  let transfers = 0;
  let bytes = 0;
  let findings = a.findings.length;
  for (const s of a.sessions) {
    const dcs = s.dataConnections;
    const sBytes = dcs.reduce((n, dc) => n + dc.bytes, 0);
    transfers += dcs.filter((dc) => dc.direction === 'download' || dc.direction === 'upload').length;
    bytes += sBytes;
    findings += s.findings.length;
    const o = s.originalServer;
    const to = o ? `  → ${o.name ? `${o.name} ` : ''}${formatHostPort(o)}` : '';
    out.push(`session ${s.id}  ${formatHostPort(s.client)}${to}  user ${s.user ?? '-'}${s.tls ? '  tls' : ''}  ` +
      `${s.commands.length} commands, ${dcs.length} data connections, ${sBytes} bytes, ${s.findings.length} findings`);
    for (const dc of dcs) {
      if (dc.direction !== 'download' && dc.direction !== 'upload') continue;
      out.push(`  ${dc.direction.padEnd(8)} ${dc.path ?? dc.command?.arg ?? '?'}  ${dc.bytes} bytes  ${dc.complete ? 'complete' : transferStatusLine(dc)}` +
        (dc.sha256 ? `  sha256 ${dc.sha256}` : ''));
    }
    for (const f of s.findings) if (f.severity !== 'info') out.push(`  ${f.severity}: ${f.code}${(f.count ?? 1) > 1 ? ` ×${f.count}` : ''}: ${f.message}`);
  }
  const t = proxy?.totals();
  if (t && t.forgotten > 0) {
    // Older sessions left memory (--history): the totals count them all.
    out.push(`${t.sessions} sessions (the latest ${a.sessions.length} listed), ${t.transfers} transfers, ${t.dataBytes} data bytes, ${t.findings} findings`);
  } else {
    out.push(`${a.sessions.length} sessions, ${transfers} transfers, ${bytes} data bytes, ${findings} findings`);
  }
  if (t && t.refused > 0) out.push(`${t.refused} connections refused by the limits (see the proxy-* findings)`);
  if (logDropped > 0) out.push(`${logDropped} log lines dropped: the --log file did not keep up`);
  const r = proxy?.recording();
  if (r) out.push(`recording: ${r.frames - r.dropped} packets written${r.dropped > 0 ? `, ${r.dropped} LEFT OUT (the disk could not keep up; the file has gaps and says so)` : ', none left out'}`);
  return out.join('\n') + '\n';
}

/**
 * The proxy's control-session state machine (mitmproxy style): it takes events (bytes from
 * either side, data legs listening/established/done, upstream connected) and returns commands
 * for the I/O layer to carry out. No sockets, no timers.
 *
 * Ordering: every client command gets an output slot in arrival order. Server replies fill the
 * slot of the command they answer, local replies (bounce refusals, rewritten 227s) fill their
 * own slot, and the client sees slots strictly in order. A transfer's final reply (226/426) is
 * held in its slot until the relayed data connection has fully closed.
 */
import { LineSplitter, type SplitLine } from '../ftp/lines.js';
import { ReplyParser, type ParsedReply } from '../ftp/replies.js';
import { parseCommand } from '../ftp/commands.js';
import { finding, type Finding } from '../model/findings.js';
import type { FindingCode } from '../model/finding-codes.js';
import {
  ACTIVE_VERBS, PASSIVE_VERBS, activeOkReply, checkActiveTarget, formatClientPassiveReply,
  formatHostPort, formatServerActiveCommand, parseActiveTarget, parseForwardUser, parsePassiveReply,
  normalizeIp, passiveReplyCode, serverPassiveVerb, serverSideIsPassive,
  type ActiveVerb, type DataMode, type ForwardUser, type HostPort, type PassiveVerb, type SetupVerb,
} from './rewrite.js';

export type ProxyMode = 'reverse' | 'forward' | 'transparent';

export interface MachineOptions {
  mode: ProxyMode;
  dataMode: DataMode;
  tlsTerminate: boolean;
  /** The client's address on the control connection (bounce checks). */
  clientIp: string;
  maxLineLength: number;
  /** Client commands queued while the machine waits (listener setup, upstream connect). */
  maxQueuedLines: number;
  /** Commands sent upstream and not yet answered. */
  maxPendingCommands: number;
  /** --pasv-address: the IPv4 address 227 replies announce instead of the listener's. */
  pasvAddress?: string | null;
  /**
   * Lines that are not FTP commands (and commands the server answers 500) a session may send
   * before it gets 421 and is closed (--max-invalid-commands); 0 for no limit.
   */
  maxInvalidCommands?: number;
  /** Bytes of client lines queued while the machine waits (with maxQueuedLines). */
  maxQueuedBytes?: number;
  /** Connect to a passive data port below 1024 that the server announces (--allow-low-data-ports). */
  allowLowDataPorts?: boolean;
}

/**
 * What a server's greeting may be: a hostile upstream must not be able to pour garbage into the
 * client (or the proxy's memory) before it has even said it is an FTP server.
 */
export const GREETING_MAX_BYTES = 16 * 1024;
export const GREETING_MAX_LINES = 100;
/** A reply longer than this (a STAT listing can be long) is cut; the rest of it is not relayed. */
const REPLY_MAX_LINES = 1000;
const REPLY_MAX_BYTES = 1 << 20;
const DEFAULT_MAX_QUEUED_BYTES = 64 * 1024;

export type LegPlan = { listen: true } | { connect: HostPort };

export type MachineCommand =
  | { type: 'to-client'; data: Buffer }
  /** A client line as received, for the analysis. */
  | { type: 'observe-client'; data: Buffer }
  | { type: 'to-server'; data: Buffer }
  | { type: 'connect-upstream'; dest: ForwardUser }
  | { type: 'data-open'; id: number; client: LegPlan; server: LegPlan; tls: boolean }
  | { type: 'data-cancel'; id: number }
  | { type: 'tls-server' }
  | { type: 'tls-client' }
  | { type: 'passthrough' }
  | { type: 'finding'; finding: Finding }
  | { type: 'close'; reason: string };

export type DataStatus = 'setting-up' | 'established' | 'done';

interface Slot {
  chunks: Buffer[];
  done: boolean;
  /** A final reply waiting for its data connection to close. */
  held: Buffer | null;
  heldDataId: number | null;
}

type Purpose =
  | { kind: 'relay' }
  | { kind: 'greeting' }
  | { kind: 'passive-setup'; dataId: number; clientVerb: SetupVerb; serverVerb: PassiveVerb; clientTarget: HostPort | null }
  | { kind: 'active-setup'; dataId: number; clientVerb: SetupVerb }
  | { kind: 'transfer'; dataId: number | null; prelim: boolean }
  | { kind: 'auth' }
  | { kind: 'forward-auth' }
  | { kind: 'prot'; level: string }
  | { kind: 'epsv-all' };

interface Pending {
  slot: Slot;
  verb: string;
  purpose: Purpose;
}

interface DataSetup {
  id: number;
  clientVerb: SetupVerb;
  clientListen: HostPort | null;
  serverListen: HostPort | null;
  needClientListen: boolean;
  needServerListen: boolean;
  slot: Slot;
  status: DataStatus;
  /** For server-active setups: PORT sent once listeners exist. */
  sendServerActive: boolean;
  /** For client-passive: what the client gets once its listener exists. */
  replyVerb: PassiveVerb | null;
  /** The data is through and the grace period for the close is over: final replies pass at once. */
  drained: boolean;
}

const CRLF = Buffer.from('\r\n');
const TELNET_IP_DM = Buffer.from([0xff, 0xf4, 0xff, 0xf2]);
const TRANSFER = new Set(['RETR', 'STOR', 'STOU', 'APPE', 'LIST', 'NLST', 'MLSD']);
const AUTH_ARGS = new Set(['TLS', 'SSL', 'TLS-C', 'TLS-P']);

export class SessionMachine {
  private readonly clientLines: LineSplitter;
  private readonly serverLines: LineSplitter;
  private readonly replies = new ReplyParser({ maxLinesPerReply: 1000 });
  private slots: Slot[] = [];
  private pending: Pending[] = [];
  private queuedLines: SplitLine[] = [];
  private out: MachineCommand[] = [];
  private phase: 'await-user' | 'connecting' | 'greeting' | 'ready' | 'opaque' | 'closed';
  private blockedOn: 'listener' | 'upstream' | 'tls' | null = null;
  private data = new Map<number, DataSetup>();
  private currentData: number | null = null;
  private nextDataId = 1;
  private epsvAll = false;
  private protPrivate = false;
  private forwardDest: ForwardUser | null = null;
  private clientTls = false;
  private serverTls = false;
  private invalidCommands = 0;
  private queuedBytes = 0;
  private greetingBytes = 0;
  private greetingLines = 0;
  private loggedInFlag = false;
  /** Relays that failed, by data id, until the transfer's final reply has been seen (a few at most). */
  private failedData = new Map<number, string>();
  private replyRawBytes = 0;
  private replyCut = false;

  constructor(private readonly opts: MachineOptions) {
    this.clientLines = new LineSplitter({ maxLineLength: opts.maxLineLength });
    this.serverLines = new LineSplitter({ maxLineLength: opts.maxLineLength });
    if (opts.mode === 'forward') {
      this.phase = 'await-user';
      this.localSlot('220 ftpscope proxy ready; log in as USER name@host[:port].\r\n');
    } else {
      this.phase = 'connecting';
      this.blockedOn = 'upstream';
      this.pending.push({ slot: this.newSlot(), verb: '', purpose: { kind: 'greeting' } });
    }
  }

  get closed(): boolean { return this.phase === 'closed'; }
  get isOpaque(): boolean { return this.phase === 'opaque'; }
  get tls(): { client: boolean; server: boolean; dataPrivate: boolean } {
    return { client: this.clientTls, server: this.serverTls, dataPrivate: this.protPrivate };
  }
  get destination(): ForwardUser | null { return this.forwardDest; }
  /** A 230 (or 232) answered USER, PASS or ACCT: the pre-login timer can stop. */
  get loggedIn(): boolean { return this.loggedInFlag; }
  /** A command the client sent still waits for the server's answer (the 221 to a QUIT, say). */
  get waitingForServer(): boolean { return this.pending.some((p) => p.purpose.kind !== 'greeting') || this.queuedLines.length > 0; }
  /** Connecting to the server or waiting for its greeting (the greeting timer runs). */
  get awaitingUpstream(): boolean { return this.phase === 'connecting' || this.phase === 'greeting'; }

  /** Take the commands produced so far. */
  drain(): MachineCommand[] {
    const o = this.out;
    this.out = [];
    return o;
  }

  // ---------------------------------------------------------------- events

  clientBytes(chunk: Buffer): MachineCommand[] {
    if (this.phase === 'closed') return this.drain();
    for (const line of this.clientLines.push(chunk)) {
      // Once closed, the rest of a pipelined flood is neither analysed nor answered: one finding, one 421.
      if (this.closed) break;
      this.out.push({ type: 'observe-client', data: line.raw! });
      if (this.blockedOn !== null) {
        if (this.queuedLines.length >= this.opts.maxQueuedLines ||
            this.queuedBytes + line.raw!.length > (this.opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED_BYTES)) {
          this.fatal('421 Too many commands queued; closing.\r\n', 'proxy-command-flood', 'the client sent too many commands without waiting for replies');
          break;
        }
        this.queuedLines.push(line);
        this.queuedBytes += line.raw!.length;
      } else {
        this.clientLine(line);
      }
    }
    return this.drain();
  }

  serverBytes(chunk: Buffer): MachineCommand[] {
    if (this.phase === 'closed') return this.drain();
    if (this.phase === 'greeting') this.greetingBytes += chunk.length;
    for (const line of this.serverLines.push(chunk)) {
      if (this.phase === 'greeting' && this.greetingLines++ >= GREETING_MAX_LINES) {
        this.badGreeting(`a greeting of more than ${GREETING_MAX_LINES} lines`);
        break;
      }
      const r = this.replies.pushLine(line.text);
      const lineRaw = line.overlong ? Buffer.concat([line.raw!, CRLF]) : line.raw!;
      if (this.replyRaw.length < REPLY_MAX_LINES && this.replyRawBytes + lineRaw.length <= REPLY_MAX_BYTES) {
        this.replyRaw.push(lineRaw);
        this.replyRawBytes += lineRaw.length;
      } else if (!this.replyCut) {
        this.replyCut = true;
        this.emitFinding('warning', 'proxy-malformed-reply', `server sent a reply of more than ${REPLY_MAX_LINES} lines or ${REPLY_MAX_BYTES} bytes; the rest of it was not relayed`);
      }
      if (r === null) continue;
      const raw = Buffer.concat(this.replyRaw);
      this.replyRaw = [];
      this.replyRawBytes = 0;
      this.replyCut = false;
      if ('malformed' in r && this.phase === 'greeting') {
        this.badGreeting(`a greeting that is not an FTP reply: ${clip(r.malformed)}`);
        break;
      }
      if ('malformed' in r) {
        this.emitFinding('warning', 'proxy-malformed-reply', `server sent a line that is not an FTP reply: ${clip(r.malformed)}`);
        // Relayed anyway (in order, with whatever reply comes next): the client decides what it means.
        const head = this.pending[0];
        if (head) { head.slot.chunks.push(raw); this.flush(); } else this.fill(this.newSlot(), raw);
        continue;
      }
      this.serverReply(r, raw);
      if (this.closed) break;
    }
    if (this.phase === 'greeting' && this.greetingBytes > GREETING_MAX_BYTES) {
      this.badGreeting(`more than ${GREETING_MAX_BYTES} bytes without a complete greeting`);
    }
    return this.drain();
  }

  private replyRaw: Buffer[] = [];

  private badGreeting(what: string): void {
    this.fatal('421 Service not available: the server\'s greeting is not valid FTP.\r\n', 'proxy-upstream-greeting',
      `the server sent ${what}; the client got 421`);
  }

  /** The server connected but did not greet in time (--greeting-timeout). */
  greetingTimeout(seconds: number): MachineCommand[] {
    if (!this.awaitingUpstream) return this.drain();
    this.fatal(`421 Service not available: the server sent no greeting within ${seconds} s.\r\n`, 'proxy-upstream-greeting',
      `the server accepted the connection but sent no greeting within ${seconds} s (--greeting-timeout); the client got 421`);
    return this.drain();
  }

  /** The client did not log in within --login-timeout of connecting. */
  loginTimeout(seconds: number): MachineCommand[] {
    if (this.loggedInFlag || this.phase === 'closed' || this.phase === 'opaque') return this.drain();
    this.emitFinding('warning', 'proxy-login-timeout', `no login within ${seconds} s of connecting (--login-timeout); closed with 421`);
    this.fatal(`421 Login timeout (${seconds} s); closing control connection.\r\n`, null, null);
    return this.drain();
  }

  /** The client's control TLS handshake failed or timed out: nothing can be said to it in clear; close. */
  clientTlsFailed(reason: string): MachineCommand[] {
    if (this.phase === 'closed') return this.drain();
    this.emitFinding('warning', 'proxy-tls-failed', `client's control TLS handshake failed: ${reason}; closed`);
    this.phase = 'closed';
    this.out.push({ type: 'close', reason: `client TLS handshake failed: ${reason}` });
    return this.drain();
  }

  /** The server-facing control connection is up; `upstreamIp` is the server's address (data connections go there). */
  upstreamConnected(upstreamIp: string): MachineCommand[] {
    this.upstreamIp = normalizeIp(upstreamIp);
    if (this.phase !== 'connecting') return this.drain();
    this.phase = 'greeting';
    // Forward mode: the server's greeting is the proxy's business; the client already had ours.
    if (this.opts.mode === 'forward') this.pending.push({ slot: this.newSlot(true), verb: '', purpose: { kind: 'greeting' } });
    return this.drain();
  }

  upstreamFailed(reason: string): MachineCommand[] {
    this.emitFinding('error', 'proxy-upstream-unreachable', `upstream unreachable: ${reason}`);
    this.fatal(`421 Service not available: cannot reach the server (${oneLine(reason)}).\r\n`, null, null);
    return this.drain();
  }

  /** Forward mode: the destination is not on the allow list. The client may try another. */
  upstreamRefused(reason: string): MachineCommand[] {
    this.emitFinding('warning', 'proxy-destination-refused', reason);
    const slot = this.userSlot ?? this.newSlot();
    this.userSlot = null;
    this.fill(slot, `530 ${oneLine(reason)}.\r\n`);
    this.phase = 'await-user';
    this.forwardDest = null;
    this.unblock();
    return this.drain();
  }

  serverClosed(): MachineCommand[] {
    if (this.phase === 'closed') return this.drain();
    // Flush what is complete, then close: nothing the server said is lost.
    for (const s of this.slots) {
      if (s.held) { s.chunks.push(s.heldDataId !== null ? this.truthful(s.heldDataId, s.held) : s.held); s.held = null; s.done = true; }
    }
    if (this.pending.length > 0 && this.phase !== 'opaque') {
      const p = this.pending[0];
      if (p.purpose.kind === 'greeting') this.fill(p.slot, '421 Service not available: the server closed the connection.\r\n');
      // A command the server never answered (it died, say, on a failed data TLS handshake): the
      // client gets a reply rather than a silent close. A QUIT needs none.
      else if (p.verb !== 'QUIT') this.fill(p.slot, '421 Service not available: the server closed the control connection without answering.\r\n');
    }
    for (const s of this.slots) s.done = true;
    this.flush();
    this.phase = 'closed';
    this.out.push({ type: 'close', reason: 'server closed the control connection' });
    return this.drain();
  }

  serverTlsReady(): MachineCommand[] {
    this.serverTls = true;
    const p = this.pending[0];
    if (p && p.purpose.kind === 'auth') {
      this.pending.shift();
      this.fill(p.slot, '234 Proceed with negotiation.\r\n');
      this.clientTls = true;
      this.out.push({ type: 'tls-client' });
    } else if (p && p.purpose.kind === 'forward-auth') {
      this.pending.shift();
      this.sendForwardUser();
    }
    this.unblock();
    return this.drain();
  }

  dataListening(id: number, side: 'client' | 'server', hp: HostPort): MachineCommand[] {
    const d = this.data.get(id);
    if (!d || d.status === 'done') return this.drain();
    if (side === 'client') d.clientListen = hp; else d.serverListen = hp;
    if ((d.needClientListen && !d.clientListen) || (d.needServerListen && !d.serverListen)) return this.drain();
    if (d.sendServerActive) {
      d.sendServerActive = false;
      this.sendServer(formatServerActiveCommand(d.clientVerb, d.serverListen!), { kind: 'active-setup', dataId: id, clientVerb: d.clientVerb }, d.slot);
      if (this.blockedOn === 'listener') this.unblock();
    } else if (d.replyVerb && d.clientListen) {
      this.completePassiveReply(d);
    }
    return this.drain();
  }

  dataEstablished(id: number): MachineCommand[] {
    const d = this.data.get(id);
    if (d && d.status === 'setting-up') d.status = 'established';
    return this.drain();
  }

  /** The relay finished (both legs closed) or failed; releases a held final reply. */
  dataDone(id: number, failure: string | null): MachineCommand[] {
    const d = this.data.get(id);
    if (!d) return this.drain();
    d.status = 'done';
    this.data.delete(id);
    if (this.currentData === id) this.currentData = null;
    if (failure) {
      this.emitFinding('warning', 'proxy-data-failed', `data connection ${id}: ${failure}`);
      this.failedData.set(id, failure);
      if (this.failedData.size > 8) this.failedData.delete(this.failedData.keys().next().value!);
    }
    this.releaseHeld(id);
    // A setup still waiting for its listener gets the failure as its reply.
    if (d.needClientListen && !d.clientListen || d.needServerListen && !d.serverListen) {
      if (!d.slot.done) this.fill(d.slot, `425 Cannot open data connection: ${oneLine(failure ?? 'listener failed')}.\r\n`);
      if (this.blockedOn === 'listener') this.unblock();
    }
    this.flush();
    return this.drain();
  }

  /**
   * The data has been handed on and its end passed along, but a side keeps the connection open
   * (some clients wait for the 226 before closing): release the held reply rather than deadlock.
   */
  dataDrained(id: number): MachineCommand[] {
    const d = this.data.get(id);
    if (d) d.drained = true;
    this.releaseHeld(id);
    this.flush();
    return this.drain();
  }

  private releaseHeld(id: number): void {
    for (const s of this.slots) {
      if (s.heldDataId === id && s.held) {
        s.chunks.push(this.truthful(id, s.held));
        s.held = null;
        s.heldDataId = null;
        s.done = true;
      }
    }
  }

  /** A connection to a client-facing data listener from an address other than the client's. */
  foreignDataConnection(id: number, from: string): MachineCommand[] {
    this.emitFinding('warning', 'proxy-foreign-data-connection',
      `refused a data connection from ${from} on data connection ${id}: only the control peer's address may connect`);
    return this.drain();
  }

  idleTimeout(seconds: number): MachineCommand[] {
    this.emitFinding('info', 'proxy-idle-timeout', `control connection idle for ${seconds} s; closed`);
    this.fatal(`421 Idle timeout (${seconds} s); closing control connection.\r\n`, null, null);
    return this.drain();
  }

  // ---------------------------------------------------------------- client side

  private clientLine(line: SplitLine): void {
    if (this.phase === 'closed') return;
    if (line.overlong) {
      this.emitFinding('warning', 'proxy-line-too-long', `client command line longer than ${this.opts.maxLineLength} bytes refused`);
      if (this.invalid()) return;
      this.localSlot('500 Command line too long.\r\n');
      return;
    }
    // A Telnet Synch's DM travels as TCP urgent data and is cut out of the stream, leaving a lone
    // IAC (shown as U+00FF) before "ABOR": verbs are ASCII, so such leftovers are dropped.
    const cmd = parseCommand(line.text.replace(/^[\u0080-\u00ff]+/, ''));
    if (!cmd) {
      if (line.text.trim() === '') return;
      if (this.invalid()) return;
      this.localSlot('500 Syntax error, command unrecognized.\r\n');
      return;
    }
    const verb = cmd.verb;
    if (this.phase === 'await-user') return this.beforeLogin(verb, cmd.arg);
    if (verb === 'AUTH' && AUTH_ARGS.has((cmd.arg ?? '').trim().toUpperCase())) {
      if (this.clientTls) { this.localSlot('503 TLS already active.\r\n'); return; }
      this.sendServer(line.raw!, { kind: 'auth' });
      return;
    }
    if (verb === 'PROT') {
      this.sendServer(line.raw!, { kind: 'prot', level: (cmd.arg ?? '').trim().toUpperCase() });
      return;
    }
    if (verb === 'CCC' && this.opts.tlsTerminate) {
      this.localSlot('534 CCC not allowed by the proxy.\r\n');
      return;
    }
    if (verb === 'EPSV' && (cmd.arg ?? '').trim().toUpperCase() === 'ALL') {
      this.epsvAll = true;
      if (this.opts.dataMode === 'active') this.localSlot('200 EPSV ALL command successful.\r\n');
      else this.sendServer(line.raw!, { kind: 'epsv-all' });
      return;
    }
    if (PASSIVE_VERBS.has(verb) || ACTIVE_VERBS.has(verb)) return this.setup(verb as SetupVerb, cmd.arg);
    if (verb === 'ABOR') {
      // Clients send the Telnet Synch with its DM as TCP urgent data, which arrives here cut out of
      // the stream; the server gets a whole IAC IP IAC DM inline (Node cannot send urgent data).
      this.sendServer(Buffer.concat([TELNET_IP_DM, Buffer.from('ABOR\r\n')]), { kind: 'relay' });
      return;
    }
    if (TRANSFER.has(verb)) {
      const dataId = this.currentData;
      this.currentData = null;
      this.sendServer(line.raw!, { kind: 'transfer', dataId, prelim: false });
      return;
    }
    this.sendServer(line.raw!, { kind: 'relay' });
  }

  private beforeLogin(verb: string, arg: string | null): void {
    if (verb === 'USER') {
      const dest = parseForwardUser(arg);
      if (!dest) {
        this.localSlot('530 Log in as USER name@host[:port] (IPv6: name@[addr]:port).\r\n');
        return;
      }
      this.forwardDest = dest;
      this.phase = 'connecting';
      this.blockedOn = 'upstream';
      this.userSlot = this.newSlot();
      this.out.push({ type: 'connect-upstream', dest });
      return;
    }
    if (verb === 'AUTH') {
      if (!this.opts.tlsTerminate) {
        this.localSlot('534 AUTH before USER needs the proxy to run with --tls-terminate in forward mode.\r\n');
        return;
      }
      if (this.clientTls) { this.localSlot('503 TLS already active.\r\n'); return; }
      this.fill(this.newSlot(), '234 Proceed with negotiation.\r\n');
      this.clientTls = true;
      this.out.push({ type: 'tls-client' });
      return;
    }
    if (verb === 'QUIT') {
      this.localSlot('221 Goodbye.\r\n');
      this.phase = 'closed';
      this.out.push({ type: 'close', reason: 'client quit before choosing a destination' });
      return;
    }
    if (verb === 'PBSZ' && this.clientTls) { this.localSlot('200 PBSZ=0\r\n'); return; }
    if (verb === 'FEAT') {
      // Only what the proxy itself can do before the destination is known.
      const tls = this.opts.tlsTerminate ? ' AUTH TLS\r\n PBSZ\r\n PROT\r\n' : '';
      this.localSlot(`211-Features:\r\n${tls} EPSV\r\n EPRT\r\n211 End\r\n`);
      return;
    }
    if (verb === 'NOOP') { this.localSlot('200 NOOP ok.\r\n'); return; }
    this.localSlot('530 Please log in with USER name@host[:port] first.\r\n');
  }

  private setup(verb: SetupVerb, arg: string | null): void {
    if (this.epsvAll && verb !== 'EPSV') {
      this.localSlot(`501 ${verb} not allowed after EPSV ALL.\r\n`);
      return;
    }
    if (this.currentData !== null) this.cancelData(this.currentData);
    let clientTarget: HostPort | null = null;
    if (ACTIVE_VERBS.has(verb)) {
      clientTarget = parseActiveTarget(verb as ActiveVerb, arg);
      if (!clientTarget) {
        this.localSlot('501 Syntax error in parameters or arguments.\r\n');
        return;
      }
      const v = checkActiveTarget(clientTarget, this.opts.clientIp);
      if (!v.ok) {
        this.emitFinding('warning', 'proxy-bounce-refused', `${verb} ${formatHostPort(clientTarget)} refused: ${v.reason} (FTP bounce)`);
        this.localSlot(`501 ${verb} refused: ${v.reason}.\r\n`);
        return;
      }
    }
    const id = this.nextDataId++;
    const slot = this.newSlot();
    const tls = this.protPrivate;
    const d: DataSetup = {
      id, clientVerb: verb, clientListen: null, serverListen: null,
      needClientListen: clientTarget === null, needServerListen: false, slot, status: 'setting-up',
      sendServerActive: false, replyVerb: clientTarget === null ? (verb as PassiveVerb) : null, drained: false,
    };
    this.data.set(id, d);
    if (serverSideIsPassive(verb, this.opts.dataMode)) {
      // Ask the server first; the listener for the client opens once the server's reply says where to connect.
      const serverVerb = serverPassiveVerb(verb, this.upstreamIp);
      this.sendServer(`${serverVerb}\r\n`, { kind: 'passive-setup', dataId: id, clientVerb: verb, serverVerb, clientTarget }, slot);
    } else {
      // Server active: open our server-facing listener (and the client's, if passive) before sending PORT.
      d.needServerListen = true;
      d.sendServerActive = true;
      this.blockedOn = 'listener';
      this.out.push({ type: 'data-open', id, client: clientTarget ? { connect: clientTarget } : { listen: true }, server: { listen: true }, tls });
    }
    this.currentData = id;
  }

  private upstreamIp = '';

  private completePassiveReply(d: DataSetup): void {
    const announce = this.announceFor(d.clientListen!);
    const line = formatClientPassiveReply(d.replyVerb!, announce);
    if (line === null) {
      this.fill(d.slot, '522 Use EPSV: the proxy cannot announce an IPv6 address in a 227 reply.\r\n');
      this.cancelData(d.id);
    } else {
      this.fill(d.slot, line);
    }
    if (this.blockedOn === 'listener') this.unblock();
  }

  private announceFor(hp: HostPort): HostPort {
    const a = this.opts.pasvAddress;
    return a && !hp.ip.includes(':') ? { ip: a, port: hp.port } : hp;
  }

  // ---------------------------------------------------------------- server side

  private serverReply(r: ParsedReply, raw: Buffer): void {
    const head = this.pending[0];
    if (!head) {
      // Unsolicited (e.g. 421 before closing): the client sees it after what is already queued.
      const s = this.newSlot();
      this.fill(s, raw);
      return;
    }
    const prelim = r.code >= 100 && r.code < 200;
    const p = head.purpose;
    if (p.kind === 'greeting') {
      if (prelim) { head.slot.chunks.push(raw); this.flush(); return; }
      this.pending.shift();
      if (this.opts.mode === 'forward') return this.forwardGreeting(r);
      this.phase = 'ready';
      this.fill(head.slot, raw);
      this.unblock();
      return;
    }
    if (prelim) {
      if (p.kind === 'transfer') p.prelim = true;
      head.slot.chunks.push(raw);
      this.flush();
      return;
    }
    this.pending.shift();
    switch (p.kind) {
      case 'relay':
        if ((r.code === 230 || r.code === 232) && (head.verb === 'USER' || head.verb === 'PASS' || head.verb === 'ACCT')) this.loggedInFlag = true;
        this.fill(head.slot, raw);
        if (r.code === 500) this.invalid();
        return;
      case 'prot':
        if (r.code >= 200 && r.code < 300) this.protPrivate = p.level === 'P' || p.level === 'S' || p.level === 'E';
        this.fill(head.slot, raw);
        return;
      case 'epsv-all':
        this.fill(head.slot, raw);
        return;
      case 'auth':
        if (r.code !== 234) { this.fill(head.slot, raw); return; }
        if (this.opts.tlsTerminate) {
          // Upgrade the server side first; the client gets its 234 once that handshake is done.
          this.pending.unshift(head);
          this.blockedOn = 'tls';
          this.out.push({ type: 'tls-server' });
          return;
        }
        this.fill(head.slot, raw);
        this.flushAll();
        this.phase = 'opaque';
        this.out.push({ type: 'passthrough' });
        return;
      case 'forward-auth':
        if (r.code !== 234) {
          this.fatal(`421 The server refused AUTH TLS (${r.code} ${oneLine(r.text)}).\r\n`, 'proxy-upstream-tls-refused', `server refused AUTH TLS: ${r.code}`);
          return;
        }
        this.pending.unshift(head);
        this.blockedOn = 'tls';
        this.out.push({ type: 'tls-server' });
        return;
      case 'passive-setup':
        return this.passiveSetupReply(p, r, raw, head.slot);
      case 'active-setup': {
        const d = this.data.get(p.dataId);
        if (r.code < 200 || r.code >= 300 || !d) {
          this.fill(head.slot, raw);
          this.cancelData(p.dataId);
          return;
        }
        if (d.replyVerb) this.completePassiveReply(d);
        else this.fill(head.slot, activeOkReply(p.clientVerb as ActiveVerb));
        return;
      }
      case 'transfer':
        return this.transferFinal(p, r, raw, head.slot);
    }
  }

  private passiveSetupReply(p: Extract<Purpose, { kind: 'passive-setup' }>, r: ParsedReply, raw: Buffer, slot: Slot): void {
    const d = this.data.get(p.dataId);
    const expect = passiveReplyCode(p.serverVerb);
    const parsed = r.code === expect ? parsePassiveReply(p.serverVerb, r.text, this.upstreamIp) : null;
    if (r.code === expect && !parsed) {
      // Never relayed: the client would act on an address or port the proxy could not even read.
      this.emitFinding('warning', 'proxy-bad-passive-reply', `server's ${r.code} reply could not be parsed: ${clip(r.text)}; the client got 425`);
      this.fill(slot, `425 Cannot open data connection: the server's ${r.code} reply is not valid.\r\n`);
      this.cancelData(p.dataId);
      return;
    }
    if (!d || !parsed) {
      this.fill(slot, raw);
      this.cancelData(p.dataId);
      return;
    }
    if (parsed.target.port < 1024 && !this.opts.allowLowDataPorts) {
      // A server naming port 25 (or 22, 80, ...) would make the proxy a bounce towards its own host.
      this.emitFinding('warning', 'proxy-upstream-data-refused',
        `server announced data port ${parsed.target.port} (below 1024) in its ${r.code} reply; not connected (--allow-low-data-ports allows it); the client got 425`);
      this.fill(slot, `425 Cannot open data connection: the server announced privileged port ${parsed.target.port}.\r\n`);
      this.cancelData(p.dataId);
      return;
    }
    if (parsed.announcedElsewhere) {
      this.emitFinding('info', 'proxy-pasv-address-ignored',
        `server announced ${parsed.announcedElsewhere} in its ${r.code} reply; the proxy connects to the control peer ${parsed.target.ip} instead`);
    }
    const client: LegPlan = p.clientTarget ? { connect: p.clientTarget } : { listen: true };
    this.out.push({ type: 'data-open', id: d.id, client, server: { connect: parsed.target }, tls: this.protPrivate });
    if (p.clientTarget) {
      this.fill(slot, activeOkReply(p.clientVerb as ActiveVerb));
    } else {
      this.blockedOn = 'listener';
    }
  }

  private transferFinal(p: Extract<Purpose, { kind: 'transfer' }>, r: ParsedReply, raw: Buffer, slot: Slot): void {
    const d = p.dataId !== null ? this.data.get(p.dataId) : undefined;
    if (!d) { this.fill(slot, p.dataId !== null ? this.truthful(p.dataId, raw) : raw); return; }
    if (!p.prelim) {
      // Refused before any data (550, 425): the setup stays usable, as the server's does.
      if (this.currentData === null) this.currentData = d.id; else this.cancelData(d.id);
      this.fill(slot, raw);
      return;
    }
    if (d.status === 'setting-up' && r.code >= 400) {
      this.cancelData(d.id);
      this.fill(slot, raw);
      return;
    }
    if (d.drained) { this.fill(slot, raw); return; }
    slot.held = raw;
    slot.heldDataId = d.id;
  }

  /**
   * A final reply to a transfer whose relayed data connection failed: the server may well say 226
   * (it wrote everything into its socket), but the client did not get the data. It gets 426.
   */
  private truthful(dataId: number, reply: Buffer): Buffer {
    const failure = this.failedData.get(dataId);
    if (failure === undefined) return reply;
    this.failedData.delete(dataId);
    if (reply[0] !== 0x32) return reply; // not 2xx: the server already says it failed
    return Buffer.from(`426 Connection closed; transfer aborted: the proxy's data connection failed (${oneLine(failure)}).\r\n`, 'latin1');
  }

  private forwardGreeting(r: ParsedReply): void {
    if (r.code < 200 || r.code >= 300) {
      this.fatal(`421 The server refused the connection: ${r.code} ${oneLine(r.text)}\r\n`, 'proxy-upstream-refused', `server greeting ${r.code} ${clip(r.text)}`);
      return;
    }
    this.phase = 'ready';
    if (this.clientTls) {
      this.sendServer('AUTH TLS\r\n', { kind: 'forward-auth' }, this.newSlot(true));
      return;
    }
    this.sendForwardUser();
  }

  /** Forward mode: the greeting (and TLS) is done; send the real USER, its reply goes to the client's USER slot. */
  private sendForwardUser(): void {
    const dest = this.forwardDest!;
    const slot = this.userSlot ?? this.newSlot();
    this.userSlot = null;
    this.pending.push({ slot, verb: 'USER', purpose: { kind: 'relay' } });
    this.out.push({ type: 'to-server', data: Buffer.from(`USER ${dest.user}\r\n`, 'latin1') });
    this.unblock();
  }

  private userSlot: Slot | null = null;

  // ---------------------------------------------------------------- helpers

  private sendServer(data: Buffer | string, purpose: Purpose, slot?: Slot): void {
    if (this.phase === 'closed') return;
    if (this.pending.length >= this.opts.maxPendingCommands) {
      this.fatal('421 Too many commands pending; closing.\r\n', 'proxy-command-flood', 'the client sent too many commands without waiting for replies');
      return;
    }
    const s = slot ?? this.newSlot();
    this.pending.push({ slot: s, verb: typeof data === 'string' ? data.split(' ')[0].trim() : verbOf(data), purpose });
    this.out.push({ type: 'to-server', data: typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data) });
  }

  private cancelData(id: number): void {
    const d = this.data.get(id);
    if (!d) return;
    this.data.delete(id);
    if (this.currentData === id) this.currentData = null;
    this.out.push({ type: 'data-cancel', id });
  }

  /** A slot invisible to ordering when `internal` (replies the client never sees). */
  private newSlot(internal = false): Slot {
    const s: Slot = { chunks: [], done: false, held: null, heldDataId: null };
    if (!internal && this.phase !== 'closed') {
      // Replies waiting behind an unanswered command are bounded like the commands themselves.
      if (this.slots.length >= this.opts.maxPendingCommands) {
        this.fatal('421 Too many commands pending; closing.\r\n', 'proxy-command-flood', 'the client sent too many commands without waiting for replies');
        return s;
      }
      this.slots.push(s);
    }
    return s;
  }

  private localSlot(text: string): void {
    const s = this.newSlot();
    this.fill(s, text);
  }

  private fill(slot: Slot, data: Buffer | string): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    slot.chunks.push(b);
    slot.done = true;
    this.flush();
  }

  private flush(): void {
    while (this.slots.length > 0) {
      const s = this.slots[0];
      for (const c of s.chunks) this.out.push({ type: 'to-client', data: c });
      s.chunks = [];
      if (!s.done) break;
      this.slots.shift();
    }
  }

  private flushAll(): void {
    for (const s of this.slots) s.done = true;
    this.flush();
  }

  private unblock(): void {
    this.blockedOn = null;
    while (this.blockedOn === null && this.queuedLines.length > 0 && this.phase !== 'closed' && this.phase !== 'opaque') {
      const line = this.queuedLines.shift()!;
      this.queuedBytes -= line.raw!.length;
      this.clientLine(line);
    }
  }

  /**
   * Counts an invalid command; true when that was one too many and the session is now closed.
   * The proxy answers invalid lines itself, so without this limit they would cost nothing to send.
   */
  private invalid(): boolean {
    const max = this.opts.maxInvalidCommands ?? 0;
    if (max <= 0 || ++this.invalidCommands <= max) return false;
    this.fatal(`421 Too many invalid commands (${max}); closing.\r\n`, 'proxy-invalid-commands',
      `the client sent more than ${max} invalid commands (--max-invalid-commands); closed with 421`);
    return true;
  }

  private fatal(text: string, code: FindingCode | null, message: string | null): void {
    if (this.phase === 'closed') return;
    if (code && message) this.emitFinding('error', code, message);
    for (const s of this.slots) if (s.held) { s.chunks.push(s.held); s.held = null; }
    this.flushAll();
    this.out.push({ type: 'to-client', data: Buffer.from(text, 'latin1') });
    this.phase = 'closed';
    this.out.push({ type: 'close', reason: oneLine(text.slice(4)) });
  }

  private emitFinding(severity: 'info' | 'warning' | 'error', code: FindingCode, message: string): void {
    this.out.push({ type: 'finding', finding: finding(severity, code, message) });
  }
}

function verbOf(b: Buffer): string {
  const s = b.toString('latin1', 0, Math.min(b.length, 16));
  return s.split(/[ \r\n]/)[0].toUpperCase();
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

function clip(s: string): string {
  const t = oneLine(s);
  return t.length > 80 ? t.slice(0, 77) + '...' : t;
}

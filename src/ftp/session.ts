import type { DataConnection, FtpCommand, FtpReply, Session, SetupVerb, TransferDirection } from '../model/types.js';
import { addFinding, finding, type Finding } from '../model/findings.js';
import type { FindingCode } from '../model/finding-codes.js';
import { LineSplitter, type SplitLine } from './lines.js';
import { ReplyParser, type ParsedReply } from './replies.js';
import { parseCommand, TRANSFER_VERBS, verbInfo } from './commands.js';
import {
  parseEprtArg, parseEpsvReply, parseLprtArg, parseLpsvReply, parsePasvReply, parsePortArg, type HostPort,
} from './endpoints.js';
import { parseExpectedSize } from './reply-codes.js';
import { parseClientHello } from './tls-hello.js';
import {
  anchorPath, isRelativePath, parentDir, parse257Path, resolveFtpPath, startDirOf, transferPath,
} from './paths.js';

/**
 * One data-channel setup (a PASV-family reply or a PORT-family command) and what used it.
 * The analyzer matches TCP connections to slots through the expectation table; the
 * session binds the slot to the transfer command that used it.
 */
export interface DataSlot {
  setup: SetupVerb | null;
  mode: 'passive' | 'active';
  setupFrame: number | null;
  setupTs: number;
  announced: HostPort;
  command: FtpCommand | null;
  direction: TransferDirection | null;
  path: string | null;
  restOffset: number | null;
  transferType: DataConnection['transferType'];
  expectedBytes: number | null;
  finalReply: FtpReply | null;
  connections: DataConnection[];
}

/** What the session asks of its owner (mitmproxy style: events in, commands out). */
export type SessionEffect =
  | { type: 'command'; command: FtpCommand }
  /** `endFrame`: the frame of the reply's last line (a multi-line reply can span packets). */
  | { type: 'reply'; command: FtpCommand | null; reply: FtpReply; endFrame: number | null }
  | { type: 'expect'; slot: DataSlot }
  | { type: 'bind'; slot: DataSlot }
  | { type: 'transfer-done'; slot: DataSlot }
  | { type: 'finding'; finding: Finding }
  | { type: 'tls'; frame: number | null };

export interface FtpSessionOptions {
  maxLineLength?: number;
  maxPendingCommands?: number;
  maxCommands?: number;
  /**
   * The observer terminates the control TLS and hands over the decrypted bytes (the proxy's
   * --tls-terminate): after AUTH's 234 the session is TLS on the wire, and still decoded.
   */
  tlsDecrypted?: boolean;
  /**
   * Announce each command and reply as an effect (default true). An owner that only needs the
   * model and the data-channel effects (a report without event listeners) turns this off.
   */
  lineEffects?: boolean;
  /** Told of each command as it completes (see CommandStream); the batch report streams them. */
  commands?: CommandStream;
  /**
   * With `commands`: the complete commands a session holds before it starts handing them over
   * (CommandStream.begin). Most sessions never get there and are read as without a stream.
   */
  streamAfter?: number;
}

/**
 * Who follows a session's commands as they complete. A command is complete once it has left the
 * queue of commands awaiting a reply (its final reply came, it was skipped, or the session ended):
 * no reply or line can attach to it any more. Commands complete in the order they were sent.
 */
export interface CommandStream {
  /**
   * Streaming starts for session `s` (FtpSessionOptions.streamAfter reached): the unsolicited
   * replies so far and the complete commands held so far, in order; done/unsolicited/release follow
   * from then on. One object serves every session of an analysis: no state of its own per session.
   */
  begin?(s: Session, unsolicited: readonly FtpReply[], complete: readonly FtpCommand[]): void;
  /** A listed command (one of model.commands) is complete. */
  done(s: Session, c: FtpCommand): void;
  /** A reply that answered no command was listed in model.unsolicitedReplies. */
  unsolicited(s: Session, r: FtpReply): void;
  /**
   * When given, complete commands leave model.commands and come here at once, in order. One whose
   * cwd is relative to the unknown start (cwdAnchored false) may be anchored later: `anchored`
   * tells where the session started, once a 257 names it, and what anchor() would have done to the
   * commands it held applies to the released ones too (cwd anchorPath(startDir, cwd), cwdAnchored gone).
   */
  release?(s: Session, c: FtpCommand): void;
  anchored?(s: Session, startDir: string): void;
}

const MAX_HELLO_BYTES = 16 * 1024;
/** Replies kept per command: a command gets one final reply and a few preliminary ones, not hundreds. */
const MAX_REPLIES_PER_COMMAND = 100;
/** What a push with no effects returns (most pushes of a report without event listeners). */
const NO_EFFECTS: readonly SessionEffect[] = Object.freeze([]);

/**
 * Reply codes that only some verbs get (RFC 959 §5.4 "Command-reply sequences", and the RFCs that
 * extend it: 2228, 2389, 2428, 1639, 3659, 7151): a reply with one of them cannot be the answer to
 * any other known command. Codes every command may get (200, 202, and the 4xx/5xx errors, which
 * servers send to anything) are not here, and a verb we do not know may get any code. These are
 * the cues that keep replies with their commands when a reply is lost, a greeting comes late, or
 * a server answers a pipelined burst only once.
 */
const TRANSFER_REPLY_VERBS = [...TRANSFER_VERBS];
const FILE_ACTION_VERBS = [
  'CWD', 'XCWD', 'CDUP', 'XCUP', 'DELE', 'XDEL', 'RMD', 'XRMD', 'RMDA', 'RNTO', 'SMNT', 'MLST', 'MKD', 'XMKD', 'SITE',
  'OPTS', 'MFMT', 'MFCT', 'MFF',
];
const CHECKSUM_VERBS = ['HASH', 'XCRC', 'XMD5', 'XSHA', 'XSHA1', 'XSHA256', 'XSHA512'];
const REPLY_VERBS: ReadonlyMap<number, ReadonlySet<string>> = new Map(([
  [110, TRANSFER_REPLY_VERBS],
  [120, ['REIN', 'HOST']],
  [125, TRANSFER_REPLY_VERBS],
  [150, TRANSFER_REPLY_VERBS],
  [211, ['FEAT', 'STAT', 'HELP', 'SITE']],
  [212, ['STAT']],
  [213, ['SIZE', 'MDTM', 'STAT', 'MFMT', 'MFCT', 'MFF', 'DSIZ', 'AVBL', ...CHECKSUM_VERBS]],
  [214, ['HELP', 'SITE']],
  [215, ['SYST']],
  [220, ['REIN', 'HOST']],
  [221, ['QUIT']],
  [225, ['ABOR']],
  [226, [...TRANSFER_REPLY_VERBS, 'ABOR']],
  [227, ['PASV', 'SPSV', 'CPSV']],
  [228, ['LPSV']],
  [229, ['EPSV']],
  [230, ['USER', 'PASS', 'ACCT']],
  [232, ['USER']],
  [234, ['AUTH']],
  [235, ['ADAT']],
  [250, [...TRANSFER_REPLY_VERBS, 'ABOR', ...FILE_ACTION_VERBS, ...CHECKSUM_VERBS]],
  [257, ['PWD', 'XPWD', 'MKD', 'XMKD']],
  [331, ['USER']],
  [332, ['USER', 'PASS']],
  [334, ['AUTH']],
  [335, ['ADAT']],
  [336, ['USER', 'AUTH']],
  [350, ['REST', 'RNFR']],
] as Array<[number, string[]]>).map(([code, verbs]) => [code, new Set(verbs)]));

/** Whether `verb` can get reply `code` (a verb we do not know can get anything). */
export function replyMayAnswer(verb: string, code: number): boolean {
  const only = REPLY_VERBS.get(code);
  return only === undefined || only.has(verb) || verbInfo(verb) === null;
}

/** Replies that greet (RFC 959 §5.4 "Connection Establishment"); a first one that comes late is still the greeting. */
const GREETING_CODES: ReadonlySet<number> = new Set([120, 220]);
/** Relative-path data slots kept to anchor once a 257 names where the session started. */
const MAX_RELATIVE_SLOTS = 4096;
const REPEATED_LOGIN_FAILURES = 3;

/**
 * The FTP control-session machine: bytes of each direction in, the Session model and
 * effects out. No I/O, no timers: time comes with the events.
 */
export class FtpSession {
  private readonly lines: [LineSplitter, LineSplitter];
  private readonly maxLineLength: number;
  private readonly replies = new ReplyParser();
  /** Commands waiting for their final reply, oldest first (pipelining). */
  private readonly pending: FtpCommand[] = [];
  /** The newest setup not yet used by a transfer command. */
  private openSlot: DataSlot | null = null;
  /** Slots whose transfer command still awaits its final reply, by command. */
  private readonly inTransfer = new Map<FtpCommand, DataSlot>();
  /**
   * Transfer commands sent before earlier commands were answered (pipelining: "PASV", "RETR x" in
   * one segment). They are bound when they reach the head of the queue, so the PASV reply, TYPE,
   * CWD and REST before them have taken effect.
   */
  private readonly deferred = new Set<FtpCommand>();
  private readonly sizes = new Map<string, number>();
  /** The working directory: null when unknown, else absolute, or relative to the unknown start ("./pub"). */
  private cwd: string | null = null;
  /** Where a relative cwd started, once a 257 named it. */
  private startDir: string | null = null;
  /** Transfers bound while the cwd was relative, to anchor their paths once the start is known. */
  private relativeSlots: DataSlot[] = [];
  /** Any reply seen yet (a first 220 is the greeting wherever it lands). */
  private anyReply = false;
  /** The greeting was 120 and no reply came since: a 220 now completes it. */
  private greetingWas120 = false;
  private type: DataConnection['transferType'] = null;
  private rest: number | null = null;
  private loginFailures = 0;
  private credentialsReported = false;
  private helloBuf: Buffer | null = null;
  /** The control bytes are TLS records from here on (after 234 to AUTH, unless decrypted for us). */
  private opaque = false;
  private readonly tlsDecrypted: boolean;
  private readonly lineEffects: boolean;
  private linePending: [boolean, boolean] = [false, false];
  private lineStart: [{ frame: number | null; ts: number }, { frame: number | null; ts: number }] = [
    { frame: null, ts: 0 }, { frame: null, ts: 0 },
  ];
  private replyStart: { frame: number | null; ts: number } | null = null;
  private readonly maxPending: number;
  private readonly maxCommands: number;
  private droppedCommands = 0;
  private droppedReplies = 0;
  private readonly stream: CommandStream | null;
  private readonly streamAfter: number;
  /** Whether complete commands go to `stream` now (see FtpSessionOptions.streamAfter). */
  private streaming: boolean;
  /** Commands listed in model.commands so far, including those released since. */
  private listed = 0;
  /** Commands that completed so far (listed or not), in the order they were sent. */
  private completed = 0;
  /** Commands handed to stream.release so far (they were the first of model.commands). */
  private released = 0;

  /** A reply past the per-session bounds: counted, said once. */
  private dropReply(frame: number | null): void {
    if (this.droppedReplies++ === 0) {
      this.emitFinding('warning', 'replies-truncated',
        `more than ${this.maxCommands} unsolicited replies, or ${MAX_REPLIES_PER_COMMAND} replies to one command, in this session; later ones are not listed`, frame);
    }
  }
  effects: SessionEffect[] = [];

  constructor(readonly model: Session, opts: FtpSessionOptions = {}) {
    this.maxLineLength = opts.maxLineLength ?? 8192;
    this.lines = [this.newSplitter(), this.newSplitter()];
    this.maxPending = opts.maxPendingCommands ?? 256;
    this.maxCommands = opts.maxCommands ?? 200_000;
    this.tlsDecrypted = opts.tlsDecrypted ?? false;
    this.lineEffects = opts.lineEffects ?? true;
    this.stream = opts.commands ?? null;
    this.streamAfter = opts.streamAfter ?? 0;
    this.streaming = this.stream !== null && this.streamAfter === 0;
    if (this.streaming) this.stream!.begin?.(model, [], []);
  }

  /** `c` left the queue of commands awaiting a reply: it is complete (see CommandStream). */
  private complete(c: FtpCommand): void {
    if (this.stream === null) return;
    // Commands complete in the order they were sent, and the first maxCommands were listed.
    if (this.completed++ < this.maxCommands && this.streaming) this.stream.done(this.model, c);
    this.release();
  }

  /** Hands the complete commands at the head of model.commands to stream.release. */
  private release(): void {
    const stream = this.stream;
    if (stream === null) return;
    if (!this.streaming) {
      if (this.listed - this.released <= this.streamAfter) return;
      this.streaming = true;
      stream.begin?.(this.model, this.model.unsolicitedReplies, this.model.commands.slice(0, Math.min(this.completed, this.listed)));
    }
    if (stream.release === undefined) return;
    const commands = this.model.commands;
    const ready = Math.min(this.completed, this.listed);
    while (this.released < ready) {
      this.released++;
      stream.release(this.model, commands.shift()!);
    }
  }

  /** Feed control bytes bytes[start, end); dir 0 = client → server. Returns (and clears) the effects. */
  push(dir: 0 | 1, bytes: Buffer, ts: number, frame: number | null, start = 0, end = bytes.length): readonly SessionEffect[] {
    this.model.controlBytes[dir] += end - start;
    this.model.end = Math.max(this.model.end, ts);
    if (this.opaque) {
      if (dir === 0) this.readClientHello(bytes.subarray(start, end));
      return this.take();
    }
    const splitter = this.lines[dir];
    // Commands and replies carry the frame where their first byte was seen.
    const carried = this.linePending[dir] ? this.lineStart[dir] : null;
    const lines = splitter.push(bytes, start, end);
    for (let i = 0; i < lines.length; i++) {
      if (this.opaque) break; // 234 arrived mid-chunk: the rest is TLS
      const lineFrame = i === 0 && carried ? carried.frame : frame;
      const lineTs = i === 0 && carried ? carried.ts : ts;
      if (dir === 0) this.clientLine(lines[i]!, lineFrame, lineTs);
      else this.serverLine(lines[i]!, lineFrame, lineTs);
    }
    this.linePending[dir] = splitter.pendingBytes > 0;
    if (this.linePending[dir] && (lines.length > 0 || !carried)) this.lineStart[dir] = { frame, ts };
    return this.take();
  }

  /**
   * The frame where the earliest line not yet complete began (a command or reply cut across
   * packets, or a multi-line reply still open), in either direction; null when every line so far
   * is complete. Lines are attributed to the frame of their first byte: until they complete, that
   * frame's facts are not final.
   */
  openLineFrame(): number | null {
    const client = this.linePending[0] ? this.lineStart[0].frame : null;
    const server = this.replies.inReply && this.replyStart !== null ? this.replyStart.frame : this.linePending[1] ? this.lineStart[1].frame : null;
    if (client === null) return server;
    return server === null ? client : Math.min(client, server);
  }

  /** The capture lost control bytes: what follows a gap is resynchronised at the next line. */
  gap(dir: 0 | 1, length: number, frame: number | null): readonly SessionEffect[] {
    this.emitFinding('warning', 'control-gap',
      `${length} bytes of the ${dir === 0 ? 'client' : 'server'} control stream are missing from the capture; commands or replies may be lost`, frame);
    this.lines[dir] = this.newSplitter();
    this.linePending[dir] = false;
    // A multi-line reply cut by the gap ends there: the line that closed it is lost, and the
    // next reply must not be glued onto it (a lost "211 End" would make the next "230 " close FEAT's list).
    if (dir === 1 && !this.opaque) {
      const cut = this.replies.end();
      const start = this.replyStart ?? { frame, ts: this.model.end };
      this.replyStart = null;
      if (cut) this.onReply(cut, start.frame, start.ts);
    }
    return this.take();
  }

  /** End of the control connection: flush partial lines and report unanswered state. */
  end(ts: number, frame: number | null): readonly SessionEffect[] {
    if (!this.opaque) {
      for (const dir of [0, 1] as const) {
        const last = this.lines[dir].flush();
        if (last && last.text.length > 0) {
          const at = this.linePending[dir] ? this.lineStart[dir] : { frame, ts };
          if (dir === 0) this.clientLine(last, at.frame, at.ts);
          else this.serverLine(last, at.frame, at.ts);
        }
      }
      // A multi-line reply the connection's end cut off still counts, as far as it went.
      const unfinished = this.replies.end();
      if (unfinished) {
        const start = this.replyStart ?? { frame, ts };
        this.replyStart = null;
        this.emitFinding('warning', 'ftp-reply-unterminated', `the connection ended inside a multi-line ${unfinished.code} reply`, start.frame);
        this.onReply(unfinished, start.frame, start.ts);
      }
    }
    this.model.closed = true;
    this.model.end = Math.max(this.model.end, ts);
    if (this.streaming) {
      // Nothing can answer the commands still waiting now.
      for (const c of this.pending.splice(0)) this.complete(c);
      this.release();
    }
    return this.take();
  }

  private newSplitter(): LineSplitter {
    return new LineSplitter({ maxLineLength: this.maxLineLength, keepRaw: false });
  }

  private take(): readonly SessionEffect[] {
    const out = this.effects;
    if (out.length === 0) return NO_EFFECTS;
    this.effects = [];
    return out;
  }

  private emitFinding(severity: Finding['severity'], code: FindingCode, message: string, frame: number | null): void {
    // Every occurrence is announced; the model folds repeats of a code into one finding with a count.
    const f = finding(severity, code, message, frame);
    addFinding(this.model.findings, { ...f });
    this.effects.push({ type: 'finding', finding: f });
  }

  // ---- client side -------------------------------------------------------------------

  private clientLine(line: SplitLine, frame: number | null, ts: number): void {
    if (line.overlong) {
      this.emitFinding('warning', 'ftp-line-too-long', `client sent a command line longer than the limit; it was cut`, frame);
    }
    if (line.text.length === 0) return;
    // A Telnet Synch whose urgent DM byte was lost leaves a bare IAC (ÿ) before ABOR.
    const parsed = parseCommand(line.text.charCodeAt(0) === 0xff ? line.text.replace(/^\u00ff+/, '') : line.text);
    if (!parsed) {
      this.emitFinding('warning', 'ftp-malformed-command', `client sent a line that is not an FTP command: ${JSON.stringify(line.text.slice(0, 60))}`, frame);
      return;
    }
    const command: FtpCommand = { frame, ts, verb: parsed.verb, arg: parsed.arg, cwd: this.cwd, replies: [] };
    if (this.cwd !== null && isRelativePath(this.cwd)) command.cwdAnchored = false;
    if (this.listed < this.maxCommands) {
      this.model.commands.push(command);
      this.listed++;
    } else if (this.droppedCommands++ === 0) {
      this.emitFinding('warning', 'commands-truncated', `more than ${this.maxCommands} commands in this session; later ones are not listed`, frame);
    }
    if (this.pending.length >= this.maxPending) {
      const dropped = this.pending.shift()!;
      this.deferred.delete(dropped);
      this.emitFinding('warning', 'ftp-unanswered-commands', `more than ${this.maxPending} commands without a reply; reply pairing may be off`, frame);
      this.complete(dropped);
    }
    this.pending.push(command);
    if (this.lineEffects) this.effects.push({ type: 'command', command });
    this.onCommand(command);
  }

  private onCommand(c: FtpCommand): void {
    const arg = c.arg ?? '';
    switch (c.verb) {
      case 'USER':
        this.model.user = arg;
        break;
      case 'PASS':
        if (!this.model.tls && !this.credentialsReported) {
          this.credentialsReported = true;
          this.emitFinding('warning', 'cleartext-credentials',
            `password for user ${JSON.stringify(this.model.user ?? '')} sent in clear text; use AUTH TLS (FTPS) or SFTP`, c.frame);
        }
        break;
      case 'REST': {
        const n = Number(arg.trim());
        this.rest = Number.isSafeInteger(n) && n >= 0 ? n : null;
        break;
      }
      case 'PORT':
      case 'EPRT':
      case 'LPRT': {
        const hp = c.verb === 'PORT' ? parsePortArg(arg) : c.verb === 'EPRT' ? parseEprtArg(arg) : parseLprtArg(arg);
        if (!hp) {
          this.emitFinding('warning', 'ftp-malformed-setup', `${c.verb} argument ${JSON.stringify(arg.slice(0, 80))} is not a valid address and port`, c.frame);
          break;
        }
        if (hp.ip !== this.model.client.ip) {
          this.emitFinding('warning', 'port-address-mismatch',
            `${c.verb} announces ${hp.ip}:${hp.port} but the client is ${this.model.client.ip}: a NAT'd client, FXP, or a bounce attempt; check the client's external-address setting`, c.frame);
        }
        if (hp.port < 1024) {
          this.emitFinding('warning', 'port-privileged', `${c.verb} asks the server to connect to privileged port ${hp.port} (possible bounce attack)`, c.frame);
        }
        this.newSlot(c.verb, 'active', hp, c.frame, c.ts);
        break;
      }
      default:
        if (!TRANSFER_VERBS.has(c.verb)) break;
        if (this.pending[0] === c) this.onTransferCommand(c);
        else this.deferred.add(c);
    }
  }

  private onTransferCommand(c: FtpCommand): void {
    let slot = this.openSlot;
    if (!slot) {
      // No setup seen: RFC 959's default data port (server → client's control port), or a
      // setup before the capture began. Expect the default; late connections stay unpaired.
      slot = this.makeSlot(null, 'active', { ip: this.model.client.ip, port: this.model.client.port }, c.frame, c.ts);
      this.effects.push({ type: 'expect', slot });
    }
    this.openSlot = null;
    slot.command = c;
    slot.direction = c.verb === 'RETR' ? 'download' : c.verb === 'STOR' || c.verb === 'STOU' || c.verb === 'APPE' ? 'upload' : 'listing';
    slot.path = transferPath(this.cwd, c.arg, c.verb);
    if (slot.path !== null && isRelativePath(slot.path) && this.relativeSlots.length < MAX_RELATIVE_SLOTS) this.relativeSlots.push(slot);
    slot.restOffset = slot.direction === 'listing' ? null : this.rest;
    slot.transferType = this.type;
    if (slot.direction === 'download' && slot.path !== null) slot.expectedBytes = this.sizes.get(slot.path) ?? null;
    this.rest = null;
    this.inTransfer.set(c, slot);
    this.effects.push({ type: 'bind', slot });
  }

  private newSlot(setup: SetupVerb, mode: 'passive' | 'active', hp: HostPort, frame: number | null, ts: number): void {
    const slot = this.makeSlot(setup, mode, hp, frame, ts);
    this.openSlot = slot;
    this.effects.push({ type: 'expect', slot });
  }

  private makeSlot(setup: SetupVerb | null, mode: 'passive' | 'active', hp: HostPort, frame: number | null, ts: number): DataSlot {
    return {
      setup, mode, setupFrame: frame, setupTs: ts, announced: hp, command: null, direction: null, path: null,
      restOffset: null, transferType: null, expectedBytes: null, finalReply: null, connections: [],
    };
  }

  private readClientHello(bytes: Buffer): void {
    if (this.model.tlsInfo?.version || !this.helloBuf) return;
    this.helloBuf = Buffer.concat([this.helloBuf, bytes]);
    const hello = parseClientHello(this.helloBuf);
    if (hello) {
      this.model.tlsInfo = { sni: hello.sni, version: hello.version };
      this.helloBuf = null;
    } else if (this.helloBuf.length > MAX_HELLO_BYTES) {
      this.helloBuf = null;
    }
  }

  // ---- server side -------------------------------------------------------------------

  private serverLine(line: SplitLine, frame: number | null, ts: number): void {
    if (line.overlong) {
      this.emitFinding('warning', 'ftp-line-too-long', `server sent a reply line longer than the limit; it was cut`, frame);
    }
    if (!this.replies.inReply) this.replyStart = { frame, ts };
    const r = this.replies.pushLine(line.text);
    if (r === null) return;
    const start = this.replyStart ?? { frame, ts };
    this.replyStart = null;
    if ('malformed' in r) {
      if (line.text.length > 0) this.onMalformedReply(r.malformed, frame, ts);
      return;
    }
    if (r.openingCode !== undefined && !r.quirks?.includes('unterminated')) {
      this.emitFinding('info', 'ftp-reply-code-mismatch',
        `server opened a multi-line reply with ${r.openingCode}- and closed it with ${r.code}: clients read it as ${r.code} (RFC 959 wants the same code on both)`, start.frame);
    }
    this.onReply(r, start.frame, start.ts, frame);
  }

  private onReply(parsed: ParsedReply, frame: number | null, ts: number, endFrame: number | null = frame): void {
    const reply: FtpReply = { code: parsed.code, text: parsed.text, lines: parsed.lines, frame, ts };
    const first = !this.anyReply;
    this.anyReply = true;
    // The server's first reply is its greeting even when the client did not wait for it and sent
    // commands first (RFC 959 §5.4: 120/220 greet; only REIN and HOST get them otherwise). After a
    // 120 greeting ("ready in nnn minutes") the 220 that follows completes it.
    const greetingReply = (first && !this.model.greeting)
      || (this.greetingWas120 && reply.code === 220);
    this.greetingWas120 = false;
    const lateGreeting = greetingReply && GREETING_CODES.has(reply.code) && this.pending.length > 0
      && !replyMayAnswerStrictly(this.pending[0]!.verb, reply.code);
    if (!lateGreeting) this.skipUnanswered(parsed.code, frame);
    const command = lateGreeting ? null : this.pending[0] ?? null;
    if (!command) {
      if (first && reply.code === 120) this.greetingWas120 = true;
      if ((lateGreeting && !this.model.greeting) || (!this.model.greeting && this.listed === 0 && this.model.unsolicitedReplies.length === 0)) {
        this.model.greeting = { code: reply.code, text: reply.text, frame, ts: reply.ts };
        if (reply.code === 421) this.emitFinding('error', 'service-unavailable', `server refused the session: 421 ${reply.text}`, frame);
      } else {
        if (this.model.unsolicitedReplies.length < this.maxCommands) {
          this.model.unsolicitedReplies.push(reply);
          if (this.streaming) this.stream!.unsolicited(this.model, reply);
        } else this.dropReply(frame);
        if (reply.code === 421) {
          this.emitFinding('warning', 'service-closing', `server closed the session on its own: 421 ${firstLine(reply.text)} (idle timeout or shutdown)`, frame);
        }
      }
      if (this.lineEffects) this.effects.push({ type: 'reply', command: null, reply, endFrame });
      return;
    }
    this.bindIfDeferred(command);
    if (command.replies.length < MAX_REPLIES_PER_COMMAND) command.replies.push(reply);
    else this.dropReply(frame);
    const final = reply.code >= 200;
    if (final) this.pending.shift();
    if (this.lineEffects) this.effects.push({ type: 'reply', command, reply, endFrame });
    this.onCommandReply(command, reply);
    if (this.pending.length > 0) this.bindIfDeferred(this.pending[0]);
    if (final) this.complete(command);
  }

  /**
   * A reply only some verbs get (a transfer's 125/150, 227 for PASV, 257 for PWD/MKD, …) while
   * older commands that cannot get it wait: those got no reply (lost from the capture, or ignored
   * by the server), so the reply belongs to the first waiting command that can. Without this one
   * lost reply would shift every later pairing: a PASV's 227 going to the TYPE before it, and the
   * transfer losing its data connection.
   */
  private skipUnanswered(code: number, frame: number | null): void {
    if (this.pending.length < 2 || replyMayAnswer(this.pending[0]!.verb, code)) return;
    const i = this.pending.findIndex((c) => replyMayAnswer(c.verb, code));
    if (i <= 0) return;
    const skipped = this.pending.splice(0, i);
    for (const c of skipped) this.deferred.delete(c);
    for (const c of skipped) this.complete(c);
    const list = skipped.map((c) => c.verb).join(', ');
    this.emitFinding('warning', 'ftp-no-reply',
      `${list} got no reply before the server answered ${this.pending[0]!.verb}: a reply is missing from the capture, or the server ignored the command`, frame);
  }

  /**
   * A server line that is not an FTP reply ("SYST not supported", "99 PASV invalid"): a finding,
   * and the answer of the oldest waiting command, the one it most plausibly answers (the server
   * meant to reply and wrote no code). That command is done: later replies go to later commands,
   * where their codes fit.
   */
  private onMalformedReply(text: string, frame: number | null, ts: number): void {
    const command = this.pending[0];
    if (command === undefined) {
      this.emitFinding('warning', 'ftp-malformed-reply', `server sent a line that is not an FTP reply: ${JSON.stringify(text.slice(0, 60))}`, frame);
      return;
    }
    (command.malformedReplies ??= []).push({ text, frame, ts });
    this.emitFinding('warning', 'ftp-malformed-reply',
      `server answered ${command.verb} with a line that is not an FTP reply: ${JSON.stringify(text.slice(0, 60))}`, frame);
    // A command that already got its preliminary reply (150 to RETR) still waits for the final one.
    if (command.replies.length > 0) return;
    this.pending.shift();
    this.deferred.delete(command);
    if (this.pending.length > 0) this.bindIfDeferred(this.pending[0]!);
    this.complete(command);
  }

  private bindIfDeferred(c: FtpCommand): void {
    if (!this.deferred.delete(c)) return;
    this.onTransferCommand(c);
  }

  private onCommandReply(c: FtpCommand, r: FtpReply): void {
    const ok = r.code >= 200 && r.code < 300;
    switch (c.verb) {
      case 'USER':
        if (r.code === 230) this.model.loggedIn = true;
        else if (r.code === 530) this.loginFailed(r);
        break;
      case 'PASS':
      case 'ACCT':
        if (r.code === 230 || r.code === 202) this.model.loggedIn = true;
        else if (r.code === 530 || r.code === 430) this.loginFailed(r);
        break;
      case 'PASV':
      case 'EPSV':
      case 'LPSV': {
        if (!ok) break;
        const hp = c.verb === 'PASV' ? parsePasvReply(r.text)
          : c.verb === 'LPSV' ? parseLpsvReply(r.text)
          : epsvHostPort(parseEpsvReply(r.text), this.model.server.ip);
        if (!hp) {
          if ((c.arg ?? '').toUpperCase() !== 'ALL') {
            this.emitFinding('warning', 'ftp-malformed-setup', `${r.code} reply to ${c.verb} has no usable address: ${JSON.stringify(firstLine(r.text).slice(0, 80))}`, r.frame);
          }
          break;
        }
        if (hp.ip !== this.model.server.ip) {
          this.emitFinding('warning', 'pasv-address-mismatch',
            `${c.verb} reply announces ${hp.ip}:${hp.port} but the control connection goes to ${this.model.server.ip}: the server is behind NAT or misconfigured (check pasv_address / MasqueradeAddress); clients that trust the reply will fail to connect`, r.frame);
        }
        this.newSlot(c.verb, 'passive', hp, r.frame, r.ts);
        break;
      }
      case 'CWD':
      case 'XCWD':
        // Before any PWD the start directory is unknown: the cwd is followed relative to it.
        if (ok) this.cwd = resolveFtpPath(this.cwd ?? '.', c.arg ?? '');
        break;
      case 'CDUP':
      case 'XCUP':
        if (ok) this.cwd = parentDir(this.cwd ?? '.');
        break;
      case 'PWD':
      case 'XPWD':
        if (r.code === 257) {
          const abs = parse257Path(r.text);
          if (abs !== null) this.anchor(this.cwd, abs);
          this.cwd = abs ?? this.cwd;
        }
        break;
      case 'MKD':
      case 'XMKD': {
        // "257 "/srv/pub/new" created": the absolute path of a directory named relative to the cwd.
        const abs = r.code === 257 ? parse257Path(r.text) : null;
        if (abs !== null && this.cwd !== null && isRelativePath(this.cwd) && c.arg && !c.arg.startsWith('/')) {
          this.anchor(resolveFtpPath(this.cwd, c.arg), abs);
          if (this.startDir !== null) this.cwd = anchorPath(this.startDir, this.cwd);
        }
        break;
      }
      case 'SIZE':
        if (r.code === 213) {
          const n = Number(r.text.trim());
          const path = resolveFtpPath(this.cwd, c.arg ?? '') ?? c.arg;
          if (path && Number.isSafeInteger(n) && n >= 0) {
            if (this.sizes.size >= 256) this.sizes.delete(this.sizes.keys().next().value as string);
            this.sizes.set(path, n);
          }
        }
        break;
      case 'TYPE':
        if (ok) {
          const t = (c.arg ?? '').trim().charAt(0).toUpperCase();
          this.type = t === 'A' || t === 'I' || t === 'E' || t === 'L' ? t : this.type;
        }
        break;
      case 'AUTH':
        if (r.code === 234) {
          this.model.tls = true;
          this.model.tlsInfo ??= { sni: null, version: null };
          if (this.tlsDecrypted) {
            this.emitFinding('info', 'control-tls',
              `control channel switched to TLS (AUTH ${c.arg ?? ''}); it is terminated here, so later commands and replies are still decoded`, r.frame);
          } else {
            this.opaque = true;
            this.helloBuf = Buffer.alloc(0);
            this.emitFinding('info', 'control-tls', `control channel switched to TLS (AUTH ${c.arg ?? ''}); later commands and replies are encrypted`, r.frame);
          }
          this.effects.push({ type: 'tls', frame: r.frame });
        }
        break;
      default:
        break;
    }
    const slot = this.inTransfer.get(c);
    if (slot) this.onTransferReply(c, slot, r);
  }

  private onTransferReply(c: FtpCommand, slot: DataSlot, r: FtpReply): void {
    if (r.code === 150 || r.code === 125) {
      const n = parseExpectedSize(r.text);
      if (n !== null) slot.expectedBytes = n;
      return;
    }
    if (r.code < 200) return;
    slot.finalReply = r;
    this.inTransfer.delete(c);
    if (r.code === 425) {
      const where = slot.mode === 'active'
        ? `to ${slot.announced.ip}:${slot.announced.port}${slot.setup ? ` (${slot.setup})` : ''}`
        : `at ${slot.announced.ip}:${slot.announced.port}${slot.setup ? ` (${slot.setup})` : ''}`;
      this.emitFinding('error', 'data-connection-failed',
        `${c.verb} ${c.arg ?? ''}`.trim() + ` failed: the ${slot.mode} data connection ${where} could not be opened (425 ${firstLine(r.text)}); a firewall or NAT drops it, or the announced address is wrong`, r.frame);
    }
    this.effects.push({ type: 'transfer-done', slot });
  }

  /**
   * A 257 names `absolute` for what the session knew only as `relative` (its cwd, or a directory
   * under it): the start directory follows, and every command and transfer recorded relative to
   * it gets its absolute path. Nothing changes when the two do not fit together (a symlink).
   */
  private anchor(relative: string | null, absolute: string): void {
    if (relative === null || !isRelativePath(relative) || this.startDir !== null) return;
    const start = startDirOf(relative, absolute);
    if (start === null) return;
    this.startDir = start;
    for (const c of this.model.commands) {
      if (c.cwdAnchored === false && c.cwd !== null) {
        c.cwd = anchorPath(start, c.cwd);
        delete c.cwdAnchored;
      }
    }
    for (const slot of this.relativeSlots) {
      if (slot.path === null || !isRelativePath(slot.path)) continue;
      slot.path = anchorPath(start, slot.path);
      for (const dc of slot.connections) dc.path = slot.path;
    }
    this.relativeSlots = [];
    for (const [key, size] of [...this.sizes]) {
      if (!isRelativePath(key)) continue;
      this.sizes.delete(key);
      this.sizes.set(anchorPath(start, key), size);
    }
    this.stream?.anchored?.(this.model, start);
  }

  /** The working directory as the session knows it (absolute, relative to the start, or null). */
  get workingDirectory(): string | null {
    return this.cwd;
  }

  private loginFailed(r: FtpReply): void {
    this.model.loggedIn = false;
    this.loginFailures++;
    this.emitFinding('warning', 'login-failed', `login failed for user ${JSON.stringify(this.model.user ?? '')}: ${r.code} ${firstLine(r.text)}`, r.frame);
    if (this.loginFailures === REPEATED_LOGIN_FAILURES) {
      this.emitFinding('error', 'login-repeated-failures', `${this.loginFailures} failed logins in one session: password guessing?`, r.frame);
    }
  }
}

/** Whether `verb` is one that gets `code` by the RFCs (an unknown verb does not count). */
function replyMayAnswerStrictly(verb: string, code: number): boolean {
  return REPLY_VERBS.get(code)?.has(verb) === true;
}

function epsvHostPort(p: { port: number } | null, serverIp: string): HostPort | null {
  return p ? { ip: serverIp, port: p.port } : null;
}

function firstLine(text: string): string {
  const i = text.indexOf('\n');
  return i < 0 ? text : text.slice(0, i);
}

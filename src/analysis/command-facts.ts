/**
 * What the diagnosis (diagnosis.ts) reads of a session's commands, gathered as the commands
 * complete, so that a session that streams its commands (report --json) need not keep them: the
 * diagnosis of a session of a million commands reads these few facts, and names exactly what it
 * would name from the whole list.
 */
import type { FtpCommand, FtpReply, Session } from '../model/types.js';
import { announcedBy, isPrivateIp } from './diagnosis.js';
import { TRANSFER_VERBS } from '../ftp/commands.js';

export const TRANSFER_FILE_VERBS: ReadonlySet<string> = new Set(['RETR', 'STOR', 'STOU', 'APPE']);
export const UPLOAD_VERBS: ReadonlySet<string> = new Set(['STOR', 'STOU', 'APPE']);
/** Recent commands kept to place an idle-timeout 421 whose time is earlier than a command before it (clocks that step back). */
const RECENT = 32;

/** The first command of a frame that carried a transfer command: what the diagnosis reads of it. */
export interface FrameHead {
  verb: string;
  arg: string | null;
  frame: number | null;
  ts: number;
  /** Its first 150/125 reply. */
  opening: FtpReply | null;
  hasFinalReply: boolean;
  /** The time of its first reply. */
  firstReplyTs: number | null;
}

/** An unsolicited 421: the last command before it (the one the idle time counts from). */
interface IdleWatch {
  ts: number;
  last: FtpCommand | null;
  open: boolean;
}

export class CommandFacts {
  /** The first USER anonymous (or ftp), and the command after it. */
  anonymousUser: FtpCommand | null = null;
  afterAnonymousUser: FtpCommand | null = null;
  /**
   * PORT-family commands that can raise a diagnosis, in order: the first one naming a private
   * address that the server refused, and the first naming a public host other than the client
   * (from a public client). Every other one is passed over by the diagnosis.
   */
  readonly portCommands: FtpCommand[] = [];
  /** RETR/STOR/STOU/APPE commands whose final reply says storage is full or the transfer was refused. */
  readonly refusedTransfers: FtpCommand[] = [];
  /** The latest time of a command that got a reply. */
  lastAnsweredTs = -Infinity;
  /** The frames of the REST commands, in order. */
  private restFrames: (number | null)[] = [];
  /** By frame: the first command of each frame that carried a transfer command. */
  private readonly heads = new Map<number | null, FrameHead>();
  private groupFrame: number | null | undefined = undefined;
  private groupHead: FtpCommand | null = null;
  private firstNullFrame: FtpCommand | null = null;
  private privatePort = false;
  private bouncePort = false;
  private clientPrivate: boolean | null = null;
  private readonly idle = new Map<FtpReply, IdleWatch>();
  /** The watches no command later than their 421 has closed yet. */
  private openIdle: IdleWatch[] = [];
  /** The last RECENT commands, and the latest command time before the oldest of them. */
  private readonly recent: FtpCommand[] = [];
  private maxTsBeforeRecent = -Infinity;
  private previous: FtpCommand | null = null;
  private count = 0;

  constructor(private readonly session: Session) {}

  /** The facts of a session that holds all its commands. */
  static of(s: Session): CommandFacts {
    const facts = new CommandFacts(s);
    for (const r of s.unsolicitedReplies) facts.unsolicited(r);
    for (const c of s.commands) facts.add(c);
    return facts;
  }

  /** The next command of the session, complete (its replies are final). */
  add(c: FtpCommand): void {
    const v = c.verb.toUpperCase();
    if (this.previous !== null && this.previous === this.anonymousUser) this.afterAnonymousUser = c;
    this.previous = c;
    if (this.anonymousUser === null && v === 'USER' && /^(anonymous|ftp)$/i.test(c.arg ?? '')) this.anonymousUser = c;
    if (c.replies.length > 0 && c.ts > this.lastAnsweredTs) this.lastAnsweredTs = c.ts;
    if (v === 'REST') this.restFrames.push(c.frame);
    this.frameGroup(c, v);
    if (v === 'PORT' || v === 'EPRT' || v === 'LPRT') this.port(c);
    if (TRANSFER_FILE_VERBS.has(v)) this.transfer(c, v);
    if (this.openIdle.length > 0) {
      for (const w of this.openIdle) {
        if (c.ts > w.ts) w.open = false;
        else w.last = c;
      }
      this.openIdle = this.openIdle.filter((w) => w.open);
    }
    this.recent.push(c);
    if (this.recent.length > RECENT) this.maxTsBeforeRecent = Math.max(this.maxTsBeforeRecent, this.recent.shift()!.ts);
    this.count++;
  }

  /** An unsolicited reply, listed when it came (every command before it has been added). */
  unsolicited(r: FtpReply): void {
    if (r.code !== 421 || this.idle.has(r)) return;
    // The command the idle time counts from: the last before the first command later than the 421.
    const w: IdleWatch = { ts: r.ts, last: null, open: true };
    if (this.count > 0) {
      if (this.maxTsBeforeRecent > r.ts) w.open = false; // placed before the commands kept (clocks stepped back a long way)
      else {
        for (const c of this.recent) {
          if (c.ts > r.ts) {
            w.open = false;
            break;
          }
          w.last = c;
        }
      }
    }
    this.idle.set(r, w);
    if (w.open) this.openIdle.push(w);
  }

  /** The last command before the first one sent after unsolicited reply `r` (a 421), or null. */
  lastCommandBefore(r: FtpReply): FtpCommand | null {
    return this.idle.get(r)?.last ?? null;
  }

  /** The frame of the last REST command sent at or before `frame` (any frame when null); undefined when none. */
  restBefore(frame: number | null): number | null | undefined {
    const list = this.restFrames;
    for (let i = list.length - 1; i >= 0; i--) {
      const f = list[i]!;
      if (frame === null || f === null || f <= frame) return f;
    }
    return undefined;
  }

  /** The first command of `frame`, when that frame carried a transfer command. */
  frameHead(frame: number | null): FrameHead | null {
    return this.heads.get(frame) ?? null;
  }

  private frameGroup(c: FtpCommand, v: string): void {
    if (c.frame === null) this.firstNullFrame ??= c;
    else if (c.frame !== this.groupFrame) {
      this.groupFrame = c.frame;
      this.groupHead = c;
    }
    if (!TRANSFER_VERBS.has(v) || this.heads.has(c.frame)) return;
    const head = c.frame === null ? this.firstNullFrame! : this.groupHead!;
    this.heads.set(c.frame, {
      verb: head.verb, arg: head.arg, frame: head.frame, ts: head.ts,
      opening: head.replies.find((r) => r.code === 150 || r.code === 125) ?? null,
      hasFinalReply: head.replies.some((r) => r.code >= 200),
      firstReplyTs: head.replies[0]?.ts ?? null,
    });
  }

  private port(c: FtpCommand): void {
    if (this.privatePort && this.bouncePort) return;
    const hp = announcedBy(c);
    const r = finalReplyOf(c);
    const client = this.session.client.ip;
    if (!hp || !r || hp.ip === client || hp.ip === '0.0.0.0') return;
    const hpPrivate = isPrivateIp(hp.ip);
    this.clientPrivate ??= isPrivateIp(client);
    if (hpPrivate && r.code >= 400) {
      if (this.privatePort) return;
      this.privatePort = true;
      this.portCommands.push(c);
    } else if (!hpPrivate && !this.clientPrivate && !this.bouncePort) {
      this.bouncePort = true;
      this.portCommands.push(c);
    }
  }

  private transfer(c: FtpCommand, v: string): void {
    const r = finalReplyOf(c);
    if (!r) return;
    const full = UPLOAD_VERBS.has(v) && (r.code === 452 || r.code === 552 || (r.code === 451 && /space|quota|disk|full|exceed/i.test(r.text)));
    if (full || r.code === 550 || r.code === 553 || r.code === 532 || r.code === 450) this.refusedTransfers.push(c);
  }
}

/** A command's final (2xx-5xx) reply: the last one. */
export function finalReplyOf(c: FtpCommand): FtpReply | null {
  for (let i = c.replies.length - 1; i >= 0; i--) if (c.replies[i]!.code >= 200) return c.replies[i]!;
  return null;
}

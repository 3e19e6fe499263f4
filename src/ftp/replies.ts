/**
 * FTP replies, RFC 959 §4.2: "xyz text" on one line, or "xyz-text" … "xyz text" over several.
 *
 * Closing rule. RFC 959 ends a multi-line reply at the first line that starts with the opening code
 * followed by a space. Real servers also end a block with a different code (a `230-` banner closed by
 * `226 `, a `150-` closed by `150 ` after other numbered lines, …). Like curl, which every server must
 * interoperate with, we close the reply at the first line that is three digits followed by a space (or
 * three digits alone), whatever the code; the reply takes the closing line's code, and the quirk is
 * recorded (`openingCode`, quirk 'code-mismatch') so the session can raise a finding. Zeek only closes
 * on the same code; on replies that follow the RFC (all the public captures) both rules agree line for
 * line (tested against zeek's ftp-multiline-reply baseline).
 *
 * Text. `text` is the reply as a person reads it: the "xyz-" / "xyz " prefix of the first and last
 * lines removed, inner lines as sent except that an inner "xyz-" prefix carrying the opening code is
 * removed too (ProFTPD, IIS and wu-ftpd prefix every line; tshark also shows these lines without it).
 * Whitespace after a prefix is kept, banners are often indented art. `lines` keeps every line as sent.
 *
 * Codes: three digits whose first digit is 1-6 (6yz are RFC 2228 protected replies). A line outside a
 * reply that does not start with such a code is reported as { malformed }. Three digits followed by
 * neither space nor dash ("220FTP ready") is accepted as a one-line reply with quirk
 * 'no-space-after-code', as zeek does.
 *
 * Bounded: at most maxLinesPerReply lines are kept (the first ones and the closing line); the inner
 * lines beyond are counted in `omittedLines` while the parser keeps looking for the closing line.
 */

export type ReplyQuirk =
  /** A multi-line reply closed by a line with a different code (see openingCode). */
  | 'code-mismatch'
  /** "220FTP ready": the code is not followed by a space or dash. */
  | 'no-space-after-code'
  /** More lines than maxLinesPerReply; the surplus is counted in omittedLines. */
  | 'too-many-lines'
  /** The stream ended inside a multi-line reply (from end()). */
  | 'unterminated';

export interface ParsedReply {
  code: number;
  /** Lines joined by \n; see the module comment for which prefixes are removed. */
  text: string;
  /** The lines as received (without CR/LF). */
  lines: string[];
  /** The code of the first line, present only when it differs from `code`. */
  openingCode?: number;
  /** Lines beyond maxLinesPerReply, not kept. */
  omittedLines?: number;
  quirks?: ReplyQuirk[];
}

export interface ReplyParserOptions {
  /** Default 2000 (a STAT listing arrives as one reply). */
  maxLinesPerReply?: number;
}

export const DEFAULT_MAX_LINES_PER_REPLY = 2000;

/** The reply code at the start of a line, or 0. First digit 1-6, the other two any digit. */
export function replyCodeOf(line: string): number {
  if (line.length < 3) return 0;
  const a = line.charCodeAt(0) - 48;
  const b = line.charCodeAt(1) - 48;
  const c = line.charCodeAt(2) - 48;
  if (a < 1 || a > 6 || b < 0 || b > 9 || c < 0 || c > 9) return 0;
  return a * 100 + b * 10 + c;
}

/** True for "xyz text" and a bare "xyz": the line that ends a reply. */
function isFinalLine(line: string): boolean {
  return replyCodeOf(line) > 0 && (line.length === 3 || line.charCodeAt(3) === 32);
}

export class ReplyParser {
  private readonly maxLines: number;
  private openCode = 0;
  private lines: string[] = [];
  private omitted = 0;

  constructor(opts: ReplyParserOptions = {}) {
    const max = opts.maxLinesPerReply ?? DEFAULT_MAX_LINES_PER_REPLY;
    if (!Number.isInteger(max) || max < 2) throw new RangeError(`maxLinesPerReply must be an integer >= 2, got ${max}`);
    this.maxLines = max;
  }

  /** True while inside a multi-line reply. */
  get inReply(): boolean {
    return this.openCode !== 0;
  }

  /** One line (without CR/LF); returns the reply it completes, null while a multi-line reply goes on. */
  pushLine(line: string): ParsedReply | null | { malformed: string } {
    if (this.openCode !== 0) {
      if (isFinalLine(line)) {
        this.lines.push(line); // always kept: inner lines leave room for it
        return this.complete(replyCodeOf(line), []);
      }
      if (this.lines.length < this.maxLines - 1) this.lines.push(line);
      else this.omitted++;
      return null;
    }
    const code = replyCodeOf(line);
    if (code === 0) return { malformed: line };
    const sep = line.length > 3 ? line.charCodeAt(3) : 32;
    if (sep === 45 /* - */) {
      this.openCode = code;
      this.lines = [line];
      this.omitted = 0;
      return null;
    }
    const reply: ParsedReply = { code, text: sep === 32 ? line.slice(4) : line.slice(3), lines: [line] };
    if (sep !== 32) reply.quirks = ['no-space-after-code'];
    return reply;
  }

  /** At end of stream: the unterminated multi-line reply, if one was open. */
  end(): ParsedReply | null {
    if (this.openCode === 0) return null;
    return this.complete(this.openCode, ['unterminated']);
  }

  private complete(code: number, quirks: ReplyQuirk[]): ParsedReply {
    const lines = this.lines;
    const opening = this.openCode;
    const reply: ParsedReply = { code, text: replyText(lines, opening, quirks.includes('unterminated')), lines };
    if (opening !== code) {
      reply.openingCode = opening;
      quirks.push('code-mismatch');
    }
    if (this.omitted > 0) {
      reply.omittedLines = this.omitted;
      quirks.push('too-many-lines');
    }
    if (quirks.length > 0) reply.quirks = quirks;
    this.openCode = 0;
    this.lines = [];
    this.omitted = 0;
    return reply;
  }
}

function replyText(lines: string[], openingCode: number, unterminated: boolean): string {
  const prefix = `${openingCode}-`;
  const last = unterminated ? -1 : lines.length - 1;
  const out = new Array<string>(lines.length);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (i === 0) out[i] = line.slice(4);
    else if (i === last) out[i] = line.slice(4);
    else out[i] = line.startsWith(prefix) ? line.slice(4) : line;
  }
  return out.join('\n');
}

/**
 * basic-ftp style: complete replies in a block of text, and the unfinished rest (an open multi-line
 * reply, and a last line without its terminator) to be prepended to the next chunk. Each message is
 * its lines joined by "\n" without CR. Unlike basic-ftp, blank and malformed lines outside a reply are
 * not dropped: each is a message of its own, so a relaying proxy loses nothing.
 */
export function parseControlResponse(text: string): { messages: string[]; rest: string } {
  const messages: string[] = [];
  const parser = new ReplyParser({ maxLinesPerReply: Number.MAX_SAFE_INTEGER });
  let start = 0;
  let openAt = -1;
  for (;;) {
    const lf = text.indexOf('\n', start);
    if (lf < 0) break;
    const end = lf > start && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf;
    const line = text.slice(start, end);
    const wasOpen = parser.inReply;
    if (!wasOpen) openAt = start;
    const r = parser.pushLine(line);
    start = lf + 1;
    if (r === null) continue;
    messages.push('malformed' in r ? r.malformed : r.lines.join('\n'));
    openAt = -1;
  }
  const rest = parser.inReply && openAt >= 0 ? text.slice(openAt) : text.slice(start);
  return { messages, rest };
}

/**
 * The features a 211 reply to FEAT lists (RFC 2389 §3.2): one per inner line, each starting with a
 * space, e.g. ["EPRT", "EPSV", "AUTH TLS", "REST STREAM", "UTF8"]. Leading and trailing whitespace is
 * removed; lines that do not start with a space (some servers forget it) are taken too, except ones
 * carrying the reply code. An empty list for a one-line reply ("211 no features").
 */
export function parseFeatures(reply: ParsedReply): string[] {
  const out: string[] = [];
  for (let i = 1; i < reply.lines.length - 1; i++) {
    const line = reply.lines[i]!;
    if (replyCodeOf(line) === reply.code && line.charCodeAt(3) === 45) continue;
    const f = line.trim();
    if (f.length > 0) out.push(f);
  }
  return out;
}

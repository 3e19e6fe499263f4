/**
 * Is this FTP, on a port that is not 21? Judged from the first line each side sends.
 *
 * A server greets with a 220 reply (RFC 959 §5.4, connection establishment). SMTP greets with 220
 * too, so a greeting that names SMTP/ESMTP/LMTP is not taken. A client opens with a command we know
 * (USER, AUTH, FEAT, SYST, OPTS, HOST, …); verbs that other line protocols open with and FTP clients
 * never send first are not enough on their own (HELP, NOOP, QUIT are shared with SMTP/POP3).
 */
import { parseCommand, verbInfo } from './commands.js';
import { isKnownReplyCode } from './reply-codes.js';
import { replyCodeOf } from './replies.js';

const NOT_FTP_GREETING = /\b(?:E?SMTP|LMTP|Postfix|Sendmail|Exim|NNTP)\b/i;

export function looksLikeServerGreeting(firstLine: string): boolean {
  if (!/^220(?:[ -]|$)/.test(firstLine)) return false;
  return !NOT_FTP_GREETING.test(firstLine);
}

/** Known FTP verbs that do not, alone, tell FTP from SMTP, POP3 or IMAP. */
const AMBIGUOUS = new Set(['HELP', 'NOOP', 'QUIT', 'STAT', 'LIST']);

export function looksLikeClientCommand(firstLine: string): boolean {
  const c = parseCommand(firstLine);
  if (!c || AMBIGUOUS.has(c.verb)) return false;
  return verbInfo(c.verb) !== null;
}

/**
 * For a capture that starts mid-session: a line that is an FTP reply with a code some FTP RFC defines
 * ("226 Transfer complete", "150-…"). SMTP and NNTP share the format and some codes, so use this only
 * together with the port or the other direction's evidence.
 */
export function looksLikeFtpReply(line: string): boolean {
  const code = replyCodeOf(line);
  if (code === 0 || !isKnownReplyCode(code)) return false;
  return line.length === 3 || line[3] === ' ' || line[3] === '-';
}

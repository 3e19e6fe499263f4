import type { Field, Layer } from './field.js';
import { field, printable } from './fields.js';

/** Which FTP channel a TCP segment belongs to, and which way it goes. */
export interface FtpContext {
  channel: 'control' | 'data';
  /** The segment goes client → server. */
  fromClient: boolean;
}

/** RFC 959 §4.2: the meaning of each digit of a reply code. */
const FIRST_DIGIT: Record<string, string> = {
  '1': 'positive preliminary reply', '2': 'positive completion reply', '3': 'positive intermediate reply',
  '4': 'transient negative completion reply', '5': 'permanent negative completion reply', '6': 'protected reply (RFC 2228)',
};
const SECOND_DIGIT: Record<string, string> = {
  '0': 'syntax', '1': 'information', '2': 'connections', '3': 'authentication and accounting', '4': 'unspecified', '5': 'file system',
};
/** RFC 959 §4.2.1 and the extensions ftpscope decodes (RFC 2228, 2428, 3659). */
const REPLY_TEXT: Record<number, string> = {
  110: 'Restart marker reply', 120: 'Service ready in nnn minutes', 125: 'Data connection already open; transfer starting',
  150: 'File status okay; about to open data connection', 200: 'Command okay', 202: 'Command not implemented, superfluous at this site',
  211: 'System status, or system help reply', 212: 'Directory status', 213: 'File status', 214: 'Help message', 215: 'NAME system type',
  220: 'Service ready for new user', 221: 'Service closing control connection', 225: 'Data connection open; no transfer in progress',
  226: 'Closing data connection', 227: 'Entering Passive Mode', 228: 'Entering Long Passive Mode', 229: 'Entering Extended Passive Mode',
  230: 'User logged in, proceed', 232: 'User logged in, authorized by security data exchange', 234: 'Security data exchange complete (AUTH accepted)',
  235: 'Security data exchange completed successfully', 250: 'Requested file action okay, completed', 257: '"PATHNAME" created',
  331: 'User name okay, need password', 332: 'Need account for login', 334: 'Requested security mechanism is ok', 335: 'Security data is acceptable',
  336: 'Username okay, need password; challenge is "..."', 350: 'Requested file action pending further information',
  421: 'Service not available, closing control connection', 425: "Can't open data connection", 426: 'Connection closed; transfer aborted',
  430: 'Invalid username or password', 431: 'Need some unavailable resource to process security', 450: 'Requested file action not taken',
  451: 'Requested action aborted: local error in processing', 452: 'Requested action not taken. Insufficient storage space in system',
  500: 'Syntax error, command unrecognized', 501: 'Syntax error in parameters or arguments', 502: 'Command not implemented',
  503: 'Bad sequence of commands', 504: 'Command not implemented for that parameter', 522: 'Network protocol not supported (use one of the listed)',
  530: 'Not logged in', 532: 'Need account for storing files', 533: 'Command protection level denied for policy reasons',
  534: 'Request denied for policy reasons', 535: 'Failed security check', 536: 'Data protection level not supported by security mechanism',
  537: 'Command protection level not supported by security mechanism', 550: 'Requested action not taken. File unavailable',
  551: 'Requested action aborted: page type unknown', 552: 'Requested file action aborted. Exceeded storage allocation',
  553: 'Requested action not taken. File name not allowed', 631: 'Integrity protected reply', 632: 'Confidentiality and integrity protected reply',
  633: 'Confidentiality protected reply',
};

/** "2yz positive completion reply; x2z connections; Service ready for new user". */
export function replyCodeMeaning(code: string): string {
  const parts = [`${code[0]}yz ${FIRST_DIGIT[code[0]!] ?? 'not defined by RFC 959'}`, `x${code[1]}z ${SECOND_DIGIT[code[1]!] ?? 'not defined by RFC 959'}`];
  const text = REPLY_TEXT[Number(code)];
  if (text) parts.push(text);
  return parts.join('; ');
}

/** Longest line we split out for display; longer lines are shown cut (the analyzer has its own bound). */
const MAX_LINES = 256;

/** The ftp or ftp-data layer of a segment's payload buf[start, end) (offsets are layer-local + base). */
export function dissectFtp(buf: Buffer, start: number, end: number, wireLength: number, ctx: FtpContext, layers: Layer[], source?: 'reassembled'): void {
  if (ctx.channel === 'data') {
    const first = buf.subarray(start, Math.min(end, start + 32));
    const layer: Layer = {
      name: 'ftp-data', label: 'FTP Data', offset: start, length: end - start,
      fields: [
        field('ftp-data.len', 'Length', wireLength, start, end - start, `${wireLength} bytes${end - start < wireLength ? ` (${end - start} captured)` : ''}`),
        field('ftp-data.data', 'First bytes', first.toString('hex'), start, first.length, `${printable(first)}${end - start > first.length ? '…' : ''}`),
      ],
    };
    if (source) layer.source = source;
    layers.push(layer);
    return;
  }
  const layer: Layer = { name: 'ftp', label: 'File Transfer Protocol (FTP)', offset: start, length: end - start, fields: [] };
  if (source) layer.source = source;
  layers.push(layer);
  let i = start;
  for (let n = 0; i < end && n < MAX_LINES; n++) {
    let j = buf.indexOf(0x0a, i);
    const complete = j >= 0 && j < end;
    if (!complete) j = end; else j += 1;
    layer.fields.push(ctx.fromClient ? requestLine(buf, i, j, complete) : responseLine(buf, i, j, complete));
    i = j;
  }
  if (i < end) layer.fields.push(field('ftp.more', 'More lines', end - i, i, end - i, `${end - i} more bytes not split into lines`));
}

const TELNET: Record<number, string> = { 0xf4: 'IP (interrupt process)', 0xf2: 'DM (data mark)', 0xff: 'IAC (escaped 0xff)', 0xf6: 'AYT' };

function lineText(buf: Buffer, start: number, end: number): { text: string; len: number } {
  let e = end;
  if (e > start && buf[e - 1] === 0x0a) e--;
  if (e > start && buf[e - 1] === 0x0d) e--;
  return { text: buf.toString('latin1', start, e), len: e - start };
}

function requestLine(buf: Buffer, start: number, end: number, complete: boolean): Field {
  const { text, len } = lineText(buf, start, end);
  const sp = text.indexOf(' ');
  const verb = sp < 0 ? text : text.slice(0, sp);
  const kids: Field[] = [field('ftp.request.command', 'Request command', verb.toUpperCase(), start, verb.length, verb)];
  const iac = text.indexOf('\xff');
  if (iac >= 0) {
    // RFC 959 §4.1.3: ABOR is preceded by Telnet IAC IP and IAC DM ("Synch", sent as urgent data).
    kids.push(field('ftp.telnet', 'Telnet command', text.charCodeAt(iac + 1) || null, start + iac, Math.min(2, len - iac),
      `IAC ${TELNET[text.charCodeAt(iac + 1)] ?? 'command'} (Telnet in-band signal, as sent before ABOR)`));
  }
  if (sp >= 0 && sp + 1 < len) kids.push(field('ftp.request.arg', 'Request arg', text.slice(sp + 1), start + sp + 1, len - sp - 1));
  return field('ftp.request', 'Request', true, start, end - start, `${printable(Buffer.from(text, 'latin1'))}${complete ? '\\r\\n' : ' (line continues in the next segment)'}`, kids);
}

function responseLine(buf: Buffer, start: number, end: number, complete: boolean): Field {
  const { text, len } = lineText(buf, start, end);
  const m = /^([1-6]\d\d)([ -]|$)/.exec(text);
  const suffix = complete ? '\\r\\n' : ' (line continues in the next segment)';
  const shown = printable(Buffer.from(text, 'latin1'));
  if (!m) {
    // A continuation line of a multi-line reply (RFC 959 §4.2: any text not starting with the code).
    return field('ftp.response', 'Response', true, start, end - start, `${shown}${suffix}`, [
      field('ftp.response.arg', 'Response arg (continuation line)', text, start, len),
    ]);
  }
  const code = m[1]!;
  const kids: Field[] = [field('ftp.response.code', 'Response code', Number(code), start, 3, `${code} (${replyCodeMeaning(code)})`)];
  if (m[2] === '-') kids.push(field('ftp.response.continuation', 'Multi-line reply', true, start + 3, 1, 'first line of a multi-line reply'));
  const argStart = m[0].length;
  if (len > argStart) kids.push(field('ftp.response.arg', 'Response arg', text.slice(argStart), start + argStart, len - argStart));
  return field('ftp.response', 'Response', true, start, end - start, `${shown}${suffix}`, kids);
}

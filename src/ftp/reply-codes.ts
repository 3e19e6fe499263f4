/**
 * What reply codes mean (RFC 959 §4.2.1 and §4.2.2, RFC 2228, 2428, 1639, 3659, 2389, 7151),
 * and the expected size that 150 replies often announce.
 */

const FIRST_DIGIT: Record<string, string> = {
  '1': 'Positive preliminary',
  '2': 'Positive completion',
  '3': 'Positive intermediate',
  '4': 'Transient negative completion',
  '5': 'Permanent negative completion',
  '6': 'Protected reply',
};

const SECOND_DIGIT: Record<string, string> = {
  '0': 'Syntax',
  '1': 'Information',
  '2': 'Connections',
  '3': 'Authentication and accounting',
  '4': 'Unspecified',
  '5': 'File system',
};

const CODES: Record<number, string> = {
  110: 'Restart marker reply',
  120: 'Service ready in a few minutes',
  125: 'Data connection already open; transfer starting',
  150: 'File status okay; about to open data connection',
  200: 'Command okay',
  202: 'Command not implemented, superfluous at this site',
  211: 'System status, or system help reply (FEAT list)',
  212: 'Directory status',
  213: 'File status (SIZE, MDTM, STAT)',
  214: 'Help message',
  215: 'System type',
  220: 'Service ready for new user',
  221: 'Service closing control connection',
  225: 'Data connection open; no transfer in progress',
  226: 'Closing data connection; transfer OK',
  227: 'Entering Passive Mode',
  228: 'Entering Long Passive Mode',
  229: 'Entering Extended Passive Mode',
  230: 'User logged in, proceed',
  231: 'User logged out; service terminated',
  232: 'Logout command noted, will complete when transfer done',
  234: 'Security data exchange complete (AUTH accepted)',
  235: 'Security data exchange completed successfully (ADAT)',
  250: 'Requested file action okay, completed',
  257: 'Pathname created / current directory',
  331: 'User name okay, need password',
  332: 'Need account for login',
  334: 'Security mechanism accepted, security data to follow',
  335: 'Security data is acceptable, more is required',
  336: 'Username okay, need password; challenge follows',
  350: 'Requested file action pending further information',
  421: 'Service not available, closing control connection',
  425: "Can't open data connection",
  426: 'Connection closed; transfer aborted',
  430: 'Invalid username or password',
  431: 'Need some unavailable resource to process security',
  434: 'Requested host unavailable',
  450: 'Requested file action not taken; file unavailable (busy)',
  451: 'Requested action aborted: local error in processing',
  452: 'Requested action not taken; insufficient storage space',
  500: 'Syntax error, command unrecognized',
  501: 'Syntax error in parameters or arguments',
  502: 'Command not implemented',
  503: 'Bad sequence of commands',
  504: 'Command not implemented for that parameter',
  521: 'Address family not supported (supported families listed)',
  522: 'Network protocol not supported (use the listed families)',
  530: 'Not logged in',
  532: 'Need account for storing files',
  533: 'Command protection level denied for policy reasons',
  534: 'Request denied for policy reasons',
  535: 'Failed security check',
  536: 'Requested protection level not supported by mechanism',
  537: 'Command protection level not supported by security mechanism',
  550: 'Requested action not taken; file unavailable (not found, no access)',
  551: 'Requested action aborted: page type unknown',
  552: 'Requested file action aborted: exceeded storage allocation',
  553: 'Requested action not taken; file name not allowed',
  554: 'Requested action not taken: invalid REST parameter',
  555: 'Requested action not taken: type or structure mismatch',
  631: 'Integrity protected reply',
  632: 'Confidentiality and integrity protected reply',
  633: 'Confidentiality protected reply',
};

export interface ReplyCodeMeaning {
  /** The RFC text for known codes; for others, the class and group from the digits. */
  summary: string;
  /** RFC 959 §4.2.1: the first digit's class, the second digit's group, the third digit as detail. */
  digits: [string, string, string];
}

export function replyCodeMeaning(code: number): ReplyCodeMeaning {
  const s = String(code).padStart(3, '0');
  const first = FIRST_DIGIT[s[0]!] ?? `Unknown class ${s[0]}`;
  const second = SECOND_DIGIT[s[1]!] ?? `Unknown group ${s[1]}`;
  const third = `Detail ${s[2]}`;
  const known = Number.isInteger(code) ? CODES[code] : undefined;
  return { summary: known ?? `${first} (${second.toLowerCase()})`, digits: [first, second, third] };
}

/** True when the code is one an RFC defines. */
export function isKnownReplyCode(code: number): boolean {
  return CODES[code] !== undefined;
}

/**
 * The size a 150/125 reply announces, in bytes: "(12345 bytes)" as vsftpd, ProFTPD, wu-ftpd, Serv-U
 * and IIS write it (with or without a space before the parenthesis, "bytes" in any case, singular too).
 * Approximate forms such as pure-ftpd's "12.3 kbytes to download" give null.
 */
export function parseExpectedSize(text: string): number | null {
  const re = /\((\d{1,16})\s*bytes?\)/gi;
  let last: string | null = null;
  for (let m = re.exec(text); m; m = re.exec(text)) last = m[1]!;
  if (last === null) return null;
  const n = Number(last);
  return Number.isSafeInteger(n) ? n : null;
}

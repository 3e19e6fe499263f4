/**
 * FTP commands: "VERB[ SP argument]" (RFC 959 §5.3). The verb is case-insensitive and returned
 * upper-case; the argument is kept exactly as sent (paths may start or end with spaces).
 */

export interface ParsedCommand {
  /** Upper-case. */
  verb: string;
  /** Everything after the separator, as sent; null when nothing follows the verb. */
  arg: string | null;
}

/**
 * Verbs are 3-4 letters in the RFCs; extensions add digits and length (XSHA256, XCRC, …).
 * Anything else (binary, an HTTP request line, TLS bytes decoded as text) is not a command.
 */
const VERB = /^[A-Za-z][A-Za-z0-9]{1,9}$/;

/** null when the line is not a plausible FTP command line. */
export function parseCommand(line: string): ParsedCommand | null {
  let end = 0;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    if (c === 32 || c === 9) break;
    end++;
  }
  const verb = line.slice(0, end);
  if (!VERB.test(verb)) return null;
  // RFC 959 says one space; some clients send a tab. Only the first separator is removed.
  const arg = end < line.length ? line.slice(end + 1) : '';
  const upper = verb.toUpperCase();
  // A known verb is the table's own string: later switches and set lookups on it compare pointers.
  return { verb: TABLE.get(upper)?.verb ?? upper, arg: arg.length > 0 ? arg : null };
}

export type VerbKind = 'access' | 'transfer-param' | 'service' | 'setup' | 'transfer' | 'security' | 'info' | 'other';

export interface VerbInfo {
  verb: string;
  /** Where it is defined: "RFC 959", "RFC 2228", …, or "extension" with the implementations that have it. */
  rfc: string;
  summary: string;
  /**
   * access: login and navigation (RFC 959 §4.1.1); transfer-param: TYPE/MODE/STRU/REST/ALLO;
   * setup: data-channel setup (PASV family, PORT family); transfer: uses a data connection;
   * service: file-system actions on the control channel; security: RFC 2228 and friends;
   * info: questions about the server or a file; other: everything else known.
   */
  kind: VerbKind;
}

type Row = [verb: string, rfc: string, kind: VerbKind, summary: string];

const ROWS: Row[] = [
  // RFC 959 access control
  ['USER', 'RFC 959', 'access', 'User name'],
  ['PASS', 'RFC 959', 'access', 'Password'],
  ['ACCT', 'RFC 959', 'access', 'Account'],
  ['CWD', 'RFC 959', 'access', 'Change working directory'],
  ['CDUP', 'RFC 959', 'access', 'Change to parent directory'],
  ['SMNT', 'RFC 959', 'access', 'Structure mount'],
  ['REIN', 'RFC 959', 'access', 'Reinitialize the session'],
  ['QUIT', 'RFC 959', 'access', 'Logout and close the control connection'],
  // RFC 959 transfer parameters
  ['PORT', 'RFC 959', 'setup', 'Active mode: server connects to this IPv4 address and port'],
  ['PASV', 'RFC 959', 'setup', 'Passive mode: server listens, client connects'],
  ['TYPE', 'RFC 959', 'transfer-param', 'Representation type (A ASCII, I image/binary, E, L)'],
  ['STRU', 'RFC 959', 'transfer-param', 'File structure (F, R, P)'],
  ['MODE', 'RFC 959', 'transfer-param', 'Transfer mode (S stream, B block, C compressed; Z deflate)'],
  // RFC 959 service
  ['RETR', 'RFC 959', 'transfer', 'Retrieve (download) a file'],
  ['STOR', 'RFC 959', 'transfer', 'Store (upload) a file'],
  ['STOU', 'RFC 959', 'transfer', 'Store a file under a unique name'],
  ['APPE', 'RFC 959', 'transfer', 'Append to a file'],
  ['ALLO', 'RFC 959', 'transfer-param', 'Allocate storage'],
  ['REST', 'RFC 3659', 'transfer-param', 'Restart the next transfer at this offset'],
  ['RNFR', 'RFC 959', 'service', 'Rename from'],
  ['RNTO', 'RFC 959', 'service', 'Rename to'],
  ['ABOR', 'RFC 959', 'service', 'Abort the transfer in progress'],
  ['DELE', 'RFC 959', 'service', 'Delete a file'],
  ['RMD', 'RFC 959', 'service', 'Remove a directory'],
  ['MKD', 'RFC 959', 'service', 'Make a directory'],
  ['PWD', 'RFC 959', 'info', 'Print working directory'],
  ['LIST', 'RFC 959', 'transfer', 'Directory listing (human format)'],
  ['NLST', 'RFC 959', 'transfer', 'Name list'],
  ['SITE', 'RFC 959', 'service', 'Site-specific command'],
  ['SYST', 'RFC 959', 'info', 'System type'],
  ['STAT', 'RFC 959', 'info', 'Status (of the server, a transfer, or a path)'],
  ['HELP', 'RFC 959', 'info', 'Help'],
  ['NOOP', 'RFC 959', 'other', 'No operation (keep-alive)'],
  // RFC 2228 security extensions
  ['AUTH', 'RFC 2228', 'security', 'Authentication/security mechanism (TLS, SSL)'],
  ['ADAT', 'RFC 2228', 'security', 'Authentication/security data'],
  ['PROT', 'RFC 2228', 'security', 'Data channel protection level (C clear, P private)'],
  ['PBSZ', 'RFC 2228', 'security', 'Protection buffer size'],
  ['CCC', 'RFC 2228', 'security', 'Clear command channel (back to plain text)'],
  ['MIC', 'RFC 2228', 'security', 'Integrity protected command'],
  ['CONF', 'RFC 2228', 'security', 'Confidentiality protected command'],
  ['ENC', 'RFC 2228', 'security', 'Privacy protected command'],
  // RFC 2389 feature negotiation
  ['FEAT', 'RFC 2389', 'info', 'List server features'],
  ['OPTS', 'RFC 2389', 'other', 'Set options for a command (e.g. OPTS UTF8 ON)'],
  // RFC 2428 IPv6 and NAT
  ['EPRT', 'RFC 2428', 'setup', 'Extended active mode: address family, address and port'],
  ['EPSV', 'RFC 2428', 'setup', 'Extended passive mode: port only, on the control address'],
  // RFC 2640 internationalization
  ['LANG', 'RFC 2640', 'other', 'Language of replies'],
  // RFC 3659 extensions
  ['MLST', 'RFC 3659', 'info', 'Machine-readable facts about one path'],
  ['MLSD', 'RFC 3659', 'transfer', 'Machine-readable directory listing'],
  ['SIZE', 'RFC 3659', 'info', 'File size'],
  ['MDTM', 'RFC 3659', 'info', 'File modification time'],
  // RFC 7151 virtual hosts
  ['HOST', 'RFC 7151', 'access', 'Virtual host to log in to'],
  // RFC 1639 long addresses
  ['LPRT', 'RFC 1639', 'setup', 'Long active mode: address family, address and port'],
  ['LPSV', 'RFC 1639', 'setup', 'Long passive mode'],
  // RFC 775 / common X-verbs
  ['XCWD', 'RFC 775', 'access', 'Change working directory (old form of CWD)'],
  ['XCUP', 'RFC 775', 'access', 'Change to parent directory (old form of CDUP)'],
  ['XMKD', 'RFC 775', 'service', 'Make a directory (old form of MKD)'],
  ['XRMD', 'RFC 775', 'service', 'Remove a directory (old form of RMD)'],
  ['XPWD', 'RFC 775', 'info', 'Print working directory (old form of PWD)'],
  // Widely implemented extensions
  ['CLNT', 'extension (Serv-U, FileZilla, ProFTPD)', 'other', 'Client name'],
  ['CSID', 'extension (Serv-U, Smart FTP)', 'other', 'Client/server identification'],
  ['AVBL', 'extension (draft-peterson-streamlined-ftp)', 'info', 'Available space'],
  ['DSIZ', 'extension (draft-peterson-streamlined-ftp)', 'info', 'Directory size'],
  ['RMDA', 'extension (draft-peterson-streamlined-ftp)', 'service', 'Remove a directory tree'],
  ['THMB', 'extension (draft-peterson-streamlined-ftp)', 'info', 'Thumbnail of an image file'],
  ['MFMT', 'extension (draft-somers-ftp-mfxx)', 'service', 'Set file modification time'],
  ['MFCT', 'extension (draft-somers-ftp-mfxx)', 'service', 'Set file creation time'],
  ['MFF', 'extension (draft-somers-ftp-mfxx)', 'service', 'Set file facts'],
  ['HASH', 'extension (draft-bryan-ftpext-hash)', 'info', 'File hash'],
  ['XCRC', 'extension (Serv-U, FileZilla)', 'info', 'CRC32 of a file'],
  ['XMD5', 'extension (Serv-U)', 'info', 'MD5 of a file'],
  ['XSHA', 'extension (Serv-U)', 'info', 'SHA-1 of a file'],
  ['XSHA1', 'extension (Serv-U)', 'info', 'SHA-1 of a file'],
  ['XSHA256', 'extension (Serv-U)', 'info', 'SHA-256 of a file'],
  ['XSHA512', 'extension (Serv-U)', 'info', 'SHA-512 of a file'],
  ['SPSV', 'extension (draft, pure-ftpd)', 'setup', 'Single-port passive mode'],
  ['SSCN', 'extension (FileZilla, Serv-U)', 'security', 'Set secured client negotiation (FXP over TLS)'],
  ['CPSV', 'extension (FileZilla, Serv-U)', 'setup', 'Passive mode with TLS client role (FXP)'],
  ['XDEL', 'extension', 'service', 'Delete a file (old form of DELE)'],
];

const TABLE: ReadonlyMap<string, VerbInfo> = new Map(
  ROWS.map(([verb, rfc, kind, summary]) => [verb, { verb, rfc, summary, kind }]),
);

/** What a verb is, or null for an unknown verb (the caller keeps it as it is). */
export function verbInfo(verb: string): VerbInfo | null {
  return TABLE.get(verb.toUpperCase()) ?? null;
}

/** Every known verb, for completion and detection. */
export function knownVerbs(): IterableIterator<string> {
  return TABLE.keys();
}

/** Commands that move bytes over a data connection. */
export const TRANSFER_VERBS: ReadonlySet<string> = new Set(['RETR', 'STOR', 'STOU', 'APPE', 'LIST', 'NLST', 'MLSD']);

/** Commands that set up a data connection (RFC 959, 2428, 1639). */
export const SETUP_VERBS: ReadonlySet<string> = new Set(['PASV', 'EPSV', 'PORT', 'EPRT', 'LPRT', 'LPSV']);

/** Commands whose argument is a secret (masked in reports unless asked otherwise). */
export const CREDENTIAL_VERBS: ReadonlySet<string> = new Set(['PASS', 'ACCT']);

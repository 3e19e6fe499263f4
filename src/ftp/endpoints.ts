/**
 * Data-channel announcements, parsed and formatted (pure):
 *   PORT h1,h2,h3,h4,p1,p2 / 227 (h1,h2,h3,h4,p1,p2)            RFC 959
 *   EPRT |af|addr|port| / 229 (|||port|)                         RFC 2428
 *   LPRT af,hal,h1..hn,pal,p1..pn / 228 (af,hal,…)               RFC 1639
 *
 * Parsers return null for anything out of range (octet > 255, port 0 or > 65535, a bad address
 * family or length) and never throw. Addresses come out canonical: IPv4 dotted quad without leading
 * zeros, IPv6 in RFC 5952 form, and IPv4-mapped IPv6 (::ffff:a.b.c.d) as plain IPv4, so they compare
 * equal to the addresses the TCP layer reports.
 */

export interface HostPort {
  /** Textual, v4 or v6, canonical. */
  ip: string;
  port: number;
}

// ---------------------------------------------------------------- addresses

/** Four octets, or null. Accepts decimal parts with leading zeros ("010" is 10, never octal). */
export function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out.push(v);
  }
  return out;
}

/** Sixteen bytes, or null. Accepts "::" compression and a trailing dotted IPv4; no zone ids. */
export function parseIpv6(text: string): number[] | null {
  if (text.length < 2 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9A-Fa-f]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  let words: number[];
  if (halves.length === 2) {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    words = [...head, ...new Array<number>(fill).fill(0), ...tail];
  } else {
    words = head;
  }
  if (words.length !== 8) return null;
  const bytes: number[] = [];
  for (const w of words) bytes.push(w >> 8, w & 0xff);
  return bytes;
}

function formatIpv4(b: ArrayLike<number>, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

function isV4Mapped(b: number[]): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

/** RFC 5952: lower-case, no leading zeros, the longest run (≥ 2) of zero groups as "::", first if tied. */
function formatIpv6(b: number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestAt < 0) return hex(words);
  return `${hex(words.slice(0, bestAt))}::${hex(words.slice(bestAt + bestLen))}`;
}

/** Canonical text of an IPv4 or IPv6 address (IPv4-mapped IPv6 as IPv4), or null when not an address. */
export function canonicalIp(text: string): string | null {
  const v4 = parseIpv4(text);
  if (v4) return formatIpv4(v4);
  const v6 = parseIpv6(text);
  if (!v6) return null;
  return isV4Mapped(v6) ? formatIpv4(v6, 12) : formatIpv6(v6);
}

function v4Bytes(ip: string, what: string): number[] {
  const canon = canonicalIp(ip);
  const b = canon === null ? null : parseIpv4(canon);
  if (!b) throw new RangeError(`${what} needs an IPv4 address, got "${ip}"; use EPRT/EPSV for IPv6`);
  return b;
}

function checkPort(port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`port must be 1-65535, got ${port}`);
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 1 && p <= 65535;
}

// ---------------------------------------------------------------- PORT / 227

/** Comma-separated decimals of 1-3 digits, each 0-255, with optional spaces around them; null if any is not. */
function byteList(text: string): number[] | null {
  const n: number[] = [];
  const len = text.length;
  let i = 0;
  for (;;) {
    while (i < len && isSpace(text.charCodeAt(i))) i++;
    let v = 0;
    let digits = 0;
    for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i)) {
      v = v * 10 + (c - 0x30);
      digits++;
    }
    if (digits === 0 || digits > 3 || v > 255) return null;
    n.push(v);
    while (i < len && isSpace(text.charCodeAt(i))) i++;
    if (i === len) return n;
    if (text.charCodeAt(i) !== 0x2c) return null;
    i++;
  }
}

/** White space as String.prototype.trim() sees it. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c > 0x7f && /\s/.test(String.fromCharCode(c)));
}

/** Six comma-separated decimals, each 0-255, with optional spaces around them. */
function sixNumbers(text: string): HostPort | null {
  const n = byteList(text);
  if (n === null || n.length !== 6) return null;
  const port = n[4]! * 256 + n[5]!;
  if (!validPort(port)) return null;
  return { ip: formatIpv4(n), port };
}

/** PORT argument "h1,h2,h3,h4,p1,p2". */
export function parsePortArg(arg: string): HostPort | null {
  return sixNumbers(arg.trim());
}

/**
 * 227 reply text: the first run of six comma-separated numbers, in parentheses or not
 * ("Entering Passive Mode (10,0,0,1,4,1)", "Entering Passive Mode. 10,0,0,1,4,1", "=10,0,0,1,4,1").
 * 0.0.0.0 is returned as such: the caller decides (some servers mean "the control address").
 */
export function parsePasvReply(text: string): HostPort | null {
  const m = /(?<![\d,])(\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3})(?![\d,])/.exec(text);
  return m ? sixNumbers(m[1]!) : null;
}

export function formatPortArg(hp: HostPort): string {
  const b = v4Bytes(hp.ip, 'PORT');
  checkPort(hp.port);
  return `${b.join(',')},${hp.port >> 8},${hp.port & 0xff}`;
}

export function formatPasvReply(hp: HostPort): string {
  return `Entering Passive Mode (${formatPortArg(hp)}).`;
}

// ---------------------------------------------------------------- EPRT / 229

function isDelimiter(c: number): boolean {
  return c >= 33 && c <= 126;
}

/** "<d>af<d>addr<d>port<d>" with any delimiter 33-126 (RFC 2428 §2); af 1 = IPv4, 2 = IPv6. */
export function parseEprtArg(arg: string): HostPort | null {
  const s = arg.trim();
  if (s.length < 7 || !isDelimiter(s.charCodeAt(0))) return null;
  const d = s[0]!;
  const fields = s.split(d);
  // ["", af, addr, port, ""]
  if (fields.length !== 5 || fields[0] !== '' || fields[4] !== '') return null;
  const [, af, addr, portText] = fields as [string, string, string, string, string];
  if (!/^\d{1,5}$/.test(portText!)) return null;
  const port = Number(portText);
  if (!validPort(port)) return null;
  if (af === '1') {
    const b = parseIpv4(addr!);
    return b ? { ip: formatIpv4(b), port } : null;
  }
  if (af === '2') {
    const b = parseIpv6(addr!);
    if (!b) return null;
    return { ip: isV4Mapped(b) ? formatIpv4(b, 12) : formatIpv6(b), port };
  }
  return null;
}

/**
 * 229 reply text: "(<d><d><d>port<d>)" with any delimiter; the parenthesized form first, then the bare
 * form for servers that drop the parentheses.
 */
export function parseEpsvReply(text: string): { port: number } | null {
  const m = /\(([\x21-\x7e])\1\1(\d{1,5})\1\)/.exec(text) ?? /([\x21-\x7e])\1\1(\d{1,5})\1/.exec(text);
  if (!m) return null;
  const port = Number(m[2]);
  return validPort(port) ? { port } : null;
}

export function formatEprtArg(hp: HostPort): string {
  checkPort(hp.port);
  const canon = canonicalIp(hp.ip);
  if (canon === null) throw new RangeError(`EPRT needs an IP address, got "${hp.ip}"`);
  return `|${canon.includes(':') ? 2 : 1}|${canon}|${hp.port}|`;
}

export function formatEpsvReply(port: number): string {
  checkPort(port);
  return `Entering Extended Passive Mode (|||${port}|)`;
}

// ---------------------------------------------------------------- LPRT / 228

/** "af,hal,h1..hn,pal,p1..pn" (RFC 1639): af 4 with 4 address bytes, af 6 with 16; pal 2 (or 1). */
function parseLong(text: string): HostPort | null {
  const n = byteList(text);
  if (n === null) return null;
  const [af, hal] = n;
  if ((af !== 4 || hal !== 4) && (af !== 6 || hal !== 16)) return null;
  const pal = n[2 + hal];
  if (pal === undefined || pal < 1 || pal > 2 || n.length !== 3 + hal + pal) return null;
  const addr = n.slice(2, 2 + hal);
  const portBytes = n.slice(3 + hal);
  const port = portBytes.reduce((acc, b) => acc * 256 + b, 0);
  if (!validPort(port)) return null;
  const ip = af === 4 ? formatIpv4(addr) : isV4Mapped(addr) ? formatIpv4(addr, 12) : formatIpv6(addr);
  return { ip, port };
}

export function parseLprtArg(arg: string): HostPort | null {
  return parseLong(arg.trim());
}

/** 228 reply text: the comma-separated numbers, in parentheses or not. */
export function parseLpsvReply(text: string): HostPort | null {
  const m = /\(([\d\s,]+)\)/.exec(text) ?? /(\d{1,3}(?:\s*,\s*\d{1,3}){8,})/.exec(text);
  return m ? parseLong(m[1]!) : null;
}

export function formatLprtArg(hp: HostPort): string {
  checkPort(hp.port);
  const canon = canonicalIp(hp.ip);
  if (canon === null) throw new RangeError(`LPRT needs an IP address, got "${hp.ip}"`);
  const bytes = canon.includes(':') ? parseIpv6(canon)! : parseIpv4(canon)!;
  const af = bytes.length === 4 ? 4 : 6;
  return `${af},${bytes.length},${bytes.join(',')},2,${hp.port >> 8},${hp.port & 0xff}`;
}

export function formatLpsvReply(hp: HostPort): string {
  return `Entering Long Passive Mode (${formatLprtArg(hp)})`;
}

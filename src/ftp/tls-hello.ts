/**
 * The TLS ClientHello that follows AUTH TLS / 234 on the control connection (RFC 4217), read from
 * the first bytes the client sends: the server name (SNI, RFC 6066), the highest version it offers
 * (supported_versions, RFC 8446 §4.2.1, else the legacy client_version) and the ALPN protocols.
 *
 * The handshake message may span several TLS records; the caller hands in the bytes it has and tries
 * again with more when the answer is null (at most MAX_CLIENT_HELLO_BYTES are ever needed).
 */

export interface ClientHelloInfo {
  /** The host_name entry of server_name, or null when absent. */
  sni: string | null;
  /** "TLS 1.3" from supported_versions when present, else from client_version ("TLS 1.2", "SSL 3.0", …). */
  version: string;
  /** ALPN protocol names, in the client's order (empty when absent). */
  alpn: string[];
  /**
   * Whether the client offers to resume an earlier TLS session: a pre_shared_key (TLS 1.3), a
   * non-empty session ticket, or (offering nothing above TLS 1.2) a non-empty session id. An FTPS data
   * connection resumes the control connection's session this way (vsftpd require_ssl_reuse).
   */
  resumption: boolean;
}

/** A ClientHello is at most 2^24 bytes by the format, but no real one exceeds a few records. */
export const MAX_CLIENT_HELLO_BYTES = 4 * (16384 + 5);

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;
const EXT_SESSION_TICKET = 35;
const EXT_PRE_SHARED_KEY = 41;

/** "TLS 1.2" for 0x0303 and so on; GREASE values (RFC 8701) are null. */
export function tlsVersionName(v: number): string | null {
  if ((v & 0x0f0f) === 0x0a0a && (v >> 8) === (v & 0xff)) return null; // GREASE
  switch (v) {
    case 0x0300: return 'SSL 3.0';
    case 0x0301: return 'TLS 1.0';
    case 0x0302: return 'TLS 1.1';
    case 0x0303: return 'TLS 1.2';
    case 0x0304: return 'TLS 1.3';
  }
  if ((v >> 8) === 0x7f) return `TLS 1.3 (draft ${v & 0xff})`;
  if (v === 0x0002) return 'SSL 2.0';
  return `0x${v.toString(16).padStart(4, '0')}`;
}

/** Rank for "highest offered": real versions by number, drafts just below 1.3. */
function versionRank(v: number): number {
  if ((v >> 8) === 0x7f) return 0x0303 + (v & 0xff) / 256;
  return v;
}

/** True when the bytes start like a TLS record (handshake, alert, change_cipher_spec, application data). */
export function looksLikeTls(buf: Uint8Array): boolean {
  if (buf.length < 3) return false;
  const type = buf[0]!;
  if (type >= 20 && type <= 23 && buf[1] === 3 && buf[2]! <= 4) {
    if (buf.length < 5) return true;
    const len = (buf[3]! << 8) | buf[4]!;
    return len > 0 && len <= 16384 + 2048;
  }
  // SSLv2-framed ClientHello (old clients offering SSLv2 compatibility): 2-byte length, msg type 1, version 3.x / 2.
  if ((type & 0x80) !== 0 && buf.length >= 5 && buf[2] === 1 && (buf[3] === 3 || (buf[3] === 0 && buf[4] === 2))) return true;
  return false;
}

/** The handshake bytes carried by the leading handshake records, concatenated; null if not handshake records. */
function handshakeBytes(buf: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let at = 0;
  let total = 0;
  while (at + 5 <= buf.length && total < MAX_CLIENT_HELLO_BYTES) {
    if (buf[at] !== HANDSHAKE || buf[at + 1] !== 3) break;
    const len = buf.readUInt16BE(at + 3);
    const body = buf.subarray(at + 5, Math.min(buf.length, at + 5 + len));
    parts.push(body);
    total += body.length;
    if (body.length < len) break;
    at += 5 + len;
  }
  if (parts.length === 0) return null;
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** A bounds-checked reader; every read past the end makes the whole parse give null. */
class Reader {
  constructor(private readonly b: Buffer, public at = 0, private readonly end = b.length) {}
  u8(): number {
    if (this.at + 1 > this.end) throw OUT;
    return this.b[this.at++]!;
  }
  u16(): number {
    if (this.at + 2 > this.end) throw OUT;
    const v = this.b.readUInt16BE(this.at);
    this.at += 2;
    return v;
  }
  u24(): number {
    if (this.at + 3 > this.end) throw OUT;
    const v = (this.b[this.at]! << 16) | this.b.readUInt16BE(this.at + 1);
    this.at += 3;
    return v;
  }
  bytes(n: number): Buffer {
    if (this.at + n > this.end) throw OUT;
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  sub(n: number): Reader {
    if (this.at + n > this.end) throw OUT;
    const r = new Reader(this.b, this.at, this.at + n);
    this.at += n;
    return r;
  }
  get left(): number {
    return this.end - this.at;
  }
}
const OUT = new Error('short');

/** SNI, version and ALPN of a ClientHello at the start of `buf`; null when not (yet) a complete one. */
export function parseClientHello(buf: Buffer): ClientHelloInfo | null {
  const hs = handshakeBytes(buf);
  if (!hs) return null;
  try {
    const r = new Reader(hs);
    if (r.u8() !== CLIENT_HELLO) return null;
    const body = r.sub(r.u24());
    const legacyVersion = body.u16();
    body.bytes(32); // random
    const sessionIdLength = body.bytes(body.u8()).length;
    body.bytes(body.u16()); // cipher suites
    body.bytes(body.u8()); // compression methods
    let sni: string | null = null;
    let best: number | null = null;
    const alpn: string[] = [];
    let offered = false;
    if (body.left > 0) {
      const exts = body.sub(body.u16());
      while (exts.left > 0) {
        const type = exts.u16();
        const ext = exts.sub(exts.u16());
        if (type === EXT_SERVER_NAME && ext.left > 0) {
          const list = ext.sub(ext.u16());
          while (list.left > 0) {
            const nameType = list.u8();
            const name = list.bytes(list.u16());
            if (nameType === 0 && sni === null) sni = name.toString('latin1');
          }
        } else if (type === EXT_SUPPORTED_VERSIONS) {
          const list = ext.sub(ext.u8());
          while (list.left >= 2) {
            const v = list.u16();
            if (tlsVersionName(v) === null) continue;
            if (best === null || versionRank(v) > versionRank(best)) best = v;
          }
        } else if (type === EXT_PRE_SHARED_KEY || (type === EXT_SESSION_TICKET && ext.left > 0)) {
          offered = true;
        } else if (type === EXT_ALPN && ext.left > 0) {
          const list = ext.sub(ext.u16());
          while (list.left > 0) alpn.push(list.bytes(list.u8()).toString('latin1'));
        }
      }
    }
    const version = tlsVersionName(best ?? legacyVersion) ?? tlsVersionName(legacyVersion) ?? 'unknown';
    // A TLS 1.3 client sends a random 32-byte session id in middlebox-compatibility mode: only a
    // client offering nothing above 1.2 resumes by session id.
    const resumption = offered || ((best === null || best < 0x0304) && legacyVersion <= 0x0303 && sessionIdLength > 0);
    return { sni, version, alpn, resumption };
  } catch (e) {
    if (e === OUT) return null;
    throw e;
  }
}

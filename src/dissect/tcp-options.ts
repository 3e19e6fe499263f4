import type { TcpOptions } from './types.js';

export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MSS = 2;
export const TCPOPT_WSCALE = 3;
export const TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;

/** RFC 7323 §2.3: a shift above 14 is used as 14. */
export const MAX_WSCALE = 14;

/**
 * The options a connection's bookkeeping needs, from options bytes buf[offset, offset+length).
 * Malformed options end the walk; what was read before stays.
 */
export function parseTcpOptions(buf: Buffer, offset: number, length: number): TcpOptions {
  const out: TcpOptions = {};
  const end = Math.min(offset + length, buf.length);
  let i = offset;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) { i++; continue; }
    if (i + 1 >= end) break;
    const len = buf[i + 1]!;
    if (len < 2 || i + len > end) break;
    switch (kind) {
      case TCPOPT_MSS: if (len === 4) out.mss = buf.readUInt16BE(i + 2); break;
      case TCPOPT_WSCALE: if (len === 3) out.wscale = buf[i + 2]!; break;
      case TCPOPT_SACK_PERM: if (len === 2) out.sackPermitted = true; break;
      case TCPOPT_TIMESTAMP:
        if (len === 10) { out.tsVal = buf.readUInt32BE(i + 2); out.tsEcr = buf.readUInt32BE(i + 6); }
        break;
    }
    i += len;
  }
  return out;
}

import type { Dir } from './events.js';

/**
 * Which side of a connection whose handshake was not captured is the client. Returns 0 when
 * the packet's sender is the client, 1 when its receiver is. A port the caller knows as a
 * server port wins, then a well-known port (< 1024) facing an ephemeral one; otherwise the
 * first sender is taken as the client, as Zeek and Wireshark do.
 */
export function guessClientSide(srcPort: number, dstPort: number, isServerPort?: (port: number) => boolean): Dir {
  if (isServerPort !== undefined) {
    const dstServer = isServerPort(dstPort);
    const srcServer = isServerPort(srcPort);
    if (dstServer && !srcServer) return 0;
    if (srcServer && !dstServer) return 1;
  }
  if (dstPort < 1024 && srcPort >= 1024) return 0;
  if (srcPort < 1024 && dstPort >= 1024) return 1;
  return 0;
}

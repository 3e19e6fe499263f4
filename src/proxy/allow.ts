/**
 * Forward-mode destination policy: an explicit allow list of host-name patterns and CIDRs.
 * Empty list = nothing allowed, so the proxy is never an open relay.
 */
import { BlockList, isIP } from 'node:net';
import { normalizeIp } from './rewrite.js';

export interface AllowList {
  /** Does the user-given host name or its resolved address match an entry? */
  allows(hostName: string, resolvedIp: string): boolean;
  /** False when only name patterns are listed: a name matching none is refused without a DNS lookup. */
  readonly needsAddress: boolean;
  readonly entries: readonly string[];
}

/** Throws a plain Error with a one-line message for an entry that is neither a pattern nor a CIDR. */
export function parseAllowList(entries: readonly string[]): AllowList {
  const cidrs = new BlockList();
  const names: RegExp[] = [];
  let addresses = 0;
  for (const raw of entries) {
    for (const e of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
      if (addEntry(e, cidrs, names)) addresses++;
    }
  }
  return {
    entries: [...entries],
    needsAddress: addresses > 0,
    allows(hostName: string, resolvedIp: string): boolean {
      const ip = normalizeIp(resolvedIp);
      const fam = isIP(ip);
      if (fam === 4 && cidrs.check(ip, 'ipv4')) return true;
      if (fam === 6 && cidrs.check(ip, 'ipv6')) return true;
      const h = hostName.toLowerCase().replace(/\.$/, '');
      return names.some((re) => re.test(h));
    },
  };
}

/** Returns true for an address/CIDR entry, false for a name pattern. */
function addEntry(e: string, cidrs: BlockList, names: RegExp[]): boolean {
  const slash = e.indexOf('/');
  if (slash >= 0) {
    const addr = e.slice(0, slash);
    const bits = Number(e.slice(slash + 1));
    const fam = isIP(addr);
    if (fam === 0 || !Number.isInteger(bits) || bits < 0 || bits > (fam === 4 ? 32 : 128)) {
      throw new Error(`--allow ${e}: not a valid CIDR (use e.g. 192.0.2.0/24 or 2001:db8::/32)`);
    }
    cidrs.addSubnet(addr, bits, fam === 4 ? 'ipv4' : 'ipv6');
    return true;
  }
  const fam = isIP(e);
  if (fam !== 0) {
    cidrs.addAddress(normalizeIp(e), fam === 4 ? 'ipv4' : 'ipv6');
    return true;
  }
  if (!/^[a-z0-9*?.-]+$/i.test(e)) {
    throw new Error(`--allow ${e}: not a host pattern (letters, digits, '.', '-', '*', '?') nor a CIDR`);
  }
  const re = e.toLowerCase().replace(/[.]/g, '\\.').replace(/\*/g, '[a-z0-9.-]*').replace(/\?/g, '[a-z0-9-]');
  names.push(new RegExp(`^${re}$`));
  return false;
}

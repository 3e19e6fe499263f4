/**
 * Forward-mode destination policy: deny by default, an explicit allow list of rules.
 *
 * - A name rule (`ftp.example.org`, `*.example.org`) matches the host name the client typed.
 * - An address rule (`192.0.2.0/24`, `10.1.2.3`, `2001:db8::/32`) matches the address the
 *   destination resolves to (or the address the client typed).
 * - Every rule allows port 21 only unless it names ports: `host:2121`, `*.example.org:21,2121`,
 *   `10.0.0.0/8:2100-2199`, `[2001:db8::/32]:21`, `host:*`.
 * - A destination allowed by a name rule must also resolve somewhere allowed: to an address of an
 *   `--allow-resolved` rule when any is given, otherwise to a public address (never loopback,
 *   private, link-local, multicast or unspecified). Whoever controls the DNS of a name the rule
 *   covers could otherwise point the proxy at the proxy host itself or the network behind it.
 *
 * The proxy connects to exactly the address that was checked (no second lookup).
 */
import { BlockList, isIP } from 'node:net';
import { normalizeIp } from './rewrite.js';

export type AllowVerdict = { ok: true } | { ok: false; reason: string };

export interface AllowList {
  /**
   * Before any DNS lookup: refuses what no rule can allow whatever the name resolves to. `ok`
   * means a lookup is worth making (or, for an address typed by the client, that it is allowed).
   */
  precheck(host: string, port: number): AllowVerdict;
  /** The final verdict, with the address the destination resolved to. */
  check(host: string, port: number, resolvedIp: string): AllowVerdict;
  readonly entries: readonly string[];
}

type PortRule = [from: number, to: number][] | 'any';

interface NameRule { kind: 'name'; text: string; re: RegExp; ports: PortRule }
interface AddrRule { kind: 'addr'; text: string; block: BlockList; ports: PortRule }
type Rule = NameRule | AddrRule;

const DEFAULT_PORTS: PortRule = [[21, 21]];

/** Addresses a name rule may not resolve to unless --allow-resolved says so. */
const NOT_PUBLIC = (() => {
  const b = new BlockList();
  for (const [a, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
    ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
    b.addSubnet(a, bits, 'ipv4');
  }
  // IPv4-mapped addresses are normalised to IPv4 before the check (a ::ffff:0:0/96 entry would
  // make Node's BlockList match every IPv4 address).
  for (const [a, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96]] as const) {
    b.addSubnet(a, bits, 'ipv6');
  }
  return b;
})();

/** Throws a plain Error with a one-line message (what, and how to write it) for a malformed entry. */
export function parseAllowList(entries: readonly string[], resolvedEntries: readonly string[] = []): AllowList {
  const rules: Rule[] = [];
  for (const raw of entries) for (const e of splitEntries(raw)) rules.push(parseRule(e));
  const resolved = new BlockList();
  let resolvedCount = 0;
  for (const raw of resolvedEntries) {
    for (const e of raw.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean)) {
      if (addAddress(resolved, e) !== true) {
        throw new Error(`--allow-resolved ${e}: not an address or CIDR (use e.g. 10.0.0.0/8 or 2001:db8::/32)`);
      }
      resolvedCount++;
    }
  }
  const names = rules.filter((r): r is NameRule => r.kind === 'name');
  const addrs = rules.filter((r): r is AddrRule => r.kind === 'addr');

  const denied = (host: string, port: number) =>
    ({ ok: false, reason: `destination ${hostPort(host, port)} is not allowed by the proxy (--allow)` }) as const;
  const portDenied = (host: string, port: number, matched: Rule[]) => ({
    ok: false,
    reason: `port ${port} is not allowed for ${host} (rule${matched.length > 1 ? 's' : ''} ${matched.map((r) => r.text).join(', ')} allow${matched.length > 1 ? '' : 's'} ${matched.map((r) => portText(r.ports)).join(', ')}; rules without a port allow 21 only)`,
  }) as const;

  const literal = (host: string) => isIP(host) !== 0;
  const nameMatches = (host: string) => (literal(host) ? [] : names.filter((r) => r.re.test(host.toLowerCase().replace(/\.$/, ''))));
  const addrMatches = (ip: string) => {
    const a = normalizeIp(ip);
    const fam = isIP(a);
    return fam === 0 ? [] : addrs.filter((r) => r.block.check(a, fam === 4 ? 'ipv4' : 'ipv6'));
  };

  return {
    entries: [...entries],
    precheck(host: string, port: number): AllowVerdict {
      if (literal(host)) return this.check(host, port, host);
      const byName = nameMatches(host);
      if (byName.some((r) => portAllowed(r.ports, port))) return { ok: true };
      // The name might still resolve into an address rule that allows this port.
      if (addrs.some((r) => portAllowed(r.ports, port))) return { ok: true };
      return byName.length > 0 ? portDenied(host, port, byName) : denied(host, port);
    },
    check(host: string, port: number, resolvedIp: string): AllowVerdict {
      const ip = normalizeIp(resolvedIp);
      const byAddr = addrMatches(ip);
      if (byAddr.some((r) => portAllowed(r.ports, port))) return { ok: true };
      const byName = nameMatches(host);
      const nameOk = byName.filter((r) => portAllowed(r.ports, port));
      if (nameOk.length === 0) {
        const matched = [...byName, ...byAddr];
        return matched.length > 0 ? portDenied(host, port, matched) : denied(host, port);
      }
      const fam = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      if (resolvedCount > 0) {
        if (resolved.check(ip, fam)) return { ok: true };
        return { ok: false, reason: `${host} resolves to ${ip}, which no --allow-resolved rule allows` };
      }
      if (NOT_PUBLIC.check(ip, fam)) {
        return { ok: false, reason: `${host} resolves to ${ip}, a loopback, private or link-local address; allow it with --allow-resolved` };
      }
      return { ok: true };
    },
  };
}

function parseRule(e: string): Rule {
  let body = e;
  let portPart: string | null = null;
  if (e.startsWith('[')) {
    // [v6], [v6]:ports, [v6/len]:ports
    const close = e.indexOf(']');
    if (close < 0) throw new Error(`--allow ${e}: missing ']' (write IPv6 rules with ports as [2001:db8::/32]:21)`);
    body = e.slice(1, close);
    const rest = e.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw new Error(`--allow ${e}: expected :PORTS after ']'`);
      portPart = rest.slice(1);
    }
  } else if ((e.match(/:/g) ?? []).length === 1) {
    const c = e.indexOf(':');
    body = e.slice(0, c);
    portPart = e.slice(c + 1);
  }
  const ports = portPart === null ? DEFAULT_PORTS : parsePorts(portPart, e);
  const block = new BlockList();
  const added = addAddress(block, body);
  if (added === true) return { kind: 'addr', text: e, block, ports };
  if (added === 'bad' || body.includes('/') || body.includes(':')) {
    throw new Error(`--allow ${e}: not a valid CIDR or address (use e.g. 192.0.2.0/24, 10.1.2.3:2121 or [2001:db8::/32]:21)`);
  }
  if (!/^[a-z0-9*?.-]+$/i.test(body)) {
    throw new Error(`--allow ${e}: not a host pattern (letters, digits, '.', '-', '*', '?') nor an address or CIDR`);
  }
  const re = body.toLowerCase().replace(/[.]/g, '\\.').replace(/\*/g, '[a-z0-9.-]*').replace(/\?/g, '[a-z0-9-]');
  return { kind: 'name', text: e, re: new RegExp(`^${re}$`), ports };
}

/**
 * Entries are separated by commas, as before ports existed; a comma followed by a port or range
 * belongs to the port list before it (`a.org:21,2121,b.org` is two rules).
 */
function splitEntries(raw: string): string[] {
  const out: string[] = [];
  for (const piece of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    const prev = out.length > 0 ? out[out.length - 1]! : null;
    if (prev !== null && /^\d{1,5}(-\d{1,5})?$/.test(piece) && /:(\*|[\d,-]+)$/.test(prev)) out[out.length - 1] = `${prev},${piece}`;
    else out.push(piece);
  }
  return out;
}

/** Adds an address or CIDR: true when added, false when `e` is not one, 'bad' for an address with a bad prefix. */
function addAddress(block: BlockList, e: string): boolean | 'bad' {
  const slash = e.indexOf('/');
  if (slash >= 0) {
    const addr = e.slice(0, slash);
    const bitsText = e.slice(slash + 1);
    const bits = Number(bitsText);
    const fam = isIP(addr);
    if (fam === 0) return false;
    if (!/^\d{1,3}$/.test(bitsText) || bits > (fam === 4 ? 32 : 128)) return 'bad';
    block.addSubnet(normalizeIp(addr), bits, fam === 4 ? 'ipv4' : 'ipv6');
    return true;
  }
  const fam = isIP(e);
  if (fam === 0) return false;
  const a = normalizeIp(e);
  block.addAddress(a, isIP(a) === 4 ? 'ipv4' : 'ipv6');
  return true;
}

function parsePorts(text: string, entry: string): PortRule {
  if (text === '*') return 'any';
  const out: [number, number][] = [];
  for (const part of text.split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part.trim());
    const from = m ? Number(m[1]) : NaN;
    const to = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || from < 1 || to > 65535 || from > to) {
      throw new Error(`--allow ${entry}: '${text}' is not a port list (use e.g. :21, :21,2121, :2100-2199 or :*)`);
    }
    out.push([from, to]);
  }
  return out;
}

function portAllowed(rule: PortRule, port: number): boolean {
  return rule === 'any' || rule.some(([a, b]) => port >= a && port <= b);
}

function portText(rule: PortRule): string {
  return rule === 'any' ? 'any port' : 'port ' + rule.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(',');
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { FtpscopeError } from '../errors.js';
import { loadLibpcap } from './libpcap.js';
import { openLibpcapLive } from './live-libpcap.js';
import { linkTypeName } from './linktypes.js';
import { newPacketRecord } from './parser.js';
import type { PacketCallback } from './types.js';

/** The parts of the optional `cap` module (libpcap binding) we use. */
interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): void;
  on(event: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(event?: string): void;
}
interface CapModule {
  Cap: {
    new (): CapInstance;
    deviceList(): { name: string; description?: string; addresses: { addr: string; netmask?: string; broadaddr?: string; dstaddr?: string }[]; flags?: string }[];
  };
}

export const LIVE_UNAVAILABLE_HINT = 'install libpcap-dev (apt-get install libpcap-dev) and rebuild: npm rebuild cap';
export const LIVE_PERMISSION_HINT = 'run as root or grant CAP_NET_RAW: sudo setcap cap_net_raw,cap_net_admin=eip $(readlink -f $(which node))';

let capModule: CapModule | null = null;

function loadCap(): CapModule {
  if (capModule) return capModule;
  try {
    capModule = createRequire(import.meta.url)('cap') as CapModule;
    return capModule;
  } catch (e) {
    const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
    throw new FtpscopeError('live-unavailable', `live capture is unavailable: the optional module "cap" could not be loaded (${why})`, LIVE_UNAVAILABLE_HINT);
  }
}

function capLoadable(): boolean {
  try {
    loadCap();
    return true;
  } catch {
    return false;
  }
}

export type LiveBackend = 'libpcap' | 'cap';

/**
 * Which binding live capture uses: libpcap through koffi when both load (kernel timestamps,
 * wire lengths, drop counts), else the `cap` addon. FTPSCOPE_LIVE_BACKEND=cap|libpcap forces one.
 */
export function liveBackend(): LiveBackend | null {
  const forced = process.env.FTPSCOPE_LIVE_BACKEND;
  if (forced === 'cap') return capLoadable() ? 'cap' : null;
  if (forced === 'libpcap') return loadLibpcap() ? 'libpcap' : null;
  if (loadLibpcap()) return 'libpcap';
  return capLoadable() ? 'cap' : null;
}

/** True when live capture can be attempted; it may still need privileges. */
export function liveAvailable(): boolean {
  return liveBackend() !== null;
}

export interface LiveAddress {
  addr: string;
  netmask: string | null;
}

export interface LiveInterface {
  name: string;
  description: string | null;
  addresses: LiveAddress[];
  loopback: boolean;
}

/** The capture devices libpcap offers, with their addresses. */
export function listInterfaces(): LiveInterface[] {
  if (!capLoadable()) {
    if (!loadLibpcap()) loadCap(); // throws live-unavailable with what to do
    return osInterfaces();
  }
  const cap = loadCap();
  let list;
  try {
    list = cap.Cap.deviceList();
  } catch (e) {
    throw openError('', '', e instanceof Error ? e.message : String(e));
  }
  return list.map((d) => ({
    name: d.name,
    description: d.description ?? null,
    addresses: (d.addresses ?? []).filter((a) => a.addr).map((a) => ({ addr: a.addr, netmask: a.netmask ?? null })),
    loopback: d.flags === 'PCAP_IF_LOOPBACK',
  }));
}

export interface LiveOptions {
  device: string;
  /** BPF capture filter, e.g. "tcp port 21 or tcp portrange 1024-65535". */
  filter?: string;
  /** Bytes kept per packet (at most 65535, what cap captures). */
  snaplen?: number;
  /** Kernel buffer for packets not yet read, bytes (default LIVE_DEFAULTS.bufferSize). */
  bufferSize?: number;
  /**
   * libpcap's immediate mode: each packet is handed over as soon as it arrives (TPACKET_V2: a
   * fixed slot of the snaplen per packet, so a 64 MiB ring holds only a few hundred GSO-sized
   * packets). Off by default: packets come in blocks (TPACKET_V3, packed, within
   * LIVE_DEFAULTS.timeoutMs), which holds many times more in the same buffer.
   */
  immediate?: boolean;
  onPacket: PacketCallback;
  /** A failure after the capture started (the consumer threw); the capture is stopped. */
  onError?: (e: unknown) => void;
}

export interface LiveStats {
  packets: number;
  bytes: number;
  /** Packets cut to snaplen. */
  truncated: number;
  /** Packets the kernel or interface dropped (libpcap backend only). */
  kernelDropped?: number;
}

export interface LiveCapture {
  device: string;
  linkType: number;
  linkTypeName: string;
  backend: LiveBackend;
  stop(): void;
  stats(): LiveStats;
}

const CAP_SNAPLEN = 65535;

/**
 * Live capture defaults, chosen by measuring (bench/live.ts, in network namespaces on a 2-CPU
 * machine): a 20 MB download at 2 MB/s over a veth with GSO makes 64 KiB packets, which a smaller
 * snaplen cuts (every cut is a gap); whole packets, a 64 MiB kernel buffer and block delivery
 * (not immediate mode) hold it without a drop while the analysis and the dashboard run.
 */
export const LIVE_DEFAULTS = {
  /** Whole packets, GSO/GRO ones included (tcpdump's default too). */
  snaplen: 262_144,
  bufferSize: 64 << 20,
  immediate: false,
  /** Block delivery: packets reach ftpscope at most this long after they arrived (ms). */
  timeoutMs: 50,
} as const;

/**
 * Cap objects whose open() failed. cap 0.2.1 leaves them half-initialized: close(), or the
 * destructor when the garbage collector frees them, stops a poll handle that never started and
 * crashes the process. Keeping them referenced means they are never collected (a few bytes each;
 * failed opens are rare and usually end the run).
 */
const failedOpens: CapInstance[] = [];

/** cap names a few link types and reports the others as "Unknown linktype N". */
export function capLinkType(name: string): number {
  switch (name) {
    case 'ETHERNET': return 1;
    case 'NULL': return 0;
    case 'RAW': return 12; // DLT_RAW as Linux libpcap reports it
    case 'LINKTYPE_LINUX_SLL': return 113;
    case 'IEEE802_11_RADIO': return 127;
    default: {
      const m = /(\d+)/.exec(name);
      return m ? Number(m[1]) : -1;
    }
  }
}

/** Turns libpcap's open failure text into the one-line error the user sees. */
export function openError(device: string, filter: string, message: string): FtpscopeError {
  const msg = message.trim();
  if (/permission|not permitted|EPERM|EACCES|CAP_NET_RAW/i.test(msg)) {
    return new FtpscopeError('live-permission', `no permission to capture on ${device || 'this machine'}: ${msg}`, LIVE_PERMISSION_HINT);
  }
  if (/no such device|doesn't exist|does not exist|not found|SIOCGIF|that device is not up|network is down/i.test(msg)) {
    return new FtpscopeError('live-interface', `cannot capture on interface "${device}": ${msg}`, 'list the interfaces with: ftpscope interfaces');
  }
  if (filter && /syntax|filter|illegal|unknown|parse|expression|can't|invalid/i.test(msg)) {
    return new FtpscopeError('live-interface', `bad capture filter "${filter}": ${msg}`, 'check the BPF syntax (man pcap-filter), e.g. -f "tcp port 21"');
  }
  return new FtpscopeError('live-interface', `cannot start capturing on "${device}": ${msg}`, 'check the interface name (ftpscope interfaces) and the filter');
}

/**
 * Starts capturing on a device through libpcap (see liveBackend). Packets arrive as PacketRecords,
 * like from files: one reused record and buffer (copy what you keep); fileOffset is -1.
 */
export function openLive(opts: LiveOptions): LiveCapture {
  const backend = liveBackend();
  if (backend === null) loadCap(); // throws live-unavailable with what to do
  if (capLoadable()) {
    const names = safeDeviceNames(loadCap());
    if (names && !names.includes(opts.device)) {
      throw new FtpscopeError('live-interface', `no capture interface named "${opts.device}" (there are: ${names.slice(0, 12).join(', ')})`, 'list them with: ftpscope interfaces');
    }
  }
  const pcap = backend === 'libpcap' ? loadLibpcap() : null;
  return pcap ? openLibpcapLive(pcap, opts) : openCapLive(opts);
}

/** The `cap` addon: packets stamped with the host clock on delivery (cap does not pass libpcap's timestamps on). */
function openCapLive(opts: LiveOptions): LiveCapture {
  const cap = loadCap();
  const snaplen = Math.max(1, Math.min(opts.snaplen ?? CAP_SNAPLEN, CAP_SNAPLEN));
  const filter = opts.filter ?? '';
  const device = opts.device;
  const c = new cap.Cap();
  const buffer = Buffer.alloc(CAP_SNAPLEN);
  let linkName: string;
  const warn = process.stderr.write;
  try {
    // cap prints a libpcap warning for devices without an IPv4 address; it is harmless here.
    process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
      typeof chunk === 'string' && chunk.startsWith('Warning:') ? true : (warn as (...a: unknown[]) => boolean).call(process.stderr, chunk, ...rest)) as typeof process.stderr.write;
    linkName = c.open(device, filter, opts.bufferSize ?? LIVE_DEFAULTS.bufferSize, buffer);
  } catch (e) {
    failedOpens.push(c);
    throw openError(device, filter, e instanceof Error ? e.message : String(e));
  } finally {
    process.stderr.write = warn;
  }
  const linkType = capLinkType(linkName);
  const rec = newPacketRecord();
  rec.buf = buffer;
  rec.linkType = linkType;
  const stats: LiveStats = { packets: 0, bytes: 0, truncated: 0 };
  // Epoch time from a monotonic clock: Date.now() only has millisecond resolution.
  const epochBase = Date.now() / 1000 - performance.now() / 1000;
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    c.removeAllListeners('packet');
    try { c.close(); } catch { /* already closed */ }
  };
  c.on('packet', (nbytes: number) => {
    if (stopped) return;
    stats.packets++;
    stats.bytes += nbytes;
    rec.frame = stats.packets;
    rec.ts = epochBase + performance.now() / 1000;
    rec.offset = 0;
    rec.caplen = Math.min(nbytes, snaplen);
    rec.wirelen = nbytes;
    if (rec.caplen < nbytes) stats.truncated++;
    rec.fileOffset = -1;
    try {
      opts.onPacket(rec);
    } catch (e) {
      stop();
      if (opts.onError) opts.onError(e);
      else throw e;
    }
  });
  return { device, linkType, linkTypeName: linkTypeName(linkType), backend: 'cap', stop, stats: () => ({ ...stats }) };
}

/** Without cap, the system's own list (libpcap's pseudo-devices such as "any" added). */
function osInterfaces(): LiveInterface[] {
  const list: LiveInterface[] = Object.entries(networkInterfaces()).map(([name, addrs]) => ({
    name,
    description: null,
    addresses: (addrs ?? []).map((a) => ({ addr: a.address.replace(/%.*$/, ''), netmask: a.netmask })),
    loopback: (addrs ?? []).some((a) => a.internal),
  }));
  list.push({ name: 'any', description: 'Pseudo-device that captures on all interfaces', addresses: [], loopback: false });
  return list;
}

function safeDeviceNames(cap: CapModule): string[] | null {
  try {
    return cap.Cap.deviceList().map((d) => d.name);
  } catch {
    return null;
  }
}

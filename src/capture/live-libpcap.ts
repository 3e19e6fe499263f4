import { FtpscopeError } from '../errors.js';
import { linkTypeName } from './linktypes.js';
import { newPacketRecord } from './parser.js';
import {
  PCAP_ERROR_IFACE_NOT_UP, PCAP_ERROR_NO_SUCH_DEVICE, PCAP_ERROR_PERM_DENIED, PCAP_NETMASK_UNKNOWN,
  type Libpcap, type PcapHeader,
} from './libpcap.js';
import { LIVE_DEFAULTS, LIVE_PERMISSION_HINT, openError, type LiveCapture, type LiveOptions, type LiveStats } from './live.js';

/** The most libpcap keeps of a packet (its MAXIMUM_SNAPLEN). */
const SNAPLEN_MAX = 262_144;
/** How often the non-blocking handle is drained; the kernel buffer holds packets in between. */
const POLL_MS = 10;
/** Bound on pcap_dispatch rounds per poll, so a flood cannot starve the event loop. */
const MAX_ROUNDS_PER_POLL = 64;

/** Live capture straight from libpcap (koffi): kernel timestamps, wire lengths, drop counters. */
export function openLibpcapLive(pcap: Libpcap, opts: LiveOptions): LiveCapture {
  const device = opts.device;
  const filter = opts.filter ?? '';
  const snaplen = Math.max(1, Math.min(opts.snaplen ?? SNAPLEN_MAX, SNAPLEN_MAX));
  const errbuf = Buffer.alloc(512);
  const p = pcap.create(device, errbuf);
  if (!p) throw openError(device, filter, cString(errbuf));
  const fail = (message: string): never => {
    pcap.close(p);
    throw openError(device, filter, message);
  };
  pcap.setSnaplen(p, snaplen);
  pcap.setPromisc(p, 1);
  // With block delivery the timeout is how long a part-filled block waits before it is handed over.
  pcap.setTimeout(p, LIVE_DEFAULTS.timeoutMs);
  pcap.setBufferSize(p, opts.bufferSize ?? LIVE_DEFAULTS.bufferSize);
  pcap.setImmediateMode(p, opts.immediate ?? LIVE_DEFAULTS.immediate ? 1 : 0);
  const status = pcap.activate(p);
  if (status < 0) {
    const detail = pcap.geterr(p) || pcap.statustostr(status);
    if (status === PCAP_ERROR_PERM_DENIED) {
      pcap.close(p);
      throw new FtpscopeError('live-permission', `no permission to capture on ${device}: ${detail}`, LIVE_PERMISSION_HINT);
    }
    if (status === PCAP_ERROR_NO_SUCH_DEVICE || status === PCAP_ERROR_IFACE_NOT_UP) {
      pcap.close(p);
      throw new FtpscopeError('live-interface', `cannot capture on interface "${device}": ${detail}`, 'list the interfaces with: ftpscope interfaces');
    }
    fail(detail);
  }
  if (pcap.setnonblock(p, 1, errbuf) < 0) fail(cString(errbuf));
  if (filter) {
    const prog: Record<string, unknown> = {};
    if (pcap.compile(p, prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
      const msg = pcap.geterr(p);
      pcap.close(p);
      throw new FtpscopeError('live-interface', `bad capture filter "${filter}": ${msg}`, 'check the BPF syntax (man pcap-filter), e.g. -f "tcp port 21"');
    }
    const ok = pcap.setfilter(p, prog) === 0;
    pcap.freecode(prog);
    if (!ok) fail(pcap.geterr(p));
  }
  const linkType = pcap.datalink(p);
  const buffer = Buffer.alloc(snaplen);
  const rec = newPacketRecord();
  rec.buf = buffer;
  rec.linkType = linkType;
  rec.fileOffset = -1;
  const stats: LiveStats = { packets: 0, bytes: 0, truncated: 0 };
  let stopped = false;
  let closed = false;
  let inDispatch = false;
  let failure: unknown = null;

  const onPacket = (h: PcapHeader, bytes: unknown): void => {
    if (stopped || failure) return;
    const caplen = Math.min(h.caplen, snaplen);
    pcap.copyBytes(bytes, caplen, buffer);
    stats.packets++;
    stats.bytes += caplen;
    if (caplen < h.len) stats.truncated++;
    rec.frame = stats.packets;
    rec.ts = h.tv_sec + h.tv_usec / 1e6;
    rec.offset = 0;
    rec.caplen = caplen;
    rec.wirelen = h.len;
    try {
      opts.onPacket(rec);
    } catch (e) {
      failure = e; // reported once pcap_dispatch has returned
    }
  };
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(timer);
    kernel = pcap.stats(p);
    pcap.close(p);
  };
  let kernel: { ps_recv: number; ps_drop: number; ps_ifdrop: number } | null = null;
  const timer = setInterval(() => {
    if (closed) return;
    inDispatch = true;
    try {
      for (let i = 0; i < MAX_ROUNDS_PER_POLL && !stopped && !failure; i++) {
        const n = pcap.dispatch(p, onPacket);
        if (n < 0) {
          failure = new FtpscopeError('live-interface', `capturing on ${device} failed: ${pcap.geterr(p)}`, 'check that the interface is still up');
          break;
        }
        if (n === 0) break;
      }
    } finally {
      inDispatch = false;
    }
    if (failure) {
      stopped = true;
      close();
      const e = failure;
      if (opts.onError) opts.onError(e);
      else throw e;
    } else if (stopped) close();
  }, POLL_MS);

  return {
    device,
    linkType,
    linkTypeName: linkTypeName(linkType),
    backend: 'libpcap',
    stop: () => {
      stopped = true;
      if (!inDispatch) close(); // inside a callback: closed once pcap_dispatch returns
    },
    stats: () => {
      const k = closed ? kernel : pcap.stats(p);
      return { ...stats, kernelDropped: k ? k.ps_drop + k.ps_ifdrop : undefined };
    },
  };
}

function cString(b: Buffer): string {
  const z = b.indexOf(0);
  return b.toString('utf8', 0, z < 0 ? b.length : z).trim();
}

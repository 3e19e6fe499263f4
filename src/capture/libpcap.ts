import { createRequire } from 'node:module';

/**
 * libpcap called directly through koffi (FFI). Unlike the `cap` addon it hands over what the
 * kernel recorded: each packet's timestamp and wire length, drop counters, and any link type.
 * Packets are collected by polling a non-blocking handle (pcap_dispatch) on a short timer; the
 * kernel buffer holds them in between.
 */
export interface PcapHeader {
  tv_sec: number;
  tv_usec: number;
  caplen: number;
  len: number;
}

export interface Libpcap {
  create(device: string, errbuf: Buffer): unknown;
  setSnaplen(p: unknown, n: number): number;
  setPromisc(p: unknown, on: number): number;
  setTimeout(p: unknown, ms: number): number;
  setBufferSize(p: unknown, n: number): number;
  setImmediateMode(p: unknown, on: number): number;
  activate(p: unknown): number;
  setnonblock(p: unknown, on: number, errbuf: Buffer): number;
  compile(p: unknown, prog: Record<string, unknown>, filter: string, optimize: number, netmask: number): number;
  setfilter(p: unknown, prog: Record<string, unknown>): number;
  freecode(prog: Record<string, unknown>): void;
  geterr(p: unknown): string;
  statustostr(code: number): string;
  datalink(p: unknown): number;
  /** Calls onPacket for each packet waiting; returns the count, or -1 on error. */
  dispatch(p: unknown, onPacket: (h: PcapHeader, bytes: unknown) => void): number;
  stats(p: unknown): { ps_recv: number; ps_drop: number; ps_ifdrop: number } | null;
  close(p: unknown): void;
  /** Copies a packet's bytes into buf. */
  copyBytes(bytes: unknown, length: number, buf: Buffer): void;
}

export const PCAP_ERROR_NO_SUCH_DEVICE = -5;
export const PCAP_ERROR_PERM_DENIED = -8;
export const PCAP_ERROR_IFACE_NOT_UP = -9;
export const PCAP_NETMASK_UNKNOWN = 0xffffffff;

let loaded: Libpcap | null | undefined;

/** libpcap through koffi, or null when either is missing (then the `cap` addon is tried). */
export function loadLibpcap(): Libpcap | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  let koffi: KoffiLike;
  try {
    koffi = createRequire(import.meta.url)('koffi') as KoffiLike;
  } catch {
    return null;
  }
  let lib: KoffiLib | null = null;
  for (const name of ['libpcap.so.1', 'libpcap.so.0.8', 'libpcap.so', 'libpcap.dylib']) {
    try {
      lib = koffi.load(name);
      break;
    } catch {
      // try the next name
    }
  }
  if (!lib) return null;
  try {
    const Hdr = koffi.struct('ftpscope_pcap_pkthdr', { tv_sec: 'long', tv_usec: 'long', caplen: 'uint32', len: 'uint32' });
    koffi.struct('ftpscope_bpf_program', { bf_len: 'uint32', bf_insns: 'void *' });
    koffi.struct('ftpscope_pcap_stat', { ps_recv: 'uint32', ps_drop: 'uint32', ps_ifdrop: 'uint32' });
    const Handler = koffi.proto('void ftpscope_pcap_handler(void *user, void *h, void *bytes)');
    const f = (sig: string) => lib!.func(sig);
    const create = f('void *pcap_create(const char *dev, _Out_ uint8_t *errbuf)');
    const setSnaplen = f('int pcap_set_snaplen(void *p, int snaplen)');
    const setPromisc = f('int pcap_set_promisc(void *p, int promisc)');
    const setTimeout = f('int pcap_set_timeout(void *p, int ms)');
    const setBufferSize = f('int pcap_set_buffer_size(void *p, int size)');
    const setImmediateMode = f('int pcap_set_immediate_mode(void *p, int on)');
    const activate = f('int pcap_activate(void *p)');
    const setnonblock = f('int pcap_setnonblock(void *p, int nonblock, _Out_ uint8_t *errbuf)');
    const compile = f('int pcap_compile(void *p, _Out_ ftpscope_bpf_program *fp, const char *str, int optimize, uint32_t netmask)');
    const setfilter = f('int pcap_setfilter(void *p, ftpscope_bpf_program *fp)');
    const freecode = f('void pcap_freecode(ftpscope_bpf_program *fp)');
    const geterr = f('const char *pcap_geterr(void *p)');
    const statustostr = f('const char *pcap_statustostr(int error)');
    const datalink = f('int pcap_datalink(void *p)');
    const dispatch = f('int pcap_dispatch(void *p, int cnt, ftpscope_pcap_handler *cb, void *user)');
    const stats = f('int pcap_stats(void *p, _Out_ ftpscope_pcap_stat *ps)');
    const close = f('void pcap_close(void *p)');

    let current: ((h: PcapHeader, bytes: unknown) => void) | null = null;
    const callback = koffi.register((_user: unknown, h: unknown, bytes: unknown) => {
      current?.(koffi.decode(h, Hdr) as PcapHeader, bytes);
    }, koffi.pointer(Handler));

    loaded = {
      create: (d, e) => create(d, e),
      setSnaplen: (p, n) => setSnaplen(p, n) as number,
      setPromisc: (p, on) => setPromisc(p, on) as number,
      setTimeout: (p, ms) => setTimeout(p, ms) as number,
      setBufferSize: (p, n) => setBufferSize(p, n) as number,
      setImmediateMode: (p, on) => setImmediateMode(p, on) as number,
      activate: (p) => activate(p) as number,
      setnonblock: (p, on, e) => setnonblock(p, on, e) as number,
      compile: (p, prog, s, o, m) => compile(p, prog, s, o, m) as number,
      setfilter: (p, prog) => setfilter(p, prog) as number,
      freecode: (prog) => { freecode(prog); },
      geterr: (p) => String(geterr(p) ?? ''),
      statustostr: (c) => String(statustostr(c) ?? ''),
      datalink: (p) => datalink(p) as number,
      dispatch: (p, onPacket) => {
        current = onPacket;
        try {
          return dispatch(p, -1, callback, null) as number;
        } finally {
          current = null;
        }
      },
      stats: (p) => {
        const s: Record<string, number> = {};
        return (stats(p, s) as number) === 0 ? (s as { ps_recv: number; ps_drop: number; ps_ifdrop: number }) : null;
      },
      close: (p) => { close(p); },
      copyBytes: (bytes, length, buf) => {
        Buffer.from(koffi.view(bytes, length)).copy(buf, 0, 0, length);
      },
    };
  } catch {
    loaded = null;
  }
  return loaded;
}

interface KoffiLib {
  func(sig: string): (...args: unknown[]) => unknown;
}
interface KoffiLike {
  load(name: string): KoffiLib;
  struct(name: string, def: Record<string, string>): unknown;
  proto(sig: string): unknown;
  pointer(t: unknown): unknown;
  register(fn: (...args: unknown[]) => void, type: unknown): unknown;
  decode(ptr: unknown, type: unknown): unknown;
  view(ptr: unknown, length: number): ArrayBuffer;
}

/**
 * Captures for the benchmarks, made from the bundled public captures by rewriting them: clients
 * moved to new addresses whose decimal text has the same length (headers and PORT/EPRT/227 texts),
 * ports and TCP sequence numbers shifted, timestamps moved on, checksums recomputed. Used by
 * bench:report and bench:shapes.
 */
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { pcapFileHeader } from '../src/capture/pcap.js';
import { readCapture } from '../src/capture/open.js';

const BUILT_ROOT = new URL('../../', import.meta.url).pathname;
export const ROOT = existsSync(join(BUILT_ROOT, 'captures')) ? BUILT_ROOT : process.cwd();
export const PUB = join(ROOT, 'captures/public');
export const CLI = join(ROOT, 'dist/src/cli/main.js');
export const MB = 1e6;

export function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

export interface SeedPacket {
  ts: number;
  bytes: Buffer;
  wirelen: number;
}

export interface Seed {
  name: string;
  packets: SeedPacket[];
  /** FTP client addresses (they connect to port 21) as 4 bytes. */
  clients: Buffer[];
  duration: number;
}

/** The Ethernet/IPv4/TCP offsets of a packet, or null when it is something else. */
export function offsets(p: Buffer): { ip: number; tcp: number; end: number } | null {
  let off = 12;
  let type = p.readUInt16BE(off);
  while (type === 0x8100 || type === 0x88a8) {
    off += 4;
    type = p.readUInt16BE(off);
  }
  const ip = off + 2;
  if (type !== 0x0800 || p.length < ip + 20 || p[ip + 9] !== 6) return null;
  const ihl = (p[ip]! & 0x0f) * 4;
  const total = p.readUInt16BE(ip + 2);
  return { ip, tcp: ip + ihl, end: Math.min(p.length, ip + total) };
}

export async function loadSeed(rel: string): Promise<Seed> {
  const packets: SeedPacket[] = [];
  const clients = new Map<string, Buffer>();
  await readCapture(rel.startsWith('captures/') ? join(ROOT, rel) : join(PUB, rel), (r) => {
    if (r.linkType !== 1) return;
    const bytes = Buffer.from(r.buf.subarray(r.offset, r.offset + r.caplen));
    packets.push({ ts: r.ts, bytes, wirelen: r.wirelen });
    const o = offsets(bytes);
    if (o && bytes.readUInt16BE(o.tcp + 2) === 21) {
      const src = bytes.subarray(o.ip + 12, o.ip + 16);
      clients.set(src.toString('hex'), Buffer.from(src));
    }
  });
  const t0 = packets[0]?.ts ?? 0;
  return { name: rel, packets, clients: [...clients.values()], duration: (packets.at(-1)?.ts ?? t0) - t0 };
}

/** Octet values whose decimal text has as many digits as `v`'s. */
function sameWidthRange(v: number): [number, number] {
  return v < 10 ? [0, 9] : v < 100 ? [10, 99] : [100, 255];
}

/** Repetition k's replacement for an address: last two octets stepped within their digit widths. */
export function shiftAddress(a: Buffer, k: number): Buffer {
  const out = Buffer.from(a);
  const [lo3, hi3] = sameWidthRange(a[2]!);
  const [lo4, hi4] = sameWidthRange(a[3]!);
  const n3 = hi3 - lo3 + 1;
  const n4 = hi4 - lo4 + 1;
  const idx = (((a[2]! - lo3) * n4 + (a[3]! - lo4)) + k) % (n3 * n4);
  out[2] = lo3 + Math.floor(idx / n4);
  out[3] = lo4 + (idx % n4);
  return out;
}

export function textForms(a: Buffer): string[] {
  return [[...a].join(','), [...a].join('.')];
}

function sum16(buf: Buffer, start: number, end: number, init = 0): number {
  let s = init;
  let i = start;
  for (; i + 1 < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) s += buf[i]! << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** Recompute the IPv4 header and TCP checksums (TCP only when the whole segment was captured). */
export function fixChecksums(p: Buffer, o: { ip: number; tcp: number; end: number }, wholeSegment: boolean): void {
  p.writeUInt16BE(0, o.ip + 10);
  p.writeUInt16BE(fold(sum16(p, o.ip, o.tcp)), o.ip + 10);
  if (!wholeSegment) return;
  const len = o.end - o.tcp;
  p.writeUInt16BE(0, o.tcp + 16);
  let s = sum16(p, o.ip + 12, o.ip + 20) + 6 + len;
  s = sum16(p, o.tcp, o.end, s);
  p.writeUInt16BE(fold(s), o.tcp + 16);
}

/** Streams pcap records to a file in large writes. */
export class PcapOut {
  private readonly fd: number;
  private buf = Buffer.allocUnsafe(8 << 20);
  private used = 0;
  size = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    this.put(pcapFileHeader(1));
  }

  record(ts: number, bytes: Buffer, wirelen: number): void {
    const h = Buffer.allocUnsafe(16);
    const sec = Math.floor(ts);
    h.writeUInt32LE(sec, 0);
    h.writeUInt32LE(Math.min(999999, Math.round((ts - sec) * 1e6)), 4);
    h.writeUInt32LE(bytes.length, 8);
    h.writeUInt32LE(wirelen, 12);
    this.put(h);
    this.put(bytes);
  }

  private put(b: Buffer): void {
    if (this.used + b.length > this.buf.length) this.flush();
    if (b.length > this.buf.length) {
      writeSync(this.fd, b);
    } else {
      b.copy(this.buf, this.used);
      this.used += b.length;
    }
    this.size += b.length;
  }

  private flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** A client address moved: in the IPv4 headers, and in the control connection's texts (PORT, 227, ...). */
export interface AddressMove {
  from: Buffer;
  to: Buffer;
}

/** How one copy of a seed packet is rewritten. */
export interface Rewrite {
  moves?: AddressMove[];
  /** Port changes (seed port → new port), in either direction's header. */
  ports?: Map<number, number>;
  /** Added to the sequence number of a seed direction `${srcPort}>${dstPort}`, and to the other direction's ack. */
  seq?: Map<string, number>;
}

/** The moves that put a seed's clients on repetition k's addresses. */
export function clientMoves(seed: Seed, k: number): AddressMove[] {
  return seed.clients.map((c) => ({ from: c, to: shiftAddress(c, k) }));
}

/** A copy of a seed packet rewritten as `rw` says, with its checksums recomputed. */
export function rewritePacket(sp: SeedPacket, rw: Rewrite): Buffer {
  const p = Buffer.from(sp.bytes);
  const o = offsets(p);
  if (!o) return p;
  const sport = p.readUInt16BE(o.tcp);
  const dport = p.readUInt16BE(o.tcp + 2);
  for (const s of rw.moves ?? []) {
    for (const at of [o.ip + 12, o.ip + 16]) if (p.compare(s.from, 0, 4, at, at + 4) === 0) s.to.copy(p, at);
  }
  if ((sport === 21 || dport === 21) && rw.moves?.length) {
    const payload = o.tcp + ((p[o.tcp + 12]! >> 4) * 4);
    for (const s of rw.moves) {
      const to = textForms(s.to);
      textForms(s.from).forEach((f, i) => {
        const from = Buffer.from(f);
        for (let at = p.indexOf(from, payload); at >= 0 && at < o.end; at = p.indexOf(from, at + 1)) p.write(to[i]!, at, 'latin1');
      });
    }
  }
  if (rw.ports) {
    const ns = rw.ports.get(sport);
    const nd = rw.ports.get(dport);
    if (ns !== undefined) p.writeUInt16BE(ns, o.tcp);
    if (nd !== undefined) p.writeUInt16BE(nd, o.tcp + 2);
  }
  if (rw.seq) {
    const ds = rw.seq.get(`${sport}>${dport}`) ?? 0;
    const da = rw.seq.get(`${dport}>${sport}`) ?? 0;
    if (ds) p.writeUInt32BE((p.readUInt32BE(o.tcp + 4) + ds) >>> 0, o.tcp + 4);
    if (da && (p[o.tcp + 13]! & 0x10)) p.writeUInt32BE((p.readUInt32BE(o.tcp + 8) + da) >>> 0, o.tcp + 8);
  }
  fixChecksums(p, o, p.length >= o.end && sp.wirelen === p.length);
  return p;
}

/** Writes repetition k of a seed: clients moved, texts rewritten, checksums fixed, time shifted. */
export function writeRepetition(out: PcapOut, seed: Seed, k: number, tsOffset: number): void {
  const rw = { moves: clientMoves(seed, k) };
  for (const sp of seed.packets) out.record(sp.ts + tsOffset, rewritePacket(sp, rw), sp.wirelen);
}

/** Sequence space used per direction (`${srcPort}>${dstPort}`) by seed packets [from, to): payload, SYN and FIN. */
export function sequenceSpan(seed: Seed, from: number, to: number): Map<string, number> {
  const span = new Map<string, number>();
  for (const sp of seed.packets.slice(from, to)) {
    const o = offsets(sp.bytes);
    if (!o) continue;
    const p = sp.bytes;
    const key = `${p.readUInt16BE(o.tcp)}>${p.readUInt16BE(o.tcp + 2)}`;
    const flags = p[o.tcp + 13]!;
    const len = o.end - (o.tcp + ((p[o.tcp + 12]! >> 4) * 4)) + (flags & 0x02 ? 1 : 0) + (flags & 0x01 ? 1 : 0);
    span.set(key, (span.get(key) ?? 0) + len);
  }
  return span;
}

/** `span` times k, as a Rewrite's seq. */
export function scaled(span: Map<string, number>, k: number): Map<string, number> {
  return new Map([...span].map(([key, n]) => [key, n * k]));
}

/** Repeats the seeds in turn (one round = one repetition of each) until the size or round count. */
export function generate(path: string, seeds: Seed[], opts: { bytes?: number; rounds?: number }): { rounds: number; sessions: number } {
  const out = new PcapOut(path);
  let offset = 0;
  let rounds = 0;
  const t0 = Math.min(...seeds.map((s) => s.packets[0]!.ts));
  while ((opts.bytes === undefined || out.size < opts.bytes) && (opts.rounds === undefined || rounds < opts.rounds)) {
    for (const seed of seeds) {
      const shift = offset - (seed.packets[0]!.ts - t0);
      writeRepetition(out, seed, rounds, shift);
      offset += seed.duration + 1;
    }
    rounds++;
  }
  out.close();
  return { rounds, sessions: rounds * seeds.length };
}

/**
 * `sessions` copies of a seed's control session, interleaved, each with the seed packets [from, to)
 * (the body) repeated `reps` times: the control connection's sequence numbers move on by the body's
 * bytes each time, and the body's data connection gets a new client port each time.
 */
export function splice(out: PcapOut, seed: Seed, o: { from: number; to: number; reps: number; sessions: number; dataPort?: number }): void {
  const span = sequenceSpan(seed, o.from, o.to);
  const t = (i: number): number => seed.packets[i]!.ts;
  const bodyTime = t(o.to - 1) - t(o.from) + 0.001;
  const moves = Array.from({ length: o.sessions }, (_, s) => clientMoves(seed, s + 1));
  let clock = 0;
  const write = (i: number, ts: number, rw: Parameters<typeof rewritePacket>[1]): void =>
    out.record(ts, rewritePacket(seed.packets[i]!, rw), seed.packets[i]!.wirelen);
  for (let s = 0; s < o.sessions; s++) for (let i = 0; i < o.from; i++) write(i, t(i) + s * 0.001, { moves: moves[s] });
  clock = t(o.from) + o.sessions * 0.001;
  for (let r = 0; r < o.reps; r++) {
    const seq = scaled(span, r);
    const ports = o.dataPort !== undefined ? new Map([[o.dataPort, 1024 + (r % 64000)]]) : undefined;
    for (let s = 0; s < o.sessions; s++) {
      for (let i = o.from; i < o.to; i++) write(i, clock + t(i) - t(o.from), { moves: moves[s], seq, ports });
      clock += bodyTime / o.sessions;
    }
  }
  // the seed's own body was the first repetition: what followed it now follows the last
  const seq = scaled(span, o.reps - 1);
  for (let s = 0; s < o.sessions; s++) {
    for (let i = o.to; i < seed.packets.length; i++) write(i, clock + t(i) - t(o.to) + s * 0.001, { moves: moves[s], seq });
  }
}

/** What splice() repeats and how often. */
export type SpliceOptions = Parameters<typeof splice>[2];

/** A capture file at `path`: splice() of the seed `seedRel` (a path under captures/, or under the public captures). */
export async function writeSpliced(path: string, seedRel: string, o: SpliceOptions): Promise<void> {
  const out = new PcapOut(path);
  splice(out, await loadSeed(seedRel), o);
  out.close();
}

/**
 * zeek's bigtransfer.pcap (a RETR of 5,416,666,670 bytes of which a few segments were captured)
 * with about `fillBytes` of it filled in: its frame 51 (14,480 bytes at seq 1) copied into the hole
 * after frame 60's segment, contiguously. One transfer of more than 4 GiB, with gaps.
 */
export async function writeBigGaps(path: string, fillBytes: number): Promise<void> {
  const seed = await loadSeed('zeek/bigtransfer.pcap');
  const out = new PcapOut(path);
  const fill = Math.round(fillBytes / 14480);
  const t0 = seed.packets[59]!.ts;
  const dt = (seed.packets[60]!.ts - t0) / (fill + 1);
  seed.packets.forEach((sp, i) => {
    out.record(sp.ts, sp.bytes, sp.wirelen);
    if (i !== 59) return;
    for (let k = 0; k < fill; k++) {
      const seq = new Map([['37150>59764', 2338717697 - 1 + k * 14480]]);
      out.record(t0 + (k + 1) * dt, rewritePacket(seed.packets[50]!, { seq }), seed.packets[50]!.wirelen);
    }
  });
  out.close();
}

import type { DataConnection, Endpoint } from '../model/types.js';
import { failureReasons } from '../ftp/transfer.js';

/** Shared formatting helpers for the human-readable views (text report, flow ladder, dashboard). */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 → "1.5 KiB"; exact byte counts below 1 KiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  if (Math.abs(n) < 1024) return `${Number.isInteger(n) ? n : n.toFixed(Math.abs(n) < 10 ? 2 : Math.abs(n) < 100 ? 1 : 0)} B`;
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < BYTE_UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${BYTE_UNITS[u]}`;
}

/** Seconds → "850 µs", "12.3 ms", "4.21 s", "3m05s", "2h03m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, seconds);
  if (s < 0.001) return `${Math.round(s * 1e6)} µs`;
  if (s < 1) return `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    return `${m}m${String(Math.floor(s - m * 60)).padStart(2, '0')}s`;
  }
  const h = Math.floor(s / 3600);
  return `${h}h${String(Math.floor((s - h * 3600) / 60)).padStart(2, '0')}m`;
}

/** Bytes over seconds → "12.3 MiB/s"; null when the duration is too short to mean anything. */
export function formatThroughput(bytes: number, seconds: number): string | null {
  if (!(seconds > 0) || bytes <= 0) return null;
  return `${formatBytes(bytes / seconds)}/s`;
}

/** Relative time with fixed precision for ladders: "+12.345". */
export function formatRelTs(seconds: number): string {
  const s = Number.isFinite(seconds) ? seconds : 0;
  return `${s < 0 ? '-' : '+'}${Math.abs(s).toFixed(3)}`;
}

/** Absolute time as an ISO-8601 UTC string with microseconds. */
export function formatIsoTs(ts: number): string {
  if (!Number.isFinite(ts)) return '?';
  const us = Math.round(ts * 1e6);
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // 2024-01-01T00:00:00.000Z
  return `${iso.slice(0, -1)}${String(us - ms * 1000).padStart(3, '0')}Z`;
}

/** IPv4-mapped IPv6 → plain IPv4; other addresses unchanged. */
export function normalizeIp(ip: string): string {
  if (ip.charCodeAt(0) !== 0x3a) return ip; // only "::ffff:…" changes
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** A proxied session's real server: "10.0.0.5:21", or "ftp.example.org 10.0.0.5:21" when a name was typed. */
export function formatOriginalServer(o: Endpoint & { name?: string }): string {
  return `${o.name !== undefined ? `${printable(o.name)} ` : ''}${formatEndpoint(o)}`;
}

/** "10.0.0.1:21", "[2001:db8::1]:21". */
export function formatEndpoint(e: Endpoint): string {
  const ip = normalizeIp(e.ip);
  return ip.includes(':') ? `[${ip}]:${e.port}` : `${ip}:${e.port}`;
}

/** Epoch seconds rounded to microseconds, as the JSON contract writes them. */
export function roundTs(ts: number): number {
  return Math.round(ts * 1e6) / 1e6;
}

/**
 * Make untrusted text (FTP arguments, reply text) safe to print on a terminal:
 * control characters and escape sequences become visible escapes.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => {
    const code = c.charCodeAt(0);
    return code === 0x1b ? '\\e' : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

/** Cut to at most `max` display columns, ending with "…" when cut. */
export function truncate(s: string, max: number): string {
  if (max <= 0) return '';
  const chars = Array.from(s);
  if (chars.length <= max) return s;
  if (max === 1) return '…';
  return chars.slice(0, max - 1).join('') + '…';
}

/** Display width of a string we produced (no wide characters in our own output). */
export function columns(s: string): number {
  return Array.from(s).length;
}

/**
 * How a transfer ended, as its peers tell it, in words: "ok (226)", "FAILED: server replied 426;
 * data connection reset (RST)", "unknown (no final reply seen)", "still open".
 */
export function outcomeWords(dc: DataConnection): string {
  switch (dc.outcome) {
    case 'ok': return `ok (${dc.finalReply ? dc.finalReply.code : 'closed cleanly'})`;
    case 'failed': return `FAILED: ${failureReasons(dc).join('; ')}`;
    case 'unknown': return 'unknown (no final reply seen)';
    default: return 'still open';
  }
}

/**
 * What the capture lacks of a transfer, in words ("capture missing 712 KiB in 3 gaps", "capture
 * ends before the data connection closed"); null when it holds all of it. Not about the transfer:
 * a 226 transfer can have both.
 */
export function captureWords(dc: DataConnection): string | null {
  const parts: string[] = [];
  if (dc.missingBytes > 0) parts.push(`missing ${formatBytes(dc.missingBytes)} in ${dc.gaps} gap${dc.gaps === 1 ? '' : 's'}`);
  if (dc.outcome !== null && dc.closeReason !== 'fin' && dc.closeReason !== 'rst') {
    parts.push(dc.closeReason === 'timeout' ? 'idle until the timeout, never closed' : 'ends before the data connection closed');
  }
  return parts.length > 0 ? `capture ${parts.join(', ')}` : null;
}

/** The two facts together, for one line: "transfer ok (226); capture missing 5.04 GiB in 9 gaps". */
export function transferStatusLine(dc: DataConnection): string {
  const cap = captureWords(dc);
  return `transfer ${outcomeWords(dc)}${cap ? `; ${cap}` : ''}`;
}

import type { Endpoint } from '../model/types.js';

/** Cut or pad to exactly `width` columns; a cut ends in "…". */
export function fit(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return width === 1 ? '…' : s.slice(0, width - 1) + '…';
  return s.padEnd(width);
}

export function fitLeft(s: string, width: number): string {
  if (width <= 0) return '';
  if (s.length > width) return s.slice(0, width);
  return s.padStart(width);
}

export function endpoint(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export function duration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '-';
  if (sec < 1) return `${Math.round(sec * 1000)}ms`;
  if (sec < 60) return `${sec.toFixed(1)}s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m}m${String(Math.floor(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** UTC time of day with milliseconds, the way capture tools show absolute times. */
export function clock(ts: number): string {
  if (!Number.isFinite(ts) || ts <= 0) return '-';
  return new Date(ts * 1000).toISOString().slice(11, 23);
}

/** Seconds relative to a start, 6 decimals like Wireshark's relative time column. */
export function rel(ts: number, start: number): string {
  return (ts - start).toFixed(6);
}

const FLAG_NAMES: Array<[number, string]> = [
  [0x02, 'SYN'], [0x10, 'ACK'], [0x08, 'PSH'], [0x01, 'FIN'], [0x04, 'RST'], [0x20, 'URG'], [0x40, 'ECE'], [0x80, 'CWR'],
];

export function flagNames(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => flags & bit).map(([, n]) => n);
  return names.length ? names.join(',') : '-';
}

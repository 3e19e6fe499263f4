/**
 * Handshake view, for teaching: the three-way handshake of one connection as a ladder with raw
 * and relative seq/ack, flags, windows and options, the TCP state of each side, the arithmetic
 * spelled out, the RTT, and the teardown. Says plainly when the handshake was not captured.
 */
import type { TcpOptions } from '../../dissect/types.js';
import type { TcpConnection, TcpState } from '../../tcp/events.js';
import type { PaneModel } from '../pane.js';
import type { Row } from '../terminal.js';
import type { Style } from '../theme.js';
import { endpoint, fit } from '../text.js';

type Line = { text: string; style?: Style };

const STATE_W = 14;
const ARROW_W = 24;

function ladder(left: TcpState | '', arrow: string, toServer: boolean, right: TcpState | '', note: string): Line {
  const body = toServer ? `──${arrow}`.padEnd(ARROW_W - 1, '─') + '▶' : ('◀' + `──${arrow}`).padEnd(ARROW_W, '─');
  return { text: `  ${fit(left, STATE_W)} ${body} ${fit(right, STATE_W)} ${note}`, style: toServer ? 'client' : 'server' };
}

function states(left: TcpState, right: TcpState): Line {
  return { text: `  ${fit(left, STATE_W)} ${' '.repeat(ARROW_W)} ${fit(right, STATE_W)}`, style: 'key' };
}

function optionText(o: TcpOptions | null, window: number | null): string {
  if (!o) return window !== null ? `win=${window}` : '';
  const parts: string[] = [];
  if (window !== null) parts.push(`win=${window}`);
  if (o.mss !== undefined) parts.push(`MSS=${o.mss}`);
  if (o.wscale !== undefined) parts.push(`WS=${o.wscale} (×${2 ** o.wscale})`);
  if (o.sackPermitted) parts.push('SACK_PERM');
  if (o.tsVal !== undefined) parts.push(`TS val=${o.tsVal} ecr=${o.tsEcr ?? 0}`);
  return parts.join(' ');
}

function ms(a: number | null, b: number | null): string {
  return a !== null && b !== null ? `+${((b - a) * 1000).toFixed(3)} ms` : '';
}

export function handshakeLines(tcp: TcpConnection | null, what: string): Line[] {
  if (!tcp) return [{ text: `No TCP connection details for ${what} (the proxy and some live sources have none).` }];
  const out: Line[] = [];
  const hs = tcp.handshake;
  const c = endpoint(tcp.client);
  const s = endpoint(tcp.server);
  out.push({ text: `${what}: TCP connection #${tcp.id}`, style: 'key' });
  out.push({ text: `  client ${c}  (sent the SYN)   →   server ${s}` });
  out.push({ text: '' });
  out.push({ text: `  ${fit('Client', STATE_W)} ${' '.repeat(ARROW_W)} ${fit('Server', STATE_W)}`, style: 'key' });
  out.push(states('CLOSED', 'LISTEN'));

  const [isnC, isnS] = hs.isn;
  if (hs.synFrame !== null && isnC !== null) {
    out.push(ladder('SYN-SENT', ' SYN ', true, '', `frame ${hs.synFrame}`));
    out.push({ text: `  ${' '.repeat(STATE_W)}   seq=${isnC} (relative 0)  ${optionText(hs.options[0], hs.window[0])}` });
  }
  if (hs.synAckFrame !== null && isnS !== null) {
    out.push(ladder('', ' SYN, ACK ', false, 'SYN-RECEIVED', `frame ${hs.synAckFrame} ${ms(hs.synTs, hs.synAckTs)}`));
    const ack = isnC !== null ? `ack=${(isnC + 1) >>> 0} (relative 1)` : 'ack=?';
    out.push({ text: `  ${' '.repeat(STATE_W)}   seq=${isnS} (relative 0) ${ack}  ${optionText(hs.options[1], hs.window[1])}` });
  }
  if (hs.seen && isnC !== null && isnS !== null) {
    out.push(ladder('ESTABLISHED', ' ACK ', true, '', hs.ackFrame !== null ? `frame ${hs.ackFrame} ${ms(hs.synTs, hs.ackTs)}` : '(final ACK not captured)'));
    out.push({ text: `  ${' '.repeat(STATE_W)}   seq=${(isnC + 1) >>> 0} (relative 1) ack=${(isnS + 1) >>> 0} (relative 1)` });
    out.push(states('ESTABLISHED', 'ESTABLISHED'));
    out.push({ text: '' });
    out.push({ text: 'Why these numbers', style: 'key' });
    out.push({ text: `  • SYN-ACK ack = client ISN + 1 = ${isnC} + 1 = ${(isnC + 1) >>> 0}, because SYN consumes one sequence number.` });
    out.push({ text: `  • ACK seq = client ISN + 1 = ${(isnC + 1) >>> 0}: the client's first data byte comes after its SYN.` });
    out.push({ text: `  • ACK ack = server ISN + 1 = ${isnS} + 1 = ${(isnS + 1) >>> 0}, because the server's SYN consumes one too.` });
    out.push({ text: '  • Relative numbers subtract each side\'s ISN, so both sides count from 0 (as Wireshark shows them).' });
    if (hs.simultaneousOpen) out.push({ text: '  • Both sides sent a SYN (simultaneous open).' });
    out.push({ text: '' });
    out.push(...negotiated(hs.options[0], hs.options[1], hs.window));
    out.push({ text: '' });
    out.push({ text: `RTT (SYN → final ACK): ${hs.rttMs !== null ? hs.rttMs.toFixed(3) + ' ms' : 'not measurable'}`, style: 'key' });
  } else {
    out.push({ text: '' });
    if (hs.synFrame !== null && hs.synAckFrame === null) {
      out.push({ text: `The client sent a SYN (frame ${hs.synFrame}) but no SYN-ACK was captured: the server did not answer`, style: 'warn' });
      out.push({ text: 'or its answer was not captured (closed port, firewall, or a one-sided capture).', style: 'warn' });
    } else {
      out.push({ text: 'The three-way handshake of this connection was not captured: the capture started after the', style: 'warn' });
      out.push({ text: 'connection opened. Sequence numbers are shown raw; relative numbers need the ISNs.', style: 'warn' });
    }
  }
  out.push({ text: '' });
  out.push(...teardown(tcp));
  return out;
}

function negotiated(oc: TcpOptions | null, os: TcpOptions | null, win: [number | null, number | null]): Line[] {
  const out: Line[] = [{ text: 'Negotiated in the handshake', style: 'key' }];
  const mssC = oc?.mss;
  const mssS = os?.mss;
  out.push({ text: `  • MSS: client ${mssC ?? 'not sent'}, server ${mssS ?? 'not sent'} — each side sends segments no larger than the other's MSS.` });
  const wsC = oc?.wscale;
  const wsS = os?.wscale;
  if (wsC !== undefined && wsS !== undefined) {
    out.push({ text: `  • Window scale: client shift ${wsC} (×${2 ** wsC}), server shift ${wsS} (×${2 ** wsS}); both offered it, so later windows are scaled.` });
    out.push({ text: `    (In the SYNs themselves windows are never scaled: client ${win[0] ?? '?'}, server ${win[1] ?? '?'}.)` });
  } else {
    out.push({ text: `  • Window scale: ${wsC !== undefined || wsS !== undefined ? 'offered by one side only, so' : 'not offered, so'} windows are not scaled.` });
  }
  out.push({ text: `  • SACK: ${oc?.sackPermitted && os?.sackPermitted ? 'permitted by both sides' : 'not in use (both sides must permit it)'}.` });
  out.push({ text: `  • Timestamps: ${oc?.tsVal !== undefined && os?.tsVal !== undefined ? 'used by both sides (RTT measurement, PAWS)' : 'not in use'}.` });
  return out;
}

function teardown(tcp: TcpConnection): Line[] {
  const out: Line[] = [{ text: 'Teardown', style: 'key' }];
  const [finC, finS] = tcp.finFrame;
  if (tcp.rstFrame !== null) {
    const by = tcp.rstBy === 0 ? 'client' : tcp.rstBy === 1 ? 'server' : 'one side';
    out.push({ text: `  RST from the ${by} at frame ${tcp.rstFrame}: the connection is aborted, both sides go straight to CLOSED`, style: 'warn' });
    out.push({ text: '  (no FIN exchange, no TIME-WAIT; unsent or unacknowledged data is lost).', style: 'warn' });
  }
  if (finC !== null || finS !== null) {
    const clientFirst = finS === null || (finC !== null && finC <= finS);
    const first = clientFirst ? 'client' : 'server';
    const second = clientFirst ? 'server' : 'client';
    const firstFrame = clientFirst ? finC : finS;
    const secondFrame = clientFirst ? finS : finC;
    const [l1, r1]: [TcpState, TcpState] = clientFirst ? ['FIN-WAIT-1', 'CLOSE-WAIT'] : ['CLOSE-WAIT', 'FIN-WAIT-1'];
    out.push(ladder(l1, ` FIN (${first}) `, clientFirst, r1, `frame ${firstFrame}`));
    if (secondFrame !== null) {
      const [l2, r2]: [TcpState, TcpState] = clientFirst ? ['TIME-WAIT', 'LAST-ACK'] : ['LAST-ACK', 'TIME-WAIT'];
      out.push(ladder(l2, ` FIN (${second}) `, !clientFirst, r2, `frame ${secondFrame}`));
      out.push(states(clientFirst ? 'TIME-WAIT' : 'CLOSED', clientFirst ? 'CLOSED' : 'TIME-WAIT'));
      out.push({ text: `  The ${first} closed first, so it waits in TIME-WAIT (2×MSL) before CLOSED; the ${second} is CLOSED once its FIN is acknowledged.` });
    } else {
      out.push({ text: `  Only the ${first} sent a FIN in the capture: the ${second} may still send (half-close).` });
    }
  } else if (tcp.rstFrame === null) {
    out.push({ text: tcp.closeReason === 'timeout' ? '  No FIN or RST: the connection went idle and was expired.'
      : '  No FIN or RST was captured: the connection was still open when the capture ended.' });
  }
  return out;
}

/** Word-wrap prose lines to the pane; ladder rows (which must stay aligned) are only cut. */
function wrap(lines: Line[], width: number): Line[] {
  const out: Line[] = [];
  for (const l of lines) {
    if (l.text.length <= width || /[─▶◀]/.test(l.text) || width < 20) { out.push(l); continue; }
    const indent = (/^\s*(• )?/.exec(l.text)?.[0].length ?? 0);
    let rest = l.text;
    let first = true;
    while (rest.length > 0) {
      const room = first ? width : width - indent;
      let cutAt = rest.length <= room ? rest.length : rest.lastIndexOf(' ', room);
      if (cutAt <= 0) cutAt = room;
      out.push({ text: (first ? '' : ' '.repeat(indent)) + rest.slice(0, cutAt).trimEnd(), style: l.style });
      rest = rest.slice(cutAt).trimStart();
      first = false;
    }
  }
  return out;
}

export function handshakePane(tcp: TcpConnection | null, what: string, width = 80): PaneModel {
  const lines = wrap(handshakeLines(tcp, what), width);
  return {
    title: `Handshake — ${what}`,
    source: { count: lines.length, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < lines.length ? k : -1) },
    row: (i): Row => [{ text: lines[i].text, style: lines[i].style }],
    empty: 'no connection selected',
    textOnly: true,
    matches: (i, needle) => lines[i].text.toLowerCase().includes(needle.toLowerCase()),
  };
}

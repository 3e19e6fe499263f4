/**
 * Handshake view, for teaching: the three-way handshake of one connection as a ladder with raw
 * and relative seq/ack, flags, windows and options, the TCP state of each side, the arithmetic
 * spelled out, the RTT, and the teardown. Says plainly when the handshake was not captured.
 */
import type { TcpFacts, TcpOptionFacts as TcpOptions, TcpState, TeardownEvent } from '../../model/tcp-facts.js';
import type { FtpRole } from '../../model/packet-facts.js';
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

/** "the FTP client" / "the FTP server" for the TCP initiator (side 0) or the other side. */
function ftpName(initiatorRole: FtpRole | null, side: 0 | 1): string {
  if (initiatorRole === null) return '';
  const role = side === 0 ? initiatorRole : initiatorRole === 'client' ? 'server' : 'client';
  return ` (FTP ${role})`;
}

export function handshakeLines(tcp: TcpFacts | null, what: string, initiatorRole: FtpRole | null = null): Line[] {
  if (!tcp) return [{ text: `No TCP connection details for ${what} (the proxy and some live sources have none).` }];
  const out: Line[] = [];
  const hs = tcp.handshake;
  const c = endpoint(tcp.client);
  const s = endpoint(tcp.server);
  const [isnC, isnS] = hs.isn;
  const synSeen = hs.synFrame !== null && isnC !== null;
  out.push({ text: `${what}: TCP connection #${tcp.id}`, style: 'key' });
  if (synSeen) {
    out.push({ text: `  client ${c}${ftpName(initiatorRole, 0)} sent the SYN   →   server ${s}${ftpName(initiatorRole, 1)}` });
  } else {
    out.push({ text: `  client ${c}${ftpName(initiatorRole, 0)}   ↔   server ${s}${ftpName(initiatorRole, 1)}` });
    out.push({ text: '  (which side opened it is inferred from the ports: no SYN was captured)' });
  }
  if (initiatorRole === 'server') {
    // Active mode turns the roles round, which is what confuses people reading the ladder below.
    out.push({ text: '  Active mode: the FTP server opens the data connection, connecting to the address and port the client' });
    out.push({ text: '  announced with PORT/EPRT. So here the TCP client (the side that sends the SYN, on the left) is the' });
    out.push({ text: '  FTP server, and the TCP server (the side that listens) is the FTP client.' });
  } else if (initiatorRole === 'client' && what.includes('data connection')) {
    out.push({ text: '  Passive mode: the FTP client opens the data connection to the port the server announced (PASV/EPSV),' });
    out.push({ text: '  so the TCP client is the FTP client, as on the control connection.' });
  }
  out.push({ text: '' });
  out.push({ text: `  ${fit('Client', STATE_W)} ${' '.repeat(ARROW_W)} ${fit('Server', STATE_W)}`, style: 'key' });

  if (synSeen) {
    out.push(states('CLOSED', 'LISTEN'));
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
    if (synSeen && hs.synAckFrame === null) {
      out.push({ text: `The client sent a SYN (frame ${hs.synFrame}) but no SYN-ACK was captured: the server did not answer`, style: 'warn' });
      out.push({ text: 'or its answer was not captured (closed port, firewall, or a one-sided capture).', style: 'warn' });
    } else {
      out.push({ text: 'The three-way handshake of this connection was not captured: the capture started after the', style: 'warn' });
      out.push({ text: 'connection opened, so both sides are taken as ESTABLISHED from the first packet seen.', style: 'warn' });
      out.push({ text: 'Sequence numbers are shown raw; relative numbers need the ISNs.', style: 'warn' });
      out.push(states('ESTABLISHED', 'ESTABLISHED'));
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

/**
 * The connection's end as it happened: each FIN, the ACK of each FIN and any RST in capture
 * order, with both sides' states after each step (RFC 793's state diagram).
 */
function teardown(tcp: TcpFacts): Line[] {
  const out: Line[] = [{ text: 'Teardown', style: 'key' }];
  const events = tcp.teardown;
  if (events.length === 0) {
    out.push({ text: tcp.closeReason === 'timeout' ? '  No FIN or RST: the connection went idle and was expired.'
      // A live source's connection that has not ended yet has no close reason at all.
      : tcp.closeReason === null ? '  No FIN or RST yet: the connection is open.'
        : '  No FIN or RST was captured: the connection was still open when the capture ended.' });
    return out;
  }
  const name = (d: 0 | 1): string => (d === 0 ? 'client' : 'server');
  const st: [TcpState, TcpState] = ['ESTABLISHED', 'ESTABLISHED'];
  const finSent: [boolean, boolean] = [false, false];
  let reset: TeardownEvent | null = null;
  for (const e of events) {
    const me = e.dir;
    const peer: 0 | 1 = me === 0 ? 1 : 0;
    const where = e.frame !== null ? `frame ${e.frame}` : '';
    if (e.kind === 'rst') {
      if (reset) continue;
      reset = e;
      st[0] = 'CLOSED';
      st[1] = 'CLOSED';
      out.push(ladder(st[0], ` RST (${name(me)}) `, me === 0, st[1], where));
      continue;
    }
    if (reset) continue; // after a RST nothing changes state
    if (e.kind === 'fin') {
      finSent[me] = true;
      if (st[me] === 'CLOSE-WAIT') st[me] = 'LAST-ACK';
      else st[me] = 'FIN-WAIT-1';
      if (st[peer] === 'ESTABLISHED') st[peer] = 'CLOSE-WAIT';
      else if (st[peer] === 'FIN-WAIT-1') st[peer] = 'CLOSING';
      else if (st[peer] === 'FIN-WAIT-2') st[peer] = 'TIME-WAIT';
      out.push(ladder(st[0], ` FIN (${name(me)}) `, me === 0, st[1], where));
    } else {
      // `me` acknowledges the peer's FIN.
      if (st[peer] === 'FIN-WAIT-1') st[peer] = 'FIN-WAIT-2';
      else if (st[peer] === 'CLOSING') st[peer] = 'TIME-WAIT';
      else if (st[peer] === 'LAST-ACK') st[peer] = 'CLOSED';
      out.push(ladder(st[0], ` ACK of FIN (${name(me)}) `, me === 0, st[1], where));
    }
  }
  out.push(states(st[0], st[1]));
  if (reset) {
    const by = name(reset.dir);
    const where = reset.frame !== null ? ` at frame ${reset.frame}` : '';
    if (!finSent[0] && !finSent[1]) {
      out.push({ text: `  RST from the ${by}${where}: the connection is aborted, both sides go straight to CLOSED`, style: 'warn' });
      out.push({ text: '  (no FIN exchange, no TIME-WAIT; unsent or unacknowledged data is lost).', style: 'warn' });
    } else {
      out.push({ text: `  The FIN exchange began, then a RST from the ${by}${where} aborted what was left: both sides are`, style: 'warn' });
      out.push({ text: '  CLOSED at once, without waiting in TIME-WAIT.', style: 'warn' });
    }
  } else if (st.includes('TIME-WAIT')) {
    const waiter = st[0] === 'TIME-WAIT' ? 'client' : 'server';
    const other = waiter === 'client' ? 'server' : 'client';
    out.push({ text: `  The ${waiter} closed first, so it waits in TIME-WAIT (2×MSL) before CLOSED; the ${other} is ${st[waiter === 'client' ? 1 : 0] === 'CLOSED' ? 'CLOSED, its FIN acknowledged' : `in ${st[waiter === 'client' ? 1 : 0]}`}.` });
  } else if (finSent[0] !== finSent[1]) {
    const first = finSent[0] ? 'client' : 'server';
    out.push({ text: `  Only the ${first} sent a FIN in the capture: the ${first === 'client' ? 'server' : 'client'} may still send (half-close).` });
  } else {
    out.push({ text: '  The final ACK was not captured: the side that closed first stays in its wait state in this picture.' });
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

export function handshakePane(tcp: TcpFacts | null, what: string, width = 80, initiatorRole: FtpRole | null = null): PaneModel {
  const lines = wrap(handshakeLines(tcp, what, initiatorRole), width);
  return {
    title: `Handshake — ${what}`,
    source: { count: lines.length, keyAt: (i) => i, indexOf: (k) => (typeof k === 'number' && k < lines.length ? k : -1) },
    row: (i): Row => [{ text: lines[i].text, style: lines[i].style }],
    empty: 'no connection selected',
    textOnly: true,
    matches: (i, needle) => lines[i].text.toLowerCase().includes(needle.toLowerCase()),
  };
}

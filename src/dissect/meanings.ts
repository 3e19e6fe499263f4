/**
 * One-line meanings for the fields of the IPv4, IPv6, TCP and FTP layers: what a field is for and
 * what this value of it says ("TTL 64: hops left before a router drops it; Linux starts at 64").
 * They are part of the field model (Field.meaning), so the layers view, `inspect` and its JSON all
 * show the same words. PORT/PASV/EPRT/EPSV arguments also get their address and port decoded,
 * with the arithmetic, as child fields named as Wireshark names them.
 */
import type { Field, Layer } from './field.js';
import { field } from './fields.js';

type Meaning = (f: Field, siblings: readonly Field[]) => string | null;

const num = (f: Field): number => (typeof f.value === 'number' ? f.value : Number(f.value));
const find = (fs: readonly Field[], name: string): Field | undefined => fs.find((x) => x.name === name);

const WELL_KNOWN: Record<number, string> = {
  20: 'FTP data (active mode from port 20)', 21: 'FTP control', 22: 'SSH', 23: 'Telnet', 25: 'SMTP', 53: 'DNS',
  80: 'HTTP', 443: 'HTTPS', 989: 'FTPS data (implicit TLS)', 990: 'FTPS control (implicit TLS)',
};

function portMeaning(who: string): Meaning {
  return (f) => {
    const p = num(f);
    const known = WELL_KNOWN[p];
    if (known) return `${p}: the ${known} port`;
    if (p >= 32768) return `${p}: an ephemeral port ${who}'s system picked for this connection (Linux uses 32768–60999)`;
    if (p >= 1024) return `${p}: a registered/unprivileged port (an FTP server's passive range often sits here)`;
    return `${p}: a privileged port (below 1024)`;
  };
}

const DSCP: Record<number, string> = {
  0: 'best effort (default forwarding)', 8: 'CS1, lower than best effort (bulk)', 10: 'AF11', 18: 'AF21', 26: 'AF31', 34: 'AF41',
  46: 'EF, expedited forwarding (voice)', 48: 'CS6 (network control)', 56: 'CS7',
};
const ECN = ['not ECN-capable', 'ECN-capable (ECT 1)', 'ECN-capable (ECT 0)', 'congestion experienced: a router marked it instead of dropping it'];
const PROTO: Record<number, string> = { 1: 'ICMP', 6: 'TCP', 17: 'UDP', 41: 'IPv6 in IPv4', 44: 'IPv6 fragment header', 47: 'GRE', 50: 'ESP', 51: 'AH', 58: 'ICMPv6', 0: 'hop-by-hop options', 43: 'routing header', 60: 'destination options', 59: 'no next header' };

function ttlMeaning(kind: 'TTL' | 'Hop limit'): Meaning {
  return (f) => {
    const t = num(f);
    const guess = t > 128 ? 'many routers and Solaris start at 255' : t > 64 ? 'Windows starts at 128' : 'Linux and macOS start at 64';
    const hops = t > 128 ? 255 - t : t > 64 ? 128 - t : 64 - t;
    return `${kind} ${t}: hops left before a router drops it (and sends ICMP time exceeded); ${guess}, so ${hops === 0 ? 'no router was crossed' : `${hops} router${hops === 1 ? ' was' : 's were'} crossed`} if it started there`;
  };
}

const CHECKSUM_STATUS: Record<string, string> = {
  good: 'good: the bytes arrived as they were sent',
  bad: 'bad: corrupted on the way, or computed by the network card after the capture took it (checksum offload)',
  unverified: 'not verified (the bytes it covers are not all in the capture)',
};

const IP: Record<string, Meaning> = {
  'ip.version': () => '4: Internet Protocol version 4, 32-bit addresses',
  'ip.hdr_len': (f) => `${num(f)} bytes: ${num(f) / 4} words of 4 bytes${num(f) > 20 ? '; more than 20 means IP options follow' : ', no options'}`,
  'ip.dsfield': () => 'Differentiated Services: the priority class (DSCP) and congestion marks (ECN) routers may act on',
  'ip.dsfield.dscp': (f) => `DSCP ${num(f)}: ${DSCP[num(f)] ?? 'a priority class set by the sender or the network'}`,
  'ip.dsfield.ecn': (f) => `ECN ${num(f)}: ${ECN[num(f)] ?? ''}`,
  'ip.len': (f) => `${num(f)} bytes: the whole datagram, this header included`,
  'ip.id': (f) => `identifies the datagram, so fragments of it can be put together; ${num(f) === 0 ? '0 is usual when DF is set' : 'Linux counts it per destination'}`,
  'ip.flags': () => 'fragmentation control: reserved, don\'t fragment, more fragments',
  'ip.flags.rb': () => 'reserved, always 0',
  'ip.flags.df': (f) => (f.value ? 'set: a router must drop it if too big for the next link and say so by ICMP (path MTU discovery)' : 'routers may fragment it'),
  'ip.flags.mf': (f) => (f.value ? 'more fragments of this datagram follow' : 'the last (or only) fragment'),
  'ip.frag_offset': (f) => `${num(f)}: where this fragment's data goes in the datagram${num(f) ? ` (${num(f)} bytes in)` : ' (the start)'}`,
  'ip.ttl': ttlMeaning('TTL'),
  'ip.proto': (f) => `${num(f)}: the payload is ${PROTO[num(f)] ?? 'protocol ' + num(f)}`,
  'ip.checksum': () => 'covers the IP header only; each router recomputes it as the TTL goes down',
  'ip.checksum.status': (f) => CHECKSUM_STATUS[String(f.value)] ?? null,
  'ip.src': (f) => `${String(f.value)}: the sender's address`,
  'ip.dst': (f) => `${String(f.value)}: the receiver's address`,
  'ip.options': () => 'IP options (rare today: routers often drop or slow down packets that carry them)',
  'ip.opt': () => 'one IP option',
  'ip.opt.type': (f) => `option type ${f.value}: its copied flag, class and number in one byte`,
  'ip.opt.len': (f) => `${f.value} bytes: the option's length, type and length bytes included`,
  'ip.opt.ptr': () => 'pointer: where the next entry goes (record route, timestamps)',
  'ip.opt.addr': () => 'an address recorded or requested by the option',
  'ip.opt.padding': () => 'padding to end the header on a 4-byte boundary',
  'ip.opt.ra': () => 'router alert: routers should look at this packet more closely (RSVP, IGMP)',
  'ip.opt.flag': () => 'what the timestamp option records',
  'ip.opt.time_stamp': () => 'milliseconds since midnight UT, recorded by a router',
  'ip.fragment': () => 'a fragment of the datagram this packet completes',
  'ip.fragments': () => 'the fragments the datagram was put together from',
};

const IPV6: Record<string, Meaning> = {
  'ipv6.version': () => '6: Internet Protocol version 6, 128-bit addresses',
  'ipv6.tclass': () => 'traffic class: priority (DSCP) and congestion marks (ECN), as IPv4\'s DS field',
  'ipv6.tclass.dscp': (f) => `DSCP ${num(f)}: ${DSCP[num(f)] ?? 'a priority class'}`,
  'ipv6.tclass.ecn': (f) => `ECN ${num(f)}: ${ECN[num(f)] ?? ''}`,
  'ipv6.flow': (f) => (num(f) === 0 ? 'flow label 0: none (the packet is not labelled as part of a flow)' : `flow label ${num(f)}: the same for every packet of this flow, so routers can keep it on one path`),
  'ipv6.plen': (f) => `${num(f)} bytes after this 40-byte header (extension headers and payload)`,
  'ipv6.nxt': (f) => `${num(f)}: the next header is ${PROTO[num(f)] ?? 'protocol ' + num(f)}`,
  'ipv6.hlim': ttlMeaning('Hop limit'),
  'ipv6.src': (f) => `${String(f.value)}: the sender's address`,
  'ipv6.dst': (f) => `${String(f.value)}: the receiver's address`,
  'ipv6.fraghdr': () => 'fragment header: only the sender fragments in IPv6, routers never do',
  'ipv6.fraghdr.nxt': (f) => `${num(f)}: the header after the reassembled fragments is ${PROTO[num(f)] ?? 'protocol ' + num(f)}`,
  'ipv6.fraghdr.offset': (f) => `${num(f)}: where this fragment's data goes, in 8-byte units`,
  'ipv6.fraghdr.more': (f) => (f.value ? 'more fragments follow' : 'the last fragment'),
  'ipv6.fraghdr.ident': () => 'identifies the fragments of one datagram',
  'ipv6.fragment': () => 'a fragment of the datagram this packet completes',
  'ipv6.fragments': () => 'the fragments the datagram was put together from',
  'ipv6.hopopts': () => 'hop-by-hop options: every router on the path must look at them',
  'ipv6.hopopts.nxt': (f) => `${num(f)}: the next header is ${PROTO[num(f)] ?? 'protocol ' + num(f)}`,
  'ipv6.hopopts.len': () => 'length in 8-byte units, not counting the first 8',
  'ipv6.dstopts': () => 'destination options: for the receiver only',
  'ipv6.dstopts.nxt': (f) => `${num(f)}: the next header is ${PROTO[num(f)] ?? 'protocol ' + num(f)}`,
  'ipv6.dstopts.len': () => 'length in 8-byte units, not counting the first 8',
  'ipv6.routing': () => 'routing header: addresses the packet must visit on the way',
  'ipv6.routing.nxt': (f) => `${num(f)}: the next header is ${PROTO[num(f)] ?? 'protocol ' + num(f)}`,
  'ipv6.routing.len': () => 'length in 8-byte units, not counting the first 8',
  'ipv6.routing.type': (f) => `routing type ${f.value}${num(f) === 0 ? ' (deprecated by RFC 5095: a source-routing attack vector)' : ''}`,
  'ipv6.routing.segleft': (f) => `${f.value} address(es) still to visit`,
  'ipv6.routing.data': () => 'the addresses to visit',
  'ipv6.opt': () => 'one option of the header',
  'ipv6.opt.type': (f) => `option type ${f.value}: its two high bits say what a node that does not know it does (skip, drop, ICMP)`,
  'ipv6.opt.length': (f) => `${f.value} bytes of option data`,
  'ipv6.opt.pad1': () => 'one byte of padding',
  'ipv6.opt.padn': () => 'several bytes of padding',
  'ipv6.opt.router_alert': () => 'router alert: routers should look at this packet more closely (MLD, RSVP)',
  'ipv6.opt.jumbo': () => 'jumbo payload length: for payloads over 65535 bytes',
  'ipv6.opt.tel': () => 'tunnel encapsulation limit',
  ah: () => 'authentication header (IPsec): integrity of the packet',
  'ah.next_header': (f) => `${num(f)}: the next header is ${PROTO[num(f)] ?? 'protocol ' + num(f)}`,
  'ah.length': () => 'length of the header in 4-byte units, less 2',
  'ah.spi': () => 'security parameters index: which IPsec association protects it',
  'ah.sequence': () => 'IPsec anti-replay counter',
};

const TCP_FLAG: Record<string, [string, string]> = {
  'tcp.flags.syn': ['SYN: opens a connection and carries the initial sequence number', 'not a SYN'],
  'tcp.flags.ack': ['ACK: the acknowledgment number is valid (set on every segment after the first SYN)', 'no acknowledgment (only the very first SYN)'],
  'tcp.flags.fin': ['FIN: this side has no more data to send (it still receives)', 'not closing'],
  'tcp.flags.reset': ['RST: aborts the connection at once; nothing more is accepted', 'not aborting'],
  'tcp.flags.push': ['PSH: hand the data to the application now, do not wait for more', 'no push'],
  'tcp.flags.urg': ['URG: the urgent pointer is valid (FTP uses it for the Telnet Synch before ABOR)', 'no urgent data'],
  'tcp.flags.ece': ['ECE: the receiver saw a congestion mark (ECN)', 'no congestion echo'],
  'tcp.flags.cwr': ['CWR: the sender slowed down after an ECN echo', 'no window reduction'],
  'tcp.flags.ae': ['AE: accurate ECN', 'no accurate-ECN bit'],
  'tcp.flags.res': ['reserved: should be 0', 'reserved, 0'],
};

const TCP: Record<string, Meaning> = {
  'tcp.srcport': portMeaning('the sender'),
  'tcp.dstport': portMeaning('the receiver'),
  'tcp.len': (f) => (num(f) > 0 ? `${num(f)} bytes of payload (from the IP length, less the IP and TCP headers)` : 'no payload: a pure control segment (handshake, ACK, FIN, RST)'),
  'tcp.seq_raw': () => 'the 32-bit sequence number on the wire; it starts at a random value (the ISN) chosen by the sender',
  'tcp.seq': (f) => `byte ${num(f)} of the sender's stream, counting from its SYN (which takes number 0); raw minus the ISN`,
  'tcp.ack_raw': () => 'the 32-bit acknowledgment number on the wire',
  'tcp.ack': (f) => `the sender has every byte of the other side's stream before ${num(f)} and expects ${num(f)} next`,
  'tcp.hdr_len': (f) => `${num(f)} bytes: 20 fixed${num(f) > 20 ? ` + ${num(f) - 20} of options` : ', no options'}`,
  'tcp.flags': () => 'control bits: SYN opens, ACK acknowledges, PSH pushes, FIN closes, RST aborts',
  'tcp.window_size_value': (f, sib) => {
    const scaled = find(sib, 'tcp.window_size');
    const w = num(f);
    if (scaled && num(scaled) !== w) return `Window ${w} × ${num(scaled) / w} = ${num(scaled)} bytes the sender can still take (scaled by the factor agreed in the SYNs)`;
    return `Window ${w}: bytes the sender can still take${scaled ? '' : ' (scaled by a factor from the SYNs when they offered one)'}${w === 0 ? ': zero, its receive buffer is full' : ''}`;
  },
  'tcp.window_size': (f) => `${num(f)} bytes the sender of this segment can receive before the other side must wait`,
  'tcp.checksum': () => 'covers a pseudo-header (addresses, protocol, length), the TCP header and the payload, so damage on the way is caught',
  'tcp.checksum.status': (f) => CHECKSUM_STATUS[String(f.value)] ?? null,
  'tcp.urgent_pointer': (f) => (num(f) === 0 ? 'not used (only meaningful with URG)' : `urgent data ends ${num(f)} bytes into the payload`),
  'tcp.options': () => 'options: negotiated in the SYNs (MSS, window scale, SACK) or carried on every segment (timestamps, SACK blocks)',
  'tcp.options.mss': (f) => `the largest segment the sender accepts: ${f.value} bytes (an MTU of ${num(f) + 40} less 40 bytes of IPv4 and TCP headers)`,
  'tcp.options.wscale': (f) => `multiply this side's windows by 2^${f.value} from now on; only when both SYNs carry the option (RFC 7323)`,
  'tcp.options.sack_perm': () => 'this side can take selective ACKs: the receiver may say which later blocks it holds, so only the holes are resent',
  'tcp.options.sack': () => 'blocks received beyond the acknowledgment number: the bytes between them are missing',
  'tcp.options.timestamp': () => 'TSval: the sender\'s clock; TSecr: the most recent TSval it received, echoed: RTT measurement and protection against old segments (PAWS)',
  'tcp.options.nop': () => 'padding, so the next option starts on a 4-byte boundary',
  'tcp.options.eol': () => 'end of the option list',
  'tcp.option_kind': (f) => `kind ${f.value}: which option this is (2 MSS, 3 window scale, 4 SACK permitted, 5 SACK, 8 timestamps)`,
  'tcp.option_len': (f) => `${f.value} bytes: the option's length, kind and length bytes included`,
  'tcp.options.mss_val': (f) => `${f.value} bytes`,
  'tcp.options.wscale.shift': (f) => `shift ${f.value}: windows from this side are multiplied by 2^${f.value}`,
  'tcp.options.wscale.multiplier': (f) => `×${f.value}: the window field times this is the window in bytes`,
  'tcp.options.sack_le': () => 'left edge: the first byte of a block received beyond the ACK',
  'tcp.options.sack_re': () => 'right edge: the byte after that block',
  'tcp.options.timestamp.tsval': () => 'the sender\'s clock when it sent this (its units are the sender\'s own)',
  'tcp.options.timestamp.tsecr': () => 'the most recent TSval received from the other side, echoed back (0 in a first SYN)',
  'tcp.options.unknown': () => 'an option ftpscope does not decode',
  'tcp.options.unknown.payload': () => 'the option\'s bytes',
  'tcp.options.cut': () => 'the capture stopped inside the options (snaplen)',
  'tcp.payload': (f) => `${f.value} bytes carried for the application (FTP below)`,
};

// ---- FTP -----------------------------------------------------------------------------------

const VERBS: Record<string, string> = {
  USER: 'the user name to log in as', PASS: 'the password (sent in clear text unless TLS protects the connection)', ACCT: 'account information',
  CWD: 'change the working directory', CDUP: 'go to the parent directory', PWD: 'print the working directory', MKD: 'make a directory',
  RMD: 'remove a directory', DELE: 'delete a file', RNFR: 'rename from (the old name)', RNTO: 'rename to (the new name)',
  TYPE: 'transfer type: A for ASCII (line ends converted), I for image (bytes as they are)', MODE: 'transfer mode (S stream)', STRU: 'file structure (F file)',
  PORT: 'active mode: the client says where it listens; the server will connect there for the next transfer',
  EPRT: 'active mode, extended (RFC 2428): the client\'s address (IPv4 or IPv6) and port to connect to',
  LPRT: 'active mode, long form (RFC 1639)', PASV: 'passive mode: ask the server to listen and say where (reply 227)',
  EPSV: 'passive mode, extended (RFC 2428): ask for a port on the server\'s own address (reply 229)', LPSV: 'passive mode, long form (RFC 1639)',
  RETR: 'download this file over the data connection', STOR: 'upload a file to this name', STOU: 'upload to a unique name', APPE: 'append to a file',
  LIST: 'directory listing (human-readable) over the data connection', NLST: 'list of names over the data connection', MLSD: 'machine-readable listing (RFC 3659)',
  MLST: 'facts about one file (RFC 3659)', SIZE: 'the size of a file (RFC 3659)', MDTM: 'modification time of a file (RFC 3659)',
  REST: 'restart the next transfer at this byte offset', ABOR: 'abort the transfer in progress', QUIT: 'log out and close the connection',
  NOOP: 'do nothing (keeps the connection alive)', SYST: 'the server\'s system type', FEAT: 'list the extensions the server supports',
  OPTS: 'options for a command', AUTH: 'start TLS on the control connection (AUTH TLS, RFC 4217)', PBSZ: 'protection buffer size (0 with TLS)',
  PROT: 'data connection protection: P private (TLS), C clear', CCC: 'back to clear text on the control connection', HELP: 'help text', STAT: 'status',
  SITE: 'a server-specific command', ALLO: 'allocate space for an upload', EPSV_ALL: 'EPSV ALL: only EPSV from now on',
};

/** Children of a PORT/PASV/EPRT/EPSV argument: its address and port, with the arithmetic. */
function endpointFields(kind: 'active' | 'passive', text: string, offset: number, length: number, serverIsImplied: boolean): Field[] {
  const comma = /(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})/.exec(text);
  if (comma) {
    const [h1, h2, h3, h4, p1, p2] = comma.slice(1).map(Number) as [number, number, number, number, number, number];
    const ip = `${h1}.${h2}.${h3}.${h4}`;
    const port = p1 * 256 + p2;
    const who = kind === 'active' ? 'the client listens there and the server connects to it (active mode)' : 'the server listens there and the client connects to it (passive mode)';
    return [
      withMeaning(field(`ftp.${kind}.ip`, kind === 'active' ? 'Active IP address' : 'Passive IP address', ip, offset, length, ip),
        `${ip}: the first four numbers, ${h1},${h2},${h3},${h4}`),
      withMeaning(field(`ftp.${kind}.port`, kind === 'active' ? 'Active port' : 'Passive port', port, offset, length, String(port)),
        `${p1}*256+${p2} = ${port}: the last two numbers are the port's high and low byte; ${who}`),
    ];
  }
  const ext = /\|(\d?)\|([^|]*)\|(\d+)\|/.exec(text);
  if (ext) {
    const port = Number(ext[3]);
    const out: Field[] = [];
    if (ext[2]) {
      out.push(withMeaning(field(`ftp.${kind}.ip`, kind === 'active' ? 'Active IP address' : 'Passive IP address', ext[2], offset, length, ext[2]),
        `${ext[2]}: address family ${ext[1] === '2' ? '2 (IPv6)' : '1 (IPv4)'} (RFC 2428)`));
    }
    out.push(withMeaning(field(`ftp.${kind}.port`, kind === 'active' ? 'Active port' : 'Passive port', port, offset, length, String(port)),
      `${port}: written out in decimal (RFC 2428)${serverIsImplied ? '; the address is the server\'s own, the one the control connection goes to' : ''}`));
    return out;
  }
  return [];
}

const TELNET_MEANING = 'Telnet "interrupt process" and "synch" (urgent data) tell the server to look at the control connection at once, before ABOR';
const MALFORMED_MEANING = 'the header is broken or cut here: what follows cannot be decoded';

function withMeaning(f: Field, meaning: string): Field {
  f.meaning = meaning;
  return f;
}

function ftpMeanings(fields: Field[]): void {
  for (const f of fields) {
    if (f.name === 'ftp.request') {
      const kids = f.children ?? [];
      const cmd = find(kids, 'ftp.request.command');
      const arg = find(kids, 'ftp.request.arg');
      const verb = cmd ? String(cmd.value) : '';
      if (cmd) cmd.meaning = VERBS[verb] ? `${verb}: ${VERBS[verb]}` : `${verb}: a command ftpscope has no description for`;
      const telnet = find(kids, 'ftp.telnet');
      if (telnet) telnet.meaning = TELNET_MEANING;
      if (arg) arg.meaning = verb === 'PASS' || verb === 'ACCT' ? 'the secret itself (ftpscope shows **** unless --show-passwords)' : `the argument of ${verb}`;
      if (arg && (verb === 'PORT' || verb === 'EPRT')) {
        const extra = endpointFields('active', String(arg.value), arg.offset, arg.length, false);
        if (extra.length) arg.children = [...(arg.children ?? []), ...extra];
      }
      f.meaning = 'a command from the client: a verb and its argument, one line ending in CR LF';
    } else if (f.name === 'ftp.response') {
      const kids = f.children ?? [];
      const code = find(kids, 'ftp.response.code');
      const arg = find(kids, 'ftp.response.arg');
      if (code) code.meaning = code.display.replace(/^\d+ \((.*)\)$/, '$1');
      const c = code ? num(code) : 0;
      if (arg) arg.meaning = 'the reply\'s text, for people (the code is what programs act on)';
      const more = find(kids, 'ftp.response.continuation');
      if (more) more.meaning = 'a dash after the code: more lines follow, until a line starts with the same code and a space';
      if (arg && (c === 227 || c === 229)) {
        const extra = endpointFields('passive', String(arg.value), arg.offset, arg.length, c === 229);
        if (extra.length) arg.children = [...(arg.children ?? []), ...extra];
      }
      f.meaning = code ? 'a reply from the server: a three-digit code and text' : 'a continuation line of a multi-line reply';
    } else if (f.name === 'ftp.more') {
      f.meaning = 'bytes after the last line end: the line goes on in the next segment';
    } else if (f.name === 'ftp.telnet') {
      f.meaning = TELNET_MEANING;
    } else if (f.name === '_ws.malformed') {
      f.meaning = MALFORMED_MEANING;
    }
  }
}

function apply(fields: readonly Field[], table: Record<string, Meaning>, siblings: readonly Field[]): void {
  for (const f of fields) {
    if (f.meaning === undefined) {
      const m = f.name === '_ws.malformed' ? MALFORMED_MEANING : table[f.name]?.(f, siblings) ?? (f.name in TCP_FLAG ? (f.value ? TCP_FLAG[f.name]![0] : TCP_FLAG[f.name]![1]) || null : null);
      if (m) f.meaning = m;
    }
    if (f.children) apply(f.children, table, f.children);
  }
}

/** Fill Field.meaning of the IP, IPv6, TCP and FTP layers' fields (those that have none yet). */
export function addMeanings(layers: readonly Layer[]): void {
  for (const l of layers) {
    if (l.name === 'ip') apply(l.fields, IP, l.fields);
    else if (l.name === 'ipv6') apply(l.fields, IPV6, l.fields);
    else if (l.name === 'tcp') apply(l.fields, TCP, l.fields);
    else if (l.name === 'ftp') ftpMeanings(l.fields);
  }
}

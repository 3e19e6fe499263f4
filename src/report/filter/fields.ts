/**
 * The fields a display filter can name: Wireshark's names where Wireshark has the field, and
 * ftpscope's own under `ftpscope.`. Each says its type (how literals compared with it parse)
 * and what it holds.
 */
export type FieldType = 'number' | 'string' | 'address' | 'boolean' | 'protocol';

export interface FilterField {
  type: FieldType;
  description: string;
}

const f = (type: FieldType, description: string): FilterField => ({ type, description });

export const FILTER_FIELDS: Readonly<Record<string, FilterField>> = {
  frame: f('protocol', 'every packet'),
  'frame.number': f('number', 'frame number, from 1'),
  'frame.time_relative': f('number', 'seconds since the first packet of the capture'),
  ip: f('protocol', 'IPv4 packets'),
  'ip.addr': f('address', 'source or destination IPv4 address'),
  'ip.src': f('address', 'source IPv4 address'),
  'ip.dst': f('address', 'destination IPv4 address'),
  ipv6: f('protocol', 'IPv6 packets'),
  'ipv6.addr': f('address', 'source or destination IPv6 address'),
  'ipv6.src': f('address', 'source IPv6 address'),
  'ipv6.dst': f('address', 'destination IPv6 address'),
  tcp: f('protocol', 'TCP segments'),
  'tcp.port': f('number', 'source or destination TCP port'),
  'tcp.srcport': f('number', 'source TCP port'),
  'tcp.dstport': f('number', 'destination TCP port'),
  'tcp.stream': f('number', 'TCP connection index, from 0 in order of first packet'),
  'tcp.len': f('number', 'TCP payload length'),
  'tcp.seq': f('number', 'sequence number relative to the sender\'s ISN'),
  'tcp.ack': f('number', 'acknowledgement number relative to the receiver\'s ISN'),
  'tcp.seq_raw': f('number', 'sequence number as sent'),
  'tcp.ack_raw': f('number', 'acknowledgement number as sent'),
  'tcp.window_size_value': f('number', 'window as sent (unscaled)'),
  'tcp.flags': f('number', 'the flag bits'),
  'tcp.flags.fin': f('boolean', 'FIN'),
  'tcp.flags.syn': f('boolean', 'SYN'),
  'tcp.flags.reset': f('boolean', 'RST'),
  'tcp.flags.push': f('boolean', 'PSH'),
  'tcp.flags.ack': f('boolean', 'ACK'),
  'tcp.flags.urg': f('boolean', 'URG'),
  'tcp.flags.ece': f('boolean', 'ECE'),
  'tcp.flags.cwr': f('boolean', 'CWR'),
  ftp: f('protocol', 'FTP control packets with payload'),
  'ftp.request': f('boolean', 'a packet carrying an FTP command'),
  'ftp.response': f('boolean', 'a packet carrying an FTP reply'),
  'ftp.request.command': f('string', 'FTP command verb'),
  'ftp.request.arg': f('string', 'FTP command argument (secrets masked unless --show-passwords)'),
  'ftp.response.code': f('number', 'FTP reply code'),
  'ftp.response.arg': f('string', 'FTP reply text'),
  'ftp-data': f('protocol', 'FTP data connection packets with payload'),
  'ftp-data.command': f('string', 'the transfer command the data connection served (ftpscope attributes it to the transfer, Wireshark to the last command)'),
  'ftp-data.setup-method': f('string', 'PASV, EPSV, PORT, EPRT, LPRT or LPSV'),
  'ftp-data.current-working-directory': f('string', 'working directory when the transfer command was sent'),
  'ftpscope.session': f('number', 'session id'),
  'ftpscope.user': f('string', 'the session\'s user name'),
  'ftpscope.finding': f('string', 'code of a finding of the session'),
  'ftpscope.role': f('string', 'FTP role of a packet\'s sender: client or server'),
  'ftpscope.transfer': f('protocol', 'a data connection of a session'),
  'ftpscope.transfer.bytes': f('number', 'bytes a data connection carried'),
  'ftpscope.transfer.complete': f('boolean', 'the transfer is complete'),
  'ftpscope.transfer.direction': f('string', 'download, upload or listing'),
  'ftpscope.transfer.path': f('string', 'path of the transferred file'),
  'ftpscope.transfer.mode': f('string', 'passive or active'),
};

/** Fields that describe one data connection: a filter naming them keeps only the matching ones. */
export function isTransferField(name: string): boolean {
  return name.startsWith('ftp-data') || name.startsWith('ftpscope.transfer');
}

/** The known field nearest to a misspelt one (edit distance), for "did you mean". */
export function nearestField(name: string): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const k of Object.keys(FILTER_FIELDS)) {
    const d = distance(name, k);
    if (d < bestD) { bestD = d; best = k; }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

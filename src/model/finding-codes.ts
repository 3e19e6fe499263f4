/**
 * The catalogue of finding codes: every code ftpscope raises, with its usual severity, what it
 * means and what an engineer does about it. Codes are a public contract (docs/report-json.md):
 * never rename one. A new code goes here first; `finding()` accepts no other. docs/findings.md
 * is rendered from this object (`npm run docs:findings`) and a test keeps the two equal.
 *
 * Vocabulary layer: imports nothing outside src/model/.
 */
import type { Severity } from './findings.js';

/** How docs/findings.md groups the codes, in this order. */
export const FINDING_GROUPS = {
  diagnosis: 'Diagnosis: the cause of a failure, with its fix',
  capture: 'Capture file and live capture',
  tcp: 'TCP',
  control: 'FTP control connection',
  data: 'Data connections and transfers',
  proxy: 'Proxy (`ftpscope proxy`)',
} as const;

export type FindingGroup = keyof typeof FINDING_GROUPS;

export interface FindingCodeInfo {
  readonly group: FindingGroup;
  /** The severity the code is usually raised with. */
  readonly severity: Severity;
  /** Other severities some call sites use (the meaning says when). */
  readonly otherSeverities?: readonly Severity[];
  /** One line: what happened. */
  readonly meaning: string;
  /** One line: the concrete action for an engineer. */
  readonly fix: string;
  /**
   * Where the long explanation lives (symptom, what ftpscope shows, cause, fix per server and client, a
   * real report excerpt): a path and anchor relative to docs/, e.g. `diagnosis.md#pasv-private-address`.
   */
  readonly doc?: string;
}

export const FINDING_CODES = {
  // ---- diagnosis -----------------------------------------------------------------------
  // Raised by src/analysis/diagnosis.ts once a session is final: each names a cause, the evidence in the
  // capture and the fix per server. docs/diagnosis.md has one section per code, from a real recorded failure.
  'pasv-private-address': {
    group: 'diagnosis',
    severity: 'error',
    meaning: "The server announced a private address in its passive reply while the client reached it at another address, and the data connection to the private address never opened: the server is behind NAT and does not know its public address.",
    fix: 'Set the public address: vsftpd pasv_address=PUBLIC, ProFTPD MasqueradeAddress PUBLIC, pure-ftpd -P PUBLIC (ForcePassiveIP); or have the client ignore it (curl --ftp-skip-pasv-ip, the default since 7.74; lftp set ftp:ignore-pasv-address yes).',
    doc: 'diagnosis.md#pasv-private-address',
  },
  'passive-data-blocked': {
    group: 'diagnosis',
    severity: 'error',
    meaning: "The client's passive data connections to the server's announced port were never answered (SYNs retransmitted, no SYN-ACK) while the control connection works: a firewall or NAT in front of the server drops the passive port range.",
    fix: 'Fix the passive range (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, pure-ftpd -p MIN:MAX) and open/forward exactly that range on the firewall; or use active mode (curl -P -, lftp set ftp:passive-mode no) if the client can accept connections.',
    doc: 'diagnosis.md#passive-data-blocked',
  },
  'active-data-blocked': {
    group: 'diagnosis',
    severity: 'error',
    meaning: "In active mode the server's connection to the client's PORT/EPRT address was never answered (or never seen): the client's firewall or NAT drops incoming connections.",
    fix: "Use passive mode (curl without -P/--ftp-port, lftp set ftp:passive-mode yes, basic-ftp's default) or allow the server's connections in the client's firewall; servers need no change (vsftpd connect_from_port_20 only changes the source port).",
    doc: 'diagnosis.md#active-data-blocked',
  },
  'epsv-data-blocked': {
    group: 'diagnosis',
    severity: 'error',
    meaning: 'EPSV data connections (to the control address) were never answered while a PASV data connection worked: the firewall opens the passive ports only where PASV points (an old ALG, or data ports on another address).',
    fix: 'Client: turn EPSV off (curl --disable-epsv, lftp set ftp:prefer-epsv no). Network: forward the passive range on the control address too, or update the ALG so it handles EPSV (RFC 2428).',
    doc: 'diagnosis.md#epsv-data-blocked',
  },
  'port-private-address': {
    group: 'diagnosis',
    severity: 'error',
    meaning: "PORT/EPRT named a private address while the client's control connection comes from another address: the client is behind NAT and nothing rewrote PORT, so the server refuses it or cannot connect.",
    fix: "Use passive mode (curl without -P, lftp set ftp:passive-mode yes); or let the NAT rewrite PORT (nft ct helper \"ftp\", Linux nf_nat_ftp); or tell the client its public address (curl -P PUBLIC, lftp set ftp:port-ipv4 PUBLIC).",
    doc: 'diagnosis.md#port-private-address',
  },
  'tls-data-blocked': {
    group: 'diagnosis',
    severity: 'error',
    meaning: "After AUTH TLS the data connection's SYNs were never answered: the firewall opens data ports by reading PASV/PORT with an FTP helper (ALG), which cannot read the encrypted control connection.",
    fix: 'Open the passive range statically instead of relying on the helper: fix it on the server (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, pure-ftpd -p MIN:MAX) and allow it in the firewall.',
    doc: 'diagnosis.md#tls-data-blocked',
  },
  'tls-session-reuse-required': {
    group: 'diagnosis',
    severity: 'error',
    meaning: "A TLS data connection's ClientHello offers no session resumption, on a server that by default requires data connections to resume the control connection's TLS session (vsftpd, ProFTPD): the server refuses it (522) and nothing is transferred.",
    fix: "Use a client that resumes the TLS session on data connections (curl, lftp, FileZilla, basic-ftp do; Python's ftplib does not), or relax the server: vsftpd require_ssl_reuse=NO, ProFTPD TLSOptions NoSessionReuseRequired.",
    doc: 'diagnosis.md#tls-session-reuse-required',
  },
  'ascii-mode-binary': {
    group: 'diagnosis',
    severity: 'warning',
    meaning: 'A file was downloaded in ASCII mode (TYPE A) and the bytes received differ in number from its size on the server: line ends were converted, which corrupts binary files.',
    fix: 'Transfer non-text files in image mode (TYPE I): curl without --use-ascii/-B, lftp get without -a, basic-ftp and most clients default to it. vsftpd converts only with ascii_download_enable=YES (off by default).',
    doc: 'diagnosis.md#ascii-mode-binary',
  },
  'resume-offset-mismatch': {
    group: 'diagnosis',
    severity: 'error',
    meaning: 'A download was resumed (REST) from an offset past the bytes an earlier, interrupted transfer of the same file delivered: the bytes in between are missing from the client\'s file.',
    fix: 'Resume from the size of the partial file the client has (curl -C -, lftp get -c / reget, basic-ftp downloadTo with startAt = local size) and compare the result against the server\'s SIZE or a checksum.',
    doc: 'diagnosis.md#resume-offset-mismatch',
  },
  'control-lost-during-transfer': {
    group: 'diagnosis',
    severity: 'error',
    meaning: "The data connection finished but the transfer's final reply never came, and the client's later segments on the control connection went unanswered: a NAT or firewall dropped the idle control connection during the transfer.",
    fix: 'Raise the TCP idle timeout of the NAT/firewall above the longest transfer (Linux: net.netfilter.nf_conntrack_tcp_timeout_established), or keep the control connection alive: TCP keep-alive (curl --keepalive-time 30, ProFTPD SocketOptions keepalive on) or NOOPs during transfers.',
    doc: 'diagnosis.md#control-lost-during-transfer',
  },
  'server-idle-timeout': {
    group: 'diagnosis',
    severity: 'warning',
    meaning: 'The server closed the session with 421 after the client had sent nothing for a while: its idle timeout.',
    fix: 'Raise the server idle timeout (vsftpd idle_session_timeout, ProFTPD TimeoutIdle, pure-ftpd -I MINUTES) or make the client send NOOP while it is idle (lftp does; with basic-ftp call send("NOOP") periodically).',
    doc: 'diagnosis.md#server-idle-timeout',
  },
  'pasv-ports-exhausted': {
    group: 'diagnosis',
    severity: 'error',
    meaning: 'The server could not give a passive port: every port of its passive range was in use by other sessions at that moment.',
    fix: 'Widen the passive range (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts, pure-ftpd -p MIN:MAX) and the firewall rule with it, at least a few ports per concurrent session; or limit concurrent sessions.',
    doc: 'diagnosis.md#pasv-ports-exhausted',
  },
  'lossy-path': {
    group: 'diagnosis',
    severity: 'warning',
    meaning: 'Many segments of a data connection were retransmitted: packets are lost on the path, which cuts TCP throughput.',
    fix: 'Not an FTP setting: find the lossy hop (interface errors, duplex mismatch, Wi-Fi, an overloaded shaper) with captures on both sides or mtr; FTP itself only suffers from it.',
    doc: 'diagnosis.md#lossy-path',
  },
  'data-stalled': {
    group: 'diagnosis',
    severity: 'error',
    meaning: 'The data connection opened and the server announced the transfer (150), but no data arrived before the connection was given up, while small control replies still got through: most often a path-MTU black hole (full-size segments dropped, ICMP "fragmentation needed" filtered).',
    fix: 'Let ICMP type 3 code 4 (ICMPv6 type 2, packet too big) through the firewalls, or clamp the MSS on the router (nft: tcp flags syn tcp option maxseg size set rt mtu); as a workaround on the server, net.ipv4.tcp_mtu_probing=1 or a smaller MTU.',
    doc: 'diagnosis.md#data-stalled',
  },
  'upload-storage-full': {
    group: 'diagnosis',
    severity: 'error',
    meaning: 'An upload failed part-way with a storage error (452/552, or 451 naming space or quota): the server ran out of disk space or quota.',
    fix: 'Free space on the server or raise the quota (ProFTPD mod_quotatab, pure-ftpd --quota / -y, the file system quota for vsftpd), then upload again from the start or with REST/APPE.',
    doc: 'diagnosis.md#upload-storage-full',
  },
  'transfer-refused': {
    group: 'diagnosis',
    severity: 'warning',
    meaning: 'The server refused a transfer command with 550/553 before any data moved: no permission, no such file, or an upload where writing is not allowed.',
    fix: 'Check the path and its permissions on the server (ownership, mode); for uploads, write permission in the server (vsftpd write_enable/anon_upload_enable, ProFTPD <Limit WRITE>, pure-ftpd without -i).',
    doc: 'diagnosis.md#transfer-refused',
  },
  'anonymous-login-refused': {
    group: 'diagnosis',
    severity: 'warning',
    meaning: 'The server refused an anonymous login (530): anonymous FTP is disabled there.',
    fix: 'Log in with an account; or, if anonymous access is wanted, enable it (vsftpd anonymous_enable=YES, a ProFTPD <Anonymous> section, pure-ftpd without -E and with an ftp account).',
    doc: 'diagnosis.md#anonymous-login-refused',
  },
  'port-bounce': {
    group: 'diagnosis',
    severity: 'warning',
    otherSeverities: ['error'],
    meaning: 'PORT/EPRT asked the server to connect to a third host (neither the client nor a private address behind its NAT): an FTP bounce attempt. A warning when the server refused it; an error when it accepted it.',
    fix: 'Keep servers refusing foreign PORT addresses (vsftpd port_promiscuous=NO, ProFTPD AllowForeignAddress off, pure-ftpd without -w: the defaults) and check the client that sent it.',
    doc: 'diagnosis.md#port-bounce',
  },

  // ---- capture -------------------------------------------------------------------------
  'capture-truncated': {
    group: 'capture',
    severity: 'warning',
    meaning: 'The capture file ends in the middle of a packet or block; the packets before it were analysed.',
    fix: 'Stop the capturing tool (tcpdump/dumpcap) before copying the file, then copy it again.',
  },
  'capture-corrupt': {
    group: 'capture',
    severity: 'error',
    meaning: 'The capture file is damaged part-way (bad block or record header); the packets before the damage were analysed, the rest skipped. (When no packet at all can be read, the run fails with the error code `capture-corrupt` instead.)',
    fix: 'Copy the file again in binary mode (scp, or FTP `TYPE I`), and check a .gz copy with `gzip -t`.',
  },
  'capture-bad-tsresol': {
    group: 'capture',
    severity: 'warning',
    meaning: 'A pcapng interface declares an unusable timestamp resolution (if_tsresol); its timestamps are read as microseconds and may be wrong.',
    fix: 'Fix or report the tool that wrote the file; if timings matter, re-export the capture with Wireshark/editcap.',
  },
  'unknown-link-type': {
    group: 'capture',
    severity: 'warning',
    meaning: 'A capture (or pcapng interface) has a link type ftpscope does not decode; its packets are counted but not analysed.',
    fix: 'Capture on an Ethernet, Linux cooked (`-i any`), raw-IP or loopback interface instead, or open an issue with a sample of this link type.',
  },
  'capture-snaplen': {
    group: 'capture',
    severity: 'warning',
    meaning: "Packets were cut short by the capture's snaplen; their missing bytes count as gaps in the streams.",
    fix: 'Capture whole packets: `tcpdump -s 0` (or no `-s` with `ftpscope capture`).',
  },
  'malformed-packets': {
    group: 'capture',
    severity: 'warning',
    meaning: 'Some packets have broken link, IP or TCP headers and were skipped (the first one is named).',
    fix: 'Open the first named frame in Wireshark to see what is broken; recapture at another point if those packets matter.',
  },
  'capture-kernel-drops': {
    group: 'capture',
    severity: 'warning',
    meaning: 'During a live capture the kernel dropped packets before ftpscope could read them; expect gaps.',
    fix: 'Narrow the `-f` filter (e.g. the FTP hosts only) or lower `-s` snaplen so ftpscope keeps up.',
  },
  'capture-write-dropped': {
    group: 'capture',
    severity: 'warning',
    meaning: 'During a live capture packets were analysed but not written to the `-w` file: the disk could not keep up.',
    fix: 'Write the `-w` file to a faster local disk, or narrow the `-f` filter.',
  },
  'capture-file-skipped': {
    group: 'capture',
    severity: 'error',
    otherSeverities: ['info'],
    meaning: 'One file of a set of captures (several files or a directory) could not be read at all: missing, unreadable, not a capture, or damaged before its first packet. The message names the file (and the byte offset of damage); the other files were analysed. As info: files in a directory given that are not captures at all (no pcap, pcapng or gzip header) were left out.',
    fix: 'Check or copy that file again; a ring-buffer file still being written may be cut short. Leave it out of the set if it does not belong.',
  },
  'capture-time-backwards': {
    group: 'capture',
    severity: 'warning',
    meaning: "In a set of captures, a file's own timestamps go backwards: the merge keeps each file's packet order, so some packets were analysed later than their time (the first is named with its file, its frame there and its byte offset).",
    fix: 'Sort the file by time with `reordercap in.pcapng out.pcapng` and analyse again; a clock that stepped back during the capture (NTP) can also cause it.',
  },
  'capture-files-overlap': {
    group: 'capture',
    severity: 'info',
    meaning: 'Files of a set cover overlapping times; their packets were merged in time order. Captures from two capture points seeing the same traffic would count it twice.',
    fix: 'Nothing when the files saw different traffic (e.g. one per interface); otherwise analyse the files of one capture point only.',
  },
  'capture-files-link-types': {
    group: 'capture',
    severity: 'info',
    meaning: 'Files of a set have different link types (e.g. Ethernet and Linux cooked); each packet is decoded with the link type of its own file.',
    fix: 'Nothing to do when the files come from different interfaces; note that the same traffic captured on two interfaces is counted twice.',
  },
  'capture-drops-recorded': {
    group: 'capture',
    severity: 'warning',
    meaning: 'The capture file itself says packets were lost while it was recorded (a pcapng Interface Statistics Block counts them: dropped by the kernel, or not written because the disk fell behind); expect gaps.',
    fix: 'Record again: for a live capture with a bigger `-B` buffer or a narrower `-f` filter; for `ftpscope proxy --record`, keep the default `--record-overflow backpressure` or record to a faster disk.',
  },
  'proxy-recording-legs': {
    group: 'capture',
    severity: 'info',
    meaning: 'The file is a recording of `ftpscope proxy --record`: the connections the proxy opened to the servers (marked by a comment on their SYN) are reported as part of the sessions they served, with the session\'s `originalServer`, not as sessions of their own.',
    fix: 'Nothing to fix. To see those legs on their own, open the file in tshark (`frame.comment contains "server-facing"`).',
  },
  'capture-mid-session': {
    group: 'capture',
    severity: 'info',
    meaning: 'The capture starts in the middle of a control connection (no SYN seen); the login and earlier commands are missing.',
    fix: 'Start the capture before the client connects if you need the beginning of the session.',
  },

  // ---- TCP -----------------------------------------------------------------------------
  'tcp-port-reuse': {
    group: 'tcp',
    severity: 'info',
    meaning: "A new SYN reused a connection's addresses and ports before that connection was seen to close; the old one was ended there.",
    fix: 'Usually harmless (fast port reuse); if the old connection should have closed, check whether the capture missed its FIN/RST.',
  },
  'tcp-flow-evicted': {
    group: 'tcp',
    severity: 'warning',
    meaning: 'The flow table was full (as many connections at once as `--memory-budget` allows, or `--max-flows`); the connection idle the longest was closed early.',
    fix: 'Raise `--max-flows` (or `--memory-budget`), narrow the capture to the FTP hosts, or split the capture (`editcap -i`).',
  },
  'tcp-flows-evicted': {
    group: 'tcp',
    severity: 'warning',
    meaning: 'The capture had more connections open at once than the flow table holds; this many were closed early, oldest idle first (each listed with tcp-flow-evicted).',
    fix: 'Raise `--max-flows` (or `--memory-budget`) to follow more connections at once, narrow the capture to the FTP hosts, or split it (`editcap -i`).',
  },
  'tcp-retransmission-mismatch': {
    group: 'tcp',
    severity: 'warning',
    meaning: 'A retransmitted segment carried different bytes from the first copy; the first copy was kept.',
    fix: 'Look for a middlebox rewriting payload (FTP ALG, IPS, proxy) or an injection attempt: compare captures taken on both sides of it.',
  },
  'tcp-reassembly-limit': {
    group: 'tcp',
    severity: 'warning',
    meaning: 'One side had more out-of-order data than the reassembly limit (4 MiB per direction by default); a hole was skipped (the capture probably lost packets).',
    fix: 'Recapture without packet loss (closer to an endpoint, bigger capture buffer `tcpdump -B`), or raise the tracker\'s `maxOutOfOrderBytesPerDirection` when using the library.',
  },

  // ---- FTP control connection ----------------------------------------------------------
  'control-gap': {
    group: 'control',
    severity: 'warning',
    meaning: 'Bytes of the control connection are missing from the capture; commands or replies may be lost (decoding resumes at the next line).',
    fix: 'Recapture without loss (check `tcpdump` drop counts, capture on the server or client host rather than a busy SPAN port).',
  },
  'control-reset': {
    group: 'control',
    severity: 'warning',
    meaning: 'The control connection was reset (RST) by the client or the server.',
    fix: "Check the server log and any firewall/IPS between the peers at that time: an idle-timeout kill, a crash, or a middlebox reset.",
  },
  'control-tls': {
    group: 'control',
    severity: 'info',
    meaning: 'AUTH TLS/SSL was accepted (234): later commands and replies are encrypted (or, behind `ftpscope proxy --tls-terminate`, decrypted there).',
    fix: 'Nothing to fix; to see the encrypted session, run it through `ftpscope proxy --tls-terminate`.',
  },
  'ftp-nonstandard-port': {
    group: 'control',
    severity: 'info',
    meaning: 'An FTP control connection was recognised on a port other than 21 from its greeting or first command.',
    fix: 'Pass `--ftp-port N` to be explicit (also makes sessions that start mid-stream recognisable).',
  },
  'ftp-line-too-long': {
    group: 'control',
    severity: 'warning',
    meaning: 'The client or server sent a control line longer than the limit (8192 bytes); it was cut.',
    fix: 'Check the sending client or server: no FTP line is that long, so it is a bug or an overflow attack; block the source if hostile.',
  },
  'ftp-malformed-command': {
    group: 'control',
    severity: 'warning',
    meaning: 'The client sent a line that is not an FTP command.',
    fix: 'Check that the client speaks plain FTP on this port (not HTTP, SSH or implicit FTPS); block it if it is a scanner.',
  },
  'ftp-malformed-reply': {
    group: 'control',
    severity: 'warning',
    meaning: 'The server sent a line that is not an FTP reply (no 3-digit code).',
    fix: 'Fix the server (or the middlebox inserting text) so every reply line follows RFC 959: code, then space or hyphen.',
  },
  'ftp-reply-unterminated': {
    group: 'control',
    severity: 'warning',
    meaning: 'The control connection ended inside a multi-line reply; it counts as far as it went.',
    fix: 'Capture until the session ends; if the server really stopped mid-reply, check its log for a crash or timeout.',
  },
  'ftp-reply-code-mismatch': {
    group: 'control',
    severity: 'info',
    meaning: 'A multi-line reply opened with one code (`NNN-`) and closed with another; clients read the closing code.',
    fix: 'Make the server close multi-line replies with the code that opened them (RFC 959 4.2); harmless unless a strict client fails.',
  },
  'ftp-no-reply': {
    group: 'control',
    severity: 'warning',
    meaning: 'Commands got no reply before the server answered a later one: the reply is missing from the capture, or the server ignored the command.',
    fix: 'Check for capture loss (`control-gap`); otherwise look in the server log for the named commands.',
  },
  'ftp-unanswered-commands': {
    group: 'control',
    severity: 'warning',
    meaning: 'More than 256 commands are waiting for a reply; the oldest is dropped and reply pairing may be off.',
    fix: "Make sure the capture sees the server's direction too (asymmetric routing, one-way SPAN), then recapture.",
  },
  'commands-truncated': {
    group: 'control',
    severity: 'warning',
    meaning: 'The session has more than 200000 commands (10000 behind `ftpscope proxy`); later ones are analysed but not listed in the report.',
    fix: 'Nothing is lost from the analysis; split the capture by time (`editcap -A/-B`) to list every command.',
  },
  'replies-truncated': {
    group: 'control',
    severity: 'warning',
    meaning: 'The session has more unsolicited replies than the command limit, or one command got more than 100 replies; later ones are analysed but not listed.',
    fix: 'Look at the server: no FTP exchange needs that many replies (a hostile or broken server, or a capture of a flood).',
  },
  'service-unavailable': {
    group: 'control',
    severity: 'error',
    meaning: 'The server refused the session in its greeting with 421.',
    fix: "Check the server's connection limits (vsftpd max_clients/max_per_ip, ProFTPD MaxClients/MaxClientsPerHost) and its log.",
  },
  'service-closing': {
    group: 'control',
    severity: 'warning',
    meaning: 'The server closed the session on its own with an unsolicited 421 (idle timeout or shutdown).',
    fix: 'If it is an idle timeout, raise it (vsftpd idle_session_timeout, ProFTPD TimeoutIdle) or enable client keep-alive; else check the server log.',
  },
  'cleartext-credentials': {
    group: 'control',
    severity: 'warning',
    meaning: 'A password was sent in clear text (PASS before any AUTH TLS).',
    fix: 'Require FTPS (vsftpd ssl_enable=YES + force_local_logins_ssl=YES, ProFTPD TLSRequired on) or move to SFTP.',
  },
  'login-failed': {
    group: 'control',
    severity: 'warning',
    meaning: 'A login was rejected (530/430 to USER, PASS or ACCT).',
    fix: 'Check the user name and password, and that the account may use FTP (/etc/ftpusers, vsftpd userlist, a shell listed in /etc/shells).',
  },
  'login-repeated-failures': {
    group: 'control',
    severity: 'error',
    meaning: 'Three or more failed logins in one session, or from one client to one server across sessions (then a top-level finding): password guessing?',
    fix: 'Block or rate-limit the source (e.g. fail2ban on the FTP log) and check whether any later login from it succeeded.',
  },

  // ---- data connections and transfers --------------------------------------------------
  'ftp-malformed-setup': {
    group: 'data',
    severity: 'warning',
    meaning: 'A PORT/EPRT/LPRT argument, or a 227/228/229 reply to PASV/LPSV/EPSV, holds no usable address and port.',
    fix: 'Fix the client or server that wrote it, or disable the middlebox FTP ALG rewriting it (e.g. nf_nat_ftp, `no ip nat service ftp`).',
  },
  'pasv-address-mismatch': {
    group: 'data',
    severity: 'warning',
    meaning: "A passive reply announces an address other than the server's control address: the server is behind NAT or misconfigured.",
    fix: 'Set pasv_address (vsftpd) / MasqueradeAddress (ProFTPD) / ForcePassiveIP (pure-ftpd) to the public address.',
  },
  'port-address-mismatch': {
    group: 'data',
    severity: 'warning',
    meaning: "PORT/EPRT/LPRT announces an address other than the client's: a NAT'd client, FXP, or a bounce attempt.",
    fix: "Set the client's external address for active mode (or use passive mode); if the client did not intend it, treat it as a bounce attempt.",
  },
  'port-privileged': {
    group: 'data',
    severity: 'warning',
    meaning: 'PORT/EPRT/LPRT asks the server to connect to a port below 1024 (possible FTP bounce attack).',
    fix: 'Make the server refuse PORT to privileged ports and foreign hosts (vsftpd port_promiscuous=NO, ProFTPD AllowForeignAddress off) and check the source.',
  },
  'data-connection-failed': {
    group: 'data',
    severity: 'error',
    meaning: 'The server replied 425: the data connection could not be opened (a firewall or NAT dropped it, or the announced address is wrong).',
    fix: "Passive: open the server's passive port range (vsftpd pasv_min_port/pasv_max_port, ProFTPD PassivePorts) in the firewall; active: let the server reach the client or switch the client to passive.",
  },
  'data-connection-not-opened': {
    group: 'data',
    severity: 'error',
    meaning: 'A transfer command expected a data connection to the announced address but none was opened before the session ended.',
    fix: 'Open the firewall for that data connection (the passive port range on the server, or inbound to the client in active mode) and check the announced address is reachable.',
  },
  'data-connection-not-seen': {
    group: 'data',
    severity: 'warning',
    meaning: 'A transfer succeeded (2xx) but its data connection is not in the capture.',
    fix: "Widen the capture filter to the data ports (e.g. `host SERVER` instead of `port 21`) or capture where both connections pass.",
  },
  'data-at-control-address': {
    group: 'data',
    severity: 'info',
    meaning: "A data connection went to the control connection's address instead of the announced one (the client ignored a bad PASV address, or NAT translated a PORT); paired by port.",
    fix: 'Works, but relies on the client: make the server announce its public address (pasv_address / MasqueradeAddress / ForcePassiveIP).',
  },
  'expectations-evicted': {
    group: 'data',
    severity: 'warning',
    meaning: 'More than 4096 PASV/PORT setups were waiting for their data connection; the oldest were dropped and some data connections may be unpaired.',
    fix: 'Split the capture by time (`editcap -A/-B`) so fewer setups are pending at once.',
  },
  'transfer-failed': {
    group: 'data',
    severity: 'error',
    otherSeverities: ['warning'],
    meaning: 'The peers say a transfer did not succeed: a 4xx/5xx final reply or a reset data connection (errors), or fewer bytes than announced on a connection that closed, or no final reply before the control connection closed (warnings).',
    fix: 'Read the reason in the message: for a 4xx/5xx or a reset check the server log (disk, quota, permissions, timeouts) and any firewall between the peers; for a short transfer, whether the file changed while it was sent.',
  },
  'capture-gaps': {
    group: 'data',
    severity: 'warning',
    meaning: 'The capture lacks part of a transfer (bytes missing in gaps) or ends before its data connection closed. This is about the capture, not the transfer: how the transfer ended (226, or transfer-failed) is said apart.',
    fix: 'If the bytes matter, recapture without loss (a bigger capture buffer `tcpdump -B`, on an endpoint rather than a busy SPAN port, until the transfer ends); extract writes what was captured with the gaps as holes.',
  },
  'transfer-loss': {
    group: 'data',
    severity: 'warning',
    meaning: 'Packet loss slowed a transfer (or its control connection): at least 1% of its data segments (and 3) were retransmitted, or a retransmission timeout (RTO) struck. The message gives the share, the bytes sent twice, the timeouts, how long recovery took, and whether reordering or the capture itself explain part of it.',
    fix: 'Find the lossy hop between the two hosts: interface error and drop counters, duplex mismatch, Wi-Fi, an overloaded link or a policer (traceroute/mtr, `ip -s link`, switch counters); capture on the other side too to see where packets go missing.',
  },
  'transfer-receiver-limited': {
    group: 'diagnosis',
    severity: 'warning',
    meaning: 'The receiving side read slowly and set the pace: it advertised a zero window (its buffer was full), or it kept its window below half its size while the sender had it full, for at least 30% of the transfer (and half a second).',
    fix: 'Look at the receiving application and host, not the network: disk write speed, CPU, a client-side rate limit, a receive buffer set too small (SO_RCVBUF, net.ipv4.tcp_rmem).',
    doc: 'diagnosis.md#transfer-receiver-limited',
  },
  'transfer-window-limited': {
    group: 'data',
    severity: 'warning',
    meaning: 'The receive window was the limit: bytes in flight stayed at the advertised window, at its largest, for at least 30% of the transfer (and half a second), so throughput was at most window / RTT. The message says whether window scaling is off (no WS option in a SYN: the window cannot exceed 64 KiB) or the buffer is small.',
    fix: "Turn window scaling on (net.ipv4.tcp_window_scaling=1; a middlebox that strips the WS option), or raise the receiving side's buffer (net.ipv4.tcp_rmem, SO_RCVBUF) to at least bandwidth × RTT.",
  },
  'transfer-stalled': {
    group: 'data',
    severity: 'warning',
    meaning: 'A transfer stopped moving: no new data for longer than max(1 s, 4 × RTT), or it ended that way. The message gives the longest stall, its frames and its cause: a zero window (the receiver stopped reading), a retransmission timeout, the sender having nothing to send, or data in flight that nobody acknowledged.',
    fix: 'Follow the cause in the message: a zero window points at the receiving application; a timeout at loss on the path; an idle sender at the sending application or its disk; unacknowledged data at a dead path or a firewall dropping packets mid-transfer.',
  },

  // ---- proxy ---------------------------------------------------------------------------
  'proxy-record-dropped': {
    group: 'proxy',
    severity: 'warning',
    meaning: '`--record` could not keep up and, as `--record-overflow drop` allows, left packets out of the recording (the relay and the live analysis saw every byte); the file says so too.',
    fix: 'Record to a faster local disk, or use `--record-overflow backpressure` (the default): the relay then waits for the recording.',
  },
  'proxy-upstream-unreachable': {
    group: 'proxy',
    severity: 'error',
    meaning: 'The proxy could not connect to the FTP server; the client got 421.',
    fix: 'Check `--upstream` (or the forward-mode destination), DNS, and that the server is up and reachable from the proxy host.',
  },
  'proxy-upstream-refused': {
    group: 'proxy',
    severity: 'error',
    meaning: 'Forward mode: the server greeted with a non-2xx code; the proxy closed the client with 421.',
    fix: "Read the server's greeting in the message: check its connection limits and log.",
  },
  'proxy-upstream-tls-refused': {
    group: 'proxy',
    severity: 'error',
    meaning: 'Forward mode: the client asked for TLS but the server refused AUTH TLS; the session was closed.',
    fix: 'Enable FTPS on the server (vsftpd ssl_enable=YES, ProFTPD TLSEngine on) or have the client connect without AUTH TLS.',
  },
  'proxy-destination-refused': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'Forward mode: the destination in `USER name@host` is not on the allow list; the client got 530.',
    fix: 'Add the destination to `--allow` (host pattern or CIDR) if it is legitimate.',
  },
  'proxy-max-sessions': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'A session was refused with 421 because `--max-sessions` sessions were already open (a top-level finding, not on a session).',
    fix: 'Raise `--max-sessions`, or find the client holding sessions open.',
  },
  'proxy-address-limit': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'A connection was refused with 421 because its address already had `--max-sessions-per-address` sessions open (an IPv6 address counts by its /64; a top-level finding).',
    fix: 'If the address is a legitimate NAT gateway, raise `--max-sessions-per-address`; otherwise block it in the firewall.',
  },
  'proxy-rate-limited': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'A connection was refused with 421 because its address opened more than `--max-connect-rate` connections in a minute (a top-level finding).',
    fix: 'Raise `--max-connect-rate` for busy legitimate clients (scripts that connect once per file); block the address if hostile.',
  },
  'proxy-login-timeout': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'The client did not complete its login (USER/PASS answered 230) within `--login-timeout` of connecting; it got 421 and was closed.',
    fix: 'Raise `--login-timeout` for slow interactive users; connections that never log in are usually scanners holding slots.',
  },
  'proxy-invalid-commands': {
    group: 'proxy',
    severity: 'error',
    meaning: 'The client sent more than `--max-invalid-commands` lines that are not FTP commands (or that the server answered 500); it got 421 and was closed.',
    fix: 'Check that the client speaks FTP (not HTTP, SMTP or TLS on the plain port); block the source if hostile.',
  },
  'proxy-upstream-greeting': {
    group: 'proxy',
    severity: 'error',
    meaning: 'The server sent no greeting within `--greeting-timeout`, or a greeting that is not an FTP reply or exceeds 16 KiB / 100 lines; the client got 421 and nothing of it.',
    fix: 'Check that the upstream is a plain FTP server on that port (not implicit FTPS, SSH or HTTP) and that it is not overloaded.',
  },
  'proxy-upstream-data-refused': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'The server announced a passive data port below 1024; the proxy did not connect to it and the client got 425.',
    fix: 'Configure the server\'s passive port range above 1023 (vsftpd pasv_min_port, ProFTPD PassivePorts); `--allow-low-data-ports` if the port is really meant.',
  },
  'proxy-tls-failed': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'A control-connection TLS handshake with the client failed, was abandoned or took longer than `--tls-handshake-timeout`; the session was closed.',
    fix: 'Usually a client giving up (or a scanner); for real clients check that they accept the proxy\'s certificate and a common TLS version.',
  },
  'proxy-no-hash': {
    group: 'proxy',
    severity: 'info',
    meaning: 'The proxy runs with `--no-hash`: data connections are counted, paired and logged, but their sha256 is null (a top-level finding, once).',
    fix: 'Run without `--no-hash` to get a sha256 of every transfer (costs CPU on bulk transfers).',
  },
  'proxy-idle-timeout': {
    group: 'proxy',
    severity: 'info',
    meaning: 'The control connection was idle past `--idle-timeout` and was closed with 421.',
    fix: 'Raise `--idle-timeout`, or enable keep-alive (NOOP) in the client.',
  },
  'proxy-line-too-long': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'The client sent a command line longer than `--max-line`; it was refused with 500.',
    fix: 'Check the client (no FTP command is that long); raise `--max-line` only for a legitimate client.',
  },
  'proxy-command-flood': {
    group: 'proxy',
    severity: 'error',
    meaning: 'The client sent too many commands without waiting for replies (200 queued or pending, or 64 KiB of lines queued while the proxy waits); the session was closed with 421.',
    fix: 'Check the client for a pipelining bug or a flood; block the source if hostile.',
  },
  'proxy-malformed-reply': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'The server sent a line that is not an FTP reply; the proxy relayed it anyway.',
    fix: 'Check that the upstream is a plain FTP server on that port (not implicit FTPS, SSH or HTTP) and fix its reply format.',
  },
  'proxy-bounce-refused': {
    group: 'proxy',
    severity: 'warning',
    meaning: "The client's PORT/EPRT/LPRT named another host or a privileged port; the proxy refused it with 501 (FTP bounce).",
    fix: 'Check the client: active mode must name its own address and a port of 1024 or more (FXP does not work through the proxy).',
  },
  'proxy-bad-passive-reply': {
    group: 'proxy',
    severity: 'warning',
    meaning: "The server's 227/228/229 reply could not be parsed (a byte above 255, port 0, no numbers); the client got 425 instead, and the data setup was cancelled.",
    fix: 'Fix the server\'s passive reply format, or use `--data-mode active` so the proxy does not depend on it.',
  },
  'proxy-pasv-address-ignored': {
    group: 'proxy',
    severity: 'info',
    meaning: "The server announced another address in its passive reply; the proxy connected to the control peer's address instead.",
    fix: "Works as is; to fix the server, set pasv_address (vsftpd) / MasqueradeAddress (ProFTPD) / ForcePassiveIP (pure-ftpd) to the address it is reached at.",
  },
  'proxy-foreign-data-connection': {
    group: 'proxy',
    severity: 'warning',
    meaning: "A data connection came from an address other than the control peer's and was refused (possible data-connection theft).",
    fix: 'Find the host in the message: nothing to configure, but it is trying to hijack transfers.',
  },
  'proxy-data-failed': {
    group: 'proxy',
    severity: 'warning',
    meaning: 'A relayed data connection failed: no connection within the timeout, a reset, a listen error, or a TLS error or handshake not done within `--tls-handshake-timeout`.',
    fix: 'Open the proxy\'s data ports (`--pasv-ports`) and the server\'s data ports in the firewalls between them; for TLS errors check certificates.',
  },
  'proxy-tls-passthrough': {
    group: 'proxy',
    severity: 'info',
    meaning: 'AUTH TLS was passed through opaquely; data connections go directly between client and server.',
    fix: 'Run the proxy with `--tls-terminate --cert FILE --key FILE` to decode TLS sessions.',
  },
  'proxy-tls-terminated': {
    group: 'proxy',
    severity: 'info',
    meaning: 'The proxy terminated control TLS on both sides; commands and replies are shown decrypted.',
    fix: 'Nothing to fix.',
  },
  'proxy-internal': {
    group: 'proxy',
    severity: 'error',
    meaning: 'An internal error ended one proxy session (the proxy itself keeps running).',
    fix: 'Rerun with FTPSCOPE_DEBUG=1 to get the stack trace and report it as an ftpscope bug.',
  },
} as const satisfies Record<string, FindingCodeInfo>;

/** A finding code: one of the catalogue's keys. A string that is not one does not compile. */
export type FindingCode = keyof typeof FINDING_CODES;

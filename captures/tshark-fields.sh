#!/usr/bin/env bash
# Writes captures/expected/<path under captures/>.tsv for every capture under captures/: tshark's view of
# every packet (addresses, ports, raw seq/ack, flags, window, TCP length, checksum status). The dissection
# tests compare ftpscope's fast path and full dissection with these files, so CI needs no tshark.
#
#   captures/tshark-fields.sh            # needs: tshark (Debian package tshark)
#   captures/tshark-fields.sh FILE...    # only these captures
#
# Rerun it whenever a capture is added or re-recorded, and commit the .tsv files with the capture.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v tshark >/dev/null || { echo "tshark-fields.sh: tshark is missing; apt-get install tshark" >&2; exit 1; }

FIELDS=(frame.number frame.protocols ip.src ipv6.src ip.dst ipv6.dst tcp.srcport tcp.dstport tcp.seq_raw tcp.ack_raw
        tcp.flags tcp.window_size_value tcp.len ip.checksum.status tcp.checksum.status tcp.seq tcp.ack tcp.window_size
        ftp.request.command ftp.request.arg ftp.response.code ftp.response.arg
        eth.src eth.dst vlan.id vlan.priority vlan.etype sll.pkttype sll.hatype sll.etype sll.ifindex null.family
        ip.hdr_len ip.len ip.id ip.ttl ip.flags.df ip.flags.mf ip.frag_offset ip.opt.type ip.checksum
        ipv6.plen ipv6.nxt ipv6.hlim ipv6.flow ipv6.hopopts.nxt ipv6.dstopts.nxt ipv6.routing.type ipv6.fraghdr.ident
        tcp.hdr_len tcp.urgent_pointer tcp.checksum tcp.options.mss_val tcp.options.wscale.shift
        tcp.options.timestamp.tsval tcp.options.timestamp.tsecr tcp.options.sack_le tcp.options.sack_re)
ARGS=()
for f in "${FIELDS[@]}"; do ARGS+=(-e "$f"); done

# shellcheck source=captures/lib/tshark-expected.sh
source "$HERE/lib/tshark-expected.sh"
# Checksums verified, IP reassembly on (tshark's default). Every occurrence of a field, joined by the
# ASCII unit separator (0x1f): one per FTP line; the first is the outer header when an ICMP error quotes
# another.
write_expected tshark-fields.sh .tsv "$@" -- \
  -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -o ip.defragment:TRUE -o ipv6.defragment:TRUE \
  -T fields -E header=y -E separator=/t -E occurrence=a -E aggregator=$'\x1f' "${ARGS[@]}"

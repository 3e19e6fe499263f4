#!/usr/bin/env bash
# Writes test/tcp/expected/<capture path>.tsv: tshark's per-packet TCP view (stream index, raw sequence numbers,
# lengths, handshake options and initial RTT) of every capture the TCP tests read, so the tests need no tshark.
#
#   test/tcp/expected/make.sh        # needs: tshark (Debian package tshark)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
command -v tshark >/dev/null || { echo "make.sh: tshark is missing; apt-get install tshark" >&2; exit 1; }

FIELDS=(frame.number tcp.stream ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport tcp.flags tcp.seq_raw
        tcp.ack_raw tcp.len tcp.window_size_value tcp.options.mss_val tcp.options.wscale.shift tcp.options.sack_perm
        tcp.options.timestamp.tsval tcp.options.timestamp.tsecr tcp.analysis.initial_rtt
        tcp.analysis.retransmission)
ARGS=()
for f in "${FIELDS[@]}"; do ARGS+=(-e "$f"); done

CAPTURES=(
  captures/public/zeek/ipv4.pcap
  captures/public/zeek/ipv6.pcap
  captures/public/zeek/retr.pcap
  captures/public/zeek/ftp-auth-tls.pcap
  captures/public/zeek/ipv6-multiline-reply.pcap
  captures/public/zeek/bigtransfer.pcap
  captures/public/suricata-verify/bug-4877/input.pcap
  captures/public/suricata-verify/bug-3519/input.pcap
  captures/public/suricata-verify/ftp/ftp-download-active/input.pcap
  captures/public/suricata-verify/ftp/ftp-download-passive/input.pcap
)
for rel in "${CAPTURES[@]}"; do
  dst=$HERE/${rel#captures/}.tsv
  mkdir -p "$(dirname "$dst")"
  tshark -n -r "$ROOT/$rel" -Y tcp -T fields -E header=y -E separator=/t -E occurrence=f "${ARGS[@]}" >"$dst" 2>/dev/null
  echo "$rel: $(($(wc -l <"$dst") - 1)) TCP packets"
done

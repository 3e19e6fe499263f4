#!/usr/bin/env bash
# Writes captures/expected/<path under captures/>.analysis.tsv for every capture under captures/: tshark's TCP
# analysis of every packet (the tcp.analysis.* flags and values, tcp.nxtseq and the calculated window). The agreement
# test (test/tcp/analysis-agreement.test.ts) and `node dist/scripts/tcp-agreement.js` compare ftpscope's per-packet
# analysis with these files frame by frame, so CI needs no tshark.
#
#   captures/tcp-analysis.sh            # needs: tshark (Debian package tshark; these files come from 4.0.17)
#   captures/tcp-analysis.sh FILE...    # only these captures
#
# Rerun it whenever a capture is added or re-recorded, and commit the .analysis.tsv files with the capture.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
command -v tshark >/dev/null || { echo "tcp-analysis.sh: tshark is missing; apt-get install tshark" >&2; exit 1; }

FIELDS=(frame.number tcp.stream tcp.len tcp.nxtseq tcp.window_size tcp.window_size_scalefactor
        tcp.analysis.retransmission tcp.analysis.fast_retransmission tcp.analysis.spurious_retransmission
        tcp.analysis.out_of_order tcp.analysis.lost_segment tcp.analysis.ack_lost_segment
        tcp.analysis.duplicate_ack tcp.analysis.duplicate_ack_num tcp.analysis.duplicate_ack_frame
        tcp.analysis.zero_window tcp.analysis.zero_window_probe tcp.analysis.zero_window_probe_ack
        tcp.analysis.window_full tcp.analysis.window_update tcp.analysis.keep_alive tcp.analysis.keep_alive_ack
        tcp.analysis.reused_ports
        tcp.analysis.acks_frame tcp.analysis.ack_rtt tcp.analysis.initial_rtt tcp.analysis.bytes_in_flight
        tcp.analysis.rto tcp.analysis.rto_frame)
ARGS=()
for f in "${FIELDS[@]}"; do ARGS+=(-e "$f"); done

# shellcheck source=captures/lib/tshark-expected.sh
source "$HERE/lib/tshark-expected.sh"
# The analysis preferences at their defaults, spelled out so a user's preferences cannot change the files; one pass,
# as tshark runs by default. Only the first occurrence of a field (tshark repeats the duplicate-ACK one).
write_expected tcp-analysis.sh .analysis.tsv "$@" -- \
  -o tcp.analyze_sequence_numbers:TRUE -o tcp.relative_sequence_numbers:TRUE -o tcp.track_bytes_in_flight:TRUE \
  -o tcp.calculate_timestamps:TRUE -o "tcp.default_window_scaling:Not known" -o ip.defragment:TRUE -o ipv6.defragment:TRUE \
  -T fields -E header=y -E separator=/t -E occurrence=f "${ARGS[@]}"

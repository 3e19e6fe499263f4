#!/usr/bin/env bash
# Records what tshark (Wireshark) reads from every capture under captures/: one line per frame with
# frame number, epoch time, captured length, wire length, interface id and packet comment. The reader
# tests compare ftpscope's reader against these files, so CI needs no tshark.
#
#   test/capture/expected/make-expected.sh        # needs tshark; rerun when captures change
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
cd "$ROOT"
rm -f "$HERE"/*.frames.tsv
find captures -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' -o -name '*.pcapng.gz' \) | sort |
while read -r f; do
  out="$HERE/$(echo "$f" | sed 's|^captures/||; s|/|__|g').frames.tsv"
  {
    printf '# %s\n' "$f"
    tshark -n -r "$f" -T fields -E separator=/t \
      -e frame.number -e frame.time_epoch -e frame.cap_len -e frame.len -e frame.interface_id -e frame.comment 2>/dev/null
  } > "$out"
  echo "$out: $(($(wc -l < "$out") - 1)) frames"
done

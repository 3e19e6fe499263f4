#!/usr/bin/env bash
# Writes captures/scenarios/tshark/<capture>.tsv: tshark's independent view of every packet of each scenario capture
# (addresses, ports, TCP stream and flags, FTP command/reply, the PASV/PORT address tshark decodes) plus the
# tcp.analysis flags tshark sets on it (retransmission, zero_window, ...). The diagnosis tests take their expected
# evidence (frames, addresses, counts) from these files, never from ftpscope's own output, so CI needs no tshark.
#
#   captures/scenarios/tshark-fields.sh          # needs: tshark
#
# Rerun it whenever record.sh re-records a capture, and commit the .tsv files with the capture.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE/tshark
command -v tshark >/dev/null || { echo "tshark-fields.sh: tshark is missing" >&2; exit 1; }
FIELDS=(frame.number frame.time_relative ip.src ip.dst tcp.stream tcp.srcport tcp.dstport tcp.flags tcp.len
        ftp.request.command ftp.request.arg ftp.response.code ftp.response.arg
        ftp.passive.ip ftp.passive.port ftp.active.cip ftp.active.port tls.handshake.type tls.handshake.extension.type)
FLAGS=(retransmission fast_retransmission spurious_retransmission zero_window zero_window_probe window_full
       duplicate_ack lost_segment ack_lost_segment out_of_order)
mkdir -p "$OUT"
for cap in "$HERE"/*.pcap; do
  name=$(basename "$cap")
  args=(); for f in "${FIELDS[@]}"; do args+=(-e "$f"); done
  tshark -r "$cap" -T fields -E header=y -E separator=/t -E quote=n "${args[@]}" >"$OUT/$name.tsv.tmp"
  # tcp.analysis.* are labels without a value in -T fields: list each flag's frames with a display filter instead.
  : >"$OUT/$name.flags.tmp"
  for flag in "${FLAGS[@]}"; do
    tshark -r "$cap" -Y "tcp.analysis.$flag" -T fields -e frame.number | sed "s/\$/\t$flag/" >>"$OUT/$name.flags.tmp"
  done
  python3 - "$OUT/$name.tsv.tmp" "$OUT/$name.flags.tmp" "$OUT/$name.tsv" <<'PY'
import sys
rows = open(sys.argv[1]).read().rstrip("\n").split("\n")
flags = {}
for line in open(sys.argv[2]):
    frame, flag = line.rstrip("\n").split("\t")
    flags.setdefault(frame, []).append(flag)
with open(sys.argv[3], "w") as out:
    out.write(rows[0] + "\ttcp.analysis\n")
    for r in rows[1:]:
        out.write(r + "\t" + ",".join(flags.get(r.split("\t")[0], [])) + "\n")
PY
  rm -f "$OUT/$name.tsv.tmp" "$OUT/$name.flags.tmp"
done
echo "tshark-fields.sh: $(ls "$OUT"/*.tsv | wc -l) files in $OUT"

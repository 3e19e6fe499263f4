#!/bin/sh
# Regenerates the tshark-derived expectations of the display-filter tests (tshark 4.x): for every
# bundled capture and every expression in expressions.txt, the frames tshark -Y selects.
# The files are committed; the tests never run tshark themselves.
set -eu
cd "$(dirname "$0")/../../.."
OUT=test/report/filter/expected
rm -f "$OUT"/*.tsv
for cap in captures/*.pcap captures/*.pcapng captures/*.pcap.gz captures/public/zeek/*.pcap \
           captures/public/suricata-verify/bug-4877/input.pcap captures/public/suricata-verify/ftp/*/input.pcap; do
  name=$(echo "$cap" | sed 's|^captures/||; s|/|__|g')
  grep -v '^#' test/report/filter/expressions.txt | grep . | while IFS= read -r expr; do
    frames=$(tshark -r "$cap" -Y "$expr" -T fields -e frame.number 2>/dev/null | paste -sd, -)
    printf '%s\t%s\n' "$expr" "$frames"
  done > "$OUT/$name.tsv"
done

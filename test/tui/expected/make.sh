#!/bin/sh
# Regenerates the tshark-derived expectations of the dashboard tests (tshark 4.x).
# The TSVs are committed; the tests never run tshark themselves.
set -eu
cd "$(dirname "$0")/../../.."
for name in ipv4 ipv6; do
  tshark -r "captures/public/zeek/$name.pcap" -Y 'tcp.flags.syn == 1' -T fields -E header=y \
    -e frame.number -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.flags.ack -e tcp.seq_raw -e tcp.ack_raw -e tcp.window_size_value \
    > "test/tui/expected/$name-syn.tsv"
done
tshark -r captures/public/zeek/ipv4.pcap -Y 'frame.number == 1' -T fields -E header=y \
  -e frame.number -e tcp.srcport -e ip.ttl -e ip.src -e ip.dst > test/tui/expected/ipv4-frame1.tsv
tshark -r captures/public/zeek/ipv4.pcap -T fields -E header=y \
  -e frame.number -e tcp.stream -e tcp.srcport -e tcp.dstport -e tcp.len -e tcp.flags.syn -e tcp.flags.fin -e ftp.response.code -e ftp.request.command -e ip.src \
  > test/tui/expected/ipv4-packets.tsv
# Setup replies and commands (announced data endpoints), 426 replies and resets: the sessions view's filter and data rows.
for name in vsftpd-aborted.pcap vsftpd-lftp-ipv6.pcapng; do
  tshark -r "captures/$name" -Y 'ftp.response.code == 227 || ftp.response.code == 229 || ftp.response.code == 426 || ftp.request.command == "PORT" || ftp.request.command == "EPRT"' \
    -T fields -E header=y -e frame.number -e ip.src -e ipv6.src -e tcp.srcport -e tcp.dstport \
    -e ftp.request.command -e ftp.request.arg -e ftp.response.code -e ftp.response.arg > "test/tui/expected/$name-setup.tsv"
done
tshark -r captures/vsftpd-aborted.pcap -Y 'tcp.flags.reset == 1' -T fields -E header=y \
  -e frame.number -e tcp.srcport -e tcp.dstport > test/tui/expected/vsftpd-aborted.pcap-rst.tsv

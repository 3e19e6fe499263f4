#!/bin/sh
# Regenerates the tshark-derived expectations of test/report/layers.test.ts (tshark 4.x).
# The files are committed; the tests never run tshark themselves.
set -eu
cd "$(dirname "$0")/../../.."
# frame.time_epoch as tshark prints it (nine decimals), and the date and time in UTC.
TZ=UTC tshark -r captures/vsftpd-pasv-ipv4.pcap -Y 'frame.number <= 12' -T fields -E header=y \
  -e frame.number -e frame.time_epoch -e frame.time > test/report/expected/vsftpd-pasv-ipv4-epoch.tsv
# tshark's full decode of one IPv4 and one IPv6 TCP frame: the bit-field lines ("0000 00.. = ...").
tshark -r captures/vsftpd-pasv-ipv4.pcap -V -Y 'frame.number == 6' > test/report/expected/vsftpd-pasv-ipv4-frame6.txt
tshark -r captures/vsftpd-lftp-ipv6.pcapng -V -Y 'frame.number == 3' > test/report/expected/vsftpd-lftp-ipv6-frame3.txt

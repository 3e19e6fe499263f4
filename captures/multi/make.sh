#!/usr/bin/env bash
# Builds the multi-file capture sets in captures/multi/ from bundled real captures with Wireshark's own tools, and
# writes what tshark sees in them to captures/expected/multi/ (the tests compare ftpscope's merged view with these).
#
#   captures/multi/make.sh      # needs: editcap mergecap tshark (Debian: tshark, wireshark-common), gzip
#
# - tour-ring/: captures/tour.pcapng cut by `editcap -c 300` into six files, as a ring buffer of 300 packets per
#   file would have written them; five sessions, the first spans four files. Mixed on purpose: tour-1 converted to
#   pcap (editcap -F pcap), tour-3 gzip'd, tour-4 pcap and gzip'd.
# - roles/: captures/vsftpd-epsv-user-ipv4.pcap cut by protocol with `tshark -Y`: control.pcapng holds the packets of
#   port 21, data.pcap all the others. Two files that overlap all the time; each data connection is paired with a
#   control connection in the other file.
# - backwards/late-then-early.pcap: captures/public/zeek/ipv4.pcap cut by `editcap -c 50` and joined again with
#   `mergecap -a` (concatenated, not merged) second part first: its timestamps go backwards at its frame 46.
# - ties/: captures/public/zeek/ipv4.pcap twice, once cut to 60 bytes a packet (editcap -s 60): every packet of one
#   file has the same time as one of the other, so mergecap's order at equal times can be compared.
#
# captures/multi/ring-2121/ is a real tcpdump ring buffer, recorded by record-ring.sh (root) instead.
#
# Expected files (tab-separated, made by the commands written in their first line):
# - <set>.files.tsv: per file, in name order: the file, its packet count and the epoch time of its first packet;
# - <set>.per-file.tsv: every packet of every file read alone: the file, its frame number there, epoch time,
#   length and file offset (frame.file_off);
# - <set>.merged.tsv: `mergecap -w - <files> | tshark -r - -T fields ...`: frame number (global), epoch time,
#   lengths, FTP command and reply code of every packet in merged order;
# - late-then-early.tsv: frame number, epoch time and file offset (tshark's frame.file_off) of every packet.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAPTURES=$(cd "$HERE/.." && pwd)
EXP=$CAPTURES/expected/multi
for tool in editcap mergecap tshark gzip; do
  command -v "$tool" >/dev/null || { echo "make.sh: '$tool' is missing (apt-get install tshark wireshark-common)" >&2; exit 1; }
done
T=$(mktemp -d /tmp/mf-multi-make.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$EXP"

# ---- tour-ring
rm -rf "$HERE/tour-ring"
mkdir -p "$HERE/tour-ring"
editcap -c 300 "$CAPTURES/tour.pcapng" "$T/tour.pcapng"
mapfile -t parts < <(ls "$T"/tour_*.pcapng | sort)
[[ ${#parts[@]} -eq 6 ]] || { echo "make.sh: expected 6 parts of tour.pcapng, got ${#parts[@]}" >&2; exit 1; }
cp "${parts[0]}" "$HERE/tour-ring/tour-0.pcapng"
editcap -F pcap "${parts[1]}" "$HERE/tour-ring/tour-1.pcap"
cp "${parts[2]}" "$HERE/tour-ring/tour-2.pcapng"
gzip -9 -n -c "${parts[3]}" >"$HERE/tour-ring/tour-3.pcapng.gz"
editcap -F pcap "${parts[4]}" "$T/tour-4.pcap"
gzip -9 -n -c "$T/tour-4.pcap" >"$HERE/tour-ring/tour-4.pcap.gz"
cp "${parts[5]}" "$HERE/tour-ring/tour-5.pcapng"

# ---- roles
rm -rf "$HERE/roles"
mkdir -p "$HERE/roles"
tshark -n -r "$CAPTURES/vsftpd-epsv-user-ipv4.pcap" -Y 'tcp.port == 21' -F pcapng -w "$HERE/roles/control.pcapng" 2>/dev/null
tshark -n -r "$CAPTURES/vsftpd-epsv-user-ipv4.pcap" -Y '!(tcp.port == 21)' -F pcap -w "$HERE/roles/data.pcap" 2>/dev/null

# ---- backwards
rm -rf "$HERE/backwards"
mkdir -p "$HERE/backwards"
editcap -c 50 "$CAPTURES/public/zeek/ipv4.pcap" "$T/ipv4.pcap"
mapfile -t halves < <(ls "$T"/ipv4_*.pcap | sort)
mergecap -a -F pcap -w "$HERE/backwards/late-then-early.pcap" "${halves[1]}" "${halves[0]}"

# ---- ties: the same packets at the same times in two files (as two capture points would record them), one cut to
# 60 bytes a packet by `editcap -s 60`, so the merged order at equal times shows in the captured lengths.
rm -rf "$HERE/ties"
mkdir -p "$HERE/ties"
cp "$CAPTURES/public/zeek/ipv4.pcap" "$HERE/ties/ipv4-full.pcap"
editcap -s 60 "$CAPTURES/public/zeek/ipv4.pcap" "$HERE/ties/ipv4-snap60.pcap"

chmod 644 "$HERE"/tour-ring/* "$HERE"/roles/* "$HERE"/backwards/* "$HERE"/ties/*

# ---- expected
files_tsv() { # SET-DIR OUT
  {
    echo "# for f in $(basename "$1")/*; do echo \"\$f\t\$(tshark -r \$f -T fields -e frame.number | wc -l)\t\$(tshark -r \$f -c 1 -T fields -e frame.time_epoch)\"; done"
    for f in $(ls "$1" | sort -V); do
      printf '%s\t%s\t%s\n' "$f" "$(tshark -n -r "$1/$f" -T fields -e frame.number 2>/dev/null | wc -l)" "$(tshark -n -r "$1/$f" -c 1 -T fields -e frame.time_epoch 2>/dev/null)"
    done
  } >"$2"
}
per_file_tsv() { # SET-DIR OUT: every packet of every file, by itself
  {
    echo "# for f in $(basename "$1")/*; do tshark -r \$f -T fields -e frame.number -e frame.time_epoch -e frame.len -e frame.file_off | sed \"s|^|\$f\t|\"; done"
    for f in $(ls "$1" | sort -V); do
      tshark -n -r "$1/$f" -o frame.show_file_off:TRUE -T fields -e frame.number -e frame.time_epoch -e frame.len -e frame.file_off 2>/dev/null | sed "s|^|$f\t|"
    done
  } >"$2"
}
merged_tsv() { # SET-DIR OUT [tshark args]
  local dir=$1 out=$2; shift 2
  local fields=(-e frame.number -e frame.time_epoch -e frame.len -e frame.cap_len -e ftp.request.command -e ftp.response.code)
  {
    echo "# mergecap -w - $(basename "$dir")/* | tshark -r - -o frame.show_file_off:TRUE $* -T fields ${fields[*]}"
    # shellcheck disable=SC2046
    mergecap -F pcapng -w - $(ls -d "$dir"/* | sort -V) | tshark -n -r - -o frame.show_file_off:TRUE "$@" -T fields "${fields[@]}" 2>/dev/null
  } >"$out"
}
for set in tour-ring roles ring-2121 ties; do per_file_tsv "$HERE/$set" "$EXP/$set.per-file.tsv"; done
files_tsv "$HERE/tour-ring" "$EXP/tour-ring.files.tsv"
merged_tsv "$HERE/tour-ring" "$EXP/tour-ring.merged.tsv"
files_tsv "$HERE/roles" "$EXP/roles.files.tsv"
merged_tsv "$HERE/roles" "$EXP/roles.merged.tsv"
files_tsv "$HERE/ring-2121" "$EXP/ring-2121.files.tsv"
merged_tsv "$HERE/ties" "$EXP/ties.merged.tsv"
merged_tsv "$HERE/ring-2121" "$EXP/ring-2121.merged.tsv" -d tcp.port==2121,ftp
{
  echo "# tshark -r backwards/late-then-early.pcap -o frame.show_file_off:TRUE -T fields -e frame.number -e frame.time_epoch -e frame.file_off"
  tshark -n -r "$HERE/backwards/late-then-early.pcap" -o frame.show_file_off:TRUE -T fields -e frame.number -e frame.time_epoch -e frame.file_off 2>/dev/null
} >"$EXP/late-then-early.tsv"
# Every capture under captures/ also has tshark's per-packet fields (captures/tshark-fields.sh; the dissection tests
# read them). tcpdump's ring names (ftp.pcap1.gz, ftp.pcap2) are not among the names those tests list.
"$CAPTURES/tshark-fields.sh" $(cd "$CAPTURES" && find multi -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.pcap.gz' -o -name '*.pcapng.gz' \) | sort) >/dev/null
echo "make.sh: wrote $HERE/{tour-ring,roles,backwards,ties} and $EXP"

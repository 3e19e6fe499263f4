#!/usr/bin/env bash
# Records captures/multi/ring-2121/: a real tcpdump ring buffer (-C 1: a new file every 1,000,000 bytes; -z gzip:
# each finished file compressed, as a ring buffer on a busy host is set up) of FTP on port 2121, so that sessions
# span files and the files mix plain pcap and gzip.
#
#   sudo captures/multi/record-ring.sh     # needs: vsftpd lftp curl tcpdump ip ethtool node sha256sum
#
# The network is record.sh's: two namespaces joined by a veth pair (MTU 1500, offloads off, 10.21.0.1 server,
# 10.21.0.2 client); nothing leaves the machine. vsftpd serves the tree of captures/served/make-tree.mjs (the sha256
# of every file is in captures/served/manifest.json) on port 2121. Two sessions:
#   1. lftp, anonymous: RETR pub/blob-1MiB.bin, then NOOP and PWD, RETR pub/blob-1MiB.bin again, RETR pub/small.txt;
#      the first file ends inside the first download, so the NOOP and PWD sit in a later file with no greeting
#      before them (that file alone is FTP only to --ftp-port 2121);
#   2. curl, anonymous: LIST pub/docs/ and RETR pub/docs/b.txt, in the last file.
# Writes ring-2121/ and ring-2121.json (what the clients saved: size and sha256 per download, never typed).
# Namespace names start with $NS_PREFIX (default ftpscope-ring), so a run cannot touch record.sh's.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CAPTURES=$(cd "$HERE/.." && pwd)
[[ $(id -u) -eq 0 ]] || { echo "record-ring.sh: run as root (network namespaces, vsftpd, tcpdump need it)" >&2; exit 1; }
for tool in vsftpd lftp curl tcpdump ip node sha256sum; do
  command -v "$tool" >/dev/null || { echo "record-ring.sh: '$tool' is missing" >&2; exit 1; }
done

P=${NS_PREFIX:-ftpscope-ring}
NS_S=$P-srv NS_C=$P-cli
IF_S=rsrv0 IF_C=rcli0
SRV4=10.21.0.1 CLI4=10.21.0.2
PORT=2121
WORK=$(mktemp -d /tmp/mf-ring.XXXXXX)
chmod 755 "$WORK"
SERVER_PID= TCPDUMP_PID=

in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }
cleanup() {
  set +e
  trap - ERR
  [[ -n $TCPDUMP_PID ]] && kill -TERM "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip netns del "$NS_S" 2>/dev/null
  ip netns del "$NS_C" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "record-ring.sh: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

ip netns del "$NS_S" 2>/dev/null || true
ip netns del "$NS_C" 2>/dev/null || true
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C"
for side in s c; do
  if [[ $side == s ]]; then ns=$NS_S ifc=$IF_S mac=02:00:5e:21:00:01 a4=$SRV4; else ns=$NS_C ifc=$IF_C mac=02:00:5e:21:00:02 a4=$CLI4; fi
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "$ifc" address "$mac" mtu 1500
  ip netns exec "$ns" ethtool -K "$ifc" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$ns" addr add "$a4/24" dev "$ifc"
  ip -n "$ns" link set "$ifc" up
done

SRV=$WORK/srv CLI=$WORK/cli
node "$CAPTURES/served/make-tree.mjs" "$SRV" "$CLI/src" >/dev/null
chown -R root:root "$SRV"
chmod 755 "$SRV"
mkdir -p "$WORK/empty" "$CLI/dl" "$WORK/ring"
cat >"$WORK/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$SRV4
listen_port=$PORT
background=NO
seccomp_sandbox=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$SRV
local_enable=NO
write_enable=NO
pasv_enable=YES
pasv_min_port=50000
pasv_max_port=50099
hide_ids=YES
nopriv_user=nobody
secure_chroot_dir=$WORK/empty
EOF
ip netns exec "$NS_S" vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.out" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do in_s ss -Hltn "sport = :$PORT" | grep -q . && break; sleep 0.05; done

# -C 1: rotate every 1,000,000 bytes; -z gzip compresses each file once tcpdump moves on to the next.
ip netns exec "$NS_C" tcpdump -n -U --immediate-mode -s 0 -Z root -i "$IF_C" -C 1 -z gzip -w "$WORK/ring/ftp.pcap" >"$WORK/tcpdump.out" 2>&1 &
TCPDUMP_PID=$!
for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.05; done
sleep 0.2

LFTP='set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; set ftp:ssl-allow no; set ftp:passive-mode yes; set xfer:clobber yes;'
in_c lftp -e "$LFTP open -p $PORT $SRV4; get pub/blob-1MiB.bin -o $CLI/dl/s1-blob-a; quote NOOP; pwd; get pub/blob-1MiB.bin -o $CLI/dl/s1-blob-b; get pub/small.txt -o $CLI/dl/s1-small; bye" >/dev/null
in_c curl -sS --max-time 30 --disable-epsv "ftp://$SRV4:$PORT/pub/docs/" -o "$CLI/dl/s2-list" "ftp://$SRV4:$PORT/pub/docs/b.txt" -o "$CLI/dl/s2-b"

sleep 1
kill -TERM "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
TCPDUMP_PID=
sleep 0.5 # let the last gzip finish
if grep -q '[1-9][0-9]* packets\{0,1\} dropped by kernel' "$WORK/tcpdump.out"; then
  echo "record-ring.sh: tcpdump dropped packets; run it again" >&2; exit 1
fi

rm -rf "$HERE/ring-2121"
mkdir -p "$HERE/ring-2121"
cp "$WORK"/ring/* "$HERE/ring-2121/"
chmod 644 "$HERE"/ring-2121/*
sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
{
  printf '{\n  "description": "vsftpd on port %s; tcpdump -C 1 -z gzip; lftp then curl, anonymous, PASV",\n' "$PORT"
  printf '  "transfers": [\n'
  printf '    {"session": 1, "verb": "RETR", "path": "/pub/blob-1MiB.bin", "bytes": %s, "sha256": "%s"},\n' "$(size "$CLI/dl/s1-blob-a")" "$(sha "$CLI/dl/s1-blob-a")"
  printf '    {"session": 1, "verb": "RETR", "path": "/pub/blob-1MiB.bin", "bytes": %s, "sha256": "%s"},\n' "$(size "$CLI/dl/s1-blob-b")" "$(sha "$CLI/dl/s1-blob-b")"
  printf '    {"session": 1, "verb": "RETR", "path": "/pub/small.txt", "bytes": %s, "sha256": "%s"},\n' "$(size "$CLI/dl/s1-small")" "$(sha "$CLI/dl/s1-small")"
  printf '    {"session": 2, "verb": "LIST", "path": "/pub/docs/", "clientBytes": %s},\n' "$(size "$CLI/dl/s2-list")"
  printf '    {"session": 2, "verb": "RETR", "path": "/pub/docs/b.txt", "bytes": %s, "sha256": "%s"}\n' "$(size "$CLI/dl/s2-b")" "$(sha "$CLI/dl/s2-b")"
  printf '  ]\n}\n'
} >"$HERE/ring-2121.json"
ls -l "$HERE/ring-2121"

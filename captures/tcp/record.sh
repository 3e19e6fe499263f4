#!/usr/bin/env bash
# Records captures/tcp/*.pcap: real FTP transfers (vsftpd from the distribution, curl and Python's ftplib)
# that are slow or stall for a real reason, for the TCP analysis and the transfer diagnosis:
#
#   tcp-loss.pcap        packet loss between server and client (5% of the server's frames dropped, 10 ms each way)
#   tcp-reorder.pcap     reordering (a fifth of the server's frames overtake the others, 10 ms each way)
#   tcp-slow-reader.pcap a client that reads slowly (curl --limit-rate 48k, small receive buffer): zero windows
#   tcp-noscale.pcap     window scaling off on the client (sysctl), 100 ms each way: bytes in flight pinned at 64 KiB
#   tcp-stalled.pcap     a client that stops reading for 5 s mid-file (slow-client.py), TCP keep-alives on its idle
#                        control connection, and a second session from the same client port (reused ports)
#
#   sudo captures/tcp/record.sh          # needs: vsftpd curl python3 tcpdump ip ethtool; then captures/tcp-analysis.sh
#
# Three network namespaces: the server's, the client's, and between them a "link" namespace where delay-line.py
# forwards every Ethernet frame with the scenario's delay, loss or reordering (what tc netem does; the kernel these
# were recorded on has no sch_netem). The addresses exist only inside the namespaces; nothing leaves the machine.
# Offloads are off so frames are what a wire carries. tcpdump captures on the client's interface (what the client's
# host sees: lost frames never appear, retransmissions do). Namespace names start with $TCA_NS (default tca-rec).
# Random drops come from a fixed seed; the kernels' timing still varies, so a new run gives different captures:
# rerun captures/tshark-fields.sh and captures/tcp-analysis.sh on them and commit everything together.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
[[ $(id -u) -eq 0 ]] || { echo "record.sh: run as root (network namespaces, vsftpd, tcpdump need it)" >&2; exit 1; }
for tool in vsftpd curl python3 tcpdump ip ethtool sha256sum; do
  command -v "$tool" >/dev/null || { echo "record.sh: '$tool' is missing; install it" >&2; exit 1; }
done

P=${TCA_NS:-tca-rec}
NS_S=$P-srv NS_L=$P-link NS_C=$P-cli
MAC_S=02:00:5e:23:00:01 MAC_C=02:00:5e:23:00:02
SRV4=10.23.0.1 CLI4=10.23.0.2

WORK=$(mktemp -d /tmp/tca-record-tcp.XXXXXX)
chmod 755 "$WORK"
SRV=$WORK/srv
SERVER_PID= LINK_PID= TCPDUMP_PID=

die() { echo "record.sh: $*" >&2; exit 1; }
log() { printf '[record-tcp] %s\n' "$*" >&2; }
in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

stop_pid() { # VAR
  local pid=${!1}
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf -v "$1" '%s' ''
}

cleanup() {
  set +e
  stop_pid TCPDUMP_PID
  stop_pid LINK_PID
  stop_pid SERVER_PID
  for ns in "$NS_S" "$NS_L" "$NS_C"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM
trap 'echo "record.sh: failed at line $LINENO: $BASH_COMMAND" >&2; tail -n 5 "$WORK"/*.out >&2 2>/dev/null' ERR

# ---------------------------------------------------------------- network: srv0 <-> l0 [delay-line] l1 <-> cli0
setup_network() {
  for ns in "$NS_S" "$NS_L" "$NS_C"; do ip netns del "$ns" 2>/dev/null || true; ip netns add "$ns"; done
  ip link add srv0 netns "$NS_S" type veth peer name l0 netns "$NS_L"
  ip link add cli0 netns "$NS_C" type veth peer name l1 netns "$NS_L"
  for ns in "$NS_S" "$NS_L" "$NS_C"; do
    ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$NS_S" link set srv0 address $MAC_S mtu 1500
  ip -n "$NS_C" link set cli0 address $MAC_C mtu 1500
  for pair in "$NS_S srv0" "$NS_L l0" "$NS_L l1" "$NS_C cli0"; do
    set -- $pair
    ip netns exec "$1" ethtool -K "$2" tx off rx off tso off gso off gro off >/dev/null 2>&1 || die "ethtool -K $2 failed"
    ip -n "$1" link set "$2" up
  done
  ip -n "$NS_L" link set l0 promisc on
  ip -n "$NS_L" link set l1 promisc on
  ip -n "$NS_S" addr add $SRV4/24 dev srv0
  ip -n "$NS_C" addr add $CLI4/24 dev cli0
  # Same kernels, same defaults for every scenario; each changes what it needs and restores it.
  in_c sysctl -q -w net.ipv4.tcp_tw_reuse=1
}

# link [delay-line.py options]: (re)start the link with these impairments.
link() {
  stop_pid LINK_PID
  ip netns exec "$NS_L" python3 "$HERE/delay-line.py" l0 l1 "$@" >"$WORK/link.out" 2>&1 &
  LINK_PID=$!
  for _ in $(seq 1 100); do grep -q ready "$WORK/link.out" && return 0; sleep 0.05; done
  die "delay-line.py did not start: $(cat "$WORK/link.out")"
}

# ---------------------------------------------------------------- content and server
setup_content() {
  mkdir -p "$SRV/pub" "$WORK/empty" "$WORK/dl"
  # Pseudo-random and reproducible: SHA-256 in counter mode over a fixed seed.
  python3 - "$SRV/pub" <<'EOF'
import hashlib, sys
for name, size in (('file-256KiB.bin', 256 << 10), ('file-512KiB.bin', 512 << 10)):
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(b'ftpscope-tcp-%d' % i).digest()
        i += 1
    open(f'{sys.argv[1]}/{name}', 'wb').write(out[:size])
EOF
  chown -R root:root "$SRV"
  chmod -R a+rX "$SRV"
  cat >"$WORK/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$SRV4
listen_port=21
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
connect_from_port_20=NO
hide_ids=YES
nopriv_user=nobody
secure_chroot_dir=$WORK/empty
xferlog_enable=NO
EOF
}

start_server() {
  ip netns exec "$NS_S" vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.out" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do in_s ss -Hltn "sport = :21" | grep -q . && return 0; sleep 0.05; done
  die "vsftpd did not start: $(cat "$WORK/vsftpd.out")"
}

# ---------------------------------------------------------------- captures
begin_capture() { # NAME
  CAPTURE=$1
  ip -n "$NS_S" neigh flush all
  ip -n "$NS_C" neigh flush all
  ip netns exec "$NS_C" tcpdump -n -U --immediate-mode -s 0 -Z root -i cli0 -w "$WORK/$CAPTURE" >"$WORK/tcpdump.out" 2>&1 &
  TCPDUMP_PID=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.05; done
  sleep 0.2
  log "capture $CAPTURE"
}

end_capture() {
  sleep 1
  stop_pid TCPDUMP_PID
  stop_pid LINK_PID
  local dropped
  dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by \(kernel\|interface\)$/\1/p' "$WORK/tcpdump.out" | awk '{s+=$1} END {print s+0}')
  (( dropped == 0 )) || die "tcpdump dropped $dropped packets while recording $CAPTURE; run record.sh again"
  cp "$WORK/$CAPTURE" "$OUT/$CAPTURE"
  chmod 644 "$OUT/$CAPTURE"
  log "$CAPTURE: $(sed -n 's/^delay-line: \(forwarded.*\)/\1/p' "$WORK/link.out")"
}

# Every download must arrive whole: a scenario that broke the transfer itself would teach the wrong thing.
check_download() { # FILE SERVED
  cmp -s "$1" "$SRV/pub/$2" || die "$CAPTURE: the downloaded $2 differs from the served file"
}

curl_get() { # FILE [curl options...]
  local file=$1; shift
  in_c curl -sS --fail --ftp-pasv -o "$WORK/dl/$file" "$@" "ftp://$SRV4/pub/$file"
  check_download "$WORK/dl/$file" "$file"
}

setup_network
setup_content
start_server

begin_capture tcp-loss.pcap
link --delay-ms 10 --loss 0.05 --seed 7
curl_get file-256KiB.bin
end_capture

begin_capture tcp-reorder.pcap
link --delay-ms 10 --reorder 0.2 --seed 11
curl_get file-256KiB.bin
end_capture

begin_capture tcp-slow-reader.pcap
link --delay-ms 5
in_c sysctl -q -w net.ipv4.tcp_rmem="4096 16384 32768"
curl_get file-256KiB.bin --limit-rate 48k
in_c sysctl -q -w net.ipv4.tcp_rmem="4096 131072 6291456"
end_capture

begin_capture tcp-noscale.pcap
link --delay-ms 100
in_c sysctl -q -w net.ipv4.tcp_window_scaling=0
curl_get file-512KiB.bin
in_c sysctl -q -w net.ipv4.tcp_window_scaling=1
end_capture

begin_capture tcp-stalled.pcap
link --delay-ms 5
in_c python3 "$HERE/slow-client.py" $SRV4 /pub/file-256KiB.bin "$WORK/dl/stalled.bin" \
  --stop-after 32768 --pause 5 --keepalive 1 --local-port 40021 --sessions 2
check_download "$WORK/dl/stalled.bin" file-256KiB.bin
check_download "$WORK/dl/stalled.bin.1" file-256KiB.bin
end_capture

log "done: $(cd "$OUT" && ls tcp-*.pcap | tr '\n' ' ')"

#!/usr/bin/env bash
# Records the bundled captures in captures/ from real FTP servers and clients.
#
#   sudo captures/record.sh            # needs: vsftpd lftp curl tcpdump editcap(wireshark-common) iproute2 ethtool openssl node
#
# Two network namespaces joined by a veth pair look like two hosts on a LAN (MTU 1500, fixed MACs, IPv4 and IPv6 from
# private/documentation ranges that exist only inside the namespaces; nothing leaves the machine). The server side runs
# vsftpd from the distribution (and ftp-srv from npm for one capture); the client side runs curl and lftp; tcpdump
# captures in the client namespace. Offloads are off so frames are what a wire would carry (no 64 KiB TSO frames, no
# unfinished checksums).
#
# Writes captures/*.pcap|*.pcapng|*.pcap.gz, captures/served/manifest.json (the served content) and
# captures/served/captures.json (per capture: sessions and data transfers, with sizes and sha256 taken from what the
# clients saved or, for uploads, what the server stored; never typed by hand). Idempotent: every run rebuilds all.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
[[ $(id -u) -eq 0 ]] || { echo "record.sh: run as root (network namespaces, vsftpd, tcpdump need it)" >&2; exit 1; }
for tool in vsftpd lftp curl tcpdump editcap ip ethtool openssl node sha256sum; do
  command -v "$tool" >/dev/null || { echo "record.sh: '$tool' is missing; install it (see captures/README.md)" >&2; exit 1; }
done

NS_S=ftpscope-rec-srv
NS_C=ftpscope-rec-cli
IF_S=srv0 IF_C=cli0
MAC_S=02:00:5e:21:00:01 MAC_C=02:00:5e:21:00:02
SRV4=10.21.0.1 CLI4=10.21.0.2
SRV6=fd00:21::1 CLI6=fd00:21::2
NAT_PASV4=203.0.113.21   # what a NAT'd server announces in its 227 reply (TEST-NET-3)
TEST_USER=ftpscope-rec
TEST_PASS='s3cret-Passw0rd'
WRONG_PASS='not-the-password'

WORK=$(mktemp -d /tmp/ftpscope-record.XXXXXX)
chmod 755 "$WORK"
SRV=$WORK/srv          # the served tree (chroot of vsftpd)
CLI=$WORK/cli          # client-side files (upload sources, downloads)
RECORDS=$WORK/records.ndjson
SERVER_PID=
TCPDUMP_PID=
CREATED_USER=0

die() { echo "record.sh: $*" >&2; exit 1; }
log() { printf '[record] %s\n' "$*" >&2; }
in_s() { ip netns exec "$NS_S" "$@"; }
in_c() { ip netns exec "$NS_C" "$@"; }

cleanup() {
  set +e
  [[ -n $TCPDUMP_PID ]] && kill -TERM "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip netns del "$NS_S" 2>/dev/null
  ip netns del "$NS_C" 2>/dev/null
  [[ $CREATED_USER -eq 1 ]] && userdel "$TEST_USER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM
trap 'echo "record.sh: failed at line $LINENO: $BASH_COMMAND" >&2; [[ -n ${DEBUG:-} ]] && tail -n 20 "$WORK"/*.log "$WORK"/*.out >&2' ERR

# ---------------------------------------------------------------- network
setup_network() {
  ip netns del "$NS_S" 2>/dev/null || true
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns add "$NS_S"
  ip netns add "$NS_C"
  ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C"
  local ns ifc mac a4 a6
  for side in s c; do
    if [[ $side == s ]]; then ns=$NS_S ifc=$IF_S mac=$MAC_S a4=$SRV4 a6=$SRV6; else ns=$NS_C ifc=$IF_C mac=$MAC_C a4=$CLI4 a6=$CLI6; fi
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$ifc" address "$mac" mtu 1500
    ip netns exec "$ns" ethtool -K "$ifc" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip -n "$ns" addr add "$a4/24" dev "$ifc"
    ip -n "$ns" -6 addr add "$a6/64" dev "$ifc" nodad
    ip -n "$ns" link set "$ifc" up
  done
}

flush_neighbours() { ip -n "$NS_S" neigh flush all; ip -n "$NS_C" neigh flush all; }

# ---------------------------------------------------------------- content and users
setup_content() {
  node "$HERE/served/make-tree.mjs" "$SRV" "$CLI/src" >"$WORK/manifest.json"
  chown -R root:root "$SRV"
  chmod 755 "$SRV"
  mkdir -p "$SRV/upload" "$WORK/empty" "$CLI/dl"
  chmod 1777 "$SRV/upload"
  chmod 755 "$WORK/empty"
  node -e '
    const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const out = { generator: "captures/served/make-tree.mjs", mtime: "2024-01-02T03:04:05Z",
                  files: m.served, clientFiles: m.client };
    require("fs").writeFileSync(process.argv[2], JSON.stringify(out, null, 2) + "\n");
  ' "$WORK/manifest.json" "$OUT/served/manifest.json"
  # Home '/' always exists (vsftpd changes into it before local_root), even for an account left by an interrupted run.
  if id "$TEST_USER" >/dev/null 2>&1; then
    usermod --home / --shell /bin/bash "$TEST_USER"
  else
    useradd --no-create-home --home-dir / --shell /bin/bash "$TEST_USER"
    CREATED_USER=1
  fi
  echo "$TEST_USER:$TEST_PASS" | chpasswd
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ftp.ftpscope.test" \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
}

# A slow link (token bucket on the server's side of the veth) so that a client can give up mid-file. The server's
# send buffers are made small too, otherwise vsftpd hands the whole file to the kernel, says 226, and never sees the abort.
slow_link() {
  in_s tc qdisc replace dev "$IF_S" root tbf rate 1mbit burst 16kb latency 200ms
  in_s sysctl -q -w net.ipv4.tcp_wmem="4096 16384 32768"
}
fast_link() {
  in_s tc qdisc del dev "$IF_S" root 2>/dev/null || true
  in_s sysctl -q -w net.ipv4.tcp_wmem="4096 16384 4194304"
}

clear_uploads() { rm -rf "${SRV:?}/upload/"*; }

# ---------------------------------------------------------------- servers
# vsftpd_conf FAMILY(4|6) [extra lines...] -> path of a config file
vsftpd_conf() {
  local family=$1; shift
  local conf=$WORK/vsftpd-$RANDOM.conf
  {
    if [[ $family == 6 ]]; then echo "listen=NO"; echo "listen_ipv6=YES"; echo "listen_address6=$SRV6"
    else echo "listen=YES"; echo "listen_ipv6=NO"; echo "listen_address=$SRV4"; fi
    cat <<EOF
listen_port=21
background=NO
seccomp_sandbox=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=$SRV
anon_upload_enable=YES
anon_umask=022
ftp_username=ftp
local_enable=YES
local_root=$SRV
chroot_local_user=YES
local_umask=022
write_enable=YES
userlist_enable=NO
pam_service_name=vsftpd
pasv_enable=YES
pasv_min_port=50000
pasv_max_port=50099
port_enable=YES
connect_from_port_20=NO
ascii_download_enable=YES
ascii_upload_enable=YES
hide_ids=YES
nopriv_user=nobody
secure_chroot_dir=$WORK/empty
xferlog_enable=YES
vsftpd_log_file=$WORK/vsftpd.log
delay_failed_login=1
EOF
    for line in "$@"; do echo "$line"; done
  } >"$conf"
  echo "$conf"
}

wait_listening() { # PORT
  for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited at start: $(cat "$WORK"/*.out 2>/dev/null)"
    in_s ss -Hltn "sport = :$1" | grep -q . && return 0
    sleep 0.05
  done
  echo "record.sh: server did not start listening on port $1" >&2; return 1
}

start_vsftpd() { # CONF
  ip netns exec "$NS_S" vsftpd "$1" >"$WORK/vsftpd.out" 2>&1 &   # not via in_s: $! must be vsftpd itself
  SERVER_PID=$!
  wait_listening 21
}

start_ftp_srv() {
  ip netns exec "$NS_S" node "$HERE/served/run-ftp-srv.mjs" --host "$SRV4" --port 21 --root "$SRV" \
    --pasv-min 50100 --pasv-max 50199 --user "$TEST_USER" --pass "$TEST_PASS" >"$WORK/ftp-srv.out" 2>&1 &
  SERVER_PID=$!
  wait_listening 21
}

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  for _ in $(seq 1 100); do in_s ss -Hltn "sport = :21" | grep -q . || return 0; sleep 0.05; done
  die "the server still listens on port 21 after being stopped"
}

# ---------------------------------------------------------------- capture and records
CAPTURE=        # file name of the capture being recorded
CAPTURE_RAW=
SESSION=0       # control sessions opened so far in this capture

# tcpdump is stopped with SIGTERM: a non-interactive shell starts background jobs with SIGINT ignored. It runs in
# immediate mode: otherwise packets wait in libpcap's ring-buffer block (up to 1 s) and the last ones are lost at exit.
begin_capture() { # NAME DESCRIPTION [tcpdump args...]
  CAPTURE=$1; local description=$2; shift 2
  SESSION=0
  clear_uploads
  flush_neighbours
  CAPTURE_RAW=$WORK/$CAPTURE.raw
  local args=("$@")
  [[ " ${args[*]} " == *" -i "* ]] || args=(-i "$IF_C" "${args[@]}")
  ip netns exec "$NS_C" tcpdump -n -U --immediate-mode -s 0 -Z root "${args[@]}" -w "$CAPTURE_RAW" >"$WORK/tcpdump.out" 2>&1 &
  TCPDUMP_PID=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.05; done
  sleep 0.2
  record "$(printf '{"type":"capture","file":"%s","description":"%s"}' "$CAPTURE" "$description")"
  log "capture $CAPTURE: $description"
}

end_capture() { # [convert: pcap|pcapng|gzip]
  sleep 1
  kill -TERM "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
  # A capture that lost packets would teach the tests the wrong expected values (vsftpd-any-sll2.pcap once did).
  local dropped
  dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by \(kernel\|interface\)$/\1/p' "$WORK/tcpdump.out" | awk '{s+=$1} END {print s+0}')
  if (( dropped > 0 )); then
    echo "record.sh: tcpdump dropped $dropped packets while recording $CAPTURE; run record.sh again" >&2
    exit 1
  fi
  case ${1:-pcap} in
    pcap) cp "$CAPTURE_RAW" "$OUT/$CAPTURE" ;;
    pcapng) editcap -F pcapng "$CAPTURE_RAW" "$OUT/$CAPTURE" ;;
    gzip) gzip -9 -n -c "$CAPTURE_RAW" >"$OUT/$CAPTURE" ;;
  esac
  chmod 644 "$OUT/$CAPTURE"
}

record() { printf '%s\n' "$1" >>"$RECORDS"; }

# session CLIENT USER LOGIN(ok|failed) SERVER FAMILY NOTE: call before the client runs.
session() {
  SESSION=$((SESSION + 1))
  record "$(printf '{"type":"session","capture":"%s","session":%d,"client":"%s","user":"%s","login":"%s","server":"%s","ip":%d,"note":"%s"}' \
    "$CAPTURE" "$SESSION" "$1" "$2" "$3" "$4" "$5" "$6")"
}

# transfer VERB PATH MODE SETUP FILE COMPLETE(true|false) [extra json members]
# FILE is what the client saved (downloads, listings) or what the server stored (uploads); "-" when no file exists.
transfer() {
  local verb=$1 path=$2 mode=$3 setup=$4 file=$5 complete=$6 extra=${7:-}
  local bytes=null sha=null
  if [[ $file != - ]]; then
    bytes=$(stat -c %s "$file")
    sha=\"$(sha256sum "$file" | cut -d' ' -f1)\"
  fi
  if [[ $complete == false ]]; then
    # The client's file is only a lower bound for what crossed the wire before the abort.
    [[ $file != - ]] && extra="\"clientBytes\":$bytes${extra:+,$extra}"
    bytes=null sha=null
  fi
  record "$(printf '{"type":"transfer","capture":"%s","session":%d,"verb":"%s","path":"%s","mode":"%s","setup":"%s","bytes":%s,"sha256":%s,"complete":%s%s}' \
    "$CAPTURE" "$SESSION" "$verb" "$path" "$mode" "$setup" "$bytes" "$sha" "$complete" "${extra:+,$extra}")"
}

# lftp_run URL USER,PASS|"" COMMANDS: `open` inside -e, because `lftp -u U,P ftp://[v6]` fails with "Not connected".
lftp_run() {
  in_c lftp -e "$LFTP_BASE open ${2:+-u $2} $1; $3; bye"
}
# transfer_converted VERB PATH MODE SETUP FILE: a complete transfer whose client (curl, lftp) rewrote CR LF to LF in
# ASCII mode, so its file is not the wire bytes: bytes/sha256 stay unknown, the client's view is kept apart.
transfer_converted() {
  transfer "$1" "$2" "$3" "$4" - true "\"clientBytes\":$(stat -c %s "$5"),\"clientSha256\":\"$(sha256sum "$5" | cut -d' ' -f1)\",\"clientConvertedLineEnds\":true"
}
dl() { echo "$CLI/dl/$CAPTURE-$SESSION-$1"; }   # a fresh client-side download path
CURL=(curl -sS --connect-timeout 5 --max-time 60)
LFTP_BASE="${LFTP_DEBUG:+debug 3; }"'set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 10; set ftp:ssl-allow no; set xfer:clobber yes;'

# ---------------------------------------------------------------- scenarios
cap_pasv_ipv4() {
  start_vsftpd "$(vsftpd_conf 4)"
  begin_capture vsftpd-pasv-ipv4.pcap "vsftpd, curl, anonymous, PASV: listing, 1 MiB download, small download, empty file"
  session curl anonymous ok vsftpd 4 "one control connection, four transfers (curl reuses it)"
  local l=$(dl list) b=$(dl blob) s=$(dl small) e=$(dl empty)
  in_c "${CURL[@]}" --disable-epsv "ftp://$SRV4/pub/" -o "$l" \
    "ftp://$SRV4/pub/blob-1MiB.bin" -o "$b" "ftp://$SRV4/pub/small.txt" -o "$s" "ftp://$SRV4/pub/empty.dat" -o "$e"
  transfer_converted LIST /pub passive PASV "$l"
  transfer RETR /pub/blob-1MiB.bin passive PASV "$b" true
  transfer RETR /pub/small.txt passive PASV "$s" true
  transfer RETR /pub/empty.dat passive PASV "$e" true
  end_capture
  stop_server
}

cap_epsv_user_ipv4() {
  start_vsftpd "$(vsftpd_conf 4)"
  begin_capture vsftpd-epsv-user-ipv4.pcap "vsftpd, curl and Python ftplib, local user with password: EPSV upload and download; PASV LIST, NLST and downloads in ASCII and image mode"
  session curl "$TEST_USER" ok vsftpd 4 "upload then downloads on one control connection"
  in_c "${CURL[@]}" -u "$TEST_USER:$TEST_PASS" -T "$CLI/src/upload-300KiB.bin" "ftp://$SRV4/upload/upload-300KiB.bin"
  transfer STOR /upload/upload-300KiB.bin passive EPSV "$SRV/upload/upload-300KiB.bin" true
  session curl "$TEST_USER" ok vsftpd 4 "image-mode download"
  local d=$(dl docs-b)
  in_c "${CURL[@]}" -u "$TEST_USER:$TEST_PASS" "ftp://$SRV4/pub/docs/b.txt" -o "$d"
  transfer RETR /pub/docs/b.txt passive EPSV "$d" true
  session python-ftplib "$TEST_USER" ok vsftpd 4 "ASCII mode (TYPE A): LIST, NLST and a download whose line ends vsftpd rewrites; then the same file in TYPE I"
  local l=$(dl list) n=$(dl nlst) a=$(dl crlf-ascii) i=$(dl crlf-image)
  in_c python3 "$HERE/served/ftplib-client.py" "$SRV4" "$TEST_USER" "$TEST_PASS" passive \
    type:A "list:/pub:$l" "nlst:/pub/docs:$n" "retr:/pub/readme-crlf.txt:$a" type:I "retr:/pub/readme-crlf.txt:$i"
  transfer LIST /pub passive PASV "$l" true '"transferType":"A"'
  transfer NLST /pub/docs passive PASV "$n" true '"transferType":"A"'
  # vsftpd (ascii_download_enable) rewrites line ends in TYPE A, so these bytes differ from the served file.
  transfer RETR /pub/readme-crlf.txt passive PASV "$a" true '"transferType":"A"'
  transfer RETR /pub/readme-crlf.txt passive PASV "$i" true '"transferType":"I"'
  end_capture
  stop_server
}

cap_port_ipv4() {
  start_vsftpd "$(vsftpd_conf 4)"
  begin_capture vsftpd-port-ipv4.pcap "vsftpd, curl, anonymous, PORT (server connects from an ephemeral port): listing, download, upload"
  session curl anonymous ok vsftpd 4 "active mode with PORT; connect_from_port_20=NO"
  local l=$(dl list) b=$(dl blob)
  in_c "${CURL[@]}" -P - --disable-eprt "ftp://$SRV4/pub/" -o "$l" "ftp://$SRV4/pub/blob-1MiB.bin" -o "$b"
  transfer_converted LIST /pub active PORT "$l"
  transfer RETR /pub/blob-1MiB.bin active PORT "$b" true
  session curl anonymous ok vsftpd 4 "anonymous upload in active mode"
  in_c "${CURL[@]}" -P - --disable-eprt -T "$CLI/src/upload-note.txt" "ftp://$SRV4/upload/note.txt"
  transfer STOR /upload/note.txt active PORT "$SRV/upload/note.txt" true
  end_capture
  stop_server
}

cap_eprt_port20_ipv4() {
  start_vsftpd "$(vsftpd_conf 4 connect_from_port_20=YES ftp_data_port=20)"
  begin_capture vsftpd-eprt-port20-ipv4.pcap.gz "vsftpd with connect_from_port_20=YES, curl, anonymous, EPRT on IPv4; gzip-compressed nanosecond pcap" --time-stamp-precision=nano
  session curl anonymous ok vsftpd 4 "active mode with EPRT |1|; data connections from server port 20"
  local l=$(dl list) c=$(dl c) d=$(dl d)
  in_c "${CURL[@]}" -P - "ftp://$SRV4/pub/docs/" -o "$l" "ftp://$SRV4/pub/docs/c.bin" -o "$c" \
    "ftp://$SRV4/pub/docs/nested/d.txt" -o "$d"
  transfer_converted LIST /pub/docs active EPRT "$l"
  transfer RETR /pub/docs/c.bin active EPRT "$c" true
  transfer RETR /pub/docs/nested/d.txt active EPRT "$d" true
  end_capture gzip
  stop_server
}

cap_ipv6_lftp() {
  start_vsftpd "$(vsftpd_conf 6)"
  begin_capture vsftpd-lftp-ipv6.pcapng "vsftpd, lftp, IPv6, local user: EPSV download, EPRT listing and upload; lftp sends FEAT, PWD, SIZE, MDTM between setup and transfer"
  session lftp "$TEST_USER" ok vsftpd 6 "passive (EPSV) then active (EPRT) on one control connection"
  local b=$(dl blob) l=$(dl list) s=$(dl spaces)
  lftp_run "ftp://[$SRV6]" "$TEST_USER,$TEST_PASS" "set ftp:passive-mode yes; get /pub/blob-1MiB.bin -o $b; get '/pub/name with spaces.txt' -o '$s';
    set ftp:passive-mode no; cd /pub; ls > $l; put $CLI/src/upload-note.txt -o /upload/note-v6.txt"
  transfer RETR /pub/blob-1MiB.bin passive EPSV "$b" true
  transfer RETR '/pub/name with spaces.txt' passive EPSV "$s" true
  transfer_converted LIST /pub active EPRT "$l"
  transfer STOR /upload/note-v6.txt active EPRT "$SRV/upload/note-v6.txt" true
  end_capture pcapng
  stop_server
}

cap_failed_login() {
  start_vsftpd "$(vsftpd_conf 4)"
  begin_capture vsftpd-login-failed.pcap "vsftpd, curl and lftp: three wrong passwords for a local user, then a good login with a listing"
  local i
  for i in 1 2 3; do
    session curl "$TEST_USER" failed vsftpd 4 "wrong password: 530 Login incorrect"
    in_c "${CURL[@]}" -u "$TEST_USER:$WRONG_PASS" "ftp://$SRV4/pub/" -o /dev/null 2>/dev/null && { echo "login should have failed" >&2; exit 1; } || true
  done
  session lftp "$TEST_USER" ok vsftpd 4 "correct password; lftp PASV listing (EPSV disabled)"
  local l=$(dl list)
  lftp_run "ftp://$SRV4" "$TEST_USER,$TEST_PASS" "set ftp:prefer-epsv no; cd /pub; ls > $l"
  transfer_converted LIST /pub passive PASV "$l"
  end_capture
  stop_server
}

cap_aborted() {
  start_vsftpd "$(vsftpd_conf 4)"
  begin_capture vsftpd-aborted.pcap "vsftpd, curl and lftp: downloads aborted mid-transfer (client timeout; lftp ABOR), then a REST resume"
  session curl anonymous ok vsftpd 4 "over a 1 Mbit/s link curl gives up after 1.5 s: the client closes the data connection mid-file"
  local p=$(dl partial)
  slow_link
  in_c "${CURL[@]}" --max-time 1.5 "ftp://$SRV4/pub/blob-1MiB.bin" -o "$p" 2>/dev/null && { echo "transfer should have been cut" >&2; exit 1; } || true
  transfer RETR /pub/blob-1MiB.bin passive EPSV "$p" false '"abort":"client-timeout"'
  local offset; offset=$(stat -c %s "$p")
  fast_link
  session curl anonymous ok vsftpd 4 "resume the partial file: REST offset then RETR of the remainder"
  in_c "${CURL[@]}" -C - "ftp://$SRV4/pub/blob-1MiB.bin" -o "$p"
  tail -c +"$((offset + 1))" "$p" >"$p.remainder"
  transfer RETR /pub/blob-1MiB.bin passive EPSV "$p.remainder" true "\"rest\":$offset,\"fileSha256\":\"$(sha256sum "$p" | cut -d' ' -f1)\""
  session lftp anonymous ok vsftpd 4 "lftp transfer killed with 'kill all' after 1 s: ABOR on the control connection"
  local q=$(dl abor)
  slow_link
  lftp_run "ftp://$SRV4" "" "set ftp:prefer-epsv no; get /pub/blob-1MiB.bin -o $q &; sleep 1; kill all; sleep 2" || true
  transfer RETR /pub/blob-1MiB.bin passive PASV "$q" false '"abort":"ABOR"'
  fast_link
  end_capture
  stop_server
}

cap_sll2() {
  start_vsftpd "$(vsftpd_conf 4)"
  begin_capture vsftpd-any-sll2.pcap "vsftpd, lftp, anonymous, PASV, captured with tcpdump -i any (LINUX_SLL2)" -i any -y LINUX_SLL2
  session lftp anonymous ok vsftpd 4 "PASV downloads in image mode"
  local a=$(dl a) c=$(dl c)
  lftp_run "ftp://$SRV4" "" "set ftp:prefer-epsv no; get /pub/docs/a.txt -o $a; get /pub/docs/c.bin -o $c"
  transfer RETR /pub/docs/a.txt passive PASV "$a" true
  transfer RETR /pub/docs/c.bin passive PASV "$c" true
  end_capture
  stop_server
}

cap_pasv_nat() {
  start_vsftpd "$(vsftpd_conf 4 pasv_address=$NAT_PASV4 port_promiscuous=YES)"
  begin_capture vsftpd-pasv-nat-ipv4.pcap "vsftpd announcing a NAT'd public address in 227 (curl ignores it), and a PORT to a foreign address that fails with 425"
  session curl anonymous ok vsftpd 4 "227 announces $NAT_PASV4; curl --ftp-skip-pasv-ip connects to the control server's address"
  local s=$(dl small) b=$(dl b)
  in_c "${CURL[@]}" --disable-epsv --ftp-skip-pasv-ip "ftp://$SRV4/pub/small.txt" -o "$s" "ftp://$SRV4/pub/docs/b.txt" -o "$b"
  transfer RETR /pub/small.txt passive PASV "$s" true "\"announced\":\"$NAT_PASV4\""
  transfer RETR /pub/docs/b.txt passive PASV "$b" true "\"announced\":\"$NAT_PASV4\""
  session python-ftplib anonymous ok vsftpd 4 "PORT announces 198.51.100.9 (not the client): the server cannot connect and replies 425; no data connection"
  in_c python3 "$HERE/served/ftplib-client.py" "$SRV4" anonymous "" active "raw:PORT 198,51,100,9,15,160" "raw:RETR /pub/small.txt"
  record "$(printf '{"type":"expected-no-connection","capture":"%s","session":%d,"verb":"RETR","path":"/pub/small.txt","setup":"PORT","announced":"198.51.100.9","reply":425}' "$CAPTURE" "$SESSION")"
  end_capture
  stop_server
}

cap_tls() {
  start_vsftpd "$(vsftpd_conf 4 ssl_enable=YES rsa_cert_file=$WORK/tls.crt rsa_private_key_file=$WORK/tls.key \
    allow_anon_ssl=YES force_local_logins_ssl=NO force_local_data_ssl=NO require_ssl_reuse=YES ssl_ciphers=HIGH)"
  begin_capture vsftpd-auth-tls.pcap "vsftpd with explicit TLS (AUTH TLS, PBSZ 0, PROT P; data connection reuses the TLS session), curl, local user"
  session curl "$TEST_USER" ok vsftpd 4 "control and data encrypted after AUTH TLS -> 234; the data bytes on the wire are TLS records"
  local s=$(dl small)
  in_c "${CURL[@]}" --ssl-reqd -k -u "$TEST_USER:$TEST_PASS" "ftp://$SRV4/pub/small.txt" -o "$s"
  # The file is known (client side) but the wire carries TLS records, so bytes/sha256 of the data connection are unknown.
  transfer RETR /pub/small.txt passive EPSV - true "\"tls\":true,\"fileBytes\":$(stat -c %s "$s"),\"fileSha256\":\"$(sha256sum "$s" | cut -d' ' -f1)\""
  end_capture
  stop_server
}

cap_ftp_srv() {
  start_ftp_srv
  begin_capture ftpsrv-pasv-ipv4.pcap "ftp-srv (npm), curl: anonymous PASV listing and download, EPSV upload by a local user"
  session curl anonymous ok ftp-srv 4 "PASV listing and download"
  local l=$(dl list) b=$(dl blob)
  in_c "${CURL[@]}" --disable-epsv "ftp://$SRV4/pub/" -o "$l" "ftp://$SRV4/pub/blob-1MiB.bin" -o "$b"
  transfer_converted LIST /pub passive PASV "$l"
  transfer RETR /pub/blob-1MiB.bin passive PASV "$b" true
  session curl "$TEST_USER" ok ftp-srv 4 "EPSV upload"
  in_c "${CURL[@]}" -u "$TEST_USER:$TEST_PASS" -T "$CLI/src/upload-note.txt" "ftp://$SRV4/upload/note-ftpsrv.txt"
  transfer STOR /upload/note-ftpsrv.txt passive EPSV "$SRV/upload/note-ftpsrv.txt" true
  end_capture
  stop_server
}

cap_tour() {
  start_vsftpd "$(vsftpd_conf 4)"
  begin_capture tour.pcapng "a bit of everything: anonymous PASV listing and download, a local user's EPSV upload, an active PORT download, a failed login, an aborted download"
  session curl anonymous ok vsftpd 4 "PASV listing and 1 MiB download"
  local l=$(dl list) b=$(dl blob)
  in_c "${CURL[@]}" --disable-epsv "ftp://$SRV4/pub/" -o "$l" "ftp://$SRV4/pub/blob-1MiB.bin" -o "$b"
  transfer_converted LIST /pub passive PASV "$l"
  transfer RETR /pub/blob-1MiB.bin passive PASV "$b" true
  session curl "$TEST_USER" ok vsftpd 4 "local user uploads with EPSV"
  in_c "${CURL[@]}" -u "$TEST_USER:$TEST_PASS" -T "$CLI/src/upload-300KiB.bin" "ftp://$SRV4/upload/upload-300KiB.bin"
  transfer STOR /upload/upload-300KiB.bin passive EPSV "$SRV/upload/upload-300KiB.bin" true
  session curl anonymous ok vsftpd 4 "active mode: PORT, the server connects back from an ephemeral port"
  local d=$(dl b)
  in_c "${CURL[@]}" -P - --disable-eprt "ftp://$SRV4/pub/docs/b.txt" -o "$d"
  transfer RETR /pub/docs/b.txt active PORT "$d" true
  session curl "$TEST_USER" failed vsftpd 4 "wrong password"
  in_c "${CURL[@]}" -u "$TEST_USER:$WRONG_PASS" "ftp://$SRV4/pub/" -o /dev/null 2>/dev/null && die "the wrong password was accepted" || true
  session curl anonymous ok vsftpd 4 "download cut off by the client after 1 s"
  local p=$(dl partial)
  slow_link
  in_c "${CURL[@]}" --max-time 1 "ftp://$SRV4/pub/blob-1MiB.bin" -o "$p" 2>/dev/null && die "the download was not cut" || true
  fast_link
  transfer RETR /pub/blob-1MiB.bin passive EPSV "$p" false '"abort":"client-timeout"'
  end_capture pcapng
  stop_server
}

assemble_json() {
  node -e '
    const fs = require("fs");
    const lines = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const captures = [];
    for (const r of lines) {
      if (r.type === "capture") { captures.push({ file: r.file, description: r.description, sessions: [], transfers: [], expectedNoConnection: [] }); continue; }
      const c = captures.find((x) => x.file === r.capture);
      const { type, capture, ...rest } = r;
      if (type === "session") c.sessions.push(rest);
      else if (type === "transfer") c.transfers.push(rest);
      else c.expectedNoConnection.push(rest);
    }
    for (const c of captures) if (!c.expectedNoConnection.length) delete c.expectedNoConnection;
    const out = { generatedBy: "captures/record.sh", addresses: JSON.parse(process.argv[3]), captures };
    fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 2) + "\n");
  ' "$RECORDS" "$OUT/served/captures.json" \
    "{\"server4\":\"$SRV4\",\"client4\":\"$CLI4\",\"server6\":\"$SRV6\",\"client6\":\"$CLI6\",\"serverMac\":\"$MAC_S\",\"clientMac\":\"$MAC_C\",\"natPasv4\":\"$NAT_PASV4\"}"
}

SCENARIOS="tour pasv_ipv4 epsv_user_ipv4 port_ipv4 eprt_port20_ipv4 ipv6_lftp failed_login aborted sll2 pasv_nat tls ftp_srv"

main() {
  setup_network
  setup_content
  : >"$RECORDS"
  rm -f "$OUT"/*.pcap "$OUT"/*.pcapng "$OUT"/*.pcap.gz
  local scenario
  for scenario in ${ONLY:-$SCENARIOS}; do "cap_$scenario"; done
  assemble_json
  node "$HERE/served/describe.mjs"
  if command -v tshark >/dev/null; then python3 "$HERE/served/verify-with-tshark.py" "$OUT"; else log "tshark not installed: captures.json not cross-checked"; fi
  log "done: $(ls "$OUT"/*.pcap* | wc -l) captures, $(du -ch "$OUT"/*.pcap* | tail -1 | cut -f1) in total"
}

main "$@"

#!/usr/bin/env bash
# The diagnosis lab: reproduces real FTP failures with real servers and clients in network namespaces and records one
# small capture per scenario into captures/scenarios/, with scenarios.json saying what was done and what the truth is.
#
#   sudo captures/scenarios/record.sh              # every scenario
#   sudo ONLY="01 07" captures/scenarios/record.sh  # some of them (scenarios.json keeps the others' entries)
#
# Needs: vsftpd lftp curl tcpdump tshark nft tc ip ethtool openssl node python3 apt-get dpkg; the npm dev dependency
# basic-ftp, and ftpscope built (npm run build): the run ends by checking ftpscope's diagnosis of every capture
# (diagnosis-summary.json), writing tshark's view of each (tshark/*.tsv) and docs/diagnosis.md. proftpd and pure-ftpd conflict with vsftpd as Debian packages, so they are fetched with `apt-get
# download` and unpacked side by side with `dpkg -x` into captures/scenarios/.pkgs/ (not committed), and each binary
# runs with its own configuration written here.
#
# Topology (every address exists only inside the lab namespaces; nothing leaves the machine):
#
#   lab-cli  labc0 ─── labr0  lab-rtr  labr1 ─── labs0  lab-srv
#   client            router: NAT (nftables), firewall, conntrack      server
#
#   server-nat (default): the client is 203.0.113.10 on the "internet" side; the server is 10.0.0.5 on a private LAN
#     behind the router, reached at its public address 198.51.100.7 (1:1 DNAT/SNAT). The router forwards new
#     connections to port 21 and to the passive range 40000-40009 only (like a real edge firewall), and lets the
#     server connect out (active mode).
#   client-nat: the client is 192.168.1.10 behind the router, which masquerades it as 198.51.100.1; the server is
#     198.51.100.7 on the router's other side. Captured at the server.
#
# Each scenario changes one thing (a server option, a firewall rule, tc netem, a sysctl, a client option) and records
# the failure as it happens. The capture is taken at the client's interface unless the scenario says otherwise.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
PKGS=${PKGS:-$HERE/.pkgs}
[[ $(id -u) -eq 0 ]] || { echo "record.sh: run as root (namespaces, servers, tcpdump need it)" >&2; exit 1; }
for tool in vsftpd lftp curl tcpdump tshark nft tc ip ethtool openssl node python3 sha256sum apt-get dpkg; do
  command -v "$tool" >/dev/null || { echo "record.sh: '$tool' is missing" >&2; exit 1; }
done

NS_C=lab-cli NS_R=lab-rtr NS_S=lab-srv
SRV_PRIV=10.0.0.5 RTR_LAN=10.0.0.1
SRV_PUB=198.51.100.7
CLI_PUB=203.0.113.10 RTR_WAN=203.0.113.1
CLI_PRIV=192.168.1.10 RTR_CLAN=192.168.1.1 RTR_MASQ=198.51.100.1
SRV_DATA=198.51.100.8      # scenario 04: a second public address that only the passive ports use
THIRD=203.0.113.99          # a third host named in a PORT bounce attempt (nothing answers there)
PASV_MIN=40000 PASV_MAX=40009
LAB_USER=labftp LAB_PASS='lab-Passw0rd'
MODE=server-nat

WORK=$(mktemp -d /tmp/lab-record.XXXXXX)
chmod 755 "$WORK"
SRV=$WORK/srv CLI=$WORK/cli
RECORDS=$WORK/records.ndjson
SERVER_PID= TCPDUMP_PID= CREATED_USER=0 TMPFS=

die() { echo "record.sh: $*" >&2; exit 1; }
log() { printf '[lab] %s\n' "$*" >&2; }
in_c() { ip netns exec "$NS_C" "$@"; }
in_r() { ip netns exec "$NS_R" "$@"; }
in_s() { ip netns exec "$NS_S" "$@"; }

cleanup() {
  set +e; trap - ERR
  [[ -n $TCPDUMP_PID ]] && kill -TERM "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  local ns; for ns in "$NS_C" "$NS_R" "$NS_S"; do kill_ns "$ns"; ip netns del "$ns" 2>/dev/null; done
  [[ -n $TMPFS ]] && umount "$TMPFS" 2>/dev/null
  [[ $CREATED_USER -eq 1 ]] && userdel "$LAB_USER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM
trap 'echo "record.sh: failed at line $LINENO: $BASH_COMMAND" >&2; [[ -n ${DEBUG:-} ]] && tail -n 20 "$WORK"/*.out >&2' ERR

# ---------------------------------------------------------------- packages side by side
PROFTPD= PUREFTPD= PKG_LIBS=
unpack_servers() {
  if [[ ! -x $PKGS/root/usr/sbin/proftpd || ! -x $PKGS/root/usr/sbin/pure-ftpd ]]; then
    log "fetching proftpd and pure-ftpd with apt-get download into $PKGS"
    mkdir -p "$PKGS/debs" "$PKGS/root"
    # proftpd-core's libraries that a vsftpd machine lacks; they are unpacked too and found through LD_LIBRARY_PATH.
    local debs=(proftpd-core pure-ftpd libhiredis0.14 libmemcached11 libmemcachedutil2 libhashkit2 libpcre2-posix3)
    # A fresh machine has no package lists yet: update once and try again.
    (cd "$PKGS/debs" && apt-get download "${debs[@]}" >/dev/null 2>&1) ||
      { apt-get update >/dev/null && (cd "$PKGS/debs" && apt-get download "${debs[@]}" >/dev/null 2>&1); } ||
      die "apt-get download ${debs[*]} failed"
    local deb; for deb in "$PKGS"/debs/*.deb; do dpkg -x "$deb" "$PKGS/root"; done
  fi
  PROFTPD=$PKGS/root/usr/sbin/proftpd PUREFTPD=$PKGS/root/usr/sbin/pure-ftpd
  PKG_LIBS=$PKGS/root/usr/lib/x86_64-linux-gnu
  LD_LIBRARY_PATH=$PKG_LIBS "$PROFTPD" -v >/dev/null 2>&1 || die "the unpacked proftpd does not run"
}

# ---------------------------------------------------------------- network
veth() { # NS_A IF_A MAC_A NS_B IF_B MAC_B
  ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
  ip -n "$1" link set "$2" address "$3" mtu 1500
  ip -n "$4" link set "$5" address "$6" mtu 1500
  local ns ifc
  for pair in "$1 $2" "$4 $5"; do
    read -r ns ifc <<<"$pair"
    # Offloads off: frames are what a wire carries (no 64 KiB TSO frames, no unfinished checksums).
    ip netns exec "$ns" ethtool -K "$ifc" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip -n "$ns" link set "$ifc" up
  done
}

# kill_ns NS: every process left in a lab namespace (a server's forked session stuck on a dead connection
# outlives its listener, and a deleted namespace lives on while a process is in it). Only the lab's namespaces.
kill_ns() {
  local pids; pids=$(ip netns pids "$1" 2>/dev/null) || return 0
  [[ -n $pids ]] || return 0
  [[ -n ${DEBUG:-} ]] && log "kill_ns $1: $pids"
  kill $pids 2>/dev/null || true
  sleep 0.2
  pids=$(ip netns pids "$1" 2>/dev/null) || return 0
  [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
}
net_down() { local ns; for ns in "$NS_C" "$NS_R" "$NS_S"; do kill_ns "$ns"; ip netns del "$ns" 2>/dev/null || true; done; }

# net_up MODE [FORWARD_RULES...]: a fresh topology for every scenario, so no rule, qdisc or sysctl leaks into the next.
net_up() {
  MODE=$1; shift
  net_down
  local ns; for ns in "$NS_C" "$NS_R" "$NS_S"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
  veth "$NS_C" labc0 02:00:5e:4c:00:0a "$NS_R" labr0 02:00:5e:4c:00:01
  veth "$NS_R" labr1 02:00:5e:4c:01:01 "$NS_S" labs0 02:00:5e:4c:01:05
  in_r sysctl -q -w net.ipv4.ip_forward=1
  local s; for s in "$NS_C" "$NS_R" "$NS_S"; do ip netns exec "$s" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1; done
  if [[ $MODE == server-nat ]]; then
    ip -n "$NS_C" addr add "$CLI_PUB/24" dev labc0
    ip -n "$NS_C" route add default via "$RTR_WAN"
    ip -n "$NS_R" addr add "$RTR_WAN/24" dev labr0
    ip -n "$NS_R" addr add "$SRV_PUB/32" dev labr0
    ip -n "$NS_R" addr add "$RTR_LAN/24" dev labr1
    ip -n "$NS_S" addr add "$SRV_PRIV/24" dev labs0
    ip -n "$NS_S" route add default via "$RTR_LAN"
    SERVER_ADDR=$SRV_PRIV CLIENT_ADDR=$CLI_PUB
    in_r nft -f - <<EOF
table ip lab {
  chain pre { type nat hook prerouting priority dstnat; ip daddr $SRV_PUB dnat to $SRV_PRIV; }
  chain post { type nat hook postrouting priority srcnat; ip saddr $SRV_PRIV snat to $SRV_PUB; }
  chain filter_fwd {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "labr1" ct state new accept
    ct status dnat tcp dport 21 accept
    $(printf '%s\n' "$@")
  }
}
EOF
  else
    ip -n "$NS_C" addr add "$CLI_PRIV/24" dev labc0
    ip -n "$NS_C" route add default via "$RTR_CLAN"
    ip -n "$NS_R" addr add "$RTR_CLAN/24" dev labr0
    ip -n "$NS_R" addr add "$RTR_MASQ/24" dev labr1
    ip -n "$NS_S" addr add "$SRV_PUB/24" dev labs0
    ip -n "$NS_S" route add default via "$RTR_MASQ"
    SERVER_ADDR=$SRV_PUB CLIENT_ADDR=$CLI_PRIV
    in_r nft -f - <<EOF
table ip lab {
  chain post { type nat hook postrouting priority srcnat; oifname "labr1" masquerade; }
  chain filter_fwd {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "labr0" ct state new accept
    $(printf '%s\n' "$@")
  }
}
EOF
  fi
}
PASV_OPEN="ct status dnat tcp dport $PASV_MIN-$PASV_MAX accept"

# ---------------------------------------------------------------- content and users
setup_content() {
  mkdir -p "$SRV" "$CLI/src" "$CLI/dl" "$WORK/empty" "$WORK/run"
  node "$HERE/make-tree.mjs" "$SRV" "$CLI/src" >"$WORK/manifest.json"
  chown -R root:root "$SRV"
  chmod 755 "$SRV" "$SRV/pub"
  chmod 600 "$SRV/pub/secret.txt"
  mkdir -p "$SRV/upload" "$SRV/locked"
  chmod 1777 "$SRV/upload"
  chmod 755 "$SRV/locked"
  chown root:root "$SRV/locked"
  if id "$LAB_USER" >/dev/null 2>&1; then usermod --home / --shell /bin/bash "$LAB_USER"
  else useradd --no-create-home --home-dir / --shell /bin/bash "$LAB_USER"; CREATED_USER=1; fi
  echo "$LAB_USER:$LAB_PASS" | chpasswd
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=ftp.lab.test" \
    -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
}
clear_uploads() { rm -rf "${SRV:?}/upload/"* "${SRV:?}/locked/"*; }

# ---------------------------------------------------------------- servers
SERVER_NAME=
wait_listening() {
  for _ in $(seq 1 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited at start: $(cat "$WORK"/server.out 2>/dev/null)"
    in_s ss -Hltn "sport = :21" | grep -q . && return 0
    sleep 0.05
  done
  die "the server did not listen on port 21"
}

# start_vsftpd [extra config lines...]
start_vsftpd() {
  local conf=$WORK/vsftpd.conf
  cat >"$conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$SERVER_ADDR
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
allow_writeable_chroot=YES
write_enable=YES
userlist_enable=NO
pam_service_name=vsftpd
pasv_enable=YES
pasv_min_port=$PASV_MIN
pasv_max_port=$PASV_MAX
port_enable=YES
connect_from_port_20=NO
hide_ids=YES
nopriv_user=nobody
secure_chroot_dir=$WORK/empty
delay_failed_login=0
EOF
  local line; for line in "$@"; do echo "$line" >>"$conf"; done
  ip netns exec "$NS_S" vsftpd "$conf" >"$WORK/server.out" 2>&1 &
  SERVER_PID=$! SERVER_NAME=vsftpd
  wait_listening
}

# start_proftpd [extra config lines...]
start_proftpd() {
  local conf=$WORK/proftpd.conf
  cat >"$conf" <<EOF
ServerName "lab"
ServerType standalone
DefaultServer on
Port 21
DefaultAddress $SERVER_ADDR
SocketBindTight on
UseIPv6 off
User nobody
Group nogroup
Umask 022
PidFile $WORK/run/proftpd.pid
ScoreboardFile $WORK/run/proftpd.scoreboard
DelayTable none
WtmpLog off
UseReverseDNS off
RequireValidShell off
AuthOrder mod_auth_unix.c
DefaultRoot $SRV
PassivePorts $PASV_MIN $PASV_MAX
AllowOverwrite on
TransferLog none
SystemLog $WORK/proftpd.log
EOF
  local line; for line in "$@"; do echo "$line" >>"$conf"; done
  ip netns exec "$NS_S" env LD_LIBRARY_PATH="$PKG_LIBS" "$PROFTPD" -n -q -c "$conf" >"$WORK/server.out" 2>&1 &
  SERVER_PID=$! SERVER_NAME=proftpd
  wait_listening
}
PROFTPD_ANON="<Anonymous $SRV>
  User ftp
  Group nogroup
  UserAlias anonymous ftp
  RequireValidShell off
  <Directory upload>
    <Limit WRITE>
      AllowAll
    </Limit>
  </Directory>
</Anonymous>"

# start_pureftpd [extra options...]: anonymous users get the ftp account's home, so it points at the served tree.
start_pureftpd() {
  usermod --home "$SRV" ftp
  ip netns exec "$NS_S" "$PUREFTPD" -S "$SERVER_ADDR,21" -l unix -A -H -u 1 -p "$PASV_MIN:$PASV_MAX" "$@" \
    >"$WORK/server.out" 2>&1 &
  SERVER_PID=$! SERVER_NAME=pure-ftpd
  wait_listening
}

stop_server() {
  [[ -n $SERVER_PID ]] || return 0
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  # Sessions forked by the server (and clients still waiting) go too: nothing of one scenario outlives it.
  kill_ns "$NS_S"; kill_ns "$NS_C"
  for _ in $(seq 1 100); do in_s ss -Hltn "sport = :21" | grep -q . || break; sleep 0.05; done
  usermod --home /srv/ftp ftp 2>/dev/null || true
}

# ---------------------------------------------------------------- capture and records
ID= FILE= CAP_NS= CAP_IF=
# begin NN NAME TITLE [server|client]: start tcpdump at the client's interface (or the server's).
begin() {
  ID=$1 FILE="$1-$2.pcap"; local title=$3 where=${4:-client}
  clear_uploads
  if [[ $where == server ]]; then CAP_NS=$NS_S CAP_IF=labs0; else CAP_NS=$NS_C CAP_IF=labc0; fi
  ip netns exec "$CAP_NS" tcpdump -n -U --immediate-mode -s 0 -Z root -i "$CAP_IF" -w "$WORK/$FILE" tcp \
    >"$WORK/tcpdump.out" 2>&1 &
  TCPDUMP_PID=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.05; done
  sleep 0.2
  REC=()
  REC_TITLE=$title REC_WHERE=$where
  log "$FILE: $title"
}

end() { # NOTE
  sleep 1
  kill -TERM "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
  local dropped
  dropped=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by \(kernel\|interface\)$/\1/p' "$WORK/tcpdump.out" | awk '{s+=$1} END {print s+0}')
  (( dropped == 0 )) || die "tcpdump dropped $dropped packets while recording $FILE; run again"
  cp "$WORK/$FILE" "$OUT/$FILE"
  chmod 644 "$OUT/$FILE"
  python3 - "$RECORDS" "$ID" "$FILE" "$REC_TITLE" "$SERVER_NAME" "$CLIENT_NAME" "$MODE" "$REC_WHERE" \
    "$(sha256sum "$OUT/$FILE" | cut -d' ' -f1)" "$(stat -c %s "$OUT/$FILE")" "${REC[@]}" <<'PY'
import json, sys
path, sid, file, title, server, client, mode, where, sha, size = sys.argv[1:11]
rec = {"id": sid, "file": file, "title": title, "server": server, "client": client, "network": mode,
       "capturedAt": where, "captureSize": int(size), "captureSha256": sha, "steps": [], "runs": [], "truth": {}, "expect": {}}
for item in sys.argv[11:]:
    kind, _, body = item.partition(":")
    if kind == "S": rec["steps"].append(body)
    elif kind == "R": rec["runs"].append(json.loads(body))
    elif kind == "T": rec["truth"].update(json.loads(body))
    elif kind == "E": rec["expect"].update(json.loads(body))
names = list(dict.fromkeys(r["client"] for r in rec["runs"]))
if names: rec["client"] = ", ".join(names)
with open(path, "w") as f: f.write(json.dumps(rec) + "\n")
PY
  merge_json
}

# merge_json: the scenario just recorded replaces its entry in scenarios.json (the others are kept), so a failing
# scenario later in a run loses nothing recorded before it.
merge_json() {
  python3 - "$RECORDS" "$OUT/scenarios.json" "$WORK/manifest.json" <<'PY'
import json, sys, os
records = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
old = {}
if os.path.exists(sys.argv[2]):
    old = {s["id"]: s for s in json.load(open(sys.argv[2])).get("scenarios", [])}
for r in records: old[r["id"]] = r
manifest = json.load(open(sys.argv[3]))
out = {"generatedBy": "captures/scenarios/record.sh", "served": manifest["served"], "clientFiles": manifest["client"],
       "scenarios": [old[k] for k in sorted(old)]}
json.dump(out, open(sys.argv[2], "w"), indent=2)
open(sys.argv[2], "a").write("\n")
PY
}

step() { REC+=("S:$*"); }
# truth KEY JSON_VALUE: what really happened (from the programs: exit codes, messages, files), never typed by hand.
truth() { REC+=(T:"$(python3 -c 'import json,sys; print(json.dumps({sys.argv[1]: json.loads(sys.argv[2])}))' "$1" "$2")"); }
truth_str() { truth "$1" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$2")"; }
# expect KEY JSON_VALUE: what the scenario was built to cause (the configuration we chose), for the tests.
expect() { REC+=(E:"$(python3 -c 'import json,sys; print(json.dumps({sys.argv[1]: json.loads(sys.argv[2])}))' "$1" "$2")"); }
expect_str() { expect "$1" "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$2")"; }
file_truth() { # KEY FILE: size and sha256 of a file a program wrote
  truth "$1" "{\"bytes\": $(stat -c %s "$2"), \"sha256\": \"$(sha256sum "$2" | cut -d' ' -f1)\"}"
}
served_truth() { # KEY PATH-IN-TREE
  file_truth "$1" "$SRV/$2"
}

last_line() { awk 'NF { l = $0 } END { print substr(l, 1, 200) }' "$1"; }   # the last non-empty line, or nothing
# run_client NAME COMMAND...: runs a client in the client namespace; its exit status and last stderr line are truth.
CLIENT_NAME=
run_client() {
  CLIENT_NAME=$1; shift
  local rc=0
  in_c "$@" >"$WORK/client.out" 2>"$WORK/client.err" || rc=$?
  # Each run of a client: its name, exit status and last line of stderr (what a person would have seen).
  REC+=("R:$(python3 -c 'import json,sys; print(json.dumps({"client": sys.argv[1], "exit": int(sys.argv[2]), "error": sys.argv[3], "stdout": sys.argv[4]}))' \
    "$CLIENT_NAME" "$rc" "$(last_line "$WORK/client.err")" "$(head -c 2000 "$WORK/client.out")" | sed "s#$WORK#\$WORK#g")")
  return 0
}
CURL=(curl -sS --connect-timeout 5)
LFTP_SET='set cmd:fail-exit yes; set net:max-retries 1; set net:reconnect-interval-base 1; set net:timeout 6; set ftp:ssl-allow no; set xfer:clobber yes;'
dl() { echo "$CLI/dl/$ID-$1"; }
BASIC=(node "$HERE/basic-ftp-client.mjs")

# ---------------------------------------------------------------- the scenarios
# Each sc_NN function sets the network up, starts a server, records, and says what is true and what to expect.

sc_01() { # PASV announces the private address behind NAT
  net_up server-nat "$PASV_OPEN"
  start_vsftpd   # no pasv_address: vsftpd announces the address it has, 10.0.0.5
  begin 01 pasv-private-address "vsftpd behind NAT announces its private address in 227; curl (told to trust the PASV address) sends its data SYNs there and they go nowhere"
  step "router: 1:1 NAT $SRV_PUB -> $SRV_PRIV, passive range $PASV_MIN-$PASV_MAX forwarded; packets for $SRV_PRIV from outside dropped"
  step "vsftpd without pasv_address; curl --disable-epsv --no-ftp-skip-pasv-ip --connect-timeout 5"
  local f=$(dl small)
  run_client curl "${CURL[@]}" --disable-epsv --no-ftp-skip-pasv-ip "ftp://$SRV_PUB/pub/small.txt" -o "$f"
  expect_str code pasv-private-address
  expect_str announced "$SRV_PRIV"
  expect_str controlServer "$SRV_PUB"
  end; stop_server
}

sc_02() { # the firewall drops the passive port range
  net_up server-nat   # only port 21 forwarded
  start_proftpd "MasqueradeAddress $SRV_PUB" "$PROFTPD_ANON"
  begin 02 pasv-ports-blocked "ProFTPD behind a firewall that forwards port 21 but not the passive range: the data SYNs are never answered"
  step "router: 1:1 NAT, only tcp/21 forwarded (the PassivePorts range $PASV_MIN-$PASV_MAX is not)"
  step "proftpd MasqueradeAddress $SRV_PUB, PassivePorts $PASV_MIN $PASV_MAX; lftp get in passive mode (lftp sends PASV; it prefers EPSV only when told to), net:timeout 6, two tries"
  local f=$(dl small)
  run_client lftp lftp -e "$LFTP_SET set net:max-retries 2; open ftp://$SRV_PUB; get /pub/small.txt -o $f; bye"
  expect_str code passive-data-blocked
  expect_str controlServer "$SRV_PUB"
  end; stop_server
}

sc_03() { # active mode blocked by the client's firewall
  net_up server-nat "$PASV_OPEN"
  in_c nft -f - <<'EOF'
table inet labcli {
  chain input_lab {
    type filter hook input priority filter; policy drop;
    iif lo accept
    ct state established,related accept
  }
}
EOF
  # Two SYN retries (3, 7 s) instead of six (127 s): the server gives up and says 425 while curl still waits.
  in_s sysctl -q -w net.ipv4.tcp_syn_retries=2
  start_pureftpd -P "$SRV_PUB"
  begin 03 active-blocked "pure-ftpd connects back for an active-mode (PORT) transfer; the client's own firewall drops the incoming SYNs"
  step "client nftables: input policy drop, established/related accepted (no FTP helper)"
  step "server sysctl net.ipv4.tcp_syn_retries=2; pure-ftpd -P $SRV_PUB; curl -P - --disable-eprt (PORT), --max-time 30"
  local f=$(dl small)
  run_client curl "${CURL[@]}" --max-time 30 -P - --disable-eprt "ftp://$SRV_PUB/pub/small.txt" -o "$f"
  expect_str code active-data-blocked
  expect_str client "$CLI_PUB"
  end; stop_server
}

sc_04() { # EPSV blocked: the firewall only opens the passive ports on the address PASV names
  net_up server-nat "ct original ip daddr $SRV_DATA tcp dport $PASV_MIN-$PASV_MAX accept"
  ip -n "$NS_R" addr add "$SRV_DATA/32" dev labr0
  in_r nft add rule ip lab pre ip daddr "$SRV_DATA" dnat to "$SRV_PRIV"
  start_vsftpd "pasv_address=$SRV_DATA"
  begin 04 epsv-blocked "vsftpd's data ports are reachable only on a second public address ($SRV_DATA) that PASV names; EPSV implies the control address, where the firewall drops them; basic-ftp tries EPSV, then falls back to PASV"
  step "router: tcp/21 forwarded on $SRV_PUB; the passive range only on $SRV_DATA (both 1:1 NAT to $SRV_PRIV)"
  step "vsftpd pasv_address=$SRV_DATA; basic-ftp (timeout 5 s) downloads pub/small.txt: EPSV first, PASV when EPSV's connection fails"
  local f=$(dl small)
  run_client basic-ftp env LAB_TIMEOUT_MS=5000 "${BASIC[@]}" "$SRV_PUB" anonymous lab@ "get:/pub/small.txt:$f"
  [[ -f $f ]] && file_truth downloaded "$f"
  expect_str code epsv-data-blocked
  end; stop_server
}

sc_05() { # a client behind NAT without an FTP helper: PORT carries its private address
  net_up client-nat
  start_vsftpd
  begin 05 port-private-address "curl behind a NAT router with no FTP helper sends PORT with its private address; vsftpd refuses it (500 Illegal PORT command)" server
  step "router masquerades $CLI_PRIV as $RTR_MASQ; no ct helper, so PORT is not rewritten"
  step "vsftpd (port_promiscuous=NO, the default); curl -P - --disable-eprt; captured at the server"
  local f=$(dl small)
  run_client curl "${CURL[@]}" --max-time 30 -P - --disable-eprt "ftp://$SRV_PUB/pub/small.txt" -o "$f"
  expect_str code port-private-address
  expect_str announced "$CLI_PRIV"
  expect_str controlClient "$RTR_MASQ"
  end; stop_server
}

sc_06() { # FTPS hides PASV from the firewall's FTP helper
  net_up server-nat
  in_r nft -f - <<'EOF'
table ip labhelper {
  ct helper ftp-standard { type "ftp" protocol tcp; }
  chain pre { type filter hook prerouting priority filter; tcp dport 21 ct helper set "ftp-standard"; }
}
EOF
  start_vsftpd "pasv_address=$SRV_PUB" ssl_enable=YES "rsa_cert_file=$WORK/tls.crt" "rsa_private_key_file=$WORK/tls.key" \
    allow_anon_ssl=YES force_local_logins_ssl=NO force_local_data_ssl=NO require_ssl_reuse=NO
  begin 06 ftps-helper-blind "the router opens data ports with its FTP helper (nft ct helper ftp), which reads PASV replies; after AUTH TLS it cannot, so the data SYNs are dropped"
  step "router: tcp/21 forwarded with ct helper ftp; no static passive range (related connections only)"
  step "vsftpd ssl_enable=YES pasv_address=$SRV_PUB; session 1: curl plain (works through the helper); session 2: curl --ssl-reqd (PROT P)"
  local f=$(dl plain) g=$(dl tls)
  run_client curl "${CURL[@]}" "ftp://$SRV_PUB/pub/small.txt" -o "$f"
  [[ -f $f ]] && file_truth plainDownload "$f"
  run_client curl "${CURL[@]}" --ssl-reqd -k "ftp://$SRV_PUB/pub/small.txt" -o "$g"
  expect_str code tls-data-blocked
  end; stop_server
}

sc_07() { # vsftpd require_ssl_reuse and a client that does not reuse the TLS session
  net_up server-nat "$PASV_OPEN"
  start_vsftpd "pasv_address=$SRV_PUB" ssl_enable=YES "rsa_cert_file=$WORK/tls.crt" "rsa_private_key_file=$WORK/tls.key" \
    allow_anon_ssl=YES force_local_logins_ssl=NO force_local_data_ssl=NO require_ssl_reuse=YES
  begin 07 tls-reuse-required "vsftpd require_ssl_reuse=YES; lftp (GnuTLS) resumes the control connection's TLS session on its data connection and succeeds; Python's ftplib does not resume it and vsftpd refuses its data connection"
  step "vsftpd ssl_enable=YES require_ssl_reuse=YES; session 1: lftp ftp:ssl-force yes, ftp:ssl-protect-data yes; session 2: Python ftplib FTP_TLS with PROT P"
  local f=$(dl lftp) g=$(dl ftplib)
  run_client lftp lftp -e "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 6; set ftp:ssl-force yes; set ftp:ssl-protect-data yes; set ssl:verify-certificate no; set xfer:clobber yes; open -u $LAB_USER,$LAB_PASS ftp://$SRV_PUB; get /pub/small.txt -o $f; bye"
  [[ -f $f ]] && file_truth lftpDownload "$f"
  run_client python-ftplib python3 "$HERE/ftplib-tls-client.py" "$SRV_PUB" "$LAB_USER" "$LAB_PASS" /pub/small.txt "$g"
  expect_str code tls-session-reuse-required
  end; stop_server
}

sc_08() { # TYPE A on a binary file
  net_up server-nat "$PASV_OPEN"
  start_vsftpd "pasv_address=$SRV_PUB" ascii_download_enable=YES
  begin 08 ascii-binary "curl -B downloads a binary file in ASCII mode (TYPE A); vsftpd rewrites every LF to CR LF, so the size differs from the file's"
  step "vsftpd ascii_download_enable=YES; curl --use-ascii"
  local f=$(dl data)
  run_client curl "${CURL[@]}" --use-ascii "ftp://$SRV_PUB/pub/data-64KiB.bin" -o "$f"
  served_truth served pub/data-64KiB.bin
  file_truth downloaded "$f"
  expect_str code ascii-mode-binary
  end; stop_server
}

sc_09() { # REST resume with a wrong offset
  net_up server-nat "$PASV_OPEN"
  # ProFTPD sends at 40 KiB/s, and curl's receive buffer is at most 32 KiB: when curl is cut off, the wire has
  # carried at most 32 KiB more than curl saved, so an offset 64 KiB past the saved size skips bytes never received.
  in_c sysctl -q -w net.ipv4.tcp_rmem="4096 16384 32768"
  start_proftpd "MasqueradeAddress $SRV_PUB" "TransferRate RETR 40" "$PROFTPD_ANON"
  begin 09 rest-wrong-offset "curl's download (ProFTPD TransferRate 40 KiB/s) is cut after 2 s; the resume asks REST 64 KiB past what curl had saved, so the resumed file has a hole"
  step "client sysctl net.ipv4.tcp_rmem='4096 16384 32768'; proftpd MasqueradeAddress $SRV_PUB, TransferRate RETR 40"
  step "curl --max-time 2 (cut), then curl -C (saved size + 65536) appending to the same file"
  local f=$(dl data)
  run_client curl "${CURL[@]}" --max-time 2 "ftp://$SRV_PUB/pub/data-256KiB.bin" -o "$f"
  local saved; saved=$(stat -c %s "$f")
  truth firstSaved "$saved"
  local offset=$((saved + 65536))
  truth restOffset "$offset"
  run_client curl "${CURL[@]}" -C "$offset" "ftp://$SRV_PUB/pub/data-256KiB.bin" -o "$f"
  served_truth served pub/data-256KiB.bin
  file_truth resumedFile "$f"
  expect_str code resume-offset-mismatch
  expect_str path /pub/data-256KiB.bin
  end; stop_server
}

sc_10() { # a NAT idle timeout kills the control connection during a long transfer
  net_up server-nat "$PASV_OPEN"
  in_r nft insert rule ip lab filter_fwd ct state invalid drop
  in_r sysctl -q -w net.netfilter.nf_conntrack_tcp_timeout_established=4 net.netfilter.nf_conntrack_tcp_loose=0
  in_r tc qdisc add dev labr0 root tbf rate 300kbit burst 16kb latency 200ms
  start_vsftpd "pasv_address=$SRV_PUB"
  begin 10 nat-idle-control "the router forgets the idle control connection after 4 s (conntrack timeout) while a 7 s download runs; the 226 never reaches curl"
  step "router: nf_conntrack_tcp_timeout_established=4, nf_conntrack_tcp_loose=0, invalid packets dropped; tbf 300 kbit/s"
  step "vsftpd pasv_address=$SRV_PUB; curl --max-time 20 downloads data-256KiB.bin"
  local f=$(dl data)
  run_client curl "${CURL[@]}" --max-time 20 "ftp://$SRV_PUB/pub/data-256KiB.bin" -o "$f"
  [[ -f $f ]] && file_truth downloaded "$f"
  served_truth served pub/data-256KiB.bin
  expect_str code control-lost-during-transfer
  end; stop_server
}

sc_11() { # the server's idle timeout
  net_up server-nat "$PASV_OPEN"
  start_proftpd "MasqueradeAddress $SRV_PUB" "TimeoutIdle 3" "$PROFTPD_ANON"
  begin 11 server-idle-timeout "ProFTPD TimeoutIdle 3; basic-ftp lists, waits 5 s, lists again: 421 before the second command"
  step "proftpd TimeoutIdle 3; basic-ftp: list /pub, sleep 5 s, list /pub"
  run_client basic-ftp "${BASIC[@]}" "$SRV_PUB" anonymous lab@ list:/pub sleep:5 list:/pub
  expect_str code server-idle-timeout
  expect timeoutSec 3
  end; stop_server
}

sc_12() { # the passive port range is exhausted
  net_up server-nat "ct status dnat tcp dport 40000-40001 accept"
  PASV_MAX=40001 start_proftpd "MasqueradeAddress $SRV_PUB" "$PROFTPD_ANON"
  begin 12 pasv-range-exhausted "ProFTPD with PassivePorts 40000-40001 (both forwarded); two basic-ftp clients hold a PASV port each, a third lists a directory: ProFTPD finds no free port in the range, falls back to an ephemeral port, and the firewall drops it"
  step "router forwards 40000-40001 only; proftpd PassivePorts 40000 40001"
  step "basic-ftp 1 and 2: PASV, then hold it for 6 s; basic-ftp 3 (timeout 4 s): list /pub (EPSV, then PASV)"
  local i pids=()
  for i in 1 2; do
    in_c "${BASIC[@]}" "$SRV_PUB" anonymous lab@ raw:PASV sleep:6 >"$WORK/c$i.out" 2>&1 &
    pids+=($!); sleep 0.5
  done
  run_client basic-ftp env LAB_TIMEOUT_MS=4000 "${BASIC[@]}" "$SRV_PUB" anonymous lab@ list:/pub
  local rc
  for i in 0 1; do
    rc=0; wait "${pids[$i]}" || rc=$?
    REC+=("R:$(python3 -c 'import json,sys; print(json.dumps({"client": "basic-ftp", "exit": int(sys.argv[1]), "error": "", "stdout": sys.argv[2]}))' "$rc" "$(cat "$WORK/c$((i + 1)).out")")")
  done
  expect_str code pasv-ports-exhausted
  end; stop_server
}

sc_13() { # a slow reader: zero windows
  net_up server-nat "$PASV_OPEN"
  in_c sysctl -q -w net.ipv4.tcp_rmem="4096 4096 4096"
  start_vsftpd "pasv_address=$SRV_PUB"
  begin 13 zero-window "basic-ftp writes the download to a sink that takes 8 KiB/s, with a 4 KiB receive buffer: its window closes again and again and vsftpd waits on zero windows"
  step "client sysctl net.ipv4.tcp_rmem='4096 4096 4096'; basic-ftp downloads data-64KiB.bin into a writable stream that accepts 8 KiB/s"
  local f=$(dl data)
  run_client basic-ftp "${BASIC[@]}" "$SRV_PUB" anonymous lab@ "slowget:/pub/data-64KiB.bin:$f:8192"
  file_truth downloaded "$f"
  expect_str code transfer-receiver-limited
  end; stop_server
}

sc_14() { # a lossy link
  net_up server-nat "$PASV_OPEN"
  # 8% random loss in the router. This kernel has no sch_netem (tc netem is "unknown qdisc"), so nftables' numgen
  # drops the packets instead: the same independent random loss, both directions.
  in_r nft add table ip labloss
  in_r nft add chain ip labloss fw "{ type filter hook forward priority -10; }"
  in_r nft add rule ip labloss fw numgen random mod 100 "<" 8 drop
  # A 2 Mbit/s link towards the client, so the download takes about a second and the losses show in its pace.
  in_r tc qdisc add dev labr0 root tbf rate 2mbit burst 32kb latency 400ms
  start_vsftpd "pasv_address=$SRV_PUB"
  begin 14 lossy-link "the router drops 8% of forwarded packets at random, both ways; curl's download is retransmitted piece by piece (captured at the server, where the retransmissions show)" server
  step "router: nft numgen random mod 100 < 8 drop in the forward hook (tc netem is not in this kernel), tbf 2 Mbit/s towards the client; captured at the server"
  step "vsftpd pasv_address=$SRV_PUB; curl downloads data-256KiB.bin"
  local f=$(dl data)
  run_client curl "${CURL[@]}" --max-time 60 "ftp://$SRV_PUB/pub/data-256KiB.bin" -o "$f"
  file_truth downloaded "$f"
  expect_str code lossy-path
  end; stop_server
}

sc_15() { # a path-MTU black hole
  net_up server-nat "$PASV_OPEN"
  ip -n "$NS_R" link set labr0 mtu 1400
  in_r nft add table ip labicmp
  in_r nft add chain ip labicmp out "{ type filter hook output priority filter; }"
  in_r nft add rule ip labicmp out icmp type destination-unreachable drop
  start_vsftpd "pasv_address=$SRV_PUB"
  begin 15 pmtu-blackhole "the router's link to the client has MTU 1400 and its ICMP 'fragmentation needed' is dropped: full-size data segments vanish and the download stalls after the handshake"
  step "router: labr0 mtu 1400 (client still 1500), ICMP destination-unreachable from the router dropped"
  step "vsftpd pasv_address=$SRV_PUB; curl --max-time 12 downloads data-64KiB.bin"
  local f=$(dl data)
  run_client curl "${CURL[@]}" --max-time 12 "ftp://$SRV_PUB/pub/data-64KiB.bin" -o "$f"
  [[ -f $f ]] && file_truth downloaded "$f"
  expect_str code data-stalled
  end; stop_server
}

sc_16() { # disk full on STOR
  net_up server-nat "$PASV_OPEN"
  TMPFS=$SRV/upload
  mount -t tmpfs -o size=64k,mode=1777 lab-upload "$TMPFS"
  start_proftpd "MasqueradeAddress $SRV_PUB"
  begin 16 disk-full "basic-ftp uploads 300 KiB into a 64 KiB file system on the ProFTPD server: the write fails part-way"
  step "server: tmpfs of 64 KiB on the upload directory; proftpd MasqueradeAddress $SRV_PUB; local user $LAB_USER"
  step "basic-ftp put upload-300KiB.bin /upload/big.bin"
  run_client basic-ftp "${BASIC[@]}" "$SRV_PUB" "$LAB_USER" "$LAB_PASS" "put:$CLI/src/upload-300KiB.bin:/upload/big.bin"
  [[ -f $SRV/upload/big.bin ]] && file_truth stored "$SRV/upload/big.bin"
  expect_str code upload-storage-full
  end; stop_server
  umount "$TMPFS"; TMPFS=
}

sc_17() { # permission denied: 550 on RETR, 553 on STOR
  net_up server-nat "$PASV_OPEN"
  start_vsftpd "pasv_address=$SRV_PUB"
  begin 17 permission-denied "basic-ftp (anonymous) reads a file only root may read, then uploads into a directory it may not write: vsftpd answers 550 and 553"
  step "pub/secret.txt mode 0600 root; locked/ mode 0755 root; vsftpd anonymous"
  run_client basic-ftp "${BASIC[@]}" "$SRV_PUB" anonymous lab@ "get:/pub/secret.txt:$(dl secret)" "put:$CLI/src/upload-300KiB.bin:/locked/x.bin"
  expect_str code transfer-refused
  end; stop_server
}

sc_18() { # brute-force login failures
  net_up server-nat "$PASV_OPEN"
  start_pureftpd -P "$SRV_PUB"
  begin 18 brute-force "five wrong passwords for $LAB_USER from curl, one connection each, against pure-ftpd"
  step "pure-ftpd -l unix; curl --connect-timeout 15 -u $LAB_USER:guessN five times (pure-ftpd delays its 530)"
  local i
  for i in 1 2 3 4 5; do run_client curl curl -sS --connect-timeout 15 -u "$LAB_USER:guess$i" "ftp://$SRV_PUB/" -o /dev/null; done
  expect_str code login-repeated-failures
  expect attempts 5
  end; stop_server
}

sc_19() { # anonymous login disabled
  net_up server-nat "$PASV_OPEN"
  start_pureftpd -P "$SRV_PUB" -E
  begin 19 anonymous-disabled "pure-ftpd -E (no anonymous logins); lftp logs in as anonymous"
  step "pure-ftpd -E; lftp anonymous ls"
  run_client lftp lftp -e "$LFTP_SET open ftp://$SRV_PUB; ls /; bye"
  expect_str code anonymous-login-refused
  end; stop_server
}

sc_20() { # a PORT bounce attempt
  net_up server-nat "$PASV_OPEN"
  start_vsftpd "pasv_address=$SRV_PUB"
  begin 20 port-bounce "basic-ftp sends PORT naming a third host ($THIRD port 25), then RETR; vsftpd refuses the PORT (port_promiscuous=NO)"
  step "vsftpd defaults (port_promiscuous=NO); basic-ftp raw PORT ${THIRD//./,},0,25 then RETR /pub/small.txt"
  run_client basic-ftp "${BASIC[@]}" "$SRV_PUB" anonymous lab@ "raw:PORT ${THIRD//./,},0,25" "raw:RETR /pub/small.txt"
  expect_str code port-bounce
  expect_str target "$THIRD"
  end; stop_server
}

SCENARIOS="01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20"

# check_analysis: what ftpscope makes of every scenario capture, reduced to what must not depend on the recording
# (per session, in order: the diagnosis codes and their severities), written to diagnosis-summary.json. A rerun on
# any machine must leave that file byte-identical (git diff shows it); a scenario whose expected code is missing
# fails the run.
check_analysis() {
  local root; root=$(cd "$HERE/../.." && pwd)
  [[ -f $root/dist/src/cli/main.js && -f $root/dist/scripts/diagnosis-doc.js ]] || (cd "$root" && npm run build >/dev/null)
  python3 - "$root" "$OUT" <<'PY'
import json, subprocess, sys, re
root, out = sys.argv[1], sys.argv[2]
codes_ts = open(f"{root}/src/model/finding-codes.ts").read()
diagnosis_codes = set(re.findall(r"'([a-z0-9-]+)': \{\n    group: 'diagnosis'", codes_ts)) | {"login-repeated-failures"}
scenarios = json.load(open(f"{out}/scenarios.json"))["scenarios"]
summary, bad = [], []
for sc in scenarios:
    rep = json.loads(subprocess.run(["node", f"{root}/dist/src/cli/main.js", "report", "--json", f"{out}/{sc['file']}"],
                                    capture_output=True, text=True, check=True).stdout)
    sessions = [[f"{f['severity']} {f['code']}" for f in s["findings"] if f["code"] in diagnosis_codes] for s in rep["sessions"]]
    top = [f"{f['severity']} {f['code']}" for f in rep["findings"] if f["code"] in diagnosis_codes]
    summary.append({"id": sc["id"], "expected": sc["expect"]["code"], "sessions": sessions, "capture": top})
    found = {x.split(" ", 1)[1] for x in top + [c for s in sessions for c in s]}
    if sc["expect"]["code"] in diagnosis_codes and sc["expect"]["code"] not in found:
        bad.append(f"{sc['id']}: expected {sc['expect']['code']}, got {sorted(found)}")
    elif sc["expect"]["code"] not in diagnosis_codes:
        print(f"[lab] {sc['id']}: {sc['expect']['code']} is not recognised yet (no such code)", file=sys.stderr)
json.dump({"generatedBy": "captures/scenarios/record.sh (check_analysis)", "scenarios": summary}, open(f"{out}/diagnosis-summary.json", "w"), indent=2)
open(f"{out}/diagnosis-summary.json", "a").write("\n")
if bad:
    print("record.sh: the analysis does not recognise:\n  " + "\n  ".join(bad), file=sys.stderr)
    sys.exit(1)
PY
}

main() {
  unpack_servers
  setup_content
  : >"$RECORDS"
  local sc
  for sc in ${ONLY:-$SCENARIOS}; do "sc_$sc"; done
  net_down
  check_analysis
  # tshark's view of every capture (the tests' expectations) and docs/diagnosis.md (excerpts of the reports).
  "$HERE/tshark-fields.sh" >/dev/null
  (cd "$HERE/../.." && node dist/scripts/diagnosis-doc.js >/dev/null)
  log "done: $(ls "$OUT"/*.pcap | wc -l) captures, $(du -ch "$OUT"/*.pcap | tail -1 | cut -f1) in total"
}

# One line: bash reads a script as it runs it, so nothing after this line is ever read (safe to edit while it runs).
main "$@"; exit $?

#!/usr/bin/env bash
# Records the engine captures in captures/engine/ (issue 14): real vsftpd, curl and Python ftplib in two
# network namespaces joined by a veth pair, as captures/record.sh does, with names of their own (eng-sc-*) so the
# two never meet.
#
#   sudo captures/engine/record.sh      # needs: vsftpd curl python3 tcpdump ip ethtool node sha256sum
#
# Writes captures/engine/*.pcap and scenarios.json (per capture: what the clients were told to do and what they
# got: sizes and sha256 of the files they saved; never typed by hand). Rerun captures/tshark-fields.sh on the
# captures afterwards and commit everything together.
#
#   engine-relative-cwd.pcap       Python ftplib navigates with CWD/CDUP and never sends PWD (session 1); the same
#                                  with one PWD at the end (session 2).
#   engine-resume-no-fin.pcap      curl resumes a 20,000-byte download at 10000 (REST); the capture filter leaves out
#                                  the server's FIN on the data connection (a segment without payload), as a capture
#                                  point that misses it: the client's ACK of it is all that shows it.
#   engine-resume-no-fin-2mb.pcap  the same with the numbers of issue 14: 2,000,000 bytes resumed at 100000 (1,900,000
#                                  on the wire). Whether the FIN rides on the last data segment depends on timing;
#                                  the filter never drops data, so a capture that has the FIN is recorded again.
#   engine-long-names.pcap         curl RETRs a 300-character path (--ftp-method nocwd) and a file named "-rf".
#   engine-retransmission-mismatch.pcap
#                                  ftplib RETRs good.txt; forge-retransmission.mjs then adds a copy of the
#                                  "RETR good.txt" segment saying "RETR evil.txt" (same sequence number) before the
#                                  server's ACK: the capture an injection attempt leaves.
set -Eeuo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=${OUT:-$HERE}
[[ $(id -u) -eq 0 ]] || { echo "record.sh: run as root (network namespaces, vsftpd, tcpdump need it)" >&2; exit 1; }
for tool in vsftpd curl python3 tcpdump ip ethtool node sha256sum; do
  command -v "$tool" >/dev/null || { echo "record.sh: '$tool' is missing" >&2; exit 1; }
done

NS_S=eng-sc-srv NS_C=eng-sc-cli IF_S=engscs0 IF_C=engscc0
MAC_S=02:00:5e:31:00:01 MAC_C=02:00:5e:31:00:02
SRV4=10.31.0.1 CLI4=10.31.0.2
WORK=$(mktemp -d /tmp/eng-scenarios.XXXXXX)
chmod 755 "$WORK"
SRV=$WORK/srv CLI=$WORK/cli RECORDS=$WORK/records.ndjson
SERVER_PID= TCPDUMP_PID=

log() { printf '[scenarios] %s\n' "$*" >&2; }
in_c() { ip netns exec "$NS_C" "$@"; }

cleanup() {
  set +e
  [[ -n $TCPDUMP_PID ]] && kill -TERM "$TCPDUMP_PID" 2>/dev/null && wait "$TCPDUMP_PID" 2>/dev/null
  [[ -n $SERVER_PID ]] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  ip netns del "$NS_S" 2>/dev/null
  ip netns del "$NS_C" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM

setup_network() {
  ip netns del "$NS_S" 2>/dev/null || true
  ip netns del "$NS_C" 2>/dev/null || true
  ip netns add "$NS_S"
  ip netns add "$NS_C"
  ip link add "$IF_S" netns "$NS_S" type veth peer name "$IF_C" netns "$NS_C"
  local ns ifc mac a4
  for side in s c; do
    if [[ $side == s ]]; then ns=$NS_S ifc=$IF_S mac=$MAC_S a4=$SRV4; else ns=$NS_C ifc=$IF_C mac=$MAC_C a4=$CLI4; fi
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$ifc" address "$mac" mtu 1500
    ip netns exec "$ns" ethtool -K "$ifc" tx off rx off tso off gso off gro off >/dev/null 2>&1 || true
    ip -n "$ns" addr add "$a4/24" dev "$ifc"
    ip -n "$ns" link set "$ifc" up
  done
}

# Deterministic content: SHA-256 in counter mode over a seed, so every run serves the same bytes.
LONG_D1=$(printf 'long-directory-name-%.0s' 1 2 3 4 5 | cut -c1-99)   # 99 characters
LONG_D2=$(printf 'another-long-directory-%.0s' 1 2 3 4 5 | cut -c1-99) # 99 characters
LONG_F=$(printf 'a-file-with-a-long-name-%.0s' 1 2 3 4 5 | cut -c1-96).txt # 100 characters
LONG_PATH="$LONG_D1/$LONG_D2/$LONG_F"                                # 300 characters
setup_content() {
  mkdir -p "$SRV/pub/data/noaa" "$SRV/$LONG_D1/$LONG_D2" "$CLI" "$WORK/empty"
  node -e '
    const { createHash } = require("crypto"); const fs = require("fs");
    const make = (file, size, seed) => {
      const out = Buffer.alloc(size);
      for (let i = 0, off = 0; off < size; i++, off += 32) createHash("sha256").update(`${seed}:${i}`).digest().copy(out, off);
      fs.writeFileSync(file, out);
    };
    const [srv, long] = process.argv.slice(1);
    make(`${srv}/pub/big-2000000.bin`, 2000000, "big");
    make(`${srv}/pub/small-20000.bin`, 20000, "small");
    make(`${srv}/pub/data/noaa/f1.bin`, 3000, "f1");
    make(`${srv}/-rf`, 700, "rf");
    make(`${srv}/${long}`, 1234, "long");
    fs.writeFileSync(`${srv}/pub/good.txt`, "the good file\n");
    fs.writeFileSync(`${srv}/pub/evil.txt`, "the evil file\n");
  ' "$SRV" "$LONG_PATH"
  chown -R root:root "$SRV"
  find "$SRV" -type d -exec chmod 755 {} +
  find "$SRV" -type f -exec chmod 644 {} +
  chmod 755 "$WORK/empty"
}

start_vsftpd() {
  cat >"$WORK/vsftpd.conf" <<CONF
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
CONF
  ip netns exec "$NS_S" vsftpd "$WORK/vsftpd.conf" >"$WORK/vsftpd.out" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do ip netns exec "$NS_S" ss -Hltn "sport = :21" | grep -q . && return 0; sleep 0.05; done
  echo "record.sh: vsftpd did not start: $(cat "$WORK/vsftpd.out")" >&2; exit 1
}

begin_capture() { # FILE [tcpdump filter]
  CAPTURE=$1; shift
  ip -n "$NS_S" neigh flush all; ip -n "$NS_C" neigh flush all
  ip netns exec "$NS_C" tcpdump -n -U --immediate-mode -s 0 -Z root -i "$IF_C" -w "$WORK/$CAPTURE" "$@" >"$WORK/tcpdump.out" 2>&1 &
  TCPDUMP_PID=$!
  for _ in $(seq 1 100); do grep -q 'listening on' "$WORK/tcpdump.out" && break; sleep 0.05; done
  sleep 0.2
  log "capture $CAPTURE"
}

end_capture() {
  sleep 1
  kill -TERM "$TCPDUMP_PID"; wait "$TCPDUMP_PID" || true
  TCPDUMP_PID=
  if grep -Eq '^[1-9][0-9]* packets? dropped by kernel' "$WORK/tcpdump.out"; then
    echo "record.sh: tcpdump dropped packets while recording $CAPTURE; run again" >&2; exit 1
  fi
}

record() { printf '%s\n' "$1" >>"$RECORDS"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

cap_relative_cwd() {
  begin_capture engine-relative-cwd.pcap
  local out1=$CLI/rel-1a out2=$CLI/rel-1b out3=$CLI/rel-2a
  in_c python3 "$HERE/ftp-client.py" "$SRV4" anonymous "" cwd:pub cwd:data cwd:noaa "retr:f1.bin:$out1" cdup "retr:noaa/f1.bin:$out2" >/dev/null
  in_c python3 "$HERE/ftp-client.py" "$SRV4" anonymous "" cwd:pub cwd:data cwd:noaa "retr:f1.bin:$out3" pwd >/dev/null
  end_capture
  cp "$WORK/$CAPTURE" "$OUT/$CAPTURE"
  # relativePath: where the client was told to go, from the directory it logged in to; serverPath: the same file
  # in the served tree (vsftpd's anonymous root is "/").
  record "$(printf '{"file":"%s","sessions":[{"session":1,"pwd":false,"transfers":[{"verb":"RETR","arg":"f1.bin","relativePath":"./pub/data/noaa/f1.bin","relativeCwd":"./pub/data/noaa","serverPath":"/pub/data/noaa/f1.bin","bytes":%d,"sha256":"%s"},{"verb":"RETR","arg":"noaa/f1.bin","relativePath":"./pub/data/noaa/f1.bin","relativeCwd":"./pub/data","serverPath":"/pub/data/noaa/f1.bin","bytes":%d,"sha256":"%s"}]},{"session":2,"pwd":true,"transfers":[{"verb":"RETR","arg":"f1.bin","relativePath":"./pub/data/noaa/f1.bin","relativeCwd":"./pub/data/noaa","serverPath":"/pub/data/noaa/f1.bin","bytes":%d,"sha256":"%s"}]}]}' \
    "$CAPTURE" "$(stat -c %s "$out1")" "$(sha "$out1")" "$(stat -c %s "$out2")" "$(sha "$out2")" "$(stat -c %s "$out3")" "$(sha "$out3")")"
}

# resume CAPTURE FILE REST [tcpdump filter]: curl resumes FILE at REST; records what crossed the wire. The capture
# must end up without the server's FIN on the data connection: when the FIN rode on the last data segment (the
# filter keeps those), it is recorded again, up to 5 times.
resume() {
  local capture=$1 file=$2 rest=$3; shift 3
  local out=$CLI/resumed-$capture try fins
  for try in 1 2 3 4 5; do
    begin_capture "$capture" "$@"
    head -c "$rest" "$SRV/pub/$file" >"$out"
    in_c curl -sS --connect-timeout 5 --max-time 60 --disable-epsv -C "$rest" "ftp://$SRV4/pub/$file" -o "$out"
    end_capture
    fins=$(tcpdump -nr "$WORK/$CAPTURE" "src host $SRV4 and src portrange 50000-50099 and tcp[tcpflags] & tcp-fin != 0" 2>/dev/null | wc -l)
    [[ $fins -eq 0 ]] && break
    log "$CAPTURE: the server's FIN came with data (try $try); again"
  done
  [[ $fins -eq 0 ]] || { echo "record.sh: $CAPTURE: the server's FIN never came alone" >&2; exit 1; }
  cp "$WORK/$CAPTURE" "$OUT/$CAPTURE"
  # What crossed the wire: the file from offset REST on.
  tail -c +$((rest + 1)) "$out" >"$out.wire"
  record "$(printf '{"file":"%s","sessions":[{"session":1,"transfers":[{"verb":"RETR","path":"/pub/%s","rest":%d,"fileBytes":%d,"fileSha256":"%s","bytes":%d,"sha256":"%s"}]}]}' \
    "$CAPTURE" "$file" "$rest" "$(stat -c %s "$out")" "$(sha "$out")" "$(stat -c %s "$out.wire")" "$(sha "$out.wire")")"
}

# Only a FIN without payload from the server's data port is left out (never a byte of data).
BARE_SERVER_DATA_FIN="src host $SRV4 and src portrange 50000-50099 and tcp[tcpflags] & tcp-fin != 0 and ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) == 0"

cap_resume_no_fin() {
  resume engine-resume-no-fin.pcap small-20000.bin 10000 "not ($BARE_SERVER_DATA_FIN)"
}

cap_resume_no_fin_2mb() {
  resume engine-resume-no-fin-2mb.pcap big-2000000.bin 100000 "not ($BARE_SERVER_DATA_FIN)"
}

cap_long_names() {
  begin_capture engine-long-names.pcap
  local o1=$CLI/long o2=$CLI/rf
  in_c curl -sS --connect-timeout 5 --max-time 60 --disable-epsv --ftp-method nocwd "ftp://$SRV4/$LONG_PATH" -o "$o1" "ftp://$SRV4/-rf" -o "$o2"
  end_capture
  cp "$WORK/$CAPTURE" "$OUT/$CAPTURE"
  record "$(printf '{"file":"%s","sessions":[{"session":1,"transfers":[{"verb":"RETR","arg":"%s","bytes":%d,"sha256":"%s"},{"verb":"RETR","arg":"-rf","bytes":%d,"sha256":"%s"}]}]}' \
    "$CAPTURE" "$LONG_PATH" "$(stat -c %s "$o1")" "$(sha "$o1")" "$(stat -c %s "$o2")" "$(sha "$o2")")"
}

cap_retransmission_mismatch() {
  begin_capture engine-retransmission-mismatch.pcap
  local out=$CLI/good
  in_c python3 "$HERE/ftp-client.py" "$SRV4" anonymous "" "retr:pub/good.txt:$out" >/dev/null
  end_capture
  node "$HERE/forge-retransmission.mjs" "$WORK/$CAPTURE" "$OUT/$CAPTURE" 'RETR pub/good.txt' 'RETR pub/evil.txt' >&2
  record "$(printf '{"file":"%s","forged":{"original":"RETR pub/good.txt","forged":"RETR pub/evil.txt"},"sessions":[{"session":1,"transfers":[{"verb":"RETR","arg":"pub/good.txt","bytes":%d,"sha256":"%s"}]}]}' \
    "$CAPTURE" "$(stat -c %s "$out")" "$(sha "$out")")"
}

setup_network
setup_content
start_vsftpd
cap_relative_cwd
cap_resume_no_fin
cap_resume_no_fin_2mb
cap_long_names
cap_retransmission_mismatch
chmod 644 "$OUT"/engine-*.pcap
node -e '
  const fs = require("fs");
  const captures = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  fs.writeFileSync(process.argv[2], JSON.stringify({ generator: "captures/engine/record.sh", captures }, null, 2) + "\n");
' "$RECORDS" "$OUT/scenarios.json"
log "done: $(ls "$OUT"/engine-*.pcap | xargs -n1 basename | tr '\n' ' ')"

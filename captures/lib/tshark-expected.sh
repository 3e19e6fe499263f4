# Sourced by captures/tshark-fields.sh and captures/tcp-analysis.sh: run tshark -T fields on every capture under
# captures/ (or the files given) and write its output to captures/expected/<path under captures/><suffix>.
#
#   write_expected NAME SUFFIX [FILE...] -- TSHARK-OPTION...
#
# NAME prefixes the messages; the fields (-e ...) and preferences (-o ...) are the caller's TSHARK-OPTIONs. A damaged
# file still yields the packets before the damage; tshark then exits non-zero, which is said and is expected for the
# damage fixtures. A capture tshark writes nothing for stops the run.
write_expected() {
  local name=$1 suffix=$2 here out rel dst
  shift 2
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  out=$here/expected
  local files=()
  while [[ $# -gt 0 && $1 != -- ]]; do files+=("$1"); shift; done
  [[ ${1:-} == -- ]] && shift
  if [[ ${#files[@]} -eq 0 ]]; then
    mapfile -t files < <(cd "$here" && find . -path ./expected -prune -o -type f \
      \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' -o -name '*.pcap.gz' -o -name '*.pcapng.gz' \) -print | sed 's|^\./||' | sort)
  fi
  for rel in "${files[@]}"; do
    rel=${rel#"$here/"}
    rel=${rel#captures/}
    dst=$out/$rel$suffix
    mkdir -p "$(dirname "$dst")"
    tshark -n -r "$here/$rel" "$@" >"$dst.tmp" 2>"$dst.err" \
      || echo "$name: $rel: tshark: $(head -c 300 "$dst.err" | tr '\n' ' ')" >&2
    if [[ ! -s $dst.tmp ]]; then
      echo "$name: $rel: tshark wrote nothing: $(tr '\n' ' ' <"$dst.err")" >&2
      rm -f "$dst.tmp" "$dst.err"
      exit 1
    fi
    mv "$dst.tmp" "$dst"
    rm -f "$dst.err"
    echo "$rel: $(($(wc -l <"$dst") - 1)) packets -> expected/$rel$suffix"
  done
}

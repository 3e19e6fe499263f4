#!/usr/bin/env python3
"""Cross-checks captures.json against tshark: every transfer recorded with a sha256 must match the bytes of one TCP
stream in its capture (reassembled by tshark's "follow tcp"), and every capture must hold as many port-21 streams as
sessions. record.sh runs this after recording; it needs tshark. Exit status 1 lists the mismatches."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

captures_dir = Path(sys.argv[1])
listing = json.loads((captures_dir / "served" / "captures.json").read_text())


def tshark(*args: str) -> str:
    return subprocess.run(["tshark", *args], check=True, capture_output=True, text=True).stdout


def stream_payloads(capture: Path) -> dict[int, bytes]:
    streams = {int(s) for s in tshark("-r", str(capture), "-T", "fields", "-e", "tcp.stream", "-Y", "tcp").split()}
    out = {}
    for stream in sorted(streams):
        text = tshark("-r", str(capture), "-q", "-z", f"follow,tcp,raw,{stream}")
        lines = [l.strip() for l in text.splitlines()]
        rule = [i for i, l in enumerate(lines) if l and set(l) == {"="}]
        body = lines[rule[0] + 1 : rule[1]] if len(rule) >= 2 else []
        lines = [l for l in body if l and not l.startswith(("Follow", "Filter", "Node"))]
        out[stream] = bytes.fromhex("".join(lines))
    return out


problems = []
for entry in listing["captures"]:
    path = captures_dir / entry["file"]
    payloads = stream_payloads(path)
    control = {int(s) for s in tshark("-r", str(path), "-T", "fields", "-e", "tcp.stream", "-Y", "tcp.port == 21 && tcp.flags.syn == 1 && tcp.flags.ack == 0").split()}
    if len(control) != len(entry["sessions"]):
        problems.append(f"{entry['file']}: {len(control)} control connections, captures.json lists {len(entry['sessions'])} sessions")
    hashes = {hashlib.sha256(p).hexdigest(): len(p) for p in payloads.values()}
    for t in entry["transfers"]:
        if t["sha256"] is None:
            continue
        if hashes.get(t["sha256"]) != t["bytes"]:
            problems.append(f"{entry['file']}: {t['verb']} {t['path']}: no TCP stream carries {t['bytes']} bytes with sha256 {t['sha256'][:12]}")
for p in problems:
    print(p, file=sys.stderr)
print(f"verify-with-tshark: {len(listing['captures'])} captures, {len(problems)} problems", file=sys.stderr)
sys.exit(1 if problems else 0)

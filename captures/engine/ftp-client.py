#!/usr/bin/env python3
"""The FTP client of captures/engine/record.sh, on Python's ftplib: it sends exactly the commands it is told to
(ftplib never sends PWD or anything else on its own), and saves each download's bytes as they arrived.

  ftp-client.py HOST USER PASS OP...
  OP: cwd:DIR | cdup | pwd | retr:PATH:OUT
Prints one JSON line per transfer: {"verb", "arg", "file", "bytes"} (file = OUT).
"""
import ftplib
import json
import os
import sys


def main() -> int:
    host, user, password, *ops = sys.argv[1:]
    ftp = ftplib.FTP()
    ftp.connect(host, 21, timeout=20)
    ftp.login(user, password)
    ftp.set_pasv(True)
    for op in ops:
        kind, _, rest = op.partition(":")
        if kind == "cwd":
            ftp.cwd(rest)
        elif kind == "cdup":
            ftp.voidcmd("CDUP")
        elif kind == "pwd":
            ftp.pwd()
        elif kind == "retr":
            path, _, out = rest.rpartition(":")
            ftp.voidcmd("TYPE I")
            with ftp.transfercmd(f"RETR {path}") as conn, open(out, "wb") as sink:
                while chunk := conn.recv(65536):
                    sink.write(chunk)
            ftp.voidresp()
            print(json.dumps({"verb": "RETR", "arg": path, "file": out, "bytes": os.path.getsize(out)}))
        else:
            raise SystemExit(f"ftp-client.py: unknown op {op!r}")
    ftp.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())

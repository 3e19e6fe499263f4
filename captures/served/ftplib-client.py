#!/usr/bin/env python3
"""A raw FTP client for record.sh, built on Python's ftplib: saves the data-connection bytes exactly as they arrived.

curl and lftp turn CR LF into LF in ASCII mode (listings, TYPE A), so what they save is not what crossed the wire.
This client reads the data socket itself, so the files it writes are the wire bytes.

  ftplib-client.py HOST USER PASS [passive|active] OP...
  OP: type:A | type:I | list:PATH:OUT | nlst:PATH:OUT | retr:PATH:OUT
      raw:COMMAND   send COMMAND as it is and accept whatever reply comes (e.g. a PORT to a foreign address, then 425)
"""
import ftplib
import sys


def main() -> int:
    host, user, password, mode, *ops = sys.argv[1:]
    ftp = ftplib.FTP()
    ftp.connect(host, 21, timeout=20)
    ftp.login(user, password)
    ftp.set_pasv(mode == "passive")
    for op in ops:
        kind, _, rest = op.partition(":")
        if kind == "raw":
            ftp.putcmd(rest)
            try:
                ftp.getresp()
            except ftplib.Error:
                pass
            continue
        if kind == "type":
            ftp.voidcmd(f"TYPE {rest}")
            continue
        path, _, out = rest.rpartition(":")
        command = {"list": "LIST", "nlst": "NLST", "retr": "RETR"}[kind]
        with ftp.transfercmd(f"{command} {path}") as conn, open(out, "wb") as sink:
            while chunk := conn.recv(65536):
                sink.write(chunk)
        ftp.voidresp()
    ftp.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Python's ftplib.FTP_TLS for captures/scenarios/record.sh: explicit FTPS (AUTH TLS, PROT P), one download.

ftplib opens each data connection's TLS session from scratch (it does not resume the control connection's
session), which is what a server with vsftpd's require_ssl_reuse=YES refuses. Prints the outcome as JSON.

  ftplib-tls-client.py HOST USER PASS PATH OUT
"""
import ftplib
import json
import ssl
import sys


def main() -> int:
    host, user, password, path, out = sys.argv[1:]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ftp = ftplib.FTP_TLS(context=ctx, timeout=15)
    try:
        ftp.connect(host, 21)
        ftp.login(user, password)
        ftp.prot_p()
        with open(out, "wb") as f:
            ftp.retrbinary(f"RETR {path}", f.write)
        print(json.dumps({"client": "python-ftplib", "ok": True}))
        return 0
    except (ftplib.Error, OSError) as e:
        print(json.dumps({"client": "python-ftplib", "ok": False, "error": str(e).splitlines()[0] if str(e) else type(e).__name__}))
        return 1
    finally:
        try:
            ftp.close()
        except OSError:
            pass


if __name__ == "__main__":
    sys.exit(main())

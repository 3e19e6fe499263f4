#!/usr/bin/env python3
"""An FTP client that stops reading: the receiver side of a stalled transfer, for captures/tcp/record.sh.

  slow-client.py HOST PATH OUT [--stop-after BYTES] [--pause SEC] [--keepalive SEC]
                              [--local-port PORT] [--sessions N] [--rcvbuf BYTES]

Logs in anonymously, downloads PATH in passive mode (binary), reads --stop-after bytes, then reads
nothing for --pause seconds (the server's window fills and TCP advertises a zero window), then reads
the rest and saves it to OUT. With --keepalive the control connection sends TCP keep-alives after that
many idle seconds (it is idle while the data connection is stuck). With --local-port every session's
control connection uses that client port, one after the other (the second reuses the ports of the first).
"""
import argparse
import ftplib
import socket
import time


class Client(ftplib.FTP):
    def __init__(self, local_port, keepalive, rcvbuf):
        super().__init__()
        self.local_port = local_port
        self.keepalive = keepalive
        self.rcvbuf = rcvbuf

    def connect(self, host, port=21, timeout=30):
        self.host, self.port = host, port
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.local_port:
            s.bind(('', self.local_port))
        if self.keepalive:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, self.keepalive)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, self.keepalive)
        s.settimeout(timeout)
        s.connect((host, port))
        self.sock = s
        self.af = s.family
        self.file = s.makefile('r', encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(self, cmd, rest=None):
        conn, size = super().ntransfercmd(cmd, rest)
        if self.rcvbuf:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        return conn, size


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('host')
    ap.add_argument('path')
    ap.add_argument('out')
    ap.add_argument('--stop-after', type=int, default=0)
    ap.add_argument('--pause', type=float, default=0.0)
    ap.add_argument('--keepalive', type=int, default=0)
    ap.add_argument('--local-port', type=int, default=0)
    ap.add_argument('--sessions', type=int, default=1)
    ap.add_argument('--rcvbuf', type=int, default=0)
    o = ap.parse_args()

    for i in range(o.sessions):
        ftp = Client(o.local_port, o.keepalive, o.rcvbuf)
        ftp.connect(o.host)
        ftp.login()
        ftp.voidcmd('TYPE I')
        ftp.set_pasv(True)
        conn = ftp.transfercmd('RETR ' + o.path)
        got = bytearray()
        paused = o.pause <= 0 or i > 0
        while True:
            if not paused and len(got) >= o.stop_after:
                time.sleep(o.pause)
                paused = True
            chunk = conn.recv(4096 if not paused else 65536)
            if not chunk:
                break
            got += chunk
        conn.close()
        ftp.voidresp()
        ftp.quit()
        with open(o.out if i == 0 else f'{o.out}.{i}', 'wb') as f:
            f.write(got)
        # The server closes first after 221, so the client's port is free again at once.
        time.sleep(0.5)


if __name__ == '__main__':
    main()

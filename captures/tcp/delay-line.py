#!/usr/bin/env python3
"""A link with delay, loss, reordering and a rate limit, between two network interfaces.

What `tc qdisc ... netem` does, in user space: captures/tcp/record.sh runs it in a namespace between
the server's and the client's, because the kernel the captures were recorded on has no sch_netem (and
no fq, codel or plug qdiscs; only tbf, htb and the fifos). Every Ethernet frame that arrives on one
interface is sent out of the other, unchanged, after the configured one-way delay (netem's `delay`), unless
it is dropped (netem's `loss`); a reordered frame (netem's `reorder`) is sent at once, overtaking the
frames still delayed; with a rate, frames queue behind each other at that speed and the queue drops
what would wait longer than --queue-ms (a bottleneck router's tail drop). Random choices come from a
seeded generator, so a run is repeatable up to the kernels' own timing.

  delay-line.py IF_A IF_B [--delay-ms D] [--loss P] [--reorder P] [--rate-kbit R --queue-ms Q]
                          [--impair a2b|b2a|both] [--seed S]

Loss, reordering and the rate apply to the --impair direction(s) (default a2b); the delay to both.
Stops on SIGTERM and prints what it did on stderr.
"""
import argparse
import heapq
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
MAX_FRAME = 65535


def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    s.bind((name, 0))
    s.setblocking(False)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('a')
    ap.add_argument('b')
    ap.add_argument('--delay-ms', type=float, default=0.0)
    ap.add_argument('--loss', type=float, default=0.0, help='probability a frame is dropped (0-1)')
    ap.add_argument('--reorder', type=float, default=0.0, help='probability a frame is sent without delay (0-1)')
    ap.add_argument('--rate-kbit', type=float, default=0.0)
    ap.add_argument('--queue-ms', type=float, default=100.0)
    ap.add_argument('--impair', choices=['a2b', 'b2a', 'both'], default='a2b')
    ap.add_argument('--seed', type=int, default=1)
    o = ap.parse_args()

    rng = random.Random(o.seed)
    sa, sb = open_if(o.a), open_if(o.b)
    peer = {sa: sb, sb: sa}
    impaired = {sa: o.impair in ('a2b', 'both'), sb: o.impair in ('b2a', 'both')}
    delay = o.delay_ms / 1000.0
    # The time the link towards each output is busy until (rate limiting), per output socket.
    busy_until = {sa: 0.0, sb: 0.0}
    heap = []
    n = 0
    stats = {'forwarded': 0, 'dropped': 0, 'reordered': 0, 'tail-dropped': 0}
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    signal.signal(signal.SIGINT, lambda *_: running.__setitem__(0, False))
    print('delay-line: ready', file=sys.stderr, flush=True)

    while running[0]:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, out, frame = heapq.heappop(heap)
            try:
                out.send(frame)
                stats['forwarded'] += 1
            except OSError:
                stats['dropped'] += 1
        timeout = max(0.0, heap[0][0] - time.monotonic()) if heap else 0.2
        try:
            readable, _, _ = select.select([sa, sb], [], [], timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for s in readable:
            while True:
                try:
                    frame, addr = s.recvfrom(MAX_FRAME)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own sends, seen again on the socket
                out = peer[s]
                due = now + delay
                if impaired[s]:
                    if o.loss > 0 and rng.random() < o.loss:
                        stats['dropped'] += 1
                        continue
                    if o.reorder > 0 and rng.random() < o.reorder:
                        due = now
                        stats['reordered'] += 1
                    if o.rate_kbit > 0:
                        start = max(now, busy_until[out])
                        if start - now > o.queue_ms / 1000.0:
                            stats['tail-dropped'] += 1
                            continue
                        busy_until[out] = start + len(frame) * 8 / (o.rate_kbit * 1000.0)
                        due = max(due, busy_until[out] + delay)
                n += 1
                heapq.heappush(heap, (due, n, out, frame))
    print('delay-line: ' + ', '.join(f'{k} {v}' for k, v in stats.items()), file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()

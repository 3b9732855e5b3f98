#!/usr/bin/env python3
"""Start-up time to the first served request.

Usage: startup.py --url URL [--header 'K: V'] [--runs N] [--log FILE] -- CMD [ARGS...]

Starts CMD, polls URL every millisecond until it answers 2xx, stops CMD (SIGTERM, then
SIGKILL after 5 s) and prints the milliseconds from spawn to that first answer, one line
per run. A run that gets no 2xx within 20 s fails the script.
"""

import argparse
import http.client
import signal
import subprocess
import sys
import time
import urllib.parse


def first_answer(url, headers, deadline):
    parts = urllib.parse.urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
        try:
            conn.request("GET", target, headers=headers)
            resp = conn.getresponse()
            resp.read()
            if 200 <= resp.status < 300:
                return True
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.001)
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--log", default="/dev/null")
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd and args.cmd[0] == "--" else args.cmd
    headers = dict(h.split(": ", 1) for h in args.header)
    with open(args.log, "ab") as log:
        for _ in range(args.runs):
            started = time.monotonic()
            proc = subprocess.Popen(cmd, stdout=log, stderr=log)
            ok = first_answer(args.url, headers, started + 20)
            elapsed = (time.monotonic() - started) * 1000
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if not ok:
                sys.exit(f"startup.py: {cmd[0]} served no 2xx on {args.url} within 20 s")
            print(f"{elapsed:.1f}", flush=True)
            time.sleep(0.2)


if __name__ == "__main__":
    main()

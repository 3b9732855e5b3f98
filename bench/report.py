#!/usr/bin/env python3
"""Turns bench/run.sh's raw figures into the results table.

Usage: report.py RESULTS.tsv MACHINE.txt > OUT.md

RESULTS.tsv: one figure a line, `metric<TAB>server<TAB>value`. Every metric is shown as
median [min–max] per server, with wshost's relative speed against each peer (> 1: wshost is
faster or smaller), then the issue's targets with met / MISSED.
"""

import statistics
import sys
from collections import defaultdict

# metric -> (title, unit, higher_is_better)
METRICS = {
    "download": ("1 GiB download (curl)", "MB/s", True),
    "upload": ("1 GiB upload (curl -T)", "MB/s", True),
    "list10k": ("list a 10,000-file folder as JSON (curl time_total)", "ms", False),
    "stat": ("stat one file, wrk -t2 -c64", "req/s", True),
    "small4k": ("download a 4 KiB file, wrk -t2 -c64", "req/s", True),
    "rss_download": ("peak RSS during the 1 GiB downloads (VmHWM)", "MiB", False),
    "rss_upload": ("peak RSS during the 1 GiB uploads (VmHWM)", "MiB", False),
    "startup": ("start-up to the first served request", "ms", False),
    "plugin_load": ("one process: load and check one plugin library", "ms", False),
    "plugin_load_logged": ("in the host: load and check one plugin (its `load_ms` log field)", "ms", False),
    "dropbox_upload": ("Dropbox driver: 128 MiB upload against the fake", "MB/s", True),
}

# (metric, wshost row, peer row, minimum relative speed)
TARGETS = [
    ("download", "wshost", "axum", 0.9),
    ("upload", "wshost", "axum", 0.9),
    ("list10k", "wshost", "nginx", 1.0),
    ("stat", "wshost", "axum", 0.7),
    ("small4k", "wshost", "nginx", 0.7),
    ("dropbox_upload", "wshost (upload sessions)", "plain POST (curl)", 0.8),
]
# (metric, row, absolute limit, unit)
LIMITS = [
    ("rss_download", "wshost", 32, "MiB"),
    ("rss_upload", "wshost", 32, "MiB"),
    ("startup", "wshost", 50, "ms"),
]


def fmt(x):
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def relative(metric, mine, theirs):
    higher = METRICS[metric][2]
    return mine / theirs if higher else theirs / mine


def main():
    results, machine = sys.argv[1], sys.argv[2]
    data = defaultdict(lambda: defaultdict(list))
    order = defaultdict(list)
    with open(results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            metric, server, value = parts
            if server not in order[metric]:
                order[metric].append(server)
            data[metric][server].append(float(value))
    med = {
        m: {s: statistics.median(v) for s, v in servers.items()}
        for m, servers in data.items()
    }

    out = []
    out.append("## Machine\n")
    out.append("```")
    out.append(open(machine).read().rstrip())
    out.append("```\n")
    out.append("Relative speed is wshost's figure over the peer's (for times and sizes the peer's")
    out.append("over wshost's), from the medians: above 1 wshost is faster (or smaller).\n")
    for metric, (title, unit, _) in METRICS.items():
        if metric not in data:
            continue
        rows = order[metric]
        ws_row = next((r for r in rows if r.startswith("wshost")), None)
        out.append(f"### {title}\n")
        out.append(f"| server | median {unit} [min–max] | runs | wshost relative |")
        out.append("|---|---|---|---|")
        for server in rows:
            v = data[metric][server]
            rel = ""
            if metric == "plugin_load" and server != rows[0]:
                # The load itself: this process minus a process that loads nothing.
                rel = f"+{statistics.median(v) - med[metric][rows[0]]:.1f} ms over process start"
            elif ws_row and server != ws_row and not server.startswith("wshost"):
                rel = f"{relative(metric, med[metric][ws_row], med[metric][server]):.2f}×"
            out.append(
                f"| {server} | {fmt(statistics.median(v))} [{fmt(min(v))}–{fmt(max(v))}] "
                f"| {len(v)} | {rel} |"
            )
        out.append("")

    out.append("### Targets of issue 8\n")
    out.append("| target | measured | met |")
    out.append("|---|---|---|")
    for metric, mine, peer, minimum in TARGETS:
        m = med.get(metric, {})
        if mine in m and peer in m:
            r = relative(metric, m[mine], m[peer])
            out.append(
                f"| {METRICS[metric][0]}: {mine} ≥ {minimum}× {peer} | {r:.2f}× "
                f"| {'met' if r >= minimum else 'MISSED'} |"
            )
        else:
            out.append(f"| {METRICS[metric][0]}: {mine} ≥ {minimum}× {peer} | not measured | – |")
    for metric, row, limit, unit in LIMITS:
        m = med.get(metric, {})
        if row in m:
            worst = max(data[metric][row])
            out.append(
                f"| {METRICS[metric][0]}: {row} ≤ {limit} {unit} | median {fmt(m[row])}, "
                f"max {fmt(worst)} {unit} | {'met' if m[row] <= limit else 'MISSED'} |"
            )
        else:
            out.append(f"| {METRICS[metric][0]}: {row} ≤ {limit} {unit} | not measured | – |")
    print("\n".join(out))


if __name__ == "__main__":
    main()

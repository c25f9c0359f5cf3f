#!/usr/bin/env python3
"""bench_record: a real server's throughput with and without `exectrace record`.

Debian's nginx (a master and WORKERS worker processes, a fixed 200 response)
is loaded by wrk for SECONDS per run, alternating in one invocation:
untraced, recorded with default settings (--follow-fork, so every worker is
traced; frame-pointer stacks), and recorded with --stacks dwarf.  Each
setting runs ROUNDS times; the figures are medians of requests per second,
and the ratio of each traced setting to the untraced one.  Every traced run's
traces are loaded afterwards: the events recorded and dropped are reported,
and a run that dropped events is flagged.

Issue 4's bar: at least 0.97 of the untraced throughput, with no events
dropped, at default settings.  Prints key=value lines, then a table, and
exits 0 either way (a benchmark, not a test).

Usage: bench_record.py --exectrace PATH [--rounds R] [--seconds S]
                       [--workers W] [--connections C] [--dir DIR]
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import free_port, wait_port  # noqa: E402


CONF = """
daemon off;
master_process on;
worker_processes %(workers)d;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %(dir)s/tmp;
  proxy_temp_path %(dir)s/tmp;
  fastcgi_temp_path %(dir)s/tmp;
  uwsgi_temp_path %(dir)s/tmp;
  scgi_temp_path %(dir)s/tmp;
  server {
    listen 127.0.0.1:%(port)d;
    location / { return 200 "hello from nginx\\n"; }
  }
}
"""


def one_run(args, mode, n):
    """Requests/s of one run; for traced runs also (events, dropped)."""
    port = free_port()
    d = os.path.join(args.dir, "%s-%d" % (mode, n))
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(CONF % {"dir": d, "port": port, "workers": args.workers})
    cmd = ["nginx", "-c", conf, "-p", d]
    trace = os.path.join(d, "nginx.etrace")
    if mode != "untraced":
        pre = [args.exectrace, "record", "--follow-fork", "-o", trace]
        if mode == "dwarf":
            pre += ["--stacks", "dwarf"]
        cmd = pre + ["--"] + cmd
    srv = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        if not wait_port(port):
            return None, None
        time.sleep(0.2)
        w = subprocess.run(["wrk", "-t", "1", "-c", str(args.connections), "-d", "%ds" % args.seconds,
                            "http://127.0.0.1:%d/" % port], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=args.seconds + 60)
        m = re.search(rb"Requests/sec:\s+([0-9.]+)", w.stdout)
        rps = float(m.group(1)) if m else None
    finally:
        srv.send_signal(signal.SIGTERM)
        try:
            srv.wait(timeout=60)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
    if mode == "untraced":
        shutil.rmtree(d, ignore_errors=True)
        return rps, None
    events = dropped = 0
    for f in os.listdir(d):
        if f.startswith("nginx.etrace"):
            p = subprocess.run([args.exectrace, "stats", "--json", os.path.join(d, f)], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            if p.returncode == 0:
                st = json.loads(p.stdout.decode("utf-8", "replace"))
                events += st["events"]
                dropped += st["dropped"]
    shutil.rmtree(d, ignore_errors=True)
    return rps, (events, dropped)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exectrace", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    args.exectrace = os.path.abspath(args.exectrace)
    os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"
    for tool in ("nginx", "wrk"):
        if shutil.which(tool) is None:
            print("bench_record: %s is missing (apt-get install nginx-light wrk)" % tool, file=sys.stderr)
            return 1
    args.dir = args.dir or tempfile.mkdtemp(prefix="et-bench-record-")
    os.makedirs(args.dir, exist_ok=True)
    modes = ["untraced", "fp", "dwarf"]
    rps = {m: [] for m in modes}
    ev = {m: [] for m in modes}
    for r in range(args.rounds):
        order = modes if r % 2 == 0 else list(reversed(modes))
        for m in order:
            v, e = one_run(args, m, r)
            if v is None:
                print("round %d %s: no result" % (r, m), file=sys.stderr)
                continue
            rps[m].append(v)
            if e:
                ev[m].append(e)
            print("round %d %-8s %10.0f requests/s%s" % (r, m, v, "" if not e else
                  ", %d events, %d dropped" % e), file=sys.stderr)
    med = {m: statistics.median(rps[m]) if rps[m] else 0 for m in modes}
    base = med["untraced"] or 1
    print("server=nginx workers=%d connections=%d seconds=%d rounds=%d" %
          (args.workers, args.connections, args.seconds, args.rounds))
    for m in modes:
        drops = sum(d for _, d in ev[m])
        events = statistics.median([e for e, _ in ev[m]]) if ev[m] else 0
        print("%s_requests_per_s=%.0f" % (m, med[m]))
        if m != "untraced":
            print("%s_ratio=%.3f" % (m, med[m] / base))
            print("%s_events_per_run=%.0f" % (m, events))
            print("%s_dropped=%d" % (m, drops))
    fp_ok = med["fp"] / base >= 0.97 and sum(d for _, d in ev["fp"]) == 0
    print("target=0.97")
    print("result=%s" % ("PASS" if fp_ok else "MISS"))
    print()
    print("%-34s %14s %8s %10s" % ("setting (median of %d runs)" % args.rounds, "requests/s", "ratio", "dropped"))
    for m in modes:
        print("%-34s %14.0f %8.3f %10s" % (m, med[m], med[m] / base,
                                           "-" if m == "untraced" else sum(d for _, d in ev[m])))
    print("default settings (fp) at >= 0.97 of untraced, nothing dropped: %s" % ("PASS" if fp_ok else "MISS"))
    shutil.rmtree(args.dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

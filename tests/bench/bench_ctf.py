#!/usr/bin/env python3
"""bench_ctf: exectrace reading a CTF trace through libbabeltrace2, against
babeltrace2 itself reading it into its dummy sink (issue 7's bar: ours at
least 0.9x babeltrace2's speed, measured in one run).

The traces, made unless given with --trace:
  lttng   an LTTng trace of the exectrace provider: bench_ctf_gen records
          N events of bench_reader's request-like workload with
          EXECTRACE_LTTNG set, under a private session daemon
          (tests/lttng/lttng_harness.py) whose session has exectrace:*
          and the vtid, vpid, procname contexts on a blocking channel
          (nothing discarded)
  export  the native trace of that same run, exported by `exectrace export
          --format ctf` (our own CTF)
(without the provider, only `export`).  For each trace, alternating, ROUNDS
times after one untimed read of each:
  babeltrace2   `babeltrace2 TRACE -c sink.utils.dummy` (src.ctf.fs, the
                muxer, a sink that discards)
  exectrace     `exectrace stats TRACE`: the whole read through
                libbabeltrace2 into exectrace's model
wall and CPU time (the child's user + system), medians.  Both must read the
same number of events (babeltrace2's sink.utils.counter against `exectrace
stats --json`).  The figure: speed ratio = babeltrace2's time / ours.

Usage: bench_ctf.py --build BUILD_DIR [--events N] [--rounds R] [--dir DIR]
                    [--source lttng|export|both] [--trace CTF_DIR ...] [--keep]
Prints key=value lines and a table; exit status 0 unless it could not run.
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lttng"))
import lttng_harness as H  # noqa: E402

TARGET = 0.9


def timed(args):
    """(wall s, child CPU s, CompletedProcess) of one run."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(args, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, p


def bt_count(trace):
    p = H.babeltrace2(trace, "-c", "sink.utils.counter", timeout=3600)
    m = re.findall(r"(\d+) Event messages", p.stdout)
    return int(m[-1]) if m else -1


def our_count(exe, trace):
    p = subprocess.run([exe, "stats", "--json", trace], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        print("# exectrace stats --json %s: %s" % (trace, p.stderr.strip()[-500:]))
        return -1, None
    st = json.loads(p.stdout)
    return st["events"], st


def du(path):
    n = 0
    for d, _, files in os.walk(path):
        for f in files:
            n += os.path.getsize(os.path.join(d, f))
    return n


def measure(name, trace, exe, rounds):
    """Prints and returns the figures of one trace."""
    n_bt = bt_count(trace)
    n_ours, st = our_count(exe, trace)
    bt_cmd = ["babeltrace2", trace, "-c", "sink.utils.dummy"]
    our_cmd = [exe, "stats", trace]
    for cmd in (bt_cmd, our_cmd):  # warm: the page cache, the plugins
        w, c, p = timed(cmd)
        if p.returncode != 0:
            print("# %s failed (exit %d): %s" % (" ".join(cmd), p.returncode, p.stderr[-800:]))
            return None
    bt_w, bt_c, our_w, our_c = [], [], [], []
    for r in range(rounds):
        order = (bt_cmd, our_cmd) if r % 2 == 0 else (our_cmd, bt_cmd)
        for cmd in order:
            w, c, p = timed(cmd)
            if p.returncode != 0:
                print("# %s failed (exit %d): %s" % (" ".join(cmd), p.returncode, p.stderr[-800:]))
                return None
            (bt_w if cmd is bt_cmd else our_w).append(w)
            (bt_c if cmd is bt_cmd else our_c).append(c)
        print("# %s round %d: babeltrace2 %.3f s (cpu %.3f), exectrace %.3f s (cpu %.3f)" % (
            name, r, bt_w[-1], bt_c[-1], our_w[-1], our_c[-1]), file=sys.stderr)
    f = {
        "events_babeltrace2": n_bt, "events_exectrace": n_ours, "bytes": du(trace),
        "babeltrace2_s": statistics.median(bt_w), "babeltrace2_cpu_s": statistics.median(bt_c),
        "exectrace_s": statistics.median(our_w), "exectrace_cpu_s": statistics.median(our_c),
    }
    f["babeltrace2_events_per_s"] = n_bt / f["babeltrace2_s"] if n_bt > 0 else 0
    f["exectrace_events_per_s"] = n_ours / f["exectrace_s"] if n_ours > 0 else 0
    f["speed_ratio"] = f["babeltrace2_s"] / f["exectrace_s"]
    f["cpu_ratio"] = f["babeltrace2_cpu_s"] / f["exectrace_cpu_s"] if f["exectrace_cpu_s"] else 0
    f["same_events"] = n_bt == n_ours and n_bt > 0
    f["result"] = "PASS" if f["speed_ratio"] >= TARGET and f["same_events"] else "MISS"
    for k, v in f.items():
        print("%s.%s=%s" % (name, k, ("%.4f" % v) if isinstance(v, float) else v))
    print("%s.target=%s" % (name, TARGET))
    return f


def make_traces(a, lab, work):
    """{name: CTF directory} of the traces to time."""
    out = {}
    native = os.path.join(work, "gen.etrace")
    want_lttng = a.source in ("lttng", "both") and a.provider and os.path.exists(a.provider)
    if a.source == "lttng" and not want_lttng:
        print("# no LTTng provider (%s): cannot make an LTTng trace" % a.provider)
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("EXECTRACE_"):
            del env[k]
    session = None
    if want_lttng:
        sd = lab.sessiond("gen")
        session = sd.session("ctf", events=("exectrace:*",),
                             channel_args=["--subbuf-size=4M", "--num-subbuf=8", "--blocking-timeout=inf"])
        session.start()
        env = sd.app_env(base=env, EXECTRACE_LTTNG=os.path.abspath(a.provider), LTTNG_UST_ALLOW_BLOCKING=1)
    t0 = time.time()
    p = subprocess.run([a.gen, str(a.events), native], env=env, stdout=subprocess.PIPE, universal_newlines=True)
    if p.returncode != 0:
        raise SystemExit("bench_ctf_gen failed (exit %d)" % p.returncode)
    print("# recorded %s in %.1f s" % (p.stdout.strip(), time.time() - t0), file=sys.stderr)
    if session:
        session.stop()
        lost = session.discarded()
        print("lttng.discarded_when_recorded=%d" % lost)
        out["lttng"] = session.output
    if a.source in ("export", "both"):
        ctf = os.path.join(work, "export.ctf")
        t0 = time.time()
        p = subprocess.run([a.exectrace, "export", "--format", "ctf", "-o", ctf, native])
        if p.returncode != 0:
            raise SystemExit("exectrace export --format ctf failed (exit %d)" % p.returncode)
        print("# exported in %.1f s" % (time.time() - t0), file=sys.stderr)
        out["export"] = ctf
    os.unlink(native)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build")
    ap.add_argument("--exectrace")
    ap.add_argument("--gen")
    ap.add_argument("--provider")
    ap.add_argument("--events", type=int, default=4000000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--source", choices=("lttng", "export", "both"), default="both")
    ap.add_argument("--trace", action="append", default=[], help="time this CTF directory instead of making one")
    ap.add_argument("--dir", help="where to make the traces (default /dev/shm, else /tmp)")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if a.build:
        a.exectrace = a.exectrace or os.path.join(a.build, "convert", "exectrace")
        a.gen = a.gen or os.path.join(a.build, "tests", "bench", "bench_ctf_gen")
        a.provider = a.provider or os.path.join(a.build, "tracer", "lttng", "libexectrace-lttng.so")
    if not a.exectrace or not os.path.exists(a.exectrace):
        print("bench_ctf.py: give --build or --exectrace", file=sys.stderr)
        return 2
    if shutil.which("babeltrace2") is None:
        print("bench_ctf.py: babeltrace2 is not installed (apt-get install babeltrace2)", file=sys.stderr)
        return 2
    base = a.dir or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    print("machine.nproc=%d" % os.cpu_count())
    print("machine.loadavg_1min_at_start=%.2f" % os.getloadavg()[0])
    print("rounds=%d" % a.rounds)
    figures = {}
    with H.Lab(base=base, keep=a.keep) as lab:
        if a.trace:
            traces = {"trace%d" % i: t for i, t in enumerate(a.trace)}
        else:
            if not a.gen or not os.path.exists(a.gen):
                print("bench_ctf.py: give --build or --gen", file=sys.stderr)
                return 2
            work = lab.mkdir("work")
            print("events_requested=%d" % a.events)
            traces = make_traces(a, lab, work)
        for name, t in traces.items():
            f = measure(name, os.path.abspath(t), os.path.abspath(a.exectrace), a.rounds)
            if f:
                figures[name] = f
    print()
    print("%-8s %10s %9s %14s %14s %9s %9s  %s" % ("trace", "events", "MB", "babeltrace2", "exectrace",
                                                   "speed", "target", "result"))
    for name, f in figures.items():
        print("%-8s %10d %9.1f %8.3f s %4.1fM/s %8.3f s %4.1fM/s %8.3f %9s  %s%s" % (
            name, f["events_exectrace"], f["bytes"] / 1e6, f["babeltrace2_s"], f["babeltrace2_events_per_s"] / 1e6,
            f["exectrace_s"], f["exectrace_events_per_s"] / 1e6, f["speed_ratio"], ">=%.1f" % TARGET, f["result"],
            "" if f["same_events"] else " (event counts differ: babeltrace2 %d, exectrace %d)" % (
                f["events_babeltrace2"], f["events_exectrace"])))
    print("speed = babeltrace2's wall time / exectrace's (medians of %d alternating rounds); "
          "babeltrace2 TRACE -c sink.utils.dummy against exectrace stats TRACE" % a.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

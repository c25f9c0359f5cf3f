#!/usr/bin/env python3
"""Collection across "hosts" (issue 7): two traced processes stream to one
lttng-relayd, and exectrace analyses what it collected.

One lttng-relayd on 127.0.0.1 (ports picked free) and two private session
daemons, the "hosts" (separate processes with their own LTTNG_HOME, see
lttng_harness.py), each with a session streaming to the relay daemon
(net://127.0.0.1:CTRL:DATA; host B with --ctrl-url/--data-url) with
exectrace:*, lttng_ust_statedump:* and the vtid, vpid, procname contexts.
Under host A runs tests/e2e/e2e_counts, under host B lttng_waits, each also
recording natively.  After both sessions stop:

  - the relay daemon's output holds two traces, and babeltrace2 reads both
    programs' exectrace events from it;
  - `exectrace stats --json RELAYD_OUTPUT` reads the whole collection: its
    counts per kind are the sum of the two native traces', and its
    `processes` list names both programs with their pid, name, host,
    threads and events as their native traces say;
  - `exectrace stats --json` on each collected trace directory alone gives
    that program's native counts per kind.

Nothing is skipped (Debian: lttng-tools liblttng-ust-dev babeltrace2).
Prints TAP.
"""
import argparse
import collections
import json
import os
import re
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from tap import bail, diag, done, ok  # noqa: E402
import lttng_harness as H  # noqa: E402
from lttng_cli import ok_, run, stats_json  # noqa: E402

A = None

def stats(trace):
    return stats_json(A.exectrace, trace)


def kinds(st):
    return collections.Counter({k: v for k, v in st["kinds"].items() if v}) if st else None


def app_env(sd):
    e = sd.app_env(EXECTRACE_LTTNG=A.provider)
    for k in list(e):
        if k.startswith("EXECTRACE_") and k != "EXECTRACE_LTTNG":
            del e[k]
    return e


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--exectrace", required=True)
    ap.add_argument("--e2e", required=True, help="tests/e2e/e2e_counts")
    ap.add_argument("--waits", required=True, help="tests/lttng/lttng_waits")
    ap.add_argument("--provider", required=True, help="libexectrace-lttng.so")
    ap.add_argument("--dir", required=True, help="scratch directory for the native traces")
    A = ap.parse_args()
    shutil.rmtree(A.dir, ignore_errors=True)
    os.makedirs(A.dir)
    if not os.path.exists(A.provider):
        bail("the LTTng provider %s was not built (tracer/lttng/, -Dlttng=enabled)" % A.provider)
    for tool in ("lttng", "lttng-sessiond", "lttng-relayd", "babeltrace2"):
        if shutil.which(tool) is None:
            bail("%s is not installed (apt-get install lttng-tools liblttng-ust-dev babeltrace2)" % tool)
    try:
        with H.Lab() as lab:
            check(lab)
    except H.LttngError as e:
        bail(str(e))
    return done()


def check(lab):
    rd = lab.relayd()
    ok(rd.proc.poll() is None, "lttng-relayd listens on 127.0.0.1 (control %d, data %d, live %d)" % (rd.ctrl, rd.data, rd.live))
    host_a, host_b = lab.sessiond("host-a"), lab.sessiond("host-b")
    sa = host_a.session("collect-a", url=rd.url)
    sb = host_b.session("collect-b", ctrl_url=rd.ctrl_url, data_url=rd.data_url)
    sa.start()
    sb.start()
    native_a, native_b = os.path.join(A.dir, "a.etrace"), os.path.join(A.dir, "b.etrace")
    pa = run([A.e2e, A.exectrace, native_a], env=app_env(host_a))
    pb = run([A.waits, native_b], env=app_env(host_b))
    sa.stop()
    sb.stop()
    ok(sa.discarded() == 0 and sb.discarded() == 0, "no event discarded on either host")
    sa.destroy()
    sb.destroy()
    ok(pa.returncode == 0, "host A: e2e_counts runs and its own checks pass (exit %d)" % pa.returncode)
    for l in [l for l in pa.stdout.splitlines() if l.startswith("not ok")][:10]:
        diag("  " + l)
    ok_(pb.returncode == 0, "host B: lttng_waits runs (exit %d)" % pb.returncode, pb.stderr[-500:])
    sta, stb = stats(native_a), stats(native_b)
    ok(sta is not None and stb is not None, "both native traces load")
    if sta is None or stb is None:
        return

    dirs = H.trace_dirs(rd.output)
    ok(len(dirs) == 2, "the relay daemon's output holds two traces (%s)" % [os.path.relpath(d, rd.output) for d in dirs])
    bt = H.babeltrace2(rd.output)
    ok_(bt.returncode == 0 and "ERROR" not in bt.stderr, "babeltrace2 reads the collection without an error (exit %d)" % bt.returncode,
        bt.stderr[-500:])
    per_pid = collections.Counter(int(m.group(1)) for m in re.finditer(r" exectrace:\w+: .*?vpid = (\d+),", bt.stdout))
    ok(per_pid == {sta["pid"]: sta["events"], stb["pid"]: stb["events"]},
       "babeltrace2: each program's exectrace events, all of them (%s; native %d: %d, %d: %d)" % (
           dict(per_pid), sta["pid"], sta["events"], stb["pid"], stb["events"]))

    # Each collected trace alone is its program's trace.
    for d in dirs:
        st = stats(d)
        which = None
        if st:
            which = sta if st["pid"] == sta["pid"] else stb if st["pid"] == stb["pid"] else None
        ok(which is not None and kinds(st) == kinds(which),
           "stats on %s alone: one program's native counts per kind (pid %s)" % (
               os.path.relpath(d, rd.output), st and st["pid"]))

    st = stats(rd.output)
    ok(st is not None, "exectrace stats --json reads the relay daemon's whole output directory")
    if st is None:
        return
    want = kinds(sta) + kinds(stb)
    ok(kinds(st) == want, "the collection's counts per kind are the sum of both programs' (%d events)" % sum(want.values()))
    if kinds(st) != want:
        for k in sorted(set(want) | set(kinds(st))):
            if want.get(k, 0) != kinds(st).get(k, 0):
                diag("  %-16s want %d, got %d" % (k, want.get(k, 0), kinds(st).get(k, 0)))
    ok(st["events"] == sta["events"] + stb["events"] and st["threads"] == sta["threads"] + stb["threads"],
       "the collection has both programs' events (%d) and threads (%d)" % (st["events"], st["threads"]))
    procs = st.get("processes")
    ok(isinstance(procs, list) and len(procs) == 2, "stats --json lists two processes (%s)" % (
        procs if procs is not None else "no `processes` in stats --json"))
    if not isinstance(procs, list):
        return
    byp = {p.get("pid"): p for p in procs}
    host = socket.gethostname()
    for name, nat, prog in (("A", sta, "e2e_counts"), ("B", stb, "lttng_waits")):
        p = byp.get(nat["pid"])
        ok(p is not None, "host %s's process (pid %d) is listed" % (name, nat["pid"]))
        if p is None:
            continue
        ok(p.get("name", "").startswith(prog[:15]), "host %s: its name is %s (%s)" % (name, prog, p.get("name")))
        ok(p.get("host") == host, "host %s: its host is %s (%s)" % (name, host, p.get("host")))
        ok(p.get("threads") == nat["threads"] and p.get("events") == nat["events"],
           "host %s: its threads (%s) and events (%s) are its native trace's (%d, %d)" % (
               name, p.get("threads"), p.get("events"), nat["threads"], nat["events"]))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""bench_lttng.py: sets up LTTng for bench_lttng (the C benchmark) and
checks what LTTng recorded.

It starts a private session daemon (tests/lttng/lttng_harness.py: no system
daemon is touched) with two sessions, both started before the benchmark
runs and stopped after it:
  et   exectrace:* (what `lttng` measures), channel of 4 x 8 MiB sub-buffers
       per CPU, contexts vtid, vpid, procname (as docs/lttng.md sets a
       session up)
  tp   etprobe:* (what `plain` measures), the same channel and contexts
and an empty LTTNG_HOME where nobody listens (for `idle`).  Then it runs
bench_lttng, passes its output through, and adds what the sessions hold:
events recorded (babeltrace2's sink.utils.counter) and discarded (`lttng
list`), which must match what the benchmark emitted with nothing discarded,
or the `lttng` and `plain` figures would be of lost events.

Usage: bench_lttng.py --build BUILD_DIR [--rounds R] [--dir DIR]
   or: bench_lttng.py --bench PATH --provider PATH --tp-lib PATH [...]
Prints key=value lines and a table; exit status 0 unless it could not run.
"""
import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lttng"))
import lttng_harness as H  # noqa: E402

CHANNEL = ["--subbuf-size=8M", "--num-subbuf=4"]


def count_events(lab, session):
    """(events, discarded-event messages) babeltrace2 counts in a session."""
    dirs = H.trace_dirs(session.output)
    if not dirs:
        return 0, 0
    p = H.babeltrace2(session.output, "-c", "sink.utils.counter", timeout=600)
    ev = re.findall(r"(\d+) Event messages", p.stdout)
    disc = re.findall(r"(\d+) Discarded event messages", p.stdout)
    return (int(ev[-1]) if ev else -1), (int(disc[-1]) if disc else -1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build")
    ap.add_argument("--bench")
    ap.add_argument("--provider")
    ap.add_argument("--tp-lib")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--dir", help="where the LTTng daemons write (default: /dev/shm or /tmp)")
    a = ap.parse_args()
    if a.build:
        a.bench = a.bench or os.path.join(a.build, "tests", "bench", "bench_lttng")
        a.provider = a.provider or os.path.join(a.build, "tracer", "lttng", "libexectrace-lttng.so")
        a.tp_lib = a.tp_lib or os.path.join(a.build, "tests", "bench", "libet-bench-tp.so")
    for what, path in (("--bench", a.bench), ("--provider", a.provider), ("--tp-lib", a.tp_lib)):
        if not path or not os.path.exists(path):
            print("bench_lttng.py: %s: %s not found (build with -Dlttng=enabled)" % (what, path), file=sys.stderr)
            return 2
    base = a.dir or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
    with H.Lab(base=base) as lab:
        sd = lab.sessiond("bench")
        et = sd.session("et", events=("exectrace:*",), channel_args=CHANNEL)
        tp = sd.session("tp", events=("etprobe:*",), channel_args=CHANNEL)
        et.start()
        tp.start()
        none = lab.mkdir("home-nobody-listens")
        ours = [sd.pid] + H._pids_mentioning(sd.rundir + "/")
        env = dict(os.environ, ET_BENCH_PROVIDER=os.path.abspath(a.provider),
                   ET_BENCH_TP_LIB=os.path.abspath(a.tp_lib), ET_BENCH_LTTNG_HOME=sd.home,
                   ET_BENCH_LTTNG_NONE=none, ET_BENCH_OURS_PIDS=",".join(map(str, ours)))
        p = subprocess.run([a.bench, str(a.rounds)], env=env, stdout=subprocess.PIPE, universal_newlines=True)
        et.stop()
        tp.stop()
        out = p.stdout
        if p.returncode != 0:
            sys.stdout.write(out)
            print("bench_lttng exited %d" % p.returncode)
            return 1
        kv = dict(re.findall(r"^([\w.]+)=(.*)$", out, re.M))
        et_n, et_bt_disc = count_events(lab, et)
        tp_n, tp_bt_disc = count_events(lab, tp)
        et_disc, tp_disc = et.discarded(), tp.discarded()
        want_et = int(kv.get("lttng.region_events_emitted", 0))
        want_tp = int(kv.get("plain.events_emitted", 0))
        # et also holds the thread events of each et_start (a few per round).
        ok_et = et_disc == 0 and et_bt_disc == 0 and want_et <= et_n <= want_et + 64 * (int(kv.get("rounds_tried", 0)) + 1)
        ok_tp = tp_disc == 0 and tp_bt_disc == 0 and tp_n == want_tp
        head, _, table = out.partition("\n\n")
        sys.stdout.write(head + "\n")
        print("lttng.session_events=%d\nlttng.session_discarded=%d\nlttng.session_checked=%s" % (
            et_n, et_disc, "ok" if ok_et else "FAILED"))
        print("plain.session_events=%d\nplain.session_discarded=%d\nplain.session_checked=%s" % (
            tp_n, tp_disc, "ok" if ok_tp else "FAILED"))
        print("lttng.channel=%s\nlttng.contexts=%s" % (" ".join(CHANNEL), ",".join(H.DEFAULT_CONTEXTS)))
        print()
        sys.stdout.write(table)
        print("LTTng sessions: exectrace:* %d events (%d emitted by regions), %d discarded: %s; "
              "etprobe:* %d events (%d emitted), %d discarded: %s" % (
                  et_n, want_et, et_disc, "ok" if ok_et else "FAILED", tp_n, want_tp, tp_disc,
                  "ok" if ok_tp else "FAILED"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

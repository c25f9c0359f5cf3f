#!/usr/bin/env python3
"""The LTTng harness (lttng_harness.py) against the real LTTng, with a tiny
provider of our own (tp_probe: etprobe:ping) and nothing of exectrace:

  private    a session daemon runs as the harness says (as nobody under
             root), with its sockets in its own LTTNG_HOME, never the
             system's /var/run/lttng; `lttng` commands reach it.
  session    a program run with app_env() registers before main (its first
             event is recorded), every event is in the trace with the
             vtid, vpid and procname contexts, nothing discarded, and
             lttng-ust's statedump (bin_info, build_id) is there.
  isolation  two private daemons at once, each with an active session: a
             program reaches only the daemon of its LTTNG_HOME.
  relayd     a relay daemon on 127.0.0.1 (free ports); one session per
             daemon streams to it (--set-url, and --ctrl-url/--data-url);
             its output holds both processes' events, one trace each.
  no daemon  with an LTTNG_HOME where no daemon listens, a program runs
             and exits normally without waiting.
  clean-up   closing a lab, and SIGTERM to a process that owns one, leave
             no daemon running and no directory behind.

Missing LTTng tools fail the test (Debian: lttng-tools, liblttng-ust-dev,
babeltrace2).  Prints TAP.

usage: test_lttng_harness.py TP_PROBE
"""
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from tap import bail, diag, done, ok  # noqa: E402
import lttng_harness as H  # noqa: E402

PING = re.compile(r"etprobe:ping: .*vtid = (\d+), vpid = (\d+), procname = \"([^\"]*)\" \}, "
                  r"\{ seq = (\d+), value = (-?\d+), text = \"(.*)\" \}$")

def ok_(cond, desc, detail=""):
    """A check whose failure shows detail (a command's stderr) as diagnostics."""
    if not ok(cond, desc) and detail.strip():
        diag(detail)
    return cond



def probe(tp, env, count, text):
    p = subprocess.run([tp, str(count), text], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=120)
    m = re.match(r"pid (\d+) tid (\d+)", p.stdout)
    return p, (int(m.group(1)) if m else None)


def pings(path):
    """[(vpid, seq, value, text, procname)] of babeltrace2's text output."""
    b = H.babeltrace2(path)
    if b.returncode != 0:
        diag(b.stderr[-2000:])
    out = []
    for line in b.stdout.splitlines():
        m = PING.search(line)
        if m:
            out.append((int(m.group(2)), int(m.group(4)), int(m.group(5)), m.group(6), m.group(3)))
    return b, out


def proc_uid(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def check_private(lab, sd):
    ok(H._pid_alive(sd.pid) and "lttng-sessiond" in H._cmdline(sd.pid), "a private lttng-sessiond runs (pid %d)" % sd.pid)
    want_uid = lab.user[0] if lab.user else os.geteuid()
    ok(proc_uid(sd.pid) == want_uid, "it runs as uid %d (%s)" % (want_uid, "nobody under root" if lab.user else "ourselves"))
    ok(all(os.path.exists(os.path.join(sd.rundir, s)) for s in ("client-lttng-sessiond", "lttng-ust-sock-8")),
       "its client and application sockets are in its LTTNG_HOME (%s)" % sd.rundir)
    sys_pid = None
    try:
        sys_pid = int(open("/var/run/lttng/lttng-sessiond.pid").read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    ok(sys_pid != sd.pid, "it is not the system's session daemon (/var/run/lttng: %s)" % sys_pid)
    ok(" --no-kernel" in H._cmdline(sd.pid), "user space only (--no-kernel)")


def check_session(lab, sd, tp):
    s = sd.session("probe", events=("etprobe:*", "lttng_ust_statedump:*"))
    s.start()
    text = 'say "hi" \\ there'
    p, pid = probe(tp, sd.app_env(), 5000, text)
    ok_(p.returncode == 0 and pid, "tp_probe runs under the session (exit %d)" % p.returncode, p.stderr[-300:])
    s.stop()
    ok(s.discarded() == 0, "no event discarded")
    ok(len(H.trace_dirs(s.output)) == 1, "one CTF trace in the session's output")
    b, ev = pings(s.output)
    ok(b.returncode == 0, "babeltrace2 reads the session's output")
    mine = [e for e in ev if e[0] == pid]
    ok(len(mine) == 5000 and len(ev) == 5000, "all 5000 events are there, from our process only (%d of %d)" % (len(mine), len(ev)))
    ok(sorted(e[1] for e in mine) == list(range(5000)), "seq 0..4999: the first event too (registered before main)")
    ok(all(e[2] == e[1] * 3 for e in mine), "integer fields intact")
    ok(all(e[3] == 'say \\"hi\\" \\\\ there' for e in mine), "string field intact")
    ok(all(e[4] == "tp_probe" for e in mine), "procname context: tp_probe")
    ok(re.search(r"lttng_ust_statedump:bin_info: .*vpid = %d,.*path = \"%s\"" % (pid, re.escape(os.path.realpath(tp))),
                 b.stdout) is not None, "statedump: bin_info names the program")
    ok(re.search(r"lttng_ust_statedump:build_id: .*vpid = %d," % pid, b.stdout) is not None, "statedump: build_id")
    s.destroy()


def check_isolation(lab, a, b, tp):
    sa = a.session("iso-a", events=("etprobe:*",))
    sb = b.session("iso-b", events=("etprobe:*",))
    sa.start()
    sb.start()
    pa_, pid_a = probe(tp, a.app_env(), 10, "to a")
    pb_, pid_b = probe(tp, b.app_env(), 20, "to b")
    sa.stop()
    sb.stop()
    _, ea = pings(sa.output)
    _, eb = pings(sb.output)
    ok(pid_a and {e[0] for e in ea} == {pid_a} and len(ea) == 10,
       "daemon A's session has only the program that named A (%d events)" % len(ea))
    ok(pid_b and {e[0] for e in eb} == {pid_b} and len(eb) == 20,
       "daemon B's session has only the program that named B (%d events)" % len(eb))
    sa.destroy()
    sb.destroy()


def check_relayd(lab, a, b, tp):
    rd = lab.relayd()
    ok(rd.proc and rd.proc.poll() is None, "lttng-relayd listens on 127.0.0.1:%d/%d/%d" % (rd.ctrl, rd.data, rd.live))
    ra = a.session("net-a", url=rd.url, events=("etprobe:*", "lttng_ust_statedump:*"))
    rb = b.session("net-b", ctrl_url=rd.ctrl_url, data_url=rd.data_url, events=("etprobe:*",))
    ra.start()
    rb.start()
    _, pid_a = probe(tp, a.app_env(), 100, "host a")
    _, pid_b = probe(tp, b.app_env(), 200, "host b")
    ra.stop()
    rb.stop()
    ra.destroy()
    rb.destroy()
    dirs = H.trace_dirs(rd.output)
    ok(len(dirs) == 2, "the relay daemon wrote two traces (%s)" % [os.path.relpath(d, rd.output) for d in dirs])
    bt, ev = pings(rd.output)
    ok(bt.returncode == 0, "babeltrace2 reads the relay daemon's output")
    per = {}
    for e in ev:
        per[e[0]] = per.get(e[0], 0) + 1
    ok(per == {pid_a: 100, pid_b: 200}, "both processes' events arrived (%s)" % per)
    ok(any("host a" == e[3] for e in ev) and any("host b" == e[3] for e in ev), "with their own text")


def check_no_daemon(lab, tp):
    empty = lab.mkdir("home-nobody-listens")
    env = dict(os.environ, LTTNG_HOME=empty)
    env.pop("LTTNG_UST_REGISTER_TIMEOUT", None)
    t = time.time()
    p, pid = probe(tp, env, 1000, "into the void")
    took = time.time() - t
    # With no socket to connect to, lttng-ust gives up at once.
    ok(p.returncode == 0 and pid and took < 2.5, "with no daemon the program runs and exits (%.2f s)" % took)


CHILD = r"""
import os, sys, time
sys.path.insert(0, sys.argv[1])
import lttng_harness as H
lab = H.Lab()
a = lab.sessiond("t1")
r = lab.relayd()
s = a.session("x", url=r.url, events=("etprobe:*",))
s.start()
print(lab.dir, a.pid, r.proc.pid, flush=True)
time.sleep(600)
"""


def check_cleanup(tp):
    lab = H.Lab()
    sd = lab.sessiond("c1")
    rd = lab.relayd()
    s = sd.session("c", events=("etprobe:*",))
    s.start()
    probe(tp, sd.app_env(), 10, "x")  # a consumer daemon now runs too
    consumers = H._pids_mentioning(sd.rundir + "/")
    pids = [sd.pid, rd.proc.pid] + consumers
    d = lab.dir
    lab.close()
    ok(consumers and not any(H._pid_alive(p) for p in pids) and not os.path.exists(d),
       "closing a lab stops the daemons and their consumers (%s) and removes its directory" % pids)

    c = subprocess.Popen([sys.executable, "-c", CHILD, HERE], stdout=subprocess.PIPE, universal_newlines=True)
    line = c.stdout.readline().split()
    if len(line) != 3:
        c.kill()
        c.wait()
        ok(False, "a process that owns a lab starts its daemons")
        return
    cdir, spid, rpid = line[0], int(line[1]), int(line[2])
    cons = H._pids_mentioning(os.path.join(cdir, "home-t1", ".lttng") + "/")
    c.send_signal(signal.SIGTERM)
    rc = c.wait(timeout=60)
    gone = not any(H._pid_alive(p) for p in [spid, rpid] + cons)
    ok(gone and not os.path.exists(cdir), "SIGTERM to its owner stops a lab's daemons (%s, exit %d)" % ([spid, rpid] + cons, rc))


def main():
    if len(sys.argv) != 2:
        print("usage: test_lttng_harness.py TP_PROBE", file=sys.stderr)
        return 2
    tp = sys.argv[1]
    try:
        with H.Lab() as lab:
            a = lab.sessiond("a")
            check_private(lab, a)
            check_session(lab, a, tp)
            b = lab.sessiond("b")
            check_isolation(lab, a, b, tp)
            check_relayd(lab, a, b, tp)
            check_no_daemon(lab, tp)
    except FileNotFoundError as e:
        bail("cannot run %s (apt-get install lttng-tools liblttng-ust-dev babeltrace2)" % e.filename)
    except H.LttngError as e:
        bail(str(e))
    check_cleanup(tp)
    return done()


if __name__ == "__main__":
    sys.exit(main())

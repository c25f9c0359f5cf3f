#!/usr/bin/env python3
"""End to end: `exectrace record` and libexectrace-preload.so on unmodified programs.

Each mode of rec_prog runs once plainly and once under `exectrace record`;
standard output and exit status must be the same.  The trace is then read
with `exectrace stats --json` and `exectrace dump` and must hold what the
program forced: the exact number of contended mutex, rwlock, condition,
semaphore and sleep waits, each contended wait with a wake from the thread
that released it, recorded inside the wait; thread creations with their
parents and names; socket, file and pipe system calls with the right fd
class and results; complete traces after exit from a thread, pthread_exit
from main, cancellation, fork and exec.  Also: the settings' environment
variables with bad values (one line on stderr, the program runs untraced),
and the command's argument errors and exit statuses.  Prints TAP.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import diag, done, ok, skip  # noqa: E402


def run(cmd, env=None, timeout=120):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("EXECTRACE_") or k == "LD_PRELOAD":
            del e[k]
    if env:
        e.update(env)
    # A session of its own, so that a hung program and its children can all
    # be killed.
    p = subprocess.Popen(cmd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return None, "timeout", None
    return out.decode(errors="replace"), err.decode(errors="replace"), p.returncode


FIELD = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')


def parse_int(v):
    return int(v, 16) if v.startswith("0x") else int(v)


def dump(path, stacks=False):
    out, err, rc = run([A.exectrace, "dump"] + (["--stacks"] if stacks else []) + [path])
    evs, stk = [], {}
    if rc != 0:
        diag("dump %s failed: %s" % (path, err))
        return evs, stk
    for line in out.splitlines():
        if line.startswith("stack "):
            sid, frames = line[6:].split(":", 1)
            stk[int(sid)] = frames.split()
            continue
        parts = line.split(None, 3)
        if len(parts) < 3:
            continue
        rest = parts[3] if len(parts) > 3 else ""
        f = {}
        for k, v in FIELD.findall(rest):
            f[k] = v
        evs.append({"t": int(parts[0]), "tid": int(parts[1]), "kind": parts[2], "f": f,
                    "signal": rest.endswith("[signal]")})
    return evs, stk


def stats(path):
    out, err, rc = run([A.exectrace, "stats", "--json", path])
    if rc != 0:
        diag("stats %s failed: %s" % (path, err))
        return None
    return json.loads(out)


def facts(stderr):
    d = {}
    for line in stderr.splitlines():
        m = re.match(r"^(\w+)=(\S+)$", line)
        if m:
            d.setdefault(m.group(1), []).append(m.group(2))
    return d


def record(mode, trace, extra=(), prog_args=(), timeout=120, env=None):
    return run([A.exectrace, "record", "-o", trace] + list(extra) + ["--", A.prog, mode] +
               list(prog_args), env=env, timeout=timeout)


def same_run(mode, trace, extra=(), prog_args=(), env=None):
    """Runs mode plainly and recorded; checks equal stdout and status."""
    p_out, p_err, p_rc = run([A.prog, mode] + list(prog_args), env=env)
    r_out, r_err, r_rc = record(mode, trace, extra, prog_args, env=env)
    ok(r_rc is not None, "%s: recorded run finished" % mode)
    good = ok(p_out == r_out and p_rc == r_rc,
              "%s: same stdout and exit status with and without record (%s, %s)" % (mode, p_rc, r_rc))
    if not good:
        diag("plain: rc=%s\n%s%s" % (p_rc, p_out, p_err))
        diag("recorded: rc=%s\n%s%s" % (r_rc, r_out, r_err))
    return r_out, r_err, r_rc


def complete(trace, what):
    s = stats(trace)
    ok(s is not None and s["complete"], "%s: the trace is complete (has END)" % what)
    ok(s is not None and s["dropped"] == 0, "%s: no events dropped" % what)
    return s


def blocks(evs, reason, obj=None):
    """Finished waits: (tid, begin, end, object) for block_begin/end pairs."""
    open_, out = {}, []
    for e in evs:
        if e["signal"]:
            continue
        if e["kind"] == "block_begin":
            open_.setdefault(e["tid"], []).append(e)
        elif e["kind"] == "block_end" and open_.get(e["tid"]):
            b = open_[e["tid"]].pop()
            if b["f"]["reason"] == reason and (obj is None or parse_int(b["f"]["object"]) == obj):
                out.append((b["tid"], b["t"], e["t"], parse_int(b["f"]["object"])))
    return out


def wakes(evs, obj):
    return [e for e in evs if e["kind"] == "wake" and parse_int(e["f"]["object"]) == obj]


def check_waits(mode, evs, reason, obj, k, waiter, waker):
    ws = blocks(evs, reason, obj)
    begun = [e for e in evs if e["kind"] == "block_begin" and e["f"]["reason"] == reason and
             parse_int(e["f"]["object"]) == obj]
    ok(len(begun) == k and len(ws) == k,
       "%s: exactly %d %s waits on %#x (%d begun, %d ended)" % (mode, k, reason, obj, len(begun), len(ws)))
    if waiter is not None:
        ok(all(w[0] == waiter for w in ws), "%s: every %s wait is the waiting thread's" % (mode, reason))
    wk = wakes(evs, obj)
    inside = [w for w in ws if any(x["tid"] == waker and w[1] <= x["t"] <= w[2] for x in wk)]
    ok(len(inside) == k, "%s: each %s wait has a wake from the releasing thread %d inside it (%d of %d)"
       % (mode, reason, waker, len(inside), k))
    return wk


def t_threads():
    tr = os.path.join(A.dir, "threads.etrace")
    out, err, rc = same_run("threads", tr)
    s = complete(tr, "threads")
    evs, _ = dump(tr)
    main = s["pid"] if s else 0
    creates = [e for e in evs if e["kind"] == "thread_create"]
    ok(len(creates) == 4 and all(e["tid"] == main for e in creates),
       "threads: 4 thread_create events from the main thread")
    started = {e["tid"] for e in evs if e["kind"] == "thread_start"}
    ok(all(int(e["f"]["child"]) in started for e in creates),
       "threads: each created child's tid starts in the trace")
    ok(all(e["f"].get("stack", "0") != "0" for e in creates), "threads: creations carry stacks")
    tl = {t["tid"]: t for t in s["thread_list"]} if s else {}
    kids = [int(e["f"]["child"]) for e in creates]
    ok(all(k in tl and tl[k]["parent"] == main for k in kids),
       "threads: the reader gives each worker the main thread as parent")
    names = {t["name"] for t in tl.values()}
    ok({"worker-1", "worker-2", "worker-3", "named-out"} <= names,
       "threads: names set by the thread itself and by another thread: %s" % sorted(names))
    joins = [int(x, 16) for x in facts(err).get("join", [])]
    jb = blocks(evs, "join")
    ok(len(joins) == 4 and sorted(b[3] for b in jb) == sorted(joins) and all(b[0] == main for b in jb),
       "threads: 4 join waits by main on the joined threads")
    ok(all(len([w for w in wakes(evs, j) if w["tid"] != main]) == 1 for j in joins),
       "threads: each joined thread wakes its joiner once as it ends")


def t_mutex():
    tr = os.path.join(A.dir, "mutex.etrace")
    out, err, rc = same_run("mutex", tr)
    complete(tr, "mutex")
    evs, _ = dump(tr)
    f = facts(err)
    try:
        mtx, rwl = int(f["mutex"][0], 16), int(f["rwlock"][0], 16)
        holder, waiter = int(f["holder"][0]), int(f["waiter"][0])
    except (KeyError, ValueError):
        ok(False, "mutex: the program reported its objects")
        return
    wk = check_waits("mutex", evs, "mutex", mtx, 5, waiter, holder)
    ok(len(wk) == 5, "mutex: exactly one wake per contended wait, none for 10000 uncontended locks (%d)" % len(wk))
    ok(len(blocks(evs, "mutex")) == 5, "mutex: no other mutex waits")
    wk = check_waits("mutex", evs, "rwlock", rwl, 3, waiter, holder)
    ok(len(wk) == 3, "mutex: exactly one wake per rwlock wait (%d)" % len(wk))
    bb = [e for e in evs if e["kind"] == "block_begin" and e["f"]["reason"] == "mutex"]
    ok(all(e["f"].get("stack", "0") != "0" for e in bb), "mutex: waits carry stacks")


def t_cond():
    tr = os.path.join(A.dir, "cond.etrace")
    out, err, rc = same_run("cond", tr)
    s = complete(tr, "cond")
    evs, _ = dump(tr)
    f = facts(err)
    try:
        cv, cva, sem, bar, main = (int(f["cond"][0], 16), int(f["cond_all"][0], 16),
                                   int(f["sem"][0], 16), int(f["barrier"][0], 16), int(f["main"][0]))
    except (KeyError, ValueError):
        ok(False, "cond: the program reported its objects")
        return
    wk = check_waits("cond", evs, "cond", cv, 4, None, main)
    ok(len(wk) == 4, "cond: 4 wakes on the condition; signals without a waiter record none (%d)" % len(wk))
    wk = check_waits("cond", evs, "sem", sem, 3, None, main)
    ok(len(wk) == 3, "cond: one wake per semaphore post that releases a waiter (%d)" % len(wk))
    ws = blocks(evs, "cond", cva)
    wk = wakes(evs, cva)
    ok(len(ws) == 3 and len(wk) == 3 and all(w["tid"] == main for w in wk),
       "cond: a broadcast to 3 waiters records 3 wakes (%d waits, %d wakes)" % (len(ws), len(wk)))
    ok(all(any(x["t"] >= w[1] and x["t"] <= w[2] for x in wk) for w in ws),
       "cond: the broadcast's wakes fall inside the waits")
    bw = blocks(evs, "barrier", bar)
    ok(len(bw) == 6, "cond: 6 barrier waits (2 threads, 3 rounds): %d" % len(bw))


def t_sleep():
    tr = os.path.join(A.dir, "sleep.etrace")
    out, err, rc = same_run("sleep", tr)
    complete(tr, "sleep")
    ok(out is not None and "errno EINTR, time left yes" in out, "sleep: EINTR and the time left are kept")
    evs, _ = dump(tr)
    sl = blocks(evs, "sleep")
    ok(len(sl) == 9, "sleep: 9 sleep waits (nanosleep 3, clock_nanosleep 2, usleep 2, sleep 1, interrupted 1): %d" % len(sl))
    ok(any(w[2] - w[1] >= 900000 for w in sl), "sleep: a 1 ms sleep lasts about 1 ms in the trace")


NR = {"read": 0, "write": 1, "open": 2, "close": 3, "poll": 7, "pread64": 17, "pwrite64": 18,
      "readv": 19, "writev": 20, "select": 23, "connect": 42, "sendto": 44, "recvfrom": 45,
      "sendmsg": 46, "recvmsg": 47, "fsync": 74, "epoll_wait": 232, "openat": 257,
      "pselect6": 270, "ppoll": 271, "epoll_pwait": 281, "accept4": 288, "fork": 57}


def syscalls(evs):
    """(begin event, result) pairs, matched per thread and stream."""
    open_, out = {}, []
    for e in evs:
        key = (e["tid"], e["signal"])
        if e["kind"] == "syscall_begin":
            open_.setdefault(key, []).append(e)
        elif e["kind"] == "syscall_end" and open_.get(key):
            out.append((open_[key].pop(), int(e["f"]["result"])))
    return out


def t_io():
    tr = os.path.join(A.dir, "io.etrace")
    out, err, rc = same_run("io", tr, prog_args=[A.dir])
    complete(tr, "io")
    ok(out is not None and "errno kept yes; read(-1)=-1 EBADF; close(-1)=-1 EBADF" in out,
       "io: errno kept on success, set on failure")
    evs, _ = dump(tr)
    sc = syscalls(evs)
    ok(len(sc) == len([e for e in evs if e["kind"] == "syscall_begin"]), "io: every system call ends")
    f = facts(err)
    sp0 = int(f.get("sp0", ["-2"])[0])

    def cls(name):
        return {b["f"]["fdclass"] for b, r in sc if int(b["f"]["nr"]) == NR[name]}

    for name in ("sendto", "recvfrom", "sendmsg", "recvmsg", "readv", "writev", "connect", "accept4"):
        ok(cls(name) == {"socket"}, "io: %s recorded with fd class socket (%s)" % (name, cls(name)))
    for name in ("pread64", "pwrite64", "fsync"):
        ok(cls(name) == {"file"}, "io: %s recorded with fd class file (%s)" % (name, cls(name)))
    for name in ("poll", "select", "pselect6", "ppoll", "epoll_wait", "epoll_pwait", "open", "openat"):
        ok(len(cls(name)) > 0, "io: %s recorded" % name)
    ok("pipe" in cls("read") and "pipe" in cls("write") and "socket" in cls("read") and "file" in cls("read"),
       "io: read and write on a pipe, a socket and a file each have their class (%s)" % cls("read"))
    sends = sorted(r for b, r in sc if int(b["f"]["nr"]) == NR["sendto"] and int(b["f"]["fd"]) == sp0)
    ok(sends == [3, 4], "io: send and sendto results are the bytes sent (%s)" % sends)
    bad = [r for b, r in sc if int(b["f"]["nr"]) == NR["read"] and int(b["f"]["fd"]) == -1]
    ok(bad == [-9], "io: read(-1) ends with -EBADF (%s)" % bad)
    ok(all(b["f"].get("stack", "0") != "0" for b, r in sc), "io: system calls carry stacks")


def t_fork():
    for follow in (False, True):
        if follow and A.sanitizer == "thread":
            skip("fork --follow-fork", "TSan in children forked from a multithreaded process")
            continue
        sub = os.path.join(A.dir, "fork-follow" if follow else "fork")
        shutil.rmtree(sub, ignore_errors=True)
        os.makedirs(sub)
        tr = os.path.join(sub, "fork.etrace")
        what = "fork%s" % (" --follow-fork" if follow else "")
        p_out, p_err, p_rc = run([A.prog, "fork"])
        r_out, r_err, r_rc = record("fork", tr, ["--follow-fork"] if follow else [])
        if not ok(p_out == r_out and p_rc == r_rc == 5,
                  "%s: same stdout and exit status (5, from the exec'd image) with and without record" % what):
            diag("plain %s:\n%s%s\nrecorded %s:\n%s%s" % (p_rc, p_out, p_err, r_rc, r_out, r_err))
        complete(tr, what + " (before exec)")
        complete(tr + ".exec1", what + " (the exec'd image)")
        evs, _ = dump(tr)
        forks = [(b, r) for b, r in syscalls(evs) if int(b["f"]["nr"]) == NR["fork"]]
        ok(len(forks) == 11 and all(r > 0 for b, r in forks), "%s: 11 forks recorded with the child's pid" % what)
        ev2, _ = dump(tr + ".exec1")
        ok(len(blocks(ev2, "sleep")) == 1, "%s: the exec'd image's sleep is in its own trace" % what)
        kids = sorted(glob.glob(tr + ".[0-9]*"))
        kids = [k for k in kids if re.search(r"\.\d+$", k)]
        if not follow:
            ok(kids == [], "fork: without --follow-fork, children write no trace (%s)" % kids)
            continue
        pids = sorted(str(r) for b, r in forks)
        ok(sorted(k.rsplit(".", 1)[1] for k in kids) == pids,
           "fork --follow-fork: one trace per child, named FILE.PID (%d)" % len(kids))
        ok(all(stats(k) and stats(k)["complete"] for k in kids), "fork --follow-fork: every child's trace is complete")
        first = os.path.join(sub, "fork.etrace.%s" % forks[0][1]) if forks else ""
        ce = dump(first)[0] if os.path.exists(first) else []
        ok(len(blocks(ce, "sleep")) == 1, "fork --follow-fork: the first child's sleep is in its trace")


def t_signal():
    tr = os.path.join(A.dir, "signal.etrace")
    out, err, rc = same_run("signal", tr)
    complete(tr, "signal")
    ok(out is not None and out.strip().endswith("handlers ran: yes; all drained: yes; errno ok: yes; mask unchanged: yes"),
       "signal: handlers that call write() ran, errno and the signal mask are intact")
    f = facts(err)
    evs, _ = dump(tr)
    try:
        handled, sp = int(f["handled"][0]), int(f["sigpipe"][0])
    except (KeyError, ValueError):
        ok(False, "signal: the program reported its counts")
        return
    w = [e for e in evs if e["kind"] == "syscall_begin" and int(e["f"]["nr"]) == 1 and int(e["f"]["fd"]) == sp]
    ok(len(w) >= handled, "signal: every handler's write is in the trace (%d of %d)" % (len(w), handled))
    diag("signal: %d events from the signal stream" % len([e for e in evs if e["signal"]]))


def t_exit_paths():
    tr = os.path.join(A.dir, "exitthread.etrace")
    out, err, rc = same_run("exitthread", tr)
    ok(rc == 3, "exitthread: exit(3) from a thread is the exit status (%s)" % rc)
    s = complete(tr, "exitthread")
    ok(s is not None and s["threads"] == 5, "exitthread: all 5 threads are in the trace")

    tr = os.path.join(A.dir, "mainexit.etrace")
    if A.sanitizer == "thread":
        skip("mainexit", "TSan's runtime hangs when main calls pthread_exit, traced or not")
    else:
        out, err, rc = same_run("mainexit", tr)
        ok(rc == 0, "mainexit: pthread_exit from main, then the worker ends: exit 0")
        complete(tr, "mainexit")

    tr = os.path.join(A.dir, "cancel.etrace")
    env = None
    if A.sanitizer == "thread":
        # TSan loses track of synchronization in a thread cancelled inside an
        # intercepted blocking call (sleep, here): the thread's key destructors
        # then run with its interceptor state broken, and TSan reports races on
        # data that a release/acquire pair orders.  A dozen-line program with
        # no tracer at all (a key destructor that writes, then stores a flag
        # with release; main reads the flag with acquire, then the data) gets
        # the same report.  So this mode runs under TSan with its reports off;
        # everything below is still checked, and every other mode keeps them.
        diag("cancel: TSan reports are off for this mode (a false positive of TSan's after "
             "cancellation inside sleep, see the comment)")
        env = {"TSAN_OPTIONS": os.environ.get("TSAN_OPTIONS", "") + ":report_bugs=0"}
    out, err, rc = same_run("cancel", tr, env=env)
    complete(tr, "cancel")
    evs, _ = dump(tr)
    per = {}
    for e in evs:
        if e["kind"] in ("block_begin", "block_end", "syscall_begin", "syscall_end"):
            per.setdefault(e["tid"], []).append(e["kind"])
    balanced = all(k.count("block_begin") == k.count("block_end") and
                   k.count("syscall_begin") == k.count("syscall_end") for k in per.values())
    ok(balanced, "cancel: the cancelled threads' waits and system calls are ended")
    cv = int(facts(err).get("cond", ["0"])[0], 16)
    ok(len(blocks(evs, "cond", cv)) == 1 and wakes(evs, cv) == [],
       "cancel: a cancelled waiter no longer counts: later signals record no wake")


def t_recurse():
    tr = os.path.join(A.dir, "recurse.etrace")
    out, err, rc = same_run("recurse", tr)
    complete(tr, "recurse")
    evs, stk = dump(tr, stacks=True)
    dn = int(facts(err).get("devnull", ["-2"])[0])
    w = [e for e in evs if e["kind"] == "syscall_begin" and int(e["f"]["fd"]) == dn and int(e["f"]["nr"]) == 1]
    ok(len(w) == 1 and len(stk.get(int(w[0]["f"]["stack"]), [])) == 32,
       "recurse: the write at depth 20000 has a stack cut at 32 frames")


def t_spin():
    tr = os.path.join(A.dir, "spin.etrace")
    same_run("spin", tr)
    s = complete(tr, "spin")
    n = s["kinds"].get("cpu_sample", 0) if s else 0
    ok(n >= 10, "spin: 0.3 s of CPU at the default 100 Hz gives CPU samples (%d)" % n)
    tr = os.path.join(A.dir, "spin0.etrace")
    record("spin", tr, ["--cpu-hz", "0"])
    s = stats(tr)
    ok(s is not None and s["kinds"].get("cpu_sample", 0) == 0, "spin: --cpu-hz 0 takes no samples")


def t_env():
    plain, _, prc = run([A.prog, "sleep"])
    for var, val in (("EXECTRACE_CPU_HZ", "abc"), ("EXECTRACE_CPU_HZ", "10001"), ("EXECTRACE_BUFFER", "12Q"),
                     ("EXECTRACE_BUFFER", "1K"), ("EXECTRACE_FOLLOW_FORK", "2"), ("EXECTRACE_STACKS", "bogus")):
        tr = os.path.join(A.dir, "env-bad.etrace")
        if os.path.exists(tr):
            os.unlink(tr)
        out, err, rc = run([A.prog, "sleep"], env={"LD_PRELOAD": A.preload, "EXECTRACE_OUT": tr, var: val})
        lines = [l for l in err.splitlines() if l.strip()]
        ok(out == plain and rc == prc and len(lines) == 1 and lines[0].startswith("exectrace: ") and
           var in lines[0] and not os.path.exists(tr),
           "env: %s=%s: one line on stderr, the program runs untraced" % (var, val))
        if len(lines) != 1:
            diag(err)
    tr = os.path.join(A.dir, "nodir", "x.etrace")
    out, err, rc = run([A.prog, "sleep"], env={"LD_PRELOAD": A.preload, "EXECTRACE_OUT": tr})
    lines = [l for l in err.splitlines() if l.strip()]
    ok(out == plain and rc == prc and len(lines) == 1 and lines[0].startswith("exectrace: "),
       "env: an unwritable EXECTRACE_OUT: one line on stderr, the program runs untraced")
    tr = os.path.join(A.dir, "env-dwarf.etrace")
    out, err, rc = run([A.prog, "sleep"], env={"LD_PRELOAD": A.preload, "EXECTRACE_OUT": tr,
                                               "EXECTRACE_STACKS": "dwarf", "EXECTRACE_CPU_HZ": "0"})
    lines = [l for l in err.splitlines() if l.strip()]
    s = stats(tr) if os.path.exists(tr) else None
    # Silent with libunwind; without it, one line and frame-pointer stacks.
    ok(out == plain and (len(lines) == 0 or (len(lines) == 1 and "dwarf" in lines[0])) and
       s and s["complete"],
       "env: EXECTRACE_STACKS=dwarf records (or says in one line it falls back to frame pointers)")
    tr = os.path.join(A.dir, "env-manual.etrace")
    out, err, rc = run([A.prog, "mutex"], env={"LD_PRELOAD": A.preload, "EXECTRACE_OUT": tr,
                                               "EXECTRACE_BUFFER": "8M", "EXECTRACE_CPU_HZ": "1000"})
    s = stats(tr) if os.path.exists(tr) else None
    ok(err.count("exectrace") == 0 and s and s["complete"] and s["kinds"].get("block_begin", 0) > 0,
       "env: LD_PRELOAD by hand with EXECTRACE_BUFFER=8M records a complete trace")


def t_cli():
    def one_line(err):
        return len([l for l in err.splitlines() if l.strip()]) == 1

    tr = os.path.join(A.dir, "cli.etrace")
    for args, desc in (([], "no command"), (["--cpu-hz", "abc", "--", "true"], "--cpu-hz abc"),
                       (["--cpu-hz", "20000", "true"], "--cpu-hz 20000"), (["--stacks", "x", "true"], "--stacks x"),
                       (["--buffer", "1K", "true"], "--buffer 1K"), (["--bogus", "true"], "an unknown option"),
                       (["-o"], "-o without a value")):
        out, err, rc = run([A.exectrace, "record"] + args)
        ok(rc == 2 and one_line(err) and out == "", "cli: %s: one line on stderr, exit 2" % desc)
    out, err, rc = run([A.exectrace, "record", "-o", tr, "--", "/nonexistent/cmd"])
    ok(rc == 127 and one_line(err), "cli: a missing command: one line, exit 127")
    out, err, rc = run([A.exectrace, "record", "-o", os.path.join(A.dir, "no", "dir.etrace"), "--", "true"])
    ok(rc == 1 and one_line(err), "cli: an unwritable trace path: one line, exit 1")
    if A.sanitizer == "thread":
        skip("cli: exit statuses through /bin/sh", "an uninstrumented program cannot load the TSan runtime")
    else:
        out, err, rc = run([A.exectrace, "record", "-o", tr, "--", "sh", "-c", "exit 42"])
        ok(rc == 42 and stats(tr) and stats(tr)["complete"],
           "cli: the command's exit status is record's (42), trace complete")
        out, err, rc = run([A.exectrace, "record", "-o", tr, "--", "sh", "-c", "kill -TERM $$"])
        ok(rc == -15, "cli: a command killed by SIGTERM kills record with SIGTERM (%s)" % rc)
    out, err, rc = run([A.exectrace, "record", "--help"])
    ok(rc == 0 and "usage: exectrace record" in out, "cli: --help")
    cwd = os.path.join(A.dir, "cwd")
    os.makedirs(cwd, exist_ok=True)
    for f in glob.glob(os.path.join(cwd, "*")):
        os.unlink(f)
    p = subprocess.run([A.exectrace, "record", "--cpu-hz=0", "--", A.prog, "sleep"], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ok(p.returncode == 0 and os.listdir(cwd) == ["rec_prog.etrace"],
       "cli: the default trace is CMD's base name + .etrace (%s)" % os.listdir(cwd))


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--exectrace", required=True)
    ap.add_argument("--prog", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--sanitizer", default="none")
    A = ap.parse_args()
    A.prog = os.path.abspath(A.prog)
    A.exectrace = os.path.abspath(A.exectrace)
    A.preload = os.path.abspath(A.preload)
    shutil.rmtree(A.dir, ignore_errors=True)
    os.makedirs(A.dir)
    tests = [t_threads, t_mutex, t_cond, t_sleep, t_io, t_fork, t_signal, t_exit_paths, t_recurse,
             t_spin, t_env, t_cli]
    for t in tests:
        if A.only and A.only not in t.__name__:
            continue
        t()
    sys.exit(done())


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""exectrace events in a real LTTng session, read back by babeltrace2 and by
exectrace itself (issue 7).

A private lttng-sessiond (user space only, lttng_harness.py) and, for each
program, a session with exectrace:* and lttng_ust_statedump:* enabled and
the vtid, vpid and procname contexts; the program records natively at the
same time (EXECTRACE_LTTNG names libexectrace-lttng.so), so the native
trace and the LTTng trace are of the same run:

  e2e       tests/e2e/e2e_counts (8 threads, a known count of every kind;
            its own checks of its native trace must still pass):
            babeltrace2 prints its events with readable fields (text names
            and messages, reasons as enumeration labels, stacks as hex
            addresses), as many of each kind as the native trace holds;
            `exectrace stats --json` on the session directory gives the
            native trace's counts per kind, threads, thread names and pid;
            `exectrace view --screenshot` draws it (a PNG of the asked
            size with a real picture in it).
  waits     lttng_waits (mutex and condition waits of 3:1:2): `exectrace
            pprof --type sync` of both traces, judged by `go tool pprof
            -top`: the same functions on top in the same order, with the
            same shares of the delay (within half a point) and the same
            contention counts.
  record    `exectrace record --lttng -o TRACE -- rec_prog mutex` (the
            preload library, no code changes): the LTTng trace has the
            native trace's counts per kind.
  no session  the daemon runs but no session exists: the program runs,
            says nothing, and records natively as usual.
  missing   EXECTRACE_LTTNG names a file that does not exist: the program
            runs, prints one warning line, records natively as usual.

Nothing is skipped: missing LTTng tools, babeltrace2, Go or the viewer fail
the test (Debian: lttng-tools liblttng-ust-dev babeltrace2 golang-go).
Prints TAP.
"""
import argparse
import collections
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from tap import bail, diag, done, ok  # noqa: E402
import lttng_harness as H  # noqa: E402
from lttng_cli import ok_, run, stats_json  # noqa: E402

A = None  # the arguments

def stats(trace):
    return stats_json(A.exectrace, trace)


def kinds(st):
    return {k: v for k, v in st["kinds"].items() if v} if st else None


def same_kinds(what, native, lt):
    """The LTTng trace's counts per kind equal the native trace's."""
    a, b = kinds(native), kinds(lt)
    good = a is not None and b is not None and a == b
    ok(good, "%s: exectrace stats on the LTTng trace: the native trace's counts per kind (%d kinds, %d events)" % (
        what, len(a or {}), sum((a or {}).values())))
    if not good and a is not None and b is not None:
        for k in sorted(set(a) | set(b)):
            if a.get(k, 0) != b.get(k, 0):
                diag("  %-16s native %d, LTTng %d" % (k, a.get(k, 0), b.get(k, 0)))
    return good


def env_for(sd, **extra):
    e = sd.app_env(**extra)
    for k in list(e):
        if k.startswith("EXECTRACE_") and k not in extra:
            del e[k]
    return e


def traced_run(sd, name, args, **env):
    """Runs args under a fresh session of sd with exectrace:* enabled and the
    provider named by EXECTRACE_LTTNG; (process, session output)."""
    s = sd.session(name)
    s.start()
    p = run(args, env=env_for(sd, EXECTRACE_LTTNG=A.provider, **env))
    s.stop()
    lost = s.discarded()
    ok(lost == 0, "%s: LTTng discarded no event (%d)" % (name, lost))
    out = s.output
    s.destroy()
    return p, out


def own_checks(what, p):
    """The program's own TAP checks (of its native trace) all passed."""
    bad = [l for l in p.stdout.splitlines() if l.startswith("not ok")]
    ok(p.returncode == 0 and not bad, "%s: the program's own checks pass (exit %d)" % (what, p.returncode))
    for l in bad[:20]:
        diag("  " + l)
    if p.returncode != 0:
        diag(p.stderr[-1500:])


# ---- PNG ----

def png_pixels(path):
    """(width, height, rows of bytes per pixel) of an 8-bit, non-interlaced
    RGB or RGBA PNG; None if it is not one."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, idat, ihdr = 8, b"", None
    while pos + 8 <= len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat += body
        pos += 12 + n
    if not ihdr or ihdr[2] != 8 or ihdr[3] not in (2, 6) or ihdr[6] != 0:
        return None
    w, h, bpp = ihdr[0], ihdr[1], 3 if ihdr[3] == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def check_screenshot(what, trace, png):
    # --screenshot draws offscreen, with or without a display (as the
    # viewer's own screenshot test runs it: without one).
    env = dict(os.environ)
    env.pop("DISPLAY", None)
    p = run([A.exectrace, "view", "--screenshot", png, "--size", "1000x600", trace], env=env)
    good = ok_(p.returncode == 0 and os.path.exists(png), "%s: exectrace view --screenshot renders the LTTng trace (exit %d)" % (
        what, p.returncode), p.stderr[-500:])
    if not good:
        return
    px = png_pixels(png)
    ok(px is not None and px[0] == 1000 and px[1] == 600, "%s: a 1000x600 PNG" % what)
    if px is None:
        return
    w, h, bpp, rows = px
    colours = collections.Counter()
    for r in rows[::2]:
        for x in range(0, w * bpp, 2 * bpp):
            colours[r[x:x + 3]] += 1
    total = sum(colours.values())
    background = colours.most_common(1)[0][1]
    ok(len(colours) >= 12 and background / total < 0.9,
       "%s: the picture is not blank: %d colours, %.0f%% not background" % (what, len(colours), 100 - 100.0 * background / total))


# ---- babeltrace2 ----

BT_EVENT = re.compile(r" exectrace:(\w+): ")


def check_babeltrace(what, trace, native):
    p = H.babeltrace2(trace)
    ok_(p.returncode == 0 and "ERROR" not in p.stderr, "%s: babeltrace2 reads the LTTng trace without an error (exit %d)" % (
        what, p.returncode), p.stderr[-800:])
    text = p.stdout
    per = collections.Counter(m.group(1) for m in BT_EVENT.finditer(text))
    want = kinds(native) or {}
    ok(dict(per) == want, "%s: babeltrace2 prints as many exectrace events of each kind as the native trace holds (%d)" % (
        what, sum(per.values())))
    if dict(per) != want:
        for k in sorted(set(per) | set(want)):
            if per.get(k, 0) != want.get(k, 0):
                diag("  %-16s babeltrace2 %d, native %d" % (k, per.get(k, 0), want.get(k, 0)))
    checks = [
        ("a region's name as text", r'exectrace:region_begin: .*\{ task = \d+, name = "step"'),
        ("a thread's name as text", r'exectrace:thread_name: .*name = "worker-3"'),
        ("a log's category and message as text",
         r'exectrace:log: .*category = "progress", .*message = "step 1 of task \d+"'),
        ("a block's reason as an enumeration label", r'exectrace:block_begin: .*reason = \( "mutex" : container = 1 \)'),
        ("a syscall's fd class as an enumeration label", r'exectrace:syscall_begin: .*\( "socket" : container = 1 \)'),
        ("a block's stack as hex addresses", r'exectrace:block_begin: .*stack = \[ \[0\] = 0x[0-9a-fA-F]+, \[1\] = 0x'),
        ("a wake's object in hex", r'exectrace:wake: .*object = 0x[0-9a-fA-F]+'),
        ("the vtid, vpid and procname contexts", r'exectrace:\w+: \{ cpu_id = \d+ \}, \{ vtid = \d+, vpid = %d, procname = "' % (
            native["pid"] if native else 0)),
        ("lttng-ust's statedump (bin_info)", r'lttng_ust_statedump:bin_info: .*path = "[^"]*e2e_counts"'),
    ]
    for desc, rx in checks:
        good = re.search(rx, text) is not None
        ok(good, "%s: babeltrace2 shows %s" % (what, desc))
        if not good:
            kind = re.search(r"(exectrace:\w+|lttng_ust_statedump:\w+)", rx)
            sample = [l for l in text.splitlines() if kind and kind.group(1) + ":" in l][:2]
            for l in sample:
                diag("  " + l[:400])


BT_LINE = re.compile(r"\] \([^)]*\) \S+ (?:exectrace:)?(\w+): (.*)$")


def payloads_by_thread(text, lttng):
    """{thread: [(kind, payload text)]} of a babeltrace2 listing: the thread
    from the vtid context (LTTng) or the packet context's tid (our export);
    the payload is the last brace group of the line."""
    out = collections.defaultdict(list)
    for line in text.splitlines():
        m = BT_LINE.search(line)
        if not m or (lttng and " exectrace:" not in line):
            continue
        tid = re.search(r"\bvtid = (\d+)" if lttng else r"\btid = (\d+)", m.group(2))
        brace = m.group(2).rfind("{ ")
        if tid and brace >= 0:
            out[int(tid.group(1))].append((m.group(1), m.group(2)[brace:]))
    return out


def check_one_description(what, lt, native_path):
    """Our CTF export of the native trace and the LTTng trace of the same run
    print every event's payload the same: one CTF description of the
    catalogue (convert/export/ctf_meta.h, tracer/lttng/exectrace_tp.h)."""
    out = os.path.join(A.dir, what + "-export.ctf")
    shutil.rmtree(out, ignore_errors=True)
    p = run([A.exectrace, "export", "--format", "ctf", "-o", out, native_path])
    if not ok_(p.returncode == 0, "%s: exectrace export --format ctf of the native trace" % what, p.stderr[-500:]):
        return
    ours = payloads_by_thread(H.babeltrace2(out).stdout, False)
    theirs = payloads_by_thread(H.babeltrace2(lt).stdout, True)
    n = sum(len(v) for v in ours.values())
    same = ours.keys() == theirs.keys() and all(ours[t] == theirs[t] for t in ours)
    ok(same and n > 0, "%s: babeltrace2 prints each of the %d events' payloads the same from our CTF export and from LTTng" % (what, n))
    if not same:
        for t in sorted(set(ours) | set(theirs)):
            a, b = ours.get(t, []), theirs.get(t, [])
            for i, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    diag("  thread %d event %d: export %s / lttng %s" % (t, i, x, y))
                    break
            else:
                if len(a) != len(b):
                    diag("  thread %d: export %d events, lttng %d" % (t, len(a), len(b)))


# ---- the runs ----

def check_e2e(sd):
    native_path = os.path.join(A.dir, "e2e.etrace")
    p, lt = traced_run(sd, "e2e", [A.e2e, A.exectrace, native_path])
    own_checks("e2e", p)
    ok_(p.stderr.strip() == "", "e2e: nothing on stderr", p.stderr[-500:])
    native = stats(native_path)
    ok(len(H.trace_dirs(lt)) >= 1, "e2e: the session wrote a CTF trace (%s)" % [os.path.relpath(d, lt) for d in H.trace_dirs(lt)])
    check_babeltrace("e2e", lt, native)
    check_one_description("e2e", lt, native_path)
    st = stats(lt)
    ok(st is not None, "e2e: exectrace stats --json reads the LTTng session directory")
    same_kinds("e2e", native, st)
    if native and st:
        ok(st["events"] == native["events"] and st["threads"] == native["threads"],
           "e2e: the same events (%d, %d) and threads (%d, %d)" % (native["events"], st["events"], native["threads"], st["threads"]))
        names = lambda s: sorted(t["name"] for t in s["thread_list"])  # noqa: E731
        ok(names(st) == names(native), "e2e: the same thread names (%s)" % names(st))
        ok(st["pid"] == native["pid"], "e2e: the same pid (%d, %d)" % (native["pid"], st["pid"]))
        ok(st["dropped"] == 0 and not st["warnings"], "e2e: nothing dropped, no warnings %s" % st["warnings"][:3])
        ok(st["stacks"] > 0 and st["mappings"] > 0, "e2e: stacks (%d) and mappings from the statedump (%d)" % (
            st["stacks"], st["mappings"]))
    check_screenshot("e2e", lt, os.path.join(A.dir, "e2e-lttng.png"))
    return native


def go_env():
    d = os.path.join(A.dir, "go")
    os.makedirs(d, exist_ok=True)
    e = dict(os.environ, GOCACHE=os.path.join(d, "cache"), GOPATH=os.path.join(d, "path"), PPROF_TMPDIR=d,
             GOPROXY="off", GOFLAGS="-mod=mod", GOTOOLCHAIN="local", GOTELEMETRY="off")
    e.setdefault("HOME", d)
    e.pop("DEBUGINFOD_URLS", None)
    return e


TOP_LINE = re.compile(r"^\s*([\d.]+)[a-z]*\s+([\d.]+)%\s+[\d.]+%\s+[\d.]+[a-z]*\s+[\d.]+%\s+(.+?)\s*$")


def top(profile, index):
    """[(function, flat, flat%)] of `go tool pprof -top`, in its order."""
    p = run([A.go, "tool", "pprof", "-top", "-unit=ns", "-nodefraction=0", "-nodecount=1000",
             "-sample_index=" + index, profile], env=go_env())
    if p.returncode != 0:
        diag("go tool pprof -top %s: %s" % (profile, p.stderr[-1000:]))
        return None
    out = []
    for line in p.stdout.splitlines():
        m = TOP_LINE.match(line)
        if m:
            out.append((m.group(3).replace(" (inline)", ""), float(m.group(1)), float(m.group(2))))
    return out


def check_waits(sd):
    native_path = os.path.join(A.dir, "waits.etrace")
    p, lt = traced_run(sd, "waits", [A.waits, native_path])
    ok_(p.returncode == 0, "waits: lttng_waits runs under the session (exit %d)" % p.returncode, p.stderr[-500:])
    measured = dict((k, int(v)) for k, v in (l.split() for l in p.stdout.splitlines() if l.strip()))
    native, st = stats(native_path), stats(lt)
    same_kinds("waits", native, st)
    profiles = {}
    for name, trace in (("native", native_path), ("lttng", lt)):
        prof = os.path.join(A.dir, "waits-sync-%s.pb.gz" % name)
        c = run([A.exectrace, "pprof", "--type", "sync", "-o", prof, trace])
        ok_(c.returncode == 0 and c.stderr == "", "waits: exectrace pprof --type sync on the %s trace (exit %d), no message" % (
            name, c.returncode), c.stderr[-500:])
        profiles[name] = prof
    tn, tl = top(profiles["native"], "delay"), top(profiles["lttng"], "delay")
    ok(tn is not None and tl is not None, "waits: go tool pprof -top reads both profiles")
    if tn is None or tl is None:
        return
    main_n = [f for f in tn if f[2] >= 1.0]
    main_l = [f for f in tl if f[2] >= 1.0]
    diag("native top: %s" % ", ".join("%s %.2f%%" % (f[0], f[2]) for f in main_n))
    diag("LTTng top:  %s" % ", ".join("%s %.2f%%" % (f[0], f[2]) for f in main_l))
    ok([f[0] for f in main_n] == [f[0] for f in main_l] and len(main_n) >= 3,
       "waits: the same top functions in the same order (%s)" % [f[0] for f in main_l])
    ok({"wait_long", "wait_short", "wait_cond"} <= {f[0] for f in main_l},
       "waits: wait_long, wait_short and wait_cond are named in the LTTng trace's profile")
    share_n = {f[0]: f[2] for f in tn}
    share_l = {f[0]: f[2] for f in tl}
    worst = max([abs(share_n.get(f, 0) - share_l.get(f, 0)) for f in share_n.keys() | share_l.keys()] or [99])
    ok(worst <= 0.5, "waits: every function's share of the delay is the same within 0.5 points (worst %.2f)" % worst)
    flat_n = {f[0]: f[1] for f in tn}
    flat_l = {f[0]: f[1] for f in tl}
    for a, b in (("wait_long", "wait_short"), ("wait_cond", "wait_short")):
        rn = flat_n.get(a, 0) / flat_n[b] if flat_n.get(b) else 0
        rl = flat_l.get(a, 0) / flat_l[b] if flat_l.get(b) else 0
        truth = measured.get(a.split("_")[1] + "_ns", 0) / measured["short_ns"] if measured.get("short_ns") else 0
        ok(rn > 0 and abs(rl / rn - 1) <= 0.01,
           "waits: %s : %s is the same in both traces within 1%% (native %.4f, LTTng %.4f; the program measured %.4f)" % (
               a, b, rn, rl, truth))
    cn, cl = top(profiles["native"], "contentions"), top(profiles["lttng"], "contentions")
    ok(cn is not None and cl is not None and {f[0]: f[1] for f in cn} == {f[0]: f[1] for f in cl},
       "waits: the same contentions per function (%s)" % ({f[0]: f[1] for f in (cl or [])}))


def check_record(sd):
    native_path = os.path.join(A.dir, "rec.etrace")
    p, lt = traced_run(sd, "rec", [A.exectrace, "record", "--lttng", "-o", native_path, "--", A.rec_prog, "mutex"])
    ok_(p.returncode == 0, "record --lttng: rec_prog mutex runs under the session (exit %d)" % p.returncode, p.stderr[-800:])
    native, st = stats(native_path), stats(lt)
    ok(native is not None and sum((kinds(native) or {}).values()) > 0, "record --lttng: the native trace is recorded")
    ok(st is not None, "record --lttng: exectrace stats reads the LTTng trace")
    same_kinds("record --lttng", native, st)
    if native and st:
        ok(st["threads"] == native["threads"], "record --lttng: the same threads (%d, %d)" % (native["threads"], st["threads"]))
    # The waits the preload library saw, symbolized from the LTTng trace's
    # statedump as from the native trace's mappings.
    tops = []
    for name, trace in (("native", native_path), ("lttng", lt)):
        prof = os.path.join(A.dir, "rec-sync-%s.pb.gz" % name)
        c = run([A.exectrace, "pprof", "--type", "sync", "-o", prof, trace])
        ok_(c.returncode == 0, "record --lttng: exectrace pprof --type sync on the %s trace (exit %d)" % (name, c.returncode),
            c.stderr[-500:])
        tops.append(top(prof, "delay") or [])
    # (functions with 5% or more: a share near a cut-off may fall either side)
    main_n = [f[0] for f in tops[0] if f[2] >= 5.0]
    main_l = [f[0] for f in tops[1] if f[2] >= 5.0]
    diag("native top: %s" % ", ".join("%s %.2f%%" % (f[0], f[2]) for f in tops[0] if f[2] > 0))
    diag("LTTng top:  %s" % ", ".join("%s %.2f%%" % (f[0], f[2]) for f in tops[1] if f[2] > 0))
    share_n = {f[0]: f[2] for f in tops[0]}
    share_l = {f[0]: f[2] for f in tops[1]}
    worst = max([abs(share_n.get(f, 0) - share_l.get(f, 0)) for f in share_n.keys() | share_l.keys()] or [99])
    ok(main_n and main_n == main_l and worst <= 1.0,
       "record --lttng: the sync profiles have the same top functions (%s) and shares within a point (worst %.2f)" % (
           main_l, worst))


def check_no_session(sd, e2e_native):
    path = os.path.join(A.dir, "nosession.etrace")
    p = run([A.e2e, A.exectrace, path], env=env_for(sd, EXECTRACE_LTTNG=A.provider))
    own_checks("no session", p)
    ok_(p.stderr.strip() == "", "no session: nothing on stderr", p.stderr[-500:])
    st = stats(path)
    ok(st is not None and e2e_native is not None and kinds(st) == kinds(e2e_native),
       "no session: the native trace holds every event, as without LTTng")


def check_missing(sd, e2e_native):
    path = os.path.join(A.dir, "missing.etrace")
    missing = os.path.join(A.dir, "no-such-dir", "libexectrace-lttng.so")
    p = run([A.e2e, A.exectrace, path], env=env_for(sd, EXECTRACE_LTTNG=missing))
    own_checks("missing provider", p)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    ok(len(lines) == 1 and "EXECTRACE_LTTNG" in lines[0],
       "missing provider: one warning line that names EXECTRACE_LTTNG (%s)" % lines[:3])
    st = stats(path)
    ok(st is not None and e2e_native is not None and kinds(st) == kinds(e2e_native),
       "missing provider: the native trace holds every event, as without LTTng")


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--exectrace", required=True)
    ap.add_argument("--e2e", required=True, help="tests/e2e/e2e_counts")
    ap.add_argument("--waits", required=True, help="tests/lttng/lttng_waits")
    ap.add_argument("--rec-prog", required=True, help="tests/record/rec_prog")
    ap.add_argument("--provider", required=True, help="libexectrace-lttng.so")
    ap.add_argument("--dir", required=True, help="scratch directory for the native traces")
    ap.add_argument("--go", default="go")
    A = ap.parse_args()
    shutil.rmtree(A.dir, ignore_errors=True)
    os.makedirs(A.dir)
    if not os.path.exists(A.provider):
        bail("the LTTng provider %s was not built (tracer/lttng/, -Dlttng=enabled)" % A.provider)
    for tool in ("lttng", "lttng-sessiond", "babeltrace2", A.go):
        if shutil.which(tool) is None:
            bail("%s is not installed (apt-get install lttng-tools liblttng-ust-dev babeltrace2 golang-go)" % tool)
    try:
        with H.Lab() as lab:
            sd = lab.sessiond("host")
            e2e_native = check_e2e(sd)
            check_waits(sd)
            check_record(sd)
            check_no_session(sd, e2e_native)
            check_missing(sd, e2e_native)
    except H.LttngError as e:
        bail(str(e))
    return done()


if __name__ == "__main__":
    sys.exit(main())

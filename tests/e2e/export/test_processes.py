#!/usr/bin/env python3
"""End to end: a directory of several CTF traces of several processes, read
as one trace (issue 7: what lttng-relayd collects from several hosts).

  two runs   e2e_export_record records two native traces (two processes,
             two pids); `exectrace export --format ctf` writes each as a CTF
             trace, placed in two host-like folders at different depths.
             `exectrace stats --json DIR` lists both processes with their
             pids, names, threads and events as their native traces say;
             counts per kind, events, threads and tasks add up; every thread
             has its process's pid; `dump DIR` prefixes threads with their
             pid and gives each process's events as its native trace's
             `dump` does, at its wall-clock distance from the earliest start
             (task ids compared modulo 2^32: two recordings number their
             tasks alike, so the later process's are renumbered).
  two hosts  the same export twice, each copy's metadata given its own env
             `hostname`: one pid on two hosts, so every thread id collides;
             the later process's threads become tid + 2^32, in its events
             and its thread fields.
  LTTng      two hand-written CTF traces shaped like LTTng's per-UID buffers
             (event contexts vpid, vtid, procname; env hostname; clocks with
             different UUIDs, as two hosts have), each holding two
             processes, with statedump mappings: four processes named by
             their main thread's procname, a colliding thread id and the
             thread fields that name it renumbered, tasks renumbered,
             identical mappings kept once and overlapping ones of different
             processes reported.
  skipping   a trace babeltrace2 cannot open, among good ones, is skipped
             with a warning; a directory of only such traces is an error.
  alone      a directory that is itself one trace reads as before.

babeltrace2 is not run here (test_export.py does), but libbabeltrace2 must
be there: the reader is built with it.  Prints TAP.
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
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from tap import bail, diag, done, ok  # noqa: E402

A = None
MASK = 0xffffffff


def run(args):
    try:
        return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    except FileNotFoundError:
        bail("cannot run %s" % args[0])


def must(args, what):
    p = run(args)
    if p.returncode != 0:
        diag(p.stderr.decode(errors="replace")[-2000:])
        bail("%s exits 0 (got %d)" % (what, p.returncode))
    return p


def stats(trace):
    return json.loads(must([A.exectrace, "stats", "--json", trace], "exectrace stats --json").stdout.decode("utf-8", "replace"))


def facts(trace):
    p = must([A.record, "--facts", trace], "e2e_export_record --facts")
    return {k: int(v) for k, v in (l.split() for l in p.stdout.decode().splitlines())}


def export(trace, out):
    os.makedirs(os.path.dirname(out), exist_ok=True)
    must([A.exectrace, "export", "--format", "ctf", "-o", out, trace], "exectrace export --format ctf")


def known_kinds(st):
    return collections.Counter({k: v for k, v in st["kinds"].items() if v})


# Values that thread and task renumbering changes: compared modulo 2^32.
RENUMBERED = re.compile(r"\b(parent|child|target|id|task)=(\d+)")


def norm(rest):
    return RENUMBERED.sub(lambda m: "%s=%d" % (m.group(1), int(m.group(2)) & MASK), rest)


def dump_lines(trace):
    """`dump --stacks` event lines, each stack id replaced by its frames (the
    ids of a trace of several processes are not those of each one's)."""
    out = must([A.exectrace, "dump", "--stacks", trace], "exectrace dump --stacks").stdout.decode("utf-8", "replace")
    frames, events = {}, []
    for line in out.splitlines():
        m = re.match(r"^stack (\d+):(.*)$", line)
        if m:
            frames[m.group(1)] = m.group(2).strip()
        elif line:
            events.append(line)
    return [re.sub(r"stack=(\d+)", lambda m: "stack=[%s]" % frames.get(m.group(1), m.group(1)), l) for l in events]


def dump_native(trace, offset):
    """[(time + offset, tid, kind and fields)] of a one-process trace."""
    out = []
    for line in dump_lines(trace):
        parts = line.split(None, 2)
        if len(parts) == 3:
            out.append((int(parts[0]) + offset, int(parts[1]) & MASK, norm(parts[2])))
    return sorted(out)


def dump_multi(trace):
    """{pid: [(time, tid, kind and fields)]} of a trace of several processes, and
    whether every line had the PID/TID form."""
    per, good = collections.defaultdict(list), True
    for line in dump_lines(trace):
        parts = line.split(None, 2)
        m = re.match(r"^(\d+)/(\d+)$", parts[1]) if len(parts) == 3 else None
        if not m:
            good = False
            continue
        per[int(m.group(1))].append((int(parts[0]), int(m.group(2)), parts[2]))
    return per, good


# ---- two runs of a program ----

def check_two_runs(natives):
    d = os.path.join(A.dir, "collect")
    export(natives[0]["path"], os.path.join(d, "host-a", "session-1", "trace"))
    export(natives[1]["path"], os.path.join(d, "host-b", "trace"))
    st = stats(d)
    procs = st.get("processes", [])
    ok(len(procs) == 2, "two runs: stats --json lists two processes (%s)" % procs)
    byp = {p["pid"]: p for p in procs}
    for i, n in enumerate(natives):
        p = byp.get(n["st"]["pid"])
        ok(p is not None and p["name"] == "e2e_export_record" and p["host"] == "",
           "two runs: run %d's process: pid %d, its name, no host (%s)" % (i + 1, n["st"]["pid"], p))
        ok(p is not None and p["events"] == n["st"]["events"] and p["threads"] == n["st"]["threads"],
           "two runs: run %d's events (%s) and threads (%s) are its native trace's (%d, %d)" % (
               i + 1, p and p["events"], p and p["threads"], n["st"]["events"], n["st"]["threads"]))
    a, b = natives[0]["st"], natives[1]["st"]
    want = known_kinds(a) + known_kinds(b)
    ok(known_kinds(st) == want, "two runs: counts per kind are the sum of both runs' (%d kinds)" % len(want))
    if known_kinds(st) != want:
        diag("want %s\ngot  %s" % (dict(want), dict(known_kinds(st))))
    ok(st["events"] == a["events"] + b["events"] and sum(p["events"] for p in procs) == st["events"],
       "two runs: %d events, the processes' add up to them" % st["events"])
    ok(st["threads"] == a["threads"] + b["threads"] and st["tasks"] == a["tasks"] + b["tasks"],
       "two runs: threads (%d) and tasks (%d) add up" % (st["threads"], st["tasks"]))
    ok(st["pid"] == 0 and st["exe"] == "", "two runs: the trace's own pid and exe are 0 and \"\" (several processes)")
    ok(st["dropped"] == 0 and st["complete"] and st["warnings"] == [],
       "two runs: complete, nothing lost, no warning (%s)" % st["warnings"])
    threads = sorted((t["pid"], t["tid"], t["name"], t["events"]) for t in st["thread_list"])
    want_t = sorted((n["st"]["pid"], t["tid"], t["name"], t["events"]) for n in natives for t in n["st"]["thread_list"])
    ok(threads == want_t, "two runs: every thread with its pid, tid, name and events")

    per, good = dump_multi(d)
    ok(good, "two runs: dump writes PID/TID on every line")
    start = min(n["fx"]["wall_start_ns"] for n in natives)
    for i, n in enumerate(natives):
        want_d = dump_native(n["path"], n["fx"]["wall_start_ns"] - start)
        got = sorted((t, tid & MASK, norm(rest)) for t, tid, rest in per.get(n["st"]["pid"], []))
        ok(got == want_d, "two runs: run %d's %d events in dump are its native dump's, %.3f ms after the first start" % (
            i + 1, len(want_d), (n["fx"]["wall_start_ns"] - start) / 1e6))
        if got != want_d:
            for x, y in zip(got, want_d):
                if x != y:
                    diag("multi:  %s\nnative: %s" % (x, y))
                    break
    # Tasks of the two runs stay apart: every task ends, in its own process.
    p = must([A.exectrace, "dump", d], "exectrace dump")
    begins = collections.Counter(int(x) for x in re.findall(rb" task_begin id=(\d+)", p.stdout))
    ends = collections.Counter(int(x) for x in re.findall(rb" task_end id=(\d+)", p.stdout))
    ok(begins == ends and max(begins.values()) == 1 and len(begins) == a["tasks"] + b["tasks"],
       "two runs: %d distinct task ids, each begun and ended once" % len(begins))
    return d


# ---- one pid on two hosts ----

def with_hostname(src, dst, host):
    shutil.copytree(src, dst)
    meta = os.path.join(dst, "metadata")
    text = open(meta, encoding="utf-8", errors="surrogateescape").read()
    text = text.replace("env {\n", 'env {\n\thostname = "%s";\n' % host, 1)
    open(meta, "w", encoding="utf-8", errors="surrogateescape").write(text)


def check_two_hosts(native):
    d = os.path.join(A.dir, "hosts")
    one = os.path.join(A.dir, "one.ctf")
    export(native["path"], one)
    with_hostname(one, os.path.join(d, "h1", "trace"), "h1")
    with_hostname(one, os.path.join(d, "h2", "trace"), "h2")
    st = stats(d)
    n = native["st"]
    procs = st.get("processes", [])
    ok(len(procs) == 2 and {p["host"] for p in procs} == {"h1", "h2"} and all(p["pid"] == n["pid"] for p in procs),
       "two hosts: one pid on two hosts is two processes (%s)" % procs)
    ok(all(p["events"] == n["events"] and p["threads"] == n["threads"] for p in procs),
       "two hosts: each has the native trace's events and threads")
    tids = collections.Counter(t["tid"] for t in st["thread_list"])
    native_tids = {t["tid"] for t in n["thread_list"]}
    renumbered = {t for t in tids if t > MASK}
    ok(max(tids.values()) == 1 and {t & MASK for t in renumbered} == native_tids and len(tids) == 2 * len(native_tids)
       and all(t >> 32 == 1 for t in renumbered),
       "two hosts: thread ids stay unique: one process keeps them, the other's are tid + 2^32")
    ok(st["tasks"] == 2 * n["tasks"] and known_kinds(st) == known_kinds(n) + known_kinds(n),
       "two hosts: twice the tasks and events per kind")
    per, good = dump_multi(d)
    p = must([A.exectrace, "dump", d], "exectrace dump").stdout.decode("utf-8", "replace")
    fields = [int(x) for x in re.findall(r" (?:target|child)=(\d+)", p) if int(x)]
    ok(good and fields and all((x & MASK) in native_tids for x in fields) and any(x > MASK for x in fields),
       "two hosts: wake targets and created children name the renumbered threads too")
    want_d = dump_native(native["path"], 0)
    lines = per.get(n["pid"], [])
    halves = [sorted((t, tid & MASK, norm(rest)) for t, tid, rest in lines if (tid > MASK) == big) for big in (False, True)]
    ok(halves[0] == want_d and halves[1] == want_d,
       "two hosts: each host's events in dump are the native dump's (%d and %d of %d)" % (
           len(halves[0]), len(halves[1]), len(want_d)))


# ---- LTTng-like traces, written by hand ----

TYPES = {"u8": "uint8_t", "u64": "uint64_t", "i64": "int64_t", "str": "string"}

CLASSES = [  # name, fields (name, type; "u64[2]" and "u8[4]" are arrays)
    ("exectrace:thread_start", [("parent", "u64")]),
    ("exectrace:thread_name", [("name", "str")]),
    ("exectrace:wake", [("target", "u64"), ("object", "u64"), ("stack", "u64[2]")]),
    ("exectrace:task_begin", [("id", "u64"), ("parent", "u64"), ("type", "str"), ("stack", "u64[2]")]),
    ("exectrace:task_end", [("id", "u64")]),
    ("exectrace:counter", [("name", "str"), ("value", "i64")]),
    ("lttng_ust_statedump:bin_info", [("baddr", "u64"), ("memsz", "u64"), ("path", "str"), ("is_pic", "u8")]),
    ("lttng_ust_statedump:build_id", [("baddr", "u64"), ("build_id", "u8[4]")]),
]
CLASS_ID = {c[0]: i for i, c in enumerate(CLASSES)}


def field_decl(name, ty):
    if "[" in ty:
        base, n = ty[:-1].split("[")
        return "%s _%s[%s];" % (TYPES[base], name, n)
    return "%s _%s;" % (TYPES[ty], name)


def encode(ty, v):
    if ty == "u8":
        return struct.pack("<B", v)
    if ty == "u64":
        return struct.pack("<Q", v)
    if ty == "i64":
        return struct.pack("<q", v)
    if ty == "str":
        return v.encode() + b"\0"
    if ty == "u64[2]":
        return struct.pack("<QQ", *v)
    if ty == "u8[4]":
        return bytes(v)
    raise ValueError(ty)


def lttng_trace(path, host, events):
    """A CTF trace like LTTng-UST's per-UID buffers: events are (ns, vpid,
    vtid, procname, class, values)."""
    os.makedirs(path)
    tu, cu = uuid.uuid4(), uuid.uuid4()
    meta = ["/* CTF 1.8 */",
            "typealias integer { size = 8; align = 8; signed = false; } := uint8_t;",
            "typealias integer { size = 32; align = 8; signed = false; } := uint32_t;",
            "typealias integer { size = 32; align = 8; signed = true; } := int32_t;",
            "typealias integer { size = 64; align = 8; signed = false; } := uint64_t;",
            "typealias integer { size = 64; align = 8; signed = true; } := int64_t;",
            "trace {\n\tmajor = 1;\n\tminor = 8;\n\tuuid = \"%s\";\n\tbyte_order = le;\n"
            "\tpacket.header := struct {\n\t\tuint32_t magic;\n\t\tuint8_t uuid[16];\n\t\tuint32_t stream_id;\n\t};\n};" % tu,
            "env {\n\thostname = \"%s\";\n\tdomain = \"ust\";\n\ttracer_name = \"lttng-ust\";\n"
            "\ttrace_buffering_scheme = \"uid\";\n};" % host,
            "clock {\n\tname = \"monotonic\";\n\tuuid = \"%s\";\n\tdescription = \"Monotonic Clock\";\n"
            "\tfreq = 1000000000;\n\tprecision = 0;\n\toffset_s = 1700000000;\n\toffset = 0;\n\tabsolute = FALSE;\n};" % cu,
            "typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; } := uint64_clock_t;",
            "stream {\n\tid = 0;\n\tpacket.context := struct {\n\t\tuint64_clock_t timestamp_begin;\n"
            "\t\tuint64_clock_t timestamp_end;\n\t\tuint64_t content_size;\n\t\tuint64_t packet_size;\n"
            "\t\tuint64_t events_discarded;\n\t};\n\tevent.header := struct {\n\t\tuint32_t id;\n"
            "\t\tuint64_clock_t timestamp;\n\t};\n\tevent.context := struct {\n\t\tint32_t _vpid;\n"
            "\t\tint32_t _vtid;\n\t\tstring _procname;\n\t};\n};"]
    for i, (name, fields) in enumerate(CLASSES):
        meta.append("event {\n\tname = \"%s\";\n\tid = %d;\n\tstream_id = 0;\n\tfields := struct {\n%s\n\t};\n};" % (
            name, i, "\n".join("\t\t" + field_decl(f, t) for f, t in fields)))
    open(os.path.join(path, "metadata"), "w").write("\n\n".join(meta) + "\n")
    body = b""
    for ns, vpid, vtid, procname, cls, values in sorted(events, key=lambda e: e[0]):
        body += struct.pack("<IQii", CLASS_ID[cls], ns, vpid, vtid) + procname.encode() + b"\0"
        for (f, ty), v in zip(CLASSES[CLASS_ID[cls]][1], values):
            body += encode(ty, v)
    size = 24 + 40 + len(body)
    ts = [e[0] for e in events]
    pkt = struct.pack("<I16sI", 0xC1FC1FC1, tu.bytes, 0) + struct.pack("<QQQQQ", min(ts), max(ts), size * 8, size * 8, 0)
    open(os.path.join(path, "channel0_0"), "wb").write(pkt + body)


def check_lttng():
    d = os.path.join(A.dir, "lttng")
    S = [0x401000, 0x401100]
    # Host alpha: srv (pid 100: threads 100, 101) and cli (pid 200: thread 200).
    lttng_trace(os.path.join(d, "alpha", "s-20250101", "ust", "uid", "1000", "64-bit"), "alpha", [
        (500, 100, 100, "srv", "lttng_ust_statedump:bin_info", [0x400000, 0x2000, "/usr/bin/srv", 1]),
        (501, 100, 100, "srv", "lttng_ust_statedump:build_id", [0x400000, [1, 2, 3, 4]]),
        (502, 200, 200, "cli", "lttng_ust_statedump:bin_info", [0x7f0000000000, 0x10000, "/lib/libx.so", 1]),
        (1000, 100, 100, "srv", "exectrace:thread_start", [0]),
        (1010, 100, 100, "srv", "exectrace:thread_name", ["srv"]),
        (1050, 200, 200, "cli", "exectrace:thread_start", [0]),
        (1100, 100, 100, "srv", "exectrace:task_begin", [1, 0, "req", S]),
        (1200, 100, 101, "srv-worker", "exectrace:thread_start", [100]),
        (1250, 200, 200, "cli", "exectrace:task_begin", [1, 0, "call", S]),
        (1300, 100, 101, "srv-worker", "exectrace:counter", ["queue", 5]),
        (1500, 100, 100, "srv", "exectrace:wake", [101, 0x5000, S]),
        (1600, 200, 200, "cli", "exectrace:task_end", [1]),
        (1900, 100, 101, "srv-worker", "exectrace:task_end", [1]),
    ])
    # Host beta: srv again (pid 100: threads 100, which alpha has, and 102) and db (pid 300).
    lttng_trace(os.path.join(d, "beta", "s-20250101", "ust", "uid", "1000", "64-bit"), "beta", [
        (600, 100, 100, "srv", "lttng_ust_statedump:bin_info", [0x400000, 0x2000, "/usr/bin/srv", 1]),
        (601, 100, 100, "srv", "lttng_ust_statedump:build_id", [0x400000, [1, 2, 3, 4]]),
        (602, 300, 300, "db", "lttng_ust_statedump:bin_info", [0x7f0000008000, 0x10000, "/lib/liby.so", 1]),
        (2000, 100, 102, "srv-worker", "exectrace:thread_start", [100]),
        (2010, 100, 100, "srv", "exectrace:thread_start", [0]),
        (2050, 300, 300, "db", "exectrace:thread_start", [0]),
        (2100, 100, 100, "srv", "exectrace:task_begin", [1, 0, "req", S]),
        (2150, 100, 100, "srv", "exectrace:wake", [102, 0x5000, S]),
        (2200, 100, 102, "srv-worker", "exectrace:task_end", [1]),
        (2300, 300, 300, "db", "exectrace:counter", ["rows", 7]),
    ])
    st = stats(d)
    procs = {(p["host"], p["pid"]): p for p in st.get("processes", [])}
    want = {("alpha", 100): ("srv", 2, 7), ("alpha", 200): ("cli", 1, 3), ("beta", 100): ("srv", 2, 5),
            ("beta", 300): ("db", 1, 2)}
    got = {k: (p["name"], p["threads"], p["events"]) for k, p in procs.items()}
    ok(got == want, "LTTng: four processes by (host, vpid), named by their main thread's procname, "
       "with their threads and events (%s)" % got)
    tl = {(t["pid"], t["tid"]) for t in st["thread_list"]}
    ok(len(st["thread_list"]) == 6 and {(100, 100), (100, 101), (200, 200), (100, 102), (100, 100 + (1 << 32)),
                                        (300, 300)} == tl,
       "LTTng: beta's thread 100 (alpha's came first) is 100 + 2^32, thread 102 keeps its id (%s)" % sorted(tl))
    ok(st["tasks"] == 3 and st["kinds"]["task_end"] == 3, "LTTng: three tasks, all numbered 1 in their process")
    dump = must([A.exectrace, "dump", d], "exectrace dump").stdout.decode()
    ok(re.search(r"^\s+0 100/100 thread_start parent=0$", dump, re.M) is not None,
       "LTTng: time 0 is the earliest exectrace event of any trace (alpha's srv starting)")
    ok(re.search(r"^\s+1000 100/102 thread_start parent=%d$" % (100 + (1 << 32)), dump, re.M) is not None,
       "LTTng: beta's thread_start, 1000 ns later by the hosts' clocks, names its renumbered creator")
    ok(re.search(r"^\s+500 100/100 wake target=101 ", dump, re.M) and
       re.search(r"^\s+1150 100/%d wake target=102 " % (100 + (1 << 32)), dump, re.M),
       "LTTng: wakes name their own process's threads")
    ids = re.findall(r" task_(begin|end) id=(\d+)", dump)
    begun = sorted(int(i) for k, i in ids if k == "begin")
    ended = sorted(int(i) for k, i in ids if k == "end")
    ok(begun == ended and begun == [1, 1 + (1 << 32), 1 + (2 << 32)],
       "LTTng: task ids stay apart per process and match their ends (%s)" % begun)
    ok(st["mappings"] == 2, "LTTng: the trace's mappings: /usr/bin/srv once, libx.so; liby.so overlaps it (%d)" % st["mappings"])
    ok(len(st["warnings"]) == 1 and "1 executable mapping(s) of different processes overlap" in st["warnings"][0],
       "LTTng: the overlap is reported (%s)" % st["warnings"])
    # One of those traces alone: its two processes.
    st = stats(os.path.join(d, "beta"))
    ok(sorted((p["pid"], p["name"], p["host"]) for p in st["processes"]) == [(100, "srv", "beta"), (300, "db", "beta")]
       and st["mappings"] == 2 and st["warnings"] == [],
       "LTTng: beta alone: two processes by their vpid context, their mappings")
    return d


# ---- damaged collections ----

def check_skipping(collect):
    d = os.path.join(A.dir, "with-broken")
    shutil.copytree(collect, d)
    os.makedirs(os.path.join(d, "host-c", "trace"))
    open(os.path.join(d, "host-c", "trace", "metadata"), "w").write("not CTF metadata\n")
    os.makedirs(os.path.join(d, ".hidden", "trace"))  # not searched
    open(os.path.join(d, ".hidden", "trace", "metadata"), "w").write("not CTF metadata\n")
    os.symlink("..", os.path.join(d, "host-b", "loop"))  # a link back: searched once
    st, base = stats(d), stats(collect)
    ok(st["events"] == base["events"] and len(st["processes"]) == 2,
       "skipping: the good traces read as before (%d events)" % st["events"])
    ok(len(st["warnings"]) == 1 and "host-c/trace is skipped" in st["warnings"][0],
       "skipping: the broken trace is skipped with a warning (%s)" % st["warnings"])
    bad = os.path.join(A.dir, "all-broken")
    for h in ("x", "y"):
        os.makedirs(os.path.join(bad, h))
        open(os.path.join(bad, h, "metadata"), "w").write("not CTF metadata\n")
    p = run([A.exectrace, "stats", bad])
    err = p.stderr.decode(errors="replace").strip().splitlines()
    ok(p.returncode == 1 and len(err) == 1 and "none of the 2 CTF traces under it can be read" in err[0],
       "skipping: only broken traces: exit 1 and one line (%s)" % err[:1])
    none = os.path.join(A.dir, "no-traces", "a", "b")
    os.makedirs(none)
    p = run([A.exectrace, "stats", os.path.dirname(os.path.dirname(none))])
    err = p.stderr.decode(errors="replace").strip().splitlines()
    ok(p.returncode == 1 and len(err) == 1 and "no CTF trace" in err[0],
       "skipping: no trace at all: exit 1 and one line (%s)" % err[:1])


def check_alone(native, collect):
    st = stats(os.path.join(collect, "host-b", "trace"))
    n = native["st"]
    ok(st["pid"] == n["pid"] and st["exe"] == n["exe"] and known_kinds(st) == known_kinds(n) and
       [(p["pid"], p["events"]) for p in st["processes"]] == [(n["pid"], n["events"])],
       "alone: one trace's directory is its one process, as before")
    p = must([A.exectrace, "dump", os.path.join(collect, "host-b", "trace")], "exectrace dump")
    ok(all(re.match(rb"^\s*\d+ \d+ ", l) for l in p.stdout.splitlines()), "alone: dump has no PID/ prefix")


def main():
    global A
    ap = argparse.ArgumentParser()
    for a in ("exectrace", "record", "dir"):
        ap.add_argument("--" + a, required=True)
    A = ap.parse_args()
    shutil.rmtree(A.dir, ignore_errors=True)
    os.makedirs(A.dir)
    natives = []
    for name in ("run1", "run2"):
        path = os.path.join(A.dir, name + ".etrace")
        must([A.record, path], "e2e_export_record")
        natives.append({"path": path, "st": stats(path), "fx": facts(path)})
    ok(natives[0]["st"]["pid"] != natives[1]["st"]["pid"], "two runs have two pids (%d, %d)" % (
        natives[0]["st"]["pid"], natives[1]["st"]["pid"]))
    collect = check_two_runs(natives)
    check_two_hosts(natives[0])
    check_lttng()
    check_skipping(collect)
    check_alone(natives[1], collect)
    return done()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""End to end: `exectrace export` read back by the tools it is for.

Two traces: one recorded through the API by e2e_export_record (every kind
the API and the CPU sampler produce, five threads, wake-ups, regions, GC,
CPU samples) and one written by hand by e2e_export_craft (drop records,
losses known only from END, a 10 s gap, a signal stream, several packets, a
tid above 2^32, an unknown kind with awkward names, odd strings).

  CTF     the real babeltrace2 reads the directory; its text output has the
          events of `exectrace dump`, the same timestamps (every event's ns,
          with --clock-cycles), threads and kinds, counts per kind equal
          `exectrace stats --json`; sink.utils.counter agrees; discarded
          events are reported with the trace's drop counts; --debug-info
          works (event ids are dense); a second export is byte-identical.
  chrome  python's json parses it; counts of each kind of event match the
          model; every "B" has its "E", async begins their ends, flows pair,
          state spans of a thread never overlap.
  folded  lines are well-formed; values add up to the CPU samples' weights
          or the nanoseconds blocked.
  import  exectrace reads the CTF directory back (libbabeltrace2): the same
          counts per kind, threads, losses, and the same `dump` line for
          line, stacks compared by their frames.
  errors  bad arguments, traces and outputs: non-zero exit, one line.

A missing babeltrace2 fails the test (Debian package: babeltrace2).
Prints TAP.
"""
import argparse
import collections
import json
import os
import re
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from tap import bail, diag, done, ok  # noqa: E402


def run(args, **kw):
    try:
        return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240, **kw)
    except FileNotFoundError:
        return None


def must(args, what):
    p = run(args)
    if p is None:
        bail("%s: cannot run %s (for babeltrace2: apt-get install babeltrace2)" % (what, args[0]))
    if p.returncode != 0:
        diag(p.stderr.decode(errors="replace")[-2000:])
        bail("%s exits 0 (got %d)" % (what, p.returncode))
    return p


# ---- reading what exectrace says ----

def stats(exe, trace):
    # stats --json copies bytes of paths as they are; tolerate invalid UTF-8 there.
    return json.loads(must([exe, "stats", "--json", trace], "exectrace stats --json").stdout.decode("utf-8", "replace"))


def dump_events(exe, trace):
    """(ns, tid, kind, signal) of every event, in dump order."""
    out = []
    for line in must([exe, "dump", trace], "exectrace dump").stdout.split(b"\n"):
        parts = line.split(None, 3)
        if len(parts) < 3:
            continue
        out.append((int(parts[0]), int(parts[1]), parts[2].decode(), 1 if line.endswith(b" [signal]") else 0))
    return out


def facts(record, trace):
    p = must([record, "--facts", trace], "e2e_export_record --facts")
    return {k: int(v) for k, v in (l.split() for l in p.stdout.decode().splitlines())}


# ---- CTF ----

BT_LINE = re.compile(rb"^\[(\d+)\] .*? exectrace:(.+?): \{ tid = (\d+), signal = (\d) \}")


def check_ctf(args, name, trace, st, fx, dumped):
    out = os.path.join(args.dir, name + ".ctf")
    shutil.rmtree(out, ignore_errors=True)
    p = run([args.exectrace, "export", "--format", "ctf", "-o", out, trace])
    ok(p.returncode == 0, "%s: export --format ctf exits 0" % name)
    meta = open(os.path.join(out, "metadata")).read()
    ids = [int(i) for i in re.findall(r"event \{\n\tname = .*;\n\tid = (\d+);", meta)]
    ok(sorted(ids) == list(range(len(st["kinds"]))),
       "%s: %d event classes, ids 0..N-1 (one per catalogue kind)" % (name, len(ids)))
    ok(not any(f.startswith(".") for f in os.listdir(args.dir)), "%s: no temporary directory left" % name)

    p = run([args.babeltrace2, "--clock-cycles", out])
    if p is None:
        bail("babeltrace2 is not installed (Debian package babeltrace2)")
    ok(p.returncode == 0, "%s: babeltrace2 reads the CTF trace (exit %d)" % (name, p.returncode))
    if p.returncode != 0:
        diag(p.stderr.decode(errors="replace")[-3000:])
    lines = [l for l in p.stdout.split(b"\n") if l]
    events = []
    for l in lines:
        m = BT_LINE.match(l)
        if m:
            events.append((int(m.group(1)), int(m.group(3)), m.group(2).decode(), int(m.group(4))))
    ok(len(events) == len(lines) == st["events"],
       "%s: babeltrace2 prints %d events (stats: %d, parsed %d)" % (name, len(lines), st["events"], len(events)))
    per_kind = collections.Counter(e[2] for e in events)
    want = {k: v for k, v in st["kinds"].items() if v}
    ok(dict(per_kind) == want, "%s: babeltrace2's events per kind equal stats --json's" % name)
    if dict(per_kind) != want:
        diag("babeltrace2: %s\nstats:      %s" % (dict(per_kind), want))
    same = sorted(events) == sorted(dumped)
    ok(same, "%s: every event's ns, thread, kind and stream equal exectrace dump's" % name)
    if not same:
        a, b = collections.Counter(events), collections.Counter(dumped)
        diag("only in babeltrace2: %s" % list((a - b).items())[:5])
        diag("only in dump: %s" % list((b - a).items())[:5])
    discarded = sum(int(x) for x in re.findall(rb"Tracer discarded (\d+) events", p.stderr))
    ok(discarded == st["dropped"],
       "%s: babeltrace2 reports %d discarded events (stats: %d dropped)" % (name, discarded, st["dropped"]))
    ok(b"may have discarded" not in p.stderr, "%s: no discarded events of unknown count" % name)

    # The default text output, and wall-clock times: the clock's offset is the trace's start.
    p = must([args.babeltrace2, out], "babeltrace2 DIR")
    kinds = collections.Counter(m.group(1).decode() for m in
                                (re.search(rb" exectrace:(.+?): \{ tid = ", l) for l in p.stdout.split(b"\n") if l) if m)
    ok(dict(kinds) == want, "%s: babeltrace2 DIR prints the same events per kind" % name)
    p = must([args.babeltrace2, "--clock-seconds", out], "babeltrace2 --clock-seconds")
    secs = sorted(int(m.group(1)) * 1000000000 + int(m.group(2)) for m in
                  (re.match(rb"^\[(\d+)\.(\d{9})\]", l) for l in p.stdout.split(b"\n") if l) if m)
    ok(secs == sorted(e[0] + fx["wall_start_ns"] for e in dumped),
       "%s: wall-clock times are the trace's wall-clock start + dump's ns" % name)

    p = must([args.babeltrace2, "-c", "src.ctf.fs", "-p", 'inputs=["%s"]' % out, "-c", "sink.utils.counter"],
             "babeltrace2 ... sink.utils.counter")
    counts = re.findall(rb"(\d+) Event messages", p.stdout)
    ok(counts and int(counts[-1]) == st["events"],
       "%s: sink.utils.counter counts %s event messages" % (name, counts[-1].decode() if counts else "no"))

    p = run([args.babeltrace2, "--debug-info", out])
    ok(p.returncode == 0 and len([l for l in p.stdout.split(b"\n") if l]) == st["events"],
       "%s: babeltrace2 --debug-info reads it" % name)

    again = out + "-again"
    shutil.rmtree(again, ignore_errors=True)
    os.mkdir(again)  # an existing empty directory is fine
    must([args.exectrace, "export", "--format", "ctf", "-o", again, trace], "export into an empty directory")
    same = sorted(os.listdir(out)) == sorted(os.listdir(again)) and all(
        open(os.path.join(out, f), "rb").read() == open(os.path.join(again, f), "rb").read()
        for f in os.listdir(out))
    ok(same, "%s: exporting again gives the same files" % name)
    return out


# ---- Chrome ----

def check_chrome(args, name, trace, st, fx):
    out = os.path.join(args.dir, name + ".json")
    p = run([args.exectrace, "export", "--format", "chrome", "-o", out, trace])
    ok(p.returncode == 0, "%s: export --format chrome exits 0" % name)
    try:
        doc = json.load(open(out, encoding="utf-8"))
    except ValueError as e:
        bail("%s: the JSON parses: %s" % (name, e))
    ok(True, "%s: python's json parses the output" % name)
    evs = doc["traceEvents"]
    ok(all(isinstance(e.get("ts"), (int, float)) and "pid" in e and "tid" in e for e in evs if e["ph"] != "M"),
       "%s: every event has pid, tid and a numeric ts" % name)
    ph = collections.Counter(e["ph"] for e in evs)
    k = collections.Counter(st["kinds"])
    ok(ph["X"] == fx["spans"], "%s: one X per state span (%d, model %d)" % (name, ph["X"], fx["spans"]))
    ok(ph["B"] == k["region_begin"] and ph["E"] == ph["B"],
       "%s: one B per region_begin (%d) and as many E (%d)" % (name, ph["B"], ph["E"]))
    inst = k["log"] + k["thread_create"] + k["drop"] + k["cpu_sample"]
    ok(ph["i"] == inst, "%s: instants for logs, thread creations, drops, samples (%d, want %d)" % (name, ph["i"], inst))
    ok(ph["C"] == k["counter"] + k["heap_live"] + k["heap_goal"], "%s: one C per counter and heap event (%d)" % (name, ph["C"]))
    asyncs = fx["tasks"] + k["gc_begin"] + k["gc_phase_begin"] + k["stw_begin"]
    ok(ph["b"] == ph["e"] == asyncs, "%s: async b/e for tasks, collections, phases, pauses (%d/%d, want %d)"
       % (name, ph["b"], ph["e"], asyncs))
    ok(ph["s"] == ph["f"] <= fx["runnable"], "%s: flows: %d starts, %d ends (runnable spans %d)"
       % (name, ph["s"], ph["f"], fx["runnable"]))
    names = [e for e in evs if e["ph"] == "M" and e["name"] == "thread_name"]
    ok(len(names) == fx["threads"] + fx["annotated_threads"],
       "%s: thread names for %d threads and %d region tracks" % (name, fx["threads"], fx["annotated_threads"]))

    # Every B has its E, in order and by name, on its own track.
    stacks, bad = collections.defaultdict(list), 0
    for e in evs:
        if e["ph"] == "B":
            stacks[(e["pid"], e["tid"])].append((e["name"], e["ts"]))
        elif e["ph"] == "E":
            st_ = stacks[(e["pid"], e["tid"])]
            if not st_ or st_[-1][0] != e["name"] or st_[-1][1] > e["ts"]:
                bad += 1
            else:
                st_.pop()
    ok(bad == 0 and not any(stacks.values()), "%s: every B has its E, properly nested" % name)
    opened, bad = collections.Counter(), 0
    for e in evs:
        if e["ph"] in "be":
            key = (e.get("cat"), e.get("id"), e["name"])
            opened[key] += 1 if e["ph"] == "b" else -1
            bad += opened[key] < 0
    ok(bad == 0 and not any(opened.values()), "%s: every async begin has its end" % name)
    starts = {e["id"]: e for e in evs if e["ph"] == "s"}
    ends = {e["id"]: e for e in evs if e["ph"] == "f"}
    ok(set(starts) == set(ends) and len(starts) == ph["s"] and all(ends[i]["ts"] >= starts[i]["ts"] for i in starts),
       "%s: every flow start has one end, not earlier" % name)
    ok(all(starts[i]["tid"] != ends[i]["tid"] for i in starts), "%s: flows go from the waker to another thread" % name)
    spans = collections.defaultdict(list)
    for e in evs:
        if e["ph"] == "X":
            spans[e["tid"]].append((e["ts"], e["dur"]))
    overlap = 0
    for lst in spans.values():
        lst.sort()
        overlap += sum(1 for a, b in zip(lst, lst[1:]) if a[0] + a[1] > b[0] + 1e-6)
    ok(overlap == 0, "%s: a thread's state spans never overlap" % name)
    text = open(out, "rb").read()
    ok(all(len(m) <= 3 for m in re.findall(rb'"ts":\d+\.(\d+)', text)), "%s: times in us with 3 decimals" % name)
    return doc


# ---- folded ----

FOLDED = re.compile(r"^(\[no stack\]|\[stack \d+\]|0x[0-9a-f]+(;0x[0-9a-f]+)*) (\d+)$")


def folded(args, trace, what):
    cmd = [args.exectrace, "export", "--format", "folded", trace]
    if what:
        cmd[4:4] = ["--what", what]
    p = must(cmd, "export --format folded %s" % (what or ""))
    lines = p.stdout.decode().splitlines()
    good = [FOLDED.match(l) for l in lines]
    return lines, all(good), sum(int(m.group(3)) for m in good if m)


def check_folded(args, name, trace, st, fx):
    lines, good, total = folded(args, trace, "block")
    ok(good, "%s: folded block lines are 'frame;frame value'" % name)
    ok(total == fx["blocked_ns"], "%s: folded block adds up to the ns blocked (%d, model %d)" % (name, total, fx["blocked_ns"]))
    lines, good, total = folded(args, trace, "cpu")
    weights = sum(int(w) for w in re.findall(rb" cpu_sample stack=\d+ weight=(\d+)",
                                             must([args.exectrace, "dump", trace], "exectrace dump").stdout))
    ok(good and total == weights and weights > 0,
       "%s: folded cpu adds up to the %d samples' weights (%d ns, want %d)" % (name, st["kinds"]["cpu_sample"], total, weights))
    auto, _, _ = folded(args, trace, None)
    ok(auto == lines, "%s: the default is cpu when the trace has samples" % name)


# ---- errors ----

def dump_by_frames(exe, trace):
    """`dump --stacks` lines with each stack id replaced by its frames."""
    out = must([exe, "dump", "--stacks", trace], "exectrace dump --stacks").stdout.decode("utf-8", "replace")
    frames = {}
    events = []
    for line in out.splitlines():
        m = re.match(r"^stack (\d+):(.*)$", line)
        if m:
            frames[m.group(1)] = m.group(2).strip()
        elif line and line[0] in " 0123456789":
            events.append(line)
    return sorted(re.sub(r"stack=(\d+)", lambda m: "stack=[%s]" % frames.get(m.group(1), m.group(1)), l)
                  for l in events)


def check_import(args, name, trace, st):
    out = os.path.join(args.dir, name + ".import.ctf")
    shutil.rmtree(out, ignore_errors=True)
    must([args.exectrace, "export", "--format", "ctf", "-o", out, trace], "exectrace export --format ctf")
    back = stats(args.exectrace, out)
    known = [k for k in back["kinds"]]
    same = {k: (st["kinds"].get(k, 0), back["kinds"][k]) for k in known if st["kinds"].get(k, 0) != back["kinds"][k]}
    ok(not same, "import %s: the CTF directory reads back with the same counts per kind (differ: %s)" % (name, same))
    ok(back["events"] == sum(st["kinds"].get(k, 0) for k in known),
       "import %s: %d events, those of every kind exectrace knows" % (name, back["events"]))
    a, b = dump_by_frames(args.exectrace, trace), dump_by_frames(args.exectrace, out)
    unknown = collections.Counter(int(l.split()[1]) for l in a if l.split()[2] not in back["kinds"])
    th = lambda s, less: sorted((t["tid"], t["name"], t["events"] - less.get(t["tid"], 0), t["dropped"])
                                for t in s["thread_list"])
    ok(th(back, {}) == th(st, unknown), "import %s: the same threads, names, losses and events per thread "
       "(less those of unknown kinds)" % name)
    ok(back["dropped"] == st["dropped"], "import %s: the same losses (%d, %d)" % (name, back["dropped"], st["dropped"]))
    a = [l for l in a if l.split()[2] in back["kinds"]]
    ok(a == b, "import %s: dump gives the same %d lines, times, fields and stacks (%d of unknown kinds left out)"
       % (name, len(a), sum(unknown.values())))
    empty = os.path.join(args.dir, "empty.dir")
    os.makedirs(empty, exist_ok=True)
    p = run([args.exectrace, "stats", empty])
    err = p.stderr.decode(errors="replace").strip().splitlines()
    ok(p.returncode == 1 and len(err) == 1 and "not a CTF trace" in err[0],
       "import: a directory without a CTF trace: exit 1 and one line (%s)" % (err[:1],))
    if a != b:
        for x, y in zip(a, b):
            if x != y:
                diag("native:   " + x)
                diag("imported: " + y)
                break


def check_errors(args, trace):
    d = args.dir
    garbage = os.path.join(d, "garbage.etrace")
    open(garbage, "wb").write(b"this is not a trace at all\n" * 10)
    empty = os.path.join(d, "empty.etrace")
    open(empty, "wb").close()
    full = os.path.join(d, "full-dir")
    os.makedirs(full, exist_ok=True)
    open(os.path.join(full, "x"), "w").close()
    afile = os.path.join(d, "a-file")
    open(afile, "w").close()
    # A directory is read as CTF traces, searched recursively: this one has none.
    notrace = os.path.join(d, "no-trace-dir")
    os.makedirs(os.path.join(notrace, "sub", "subsub"), exist_ok=True)
    open(os.path.join(notrace, "sub", "not-metadata"), "w").close()
    cases = [
        ("missing trace", ["--format", "chrome", "-o", os.path.join(d, "m.json"), os.path.join(d, "missing.etrace")], 1),
        ("corrupt trace", ["--format", "folded", garbage], 1),
        ("empty trace", ["--format", "chrome", empty], 1),
        ("trace is a directory without CTF traces", ["--format", "folded", notrace], 1),
        ("unknown format", ["--format", "svg", trace], 2),
        ("no format", [trace], 2),
        ("no trace", ["--format", "chrome"], 2),
        ("two traces", ["--format", "chrome", trace, trace], 2),
        ("unknown option", ["--format", "chrome", "--frobnicate", trace], 2),
        ("ctf without -o", ["--format", "ctf", trace], 2),
        ("--what for chrome", ["--format", "chrome", "--what", "cpu", trace], 2),
        ("--what bogus", ["--format", "folded", "--what", "gpu", trace], 2),
        ("output in a missing directory", ["--format", "chrome", "-o", os.path.join(d, "no/such/dir/x.json"), trace], 1),
        ("output is a directory", ["--format", "chrome", "-o", d, trace], 1),
        ("ctf output not empty", ["--format", "ctf", "-o", full, trace], 1),
        ("ctf output is a file", ["--format", "ctf", "-o", afile, trace], 1),
        ("ctf output in a missing directory", ["--format", "ctf", "-o", os.path.join(d, "no/such/out"), trace], 1),
    ]
    for what, argv, status in cases:
        p = run([args.exectrace, "export"] + argv)
        err = p.stderr.decode(errors="replace")
        one = err.count("\n") == 1 and err.startswith("exectrace")
        ok(p.returncode == status and one and not p.stdout,
           "error: %s: exit %d and one line (%s)" % (what, p.returncode, err.strip()))
    ok(os.listdir(full) == ["x"], "error: a refused CTF export leaves the directory alone")
    ok(not os.path.exists(os.path.join(d, "m.json")), "error: no output file is left when the trace is missing")
    if os.path.exists("/dev/full") and stat.S_ISCHR(os.stat("/dev/full").st_mode):
        p = run([args.exectrace, "export", "--format", "chrome", "-o", "/dev/full", trace])
        err = p.stderr.decode(errors="replace")
        # The message names the write error (usually "No space left on device").
        ok(p.returncode == 1 and err.count("\n") == 1 and "/dev/full" in err,
           "error: a full device gives one line (%s)" % err.strip())
        ok(stat.S_ISCHR(os.stat("/dev/full").st_mode), "error: the failed output device is left in place")
    p = run([args.exectrace, "export", "--help"])
    ok(p.returncode == 0 and b"--format" in p.stdout, "export --help exits 0 and shows the options")


# ---- damaged and odd traces ----

def check_corpus(args):
    """The reader's fuzz seeds and crash fixtures: whatever survived in them
    exports, and the CTF still reads with every event."""
    files = sorted(os.path.join(d, f) for d in args.corpus for f in os.listdir(d) if f.endswith(".etrace"))
    ok(len(files) > 0, "corpus: %d damaged or odd traces" % len(files))
    for f in files:
        name = os.path.basename(f)
        out = os.path.join(args.dir, "corpus.ctf")
        shutil.rmtree(out, ignore_errors=True)
        dumped = run([args.exectrace, "dump", f]).stdout.count(b"\n")
        e = run([args.exectrace, "export", "--format", "ctf", "-o", out, f])
        b = run([args.babeltrace2, out]) if e.returncode == 0 else None
        read = b is not None and b.returncode == 0 and len([l for l in b.stdout.split(b"\n") if l]) == dumped
        c = run([args.exectrace, "export", "--format", "chrome", "-o", out + ".json", f])
        try:
            parsed = c.returncode == 0 and json.load(open(out + ".json", encoding="utf-8")) is not None
        except ValueError:
            parsed = False
        fo = run([args.exectrace, "export", "--format", "folded", f])
        ok(read and parsed and fo.returncode == 0,
           "corpus: %s: babeltrace2 reads its %d events, the JSON parses, folded works" % (name, dumped))
        if not read and b is not None:
            diag(b.stderr.decode(errors="replace")[-1500:])


def main():
    ap = argparse.ArgumentParser()
    for a in ("exectrace", "babeltrace2", "record", "craft", "dir"):
        ap.add_argument("--" + a, required=True)
    ap.add_argument("--corpus", action="append", default=[])
    args = ap.parse_args()
    shutil.rmtree(args.dir, ignore_errors=True)
    os.makedirs(args.dir)

    recorded = os.path.join(args.dir, "recorded.etrace")
    crafted = os.path.join(args.dir, "crafted.etrace")
    must([args.record, recorded], "e2e_export_record")
    must([args.craft, crafted], "e2e_export_craft")
    if shutil.which(args.babeltrace2) is None:
        bail("babeltrace2 not found (%s): apt-get install babeltrace2" % args.babeltrace2)

    for name, trace in (("recorded", recorded), ("crafted", crafted)):
        st = stats(args.exectrace, trace)
        fx = facts(args.record, trace)
        dumped = dump_events(args.exectrace, trace)
        if name == "recorded":
            missing = [k for k, v in st["kinds"].items() if v == 0 and k != "drop"]
            ok(not missing, "recorded: every kind but drop is in the trace (missing: %s)" % missing)
            ok(st["dropped"] == 0 and st["complete"], "recorded: complete, nothing dropped")
        else:
            ok(st["kinds"]["drop"] > 0 and st["dropped"] > st["kinds"]["drop"],
               "crafted: drop records, and losses known only from END")
        check_ctf(args, name, trace, st, fx, dumped)
        check_chrome(args, name, trace, st, fx)
        check_folded(args, name, trace, st, fx)
        check_import(args, name, trace, st)
    check_errors(args, recorded)
    check_corpus(args)
    return done()


if __name__ == "__main__":
    sys.exit(main())

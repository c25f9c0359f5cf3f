#!/usr/bin/env python3
"""Real servers from Debian under `exectrace record`, with real load generators.

  memcached  (and once more with --stacks dwarf: its waits and CPU samples
             unwind through libevent's event_base_loop to libc's start_thread)
             4 worker threads on 127.0.0.1, memcslap as the load, recorded with
             --http 127.0.0.1:0: a 1 s live capture over HTTP (curl) while the
             load runs, then SIGTERM.  The trace and the capture load; every
             worker thread has events in both; cpu and net profiles load in
             `go tool pprof -raw`, carry memcached's build ID and name libc's
             functions.
  nginx      a master and 2 worker processes (recorded with --follow-fork: one
             trace per process), wrk as the load.  Every worker's trace loads
             and holds its accepts, reads and writes on sockets; the net
             profile loads in go tool pprof.

The servers listen on 127.0.0.1 at ports the kernel picked free (port 0 on a
probe socket).  The packages (memcached, libmemcached-tools, nginx-light, wrk,
curl, golang-go) are installed by scripts/setup.sh; a missing one fails the
test.  Prints TAP.
"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import bail, diag, done, free_port, ok, wait_port  # noqa: E402

import time

def stop(proc):
    """SIGTERM to record (which passes it on to the server); its exit status."""
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def run(args, timeout=120, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kw)


def stats(exe, trace):
    p = run([exe, "stats", "--json", trace])
    if p.returncode != 0:
        diag(p.stderr.decode(errors="replace"))
        return None
    return json.loads(p.stdout.decode("utf-8", "replace"))


def build_id(path):
    """The GNU build ID of an ELF file, from `readelf -n`."""
    p = run(["readelf", "-n", path])
    m = re.search(rb"Build ID: ([0-9a-f]+)", p.stdout)
    return m.group(1).decode() if m else None


def profile(args, trace, typ, out):
    p = run([args.exectrace, "pprof", "--type", typ, "-o", out, trace])
    if p.returncode != 0:
        diag(p.stderr.decode(errors="replace"))
        return None, None
    raw = run([args.go, "tool", "pprof", "-raw", out])
    top = run([args.go, "tool", "pprof", "-top", out])
    if raw.returncode != 0:
        diag(raw.stderr.decode(errors="replace")[-1500:])
        return None, None
    return raw.stdout.decode(errors="replace"), top.stdout.decode(errors="replace")


def check_memcached(args):
    port = free_port()
    trace = os.path.join(args.dir, "memcached.etrace")
    live = os.path.join(args.dir, "memcached-live.etrace")
    err = open(os.path.join(args.dir, "memcached.err"), "w+")
    rec = subprocess.Popen([args.exectrace, "record", "-o", trace, "--http", "127.0.0.1:0", "--",
                            "memcached", "-u", "root", "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                            "-t", "4", "-c", "1024"], stdout=subprocess.DEVNULL, stderr=err)
    try:
        up = wait_port(port)
        ok(up, "memcached: listening on 127.0.0.1:%d under exectrace record" % port)
        endpoint = None
        for _ in range(200):
            err.seek(0)
            m = re.search(r"/debug/pprof/ on (http://127\.0\.0\.1:\d+)/", err.read())
            if m:
                endpoint = m.group(1)
                break
            time.sleep(0.05)
        ok(endpoint is not None, "memcached: record --http prints the endpoint (%s)" % endpoint)
        # The load, with a 1 s capture over HTTP in the middle of it.
        load = subprocess.Popen(["memcslap", "--servers=127.0.0.1:%d" % port, "--concurrency=8",
                                 "--execute-number=20000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.3)
        cap = run(["curl", "-sS", "-f", "-o", live, "%s/debug/pprof/trace?seconds=1" % endpoint], timeout=60) \
            if endpoint else None
        out, lerr = load.communicate(timeout=300)
        ok(load.returncode == 0, "memcached: memcslap ran its load (%s)" %
           " ".join(out.decode(errors="replace").split()[-3:]))
        ok(cap is not None and cap.returncode == 0, "memcached: curl got a 1 s capture over HTTP")
    finally:
        rc = stop(rec)
    ok(rc == 0, "memcached: exits 0 on SIGTERM, and record with it (%d)" % rc)

    st = stats(args.exectrace, trace)
    if not ok(st is not None and st["complete"], "memcached: the trace loads and is complete"):
        return
    workers = [t for t in st["thread_list"] if t["name"] == "mc-worker"]
    ok(len(workers) == 4 and all(t["events"] > 100 for t in workers),
       "memcached: each of the 4 worker threads has events (%s)" % [t["events"] for t in workers])
    ok(st["dropped"] == 0, "memcached: nothing dropped (%d)" % st["dropped"])
    ok(st["kinds"]["syscall_begin"] > 10000 and st["kinds"]["cpu_sample"] > 0,
       "memcached: system calls (%d) and CPU samples (%d)" % (st["kinds"]["syscall_begin"], st["kinds"]["cpu_sample"]))

    lst = stats(args.exectrace, live) if os.path.exists(live) else None
    if ok(lst is not None and lst["complete"], "memcached: the HTTP capture loads and is complete"):
        dur = lst["duration_ns"] / 1e9
        ok(0.9 <= dur <= 1.1, "memcached: the capture spans 1 s (%.3f s)" % dur)
        busy = [t for t in lst["thread_list"] if t["events"] > 100 and t["name"] == "mc-worker"]
        ok(len(busy) >= 4, "memcached: the capture shows the named worker threads at work (%s)" %
           sorted((t["name"], t["events"]) for t in lst["thread_list"]))

    bid = build_id(shutil.which("memcached"))
    for typ in ("cpu", "net"):
        raw, top = profile(args, trace, typ, os.path.join(args.dir, "memcached.%s.pb.gz" % typ))
        if not ok(raw is not None, "memcached: the %s profile loads in go tool pprof -raw" % typ):
            continue
        ok(bid is not None and re.search(r"/usr/bin/memcached %s" % bid, raw) is not None,
           "memcached: %s: the mapping of the stripped binary carries its build ID (%s)" % (typ, bid))
        names = set(re.findall(r"^\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(.+)$", top, re.M))
        if typ == "cpu":  # samples land in libc's code too
            libc = [n for n in names if re.search(r"sendmsg|recv|read|write|epoll_wait|__libc|pthread|memcmp|memcpy", n)]
            ok(libc, "memcached: cpu: the profile names libc's functions (%s)" % sorted(libc)[:5])
        else:  # waits are charged to the program's call of the libc function, not to our wrapper
            leaves = re.findall(r"^\s+\d+\s+\d+: (\d+)", raw, re.M)
            locs = dict(re.findall(r"^\s+(\d+): 0x[0-9a-f]+ M=(\d+)", raw, re.M))
            in_mc = [l for l in leaves if locs.get(l) == "1"]
            ok(leaves and len(in_mc) == len(leaves) and "sys_begin" not in top,
               "memcached: net: every wait's stack starts in memcached's own code (%d of %d)" % (len(in_mc), len(leaves)))
        diag("\n".join(top.splitlines()[:14]))


def check_memcached_dwarf(args):
    """--stacks dwarf: the stripped server's waits unwind through libevent and libc."""
    port = free_port()
    trace = os.path.join(args.dir, "memcached-dwarf.etrace")
    rec = subprocess.Popen([args.exectrace, "record", "-o", trace, "--stacks", "dwarf", "--",
                            "memcached", "-u", "root", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "4"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ok(wait_port(port), "memcached --stacks dwarf: listening")
        load = run(["memcslap", "--servers=127.0.0.1:%d" % port, "--concurrency=8", "--execute-number=5000"],
                   timeout=300)
        ok(load.returncode == 0, "memcached --stacks dwarf: memcslap ran its load")
    finally:
        rc = stop(rec)
    err = rec.stderr.read().decode(errors="replace")
    ok(rc == 0 and "fp" not in err, "memcached --stacks dwarf: exits 0, recorded with dwarf stacks (%s)" % err.strip())
    raw, top = profile(args, trace, "net", os.path.join(args.dir, "memcached-dwarf.net.pb.gz"))
    ok(raw is not None and "event_base_loop" in (top or "") and "start_thread" in (top or ""),
       "memcached --stacks dwarf: the net profile names libevent's event_base_loop and libc's start_thread")
    if top:
        diag("\n".join(top.splitlines()[6:16]))
    raw, top = profile(args, trace, "cpu", os.path.join(args.dir, "memcached-dwarf.cpu.pb.gz"))
    ok(raw is not None and "event_base_loop" in (top or "") and "start_thread" in (top or ""),
       "memcached --stacks dwarf: CPU samples unwind through libevent's event_base_loop to start_thread")


NGINX_CONF = """
daemon off;
master_process on;
worker_processes 2;
pid %(dir)s/nginx.pid;
error_log %(dir)s/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %(dir)s/nginx-tmp;
  proxy_temp_path %(dir)s/nginx-tmp;
  fastcgi_temp_path %(dir)s/nginx-tmp;
  uwsgi_temp_path %(dir)s/nginx-tmp;
  scgi_temp_path %(dir)s/nginx-tmp;
  server {
    listen 127.0.0.1:%(port)d;
    location / { return 200 "hello from nginx\\n"; }
  }
}
"""


def check_nginx(args):
    port = free_port()
    conf = os.path.join(args.dir, "nginx.conf")
    os.makedirs(os.path.join(args.dir, "nginx-tmp"), exist_ok=True)
    with open(conf, "w") as f:
        f.write(NGINX_CONF % {"dir": args.dir, "port": port})
    trace = os.path.join(args.dir, "nginx.etrace")
    for f in os.listdir(args.dir):
        if f.startswith("nginx.etrace"):
            os.unlink(os.path.join(args.dir, f))
    rec = subprocess.Popen([args.exectrace, "record", "--follow-fork", "-o", trace, "--", "nginx", "-c", conf,
                            "-p", args.dir], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ok(wait_port(port), "nginx: listening on 127.0.0.1:%d under exectrace record --follow-fork" % port)
        load = run(["wrk", "-t", "2", "-c", "16", "-d", "2s", "http://127.0.0.1:%d/" % port], timeout=60)
        m = re.search(rb"Requests/sec:\s+([0-9.]+)", load.stdout)
        ok(load.returncode == 0 and m is not None, "nginx: wrk ran its load (%s requests/s)" %
           (m.group(1).decode() if m else "?"))
    finally:
        rc = stop(rec)
    ok(rc == 0, "nginx: exits 0 on SIGTERM, and record with it (%d)" % rc)
    files = sorted(f for f in os.listdir(args.dir) if re.match(r"nginx\.etrace\.\d+$", f))
    per = []
    for f in files:
        st = stats(args.exectrace, os.path.join(args.dir, f))
        per.append((f, st))
    workers = [(f, st) for f, st in per if st and st["kinds"].get("syscall_begin", 0) > 1000]
    ok(len(files) >= 2 and len(workers) >= 2,
       "nginx: every worker process wrote a trace of its own with its system calls (%s)" %
       [(f, st["kinds"].get("syscall_begin", 0) if st else None) for f, st in per])
    ok(all(st is not None and st["complete"] for f, st in per), "nginx: every process's trace loads and is complete")
    if workers:
        f, st = max(workers, key=lambda w: w[1]["kinds"]["syscall_begin"])
        raw, top = profile(args, os.path.join(args.dir, f), "net", os.path.join(args.dir, "nginx.net.pb.gz"))
        ok(raw is not None and "nginx" in raw, "nginx: a worker's net profile loads in go tool pprof, nginx mapped")
        if top:
            diag("\n".join(top.splitlines()[:12]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exectrace", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--go", default="go")
    args = ap.parse_args()
    args.exectrace = os.path.abspath(args.exectrace)
    args.dir = os.path.abspath(args.dir)
    os.environ["PATH"] = os.environ.get("PATH", "/usr/bin:/bin") + ":/usr/sbin:/sbin"  # nginx
    shutil.rmtree(args.dir, ignore_errors=True)
    os.makedirs(args.dir)
    for tool, pkg in (("memcached", "memcached"), ("memcslap", "libmemcached-tools"), ("nginx", "nginx-light"),
                      ("wrk", "wrk"), ("curl", "curl"), ("readelf", "binutils"), (args.go, "golang-go")):
        if shutil.which(tool) is None:
            bail("%s is missing: apt-get install %s (scripts/setup.sh does)" % (tool, pkg))
    check_memcached(args)
    check_memcached_dwarf(args)
    check_nginx(args)
    return done()


if __name__ == "__main__":
    sys.exit(main())

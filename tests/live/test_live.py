#!/usr/bin/env python3
"""Live capture end to end (TAP): a real server process (live_server) with the
endpoint on 127.0.0.1:0, driven with curl, raw sockets and go tool pprof.

usage: test_live.py LIVE_SERVER EXECTRACE [--quick]
Needs curl; the pprof checks need `go` (skipped without it).
"""
import json, os, shutil, socket, subprocess, sys, tempfile, threading, time

server_bin, exectrace = sys.argv[1], sys.argv[2]
quick = "--quick" in sys.argv
n = 0
failed = 0


def ok(cond, what, extra=""):
    global n, failed
    n += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n, what))
    if not cond:
        failed += 1
        if extra:
            for line in str(extra).splitlines()[:20]:
                print("#   " + line)
    sys.stdout.flush()
    return cond


def skip(what, why):
    global n
    n += 1
    print("ok %d - %s # SKIP %s" % (n, what, why))


class Server:
    def __init__(self, *args, env=None):
        e = dict(os.environ)
        if env:
            e.update(env)
        self.p = subprocess.Popen([server_bin, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=e)
        self.ops = []  # (time, total)
        self.lines = []
        self.cv = threading.Condition()
        self.port = None
        line = self.p.stdout.readline()
        if line.startswith("PORT "):
            self.port = int(line.split()[1])
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.cv:
                if line.startswith("OPS "):
                    self.ops.append((time.monotonic(), int(line.split()[1])))
                else:
                    self.lines.append(line.strip())
                self.cv.notify_all()

    def command(self, cmd, prefix, timeout=30):
        with self.cv:
            start = len(self.lines)
            self.p.stdin.write(cmd + "\n")
            self.p.stdin.flush()
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                for l in self.lines[start:]:
                    if l.startswith(prefix):
                        return l
                self.cv.wait(0.2)
        return None

    def rate(self, t0, t1):
        """Rounds per second between two monotonic times."""
        with self.cv:
            pts = [p for p in self.ops if t0 <= p[0] <= t1]
        if len(pts) < 2:
            return 0.0
        return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        try:
            self.p.stdin.write("quit\n")
            self.p.stdin.flush()
            self.p.wait(20)
        except Exception:
            self.p.kill()
            self.p.wait()


def url(srv, path):
    return "http://127.0.0.1:%d%s" % (srv.port, path)


def curl(srv, path, out=None, extra=()):
    args = ["curl", "-s", "-m", "60", "-o", out or "/dev/null", "-w", "%{http_code}", *extra, url(srv, path)]
    r = subprocess.run(args, capture_output=True, text=True)
    return r.stdout.strip()


def curl_body(srv, path, extra=()):
    r = subprocess.run(["curl", "-s", "-m", "30", "-w", "\n%{http_code}", *extra, url(srv, path)],
                       capture_output=True, text=True)
    body, _, code = r.stdout.rpartition("\n")
    return code, body


def stats(path):
    r = subprocess.run([exectrace, "stats", "--json", path], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr
    return json.loads(r.stdout), r.stderr


tmp = tempfile.mkdtemp(prefix="etlive-")
srv = Server("--flight", str(4 << 20))
ok(srv.port is not None and srv.port > 0, "the server prints the endpoint's port", srv.p.stderr)
if srv.port is None:
    print("1..%d" % n)
    sys.exit(1)
time.sleep(1.0)

# --- one capture ---
t1 = os.path.join(tmp, "one.etrace")
code = curl(srv, "/debug/pprof/trace?seconds=1", t1)
ok(code == "200", "trace?seconds=1 answers 200", code)
st, err = stats(t1)
ok(st is not None and st["complete"] and st["events"] > 1000, "the 1 s capture loads, complete, with events",
   err if st is None else st)
if st:
    d = st["duration_ns"] / 1e9
    ok(0.9 <= d <= 1.1, "the capture spans 1 s +-10%% (%.3f s)" % d)
    ok(st["tasks"] > 10 and st["kinds"]["block_begin"] > 0, "it holds the server's tasks and lock waits")
    ok(not st["warnings"], "it loads without warnings", st["warnings"])

# --- two overlapping captures ---
a, b = os.path.join(tmp, "a.etrace"), os.path.join(tmp, "b.etrace")
res = {}
ta = threading.Thread(target=lambda: res.__setitem__("a", curl(srv, "/debug/pprof/trace?seconds=2", a)))
ta.start()
time.sleep(0.5)
res["b"] = curl(srv, "/debug/pprof/trace?seconds=1", b)
ta.join()
sa, _ = stats(a)
sb, _ = stats(b)
ok(res.get("a") == "200" and res.get("b") == "200", "two overlapping captures both answer 200", res)
ok(sa and sb and sa["complete"] and sb["complete"], "both are complete traces (header, definitions, END)")
if sa and sb:
    ok(1.8 <= sa["duration_ns"] / 1e9 <= 2.2 and 0.9 <= sb["duration_ns"] / 1e9 <= 1.1,
       "each spans its own window (%.3f s, %.3f s)" % (sa["duration_ns"] / 1e9, sb["duration_ns"] / 1e9))

# --- the other paths ---
code, body = curl_body(srv, "/debug/pprof/")
ok(code == "200" and "trace?seconds" in body and "flight" in body and "cmdline" in body,
   "the index lists the paths")
code, body = curl_body(srv, "/debug/pprof/cmdline")
ok(code == "200" and "live_server" in body, "cmdline names the program")
f = os.path.join(tmp, "flight.etrace")
ok(curl(srv, "/debug/pprof/flight", f) == "200", "flight answers 200")
sf, err = stats(f)
ok(sf and sf["complete"] and sf["events"] > 1000, "the flight window loads, complete", err)

# --- bad requests ---
for q, want in [("seconds=-1", "400"), ("seconds=abc", "400"), ("seconds=1e12", "400"),
                ("seconds=100000", "400"), ("seconds=", "400"), ("seconds=0", "400")]:
    code, body = curl_body(srv, "/debug/pprof/trace?" + q)
    ok(code == want and body.count("\n") <= 1 and body, "trace?%s answers %s with one line" % (q, want),
       (code, body))
code, _ = curl_body(srv, "/debug/pprof/nothing")
ok(code == "404", "an unknown path answers 404", code)
code, _ = curl_body(srv, "/elsewhere")
ok(code == "404", "a path outside /debug/pprof answers 404", code)
code, _ = curl_body(srv, "/debug/pprof/trace", ("-X", "POST", "-d", "x"))
ok(code == "405", "POST answers 405", code)
code, _ = curl_body(srv, "/debug/pprof/trace", ("-X", "DELETE"))
ok(code == "405", "DELETE answers 405", code)

# --- bad clients, with the server's pace measured ---
time.sleep(0.5)
t0 = time.monotonic()
time.sleep(2.0)
base = srv.rate(t0, time.monotonic())
b0 = time.monotonic()


def big_header():
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall(b"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\nX-Big: ")
        chunk = b"a" * 65536
        sent = 0
        while sent < (1 << 20):
            s.sendall(chunk)
            sent += len(chunk)
        s.sendall(b"\r\n\r\n")
        data = s.recv(4096)
    except (ConnectionResetError, BrokenPipeError, socket.timeout):
        data = b"<cut>"
    s.close()
    return data


hdr = big_header()
ok(hdr == b"<cut>" or hdr.startswith(b"HTTP/1.1 431") or hdr.startswith(b"HTTP/1.1 413") or hdr == b"",
   "a 1 MiB header is refused or cut off", hdr[:80])

# 200 parallel connections, each asking for the index.
results = []


def one_conn(i):
    try:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=15)
        s.sendall(b"GET /debug/pprof/cmdline HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            data += d
        s.close()
        results.append("ok" if data.startswith(b"HTTP/1.1 200") else "refused")
    except Exception as e:
        results.append("refused")


ths = [threading.Thread(target=one_conn, args=(i,)) for i in range(200)]
for t in ths:
    t.start()
for t in ths:
    t.join(30)
ok(len(results) == 200 and results.count("ok") >= 1,
   "200 parallel connections: each answered or refused (%d answered)" % results.count("ok"))

# A client that sends half a request and waits is cut off (10 s timeout).
s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
s.sendall(b"GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\n")
start = time.monotonic()
try:
    d = s.recv(4096)
except (ConnectionResetError, socket.timeout):
    d = b"<timeout>"
waited = time.monotonic() - start
s.close()
ok(d != b"<timeout>" and waited < 20, "a half request is cut off after %.1f s" % waited, d[:80])
bad = srv.rate(b0, time.monotonic())
ok(srv.alive(), "the server is still up")
# Bound: the server's own rounds go on at least at half their pace during the
# bad clients (2 cores shared by 4 busy workers, the clients and this script).
ok(base > 0 and bad >= 0.5 * base, "the server's pace holds: %.0f rounds/s before, %.0f during bad clients"
   % (base, bad))
code = curl(srv, "/debug/pprof/trace?seconds=1", os.path.join(tmp, "after.etrace"))
sa, _ = stats(os.path.join(tmp, "after.etrace"))
ok(code == "200" and sa and sa["complete"], "captures still work after the bad clients")

# --- flight recorder: memory bound over a long run, and a slow request ---
line = srv.command("stats", "FLIGHT")
f0 = line.split() if line else None
run = 8 if quick else 30
time.sleep(run)
line = srv.command("stats", "FLIGHT")
f1 = line.split() if line else None
if f0 and f1:
    bytes1, maxb, dropped, rss0, rss1 = int(f1[1]), int(f1[2]), int(f1[3]), int(f0[5]), int(f1[5])
    ok(0 < bytes1 <= maxb == (4 << 20), "the ring holds %d bytes of at most %d" % (bytes1, maxb))
    ok(dropped > 0, "it dropped old chunks (%d) over the run" % dropped)
    ok(rss1 - rss0 < 4096, "RSS grew %d KiB over %d s more of recording (bound 4 MiB)" % (rss1 - rss0, run))
else:
    ok(False, "flight stats", (f0, f1))
snap = os.path.join(tmp, "slow.etrace")
line = srv.command("slow " + snap, "SLOW")
ok(line is not None and line.split()[2] == "0", "a snapshot right after the slow request is written", line)
if line:
    tid = line.split()[1]
    d = subprocess.run([exectrace, "dump", snap], capture_output=True, text=True)
    begin = [l for l in d.stdout.splitlines() if "task_begin id=%s " % tid in l]
    end = [l for l in d.stdout.splitlines() if "task_end id=%s" % tid in l and l.endswith("id=" + tid)]
    ok(len(begin) == 1 and len(end) == 1 and 'type="slow"' in begin[0],
       "the snapshot holds the slow request whole (task %s begin and end)" % tid, d.stderr)
    if begin and end:
        dur = (int(end[0].split()[0]) - int(begin[0].split()[0])) / 1e9
        ok(0.29 <= dur <= 1.0, "and its 300 ms (%.3f s)" % dur)

# --- pprof over HTTP ---
if shutil.which("go"):
    env = dict(os.environ, PPROF_TMPDIR=tmp, HOME=tmp)
    r = subprocess.run(["go", "tool", "pprof", "-raw", url(srv, "/debug/pprof/profile?seconds=1")],
                       capture_output=True, text=True, env=env)
    ok(r.returncode == 0 and "busy_function" in r.stdout,
       "go tool pprof -raw profile?seconds=1 names busy_function", r.stderr[-800:])
    for kind in ("mutex", "block"):
        r = subprocess.run(["go", "tool", "pprof", "-raw", url(srv, "/debug/pprof/%s?seconds=1" % kind)],
                           capture_output=True, text=True, env=env)
        ok(r.returncode == 0 and "locked_section" in r.stdout,
           "go tool pprof -raw %s?seconds=1 names locked_section" % kind, r.stderr[-800:])
else:
    skip("go tool pprof profile", "no go")
srv.stop()
ok(srv.p.returncode == 0, "the server exits cleanly", srv.p.stderr.read()[-2000:])

# --- security defaults ---
s2 = Server("--addr", "0.0.0.0:0", env={"EXECTRACE_HTTP_TOKEN": ""})
ok(s2.port is None, "a non-loopback address without a token is refused")
s2.p.stdin.close()
s2.p.wait()
tok = "s3cret-token-123"
s3 = Server(env={"EXECTRACE_HTTP_TOKEN": tok})
code, body = curl_body(s3, "/debug/pprof/cmdline")
ok(code == "401" and body, "with a token set, a request without it answers 401", (code, body))
code, _ = curl_body(s3, "/debug/pprof/cmdline", ("-H", "Authorization: Bearer wrong"))
ok(code == "401", "a wrong token answers 401", code)
code, _ = curl_body(s3, "/debug/pprof/cmdline", ("-H", "Authorization: Bearer " + tok))
ok(code == "200", "Authorization: Bearer TOKEN is accepted", code)
code, _ = curl_body(s3, "/debug/pprof/cmdline?token=" + tok)
ok(code == "200", "?token=TOKEN is accepted", code)
s3.stop()
s4 = Server("--addr", "0.0.0.0:0", env={"EXECTRACE_HTTP_TOKEN": tok})
ok(s4.port is not None, "a non-loopback address with a token starts")
if s4.port:
    code, _ = curl_body(s4, "/debug/pprof/cmdline")
    ok(code == "401", "and asks for the token", code)
s4.stop()

shutil.rmtree(tmp, ignore_errors=True)
print("1..%d" % n)
sys.exit(1 if failed else 0)

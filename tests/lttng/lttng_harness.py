"""Private LTTng daemons for the tests and benchmarks (tests/lttng/,
tests/bench/bench_lttng.py): session daemons, sessions and a relay daemon
that touch nothing of the machine's own LTTng and leave nothing running.

Isolation.  LTTng keeps a daemon's sockets in its run directory, and where
that is depends only on the user:
  root      /var/run/lttng, always (LTTNG_HOME changes nothing: the session
            daemon, the lttng command and lttng-ust all use the global paths
            for uid 0);
  others    $LTTNG_HOME/.lttng (LTTNG_HOME defaults to HOME).
So under root (CI runs tests as root in a container) the daemons and the
`lttng` commands run as an unprivileged user (nobody, uid/gid 65534) with
LTTNG_HOME set to a fresh temporary directory of their own: the session
daemon's client socket, its application socket (lttng-ust-sock-8), its
consumer daemons' sockets, its lock and pid files all live in
$LTTNG_HOME/.lttng, and nothing is shared with a system session daemon or
with another test's daemon (each also gets its own agent TCP port, and the
`lttng` commands run with --no-sessiond, so they never spawn a daemon).
The lab's directory must be reachable by that user: under a TMPDIR that is
not, it goes to /tmp.  Not under root, the same without changing user.
(A private mount namespace over /var/run/lttng would also do, but needs
CAP_SYS_ADMIN, which containers often lack.)

Traced programs run as the test's own user (root) with LTTNG_HOME set to the
daemon's home (`SessionDaemon.app_env()`): lttng-ust registers an
application with the session daemon of $LTTNG_HOME/.lttng/lttng-ust-sock-8
(its "local" daemon) as well as with the root daemon of /var/run/lttng if
there is one (lttng-ust offers no way out of that), which records nothing
of ours unless a session there enabled our events; our daemons see only
the programs started with their LTTNG_HOME.  Per-user buffers of a root
program end up in OUTPUT/ust/uid/0/64-bit.  lttng-ust's statedump
(lttng_ust_statedump:*: bin_info, build_id, ...) is written when a program
registers while a session with those events is active.

Timing.  The session daemon runs in the foreground, as our child (so its
pid is known and it is reaped), and is ready once `lttng list` succeeds;
its pid file ($LTTNG_HOME/.lttng/lttng-sessiond.pid) must name it.  A
program's lttng-ust waits at start-up (LTTNG_UST_REGISTER_TIMEOUT ms, 3000
by default; app_env() makes it 20000 for loaded CI machines) until the
daemon has registered it and told it which events are enabled, so its
first events are recorded; a provider loaded later with dlopen registers
its events synchronously.  `lttng stop` waits until the consumer has
written every buffer (do not pass --no-wait).  The relay daemon runs in the
foreground (Popen) and is ready when its three ports accept connections.

Clean-up.  Every daemon is stopped when its Lab exits, on an exception, on
SIGTERM (meson's timeout) and at interpreter exit: the sessions are
destroyed, the daemons get SIGTERM, then SIGKILL after 10 s; consumer
daemons are found by their command line, which names our run directory, and
killed by pid.  The temporary directory is removed unless the Lab was told
to keep it (keep=True or ET_LTTNG_KEEP=1 in the environment).
"""
import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tap import diag, free_port  # noqa: E402

SESSIOND = "lttng-sessiond"
RELAYD = "lttng-relayd"
LTTNG = "lttng"

# What the tests enable by default: our events and lttng-ust's statedump
# (mappings and build IDs for symbols), with the thread, process and name.
DEFAULT_EVENTS = ("exectrace:*", "lttng_ust_statedump:*")
DEFAULT_CONTEXTS = ("vtid", "vpid", "procname")


class LttngError(Exception):
    """An LTTng command or daemon that did not do what it should."""


def _daemon_user():
    """(uid, gid) to run the daemons as: nobody under root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    except KeyError:
        return 65534, 65534


def _others_can_enter(path):
    """True if every directory from / to path lets other users through."""
    path = os.path.realpath(path)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except OSError:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _pids_mentioning(text):
    """Pids of the processes whose command line contains text (our run
    directory: the consumer daemons a session daemon spawned)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid() and text in _cmdline(int(d)):
            out.append(int(d))
    return out


def _kill_and_wait(pids, timeout=10.0):
    """SIGTERM, then SIGKILL whatever still runs after timeout seconds."""
    pids = [p for p in pids if p and _pid_alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except OSError:
            pass
    end = time.time() + timeout
    while time.time() < end and any(_pid_alive(p) for p in pids):
        for p in pids:  # reap our own children (the relay daemon)
            try:
                os.waitpid(p, os.WNOHANG)
            except OSError:
                pass
        time.sleep(0.05)
    for p in pids:
        if _pid_alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
            try:
                os.waitpid(p, 0)
            except OSError:
                pass
    return [p for p in pids if _pid_alive(p)]


class Lab:
    """Owns the daemons of one test and its temporary directory:

        with Lab() as lab:
            sd = lab.sessiond("host1")
            s = sd.session("s", events=DEFAULT_EVENTS)
            s.start(); subprocess.run([...], env=sd.app_env()); s.stop()
            ... s.output ...
    """

    def __init__(self, keep=None, base=None):
        self.keep = keep if keep is not None else os.environ.get("ET_LTTNG_KEEP") == "1"
        self.user = _daemon_user()
        if self.user and not _others_can_enter(base or tempfile.gettempdir()):
            base = "/tmp"  # the daemons' user must reach their directories
        self.dir = tempfile.mkdtemp(prefix="et-lttng-", dir=base)
        os.chmod(self.dir, 0o755)
        self._own(self.dir)
        self.daemons = []
        self.failed = False
        self._closed = False
        atexit.register(self.close)
        self._old_term = signal.getsignal(signal.SIGTERM)
        if self._old_term in (signal.SIG_DFL, None):
            signal.signal(signal.SIGTERM, _exit_on_term)

    def _own(self, path):
        if self.user:
            os.chown(path, self.user[0], self.user[1])

    def mkdir(self, name):
        """A directory in the lab that the daemons may write."""
        p = os.path.join(self.dir, name)
        os.makedirs(p, exist_ok=True)
        os.chmod(p, 0o755)
        self._own(p)
        return p

    def sessiond(self, name="host", verbose=False):
        d = SessionDaemon(self, name, verbose)
        self.daemons.append(d)
        d.start()
        return d

    def relayd(self, name="relayd", verbose=False):
        d = RelayDaemon(self, name, verbose)
        self.daemons.append(d)
        d.start()
        return d

    def run_as_daemon_user(self, args, env, timeout=120, log=None):
        """Runs an LTTng program as the daemons' user with env; returns the
        CompletedProcess (stdout and stderr as text)."""
        kw = {}
        if self.user:
            kw = dict(user=self.user[0], group=self.user[1], extra_groups=[])
        return subprocess.run(args, env=env, cwd=self.dir, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              universal_newlines=True, errors="replace", **kw)

    def close(self):
        """Stops every daemon (relay daemons last: sessions flush to them)
        and removes the directory unless kept or something failed to stop."""
        if self._closed:
            return
        self._closed = True
        left = []
        for d in sorted(self.daemons, key=lambda d: isinstance(d, RelayDaemon)):
            try:
                left += d.stop()
            except Exception as e:  # never let one daemon keep the others alive
                diag("lttng harness: stopping %s: %s" % (d.name, e))
        if left:
            diag("lttng harness: could not stop pids %s" % left)
        if self.keep or self.failed:
            diag("lttng harness: kept %s" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
        try:
            atexit.unregister(self.close)
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is not None and not issubclass(et, SystemExit):
            self.failed = True
        self.close()
        return False


def _exit_on_term(signum, frame):
    # meson's timeout: run the finally blocks and atexit handlers.
    sys.exit(128 + signum)


class SessionDaemon:
    """A private lttng-sessiond (user space only) with its own LTTNG_HOME."""

    def __init__(self, lab, name, verbose=False):
        self.lab = lab
        self.name = name
        self.verbose = verbose
        self.home = lab.mkdir("home-" + name)
        self.rundir = os.path.join(self.home, ".lttng")
        self.pid = None
        self.proc = None
        self.agent_port = free_port()
        self.log = os.path.join(lab.dir, "sessiond-%s.log" % name)
        self.sessions = []

    def env(self):
        """The environment of the daemon and of its `lttng` commands."""
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home,
                "LTTNG_HOME": self.home, "LC_ALL": "C"}

    def app_env(self, base=None, **extra):
        """The environment for a traced program: base (default os.environ)
        with LTTNG_HOME pointing at this daemon, a long registration wait,
        and extra (a value None removes the variable)."""
        e = dict(os.environ if base is None else base)
        e["LTTNG_HOME"] = self.home
        e["LTTNG_UST_REGISTER_TIMEOUT"] = "20000"
        for k, v in extra.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = str(v)
        return e

    def start(self):
        # In the foreground, as our child: its pid is known and we reap it.
        args = [SESSIOND, "--no-kernel", "--agent-tcp-port=%d" % self.agent_port]
        if self.verbose:
            args += ["-vvv", "--verbose-consumer"]
        kw = {}
        if self.lab.user:
            kw = dict(user=self.lab.user[0], group=self.lab.user[1], extra_groups=[])
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(args, env=self.env(), cwd=self.home, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, **kw)
        self.pid = self.proc.pid
        # Ready once it answers a client.
        end = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise LttngError("%s: lttng-sessiond exited %d: %s" % (
                    self.name, self.proc.returncode, open(self.log).read()[-2000:]))
            if os.path.exists(os.path.join(self.rundir, "client-lttng-sessiond")) and \
                    self.lttng("list", check=False).returncode == 0:
                break
            if time.time() > end:
                raise LttngError("%s: lttng-sessiond does not answer after 30 s: %s" % (
                    self.name, open(self.log).read()[-2000:]))
            time.sleep(0.05)
        pidfile = os.path.join(self.rundir, "lttng-sessiond.pid")
        if not os.path.exists(pidfile) or int(open(pidfile).read().split()[0]) != self.pid:
            raise LttngError("%s: %s does not name our daemon %d" % (self.name, pidfile, self.pid))
        if not os.path.exists(os.path.join(self.rundir, "lttng-ust-sock-8")):
            raise LttngError("%s: no application socket in %s" % (self.name, self.rundir))

    def lttng(self, *args, check=True, timeout=120):
        """Runs `lttng ARGS...` against this daemon; its CompletedProcess.
        With check, a non-zero exit raises LttngError."""
        p = self.lab.run_as_daemon_user([LTTNG, "--no-sessiond"] + list(args), self.env(), timeout=timeout)
        if check and p.returncode != 0:
            raise LttngError("%s: lttng %s exited %d: %s%s" % (
                self.name, " ".join(args), p.returncode, p.stdout[-1000:], p.stderr[-2000:]))
        return p

    def session(self, name, output=None, url=None, ctrl_url=None, data_url=None, live=None,
                events=DEFAULT_EVENTS, contexts=DEFAULT_CONTEXTS, channel_args=None):
        """Creates a session writing to output (default: a fresh directory in
        the lab), or streaming to url (net://127.0.0.1:CTRL:DATA) or
        ctrl_url and data_url; enables events (user space) and adds contexts.
        channel_args: options of `lttng enable-channel -u` for a channel
        "chan" of our own (say ["--subbuf-size=8M", "--num-subbuf=4"]), else
        the default channel.  Not started."""
        s = Session(self, name)
        args = ["create", name]
        if url:
            args.append("--set-url=" + url)
        elif ctrl_url or data_url:
            args += ["--ctrl-url=" + ctrl_url, "--data-url=" + data_url]
        else:
            s.output = output or os.path.join(self.lab.mkdir("traces-" + self.name), name)
            args.append("--output=" + s.output)
        if live is not None:
            args.append("--live=%d" % live)
        self.lttng(*args)
        self.sessions.append(s)
        chan = []
        if channel_args is not None:
            self.lttng("enable-channel", "-u", "-s", name, *channel_args, "chan")
            chan = ["-c", "chan"]
        for ev in events:
            self.lttng("enable-event", "-u", "-s", name, *chan, ev)
        if contexts:
            ctx = []
            for c in contexts:
                ctx += ["-t", c]
            self.lttng("add-context", "-u", "-s", name, *chan, *ctx)
        return s

    def stop(self):
        """Destroys the sessions, stops the daemon and its consumers; the
        pids that would not die."""
        if self.pid and _pid_alive(self.pid):
            try:
                self.lttng("destroy", "--all", check=False, timeout=60)
            except subprocess.TimeoutExpired:
                pass
        pids = [self.pid] if self.pid else []
        left = _kill_and_wait(pids)
        if self.proc:
            try:
                self.proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
        # Consumer daemons name their sockets in our run directory.
        left += _kill_and_wait(_pids_mentioning(self.rundir + "/"))
        self.pid = None
        return left


class Session:
    def __init__(self, sessiond, name):
        self.sessiond = sessiond
        self.name = name
        self.output = None  # local sessions: the trace directory
        self.active = False

    def start(self):
        self.sessiond.lttng("start", self.name)
        self.active = True

    def stop(self):
        """Stops tracing; returns once every buffer is written."""
        self.sessiond.lttng("stop", self.name)
        self.active = False

    def destroy(self):
        self.sessiond.lttng("destroy", self.name)
        self.sessiond.sessions.remove(self)

    def list(self):
        """`lttng list SESSION`: channels, events, discarded event counts."""
        return self.sessiond.lttng("list", self.name).stdout

    def discarded(self):
        """Events lost in this session's channels (from `lttng list`)."""
        n = 0
        for line in self.list().splitlines():
            line = line.strip()
            if line.startswith("Discarded events:"):
                n += int(line.split(":")[1])
        return n


class RelayDaemon:
    """A private lttng-relayd on 127.0.0.1, ports picked free, writing to a
    directory of the lab (output: OUTPUT/HOSTNAME/SESSION-DATE-TIME/...)."""

    def __init__(self, lab, name, verbose=False):
        self.lab = lab
        self.name = name
        self.verbose = verbose
        self.home = lab.mkdir("home-" + name)
        self.output = lab.mkdir(name + "-output")
        self.log = os.path.join(lab.dir, "%s.log" % name)
        self.proc = None
        self.ctrl = self.data = self.live = None

    @property
    def url(self):
        return "net://127.0.0.1:%d:%d" % (self.ctrl, self.data)

    @property
    def ctrl_url(self):
        return "tcp://127.0.0.1:%d" % self.ctrl

    @property
    def data_url(self):
        return "tcp://127.0.0.1:%d" % self.data

    def start(self, tries=3):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.home, "LTTNG_HOME": self.home,
               "LC_ALL": "C"}
        kw = {}
        if self.lab.user:
            kw = dict(user=self.lab.user[0], group=self.lab.user[1], extra_groups=[])
        for attempt in range(tries):
            # free_port() leaves a small window in which another test may take
            # the port: then the daemon exits and we try other ports.
            self.ctrl, self.data, self.live = free_port(), free_port(), free_port()
            if len({self.ctrl, self.data, self.live}) < 3:
                continue
            args = [RELAYD, "--control-port=tcp://127.0.0.1:%d" % self.ctrl,
                    "--data-port=tcp://127.0.0.1:%d" % self.data,
                    "--live-port=tcp://127.0.0.1:%d" % self.live,
                    "--output=" + self.output]
            if self.verbose:
                args.append("-vvv")
            log = open(self.log, "a")
            self.proc = subprocess.Popen(args, env=env, cwd=self.home, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, **kw)
            log.close()
            end = time.time() + 15
            ready = False
            while time.time() < end and self.proc.poll() is None:
                if all(_accepts(p) for p in (self.ctrl, self.data, self.live)):
                    ready = True
                    break
                time.sleep(0.05)
            if ready:
                return
            _kill_and_wait([self.proc.pid])
            self.proc.poll()
        raise LttngError("%s: lttng-relayd did not listen: %s" % (self.name, open(self.log).read()[-2000:]))

    def stop(self):
        if not self.proc:
            return []
        left = _kill_and_wait([self.proc.pid])
        try:
            self.proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        self.proc = None
        return left


def _accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def trace_dirs(root):
    """The CTF trace directories (those holding a `metadata` file) under root."""
    out = []
    for d, _, files in os.walk(root):
        if "metadata" in files:
            out.append(d)
    return sorted(out)


def babeltrace2(path, *args, timeout=300):
    """`babeltrace2 [ARGS] PATH` as text; its CompletedProcess.  It runs in
    / : babeltrace2 warns when the directory it runs in has a folder named
    like its default command (a build directory has `convert`)."""
    return subprocess.run(["babeltrace2"] + list(args) + [os.path.abspath(path)], cwd="/",
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, universal_newlines=True, errors="replace")

"""TAP output and small helpers shared by the Python test drivers
(tests/*/test_*.py) and benchmark scripts (tests/bench/*.py), as tests/tap.h
is for the C ones.  A driver imports it with its own folder's parent on
sys.path."""
import socket
import sys
import time

_checks = 0
_failed = 0


def ok(cond, desc):
    """One check: prints 'ok N - desc' or 'not ok N - desc'; returns cond."""
    global _checks, _failed
    _checks += 1
    if not cond:
        _failed += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (_checks, desc), flush=True)
    return cond


def skip(desc, why):
    """A check that cannot run here, with the reason."""
    global _checks
    _checks += 1
    print("ok %d - %s # SKIP %s" % (_checks, desc, why), flush=True)


def diag(msg):
    for line in str(msg).splitlines():
        print("# " + line, flush=True)


def done():
    """Prints the plan; the exit status: 1 if any check failed."""
    print("1..%d" % _checks, flush=True)
    return 1 if _failed else 0


def bail(msg):
    """A failed check that makes the rest pointless: the plan, and exit 1."""
    ok(False, msg)
    print("Bail out! " + msg)
    done()
    sys.exit(1)


def free_port():
    """A port on 127.0.0.1 that the kernel picked free (for servers that need
    a port number rather than binding port 0 themselves)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    """True once something accepts connections on 127.0.0.1:port."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False

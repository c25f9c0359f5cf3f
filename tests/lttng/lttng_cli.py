"""What the LTTng tests share: checks with diagnostics, running a command,
and `exectrace stats --json`."""
import json
import subprocess

from tap import bail, diag, ok


def ok_(cond, desc, detail=""):
    """A check whose failure shows detail (a command's stderr) as diagnostics."""
    if not ok(cond, desc) and detail.strip():
        diag(detail)
    return cond


def run(args, env=None, timeout=300):
    try:
        return subprocess.run(args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, universal_newlines=True,
                              errors="replace")
    except FileNotFoundError:
        bail("cannot run %s" % args[0])


def stats_json(exectrace, trace):
    """`exectrace stats --json TRACE` as a dict, or None (with diagnostics)."""
    p = run([exectrace, "stats", "--json", trace])
    if p.returncode != 0:
        diag("exectrace stats --json %s: exit %d: %s" % (trace, p.returncode, p.stderr[-1500:]))
        return None
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        diag("stats --json is not JSON: %s" % e)
        return None

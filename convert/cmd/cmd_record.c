/* exectrace record: trace an unmodified program.
 *
 * Preloads libexectrace-preload.so into CMD (prepended to LD_PRELOAD), passes
 * the settings as the EXECTRACE_* environment variables the library reads,
 * runs CMD in a child and waits for it.  record's exit status is CMD's; a CMD
 * killed by a signal kills record with the same signal (or, failing that,
 * record exits with 128 + the signal's number, as shells report it).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

int et__cmd_record(int argc, char **argv);

#ifndef ET_PRELOAD_BUILD
#define ET_PRELOAD_BUILD ""
#endif
#ifndef ET_EXE_BUILD
#define ET_EXE_BUILD ""
#endif
#ifndef ET_PRELOAD_INSTALL
#define ET_PRELOAD_INSTALL "/usr/local/lib/libexectrace-preload.so"
#endif
#ifndef ET_LTTNG_BUILD
#define ET_LTTNG_BUILD "" /* not built: no lttng-ust */
#endif
#ifndef ET_LTTNG_INSTALL
#define ET_LTTNG_INSTALL "/usr/local/lib/libexectrace-lttng.so"
#endif
#ifndef ET_PRELOAD_HTTP_BUILD
#define ET_PRELOAD_HTTP_BUILD "" /* not built: no libmicrohttpd */
#endif
#ifndef ET_PRELOAD_HTTP_INSTALL
#define ET_PRELOAD_HTTP_INSTALL "/usr/local/lib/libexectrace-preload-http.so"
#endif

static const char help[] =
    "usage: exectrace record [OPTIONS] [--] CMD [ARGS...]\n"
    "\n"
    "Run CMD with the tracer preloaded and record its threads, lock and condition\n"
    "waits, sleeps, I/O system calls and CPU samples into a trace.  The exit status\n"
    "is CMD's.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   the trace (default: CMD's base name + .etrace)\n"
    "  --cpu-hz N          CPU samples per second of each thread's CPU time\n"
    "                      (default 100; 0 = none; at most 10000)\n"
    "  --stacks fp|dwarf|none\n"
    "                      how stacks are taken (default fp: frame pointers;\n"
    "                      dwarf: unwind tables, for code built without them)\n"
    "  --buffer SIZE       event buffers per process, e.g. 64M (1M..16G; default 64M)\n"
    "  --follow-fork       trace forked children too, each into FILE.PID\n"
    "  --http ADDR         serve /debug/pprof/ from inside CMD on ADDR (e.g.\n"
    "                      127.0.0.1:0, a free port; other than loopback only with\n"
    "                      EXECTRACE_HTTP_TOKEN set); the address is printed\n"
    "  --lttng             also send every event to LTTng while a session has\n"
    "                      exectrace:* enabled (loads libexectrace-lttng.so)\n"
    "  -h, --help          print this text\n";

static volatile sig_atomic_t child_pid;

static void forward(int sig) {
  if (child_pid > 0) kill((pid_t)child_pid, sig);
}

static bool valid_uint(const char *s, unsigned long max) {
  if (*s < '0' || *s > '9') return false;
  errno = 0;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  return errno == 0 && *end == '\0' && v <= max;
}

/* The library's rules: digits, then K, M or G (binary), optionally B. */
static bool valid_size(const char *s) {
  if (*s < '0' || *s > '9') return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno) return false;
  unsigned shift = 0;
  if (*end == 'k' || *end == 'K') shift = 10;
  else if (*end == 'm' || *end == 'M') shift = 20;
  else if (*end == 'g' || *end == 'G') shift = 30;
  if (shift) end++;
  if (shift && (*end == 'b' || *end == 'B')) end++;
  if (*end != '\0' || v > (~0ull >> shift)) return false;
  v <<= shift;
  return v >= (1ull << 20) && v <= (16ull << 30);
}

static bool is_file(const char *p) {
  struct stat st;
  return p[0] != '\0' && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The preload library: the build tree's when this is the build tree's
 * exectrace, else the installed one; EXECTRACE_PRELOAD overrides both. */
/* The preload library; with http, the one that carries the endpoint. */
static const char *find_preload(bool http) {
  const char *env = getenv("EXECTRACE_PRELOAD");
  if (env && *env) return is_file(env) ? env : NULL;
  const char *build = http ? ET_PRELOAD_HTTP_BUILD : ET_PRELOAD_BUILD;
  const char *install = http ? ET_PRELOAD_HTTP_INSTALL : ET_PRELOAD_INSTALL;
  char self[PATH_MAX], built[PATH_MAX];
  if (ET_EXE_BUILD[0] && realpath("/proc/self/exe", self) && realpath(ET_EXE_BUILD, built) &&
      strcmp(self, built) == 0 && build[0] && is_file(build))
    return build;
  return is_file(install) ? install : NULL;
}

/* The LTTng provider, found like the preload library. */
static const char *find_lttng(void) {
  char self[PATH_MAX], built[PATH_MAX];
  if (ET_EXE_BUILD[0] && realpath("/proc/self/exe", self) && realpath(ET_EXE_BUILD, built) &&
      strcmp(self, built) == 0 && ET_LTTNG_BUILD[0] && is_file(ET_LTTNG_BUILD))
    return ET_LTTNG_BUILD;
  return is_file(ET_LTTNG_INSTALL) ? ET_LTTNG_INSTALL : NULL;
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s && s[1] ? s + 1 : p;
}

int et__cmd_record(int argc, char **argv) {
  const char *out = NULL, *cpu_hz = NULL, *stacks = NULL, *buffer = NULL, *http = NULL;
  bool follow = false, lttng = false;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char **val = NULL;
    const char *name = a;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0') break; /* CMD */
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(help, stdout);
      return 0;
    }
    if (strcmp(a, "--follow-fork") == 0) {
      follow = true;
      continue;
    }
    if (strcmp(a, "--lttng") == 0) {
      lttng = true;
      continue;
    }
    const char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
    size_t nl = eq ? (size_t)(eq - a) : strlen(a);
    if ((nl == 2 && strncmp(a, "-o", 2) == 0) || (nl == 8 && strncmp(a, "--output", 8) == 0))
      val = &out, name = "-o";
    else if (nl == 8 && strncmp(a, "--cpu-hz", 8) == 0)
      val = &cpu_hz, name = "--cpu-hz";
    else if (nl == 8 && strncmp(a, "--stacks", 8) == 0)
      val = &stacks, name = "--stacks";
    else if (nl == 8 && strncmp(a, "--buffer", 8) == 0)
      val = &buffer, name = "--buffer";
    else if (nl == 6 && strncmp(a, "--http", 6) == 0)
      val = &http, name = "--http";
    else
      return et__cli_usage_error("record", "unknown option", a);
    if (eq) {
      *val = eq + 1;
    } else {
      if (i + 1 >= argc) return et__cli_usage_error("record", "missing value after", name);
      *val = argv[++i];
    }
  }
  if (i >= argc) return et__cli_usage_error("record", "no command to run", NULL);
  char **cmd = argv + i;
  if (out && out[0] == '\0') return et__cli_usage_error("record", "empty trace path for", "-o");
  if (cpu_hz && !valid_uint(cpu_hz, 10000))
    return et__cli_usage_error("record", "--cpu-hz wants a number from 0 to 10000, not", cpu_hz);
  if (stacks && strcmp(stacks, "fp") != 0 && strcmp(stacks, "dwarf") != 0 &&
      strcmp(stacks, "none") != 0)
    return et__cli_usage_error("record", "--stacks wants fp, dwarf or none, not", stacks);
  if (buffer && !valid_size(buffer))
    return et__cli_usage_error("record", "--buffer wants a size from 1M to 16G, not", buffer);
  if (http && http[0] == '\0') return et__cli_usage_error("record", "--http wants an address, like", "127.0.0.1:0");

  const char *lib = find_preload(http != NULL);
  if (lib == NULL) {
    const char *env = getenv("EXECTRACE_PRELOAD");
    fprintf(stderr, "exectrace record: cannot find the preload library %s%s\n",
            env && *env ? env : http ? ET_PRELOAD_HTTP_INSTALL : ET_PRELOAD_INSTALL,
            http && !(env && *env) ? " (--http needs it: build exectrace with libmicrohttpd)" : "");
    return 1;
  }

  const char *lttng_lib = lttng ? find_lttng() : NULL;
  if (lttng && lttng_lib == NULL) {
    fprintf(stderr, "exectrace record: cannot find the LTTng provider %s%s\n", ET_LTTNG_INSTALL,
            ET_LTTNG_BUILD[0] ? "" : " (--lttng needs it: build exectrace with lttng-ust)");
    return 1;
  }

  /* The trace path, made absolute, and checked writable before CMD runs. */
  char path[PATH_MAX];
  char def[PATH_MAX];
  if (!out) {
    snprintf(def, sizeof def, "%s.etrace", base_name(cmd[0]));
    out = def;
  }
  if (out[0] == '/') {
    snprintf(path, sizeof path, "%s", out);
  } else {
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) {
      fprintf(stderr, "exectrace record: cannot find the current directory: %s\n", strerror(errno));
      return 1;
    }
    if ((size_t)snprintf(path, sizeof path, "%s/%s", cwd, out) >= sizeof path - 32) {
      fprintf(stderr, "exectrace record: trace path too long '%s'\n", out);
      return 1;
    }
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "exectrace record: cannot write '%s': %s\n", out, strerror(errno));
    return 1;
  }
  close(fd);

  const char *old = getenv("LD_PRELOAD");
  size_t plen = strlen(lib) + (old ? strlen(old) + 1 : 0) + 1;
  char *preload = malloc(plen);
  if (!preload) {
    fprintf(stderr, "exectrace record: out of memory\n");
    return 1;
  }
  snprintf(preload, plen, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
  if (setenv("LD_PRELOAD", preload, 1) != 0 || setenv("EXECTRACE_OUT", path, 1) != 0 ||
      setenv("EXECTRACE_CPU_HZ", cpu_hz ? cpu_hz : "100", 1) != 0 ||
      setenv("EXECTRACE_FOLLOW_FORK", follow ? "1" : "0", 1) != 0 ||
      setenv("EXECTRACE_STACKS", stacks ? stacks : "fp", 1) != 0 ||
      (buffer ? setenv("EXECTRACE_BUFFER", buffer, 1) : unsetenv("EXECTRACE_BUFFER")) != 0) {
    fprintf(stderr, "exectrace record: cannot set the environment: %s\n", strerror(errno));
    free(preload);
    return 1;
  }
  free(preload);
  /* The endpoint writes the port it bound to this file; record prints it. */
  char port_file[64] = "";
  if (http) {
    snprintf(port_file, sizeof port_file, "/tmp/exectrace-http-%d.port", (int)getpid());
    unlink(port_file);
    if (setenv("EXECTRACE_HTTP", http, 1) != 0 || setenv("EXECTRACE_HTTP_PORT_FILE", port_file, 1) != 0) {
      fprintf(stderr, "exectrace record: cannot set the environment: %s\n", strerror(errno));
      return 1;
    }
  } else {
    unsetenv("EXECTRACE_HTTP");
    unsetenv("EXECTRACE_HTTP_PORT_FILE");
  }
  if (lttng_lib ? setenv("EXECTRACE_LTTNG", lttng_lib, 1) != 0 : unsetenv("EXECTRACE_LTTNG") != 0) {
    fprintf(stderr, "exectrace record: cannot set the environment: %s\n", strerror(errno));
    return 1;
  }
  unsetenv("EXECTRACE_EXEC");
  unsetenv("EXECTRACE_PID");
  fflush(stdout);
  fflush(stderr);

  /* While CMD runs, record outlives it: a terminal's SIGINT and SIGQUIT reach
   * CMD directly; SIGTERM and SIGHUP sent to record are passed on. */
  struct sigaction ign = {.sa_handler = SIG_IGN}, fwd = {.sa_handler = forward}, oint, oquit,
                   oterm, ohup;
  sigemptyset(&ign.sa_mask);
  sigemptyset(&fwd.sa_mask);
  sigaction(SIGINT, &ign, &oint);
  sigaction(SIGQUIT, &ign, &oquit);
  sigaction(SIGTERM, &fwd, &oterm);
  sigaction(SIGHUP, &fwd, &ohup);

  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "exectrace record: cannot fork: %s\n", strerror(errno));
    return 1;
  }
  if (pid == 0) {
    sigaction(SIGINT, &oint, NULL);
    sigaction(SIGQUIT, &oquit, NULL);
    sigaction(SIGTERM, &oterm, NULL);
    sigaction(SIGHUP, &ohup, NULL);
    char me[24];
    snprintf(me, sizeof me, "%d", (int)getpid());
    setenv("EXECTRACE_PID", me, 1);
    execvp(cmd[0], cmd);
    int e = errno;
    fprintf(stderr, "exectrace record: cannot run '%s': %s\n", cmd[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  child_pid = pid;
  int status;
  bool done = false;
  if (http) { /* say where the endpoint is, once it is up (or CMD ended) */
    for (int k = 0; k < 1000 && !done; k++) {
      FILE *pf = fopen(port_file, "r");
      int port = 0;
      if (pf) {
        if (fscanf(pf, "%d", &port) != 1) port = 0;
        fclose(pf);
      }
      if (port > 0) {
        const char *colon = strrchr(http, ':');
        int hl = colon ? (int)(colon - http) : 0;
        fprintf(stderr, "exectrace record: /debug/pprof/ on http://%.*s:%d/\n", hl ? hl : 9,
                hl ? http : "127.0.0.1", port);
        break;
      }
      pid_t w = waitpid(pid, &status, WNOHANG);
      if (w == pid) done = true;
      else usleep(10000);
    }
    unlink(port_file);
  }
  while (!done && waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "exectrace record: waiting for '%s': %s\n", cmd[0], strerror(errno));
      return 1;
    }
  }
  child_pid = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  int sig = WTERMSIG(status);
  fflush(stdout);
  /* Die the same way, without a core dump of our own. */
  struct rlimit nocore = {0, 0};
  setrlimit(RLIMIT_CORE, &nocore);
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  return 128 + sig;
}

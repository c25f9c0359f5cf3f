/* bench_lttng: what an event costs with LTTng in the picture, as ratios to
 * a bare rdtsc measured in the same run (issue 7's benchmark).
 *
 * Four settings, each in a worker process of its own (liblttng-ust, once
 * loaded, stays; and a process registers with one session daemon), all
 * started by this program and driven round by round, interleaved, the
 * order rotating between rounds:
 *
 *   native   an exectrace event into its own buffers: et_start with default
 *            options, et_region_begin/et_region_end pairs as bench_tracer
 *            times them (no EXECTRACE_LTTNG)
 *   lttng    the same with EXECTRACE_LTTNG naming libexectrace-lttng.so and
 *            an active LTTng session with exectrace:* enabled: each event
 *            goes to the trace file and to LTTng's ring buffer
 *   plain    a plain LTTng-UST tracepoint of our own (etprobe:ping: two
 *            64-bit integers and a string, libet-bench-tp.so), enabled in
 *            an active session
 *   idle     exectrace with the provider loaded but no session daemon to
 *            enable anything: what LTTng support costs when nobody listens
 *
 * Each worker measures its own rdtsc before and after its event loop in
 * every round; the figures are medians over rounds of ns per event and of
 * the ratio to the round's rdtsc.  Every exectrace trace is loaded back and
 * must be complete and hold every event (so a fast figure cannot come from
 * lost events); each worker reports whether its tracepoint was enabled, so
 * `lttng` and `plain` are known to have gone to LTTng and `idle` not.
 *
 * The LTTng side (a private session daemon, the sessions, counting what
 * LTTng recorded and discarded) is set up by bench_lttng.py, which runs
 * this program with:
 *   ET_BENCH_PROVIDER     libexectrace-lttng.so
 *   ET_BENCH_TP_LIB       libet-bench-tp.so
 *   ET_BENCH_LTTNG_HOME   LTTNG_HOME of the daemon with the active sessions
 *   ET_BENCH_LTTNG_NONE   an LTTNG_HOME where no daemon listens
 *   ET_BENCH_OURS_PIDS    the daemons' pids (their CPU time is the
 *                         benchmark's, not "other processes'")
 * Without them it measures `native` only and says so.
 *
 * Usage: bench_lttng [ROUNDS]   (default 11).  Prints key=value lines and a
 * table; exit status 0 unless the benchmark could not run.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <x86intrin.h>

#include "../../tracer/lttng/event.h"
#include "bench_events.h"
#include "exectrace/exectrace.h"

#define N_WARM 10000L   /* pairs before timing, each round */
#define N_EVENT 100000L /* pairs timed per round: 200 000 events, about 9 MB in LTTng's buffers */

enum { W_NATIVE, W_LTTNG, W_PLAIN, W_IDLE, NW };
static const char *const wkey[NW] = {"native", "lttng", "plain", "idle"};
static const char *const wdesc[NW] = {
    "exectrace event into its own buffers",
    "exectrace event, also into an active LTTng session",
    "plain LTTng-UST tracepoint (2 ints, 1 string)",
    "exectrace event, provider loaded, no session",
};

/* ---- workers ---- */

typedef double (*tp_loop_fn)(long);
typedef int (*tp_enabled_fn)(void);

/* 1 if exectrace:region_begin is enabled in LTTng in this process, 0 if
 * not, -1 if the provider is not loaded (asked of the provider itself). */
static int provider_enabled(void) {
  const char *lib = getenv("EXECTRACE_LTTNG");
  if (!lib) return -1;
  void *h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD);
  if (!h) return -1;
  et_lttng_states_fn states;
  *(void **)&states = dlsym(h, ET_LTTNG_STATES_SYM);
  int on = -1;
  if (states) {
    const int *st[256] = {0};
    states(st, 256);
    on = st[ET_EV_REGION_BEGIN] ? *st[ET_EV_REGION_BEGIN] != 0 : -1;
  }
  dlclose(h);
  return on;
}

static int worker(int mode, int rfd, int wfd) {
  tp_loop_fn tp_loop = NULL;
  tp_enabled_fn tp_enabled = NULL;
  if (mode == W_PLAIN) {
    const char *lib = getenv("ET_BENCH_TP_LIB");
    void *h = lib ? dlopen(lib, RTLD_NOW) : NULL;
    if (!h) {
      fprintf(stderr, "bench_lttng: cannot load %s: %s\n", lib ? lib : "(ET_BENCH_TP_LIB unset)", dlerror());
      return 1;
    }
    *(void **)&tp_loop = dlsym(h, "et_bench_tp_loop");
    *(void **)&tp_enabled = dlsym(h, "et_bench_tp_enabled");
    if (!tp_loop || !tp_enabled) {
      fprintf(stderr, "bench_lttng: %s lacks et_bench_tp_loop\n", lib);
      return 1;
    }
  }
  char path[512];
  snprintf(path, sizeof path, "%s/et-bench-lttng-%ld-%s.etrace", bench_dir(), (long)getpid(), wkey[mode]);
  char cmd;
  while (read(rfd, &cmd, 1) == 1 && cmd == 'r') {
    double rd1 = rdtsc_ns(), ev;
    int enabled, ok = 1;
    if (mode == W_PLAIN) {
      enabled = tp_enabled();
      tp_loop(N_WARM);
      ev = tp_loop(2 * N_EVENT);
    } else {
      if (et_start(path) != 0) {
        fprintf(stderr, "bench_lttng: et_start(%s) failed\n", path);
        return 1;
      }
      enabled = provider_enabled();
      region_pairs_ns(N_WARM);
      ev = region_pairs_ns(N_EVENT);
      et_stop();
      et_trace *t = bench_check_trace(path, "region_begin", N_WARM + N_EVENT);
      ok = t != NULL;
      et_trace_close(t);
      unlink(path);
    }
    double rd2 = rdtsc_ns();
    char line[128];
    int n = snprintf(line, sizeof line, "%.4f %.4f %d %d\n", (rd1 + rd2) / 2, ev, enabled, ok);
    if (write(wfd, line, (size_t)n) != n) return 1;
  }
  return 0;
}

/* ---- the driver ---- */

typedef struct wproc {
  pid_t pid;
  int to, from;
  bool on;
} wproc;

static void set_env(const char *k, const char *v) {
  if (v) setenv(k, v, 1);
  else unsetenv(k);
}

static bool spawn(wproc *w, int mode) {
  int down[2], up[2];
  if (pipe2(down, O_CLOEXEC) != 0 || pipe2(up, O_CLOEXEC) != 0) return false;
  const char *home = getenv("ET_BENCH_LTTNG_HOME"), *none = getenv("ET_BENCH_LTTNG_NONE");
  const char *provider = getenv("ET_BENCH_PROVIDER");
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    fcntl(down[0], F_SETFD, 0);
    fcntl(up[1], F_SETFD, 0);
    set_env("EXECTRACE_LTTNG", mode == W_LTTNG || mode == W_IDLE ? provider : NULL);
    set_env("LTTNG_HOME", mode == W_IDLE ? none : mode == W_NATIVE ? getenv("LTTNG_HOME") : home);
    set_env("LTTNG_UST_REGISTER_TIMEOUT", mode == W_IDLE ? "0" : "20000");
    char m[16], r[16], wr[16];
    snprintf(m, sizeof m, "%d", mode);
    snprintf(r, sizeof r, "%d", down[0]);
    snprintf(wr, sizeof wr, "%d", up[1]);
    execl("/proc/self/exe", "bench_lttng", "--worker", m, r, wr, (char *)NULL);
    _exit(127);
  }
  close(down[0]);
  close(up[1]);
  w->pid = pid;
  w->to = down[1];
  w->from = up[0];
  w->on = true;
  return true;
}

/* One round of worker w: its rdtsc, ns per event, enabled, trace ok. */
static bool ask(wproc *w, double *rd, double *ev, int *enabled, int *ok) {
  if (write(w->to, "r", 1) != 1) return false;
  char line[128];
  size_t n = 0;
  while (n + 1 < sizeof line) {
    ssize_t r = read(w->from, line + n, 1);
    if (r != 1) return false;
    if (line[n++] == '\n') break;
  }
  line[n] = 0;
  return sscanf(line, "%lf %lf %d %d", rd, ev, enabled, ok) == 4;
}

/* CPU seconds used so far by the processes in pids (all their threads). */
static double pids_cpu_s(const pid_t *pids, int n) {
  double s = 0;
  for (int i = 0; i < n; i++) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[i]);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
      s += (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
  }
  return s;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "--worker") == 0)
    return worker(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  int rounds = argc > 1 ? atoi(argv[1]) : 11;
  if (rounds < 1) rounds = 1;
  if (rounds > BENCH_MAX_ROWS / 3) rounds = BENCH_MAX_ROWS / 3;
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  bench_machine();

  bool have_lttng = getenv("ET_BENCH_PROVIDER") && getenv("ET_BENCH_TP_LIB") && getenv("ET_BENCH_LTTNG_HOME") &&
                    getenv("ET_BENCH_LTTNG_NONE");
  if (!have_lttng)
    printf("# no LTTng setup: measuring `native` only (run tests/bench/bench_lttng.py for all four)\n");
  wproc w[NW] = {{0}};
  pid_t ours[NW + 16];
  int nours = 0;
  for (int k = 0; k < NW; k++) {
    if (k != W_NATIVE && !have_lttng) continue;
    if (!spawn(&w[k], k)) {
      fprintf(stderr, "bench_lttng: cannot start the %s worker: %s\n", wkey[k], strerror(errno));
      return 1;
    }
    ours[nours++] = w[k].pid;
  }
  const char *op = getenv("ET_BENCH_OURS_PIDS");
  for (char *e; op && *op && nours < (int)(sizeof ours / sizeof ours[0]); op = e) {
    long p = strtol(op, &e, 10);
    if (e == op) break;
    if (p > 0) ours[nours++] = (pid_t)p;
    while (*e == ',') e++;
  }

  /* One round each, not counted: libraries loaded, registrations done,
   * caches and the page cache warm. */
  int enabled[NW], warm_ok = 1;
  for (int k = 0; k < NW; k++) {
    double rd, ev;
    int ok = 0;
    enabled[k] = -2;
    if (w[k].on && !ask(&w[k], &rd, &ev, &enabled[k], &ok)) {
      fprintf(stderr, "bench_lttng: the %s worker failed\n", wkey[k]);
      return 1;
    }
    warm_ok &= ok;
  }

  /* Columns: per worker ns/event and ratio; the workers' mean rdtsc; other CPUs. */
  enum { C_EV, C_Q, C_PER };
  const int R_RD = NW * C_PER, R_OTHERS = NW * C_PER + 1, RCOLS = NW * C_PER + 2;
  static bench_rows rr;
  bool traces_ok = warm_ok;
  int en_rounds[NW] = {0}, timed[NW] = {0};
  while (rr.clean < rounds && rr.tries < 3 * rounds) {
    double row[BENCH_MAX_COLS] = {0};
    bench_cpu c0 = bench_cpu_now();
    double o0 = pids_cpu_s(ours, nours);
    int nrd = 0;
    for (int i = 0; i < NW; i++) {
      int k = (i + rr.tries) % NW;
      if (!w[k].on) continue;
      double rd, ev;
      int en, ok;
      if (!ask(&w[k], &rd, &ev, &en, &ok)) {
        fprintf(stderr, "bench_lttng: the %s worker failed\n", wkey[k]);
        return 1;
      }
      row[R_RD] += rd;
      nrd++;
      row[k * C_PER + C_EV] = ev;
      row[k * C_PER + C_Q] = ev / rd;
      traces_ok &= ok != 0;
      en_rounds[k] += en == 1;
      timed[k]++;
    }
    row[R_RD] /= nrd;
    bench_cpu c1 = bench_cpu_now();
    double mine = pids_cpu_s(ours, nours) - o0;
    c1.mine += mine; /* the workers and the LTTng daemons are the benchmark */
    row[R_OTHERS] = bench_cpu_others(c0, c1);
    bool quiet = row[R_OTHERS] <= BENCH_QUIET_CPUS;
    fprintf(stderr, "round %d:", rr.tries);
    for (int k = 0; k < NW; k++)
      if (w[k].on)
        fprintf(stderr, " %s %.2f ns (%.2fx)", wkey[k], row[k * C_PER + C_EV], row[k * C_PER + C_Q]);
    fprintf(stderr, "; others %.2f CPUs%s\n", row[R_OTHERS], quiet ? "" : " (not clean)");
    bench_rows_add(&rr, row, RCOLS, quiet);
  }
  for (int k = 0; k < NW; k++) {
    if (!w[k].on) continue;
    if (write(w[k].to, "q", 1) != 1) {
    }
    close(w[k].to);
    close(w[k].from);
    int st;
    waitpid(w[k].pid, &st, 0);
  }

  double m_ev[NW], q[NW], m_rd = bench_rows_median(&rr, R_RD);
  printf("rounds=%d\nrounds_tried=%d\nrounds_clean=%s\nrounds_other_cpus=%.2f\n", bench_rows_used(&rr), rr.tries,
         bench_rows_clean(&rr) ? "yes" : "no", bench_rows_median(&rr, R_OTHERS));
  printf("events_per_round=%ld\nwarmup_events_per_round=%ld\nrdtsc_ns=%.2f\n", 2 * N_EVENT, 2 * N_WARM, m_rd);
  for (int k = 0; k < NW; k++) {
    if (!w[k].on) continue;
    m_ev[k] = bench_rows_median(&rr, k * C_PER + C_EV);
    q[k] = bench_rows_median(&rr, k * C_PER + C_Q);
    printf("%s.event_ns=%.2f\n%s.event_ratio=%.3f\n", wkey[k], m_ev[k], wkey[k], q[k]);
    printf("%s.lttng_enabled_rounds=%d/%d\n", wkey[k], en_rounds[k], timed[k]);
  }
  /* What went to LTTng, for bench_lttng.py to check against the sessions. */
  if (have_lttng) {
    printf("lttng.region_events_emitted=%ld\n", (long)(rr.tries + 1) * 2 * (N_EVENT + N_WARM));
    printf("plain.events_emitted=%ld\n", (long)(rr.tries + 1) * (2 * N_EVENT + N_WARM));
  }
  bool setup_ok = !have_lttng || (en_rounds[W_LTTNG] == timed[W_LTTNG] && en_rounds[W_PLAIN] == timed[W_PLAIN] &&
                                  en_rounds[W_IDLE] == 0);
  printf("settings_checked=%s\ntraces_checked=%s\n", setup_ok ? "ok" : "FAILED", traces_ok ? "ok" : "FAILED");
  if (have_lttng) {
    printf("lttng_over_native=%.3f\nlttng_over_plain=%.3f\nidle_over_native=%.3f\n", q[W_LTTNG] / q[W_NATIVE],
           q[W_LTTNG] / q[W_PLAIN], q[W_IDLE] / q[W_NATIVE]);
  }

  printf("\n%-54s %10s %8s\n", "cost per event (medians)", "ns", "ratio");
  printf("%-54s %10.2f %8s\n", "rdtsc", m_rd, "1");
  for (int k = 0; k < NW; k++)
    if (w[k].on) printf("%-54s %10.2f %8.3f\n", wdesc[k], m_ev[k], q[k]);
  printf("rounds: medians of %d (%d run, %d events timed per setting and round); other processes used %.2f CPUs%s\n",
         bench_rows_used(&rr), rr.tries, (int)(2 * N_EVENT), bench_rows_median(&rr, R_OTHERS),
         bench_rows_clean(&rr) ? "" : " -- NOT CLEAN: the machine was busy");
  if (have_lttng)
    printf("LTTng enabled in: lttng %d/%d rounds, plain %d/%d, idle %d/%d (must be 0)\n", en_rounds[W_LTTNG],
           timed[W_LTTNG], en_rounds[W_PLAIN], timed[W_PLAIN], en_rounds[W_IDLE], timed[W_IDLE]);
  printf("exectrace traces checked (complete, every event): %s\n", traces_ok ? "ok" : "FAILED");
  return 0;
}

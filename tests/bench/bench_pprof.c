/* bench_pprof: how fast `exectrace pprof --type sync` turns a big trace into
 * a profile, and how much memory it needs per event, against
 * `go tool trace -pprof=sync` (Go 1.19) measured in the same run.
 *
 * Issue 3 asks the converter for at least 20 times Go's events per second
 * and at most a tenth of its peak memory per event.  Absolute figures move
 * with the machine, so both sides run here, interleaved:
 *  1. our trace: N events (default 20 million) recorded with the tracing API
 *     by threads that really contend on a mutex and round-trip to a server
 *     thread through a condition variable while holding it, every wait
 *     described with et_block_begin/et_block_end and the unlocker's et_wake,
 *     one wake per wait (block_when_full, so nothing drops): about a third
 *     each of block begins, block ends and wakes, as Go's trace is about a
 *     third each of GoBlock*, GoUnblock and GoStart;
 *  2. Go's trace: tests/bench/go/synctrace.go, built here with `go build`
 *     (standard library only, offline, scratch GOCACHE/GOPATH/HOME) and run
 *     for about as many events (counted as `go tool trace -d` lists them):
 *     goroutines that block on a sync.Mutex and on channels;
 *  3. each converter runs as a child several times, alternating sides; the
 *     wall time and the peak RSS (wait4's ru_maxrss) of each run are taken,
 *     and a run during which other processes used the CPUs (/proc/stat) is
 *     run again.  Go's side runs `$(go env GOTOOLDIR)/trace -pprof=sync`,
 *     the program `go tool trace` starts, without the go command around it;
 *  4. both profiles are read back with `go tool pprof -top`.
 * It prints key=value lines, then a table with PASS or MISS for each target,
 * and exits 0 either way (it is not a meson test).
 *
 * Usage: bench_pprof [--events N] [--go-events N] [--runs R] [--record-only]
 *                    [--exectrace PATH] [--go PATH] [--go-src FILE]
 * Traces go to $ET_BENCH_DIR, /dev/shm or /tmp; ET_BENCH_KEEP=1 keeps them
 * (and the profiles); --record-only writes and keeps both traces, and stops
 * there (for perf).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "exectrace/exectrace.h"

#ifndef ET_BENCH_EXECTRACE
#define ET_BENCH_EXECTRACE "exectrace"
#endif
#ifndef ET_BENCH_GO_SRC
#define ET_BENCH_GO_SRC "tests/bench/go/synctrace.go"
#endif

#define WORKERS 4
#define UPDATE_EVERY 4    /* one update (lock held over a round trip) in 4 */
#define DEFAULT_RUNS 3    /* clean runs wanted per side */
#define EXTRA_OURS 6      /* extra tries when runs are disturbed */
#define EXTRA_GO 2        /* Go's runs are long: fewer extra tries */

/* ---- our trace: threads contending on a mutex ---- */

/* A mutex that tells the tracer when a thread waits on it and when the
 * unlocker makes a waiter runnable, as in docs/examples/reqserver.c, except
 * that an unlock emits a wake only while some waiter has not been woken yet
 * (reqserver's emits one on every unlock while anyone waits, 2 to 3 wakes
 * per wait under this load), so that the trace has one wake per wait like
 * Go's one GoUnblock per block. */
typedef struct traced_mutex {
  pthread_mutex_t m;
  atomic_int waiting, woken;
} traced_mutex;

static traced_mutex lock = {PTHREAD_MUTEX_INITIALIZER, 0, 0};
static uint64_t table[64];

/* The "channel" to the server thread: one request at a time (the sender
 * holds `lock`), each side waits on its condition variable. */
static struct {
  pthread_mutex_t m;
  pthread_cond_t req_cv, resp_cv;
  int req, resp, value, closed;
  int server_waiting, client_waiting;
  uint64_t server_tid, client_tid;
} chan = {.m = PTHREAD_MUTEX_INITIALIZER,
          .req_cv = PTHREAD_COND_INITIALIZER,
          .resp_cv = PTHREAD_COND_INITIALIZER};

static _Atomic uint64_t emitted;  /* events the workers emitted (flushed in batches) */
static uint64_t target_events;
static atomic_bool stop;

/* Each thread counts the events it emits and adds them up now and then. */
static _Thread_local uint64_t my_events;

static void count_events(uint64_t n) {
  my_events += n;
  if (my_events >= 4096) {
    if (atomic_fetch_add(&emitted, my_events) + my_events >= target_events) atomic_store(&stop, true);
    my_events = 0;
  }
}

static BENCH_NOINLINE void tm_lock(traced_mutex *tm) {
  if (pthread_mutex_trylock(&tm->m) == 0) return;
  atomic_fetch_add(&tm->waiting, 1);
  et_block_begin(ET_REASON_MUTEX, tm);
  pthread_mutex_lock(&tm->m);
  et_block_end();
  /* This wait's wake is used up (if it got the lock before any wake, it
   * uses up another waiter's, which then gets one more later). */
  int w = atomic_load(&tm->woken);
  while (w > 0 && !atomic_compare_exchange_weak(&tm->woken, &w, w - 1)) {
  }
  atomic_fetch_sub(&tm->waiting, 1);
  count_events(2);
}

static BENCH_NOINLINE void tm_unlock(traced_mutex *tm) {
  /* The wake is recorded before the unlock lets the waiter go (see et_wake). */
  int w = atomic_load(&tm->woken);
  while (w < atomic_load(&tm->waiting))
    if (atomic_compare_exchange_weak(&tm->woken, &w, w + 1)) {
      et_wake(0, tm); /* one waiter of this lock may run next */
      count_events(1);
      break;
    }
  pthread_mutex_unlock(&tm->m);
}

/* Holds the lock for a little arithmetic. */
static BENCH_NOINLINE void lookup(unsigned i) {
  tm_lock(&lock);
  uint64_t x = table[i % 64];
  for (int k = 0; k < 50; k++) x = x * 6364136223846793005ull + 1442695040888963407ull;
  table[i % 64] = x;
  tm_unlock(&lock);
}

/* Holds the lock around a round trip to the server thread. */
static BENCH_NOINLINE void update(unsigned i) {
  tm_lock(&lock);
  pthread_mutex_lock(&chan.m);
  chan.req = 1;
  chan.value = (int)i;
  chan.client_tid = et_thread_id();
  if (chan.server_waiting) {
    pthread_cond_signal(&chan.req_cv);
    et_wake(chan.server_tid, &chan.req_cv);
    count_events(1);
  }
  while (!chan.resp) {
    chan.client_waiting = 1;
    et_block_begin(ET_REASON_COND, &chan.resp_cv);
    pthread_cond_wait(&chan.resp_cv, &chan.m);
    et_block_end();
    chan.client_waiting = 0;
    count_events(2);
  }
  chan.resp = 0;
  table[(i + 1) % 64] += (uint64_t)chan.value;
  pthread_mutex_unlock(&chan.m);
  tm_unlock(&lock);
}

static BENCH_NOINLINE void serve(void) {
  pthread_mutex_lock(&chan.m);
  chan.server_tid = et_thread_id();
  for (;;) {
    while (!chan.req && !chan.closed) {
      chan.server_waiting = 1;
      et_block_begin(ET_REASON_COND, &chan.req_cv);
      pthread_cond_wait(&chan.req_cv, &chan.m);
      et_block_end();
      chan.server_waiting = 0;
      count_events(2);
    }
    if (!chan.req) break;
    chan.req = 0;
    chan.value++;
    chan.resp = 1;
    if (chan.client_waiting) {
      pthread_cond_signal(&chan.resp_cv);
      et_wake(chan.client_tid, &chan.resp_cv);
      count_events(1);
    }
  }
  pthread_mutex_unlock(&chan.m);
}

static void *server_thread(void *p) {
  et_thread_name("server");
  serve();
  return NULL;
}

static void *worker_thread(void *p) {
  char name[32];
  snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)p);
  et_thread_name(name);
  for (unsigned i = (unsigned)(intptr_t)p; !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
    if (i % UPDATE_EVERY == UPDATE_EVERY - 1) update(i);
    else lookup(i);
  }
  atomic_fetch_add(&emitted, my_events);
  return NULL;
}

static int record(const char *path, uint64_t nevents, double *secs) {
  et_options o;
  et_options_init(&o);
  o.block_when_full = true;
  int err = et_start_opts(path, &o);
  if (err) {
    fprintf(stderr, "et_start_opts(%s): %s\n", path, et_strerror(err));
    return err;
  }
  target_events = nevents;
  uint64_t t0 = bench_now_ns();
  pthread_t srv, th[WORKERS];
  pthread_create(&srv, NULL, server_thread, NULL);
  for (int i = 0; i < WORKERS; i++) pthread_create(&th[i], NULL, worker_thread, (void *)(intptr_t)i);
  for (int i = 0; i < WORKERS; i++) pthread_join(th[i], NULL);
  pthread_mutex_lock(&chan.m);
  chan.closed = 1;
  pthread_cond_signal(&chan.req_cv);
  pthread_mutex_unlock(&chan.m);
  pthread_join(srv, NULL);
  err = et_stop();
  *secs = (double)(bench_now_ns() - t0) / 1e9;
  if (err) fprintf(stderr, "et_stop: %s\n", et_strerror(err));
  return err;
}

/* ---- children ---- */

typedef struct child_env {
  const char *scratch; /* with it: GOCACHE, GOPATH, HOME under it, no GOFLAGS, no proxy */
} child_env;

/* Runs argv with stdout into out_path (or into buf when buf is set, or to
 * /dev/null), stderr to the parent's stderr unless quiet; fills the wall
 * time and the child's rusage.  Returns the exit status, or -1. */
static int run_child(const char *const argv[], const child_env *env, const char *out_path, char *buf,
                     size_t bufsize, bool quiet, double *wall, struct rusage *ru) {
  int fds[2] = {-1, -1};
  if (buf && pipe(fds) != 0) return -1;
  uint64_t t0 = bench_now_ns();
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd;
    if (buf) {
      fd = fds[1];
      close(fds[0]);
    } else {
      fd = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    }
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    if (quiet) {
      int nul = open("/dev/null", O_WRONLY);
      if (nul >= 0) dup2(nul, 2);
    }
    if (env && env->scratch) {
      char v[4096];
      snprintf(v, sizeof v, "%s/cache", env->scratch);
      setenv("GOCACHE", v, 1);
      snprintf(v, sizeof v, "%s/gopath", env->scratch);
      setenv("GOPATH", v, 1);
      snprintf(v, sizeof v, "%s/home", env->scratch);
      setenv("HOME", v, 1);
      setenv("GOPROXY", "off", 1);
      setenv("GOTOOLCHAIN", "local", 1);
      unsetenv("GOFLAGS");
    }
    execvp(argv[0], (char *const *)argv);
    fprintf(stderr, "bench_pprof: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  size_t n = 0;
  if (buf) {
    close(fds[1]);
    ssize_t k;
    char sinkbuf[4096];
    for (;;) {
      if (n < bufsize - 1) k = read(fds[0], buf + n, bufsize - 1 - n);
      else k = read(fds[0], sinkbuf, sizeof sinkbuf);
      if (k <= 0) break;
      if (n < bufsize - 1) n += (size_t)k;
    }
    buf[n] = 0;
    close(fds[0]);
  }
  int status;
  struct rusage r;
  while (wait4(pid, &status, 0, &r) < 0)
    if (errno != EINTR) return -1;
  if (wall) *wall = (double)(bench_now_ns() - t0) / 1e9;
  if (ru) *ru = r;
  if (!WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

static double ru_cpu(const struct rusage *r) {
  return (double)(r->ru_utime.tv_sec + r->ru_stime.tv_sec) +
         (double)(r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1e6;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
  chmod(p, 0700); /* Go makes some cache entries read-only */
  return remove(p);
}

static void rm_tree(const char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *value_of(const char *text, const char *key) {
  size_t n = strlen(key);
  for (const char *p = text; (p = strstr(p, key)) != NULL; p += n)
    if ((p == text || p[-1] == ' ' || p[-1] == '\n') && p[n] == '=') return p + n + 1;
  return NULL;
}

/* Prints the first lines of `go tool pprof -top` on a profile to stderr and
 * says whether it loaded and has samples. */
static bool check_profile(const char *go, const child_env *env, const char *what, const char *path) {
  static char out[1 << 16];
  const char *argv[] = {go, "tool", "pprof", "-top", "-nodecount=6", path, NULL};
  int st = run_child(argv, env, NULL, out, sizeof out, true, NULL, NULL);
  bool ok = st == 0 && strstr(out, "flat%") != NULL && strstr(out, "Total: 0") == NULL;
  fprintf(stderr, "--- go tool pprof -top %s (%s): %s\n", path, what, ok ? "ok" : "FAILED");
  int lines = 0;
  for (const char *p = out; *p && lines < 14; lines++) {
    const char *e = strchr(p, '\n');
    if (!e) e = p + strlen(p);
    fprintf(stderr, "    %.*s\n", (int)(e - p), p);
    p = *e ? e + 1 : e;
  }
  return ok;
}

/* ---- measurement ---- */

enum { SECS, RATE, BPE, CPU, RSS_MB, OTHERS, NCOLS };

typedef struct side {
  const char *name;
  const char *argv[8];
  const char *out; /* where stdout goes (Go writes the profile there) */
  uint64_t events;
  int max_tries;
  bench_rows rows;
} side;

static int measure(side *s) {
  struct rusage ru;
  double wall;
  bench_cpu c0 = bench_cpu_now();
  int st = run_child(s->argv, NULL, s->out, NULL, 0, false, &wall, &ru);
  bench_cpu c1 = bench_cpu_now();
  if (st != 0) {
    fprintf(stderr, "bench_pprof: %s failed (status %d)\n", s->name, st);
    return -1;
  }
  double v[NCOLS];
  v[SECS] = wall;
  v[RATE] = (double)s->events / wall;
  v[BPE] = (double)ru.ru_maxrss * 1024.0 / (double)s->events;
  v[CPU] = ru_cpu(&ru);
  v[RSS_MB] = (double)ru.ru_maxrss / 1024.0;
  v[OTHERS] = bench_cpu_others(c0, c1);
  bool quiet = v[OTHERS] <= BENCH_QUIET_CPUS;
  fprintf(stderr, "%s run %d: %.3f s (%.2f s CPU), %.2f M events/s, peak RSS %.0f MiB = %.1f B/event, "
                  "others %.2f CPUs%s\n",
          s->name, s->rows.tries, wall, v[CPU], v[RATE] / 1e6, v[RSS_MB], v[BPE], v[OTHERS],
          quiet ? "" : " (not clean)");
  bench_rows_add(&s->rows, v, NCOLS, quiet);
  return 0;
}

static bool needs_more(const side *s, int want) {
  return s->rows.clean < want && s->rows.tries < s->max_tries;
}

static void usage(void) {
  fprintf(stderr, "usage: bench_pprof [--events N] [--go-events N] [--runs R] [--record-only]\n"
                  "                   [--exectrace PATH] [--go PATH] [--go-src FILE]\n");
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"events", required_argument, NULL, 'n'},   {"go-events", required_argument, NULL, 'g'},
      {"runs", required_argument, NULL, 'r'},     {"exectrace", required_argument, NULL, 'x'},
      {"go", required_argument, NULL, 'G'},       {"go-src", required_argument, NULL, 's'},
      {"record-only", no_argument, NULL, 'R'},    {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  uint64_t nevents = 20000000ull, go_events = 0;
  int runs = DEFAULT_RUNS;
  bool record_only = false;
  const char *exectrace = ET_BENCH_EXECTRACE, *go_src = ET_BENCH_GO_SRC;
  const char *go = getenv("GO") && *getenv("GO") ? getenv("GO") : "go";
  int c;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
      case 'n': nevents = strtoull(optarg, NULL, 10); break;
      case 'g': go_events = strtoull(optarg, NULL, 10); break;
      case 'r': runs = atoi(optarg); break;
      case 'x': exectrace = optarg; break;
      case 'G': go = optarg; break;
      case 's': go_src = optarg; break;
      case 'R': record_only = true; break;
      case 'h': usage(); return 0;
      default: usage(); return 2;
    }
  }
  if (nevents < 10000) nevents = 10000;
  if (go_events == 0) go_events = nevents;
  if (runs < 1) runs = 1;
  if (runs > 20) runs = 20;
  setvbuf(stdout, NULL, _IOLBF, 0);
  bench_machine();

  const char *dir = bench_dir();
  char our_trace[512], go_trace[512], our_prof[512], go_prof[512];
  long pid = (long)getpid();
  snprintf(our_trace, sizeof our_trace, "%s/et-bench-pprof-%ld.etrace", dir, pid);
  snprintf(go_trace, sizeof go_trace, "%s/et-bench-pprof-%ld.gotrace", dir, pid);
  snprintf(our_prof, sizeof our_prof, "%s/et-bench-pprof-%ld.ours.pb.gz", dir, pid);
  snprintf(go_prof, sizeof go_prof, "%s/et-bench-pprof-%ld.go.pb.gz", dir, pid);
  char scratch[] = "/tmp/et-bench-pprof-go.XXXXXX";
  if (!mkdtemp(scratch)) {
    perror("mkdtemp");
    return 1;
  }
  child_env genv = {scratch};
  int status = 1;

  /* 1. Our trace. */
  double rec_s;
  if (record(our_trace, nevents, &rec_s) != 0) goto out;
  et_trace *t = bench_check_trace(our_trace, NULL, 0);
  if (!t) goto out;
  const et_trace_info *info = et_trace_get_info(t);
  uint64_t our_events = info->events, our_blocks = 0;
  int kb = et_trace_kind_by_name(t, "block_begin");
  if (kb >= 0) our_blocks = et_trace_kind_count(t, (unsigned)kb);
  et_trace_close(t);
  struct stat st;
  stat(our_trace, &st);
  long long our_bytes = (long long)st.st_size;
  fprintf(stderr, "ours: recorded %llu events (%llu waits) in %.2f s into %s (%lld bytes)\n",
          (unsigned long long)our_events, (unsigned long long)our_blocks, rec_s, our_trace, our_bytes);

  /* 2. Go's trace, from our Go program. */
  char out[4096], bin[600], tool[4200];
  snprintf(bin, sizeof bin, "%s/synctrace", scratch);
  char home[600];
  snprintf(home, sizeof home, "%s/home", scratch);
  mkdir(home, 0700);
  double build_s;
  {
    const char *a[] = {go, "build", "-o", bin, go_src, NULL};
    if (run_child(a, &genv, NULL, NULL, 0, false, &build_s, NULL) != 0) {
      fprintf(stderr, "bench_pprof: '%s build %s' failed\n", go, go_src);
      goto out;
    }
  }
  {
    const char *a[] = {go, "env", "GOTOOLDIR", NULL};
    if (run_child(a, &genv, NULL, out, sizeof out, false, NULL, NULL) != 0 || !*out) {
      fprintf(stderr, "bench_pprof: '%s env GOTOOLDIR' failed\n", go);
      goto out;
    }
    out[strcspn(out, "\n")] = 0;
    snprintf(tool, sizeof tool, "%s/trace", out);
  }
  char gover[256] = "";
  {
    const char *a[] = {go, "version", NULL};
    if (run_child(a, &genv, NULL, gover, sizeof gover, false, NULL, NULL) == 0)
      gover[strcspn(gover, "\n")] = 0;
  }
  char nbuf[32];
  snprintf(nbuf, sizeof nbuf, "%llu", (unsigned long long)go_events);
  double gen_s;
  {
    const char *a[] = {bin, "-events", nbuf, "-o", go_trace, NULL};
    if (run_child(a, NULL, NULL, out, sizeof out, false, &gen_s, NULL) != 0) {
      fprintf(stderr, "bench_pprof: %s failed\n", bin);
      goto out;
    }
  }
  const char *ev = value_of(out, "events"), *by = value_of(out, "bytes");
  if (!ev || !by) {
    fprintf(stderr, "bench_pprof: unexpected output of synctrace: %s\n", out);
    goto out;
  }
  uint64_t go_ev = strtoull(ev, NULL, 10);
  long long go_bytes = strtoll(by, NULL, 10);
  fprintf(stderr, "go: built synctrace in %.1f s; traced %llu events in %.2f s into %s (%lld bytes)\n",
          build_s, (unsigned long long)go_ev, gen_s, go_trace, go_bytes);

  if (record_only) {
    printf("ours.trace=%s\nours.events=%llu\ngo.trace=%s\ngo.events=%llu\n", our_trace,
           (unsigned long long)our_events, go_trace, (unsigned long long)go_ev);
    status = 0;
    goto out;
  }

  /* 3. The conversions, interleaved. */
  static side ours, gos;
  ours = (side){.name = "exectrace pprof", .events = our_events, .max_tries = runs + EXTRA_OURS};
  const char *oa[] = {exectrace, "pprof", "--type", "sync", "-o", our_prof, our_trace, NULL};
  memcpy(ours.argv, oa, sizeof oa);
  gos = (side){.name = "go tool trace", .events = go_ev, .out = go_prof, .max_tries = runs + EXTRA_GO};
  const char *ga[] = {tool, "-pprof=sync", go_trace, NULL};
  memcpy(gos.argv, ga, sizeof ga);
  for (int round = 0; needs_more(&ours, runs) || needs_more(&gos, runs); round++) {
    side *first = round % 2 ? &gos : &ours, *second = round % 2 ? &ours : &gos;
    if (needs_more(first, runs) && measure(first) != 0) goto out;
    if (needs_more(second, runs) && measure(second) != 0) goto out;
  }

  /* 4. Both profiles, read by go tool pprof. */
  bool our_ok = check_profile(go, &genv, "exectrace pprof", our_prof);
  bool go_ok = check_profile(go, &genv, "go tool trace", go_prof);

  double o_s = bench_rows_median(&ours.rows, SECS), g_s = bench_rows_median(&gos.rows, SECS);
  double o_rate = bench_rows_median(&ours.rows, RATE), g_rate = bench_rows_median(&gos.rows, RATE);
  double o_bpe = bench_rows_median(&ours.rows, BPE), g_bpe = bench_rows_median(&gos.rows, BPE);
  double o_cpu = bench_rows_median(&ours.rows, CPU), g_cpu = bench_rows_median(&gos.rows, CPU);
  double o_mb = bench_rows_median(&ours.rows, RSS_MB), g_mb = bench_rows_median(&gos.rows, RSS_MB);
  double o_oth = bench_rows_median(&ours.rows, OTHERS), g_oth = bench_rows_median(&gos.rows, OTHERS);
  double speed = o_rate / g_rate, mem = g_bpe / o_bpe;
  bool clean = bench_rows_clean(&ours.rows) && bench_rows_clean(&gos.rows);
  if (runs < 3) clean = ours.rows.clean >= runs && gos.rows.clean >= runs;
  bool speed_ok = speed >= 20, mem_ok = mem >= 10;

  printf("go_version=%s\n", gover);
  printf("ours.events=%llu\nours.waits=%llu\nours.file_bytes_per_event=%.3f\nours.record_s=%.3f\n",
         (unsigned long long)our_events, (unsigned long long)our_blocks,
         (double)our_bytes / (double)our_events, rec_s);
  printf("go.events=%llu\ngo.file_bytes_per_event=%.3f\ngo.trace_s=%.3f\n", (unsigned long long)go_ev,
         (double)go_bytes / (double)go_ev, gen_s);
  printf("ours.runs=%d\nours.runs_tried=%d\nours.other_cpus=%.2f\n", bench_rows_used(&ours.rows),
         ours.rows.tries, o_oth);
  printf("go.runs=%d\ngo.runs_tried=%d\ngo.other_cpus=%.2f\n", bench_rows_used(&gos.rows), gos.rows.tries,
         g_oth);
  printf("runs_clean=%s\n", clean ? "yes" : "no");
  printf("ours.s=%.3f\nours.cpu_s=%.3f\nours.events_per_s=%.0f\nours.peak_rss_bytes=%.0f\n"
         "ours.peak_rss_bytes_per_event=%.2f\n",
         o_s, o_cpu, o_rate, o_mb * 1048576.0, o_bpe);
  printf("go.s=%.3f\ngo.cpu_s=%.3f\ngo.events_per_s=%.0f\ngo.peak_rss_bytes=%.0f\n"
         "go.peak_rss_bytes_per_event=%.2f\n",
         g_s, g_cpu, g_rate, g_mb * 1048576.0, g_bpe);
  printf("speed_ratio=%.2f\nspeed_target=20\nspeed_result=%s\n", speed, bench_result(speed_ok));
  printf("memory_ratio=%.2f\nmemory_target=10\nmemory_result=%s\n", mem, bench_result(mem_ok));
  printf("profiles_checked=%s\n", our_ok && go_ok ? "ok" : "FAILED");

  printf("\n%-34s %16s %16s %10s %8s  %s\n", "measure (median of runs)", "exectrace pprof", "go tool trace",
         "ratio", "target", "result");
  printf("%-34s %16llu %16llu\n", "events in the trace", (unsigned long long)our_events,
         (unsigned long long)go_ev);
  printf("%-34s %16.2f %16.2f\n", "trace file bytes per event", (double)our_bytes / (double)our_events,
         (double)go_bytes / (double)go_ev);
  printf("%-34s %14.3f s %14.3f s\n", "wall time of the conversion", o_s, g_s);
  printf("%-34s %14.3f s %14.3f s\n", "  CPU time (all threads)", o_cpu, g_cpu);
  printf("%-34s %12.2f M/s %12.2f M/s %9.1fx %8s  %s\n", "events per second", o_rate / 1e6, g_rate / 1e6,
         speed, ">=20x", bench_result(speed_ok));
  printf("%-34s %12.0f MiB %12.0f MiB\n", "peak RSS", o_mb, g_mb);
  printf("%-34s %14.1f B %14.1f B %8.1fx %8s  %s\n", "peak RSS per event", o_bpe, g_bpe, mem, "<=1/10",
         bench_result(mem_ok));
  printf("profiles read by go tool pprof: %s\n", our_ok && go_ok ? "ok" : "FAILED");
  printf("runs: medians of %d (%d tried) and %d (%d tried); other processes used %.2f and %.2f CPUs%s\n",
         bench_rows_used(&ours.rows), ours.rows.tries, bench_rows_used(&gos.rows), gos.rows.tries, o_oth,
         g_oth, clean ? "" : " -- NOT CLEAN: the machine was busy");
  status = 0;

out:
  if (record_only && status == 0) {
    /* kept */
  } else if (getenv("ET_BENCH_KEEP")) {
    fprintf(stderr, "kept %s %s %s %s\n", our_trace, go_trace, our_prof, go_prof);
  } else {
    unlink(our_trace);
    unlink(go_trace);
    unlink(our_prof);
    unlink(go_prof);
  }
  rm_tree(scratch);
  return status;
}

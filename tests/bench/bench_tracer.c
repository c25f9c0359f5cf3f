/* bench_tracer: what an event costs the traced program, as ratios to a bare
 * rdtsc measured in the same run.
 *
 * The product promises that a disabled tracepoint costs a load and a branch
 * and an enabled event little more than reading the clock.  Absolute
 * nanoseconds mean little on shared 2-core VMs, so every figure here is set
 * against the cost of one __rdtsc() measured in the same round, rounds are
 * interleaved (clock, call while off, event, event with stack), and the
 * reported figures are medians over rounds.  Every recorded trace is loaded
 * back with the reader to check that it is complete and dropped nothing, so
 * a fast figure can never come from lost events.  It also measures how
 * event throughput scales from one thread to two and how many bytes an
 * event takes in the file on a request-like mixed workload.
 *
 * Usage: bench_tracer [ROUNDS]   (default 11).  Exit status is 0 even when a
 * target is missed; each target prints PASS or MISS.
 */
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <x86intrin.h>

#include "bench_events.h"
#include "exectrace/exectrace.h"

#define N_OFF 10000000L   /* pairs of calls while recording is off */
#define N_EVENT 1000000L  /* pairs of events per round */
#define N_STACK 1000000L  /* region begins with a stack per round */
#define N_WARM 20000L
#define STACK_FRAMES 16
#define SCALE_ROUNDS 15
#define SCALE_MAX_TRIES 45 /* at most BENCH_MAX_ROWS */
#define SCALE_RUN_MS 150L
#define SCALE_BATCH 1024
#define SCALE_WARM 1000L
#define SCALE_BUFFER ((size_t)1 << 30) /* holds a whole run: nothing can drop */
#define MIX_REQUESTS 20000L  /* per thread */

static char scratch_dir[256];

/* The innermost frame of the stack benchmark: warm up (the stack enters the
 * table), then time, all from one call site so every event has one stack.
 * Only region begins carry a stack, so only they are timed; regions left
 * open cost the tracer and the reader nothing. */
static BENCH_NOINLINE double stack_loop(long warm, long n) {
  uint64_t t0 = 0;
  for (long i = 0; i < warm + n; i++) {
    if (i == warm) t0 = bench_now_ns();
    et_region_begin(0, region_name);
  }
  return (double)(bench_now_ns() - t0) / (double)n;
}

/* Recurses so that stack_loop runs STACK_FRAMES frames deep (stack_loop is
 * one of them); the empty asm keeps the call from becoming a jump. */
static BENCH_NOINLINE double deep(int d, long warm, long n) {
  double r = d > 1 ? deep(d - 1, warm, n) : stack_loop(warm, n);
  __asm__ volatile("" ::: "memory");
  return r;
}

static void trace_path(char *buf, size_t len, const char *what) {
  snprintf(buf, len, "%s/et-bench-%ld-%s.etrace", scratch_dir, (long)getpid(), what);
}

static int start(const char *path, int stacks, unsigned depth, size_t buffer) {
  et_options o;
  et_options_init(&o);
  o.stacks = stacks;
  if (depth) o.stack_depth = depth;
  if (buffer) o.buffer_size = buffer;
  int err = et_start_opts(path, &o);
  if (err) fprintf(stderr, "et_start_opts(%s): %s\n", path, et_strerror(err));
  return err;
}

/* Checks that region_begin events in the trace carry a stack of exactly
 * STACK_FRAMES frames, the inner ones all the same return address into
 * deep(); returns the frame count found (0 if none). */
static size_t check_stack_frames(et_trace *t) {
  int kind = et_trace_kind_by_name(t, "region_begin");
  size_t found = 0;
  for (size_t i = 0; i < et_trace_thread_count(t) && found == 0; i++) {
    et_cursor c;
    et_event ev;
    et_cursor_init(&c, t, i);
    while (et_cursor_next(&c, &ev)) {
      if (ev.kind != kind) continue;
      const uint64_t *f;
      size_t n = et_trace_stack(t, ev.stack, &f);
      bool same = n == STACK_FRAMES;
      for (size_t j = 3; same && j < n; j++) same = f[j] == f[2];
      found = same ? n : 0;
      if (!same) fprintf(stderr, "region_begin stack %u has %zu frames\n", ev.stack, n);
      break;
    }
  }
  return found;
}

/* ---- one round: clock, call while off, event, event with stack ---- */

typedef struct round {
  double rdtsc, off, event, stack;
  bool ok;
} round;

static round one_round(void) {
  round r = {.ok = true};
  char path[512];
  double rd1 = rdtsc_ns();
  r.off = region_pairs_ns(N_OFF);

  trace_path(path, sizeof path, "event");
  if (start(path, ET_STACKS_DEFAULT, 0, 0) != 0) exit(1);
  region_pairs_ns(N_WARM);
  r.event = region_pairs_ns(N_EVENT);
  et_stop();
  et_trace *t = bench_check_trace(path, "region_begin", N_WARM + N_EVENT);
  r.ok &= t != NULL;
  et_trace_close(t);
  unlink(path);

  double rd2 = rdtsc_ns();

  trace_path(path, sizeof path, "stack");
  if (start(path, ET_STACKS_ALL, STACK_FRAMES, 0) != 0) exit(1);
  r.stack = deep(STACK_FRAMES - 1, N_WARM, N_STACK);
  et_stop();
  t = bench_check_trace(path, "region_begin", N_WARM + N_STACK);
  r.ok &= t != NULL && check_stack_frames(t) == STACK_FRAMES;
  et_trace_close(t);
  unlink(path);

  r.rdtsc = (rd1 + rd2) / 2;
  return r;
}

/* ---- dwarf stacks: the same 16-frame event, unwound by libunwind ---- */

#define N_DWARF 200000L
#define DWARF_TRIES 5

/* Median over DWARF_TRIES of the 16-frame region begin with stack_mode
 * DWARF, as ns and as a ratio to an rdtsc measured just before; 0 when this
 * build or machine has no libunwind.  Apart from the rounds above, so the
 * frame-pointer figures are measured exactly as before. */
static double dwarf_row(double *ratio, bool *ok) {
  double ns[DWARF_TRIES], q[DWARF_TRIES];
  char path[512];
  trace_path(path, sizeof path, "dwarf");
  for (int i = 0; i < DWARF_TRIES; i++) {
    double rd = rdtsc_ns();
    et_options o;
    et_options_init(&o);
    o.stacks = ET_STACKS_ALL;
    o.stack_depth = STACK_FRAMES;
    o.stack_mode = ET_STACKMODE_DWARF;
    if (et_start_opts(path, &o) != 0) {
      *ratio = 0;
      return 0;
    }
    ns[i] = deep(STACK_FRAMES - 1, N_WARM, N_DWARF);
    q[i] = ns[i] / rd;
    et_stop();
    et_trace *t = bench_check_trace(path, "region_begin", N_WARM + N_DWARF);
    *ok &= t != NULL && check_stack_frames(t) == STACK_FRAMES;
    et_trace_close(t);
    unlink(path);
  }
  for (int i = 1; i < DWARF_TRIES; i++) /* insertion sort: five values */
    for (int j = i; j > 0 && ns[j] < ns[j - 1]; j--) {
      double a = ns[j], b = q[j];
      ns[j] = ns[j - 1], q[j] = q[j - 1];
      ns[j - 1] = a, q[j - 1] = b;
    }
  *ratio = q[DWARF_TRIES / 2];
  return ns[DWARF_TRIES / 2];
}

/* ---- throughput, one thread against two ---- */

/* Each run lasts a fixed time rather than a fixed number of events, so a
 * thread that finishes early cannot leave a core idle at the end. */
typedef struct scale_arg {
  pthread_barrier_t *barrier;
  _Atomic int *stop;
  bool bare;
  uint64_t t0, t1, pairs;
  double cpu_s;
} scale_arg;

static double thread_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void *scale_thread(void *p) {
  scale_arg *a = p;
  region_pairs_ns(SCALE_WARM); /* sets up the thread's tracer state */
  pthread_barrier_wait(a->barrier);
  double c0 = thread_cpu_s();
  a->t0 = bench_now_ns();
  uint64_t pairs = 0, acc = 0;
  while (!atomic_load_explicit(a->stop, memory_order_relaxed)) {
    if (a->bare) {
      for (int i = 0; i < SCALE_BATCH; i++) acc += __rdtsc() + __rdtsc();
    } else {
      for (int i = 0; i < SCALE_BATCH; i++) {
        et_region_begin(0, region_name);
        et_region_end(0, region_name);
      }
    }
    pairs += SCALE_BATCH;
  }
  sink = acc;
  a->t1 = bench_now_ns();
  a->cpu_s = thread_cpu_s() - c0;
  a->pairs = pairs;
  return NULL;
}

/* CPU seconds used so far by this process's thread named exectrace-wr (the
 * tracer's writer), from /proc/self/task/TID/schedstat; 0 if there is none. */
static double writer_cpu_s(void) {
  DIR *d = opendir("/proc/self/task");
  if (!d) return 0;
  double s = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[300], comm[32] = "";
    snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    bool writer = fgets(comm, sizeof comm, f) && strncmp(comm, "exectrace-wr", 12) == 0;
    fclose(f);
    if (!writer) continue;
    snprintf(path, sizeof path, "/proc/self/task/%s/schedstat", e->d_name);
    unsigned long long ns = 0;
    if ((f = fopen(path, "r"))) {
      if (fscanf(f, "%llu", &ns) != 1) ns = 0;
      fclose(f);
    }
    s = (double)ns / 1e9;
  }
  closedir(d);
  return s;
}

/* Events per second with n threads emitting at once; *busy gets their CPU
 * time over the wall time (1.0 per thread when nothing else ran), *writer
 * the tracer's writer thread's CPU time over the same wall time.  With
 * bare, the threads read the clock twice instead of emitting two events
 * and nothing is recorded: what the machine itself allows. */
static double scale_run(int n, bool bare, double *busy, double *writer, bool *ok) {
  char path[512];
  trace_path(path, sizeof path, "scale");
  if (!bare && start(path, ET_STACKS_DEFAULT, 0, SCALE_BUFFER) != 0) exit(1);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, (unsigned)n + 1);
  _Atomic int stop = 0;
  pthread_t th[2];
  scale_arg a[2];
  for (int i = 0; i < n; i++) {
    a[i] = (scale_arg){.barrier = &barrier, .stop = &stop, .bare = bare};
    pthread_create(&th[i], NULL, scale_thread, &a[i]);
  }
  pthread_barrier_wait(&barrier);
  double w0 = bare ? 0 : writer_cpu_s(), wt0 = (double)bench_now_ns() / 1e9;
  struct timespec d = {0, SCALE_RUN_MS * 1000000L};
  nanosleep(&d, NULL);
  double w1 = bare ? 0 : writer_cpu_s(), wt1 = (double)bench_now_ns() / 1e9;
  atomic_store(&stop, 1);
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
  if (!bare) et_stop();
  uint64_t t0 = a[0].t0, t1 = a[0].t1, pairs = 0;
  double cpu = 0;
  for (int i = 0; i < n; i++) {
    if (a[i].t0 < t0) t0 = a[i].t0;
    if (a[i].t1 > t1) t1 = a[i].t1;
    cpu += a[i].cpu_s;
    pairs += a[i].pairs;
  }
  if (!bare) {
    et_trace *t = bench_check_trace(path, "region_begin", pairs + (uint64_t)n * SCALE_WARM);
    *ok &= t != NULL;
    et_trace_close(t);
    unlink(path);
  }
  double wall = (double)(t1 - t0) / 1e9;
  *busy = cpu / wall;
  *writer = wt1 > wt0 ? (w1 - w0) / (wt1 - wt0) : 0;
  return 2.0 * (double)pairs / wall;
}

/* ---- bytes per event on a mixed, request-like workload ---- */

/* Two threads take turns handling requests: each request is a task with two
 * regions, a counter update and a log message; then the thread hands the
 * turn to the other (a wake) and waits on a condition variable (a blocking
 * begin/end).  Each region spins a few hundred nanoseconds, so time deltas
 * are those of real work rather than of back-to-back calls. */
typedef struct mix {
  pthread_mutex_t m;
  pthread_cond_t cv;
  int turn;
  _Atomic uint64_t tid[2];
} mix;

static mix mixer = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, {0, 0}};

static void spin_work(unsigned n) {
  uint64_t x = sink;
  for (unsigned i = 0; i < n; i++) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    __asm__ volatile("" : "+r"(x));
  }
  sink = x;
}

static void *mix_thread(void *p) {
  int me = (int)(intptr_t)p, other = 1 - me;
  atomic_store(&mixer.tid[me], et_thread_id());
  while (atomic_load(&mixer.tid[other]) == 0) sched_yield();
  uint64_t peer = atomic_load(&mixer.tid[other]);
  for (long i = 0; i < MIX_REQUESTS; i++) {
    pthread_mutex_lock(&mixer.m);
    while (mixer.turn != me) {
      et_block_begin(ET_REASON_COND, &mixer.cv);
      pthread_cond_wait(&mixer.cv, &mixer.m);
      et_block_end();
    }
    pthread_mutex_unlock(&mixer.m);

    uint64_t task = et_task_begin(0, "request");
    et_region_begin(task, "parse");
    spin_work(300);
    et_region_end(task, "parse");
    et_counter("queue.depth", (int64_t)(i % 17));
    et_region_begin(task, "handle");
    spin_work(300);
    et_log(task, "cache", "miss");
    et_region_end(task, "handle");
    et_task_end(task);

    pthread_mutex_lock(&mixer.m);
    mixer.turn = other;
    et_wake(peer, &mixer.cv);
    pthread_cond_signal(&mixer.cv);
    pthread_mutex_unlock(&mixer.m);
  }
  return NULL;
}

/* Bytes of the file by role, from the framing that docs/format.md fixes:
 * a 16-byte file header, then chunks of a 20-byte header (type at byte 4,
 * payload length at byte 8, little-endian) and a payload. */
#define EVENTS_CHUNK_TYPE 7

typedef struct file_bytes {
  uint64_t framing, events, meta;
} file_bytes;

static int file_breakdown(const char *path, file_bytes *fb) {
  memset(fb, 0, sizeof *fb);
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  uint8_t h[20];
  if (fread(h, 1, 16, f) != 16) {
    fclose(f);
    return -1;
  }
  fb->framing = 16;
  while (fread(h, 1, 20, f) == 20) {
    uint32_t plen = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
                    (uint32_t)h[11] << 24;
    fb->framing += 20;
    if (h[4] == EVENTS_CHUNK_TYPE) fb->events += plen;
    else fb->meta += plen;
    if (fseek(f, plen, SEEK_CUR) != 0) break;
  }
  fclose(f);
  return 0;
}

static int count_kinds(void *arg, const et_event *ev) {
  ((uint64_t *)arg)[ev->kind]++;
  return 0;
}

typedef struct mix_result {
  double bytes_per_event;
  bool ok;
} mix_result;

/* Runs the workload; prints where the bytes go into `details`. */
static mix_result mixed_workload(FILE *details) {
  mix_result res = {0};
  char path[512];
  trace_path(path, sizeof path, "mixed");
  if (start(path, ET_STACKS_DEFAULT, 0, 0) != 0) exit(1);
  pthread_t th[2];
  for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, mix_thread, (void *)(intptr_t)i);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  et_stop();
  et_trace *t = bench_check_trace(path, "task_begin", 2 * MIX_REQUESTS);
  if (!t) {
    unlink(path);
    return res;
  }
  const et_trace_info *info = et_trace_get_info(t);
  res.bytes_per_event = (double)info->bytes / (double)info->events;
  res.ok = true;

  file_bytes fb;
  uint64_t kinds[256] = {0};
  file_breakdown(path, &fb);
  et_trace_for_each(t, count_kinds, kinds);
  for (unsigned k = 0; k < 256; k++)
    if (kinds[k])
      fprintf(details, "mixed.kind.%s=%llu\n", et_trace_kind_name(t, k),
              (unsigned long long)kinds[k]);
  double ev = (double)info->events;
  fprintf(details, "mixed.events=%llu\nmixed.file_bytes=%llu\n",
          (unsigned long long)info->events, (unsigned long long)info->bytes);
  fprintf(details, "mixed.per_event.events_chunks=%.3f\nmixed.per_event.metadata_chunks=%.3f\n"
                   "mixed.per_event.chunk_headers=%.3f\n",
          (double)fb.events / ev, (double)fb.meta / ev, (double)fb.framing / ev);
  et_trace_close(t);
  unlink(path);
  return res;
}

int main(int argc, char **argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 11;
  if (rounds < 1) rounds = 1;
  if (rounds > BENCH_MAX_ROWS / 3) rounds = BENCH_MAX_ROWS / 3;
  snprintf(scratch_dir, sizeof scratch_dir, "%s", bench_dir());
  setvbuf(stdout, NULL, _IOLBF, 0);
  bench_machine();
  bool ok = true;

  /* Rounds during which other processes took CPU are run again, up to a
   * limit, and only clean rounds count when there are enough of them. */
  enum { RDTSC, OFF, EVENT, STACK, Q_OFF, Q_EVENT, Q_STACK, R_OTHERS, RCOLS };
  static bench_rows rr;
  while (rr.clean < rounds && rr.tries < 3 * rounds) {
    bench_cpu c0 = bench_cpu_now();
    round r = one_round();
    double row[RCOLS] = {r.rdtsc, r.off, r.event, r.stack, r.off / r.rdtsc, r.event / r.rdtsc,
                         r.stack / r.rdtsc, bench_cpu_others(c0, bench_cpu_now())};
    bool quiet = row[R_OTHERS] <= BENCH_QUIET_CPUS;
    ok &= r.ok;
    fprintf(stderr, "round %d: rdtsc %.2f ns, off %.2f ns, event %.2f ns, stack16 %.2f ns, "
                    "others %.2f CPUs%s\n", rr.tries, r.rdtsc, r.off, r.event, r.stack,
            row[R_OTHERS], quiet ? "" : " (not clean)");
    bench_rows_add(&rr, row, RCOLS, quiet);
  }
  double m_rd = bench_rows_median(&rr, RDTSC), m_off = bench_rows_median(&rr, OFF);
  double m_ev = bench_rows_median(&rr, EVENT), m_stk = bench_rows_median(&rr, STACK);
  double q_off = bench_rows_median(&rr, Q_OFF), q_ev = bench_rows_median(&rr, Q_EVENT);
  double q_stk = bench_rows_median(&rr, Q_STACK), m_oth = bench_rows_median(&rr, R_OTHERS);

  /* Two threads need both cores, so the same care; each try also measures
   * how a bare clock-read loop scales, the machine's own ceiling. */
  enum { S1, S2, RATIO, BUSY1, BUSY2, WR1, WR2, BARE1, BARE2, BARE_RATIO, S_OTHERS, SCOLS };
  static bench_rows sr;
  while (sr.clean < SCALE_ROUNDS && sr.tries < SCALE_MAX_TRIES) {
    double row[SCOLS], unused;
    bench_cpu c0 = bench_cpu_now();
    for (int k = 0; k < 4; k++) {
      int step = sr.tries % 2 ? 3 - k : k; /* interleaved, order alternating between tries */
      if (step == 0) row[S1] = scale_run(1, false, &row[BUSY1], &row[WR1], &ok);
      if (step == 1) row[S2] = scale_run(2, false, &row[BUSY2], &row[WR2], &ok);
      if (step == 2) row[BARE1] = scale_run(1, true, &unused, &unused, &ok);
      if (step == 3) row[BARE2] = scale_run(2, true, &unused, &unused, &ok);
    }
    row[S_OTHERS] = bench_cpu_others(c0, bench_cpu_now());
    row[RATIO] = row[S2] / row[S1];
    row[BARE_RATIO] = row[BARE2] / row[BARE1];
    bool quiet = row[S_OTHERS] <= BENCH_QUIET_CPUS;
    fprintf(stderr, "scale %d: 1 thread %.1f M/s (busy %.2f, writer %.3f), 2 threads %.1f M/s (busy %.2f, "
                    "writer %.3f), ratio %.2f; bare rdtsc ratio %.2f; others %.2f CPUs%s\n",
            sr.tries, row[S1] / 1e6, row[BUSY1], row[WR1], row[S2] / 1e6, row[BUSY2], row[WR2], row[RATIO],
            row[BARE_RATIO], row[S_OTHERS], quiet ? "" : " (not clean)");
    bench_rows_add(&sr, row, SCOLS, quiet);
  }
  double m_s1 = bench_rows_median(&sr, S1), m_s2 = bench_rows_median(&sr, S2);
  double q_s = bench_rows_median(&sr, RATIO), q_bare = bench_rows_median(&sr, BARE_RATIO);
  double m_b1 = bench_rows_median(&sr, BUSY1), m_b2 = bench_rows_median(&sr, BUSY2);
  double s_oth = bench_rows_median(&sr, S_OTHERS);
  double m_w1 = bench_rows_median(&sr, WR1), m_w2 = bench_rows_median(&sr, WR2);

  char *details = NULL;
  size_t details_len = 0;
  FILE *df = open_memstream(&details, &details_len);
  mix_result mx = mixed_workload(df);
  fclose(df);
  ok &= mx.ok;

  bool pass_off = q_off <= 0.25, pass_ev = q_ev <= 1.5, pass_stk = q_stk <= 3.0;
  bool pass_s = q_s >= 1.8, pass_mx = mx.ok && mx.bytes_per_event <= 8.0;
  printf("rounds=%d\nrounds_tried=%d\nrounds_clean=%s\nrounds_other_cpus=%.2f\n",
         bench_rows_used(&rr), rr.tries, bench_rows_clean(&rr) ? "yes" : "no", m_oth);
  printf("rdtsc_ns=%.2f\n", m_rd);
  printf("off_ns=%.3f\noff_ratio=%.3f\noff_target=0.25\noff_result=%s\n", m_off, q_off,
         bench_result(pass_off));
  printf("event_ns=%.2f\nevent_ratio=%.3f\nevent_target=1.5\nevent_result=%s\n", m_ev, q_ev,
         bench_result(pass_ev));
  printf("stack16_ns=%.2f\nstack16_ratio=%.3f\nstack16_target=3\nstack16_result=%s\n", m_stk,
         q_stk, bench_result(pass_stk));
  printf("events_per_s_1thread=%.0f\nevents_per_s_2threads=%.0f\nscaling_ratio=%.3f\n"
         "scaling_bare_rdtsc_ratio=%.3f\n"
         "scaling_busy_1thread=%.2f\nscaling_busy_2threads=%.2f\n"
         "scaling_writer_1thread=%.3f\nscaling_writer_2threads=%.3f\nscaling_other_cpus=%.2f\n"
         "scaling_pairs=%d\nscaling_pairs_tried=%d\nscaling_clean=%s\n"
         "scaling_target=1.8\nscaling_result=%s\n",
         m_s1, m_s2, q_s, q_bare, m_b1, m_b2, m_w1, m_w2, s_oth, bench_rows_used(&sr), sr.tries,
         bench_rows_clean(&sr) ? "yes" : "no", bench_result(pass_s));
  printf("mixed_bytes_per_event=%.3f\nmixed_target=8\nmixed_result=%s\n", mx.bytes_per_event,
         bench_result(pass_mx));
  double q_dw, m_dw = dwarf_row(&q_dw, &ok);
  printf("stack16_dwarf_ns=%.2f\nstack16_dwarf_ratio=%.3f\n", m_dw, q_dw);
  printf("traces_checked=%s\n", ok ? "ok" : "FAILED");
  fputs(details, stdout);
  free(details);

  printf("\n%-46s %12s %8s %8s  %s\n", "measure (medians)", "value", "ratio", "target",
         "result");
  printf("%-46s %9.2f ns %8s\n", "rdtsc", m_rd, "1");
  printf("%-46s %9.3f ns %8.3f %8s  %s\n", "call while recording is off", m_off, q_off, "<=0.25",
         bench_result(pass_off));
  printf("%-46s %9.2f ns %8.3f %8s  %s\n", "event, no stack (region begin/end)", m_ev, q_ev,
         "<=1.5", bench_result(pass_ev));
  printf("%-46s %9.2f ns %8.3f %8s  %s\n", "event, 16-frame stack already in the table", m_stk,
         q_stk, "<=3", bench_result(pass_stk));
  if (m_dw > 0)
    printf("%-46s %9.2f ns %8.3f %8s\n", "event, 16-frame stack, --stacks dwarf", m_dw, q_dw,
           "");
  else
    printf("%-46s %12s\n", "event, 16-frame stack, --stacks dwarf", "no libunwind");
  printf("%-46s %8.1f M/s\n", "events/s, 1 thread", m_s1 / 1e6);
  printf("%-46s %8.1f M/s %8.3f %8s  %s\n", "events/s, 2 threads (ratio: to 1 thread)", m_s2 / 1e6,
         q_s, ">=1.8", bench_result(pass_s));
  printf("%-46s %12s %8.3f\n", "  the machine itself: bare rdtsc, 2 threads/1", "", q_bare);
  printf("%-46s %10.2f B %8s %8s  %s\n", "bytes per event, mixed workload", mx.bytes_per_event,
         "", "<=8", bench_result(pass_mx));
  printf("traces checked (complete, no drops, all events): %s\n", ok ? "ok" : "FAILED");
  printf("rounds: medians of %d (%d run); other processes used %.2f CPUs meanwhile%s\n",
         bench_rows_used(&rr), rr.tries, m_oth,
         bench_rows_clean(&rr) ? "" : " -- NOT CLEAN: the machine was busy");
  printf("scaling: medians of %d tries (%d run); emitting threads' CPU share %.2f (1 thread), "
         "%.2f (2 threads);\nthe writer thread's %.3f and %.3f; other processes used %.2f CPUs meanwhile%s\n",
         bench_rows_used(&sr), sr.tries, m_b1, m_b2, m_w1, m_w2, s_oth,
         bench_rows_clean(&sr) ? "" : " -- NOT CLEAN: the machine was busy");
  return 0;
}

/* End to end: a program with 8 threads emits a known number of every kind of
 * event through the public API; the test then reads the trace back three
 * ways (the reader API, `exectrace stats --json`, `exectrace dump`) and
 * checks the counts are exact, the stacks' innermost frames are the call
 * sites the program saw, and the derived states show the waits and the
 * scheduler latency the program caused.
 *
 * usage: e2e_counts EXECTRACE_BINARY TRACE_PATH
 */
#include <dlfcn.h>
#include <exectrace/exectrace.h>
#include <exectrace/reader.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

#define THREADS 8
#define TASKS 50      /* per thread */
#define REGIONS 3     /* per task */
#define LOGS 2        /* per task */
#define BLOCKS 20     /* per thread */
#define WAKES 10      /* per thread */
#define SYSCALLS 7    /* per thread */
#define COUNTERS 12   /* per thread */
#define GCS 5         /* thread 0 only */

static uint64_t tids[THREADS];
static pthread_barrier_t ready, wakes_done;
static sem_t handoff, t0_blocked;
static int lock_object, cond_object;

/* Return addresses the helpers saw (the compiler may unroll or peel the
 * loops that call them, so there can be several call sites): the stacks'
 * second frames must be among them. */
#define MAX_SITES 16
typedef struct sites {
  pthread_mutex_t lock;
  uintptr_t addr[MAX_SITES];
  unsigned n;
} sites;
static sites block_sites = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};
static sites log_sites = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static void site_add(sites *s, uintptr_t a) {
  pthread_mutex_lock(&s->lock);
  unsigned i = 0;
  while (i < s->n && s->addr[i] != a) i++;
  if (i == s->n && s->n < MAX_SITES) s->addr[s->n++] = a;
  pthread_mutex_unlock(&s->lock);
}

static int site_has(const sites *s, uintptr_t a) {
  for (unsigned i = 0; i < s->n; i++)
    if (s->addr[i] == a) return 1;
  return 0;
}

/* Exported so that dladdr can find their extents. */
__attribute__((visibility("default"))) uintptr_t e2e_emit_block(void *obj);
__attribute__((visibility("default"))) uintptr_t e2e_emit_log(uint64_t task, int i);

__attribute__((noinline)) uintptr_t e2e_emit_block(void *obj) {
  et_block_begin(ET_REASON_MUTEX, obj);
  et_block_end();
  return (uintptr_t)__builtin_return_address(0);
}

__attribute__((noinline)) uintptr_t e2e_emit_log(uint64_t task, int i) {
  char msg[64];
  snprintf(msg, sizeof msg, "step %d of task %" PRIu64, i, task);
  et_log(task, "progress", msg);
  return (uintptr_t)__builtin_return_address(0);
}

static void sleep_us(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

static void *worker(void *arg) {
  int me = (int)(intptr_t)arg;
  char name[16];
  snprintf(name, sizeof name, "worker-%d", me);
  et_thread_name(name);
  tids[me] = et_thread_id();
  pthread_barrier_wait(&ready);

  for (int t = 0; t < TASKS; t++) {
    uint64_t task = et_task_begin(0, me % 2 ? "odd" : "even");
    for (int r = 0; r < REGIONS; r++) {
      et_region_begin(task, "step");
      et_region_end(task, "step");
    }
    for (int l = 0; l < LOGS; l++) {
      site_add(&log_sites, e2e_emit_log(task, l));
    }
    et_task_end(task);
  }
  for (int b = 0; b < BLOCKS; b++) {
    site_add(&block_sites, e2e_emit_block(&lock_object));
  }
  for (int w = 0; w < WAKES; w++) et_wake(tids[(me + 1) % THREADS], &lock_object);
  for (int s = 0; s < SYSCALLS; s++) {
    et_syscall_begin(0 /* read */, 3, ET_FDCLASS_SOCKET);
    et_syscall_end(42);
  }
  for (int c = 0; c < COUNTERS; c++) et_counter("queue", me * 100 + c);
  pthread_barrier_wait(&wakes_done); /* no stray wake may land in the wait below */
  if (me == 0) {
    for (int g = 0; g < GCS; g++) {
      et_gc_begin();
      et_stw_begin("mark");
      et_gc_phase_begin("mark");
      et_heap_live(1000u + (unsigned)g);
      et_gc_phase_end();
      et_stw_end();
      et_heap_goal(2000u + (unsigned)g);
      et_gc_end();
    }
    /* A deterministic wake: block, get woken by thread 1 5 ms in, run 2 ms later. */
    et_block_begin(ET_REASON_COND, &cond_object);
    sem_post(&t0_blocked);
    sem_wait(&handoff);
    et_block_end();
  }
  if (me == 1) {
    sem_wait(&t0_blocked);
    sleep_us(5000);
    et_wake(tids[0], &cond_object);
    sleep_us(2000);
    sem_post(&handoff);
  }
  return NULL;
}

typedef struct expect {
  const char *kind;
  uint64_t count;
} expect;

static const expect expected[] = {
    {"thread_start", THREADS + 1},
    {"thread_name", 2 * (THREADS + 1)}, /* the kernel's name at start, then et_thread_name */
    {"thread_exit", THREADS},
    {"thread_create", THREADS},
    {"task_begin", THREADS * TASKS},
    {"task_end", THREADS * TASKS},
    {"region_begin", THREADS * TASKS * REGIONS},
    {"region_end", THREADS * TASKS * REGIONS},
    {"log", THREADS * TASKS * LOGS},
    {"block_begin", THREADS * BLOCKS + 1},
    {"block_end", THREADS * BLOCKS + 1},
    {"wake", THREADS * WAKES + 1},
    {"syscall_begin", THREADS * SYSCALLS},
    {"syscall_end", THREADS * SYSCALLS},
    {"counter", THREADS * COUNTERS},
    {"gc_begin", GCS},
    {"gc_end", GCS},
    {"gc_phase_begin", GCS},
    {"gc_phase_end", GCS},
    {"stw_begin", GCS},
    {"stw_end", GCS},
    {"heap_live", GCS},
    {"heap_goal", GCS},
    {"cpu_sample", 0},
    {"drop", 0},
};
#define NEXPECT (sizeof expected / sizeof expected[0])

static uint64_t expected_total(void) {
  uint64_t n = 0;
  for (size_t i = 0; i < NEXPECT; i++) n += expected[i].count;
  return n;
}

static void record(const char *path) {
  pthread_barrier_init(&ready, NULL, THREADS + 1);
  pthread_barrier_init(&wakes_done, NULL, THREADS);
  sem_init(&handoff, 0, 0);
  sem_init(&t0_blocked, 0, 0);
  TAP_REQUIRE(et_start(path) == 0, "et_start(%s)", path);
  et_thread_name("main");
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
  pthread_barrier_wait(&ready);
  for (int i = 0; i < THREADS; i++) et_thread_create(tids[i]);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  ok(et_stop() == 0, "et_stop");
}

/* The [start, start + size) of the function containing addr. */
static int function_range(uintptr_t addr, uintptr_t *lo, uintptr_t *hi) {
  Dl_info info;
  const void *sym = NULL;
  if (!dladdr1((void *)addr, &info, (void **)&sym, RTLD_DL_SYMENT) || !sym || !info.dli_saddr)
    return -1;
  *lo = (uintptr_t)info.dli_saddr;
  *hi = *lo + ((const unsigned long *)sym)[2]; /* Elf64_Sym.st_size: after name, info, other, shndx, value */
  return 0;
}

typedef struct stack_check {
  const et_trace *t;
  unsigned kind;
  uintptr_t lo, hi;
  const sites *callers;
  unsigned seen, good_inner, good_caller;
} stack_check;

static int check_stack(void *arg, const et_event *ev) {
  stack_check *c = arg;
  if (ev->kind != c->kind) return 0;
  c->seen++;
  const uint64_t *f;
  size_t n = et_trace_stack(c->t, ev->stack, &f);
  if (n >= 1 && f[0] >= c->lo && f[0] < c->hi) c->good_inner++;
  if (n >= 2 && site_has(c->callers, f[1])) c->good_caller++;
  return 0;
}

static void check_model(const char *path) {
  et_trace *t;
  TAP_REQUIRE(et_trace_open(path, &t) == 0, "the trace loads");
  const et_trace_info *in = et_trace_get_info(t);
  ok(in->complete, "the trace is complete");
  ok(in->dropped == 0, "no events dropped");
  ok(et_trace_warning_count(t) == 0, "no warnings (%zu)", et_trace_warning_count(t));
  for (size_t i = 0; i < et_trace_warning_count(t); i++) diag("%s", et_trace_warning(t, i));
  for (size_t i = 0; i < NEXPECT; i++) {
    int k = et_trace_kind_by_name(t, expected[i].kind);
    ok(k > 0 && et_trace_kind_count(t, (unsigned)k) == expected[i].count,
       "model: %s = %" PRIu64 " (got %" PRIu64 ")", expected[i].kind, expected[i].count,
       k > 0 ? et_trace_kind_count(t, (unsigned)k) : 0);
  }
  ok(in->events == expected_total(), "model: %" PRIu64 " events in all", expected_total());
  ok(et_trace_thread_count(t) == THREADS + 1, "model: %d threads", THREADS + 1);
  ok(et_trace_task_count(t) == THREADS * TASKS, "model: %d tasks", THREADS * TASKS);

  /* Thread names and parents. */
  int named = 0, parented = 0;
  uint64_t main_tid = 0;
  for (size_t i = 0; i < et_trace_thread_count(t); i++)
    if (strcmp(et_trace_thread(t, i)->name, "main") == 0) main_tid = et_trace_thread(t, i)->tid;
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    const et_thread_info *th = et_trace_thread(t, i);
    named += strncmp(th->name, "worker-", 7) == 0;
    parented += th->parent == main_tid && main_tid != 0;
  }
  ok(named == THREADS, "every worker carries its name (%d)", named);
  ok(parented == THREADS, "every worker's parent is main (%d)", parented);

  /* Innermost frames: inside the emitting function; next: its caller's return address. */
  stack_check c = {.t = t, .kind = (unsigned)et_trace_kind_by_name(t, "block_begin"),
                   .callers = &block_sites};
  TAP_REQUIRE(function_range((uintptr_t)e2e_emit_block, &c.lo, &c.hi) == 0, "block helper located");
  et_trace_for_each(t, check_stack, &c);
  ok(c.seen == THREADS * BLOCKS + 1, "block_begin events seen (%u)", c.seen);
  ok(c.good_inner == THREADS * BLOCKS, "block stacks start inside e2e_emit_block (%u)", c.good_inner);
  ok(c.good_caller == THREADS * BLOCKS, "block stacks' second frame is the caller's return address (%u)",
     c.good_caller);
  stack_check lc = {.t = t, .kind = (unsigned)et_trace_kind_by_name(t, "log"), .callers = &log_sites};
  TAP_REQUIRE(function_range((uintptr_t)e2e_emit_log, &lc.lo, &lc.hi) == 0, "log helper located");
  et_trace_for_each(t, check_stack, &lc);
  ok(lc.good_inner == THREADS * TASKS * LOGS, "log stacks start inside e2e_emit_log (%u)",
     lc.good_inner);
  ok(lc.good_caller == THREADS * TASKS * LOGS, "log stacks' second frame is the caller (%u)",
     lc.good_caller);

  /* States of thread 0: the deterministic wait is blocked, then runnable for ~2 ms. */
  size_t t0 = SIZE_MAX;
  for (size_t i = 0; i < et_trace_thread_count(t); i++)
    if (et_trace_thread(t, i)->tid == tids[0]) t0 = i;
  TAP_REQUIRE(t0 != SIZE_MAX, "thread 0 found");
  const et_span *sp;
  size_t n = et_trace_spans(t, t0, &sp);
  int found = 0, mutex_blocks = 0, syscalls = 0;
  for (size_t i = 0; i + 1 < n; i++) {
    if (sp[i].state == ET_STATE_BLOCKED && sp[i].reason == ET_REASON_MUTEX) mutex_blocks++;
    if (sp[i].state == ET_STATE_SYSCALL && sp[i].reason == ET_FDCLASS_SOCKET) syscalls++;
    if (sp[i].state == ET_STATE_BLOCKED && sp[i].reason == ET_REASON_COND &&
        sp[i + 1].state == ET_STATE_RUNNABLE) {
      uint64_t blocked = sp[i + 1].start - sp[i].start;
      uint64_t runnable = (i + 2 < n ? sp[i + 2].start : et_trace_thread(t, t0)->last) - sp[i + 1].start;
      diag("cond wait: blocked %" PRIu64 " ns, runnable %" PRIu64 " ns", blocked, runnable);
      found = blocked >= 4000000 && runnable >= 1500000 && sp[i + 1].stack != 0;
    }
  }
  ok(found, "the woken wait shows blocked (>= 4 ms) then runnable (>= 1.5 ms) with the waker's stack");
  ok(mutex_blocks == BLOCKS, "thread 0 has %d mutex-blocked spans (%d)", BLOCKS, mutex_blocks);
  ok(syscalls == SYSCALLS, "thread 0 has %d socket syscall spans (%d)", SYSCALLS, syscalls);
  et_trace_close(t);
}

typedef struct stream_count {
  uint64_t events, logs, last_time[THREADS + 1], tids[THREADS + 1];
  int resolved, disorder;
} stream_count;

static int on_stream_event(void *arg, const et_trace *t, const et_event *ev) {
  stream_count *c = arg;
  c->events++;
  const char *kn = et_trace_kind_name(t, ev->kind);
  if (kn && strcmp(kn, "log") == 0) {
    c->logs++;
    c->resolved += et_trace_string(t, ev->field[1]) != NULL;
  }
  /* Each thread's events arrive in time order. */
  for (int i = 0; i <= THREADS; i++) {
    if (c->tids[i] == 0) c->tids[i] = ev->tid;
    if (c->tids[i] == ev->tid) {
      if (ev->time < c->last_time[i]) c->disorder++;
      c->last_time[i] = ev->time;
      break;
    }
  }
  return 0;
}

/* The streaming reader sees the same events without building a model. */
static void check_stream(const char *path) {
  stream_count c = {0};
  et_stream_handlers h = {on_stream_event, NULL};
  ok(et_trace_stream(path, &h, &c) == 0, "et_trace_stream reads the trace");
  ok(c.events == expected_total(), "the stream delivers every event (%" PRIu64 ")", c.events);
  ok(c.logs == THREADS * TASKS * LOGS && c.resolved == (int)c.logs,
     "the stream resolves strings as it goes (%d of %" PRIu64 ")", c.resolved, c.logs);
  ok(c.disorder == 0, "each thread's events stream in time order");
}

/* Runs the exectrace command and returns its standard output. */
static char *run(const char *exe, const char *sub, const char *opt, const char *path, int *status) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' %s %s '%s'", exe, sub, opt, path);
  FILE *p = popen(cmd, "r");
  if (!p) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  size_t r;
  while (out && (r = fread(out + len, 1, cap - len - 1, p)) > 0) {
    len += r;
    if (len + 1 == cap) out = realloc(out, cap *= 2);
  }
  if (out) out[len] = 0;
  *status = pclose(p);
  return out;
}

static void check_cli(const char *exe, const char *path) {
  int st;
  char *json = run(exe, "stats", "--json", path, &st);
  TAP_REQUIRE(json && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exectrace stats --json exits 0");
  for (size_t i = 0; i < NEXPECT; i++) {
    char want[128];
    snprintf(want, sizeof want, "\"%s\":%" PRIu64 ",", expected[i].kind, expected[i].count);
    char want_last[128];
    snprintf(want_last, sizeof want_last, "\"%s\":%" PRIu64 "}", expected[i].kind, expected[i].count);
    ok(strstr(json, want) || strstr(json, want_last), "stats --json: %s", want);
  }
  char want[128];
  snprintf(want, sizeof want, "\"events\":%" PRIu64 ",", expected_total());
  ok(strstr(json, want) != NULL, "stats --json: %s", want);
  snprintf(want, sizeof want, "\"threads\":%d,", THREADS + 1);
  ok(strstr(json, want) != NULL, "stats --json: %s", want);
  ok(strstr(json, "\"dropped\":0,") != NULL, "stats --json: dropped 0");
  ok(strstr(json, "\"duration_ns\":") && strstr(json, "\"bytes\":"), "stats --json: duration_ns, bytes");
  free(json);

  char *dump = run(exe, "dump", "", path, &st);
  TAP_REQUIRE(dump && WIFEXITED(st) && WEXITSTATUS(st) == 0, "exectrace dump exits 0");
  uint64_t lines = 0, counts[NEXPECT] = {0};
  uint64_t last_time = 0;
  int ordered = 1;
  for (char *line = strtok(dump, "\n"); line; line = strtok(NULL, "\n")) {
    lines++;
    uint64_t time, tid;
    char kind[64];
    if (sscanf(line, "%" SCNu64 " %" SCNu64 " %63s", &time, &tid, kind) != 3) continue;
    if (time < last_time) ordered = 0;
    last_time = time;
    for (size_t i = 0; i < NEXPECT; i++)
      if (strcmp(kind, expected[i].kind) == 0) counts[i]++;
  }
  ok(lines == expected_total(), "dump prints one line per event (%" PRIu64 ")", lines);
  ok(ordered, "dump is in time order");
  for (size_t i = 0; i < NEXPECT; i++)
    ok(counts[i] == expected[i].count, "dump: %s lines = %" PRIu64, expected[i].kind, counts[i]);
  free(dump);

  dump = run(exe, "dump", "", path, &st);
  ok(dump && strstr(dump, " log task=1 category=\"progress\" message=\"step 0 of task 1\" stack="),
     "dump shows a log's fields and stack id");
  ok(dump && strstr(dump, " block_begin reason=mutex object=0x"), "dump names reasons, objects in hex");
  free(dump);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: e2e_counts EXECTRACE TRACE\n");
    return 2;
  }
  record(argv[2]);
  check_model(argv[2]);
  check_stream(argv[2]);
  check_cli(argv[1], argv[2]);
  return tap_done();
}

/* The program that test_export.py exports: five threads that emit every
 * kind of event the API and the CPU sampler can produce (drops come from
 * e2e_export_craft), with two deterministic wake-ups (one to a named
 * thread, one to a waiter of an object) so that the Chrome export must
 * draw flows, a region ended without a begin and one left open, nested
 * regions, child tasks, collections with phases and pauses, and CPU burnt
 * in two functions so that the folded export has samples.
 *
 * usage: e2e_export_record TRACE           record TRACE, then print facts
 *        e2e_export_record --facts TRACE   print the facts of any trace
 * Facts are what the checks need from the model that `exectrace stats` does
 * not print, one "name value" per line: state spans, runnable spans,
 * nanoseconds blocked, threads with regions or logs, the wall-clock start.
 */
#include <exectrace/exectrace.h>
#include <exectrace/reader.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKERS 4
#define TASKS 12

static uint64_t tids[WORKERS];
static pthread_barrier_t ready;
static sem_t handoff_mutex, handoff_cond, blocked_mutex, blocked_cond;
static int lock_object, cond_object;
static volatile uint64_t sink;

static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((noinline)) static void burn_hot(uint64_t ns) {
  uint64_t end = cpu_ns() + ns, x = sink;
  while (cpu_ns() < end)
    for (int i = 0; i < 1000; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
  sink = x;
}

__attribute__((noinline)) static void burn_cold(uint64_t ns) {
  uint64_t end = cpu_ns() + ns, x = sink;
  while (cpu_ns() < end)
    for (int i = 0; i < 1000; i++) x ^= x << 13, x ^= x >> 7, x ^= x << 17;
  sink = x;
}

static void sleep_ms(long ms) {
  struct timespec ts = {0, ms * 1000000};
  et_block_begin(ET_REASON_SLEEP, NULL);
  nanosleep(&ts, NULL);
  et_block_end();
}

static void gc_cycle(int g) {
  et_gc_begin();
  et_stw_begin("mark");
  et_gc_phase_begin("mark");
  et_heap_live(1000000u + (uint64_t)g);
  et_gc_phase_end();
  et_gc_phase_begin("sweep");
  et_gc_phase_end();
  et_stw_end();
  et_heap_goal(2000000u + (uint64_t)g);
  et_gc_end();
}

static void *worker(void *arg) {
  int me = (int)(intptr_t)arg;
  char name[16];
  snprintf(name, sizeof name, "worker-%d", me);
  et_thread_name(name);
  tids[me] = et_thread_id();
  pthread_barrier_wait(&ready);

  for (int t = 0; t < TASKS; t++) {
    uint64_t task = et_task_begin(0, t % 3 ? "request" : "batch");
    uint64_t child = et_task_begin(task, "lookup");
    et_region_begin(task, "handle");
    et_region_begin(child, "parse");
    et_log(child, "progress", "parsed \"key\"");
    et_region_end(child, "parse");
    et_syscall_begin(0, 3 + me, ET_FDCLASS_SOCKET);
    et_syscall_end(128);
    et_counter("queue", me * 100 + t);
    et_region_end(task, "handle");
    et_task_end(child);
    et_task_end(task);
  }
  burn_hot(30000000);
  burn_cold(10000000);
  sleep_ms(3);

  switch (me) {
    case 0: /* wakes worker 1 by name */
      for (int g = 0; g < 3; g++) gc_cycle(g);
      sem_wait(&blocked_mutex);
      sleep_ms(5);
      et_wake(tids[1], &lock_object);
      sem_post(&handoff_mutex);
      break;
    case 1:
      et_block_begin(ET_REASON_MUTEX, &lock_object);
      sem_post(&blocked_mutex);
      sem_wait(&handoff_mutex);
      et_block_end();
      break;
    case 2: /* woken as a waiter of cond_object, and leaves a region open */
      et_region_begin(0, "left open");
      et_block_begin(ET_REASON_COND, &cond_object);
      sem_post(&blocked_cond);
      sem_wait(&handoff_cond);
      et_block_end();
      break;
    case 3:
      et_region_end(0, "never began");
      sem_wait(&blocked_cond);
      sleep_ms(2);
      et_wake(0, &cond_object);
      sem_post(&handoff_cond);
      break;
  }
  return NULL;
}

static int record(const char *path) {
  pthread_barrier_init(&ready, NULL, WORKERS + 1);
  sem_init(&handoff_mutex, 0, 0);
  sem_init(&handoff_cond, 0, 0);
  sem_init(&blocked_mutex, 0, 0);
  sem_init(&blocked_cond, 0, 0);
  et_options o;
  et_options_init(&o);
  o.cpu_hz = 1000;
  int r = et_start_opts(path, &o);
  if (r != 0) {
    fprintf(stderr, "et_start_opts(%s): %s\n", path, et_strerror(r));
    return 1;
  }
  et_thread_name("main");
  pthread_t th[WORKERS];
  for (int i = 0; i < WORKERS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
  pthread_barrier_wait(&ready);
  for (int i = 0; i < WORKERS; i++) et_thread_create(tids[i]);
  for (int i = 0; i < WORKERS; i++) {
    et_block_begin(ET_REASON_JOIN, NULL);
    pthread_join(th[i], NULL);
    et_block_end();
  }
  r = et_stop();
  if (r != 0) {
    fprintf(stderr, "et_stop: %s\n", et_strerror(r));
    return 1;
  }
  return 0;
}

static int facts(const char *path) {
  et_trace *t;
  int r = et_trace_open(path, &t);
  if (r != 0) {
    fprintf(stderr, "%s: %s\n", path, et_strerror(r));
    return 1;
  }
  uint64_t spans = 0, runnable = 0, blocked_ns = 0, annotated = 0;
  int region = et_trace_kind_by_name(t, "region_begin"), log = et_trace_kind_by_name(t, "log");
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    const et_span *sp;
    size_t n = et_trace_spans(t, i, &sp);
    uint64_t last = et_trace_thread(t, i)->last;
    spans += n;
    for (size_t j = 0; j < n; j++) {
      uint64_t end = j + 1 < n ? sp[j + 1].start : last;
      runnable += sp[j].state == ET_STATE_RUNNABLE;
      if (sp[j].state == ET_STATE_BLOCKED && end > sp[j].start) blocked_ns += end - sp[j].start;
    }
    et_cursor c;
    et_event ev;
    et_cursor_init(&c, t, i);
    while (et_cursor_next(&c, &ev))
      if (ev.kind == region || ev.kind == log) {
        annotated++;
        break;
      }
  }
  printf("spans %" PRIu64 "\nrunnable %" PRIu64 "\nblocked_ns %" PRIu64 "\nannotated_threads %" PRIu64
         "\nthreads %zu\ntasks %zu\nwall_start_ns %" PRIu64 "\n",
         spans, runnable, blocked_ns, annotated, et_trace_thread_count(t), et_trace_task_count(t),
         et_trace_get_info(t)->wall_start_ns);
  et_trace_close(t);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--facts") == 0) return facts(argv[2]);
  if (argc != 2) {
    fprintf(stderr, "usage: e2e_export_record TRACE | --facts TRACE\n");
    return 2;
  }
  return record(argv[1]) || facts(argv[1]);
}

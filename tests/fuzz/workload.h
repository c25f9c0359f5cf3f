/* A small multi-threaded program recorded with the tracing API, shared by the
 * seed generator (make_seeds.c) and the damage test (test_damage.c), so that
 * both the fuzzer's seeds and the damaged traces start from realistic
 * traces: named worker threads handing a turn around through a condition
 * variable (blocking, wakes by thread and by object), tasks and nested
 * regions, logs, system calls with negative results, counters, a collector
 * cycle with phases and a stop-the-world pause, and the main thread's
 * creations and joins.  Every kind the API can emit appears; CPU samples
 * have no API call and are left out.
 */
#ifndef EXECTRACE_TESTS_FUZZ_WORKLOAD_H
#define EXECTRACE_TESTS_FUZZ_WORKLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "exectrace/exectrace.h"

enum { WL_MAX_THREADS = 8 };

typedef struct wl_params {
  int threads;    /* workers, 1..WL_MAX_THREADS */
  int iterations; /* turns each worker takes */
  int sleep_us;   /* sleep per turn, so that periodic flushes cut chunks into pieces */
} wl_params;

typedef struct wl_shared {
  wl_params p;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_barrier_t ready;
  int turn;
  _Atomic uint64_t tids[WL_MAX_THREADS];
} wl_shared;

typedef struct wl_worker {
  wl_shared *sh;
  int index;
  pthread_t thread;
} wl_worker;

static void wl_sleep_us(int us) {
  struct timespec ts = {0, (long)us * 1000};
  nanosleep(&ts, NULL);
}

static void wl_collect(int cycle) {
  et_gc_begin();
  et_gc_phase_begin("mark");
  et_stw_begin("mark termination");
  et_heap_live(1000000u + 4096u * (unsigned)cycle);
  et_stw_end();
  et_gc_phase_end();
  et_gc_phase_begin("sweep");
  et_gc_phase_end();
  et_heap_goal(2000000u + 8192u * (unsigned)cycle);
  et_gc_end();
}

static void wl_take_turn(wl_worker *w, int i) {
  wl_shared *sh = w->sh;
  int next = (w->index + 1) % sh->p.threads;
  if (pthread_mutex_trylock(&sh->mu) != 0) {
    et_block_begin(ET_REASON_MUTEX, &sh->mu);
    pthread_mutex_lock(&sh->mu);
    et_block_end();
  }
  while (sh->turn != w->index) {
    et_block_begin(ET_REASON_COND, &sh->cv);
    pthread_cond_wait(&sh->cv, &sh->mu);
    et_block_end();
  }
  sh->turn = next;
  et_wake(i % 2 ? atomic_load(&sh->tids[next]) : 0, &sh->cv);
  pthread_cond_broadcast(&sh->cv);
  pthread_mutex_unlock(&sh->mu);
}

static void *wl_worker_main(void *arg) {
  wl_worker *w = arg;
  wl_shared *sh = w->sh;
  char name[16];
  snprintf(name, sizeof name, "worker-%d", w->index);
  et_thread_name(name);
  atomic_store(&sh->tids[w->index], et_thread_id());
  pthread_barrier_wait(&sh->ready);
  static char long_message[5000];
  if (w->index == 0) {
    memset(long_message, 'x', sizeof long_message - 1);
    et_log(0, "startup", long_message);
  }
  for (int i = 0; i < sh->p.iterations; i++) {
    uint64_t task = et_task_begin(0, i % 3 ? "request" : "a request type with a rather long name");
    uint64_t sub = et_task_begin(task, "subrequest");
    et_region_begin(task, "handle");
    et_log(task, "http", i % 5 ? "GET /index.html" : NULL);
    et_region_begin(sub, "lookup");
    et_syscall_begin(SYS_getpid, -1, ET_FDCLASS_NONE);
    et_syscall_end((long)syscall(SYS_getpid));
    et_syscall_begin(SYS_read, 7, i % 2 ? ET_FDCLASS_SOCKET : ET_FDCLASS_FILE);
    et_syscall_end(-11);
    et_region_end(sub, "lookup");
    et_task_end(sub);
    et_counter("inflight", i - 3);
    wl_take_turn(w, i);
    if (sh->p.sleep_us) {
      et_block_begin(ET_REASON_SLEEP, NULL);
      wl_sleep_us(sh->p.sleep_us);
      et_block_end();
    }
    if (w->index == 0 && i % 8 == 3) wl_collect(i);
    et_region_begin(0, NULL);
    et_region_end(0, NULL);
    et_region_end(task, "handle");
    et_task_end(task);
  }
  return NULL;
}

/* Records the workload into path with options o; 0 or a negative error. */
static int wl_record(const char *path, const et_options *o, const wl_params *p) {
  static wl_shared sh;
  wl_worker workers[WL_MAX_THREADS];
  memset(&sh, 0, sizeof sh);
  sh.p = *p;
  pthread_mutex_init(&sh.mu, NULL);
  pthread_cond_init(&sh.cv, NULL);
  pthread_barrier_init(&sh.ready, NULL, (unsigned)p->threads + 1);
  int err = et_start_opts(path, o);
  if (err) return err;
  et_thread_name("main");
  for (int i = 0; i < p->threads; i++) {
    workers[i] = (wl_worker){&sh, i, 0};
    if (pthread_create(&workers[i].thread, NULL, wl_worker_main, &workers[i]) != 0) {
      fprintf(stderr, "workload: cannot start a thread\n");
      abort(); /* the others wait for it at the barrier */
    }
  }
  pthread_barrier_wait(&sh.ready);
  for (int i = 0; i < p->threads; i++) et_thread_create(atomic_load(&sh.tids[i]));
  for (int i = 0; i < p->threads; i++) {
    et_block_begin(ET_REASON_JOIN, NULL);
    pthread_join(workers[i].thread, NULL);
    et_block_end();
  }
  err = et_stop();
  pthread_barrier_destroy(&sh.ready);
  pthread_cond_destroy(&sh.cv);
  pthread_mutex_destroy(&sh.mu);
  return err;
}

#endif

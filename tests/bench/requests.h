/* The request-like workload that bench_reader records and the viewer's
 * benchmark (viewer/bench/gen_big.c) loads: REQ_THREADS threads, each
 * running iterations of REQ_PER_ITERATION events — a task with regions, a
 * socket system call, a counter, a lock wait (block, then a wake of the next
 * thread) and a log message — padded with counters to exactly req_per_thread
 * events each.  Start REQ_THREADS threads on req_thread with their index as
 * the argument. */
#ifndef EXECTRACE_TESTS_BENCH_REQUESTS_H
#define EXECTRACE_TESTS_BENCH_REQUESTS_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include "exectrace/exectrace.h"

#define REQ_THREADS 3
#define REQ_PER_ITERATION 13

static uint64_t req_per_thread;
static _Atomic uint64_t req_tids[REQ_THREADS];
static int req_locks[REQ_THREADS];

__attribute__((unused)) static void *req_thread(void *p) {
  int me = (int)(intptr_t)p;
  atomic_store(&req_tids[me], et_thread_id());
  for (int i = 0; i < REQ_THREADS; i++)
    while (atomic_load(&req_tids[i]) == 0) sched_yield();
  uint64_t next = atomic_load(&req_tids[(me + 1) % REQ_THREADS]);
  uint64_t n = 0, i = 0;
  for (; n + REQ_PER_ITERATION <= req_per_thread; n += REQ_PER_ITERATION, i++) {
    uint64_t task = et_task_begin(0, "request");
    et_region_begin(task, "parse");
    et_syscall_begin(0, 5 + me, ET_FDCLASS_SOCKET);
    et_syscall_end(512);
    et_region_end(task, "parse");
    et_counter("inflight", (int64_t)(i & 31));
    et_block_begin(ET_REASON_MUTEX, &req_locks[me]);
    et_block_end();
    et_wake(next, &req_locks[(me + 1) % REQ_THREADS]);
    et_log(task, "db", "query");
    et_region_begin(task, "respond");
    et_region_end(task, "respond");
    et_task_end(task);
  }
  for (; n < req_per_thread; n++) et_counter("inflight", 0);
  return NULL;
}

#endif

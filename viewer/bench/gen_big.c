/* gen_big: records a trace of about N events for the viewer's benchmark.
 *
 * Three threads run request-like iterations (the mix of tests/bench's
 * bench_reader): a task with two regions, a socket system call, a counter,
 * a lock wait ended by a wake from the previous thread, a log; with
 * block_when_full so nothing is dropped.
 *
 * usage: gen_big N OUT.etrace
 */
#include <exectrace/exectrace.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 3
#define PER_ITERATION 13

static uint64_t per_thread;
static _Atomic uint64_t tids[THREADS];
static int locks[THREADS];

static void *emit(void *p) {
  int me = (int)(intptr_t)p;
  atomic_store(&tids[me], et_thread_id());
  for (int i = 0; i < THREADS; i++)
    while (atomic_load(&tids[i]) == 0) sched_yield();
  uint64_t next = atomic_load(&tids[(me + 1) % THREADS]);
  uint64_t n = 0, i = 0;
  for (; n + PER_ITERATION <= per_thread; n += PER_ITERATION, i++) {
    uint64_t task = et_task_begin(0, "request");
    et_region_begin(task, "parse");
    et_syscall_begin(0, 5 + me, ET_FDCLASS_SOCKET);
    et_syscall_end(512);
    et_region_end(task, "parse");
    et_counter("inflight", (int64_t)(i & 31));
    et_block_begin(ET_REASON_MUTEX, &locks[me]);
    et_block_end();
    et_wake(next, &locks[(me + 1) % THREADS]);
    et_log(task, "db", "query");
    et_region_begin(task, "respond");
    et_region_end(task, "respond");
    et_task_end(task);
  }
  for (; n < per_thread; n++) et_counter("inflight", 0);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: gen_big N OUT.etrace\n");
    return 2;
  }
  per_thread = strtoull(argv[1], NULL, 10) / THREADS;
  et_options o;
  et_options_init(&o);
  o.block_when_full = true;
  o.buffer_size = 256u << 20;
  int err = et_start_opts(argv[2], &o);
  if (err) {
    fprintf(stderr, "gen_big: %s\n", et_strerror(err));
    return 1;
  }
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, emit, (void *)(intptr_t)i);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  err = et_stop();
  if (err) fprintf(stderr, "gen_big: et_stop: %s\n", et_strerror(err));
  return err ? 1 : 0;
}

/* gen_trace: records the small trace the viewer's tests look at.
 *
 * A main thread hands 60 requests to three workers through a queue (a
 * condition wait, ended by a wake before the signal, so the trace has wake
 * arrows and runnable spans); each request is a "request" task with nested
 * regions (handle > parse, lookup, work), a log on every fifth, a pipe write
 * (a system call), and on every seventh a 2 ms wait for a lock taken in
 * contended_wait(), the function the click test expects the details to name.
 * Request work grows 30 us x 2^(i % 8), so the latency histogram has several
 * buckets.  The main thread also runs three "batch" tasks, three GC cycles
 * with phases and stop-the-world pauses, heap and queue counters, and sleeps.
 * CPU samples at 1 kHz.
 *
 * usage: gen_trace OUT.etrace
 */
#include <exectrace/exectrace.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 3
#define REQUESTS 60

static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qcond = PTHREAD_COND_INITIALIZER;
static int queue[REQUESTS], qlen, qhead, done;
static int lockobj, pipefd[2];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin_ns(uint64_t ns) {
  uint64_t end = now_ns() + ns;
  while (now_ns() < end) {
  }
}

static void sleep_ns(long ns) {
  struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
  nanosleep(&ts, NULL);
}

/* The wait the click test selects: its stack begins here. */
__attribute__((noinline)) static void contended_wait(void) {
  et_block_begin(ET_REASON_MUTEX, &lockobj);
  sleep_ns(2000000);
  et_block_end();
  __asm__ volatile("" ::: "memory"); /* not a tail call: keep this frame */
}

static void handle(int i) {
  uint64_t task = et_task_begin(0, "request");
  et_region_begin(task, "handle");
  et_region_begin(task, "parse");
  spin_ns(20000);
  et_region_end(task, "parse");
  et_region_begin(task, "lookup");
  if (i % 7 == 3) contended_wait();
  if (i % 5 == 0) et_log(task, "cache", "miss on a cold key");
  et_region_end(task, "lookup");
  et_region_begin(task, "work");
  spin_ns(30000ull << (i % 8));
  et_region_end(task, "work");
  et_syscall_begin(SYS_write, pipefd[1], ET_FDCLASS_PIPE);
  ssize_t r = write(pipefd[1], "x", 1);
  et_syscall_end(r);
  et_region_end(task, "handle");
  et_task_end(task);
}

static void *worker(void *arg) {
  char name[16];
  snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)arg);
  et_thread_name(name);
  for (;;) {
    pthread_mutex_lock(&qlock);
    while (qlen == 0 && !done) {
      et_block_begin(ET_REASON_COND, &qcond);
      pthread_cond_wait(&qcond, &qlock);
      et_block_end();
    }
    if (qlen == 0 && done) {
      pthread_mutex_unlock(&qlock);
      return NULL;
    }
    int i = queue[qhead++];
    qlen--;
    et_counter("queue_depth", qlen);
    pthread_mutex_unlock(&qlock);
    handle(i);
  }
}

static void gc_cycle(uint64_t live) {
  et_gc_begin();
  et_stw_begin("mark roots");
  spin_ns(200000);
  et_stw_end();
  et_gc_phase_begin("mark");
  spin_ns(300000);
  et_gc_phase_end();
  et_gc_phase_begin("sweep");
  spin_ns(200000);
  et_gc_phase_end();
  et_heap_live(live);
  et_heap_goal(2 * live);
  et_gc_end();
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_trace OUT.etrace\n");
    return 2;
  }
  if (pipe(pipefd) != 0) return 1;
  et_options o;
  et_options_init(&o);
  o.cpu_hz = 1000;
  o.block_when_full = true;
  int err = et_start_opts(argv[1], &o);
  if (err) {
    fprintf(stderr, "gen_trace: %s\n", et_strerror(err));
    return 1;
  }
  et_thread_name("main");
  pthread_t th[WORKERS];
  for (int i = 0; i < WORKERS; i++) pthread_create(&th[i], NULL, worker, (void *)(intptr_t)(i + 1));
  sleep_ns(2000000);
  for (int b = 0; b < 3; b++) {
    uint64_t batch = et_task_begin(0, "batch");
    et_region_begin(batch, "enqueue");
    for (int k = 0; k < REQUESTS / 3; k++) {
      pthread_mutex_lock(&qlock);
      queue[qhead + qlen++] = b * (REQUESTS / 3) + k;
      et_counter("queue_depth", qlen);
      et_wake(0, &qcond); /* before the signal: see the API guide */
      pthread_cond_signal(&qcond);
      pthread_mutex_unlock(&qlock);
      spin_ns(50000);
    }
    et_region_end(batch, "enqueue");
    gc_cycle(1000000u * (uint64_t)(b + 1));
    et_log(batch, "batch", "enqueued");
    et_task_end(batch);
    et_block_begin(ET_REASON_SLEEP, NULL);
    sleep_ns(5000000);
    et_block_end();
  }
  pthread_mutex_lock(&qlock);
  done = 1;
  pthread_cond_broadcast(&qcond);
  pthread_mutex_unlock(&qlock);
  for (int i = 0; i < WORKERS; i++) pthread_join(th[i], NULL);
  err = et_stop();
  if (err) {
    fprintf(stderr, "gen_trace: et_stop: %s\n", et_strerror(err));
    return 1;
  }
  return 0;
}

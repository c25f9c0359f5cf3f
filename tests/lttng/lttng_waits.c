/* lttng_waits: waits of known lengths for comparing the sync profile of a
 * native trace with the one of the LTTng trace of the same run.
 *
 * A holder thread (main) and a waiter.  ROUNDS times, the waiter blocks
 * for real in three functions while the holder keeps it waiting:
 *   wait_long    on a pthread mutex the holder keeps LONG_MS
 *   wait_short   on the same mutex, kept SHORT_MS
 *   wait_cond    on a condition variable the holder signals after COND_MS
 * each wait described with et_block_begin/et_block_end (mutex or cond) and
 * the release with et_wake, so `exectrace pprof --type sync` shows the
 * three functions in the ratio 3:1:2 of LONG_MS:SHORT_MS:COND_MS, whatever
 * the trace they are read from.  Regions and logs with odd text give
 * babeltrace2 something to print.
 *
 * usage: lttng_waits TRACE    records TRACE (et_start); prints what it
 *                             measured: "long_ns N", "short_ns N", "cond_ns N"
 */
#include <exectrace/exectrace.h>
#include <inttypes.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define ROUNDS 4
#define LONG_MS 30
#define SHORT_MS 10
#define COND_MS 20

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER, cond_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int cond_ready;
static sem_t held, acquired, cond_waiting;
static uint64_t began, waited_long, waited_short, waited_cond;
static volatile int bodies; /* keeps the functions' bodies distinct */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* Exported and never inlined: the profiles must name them. */
__attribute__((visibility("default"))) void hold(int ms, uint64_t *waited);
__attribute__((visibility("default"))) void signal_later(void);
__attribute__((visibility("default"))) void wait_long(void);
__attribute__((visibility("default"))) void wait_short(void);
__attribute__((visibility("default"))) void wait_cond(void);

__attribute__((noinline)) void hold(int ms, uint64_t *waited) {
  pthread_mutex_lock(&lock);
  sem_post(&held);
  sleep_ms(ms);
  *waited += now_ns() - began;
  et_wake(0, &lock);
  pthread_mutex_unlock(&lock);
  sem_wait(&acquired);
}

__attribute__((noinline)) void signal_later(void) {
  sem_wait(&cond_waiting);
  sleep_ms(COND_MS);
  pthread_mutex_lock(&cond_lock);
  waited_cond += now_ns() - began;
  cond_ready = 1;
  et_wake(0, &cond);
  pthread_cond_signal(&cond);
  pthread_mutex_unlock(&cond_lock);
  sem_wait(&acquired);
}

/* A macro, not a function: each wait's stack must begin in wait_long or
 * wait_short themselves (an inlined function would be a frame of its own
 * in the profile, from the debug information). */
#define WAIT_MUTEX()                       \
  do {                                     \
    sem_wait(&held);                       \
    began = now_ns();                      \
    et_block_begin(ET_REASON_MUTEX, &lock); \
    pthread_mutex_lock(&lock);             \
    et_block_end();                        \
    pthread_mutex_unlock(&lock);           \
    sem_post(&acquired);                   \
  } while (0)

__attribute__((noinline)) void wait_long(void) {
  bodies += 1;
  et_region_begin(0, "wait \"long\"");
  WAIT_MUTEX();
  et_region_end(0, "wait \"long\"");
}

__attribute__((noinline)) void wait_short(void) {
  bodies += 2;
  WAIT_MUTEX();
}

__attribute__((noinline)) void wait_cond(void) {
  bodies += 3;
  pthread_mutex_lock(&cond_lock);
  began = now_ns();
  et_block_begin(ET_REASON_COND, &cond);
  sem_post(&cond_waiting);
  while (!cond_ready) pthread_cond_wait(&cond, &cond_lock);
  et_block_end();
  cond_ready = 0;
  pthread_mutex_unlock(&cond_lock);
  sem_post(&acquired);
}

static void *waiter(void *arg) {
  (void)arg;
  et_thread_name("waiter");
  for (int r = 0; r < ROUNDS; r++) {
    uint64_t task = et_task_begin(0, "round");
    et_log(task, "round", "waits: long, short, cond \\ \"quoted\"");
    wait_long();
    wait_short();
    wait_cond();
    et_task_end(task);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: lttng_waits TRACE\n");
    return 2;
  }
  if (et_start(argv[1]) != 0) {
    fprintf(stderr, "lttng_waits: cannot record %s\n", argv[1]);
    return 1;
  }
  et_thread_name("holder");
  sem_init(&held, 0, 0);
  sem_init(&acquired, 0, 0);
  sem_init(&cond_waiting, 0, 0);
  pthread_t w;
  pthread_create(&w, NULL, waiter, NULL);
  for (int r = 0; r < ROUNDS; r++) {
    hold(LONG_MS, &waited_long);
    hold(SHORT_MS, &waited_short);
    signal_later();
  }
  pthread_join(w, NULL);
  if (et_stop() != 0) {
    fprintf(stderr, "lttng_waits: the trace was not written\n");
    return 1;
  }
  printf("long_ns %" PRIu64 "\nshort_ns %" PRIu64 "\ncond_ns %" PRIu64 "\n", waited_long, waited_short, waited_cond);
  return 0;
}

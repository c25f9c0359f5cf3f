/* A test server for the live endpoint (test_live.py drives it).
 *
 * Four worker threads loop forever: each round is a task "request" that runs
 * busy_function() (pure CPU) and then takes a contended lock in
 * locked_section(), recording the wait and the wake as a lock wrapper would.
 * The endpoint is started on --addr (default 127.0.0.1:0); the server
 * prints "PORT n" once listening, then "OPS total" every 100 ms (the rounds
 * done so far: the driver's measure of the server's pace).  It obeys
 * commands on standard input, one a line:
 *   slow PATH   run a task "slow" of 300 ms, then take a flight snapshot into
 *               PATH; prints "SLOW id err"
 *   stats       prints "FLIGHT bytes max dropped young rss_kib"
 *   quit        exits (atexit ends the recording)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <exectrace/exectrace.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t ops;
static _Atomic int quit;
static _Atomic uint64_t sink; /* keeps the work from being optimised out */

__attribute__((noinline)) uint64_t busy_function(unsigned n);
__attribute__((noinline)) uint64_t busy_function(unsigned n) {
  uint64_t x = 88172645463325252ull;
  for (unsigned i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
  }
  return x;
}

__attribute__((noinline)) void locked_section(void);
__attribute__((noinline)) void locked_section(void) {
  if (pthread_mutex_trylock(&lock) != 0) {
    et_block_begin(ET_REASON_MUTEX, &lock);
    pthread_mutex_lock(&lock);
    et_block_end();
  }
  atomic_fetch_add_explicit(&sink, busy_function(20000), memory_order_relaxed); /* held a while */
  et_wake(0, &lock);            /* before the unlock that lets a waiter go */
  pthread_mutex_unlock(&lock);
}

static void *worker(void *arg) {
  (void)arg;
  while (!atomic_load(&quit)) {
    uint64_t t = et_task_begin(0, "request");
    et_region_begin(t, "compute");
    atomic_fetch_add_explicit(&sink, busy_function(60000), memory_order_relaxed);
    et_region_end(t, "compute");
    locked_section();
    et_task_end(t);
    atomic_fetch_add(&ops, 1);
  }
  return NULL;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  __builtin_va_list ap;
  __builtin_va_start(ap, fmt);
  pthread_mutex_lock(&out_lock);
  vprintf(fmt, ap);
  fflush(stdout);
  pthread_mutex_unlock(&out_lock);
  __builtin_va_end(ap);
}

static void *reporter(void *arg) {
  (void)arg;
  while (!atomic_load(&quit)) {
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    say("OPS %llu\n", (unsigned long long)atomic_load(&ops));
  }
  return NULL;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) v = strtol(line + 6, NULL, 10);
  if (f) fclose(f);
  return v;
}

int main(int argc, char **argv) {
  const char *addr = "127.0.0.1:0";
  size_t flight = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--addr") == 0 && i + 1 < argc) addr = argv[++i];
    else if (strcmp(argv[i], "--flight") == 0 && i + 1 < argc) flight = strtoull(argv[++i], NULL, 0);
    else {
      fprintf(stderr, "usage: live_server [--addr HOST:PORT] [--flight MAX_BYTES]\n");
      return 2;
    }
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (flight) {
    int err = et_flight_start(flight, 5000000000ull);
    if (err) {
      fprintf(stderr, "live_server: et_flight_start: %s\n", et_strerror(err));
      return 1;
    }
  }
  int port = et_http_start(addr);
  if (port < 0) {
    fprintf(stderr, "live_server: et_http_start(%s): %s\n", addr, et_strerror(port));
    return 1;
  }
  say("PORT %d\n", port);
  pthread_t th[5];
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, worker, NULL);
  pthread_create(&th[4], NULL, reporter, NULL);
  char line[4096];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    if (strncmp(line, "slow ", 5) == 0) {
      uint64_t t = et_task_begin(0, "slow");
      et_region_begin(t, "slow-work");
      struct timespec ts = {0, 300000000};
      et_block_begin(ET_REASON_SLEEP, NULL);
      nanosleep(&ts, NULL);
      et_block_end();
      et_region_end(t, "slow-work");
      et_task_end(t);
      int fd = open(line + 5, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      int err = fd < 0 ? -errno : et_flight_snapshot(fd);
      if (fd >= 0) close(fd);
      say("SLOW %llu %d\n", (unsigned long long)t, err);
    } else if (strcmp(line, "stats") == 0) {
      et_flight_info fi;
      int err = et_flight_stats(&fi);
      say("FLIGHT %zu %zu %llu %llu %ld %d\n", fi.bytes, fi.max_bytes,
          (unsigned long long)fi.dropped_chunks, (unsigned long long)fi.dropped_young, rss_kib(),
          err);
    } else if (strcmp(line, "quit") == 0) {
      break;
    }
  }
  atomic_store(&quit, 1);
  for (int i = 0; i < 5; i++) pthread_join(th[i], NULL);
  et_http_stop();
  return 0;
}

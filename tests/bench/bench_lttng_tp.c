/* libet-bench-tp.so: a plain LTTng-UST tracepoint for bench_lttng, with
 * nothing of exectrace in it: the provider etprobe of tests/lttng
 * (tp_probe_tp.h: etprobe:ping, two 64-bit integers and a string), and a
 * loop that fires it inline, as a program that instruments itself would.
 * bench_lttng loads it with dlopen (so liblttng-ust is loaded only in the
 * process that measures it). */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "tp_probe_tp.h"

#include <time.h>

#define BENCH_TP_EXPORT __attribute__((visibility("default")))

BENCH_TP_EXPORT double et_bench_tp_loop(long n);
BENCH_TP_EXPORT int et_bench_tp_enabled(void);

static const char text[] = "bench";

/* ns per event of n etprobe:ping events. */
__attribute__((noinline)) double et_bench_tp_loop(long n) {
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) lttng_ust_tracepoint(etprobe, ping, i, i * 3, text);
  clock_gettime(CLOCK_MONOTONIC, &b);
  return ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
}

/* Nonzero while a session has etprobe:ping enabled in this process. */
int et_bench_tp_enabled(void) {
  return lttng_ust_tracepoint_enabled(etprobe, ping) ? 1 : 0;
}

/* What bench_tracer and bench_lttng both time: one bare rdtsc, and an
 * et_region_begin/et_region_end pair as a user calls it (x86 only). */
#ifndef EXECTRACE_TESTS_BENCH_EVENTS_H
#define EXECTRACE_TESTS_BENCH_EVENTS_H

#include <x86intrin.h>

#include "bench.h"
#include "exectrace/exectrace.h"

#define N_RDTSC 1000000L

static const char region_name[] = "bench";
static volatile uint64_t sink;

/* ns per __rdtsc(), over N_RDTSC of them. */
__attribute__((unused)) static double rdtsc_ns(void) {
  uint64_t acc = 0;
  uint64_t t0 = bench_now_ns();
  for (long i = 0; i < N_RDTSC; i++) acc += __rdtsc();
  uint64_t t1 = bench_now_ns();
  sink = acc;
  return (double)(t1 - t0) / N_RDTSC;
}

/* ns per call of et_region_begin/et_region_end pairs, as a user calls them. */
__attribute__((unused)) static BENCH_NOINLINE double region_pairs_ns(long pairs) {
  uint64_t t0 = bench_now_ns();
  for (long i = 0; i < pairs; i++) {
    et_region_begin(0, region_name);
    et_region_end(0, region_name);
  }
  return (double)(bench_now_ns() - t0) / (2.0 * (double)pairs);
}

#endif

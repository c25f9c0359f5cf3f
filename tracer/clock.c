/* The tracer's clock: the TSC where it is invariant, else CLOCK_MONOTONIC.
 *
 * Events carry raw ticks; the trace carries sync points pairing ticks with
 * CLOCK_MONOTONIC nanoseconds (taken at start, every second by the writer,
 * and at stop), so readers convert ticks to nanoseconds by interpolation and
 * the hot path pays for one rdtsc and nothing else.
 */
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "tracer.h"

uint64_t et__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool et__tsc_usable(void) {
#if ET_HAVE_TSC
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u) return false;
  __get_cpuid(0x80000007u, &a, &b, &c, &d);
  return (d >> 8) & 1; /* invariant TSC: constant rate, runs in deep C-states */
#else
  return false;
#endif
}

uint64_t et__clock_calibrate(bool tsc) {
#if ET_HAVE_TSC
  if (tsc) {
    /* Spin about a millisecond; bracket each end's TSC read by two clock
     * reads so their error is at most one clock read (~40 ns here). */
    uint64_t n0 = et__mono_ns(), t0 = __rdtsc(), n0b = et__mono_ns();
    uint64_t n1, t1, n1b;
    do {
      n1 = et__mono_ns();
      t1 = __rdtsc();
      n1b = et__mono_ns();
    } while (n1 - n0 < 1000000);
    double ns = (double)((n1 + n1b) / 2 - (n0 + n0b) / 2);
    double ticks = (double)(t1 - t0);
    if (ns <= 0 || ticks <= 0) return 0;
    return (uint64_t)(ticks * 1e9 / ns);
  }
#endif
  (void)tsc;
  return 1000000000u;
}

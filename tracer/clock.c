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
     * reads and keep the tightest brackets, so that a preemption between
     * the reads (common on a loaded VM) cannot skew the rate. */
    uint64_t n0 = 0, t0 = 0, w0 = UINT64_MAX, n1 = 0, t1 = 0, w1 = UINT64_MAX;
    uint64_t begin = et__mono_ns();
    for (;;) {
      uint64_t a = et__mono_ns(), t = __rdtsc(), b = et__mono_ns();
      if (a - begin < 100000) { /* the first 0.1 ms: the start sample */
        if (b - a < w0) n0 = a + (b - a) / 2, t0 = t, w0 = b - a;
      } else if (a - begin > 900000) { /* after 0.9 ms: the end sample */
        if (b - a < w1) n1 = a + (b - a) / 2, t1 = t, w1 = b - a;
        if (a - begin > 1100000) break;
      }
    }
    if (n1 <= n0 || t1 <= t0) return 0;
    return (uint64_t)((double)(t1 - t0) * 1e9 / (double)(n1 - n0));
  }
#endif
  (void)tsc;
  return 1000000000u;
}

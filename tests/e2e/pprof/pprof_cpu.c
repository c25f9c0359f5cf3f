/* End to end: a CPU profile from the trace's CPU samples.
 *
 * One thread spends 300 ms of CPU time in burn_three() and then 100 ms in
 * burn_one() (thread CPU time, so a busy machine does not change the
 * amounts), recorded with cpu_hz = 1000.  go tool pprof -top must show the
 * two functions in a 3:1 ratio (+-10%), holding nearly all the samples.
 * The spans are long and contiguous on purpose: the kernel fires CPU-time
 * timers at its ticks, and short alternating bursts could alias with them.
 *
 * usage: pprof_cpu EXECTRACE_BINARY SCRATCH_DIR
 */
#include <exectrace/exectrace.h>

#include "pprof_test.h"

__attribute__((visibility("default"))) void burn_three(void);
__attribute__((visibility("default"))) void burn_one(void);

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

/* Spins for ms of this thread's CPU time; inlined into each burner so that
 * the samples land in the burner itself. */
#define SPIN(ms)                                                                        \
  do {                                                                                  \
    uint64_t end_ = thread_cpu_ns() + (uint64_t)(ms) * 1000000u, x_ = sink;             \
    while (thread_cpu_ns() < end_)                                                      \
      for (int i_ = 0; i_ < 20000; i_++) x_ = x_ * 6364136223846793005u + 1442695040888963407u; \
    sink = x_;                                                                          \
  } while (0)

__attribute__((noinline)) void burn_three(void) { SPIN(300); }
__attribute__((noinline)) void burn_one(void) { SPIN(100); }

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pprof_cpu EXECTRACE_BINARY SCRATCH_DIR\n");
    return 2;
  }
  const char *ex = argv[1];
  pt_setup(argv[2], "cpu");
  char trace[4200], prof[4200];
  pt_path(trace, sizeof trace, "cpu.etrace");
  pt_path(prof, sizeof prof, "cpu.pb.gz");

  et_options o;
  et_options_init(&o);
  o.cpu_hz = 1000;
  TAP_REQUIRE(et_start_opts(trace, &o) == 0, "recording with cpu_hz 1000");
  et_thread_name("burner");
  burn_three();
  burn_one();
  TAP_REQUIRE(et_stop() == 0, "trace written");

  pt_out r = pt_convert(ex, trace, "cpu", prof, NULL);
  ok(r.status == 0 && r.err[0] == 0, "converted (status %d) %s", r.status, r.err);
  pt_out_free(&r);
  r = pt_top(prof, "cpu");
  ok(r.status == 0, "go tool pprof -top reads it %s", r.err);
  double three = 0, one = 0, c3 = 0, c1 = 0;
  bool l3 = pt_top_value(r.out, "burn_three", &three, &c3), l1 = pt_top_value(r.out, "burn_one", &one, &c1);
  ok(l3 && l1, "burn_three and burn_one are listed by name");
  double ratio = c1 > 0 ? c3 / c1 : 0;
  ok(ratio > 2.7 && ratio < 3.3, "burn_three : burn_one = %.0f : %.0f ns = %.3f, expected 3 (+-10%%)", c3, c1, ratio);
  const char *total = strstr(r.out, "Total samples = ");
  double tot = total ? strtod(total + 16, NULL) : 0;
  ok(tot > 0 && c3 + c1 >= 0.9 * tot, "they hold %.1f%% of the %.0f ns sampled", tot > 0 ? 100 * (c3 + c1) / tot : 0,
     tot);
  ok(c3 >= 250e6 && c3 <= 350e6, "burn_three: about 300 ms of CPU (%.1f ms)", c3 / 1e6);
  pt_out_free(&r);
  r = pt_top(prof, "samples");
  double n3 = 0, n1 = 0;
  pt_top_value(r.out, "burn_three", NULL, &n3);
  pt_top_value(r.out, "burn_one", NULL, &n1);
  ok(n3 > 0 && n1 > 0 && n3 > n1, "sample counts: %.0f and %.0f", n3, n1);
  pt_out_free(&r);
  return tap_done();
}

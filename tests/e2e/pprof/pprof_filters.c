/* End to end: every filter of `exectrace pprof` changes the profile exactly
 * as it should, judged by `go tool pprof`.
 *
 * One program sleeps, traced as block waits, in functions whose place in
 * threads, tasks and regions is known:
 *
 *   thread filters-main
 *     task A "fast":  region "work"  f_fast   5 ms
 *     task B "slow":  region "work"  f_slow  40 ms
 *                     region "other" f_other 20 ms
 *       task C "child" (of B): region "sub" f_child 8 ms
 *       (thread remote meanwhile: region "remote" of task B, f_remote 6 ms)
 *     no task:                       f_idle  10 ms
 *   thread helper, no task:          f_helper 15 ms
 *
 * The unfiltered block profile lists all seven functions; each filtered one
 * must list exactly the expected functions, each with exactly its unfiltered
 * delay (in ns, as go tool pprof -top prints it), or, for the time window,
 * exactly the part of the wait inside it.  The labels (thread, task, task
 * type, region) are checked in go tool pprof -raw.
 *
 * usage: pprof_filters EXECTRACE_BINARY SCRATCH_DIR
 */
#include <exectrace/exectrace.h>
#include <exectrace/reader.h>
#include <inttypes.h>
#include <pthread.h>

#include "pprof_test.h"

#define TRACED_SLEEP(ms)                        \
  do {                                          \
    et_block_begin(ET_REASON_SLEEP, NULL);      \
    pt_sleep_ms(ms);                            \
    et_block_end();                             \
  } while (0)

__attribute__((visibility("default"))) void f_fast(void);
__attribute__((visibility("default"))) void f_slow(void);
__attribute__((visibility("default"))) void f_other(void);
__attribute__((visibility("default"))) void f_child(void);
__attribute__((visibility("default"))) void f_remote(void);
__attribute__((visibility("default"))) void f_idle(void);
__attribute__((visibility("default"))) void f_helper(void);

__attribute__((noinline)) void f_fast(void) { TRACED_SLEEP(5); }
__attribute__((noinline)) void f_slow(void) { TRACED_SLEEP(40); }
__attribute__((noinline)) void f_other(void) { TRACED_SLEEP(20); }
__attribute__((noinline)) void f_child(void) { TRACED_SLEEP(8); }
__attribute__((noinline)) void f_remote(void) { TRACED_SLEEP(6); }
__attribute__((noinline)) void f_idle(void) { TRACED_SLEEP(10); }
__attribute__((noinline)) void f_helper(void) { TRACED_SLEEP(15); }

enum { F_FAST, F_SLOW, F_OTHER, F_CHILD, F_REMOTE, F_IDLE, F_HELPER, NFN };
static const char *const fn_names[NFN] = {"f_fast", "f_slow", "f_other", "f_child", "f_remote", "f_idle", "f_helper"};

static uint64_t task_a, task_b, task_c, main_tid;

static void *remote(void *arg) {
  (void)arg;
  et_thread_name("remote");
  et_region_begin(task_b, "remote");
  f_remote();
  et_region_end(task_b, "remote");
  return NULL;
}

static void *helper(void *arg) {
  (void)arg;
  et_thread_name("helper");
  f_helper();
  return NULL;
}

static void record(const char *trace) {
  TAP_REQUIRE(et_start(trace) == 0, "recording to %s", trace);
  et_thread_name("filters-main");
  main_tid = et_thread_id();
  task_a = et_task_begin(0, "fast");
  et_region_begin(task_a, "work");
  f_fast();
  et_region_end(task_a, "work");
  et_task_end(task_a);

  task_b = et_task_begin(0, "slow");
  et_region_begin(task_b, "work");
  f_slow();
  et_region_end(task_b, "work");
  et_region_begin(task_b, "other");
  f_other();
  et_region_end(task_b, "other");
  task_c = et_task_begin(task_b, "child");
  et_region_begin(task_c, "sub");
  f_child();
  et_region_end(task_c, "sub");
  et_task_end(task_c);
  pthread_t th;
  pthread_create(&th, NULL, remote, NULL);
  pthread_join(th, NULL);
  et_task_end(task_b);

  f_idle();
  pthread_create(&th, NULL, helper, NULL);
  pthread_join(th, NULL);
  TAP_REQUIRE(et_stop() == 0, "trace written");
}

/* Times of the main thread's block_begin events, in program order. */
static size_t wait_starts(const char *trace, uint64_t *out, size_t max) {
  et_trace *t;
  if (et_trace_open(trace, &t) != 0) return 0;
  int kb = et_trace_kind_by_name(t, "block_begin");
  size_t n = 0;
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    if (et_trace_thread(t, i)->tid != main_tid) continue;
    et_cursor c;
    et_event ev;
    et_cursor_init(&c, t, i);
    while (et_cursor_next(&c, &ev))
      if ((int)ev.kind == kb && n < max) out[n++] = ev.time;
  }
  et_trace_close(t);
  return n;
}

/* The flat delay of each function in a block profile made with the extra
 * arguments; false if a step failed. */
static bool profile(const char *exectrace, const char *trace, const char *what, double v[NFN], char **raw,
                    const char *a1, const char *a2, const char *a3, const char *a4) {
  char prof[4200];
  snprintf(prof, sizeof prof, "%s/filtered.pb.gz", pt_dir);
  pt_out c = pt_convert(exectrace, trace, "block", prof, a1, a2, a3, a4, NULL);
  bool good = ok(c.status == 0, "%s: converted (status %d) %s", what, c.status, c.err);
  pt_out_free(&c);
  if (!good) return false;
  pt_out t = pt_top(prof, "delay");
  good = ok(t.status == 0, "%s: go tool pprof -top reads it %s", what, t.err);
  for (int i = 0; i < NFN; i++) v[i] = pt_flat(t.out, fn_names[i]);
  pt_out_free(&t);
  if (raw) {
    pt_out r = pt_run("go", "tool", "pprof", "-raw", prof, NULL);
    good = ok(r.status == 0, "%s: go tool pprof -raw reads it", what) && good;
    *raw = r.out;
    r.out = NULL;
    pt_out_free(&r);
  }
  return good;
}

/* Checks that exactly the functions in want (a bit set) are listed, with
 * their unfiltered values (or the values in exact[] where that is not 0). */
static void expect(const char *what, const double all[NFN], const double got[NFN], unsigned want,
                   const double exact[NFN]) {
  char listed[256] = "", bad[512] = "";
  bool good = true;
  for (int i = 0; i < NFN; i++) {
    double e = (want >> i) & 1 ? (exact && exact[i] ? exact[i] : all[i]) : 0;
    if (got[i] > 0) snprintf(listed + strlen(listed), sizeof listed - strlen(listed), " %s", fn_names[i]);
    if (got[i] != e) {
      good = false;
      snprintf(bad + strlen(bad), sizeof bad - strlen(bad), " %s=%.0f (want %.0f)", fn_names[i], got[i], e);
    }
  }
  ok(good, "%s lists exactly:%s%s", what, listed, bad);
}

#define BIT(f) (1u << (f))

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pprof_filters EXECTRACE_BINARY SCRATCH_DIR\n");
    return 2;
  }
  const char *ex = argv[1];
  pt_setup(argv[2], "filters");
  char trace[4200];
  pt_path(trace, sizeof trace, "filters.etrace");
  record(trace);

  double all[NFN], v[NFN];
  char *raw = NULL;
  TAP_REQUIRE(profile(ex, trace, "no filter", all, &raw, NULL, NULL, NULL, NULL), "unfiltered profile");
  bool every = true;
  for (int i = 0; i < NFN; i++) every = every && all[i] > 0;
  ok(every, "no filter: all seven functions are listed");
  ok(all[F_SLOW] >= 40e6 && all[F_FAST] >= 5e6 && all[F_HELPER] >= 15e6,
     "no filter: the waits last at least their sleeps (f_slow %.2f ms)", all[F_SLOW] / 1e6);
  ok(raw && strstr(raw, "thread:[filters-main]") && strstr(raw, "thread:[helper]") && strstr(raw, "thread:[remote]"),
     "labels: thread names");
  ok(raw && strstr(raw, "task_type:[slow]") && strstr(raw, "task_type:[fast]") && strstr(raw, "task_type:[child]"),
     "labels: task types");
  ok(raw && strstr(raw, "region:[work]") && strstr(raw, "region:[other]") && strstr(raw, "region:[sub]") &&
         strstr(raw, "region:[remote]"),
     "labels: regions");
  char label[64];
  snprintf(label, sizeof label, "task:[%" PRIu64 "]", task_b);
  ok(raw && strstr(raw, label) && strstr(raw, "tid:["), "labels: task ids and tids (%s)", label);
  free(raw);

  char arg[64], arg2[64];
  const char *a[2];
  profile(ex, trace, "--thread helper", v, NULL, "--thread", "helper", NULL, NULL);
  expect("--thread helper", all, v, BIT(F_HELPER), NULL);
  snprintf(arg, sizeof arg, "%" PRIu64, main_tid);
  profile(ex, trace, "--thread MAIN_TID", v, NULL, "--thread", arg, NULL, NULL);
  expect("--thread MAIN_TID", all, v, BIT(F_FAST) | BIT(F_SLOW) | BIT(F_OTHER) | BIT(F_CHILD) | BIT(F_IDLE), NULL);

  snprintf(arg, sizeof arg, "%" PRIu64, task_a);
  profile(ex, trace, "--task A", v, NULL, "--task", arg, NULL, NULL);
  expect("--task A", all, v, BIT(F_FAST), NULL);
  snprintf(arg, sizeof arg, "%" PRIu64, task_b);
  profile(ex, trace, "--task B", v, NULL, "--task", arg, NULL, NULL);
  expect("--task B (and its subtask C, and its region on another thread)", all, v,
         BIT(F_SLOW) | BIT(F_OTHER) | BIT(F_CHILD) | BIT(F_REMOTE), NULL);

  profile(ex, trace, "--task-type slow", v, NULL, "--task-type", "slow", NULL, NULL);
  expect("--task-type slow", all, v, BIT(F_SLOW) | BIT(F_OTHER) | BIT(F_REMOTE), NULL);
  profile(ex, trace, "--task-type child", v, NULL, "--task-type", "child", NULL, NULL);
  expect("--task-type child", all, v, BIT(F_CHILD), NULL);

  profile(ex, trace, "--region work", v, NULL, "--region", "work", NULL, NULL);
  expect("--region work", all, v, BIT(F_FAST) | BIT(F_SLOW), NULL);
  profile(ex, trace, "--region work --min-duration 20ms", v, NULL, "--region", "work", "--min-duration", "20ms");
  expect("--region work --min-duration 20ms", all, v, BIT(F_SLOW), NULL);
  profile(ex, trace, "--min-duration 30ms", v, NULL, "--min-duration", "30ms", NULL, NULL);
  expect("--min-duration 30ms (only task B is that long; C is not)", all, v,
         BIT(F_SLOW) | BIT(F_OTHER) | BIT(F_REMOTE), NULL);

  uint64_t starts[8];
  size_t ns = wait_starts(trace, starts, 8);
  TAP_REQUIRE(ns == 5, "the main thread began 5 waits (%zu)", ns);
  /* Inside f_slow's wait: exactly 20 ms of it. */
  snprintf(arg, sizeof arg, "%" PRIu64 "ns", starts[1] + 10000000);
  snprintf(arg2, sizeof arg2, "%" PRIu64 "ns", starts[1] + 30000000);
  a[0] = arg;
  a[1] = arg2;
  profile(ex, trace, "--from/--to inside f_slow", v, NULL, "--from", a[0], "--to", a[1]);
  double exact[NFN] = {0};
  exact[F_SLOW] = 20000000;
  expect("--from S+10ms --to S+30ms (S: f_slow's wait begins)", all, v, BIT(F_SLOW), exact);
  /* From f_idle's wait on: it and the helper's, whole. */
  snprintf(arg, sizeof arg, "%.6fms", (double)starts[4] / 1e6);
  profile(ex, trace, "--from f_idle", v, NULL, "--from", arg, NULL, NULL);
  expect("--from I (I: f_idle's wait begins, in ms with 6 decimals)", all, v, BIT(F_IDLE) | BIT(F_HELPER), NULL);
  /* Up to 10 ms into f_slow's wait. */
  snprintf(arg, sizeof arg, "%" PRIu64 "ns", starts[1] + 10000000);
  profile(ex, trace, "--to", v, NULL, "--to", arg, NULL, NULL);
  exact[F_SLOW] = 10000000;
  expect("--to S+10ms", all, v, BIT(F_FAST) | BIT(F_SLOW), exact);
  /* Filters combine: the helper's thread has nothing in task B. */
  snprintf(arg, sizeof arg, "%" PRIu64, task_b);
  profile(ex, trace, "--thread remote --task B", v, NULL, "--thread", "remote", "--task", arg);
  expect("--thread remote --task B", all, v, BIT(F_REMOTE), NULL);
  return tap_done();
}

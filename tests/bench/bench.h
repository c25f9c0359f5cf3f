/* Helpers shared by the benchmarks: a clock, medians, a scratch directory,
 * and a check that a recorded trace holds what the benchmark emitted and
 * dropped nothing.  The benchmarks report ratios measured in one run, so
 * these helpers stay tiny and allocation-light to keep them out of the way
 * of what is measured.
 */
#ifndef EXECTRACE_TESTS_BENCH_H
#define EXECTRACE_TESTS_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exectrace/reader.h"

#if defined(__clang__)
#define BENCH_NOINLINE __attribute__((noinline))
#else
#define BENCH_NOINLINE __attribute__((noinline, noclone))
#endif

static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of v[0..n) (v is reordered). */
__attribute__((unused)) static double bench_median(double *v, size_t n) {
  if (n == 0) return 0;
  qsort(v, n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Where traces go: $ET_BENCH_DIR, else /dev/shm (no disk in the way), else /tmp. */
__attribute__((unused)) static const char *bench_dir(void) {
  const char *d = getenv("ET_BENCH_DIR");
  if (d && *d) return d;
  struct stat st;
  if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0)
    return "/dev/shm";
  return "/tmp";
}

__attribute__((unused)) static const char *bench_result(int pass) {
  return pass ? "PASS" : "MISS";
}

/* Prints the machine: CPUs, model, and the load average when the run began
 * (other work on a 2-core VM moves every absolute figure). */
__attribute__((unused)) static void bench_machine(void) {
  char model[256] = "unknown", line[512];
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "model name", 10) == 0) {
      const char *c = strchr(line, ':');
      if (c) snprintf(model, sizeof model, "%s", c + 2);
      model[strcspn(model, "\n")] = 0;
      break;
    }
  if (f) fclose(f);
  double load = -1;
  f = fopen("/proc/loadavg", "r");
  if (f && fscanf(f, "%lf", &load) != 1) load = -1;
  if (f) fclose(f);
  printf("machine.nproc=%ld\nmachine.cpu=%s\nmachine.loadavg_1min_at_start=%.2f\n",
         sysconf(_SC_NPROCESSORS_ONLN), model, load);
}

/* What the machine did over an interval: CPU time all CPUs spent busy
 * (including time stolen by the hypervisor), CPU time of this process and
 * its waited-for children, and wall time. */
typedef struct bench_cpu {
  double busy, mine, wall;
} bench_cpu;

__attribute__((unused)) static bench_cpu bench_cpu_now(void) {
  bench_cpu c = {0, 0, (double)bench_now_ns() / 1e9};
  unsigned long long v[8] = {0};
  FILE *f = fopen("/proc/stat", "r");
  if (f && fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                  &v[4], &v[5], &v[6], &v[7]) == 8)
    c.busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
  if (f) fclose(f);
  struct rusage ru;
  for (int who = 0; who < 2; who++) {
    getrusage(who ? RUSAGE_CHILDREN : RUSAGE_SELF, &ru);
    c.mine += (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  return c;
}

/* CPUs that other processes kept busy on average between a and b (the
 * kernel counts in clock ticks, so short intervals are coarse). */
__attribute__((unused)) static double bench_cpu_others(bench_cpu a, bench_cpu b) {
  double wall = b.wall - a.wall;
  if (wall <= 0) return 0;
  double o = ((b.busy - a.busy) - (b.mine - a.mine)) / wall;
  return o < 0 ? 0 : o;
}

/* A measurement counts as clean when others used at most this many CPUs. */
#define BENCH_QUIET_CPUS 0.2

/* Rows of measurements, each tagged clean or not; medians come from the
 * clean rows when there are at least 3 of them, else from all rows (and the
 * figures are then flagged as taken on a busy machine). */
#define BENCH_MAX_COLS 12
#define BENCH_MAX_ROWS 64
typedef struct bench_rows {
  int clean, tries;
  double all[BENCH_MAX_COLS][BENCH_MAX_ROWS], quiet[BENCH_MAX_COLS][BENCH_MAX_ROWS];
} bench_rows;

__attribute__((unused)) static void bench_rows_add(bench_rows *r, const double *row, int ncols,
                                                   bool clean) {
  if (r->tries >= BENCH_MAX_ROWS) return;
  for (int c = 0; c < ncols; c++) {
    r->all[c][r->tries] = row[c];
    if (clean) r->quiet[c][r->clean] = row[c];
  }
  r->tries++;
  r->clean += clean;
}

__attribute__((unused)) static bool bench_rows_clean(const bench_rows *r) {
  return r->clean >= 3;
}

__attribute__((unused)) static int bench_rows_used(const bench_rows *r) {
  return bench_rows_clean(r) ? r->clean : r->tries;
}

__attribute__((unused)) static double bench_rows_median(const bench_rows *r, int col) {
  double v[BENCH_MAX_ROWS];
  int n = bench_rows_used(r);
  memcpy(v, bench_rows_clean(r) ? r->quiet[col] : r->all[col], (size_t)n * sizeof *v);
  return bench_median(v, (size_t)n);
}

/* Loads the trace at path and checks it is complete, dropped nothing and
 * holds `want` events of kind `kind` (skipped when want is 0).  On success
 * returns the loaded trace (the caller closes it); on failure prints why and
 * returns NULL. */
__attribute__((unused)) static et_trace *bench_check_trace(const char *path, const char *kind,
                                                          uint64_t want) {
  et_trace *t;
  int err = et_trace_open(path, &t);
  if (err) {
    fprintf(stderr, "%s: %s\n", path, et_strerror(err));
    return NULL;
  }
  const et_trace_info *info = et_trace_get_info(t);
  int k = kind ? et_trace_kind_by_name(t, kind) : -1;
  uint64_t got = k >= 0 ? et_trace_kind_count(t, (unsigned)k) : 0;
  if (info->dropped != 0 || !info->complete || et_trace_warning_count(t) != 0 ||
      (want != 0 && got != want)) {
    fprintf(stderr, "%s: dropped=%llu complete=%d warnings=%zu %s=%llu (want %llu)\n", path,
            (unsigned long long)info->dropped, (int)info->complete, et_trace_warning_count(t),
            kind ? kind : "-", (unsigned long long)got, (unsigned long long)want);
    for (size_t i = 0; i < et_trace_warning_count(t) && i < 5; i++)
      fprintf(stderr, "  warning: %s\n", et_trace_warning(t, i));
    et_trace_close(t);
    return NULL;
  }
  return t;
}

#endif

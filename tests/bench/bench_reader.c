/* bench_reader: how fast et_trace_open() loads a big trace and how much
 * memory the loaded model holds per event.
 *
 * The tools must scale to 10^8 events on a 2-core machine, so loading has a
 * speed bar (events per second) and a memory bar (bytes of resident memory
 * per event).  The benchmark first records a trace of N events (default 20
 * million) with the tracing API: a few threads emitting a request-like mix
 * of kinds, with block_when_full so nothing is dropped.  Then it loads that
 * trace several times, each time in a fresh child (fork + exec of itself
 * with --load FILE), so that the peak RSS (getrusage ru_maxrss) minus the
 * child's RSS just before loading is the load's own footprint.  The trace is
 * mmap'd by the reader, so that footprint includes the file pages it
 * touches.  Figures are medians over the loads.
 *
 * Usage: bench_reader [N]          record N events, load them, print figures
 *        bench_reader --load FILE  (internal) load FILE once, print key=value
 * With ET_BENCH_KEEP set in the environment the trace is kept (for perf).
 * Exit status is 0 even when a target is missed; each prints PASS or MISS.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "requests.h"
#include "exectrace/exectrace.h"

#define LOADS 5
#define LOAD_MAX_TRIES 15 /* at most BENCH_MAX_ROWS */

static int record(const char *path, uint64_t nevents, double *secs) {
  et_options o;
  et_options_init(&o);
  o.block_when_full = true;
  int err = et_start_opts(path, &o);
  if (err) {
    fprintf(stderr, "et_start_opts(%s): %s\n", path, et_strerror(err));
    return err;
  }
  req_per_thread = nevents / REQ_THREADS;
  uint64_t t0 = bench_now_ns();
  pthread_t th[REQ_THREADS];
  for (int i = 0; i < REQ_THREADS; i++)
    pthread_create(&th[i], NULL, req_thread, (void *)(intptr_t)i);
  for (int i = 0; i < REQ_THREADS; i++) pthread_join(th[i], NULL);
  err = et_stop();
  *secs = (double)(bench_now_ns() - t0) / 1e9;
  if (err) fprintf(stderr, "et_stop: %s\n", et_strerror(err));
  return err;
}

static long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, n) == 0 && line[n] == ':') v = atol(line + n + 1);
  fclose(f);
  return v;
}

/* The child: load once and print what it cost. */
static int load_once(const char *path) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  long base = ru.ru_maxrss;
  double cpu0 = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  et_trace *t;
  uint64_t t0 = bench_now_ns();
  int err = et_trace_open(path, &t);
  uint64_t t1 = bench_now_ns();
  if (err) {
    fprintf(stderr, "%s: %s\n", path, et_strerror(err));
    return 1;
  }
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6 - cpu0;
  const et_trace_info *info = et_trace_get_info(t);
  printf("load_ns=%llu cpu_us=%.0f events=%llu dropped=%llu file_bytes=%llu complete=%d "
         "warnings=%zu base_kb=%ld peak_kb=%ld anon_kb=%ld file_kb=%ld shmem_kb=%ld\n",
         (unsigned long long)(t1 - t0), cpu * 1e6, (unsigned long long)info->events,
         (unsigned long long)info->dropped, (unsigned long long)info->bytes, (int)info->complete,
         et_trace_warning_count(t), base, ru.ru_maxrss, status_kb("RssAnon"),
         status_kb("RssFile"), status_kb("RssShmem"));
  et_trace_close(t);
  return 0;
}

typedef struct load_result {
  double secs, cpu_s;
  uint64_t events, dropped;
  long base_kb, peak_kb, anon_kb, file_kb, shmem_kb;
  int complete;
  size_t warnings;
} load_result;

static int load_in_child(const char *self, const char *path, load_result *r) {
  int fds[2];
  if (pipe(fds) != 0) return -errno;
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execl(self, self, "--load", path, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  char out[1024];
  size_t n = 0;
  ssize_t k;
  while (n < sizeof out - 1 && (k = read(fds[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)k;
  out[n] = 0;
  close(fds[0]);
  int status;
  waitpid(pid, &status, 0);
  unsigned long long ns, cpu_us, ev, dr, fbytes;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      sscanf(out,
             "load_ns=%llu cpu_us=%llu events=%llu dropped=%llu file_bytes=%llu complete=%d "
             "warnings=%zu base_kb=%ld peak_kb=%ld anon_kb=%ld file_kb=%ld shmem_kb=%ld",
             &ns, &cpu_us, &ev, &dr, &fbytes, &r->complete, &r->warnings, &r->base_kb,
             &r->peak_kb, &r->anon_kb, &r->file_kb, &r->shmem_kb) != 12)
    return -1;
  r->secs = (double)ns / 1e9;
  r->cpu_s = (double)cpu_us / 1e6;
  r->events = ev;
  r->dropped = dr;
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--load") == 0) return load_once(argv[2]);
  uint64_t nevents = argc > 1 ? strtoull(argv[1], NULL, 10) : 20000000ull;
  if (nevents < 1000) nevents = 1000;
  setvbuf(stdout, NULL, _IOLBF, 0);
  bench_machine();

  char self[4096];
  ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
  if (sl <= 0) {
    perror("readlink /proc/self/exe");
    return 1;
  }
  self[sl] = 0;
  char path[512];
  snprintf(path, sizeof path, "%s/et-bench-reader-%ld.etrace", bench_dir(), (long)getpid());

  double wsecs;
  if (record(path, nevents, &wsecs) != 0) return 1;
  struct stat st;
  stat(path, &st);
  fprintf(stderr, "recorded %llu events in %.2f s into %s (%lld bytes)\n",
          (unsigned long long)nevents, wsecs, path, (long long)st.st_size);

  /* Loads during which other processes took CPU are run again, up to a
   * limit: the reader builds its model on every core. */
  enum { RATE, BPE, SECS, CPU, ANON, FILEP, OTHERS, NCOLS };
  static bench_rows rows;
  uint64_t events = 0;
  bool ok = true;
  while (rows.clean < LOADS && rows.tries < LOAD_MAX_TRIES) {
    load_result r;
    bench_cpu c0 = bench_cpu_now();
    if (load_in_child(self, path, &r) != 0) {
      fprintf(stderr, "load %d failed\n", rows.tries);
      unlink(path);
      return 1;
    }
    double v[NCOLS];
    v[OTHERS] = bench_cpu_others(c0, bench_cpu_now());
    ok &= r.dropped == 0 && r.complete && r.warnings == 0 &&
          r.events >= nevents - nevents % REQ_THREADS;
    events = r.events;
    v[SECS] = r.secs;
    v[CPU] = r.cpu_s;
    v[RATE] = (double)r.events / r.secs;
    v[BPE] = (double)(r.peak_kb - r.base_kb) * 1024.0 / (double)r.events;
    v[ANON] = (double)r.anon_kb * 1024.0 / (double)r.events;
    v[FILEP] = (double)(r.file_kb + r.shmem_kb) * 1024.0 / (double)r.events;
    bool quiet = v[OTHERS] <= BENCH_QUIET_CPUS;
    fprintf(stderr, "load %d: %.3f s (%.3f s CPU), %.1f M events/s, peak %ld KiB - base %ld KiB, "
                    "%.1f bytes/event (after: anon %ld KiB, file %ld KiB, shmem %ld KiB), "
                    "others %.2f CPUs%s\n",
            rows.tries, r.secs, r.cpu_s, v[RATE] / 1e6, r.peak_kb, r.base_kb, v[BPE], r.anon_kb,
            r.file_kb, r.shmem_kb, v[OTHERS], quiet ? "" : " (not clean)");
    bench_rows_add(&rows, v, NCOLS, quiet);
  }
  if (getenv("ET_BENCH_KEEP")) fprintf(stderr, "kept %s\n", path);
  else unlink(path);
  bool loads_clean = bench_rows_clean(&rows);
  int nl = bench_rows_used(&rows), tries = rows.tries;
  double m_rate = bench_rows_median(&rows, RATE), m_bpe = bench_rows_median(&rows, BPE);
  double m_secs = bench_rows_median(&rows, SECS), m_cpu = bench_rows_median(&rows, CPU);
  double m_anon = bench_rows_median(&rows, ANON), m_file = bench_rows_median(&rows, FILEP);
  double m_oth = bench_rows_median(&rows, OTHERS);

  printf("events=%llu\nfile_bytes=%lld\nfile_bytes_per_event=%.3f\nrecord_s=%.3f\n",
         (unsigned long long)events, (long long)st.st_size, (double)st.st_size / (double)events,
         wsecs);
  printf("loads=%d\nloads_tried=%d\nloads_clean=%s\nloads_other_cpus=%.2f\n"
         "load_s=%.3f\nload_cpu_s=%.3f\nload_events_per_s=%.0f\n"
         "load_target_events_per_s=20000000\nload_result=%s\n",
         nl, tries, loads_clean ? "yes" : "no", m_oth, m_secs, m_cpu, m_rate,
         bench_result(m_rate >= 20e6));
  printf("rss_bytes_per_event=%.2f\nrss_anon_bytes_per_event=%.2f\nrss_file_bytes_per_event=%.2f\n"
         "rss_target=32\nrss_result=%s\n",
         m_bpe, m_anon, m_file, bench_result(m_bpe <= 32));
  printf("trace_checked=%s\n", ok ? "ok" : "FAILED");

  printf("\n%-42s %14s %10s  %s\n", "measure (median of loads)", "value", "target", "result");
  printf("%-42s %14llu\n", "events in the trace", (unsigned long long)events);
  printf("%-42s %12.2f B\n", "file bytes per event", (double)st.st_size / (double)events);
  printf("%-42s %12.3f s\n", "et_trace_open time", m_secs);
  printf("%-42s %12.3f s\n", "  CPU time of the load (all its threads)", m_cpu);
  printf("%-42s %10.1f M/s %10s  %s\n", "load speed", m_rate / 1e6, ">=20 M/s",
         bench_result(m_rate >= 20e6));
  printf("%-42s %12.2f B %10s  %s\n", "peak RSS growth per event", m_bpe, "<=32",
         bench_result(m_bpe <= 32));
  printf("%-42s %12.2f B\n", "  of which anonymous (model)", m_anon);
  printf("%-42s %12.2f B\n", "  of which file pages (mmap'd trace)", m_file);
  printf("trace checked (complete, no drops, all events): %s\n", ok ? "ok" : "FAILED");
  printf("loads: medians of %d (%d tried); other processes used %.2f CPUs meanwhile%s\n", nl,
         tries, m_oth, loads_clean ? "" : " -- NOT CLEAN: the machine was busy");
  return 0;
}

/* End to end: every profile type loads in `go tool pprof -raw`, with the
 * right sample and period types, the main executable's mapping carrying its
 * build id, and the functions each type should blame; and a profile of a
 * binary that is gone, or stripped, keeps what pprof needs.
 *
 * The program runs itself as a child ("record TRACE") that does one of
 * everything, with CPU sampling on: a real lock contention (wait_lock,
 * released by release_lock), a socket read and a poll that wait for a peer
 * (net_read, net_poll), a file write (file_write), a sleep (nap) and 60 ms of
 * CPU (burn), and a sleep inside a shared library (testlib_nap in
 * libpprof_testlib.so).  The same child run from a copy of this binary that is then
 * deleted gives a trace whose binary is gone: its mapping must keep the
 * path and build id without claiming functions, and pprof must name the
 * functions once told where the binary is (PPROF_BINARY_PATH).  Run from a
 * stripped copy, the names come from .dynsym.
 *
 * usage: pprof_types EXECTRACE_BINARY SCRATCH_DIR
 */
#include <exectrace/exectrace.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "pprof_test.h"

void testlib_nap(long ms); /* pprof_testlib.c */

/* ---- the child: one of everything ---- */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t held, acquired;
static int sock[2];

__attribute__((visibility("default"))) void wait_lock(void);
__attribute__((visibility("default"))) void release_lock(void);
__attribute__((visibility("default"))) void net_read(void);
__attribute__((visibility("default"))) void net_poll(void);
__attribute__((visibility("default"))) void file_write(const char *path);
__attribute__((visibility("default"))) void nap(void);
__attribute__((visibility("default"))) void burn(void);

__attribute__((noinline)) void wait_lock(void) {
  sem_wait(&held);
  et_block_begin(ET_REASON_MUTEX, &lock);
  pthread_mutex_lock(&lock);
  et_block_end();
  pthread_mutex_unlock(&lock);
  sem_post(&acquired);
}

__attribute__((noinline)) void release_lock(void) {
  pt_sleep_ms(10);
  et_wake(0, &lock);
  pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) void net_read(void) {
  char c;
  et_syscall_begin(SYS_read, sock[0], ET_FDCLASS_SOCKET);
  ssize_t r = read(sock[0], &c, 1);
  et_syscall_end(r < 0 ? -errno : r);
}

__attribute__((noinline)) void net_poll(void) {
  struct pollfd p = {sock[0], POLLIN, 0};
  et_block_begin(ET_REASON_POLL, &sock[0]);
  poll(&p, 1, 5000);
  et_block_end();
}

__attribute__((noinline)) void file_write(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char buf[4096] = {0};
  et_syscall_begin(SYS_write, fd, ET_FDCLASS_FILE);
  ssize_t r = write(fd, buf, sizeof buf);
  et_syscall_end(r < 0 ? -errno : r);
  close(fd);
}

__attribute__((noinline)) void nap(void) {
  et_block_begin(ET_REASON_SLEEP, NULL);
  pt_sleep_ms(5);
  et_block_end();
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

__attribute__((noinline)) void burn(void) {
  uint64_t end = thread_cpu_ns() + 60000000, x = sink;
  while (thread_cpu_ns() < end)
    for (int i = 0; i < 20000; i++) x = x * 6364136223846793005u + 1442695040888963407u;
  sink = x;
}

static void *peer(void *arg) {
  (void)arg;
  et_thread_name("peer");
  wait_lock();
  pt_sleep_ms(5);
  (void)!write(sock[1], "a", 1); /* ends net_read */
  pt_sleep_ms(5);
  (void)!write(sock[1], "b", 1); /* ends net_poll */
  return NULL;
}

static int child(const char *trace, const char *scratch) {
  et_options o;
  et_options_init(&o);
  o.cpu_hz = 1000;
  if (et_start_opts(trace, &o) != 0) return 1;
  et_thread_name("main");
  sem_init(&held, 0, 0);
  sem_init(&acquired, 0, 0);
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sock) != 0) return 1;
  pthread_t th;
  pthread_create(&th, NULL, peer, NULL);
  pthread_mutex_lock(&lock);
  sem_post(&held);
  release_lock();
  sem_wait(&acquired);
  net_read();
  net_poll();
  file_write(scratch);
  nap();
  testlib_nap(3);
  burn();
  pthread_join(th, NULL);
  return et_stop() == 0 ? 0 : 1;
}

/* ---- the test ---- */

static const char *self;

static void self_path(char *buf, size_t len) {
  ssize_t n = readlink("/proc/self/exe", buf, len - 1);
  buf[n > 0 ? n : 0] = 0;
}

/* The file that defines symbol name (a shared library of this process). */
static void library_of(const char *name, char *buf, size_t len) {
  Dl_info di;
  buf[0] = 0;
  void *sym = dlsym(RTLD_DEFAULT, name);
  if (sym && dladdr(sym, &di) && di.dli_fname) snprintf(buf, len, "%s", di.dli_fname);
}

/* The directory of a path, in place. */
static char *dir_of(char *path) {
  char *slash = strrchr(path, '/');
  if (slash) *slash = 0;
  return path;
}

static bool record_with(const char *binary, const char *trace) {
  char scratch[4200];
  pt_path(scratch, sizeof scratch, "written.bin");
  pt_out o = pt_run(binary, "record", trace, scratch, NULL);
  bool good = ok(o.status == 0, "%s recorded %s (status %d) %s", binary, trace, o.status, o.err);
  pt_out_free(&o);
  return good;
}

/* The Mappings line of -raw output that names path, or NULL. */
static const char *mapping_line(const char *raw, const char *path, char *buf, size_t len) {
  const char *m = strstr(raw, "\nMappings\n");
  if (!m) return NULL;
  const char *p = strstr(m, path);
  if (!p) return NULL;
  const char *b = p, *e = strchr(p, '\n');
  while (b > m && b[-1] != '\n') b--;
  size_t n = e ? (size_t)(e - b) : strlen(b);
  if (n >= len) n = len - 1;
  memcpy(buf, b, n);
  buf[n] = 0;
  return buf;
}

typedef struct type_case {
  const char *type, *index;
  const char *sample_types, *period_type;
  const char *blamed[3]; /* functions that must be listed */
  const char *not_blamed; /* a function that must not be listed, or NULL */
} type_case;

static const type_case cases[] = {
    /* any function may catch a CPU sample while it runs: none is sure to be absent */
    {"cpu", "cpu", "samples/count cpu/nanoseconds", "PeriodType: cpu nanoseconds", {"burn"}, NULL},
    {"sync", "delay", "contentions/count delay/nanoseconds", "PeriodType: contentions count", {"wait_lock"}, "nap"},
    {"net", "delay", "contentions/count delay/nanoseconds", "PeriodType: contentions count", {"net_read", "net_poll"},
     "file_write"},
    {"syscall", "delay", "contentions/count delay/nanoseconds", "PeriodType: contentions count",
     {"net_read", "file_write"}, "nap"},
    {"sched", "delay", "contentions/count delay/nanoseconds", "PeriodType: contentions count", {"release_lock"},
     "wait_lock"},
    {"block", "delay", "contentions/count delay/nanoseconds", "PeriodType: contentions count",
     {"wait_lock", "net_read", "testlib_nap"}, "file_write"},
    {"mutex", "delay", "contentions/count delay/nanoseconds", "PeriodType: contentions count", {"release_lock"},
     "wait_lock"},
};

static void check_types(const char *ex, const char *trace, const char *binary, const char *build_id) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const type_case *c = &cases[i];
    char prof[4200], buf[8192];
    snprintf(prof, sizeof prof, "%s/%s.pb.gz", pt_dir, c->type);
    pt_out r = pt_convert(ex, trace, c->type, prof, NULL);
    ok(r.status == 0 && r.err[0] == 0, "%s: converted (status %d) %s", c->type, r.status, r.err);
    pt_out_free(&r);
    r = pt_run("go", "tool", "pprof", "-raw", prof, NULL);
    ok(r.status == 0 && r.err[0] == 0, "%s: go tool pprof -raw loads it without a message (status %d) %s", c->type,
       r.status, r.err);
    ok(strstr(r.out, c->sample_types) && strstr(r.out, c->period_type), "%s: sample types %s, %s", c->type,
       c->sample_types, c->period_type);
    const char *line = mapping_line(r.out, binary, buf, sizeof buf);
    ok(line && strstr(line, build_id) && strstr(line, "[FN][FL][LN][IN]"),
       "%s: the executable's mapping has build id %s and symbols: %s", c->type, build_id, line ? line : "(none)");
    if (i == 0) {
      /* The kernel checks CPU-time timers at its ticks: at 1000 Hz a sample may
       * stand for several periods, so the period found is a multiple of 1 ms. */
      const char *p = strstr(r.out, "Period: ");
      unsigned long long period = p ? strtoull(p + 8, NULL, 10) : 0;
      ok(period > 0 && period % 1000000 == 0, "cpu: the period is a multiple of 1 ms (1000 Hz): %llu", period);
    }
    pt_out_free(&r);
    r = pt_top(prof, c->index);
    for (int k = 0; k < 3 && c->blamed[k]; k++) {
      double flat = 0, cum = 0;
      bool listed = pt_top_value(r.out, c->blamed[k], &flat, &cum);
      ok(listed && cum > 0, "%s: %s is charged (%.0f)", c->type, c->blamed[k], cum);
    }
    if (c->not_blamed) ok(!pt_top_value(r.out, c->not_blamed, NULL, NULL), "%s: %s is not", c->type, c->not_blamed);
    pt_out_free(&r);
  }
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "record") == 0) return child(argv[2], argv[3]);
  if (argc != 3) {
    fprintf(stderr, "usage: pprof_types EXECTRACE_BINARY SCRATCH_DIR\n");
    return 2;
  }
  const char *ex = argv[1];
  pt_setup(argv[2], "types");
  char me[4096], bid[130], lib[4096], testlib[4096], path[8400], trace[4200];
  self_path(me, sizeof me);
  self = me;
  pt_self_build_id(bid);
  TAP_REQUIRE(bid[0] != 0, "this binary has a build id (%s)", bid);
  /* Copies of this binary run from elsewhere must still find its libraries. */
  library_of("et_start", lib, sizeof lib);
  library_of("testlib_nap", testlib, sizeof testlib);
  TAP_REQUIRE(lib[0] && testlib[0], "libraries found: %s, %s", lib, testlib);
  char testlib_path[4096];
  snprintf(testlib_path, sizeof testlib_path, "%s", testlib);
  snprintf(path, sizeof path, "%s:%s", dir_of(lib), dir_of(testlib));
  setenv("LD_LIBRARY_PATH", path, 1);

  /* Every type, from this binary. */
  pt_path(trace, sizeof trace, "all.etrace");
  TAP_REQUIRE(record_with(self, trace), "recorded");
  check_types(ex, trace, self, bid);

  /* The shared library's function is named with its file and line, from the
   * library's own mapping, which carries its build id. */
  char prof0[4200], buf0[8192];
  pt_path(prof0, sizeof prof0, "block.pb.gz");
  pt_out r0 = pt_run("go", "tool", "pprof", "-raw", prof0, NULL);
  const char *l0 = mapping_line(r0.out, testlib_path, buf0, sizeof buf0);
  ok(l0 && strstr(l0, "[FN][FL][LN][IN]") && strlen(l0) > strlen(testlib_path) + 40,
     "shared library: its mapping has a build id and symbols: %s", l0 ? l0 : "(none)");
  ok(strstr(r0.out, " testlib_nap ") && strstr(r0.out, "pprof_testlib.c:"),
     "shared library: testlib_nap is named with its source file and line");
  pt_out_free(&r0);

  /* The binary is gone: addresses, mapping and build id stay. */
  char victim[4200], bindir[4200], keep[4400], prof[4200], buf[8192];
  pt_path(bindir, sizeof bindir, "bin");
  mkdir(bindir, 0755);
  pt_path(victim, sizeof victim, "victim");
  snprintf(keep, sizeof keep, "%s/victim", bindir);
  pt_out r = pt_run("cp", self, victim, NULL);
  pt_out_free(&r);
  r = pt_run("cp", self, keep, NULL);
  pt_out_free(&r);
  pt_path(trace, sizeof trace, "gone.etrace");
  TAP_REQUIRE(record_with(victim, trace), "recorded from a copy");
  unlink(victim);
  pt_path(prof, sizeof prof, "gone.pb.gz");
  r = pt_convert(ex, trace, "sync", prof, NULL);
  ok(r.status == 0, "gone: converted without the binary (status %d) %s", r.status, r.err);
  pt_out_free(&r);
  r = pt_run("go", "tool", "pprof", "-raw", prof, NULL);
  const char *line = mapping_line(r.out, victim, buf, sizeof buf);
  ok(r.status == 0 && line && strstr(line, bid) && !strstr(line, "[FN]"),
     "gone: the mapping keeps path and build id, claims no functions: %s", line ? line : "(none)");
  ok(strstr(r.out, " M=1 wait_lock") == NULL, "gone: its addresses are left unnamed");
  pt_out_free(&r);
  /* Back in place, pprof symbolizes it itself.  (Go 1.19's pprof reads no
   * build ids, so it refuses files found through PPROF_BINARY_PATH for a
   * mapping that has one; at the mapping's own path it does not compare.) */
  r = pt_run("cp", keep, victim, NULL);
  pt_out_free(&r);
  r = pt_top(prof, "delay");
  ok(pt_flat(r.out, "wait_lock") > 0, "gone: once the binary is back, pprof names wait_lock itself");
  pt_out_free(&r);
  unlink(victim);

  /* A stripped binary: .dynsym names only. */
  r = pt_run("cp", self, victim, NULL);
  pt_out_free(&r);
  r = pt_run("strip", "--strip-all", victim, NULL);
  TAP_REQUIRE(r.status == 0, "strip ran (binutils) %s", r.err);
  pt_out_free(&r);
  pt_path(trace, sizeof trace, "stripped.etrace");
  TAP_REQUIRE(record_with(victim, trace), "recorded from a stripped copy");
  pt_path(prof, sizeof prof, "stripped.pb.gz");
  r = pt_convert(ex, trace, "sync", prof, NULL);
  ok(r.status == 0, "stripped: converted (status %d) %s", r.status, r.err);
  pt_out_free(&r);
  r = pt_run("go", "tool", "pprof", "-raw", prof, NULL);
  line = mapping_line(r.out, victim, buf, sizeof buf);
  ok(r.status == 0 && line && strstr(line, bid) && !strstr(line, "[FN]"),
     "stripped: the mapping keeps path and build id, claims no functions: %s", line ? line : "(none)");
  pt_out_free(&r);
  r = pt_top(prof, "delay");
  ok(pt_flat(r.out, "wait_lock") > 0, "stripped: wait_lock is named from .dynsym");
  pt_out_free(&r);
  unlink(victim);
  return tap_done();
}

/* Helpers for the pprof end-to-end tests: running `exectrace pprof` and the
 * real `go tool pprof`, and reading what they print.
 *
 * Each test records a small program with known behaviour through the
 * tracing API, converts the trace, and judges the profile only by what Go's
 * own pprof makes of it.  Go must be installed (Debian's golang-go): a
 * missing `go` fails the test, it never skips.  Go's caches go to a fresh
 * temporary directory, since CI runs as root without a network.
 */
#ifndef EXECTRACE_TESTS_PPROF_TEST_H
#define EXECTRACE_TESTS_PPROF_TEST_H

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"

static char pt_dir[4096]; /* scratch directory of this test */

/* Output of a command run by pt_run. */
typedef struct pt_out {
  int status; /* exit status, or 128 + signal, or -1 if it could not run */
  char *out, *err;
} pt_out;

__attribute__((unused)) static void pt_out_free(pt_out *o) {
  free(o->out);
  free(o->err);
  memset(o, 0, sizeof *o);
}

__attribute__((unused)) static char *pt_slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return strdup("");
  size_t cap = 4096, n = 0;
  char *b = malloc(cap);
  size_t r;
  while (b && (r = fread(b + n, 1, cap - n - 1, f)) > 0) {
    n += r;
    if (n + 1 == cap) {
      char *nb = realloc(b, cap * 2);
      if (!nb) break;
      b = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (b) b[n] = 0;
  return b;
}

/* Runs argv (NULL-terminated), capturing stdout and stderr in files. */
__attribute__((unused)) static pt_out pt_runv(char *const argv[]) {
  pt_out o = {-1, NULL, NULL};
  char outp[4200], errp[4200];
  snprintf(outp, sizeof outp, "%s/cmd.out", pt_dir);
  snprintf(errp, sizeof errp, "%s/cmd.err", pt_dir);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fi = open("/dev/null", O_RDONLY);
    if (fo < 0 || fe < 0 || fi < 0) _exit(126);
    dup2(fi, 0);
    dup2(fo, 1);
    dup2(fe, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return o;
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  o.out = pt_slurp(outp);
  o.err = pt_slurp(errp);
  return o;
}

/* pt_run("prog", "arg", ..., NULL) */
__attribute__((unused)) static pt_out pt_run(const char *prog, ...) {
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)prog;
  va_list ap;
  va_start(ap, prog);
  char *a;
  while (n < 63 && (a = va_arg(ap, char *)) != NULL) argv[n++] = a;
  va_end(ap);
  argv[n] = NULL;
  return pt_runv(argv);
}

/* Makes the scratch directory under base and points Go's caches into it;
 * checks that `go` runs (a setup failure, not a skip, if it does not). */
__attribute__((unused)) static void pt_setup(const char *base, const char *name) {
  snprintf(pt_dir, sizeof pt_dir, "%s/%s.d", base, name);
  mkdir(base, 0755);
  mkdir(pt_dir, 0755);
  char p[4300];
  snprintf(p, sizeof p, "%s/gocache", pt_dir);
  setenv("GOCACHE", p, 1);
  snprintf(p, sizeof p, "%s/gopath", pt_dir);
  setenv("GOPATH", p, 1);
  setenv("PPROF_TMPDIR", pt_dir, 1);
  setenv("GOPROXY", "off", 1);
  setenv("GOFLAGS", "-mod=mod", 1);
  setenv("GOTOOLCHAIN", "local", 1);
  setenv("GOTELEMETRY", "off", 1);
  if (!getenv("HOME")) setenv("HOME", pt_dir, 1);
  unsetenv("DEBUGINFOD_URLS"); /* libdw must not look for debug info on the network */
  pt_out o = pt_run("go", "version", NULL);
  TAP_REQUIRE(o.status == 0 && strstr(o.out, "go version"),
              "go runs (install Debian's golang-go): %s", o.status == 127 ? "go not found" : o.out);
  pt_out_free(&o);
}

/* A path in the scratch directory. */
__attribute__((unused)) static const char *pt_path(char *buf, size_t len, const char *file) {
  snprintf(buf, len, "%s/%s", pt_dir, file);
  return buf;
}

/* Counts the lines of s. */
__attribute__((unused)) static int pt_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    if (*s == '\n') n++;
  return n;
}

/* `go tool pprof -top` of a profile, every node, values in nanoseconds
 * (or plain counts) of the sample type index ("delay", "cpu", ...). */
__attribute__((unused)) static pt_out pt_top(const char *profile, const char *index) {
  char si[64];
  snprintf(si, sizeof si, "-sample_index=%s", index);
  return pt_run("go", "tool", "pprof", "-top", "-unit=ns", "-nodefraction=0", "-nodecount=1000", si, profile, NULL);
}

/* The flat and cum values of function fn in `-top` output (an inlined
 * function is listed as "fn (inline)"); false if fn is not listed. */
__attribute__((unused)) static bool pt_top_value(const char *top, const char *fn, double *flat, double *cum) {
  const char *line = top;
  while (line && *line) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    char buf[512];
    if (len < sizeof buf) {
      memcpy(buf, line, len);
      buf[len] = 0;
      double f, fp, sp, c, cp;
      int used = 0;
      /* "   18537199ns 71.89% 71.89% 18537199ns 71.89%  name" (0 has no unit) */
      char fu[8], cu[8];
      char name[400];
      if (sscanf(buf, " %lf%7[a-z] %lf%% %lf%% %lf%7[a-z] %lf%% %n", &f, fu, &fp, &sp, &c, cu, &cp, &used) >= 7 ||
          sscanf(buf, " %lf %lf%% %lf%% %lf%7[a-z] %lf%% %n", &f, &fp, &sp, &c, cu, &cp, &used) >= 6 ||
          sscanf(buf, " %lf %lf%% %lf%% %lf %lf%% %n", &f, &fp, &sp, &c, &cp, &used) >= 5) {
        if (used > 0) {
          snprintf(name, sizeof name, "%s", buf + used);
          char *inl = strstr(name, " (inline)");
          if (inl) *inl = 0;
          if (strcmp(name, fn) == 0) {
            if (flat) *flat = f;
            if (cum) *cum = c;
            return true;
          }
        }
      }
    }
    line = end ? end + 1 : NULL;
  }
  return false;
}

/* Flat value of fn in top output; 0 if absent. */
__attribute__((unused)) static double pt_flat(const char *top, const char *fn) {
  double f = 0;
  return pt_top_value(top, fn, &f, NULL) ? f : 0;
}

/* The hex build id of the running executable. */
__attribute__((unused)) static int pt_build_id_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  if (info->dlpi_name && info->dlpi_name[0]) return 0; /* only the executable */
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
      const unsigned char *name = p + sizeof *nh, *desc = name + ((nh->n_namesz + 3u) & ~3u);
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        char *out = arg;
        for (unsigned k = 0; k < nh->n_descsz && k < 64; k++) sprintf(out + 2 * k, "%02x", desc[k]);
        return 1;
      }
      p = desc + ((nh->n_descsz + 3u) & ~3u);
    }
  }
  return 0;
}

__attribute__((unused)) static void pt_self_build_id(char out[130]) {
  out[0] = 0;
  dl_iterate_phdr(pt_build_id_cb, out);
}

/* Converts trace to profile with `exectrace pprof --type type` plus extra
 * arguments (NULL-terminated); returns the command's result. */
__attribute__((unused)) static pt_out pt_convert(const char *exectrace, const char *trace, const char *type, const char *profile, ...) {
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)exectrace;
  argv[n++] = (char *)"pprof";
  argv[n++] = (char *)"--type";
  argv[n++] = (char *)type;
  argv[n++] = (char *)"-o";
  argv[n++] = (char *)profile;
  va_list ap;
  va_start(ap, profile);
  char *a;
  while (n < 62 && (a = va_arg(ap, char *)) != NULL) argv[n++] = a;
  va_end(ap);
  argv[n++] = (char *)trace;
  argv[n] = NULL;
  return pt_runv(argv);
}

__attribute__((unused)) static uint64_t pt_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

__attribute__((unused)) static void pt_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

#endif

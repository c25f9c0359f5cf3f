/* A minimal TAP producer for the test programs: ok() per check, a plan at
 * the end, exit status 1 if any check failed.  meson runs the programs with
 * protocol: 'tap'. */
#ifndef EXECTRACE_TESTS_TAP_H
#define EXECTRACE_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int tap_n, tap_failed;

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  fflush(stdout);
  if (!cond) tap_failed++;
  return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void diag(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("# ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
}

__attribute__((unused)) static int tap_done(void) {
  printf("1..%d\n", tap_n);
  return tap_failed ? 1 : 0;
}

/* Runs fn(arg) in a child process; returns its exit status (128 + the
 * signal if a signal ended it). */
__attribute__((unused)) static int tap_in_child(void (*fn)(const char *), const char *arg) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn(arg);
    _exit(0);
  }
  int st;
  if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Stops the test with a failed check when cond is false (setup failures). */
#define TAP_REQUIRE(cond, ...)                                                               \
  do {                                                                                       \
    if (!ok((cond), __VA_ARGS__)) {                                                          \
      printf("Bail out! setup failed\n");                                                    \
      exit(1);                                                                               \
    }                                                                                        \
  } while (0)

#endif

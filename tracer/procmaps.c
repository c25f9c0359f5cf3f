/* Reading /proc/self/maps with async-signal-safe calls only.
 *
 * A thread's first event may come from a signal handler that interrupted
 * malloc, so finding the thread's stack (for frame walks that cannot fault)
 * uses open/read/close and a buffer on the stack, never stdio or malloc.
 */
#include <fcntl.h>
#include <unistd.h>

#include "tracer.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* Parses "lo-hi " at the start of a maps line. */
static int parse_range(const char *s, const char *end, uintptr_t *lo, uintptr_t *hi) {
  uintptr_t v[2] = {0, 0};
  for (int k = 0; k < 2; k++) {
    int n = 0, d;
    while (s < end && (d = hexval(*s)) >= 0) {
      v[k] = v[k] << 4 | (uintptr_t)d;
      s++;
      n++;
    }
    if (n == 0 || s >= end || *s != (k == 0 ? '-' : ' ')) return -1;
    s++;
  }
  *lo = v[0];
  *hi = v[1];
  return 0;
}

int et__proc_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi) {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[4096];
  size_t have = 0;
  int found = -1;
  for (;;) {
    ssize_t n = read(fd, buf + have, sizeof buf - have);
    if (n <= 0) break;
    have += (size_t)n;
    char *line = buf, *end = buf + have, *nl;
    while ((nl = memchr(line, '\n', (size_t)(end - line))) != NULL) {
      uintptr_t a, b;
      if (parse_range(line, nl, &a, &b) == 0 && addr >= a && addr < b) {
        *lo = a;
        *hi = b;
        found = 0;
        goto out;
      }
      line = nl + 1;
    }
    have = (size_t)(end - line);
    if (have == sizeof buf) have = 0; /* a line longer than the buffer: skip it */
    memmove(buf, line, have);
  }
out:
  close(fd);
  return found;
}

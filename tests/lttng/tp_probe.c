/* tp_probe: a program with a tiny LTTng-UST provider of its own (etprobe,
 * tp_probe_tp.h), for checking the LTTng harness without exectrace:
 *
 *   tp_probe COUNT [TEXT]   emits COUNT etprobe:ping events (seq = 0..COUNT-1,
 *                           value = seq * 3, text = TEXT or "hello") from the
 *                           main thread and prints "pid PID tid TID".
 */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "tp_probe_tp.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: tp_probe COUNT [TEXT]\n");
    return 2;
  }
  long n = strtol(argv[1], NULL, 10);
  const char *text = argc > 2 ? argv[2] : "hello";
  for (long i = 0; i < n; i++) lttng_ust_tracepoint(etprobe, ping, i, i * 3, text);
  printf("pid %ld tid %ld\n", (long)getpid(), (long)syscall(SYS_gettid));
  return 0;
}

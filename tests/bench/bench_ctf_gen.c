/* bench_ctf_gen: records the request-like workload of bench_reader
 * (requests.h: REQ_THREADS threads, a mix of tasks, regions, system calls,
 * counters, lock waits, wakes and logs) for bench_ctf.py, which reads it as
 * CTF: with EXECTRACE_LTTNG set and a session listening, the same events go
 * to LTTng (the LTTng trace it times), and the native trace can be exported
 * with `exectrace export --format ctf` (our own CTF).  Nothing is dropped:
 * the tracer blocks when its buffers are full (and so does LTTng, with a
 * blocking channel and LTTNG_UST_ALLOW_BLOCKING=1).
 *
 * usage: bench_ctf_gen N TRACE    prints "events N" (what the trace holds
 *                                 from the workload: N rounded to whole
 *                                 threads) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "requests.h"
#include "exectrace/exectrace.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench_ctf_gen N TRACE\n");
    return 2;
  }
  uint64_t n = strtoull(argv[1], NULL, 10);
  et_options o;
  et_options_init(&o);
  o.block_when_full = true;
  int err = et_start_opts(argv[2], &o);
  if (err) {
    fprintf(stderr, "bench_ctf_gen: et_start_opts(%s): %s\n", argv[2], et_strerror(err));
    return 1;
  }
  req_per_thread = n / REQ_THREADS;
  pthread_t th[REQ_THREADS];
  for (int i = 0; i < REQ_THREADS; i++) pthread_create(&th[i], NULL, req_thread, (void *)(intptr_t)i);
  for (int i = 0; i < REQ_THREADS; i++) pthread_join(th[i], NULL);
  err = et_stop();
  if (err) {
    fprintf(stderr, "bench_ctf_gen: et_stop: %s\n", et_strerror(err));
    return 1;
  }
  printf("events %" PRIu64 "\n", req_per_thread * REQ_THREADS);
  return 0;
}

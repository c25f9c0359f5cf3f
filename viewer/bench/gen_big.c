/* gen_big: records a trace of about N events for the viewer's benchmark:
 * bench_reader's request-like workload (tests/bench/requests.h), with
 * block_when_full so nothing is dropped.
 *
 * usage: gen_big N OUT.etrace
 */
#include <exectrace/exectrace.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../tests/bench/requests.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: gen_big N OUT.etrace\n");
    return 2;
  }
  req_per_thread = strtoull(argv[1], NULL, 10) / REQ_THREADS;
  et_options o;
  et_options_init(&o);
  o.block_when_full = true;
  o.buffer_size = 256u << 20;
  int err = et_start_opts(argv[2], &o);
  if (err) {
    fprintf(stderr, "gen_big: %s\n", et_strerror(err));
    return 1;
  }
  pthread_t th[REQ_THREADS];
  for (int i = 0; i < REQ_THREADS; i++) pthread_create(&th[i], NULL, req_thread, (void *)(intptr_t)i);
  for (int i = 0; i < REQ_THREADS; i++) pthread_join(th[i], NULL);
  err = et_stop();
  if (err) fprintf(stderr, "gen_big: et_stop: %s\n", et_strerror(err));
  return err ? 1 : 0;
}

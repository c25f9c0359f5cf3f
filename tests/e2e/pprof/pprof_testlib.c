/* A shared library for the pprof tests: a wait inside a .so, so that the
 * profile must name a function of a shared library, with its file and
 * line, from the library's own mapping and build id. */
#include <errno.h>
#include <exectrace/exectrace.h>
#include <time.h>

/* Sleeps ms milliseconds as a traced sleep. */
__attribute__((visibility("default"), noinline)) void testlib_nap(long ms);

void testlib_nap(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  et_block_begin(ET_REASON_SLEEP, NULL);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  et_block_end();
}

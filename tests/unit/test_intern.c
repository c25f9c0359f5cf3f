/* Strings and stacks: interned once however many threads race to intern
 * them, resolved for every event that uses them, and never confused when a
 * program reuses one buffer for different strings (the per-thread cache is
 * keyed by pointer but checked by content).  Also the varint and zigzag
 * encodings at their edges, which every event goes through.
 */
#include <exectrace/exectrace.h>
#include <exectrace/reader.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../events/wire.h"
#include "tap.h"

#define THREADS 4
#define NAMES 500

static pthread_barrier_t start;

static void *racer(void *arg) {
  (void)arg;
  /* Each thread builds its own copies, so pointers differ and contents agree. */
  char (*names)[32] = malloc(NAMES * sizeof *names);
  for (int i = 0; i < NAMES; i++) snprintf(names[i], sizeof names[i], "category-%d", i);
  pthread_barrier_wait(&start);
  for (int i = 0; i < NAMES; i++) et_log(0, names[i], "race");
  /* One buffer, many contents: each log must carry what the buffer held then. */
  char buf[64];
  for (int i = 0; i < NAMES; i++) {
    snprintf(buf, sizeof buf, "reused-%d", i);
    et_log((uint64_t)i, buf, "reuse");
  }
  /* Long strings bypass the cache. */
  char longname[200];
  memset(longname, 'x', sizeof longname - 1);
  longname[sizeof longname - 1] = 0;
  for (int i = 0; i < 3; i++) {
    longname[0] = (char)('a' + i);
    et_log(1000 + (uint64_t)i, longname, "long");
  }
  free(names);
  return NULL;
}

typedef struct check {
  const et_trace *t;
  unsigned log_kind;
  uint64_t race_ids[NAMES];
  int race_bad, reuse_bad, long_bad, unresolved;
} check;

static int visit(void *arg, const et_event *ev) {
  check *c = arg;
  if (ev->kind != c->log_kind) return 0;
  const char *cat = et_trace_string(c->t, ev->field[1]);
  if (!cat) {
    c->unresolved++;
    return 0;
  }
  if (ev->field[2] == 4 && memcmp(ev->bytes, "race", 4) == 0) {
    int i;
    if (sscanf(cat, "category-%d", &i) != 1 || i < 0 || i >= NAMES) {
      c->race_bad++;
      return 0;
    }
    if (c->race_ids[i] == 0) c->race_ids[i] = ev->field[1];
    else if (c->race_ids[i] != ev->field[1]) c->race_bad++; /* one string, two ids */
  } else if (ev->field[2] == 5 && memcmp(ev->bytes, "reuse", 5) == 0) {
    char want[64];
    snprintf(want, sizeof want, "reused-%" PRIu64, ev->field[0]);
    if (strcmp(cat, want) != 0) c->reuse_bad++;
  } else if (ev->field[2] == 4 && memcmp(ev->bytes, "long", 4) == 0) {
    if (strlen(cat) != 199 || cat[0] != (char)('a' + (ev->field[0] - 1000)) || cat[1] != 'x')
      c->long_bad++;
  }
  return 0;
}

static void check_interning(void) {
  char path[] = "/tmp/et-test-intern-XXXXXX";
  int fd = mkstemp(path);
  TAP_REQUIRE(fd >= 0, "temporary file");
  close(fd);
  pthread_barrier_init(&start, NULL, THREADS);
  TAP_REQUIRE(et_start(path) == 0, "et_start");
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, racer, NULL);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  ok(et_stop() == 0, "et_stop");
  et_trace *t;
  TAP_REQUIRE(et_trace_open(path, &t) == 0, "the trace loads");
  check c = {.t = t, .log_kind = (unsigned)et_trace_kind_by_name(t, "log")};
  et_trace_for_each(t, visit, &c);
  ok(c.unresolved == 0, "every string id resolves (%d unresolved)", c.unresolved);
  ok(c.race_bad == 0, "strings raced by %d threads got one id each (%d bad)", THREADS, c.race_bad);
  int seen = 0;
  for (int i = 0; i < NAMES; i++) seen += c.race_ids[i] != 0;
  ok(seen == NAMES, "all %d raced strings present (%d)", NAMES, seen);
  ok(c.reuse_bad == 0, "a reused buffer's changing contents are recorded as they were (%d bad)",
     c.reuse_bad);
  ok(c.long_bad == 0, "long strings are recorded whole (%d bad)", c.long_bad);
  et_trace_close(t);
  unlink(path);
}

/* Two callers at the same depth reach the same leaf with the same frame
 * address: the walk cache must still tell their stacks apart. */
__attribute__((noinline)) static void leaf(uint64_t which) {
  et_log(which, "leaf", "x");
  __asm__ volatile("");
}
__attribute__((noinline)) static void caller_one(void) {
  leaf(1);
  __asm__ volatile("");
}
__attribute__((noinline)) static void caller_two(void) {
  leaf(2);
  __asm__ volatile("");
}

static void check_walk_cache(void) {
  char path[] = "/tmp/et-test-walk-XXXXXX";
  int fd = mkstemp(path);
  TAP_REQUIRE(fd >= 0, "temporary file");
  close(fd);
  TAP_REQUIRE(et_start(path) == 0, "et_start");
  for (int i = 0; i < 1000; i++) {
    if (i % 3) caller_one();
    else caller_two();
  }
  ok(et_stop() == 0, "et_stop");
  et_trace *t;
  TAP_REQUIRE(et_trace_open(path, &t) == 0, "the trace loads");
  int k = et_trace_kind_by_name(t, "log");
  uint64_t stack_of[3] = {0, 0, 0};
  int mixed = 0, seen = 0;
  et_cursor c;
  et_event ev;
  et_cursor_init(&c, t, 0);
  while (et_cursor_next(&c, &ev)) {
    if (ev.kind != k) continue;
    seen++;
    uint64_t which = ev.field[0];
    if (which < 1 || which > 2) continue;
    if (stack_of[which] == 0) stack_of[which] = ev.stack;
    else if (stack_of[which] != ev.stack) mixed++;
  }
  ok(seen == 1000 && stack_of[1] && stack_of[2] && stack_of[1] != stack_of[2] && mixed == 0,
     "same frame address, two callers: two stacks, never confused (%d mixed)", mixed);
  et_trace_close(t);
  unlink(path);
}

static void check_varints(void) {
  static const uint64_t values[] = {0, 1, 127, 128, 255, 16383, 16384, (1ull << 32) - 1,
                                    1ull << 32, (1ull << 63) - 1, 1ull << 63, UINT64_MAX};
  int good = 1;
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    uint8_t buf[ET_VARINT_MAX], *end = et__put_uvarint(buf, values[i]);
    const uint8_t *p = buf;
    uint64_t v;
    if (et__get_uvarint(&p, end, &v) != 0 || v != values[i] || p != end) good = 0;
    /* Every proper prefix is truncated. */
    for (const uint8_t *cut = buf; cut < end; cut++) {
      p = buf;
      if (et__get_uvarint(&p, cut, &v) == 0) good = 0;
    }
    int64_t s = (int64_t)values[i];
    if (et__unzigzag(et__zigzag(s)) != s) good = 0;
    if (s != INT64_MIN && et__unzigzag(et__zigzag(-s)) != -s) good = 0;
  }
  ok(good, "uvarint and zigzag round trips, truncations refused");
  uint8_t over[11];
  memset(over, 0x80, sizeof over);
  const uint8_t *p = over;
  uint64_t v;
  ok(et__get_uvarint(&p, over + sizeof over, &v) != 0, "an 11-byte varint is refused");
  uint8_t big[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
  p = big;
  ok(et__get_uvarint(&p, big + 10, &v) != 0, "a varint past 64 bits is refused");
  ok(et__zigzag(-1) == 1 && et__zigzag(1) == 2 && et__zigzag(INT64_MIN) == UINT64_MAX,
     "zigzag maps small magnitudes to small numbers");
}

int main(void) {
  check_varints();
  check_interning();
  check_walk_cache();
  return tap_done();
}

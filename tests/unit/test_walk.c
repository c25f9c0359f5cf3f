/* The walk (events/walk.c) on traces written by hand: the states it
 * derives, how wakes are matched to waits (a targeted wake ends its
 * target's wait; an object wake ends, of the waits on the object in
 * progress and not yet woken, the one that ends first), nesting, pauses,
 * and that et_trace_walk() and et_trace_open_walk() hand out exactly the
 * spans the model keeps.  The clock runs at one tick per nanosecond.
 */
#include <exectrace/exectrace.h>
#include <exectrace/reader.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../events/catalog.h"
#include "../../events/wire.h"
#include "handtrace.h"
#include "tap.h"

static void begin_trace(out *o) {
  o->len = 0;
  uint8_t h[ET_FILE_HEADER_LEN];
  et__file_header(h);
  put(o, h, sizeof h);
  uint8_t cat[1 << 14];
  size_t n = et__catalog_encode(cat, sizeof cat);
  chunk(o, ET_CHUNK_CATALOG, cat, n);
  uint8_t p[32], *q = p;
  q = et__put_uvarint(q, 0);
  q = et__put_uvarint(q, 0);
  q = et__put_uvarint(q, 1000000000ull);
  chunk(o, ET_CHUNK_CLOCK, p, (size_t)(q - p));
}

static void end_trace(out *o) {
  uint8_t p[2] = {0, 0};
  chunk(o, ET_CHUNK_END, p, 2);
}

/* One thread's events, built up and written as one EVENTS chunk. */
typedef struct thr {
  uint8_t p[4096], *q;
  uint64_t ticks, obj;
} thr;

static void thr_begin(thr *t, uint64_t tid) {
  t->q = t->p;
  t->ticks = t->obj = 0;
  t->q = et__put_uvarint(t->q, tid);
  *t->q++ = 0;                        /* stream */
  t->q = et__put_uvarint(t->q, 0);    /* seq */
  t->q = et__put_uvarint(t->q, 0);    /* base ticks */
  t->q = et__put_uvarint(t->q, 0);    /* base object */
}

static void ev_head(thr *t, unsigned kind, uint64_t at) {
  *t->q++ = (uint8_t)kind;
  t->q = et__put_uvarint(t->q, at - t->ticks);
  t->ticks = at;
}

static void ev_obj(thr *t, uint64_t obj) {
  t->q = et__put_svarint(t->q, (int64_t)(obj - t->obj));
  t->obj = obj;
}

static void block_begin(thr *t, uint64_t at, unsigned reason, uint64_t obj, uint64_t stack) {
  ev_head(t, ET_EV_BLOCK_BEGIN, at);
  t->q = et__put_uvarint(t->q, reason);
  ev_obj(t, obj);
  t->q = et__put_uvarint(t->q, stack);
}

static void block_end(thr *t, uint64_t at, unsigned reason) {
  ev_head(t, ET_EV_BLOCK_END, at);
  t->q = et__put_uvarint(t->q, reason);
}

static void wake(thr *t, uint64_t at, uint64_t target, uint64_t obj, uint64_t stack) {
  ev_head(t, ET_EV_WAKE, at);
  t->q = et__put_uvarint(t->q, target);
  ev_obj(t, obj);
  t->q = et__put_uvarint(t->q, stack);
}

static void syscall_begin(thr *t, uint64_t at, uint64_t stack) {
  ev_head(t, ET_EV_SYSCALL_BEGIN, at);
  t->q = et__put_uvarint(t->q, 0);  /* nr */
  t->q = et__put_svarint(t->q, 3);  /* fd */
  t->q = et__put_uvarint(t->q, ET_FDCLASS_FILE);
  t->q = et__put_uvarint(t->q, stack);
}

static void syscall_end(thr *t, uint64_t at) {
  ev_head(t, ET_EV_SYSCALL_END, at);
  t->q = et__put_svarint(t->q, 0);
}

static void plain(thr *t, unsigned kind, uint64_t at) { /* stw_end, thread_exit: no fields */
  ev_head(t, kind, at);
}

static void stw_begin(thr *t, uint64_t at) {
  ev_head(t, ET_EV_STW_BEGIN, at);
  t->q = et__put_uvarint(t->q, 0);
}

static void thr_end(out *o, thr *t) { chunk(o, ET_CHUNK_EVENTS, t->p, (size_t)(t->q - t->p)); }

static void is_str(const char *got, const char *want, const char *what) {
  if (!ok(strcmp(got, want) == 0, "%s", what)) diag("got  '%s'\n  want '%s'", got, want);
}

/* The spans of the thread with this tid, as "state@start:stack" words. */
static const char *spans_of(const et_trace *t, uint64_t tid, char *buf, size_t cap) {
  buf[0] = 0;
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    if (et_trace_thread(t, i)->tid != tid) continue;
    const et_span *sp;
    size_t n = et_trace_spans(t, i, &sp), len = 0;
    for (size_t k = 0; k < n && len < cap; k++)
      len += (size_t)snprintf(buf + len, cap - len, "%s%s@%" PRIu64 "%s%s", k ? " " : "", et_state_name(sp[k].state),
                              sp[k].start, sp[k].stack ? (sp[k].stack == 7 ? ":w7" : ":s") : "",
                              sp[k].flags & ET_SPAN_RESUMED ? "+r" : "");
  }
  return buf;
}

/* What the handlers saw, to compare with the model. */
typedef struct got {
  et_span sp[64][32];
  size_t n[64];
  uint64_t end[64];
  uint64_t events, last_time;
  bool ordered;
} got;

static int on_event(void *arg, const et_trace *t, size_t th, const et_event *ev) {
  (void)t;
  (void)th;
  got *g = arg;
  if (ev->time < g->last_time) g->ordered = false;
  g->last_time = ev->time;
  g->events++;
  return 0;
}

static int on_span(void *arg, const et_trace *t, size_t th, const et_span *sp) {
  (void)t;
  got *g = arg;
  if (th < 64 && g->n[th] < 32) g->sp[th][g->n[th]++] = *sp;
  return 0;
}

static int on_end(void *arg, const et_trace *t, size_t th, uint64_t last) {
  (void)t;
  got *g = arg;
  if (th < 64) g->end[th] = last;
  return 0;
}

static bool same_as_model(const et_trace *t, const got *g) {
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    const et_span *sp;
    size_t n = et_trace_spans(t, i, &sp);
    if (n != g->n[i] || memcmp(sp, g->sp[i], n * sizeof *sp) != 0) return false;
    if (g->end[i] != et_trace_thread(t, i)->last) return false;
  }
  return g->events == et_trace_get_info(t)->events && g->ordered;
}

int main(void) {
  out *o = calloc(1, sizeof *o);
  got *g = calloc(1, sizeof *g);
  thr a, b, c, d, e, f, h;
  char buf[512];
  et_trace *t;

  /* Two waits on object 0x100 and two wakes of it by a third thread: the
   * first wake (200) ends the wait that ends first (b's, at 300), not the
   * one that began first (a's); the second (400) ends a's. */
  begin_trace(o);
  thr_begin(&a, 11);
  block_begin(&a, 100, ET_REASON_MUTEX, 0x100, 0);
  block_end(&a, 500, ET_REASON_MUTEX);
  thr_end(o, &a);
  thr_begin(&b, 12);
  block_begin(&b, 150, ET_REASON_MUTEX, 0x100, 0);
  block_end(&b, 300, ET_REASON_MUTEX);
  thr_end(o, &b);
  thr_begin(&c, 13);
  plain(&c, ET_EV_STW_END, 50); /* an end without a begin: ignored */
  wake(&c, 200, 0, 0x100, 7);
  wake(&c, 400, 0, 0x100, 7);
  wake(&c, 600, 0, 0x100, 7); /* nobody waits any more: no effect */
  /* A targeted wake ends d's wait on a condition variable. */
  wake(&c, 700, 14, 0x200, 7);
  wake(&c, 750, 14, 0x200, 7); /* already woken: no effect */
  thr_end(o, &c);
  thr_begin(&d, 14);
  block_begin(&d, 100, ET_REASON_COND, 0x200, 0);
  block_end(&d, 900, ET_REASON_COND);
  thr_end(o, &d);
  /* A wake of a wait while a system call nested in it runs: the thread
   * shows the call, then runnable until the wait ends. */
  thr_begin(&e, 15);
  block_begin(&e, 100, ET_REASON_MUTEX, 0x300, 1);
  syscall_begin(&e, 150, 2);
  syscall_end(&e, 250);
  block_end(&e, 400, ET_REASON_MUTEX);
  thr_end(o, &e);
  thr_begin(&f, 16);
  wake(&f, 200, 0, 0x300, 7);
  /* A pause by f: other running threads show GC during it. */
  stw_begin(&f, 1000);
  plain(&f, ET_EV_STW_END, 1100);
  thr_end(o, &f);
  thr_begin(&h, 17);
  plain(&h, ET_EV_THREAD_EXIT, 900);
  thr_end(o, &h);
  thr_begin(&h, 18);
  block_begin(&h, 900, ET_REASON_SLEEP, 0, 0);
  block_end(&h, 950, ET_REASON_SLEEP);
  block_begin(&h, 1050, ET_REASON_SLEEP, 0, 0); /* waiting during the pause: not GC */
  block_end(&h, 1150, ET_REASON_SLEEP);
  block_begin(&h, 1200, ET_REASON_SLEEP, 0, 0);
  block_end(&h, 1200, ET_REASON_SLEEP); /* zero length: folded away */
  plain(&h, ET_EV_THREAD_EXIT, 1300);
  thr_end(o, &h);
  /* A wait that a nested system call interrupts, not woken: it resumes. */
  thr_begin(&h, 19);
  block_begin(&h, 100, ET_REASON_MUTEX, 0x400, 3);
  syscall_begin(&h, 150, 4);
  syscall_end(&h, 200);
  block_end(&h, 300, ET_REASON_MUTEX);
  plain(&h, ET_EV_THREAD_EXIT, 400);
  thr_end(o, &h);
  end_trace(o);

  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "the hand-written trace loads");
  for (size_t i = 0; i < et_trace_warning_count(t); i++) diag("warning: %s", et_trace_warning(t, i));
  is_str(spans_of(t, 12, buf, sizeof buf), "blocked@150 runnable@200:w7 running@300",
         "the first object wake ends the wait that ends first");
  is_str(spans_of(t, 11, buf, sizeof buf), "blocked@100 runnable@400:w7 running@500",
         "the second object wake ends the other wait");
  is_str(spans_of(t, 14, buf, sizeof buf), "blocked@100 runnable@700:w7 running@900",
         "a targeted wake ends its target's wait, once");
  is_str(spans_of(t, 15, buf, sizeof buf), "blocked@100:s syscall@150:s runnable@250:w7 running@400",
         "a wake during a nested system call shows once the call returns");
  is_str(spans_of(t, 18, buf, sizeof buf), "blocked@900 running@950 gc@1000 blocked@1050 running@1150",
         "running time under another thread's pause is GC; waiting time is not; zero-length waits fold");
  is_str(spans_of(t, 16, buf, sizeof buf), "running@200", "the pausing thread itself keeps running");
  is_str(spans_of(t, 19, buf, sizeof buf), "blocked@100:s syscall@150:s blocked@200:s+r running@300",
         "a wait interrupted by a nested system call resumes (flagged) when the call returns");

  /* The walk again, on the loaded model, and while loading from a file. */
  memset(g, 0, sizeof *g);
  g->ordered = true;
  et_walk_handlers hs = {on_event, on_span, on_end, NULL, 0};
  ok(et_trace_walk(t, &hs, g) == 0 && same_as_model(t, g),
     "et_trace_walk hands out every event in time order and exactly the model's spans");
  char path[] = "/tmp/et-test-walk-XXXXXX";
  int fd = mkstemp(path);
  TAP_REQUIRE(fd >= 0 && write(fd, o->buf, o->len) == (ssize_t)o->len, "a temporary trace file");
  close(fd);
  memset(g, 0, sizeof *g);
  g->ordered = true;
  et_trace *t2;
  ok(et_trace_open_walk(path, &hs, g, &t2) == 0 && same_as_model(t, g),
     "et_trace_open_walk hands out the same spans while loading");
  const et_span *none;
  ok(et_trace_spans(t2, 0, &none) == 0 && et_trace_get_info(t2)->events == et_trace_get_info(t)->events,
     "and keeps no spans, but the counts");
  et_trace_close(t2);
  unsigned char only[256] = {0};
  only[ET_EV_WAKE] = 1;
  memset(g, 0, sizeof *g);
  g->ordered = true;
  et_walk_handlers hk = {on_event, NULL, NULL, only, 0};
  int wr = et_trace_walk(t, &hk, g);
  ok(wr == 0 && g->events == et_trace_kind_count(t, ET_EV_WAKE),
     "a kinds mask limits the events handed out (%" PRIu64 ")", g->events);
  /* Only blocked spans, each with the span after it. */
  memset(g, 0, sizeof *g);
  g->ordered = true;
  et_walk_handlers hb = {NULL, on_span, NULL, NULL, 1u << ET_STATE_BLOCKED};
  bool as_model = et_trace_walk(t, &hb, g) == 0;
  for (size_t i = 0; i < et_trace_thread_count(t) && as_model; i++) {
    const et_span *sp;
    size_t n = et_trace_spans(t, i, &sp), k = 0;
    for (size_t j = 0; j < n; j++)
      if (sp[j].state == ET_STATE_BLOCKED || (j > 0 && sp[j - 1].state == ET_STATE_BLOCKED))
        as_model &= k < g->n[i] && memcmp(&sp[j], &g->sp[i][k++], sizeof *sp) == 0;
    as_model &= k == g->n[i];
  }
  ok(as_model, "span_states hands out only the spans asked for, each with the one that ends it");
  unlink(path);
  et_trace_close(t);
  free(o);
  free(g);
  return tap_done();
}

/* The reader against traces written by hand, byte by byte as docs/format.md
 * says: a newer writer's event kinds and chunk types are skipped (kinds by
 * the trace's own catalogue), versions are honoured, missing chunks and bad
 * checksums are reported, and ticks become nanoseconds by the clock's sync
 * points.
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

static void file_header(out *o, unsigned version, unsigned min_reader) {
  uint8_t h[ET_FILE_HEADER_LEN];
  et__file_header(h);
  et__put_u16le(h + 8, (uint16_t)version);
  et__put_u16le(h + 10, (uint16_t)min_reader);
  put(o, h, sizeof h);
}

/* Our catalogue plus kind 200, "future_thing", with fields U then B. */
static void catalog_with_future_kind(out *o) {
  uint8_t p[8192];
  size_t n = et__catalog_encode(p, sizeof p);
  /* Bump the count (first uvarint, one byte while below 128) and append the kind. */
  p[0]++;
  uint8_t *q = p + n;
  *q++ = 200;
  *q++ = 0;
  q = et__put_uvarint(q, 12);
  memcpy(q, "future_thing", 12);
  q += 12;
  *q++ = 2;
  *q++ = 'U';
  q = et__put_uvarint(q, 1);
  *q++ = 'x';
  *q++ = 'B';
  q = et__put_uvarint(q, 4);
  memcpy(q, "blob", 4);
  q += 4;
  chunk(o, ET_CHUNK_CATALOG, p, (size_t)(q - p));
}

static void clock_point(out *o, uint64_t ticks, uint64_t ns, uint64_t rate) {
  uint8_t p[32], *q = p;
  q = et__put_uvarint(q, ticks);
  q = et__put_uvarint(q, ns);
  q = et__put_uvarint(q, rate);
  chunk(o, ET_CHUNK_CLOCK, p, (size_t)(q - p));
}

static void strings(out *o) {
  uint8_t p[64], *q = p;
  q = et__put_uvarint(q, 1);
  q = et__put_uvarint(q, 4);
  memcpy(q, "work", 4);
  q += 4;
  chunk(o, ET_CHUNK_STRINGS, p, (size_t)(q - p));
}

/* An EVENTS chunk of thread 7: region_begin, future_thing, region_end, each
 * 1000 ticks apart from base. */
static void events(out *o, uint64_t seq, uint64_t base) {
  uint8_t p[128], *q = p;
  q = et__put_uvarint(q, 7);
  *q++ = 0;
  q = et__put_uvarint(q, seq);
  q = et__put_uvarint(q, base);
  q = et__put_uvarint(q, 0); /* base object */
  *q++ = ET_EV_REGION_BEGIN;
  q = et__put_uvarint(q, 1000);
  q = et__put_uvarint(q, 0);   /* task */
  q = et__put_uvarint(q, 1);   /* name */
  q = et__put_uvarint(q, 0);   /* stack */
  *q++ = 200;
  q = et__put_uvarint(q, 1000);
  q = et__put_uvarint(q, 42);
  q = et__put_uvarint(q, 3);
  memcpy(q, "abc", 3);
  q += 3;
  *q++ = ET_EV_REGION_END;
  q = et__put_uvarint(q, 1000);
  q = et__put_uvarint(q, 0);
  q = et__put_uvarint(q, 1);
  chunk(o, ET_CHUNK_EVENTS, p, (size_t)(q - p));
}

/* Region events of thread 7 as docs/format.md gives them; "L" is
 * region_end_last, "S" region_last (task, name), "B" region_begin (task,
 * name), "E" region_end (task, name), each 10 ticks after the one before. */
static void region_chunk(out *o, uint64_t seq, const char *ops, const uint64_t *args) {
  uint8_t p[256], *q = p;
  q = et__put_uvarint(q, 7);
  *q++ = 0;
  q = et__put_uvarint(q, seq);
  q = et__put_uvarint(q, 1000000 + 1000 * seq); /* base ticks */
  q = et__put_uvarint(q, 0);
  for (const char *c = ops; *c; c++) {
    switch (*c) {
      case 'B':
        *q++ = ET_EV_REGION_BEGIN;
        q = et__put_uvarint(q, 10);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, 0); /* stack */
        break;
      case 'E':
        *q++ = ET_EV_REGION_END;
        q = et__put_uvarint(q, 10);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, *args++);
        break;
      case 'L':
        *q++ = ET_EV_REGION_END_LAST;
        q = et__put_uvarint(q, 10);
        break;
      case 'S':
        *q++ = ET_EV_REGION_LAST;
        q = et__put_uvarint(q, 0);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, *args++);
        break;
    }
  }
  chunk(o, ET_CHUNK_EVENTS, p, (size_t)(q - p));
}

typedef struct regions_seen {
  const et_trace *t;
  char got[512];
} regions_seen;

static void region_text(regions_seen *s, const et_trace *t, const et_event *ev) {
  const char *kind = et_trace_kind_name(t, ev->kind);
  const char *name = ev->nfields > 1 && ev->field[1] ? et_trace_string(t, ev->field[1]) : "-";
  size_t n = strlen(s->got);
  snprintf(s->got + n, sizeof s->got - n, "%s%s(%" PRIu64 ",%s)@%" PRIu64, n ? " " : "",
           strcmp(kind, "region_begin") == 0 ? "B" : strcmp(kind, "region_end") == 0 ? "E" : kind,
           ev->field[0], name ? name : "?", ev->time);
}

static int collect_regions(void *arg, const et_event *ev) {
  regions_seen *s = arg;
  region_text(s, s->t, ev);
  return 0;
}

static int stream_regions(void *arg, const et_trace *t, const et_event *ev) {
  region_text(arg, t, ev);
  return 0;
}

static void end(out *o) {
  uint8_t p[4] = {0, 0};
  chunk(o, ET_CHUNK_END, p, 2);
}

typedef struct seen {
  const et_trace *t;
  uint64_t times[16];
  const char *kinds[16];
  int n;
} seen;

static int collect(void *arg, const et_event *ev) {
  seen *s = arg;
  if (s->n < 16) {
    s->times[s->n] = ev->time;
    s->kinds[s->n] = et_trace_kind_name(s->t, ev->kind);
    s->n++;
  }
  return 0;
}


/* ---- processes: the PROCESSES chunk, and the model keeping them apart ---- */

/* An EVENTS payload being written: header, then events by absolute ticks. */
typedef struct evs {
  uint8_t p[1024];
  size_t n;
  uint64_t ticks, obj;
} evs;

static void evs_begin(evs *e, uint64_t tid) {
  uint8_t *q = e->p;
  q = et__put_uvarint(q, tid);
  *q++ = 0;                  /* main stream */
  q = et__put_uvarint(q, 0); /* seq */
  q = et__put_uvarint(q, 0); /* base ticks */
  q = et__put_uvarint(q, 0); /* base object */
  e->n = (size_t)(q - e->p);
  e->ticks = e->obj = 0;
}

static void evs_u(evs *e, uint64_t v) { e->n = (size_t)(et__put_uvarint(e->p + e->n, v) - e->p); }

static void evs_kind(evs *e, unsigned kind, uint64_t ticks) {
  e->p[e->n++] = (uint8_t)kind;
  evs_u(e, ticks - e->ticks);
  e->ticks = ticks;
}

static void evs_obj(evs *e, uint64_t obj) {
  e->n = (size_t)(et__put_svarint(e->p + e->n, (int64_t)(obj - e->obj)) - e->p);
  e->obj = obj;
}

static void block_begin(evs *e, uint64_t t, uint64_t obj) {
  evs_kind(e, ET_EV_BLOCK_BEGIN, t);
  evs_u(e, ET_BLOCK_MUTEX);
  evs_obj(e, obj);
  evs_u(e, 0); /* stack */
}

static void block_end(evs *e, uint64_t t) {
  evs_kind(e, ET_EV_BLOCK_END, t);
  evs_u(e, ET_BLOCK_MUTEX);
}

static void counter(evs *e, uint64_t t) {
  evs_kind(e, ET_EV_COUNTER, t);
  evs_u(e, 0); /* name */
  e->n = (size_t)(et__put_svarint(e->p + e->n, 1) - e->p);
}

/* A PROCESS chunk: pid 4242, executable /usr/bin/demo, ticks in ns. */
static void process_chunk(out *o) {
  uint8_t p[128], *q = p;
  q = et__put_uvarint(q, 4242);
  q = et__put_uvarint(q, 1);
  q = et__put_uvarint(q, 13);
  memcpy(q, "/usr/bin/demo", 13);
  q += 13;
  q = et__put_uvarint(q, 5);
  memcpy(q, "demo\0", 5);
  q += 5;
  q = et__put_uvarint(q, 0);
  *q++ = ET_CLOCK_MONOTONIC;
  q = et__put_uvarint(q, 1000000000u);
  chunk(o, ET_CHUNK_PROCESS, p, (size_t)(q - p));
}

static void mapping_chunk(out *o) {
  uint8_t p[64], *q = p;
  q = et__put_uvarint(q, 0x400000);
  q = et__put_uvarint(q, 0x401000);
  q = et__put_uvarint(q, 0);
  q = et__put_uvarint(q, 4);
  memcpy(q, "/a/b", 4);
  q += 4;
  q = et__put_uvarint(q, 0);
  chunk(o, ET_CHUNK_MAPPINGS, p, (size_t)(q - p));
}

/* One process entry of a PROCESSES payload: pid, name, host, threads as
 * (tid, os_tid) pairs, and a mapping when map_start is not 0. */
static size_t proc_entry(uint8_t *at, uint64_t pid, const char *name, const char *host, const uint64_t *tids,
                         size_t ntids, uint64_t map_start) {
  uint8_t e[256], *q = e;
  q = et__put_uvarint(q, pid);
  q = et__put_uvarint(q, strlen(name));
  memcpy(q, name, strlen(name));
  q += strlen(name);
  q = et__put_uvarint(q, strlen(host));
  memcpy(q, host, strlen(host));
  q += strlen(host);
  q = et__put_uvarint(q, ntids);
  for (size_t i = 0; i < 2 * ntids; i++) q = et__put_uvarint(q, tids[i]);
  q = et__put_uvarint(q, map_start ? 1 : 0);
  if (map_start) {
    q = et__put_uvarint(q, map_start);
    q = et__put_uvarint(q, map_start + 0x1000);
    q = et__put_uvarint(q, 0);
    q = et__put_uvarint(q, 6);
    memcpy(q, "/lib/x", 6);
    q += 6;
    q = et__put_uvarint(q, 2);
    *q++ = 0xab;
    *q++ = 0xcd;
  }
  uint8_t *r = et__put_uvarint(at, (uint64_t)(q - e));
  memcpy(r, e, (size_t)(q - e));
  return (size_t)(r - at) + (size_t)(q - e);
}

/* Threads 11, 12 (one program) and 21, 22, 23 (another), all in ns:
 *   11 waits on object 0x1000 from 1000 to 5000;
 *   22 waits on the same address (of its own process) from 1500 to 6000;
 *   21 wakes a waiter of 0x1000 at 2000, and stops the world 3000..4000;
 *   12 and 23 run, with events at 500 and 7000. */
static void two_programs(out *o, bool with_processes) {
  o->len = 0;
  file_header(o, 1, 1);
  process_chunk(o);
  clock_point(o, 0, 0, 1000000000u);
  mapping_chunk(o);
  if (with_processes) {
    uint8_t p[512];
    size_t n = 0;
    static const uint64_t a[] = {11, 0, 12, 0}, b[] = {21, 0, 22, 0, 23, 7};
    p[n++] = 2;
    n += proc_entry(p + n, 100, "alpha", "host-a", a, 2, 0x7f0000);
    n += proc_entry(p + n, 200, "beta", "host-b", b, 3, 0x7f0000);
    chunk(o, ET_CHUNK_PROCESSES, p, n);
  }
  evs e;
  evs_begin(&e, 11);
  block_begin(&e, 1000, 0x1000);
  block_end(&e, 5000);
  chunk(o, ET_CHUNK_EVENTS, e.p, e.n);
  evs_begin(&e, 12);
  counter(&e, 500);
  counter(&e, 7000);
  chunk(o, ET_CHUNK_EVENTS, e.p, e.n);
  evs_begin(&e, 21);
  evs_kind(&e, ET_EV_WAKE, 2000);
  evs_u(&e, 0);
  evs_obj(&e, 0x1000);
  evs_u(&e, 0);
  evs_kind(&e, ET_EV_STW_BEGIN, 3000);
  evs_u(&e, 0);
  evs_kind(&e, ET_EV_STW_END, 4000);
  chunk(o, ET_CHUNK_EVENTS, e.p, e.n);
  evs_begin(&e, 22);
  block_begin(&e, 1500, 0x1000);
  block_end(&e, 6000);
  chunk(o, ET_CHUNK_EVENTS, e.p, e.n);
  evs_begin(&e, 23);
  counter(&e, 500);
  counter(&e, 7000);
  chunk(o, ET_CHUNK_EVENTS, e.p, e.n);
  end(o);
}

static size_t thread_by_tid(const et_trace *t, uint64_t tid) {
  for (size_t i = 0; i < et_trace_thread_count(t); i++)
    if (et_trace_thread(t, i)->tid == tid) return i;
  return SIZE_MAX;
}

/* Does thread tid have a span of this state? */
static bool has_state(const et_trace *t, uint64_t tid, unsigned state) {
  const et_span *sp;
  size_t n = et_trace_spans(t, thread_by_tid(t, tid), &sp);
  for (size_t i = 0; i < n; i++)
    if (sp[i].state == state) return true;
  return false;
}

static int count_warnings(const et_trace *t, const char *what) {
  int n = 0;
  for (size_t i = 0; i < et_trace_warning_count(t); i++) n += strstr(et_trace_warning(t, i), what) != NULL;
  return n;
}

/* A trace whose PROCESSES payload is p (n bytes) around the two programs' threads. */
static int load_with_processes(out *o, const uint8_t *p, size_t n, et_trace **t) {
  o->len = 0;
  file_header(o, 1, 1);
  process_chunk(o);
  clock_point(o, 0, 0, 1000000000u);
  chunk(o, ET_CHUNK_PROCESSES, p, n);
  evs e;
  evs_begin(&e, 11);
  counter(&e, 100);
  chunk(o, ET_CHUNK_EVENTS, e.p, e.n);
  evs_begin(&e, 21);
  counter(&e, 200);
  chunk(o, ET_CHUNK_EVENTS, e.p, e.n);
  end(o);
  return et_trace_open_mem(o->buf, o->len, t);
}

static void processes_tests(out *o) {
  et_trace *t;

  /* An ordinary trace: one process, the PROCESS chunk's. */
  two_programs(o, false);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace without PROCESSES loads");
  const et_process_info *p = et_trace_process(t, 0);
  ok(et_trace_process_count(t) == 1 && p && p->pid == 4242 && strcmp(p->name, "demo") == 0 && p->host[0] == 0,
     "without PROCESSES: one process, PROCESS's pid and executable's name, no host");
  ok(p && p->nthreads == 5 && p->events == 11 && p->nmappings == 1 && p->mappings[0].start == 0x400000,
     "it has every thread, every event and the trace's mappings (%zu threads, %" PRIu64 " events)",
     p ? p->nthreads : 0, p ? p->events : 0);
  const et_thread_info *th = et_trace_thread(t, thread_by_tid(t, 22));
  ok(th && th->pid == 4242 && th->os_tid == 22 && th->process == 0, "a thread's pid, os_tid and process");
  ok(has_state(t, 11, ET_STATE_RUNNABLE) && !has_state(t, 22, ET_STATE_RUNNABLE),
     "one process: the wake of 0x1000 wakes the waiter that stops first (thread 11)");
  ok(has_state(t, 12, ET_STATE_GC) && has_state(t, 23, ET_STATE_GC), "one process: the pause stops every thread");
  et_trace_close(t);

  /* Two programs in one trace. */
  two_programs(o, true);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace with PROCESSES loads");
  ok(et_trace_warning_count(t) == 0, "no warning (%s)", et_trace_warning_count(t) ? et_trace_warning(t, 0) : "");
  const et_process_info *a = et_trace_process(t, 0), *b = et_trace_process(t, 1);
  TAP_REQUIRE(et_trace_process_count(t) == 2 && a && b && !et_trace_process(t, 2), "two processes");
  ok(a->pid == 100 && strcmp(a->name, "alpha") == 0 && strcmp(a->host, "host-a") == 0 && b->pid == 200 &&
         strcmp(b->name, "beta") == 0 && strcmp(b->host, "host-b") == 0,
     "their pids, names and hosts");
  ok(a->nthreads == 2 && b->nthreads == 3 && a->events == 4 && b->events == 7,
     "their threads and events (%zu, %zu; %" PRIu64 ", %" PRIu64 ")", a->nthreads, b->nthreads, a->events, b->events);
  ok(et_trace_thread(t, a->threads[0])->tid == 11 && et_trace_thread(t, a->threads[1])->tid == 12 &&
         et_trace_thread(t, b->threads[2])->tid == 23,
     "their thread indexes");
  th = et_trace_thread(t, thread_by_tid(t, 23));
  ok(th->pid == 200 && th->os_tid == 7 && th->process == 1, "thread 23: pid 200, its own id 7, process 1");
  th = et_trace_thread(t, thread_by_tid(t, 12));
  ok(th->pid == 100 && th->os_tid == 12 && th->process == 0, "thread 12: pid 100, os_tid 0 means its tid");
  ok(a->nmappings == 1 && a->mappings[0].start == 0x7f0000 && a->mappings[0].limit == 0x7f1000 &&
         strcmp(a->mappings[0].path, "/lib/x") == 0 && a->mappings[0].build_id_len == 2 &&
         a->mappings[0].build_id[1] == 0xcd && et_trace_mapping_count(t) == 1,
     "each process's own mappings; the trace's MAPPINGS stay as they are");
  ok(!has_state(t, 11, ET_STATE_RUNNABLE) && has_state(t, 22, ET_STATE_RUNNABLE),
     "a wake by object wakes a waiter of its own process only (thread 22, not 11)");
  ok(!has_state(t, 12, ET_STATE_GC) && has_state(t, 23, ET_STATE_GC),
     "a stop-the-world pause stops only its own process's threads");
  et_trace_close(t);

  /* What a newer writer may add: fields at an entry's end, bytes after the entries. */
  uint8_t p2[512];
  size_t n = 0;
  static const uint64_t ta[] = {11, 0}, tb[] = {21, 0};
  p2[n++] = 2;
  size_t at = n;
  n += proc_entry(p2 + n, 100, "alpha", "", ta, 1, 0);
  p2[at]++; /* one more byte in the entry, after its fields */
  p2[n++] = 0x7f;
  n += proc_entry(p2 + n, 200, "beta", "", tb, 1, 0);
  p2[n++] = 0x55;
  TAP_REQUIRE(load_with_processes(o, p2, n, &t) == 0, "a PROCESSES chunk with a newer writer's bytes loads");
  ok(et_trace_process_count(t) == 2 && et_trace_warning_count(t) == 0 && et_trace_process(t, 1)->pid == 200,
     "its unknown bytes are skipped, without a warning");
  et_trace_close(t);

  /* A thread listed twice, one not at all; an entry repeating a process. */
  static const uint64_t tw[] = {11, 0, 21, 0}, t1[] = {11, 0};
  n = 0;
  p2[n++] = 3;
  n += proc_entry(p2 + n, 100, "", "h", t1, 1, 0);
  n += proc_entry(p2 + n, 300, "other", "h", tw, 2, 0);
  n += proc_entry(p2 + n, 100, "alpha", "h", t1, 1, 0x7f0000);
  TAP_REQUIRE(load_with_processes(o, p2, n, &t) == 0, "a PROCESSES chunk with odd lists loads");
  ok(et_trace_process_count(t) == 2 && strcmp(et_trace_process(t, 0)->name, "alpha") == 0 &&
         et_trace_process(t, 0)->nmappings == 1 && et_trace_process(t, 0)->nthreads == 1,
     "an entry with the same host and pid adds to the earlier process (its name, its mapping)");
  ok(count_warnings(t, "thread 11 is listed in two processes (pids 100 and 300): it stays in the first") == 1 &&
         et_trace_thread(t, thread_by_tid(t, 11))->pid == 100,
     "a thread listed twice stays in the first process, with a warning");
  ok(et_trace_thread(t, thread_by_tid(t, 21))->pid == 300, "thread 21 is the other process's");
  et_trace_close(t);
  n = 0;
  p2[n++] = 1;
  n += proc_entry(p2 + n, 100, "alpha", "h", t1, 1, 0);
  TAP_REQUIRE(load_with_processes(o, p2, n, &t) == 0, "a PROCESSES chunk that leaves a thread out loads");
  ok(et_trace_process_count(t) == 2 && et_trace_process(t, 1)->pid == 0 && et_trace_process(t, 1)->nthreads == 1 &&
         et_trace_thread(t, thread_by_tid(t, 21))->process == 1 && et_trace_thread(t, thread_by_tid(t, 21))->pid == 0,
     "threads no process lists form one more process, of pid 0");
  et_trace_close(t);

  /* Malformed payloads: the chunk is skipped with a warning, the trace is one process. */
  struct {
    const char *what;
    uint8_t p[48];
    size_t n;
  } bad[] = {
      {"an empty payload", {0}, 0},
      {"a count above the bytes left", {5, 1, 0}, 3},
      {"a count above 2^20", {0x81, 0x80, 0x40}, 3},
      {"an entry larger than the bytes left", {1, 9, 1, 0, 0, 0}, 6},
      {"a thread id 0", {1, 6, 1, 0, 0, 1, 0, 0}, 8},
      {"a field past its entry's end", {1, 4, 1, 1, 'x', 0, 1, 11, 0}, 9},
      {"a truncated varint", {1, 3, 0x80, 0x80, 0x80}, 5},
      {"an over-long varint", {1, 12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0}, 14},
      {"more threads than bytes", {1, 4, 1, 0, 0, 0x7f}, 6},
      {"a mapping whose limit is below its start", {1, 12, 1, 0, 0, 1, 11, 0, 1, 0x10, 0x08, 0, 0, 0}, 14},
      {"more mappings than bytes", {1, 8, 1, 0, 0, 1, 11, 0, 0x40, 0}, 10},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int r = load_with_processes(o, bad[i].p, bad[i].n, &t);
    ok(r == 0 && count_warnings(t, "processes chunk at offset ") == 1 &&
           count_warnings(t, "is malformed: skipped") == 1 && et_trace_process_count(t) == 1 &&
           et_trace_process(t, 0)->pid == 4242 && et_trace_process(t, 0)->nthreads == 2 &&
           et_trace_get_info(t)->lost_chunks == 1,
       "malformed PROCESSES (%s): skipped with a warning, one process", bad[i].what);
    if (r == 0) et_trace_close(t);
  }
}

int main(void) {
  out *o = calloc(1, sizeof *o);
  et_trace *t;

  uint8_t cat[1 << 14];
  ok(et__catalog_encode(cat, sizeof cat) > 0, "the catalogue fits the writer's 16 KiB buffer");
  ok(et_trace_open_mem("", 0, &t) == ET_E_FORMAT, "empty input: ET_E_FORMAT");

  /* A newer writer, readable by this reader; an unknown kind and chunk type. */
  file_header(o, ET_FORMAT_VERSION + 1, 1);
  catalog_with_future_kind(o);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull); /* 2 ticks per ns */
  strings(o);
  uint8_t junk[5] = {1, 2, 3, 4, 5};
  chunk(o, 99, junk, sizeof junk); /* a chunk type from the future */
  events(o, 0, 1000000);
  events(o, 2, 1100000); /* sequence 1 is missing */
  end(o);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a newer trace that this version may read loads");
  seen s = {.t = t};
  et_trace_for_each(t, collect, &s);
  ok(s.n == 6, "all 6 events decode, the unknown kind too (%d)", s.n);
  ok(s.n == 6 && strcmp(s.kinds[1], "future_thing") == 0, "the unknown kind is named by the trace's catalogue");
  ok(s.n == 6 && s.times[0] == 500 && s.times[1] == 1000 && s.times[2] == 1500,
     "ticks become ns through the sync point (500, 1000, 1500: got %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")",
     s.times[0], s.times[1], s.times[2]);
  ok(s.n == 6 && s.times[3] == 50500, "the second chunk starts from its own base (%" PRIu64 ")", s.times[3]);
  ok(et_trace_kind_count(t, 200) == 2, "the unknown kind is counted");
  et_trace_close(t);

  /* Without the catalogue, kind 200 cannot be skipped: the chunk is cut there, and said. */
  o->len = 0;
  file_header(o, 1, 1);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull);
  strings(o);
  events(o, 0, 1000000);
  end(o);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace without its catalogue loads");
  ok(et_trace_get_info(t)->events == 1 && et_trace_warning_count(t) == 1 &&
         strstr(et_trace_warning(t, 0), "undecodable event (kind 200)"),
     "an undescribed kind cuts its chunk with a warning");
  et_trace_close(t);
  o->len = 0;
  file_header(o, ET_FORMAT_VERSION + 1, 1);
  catalog_with_future_kind(o);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull);
  strings(o);
  chunk(o, 99, junk, sizeof junk);
  events(o, 0, 1000000);
  events(o, 2, 1100000);
  end(o);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "reload");
  int missing = 0, newer = 0;
  for (size_t i = 0; i < et_trace_warning_count(t); i++) {
    const char *w = et_trace_warning(t, i);
    diag("%s", w);
    missing += strstr(w, "1 chunk(s) of its events are missing") != NULL;
    newer += strstr(w, "newer") != NULL;
  }
  ok(missing == 1, "the missing chunk is reported");
  ok(newer == 1, "the newer version is reported");
  const et_span *sp;
  ok(et_trace_thread_count(t) == 1 && et_trace_spans(t, 0, &sp) == 1 && sp[0].state == ET_STATE_RUNNING,
     "one running span for a thread that never waited");
  et_trace_close(t);

  /* Compact region ends: region_end_last takes the task and name of the
   * chunk's last region_begin or region_last; the register starts at (0, 0)
   * in every chunk; region_last is not an event, even at a chunk's end. */
  o->len = 0;
  file_header(o, ET_FORMAT_VERSION, ET_FORMAT_MIN_READER);
  catalog_with_future_kind(o);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull); /* 2 ticks per ns */
  {
    uint8_t p[64], *q = p;
    q = et__put_uvarint(q, 1);
    q = et__put_uvarint(q, 4);
    memcpy(q, "work", 4);
    q += 4;
    q = et__put_uvarint(q, 2);
    q = et__put_uvarint(q, 5);
    memcpy(q, "other", 5);
    q += 5;
    chunk(o, ET_CHUNK_STRINGS, p, (size_t)(q - p));
  }
  region_chunk(o, 0, "BLBBLELE", (const uint64_t[]){5, 1, 6, 2, 5, 1, 6, 2, 3, 1});
  region_chunk(o, 1, "SLL", (const uint64_t[]){9, 2});
  region_chunk(o, 2, "L", NULL);
  region_chunk(o, 3, "BS", (const uint64_t[]){4, 1, 8, 2});
  end(o);
  static const char want[] =
      "B(5,work)@5 E(5,work)@10 B(6,other)@15 B(5,work)@20 E(5,work)@25 E(6,other)@30 E(5,work)@35 "
      "E(3,work)@40 E(9,other)@505 E(9,other)@510 E(0,-)@1005 B(4,work)@1505";
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace with compact region ends loads");
  regions_seen rs = {.t = t};
  et_trace_for_each(t, collect_regions, &rs);
  ok(strcmp(rs.got, want) == 0, "region_end_last reads as region_end with the register's task and name");
  if (strcmp(rs.got, want) != 0) diag("got  %s\nwant %s", rs.got, want);
  int rb = et_trace_kind_by_name(t, "region_begin"), re = et_trace_kind_by_name(t, "region_end");
  ok(et_trace_get_info(t)->events == 12 && rb > 0 && re > 0 && et_trace_kind_count(t, (unsigned)rb) == 4 &&
         et_trace_kind_count(t, (unsigned)re) == 8 && et_trace_warning_count(t) == 0,
     "12 events: 4 region_begin, 8 region_end, region_last not counted, no warnings (%" PRIu64 ")",
     et_trace_get_info(t)->events);
  ok(et_trace_kind_by_name(t, "region_end_last") < 0 && et_trace_kind_by_name(t, "region_last") < 0 &&
         et_trace_kind_name(t, ET_EV_REGION_END_LAST) == NULL && et_trace_field_count(t, ET_EV_REGION_LAST) == 0,
     "the encoding kinds are not in the reader's list of kinds");
  et_trace_close(t);
  {
    char tmp[] = "/tmp/et-test-reader-XXXXXX";
    int fd = mkstemp(tmp);
    bool wrote = fd >= 0 && write(fd, o->buf, o->len) == (ssize_t)o->len;
    if (fd >= 0) close(fd);
    regions_seen ss = {.t = NULL};
    et_stream_handlers h = {stream_regions, NULL};
    /* Streaming converts times with the sync points so far: compare the events only. */
    int err = wrote ? et_trace_stream(tmp, &h, &ss) : -1;
    ok(err == 0 && strcmp(ss.got, rs.got) == 0, "the streaming reader reads them the same");
    if (strcmp(ss.got, rs.got) != 0) diag("stream %s", ss.got);
    unlink(tmp);
  }

  /* A trace that needs a newer reader. */
  o->len = 0;
  file_header(o, ET_FORMAT_VERSION + 2, ET_FORMAT_VERSION + 1);
  end(o);
  ok(et_trace_open_mem(o->buf, o->len, &t) == ET_E_VERSION, "min reader above ours: ET_E_VERSION");

  /* Not a trace. */
  ok(et_trace_open_mem("hello world, not a trace", 24, &t) == ET_E_FORMAT, "text: ET_E_FORMAT");

  /* A bad payload checksum: the chunk is skipped and reported, the rest loads. */
  o->len = 0;
  file_header(o, 1, 1);
  catalog_with_future_kind(o);
  clock_point(o, 0, 0, 1000000000ull);
  strings(o);
  size_t at = o->len;
  events(o, 0, 0);
  events(o, 1, 10000);
  end(o);
  o->buf[at + ET_CHUNK_HEADER_LEN + 6] ^= 0x40; /* inside the first events payload */
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace with a damaged chunk loads");
  const et_trace_info *in = et_trace_get_info(t);
  ok(in->events == 3 && in->lost_chunks == 1, "the damaged chunk is skipped, the next kept (%" PRIu64 " events)",
     in->events);
  int crc = 0;
  for (size_t i = 0; i < et_trace_warning_count(t); i++)
    crc += strstr(et_trace_warning(t, i), "fails its checksum") != NULL;
  ok(crc == 1, "the checksum failure is reported");
  et_trace_close(t);

  /* A damaged chunk header: resynchronised at the next chunk. */
  o->buf[at + 9] ^= 0x01; /* payload length */
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace with a damaged chunk header loads");
  ok(et_trace_get_info(t)->events == 3 && et_trace_get_info(t)->complete,
     "the reader finds the next intact chunk and the END");
  et_trace_close(t);
  processes_tests(o);
  free(o);
  return tap_done();
}

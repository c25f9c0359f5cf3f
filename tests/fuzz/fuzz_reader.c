/* libFuzzer target for the trace reader: every input is loaded with
 * et_trace_open_mem() and then walked the way the tools walk a model (every
 * event in time order with the strings, stacks and bytes it refers to, each
 * thread's spans and cursor, tasks, processes, mappings, the catalogue,
 * warnings and info), and read a second time with the streaming reader, through a memfd
 * because et_trace_stream() takes a path.  Since every chunk carries CRCs
 * that random mutations almost always break, each input is also tried with
 * its chunks' checksums recomputed, so that mutations reach the payload
 * parsers instead of stopping at the checksum.  Besides the sanitizers, it
 * traps on broken promises of the API: counts that disagree between the
 * model's views or between the model and the stream, error codes other than
 * ET_E_FORMAT and ET_E_VERSION, states out of range, or accessors returning
 * NULL where a value is promised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <zlib.h>

#include "../../events/wire.h"
#include "exectrace/reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      fprintf(stderr, "fuzz_reader: %s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                               \
    }                                                                                        \
  } while (0)

/* Folds bytes into a sum the optimiser cannot drop, so every byte is read. */
static volatile uint64_t sink;

static void touch(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 0;
  for (size_t i = 0; i < n; i++) h = h * 31 + b[i];
  sink += h;
}

static void touch_str(const char *s) {
  if (s) touch(s, strlen(s) + 1);
}

static void touch_stack(const et_trace *t, uint64_t id) {
  const uint64_t *frames;
  size_t n = et_trace_stack(t, id, &frames);
  CHECK(n == 0 || frames != NULL);
  touch(frames, n * sizeof *frames);
}

static void touch_event(const et_trace *t, const et_event *ev) {
  CHECK(ev->nfields <= ET_EVENT_MAX_FIELDS);
  CHECK(ev->stream <= 1);
  const char *kind = et_trace_kind_name(t, ev->kind);
  CHECK(kind != NULL);
  touch_str(kind);
  CHECK(ev->nfields == et_trace_field_count(t, ev->kind));
  touch_stack(t, ev->stack);
  for (unsigned f = 0; f < ev->nfields; f++) {
    touch_str(et_trace_field_name(t, ev->kind, f));
    switch (et_trace_field_type(t, ev->kind, f)) {
      case ET_FIELD_S: touch_str(et_trace_string(t, ev->field[f])); break;
      case ET_FIELD_K: touch_stack(t, ev->field[f]); break;
      case ET_FIELD_B:
        CHECK(ev->field[f] == 0 || ev->bytes != NULL);
        touch(ev->bytes, (size_t)ev->field[f]);
        break;
      default: sink += ev->field[f]; break;
    }
  }
}

typedef struct walk {
  const et_trace *t;
  uint64_t n;
} walk;

static int on_event(void *arg, const et_event *ev) {
  walk *w = arg;
  touch_event(w->t, ev);
  w->n++;
  return 0;
}

static int stop_early(void *arg, const et_event *ev) {
  (void)ev;
  return ++*(int *)arg == 3 ? 7 : 0;
}

static void exercise(const et_trace *t) {
  const et_trace_info *in = et_trace_get_info(t);
  touch_str(in->exe);
  touch_str(in->cmdline);
  for (size_t i = 0; i < et_trace_warning_count(t); i++) {
    CHECK(et_trace_warning(t, i) != NULL);
    touch_str(et_trace_warning(t, i));
  }
  CHECK(et_trace_warning(t, et_trace_warning_count(t)) == NULL);

  walk w = {t, 0};
  CHECK(et_trace_for_each(t, on_event, &w) == 0);
  CHECK(w.n == in->events);
  int calls = 0;
  int r = et_trace_for_each(t, stop_early, &calls);
  CHECK(r == (in->events >= 3 ? 7 : 0));

  uint64_t sum = 0;
  size_t nthreads = et_trace_thread_count(t);
  for (size_t i = 0; i < nthreads; i++) {
    const et_thread_info *th = et_trace_thread(t, i);
    CHECK(th != NULL && th->name != NULL);
    touch_str(th->name);
    sum += th->events;
    et_cursor c;
    et_cursor_init(&c, t, i);
    et_event ev;
    uint64_t n = 0;
    while (et_cursor_next(&c, &ev)) {
      CHECK(ev.tid == th->tid);
      touch_event(t, &ev);
      n++;
    }
    CHECK(n == th->events);
    const et_span *sp;
    size_t ns = et_trace_spans(t, i, &sp);
    CHECK(ns == 0 || sp != NULL);
    for (size_t k = 0; k < ns; k++) {
      CHECK(sp[k].state > 0 && sp[k].state < ET_STATE_COUNT);
      touch_str(et_state_name(sp[k].state));
      touch_str(sp[k].state == ET_STATE_SYSCALL ? et_fdclass_name(sp[k].reason)
                                                : et_reason_name(sp[k].reason));
      touch_stack(t, sp[k].stack);
    }
  }
  CHECK(sum == in->events);
  CHECK(et_trace_thread(t, nthreads) == NULL);
  et_cursor c;
  et_cursor_init(&c, t, nthreads);
  et_event ev;
  CHECK(!et_cursor_next(&c, &ev));

  /* Processes: at least one; every thread in exactly one, as it says. */
  size_t nprocs = et_trace_process_count(t), listed = 0;
  uint64_t pevents = 0;
  CHECK(nprocs >= 1);
  for (size_t i = 0; i < nprocs; i++) {
    const et_process_info *p = et_trace_process(t, i);
    CHECK(p != NULL && p->name != NULL && p->host != NULL);
    touch_str(p->name);
    touch_str(p->host);
    CHECK(p->nthreads == 0 || p->threads != NULL);
    for (size_t k = 0; k < p->nthreads; k++) {
      CHECK(p->threads[k] < nthreads && (k == 0 || p->threads[k] > p->threads[k - 1]));
      const et_thread_info *th = et_trace_thread(t, p->threads[k]);
      CHECK(th->process == i && th->pid == p->pid);
    }
    CHECK(p->nmappings == 0 || p->mappings != NULL);
    for (size_t k = 0; k < p->nmappings; k++) {
      CHECK(p->mappings[k].path != NULL && p->mappings[k].start <= p->mappings[k].limit);
      touch_str(p->mappings[k].path);
      touch(p->mappings[k].build_id, p->mappings[k].build_id_len);
    }
    listed += p->nthreads;
    pevents += p->events;
  }
  CHECK(et_trace_process(t, nprocs) == NULL);
  CHECK(listed == nthreads && pevents == in->events);

  for (size_t i = 0; i < et_trace_task_count(t); i++) {
    const et_task *k = et_trace_task(t, i);
    CHECK(k != NULL && k->type != NULL);
    touch_str(k->type);
  }
  for (size_t i = 0; i < et_trace_mapping_count(t); i++) {
    const et_mapping *m = et_trace_mapping(t, i);
    CHECK(m != NULL && m->path != NULL && m->start <= m->limit);
    touch_str(m->path);
    touch(m->build_id, m->build_id_len);
  }
  size_t defined = 0;
  uint64_t last = 0;
  for (uint64_t id = et_trace_stack_next(t, 0); id != 0; id = et_trace_stack_next(t, id)) {
    const uint64_t *frames;
    CHECK(id > last);
    last = id;
    CHECK(et_trace_stack(t, id, &frames) != 0);
    defined++;
  }
  CHECK(defined == et_trace_stack_count(t));
  touch_stack(t, last + 1);
  touch_stack(t, UINT64_MAX);
  touch_str(et_trace_string(t, UINT64_MAX));
  uint64_t kinds = 0;
  for (unsigned k = 0; k < 260; k++) {
    const char *name = et_trace_kind_name(t, k);
    kinds += et_trace_kind_count(t, k);
    for (unsigned f = 0; f < 6; f++) {
      touch_str(et_trace_field_name(t, k, f));
      sink += (uint64_t)et_trace_field_type(t, k, f);
    }
    if (name) CHECK(et_trace_kind_by_name(t, name) >= 0);
  }
  CHECK(kinds == in->events);
}

typedef struct streamed {
  uint64_t n;
  size_t warnings;
} streamed;

static int on_stream_event(void *arg, const et_trace *t, const et_event *ev) {
  streamed *s = arg;
  touch_event(t, ev);
  s->n++;
  return 0;
}

static void on_stream_warning(void *arg, const char *msg) {
  streamed *s = arg;
  CHECK(msg != NULL);
  touch_str(msg);
  s->warnings++;
}

static int memfd = -1;
static char memfd_path[64];

/* Returns the stream reader's result on the same bytes, or 1 if the memfd
 * could not be prepared (then nothing is compared). */
static int stream(const uint8_t *data, size_t size, streamed *s) {
  if (memfd < 0) {
    memfd = memfd_create("fuzz_reader", MFD_CLOEXEC);
    if (memfd < 0) return 1;
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
  }
  if (ftruncate(memfd, 0) != 0) return 1;
  size_t done = 0;
  while (done < size) {
    ssize_t w = pwrite(memfd, data + done, size - done, (off_t)done);
    if (w <= 0) return 1;
    done += (size_t)w;
  }
  static const et_stream_handlers h = {on_stream_event, on_stream_warning};
  return et_trace_stream(memfd_path, &h, s);
}

/* A copy of the input whose chunks, followed from the file header by their
 * lengths, carry valid checksums; NULL if that changes nothing. */
static uint8_t *resealed(const uint8_t *data, size_t size) {
  uint8_t *p = NULL;
  size_t off = ET_FILE_HEADER_LEN;
  while (size >= off && size - off >= ET_CHUNK_HEADER_LEN &&
         memcmp(data + off, ET_CHUNK_MAGIC, 4) == 0) {
    size_t len = et__get_u32le(data + off + 8);
    if (len > size - off - ET_CHUNK_HEADER_LEN) break;
    uint8_t h[16];
    memcpy(h, data + off, 12);
    et__put_u32le(h + 12, (uint32_t)crc32(0L, data + off + ET_CHUNK_HEADER_LEN, (uInt)len));
    uint32_t hcrc = (uint32_t)crc32(0L, h, 16);
    if (memcmp(h + 12, data + off + 12, 4) != 0 || et__get_u32le(data + off + 16) != hcrc) {
      if (!p) {
        p = malloc(size);
        if (!p) return NULL;
        memcpy(p, data, size);
      }
      memcpy(p + off + 12, h + 12, 4);
      et__put_u32le(p + off + 16, hcrc);
    }
    off += ET_CHUNK_HEADER_LEN + len;
  }
  return p;
}

static void one_input(const uint8_t *data, size_t size) {
  et_trace *t = NULL;
  int r = et_trace_open_mem(data, size, &t);
  CHECK(r == 0 || r == ET_E_FORMAT || r == ET_E_VERSION);
  CHECK((r == 0) == (t != NULL));
  uint64_t events = 0;
  if (t) {
    exercise(t);
    events = et_trace_get_info(t)->events;
    et_trace_close(t);
  }
  streamed s = {0, 0};
  int sr = stream(data, size, &s);
  if (sr != 1) {
    CHECK(sr == r);
    if (r == 0) CHECK(s.n == events);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  one_input(data, size);
  uint8_t *fixed = resealed(data, size);
  if (fixed) {
    one_input(fixed, size);
    free(fixed);
  }
  return 0;
}

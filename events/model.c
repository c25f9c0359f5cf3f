/* The trace model: loading a trace, deriving each thread's states, and the
 * reader API's accessors.
 *
 * Loading maps the file, indexes every chunk (scan.c), orders each thread's
 * chunks by sequence number (reporting gaps), then makes one pass over each
 * thread's events in time order to count them and derive state spans.  Two
 * cross-thread steps follow: wakes split the woken thread's wait into a
 * blocked part and a runnable part (scheduler latency, charged to the
 * waker's stack), and stop-the-world pauses turn other threads' running
 * time into GC time.  The events themselves stay encoded in the mapped file
 * (about 6 bytes each) and are decoded on demand by cursors; the model adds
 * 16 bytes per state span.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_internal.h"

/* ---- small u64 map ---- */

static bool map_grow(et__u64map *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  uint64_t *k = calloc(cap, sizeof *k), *v = calloc(cap, sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return false;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = (m->keys[i] * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
    while (k[j]) j = (j + 1) & (cap - 1);
    k[j] = m->keys[i];
    v[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = k;
  m->vals = v;
  m->cap = cap;
  return true;
}

bool et__map_put(et__u64map *m, uint64_t key, uint64_t val) {
  if ((m->n + 1) * 2 > m->cap && !map_grow(m)) return false;
  uint64_t k1 = key + 1;
  size_t j = (k1 * 0x9e3779b97f4a7c15ull >> 20) & (m->cap - 1);
  while (m->keys[j] && m->keys[j] != k1) j = (j + 1) & (m->cap - 1);
  if (!m->keys[j]) m->n++;
  m->keys[j] = k1;
  m->vals[j] = val;
  return true;
}

bool et__map_get(const et__u64map *m, uint64_t key, uint64_t *val) {
  if (!m->cap) return false;
  uint64_t k1 = key + 1;
  size_t j = (k1 * 0x9e3779b97f4a7c15ull >> 20) & (m->cap - 1);
  while (m->keys[j]) {
    if (m->keys[j] == k1) {
      *val = m->vals[j];
      return true;
    }
    j = (j + 1) & (m->cap - 1);
  }
  return false;
}

void et__map_free(et__u64map *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

size_t et__thread_of(et_trace *t, uint64_t tid) {
  uint64_t idx;
  if (et__map_get(&t->tid_index, tid, &idx)) return (size_t)idx;
  if (!ET_VEC_GROW(t->threads, t->nthreads, t->capthreads)) return SIZE_MAX;
  if (!et__map_put(&t->tid_index, tid, t->nthreads)) return SIZE_MAX;
  et__mthread *th = &t->threads[t->nthreads];
  memset(th, 0, sizeof *th);
  th->info.tid = tid;
  th->info.name = "";
  return t->nthreads++;
}

/* ---- loading ---- */

static et_trace *trace_new(void) {
  et_trace *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  memcpy(t->kinds, et__kinds, sizeof t->kinds);
  for (unsigned k = 0; k < ET_EV_LIMIT; k++) t->known[k] = et__kinds[k].name != NULL;
  t->syncs_sorted = true;
  t->info.exe = "";
  t->info.cmdline = "";
  return t;
}

void et_trace_close(et_trace *t) {
  if (!t) return;
  if (t->mapped) munmap(t->data, t->len);
  else free(t->data);
  for (size_t i = 0; i < t->nthreads; i++) {
    for (unsigned s = 0; s < ET_STREAM_COUNT; s++) free(t->threads[i].st[s].refs);
    free(t->threads[i].spans);
  }
  free(t->threads);
  et__map_free(&t->tid_index);
  free(t->strs);
  free(t->frames);
  free(t->stack_off);
  free(t->maps);
  free(t->syncs);
  free(t->tasks);
  free(t->warnings);
  for (size_t i = 0; i < t->nblocks; i++) free(t->blocks[i]);
  free(t->blocks);
  free(t);
}

static int load(et_trace *t) {
  int r = et__check_header(t, t->data, t->len, true);
  if (r != 0) return r;
  if (t->len >= ET_FILE_HEADER_LEN) et__scan(t, t->data, t->len, ET_FILE_HEADER_LEN, true);
  else if (t->len == 0) et__warn(t, "the trace is empty");
  t->info.bytes = t->len;
  return et__build(t);
}

static int read_all(int fd, uint8_t **data, size_t *len) {
  size_t cap = 1 << 20, n = 0;
  uint8_t *b = malloc(cap);
  if (!b) return -ENOMEM;
  for (;;) {
    if (n == cap) {
      uint8_t *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        return -ENOMEM;
      }
      b = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, b + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = -errno;
      free(b);
      return err;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  *data = b;
  *len = n;
  return 0;
}

int et_trace_open(const char *path, et_trace **out) {
  *out = NULL;
  et_trace *t = trace_new();
  if (!t) return -ENOMEM;
  int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = -errno;
    et_trace_close(t);
    return err;
  }
  struct stat st;
  int err = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (m == MAP_FAILED) err = -errno;
    else {
      t->data = m;
      t->len = (size_t)st.st_size;
      t->mapped = true;
      madvise(m, t->len, MADV_SEQUENTIAL);
    }
  } else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    err = -EISDIR;
  } else {
    err = read_all(fd, &t->data, &t->len);
  }
  if (fd != 0) close(fd);
  if (!err) err = load(t);
  if (err) {
    et_trace_close(t);
    return err;
  }
  *out = t;
  return 0;
}

int et_trace_open_mem(const void *data, size_t len, et_trace **out) {
  *out = NULL;
  et_trace *t = trace_new();
  if (!t) return -ENOMEM;
  t->data = malloc(len ? len : 1);
  if (!t->data) {
    et_trace_close(t);
    return -ENOMEM;
  }
  if (len) memcpy(t->data, data, len);
  t->len = len;
  int err = load(t);
  if (err) {
    et_trace_close(t);
    return err;
  }
  *out = t;
  return 0;
}

int et_trace_stream(const char *path, const et_stream_handlers *h, void *arg) {
  et_trace *t = trace_new();
  if (!t) return -ENOMEM;
  t->stream = h;
  t->stream_arg = arg;
  int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = -errno;
    et_trace_close(t);
    return err;
  }
  size_t cap = 1 << 20, have = 0, off = 0;
  uint8_t *b = malloc(cap);
  int err = b ? 0 : -ENOMEM;
  bool header = false, eof = false;
  while (!err && !eof && !t->stream_stop) {
    if (have == cap) { /* a chunk larger than the buffer: grow */
      if (off > 0) {
        memmove(b, b + off, have - off);
        have -= off;
        off = 0;
      } else {
        uint8_t *nb = cap < ET_CHUNK_MAX_PAYLOAD * 2u ? realloc(b, cap * 2) : NULL;
        if (!nb) {
          err = -ENOMEM;
          break;
        }
        b = nb;
        cap *= 2;
      }
    }
    ssize_t r = read(fd, b + have, cap - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      err = -errno;
      break;
    }
    if (r == 0) eof = true;
    have += (size_t)r;
    t->info.bytes += (size_t)r;
    if (!header) {
      int hr = et__check_header(t, b, have, eof);
      if (hr < 0) {
        err = hr;
        break;
      }
      if (hr == 1) continue;
      header = true;
      off = have < ET_FILE_HEADER_LEN ? have : ET_FILE_HEADER_LEN;
      if (have == 0) et__warn(t, "the trace is empty");
    }
    off = et__scan(t, b, have, off, eof);
    if (off > cap / 2) {
      memmove(b, b + off, have - off);
      have -= off;
      off = 0;
    }
  }
  free(b);
  if (fd != 0) close(fd);
  et_trace_close(t);
  return err;
}

/* ---- building the model ---- */

/* qsort, which must not be given a NULL array even when it is empty. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  if (n > 1) qsort(base, n, size, cmp);
}

static int cmp_ref(const void *a, const void *b) {
  const et__ref *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

typedef struct blocked {
  uint64_t obj, begin, end;
  uint32_t thread;
  uint32_t span;  /* index of the BLOCKED span */
  bool woken;
} blocked;

typedef struct wake {
  uint64_t time, target, obj;
  uint32_t stack;
} wake;

typedef struct cut {
  uint32_t thread, span;
  uint64_t time;
  uint32_t stack;
} cut;

typedef struct stw {
  uint64_t begin, end, tid;
} stw;

typedef struct builder {
  et_trace *t;
  blocked *blk;
  size_t nblk, capblk;
  wake *wakes;
  size_t nwakes, capwakes;
  stw *stws;
  size_t nstws, capstws;
  et__u64map task_index;
  bool oom;
} builder;

typedef struct frame {
  uint8_t state, reason;
  uint32_t stack;
  uint64_t obj, begin;
  uint32_t span;
} frame;

#define MAX_DEPTH 16

static void add_span(builder *b, et__mthread *th, uint64_t time, uint8_t state, uint8_t reason,
                     uint32_t stack) {
  if (th->nspans) {
    et_span *last = &th->spans[th->nspans - 1];
    if (last->state == state && last->reason == reason && last->stack == stack) return;
    if (last->start == time) { /* zero-length: replace */
      last->state = state;
      last->reason = reason;
      last->stack = stack;
      if (th->nspans > 1) {
        et_span *prev = &th->spans[th->nspans - 2];
        if (prev->state == state && prev->reason == reason && prev->stack == stack) th->nspans--;
      }
      return;
    }
  }
  if (!ET_VEC_GROW(th->spans, th->nspans, th->capspans)) {
    b->oom = true;
    return;
  }
  th->spans[th->nspans++] = (et_span){time, stack, state, reason, 0};
}

/* Merged time-ordered iteration over a thread's two streams. */
typedef struct merged {
  et__iter it[ET_STREAM_COUNT];
  et_event ev[ET_STREAM_COUNT];
  bool have[ET_STREAM_COUNT];
} merged;

_Static_assert(sizeof(merged) <= sizeof(et_cursor), "et_cursor is too small");

static void merged_init(merged *m, const et_trace *t, size_t ti) {
  const et__mthread *th = &t->threads[ti];
  for (unsigned s = 0; s < ET_STREAM_COUNT; s++) {
    et__iter_init(&m->it[s], t, &th->st[s], th->info.tid, (uint8_t)s);
    m->have[s] = et__iter_next(&m->it[s], &m->ev[s]);
  }
}

static bool merged_next(merged *m, et_event *ev) {
  int pick = -1;
  for (unsigned s = 0; s < ET_STREAM_COUNT; s++)
    if (m->have[s] && (pick < 0 || m->ev[s].time < m->ev[pick].time)) pick = (int)s;
  if (pick < 0) return false;
  *ev = m->ev[pick];
  m->have[pick] = et__iter_next(&m->it[pick], &m->ev[pick]);
  return true;
}

static void task_event(builder *b, const et_event *ev) {
  et_trace *t = b->t;
  if (ev->kind == ET_EV_TASK_BEGIN) {
    if (!ET_VEC_GROW(t->tasks, t->ntasks, t->captasks) ||
        !et__map_put(&b->task_index, ev->field[0], t->ntasks)) {
      b->oom = true;
      return;
    }
    const char *type = et_trace_string(t, ev->field[2]);
    t->tasks[t->ntasks++] = (et_task){ev->field[0], ev->field[1], type ? type : "", ev->time,
                                      UINT64_MAX, ev->tid};
  } else {
    uint64_t idx;
    if (et__map_get(&b->task_index, ev->field[0], &idx)) t->tasks[idx].end = ev->time;
  }
}

static void thread_pass(builder *b, size_t ti) {
  et_trace *t = b->t;
  et__mthread *th = &t->threads[ti];
  for (unsigned s = 0; s < ET_STREAM_COUNT; s++) {
    et__mstream *st = &th->st[s];
    sort(st->refs, st->n, sizeof *st->refs, cmp_ref);
    for (size_t i = 1; i < st->n; i++) {
      uint64_t a = st->refs[i - 1].seq, c = st->refs[i].seq;
      if (c == a) et__warn(t, "thread %llu: chunk %llu appears twice", (unsigned long long)th->info.tid,
                           (unsigned long long)c);
      else if (c != a + 1)
        et__warn(t, "thread %llu: %llu chunk(s) of its events are missing (sequence %llu..%llu)",
                 (unsigned long long)th->info.tid, (unsigned long long)(c - a - 1),
                 (unsigned long long)(a + 1), (unsigned long long)(c - 1));
    }
    if (st->n && st->refs[0].seq != 0 && s == ET_STREAM_MAIN && !t->info.complete)
      (void)0; /* a capture may start mid-stream; not a loss by itself */
  }
  frame stack[MAX_DEPTH];
  unsigned depth = 0;
  bool first = true, exited = false;
  merged m;
  merged_init(&m, t, ti);
  et_event ev;
  while (merged_next(&m, &ev)) {
    th->info.events++;
    t->kind_count[ev.kind]++;
    if (first) {
      th->info.first = ev.time;
      first = false;
      stack[0] = (frame){ET_STATE_RUNNING, 0, 0, 0, ev.time, 0};
      depth = 1;
      add_span(b, th, ev.time, ET_STATE_RUNNING, 0, 0);
    }
    th->info.last = ev.time;
    if (!t->known[ev.kind]) continue;
    switch (ev.kind) {
      case ET_EV_THREAD_START:
        if (ev.field[0]) th->info.parent = ev.field[0];
        break;
      case ET_EV_THREAD_NAME: th->name_id = ev.field[0]; break;
      case ET_EV_THREAD_EXIT: exited = true; break;
      case ET_EV_BLOCK_BEGIN:
      case ET_EV_SYSCALL_BEGIN: {
        if (depth >= MAX_DEPTH) break;
        bool blk = ev.kind == ET_EV_BLOCK_BEGIN;
        frame f = {blk ? ET_STATE_BLOCKED : ET_STATE_SYSCALL,
                   (uint8_t)(blk ? ev.field[0] : ev.field[2]), ev.stack, blk ? ev.field[1] : 0,
                   ev.time, 0};
        add_span(b, th, ev.time, f.state, f.reason, f.stack);
        f.span = th->nspans ? (uint32_t)(th->nspans - 1) : 0;
        stack[depth++] = f;
        break;
      }
      case ET_EV_BLOCK_END:
      case ET_EV_SYSCALL_END: {
        uint8_t want = ev.kind == ET_EV_BLOCK_END ? ET_STATE_BLOCKED : ET_STATE_SYSCALL;
        if (depth < 2 || stack[depth - 1].state != want) break; /* began before the trace */
        frame f = stack[--depth];
        if (want == ET_STATE_BLOCKED) {
          if (ET_VEC_GROW(b->blk, b->nblk, b->capblk))
            b->blk[b->nblk++] = (blocked){f.obj, f.begin, ev.time, (uint32_t)ti, f.span, false};
          else b->oom = true;
        }
        frame *top = &stack[depth - 1];
        add_span(b, th, ev.time, top->state, top->reason, top->stack);
        break;
      }
      case ET_EV_WAKE:
        if (ET_VEC_GROW(b->wakes, b->nwakes, b->capwakes))
          b->wakes[b->nwakes++] = (wake){ev.time, ev.field[0], ev.field[1], ev.stack};
        else b->oom = true;
        break;
      case ET_EV_STW_BEGIN:
        if (ET_VEC_GROW(b->stws, b->nstws, b->capstws))
          b->stws[b->nstws++] = (stw){ev.time, UINT64_MAX, th->info.tid};
        break;
      case ET_EV_STW_END:
        for (size_t i = b->nstws; i-- > 0;)
          if (b->stws[i].tid == th->info.tid && b->stws[i].end == UINT64_MAX) {
            b->stws[i].end = ev.time;
            break;
          }
        break;
      case ET_EV_TASK_BEGIN:
      case ET_EV_TASK_END: task_event(b, &ev); break;
      case ET_EV_THREAD_CREATE: {
        uint64_t ci;
        if (et__map_get(&t->tid_index, ev.field[0], &ci)) t->threads[ci].info.parent = th->info.tid;
        break;
      }
      case ET_EV_DROP:
        th->info.dropped += ev.field[0];
        t->event_drops += ev.field[0];
        break;
      default: break;
    }
  }
  (void)exited;
  if (th->end_lost > th->info.dropped) th->info.dropped = th->end_lost;
  const char *name = th->name_id ? et_trace_string(t, th->name_id) : NULL;
  th->info.name = name ? name : "";
}

static int cmp_blk(const void *a, const void *b) {
  const blocked *x = a, *y = b;
  if (x->obj != y->obj) return x->obj < y->obj ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static int cmp_cut(const void *a, const void *b) {
  const cut *x = a, *y = b;
  if (x->thread != y->thread) return x->thread < y->thread ? -1 : 1;
  if (x->span != y->span) return x->span < y->span ? -1 : 1;
  return x->time < y->time ? -1 : x->time > y->time;
}

static int cmp_stw(const void *a, const void *b) {
  const stw *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* The span of thread th containing time, or SIZE_MAX. */
static size_t span_at(const et__mthread *th, uint64_t time) {
  size_t lo = 0, hi = th->nspans;
  if (!hi || th->spans[0].start > time) return SIZE_MAX;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (th->spans[mid].start <= time) lo = mid;
    else hi = mid;
  }
  return lo;
}

/* Applies wake cuts and stop-the-world pauses to one thread's spans. */
static void rebuild(builder *b, size_t ti, const cut *cuts, size_t ncuts, const stw *stws,
                    size_t nstws) {
  et__mthread *th = &b->t->threads[ti];
  if (ncuts == 0 && nstws == 0) return;
  et_span *old = th->spans;
  size_t n = th->nspans;
  th->spans = NULL;
  th->nspans = th->capspans = 0;
  size_t c = 0, w = 0;
  for (size_t i = 0; i < n; i++) {
    et_span s = old[i];
    uint64_t end = i + 1 < n ? old[i + 1].start : th->info.last;
    if (s.state == ET_STATE_RUNNING && nstws) {
      /* Pieces of this running span under pauses become GC. */
      uint64_t at = s.start;
      while (w < nstws && stws[w].end <= at) w++;
      for (size_t k = w; k < nstws && stws[k].begin < end; k++) {
        if (stws[k].tid == th->info.tid) continue;
        uint64_t gb = stws[k].begin > at ? stws[k].begin : at;
        uint64_t ge = stws[k].end < end ? stws[k].end : end;
        if (ge <= gb) continue;
        add_span(b, th, at, ET_STATE_RUNNING, 0, 0);
        add_span(b, th, gb, ET_STATE_GC, 0, 0);
        at = ge;
      }
      add_span(b, th, at, ET_STATE_RUNNING, 0, 0);
      continue;
    }
    add_span(b, th, s.start, s.state, s.reason, s.stack);
    while (c < ncuts && cuts[c].span < i) c++;
    if (c < ncuts && cuts[c].span == i) {
      add_span(b, th, cuts[c].time, ET_STATE_RUNNABLE, s.reason, cuts[c].stack);
      while (c < ncuts && cuts[c].span == i) c++;
    }
  }
  free(old);
}

static void apply_wakes_and_pauses(builder *b) {
  et_trace *t = b->t;
  cut *cuts = NULL;
  size_t ncuts = 0, capcuts = 0;
  sort(b->blk, b->nblk, sizeof *b->blk, cmp_blk);
  for (size_t i = 0; i < b->nwakes; i++) {
    const wake *wk = &b->wakes[i];
    uint32_t thread = UINT32_MAX, span = 0;
    if (wk->target) {
      uint64_t ti;
      if (!et__map_get(&t->tid_index, wk->target, &ti)) continue;
      size_t si = span_at(&t->threads[ti], wk->time);
      if (si == SIZE_MAX || t->threads[ti].spans[si].state != ET_STATE_BLOCKED) continue;
      thread = (uint32_t)ti;
      span = (uint32_t)si;
    } else {
      /* One waiter of the object: the one blocked at the wake whose wait ends first. */
      size_t lo = 0, hi = b->nblk;
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (b->blk[mid].obj < wk->obj || (b->blk[mid].obj == wk->obj && b->blk[mid].end <= wk->time))
          lo = mid + 1;
        else hi = mid;
      }
      for (size_t k = lo, seen = 0; k < b->nblk && b->blk[k].obj == wk->obj && seen < 64; k++, seen++)
        if (!b->blk[k].woken && b->blk[k].begin <= wk->time) {
          b->blk[k].woken = true;
          thread = b->blk[k].thread;
          span = b->blk[k].span;
          break;
        }
      if (thread == UINT32_MAX) continue;
    }
    if (!ET_VEC_GROW(cuts, ncuts, capcuts)) {
      b->oom = true;
      break;
    }
    cuts[ncuts++] = (cut){thread, span, wk->time, wk->stack};
  }
  sort(cuts, ncuts, sizeof *cuts, cmp_cut);
  for (size_t i = 0; i < b->nstws; i++)
    if (b->stws[i].end == UINT64_MAX) b->stws[i].end = b->stws[i].begin; /* never ended */
  sort(b->stws, b->nstws, sizeof *b->stws, cmp_stw);
  size_t c = 0;
  for (size_t ti = 0; ti < t->nthreads; ti++) {
    size_t c0 = c;
    while (c < ncuts && cuts[c].thread == ti) c++;
    rebuild(b, ti, cuts + c0, c - c0, b->stws, b->nstws);
  }
  free(cuts);
}

int et__build(et_trace *t) {
  et__sort_syncs(t);
  builder b = {.t = t};
  for (size_t ti = 0; ti < t->nthreads; ti++) thread_pass(&b, ti);
  apply_wakes_and_pauses(&b);
  uint64_t last = 0;
  for (size_t ti = 0; ti < t->nthreads; ti++) {
    t->info.events += t->threads[ti].info.events;
    if (t->threads[ti].info.events && t->threads[ti].info.last > last)
      last = t->threads[ti].info.last;
  }
  if (t->nsyncs) {
    uint64_t end_sync = t->syncs[t->nsyncs - 1].ns - t->info.start_ns;
    if (end_sync > last) last = end_sync;
  }
  t->info.duration_ns = last;
  t->info.dropped = t->end_drops > t->event_drops ? t->end_drops : t->event_drops;
  if (!t->info.complete && t->len >= ET_FILE_HEADER_LEN)
    et__warn(t, "the trace has no END record: it was cut short or the program died; "
                "events after the last intact chunk are lost");
  if (t->info.dropped)
    et__warn(t, "the tracer dropped %llu event(s) (buffers full or nested signals)",
             (unsigned long long)t->info.dropped);
  if (b.oom) et__warn(t, "out of memory while building the model: some states are missing");
  free(b.blk);
  free(b.wakes);
  free(b.stws);
  et__map_free(&b.task_index);
  return 0;
}

/* ---- accessors ---- */

const et_trace_info *et_trace_get_info(const et_trace *t) { return &t->info; }

size_t et_trace_warning_count(const et_trace *t) { return t->nwarnings; }

const char *et_trace_warning(const et_trace *t, size_t i) {
  return i < t->nwarnings ? t->warnings[i] : NULL;
}

const char *et_trace_kind_name(const et_trace *t, unsigned kind) {
  return kind < ET_EV_LIMIT ? t->kinds[kind].name : NULL;
}

unsigned et_trace_field_count(const et_trace *t, unsigned kind) {
  return kind < ET_EV_LIMIT && t->kinds[kind].name ? t->kinds[kind].nfields : 0;
}

const char *et_trace_field_name(const et_trace *t, unsigned kind, unsigned f) {
  return f < et_trace_field_count(t, kind) ? t->kinds[kind].fname[f] : NULL;
}

int et_trace_field_type(const et_trace *t, unsigned kind, unsigned f) {
  return f < et_trace_field_count(t, kind) ? t->kinds[kind].ftype[f] : 0;
}

uint64_t et_trace_kind_count(const et_trace *t, unsigned kind) {
  return kind < ET_EV_LIMIT ? t->kind_count[kind] : 0;
}

int et_trace_kind_by_name(const et_trace *t, const char *name) {
  for (unsigned k = 0; k < ET_EV_LIMIT; k++)
    if (t->kinds[k].name && strcmp(t->kinds[k].name, name) == 0) return (int)k;
  return -1;
}

const char *et_trace_string(const et_trace *t, uint64_t id) {
  return id < t->nstrs ? t->strs[id] : NULL;
}

size_t et_trace_stack(const et_trace *t, uint64_t id, const uint64_t **frames) {
  if (id == 0 || id >= t->nstacks || t->stack_off[id] == 0) {
    *frames = NULL;
    return 0;
  }
  *frames = t->frames + (t->stack_off[id] >> 8);
  return (size_t)(t->stack_off[id] & 0xff);
}

size_t et_trace_stack_count(const et_trace *t) { return t->stacks_defined; }

uint64_t et_trace_stack_id_limit(const et_trace *t) { return t->nstacks; }

size_t et_trace_mapping_count(const et_trace *t) { return t->nmaps; }

const et_mapping *et_trace_mapping(const et_trace *t, size_t i) {
  return i < t->nmaps ? &t->maps[i] : NULL;
}

size_t et_trace_thread_count(const et_trace *t) { return t->nthreads; }

const et_thread_info *et_trace_thread(const et_trace *t, size_t i) {
  return i < t->nthreads ? &t->threads[i].info : NULL;
}

size_t et_trace_spans(const et_trace *t, size_t i, const et_span **spans) {
  if (i >= t->nthreads) {
    *spans = NULL;
    return 0;
  }
  *spans = t->threads[i].spans;
  return t->threads[i].nspans;
}

const char *et_state_name(unsigned state) {
  static const char *const names[ET_STATE_COUNT] = {
      [0] = "none", [ET_STATE_RUNNING] = "running", [ET_STATE_RUNNABLE] = "runnable",
      [ET_STATE_BLOCKED] = "blocked", [ET_STATE_SYSCALL] = "syscall", [ET_STATE_GC] = "gc"};
  return state < ET_STATE_COUNT ? names[state] : "unknown";
}

const char *et_reason_name(unsigned reason) { return et__block_reason_name(reason); }
const char *et_fdclass_name(unsigned c) { return et__fd_class_name(c); }
const char *et_drop_reason_name(unsigned r) { return et__drop_reason_name(r); }

size_t et_trace_task_count(const et_trace *t) { return t->ntasks; }

const et_task *et_trace_task(const et_trace *t, size_t i) {
  return i < t->ntasks ? &t->tasks[i] : NULL;
}

void et_cursor_init(et_cursor *c, const et_trace *t, size_t thread) {
  merged *m = (merged *)(void *)c;
  if (thread >= t->nthreads) {
    memset(m, 0, sizeof *m);
    return;
  }
  merged_init(m, t, thread);
}

bool et_cursor_next(et_cursor *c, et_event *ev) { return merged_next((merged *)(void *)c, ev); }

int et_trace_for_each(const et_trace *t, int (*fn)(void *arg, const et_event *ev), void *arg) {
  /* A k-way merge of the threads' cursors through a binary heap. */
  size_t n = t->nthreads, hn = 0;
  merged *ms = calloc(n ? n : 1, sizeof *ms);
  et_event *evs = calloc(n ? n : 1, sizeof *evs);
  size_t *heap = calloc(n ? n : 1, sizeof *heap);
  int r = 0;
  if (!ms || !evs || !heap) {
    r = -ENOMEM;
    goto out;
  }
#define LESS(a, b) (evs[a].time < evs[b].time || (evs[a].time == evs[b].time && (a) < (b)))
  for (size_t i = 0; i < n; i++) {
    merged_init(&ms[i], t, i);
    if (!merged_next(&ms[i], &evs[i])) continue;
    size_t k = hn++;
    heap[k] = i;
    while (k > 0 && LESS(heap[k], heap[(k - 1) / 2])) {
      size_t p = (k - 1) / 2, tmp = heap[k];
      heap[k] = heap[p];
      heap[p] = tmp;
      k = p;
    }
  }
  while (hn > 0) {
    size_t i = heap[0];
    if ((r = fn(arg, &evs[i])) != 0) break;
    if (!merged_next(&ms[i], &evs[i])) heap[0] = heap[--hn];
    size_t k = 0;
    for (;;) {
      size_t l = 2 * k + 1, rr = l + 1, s = k;
      if (l < hn && LESS(heap[l], heap[s])) s = l;
      if (rr < hn && LESS(heap[rr], heap[s])) s = rr;
      if (s == k) break;
      size_t tmp = heap[k];
      heap[k] = heap[s];
      heap[s] = tmp;
      k = s;
    }
  }
#undef LESS
out:
  free(ms);
  free(evs);
  free(heap);
  return r;
}

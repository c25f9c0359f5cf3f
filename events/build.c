/* Deriving the model from the indexed chunks: counts, state spans, wakes,
 * pauses and tasks.
 *
 * Each thread's events are read once, in time order, by a state machine
 * that keeps a small stack of states (running; in a system call; blocked on
 * a reason) and appends a 16-byte span at each change.  Threads are
 * independent in that pass, so it runs on up to one worker per core, each
 * collecting what needs the whole trace (finished waits, wakes, pauses, task
 * begins and ends, thread creations) in its own vectors.  The serial steps
 * after it join those: a wake splits the woken thread's wait into a blocked
 * part and a runnable part (scheduler latency, charged to the waker's
 * stack), a stop-the-world pause turns other threads' running time into GC
 * time, and task ends find their begins.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "model_internal.h"

#define MAX_WORKERS 8
/* Threads are dealt to a fixed number of parts by index, whatever the
 * number of cores, so the model (which wake matches which wait) never
 * depends on the machine or on scheduling. */
#define NPARTS 8
#define MAX_DEPTH 16

/* qsort, which must not be given a NULL array even when it is empty. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  if (n > 1) qsort(base, n, size, cmp);
}

/* Stable LSD radix sort of n elements of size bytes by the 64-bit key at
 * key_off, a byte a pass.  One read counts all eight digits, and passes in
 * which every key has the same digit (the high bytes of times and
 * addresses) are skipped: waits and wakes number in the millions, where
 * qsort's callback dominated the load.  tmp holds n elements.  Returns the
 * array that holds the result (base or tmp). */
static void *radix_sort(void *base, void *tmp, size_t n, size_t size, size_t key_off) {
  size_t count[8][256];
  memset(count, 0, sizeof count);
  unsigned char *src = base, *dst = tmp;
  for (size_t i = 0; i < n; i++) {
    uint64_t k;
    memcpy(&k, src + i * size + key_off, sizeof k);
    for (unsigned d = 0; d < 8; d++) count[d][(k >> (8 * d)) & 0xff]++;
  }
  for (unsigned d = 0; d < 8 && n > 0; d++) {
    uint64_t k0;
    memcpy(&k0, src + key_off, sizeof k0);
    if (count[d][(k0 >> (8 * d)) & 0xff] == n) continue; /* one digit for all */
    size_t first = 0;
    for (unsigned v = 0; v < 256; v++) {
      size_t c = count[d][v];
      count[d][v] = first;
      first += c;
    }
    for (size_t i = 0; i < n; i++) {
      uint64_t k;
      memcpy(&k, src + i * size + key_off, sizeof k);
      memcpy(dst + count[d][(k >> (8 * d)) & 0xff]++ * size, src + i * size, size);
    }
    unsigned char *t = src;
    src = dst;
    dst = t;
  }
  return src;
}

static int cmp_ref(const void *a, const void *b) {
  const et__ref *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A finished wait, for matching wakes of its object. */
typedef struct blocked {
  uint64_t obj, begin, end;
  uint32_t thread;
  uint32_t span; /* index of the BLOCKED span; the top bit marks it woken */
} blocked;

#define BLK_WOKEN 0x80000000u

typedef struct wake {
  uint64_t time, target, obj;
  uint32_t stack;
} wake;

typedef struct cut {
  uint32_t thread, span;
  uint64_t time;
  uint64_t key; /* (thread << 32) | span, for sorting */
  uint32_t stack;
} cut;

typedef struct stw {
  uint64_t begin, end, tid;
} stw;

typedef struct task_end {
  uint64_t id, time;
} task_end;

typedef struct created {
  uint64_t child, parent;
} created;

/* What one worker collects for the serial steps. */
typedef struct part {
  et_trace *t;
  blocked *blk;
  size_t nblk, capblk;
  wake *wakes;
  size_t nwakes, capwakes;
  stw *stws;
  size_t nstws, capstws;
  et_task *tasks;
  size_t ntasks, captasks;
  task_end *ends;
  size_t nends, capends;
  created *creates;
  size_t ncreates, capcreates;
  uint64_t kind_count[ET_EV_LIMIT];
  uint64_t event_drops;
  bool oom;
  size_t index; /* this part's threads: index, index + NPARTS, ... */
} part;

typedef struct work {
  part *parts;
  _Atomic size_t next; /* the next part to build */
} work;

#define PUSH(p, vec, n, cap, ...)                                                            \
  do {                                                                                       \
    if (ET_VEC_GROW(p->vec, p->n, p->cap)) p->vec[p->n++] = __VA_ARGS__;                     \
    else p->oom = true;                                                                      \
  } while (0)

typedef struct frame {
  uint8_t state, reason;
  uint32_t stack;
  uint64_t obj, begin;
  uint32_t span;
} frame;

static void add_span(bool *oom, et__mthread *th, uint64_t time, uint8_t state, uint8_t reason,
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
    *oom = true;
    return;
  }
  th->spans[th->nspans++] = (et_span){time, stack, state, reason, 0};
}

static void thread_pass(part *p, size_t ti) {
  et_trace *t = p->t;
  et__mthread *th = &t->threads[ti];
  frame stack[MAX_DEPTH];
  unsigned depth = 0;
  et__merged m;
  et__merged_init(&m, t, ti, true);
  et_event ev;
  while (et__merged_next(&m, &ev)) {
    if (th->info.events++ == 0) {
      th->info.first = ev.time;
      stack[0] = (frame){ET_STATE_RUNNING, 0, 0, 0, 0, 0};
      depth = 1;
      add_span(&p->oom, th, ev.time, ET_STATE_RUNNING, 0, 0);
    }
    p->kind_count[ev.kind]++;
    th->info.last = ev.time;
    if (!t->known[ev.kind]) continue;
    switch (ev.kind) {
      case ET_EV_THREAD_START:
        if (ev.field[0]) th->info.parent = ev.field[0];
        break;
      case ET_EV_THREAD_NAME: th->name_id = ev.field[0]; break;
      case ET_EV_BLOCK_BEGIN:
      case ET_EV_SYSCALL_BEGIN: {
        if (depth >= MAX_DEPTH) break;
        bool blk = ev.kind == ET_EV_BLOCK_BEGIN;
        frame f = {blk ? ET_STATE_BLOCKED : ET_STATE_SYSCALL,
                   (uint8_t)(blk ? ev.field[0] : ev.field[2]), ev.stack, blk ? ev.field[1] : 0,
                   ev.time, 0};
        add_span(&p->oom, th, ev.time, f.state, f.reason, f.stack);
        f.span = th->nspans ? (uint32_t)(th->nspans - 1) : 0;
        stack[depth++] = f;
        break;
      }
      case ET_EV_BLOCK_END:
      case ET_EV_SYSCALL_END: {
        uint8_t want = ev.kind == ET_EV_BLOCK_END ? ET_STATE_BLOCKED : ET_STATE_SYSCALL;
        if (depth < 2 || stack[depth - 1].state != want) break; /* began before the trace */
        frame f = stack[--depth];
        if (want == ET_STATE_BLOCKED) PUSH(p, blk, nblk, capblk, (blocked){f.obj, f.begin, ev.time, (uint32_t)ti, f.span & ~BLK_WOKEN});
        frame *top = &stack[depth - 1];
        add_span(&p->oom, th, ev.time, top->state, top->reason, top->stack);
        break;
      }
      case ET_EV_WAKE:
        PUSH(p, wakes, nwakes, capwakes, (wake){ev.time, ev.field[0], ev.field[1], ev.stack});
        break;
      case ET_EV_STW_BEGIN: PUSH(p, stws, nstws, capstws, (stw){ev.time, UINT64_MAX, th->info.tid}); break;
      case ET_EV_STW_END:
        for (size_t i = p->nstws; i-- > 0;)
          if (p->stws[i].tid == th->info.tid && p->stws[i].end == UINT64_MAX) {
            p->stws[i].end = ev.time;
            break;
          }
        break;
      case ET_EV_TASK_BEGIN: {
        const char *type = et_trace_string(t, ev.field[2]);
        PUSH(p, tasks, ntasks, captasks,
             (et_task){ev.field[0], ev.field[1], type ? type : "", ev.time, UINT64_MAX, ev.tid});
        break;
      }
      case ET_EV_TASK_END: PUSH(p, ends, nends, capends, (task_end){ev.field[0], ev.time}); break;
      case ET_EV_THREAD_CREATE:
        PUSH(p, creates, ncreates, capcreates, (created){ev.field[0], th->info.tid});
        break;
      case ET_EV_DROP:
        th->info.dropped += ev.field[0];
        p->event_drops += ev.field[0];
        break;
      default: break;
    }
  }
  if (th->end_lost > th->info.dropped) th->info.dropped = th->end_lost;
  const char *name = th->name_id ? et_trace_string(t, th->name_id) : NULL;
  th->info.name = name ? name : "";
}

static int cmp_blk(const void *a, const void *b) {
  const blocked *x = a, *y = b;
  if (x->obj != y->obj) return x->obj < y->obj ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static void build_part(part *p) {
  for (size_t ti = p->index; ti < p->t->nthreads; ti += NPARTS) thread_pass(p, ti);
  /* Sorted by (object, end), in parallel, and searched per part. */
  blocked *tmp = p->nblk > 64 ? malloc(p->nblk * sizeof *tmp) : NULL;
  if (tmp) {
    blocked *r = radix_sort(p->blk, tmp, p->nblk, sizeof *tmp, offsetof(blocked, end));
    blocked *other = r == p->blk ? tmp : p->blk;
    r = radix_sort(r, other, p->nblk, sizeof *tmp, offsetof(blocked, obj));
    if (r != p->blk) memcpy(p->blk, r, p->nblk * sizeof *tmp);
    free(tmp);
  } else {
    sort(p->blk, p->nblk, sizeof *p->blk, cmp_blk);
  }
}

static void *worker(void *arg) {
  work *wk = arg;
  size_t i;
  while ((i = atomic_fetch_add(&wk->next, 1)) < NPARTS) build_part(&wk->parts[i]);
  return NULL;
}

static void part_free(part *p) {
  free(p->blk);
  free(p->wakes);
  free(p->stws);
  free(p->tasks);
  free(p->ends);
  free(p->creates);
}

/* Appends src's vector to dst's; false on OOM. */
#define JOIN(dst, src, vec, n, cap)                                                          \
  (et__vec_grow((void **)&dst->vec, &dst->cap, dst->n + src->n, sizeof *dst->vec)            \
       ? (src->n ? memcpy(dst->vec + dst->n, src->vec, src->n * sizeof *dst->vec) : NULL,    \
          dst->n += src->n, true)                                                            \
       : false)

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
static void rebuild(bool *oom, et__mthread *th, const cut *cuts, size_t ncuts, const stw *stws,
                    size_t nstws) {
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
        add_span(oom, th, at, ET_STATE_RUNNING, 0, 0);
        add_span(oom, th, gb, ET_STATE_GC, 0, 0);
        at = ge;
      }
      add_span(oom, th, at, ET_STATE_RUNNING, 0, 0);
      continue;
    }
    add_span(oom, th, s.start, s.state, s.reason, s.stack);
    while (c < ncuts && cuts[c].span < i) c++;
    if (c < ncuts && cuts[c].span == i) {
      size_t first = c; /* the earliest wake of this wait */
      for (; c < ncuts && cuts[c].span == i; c++)
        if (cuts[c].time < cuts[first].time) first = c;
      add_span(oom, th, cuts[first].time, ET_STATE_RUNNABLE, s.reason, cuts[first].stack);
    }
  }
  free(old);
}

/* The wait on obj that a wake at time with no target ends: among the waits
 * on obj in progress at that time, not yet woken, the one that ends first.
 * Each part's waits are sorted by (object, end). */
static bool find_waiter(part *parts, size_t nparts, uint64_t obj, uint64_t time,
                        uint32_t *thread, uint32_t *span) {
  blocked *best = NULL;
  for (size_t w = 0; w < nparts; w++) {
    blocked *blk = parts[w].blk;
    size_t lo = 0, hi = parts[w].nblk;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (blk[mid].obj < obj || (blk[mid].obj == obj && blk[mid].end <= time)) lo = mid + 1;
      else hi = mid;
    }
    for (size_t k = lo, seen = 0; k < parts[w].nblk && blk[k].obj == obj && seen < 64; k++, seen++) {
      if (best && blk[k].end >= best->end) break;
      if (!(blk[k].span & BLK_WOKEN) && blk[k].begin <= time) {
        best = &blk[k];
        break;
      }
    }
  }
  if (!best) return false;
  best->span |= BLK_WOKEN;
  *thread = best->thread;
  *span = best->span & ~BLK_WOKEN;
  return true;
}

static void apply_wakes_and_pauses(part *parts, size_t nparts, bool *oom) {
  et_trace *t = parts[0].t;
  cut *cuts = NULL;
  size_t ncuts = 0, capcuts = 0;
  for (size_t w = 0; w < nparts; w++)
    for (size_t i = 0; i < parts[w].nwakes; i++) {
      const wake *wk = &parts[w].wakes[i];
      uint32_t thread = UINT32_MAX, span = 0;
      if (wk->target) {
        uint64_t ti;
        if (!et__map_get(&t->tid_index, wk->target, &ti)) continue;
        size_t si = span_at(&t->threads[ti], wk->time);
        if (si == SIZE_MAX || t->threads[ti].spans[si].state != ET_STATE_BLOCKED) continue;
        thread = (uint32_t)ti;
        span = (uint32_t)si;
      } else if (!find_waiter(parts, nparts, wk->obj, wk->time, &thread, &span)) {
        continue;
      }
      if (!ET_VEC_GROW(cuts, ncuts, capcuts)) {
        *oom = true;
        break;
      }
      cuts[ncuts++] = (cut){thread, span, wk->time, 0, wk->stack};
    }
  for (size_t w = 0; w < nparts; w++) {
    free(parts[w].blk);
    parts[w].blk = NULL;
    free(parts[w].wakes);
    parts[w].wakes = NULL;
  }
  /* By (thread, span); rebuild takes the earliest of a span's cuts. */
  cut *ctmp = ncuts > 64 ? malloc(ncuts * sizeof *ctmp) : NULL;
  if (ctmp) {
    for (size_t i = 0; i < ncuts; i++) cuts[i].key = (uint64_t)cuts[i].thread << 32 | cuts[i].span;
    cut *r = radix_sort(cuts, ctmp, ncuts, sizeof *ctmp, offsetof(cut, key));
    if (r != cuts) memcpy(cuts, r, ncuts * sizeof *cuts);
    free(ctmp);
  } else {
    sort(cuts, ncuts, sizeof *cuts, cmp_cut);
  }
  part *b = &parts[0];
  for (size_t i = 0; i < b->nstws; i++)
    if (b->stws[i].end == UINT64_MAX) b->stws[i].end = b->stws[i].begin; /* never ended */
  sort(b->stws, b->nstws, sizeof *b->stws, cmp_stw);
  size_t c = 0;
  for (size_t ti = 0; ti < t->nthreads; ti++) {
    size_t c0 = c;
    while (c < ncuts && cuts[c].thread == ti) c++;
    rebuild(oom, &t->threads[ti], c > c0 ? cuts + c0 : NULL, c - c0, b->stws, b->nstws);
  }
  free(cuts);
}

/* Task ids come in per-thread blocks and are nearly dense, so most map
 * through an array; ids far beyond the tasks seen (a damaged or odd trace)
 * go to a hash map. */
static void match_tasks(part *parts, size_t nparts, bool *oom) {
  et_trace *t = parts[0].t;
  size_t limit = 4 * t->ntasks + (1u << 20), nslot = 0;
  uint64_t max = 0;
  for (size_t i = 0; i < t->ntasks; i++)
    if (t->tasks[i].id < limit && t->tasks[i].id > max) max = t->tasks[i].id;
  uint32_t *slot = t->ntasks ? calloc((size_t)max + 1, sizeof *slot) : NULL;
  if (slot) nslot = (size_t)max + 1;
  et__u64map big = {0};
  for (size_t i = 0; i < t->ntasks && i < UINT32_MAX - 1; i++) {
    uint64_t id = t->tasks[i].id;
    if (id < nslot) slot[id] = (uint32_t)i + 1;
    else if (!et__map_put(&big, id, i)) *oom = true;
  }
  for (size_t w = 0; w < nparts; w++)
    for (size_t i = 0; i < parts[w].nends; i++) {
      uint64_t id = parts[w].ends[i].id, idx;
      uint64_t time = parts[w].ends[i].time;
      if (id < nslot && slot[id]) t->tasks[slot[id] - 1].end = time;
      else if (et__map_get(&big, id, &idx)) t->tasks[idx].end = time;
    }
  free(slot);
  et__map_free(&big);
}


/* The trace's start: its earliest sync point, or its earliest event if a
 * damaged trace lost the sync points before it (times are never negative). */
static void settle_start(et_trace *t) {
  if (t->nsyncs == 0) return;
  t->info.start_ns = t->syncs[0].ns;
  double earliest = 0;
  for (size_t ti = 0; ti < t->nthreads; ti++)
    for (unsigned s = 0; s < ET_STREAM_COUNT; s++) {
      const et__mstream *st = &t->threads[ti].st[s];
      if (st->n == 0) continue;
      const et__ref *r = &st->refs[0];
      const uint8_t *p = r->p;
      uint64_t ticks = r->base_ticks, obj = r->base_obj;
      et_event ev;
      if (et__decode(t, &p, r->p + r->len, &ev, &ticks, &obj) != 0) continue;
      et__seg seg = et__segment(t, ticks);
      double ns = seg.ns + ((double)(int64_t)(ticks - seg.ticks)) * seg.slope;
      if (ns < earliest) earliest = ns;
    }
  if (earliest < 0 && -earliest < (double)t->info.start_ns) t->info.start_ns -= (uint64_t)-earliest;
}

int et__build(et_trace *t) {
  et__sort_syncs(t);
  /* Each thread's chunks in sequence order; gaps are losses. */
  for (size_t ti = 0; ti < t->nthreads; ti++) {
    et__mthread *th = &t->threads[ti];
    for (unsigned s = 0; s < ET_STREAM_COUNT; s++) {
      et__mstream *st = &th->st[s];
      sort(st->refs, st->n, sizeof *st->refs, cmp_ref);
      size_t kept = st->n ? 1 : 0;
      for (size_t i = 1; i < st->n; i++) {
        const et__ref *prev = &st->refs[kept - 1], *cur = &st->refs[i];
        uint64_t a = prev->seq, c = cur->seq;
        bool copy = false;
        for (size_t k = kept; k-- > 0 && st->refs[k].seq == c && !copy;)
          copy = st->refs[k].len == cur->len && st->refs[k].base_ticks == cur->base_ticks &&
                 st->refs[k].base_obj == cur->base_obj && memcmp(st->refs[k].p, cur->p, cur->len) == 0;
        if (copy) {
          /* A byte-identical copy (a damaged or concatenated file): one is enough. */
          et__warn(t, "thread %llu: chunk %llu of its %s stream appears twice: the copy is ignored",
                   (unsigned long long)th->info.tid, (unsigned long long)c, s ? "signal" : "main");
          continue;
        }
        st->refs[kept++] = *cur;
        if (c == a)
          et__warn(t, "thread %llu: two different chunks %llu of its %s stream (a reused thread "
                      "id?)", (unsigned long long)th->info.tid, (unsigned long long)c,
                   s ? "signal" : "main");
        else if (c != a + 1)
          et__warn(t, "thread %llu: %llu chunk(s) of its events are missing (sequence %llu..%llu)",
                   (unsigned long long)th->info.tid, (unsigned long long)(c - a - 1),
                   (unsigned long long)(a + 1), (unsigned long long)(c - 1));
      }
      st->n = kept;
    }
  }
  settle_start(t);

  /* The per-thread pass, part by part, on up to one worker per core. */
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  size_t nworkers = cores < 1 ? 1 : (size_t)cores;
  if (nworkers > MAX_WORKERS) nworkers = MAX_WORKERS;
  if (nworkers > t->nthreads) nworkers = t->nthreads ? t->nthreads : 1;
  part parts[NPARTS];
  memset(parts, 0, sizeof parts);
  for (size_t p = 0; p < NPARTS; p++) parts[p] = (part){.t = t, .index = p};
  work wk = {parts, 0};
  bool oom = false;
  pthread_t workers[MAX_WORKERS];
  bool started[MAX_WORKERS] = {false};
  for (size_t w = 1; w < nworkers; w++) started[w] = pthread_create(&workers[w], NULL, worker, &wk) == 0;
  worker(&wk); /* and the parts of any worker that could not start */
  for (size_t w = 1; w < nworkers; w++)
    if (started[w]) pthread_join(workers[w], NULL);

  /* Join what the parts collected: counts, creations, pauses and tasks into
   * the first part; waits and wakes are matched across the parts. */
  part *b = &parts[0];
  for (size_t w = 1; w < NPARTS; w++) {
    part *o = &parts[w];
    if (!JOIN(b, o, stws, nstws, capstws) || !JOIN(b, o, tasks, ntasks, captasks)) b->oom = true;
    free(o->tasks);
    o->tasks = NULL;
    for (unsigned k = 0; k < ET_EV_LIMIT; k++) b->kind_count[k] += o->kind_count[k];
    b->event_drops += o->event_drops;
    b->oom |= o->oom;
  }
  memcpy(t->kind_count, b->kind_count, sizeof t->kind_count);
  t->event_drops = b->event_drops;
  for (size_t w = 0; w < NPARTS; w++)
    for (size_t i = 0; i < parts[w].ncreates; i++) {
      uint64_t ci;
      if (et__map_get(&t->tid_index, parts[w].creates[i].child, &ci))
        t->threads[ci].info.parent = parts[w].creates[i].parent;
    }
  t->tasks = b->tasks;
  t->ntasks = b->ntasks;
  t->captasks = b->captasks;
  b->tasks = NULL;
  oom |= b->oom;
  match_tasks(parts, NPARTS, &oom);
  apply_wakes_and_pauses(parts, NPARTS, &oom);
  for (size_t w = 0; w < NPARTS; w++) part_free(&parts[w]);

  /* Give back the vectors' growth room. */
  for (size_t ti = 0; ti < t->nthreads; ti++) {
    et__mthread *th = &t->threads[ti];
    if (th->nspans && th->nspans < th->capspans) {
      et_span *p = realloc(th->spans, th->nspans * sizeof *p);
      if (p) {
        th->spans = p;
        th->capspans = th->nspans;
      }
    }
  }
  if (t->ntasks && t->ntasks < t->captasks) {
    et_task *p = realloc(t->tasks, t->ntasks * sizeof *p);
    if (p) {
      t->tasks = p;
      t->captasks = t->ntasks;
    }
  }

  uint64_t last = 0;
  for (size_t ti = 0; ti < t->nthreads; ti++) {
    t->info.events += t->threads[ti].info.events;
    if (t->threads[ti].info.events && t->threads[ti].info.last > last)
      last = t->threads[ti].info.last;
  }
  if (t->nsyncs) {
    uint64_t last_sync = t->syncs[t->nsyncs - 1].ns;
    if (last_sync > t->info.start_ns && last_sync - t->info.start_ns > last)
      last = last_sync - t->info.start_ns;
  }
  t->info.duration_ns = last;
  t->info.dropped = t->end_drops > t->event_drops ? t->end_drops : t->event_drops;
  if (!t->info.complete && t->len >= ET_FILE_HEADER_LEN)
    et__warn(t, "the trace has no END record: it was cut short or the program died; "
                "events after the last intact chunk are lost");
  if (t->info.dropped)
    et__warn(t, "the tracer dropped %llu event(s) (buffers full or nested signals)",
             (unsigned long long)t->info.dropped);
  if (oom) et__warn(t, "out of memory while building the model: some states are missing");
  return 0;
}

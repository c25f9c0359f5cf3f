/* The walk: every event of every thread in one time order, through a state
 * machine per thread that turns them into state spans, with wakes matched
 * to the waits they end as the walk goes.
 *
 * The model is built by one walk (et__build, which stores the spans), and
 * et_trace_walk() / et_trace_open_walk() hand the same events and spans to
 * a caller's handlers without storing them, so a converter that needs one
 * pass (exectrace pprof) holds no per-event memory and sees exactly the
 * states the model holds.
 *
 * Order: threads are merged by (time, thread index).  A thread's spans are
 * handed out once final: a state that changes again at the same time is
 * replaced, and one that returns to the state before it is folded back
 * into it, so no span has zero length.  A thread's span comes before its
 * events after the span's start, and after its events at that time.
 *
 * Each thread keeps a stack of what it is in (running; in a system call; in
 * a wait with its reason and object).  Wakes are applied once every event
 * at their time has been seen, in time order:
 *   - a wake naming a thread ends that thread's wait if it is blocked at
 *     that time (the top of its stack is a wait not yet woken);
 *   - a wake naming only an object ends, among the waits on that object
 *     that began at or before the wake, end after it and were not woken
 *     yet, the one that ends first (ties: lower thread index, earlier
 *     wait): the waiter that got the lock or the signal next.
 * A woken wait shows as RUNNABLE from the wake to its end, with the wake's
 * stack.  To know when a wait ends, its begin looks ahead in its own
 * thread's events (usually the very next one).
 * A stop-the-world pause (stw_begin .. stw_end of one thread) shows every
 * other thread that is running as GC; a pause that never ends lasts to the
 * end of the walk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define MAX_DEPTH 16

typedef struct wframe {
  uint8_t state, reason;
  bool woken;
  uint32_t stack, wstack;
  uint64_t serial;
} wframe;

typedef struct wthr {
  et__merged it;
  et_event evs[2]; /* evs[nx]: the next event, when have; the other: the one being processed */
  unsigned nx;
  bool have, finished;
  wframe fr[MAX_DEPTH];
  unsigned depth; /* 0 until the thread's first event */
  uint64_t serial;
  et_span done, pend; /* the last span handed out; the one that may still change */
  bool has_done, has_pend;
  bool gave_wanted; /* the last span handed out was one span_states asks for */
} wthr;

/* A wait that an object wake may end. */
typedef struct wentry {
  uint64_t end, serial;
  uint32_t thread;
} wentry;

typedef struct oheap {
  wentry *e;
  size_t n, cap;
} oheap;

typedef struct pwake {
  uint64_t time, target, obj;
  uint32_t stack;
  uint32_t proc; /* the waker's process: objects are addresses within one */
} pwake;

typedef struct walker {
  et_trace *t;
  bool build, store;
  const et_walk_handlers *h;
  void *arg;
  int stop;
  bool oom;
  wthr *th;
  size_t n;
  struct hent {
    uint64_t time;
    size_t idx;
  } *heap; /* threads by their next event's (time, index) */
  size_t hn;
  et__u64map *objs; /* by process: object -> index in heaps */
  size_t nprocs;
  uint64_t last_obj[2], last_heap[2]; /* the last two objects looked up (0: none) */
  size_t last_proc[2];                 /* and their processes */
  uint64_t last_tid[2], last_ti[2];    /* the last two wake targets looked up */
  oheap *heaps;
  size_t nheaps, capheaps;
  pwake *pw;
  size_t npw, cappw, pwfirst;
  size_t *stw; /* threads (indexes) of the pauses in progress */
  size_t nstw, capstw;
  et__task_end *ends;
  size_t nends, capends;
} walker;

/* ---- spans ---- */

static bool same(const et_span *s, uint8_t state, uint8_t reason, uint32_t stack) {
  return s->state == state && s->reason == reason && s->stack == stack;
}

static void deliver(walker *w, size_t ti, const et_span *s) {
  wthr *x = &w->th[ti];
  x->done = *s;
  x->has_done = true;
  if (w->store) {
    et__mthread *mt = &w->t->threads[ti];
    if (ET_VEC_GROW(mt->spans, mt->nspans, mt->capspans)) mt->spans[mt->nspans++] = *s;
    else w->oom = true;
  }
  if (w->h && w->h->span && !w->stop) {
    unsigned mask = w->h->span_states;
    bool wanted = !mask || (mask >> s->state & 1u);
    if (wanted || x->gave_wanted) w->stop = w->h->span(w->arg, w->t, ti, s);
    x->gave_wanted = wanted;
  }
}

static void set_span(walker *w, size_t ti, uint64_t time, uint8_t state, uint8_t reason, uint32_t stack,
                     uint16_t flags) {
  wthr *x = &w->th[ti];
  if (x->has_pend) {
    if (same(&x->pend, state, reason, stack)) return;
    if (x->pend.start == time) { /* changed again at once: replace, or fold back */
      if (x->has_done && same(&x->done, state, reason, stack)) x->has_pend = false;
      else x->pend = (et_span){time, stack, state, reason, flags};
      return;
    }
    deliver(w, ti, &x->pend);
  } else if (x->has_done && same(&x->done, state, reason, stack)) {
    return;
  }
  x->pend = (et_span){time, stack, state, reason, flags};
  x->has_pend = true;
}

/* A stop-the-world pause stops the other threads of its own process. */
static bool paused_by_other(const walker *w, size_t ti) {
  const et__mthread *th = w->t->threads;
  for (size_t i = 0; i < w->nstw; i++)
    if (w->stw[i] != ti && th[w->stw[i]].info.process == th[ti].info.process) return true;
  return false;
}

/* Hands out thread ti's state from time on, as its stack says; resumed:
 * the top of the stack was there before a nested state popped. */
static void show_as(walker *w, size_t ti, uint64_t time, bool resumed) {
  wthr *x = &w->th[ti];
  const wframe *f = &x->fr[x->depth - 1];
  if (f->state == ET_STATE_RUNNING)
    set_span(w, ti, time, w->nstw && paused_by_other(w, ti) ? ET_STATE_GC : ET_STATE_RUNNING,
             0, 0, 0);
  else if (f->woken)
    set_span(w, ti, time, ET_STATE_RUNNABLE, f->reason, f->wstack, 0);
  else
    set_span(w, ti, time, f->state, f->reason, f->stack, resumed ? ET_SPAN_RESUMED : 0);
}

static void show(walker *w, size_t ti, uint64_t time) { show_as(w, ti, time, false); }

/* ---- waits and wakes ---- */

static bool entry_less(const wentry *a, const wentry *b) {
  if (a->end != b->end) return a->end < b->end;
  if (a->thread != b->thread) return a->thread < b->thread;
  return a->serial < b->serial;
}

static void oheap_pop(oheap *h) {
  h->e[0] = h->e[--h->n];
  size_t k = 0;
  for (;;) {
    size_t l = 2 * k + 1, r = l + 1, s = k;
    if (l < h->n && entry_less(&h->e[l], &h->e[s])) s = l;
    if (r < h->n && entry_less(&h->e[r], &h->e[s])) s = r;
    if (s == k) break;
    wentry tmp = h->e[k];
    h->e[k] = h->e[s];
    h->e[s] = tmp;
    k = s;
  }
}

static bool oheap_push(oheap *h, wentry e) {
  if (!ET_VEC_GROW(h->e, h->n, h->cap)) return false;
  size_t k = h->n++;
  h->e[k] = e;
  while (k > 0 && entry_less(&h->e[k], &h->e[(k - 1) / 2])) {
    size_t p = (k - 1) / 2;
    wentry tmp = h->e[k];
    h->e[k] = h->e[p];
    h->e[p] = tmp;
    k = p;
  }
  return true;
}

/* The frame of thread ti's wait with this serial, if it is still going and not woken. */
static wframe *live_wait(walker *w, uint32_t ti, uint64_t serial) {
  wthr *x = &w->th[ti];
  for (unsigned d = x->depth; d-- > 1;)
    if (x->fr[d].serial == serial) return x->fr[d].woken ? NULL : &x->fr[d];
  return NULL;
}

/* What one event does to a simulated stack of states; true if it popped. */
static bool step(const et_trace *t, const et_event *e, uint8_t *st, unsigned *d) {
  if (!t->known[e->kind]) return false;
  switch (e->kind) {
    case ET_EV_BLOCK_BEGIN:
    case ET_EV_SYSCALL_BEGIN:
      if (*d < MAX_DEPTH) st[(*d)++] = e->kind == ET_EV_BLOCK_BEGIN ? ET_STATE_BLOCKED : ET_STATE_SYSCALL;
      return false;
    case ET_EV_BLOCK_END:
    case ET_EV_SYSCALL_END: {
      uint8_t want = e->kind == ET_EV_BLOCK_END ? ET_STATE_BLOCKED : ET_STATE_SYSCALL;
      if (*d < 2 || st[*d - 1] != want) return false;
      (*d)--;
      return true;
    }
    default: return false;
  }
}

/* When the wait on top of x's stack (just begun) ends: the time of the
 * event that pops it, found by reading ahead; UINT64_MAX if it never does. */
static uint64_t wait_end(walker *w, wthr *x) {
  uint8_t st[MAX_DEPTH];
  unsigned d = x->depth, target = x->depth - 1;
  for (unsigned k = 0; k < d; k++) st[k] = x->fr[k].state;
  if (!x->have) return UINT64_MAX;
  if (step(w->t, &x->evs[x->nx], st, &d) && d == target) return x->evs[x->nx].time;
  et_event e;
  if (x->it.single) {
    et__iter it = x->it.it[0];
    it.validate = false;
    while (et__iter_next(&it, &e))
      if (step(w->t, &e, st, &d) && d == target) return e.time;
  } else {
    et__merged m = x->it;
    for (unsigned s = 0; s < ET_STREAM_COUNT; s++) m.it[s].validate = false;
    while (et__merged_next(&m, &e))
      if (step(w->t, &e, st, &d) && d == target) return e.time;
  }
  return UINT64_MAX;
}

/* The heap of waits on obj of process proc, if it has one. */
static bool heap_of(walker *w, size_t proc, uint64_t obj, uint64_t *hi) {
  for (int i = 0; i < 2; i++)
    if (obj == w->last_obj[i] && proc == w->last_proc[i]) {
      *hi = w->last_heap[i];
      return true;
    }
  if (proc >= w->nprocs || !et__map_get(&w->objs[proc], obj, hi)) return false;
  w->last_obj[1] = w->last_obj[0];
  w->last_heap[1] = w->last_heap[0];
  w->last_proc[1] = w->last_proc[0];
  w->last_obj[0] = obj;
  w->last_heap[0] = *hi;
  w->last_proc[0] = proc;
  return true;
}

/* The index of the thread with this tid, if the trace has one. */
static bool thread_of(walker *w, uint64_t tid, uint64_t *ti) {
  for (int i = 0; i < 2; i++)
    if (tid == w->last_tid[i]) {
      *ti = w->last_ti[i];
      return true;
    }
  if (!et__map_get(&w->t->tid_index, tid, ti)) return false;
  w->last_tid[1] = w->last_tid[0];
  w->last_ti[1] = w->last_ti[0];
  w->last_tid[0] = tid;
  w->last_ti[0] = *ti;
  return true;
}

static void wait_begun(walker *w, size_t ti, uint64_t obj, uint64_t now) {
  if (obj == 0 || obj == UINT64_MAX) return;
  wthr *x = &w->th[ti];
  size_t proc = w->t->threads[ti].info.process;
  uint64_t hi;
  if (!heap_of(w, proc, obj, &hi)) {
    if (proc >= w->nprocs || !ET_VEC_GROW(w->heaps, w->nheaps, w->capheaps) ||
        !et__map_put(&w->objs[proc], obj, w->nheaps)) {
      w->oom = true;
      return;
    }
    hi = w->nheaps;
    w->heaps[w->nheaps++] = (oheap){NULL, 0, 0};
  }
  oheap *h = &w->heaps[hi];
  while (h->n && h->e[0].end <= now) oheap_pop(h); /* over: no later wake can end them */
  wentry e = {wait_end(w, x), x->fr[x->depth - 1].serial, (uint32_t)ti};
  if (!oheap_push(h, e)) w->oom = true;
}

static void apply_wake(walker *w, const pwake *k) {
  if (k->target) {
    uint64_t ti;
    if (!thread_of(w, k->target, &ti) || ti >= w->n) return;
    wthr *x = &w->th[ti];
    if (x->finished || x->depth < 2) return;
    wframe *f = &x->fr[x->depth - 1];
    if (f->state != ET_STATE_BLOCKED || f->woken) return;
    f->woken = true;
    f->wstack = k->stack;
    show(w, ti, k->time);
    return;
  }
  uint64_t hi;
  if (k->obj == 0 || !heap_of(w, k->proc, k->obj, &hi)) return;
  oheap *h = &w->heaps[hi];
  while (h->n) {
    wentry e = h->e[0];
    oheap_pop(h);
    if (e.end <= k->time) continue;
    wframe *f = live_wait(w, e.thread, e.serial);
    if (!f) continue;
    f->woken = true;
    f->wstack = k->stack;
    wthr *x = &w->th[e.thread];
    if (f == &x->fr[x->depth - 1]) show(w, e.thread, k->time);
    return;
  }
}

/* Applies the pending wakes earlier than time (all of them: UINT64_MAX). */
static void wakes_before(walker *w, uint64_t time) {
  while (w->pwfirst < w->npw && w->pw[w->pwfirst].time < time) apply_wake(w, &w->pw[w->pwfirst++]);
  if (w->pwfirst == w->npw) {
    w->pwfirst = w->npw = 0;
  } else if (w->pwfirst > 1024 && w->pwfirst * 2 > w->npw) { /* many events at one time */
    memmove(w->pw, w->pw + w->pwfirst, (w->npw - w->pwfirst) * sizeof *w->pw);
    w->npw -= w->pwfirst;
    w->pwfirst = 0;
  }
}

/* ---- the per-thread state machine ---- */

static void process(walker *w, size_t ti, const et_event *ev) {
  et_trace *t = w->t;
  wthr *x = &w->th[ti];
  et__mthread *mt = &t->threads[ti];
  bool first = x->depth == 0;
  if (first) {
    x->fr[0] = (wframe){ET_STATE_RUNNING, 0, false, 0, 0, 0};
    x->depth = 1;
  }
  if (w->build) {
    if (mt->info.events++ == 0) mt->info.first = ev->time;
    mt->info.last = ev->time;
    t->kind_count[ev->kind]++;
  }
  if (x->has_pend && x->pend.start < ev->time) { /* final: the thread's time moved on */
    deliver(w, ti, &x->pend);
    x->has_pend = false;
  }
  if (w->h && w->h->event && !w->stop && (!w->h->kinds || w->h->kinds[ev->kind]))
    w->stop = w->h->event(w->arg, w->t, ti, ev);
  if (first) show(w, ti, ev->time);
  if (!t->known[ev->kind]) return;
  switch (ev->kind) {
    case ET_EV_THREAD_START:
      if (w->build && ev->field[0]) mt->info.parent = ev->field[0];
      break;
    case ET_EV_THREAD_NAME:
      if (w->build) mt->name_id = ev->field[0];
      break;
    case ET_EV_BLOCK_BEGIN:
    case ET_EV_SYSCALL_BEGIN: {
      if (x->depth >= MAX_DEPTH) break;
      bool blk = ev->kind == ET_EV_BLOCK_BEGIN;
      x->fr[x->depth++] = (wframe){blk ? ET_STATE_BLOCKED : ET_STATE_SYSCALL,
                                   (uint8_t)(blk ? ev->field[0] : ev->field[2]), false, ev->stack, 0,
                                   ++x->serial};
      if (blk) wait_begun(w, ti, ev->field[1], ev->time);
      show(w, ti, ev->time);
      break;
    }
    case ET_EV_BLOCK_END:
    case ET_EV_SYSCALL_END: {
      uint8_t want = ev->kind == ET_EV_BLOCK_END ? ET_STATE_BLOCKED : ET_STATE_SYSCALL;
      if (x->depth < 2 || x->fr[x->depth - 1].state != want) break; /* began before the trace */
      x->depth--;
      show_as(w, ti, ev->time, true);
      break;
    }
    case ET_EV_WAKE:
      if (ET_VEC_GROW(w->pw, w->npw, w->cappw))
        w->pw[w->npw++] = (pwake){ev->time, ev->field[0], ev->field[1], ev->stack, (uint32_t)mt->info.process};
      else w->oom = true;
      break;
    case ET_EV_STW_BEGIN:
    case ET_EV_STW_END: {
      if (ev->kind == ET_EV_STW_BEGIN) {
        if (ET_VEC_GROW(w->stw, w->nstw, w->capstw)) w->stw[w->nstw++] = ti;
        else w->oom = true;
      } else {
        size_t i = w->nstw;
        while (i-- > 0 && w->stw[i] != ti) {}
        if (i == SIZE_MAX) break; /* began before the trace */
        memmove(&w->stw[i], &w->stw[i + 1], (w->nstw - i - 1) * sizeof *w->stw);
        w->nstw--;
      }
      for (size_t j = 0; j < w->n; j++)
        if (w->th[j].depth && !w->th[j].finished) show(w, j, ev->time);
      break;
    }
    case ET_EV_TASK_BEGIN:
      if (w->build) {
        const char *type = et_trace_string(t, ev->field[2]);
        if (ET_VEC_GROW(t->tasks, t->ntasks, t->captasks))
          t->tasks[t->ntasks++] =
              (et_task){ev->field[0], ev->field[1], type ? type : "", ev->time, UINT64_MAX, ev->tid};
        else w->oom = true;
      }
      break;
    case ET_EV_TASK_END:
      if (w->build) {
        if (ET_VEC_GROW(w->ends, w->nends, w->capends)) w->ends[w->nends++] = (et__task_end){ev->field[0], ev->time};
        else w->oom = true;
      }
      break;
    case ET_EV_THREAD_CREATE:
      if (w->build) {
        uint64_t ci;
        if (et__map_get(&t->tid_index, ev->field[0], &ci)) t->threads[ci].info.parent = mt->info.tid;
      }
      break;
    case ET_EV_DROP:
      if (w->build) {
        mt->info.dropped += ev->field[0];
        t->event_drops += ev->field[0];
      }
      break;
    default: break;
  }
}

static void finish_thread(walker *w, size_t ti) {
  wthr *x = &w->th[ti];
  x->finished = true;
  if (x->has_pend) deliver(w, ti, &x->pend);
  x->has_pend = false;
  if (w->h && w->h->thread_end && !w->stop) w->stop = w->h->thread_end(w->arg, w->t, ti, x->evs[x->nx].time);
}

/* ---- the merge ---- */

static inline bool before(const struct hent *a, const struct hent *b) {
  return a->time < b->time || (a->time == b->time && a->idx < b->idx);
}

static void sift_down(walker *w) {
  size_t k = 0, n = w->hn;
  struct hent *h = w->heap;
  for (;;) {
    size_t l = 2 * k + 1, r = l + 1, s = k;
    if (l < n && before(&h[l], &h[s])) s = l;
    if (r < n && before(&h[r], &h[s])) s = r;
    if (s == k) return;
    struct hent tmp = h[k];
    h[k] = h[s];
    h[s] = tmp;
    k = s;
  }
}

int et__walk(et_trace *t, bool build, bool store, const et_walk_handlers *h, void *arg) {
  walker w;
  memset(&w, 0, sizeof w);
  w.t = t;
  w.build = build;
  w.store = store;
  w.h = h;
  w.arg = arg;
  w.n = t->nthreads;
  w.th = calloc(w.n ? w.n : 1, sizeof *w.th);
  w.heap = calloc(w.n ? w.n : 1, sizeof *w.heap);
  w.nprocs = t->nprocs;
  w.objs = calloc(w.nprocs ? w.nprocs : 1, sizeof *w.objs);
  w.last_proc[0] = w.last_proc[1] = SIZE_MAX;
  if (!w.th || !w.heap || !w.objs) {
    free(w.th);
    free(w.heap);
    free(w.objs);
    return -ENOMEM;
  }
  for (size_t i = 0; i < w.n; i++) {
    wthr *x = &w.th[i];
    et__merged_init(&x->it, t, i, build);
    x->have = et__merged_next(&x->it, &x->evs[0]);
    if (!x->have) continue;
    size_t k = w.hn++;
    w.heap[k] = (struct hent){x->evs[0].time, i};
    while (k > 0 && before(&w.heap[k], &w.heap[(k - 1) / 2])) {
      size_t p = (k - 1) / 2;
      struct hent tmp = w.heap[k];
      w.heap[k] = w.heap[p];
      w.heap[p] = tmp;
      k = p;
    }
  }
  while (w.hn > 0 && !w.stop) {
    size_t i = w.heap[0].idx;
    wthr *x = &w.th[i];
    /* The thread on top runs until its next event comes after the next
     * thread's, without touching the heap in between. */
    struct hent next = {UINT64_MAX, SIZE_MAX};
    if (w.hn > 1) next = w.heap[1];
    if (w.hn > 2 && before(&w.heap[2], &next)) next = w.heap[2];
    const et_event *ev;
    do {
      ev = &x->evs[x->nx];
      if (w.npw && w.pw[w.pwfirst].time < ev->time) wakes_before(&w, ev->time);
      x->nx ^= 1;
      x->have = et__merged_next(&x->it, &x->evs[x->nx]);
      process(&w, i, ev);
    } while (x->have && !w.stop && before(&(struct hent){x->evs[x->nx].time, i}, &next));
    if (x->have) {
      w.heap[0].time = x->evs[x->nx].time;
      sift_down(&w);
    } else {
      x->evs[x->nx].time = ev->time; /* the thread's last event */
      finish_thread(&w, i);
      w.heap[0] = w.heap[--w.hn];
      sift_down(&w);
    }
  }
  if (!w.stop) wakes_before(&w, UINT64_MAX);
  if (build) {
    et__match_tasks(t, w.ends, w.nends, &w.oom);
    for (size_t ti = 0; ti < t->nthreads; ti++) {
      et__mthread *mt = &t->threads[ti];
      if (mt->end_lost > mt->info.dropped) mt->info.dropped = mt->end_lost;
      uint64_t early;
      if (mt->name_id == 0 && et__map_get(&t->early_names, mt->info.tid, &early)) mt->name_id = early;
      const char *name = mt->name_id ? et_trace_string(t, mt->name_id) : NULL;
      mt->info.name = name ? name : "";
    }
  }
  for (size_t i = 0; i < w.nheaps; i++) free(w.heaps[i].e);
  free(w.heaps);
  for (size_t i = 0; i < w.nprocs; i++) et__map_free(&w.objs[i]);
  free(w.objs);
  free(w.pw);
  free(w.stw);
  free(w.ends);
  free(w.th);
  free(w.heap);
  if (w.stop) return w.stop;
  if (w.oom) {
    if (build) et__warn(t, "out of memory while building the model: some states are missing");
    else return -ENOMEM;
  }
  return 0;
}

int et_trace_walk(const et_trace *t, const et_walk_handlers *h, void *arg) {
  return et__walk((et_trace *)t, false, false, h, arg);
}

/* Collecting a profile's samples from the trace model.
 *
 * Each thread is walked once, its state spans and its events (through a
 * cursor) side by side in time order.  The events change the thread's
 * context — the regions it is in, the task it works for — and carry the CPU
 * samples; the spans carry the waits.  Every stretch of a span that matches
 * the profile type, lies in the --from/--to window and whose context passes
 * the filters is added to a hash table keyed by (stack, thread, task,
 * region): the only memory that grows with the trace is that table (and,
 * with --min-duration, one word per region of the thread being walked).
 *
 * Which task a moment belongs to: the task of the innermost enclosing
 * region that names one; outside such regions, the latest task begun on
 * this thread that has not ended yet.  So a request's time is attributed to
 * it through its regions on any thread (as Go does), and also on the thread
 * that began it between task_begin and task_end (as Go's trace viewer does).
 *
 * Contentions: each wait counts once, also when a nested wait splits it
 * (a BLOCKED span inside a system call leaves the call's SYSCALL span in two
 * pieces with the same stack) or the window or a context change cuts it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pprof.h"

/* ---- the sample table ---- */

#define FREE_SLOT UINT32_MAX

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

static uint64_t key_hash(uint32_t stack, uint32_t thread, uint64_t task, uint64_t region) {
  return mix(((uint64_t)stack << 32 | thread) ^ mix(task ^ mix(region)));
}

static int table_grow(et__pp_samples *s) {
  size_t cap = s->cap ? s->cap * 2 : 1024;
  et__pp_sample *slot = malloc(cap * sizeof *slot);
  if (!slot) return -ENOMEM;
  for (size_t i = 0; i < cap; i++) slot[i].stack = FREE_SLOT;
  for (size_t i = 0; i < s->cap; i++) {
    const et__pp_sample *o = &s->slot[i];
    if (o->stack == FREE_SLOT) continue;
    size_t j = key_hash(o->stack, o->thread, o->task, o->region) & (cap - 1);
    while (slot[j].stack != FREE_SLOT) j = (j + 1) & (cap - 1);
    slot[j] = *o;
  }
  free(s->slot);
  s->slot = slot;
  s->cap = cap;
  return 0;
}

static int table_add(et__pp_samples *s, uint32_t stack, uint32_t thread, uint64_t task, const et_task *tk,
                     uint64_t region, uint64_t count, uint64_t value) {
  if (stack == FREE_SLOT) stack = 0; /* cannot be a defined id in practice; keep the marker free */
  if ((s->n + 1) * 4 > s->cap * 3 && table_grow(s) != 0) return -ENOMEM;
  size_t j = key_hash(stack, thread, task, region) & (s->cap - 1);
  for (;;) {
    et__pp_sample *e = &s->slot[j];
    if (e->stack == FREE_SLOT) {
      *e = (et__pp_sample){stack, thread, task, region, count, value, tk ? tk->type : NULL};
      s->n++;
      return 0;
    }
    if (e->stack == stack && e->thread == thread && e->task == task && e->region == region) {
      e->count += count;
      e->value += value;
      return 0;
    }
    j = (j + 1) & (s->cap - 1);
  }
}

void et__pp_samples_free(et__pp_samples *s) {
  free(s->slot);
  memset(s, 0, sizeof *s);
}

/* ---- tasks by id ---- */

/* A hash table of the model's tasks, built on first use: most tasks are
 * found in order instead (next_task). */
typedef struct task_slot {
  uint64_t key; /* id + 1; 0 marks a free slot */
  const et_task *task;
} task_slot;

typedef struct task_map {
  task_slot *slot;
  size_t cap;
  bool built, failed;
} task_map;

static bool tasks_build(task_map *m, const et_trace *t) {
  m->built = true;
  size_t n = et_trace_task_count(t), cap = 16;
  while (cap < n * 2) cap *= 2;
  m->slot = calloc(cap, sizeof *m->slot);
  if (!m->slot) return !(m->failed = true);
  m->cap = cap;
  for (size_t i = 0; i < n; i++) {
    const et_task *tk = et_trace_task(t, i);
    uint64_t k = tk->id + 1;
    size_t j = mix(k) & (cap - 1);
    while (m->slot[j].key && m->slot[j].key != k) j = (j + 1) & (cap - 1);
    m->slot[j] = (task_slot){k, tk};
  }
  return true;
}

/* The task with this id, or NULL (also when out of memory: m->failed). */
static const et_task *task_get(task_map *m, const et_trace *t, uint64_t id) {
  if (id == 0 || id == UINT64_MAX) return NULL;
  if (!m->built && !tasks_build(m, t)) return NULL;
  if (!m->cap) return NULL;
  size_t j = mix(id + 1) & (m->cap - 1);
  while (m->slot[j].key) {
    if (m->slot[j].key == id + 1) return m->slot[j].task;
    j = (j + 1) & (m->cap - 1);
  }
  return NULL;
}

/* ---- the walk ---- */

typedef struct region {
  uint64_t task, name; /* name: string id */
  const et_task *tk;   /* the task, NULL if unknown */
  bool match;          /* named as --region asks */
  bool longer;         /* lasted at least --min-duration */
} region;

typedef struct owned {
  uint64_t id, end; /* a task begun on this thread; end: when it ends */
  const et_task *tk;
} owned;

typedef struct wait_sig {
  bool valid;
  uint8_t reason;
  uint32_t stack;
} wait_sig;

typedef struct walker {
  const et_trace *t;
  const et__pp_options *o;
  et__pp_samples *s;
  task_map tasks;
  size_t *task_group; /* by thread index: where its tasks start in the model, or SIZE_MAX */
  uint64_t trace_end;
  int k_region_begin, k_region_end, k_task_begin, k_task_end, k_cpu;

  /* the thread being walked */
  uint32_t ti;
  const et_span *sp;
  size_t nsp, k;
  uint64_t last, at;
  bool counted, cont;
  wait_sig sig[ET_STATE_COUNT];
  region *reg;
  size_t nreg, capreg;
  owned *own;
  size_t nown, capown;
  uint64_t *rend; /* with --min-duration: each region's end, in begin order */
  size_t nrend, caprend, rnext;

  /* this thread's tasks in the model, in begin order (see next_task) */
  size_t task_next;

  /* the context */
  uint64_t task, region_name;
  const et_task *task_ptr;
  bool pass;

  /* progress */
  uint64_t done, total;
  struct timespec shown;
  bool progress_printed;
  int err;
} walker;

static bool grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return true;
  size_t cap2 = *cap ? *cap * 2 : 16;
  while (cap2 < need) cap2 *= 2;
  void *q = realloc(*p, cap2 * size);
  if (!q) return false;
  *p = q;
  *cap = cap2;
  return true;
}

static uint64_t task_duration(const walker *w, const et_task *tk) {
  uint64_t end = tk->end == UINT64_MAX ? w->trace_end : tk->end;
  return end > tk->begin ? end - tk->begin : 0;
}

/* True if task id is want or one of its descendants. */
static bool descends(walker *w, uint64_t id, uint64_t want) {
  for (int depth = 0; id != 0 && depth < 256; depth++) {
    if (id == want) return true;
    const et_task *tk = task_get(&w->tasks, w->t, id);
    if (!tk) return false;
    id = tk->parent;
  }
  return false;
}

/* Recomputes the task, the region label and whether the filters pass. */
static void ctx_eval(walker *w) {
  const et__pp_options *o = w->o;
  uint64_t task = 0;
  const et_task *tk = NULL;
  for (size_t i = w->nreg; i-- > 0;)
    if (w->reg[i].task) {
      task = w->reg[i].task;
      tk = w->reg[i].tk;
      break;
    }
  if (!task && w->nown) {
    task = w->own[w->nown - 1].id;
    tk = w->own[w->nown - 1].tk;
  }
  w->task = task;
  w->task_ptr = tk;
  w->region_name = w->nreg ? w->reg[w->nreg - 1].name : 0;

  bool pass = true;
  if (o->has_task) pass = pass && task && descends(w, task, o->task);
  if (o->task_type) pass = pass && tk && strcmp(tk->type, o->task_type) == 0;
  bool any_match = false, any_match_long = false, any_long = false;
  for (size_t i = 0; i < w->nreg; i++) {
    any_match |= w->reg[i].match;
    any_match_long |= w->reg[i].match && w->reg[i].longer;
    any_long |= w->reg[i].longer;
  }
  if (o->region) {
    pass = pass && (o->min_duration ? any_match_long : any_match);
  } else if (o->min_duration) {
    bool task_long = tk && task_duration(w, tk) >= o->min_duration;
    if (o->has_task || o->task_type) pass = pass && task_long;
    else pass = pass && (task_long || any_long);
  }
  w->pass = pass;
}

static uint64_t gcd(uint64_t a, uint64_t b) {
  while (b) {
    uint64_t r = a % b;
    a = b;
    b = r;
  }
  return a;
}

static bool reason_is_sync(unsigned r) {
  return r == ET_REASON_MUTEX || r == ET_REASON_RWLOCK || r == ET_REASON_COND || r == ET_REASON_SEM ||
         r == ET_REASON_JOIN || r == ET_REASON_BARRIER;
}

/* Marks whether span k continues a wait that a nested one interrupted. */
static void enter_span(walker *w) {
  w->counted = false;
  w->cont = false;
  if (w->k >= w->nsp) return;
  const et_span *sp = &w->sp[w->k];
  if (sp->state == ET_STATE_RUNNING || sp->state == ET_STATE_GC || sp->state >= ET_STATE_COUNT) {
    memset(w->sig, 0, sizeof w->sig);
    return;
  }
  if (sp->state == ET_STATE_RUNNABLE) return;
  wait_sig *g = &w->sig[sp->state];
  w->cont = g->valid && g->reason == sp->reason && g->stack == sp->stack;
  *g = (wait_sig){true, sp->reason, sp->stack};
}

/* Charges [a, b) of span k, if the type, the window and the filters want it. */
static void charge(walker *w, uint64_t a, uint64_t b) {
  const et__pp_options *o = w->o;
  if (a < o->from) a = o->from;
  if (b > o->to) b = o->to;
  if (b <= a || !w->pass) return;
  const et_span *sp = &w->sp[w->k];
  uint32_t stack = sp->stack;
  bool want = false;
  switch (o->type) {
    case ET__PP_SYNC: want = sp->state == ET_STATE_BLOCKED && reason_is_sync(sp->reason); break;
    case ET__PP_NET:
      want = (sp->state == ET_STATE_BLOCKED && (sp->reason == ET_REASON_NET || sp->reason == ET_REASON_POLL)) ||
             (sp->state == ET_STATE_SYSCALL && sp->reason == ET_FDCLASS_SOCKET);
      break;
    case ET__PP_SYSCALL: want = sp->state == ET_STATE_SYSCALL; break;
    case ET__PP_SCHED: want = sp->state == ET_STATE_RUNNABLE; break;
    case ET__PP_BLOCK: /* every wait, and what net counts: block covers sync and net */
      want = sp->state == ET_STATE_BLOCKED || (sp->state == ET_STATE_SYSCALL && sp->reason == ET_FDCLASS_SOCKET);
      break;
    case ET__PP_MUTEX:
      /* A lock wait ended by a wake: the span after it is RUNNABLE with the
       * waker's (the unlocker's) stack, which takes the whole wait. */
      want = sp->state == ET_STATE_BLOCKED &&
             (sp->reason == ET_REASON_MUTEX || sp->reason == ET_REASON_RWLOCK) && w->k + 1 < w->nsp &&
             w->sp[w->k + 1].state == ET_STATE_RUNNABLE;
      if (want) stack = w->sp[w->k + 1].stack;
      break;
    default: break;
  }
  if (!want) return;
  uint64_t count = !w->counted && !w->cont ? 1 : 0;
  w->counted = true;
  if (table_add(w->s, stack, w->ti, w->task, w->task_ptr, w->region_name, count, b - a) != 0) w->err = -ENOMEM;
}

/* Charges the spans' time from w->at up to end with the current context. */
static void spans_until(walker *w, uint64_t end) {
  if (end <= w->at) return;
  while (w->k < w->nsp) {
    uint64_t s0 = w->sp[w->k].start;
    uint64_t s1 = w->k + 1 < w->nsp ? w->sp[w->k + 1].start : w->last;
    if (s0 >= end) break;
    uint64_t a = s0 > w->at ? s0 : w->at, b = s1 < end ? s1 : end;
    if (b > a) charge(w, a, b);
    if (s1 > end) break;
    w->k++;
    enter_span(w);
  }
  w->at = end;
}

/* Moves time to end: tasks of this thread that end elsewhere expire on the way. */
static void advance(walker *w, uint64_t end) {
  while (w->nown) {
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < w->nown; i++)
      if (w->own[i].end < first) first = w->own[i].end;
    if (first > end) break;
    spans_until(w, first);
    size_t j = 0;
    for (size_t i = 0; i < w->nown; i++)
      if (w->own[i].end > first) w->own[j++] = w->own[i];
    w->nown = j;
    ctx_eval(w);
  }
  spans_until(w, end);
}

static void show_progress(walker *w, bool final) {
  if (!w->o->progress) return;
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double dt = (double)(now.tv_sec - w->shown.tv_sec) + (double)(now.tv_nsec - w->shown.tv_nsec) / 1e9;
  if (final) {
    if (w->progress_printed) fprintf(stderr, "\r\033[K");
    return;
  }
  if (dt < 0.25) return;
  w->shown = now;
  w->progress_printed = true;
  fprintf(stderr, "\rexectrace pprof: %3.0f%% of %" PRIu64 " events\033[K",
          w->total ? 100.0 * (double)w->done / (double)w->total : 100.0, w->total);
}

/* The open region that an end of (task, name) closes: the innermost one
 * with the same task and name, or SIZE_MAX (it began before the trace). */
static size_t region_closed(const region *reg, size_t n, uint64_t task, uint64_t name) {
  for (size_t i = n; i-- > 0;)
    if (reg[i].task == task && reg[i].name == name) return i;
  return SIZE_MAX;
}

/* With --min-duration: the end of each region of the thread, in the order
 * they begin, matched exactly as the walk matches them.  A region that
 * never ends lasts until the thread's last event. */
static int regions_prepass(walker *w) {
  region *open = NULL;
  size_t *idx = NULL, nopen = 0, capopen = 0, capidx = 0;
  int err = 0;
  w->nrend = 0;
  et_cursor c;
  et_event ev;
  et_cursor_init(&c, w->t, w->ti);
  while (et_cursor_next(&c, &ev)) {
    if ((int)ev.kind == w->k_region_begin) {
      if (!grow((void **)&w->rend, &w->caprend, w->nrend + 1, sizeof *w->rend) ||
          !grow((void **)&open, &capopen, nopen + 1, sizeof *open) ||
          !grow((void **)&idx, &capidx, nopen + 1, sizeof *idx)) {
        err = -ENOMEM;
        break;
      }
      open[nopen] = (region){ev.field[0], ev.field[1], NULL, false, false};
      idx[nopen++] = w->nrend;
      w->rend[w->nrend++] = w->last;
    } else if ((int)ev.kind == w->k_region_end) {
      size_t i = region_closed(open, nopen, ev.field[0], ev.field[1]);
      if (i == SIZE_MAX) continue;
      for (size_t j = i; j < nopen; j++) w->rend[idx[j]] = ev.time; /* inner ones end with it */
      nopen = i;
    }
  }
  free(open);
  free(idx);
  return err;
}

bool et__pp_thread_matches(const et_thread_info *th, const char *want) {
  if (!want) return true;
  if (strcmp(th->name, want) == 0) return true;
  char *end;
  unsigned long long tid = strtoull(want, &end, 10);
  return *want && !*end && tid == th->tid;
}

/* The task that a task_begin of this thread begins.  The model lists each
 * thread's tasks together, in the order they began, so it is usually the
 * next one of the thread's run; the hash table answers otherwise. */
static const et_task *next_task(walker *w, uint64_t id) {
  size_t n = et_trace_task_count(w->t);
  const et_thread_info *th = et_trace_thread(w->t, w->ti);
  if (w->task_next < n) {
    const et_task *tk = et_trace_task(w->t, w->task_next);
    if (tk->id == id && tk->tid == th->tid) {
      w->task_next++;
      return tk;
    }
  }
  const et_task *tk = task_get(&w->tasks, w->t, id);
  if (tk) w->task_next = (size_t)(tk - et_trace_task(w->t, 0)) + 1;
  return tk;
}

/* Where each thread's run of tasks starts in the model's task list. */
static bool task_groups(walker *w) {
  size_t nth = et_trace_thread_count(w->t), ntasks = et_trace_task_count(w->t);
  w->task_group = malloc((nth ? nth : 1) * sizeof *w->task_group);
  if (!w->task_group) return false;
  for (size_t i = 0; i < nth; i++) w->task_group[i] = SIZE_MAX;
  uint64_t prev = 0;
  size_t hint = 0;
  for (size_t k = 0; k < ntasks; k++) {
    uint64_t tid = et_trace_task(w->t, k)->tid;
    if (k > 0 && tid == prev) continue;
    prev = tid;
    /* threads are few next to tasks: find the index by tid, starting where the last one was */
    for (size_t j = 0; j < nth; j++) {
      size_t i = (hint + j) % nth;
      if (et_trace_thread(w->t, i)->tid == tid) {
        if (w->task_group[i] == SIZE_MAX) w->task_group[i] = k;
        hint = i;
        break;
      }
    }
  }
  return true;
}

static void handle_event(walker *w, const et_event *ev) {
  const et__pp_options *o = w->o;
  int kind = ev->kind;
  if (kind == w->k_cpu) {
    if (o->type != ET__PP_CPU || ev->time < o->from || ev->time >= o->to || !w->pass) return;
    uint64_t weight = ev->nfields > 1 ? ev->field[1] : 0;
    uint64_t asked = et_trace_get_info(w->t)->cpu_period_ns;
    if (asked) w->s->period = asked; /* the period asked for, which the trace records */
    else if (weight) w->s->period = gcd(w->s->period, weight);
    if (table_add(w->s, ev->stack, w->ti, w->task, w->task_ptr, w->region_name, 1, weight) != 0) w->err = -ENOMEM;
  } else if (kind == w->k_region_begin) {
    if (!grow((void **)&w->reg, &w->capreg, w->nreg + 1, sizeof *w->reg)) {
      w->err = -ENOMEM;
      return;
    }
    region r = {ev->field[0], ev->field[1], NULL, false, false};
    if (r.task) /* most regions belong to the task this thread is already in */
      r.tk = r.task == w->task ? w->task_ptr : task_get(&w->tasks, w->t, r.task);
    if (o->region) {
      const char *name = et_trace_string(w->t, r.name);
      r.match = name && strcmp(name, o->region) == 0;
      if (r.match) w->s->region_seen = true;
    }
    if (o->min_duration && w->rnext < w->nrend) {
      uint64_t end = w->rend[w->rnext];
      r.longer = end >= ev->time && end - ev->time >= o->min_duration;
    }
    w->rnext++;
    w->reg[w->nreg++] = r;
    ctx_eval(w);
  } else if (kind == w->k_region_end) {
    size_t i = region_closed(w->reg, w->nreg, ev->field[0], ev->field[1]);
    if (i == SIZE_MAX) return;
    w->nreg = i;
    ctx_eval(w);
  } else if (kind == w->k_task_begin) {
    const et_task *tk = next_task(w, ev->field[0]);
    uint64_t end = tk ? tk->end : UINT64_MAX;
    if (end < ev->time) return;
    if (!grow((void **)&w->own, &w->capown, w->nown + 1, sizeof *w->own)) {
      w->err = -ENOMEM;
      return;
    }
    w->own[w->nown++] = (owned){ev->field[0], end, tk};
    ctx_eval(w);
  } else if (kind == w->k_task_end) {
    size_t j = 0;
    for (size_t i = 0; i < w->nown; i++)
      if (w->own[i].id != ev->field[0]) w->own[j++] = w->own[i];
    if (j == w->nown) return;
    w->nown = j;
    ctx_eval(w);
  }
}

static int walk_thread(walker *w, uint32_t ti) {
  const et_thread_info *th = et_trace_thread(w->t, ti);
  w->ti = ti;
  w->nsp = et_trace_spans(w->t, ti, &w->sp);
  w->k = 0;
  w->last = th->last;
  w->at = w->nsp ? w->sp[0].start : th->first;
  memset(w->sig, 0, sizeof w->sig);
  enter_span(w);
  w->nreg = w->nown = w->rnext = 0;
  w->task_next = w->task_group[ti];
  if (w->o->min_duration && regions_prepass(w) != 0) return -ENOMEM;
  ctx_eval(w);

  et_cursor c;
  et_event ev;
  et_cursor_init(&c, w->t, ti);
  while (!w->err && et_cursor_next(&c, &ev)) {
    advance(w, ev.time);
    handle_event(w, &ev);
    if ((++w->done & 0xffff) == 0) show_progress(w, false);
  }
  advance(w, w->last);
  return w->err;
}

int et__pp_collect(const et_trace *t, const et__pp_options *o, et__pp_samples *s) {
  walker w;
  memset(&w, 0, sizeof w);
  w.t = t;
  w.o = o;
  w.s = s;
  const et_trace_info *info = et_trace_get_info(t);
  w.trace_end = info->duration_ns;
  w.total = info->events;
  w.k_region_begin = et_trace_kind_by_name(t, "region_begin");
  w.k_region_end = et_trace_kind_by_name(t, "region_end");
  w.k_task_begin = et_trace_kind_by_name(t, "task_begin");
  w.k_task_end = et_trace_kind_by_name(t, "task_end");
  w.k_cpu = et_trace_kind_by_name(t, "cpu_sample");
  clock_gettime(CLOCK_MONOTONIC, &w.shown);
  size_t n = et_trace_thread_count(t);
  int err = task_groups(&w) ? 0 : -ENOMEM;
  for (size_t i = 0; !err && i < n; i++) {
    const et_thread_info *th = et_trace_thread(t, i);
    if (!et__pp_thread_matches(th, o->thread)) {
      w.done += th->events;
      continue;
    }
    err = walk_thread(&w, (uint32_t)i);
  }
  show_progress(&w, true);
  free(w.tasks.slot);
  free(w.task_group);
  if (!err && w.tasks.failed) err = -ENOMEM;
  free(w.reg);
  free(w.own);
  free(w.rend);
  return err;
}

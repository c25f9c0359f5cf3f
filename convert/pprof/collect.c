/* Collecting a profile's samples in one walk over the trace.
 *
 * The reader's walk (et_trace_open_walk) hands out every event in time
 * order and each thread's state spans as the model derives them, without
 * keeping them, so a profile of a trace of any size needs memory only for
 * its samples.  Per thread, the events change the context — the regions it
 * is in, the task it works for — and carry the CPU samples; the spans carry
 * the waits.  Every stretch of a span that matches the profile type, lies
 * in the --from/--to window and whose context passes the filters is added
 * to a hash table keyed by (stack, thread, task, region).  --min-duration
 * needs to know how long tasks and regions last when they begin, so it
 * loads the model first and walks it again.  --thread is applied at the
 * end, when threads' names are known.
 *
 * Which task a moment belongs to: the task of the innermost enclosing
 * region that names one; outside such regions, the latest task begun on
 * this thread that has not ended yet.  So a request's time is attributed to
 * it through its regions on any thread (as Go does), and also on the thread
 * that began it between task_begin and task_end (as Go's trace viewer does).
 *
 * Contentions: each wait counts once, also when a nested wait splits it
 * (a BLOCKED span inside a system call leaves the call's SYSCALL span in two
 * pieces; the walk marks the second ET_SPAN_RESUMED) or the window or a
 * context change cuts it.  The walk hands out only the spans of the states
 * the type counts, each with the span after it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../events/catalog.h"
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

/* Adds to the sample of this key; *at (if not NULL) gets its slot. */
static int table_add_at(et__pp_samples *s, uint32_t stack, uint32_t thread, uint64_t task, const char *type,
                        uint64_t region, uint64_t count, uint64_t value, size_t *at) {
  if (stack == FREE_SLOT) stack = 0; /* cannot be a defined id in practice; keep the marker free */
  if ((s->n + 1) * 4 > s->cap * 3 && table_grow(s) != 0) return -ENOMEM;
  size_t j = key_hash(stack, thread, task, region) & (s->cap - 1);
  for (;;) {
    et__pp_sample *e = &s->slot[j];
    if (e->stack == FREE_SLOT) {
      *e = (et__pp_sample){stack, thread, task, region, count, value, type};
      s->n++;
      if (at) *at = j;
      return 0;
    }
    if (e->stack == stack && e->thread == thread && e->task == task && e->region == region) {
      e->count += count;
      e->value += value;
      if (at) *at = j;
      return 0;
    }
    j = (j + 1) & (s->cap - 1);
  }
}

static int table_add(et__pp_samples *s, uint32_t stack, uint32_t thread, uint64_t task, const char *type,
                     uint64_t region, uint64_t count, uint64_t value) {
  return table_add_at(s, stack, thread, task, type, region, count, value, NULL);
}

void et__pp_samples_free(et__pp_samples *s) {
  free(s->slot);
  memset(s, 0, sizeof *s);
}

/* ---- tasks by id, as the walk meets them (or from the model) ---- */

typedef struct tinfo {
  uint64_t id, parent, begin_time, end; /* end: UINT64_MAX until known */
  const char *type;
  uint32_t owner;           /* the thread that began it */
} tinfo;

/* Tasks live in blocks that never move, so regions and contexts keep
 * pointers to them. */
#define TASK_BLOCK 4096

typedef struct task_map {
  uint64_t *key; /* id + 1; 0 marks a free slot */
  uint32_t *idx; /* the task's number */
  size_t cap;
  tinfo **blocks;
  size_t n, capblocks;
} task_map;

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

static tinfo *task_at(const task_map *m, size_t i) { return &m->blocks[i / TASK_BLOCK][i % TASK_BLOCK]; }

static tinfo *task_get(const task_map *m, uint64_t id) {
  if (id == 0 || id == UINT64_MAX || !m->cap) return NULL;
  size_t j = mix(id + 1) & (m->cap - 1);
  while (m->key[j]) {
    if (m->key[j] == id + 1) return task_at(m, m->idx[j]);
    j = (j + 1) & (m->cap - 1);
  }
  return NULL;
}

/* Adds a task unless its id is known; returns it (NULL when out of memory). */
static tinfo *task_put(task_map *m, const tinfo *ti) {
  tinfo *have = task_get(m, ti->id);
  if (have || ti->id == 0 || ti->id == UINT64_MAX) return have;
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *key = calloc(cap, sizeof *key);
    uint32_t *idx = malloc(cap * sizeof *idx);
    if (!key || !idx) {
      free(key);
      free(idx);
      return NULL;
    }
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->key[i]) continue;
      size_t j = mix(m->key[i]) & (cap - 1);
      while (key[j]) j = (j + 1) & (cap - 1);
      key[j] = m->key[i];
      idx[j] = m->idx[i];
    }
    free(m->key);
    free(m->idx);
    m->key = key;
    m->idx = idx;
    m->cap = cap;
  }
  if (m->n >= UINT32_MAX) return NULL;
  if (m->n % TASK_BLOCK == 0) {
    size_t b = m->n / TASK_BLOCK;
    if (!grow((void **)&m->blocks, &m->capblocks, b + 1, sizeof *m->blocks)) return NULL;
    if (!(m->blocks[b] = malloc(TASK_BLOCK * sizeof **m->blocks))) return NULL;
  }
  size_t j = mix(ti->id + 1) & (m->cap - 1);
  while (m->key[j]) j = (j + 1) & (m->cap - 1);
  m->key[j] = ti->id + 1;
  m->idx[j] = (uint32_t)m->n;
  tinfo *e = task_at(m, m->n++);
  *e = *ti;
  return e;
}

static void task_map_free(task_map *m) {
  free(m->key);
  free(m->idx);
  for (size_t b = 0; b * TASK_BLOCK < m->n; b++) free(m->blocks[b]);
  free(m->blocks);
}

/* ---- per-thread state ---- */

typedef struct region {
  uint64_t task, name; /* name: string id */
  const tinfo *tk;     /* the task, NULL if unknown */
  bool match;          /* named as --region asks */
  bool longer;         /* lasted at least --min-duration */
} region;

typedef struct owned {
  uint64_t id, end; /* a task begun on this thread; end: when it ends (UINT64_MAX: not yet known) */
} owned;

/* A stretch of a lock wait, waiting to learn the stack of the wake that ends it. */
typedef struct piece {
  uint64_t task, region, count, value;
  const char *type;
} piece;

typedef struct pth {
  bool started, has_cur, counted, cont;
  bool want; /* the profile counts time in the current span */
  et_span cur;
  uint64_t at;
  region *reg;
  size_t nreg, capreg;
  owned *own;
  size_t nown, capown;
  uint64_t *rend; /* with --min-duration: each region's end, in begin order */
  size_t nrend, rnext;
  piece *pc;
  size_t npc, cappc;
  /* the context */
  uint64_t task, region_name;
  const tinfo *task_ptr;
  bool pass;
  /* the slots this thread added to last, while the table's size is memo_cap */
  size_t memo[2], memo_cap;
} pth;

typedef struct walker {
  const et__pp_options *o;
  et__pp_samples *s;
  task_map tasks;
  pth *th;
  size_t nth;
  uint64_t trace_end;
  int k_region_begin, k_region_end, k_task_begin, k_task_end, k_cpu;
  uint64_t cpu_period;
  bool ready;
  /* progress */
  uint64_t done, total;
  struct timespec shown;
  bool progress_printed;
  int err;
} walker;

static uint64_t task_duration(const walker *w, const tinfo *tk) {
  uint64_t end = tk->end == UINT64_MAX ? w->trace_end : tk->end;
  return end > tk->begin_time ? end - tk->begin_time : 0;
}

/* True if task id is want or one of its descendants. */
static bool descends(const walker *w, uint64_t id, uint64_t want) {
  for (int depth = 0; id != 0 && depth < 256; depth++) {
    if (id == want) return true;
    const tinfo *tk = task_get(&w->tasks, id);
    if (!tk) return false;
    id = tk->parent;
  }
  return false;
}

/* Recomputes thread p's task, region label and whether the filters pass. */
static void ctx_eval(walker *w, pth *p) {
  const et__pp_options *o = w->o;
  uint64_t task = 0;
  const tinfo *tk = NULL;
  for (size_t i = p->nreg; i-- > 0;)
    if (p->reg[i].task) {
      task = p->reg[i].task;
      tk = p->reg[i].tk;
      break;
    }
  if (!task && p->nown) {
    task = p->own[p->nown - 1].id;
    tk = task_get(&w->tasks, task);
  }
  p->task = task;
  p->task_ptr = tk;
  p->region_name = p->nreg ? p->reg[p->nreg - 1].name : 0;

  bool pass = true;
  if (o->has_task) pass = pass && task && descends(w, task, o->task);
  if (o->task_type) pass = pass && tk && tk->type && strcmp(tk->type, o->task_type) == 0;
  bool any_match = false, any_match_long = false, any_long = false;
  for (size_t i = 0; i < p->nreg; i++) {
    any_match |= p->reg[i].match;
    any_match_long |= p->reg[i].match && p->reg[i].longer;
    any_long |= p->reg[i].longer;
  }
  if (o->region) {
    pass = pass && (o->min_duration ? any_match_long : any_match);
  } else if (o->min_duration) {
    bool task_long = tk && task_duration(w, tk) >= o->min_duration;
    if (o->has_task || o->task_type) pass = pass && task_long;
    else pass = pass && (task_long || any_long);
  }
  p->pass = pass;
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

static bool is_lock_wait(const et_span *sp) {
  return sp->state == ET_STATE_BLOCKED && (sp->reason == ET_REASON_MUTEX || sp->reason == ET_REASON_RWLOCK);
}

static void add(walker *w, pth *p, uint32_t stack, uint32_t thread, uint64_t task, const char *type,
                uint64_t region_id, uint64_t count, uint64_t value) {
  et__pp_samples *s = w->s;
  if (p->memo_cap == s->cap && s->cap) /* a thread adds to the same few samples again and again */
    for (int i = 0; i < 2; i++) {
      et__pp_sample *e = &s->slot[p->memo[i]];
      if (e->stack == (stack == FREE_SLOT ? 0 : stack) && e->thread == thread && e->task == task &&
          e->region == region_id) {
        e->count += count;
        e->value += value;
        return;
      }
    }
  size_t at;
  if (table_add_at(s, stack, thread, task, type, region_id, count, value, &at) != 0) {
    w->err = -ENOMEM;
    return;
  }
  p->memo[1] = p->memo_cap == s->cap ? p->memo[0] : at;
  p->memo[0] = at;
  p->memo_cap = s->cap;
}

/* Charges [a, b) of thread ti's current span, if the type, the window and the filters want it. */
/* Whether the profile type counts time in span sp. */
static bool wants(int type, const et_span *sp) {
  switch (type) {
    case ET__PP_SYNC: return sp->state == ET_STATE_BLOCKED && reason_is_sync(sp->reason);
    case ET__PP_NET:
      return (sp->state == ET_STATE_BLOCKED && (sp->reason == ET_REASON_NET || sp->reason == ET_REASON_POLL)) ||
             (sp->state == ET_STATE_SYSCALL && sp->reason == ET_FDCLASS_SOCKET);
    case ET__PP_SYSCALL: return sp->state == ET_STATE_SYSCALL;
    case ET__PP_SCHED: return sp->state == ET_STATE_RUNNABLE;
    case ET__PP_BLOCK: /* every wait, and what net counts: block covers sync and net */
      return sp->state == ET_STATE_BLOCKED || (sp->state == ET_STATE_SYSCALL && sp->reason == ET_FDCLASS_SOCKET);
    case ET__PP_MUTEX: return is_lock_wait(sp);
    default: return false;
  }
}

static void charge(walker *w, pth *p, uint32_t ti, uint64_t a, uint64_t b) {
  const et__pp_options *o = w->o;
  if (!p->want) return;
  if (a < o->from) a = o->from;
  if (b > o->to) b = o->to;
  if (b <= a || !p->pass) return;
  const et_span *sp = &p->cur;
  uint64_t count = !p->counted && !p->cont ? 1 : 0;
  p->counted = true;
  const char *type = p->task_ptr ? p->task_ptr->type : NULL;
  if (o->type == ET__PP_MUTEX) {
    /* A lock wait ended by a wake: the span after it is RUNNABLE with the
     * waker's (the unlocker's) stack, which takes the whole wait; until it
     * comes, the stretches wait here. */
    if (!grow((void **)&p->pc, &p->cappc, p->npc + 1, sizeof *p->pc)) {
      w->err = -ENOMEM;
      return;
    }
    p->pc[p->npc++] = (piece){p->task, p->region_name, count, b - a, type};
    return;
  }
  add(w, p, sp->stack, ti, p->task, type, p->region_name, count, b - a);
}

/* Charges p's current span from p->at up to end with the current context. */
static void charge_to(walker *w, pth *p, uint32_t ti, uint64_t end) {
  if (end <= p->at) return;
  if (p->has_cur) charge(w, p, ti, p->at, end);
  p->at = end;
}

/* Moves p's time to end: tasks of this thread that end elsewhere expire on the way. */
static void advance(walker *w, pth *p, uint32_t ti, uint64_t end) {
  while (p->nown) {
    uint64_t first = UINT64_MAX;
    for (size_t i = 0; i < p->nown; i++)
      if (p->own[i].end < first) first = p->own[i].end;
    if (first > end) break;
    charge_to(w, p, ti, first);
    size_t j = 0;
    for (size_t i = 0; i < p->nown; i++)
      if (p->own[i].end > first) p->own[j++] = p->own[i];
    p->nown = j;
    ctx_eval(w, p);
  }
  charge_to(w, p, ti, end);
}

static void show_progress(walker *w, bool final) {
  if (!w->o->progress) return;
  if (final) {
    if (w->progress_printed) fprintf(stderr, "\r\033[K");
    return;
  }
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double dt = (double)(now.tv_sec - w->shown.tv_sec) + (double)(now.tv_nsec - w->shown.tv_nsec) / 1e9;
  if (dt < 0.25) return;
  w->shown = now;
  w->progress_printed = true;
  if (w->total)
    fprintf(stderr, "\rexectrace pprof: %3.0f%% of %" PRIu64 " events\033[K", 100.0 * (double)w->done / (double)w->total,
            w->total);
  else
    fprintf(stderr, "\rexectrace pprof: %" PRIu64 " events\033[K", w->done);
}

/* The open region that an end of (task, name) closes: the innermost one
 * with the same task and name, or SIZE_MAX (it began before the trace). */
static size_t region_closed(const region *reg, size_t n, uint64_t task, uint64_t name) {
  for (size_t i = n; i-- > 0;)
    if (reg[i].task == task && reg[i].name == name) return i;
  return SIZE_MAX;
}

/* With --min-duration: the end of each region of thread ti, in the order
 * they begin, matched exactly as the walk matches them.  A region that
 * never ends lasts until the thread's last event. */
static int regions_prepass(walker *w, const et_trace *t, size_t ti) {
  pth *p = &w->th[ti];
  region *open = NULL;
  size_t *idx = NULL, nopen = 0, capopen = 0, capidx = 0, caprend = 0;
  uint64_t last = et_trace_thread(t, ti)->last;
  int err = 0;
  et_cursor c;
  et_event ev;
  et_cursor_init(&c, t, ti);
  while (et_cursor_next(&c, &ev)) {
    if ((int)ev.kind == w->k_region_begin) {
      if (!grow((void **)&p->rend, &caprend, p->nrend + 1, sizeof *p->rend) ||
          !grow((void **)&open, &capopen, nopen + 1, sizeof *open) ||
          !grow((void **)&idx, &capidx, nopen + 1, sizeof *idx)) {
        err = -ENOMEM;
        break;
      }
      open[nopen] = (region){ev.field[0], ev.field[1], NULL, false, false};
      idx[nopen++] = p->nrend;
      p->rend[p->nrend++] = last;
    } else if ((int)ev.kind == w->k_region_end) {
      size_t i = region_closed(open, nopen, ev.field[0], ev.field[1]);
      if (i == SIZE_MAX) continue;
      for (size_t j = i; j < nopen; j++) p->rend[idx[j]] = ev.time; /* inner ones end with it */
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

/* ---- the walk's handlers ---- */

/* Frees what thread p collected (it has ended, or the walk is over). */
static void pth_free(pth *p) {
  free(p->reg);
  free(p->own);
  free(p->rend);
  free(p->pc);
  p->reg = NULL;
  p->own = NULL;
  p->rend = NULL;
  p->pc = NULL;
  p->nreg = p->nown = p->nrend = p->npc = 0;
  p->capreg = p->capown = p->cappc = 0;
}

static int setup(walker *w, const et_trace *t) {
  w->ready = true;
  w->nth = et_trace_thread_count(t);
  w->th = calloc(w->nth ? w->nth : 1, sizeof *w->th);
  if (!w->th) return w->err = -ENOMEM;
  w->k_region_begin = et_trace_kind_by_name(t, "region_begin");
  w->k_region_end = et_trace_kind_by_name(t, "region_end");
  w->k_task_begin = et_trace_kind_by_name(t, "task_begin");
  w->k_task_end = et_trace_kind_by_name(t, "task_end");
  w->k_cpu = et_trace_kind_by_name(t, "cpu_sample");
  w->cpu_period = et_trace_get_info(t)->cpu_period_ns;
  return 0;
}

static pth *thread_state(walker *w, const et_trace *t, size_t ti) {
  if (!w->ready && setup(w, t) != 0) return NULL;
  if (ti >= w->nth) return NULL;
  pth *p = &w->th[ti];
  if (!p->started) {
    p->started = true;
    ctx_eval(w, p);
  }
  return p;
}

static void handle_event(walker *w, const et_trace *t, pth *p, uint32_t ti, const et_event *ev) {
  const et__pp_options *o = w->o;
  int kind = ev->kind;
  if (kind == w->k_cpu) {
    if (o->type != ET__PP_CPU || ev->time < o->from || ev->time >= o->to || !p->pass) return;
    uint64_t weight = ev->nfields > 1 ? ev->field[1] : 0;
    if (w->cpu_period) w->s->period = w->cpu_period; /* the period asked for, which the trace records */
    else if (weight) w->s->period = gcd(w->s->period, weight);
    add(w, p, ev->stack, ti, p->task, p->task_ptr ? p->task_ptr->type : NULL, p->region_name, 1, weight);
  } else if (kind == w->k_region_begin) {
    if (!grow((void **)&p->reg, &p->capreg, p->nreg + 1, sizeof *p->reg)) {
      w->err = -ENOMEM;
      return;
    }
    region r = {ev->field[0], ev->field[1], NULL, false, false};
    if (r.task) /* most regions belong to the task this thread is already in */
      r.tk = r.task == p->task ? p->task_ptr : task_get(&w->tasks, r.task);
    if (o->region) {
      const char *name = et_trace_string(t, r.name);
      r.match = name && strcmp(name, o->region) == 0;
      if (r.match) w->s->region_seen = true;
    }
    if (o->min_duration && p->rnext < p->nrend) {
      uint64_t end = p->rend[p->rnext];
      r.longer = end >= ev->time && end - ev->time >= o->min_duration;
    }
    p->rnext++;
    p->reg[p->nreg++] = r;
    ctx_eval(w, p);
  } else if (kind == w->k_region_end) {
    size_t i = region_closed(p->reg, p->nreg, ev->field[0], ev->field[1]);
    if (i == SIZE_MAX) return;
    p->nreg = i;
    ctx_eval(w, p);
  } else if (kind == w->k_task_begin) {
    const char *type = et_trace_string(t, ev->field[2]);
    tinfo *tk = task_put(&w->tasks, &(tinfo){ev->field[0], ev->field[1], ev->time, UINT64_MAX, type ? type : "", ti});
    if (!tk) {
      if (ev->field[0] != 0 && ev->field[0] != UINT64_MAX) w->err = -ENOMEM;
      return;
    }
    if (tk->end < ev->time) return;
    if (!grow((void **)&p->own, &p->capown, p->nown + 1, sizeof *p->own)) {
      w->err = -ENOMEM;
      return;
    }
    p->own[p->nown++] = (owned){ev->field[0], tk->end};
    ctx_eval(w, p);
  } else if (kind == w->k_task_end) {
    tinfo *tk = task_get(&w->tasks, ev->field[0]);
    if (tk && tk->end == UINT64_MAX) tk->end = ev->time;
    size_t j = 0;
    for (size_t i = 0; i < p->nown; i++)
      if (p->own[i].id != ev->field[0]) p->own[j++] = p->own[i];
    if (j != p->nown) {
      p->nown = j;
      ctx_eval(w, p);
    } else if (tk && tk->owner != ti && tk->owner < w->nth) {
      /* It ends on another thread: its own thread's context changes then. */
      pth *q = &w->th[tk->owner];
      for (size_t i = 0; i < q->nown; i++)
        if (q->own[i].id == ev->field[0] && q->own[i].end > ev->time) q->own[i].end = ev->time;
    }
  }
}

static int on_event(void *arg, const et_trace *t, size_t ti, const et_event *ev) {
  walker *w = arg;
  pth *p = thread_state(w, t, ti);
  if (!p) return w->err;
  advance(w, p, (uint32_t)ti, ev->time);
  handle_event(w, t, p, (uint32_t)ti, ev);
  if ((++w->done & 0xffff) == 0) show_progress(w, false);
  return w->err;
}

/* A new span: nothing of it is counted yet; it continues a wait that a
 * nested one interrupted if the walk says so (then it is the same wait and
 * the same contention). */
static void enter_span(pth *p) {
  const et_span *sp = &p->cur;
  p->counted = false;
  p->cont = (sp->flags & ET_SPAN_RESUMED) && (sp->state == ET_STATE_BLOCKED || sp->state == ET_STATE_SYSCALL);
}

/* The mutex profile's waiting stretches: charged to the wake's stack if
 * the next span is the RUNNABLE one a wake began, else dropped. */
static void settle_pieces(walker *w, pth *p, uint32_t ti, const et_span *next) {
  if (next && next->state == ET_STATE_RUNNABLE)
    for (size_t i = 0; i < p->npc; i++)
      add(w, p, next->stack, ti, p->pc[i].task, p->pc[i].type, p->pc[i].region, p->pc[i].count, p->pc[i].value);
  p->npc = 0;
}

static int on_span(void *arg, const et_trace *t, size_t ti, const et_span *sp) {
  walker *w = arg;
  pth *p = thread_state(w, t, ti);
  if (!p) return w->err;
  if (p->want || p->nown) advance(w, p, (uint32_t)ti, sp->start);
  else if (sp->start > p->at) p->at = sp->start; /* nothing to charge up to here */
  if (p->npc) settle_pieces(w, p, (uint32_t)ti, sp);
  p->cur = *sp;
  p->has_cur = true;
  p->want = wants(w->o->type, sp);
  enter_span(p);
  return w->err;
}

static int on_thread_end(void *arg, const et_trace *t, size_t ti, uint64_t last) {
  walker *w = arg;
  pth *p = thread_state(w, t, ti);
  if (!p) return w->err;
  advance(w, p, (uint32_t)ti, last);
  settle_pieces(w, p, (uint32_t)ti, NULL);
  pth_free(p);
  return w->err;
}


/* Keeps only the samples of threads that --thread names. */
static void keep_thread(et__pp_samples *s, const et_trace *t, const char *want) {
  et__pp_samples kept = {0};
  kept.period = s->period;
  kept.region_seen = s->region_seen;
  for (size_t i = 0; i < s->cap; i++) {
    const et__pp_sample *e = &s->slot[i];
    if (e->stack == FREE_SLOT || !et__pp_thread_matches(et_trace_thread(t, e->thread), want)) continue;
    if (table_add(&kept, e->stack, e->thread, e->task, e->task_type, e->region, e->count, e->value) != 0) {
      et__pp_samples_free(&kept);
      return; /* out of memory: keep all rather than lose the profile (-ENOMEM below) */
    }
  }
  et__pp_samples_free(s);
  *s = kept;
}

int et__pp_collect(const char *path, const et__pp_options *o, et__pp_samples *s, et_trace **out, int *load_err) {
  walker w;
  memset(&w, 0, sizeof w);
  w.o = o;
  w.s = s;
  /* The frequent kinds that only change states come as spans: skip their
   * events (wire numbers never change; other kinds are looked up by name). */
  unsigned char kinds[256];
  memset(kinds, 1, sizeof kinds);
  kinds[ET_EV_BLOCK_BEGIN] = kinds[ET_EV_BLOCK_END] = kinds[ET_EV_WAKE] = 0;
  kinds[ET_EV_SYSCALL_BEGIN] = kinds[ET_EV_SYSCALL_END] = 0;
  /* Only the spans the type counts (and the span after each, which ends it). */
  unsigned states = 1u << 0; /* cpu: none (no span has state 0) */
  switch (o->type) {
    case ET__PP_SYNC:
    case ET__PP_MUTEX: states = 1u << ET_STATE_BLOCKED; break;
    case ET__PP_NET:
    case ET__PP_BLOCK: states = 1u << ET_STATE_BLOCKED | 1u << ET_STATE_SYSCALL; break;
    case ET__PP_SYSCALL: states = 1u << ET_STATE_SYSCALL; break;
    case ET__PP_SCHED: states = 1u << ET_STATE_RUNNABLE; break;
    default: break;
  }
  et_walk_handlers handlers = {on_event, on_span, on_thread_end, kinds, states};
  *out = NULL;
  *load_err = 0;
  clock_gettime(CLOCK_MONOTONIC, &w.shown);
  et_trace *t = NULL;
  int err;
  if (o->min_duration) {
    /* How long tasks and regions last must be known when they begin. */
    err = et_trace_open(path, &t);
    if (err) {
      *load_err = err;
      return err;
    }
    const et_trace_info *info = et_trace_get_info(t);
    w.trace_end = info->duration_ns;
    w.total = info->events;
    err = setup(&w, t);
    for (size_t i = 0; !err && i < et_trace_task_count(t); i++) {
      const et_task *tk = et_trace_task(t, i);
      uint64_t owner = 0;
      for (size_t k = 0; k < w.nth; k++)
        if (et_trace_thread(t, k)->tid == tk->tid) owner = k;
      if (!task_put(&w.tasks, &(tinfo){tk->id, tk->parent, tk->begin, tk->end, tk->type, (uint32_t)owner}) &&
          tk->id != 0 && tk->id != UINT64_MAX)
        err = -ENOMEM;
    }
    for (size_t i = 0; !err && i < w.nth; i++) err = regions_prepass(&w, t, i);
    if (!err) err = et_trace_walk(t, &handlers, &w);
  } else {
    err = et_trace_open_walk(path, &handlers, &w, &t);
    if (err && !w.err) {
      *load_err = err;
      et_trace_close(t);
      t = NULL;
    }
  }
  show_progress(&w, true);
  if (!err && w.err) err = w.err;
  if (w.th)
    for (size_t i = 0; i < w.nth; i++) pth_free(&w.th[i]);
  free(w.th);
  task_map_free(&w.tasks);
  if (!err && o->thread) keep_thread(s, t, o->thread);
  *out = t;
  return err;
}

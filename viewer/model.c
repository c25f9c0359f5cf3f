/* Loading the viewer's data in one walk over the trace (see model.h), and the
 * queries the frame, the hit tests and the summaries make on it. */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct vw_task_id {
  uint64_t id;
  uint64_t idx;
} vw_task_id;

enum {
  K_NONE,
  K_WAKE,
  K_GC_BEGIN,
  K_GC_END,
  K_PHASE_BEGIN,
  K_PHASE_END,
  K_STW_BEGIN,
  K_STW_END,
  K_HEAP_LIVE,
  K_HEAP_GOAL,
  K_COUNTER,
  K_SAMPLE,
  K_REGION_BEGIN,
  K_REGION_END,
  K_LOG,
  K_DROP,
};

static bool vec_push(vw_vec *v, const void *item, size_t size) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    void *p = realloc(v->p, cap * size);
    if (!p) return false;
    v->p = p;
    v->cap = cap;
  }
  memcpy((char *)v->p + v->n * size, item, size);
  v->n++;
  return true;
}

static void vec_shrink(vw_vec *v, size_t size) {
  if (v->n && v->n < v->cap) {
    void *p = realloc(v->p, v->n * size);
    if (p) {
      v->p = p;
      v->cap = v->n;
    }
  }
}

int vw_span_cat(const et_span *s) {
  switch (s->state) {
    case ET_STATE_RUNNING: return VW_CAT_RUNNING;
    case ET_STATE_RUNNABLE: return VW_CAT_RUNNABLE;
    case ET_STATE_SYSCALL: return VW_CAT_SYSCALL;
    case ET_STATE_GC: return VW_CAT_GC;
    case ET_STATE_BLOCKED:
      switch (s->reason) {
        case ET_REASON_MUTEX:
        case ET_REASON_RWLOCK:
        case ET_REASON_COND:
        case ET_REASON_SEM:
        case ET_REASON_JOIN:
        case ET_REASON_BARRIER: return VW_CAT_SYNC;
        case ET_REASON_NET:
        case ET_REASON_POLL: return VW_CAT_NET;
        case ET_REASON_FILE:
        case ET_REASON_PIPE: return VW_CAT_IO;
        case ET_REASON_SLEEP: return VW_CAT_SLEEP;
        default: return VW_CAT_BLOCKED;
      }
    default: return VW_CAT_BLOCKED;
  }
}

const char *vw_cat_name(int c) {
  static const char *const names[VW_CAT_COUNT] = {
      "running", "runnable", "blocked: sync", "blocked: net", "blocked: file I/O",
      "blocked: sleep", "blocked: other", "syscall", "stopped by GC",
  };
  return c >= 0 && c < VW_CAT_COUNT ? names[c] : "?";
}

/* ---- the walk ---- */

static vw_thread *thread_of(vw_model *m, size_t th) {
  if (th >= m->nthreads) {
    size_t n = th + 1 > m->nthreads * 2 ? th + 1 : m->nthreads * 2;
    vw_thread *p = realloc(m->threads, n * sizeof *p);
    if (!p) return NULL;
    memset(p + m->nthreads, 0, (n - m->nthreads) * sizeof *p);
    m->threads = p;
    m->nthreads = n;
  }
  return &m->threads[th];
}

static unsigned field_of(const et_trace *t, int kind, const char *name, unsigned dflt) {
  if (kind < 0) return dflt;
  unsigned n = et_trace_field_count(t, (unsigned)kind);
  for (unsigned i = 0; i < n; i++) {
    const char *f = et_trace_field_name(t, (unsigned)kind, i);
    if (f && strcmp(f, name) == 0) return i;
  }
  return dflt;
}

/* Which kinds we want, by the names of the trace's own catalogue. */
static void kinds_init(vw_model *m, const et_trace *t) {
  static const struct {
    const char *name;
    unsigned char k;
  } want[] = {
      {"wake", K_WAKE},           {"gc_begin", K_GC_BEGIN},         {"gc_end", K_GC_END},
      {"gc_phase_begin", K_PHASE_BEGIN}, {"gc_phase_end", K_PHASE_END}, {"stw_begin", K_STW_BEGIN},
      {"stw_end", K_STW_END},     {"heap_live", K_HEAP_LIVE},       {"heap_goal", K_HEAP_GOAL},
      {"counter", K_COUNTER},     {"cpu_sample", K_SAMPLE},         {"region_begin", K_REGION_BEGIN},
      {"region_end", K_REGION_END}, {"log", K_LOG},                 {"drop", K_DROP},
  };
  memset(m->kinds, 0, sizeof m->kinds);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    int k = et_trace_kind_by_name(t, want[i].name);
    if (k >= 0 && k < 256) m->kinds[k] = want[i].k;
  }
  int rb = et_trace_kind_by_name(t, "region_begin"), re = et_trace_kind_by_name(t, "region_end");
  int lg = et_trace_kind_by_name(t, "log"), ct = et_trace_kind_by_name(t, "counter");
  m->f_region_task = field_of(t, rb, "task", 0);
  m->f_region_name = field_of(t, rb, "name", 1);
  (void)re;
  m->f_log_task = field_of(t, lg, "task", 0);
  m->f_log_cat = field_of(t, lg, "category", 1);
  m->f_log_msg = field_of(t, lg, "message", 2);
  m->f_counter_name = field_of(t, ct, "name", 0);
  m->f_counter_value = field_of(t, ct, "value", 1);
  m->f_sample_stack = field_of(t, et_trace_kind_by_name(t, "cpu_sample"), "stack", 0);
  m->f_drop_count = field_of(t, et_trace_kind_by_name(t, "drop"), "count", 0);
  m->f_phase_name = field_of(t, et_trace_kind_by_name(t, "gc_phase_begin"), "name", 0);
  m->f_stw_reason = field_of(t, et_trace_kind_by_name(t, "stw_begin"), "reason", 0);
  m->kinds_ready = true;
}

typedef struct load_ctx {
  vw_model *m;
  vw_progress *p;
  bool oom;
  unsigned char filter[256];
} load_ctx;

static vw_series *series_of(vw_model *m, uint64_t id, const char *name) {
  for (size_t i = 0; i < m->nseries; i++)
    if (m->series[i].id == id && (id || strcmp(m->series[i].name, name) == 0)) return &m->series[i];
  vw_series *p = realloc(m->series, (m->nseries + 1) * sizeof *p);
  if (!p) return NULL;
  m->series = p;
  vw_series *s = &p[m->nseries++];
  memset(s, 0, sizeof *s);
  s->id = id;
  snprintf(s->name, sizeof s->name, "%s", name);
  s->min = INT64_MAX;
  s->max = INT64_MIN;
  return s;
}

static void region_close(vw_thread *th, int depth, uint64_t end, bool *oom) {
  vw_region r = th->open[depth];
  r.end = end;
  if (!vec_push(&th->depth[depth], &r, sizeof r)) *oom = true;
  if (depth + 1 > th->ndepth) th->ndepth = depth + 1;
}

static int on_event(void *arg, const et_trace *t, size_t thi, const et_event *ev) {
  load_ctx *c = arg;
  vw_model *m = c->m;
  if (c->p) atomic_fetch_add_explicit(&c->p->events, 1, memory_order_relaxed);
  vw_thread *th = thread_of(m, thi);
  if (!th) return -ENOMEM;
  switch (m->kinds[ev->kind]) {
    case K_WAKE: {
      vw_wake w = {ev->time, (uint32_t)thi, UINT32_MAX};
      if (!vec_push(&m->wakes, &w, sizeof w)) return -ENOMEM;
      break;
    }
    case K_GC_BEGIN: m->gc_in = true, m->gc_open = ev->time; break;
    case K_GC_END:
      if (m->gc_in) {
        vw_interval iv = {m->gc_open, ev->time, 0, 0};
        if (!vec_push(&m->gc, &iv, sizeof iv)) return -ENOMEM;
        m->gc_in = false;
      }
      break;
    case K_PHASE_BEGIN:
      m->phase_in = true, m->phase_open = ev->time, m->phase_name = (uint32_t)ev->field[m->f_phase_name];
      break;
    case K_PHASE_END:
      if (m->phase_in) {
        vw_interval iv = {m->phase_open, ev->time, m->phase_name, 0};
        if (!vec_push(&m->phases, &iv, sizeof iv)) return -ENOMEM;
        m->phase_in = false;
      }
      break;
    case K_STW_BEGIN:
      m->stw_in = true, m->stw_open = ev->time, m->stw_name = (uint32_t)ev->field[m->f_stw_reason];
      break;
    case K_STW_END:
      if (m->stw_in) {
        vw_interval iv = {m->stw_open, ev->time, m->stw_name, 0};
        if (!vec_push(&m->stw, &iv, sizeof iv)) return -ENOMEM;
        m->stw_in = false;
      }
      break;
    case K_HEAP_LIVE:
    case K_HEAP_GOAL:
    case K_COUNTER: {
      vw_series *s;
      int64_t v;
      if (m->kinds[ev->kind] == K_COUNTER) {
        uint64_t id = ev->field[m->f_counter_name];
        const char *name = et_trace_string(t, id);
        s = series_of(m, id ? id : UINT64_MAX, name ? name : "counter");
        v = (int64_t)ev->field[m->f_counter_value];
      } else {
        s = series_of(m, 0, m->kinds[ev->kind] == K_HEAP_LIVE ? "heap live" : "heap goal");
        v = (int64_t)ev->field[0];
      }
      if (!s) return -ENOMEM;
      vw_point pt = {ev->time, v};
      if (!vec_push(&s->pts, &pt, sizeof pt)) return -ENOMEM;
      if (v < s->min) s->min = v;
      if (v > s->max) s->max = v;
      break;
    }
    case K_SAMPLE: {
      vw_sample s = {ev->time, (uint32_t)ev->field[m->f_sample_stack], 0};
      if (!vec_push(&th->samples, &s, sizeof s)) return -ENOMEM;
      m->samples++;
      break;
    }
    case K_REGION_BEGIN:
      if (th->nopen < VW_MAX_DEPTH) {
        vw_region *r = &th->open[th->nopen++];
        r->start = ev->time;
        r->end = 0;
        r->task = ev->field[m->f_region_task];
        r->name = (uint32_t)ev->field[m->f_region_name];
      } else {
        th->nopen++; /* too deep: counted so that its end pops nothing we keep */
      }
      break;
    case K_REGION_END: {
      if (th->nopen > VW_MAX_DEPTH) {
        th->nopen--;
        break;
      }
      uint32_t name = (uint32_t)ev->field[m->f_region_name];
      int d = th->nopen - 1;
      while (d >= 0 && th->open[d].name != name) d--;
      if (d < 0) break; /* an end without its begin */
      for (int k = th->nopen - 1; k >= d; k--) region_close(th, k, ev->time, &c->oom);
      th->nopen = d;
      if (c->oom) return -ENOMEM;
      break;
    }
    case K_LOG: {
      vw_log l = {ev->time, ev->field[m->f_log_task], (uint32_t)ev->field[m->f_log_cat],
                  (uint32_t)ev->field[m->f_log_msg], ev->bytes};
      if (!ev->bytes) l.len = 0;
      if (!vec_push(&th->logs, &l, sizeof l)) return -ENOMEM;
      break;
    }
    case K_DROP: {
      vw_point pt = {ev->time, (int64_t)ev->field[m->f_drop_count]};
      if (!vec_push(&th->drops, &pt, sizeof pt)) return -ENOMEM;
      break;
    }
    default: break;
  }
  return 0;
}

static void cum_add(vw_thread *th, uint64_t end) {
  const et_span *last = &VW_AT(th->spans, et_span, th->spans.n - 1);
  if (end > last->start) th->tot[vw_span_cat(last)] += end - last->start;
}

static int on_span(void *arg, const et_trace *t, size_t thi, const et_span *s) {
  (void)t;
  load_ctx *c = arg;
  vw_model *m = c->m;
  vw_thread *th = thread_of(m, thi);
  if (!th) return -ENOMEM;
  if (th->spans.n) cum_add(th, s->start);
  if (th->spans.n % VW_BLOCK == 0) {
    vw_cum cu;
    memcpy(cu.ns, th->tot, sizeof cu.ns);
    if (!vec_push(&th->cum, &cu, sizeof cu)) return -ENOMEM;
  }
  if (!vec_push(&th->spans, s, sizeof *s)) return -ENOMEM;
  if (s->state == ET_STATE_RUNNABLE) {
    /* The wake that ended this wait happened at the span's start, on
     * another thread; the walk handed it to us already. */
    size_t n = m->wakes.n, lo = 0, hi = n;
    vw_wake *w = m->wakes.p;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (w[mid].time < s->start) lo = mid + 1;
      else hi = mid;
    }
    for (size_t i = lo; i < n && w[i].time == s->start; i++)
      if (w[i].to == UINT32_MAX && w[i].from != thi) {
        w[i].to = (uint32_t)thi;
        break;
      }
  }
  return 0;
}

static int on_thread_end(void *arg, const et_trace *t, size_t thi, uint64_t last) {
  (void)t;
  load_ctx *c = arg;
  vw_thread *th = thread_of(c->m, thi);
  if (!th) return -ENOMEM;
  if (th->spans.n) cum_add(th, last);
  th->last = last;
  return 0;
}

/* ---- after the walk ---- */

static int cmp_task_id(const void *a, const void *b) {
  const vw_task_id *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

size_t vw_task_index(const vw_model *m, uint64_t id) {
  size_t lo = 0, hi = m->ntasks;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (m->task_by_id[mid].id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo < m->ntasks && m->task_by_id[lo].id == id ? m->task_by_id[lo].idx : SIZE_MAX;
}

int vw_hist_bucket(uint64_t ns) {
  if (ns < 1) ns = 1;
  int b = (int)floor(log10((double)ns) * VW_HIST_PER_DECADE + 1e-9);
  if (b < 0) b = 0;
  if (b >= VW_HIST_BUCKETS) b = VW_HIST_BUCKETS - 1;
  return b;
}

double vw_hist_bucket_low(int b) { return pow(10.0, (double)b / VW_HIST_PER_DECADE); }

static const vw_model *sort_model;
static int cmp_duration(const void *a, const void *b) {
  const et_task *x = et_trace_task(sort_model->t, *(const uint32_t *)a);
  const et_task *y = et_trace_task(sort_model->t, *(const uint32_t *)b);
  uint64_t end = sort_model->info->duration_ns;
  uint64_t dx = (x->end == UINT64_MAX ? end : x->end) - x->begin;
  uint64_t dy = (y->end == UINT64_MAX ? end : y->end) - y->begin;
  if (dx != dy) return dx > dy ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int build_tasks(vw_model *m) {
  size_t n = et_trace_task_count(m->t);
  m->ntasks = n;
  m->task_by_id = malloc((n ? n : 1) * sizeof *m->task_by_id);
  m->task_type = malloc((n ? n : 1) * sizeof *m->task_type);
  if (!m->task_by_id || !m->task_type) return -ENOMEM;
  uint64_t dur = m->info->duration_ns;
  /* per type: the lanes' current ends, for first-fit packing */
  vw_vec *lane_end = NULL;
  for (size_t i = 0; i < n; i++) {
    const et_task *tk = et_trace_task(m->t, i);
    m->task_by_id[i] = (vw_task_id){tk->id, i};
    const char *type = tk->type ? tk->type : "";
    size_t ty = 0;
    while (ty < m->ntypes && strcmp(m->types[ty].name, type) != 0) ty++;
    if (ty == m->ntypes) {
      vw_tasktype *p = realloc(m->types, (m->ntypes + 1) * sizeof *p);
      vw_vec *le = realloc(lane_end, (m->ntypes + 1) * sizeof *le);
      if (p) m->types = p;
      if (le) lane_end = le;
      if (!p || !le) {
        free(lane_end);
        return -ENOMEM;
      }
      memset(&m->types[ty], 0, sizeof m->types[ty]);
      memset(&lane_end[ty], 0, sizeof lane_end[ty]);
      m->types[ty].name = type;
      m->ntypes++;
    }
    m->task_type[i] = (uint32_t)ty;
    vw_tasktype *tt = &m->types[ty];
    tt->ntasks++;
    uint64_t end = tk->end == UINT64_MAX ? dur : tk->end;
    if (end < tk->begin) end = tk->begin;
    tt->hist[vw_hist_bucket(end - tk->begin)]++;
    /* the first lane free at the task's begin (tasks come in begin order) */
    size_t lane = 0;
    uint64_t *ends = lane_end[ty].p;
    while (lane < lane_end[ty].n && ends[lane] > tk->begin) lane++;
    if (lane == lane_end[ty].n) {
      uint64_t zero = 0;
      vw_vec empty = {0};
      if (!vec_push(&lane_end[ty], &zero, sizeof zero) || !vec_push(&tt->lanes_v, &empty, sizeof empty)) {
        free(lane_end);
        return -ENOMEM;
      }
      tt->nlanes++;
    }
    ((uint64_t *)lane_end[ty].p)[lane] = end;
    vw_lane_item it = {tk->begin, end, (uint32_t)i, 0};
    if (!vec_push(&VW_AT(tt->lanes_v, vw_vec, lane), &it, sizeof it)) {
      free(lane_end);
      return -ENOMEM;
    }
  }
  for (size_t ty = 0; ty < m->ntypes; ty++) free(lane_end[ty].p);
  free(lane_end);
  qsort(m->task_by_id, n, sizeof *m->task_by_id, cmp_task_id);
  for (size_t ty = 0; ty < m->ntypes; ty++) {
    vw_tasktype *tt = &m->types[ty];
    tt->by_duration = malloc((tt->ntasks ? tt->ntasks : 1) * sizeof *tt->by_duration);
    if (!tt->by_duration) return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (m->task_type[i] == ty) tt->by_duration[k++] = (uint32_t)i;
    sort_model = m;
    qsort(tt->by_duration, k, sizeof *tt->by_duration, cmp_duration);
  }
  return 0;
}

static int finish(vw_model *m) {
  uint64_t end = m->info->duration_ns;
  bool oom = false;
  m->nthreads = et_trace_thread_count(m->t) < m->nthreads ? m->nthreads : et_trace_thread_count(m->t);
  vw_thread *p = realloc(m->threads, (m->nthreads ? m->nthreads : 1) * sizeof *p);
  if (!p) return -ENOMEM;
  m->threads = p;
  for (size_t i = 0; i < m->nthreads; i++) {
    vw_thread *th = &m->threads[i];
    const et_thread_info *ti = et_trace_thread(m->t, i);
    if (!th->last && ti) th->last = ti->last;
    int open = th->nopen < VW_MAX_DEPTH ? th->nopen : VW_MAX_DEPTH;
    for (int d = open - 1; d >= 0; d--) region_close(th, d, th->last, &oom);
    th->nopen = 0;
    vec_shrink(&th->spans, sizeof(et_span));
    vec_shrink(&th->cum, sizeof(vw_cum));
    vec_shrink(&th->logs, sizeof(vw_log));
    vec_shrink(&th->samples, sizeof(vw_sample));
    for (int d = 0; d < th->ndepth; d++) {
      vec_shrink(&th->depth[d], sizeof(vw_region));
      vw_region *r = th->depth[d].p;
      for (size_t k = 0; k < th->depth[d].n; k++)
        if (!vec_push(&m->region_names, &r[k].name, sizeof r[k].name)) oom = true;
      /* keep region_names distinct as we go: sort+unique below */
    }
  }
  if (oom) return -ENOMEM;
  /* distinct region names */
  uint32_t *names = m->region_names.p;
  size_t nn = m->region_names.n, k = 0;
  if (nn) {
    /* counting distinct ids with a small open-addressing set */
    size_t cap = 64;
    while (cap < nn * 2 && cap < (1u << 20)) cap *= 2;
    uint32_t *set = calloc(cap, sizeof *set);
    if (!set) return -ENOMEM;
    for (size_t i = 0; i < nn; i++) {
      uint32_t id = names[i];
      if (!id) continue;
      size_t h = (id * 2654435761u) & (cap - 1), probes = 0;
      while (set[h] && set[h] != id && probes++ < cap) h = (h + 1) & (cap - 1);
      if (set[h] == id || probes >= cap) continue;
      set[h] = id;
      names[k++] = id;
    }
    free(set);
  }
  m->region_names.n = k;
  vec_shrink(&m->region_names, sizeof(uint32_t));
  if (m->gc_in) {
    vw_interval iv = {m->gc_open, end, 0, 0};
    if (!vec_push(&m->gc, &iv, sizeof iv)) return -ENOMEM;
  }
  if (m->phase_in) {
    vw_interval iv = {m->phase_open, end, m->phase_name, 0};
    if (!vec_push(&m->phases, &iv, sizeof iv)) return -ENOMEM;
  }
  if (m->stw_in) {
    vw_interval iv = {m->stw_open, end, m->stw_name, 0};
    if (!vec_push(&m->stw, &iv, sizeof iv)) return -ENOMEM;
  }
  return build_tasks(m);
}

static int on_event_first(void *arg, const et_trace *t, size_t thi, const et_event *ev);

int vw_model_load(const char *path, vw_progress *p, vw_model **out) {
  *out = NULL;
  vw_model *m = calloc(1, sizeof *m);
  if (!m) return -ENOMEM;
  snprintf(m->path, sizeof m->path, "%s", path);
  struct stat st;
  if (p && stat(path, &st) == 0) atomic_store(&p->bytes, (uint64_t)st.st_size);
  load_ctx c = {m, p, false, {0}};
  /* The catalogue is known only once the walk runs: the first event sets
   * the kind filter up (on_event_first), so until then every kind comes. */
  et_walk_handlers h = {.event = on_event_first, .span = on_span, .thread_end = on_thread_end};
  int err = et_trace_open_walk(path, &h, &c, &m->t);
  if (!err) {
    m->info = et_trace_get_info(m->t);
    err = finish(m);
  }
  if (err) {
    vw_model_free(m);
    return err;
  }
  *out = m;
  return 0;
}

static int on_event_first(void *arg, const et_trace *t, size_t thi, const et_event *ev) {
  load_ctx *c = arg;
  if (!c->m->kinds_ready) kinds_init(c->m, t);
  return on_event(arg, t, thi, ev);
}

void vw_model_free(vw_model *m) {
  if (!m) return;
  for (size_t i = 0; i < m->nthreads; i++) {
    vw_thread *th = &m->threads[i];
    free(th->spans.p);
    free(th->cum.p);
    for (int d = 0; d < VW_MAX_DEPTH; d++) free(th->depth[d].p);
    free(th->logs.p);
    free(th->samples.p);
    free(th->drops.p);
  }
  free(m->threads);
  free(m->wakes.p);
  free(m->gc.p);
  free(m->phases.p);
  free(m->stw.p);
  for (size_t i = 0; i < m->nseries; i++) free(m->series[i].pts.p);
  free(m->series);
  for (size_t i = 0; i < m->ntypes; i++) {
    for (size_t l = 0; l < m->types[i].nlanes; l++) free(VW_AT(m->types[i].lanes_v, vw_vec, l).p);
    free(m->types[i].lanes_v.p);
    free(m->types[i].by_duration);
  }
  free(m->types);
  free(m->task_type);
  free(m->task_by_id);
  free(m->region_names.p);
  et_trace_close(m->t);
  free(m);
}

/* ---- queries ---- */

uint64_t vw_span_end(const vw_model *m, size_t th, size_t i) {
  const vw_thread *t = &m->threads[th];
  return i + 1 < t->spans.n ? VW_AT(t->spans, et_span, i + 1).start : t->last;
}

/* The first span starting after t, minus one: the span covering t. */
static size_t span_upper(const vw_thread *t, uint64_t time) {
  const et_span *s = t->spans.p;
  size_t lo = 0, hi = t->spans.n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s[mid].start <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

size_t vw_span_at(const vw_model *m, size_t th, uint64_t time) {
  if (th >= m->nthreads) return SIZE_MAX;
  const vw_thread *t = &m->threads[th];
  size_t u = span_upper(t, time);
  if (u == 0) return SIZE_MAX;
  if (u == t->spans.n && time >= t->last) return SIZE_MAX;
  return u - 1;
}

/* Time per category of spans [0, i) of thread t plus the part of span i
 * before time (i is the span covering time). */
static void prefix(const vw_model *m, size_t th, uint64_t time, uint64_t ns[VW_CAT_COUNT]) {
  const vw_thread *t = &m->threads[th];
  memset(ns, 0, VW_CAT_COUNT * sizeof *ns);
  if (!t->spans.n) return;
  const et_span *s = t->spans.p;
  if (time <= s[0].start) return;
  if (time >= t->last) {
    memcpy(ns, t->tot, VW_CAT_COUNT * sizeof *ns);
    return;
  }
  size_t i = span_upper(t, time) - 1; /* covers time */
  size_t b = i / VW_BLOCK;
  memcpy(ns, VW_AT(t->cum, vw_cum, b).ns, VW_CAT_COUNT * sizeof *ns);
  for (size_t k = b * VW_BLOCK; k < i; k++) ns[vw_span_cat(&s[k])] += s[k + 1].start - s[k].start;
  ns[vw_span_cat(&s[i])] += time - s[i].start;
}

void vw_thread_time(const vw_model *m, size_t th, uint64_t t0, uint64_t t1, uint64_t ns[VW_CAT_COUNT]) {
  if (th >= m->nthreads || t1 <= t0) return;
  uint64_t a[VW_CAT_COUNT], b[VW_CAT_COUNT];
  prefix(m, th, t0, a);
  prefix(m, th, t1, b);
  for (int c = 0; c < VW_CAT_COUNT; c++) ns[c] += b[c] - a[c];
}

size_t vw_row_first_ending_after(const void *base, size_t stride, size_t n, uint64_t t) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const uint64_t *it = (const uint64_t *)(const void *)((const char *)base + mid * stride);
    if (it[1] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

size_t vw_row_first_starting_at(const void *base, size_t stride, size_t n, size_t from, uint64_t t) {
  size_t lo = from, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const uint64_t *it = (const uint64_t *)(const void *)((const char *)base + mid * stride);
    if (it[0] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

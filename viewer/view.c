/* The view state and what input does to it: zoom, pan, fit, track layout,
 * hit tests, selection and its details, range summaries, search, and the
 * tasks panel.  Drawing is in frame.c; nothing here needs SDL. */
#include "view.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../convert/pprof/pprof.h"

#define MIN_WINDOW_NS 100.0

int vw_view_init(vw_view *v, vw_model *m, int w, int h) {
  memset(v, 0, sizeof *v);
  v->m = m;
  v->w = w;
  v->h = h;
  v->panel_type = -1;
  v->panel_bucket = -1;
  size_t nt = m->nthreads ? m->nthreads : 1;
  v->thr_flags = calloc(nt, 1);
  v->type_flags = calloc(m->ntypes ? m->ntypes : 1, 1);
  v->ser_flags = calloc(m->nseries ? m->nseries : 1, 1);
  v->tracks = calloc(nt + m->nseries + m->ntypes + 4, sizeof *v->tracks);
  if (!v->thr_flags || !v->type_flags || !v->ser_flags || !v->tracks) {
    vw_view_free(v);
    return -ENOMEM;
  }
  /* Task types start with their lanes shown; counters small. */
  for (size_t i = 0; i < m->nseries; i++) v->ser_flags[i] = VW_F_COLLAPSED;
  for (size_t i = 0; i < m->ntypes; i++)
    if (v->panel_type < 0 || m->types[i].ntasks > m->types[v->panel_type].ntasks) v->panel_type = (int)i;
  vw_show_all(v);
  vw_layout(v);
  return 0;
}

void vw_view_free(vw_view *v) {
  free(v->thr_flags);
  free(v->type_flags);
  free(v->ser_flags);
  free(v->tracks);
  free(v->sum.ns);
  free(v->hits);
  free(v->panel_list);
  et__sym_close(v->sym);
  memset(v, 0, sizeof *v);
}

/* ---- geometry and navigation ---- */

int vw_plot_x(const vw_view *v) { return VW_LABEL_W; }

int vw_plot_w(const vw_view *v) {
  int w = v->w - VW_LABEL_W - (v->panel ? VW_PANEL_W : 0);
  return w < 10 ? 10 : w;
}

int vw_tracks_top(const vw_view *v) { return VW_HEADER_H + VW_AXIS_H; }

int vw_tracks_bottom(const vw_view *v) {
  bool details = v->sel.kind != VW_SEL_NONE || v->has_range;
  int b = v->h - (details ? VW_DETAILS_H : 0) - 18; /* status line */
  return b < vw_tracks_top(v) + 20 ? vw_tracks_top(v) + 20 : b;
}

double vw_time_at(const vw_view *v, double x) { return v->t0 + (x - vw_plot_x(v)) * v->nspp; }

double vw_x_of(const vw_view *v, double t) { return vw_plot_x(v) + (t - v->t0) / v->nspp; }

static double trace_end(const vw_view *v) {
  double d = (double)v->m->info->duration_ns;
  return d < MIN_WINDOW_NS ? MIN_WINDOW_NS : d;
}

static void clamp_view(vw_view *v) {
  double pw = vw_plot_w(v);
  double min_nspp = MIN_WINDOW_NS / pw, max_nspp = trace_end(v) * 1.2 / pw;
  if (v->nspp < min_nspp) v->nspp = min_nspp;
  if (v->nspp > max_nspp) v->nspp = max_nspp;
  double win = pw * v->nspp, end = trace_end(v);
  double lo = -0.1 * win, hi = end + 0.1 * win - win;
  if (hi < lo) hi = lo;
  if (v->t0 < lo) v->t0 = lo;
  if (v->t0 > hi) v->t0 = hi;
}

void vw_zoom_at(vw_view *v, double x, double factor) {
  double t = vw_time_at(v, x);
  v->nspp *= factor;
  double pw = vw_plot_w(v);
  double min_nspp = MIN_WINDOW_NS / pw, max_nspp = trace_end(v) * 1.2 / pw;
  if (v->nspp < min_nspp) v->nspp = min_nspp;
  if (v->nspp > max_nspp) v->nspp = max_nspp;
  /* the time under x stays under x */
  v->t0 = t - (x - vw_plot_x(v)) * v->nspp;
}

void vw_pan_px(vw_view *v, double dx) {
  v->t0 -= dx * v->nspp;
  clamp_view(v);
}

void vw_fit(vw_view *v, uint64_t from, uint64_t to) {
  double a = (double)from, b = (double)to;
  if (b - a < MIN_WINDOW_NS / 1.1) {
    double c = (a + b) / 2;
    a = c - MIN_WINDOW_NS / 2.2;
    b = c + MIN_WINDOW_NS / 2.2;
  }
  double span = b - a;
  v->nspp = span * 1.1 / vw_plot_w(v);
  v->t0 = a - span * 0.05;
  clamp_view(v);
}

void vw_show_all(vw_view *v) { vw_fit(v, 0, v->m->info->duration_ns); }

bool vw_fit_selection(vw_view *v) {
  if (v->sel.kind != VW_SEL_NONE && v->sel.end >= v->sel.start) {
    vw_fit(v, v->sel.start, v->sel.end);
    return true;
  }
  if (v->has_range) {
    vw_fit(v, v->r0, v->r1);
    return true;
  }
  return false;
}

void vw_set_panel(vw_view *v, bool on) {
  double t0 = v->t0, win = vw_plot_w(v) * v->nspp;
  v->panel = on;
  v->nspp = win / vw_plot_w(v);
  v->t0 = t0;
  clamp_view(v);
}

void vw_resize(vw_view *v, int w, int h) {
  double tc = vw_time_at(v, vw_plot_x(v));
  double win = vw_plot_w(v) * v->nspp;
  v->w = w;
  v->h = h;
  v->nspp = win / vw_plot_w(v);
  v->t0 = tc;
  clamp_view(v);
}

/* ---- tracks ---- */

static uint8_t *flags_of(vw_view *v, const vw_track *tr) {
  switch (tr->kind) {
    case VW_TR_THREAD: return &v->thr_flags[tr->idx];
    case VW_TR_TASKS: return &v->type_flags[tr->idx];
    case VW_TR_COUNTER: return &v->ser_flags[tr->idx];
    case VW_TR_GC: return &v->gc_flags;
    default: return &v->gc_flags; /* the process header has no flags of its own */
  }
}

static bool thread_shown(const vw_view *v, size_t i) {
  const vw_thread *th = &v->m->threads[i];
  return th->spans.n > 0 || th->logs.n > 0;
}

static int track_height(vw_view *v, const vw_track *tr) {
  const vw_model *m = v->m;
  bool col = tr->kind != VW_TR_PROCESS && (*flags_of(v, tr) & VW_F_COLLAPSED);
  switch (tr->kind) {
    case VW_TR_GC: return col ? 16 : 3 * 13 + 4;
    case VW_TR_COUNTER: return col ? 22 : 48;
    case VW_TR_TASKS: {
      size_t lanes = m->types[tr->idx].nlanes;
      size_t show = col ? (lanes < 2 ? lanes : 2) : (lanes < 24 ? lanes : 24);
      return 16 + (int)show * 13 + 2;
    }
    case VW_TR_PROCESS: return 20;
    case VW_TR_THREAD: {
      const vw_thread *th = &m->threads[tr->idx];
      int h = 2 + 16 + (th->samples.n ? 5 : 0);
      if (!col) h += th->ndepth * 14;
      return h + 3;
    }
  }
  return 0;
}

void vw_layout(vw_view *v) {
  const vw_model *m = v->m;
  size_t n = 0;
  if (m->gc.n || m->phases.n || m->stw.n) v->tracks[n++] = (vw_track){VW_TR_GC, 0, 0, 0, false};
  for (size_t i = 0; i < m->nseries; i++) v->tracks[n++] = (vw_track){VW_TR_COUNTER, i, 0, 0, false};
  for (size_t i = 0; i < m->ntypes; i++) v->tracks[n++] = (vw_track){VW_TR_TASKS, i, 0, 0, false};
  v->tracks[n++] = (vw_track){VW_TR_PROCESS, 0, 0, 0, false};
  bool process_collapsed = v->gc_flags & 4; /* bit 4 of gc_flags: the process group */
  for (size_t i = 0; i < m->nthreads; i++)
    if (thread_shown(v, i) && (!process_collapsed || (v->thr_flags[i] & VW_F_PINNED)))
      v->tracks[n++] = (vw_track){VW_TR_THREAD, i, 0, 0, false};
  v->ntracks = n;
  int top = vw_tracks_top(v), bottom = vw_tracks_bottom(v);
  /* pinned tracks first, fixed; the rest scroll under them */
  int y = top;
  for (size_t i = 0; i < n; i++) {
    vw_track *tr = &v->tracks[i];
    tr->h = track_height(v, tr);
    if (tr->kind != VW_TR_PROCESS && (*flags_of(v, tr) & VW_F_PINNED)) {
      tr->y = y;
      y += tr->h;
    }
  }
  int pinned_end = y;
  int content = 0;
  for (size_t i = 0; i < n; i++) {
    vw_track *tr = &v->tracks[i];
    if (tr->kind != VW_TR_PROCESS && (*flags_of(v, tr) & VW_F_PINNED)) continue;
    content += tr->h;
  }
  v->content_h = content;
  int avail = bottom - pinned_end;
  if (v->scroll > content - avail) v->scroll = content - avail;
  if (v->scroll < 0) v->scroll = 0;
  y = pinned_end - v->scroll;
  for (size_t i = 0; i < n; i++) {
    vw_track *tr = &v->tracks[i];
    if (!(tr->kind != VW_TR_PROCESS && (*flags_of(v, tr) & VW_F_PINNED))) {
      tr->y = y;
      y += tr->h;
      tr->visible = tr->y + tr->h > pinned_end && tr->y < bottom;
    } else {
      tr->visible = tr->y < bottom;
    }
  }
}

void vw_scroll(vw_view *v, int dy) {
  v->scroll += dy;
  vw_layout(v);
}

vw_track *vw_track_at(vw_view *v, int y) {
  vw_layout(v);
  if (y < vw_tracks_top(v) || y >= vw_tracks_bottom(v)) return NULL;
  /* pinned ones are on top of the scrolled ones */
  for (size_t i = 0; i < v->ntracks; i++) {
    vw_track *tr = &v->tracks[i];
    if (tr->kind != VW_TR_PROCESS && (*flags_of(v, tr) & VW_F_PINNED) && y >= tr->y && y < tr->y + tr->h)
      return tr;
  }
  for (size_t i = 0; i < v->ntracks; i++) {
    vw_track *tr = &v->tracks[i];
    if (tr->visible && y >= tr->y && y < tr->y + tr->h) return tr;
  }
  return NULL;
}

void vw_toggle_track(vw_view *v, vw_track *tr, int flag) {
  if (!tr) return;
  if (tr->kind == VW_TR_PROCESS) {
    if (flag == VW_F_COLLAPSED) v->gc_flags ^= 4;
  } else {
    *flags_of(v, tr) ^= (uint8_t)flag;
  }
  vw_layout(v);
}

/* ---- hit tests ---- */

static vw_sel none(void) {
  vw_sel s;
  memset(&s, 0, sizeof s);
  return s;
}

/* The item of an interval row under time t, within slop ns. */
static size_t row_hit(const void *base, size_t stride, size_t n, double t, double slop) {
  if (t < 0) t = 0;
  uint64_t lo = t > slop ? (uint64_t)(t - slop) : 0;
  size_t i = vw_row_first_ending_after(base, stride, n, lo);
  size_t best = SIZE_MAX;
  double bestd = slop + 1;
  for (size_t k = i; k < n && k < i + 64; k++) {
    const uint64_t *it = (const uint64_t *)(const void *)((const char *)base + k * stride);
    if ((double)it[0] > t + slop) break;
    double d = t < (double)it[0] ? (double)it[0] - t : t > (double)it[1] ? t - (double)it[1] : 0;
    if (d < bestd) {
      bestd = d;
      best = k;
    }
  }
  return best;
}

/* The instant (logs, samples: time first) nearest t within slop. */
static size_t instant_hit(const void *base, size_t stride, size_t n, double t, double slop) {
  size_t lo = 0, hi = n;
  uint64_t from = t > slop ? (uint64_t)(t - slop) : 0;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (*(const uint64_t *)(const void *)((const char *)base + mid * stride) < from) lo = mid + 1;
    else hi = mid;
  }
  size_t best = SIZE_MAX;
  double bestd = slop + 1;
  for (size_t k = lo; k < n; k++) {
    double tk = (double)*(const uint64_t *)(const void *)((const char *)base + k * stride);
    if (tk > t + slop) break;
    double d = fabs(tk - t);
    if (d < bestd) bestd = d, best = k;
  }
  return best;
}

vw_sel vw_hit_test(vw_view *v, int x, int y) {
  vw_sel s = none();
  const vw_model *m = v->m;
  vw_track *tr = vw_track_at(v, y);
  if (!tr || x < vw_plot_x(v) || x >= vw_plot_x(v) + vw_plot_w(v)) {
    if (tr && tr->kind == VW_TR_THREAD && x < vw_plot_x(v)) {
      const et_thread_info *ti = et_trace_thread(m->t, tr->idx);
      s.kind = VW_SEL_THREAD;
      s.thread = tr->idx;
      s.start = m->threads[tr->idx].spans.n ? VW_AT(m->threads[tr->idx].spans, et_span, 0).start : ti->first;
      s.end = m->threads[tr->idx].last;
    }
    return s;
  }
  double t = vw_time_at(v, x), slop = 2.5 * v->nspp;
  int ry = y - tr->y;
  switch (tr->kind) {
    case VW_TR_THREAD: {
      const vw_thread *th = &m->threads[tr->idx];
      s.thread = tr->idx;
      int samples_y = 18, regions_y = 18 + (th->samples.n ? 5 : 0);
      if (ry < 18) {
        /* logs sit on the top edge of the state row */
        if (ry < 8) {
          size_t k = instant_hit(th->logs.p, sizeof(vw_log), th->logs.n, t, 3 * v->nspp);
          if (k != SIZE_MAX) {
            const vw_log *l = &VW_AT(th->logs, vw_log, k);
            s.kind = VW_SEL_LOG, s.index = k, s.start = s.end = l->time;
            return s;
          }
        }
        if (t < 0) return none();
        size_t k = vw_span_at(m, tr->idx, (uint64_t)t);
        if (k == SIZE_MAX) return none();
        s.kind = VW_SEL_SPAN, s.index = k;
        s.start = VW_AT(th->spans, et_span, k).start;
        s.end = vw_span_end(m, tr->idx, k);
        return s;
      }
      if (th->samples.n && ry >= samples_y && ry < samples_y + 5) {
        size_t k = instant_hit(th->samples.p, sizeof(vw_sample), th->samples.n, t, slop);
        if (k == SIZE_MAX) return none();
        s.kind = VW_SEL_SAMPLE, s.index = k;
        s.start = s.end = VW_AT(th->samples, vw_sample, k).time;
        return s;
      }
      int d = (ry - regions_y) / 14;
      if (ry < regions_y || d >= th->ndepth || (v->thr_flags[tr->idx] & VW_F_COLLAPSED)) return none();
      size_t k = row_hit(th->depth[d].p, sizeof(vw_region), th->depth[d].n, t, slop);
      if (k == SIZE_MAX) return none();
      const vw_region *r = &VW_AT(th->depth[d], vw_region, k);
      s.kind = VW_SEL_REGION, s.depth = d, s.index = k, s.start = r->start, s.end = r->end;
      return s;
    }
    case VW_TR_TASKS: {
      const vw_tasktype *tt = &m->types[tr->idx];
      int lane = (ry - 16) / 13;
      if (ry < 16 || (size_t)lane >= tt->nlanes) return none();
      const vw_vec *l = &VW_AT(tt->lanes_v, vw_vec, lane);
      size_t k = row_hit(l->p, sizeof(vw_lane_item), l->n, t, slop);
      if (k == SIZE_MAX) return none();
      const vw_lane_item *it = &VW_AT(*l, vw_lane_item, k);
      s.kind = VW_SEL_TASK, s.index = it->task, s.start = it->start, s.end = it->end;
      return s;
    }
    case VW_TR_GC: {
      int row = (ry - 2) / 13;
      const vw_vec *rows[3] = {&m->gc, &m->phases, &m->stw};
      if (row < 0 || row > 2) return none();
      size_t k = row_hit(rows[row]->p, sizeof(vw_interval), rows[row]->n, t, slop);
      if (k == SIZE_MAX) return none();
      const vw_interval *iv = &VW_AT(*rows[row], vw_interval, k);
      s.kind = VW_SEL_GC, s.depth = row, s.index = k, s.start = iv->start, s.end = iv->end;
      return s;
    }
    default: return none();
  }
}

void vw_click(vw_view *v, int x, int y) {
  vw_sel s = vw_hit_test(v, x, y);
  v->sel = s;
  if (s.kind == VW_SEL_TASK) vw_choose_task(v, s.index), vw_fit(v, v->sel.start, v->sel.end);
}

void vw_clear(vw_view *v) {
  v->sel = none();
  v->has_range = false;
  v->hl_has = false;
  v->searching = false;
}

/* ---- range summary ---- */

typedef struct stack_acc {
  uint32_t *id;
  uint64_t *ns;
  size_t cap, n;
} stack_acc;

static void acc_add(stack_acc *a, uint32_t id, uint64_t ns) {
  if (!id || !ns) return;
  if (a->n * 2 >= a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 256;
    uint32_t *nid = calloc(cap, sizeof *nid);
    uint64_t *nns = calloc(cap, sizeof *nns);
    if (!nid || !nns) {
      free(nid);
      free(nns);
      return;
    }
    for (size_t i = 0; i < a->cap; i++)
      if (a->id[i]) {
        size_t h = (a->id[i] * 2654435761u) & (cap - 1);
        while (nid[h]) h = (h + 1) & (cap - 1);
        nid[h] = a->id[i];
        nns[h] = a->ns[i];
      }
    free(a->id);
    free(a->ns);
    a->id = nid, a->ns = nns, a->cap = cap;
  }
  size_t h = (id * 2654435761u) & (a->cap - 1);
  while (a->id[h] && a->id[h] != id) h = (h + 1) & (a->cap - 1);
  if (!a->id[h]) a->id[h] = id, a->n++;
  a->ns[h] += ns;
}

void vw_set_range(vw_view *v, uint64_t from, uint64_t to) {
  const vw_model *m = v->m;
  if (to < from) {
    uint64_t x = from;
    from = to;
    to = x;
  }
  v->has_range = true;
  v->r0 = from;
  v->r1 = to;
  vw_summary *s = &v->sum;
  free(s->ns);
  memset(s, 0, sizeof *s);
  s->from = from;
  s->to = to;
  s->nthreads = m->nthreads;
  s->ns = calloc(m->nthreads ? m->nthreads : 1, sizeof *s->ns);
  if (!s->ns) return;
  stack_acc acc = {0};
  for (size_t i = 0; i < m->nthreads; i++) {
    const vw_thread *th = &m->threads[i];
    vw_thread_time(m, i, from, to, s->ns[i]);
    uint64_t alive_from = th->spans.n ? VW_AT(th->spans, et_span, 0).start : th->last;
    uint64_t a = from > alive_from ? from : alive_from, b = to < th->last ? to : th->last;
    s->ns[i][VW_CAT_COUNT] = (to - from) - (b > a ? b - a : 0);
    for (int c = 0; c < VW_CAT_COUNT; c++) s->total[c] += s->ns[i][c];
    /* waits in the range, by the stack that began them */
    size_t k = vw_span_at(m, i, from);
    if (k == SIZE_MAX) k = 0;
    for (; k < th->spans.n; k++) {
      const et_span *sp = &VW_AT(th->spans, et_span, k);
      if (sp->start >= to) break;
      if (sp->state != ET_STATE_BLOCKED && sp->state != ET_STATE_SYSCALL) continue;
      uint64_t e = vw_span_end(m, i, k);
      uint64_t lo = sp->start > from ? sp->start : from, hi = e < to ? e : to;
      if (hi > lo) acc_add(&acc, sp->stack, hi - lo);
    }
  }
  for (size_t i = 0; i < acc.cap; i++) {
    if (!acc.id[i]) continue;
    int at = s->ntop;
    while (at > 0 && s->top_ns[at - 1] < acc.ns[i]) at--;
    if (at >= VW_TOP_STACKS) continue;
    int n = s->ntop < VW_TOP_STACKS ? s->ntop + 1 : VW_TOP_STACKS;
    for (int k = n - 1; k > at; k--) s->top_ns[k] = s->top_ns[k - 1], s->top_stack[k] = s->top_stack[k - 1];
    s->top_ns[at] = acc.ns[i];
    s->top_stack[at] = acc.id[i];
    s->ntop = n;
  }
  free(acc.id);
  free(acc.ns);
}

/* ---- tasks ---- */

void vw_choose_task(vw_view *v, size_t i) {
  const vw_model *m = v->m;
  if (i >= m->ntasks) return;
  const et_task *tk = et_trace_task(m->t, i);
  uint64_t end = tk->end == UINT64_MAX ? m->info->duration_ns : tk->end;
  v->sel = none();
  v->sel.kind = VW_SEL_TASK;
  v->sel.index = i;
  v->sel.start = tk->begin;
  v->sel.end = end;
  v->hl_has = true;
  v->hl_task = tk->id;
  if (v->panel_type != (int)m->task_type[i]) {
    v->panel_type = (int)m->task_type[i];
    free(v->panel_list);
    v->panel_list = NULL;
    v->panel_bucket = -1;
  }
  memset(v->hl_ns, 0, sizeof v->hl_ns);
  v->hl_threads = 0;
  /* Time by state on the threads it touched: while in its outermost regions
   * there, or on the thread that began it if it has no regions. */
  for (size_t th = 0; th < m->nthreads; th++) {
    const vw_thread *t = &m->threads[th];
    bool touched = false;
    uint64_t covered_to = 0;
    for (int d = 0; d < t->ndepth; d++) {
      const vw_region *r = t->depth[d].p;
      size_t k = vw_row_first_ending_after(r, sizeof *r, t->depth[d].n, tk->begin);
      for (; k < t->depth[d].n && r[k].start <= end; k++) {
        if (r[k].task != tk->id) continue;
        touched = true;
        if (d == 0 || r[k].start >= covered_to) { /* nested ones are inside an outer one */
          bool inside = false;
          for (int dd = 0; dd < d && !inside; dd++) {
            const vw_region *o = t->depth[dd].p;
            size_t j = vw_row_first_ending_after(o, sizeof *o, t->depth[dd].n, r[k].start);
            inside = j < t->depth[dd].n && o[j].start <= r[k].start && o[j].task == tk->id;
          }
          if (!inside) vw_thread_time(m, th, r[k].start, r[k].end, v->hl_ns);
        }
      }
    }
    if (!touched) {
      const vw_log *l = t->logs.p;
      size_t lo = 0, hi = t->logs.n;
      while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l[mid].time < tk->begin) lo = mid + 1;
        else hi = mid;
      }
      for (; lo < t->logs.n && l[lo].time <= end && !touched; lo++) touched = l[lo].task == tk->id;
    }
    if (touched) v->hl_threads++;
  }
  uint64_t sum = 0;
  for (int c = 0; c < VW_CAT_COUNT; c++) sum += v->hl_ns[c];
  if (sum == 0) {
    for (size_t th = 0; th < m->nthreads; th++) {
      const et_thread_info *ti = et_trace_thread(m->t, th);
      if (ti && ti->tid == tk->tid) {
        vw_thread_time(m, th, tk->begin, end, v->hl_ns);
        if (!v->hl_threads) v->hl_threads = 1;
        break;
      }
    }
  }
  vw_fit(v, tk->begin, end);
}

/* ---- search ---- */

static bool contains_ci(const char *s, size_t n, const char *q) {
  size_t qn = strlen(q);
  if (qn == 0) return false;
  for (size_t i = 0; i + qn <= n; i++) {
    size_t k = 0;
    while (k < qn && tolower((unsigned char)s[i + k]) == tolower((unsigned char)q[k])) k++;
    if (k == qn) return true;
  }
  return false;
}

static int cmp_hit(const void *a, const void *b) {
  const vw_hit *x = a, *y = b;
  if (x->start != y->start) return x->start < y->start ? -1 : 1;
  return x->kind - y->kind;
}

#define MAX_HITS 200000

static bool add_hit(vw_view *v, size_t *cap, vw_hit h) {
  if (v->nhits >= MAX_HITS) return false;
  if (v->nhits == *cap) {
    size_t c = *cap ? *cap * 2 : 64;
    vw_hit *p = realloc(v->hits, c * sizeof *p);
    if (!p) return false;
    v->hits = p;
    *cap = c;
  }
  v->hits[v->nhits++] = h;
  return true;
}

static void jump_to_hit(vw_view *v) {
  if (!v->nhits) return;
  const vw_hit *h = &v->hits[v->hit];
  if (h->kind == VW_SEL_TASK) {
    vw_choose_task(v, h->index);
  } else {
    v->sel.kind = h->kind;
    v->sel.thread = h->thread;
    v->sel.index = h->index;
    v->sel.depth = h->depth;
    v->sel.start = h->start;
    v->sel.end = h->end;
    if (h->end > h->start) {
      vw_fit(v, h->start, h->end);
    } else {
      double win = vw_plot_w(v) * v->nspp;
      if (win > 1e6) win = 1e6;
      v->nspp = win / vw_plot_w(v);
      v->t0 = (double)h->start - win / 2;
    }
  }
  /* bring the thread's track into view */
  if (h->kind != VW_SEL_TASK) {
    vw_layout(v);
    for (size_t i = 0; i < v->ntracks; i++) {
      vw_track *tr = &v->tracks[i];
      if (tr->kind == VW_TR_THREAD && tr->idx == h->thread && !(v->thr_flags[tr->idx] & VW_F_PINNED)) {
        int top = vw_tracks_top(v), bottom = vw_tracks_bottom(v);
        if (tr->y < top || tr->y + tr->h > bottom) v->scroll += tr->y - (top + bottom) / 2 + tr->h / 2;
        if (h->kind == VW_SEL_REGION) v->thr_flags[tr->idx] &= (uint8_t)~VW_F_COLLAPSED;
        vw_layout(v);
        break;
      }
    }
  }
  snprintf(v->status, sizeof v->status, "match %zu of %zu for '%s'%s", v->hit + 1, v->nhits, v->query,
           v->nhits >= MAX_HITS ? " (first 200000)" : "");
}

size_t vw_search(vw_view *v, const char *q) {
  const vw_model *m = v->m;
  snprintf(v->query, sizeof v->query, "%s", q);
  v->nhits = 0;
  v->hit = 0;
  size_t cap = 0;
  if (!*q) return 0;
  for (size_t i = 0; i < m->nthreads; i++) {
    const et_thread_info *ti = et_trace_thread(m->t, i);
    char tid[32];
    snprintf(tid, sizeof tid, "%" PRIu64, ti->tid);
    if (thread_shown(v, i) && (contains_ci(ti->name, strlen(ti->name), q) || strcmp(tid, q) == 0)) {
      uint64_t first = VW_AT(m->threads[i].spans, et_span, 0).start;
      add_hit(v, &cap, (vw_hit){VW_SEL_THREAD, i, 0, 0, first, m->threads[i].last});
    }
  }
  for (size_t ty = 0; ty < m->ntypes; ty++)
    if (contains_ci(m->types[ty].name, strlen(m->types[ty].name), q))
      for (size_t i = 0; i < m->ntasks; i++)
        if (m->task_type[i] == ty) {
          const et_task *tk = et_trace_task(m->t, i);
          uint64_t end = tk->end == UINT64_MAX ? m->info->duration_ns : tk->end;
          if (!add_hit(v, &cap, (vw_hit){VW_SEL_TASK, 0, i, 0, tk->begin, end})) break;
        }
  /* region names that match, as a small id list */
  const uint32_t *names = m->region_names.p;
  uint32_t match[256];
  size_t nmatch = 0;
  for (size_t i = 0; i < m->region_names.n && nmatch < 256; i++) {
    const char *s = et_trace_string(m->t, names[i]);
    if (s && contains_ci(s, strlen(s), q)) match[nmatch++] = names[i];
  }
  for (size_t th = 0; th < m->nthreads; th++) {
    const vw_thread *t = &m->threads[th];
    for (int d = 0; d < t->ndepth && nmatch; d++) {
      const vw_region *r = t->depth[d].p;
      for (size_t k = 0; k < t->depth[d].n; k++)
        for (size_t j = 0; j < nmatch; j++)
          if (r[k].name == match[j]) {
            add_hit(v, &cap, (vw_hit){VW_SEL_REGION, th, k, d, r[k].start, r[k].end});
            break;
          }
    }
    const vw_log *l = t->logs.p;
    for (size_t k = 0; k < t->logs.n; k++) {
      const char *cat = et_trace_string(m->t, l[k].category);
      if ((cat && contains_ci(cat, strlen(cat), q)) || (l[k].msg && contains_ci(l[k].msg, l[k].len, q)))
        add_hit(v, &cap, (vw_hit){VW_SEL_LOG, th, k, 0, l[k].time, l[k].time});
    }
  }
  qsort(v->hits, v->nhits, sizeof *v->hits, cmp_hit);
  if (v->nhits) jump_to_hit(v);
  else snprintf(v->status, sizeof v->status, "no match for '%s'", q);
  return v->nhits;
}

void vw_search_next(vw_view *v, int dir) {
  if (!v->nhits) return;
  v->hit = (v->hit + v->nhits + (size_t)(dir < 0 ? -1 : 1)) % v->nhits;
  jump_to_hit(v);
}

/* ---- details ---- */

const char *vw_fmt_dur(char *buf, size_t n, double ns) {
  double a = fabs(ns);
  if (a < 1e3) snprintf(buf, n, "%.0f ns", ns);
  else if (a < 1e6) snprintf(buf, n, "%.3g us", ns / 1e3);
  else if (a < 1e9) snprintf(buf, n, "%.4g ms", ns / 1e6);
  else snprintf(buf, n, "%.4g s", ns / 1e9);
  return buf;
}

/* A time since the trace's start with enough digits for the zoom. */
static const char *fmt_time(char *buf, size_t n, uint64_t t) {
  snprintf(buf, n, "%" PRIu64 ".%06" PRIu64 " ms", t / 1000000, t % 1000000);
  return buf;
}

size_t vw_stack_lines(vw_view *v, uint32_t stack, bool first_is_pc, char lines[][160], size_t max) {
  const uint64_t *frames;
  size_t nf = stack ? et_trace_stack(v->m->t, stack, &frames) : 0, n = 0;
  if (!nf) return 0;
  if (!v->sym) v->sym = et__sym_open(v->m->t);
  for (size_t i = 0; i < nf && n < max; i++) {
    uint64_t a = frames[i];
    if (!a) continue;
    if (!(i == 0 && first_is_pc)) a -= 1;
    et__sym_frame fr[ET__SYM_MAX_FRAMES];
    long mi = v->sym ? et__sym_mapping_of(v->sym, a) : -1;
    size_t k = mi >= 0 ? et__sym_lookup(v->sym, mi, a, fr, ET__SYM_MAX_FRAMES) : 0;
    if (!k) {
      const et_mapping *mp = mi >= 0 ? et_trace_mapping(v->m->t, (size_t)mi) : NULL;
      const char *base = mp && mp->path ? strrchr(mp->path, '/') : NULL;
      snprintf(lines[n++], 160, "  0x%" PRIx64 " %s", a, base ? base + 1 : "");
      continue;
    }
    for (size_t j = 0; j < k && n < max; j++) {
      const char *file = fr[j].file ? strrchr(fr[j].file, '/') : NULL;
      file = file ? file + 1 : fr[j].file;
      if (file) snprintf(lines[n++], 160, "  %s (%s:%d)", fr[j].function ? fr[j].function : "?", file, fr[j].line);
      else snprintf(lines[n++], 160, "  %s", fr[j].function ? fr[j].function : "?");
    }
  }
  return n;
}

static const char *thread_label(const vw_view *v, size_t th, char *buf, size_t n) {
  const et_thread_info *ti = et_trace_thread(v->m->t, th);
  if (!ti) return "?";
  snprintf(buf, n, "%" PRIu64 "%s%s%s", ti->tid, *ti->name ? " \"" : "", ti->name, *ti->name ? "\"" : "");
  return buf;
}

#define LINE(...) (n < max ? (void)snprintf(lines[n++], 160, __VA_ARGS__) : (void)0)

size_t vw_details(vw_view *v, char lines[][160], size_t max) {
  const vw_model *m = v->m;
  size_t n = 0;
  char a[48], b[48], c[48], tl[128];
  const vw_sel *s = &v->sel;
  switch (s->kind) {
    case VW_SEL_SPAN: {
      const et_span *sp = &VW_AT(m->threads[s->thread].spans, et_span, s->index);
      int cat = vw_span_cat(sp);
      const char *why = sp->state == ET_STATE_BLOCKED || sp->state == ET_STATE_RUNNABLE
                            ? et_reason_name(sp->reason)
                            : sp->state == ET_STATE_SYSCALL ? et_fdclass_name(sp->reason) : NULL;
      LINE("%s%s%s%s - thread %s", sp->state == ET_STATE_RUNNABLE ? "runnable" : vw_cat_name(cat),
           why ? " (" : "", why ? why : "", why ? ")" : "", thread_label(v, s->thread, tl, sizeof tl));
      LINE("start %s   end %s   duration %s", fmt_time(a, sizeof a, s->start), fmt_time(b, sizeof b, s->end),
           vw_fmt_dur(c, sizeof c, (double)(s->end - s->start)));
      if (sp->stack) {
        LINE("%s", sp->state == ET_STATE_RUNNABLE ? "woken by (the waker's stack):" : "stack where it began:");
        n += vw_stack_lines(v, sp->stack, false, lines + n, max - n);
      }
      break;
    }
    case VW_SEL_REGION: {
      const vw_region *r = &VW_AT(m->threads[s->thread].depth[s->depth], vw_region, s->index);
      const char *name = et_trace_string(m->t, r->name);
      LINE("region \"%s\" (depth %d) - thread %s", name ? name : "?", s->depth,
           thread_label(v, s->thread, tl, sizeof tl));
      LINE("start %s   end %s   duration %s", fmt_time(a, sizeof a, r->start), fmt_time(b, sizeof b, r->end),
           vw_fmt_dur(c, sizeof c, (double)(r->end - r->start)));
      if (r->task) LINE("task %" PRIu64, r->task);
      uint64_t ns[VW_CAT_COUNT] = {0};
      vw_thread_time(m, s->thread, r->start, r->end, ns);
      for (int k = 0; k < VW_CAT_COUNT; k++)
        if (ns[k]) LINE("  %-18s %s", vw_cat_name(k), vw_fmt_dur(a, sizeof a, (double)ns[k]));
      break;
    }
    case VW_SEL_LOG: {
      const vw_log *l = &VW_AT(m->threads[s->thread].logs, vw_log, s->index);
      const char *cat = et_trace_string(m->t, l->category);
      LINE("log [%s] - thread %s at %s", cat ? cat : "", thread_label(v, s->thread, tl, sizeof tl),
           fmt_time(a, sizeof a, l->time));
      LINE("%.*s", (int)(l->len < 150 ? l->len : 150), l->msg ? l->msg : "");
      if (l->task) LINE("task %" PRIu64, l->task);
      break;
    }
    case VW_SEL_SAMPLE: {
      const vw_sample *sa = &VW_AT(m->threads[s->thread].samples, vw_sample, s->index);
      LINE("CPU sample - thread %s at %s", thread_label(v, s->thread, tl, sizeof tl),
           fmt_time(a, sizeof a, sa->time));
      n += vw_stack_lines(v, sa->stack, true, lines + n, max - n);
      break;
    }
    case VW_SEL_TASK: {
      const et_task *tk = et_trace_task(m->t, s->index);
      char tb[48];
      LINE("task %" PRIu64 " \"%s\"%s - began on thread %" PRIu64 ", %zu thread(s) touched", tk->id,
           tk->type ? tk->type : "", tk->end == UINT64_MAX ? " (never ended)" : "", tk->tid, v->hl_threads);
      LINE("begin %s   end %s   duration %s", fmt_time(a, sizeof a, s->start), fmt_time(b, sizeof b, s->end),
           vw_fmt_dur(tb, sizeof tb, (double)(s->end - s->start)));
      uint64_t sum = 0;
      for (int k = 0; k < VW_CAT_COUNT; k++) sum += v->hl_ns[k];
      for (int k = 0; k < VW_CAT_COUNT; k++)
        if (v->hl_ns[k])
          LINE("  %-18s %10s  %5.1f%%", vw_cat_name(k), vw_fmt_dur(a, sizeof a, (double)v->hl_ns[k]),
               100.0 * (double)v->hl_ns[k] / (double)(sum ? sum : 1));
      break;
    }
    case VW_SEL_GC: {
      static const char *const what[3] = {"garbage collection", "GC phase", "stop-the-world pause"};
      const vw_vec *rows[3] = {&m->gc, &m->phases, &m->stw};
      const vw_interval *iv = &VW_AT(*rows[s->depth], vw_interval, s->index);
      const char *name = iv->name ? et_trace_string(m->t, iv->name) : NULL;
      LINE("%s%s%s", what[s->depth], name ? ": " : "", name ? name : "");
      LINE("start %s   end %s   duration %s", fmt_time(a, sizeof a, iv->start), fmt_time(b, sizeof b, iv->end),
           vw_fmt_dur(c, sizeof c, (double)(iv->end - iv->start)));
      break;
    }
    case VW_SEL_THREAD: {
      const et_thread_info *ti = et_trace_thread(m->t, s->thread);
      const vw_thread *th = &m->threads[s->thread];
      LINE("thread %s, parent %" PRIu64 ", %" PRIu64 " events, %" PRIu64 " dropped",
           thread_label(v, s->thread, tl, sizeof tl), ti->parent, ti->events, ti->dropped);
      LINE("from %s to %s; %zu spans, %zu logs, %zu samples", fmt_time(a, sizeof a, s->start),
           fmt_time(b, sizeof b, s->end), th->spans.n, th->logs.n, th->samples.n);
      for (int k = 0; k < VW_CAT_COUNT; k++)
        if (th->tot[k]) LINE("  %-18s %s", vw_cat_name(k), vw_fmt_dur(a, sizeof a, (double)th->tot[k]));
      break;
    }
    default: break;
  }
  if (s->kind == VW_SEL_NONE && v->has_range) {
    const vw_summary *sum = &v->sum;
    LINE("range %s .. %s   length %s", fmt_time(a, sizeof a, sum->from), fmt_time(b, sizeof b, sum->to),
         vw_fmt_dur(c, sizeof c, (double)(sum->to - sum->from)));
    char row[160];
    int off = snprintf(row, sizeof row, "all threads:");
    for (int k = 0; k < VW_CAT_COUNT && off < 150; k++)
      if (sum->total[k])
        off += snprintf(row + off, sizeof row - (size_t)off, " %s %s;", vw_cat_name(k),
                        vw_fmt_dur(a, sizeof a, (double)sum->total[k]));
    LINE("%s", row);
    for (size_t i = 0; i < sum->nthreads && n + 8 < max; i++) {
      if (sum->ns[i][VW_CAT_COUNT] == sum->to - sum->from) continue; /* not alive in the range */
      off = snprintf(row, sizeof row, "%-24.24s", thread_label(v, i, tl, sizeof tl));
      for (int k = 0; k <= VW_CAT_COUNT && off < 150; k++)
        if (sum->ns[i][k])
          off += snprintf(row + off, sizeof row - (size_t)off, " %s %.1f%%", k == VW_CAT_COUNT ? "not alive" : vw_cat_name(k),
                          100.0 * (double)sum->ns[i][k] / (double)(sum->to - sum->from));
      LINE("%s", row);
    }
    for (int k = 0; k < sum->ntop && n < max; k++) {
      char fl[2][160];
      size_t nl = vw_stack_lines(v, sum->top_stack[k], false, fl, 1);
      LINE("blocked %s in%s", vw_fmt_dur(a, sizeof a, (double)sum->top_ns[k]), nl ? fl[0] + 1 : " (no stack)");
    }
  }
  return n;
}

/* ---- the tasks panel ---- */

void vw_panel_list_bucket(vw_view *v, int type, int bucket) {
  const vw_model *m = v->m;
  if (type < 0 || (size_t)type >= m->ntypes) return;
  const vw_tasktype *tt = &m->types[type];
  free(v->panel_list);
  v->panel_list = malloc((tt->ntasks ? tt->ntasks : 1) * sizeof *v->panel_list);
  v->panel_n = 0;
  v->panel_scroll = 0;
  v->panel_type = type;
  v->panel_bucket = bucket;
  if (!v->panel_list) return;
  for (size_t k = 0; k < tt->ntasks; k++) {
    uint32_t i = tt->by_duration[k];
    const et_task *tk = et_trace_task(m->t, i);
    uint64_t end = tk->end == UINT64_MAX ? m->info->duration_ns : tk->end;
    if (bucket < 0 || vw_hist_bucket(end - tk->begin) == bucket) v->panel_list[v->panel_n++] = i;
  }
}

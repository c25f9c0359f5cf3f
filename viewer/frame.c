/* One frame of the timeline, drawn through the backend interface (draw.h).
 *
 * Level of detail, as in Tracy: each row finds its first visible item by
 * binary search and then advances by at least VW_FOLD_PX pixels per step.
 * A state span narrower than that is not drawn: its pixel column is, in the
 * colour of the category that holds most of the column's time (from the
 * running sums of model.c), and a run of such columns gets a thin bar under
 * it and, when it is wide enough, the number of spans it holds.  Region,
 * task and GC rows fold runs of narrow items into one grey mark with its
 * count.  Logs, samples and wakes skip to the next item a few pixels on.
 * So the work per frame is bounded by rows times pixels, whatever the
 * trace's size.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

#define C_BG VW_RGB(0xf4, 0xf4, 0xf4)
#define C_TRACK_A VW_RGB(0xff, 0xff, 0xff)
#define C_TRACK_B VW_RGB(0xf0, 0xf1, 0xf4)
#define C_TEXT VW_RGB(0x20, 0x20, 0x20)
#define C_DIM VW_RGB(0x70, 0x70, 0x70)
#define C_GRID VW_RGB(0xdd, 0xdd, 0xdd)
#define C_HEADER VW_RGB(0x2b, 0x3a, 0x4a)
#define C_FOLD VW_RGB(0x9a, 0x9a, 0xa6)
#define C_SEL VW_RGB(0x00, 0x00, 0x00)
#define C_RANGE VW_RGBA(0x30, 0x60, 0xd0, 0x30)
#define C_DROP VW_RGB(0xe0, 0x00, 0x00)
#define C_WAKE VW_RGBA(0x20, 0x20, 0x60, 0xb0)
#define C_HL VW_RGB(0xff, 0x00, 0xaa)

uint32_t vw_cat_color(int c) {
  /* Okabe-Ito's colour-blind-safe palette, plus greys */
  static const uint32_t col[VW_CAT_COUNT] = {
      VW_RGB(0x00, 0x9e, 0x73), /* running: bluish green */
      VW_RGB(0xf0, 0xe4, 0x42), /* runnable: yellow */
      VW_RGB(0xd5, 0x5e, 0x00), /* sync: vermillion */
      VW_RGB(0x00, 0x72, 0xb2), /* net: blue */
      VW_RGB(0xcc, 0x79, 0xa7), /* file I/O: reddish purple */
      VW_RGB(0x56, 0xb4, 0xe9), /* sleep: sky blue */
      VW_RGB(0x8c, 0x8c, 0x8c), /* other waits: grey */
      VW_RGB(0xe6, 0x9f, 0x00), /* syscall: orange */
      VW_RGB(0x4b, 0x2a, 0x7a), /* GC: dark purple */
  };
  return c >= 0 && c < VW_CAT_COUNT ? col[c] : C_FOLD;
}

static void rect(vw_draw *d, double x0, double x1, int y, int h, uint32_t c) {
  int a = (int)floor(x0), b = (int)floor(x1);
  if (b <= a) b = a + 1;
  d->rects++;
  d->ops->rect(d->ctx, a, y, b - a, h, c);
}

static void text(vw_draw *d, int x, int y, const char *s, uint32_t c) {
  d->texts++;
  d->ops->text(d->ctx, x, y, s, strlen(s), c);
}

static void textn(vw_draw *d, int x, int y, const char *s, size_t n, uint32_t c) {
  d->texts++;
  d->ops->text(d->ctx, x, y, s, n, c);
}

static void line(vw_draw *d, int x0, int y0, int x1, int y1, uint32_t c) {
  d->lines++;
  d->ops->line(d->ctx, x0, y0, x1, y1, c);
}

static void clip(vw_draw *d, int x, int y, int w, int h) { d->ops->clip(d->ctx, x, y, w, h); }

/* A stable colour per name, light enough for dark text. */
static uint32_t name_color(uint32_t id) {
  uint32_t h = id * 2654435761u;
  int r = 150 + (int)(h & 63), g = 150 + (int)((h >> 8) & 63), b = 170 + (int)((h >> 16) & 63);
  return VW_RGB(r, g, b);
}

typedef struct ctx {
  vw_view *v;
  vw_draw *d;
  double tl, tr;  /* visible times */
  int px, pw;     /* plot x and width */
} ctx;

/* ---- rows ---- */

static void fold_label(ctx *c, double x0, double x1, int y, int h, size_t count) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%zu", count);
  if (x1 - x0 >= (n + 1) * c->d->char_w && h >= c->d->char_h - 2)
    text(c->d, (int)((x0 + x1) / 2) - n * c->d->char_w / 2, y + (h - c->d->char_h) / 2, buf, C_TEXT);
}

/* The state row of thread th. */
static void draw_spans(ctx *c, size_t th, int y, int h) {
  const vw_model *m = c->v->m;
  const vw_thread *t = &m->threads[th];
  if (!t->spans.n) return;
  const et_span *sp = t->spans.p;
  double first = (double)sp[0].start, last = (double)t->last;
  double tc = c->tl > first ? c->tl : first, tend = c->tr < last ? c->tr : last;
  if (tc < 0) tc = 0;
  double run_x0 = -1;
  size_t run_count = 0;
  while (tc < tend) {
    size_t i = vw_span_at(m, th, (uint64_t)tc);
    if (i == SIZE_MAX) break;
    double e = (double)vw_span_end(m, th, i);
    double xs = vw_x_of(c->v, tc), xe = vw_x_of(c->v, e < tend ? e : tend);
    if (xe - xs >= VW_FOLD_PX || e >= tend) {
      if (run_count) {
        rect(c->d, run_x0, xs, y + h - 2, 2, C_HEADER);
        fold_label(c, run_x0, xs, y, h - 2, run_count);
        run_count = 0;
      }
      rect(c->d, xs, xe, y, h, vw_cat_color(vw_span_cat(&sp[i])));
      if (c->v->sel.kind == VW_SEL_SPAN && c->v->sel.thread == th && c->v->sel.index == i) {
        rect(c->d, xs, xe, y, 2, C_SEL);
        rect(c->d, xs, xe, y + h - 2, 2, C_SEL);
      }
      if (e <= tc) break;
      tc = e;
      continue;
    }
    /* a column of VW_FOLD_PX pixels on the global grid, in its dominant colour */
    double col = floor((xs - c->px) / VW_FOLD_PX) * VW_FOLD_PX + c->px;
    double tn = vw_time_at(c->v, col + VW_FOLD_PX);
    if (tn > tend) tn = tend;
    if (tn <= tc) tn = tc + c->v->nspp;
    uint64_t ns[VW_CAT_COUNT] = {0};
    vw_thread_time(m, th, (uint64_t)tc, (uint64_t)tn, ns);
    int best = vw_span_cat(&sp[i]);
    for (int k = 0; k < VW_CAT_COUNT; k++)
      if (ns[k] > ns[best]) best = k;
    double xn = vw_x_of(c->v, tn);
    rect(c->d, xs, xn, y, h - 2, vw_cat_color(best));
    size_t j = vw_span_at(m, th, (uint64_t)tn);
    if (!run_count) run_x0 = xs;
    run_count += (j == SIZE_MAX ? t->spans.n : j) - i + (j == i ? 1 : 0);
    tc = tn;
  }
  if (run_count) {
    rect(c->d, run_x0, vw_x_of(c->v, tc), y + h - 2, 2, C_HEADER);
    fold_label(c, run_x0, vw_x_of(c->v, tc), y, h - 2, run_count);
  }
}

/* An interval row: items of `stride` bytes starting with start, end. */
typedef void (*item_fn)(ctx *c, const void *item, size_t i, double x0, double x1, int y, int h, void *arg);

static void draw_row(ctx *c, const void *base, size_t stride, size_t n, int y, int h, item_fn fn, void *arg) {
#define IT(k) ((const uint64_t *)(const void *)((const char *)base + (k) * stride))
  if (!n) return;
  double tl = c->tl < 0 ? 0 : c->tl;
  size_t i = vw_row_first_ending_after(base, stride, n, (uint64_t)tl);
  while (i < n && (double)IT(i)[0] < c->tr) {
    double x0 = vw_x_of(c->v, (double)IT(i)[0]), x1 = vw_x_of(c->v, (double)IT(i)[1]);
    if (x1 - x0 >= VW_FOLD_PX) {
      fn(c, IT(i), i, x0, x1, y, h, arg);
      i++;
      continue;
    }
    /* fold: swallow every next item that starts within VW_FOLD_PX of the run's end and is narrow */
    double xend = x1 > x0 + 1 ? x1 : x0 + 1;
    size_t j = i + 1;
    while (j < n) {
      double xs = vw_x_of(c->v, (double)IT(j)[0]);
      if (xs - xend >= VW_FOLD_PX) break;
      if (vw_x_of(c->v, (double)IT(j)[1]) - xs >= VW_FOLD_PX) break;
      double probe = (xs > xend ? xs : xend) + VW_FOLD_PX;
      size_t k = vw_row_first_starting_at(base, stride, n, j, (uint64_t)fmax(0, vw_time_at(c->v, probe)));
      if (k <= j) k = j + 1;
      /* only the last item of the batch can be wide: the others end before it starts */
      bool wide = k - 1 > j && vw_x_of(c->v, (double)IT(k - 1)[1]) - vw_x_of(c->v, (double)IT(k - 1)[0]) >= VW_FOLD_PX;
      if (wide) k--;
      double e = vw_x_of(c->v, (double)IT(k - 1)[1]);
      xend = e > xend ? e : xend;
      j = k;
      if (wide) break;
    }
    if (j == i + 1) {
      fn(c, IT(i), i, x0, x0 + 1 > x1 ? x0 + 1 : x1, y, h, arg);
    } else {
      rect(c->d, x0, xend, y, h, C_FOLD);
      fold_label(c, x0, xend, y, h, j - i);
    }
    i = j;
  }
#undef IT
}

static void label_in(ctx *c, double x0, double x1, int y, int h, const char *s, size_t len) {
  double a = x0 < c->px ? c->px : x0, b = x1 > c->px + c->pw ? c->px + c->pw : x1;
  int room = (int)((b - a - 4) / c->d->char_w);
  if (room < 2 || h < c->d->char_h - 3) return;
  textn(c->d, (int)a + 2, y + (h - c->d->char_h) / 2, s, len < (size_t)room ? len : (size_t)room, C_TEXT);
}

static void region_item(ctx *c, const void *item, size_t i, double x0, double x1, int y, int h, void *arg) {
  const vw_region *r = item;
  const int *depth = arg;
  vw_view *v = c->v;
  bool hl = v->hl_has && r->task == v->hl_task;
  rect(c->d, x0, x1, y, h, name_color(r->name));
  if (hl) {
    rect(c->d, x0, x1, y, 2, C_HL);
    rect(c->d, x0, x1, y + h - 2, 2, C_HL);
  }
  if (v->sel.kind == VW_SEL_REGION && v->sel.index == i && v->sel.depth == depth[0] && v->sel.thread == (size_t)depth[1])
    rect(c->d, x0, x1, y + h - 2, 2, C_SEL);
  const char *s = et_trace_string(v->m->t, r->name);
  if (s) label_in(c, x0, x1, y, h, s, strlen(s));
}

static void lane_item(ctx *c, const void *item, size_t i, double x0, double x1, int y, int h, void *arg) {
  (void)i;
  (void)arg;
  const vw_lane_item *it = item;
  vw_view *v = c->v;
  const et_task *tk = et_trace_task(v->m->t, it->task);
  rect(c->d, x0, x1, y, h, VW_RGB(0x9d, 0xb8, 0xd9));
  if ((v->sel.kind == VW_SEL_TASK && v->sel.index == it->task) || (v->hl_has && tk->id == v->hl_task)) {
    rect(c->d, x0, x1, y, 2, C_HL);
    rect(c->d, x0, x1, y + h - 2, 2, C_HL);
  }
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%" PRIu64, tk->id);
  label_in(c, x0, x1, y, h, buf, (size_t)n);
}

static void gc_item(ctx *c, const void *item, size_t i, double x0, double x1, int y, int h, void *arg) {
  (void)i;
  const vw_interval *iv = item;
  const uint32_t *col = arg;
  rect(c->d, x0, x1, y, h, *col);
  const char *s = iv->name ? et_trace_string(c->v->m->t, iv->name) : NULL;
  if (s) label_in(c, x0, x1, y, h, s, strlen(s));
}

/* Instants (logs, samples, drops): a mark, then the next one a few px on. */
static void draw_instants(ctx *c, const void *base, size_t stride, size_t n, int y, int h, int kind, size_t th) {
  size_t lo = 0, hi = n;
  double tl = c->tl < 0 ? 0 : c->tl;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if ((double)*(const uint64_t *)(const void *)((const char *)base + mid * stride) < tl) lo = mid + 1;
    else hi = mid;
  }
  size_t i = lo;
  while (i < n) {
    const void *it = (const char *)base + i * stride;
    double t = (double)*(const uint64_t *)it;
    if (t > c->tr) break;
    int x = (int)vw_x_of(c->v, t);
    if (kind == 0) { /* log: a small triangle on the top edge */
      const vw_log *l = it;
      bool hl = c->v->hl_has && l->task == c->v->hl_task;
      uint32_t col = hl ? C_HL : C_HEADER;
      line(c->d, x - 3, y, x + 3, y, col);
      line(c->d, x - 3, y, x, y + 5, col);
      line(c->d, x + 3, y, x, y + 5, col);
      if (c->v->sel.kind == VW_SEL_LOG && c->v->sel.thread == th && c->v->sel.index == i)
        rect(c->d, x - 3, x + 4, y, 6, C_SEL);
    } else if (kind == 1) { /* sample tick */
      rect(c->d, x, x + 1, y, h, VW_RGB(0x30, 0x30, 0x30));
    } else { /* drop: a red wedge that stands out */
      rect(c->d, x - 2, x + 3, y, h, C_DROP);
    }
    double next = vw_time_at(c->v, x + (kind == 1 ? 1 : 3));
    lo = i + 1, hi = n;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if ((double)*(const uint64_t *)(const void *)((const char *)base + mid * stride) < next) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
  }
}

static void draw_counter(ctx *c, const vw_series *s, int y, int h) {
  const vw_point *p = s->pts.p;
  size_t n = s->pts.n;
  if (!n) return;
  double lo = (double)(s->min < 0 ? s->min : 0), hi = (double)s->max;
  if (hi <= lo) hi = lo + 1;
  size_t i = 0;
  for (int x = c->px; x < c->px + c->pw; x++) {
    double t1 = vw_time_at(c->v, x + 1);
    if (t1 < (double)p[0].time) continue;
    /* the last point at or before t1, and the largest value inside the column */
    size_t a = i, b = n;
    while (a < b) {
      size_t mid = (a + b) / 2;
      if ((double)p[mid].time <= t1) a = mid + 1;
      else b = mid;
    }
    if (a == 0) continue;
    size_t k = a - 1;
    int64_t val = p[k].value;
    for (size_t j = i; j < k && k - i < 32; j++)
      if (p[j].value > val) val = p[j].value;
    i = k;
    if ((double)p[k].time > (double)c->v->m->info->duration_ns) break;
    int bh = (int)((double)(val - lo) / (hi - lo) * (h - 4));
    if (bh > 0) rect(c->d, x, x + 1, y + h - 2 - bh, bh, VW_RGB(0x6a, 0x8a, 0xc8));
    if (vw_time_at(c->v, x) > (double)c->v->m->info->duration_ns) break;
  }
}

static void draw_wakes(ctx *c) {
  vw_view *v = c->v;
  const vw_model *m = v->m;
  const vw_wake *w = m->wakes.p;
  size_t n = m->wakes.n, lo = 0, hi = n;
  double tl = c->tl < 0 ? 0 : c->tl;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if ((double)w[mid].time < tl) lo = mid + 1;
    else hi = mid;
  }
  /* the y of each visible thread's state row */
  int *ty = malloc((m->nthreads ? m->nthreads : 1) * sizeof *ty);
  if (!ty) return;
  for (size_t i = 0; i < m->nthreads; i++) ty[i] = -1;
  for (size_t i = 0; i < v->ntracks; i++)
    if (v->tracks[i].kind == VW_TR_THREAD && v->tracks[i].visible) ty[v->tracks[i].idx] = v->tracks[i].y + 10;
  int drawn = 0;
  for (size_t i = lo; i < n && (double)w[i].time <= c->tr && drawn < 4000;) {
    if (w[i].to != UINT32_MAX && ty[w[i].from] >= 0 && ty[w[i].to] >= 0) {
      int x = (int)vw_x_of(v, (double)w[i].time), y0 = ty[w[i].from], y1 = ty[w[i].to];
      line(c->d, x, y0, x, y1, C_WAKE);
      int dir = y1 > y0 ? -1 : 1;
      line(c->d, x, y1, x - 3, y1 + 5 * dir, C_WAKE);
      line(c->d, x, y1, x + 3, y1 + 5 * dir, C_WAKE);
      drawn++;
    }
    /* one arrow per 2 px is all a screen can show */
    double next = vw_time_at(v, vw_x_of(v, (double)w[i].time) + 2);
    size_t a = i + 1, b = n;
    while (a < b) {
      size_t mid = (a + b) / 2;
      if ((double)w[mid].time < next) a = mid + 1;
      else b = mid;
    }
    i = a;
  }
  free(ty);
}

/* ---- the time axis ---- */

static double nice_step(double ns_per_label) {
  double p = pow(10, floor(log10(ns_per_label)));
  double f = ns_per_label / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static const char *fmt_tick(char *buf, size_t n, double t, double step) {
  const char *u = "ns";
  double div = 1;
  if (step >= 1e8) u = "s", div = 1e9;
  else if (step >= 1e5) u = "ms", div = 1e6;
  else if (step >= 1e2) u = "us", div = 1e3;
  int dec = 0;
  double s = step / div;
  while (s < 1 && dec < 9) s *= 10, dec++;
  if (fabs(t) < step / 2) t = 0;
  snprintf(buf, n, "%.*f %s", dec, t / div, u);
  return buf;
}

static void draw_axis(ctx *c, int y, int grid_top, int grid_bottom) {
  vw_draw *d = c->d;
  rect(d, 0, c->v->w, y, VW_AXIS_H, VW_RGB(0xe4, 0xe6, 0xea));
  double step = nice_step(c->v->nspp * 110);
  double t = ceil(c->tl / step) * step;
  char buf[48];
  for (; t < c->tr; t += step) {
    int x = (int)vw_x_of(c->v, t);
    line(d, x, y + VW_AXIS_H - 6, x, y + VW_AXIS_H, C_DIM);
    line(d, x, grid_top, x, grid_bottom, C_GRID);
    text(d, x + 3, y + 2, fmt_tick(buf, sizeof buf, t, step), C_TEXT);
  }
}

/* ---- tracks ---- */

static void draw_track(ctx *c, vw_track *tr, int i) {
  vw_view *v = c->v;
  vw_model *m = v->m;
  vw_draw *d = c->d;
  uint32_t bg = i % 2 ? C_TRACK_B : C_TRACK_A;
  rect(d, 0, v->w, tr->y, tr->h, bg);
  char buf[160];
  int ly = tr->y + 3;
  const char *mark = "";
  bool pinned = tr->kind != VW_TR_PROCESS && ((tr->kind == VW_TR_THREAD && (v->thr_flags[tr->idx] & VW_F_PINNED)) ||
                                             (tr->kind == VW_TR_TASKS && (v->type_flags[tr->idx] & VW_F_PINNED)) ||
                                             (tr->kind == VW_TR_COUNTER && (v->ser_flags[tr->idx] & VW_F_PINNED)) ||
                                             (tr->kind == VW_TR_GC && (v->gc_flags & VW_F_PINNED)));
  clip(d, c->px, tr->y, c->pw, tr->h);
  switch (tr->kind) {
    case VW_TR_GC: {
      bool col = v->gc_flags & VW_F_COLLAPSED;
      mark = col ? "+" : "-";
      snprintf(buf, sizeof buf, "%s GC", mark);
      uint32_t cols[3] = {VW_RGB(0x8e, 0x7c, 0xc3), VW_RGB(0xb9, 0xa7, 0xe0), vw_cat_color(VW_CAT_GC)};
      const vw_vec *rows[3] = {&m->gc, &m->phases, &m->stw};
      for (int r = 0; r < (col ? 1 : 3); r++)
        draw_row(c, rows[r]->p, sizeof(vw_interval), rows[r]->n, tr->y + 2 + r * 13, 12, gc_item, &cols[r]);
      break;
    }
    case VW_TR_COUNTER: {
      const vw_series *s = &m->series[tr->idx];
      snprintf(buf, sizeof buf, "%s %s", (v->ser_flags[tr->idx] & VW_F_COLLAPSED) ? "+" : "-", s->name);
      draw_counter(c, s, tr->y + 1, tr->h - 2);
      break;
    }
    case VW_TR_TASKS: {
      const vw_tasktype *tt = &m->types[tr->idx];
      snprintf(buf, sizeof buf, "%s tasks: %s (%zu)", (v->type_flags[tr->idx] & VW_F_COLLAPSED) ? "+" : "-",
               *tt->name ? tt->name : "(no type)", tt->ntasks);
      size_t lanes = (size_t)(tr->h - 18) / 13;
      for (size_t l = 0; l < lanes && l < tt->nlanes; l++) {
        const vw_vec *lv = &VW_AT(tt->lanes_v, vw_vec, l);
        draw_row(c, lv->p, sizeof(vw_lane_item), lv->n, tr->y + 16 + (int)l * 13, 12, lane_item, NULL);
      }
      break;
    }
    case VW_TR_PROCESS: {
      const et_trace_info *info = m->info;
      const char *exe = strrchr(info->exe, '/');
      snprintf(buf, sizeof buf, "%s process %" PRIu64 " %s", (v->gc_flags & 4) ? "+" : "-", info->pid,
               exe ? exe + 1 : info->exe);
      rect(d, 0, v->w, tr->y, tr->h, VW_RGB(0xdf, 0xe3, 0xea));
      break;
    }
    case VW_TR_THREAD: {
      const vw_thread *th = &m->threads[tr->idx];
      const et_thread_info *ti = et_trace_thread(m->t, tr->idx);
      bool col = v->thr_flags[tr->idx] & VW_F_COLLAPSED;
      snprintf(buf, sizeof buf, "%s %" PRIu64 " %s", th->ndepth ? (col ? "+" : "-") : " ", ti->tid, ti->name);
      draw_spans(c, tr->idx, tr->y + 2, 16);
      int yy = tr->y + 18;
      if (th->samples.n) {
        draw_instants(c, th->samples.p, sizeof(vw_sample), th->samples.n, yy, 4, 1, tr->idx);
        yy += 5;
      }
      if (!col)
        for (int dd = 0; dd < th->ndepth; dd++) {
          int arg[2] = {dd, (int)tr->idx};
          draw_row(c, th->depth[dd].p, sizeof(vw_region), th->depth[dd].n, yy + dd * 14, 13, region_item, arg);
        }
      draw_instants(c, th->logs.p, sizeof(vw_log), th->logs.n, tr->y + 2, 6, 0, tr->idx);
      draw_instants(c, th->drops.p, sizeof(vw_point), th->drops.n, tr->y + 2, 16, 2, tr->idx);
      break;
    }
  }
  clip(d, 0, tr->y, c->px, tr->h);
  rect(d, 0, c->px, tr->y, tr->h, bg);
  if (pinned) rect(d, 0, 3, tr->y, tr->h, C_HL);
  text(d, 6, ly, buf, C_TEXT);
  if (tr->kind == VW_TR_THREAD && m->threads[tr->idx].drops.n) {
    const et_thread_info *ti = et_trace_thread(m->t, tr->idx);
    snprintf(buf, sizeof buf, "dropped %" PRIu64, ti->dropped);
    text(d, 16, ly + d->char_h, buf, C_DROP);
  }
  if (tr->kind == VW_TR_COUNTER) {
    const vw_series *s = &m->series[tr->idx];
    snprintf(buf, sizeof buf, "  max %" PRId64, s->max);
    if (tr->h > 2 * d->char_h) text(d, 6, ly + d->char_h, buf, C_DIM);
  }
}

/* ---- panels ---- */

typedef struct panel_geom {
  int x, y, w, h;
  int types_y, ntypes;
  int hist_y, hist_h, b0, b1, bar_w;
  int list_y, rows;
} panel_geom;

static void panel_geometry(const vw_view *v, panel_geom *g) {
  const vw_model *m = v->m;
  g->x = v->w - VW_PANEL_W;
  g->y = vw_tracks_top(v);
  g->w = VW_PANEL_W;
  g->h = v->h - 18 - g->y;
  g->types_y = g->y + 20;
  g->ntypes = (int)(m->ntypes < 6 ? m->ntypes : 6);
  g->hist_y = g->types_y + g->ntypes * 16 + 8;
  g->hist_h = 100;
  g->b0 = VW_HIST_BUCKETS, g->b1 = -1;
  if (v->panel_type >= 0 && (size_t)v->panel_type < m->ntypes) {
    const vw_tasktype *tt = &m->types[v->panel_type];
    for (int b = 0; b < VW_HIST_BUCKETS; b++)
      if (tt->hist[b]) {
        if (b < g->b0) g->b0 = b;
        g->b1 = b;
      }
  }
  int nb = g->b1 >= g->b0 ? g->b1 - g->b0 + 1 : 1;
  g->bar_w = (g->w - 20) / nb;
  if (g->bar_w > 40) g->bar_w = 40;
  if (g->bar_w < 2) g->bar_w = 2;
  g->list_y = g->hist_y + g->hist_h + 36;
  g->rows = (g->y + g->h - g->list_y) / 15;
  if (g->rows < 0) g->rows = 0;
}

bool vw_panel_click(vw_view *v, int x, int y) {
  if (!v->panel || x < v->w - VW_PANEL_W) return false;
  panel_geom g;
  panel_geometry(v, &g);
  if (y >= g.types_y && y < g.types_y + g.ntypes * 16) {
    vw_panel_list_bucket(v, (y - g.types_y) / 16, -1);
    return true;
  }
  if (y >= g.hist_y && y < g.hist_y + g.hist_h && g.b1 >= g.b0) {
    int b = g.b0 + (x - g.x - 10) / g.bar_w;
    if (x >= g.x + 10 && b <= g.b1) vw_panel_list_bucket(v, v->panel_type, b);
    return true;
  }
  if (y >= g.list_y && y < g.list_y + g.rows * 15) {
    size_t k = v->panel_scroll + (size_t)((y - g.list_y) / 15);
    if (!v->panel_list && v->panel_type >= 0) vw_panel_list_bucket(v, v->panel_type, -1);
    if (k < v->panel_n) vw_choose_task(v, v->panel_list[k]);
  }
  return true;
}

bool vw_panel_bar_at(vw_view *v, int bucket, int *x, int *y) {
  panel_geom g;
  panel_geometry(v, &g);
  if (!v->panel || bucket < g.b0 || bucket > g.b1) return false;
  *x = g.x + 10 + (bucket - g.b0) * g.bar_w + g.bar_w / 2;
  *y = g.hist_y + g.hist_h - 1;
  return true;
}

bool vw_panel_row_at(vw_view *v, int row, int *x, int *y) {
  panel_geom g;
  panel_geometry(v, &g);
  if (!v->panel || row >= g.rows) return false;
  *x = g.x + 40;
  *y = g.list_y + row * 15 + 7;
  return true;
}

static void draw_panel(ctx *c) {
  vw_view *v = c->v;
  const vw_model *m = v->m;
  vw_draw *d = c->d;
  panel_geom g;
  panel_geometry(v, &g);
  clip(d, g.x, g.y, g.w, g.h);
  rect(d, g.x, g.x + g.w, g.y, g.h, VW_RGB(0xfa, 0xfa, 0xfc));
  line(d, g.x, g.y, g.x, g.y + g.h, C_DIM);
  text(d, g.x + 8, g.y + 3, "Tasks by latency  (t: close)", C_HEADER);
  char buf[160], a[48];
  for (int i = 0; i < g.ntypes; i++) {
    const vw_tasktype *tt = &m->types[i];
    if (i == v->panel_type) rect(d, g.x + 2, g.x + g.w - 2, g.types_y + i * 16, 16, VW_RGB(0xd8, 0xe4, 0xf8));
    snprintf(buf, sizeof buf, "%-20.20s %8zu tasks", *tt->name ? tt->name : "(no type)", tt->ntasks);
    text(d, g.x + 8, g.types_y + i * 16 + 1, buf, C_TEXT);
  }
  if (v->panel_type < 0 || (size_t)v->panel_type >= m->ntypes || g.b1 < g.b0) {
    text(d, g.x + 8, g.hist_y, m->ntypes ? "no tasks" : "no tasks in this trace", C_DIM);
    return;
  }
  const vw_tasktype *tt = &m->types[v->panel_type];
  uint64_t maxc = 1;
  for (int b = g.b0; b <= g.b1; b++)
    if (tt->hist[b] > maxc) maxc = tt->hist[b];
  for (int b = g.b0; b <= g.b1; b++) {
    int x = g.x + 10 + (b - g.b0) * g.bar_w;
    int bh = tt->hist[b] ? 1 + (int)((double)tt->hist[b] / (double)maxc * (g.hist_h - 14)) : 0;
    uint32_t col = b == v->panel_bucket ? C_HL : VW_RGB(0x4a, 0x78, 0xc0);
    if (bh) rect(d, x + 1, x + g.bar_w - 1, g.hist_y + g.hist_h - bh, bh, col);
    if (g.bar_w >= 24 && tt->hist[b]) {
      snprintf(buf, sizeof buf, "%" PRIu64, tt->hist[b]);
      text(d, x + 1, g.hist_y + g.hist_h - bh - d->char_h, buf, C_DIM);
    }
    if (b % VW_HIST_PER_DECADE == 0 || b == g.b0) {
      line(d, x, g.hist_y + g.hist_h, x, g.hist_y + g.hist_h + 4, C_DIM);
      text(d, x, g.hist_y + g.hist_h + 4, vw_fmt_dur(a, sizeof a, vw_hist_bucket_low(b)), C_DIM);
    }
  }
  if (!v->panel_list) vw_panel_list_bucket(v, v->panel_type, v->panel_bucket);
  if (v->panel_bucket >= 0)
    snprintf(buf, sizeof buf, "%zu tasks from %s, longest first", v->panel_n,
             vw_fmt_dur(a, sizeof a, vw_hist_bucket_low(v->panel_bucket)));
  else
    snprintf(buf, sizeof buf, "all %zu tasks, longest first", v->panel_n);
  text(d, g.x + 8, g.list_y - 16, buf, C_HEADER);
  for (int r = 0; r < g.rows && v->panel_scroll + (size_t)r < v->panel_n; r++) {
    uint32_t i = v->panel_list[v->panel_scroll + (size_t)r];
    const et_task *tk = et_trace_task(m->t, i);
    uint64_t end = tk->end == UINT64_MAX ? m->info->duration_ns : tk->end;
    if (v->sel.kind == VW_SEL_TASK && v->sel.index == i)
      rect(d, g.x + 2, g.x + g.w - 2, g.list_y + r * 15, 15, VW_RGB(0xf8, 0xd8, 0xee));
    snprintf(buf, sizeof buf, "task %-8" PRIu64 " %10s  thread %" PRIu64, tk->id,
             vw_fmt_dur(a, sizeof a, (double)(end - tk->begin)), tk->tid);
    text(d, g.x + 8, g.list_y + r * 15, buf, C_TEXT);
  }
}

static void draw_details(ctx *c) {
  vw_view *v = c->v;
  vw_draw *d = c->d;
  int y = vw_tracks_bottom(v), w = v->w - (v->panel ? VW_PANEL_W : 0);
  clip(d, 0, y, w, VW_DETAILS_H);
  rect(d, 0, w, y, VW_DETAILS_H, VW_RGB(0xfc, 0xfc, 0xf6));
  line(d, 0, y, w, y, C_DIM);
  char lines[40][160];
  size_t n = vw_details(v, lines, 40);
  int per_col = (VW_DETAILS_H - 8) / d->char_h;
  for (size_t i = 0; i < n; i++) {
    int col = (int)i / per_col;
    if (col > 1) break;
    text(d, 8 + col * (w / 2), y + 4 + (int)(i % (size_t)per_col) * d->char_h, lines[i], i == 0 ? C_HEADER : C_TEXT);
  }
}

static const char *const help_lines[] = {
    "exectrace view - keys and mouse",
    "",
    "wheel            zoom at the mouse        shift+wheel  scroll tracks",
    "drag             pan                      shift+drag / right drag  select a range",
    "W / S            zoom in / out            A / D        pan left / right",
    "up/down, PgUp/PgDn  scroll tracks         Home         to the top",
    "click            select (details below)   click a label  collapse / expand",
    "f                fit the selection        0            show everything",
    "/                search names (Enter)     n / N        next / previous match",
    "c                collapse / expand the track under the mouse",
    "C                collapse / expand every thread",
    "x                pin / unpin the track under the mouse",
    "t                tasks panel: histogram per type, click a bar, click a task",
    "p                save a pprof profile of the range or the selected task",
    "Esc              clear selection, range, search      q  quit",
    "?                this help",
    "",
    "colours: running, runnable, blocked on sync / net / file I/O / sleep / other,",
    "syscall, GC; grey marks fold items too small to draw, with their count;",
    "triangles on top are logs, ticks below are CPU samples, red marks dropped events.",
};

static void draw_help(ctx *c) {
  vw_view *v = c->v;
  vw_draw *d = c->d;
  int n = (int)(sizeof help_lines / sizeof help_lines[0]);
  int w = 84 * d->char_w, h = (n + 2) * d->char_h + VW_CAT_COUNT * 0;
  int x = (v->w - w) / 2, y = (v->h - h) / 2;
  if (x < 0) x = 0;
  if (y < 0) y = 0;
  clip(d, -1, 0, -1, 0);
  rect(d, x, x + w, y, h + 20, VW_RGB(0xff, 0xff, 0xf0));
  line(d, x, y, x + w, y, C_TEXT);
  line(d, x, y + h + 20, x + w, y + h + 20, C_TEXT);
  for (int i = 0; i < n; i++) text(d, x + 10, y + d->char_h / 2 + i * d->char_h, help_lines[i], C_TEXT);
  int cx = x + 10, cy = y + d->char_h / 2 + n * d->char_h + 2;
  for (int k = 0; k < VW_CAT_COUNT; k++) {
    rect(d, cx, cx + 10, cy + 2, 10, vw_cat_color(k));
    const char *nm = vw_cat_name(k);
    text(d, cx + 13, cy, nm, C_TEXT);
    cx += 13 + (int)strlen(nm) * d->char_w + 10;
    if (cx > x + w - 150) cx = x + 10, cy += d->char_h;
  }
}

void vw_frame(vw_view *v, vw_draw *d) {
  vw_layout(v);
  ctx c = {v, d, 0, 0, vw_plot_x(v), vw_plot_w(v)};
  c.tl = vw_time_at(v, c.px);
  c.tr = vw_time_at(v, c.px + c.pw);
  const vw_model *m = v->m;
  clip(d, -1, 0, -1, 0);
  rect(d, 0, v->w, 0, v->h, C_BG);
  int top = vw_tracks_top(v), bottom = vw_tracks_bottom(v);
  /* tracks: the scrolled ones, then the pinned ones over them */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < v->ntracks; i++) {
      vw_track *tr = &v->tracks[i];
      bool pinned = tr->kind == VW_TR_THREAD ? (v->thr_flags[tr->idx] & VW_F_PINNED)
                    : tr->kind == VW_TR_TASKS ? (v->type_flags[tr->idx] & VW_F_PINNED)
                    : tr->kind == VW_TR_COUNTER ? (v->ser_flags[tr->idx] & VW_F_PINNED)
                    : tr->kind == VW_TR_GC ? (v->gc_flags & VW_F_PINNED) : 0;
      if ((pass == 1) != pinned || !tr->visible) continue;
      draw_track(&c, tr, (int)i);
    }
  clip(d, c.px, top, c.pw, bottom - top);
  draw_wakes(&c);
  if (v->has_range) {
    double a = vw_x_of(v, (double)v->r0), b = vw_x_of(v, (double)v->r1);
    rect(d, a, b, top, bottom - top, C_RANGE);
    line(d, (int)a, top, (int)a, bottom, VW_RGB(0x30, 0x60, 0xd0));
    line(d, (int)b, top, (int)b, bottom, VW_RGB(0x30, 0x60, 0xd0));
  }
  if (v->sel.kind != VW_SEL_NONE && v->sel.kind != VW_SEL_THREAD) {
    double a = vw_x_of(v, (double)v->sel.start), b = vw_x_of(v, (double)v->sel.end);
    line(d, (int)a, top, (int)a, bottom, VW_RGBA(0, 0, 0, 0x60));
    if (b - a >= 1) line(d, (int)b, top, (int)b, bottom, VW_RGBA(0, 0, 0, 0x60));
  }
  /* axis, with the grid drawn under nothing else: a line per tick */
  clip(d, -1, 0, -1, 0);
  draw_axis(&c, VW_HEADER_H, top, top);
  clip(d, c.px, 0, c.pw, top);
  char buf[256], a[48], b[48];
  if (v->mouse_x >= c.px && v->mouse_x < c.px + c.pw) {
    double t = vw_time_at(v, v->mouse_x);
    line(d, v->mouse_x, VW_HEADER_H, v->mouse_x, top, C_HL);
    snprintf(buf, sizeof buf, " %s ", vw_fmt_dur(a, sizeof a, t));
    rect(d, v->mouse_x + 2, v->mouse_x + 2 + (int)strlen(buf) * d->char_w, VW_HEADER_H + 2, d->char_h,
         VW_RGB(0xff, 0xff, 0xe0));
    text(d, v->mouse_x + 2, VW_HEADER_H + 2, buf, C_TEXT);
  }
  clip(d, -1, 0, -1, 0);
  /* header */
  rect(d, 0, v->w, 0, VW_HEADER_H, C_HEADER);
  const char *base = strrchr(m->path, '/');
  snprintf(buf, sizeof buf, "%s   %" PRIu64 " events   %zu threads   %zu tasks   %s   window %s",
           base ? base + 1 : m->path, m->info->events, et_trace_thread_count(m->t), m->ntasks,
           vw_fmt_dur(a, sizeof a, (double)m->info->duration_ns), vw_fmt_dur(b, sizeof b, c.pw * v->nspp));
  text(d, 6, 3, buf, VW_RGB(0xff, 0xff, 0xff));
  if (m->info->dropped || m->info->lost_chunks || !m->info->complete) {
    snprintf(buf, sizeof buf, " %s%" PRIu64 " dropped, %" PRIu64 " chunks lost ", m->info->complete ? "" : "incomplete, ",
             m->info->dropped, m->info->lost_chunks);
    int x = v->w - (int)strlen(buf) * d->char_w - 6;
    rect(d, x, x + (int)strlen(buf) * d->char_w, 2, VW_HEADER_H - 4, C_DROP);
    text(d, x, 3, buf, VW_RGB(0xff, 0xff, 0xff));
  }
  if (v->sel.kind != VW_SEL_NONE || v->has_range) draw_details(&c);
  clip(d, -1, 0, -1, 0);
  if (v->panel) draw_panel(&c);
  clip(d, -1, 0, -1, 0);
  /* status line */
  rect(d, 0, v->w, v->h - 18, 18, VW_RGB(0xe4, 0xe6, 0xea));
  if (v->searching) snprintf(buf, sizeof buf, "search: %s_", v->query);
  else snprintf(buf, sizeof buf, "%s", *v->status ? v->status : "? for help");
  text(d, 6, v->h - 17, buf, C_TEXT);
  if (v->help) draw_help(&c);
}

/* ---- the null backend ---- */

static void null_rect(void *c, int x, int y, int w, int h, uint32_t col) {
  (void)c, (void)x, (void)y, (void)w, (void)h, (void)col;
}
static void null_line(void *c, int x0, int y0, int x1, int y1, uint32_t col) {
  (void)c, (void)x0, (void)y0, (void)x1, (void)y1, (void)col;
}
static void null_text(void *c, int x, int y, const char *s, size_t n, uint32_t col) {
  (void)c, (void)x, (void)y, (void)s, (void)n, (void)col;
}
static void null_clip(void *c, int x, int y, int w, int h) { (void)c, (void)x, (void)y, (void)w, (void)h; }

void vw_draw_null(vw_draw *d) {
  static const vw_draw_ops ops = {null_rect, null_line, null_text, null_clip};
  memset(d, 0, sizeof *d);
  d->ops = &ops;
  d->char_w = 7;
  d->char_h = 14;
}

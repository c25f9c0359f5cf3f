/* The view: everything the timeline shows and how input changes it, without
 * SDL.  The window (app.c) turns SDL events into the calls below and draws
 * with vw_frame(); tests make the same calls, or push SDL events through the
 * real loop, and read the state back.
 *
 * Time on screen: x = plot_x + (t - t0) / nspp, with t0 and nspp (ns per
 * pixel) in double precision.  Vertical layout is rebuilt from the track
 * list by vw_layout() whenever a frame is drawn or a hit is tested.
 */
#ifndef EXECTRACE_VIEWER_VIEW_H
#define EXECTRACE_VIEWER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "draw.h"
#include "model.h"

#define VW_LABEL_W 190
#define VW_HEADER_H 20
#define VW_AXIS_H 20
#define VW_DETAILS_H 190
#define VW_PANEL_W 430
#define VW_FOLD_PX 3 /* spans narrower than this fold into marks */

enum vw_track_kind { VW_TR_GC, VW_TR_COUNTER, VW_TR_TASKS, VW_TR_PROCESS, VW_TR_THREAD };

typedef struct vw_track {
  int kind;
  size_t idx;   /* thread, series or task type index */
  int y, h;     /* on screen, after layout */
  bool visible; /* any part on screen */
} vw_track;

enum vw_sel_kind {
  VW_SEL_NONE,
  VW_SEL_SPAN,   /* thread, index */
  VW_SEL_REGION, /* thread, depth, index */
  VW_SEL_LOG,    /* thread, index */
  VW_SEL_SAMPLE, /* thread, index */
  VW_SEL_TASK,   /* index = task index */
  VW_SEL_GC,     /* depth: 0 collection, 1 phase, 2 pause; index */
  VW_SEL_THREAD, /* thread */
  VW_SEL_FOLD,   /* thread, depth (-1: states), start..end: a folded mark */
};

typedef struct vw_sel {
  int kind;
  size_t thread, index;
  int depth;
  uint64_t start, end;
} vw_sel;

#define VW_TOP_STACKS 5
typedef struct vw_summary {
  uint64_t from, to;
  size_t nthreads;
  uint64_t (*ns)[VW_CAT_COUNT + 1]; /* per thread: per category, then time outside its life */
  uint64_t total[VW_CAT_COUNT];
  uint32_t top_stack[VW_TOP_STACKS];
  uint64_t top_ns[VW_TOP_STACKS];
  int ntop;
} vw_summary;

typedef struct vw_hit {
  int kind; /* VW_SEL_* */
  size_t thread, index;
  int depth;
  uint64_t start, end;
} vw_hit;

typedef struct vw_view {
  vw_model *m;
  int w, h;
  double t0, nspp;
  int scroll;             /* vertical scroll of the unpinned tracks, px */
  int mouse_x, mouse_y;
  uint8_t *thr_flags, *type_flags, *ser_flags, gc_flags; /* VW_F_* */
  vw_track *tracks;
  size_t ntracks;
  int content_h;          /* height of the unpinned tracks */
  vw_sel sel;
  bool has_range;
  uint64_t r0, r1;
  vw_summary sum;
  uint64_t hl_task;       /* a chosen task: its regions and logs are highlighted */
  bool hl_has;
  uint64_t hl_ns[VW_CAT_COUNT]; /* the chosen task's time by state */
  size_t hl_threads;      /* threads it touched */
  /* search */
  bool searching;         /* typing a query */
  char query[128];
  vw_hit *hits;
  size_t nhits, hit;
  /* panels */
  bool help, panel;
  int panel_type, panel_bucket; /* -1: none */
  size_t panel_scroll;
  uint32_t *panel_list;   /* tasks listed in the panel (indexes) */
  size_t panel_n;
  /* dragging */
  int drag;               /* 0 none, 1 pan, 2 range */
  int drag_x, drag_y;
  double drag_t0;
  uint64_t drag_time;
  bool drag_moved;
  char status[256];
  void *sym;              /* et__sym, opened on first use */
  bool want_pprof;        /* the pprof key was pressed: the app saves one */
} vw_view;

#define VW_F_COLLAPSED 1
#define VW_F_PINNED 2

/* Sets v up on model m for a w x h window, showing the whole trace. */
int vw_view_init(vw_view *v, vw_model *m, int w, int h);
void vw_view_free(vw_view *v);

/* Geometry of the plot area. */
int vw_plot_x(const vw_view *v);
int vw_plot_w(const vw_view *v);
int vw_tracks_top(const vw_view *v);
int vw_tracks_bottom(const vw_view *v);
double vw_time_at(const vw_view *v, double x);
double vw_x_of(const vw_view *v, double t);

/* Navigation. */
void vw_zoom_at(vw_view *v, double x, double factor); /* factor < 1 zooms in */
void vw_pan_px(vw_view *v, double dx);                /* content moves right by dx */
void vw_show_all(vw_view *v);
void vw_fit(vw_view *v, uint64_t from, uint64_t to);  /* with a 5% margin each side */
bool vw_fit_selection(vw_view *v);                   /* the selection, or the range */
void vw_scroll(vw_view *v, int dy);
void vw_resize(vw_view *v, int w, int h);
void vw_set_panel(vw_view *v, bool on); /* shows or hides the tasks panel, keeping the time window */

/* Layout of the tracks for the current size and flags. */
void vw_layout(vw_view *v);

/* The track at screen y, or NULL. */
vw_track *vw_track_at(vw_view *v, int y);

/* What is under (x, y); kind VW_SEL_NONE if nothing. */
vw_sel vw_hit_test(vw_view *v, int x, int y);

/* Selects what is under (x, y) (or clears the selection). */
void vw_click(vw_view *v, int x, int y);

/* Selects the time range [from, to) and computes its summary. */
void vw_set_range(vw_view *v, uint64_t from, uint64_t to);
void vw_clear(vw_view *v);

/* Searches names (regions, task types, log categories and messages, threads)
 * for q; jumps to the first match.  Returns the number of matches. */
size_t vw_search(vw_view *v, const char *q);
void vw_search_next(vw_view *v, int dir);

/* Chooses task index i: zooms to it, selects it, highlights its regions and
 * logs, computes its time by state. */
void vw_choose_task(vw_view *v, size_t i);

/* Toggles a track's flag (VW_F_COLLAPSED / VW_F_PINNED). */
void vw_toggle_track(vw_view *v, vw_track *tr, int flag);

/* The details lines of the selection (or the range summary) into buf, one
 * line per entry; returns the count. */
size_t vw_details(vw_view *v, char lines[][160], size_t max);

/* Tasks panel: the histogram bar under (x, y), the list entry, clicks. */
bool vw_panel_click(vw_view *v, int x, int y);
void vw_panel_list_bucket(vw_view *v, int type, int bucket);
/* Where the histogram bar of bucket / the list's row is on screen (false if not shown). */
bool vw_panel_bar_at(vw_view *v, int bucket, int *x, int *y);
bool vw_panel_row_at(vw_view *v, int row, int *x, int *y);

/* Draws one frame. */
void vw_frame(vw_view *v, vw_draw *d);

/* Formats a duration ("1.25 ms") / a time since the start into buf. */
const char *vw_fmt_dur(char *buf, size_t n, double ns);

/* Colour of a category. */
uint32_t vw_cat_color(int c);

/* Symbolizes the frames of stack id into lines "fn (file:line)"; returns count. */
size_t vw_stack_lines(vw_view *v, uint32_t stack, bool first_is_pc, char lines[][160], size_t max);

#endif

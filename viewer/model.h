/* The viewer's data: what the timeline draws, loaded from a trace in one walk.
 *
 * The reader's model (reader.h) gives threads, tasks, strings and stacks; the
 * timeline also needs things the model does not keep — regions nested per
 * thread, logs, CPU samples, wakes that ended a wait, GC intervals, counter
 * series — and a way to answer "how much time in each state between t0 and
 * t1" without visiting every span.  vw_model_load() gets all of it from one
 * et_trace_open_walk(): the walk hands every event and span out once, and
 * this file keeps the spans itself (16 bytes each, as the model would) with a
 * running sum of time per category every VW_BLOCK spans, so that a range's
 * time per state costs two binary searches and at most 2 * VW_BLOCK steps.
 * That is what lets the frame code fold thousands of sub-pixel spans into a
 * few marks per pixel column, so frame time depends on the window, not the
 * trace.  Nothing here knows about SDL.
 */
#ifndef EXECTRACE_VIEWER_MODEL_H
#define EXECTRACE_VIEWER_MODEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exectrace/reader.h"

/* What the timeline colours: a thread state, with waits split by reason. */
enum vw_cat {
  VW_CAT_RUNNING,
  VW_CAT_RUNNABLE, /* woken, waiting for a CPU */
  VW_CAT_SYNC,     /* blocked: mutex, rwlock, cond, sem, join, barrier */
  VW_CAT_NET,      /* blocked: network, poll */
  VW_CAT_IO,       /* blocked: file, pipe */
  VW_CAT_SLEEP,    /* blocked: sleep */
  VW_CAT_BLOCKED,  /* blocked: other, user-defined, GC */
  VW_CAT_SYSCALL,  /* in a system call */
  VW_CAT_GC,       /* stopped by a stop-the-world pause */
  VW_CAT_COUNT
};

#define VW_BLOCK 32      /* spans per running-sum entry */
#define VW_MAX_DEPTH 32  /* region nesting kept per thread */

/* An interval row item: every row type starts with start and end so that the
 * folding code can treat them alike (vw_row). */
typedef struct vw_region {
  uint64_t start, end;
  uint64_t task;
  uint32_t name; /* string id */
  uint32_t pad;
} vw_region;

typedef struct vw_log {
  uint64_t time, task;
  uint32_t category; /* string id */
  uint32_t len;
  const char *msg; /* into the mapped trace; not NUL-terminated */
} vw_log;

typedef struct vw_sample {
  uint64_t time;
  uint32_t stack, pad;
} vw_sample;

typedef struct vw_point {
  uint64_t time;
  int64_t value;
} vw_point;

/* A wake that ended a wait: from thread index `from` to thread index `to`. */
typedef struct vw_wake {
  uint64_t time;
  uint32_t from, to; /* to = UINT32_MAX until a runnable span claims it */
} vw_wake;

typedef struct vw_interval {
  uint64_t start, end;
  uint32_t name; /* string id (phase name, pause reason), 0 for none */
  uint32_t pad;
} vw_interval;

/* A task in a lane of its type's track. */
typedef struct vw_lane_item {
  uint64_t start, end;
  uint32_t task; /* index into et_trace_task */
  uint32_t pad;
} vw_lane_item;

/* A growable array of fixed-size items. */
typedef struct vw_vec {
  void *p;
  size_t n, cap;
} vw_vec;

#define VW_AT(vec, type, i) (((type *)(vec).p)[i])

/* Time per category, at the start of every VW_BLOCK-th span. */
typedef struct vw_cum {
  uint64_t ns[VW_CAT_COUNT];
} vw_cum;

typedef struct vw_thread {
  vw_vec spans;   /* et_span */
  vw_vec cum;     /* vw_cum: cum[b] = time per category of spans [0, b * VW_BLOCK) */
  uint64_t tot[VW_CAT_COUNT];
  uint64_t last;  /* end of the last span */
  vw_vec depth[VW_MAX_DEPTH]; /* vw_region rows by nesting depth */
  int ndepth;
  vw_vec logs;    /* vw_log */
  vw_vec samples; /* vw_sample */
  vw_vec drops;   /* vw_point: time, events lost */
  /* while loading: the open regions */
  vw_region open[VW_MAX_DEPTH];
  int nopen;
} vw_thread;

typedef struct vw_series {
  char name[64];
  uint64_t id;   /* string id, or 0 for the heap series */
  vw_vec pts;    /* vw_point */
  int64_t min, max;
} vw_series;

/* One task type's track: its tasks in lanes that never overlap, and the
 * latency histogram (VW_HIST_PER_DECADE buckets per power of ten). */
#define VW_HIST_PER_DECADE 5
#define VW_HIST_BUCKETS 64 /* 1 ns .. 10^12.8 ns */
typedef struct vw_tasktype {
  const char *name;
  vw_vec lanes_v;   /* vw_vec of vw_lane_item, one per lane */
  size_t nlanes;
  size_t ntasks;
  uint32_t *by_duration; /* task indexes, longest first */
  uint64_t hist[VW_HIST_BUCKETS];
} vw_tasktype;

typedef struct vw_model {
  et_trace *t;
  const et_trace_info *info;
  char path[1024];
  size_t nthreads;
  vw_thread *threads;
  vw_vec wakes;       /* vw_wake, in time order */
  vw_vec gc, phases, stw; /* vw_interval */
  vw_series *series;
  size_t nseries;
  vw_tasktype *types;
  size_t ntypes;
  uint32_t *task_type; /* task index -> type index */
  struct vw_task_id *task_by_id; /* sorted by id */
  size_t ntasks;
  vw_vec region_names; /* uint32_t distinct region name ids */
  uint64_t samples;    /* CPU samples in all */
  /* open intervals while loading */
  uint64_t gc_open, phase_open, stw_open;
  uint32_t phase_name, stw_name;
  bool gc_in, phase_in, stw_in;
  unsigned char kinds[256]; /* which kinds the walk hands us, and as what */
  bool kinds_ready;
  unsigned f_region_task, f_region_name, f_log_task, f_log_cat, f_log_msg, f_counter_name,
      f_counter_value, f_sample_stack, f_drop_count, f_phase_name, f_stw_reason;
} vw_model;

/* Loading progress, written by the loading thread, read by the window. */
typedef struct vw_progress {
  _Atomic uint64_t events;   /* events handed out so far */
  _Atomic uint64_t bytes;    /* size of the file */
  _Atomic int done;          /* 1 when the load finished (then err and model are set) */
} vw_progress;

/* Loads the trace at path.  Returns 0 and sets *out, or a negative error
 * (et_strerror).  progress may be NULL. */
int vw_model_load(const char *path, vw_progress *p, vw_model **out);

/* Frees the model and its trace; NULL is allowed. */
void vw_model_free(vw_model *m);

/* The category of a span. */
int vw_span_cat(const et_span *s);

/* The end of thread th's span i. */
uint64_t vw_span_end(const vw_model *m, size_t th, size_t i);

/* Index of the span of thread th covering time t, or SIZE_MAX if none. */
size_t vw_span_at(const vw_model *m, size_t th, uint64_t t);

/* Adds to ns[] the time per category thread th spends in [t0, t1). */
void vw_thread_time(const vw_model *m, size_t th, uint64_t t0, uint64_t t1, uint64_t ns[VW_CAT_COUNT]);

/* The first index in an interval row (items of size stride starting with
 * start, end, sorted, not overlapping) whose end is after t. */
size_t vw_row_first_ending_after(const void *base, size_t stride, size_t n, uint64_t t);

/* The first index at or after from whose start is >= t. */
size_t vw_row_first_starting_at(const void *base, size_t stride, size_t n, size_t from, uint64_t t);

/* The index of task id, or SIZE_MAX. */
size_t vw_task_index(const vw_model *m, uint64_t id);

/* Histogram bucket of a duration in ns. */
int vw_hist_bucket(uint64_t ns);

/* Lower bound in ns of bucket b. */
double vw_hist_bucket_low(int b);

/* The name of category c ("running", "blocked: sync", ...). */
const char *vw_cat_name(int c);

#endif

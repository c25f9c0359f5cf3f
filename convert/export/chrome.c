/* The Chrome trace event JSON export, for Perfetto UI and chrome://tracing.
 *
 * Layout: one process (the traced one); per thread, a track with the
 * thread's states as complete events ("X": running, runnable, blocked: REASON,
 * syscall: FDCLASS, gc) and the instants that belong to the thread (thread
 * creation, drops, CPU samples), and — only if the thread has any — a second
 * track "NAME regions" with its regions as "B"/"E" and its logs as instants.
 * The two are apart because regions do not nest inside state spans, and
 * both viewers drop slices on one track that overlap without nesting.  The
 * second track's tid is REGION_TID_BASE + the thread's index, above any
 * Linux tid.  Tasks are async slices ("b"/"e", id = task id); collections,
 * their phases and stop-the-world pauses are async slices too; counters are
 * "C" events; each wake-up that the model matched to the wait it ended is a
 * flow ("s" on the waker's state span, "f" on the woken thread's runnable
 * span).  Events with a stack carry "sf", and the stacks are written as
 * "stackFrames" (addresses; no symbols yet).
 *
 * Times are microseconds with three decimals, so nanoseconds survive.  The
 * JSON is written as it is produced; memory holds the threads' region
 * stacks and one entry per runnable span (for the flows), not the output.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "util.h"

#define REGION_TID_BASE (UINT64_C(1) << 30)

typedef struct open_region {
  uint64_t task, name;
} open_region;

typedef struct thr {
  open_region *regions;
  size_t nregions, capregions;
  bool region_track; /* its metadata is written */
} thr;

typedef struct runnable {
  uint64_t time;
  uint32_t stack;
  uint32_t thread;
  uint64_t flow; /* 0 until a wake claims it */
} runnable;

typedef struct kind_ref {
  int kind;
  int f[3];
} kind_ref;

typedef struct chrome {
  const et_trace *t;
  FILE *f;
  uint64_t pid;
  bool first;
  thr *threads;
  et__map tid_index; /* tid -> thread index */
  runnable *run;
  size_t nrun;
  uint64_t flows;
  et__progress progress;
  /* Collections: open counts and the stack of open phases' names. */
  uint64_t gc_open, stw_open;
  uint64_t *phases;
  size_t nphases, capphases;
  kind_ref wake, rbegin, rend, log, counter, heap_live, heap_goal, gc_begin, gc_end, ph_begin,
      ph_end, stw_begin, stw_end, create, drop, sample;
} chrome;

static void find_kind(const et_trace *t, kind_ref *r, const char *kind, const char *f0,
                      const char *f1, const char *f2) {
  const char *names[3] = {f0, f1, f2};
  r->kind = et_trace_kind_by_name(t, kind);
  for (int i = 0; i < 3; i++) {
    r->f[i] = -1;
    if (r->kind < 0 || !names[i]) continue;
    unsigned n = et_trace_field_count(t, (unsigned)r->kind);
    for (unsigned j = 0; j < n; j++)
      if (strcmp(et_trace_field_name(t, (unsigned)r->kind, j), names[i]) == 0) r->f[i] = (int)j;
  }
}

/* Field i of ref in ev, or 0 when the trace's catalogue lacks it. */
static uint64_t fv(const kind_ref *r, int i, const et_event *ev) {
  int j = r->f[i];
  return j >= 0 && (unsigned)j < ev->nfields ? ev->field[j] : 0;
}

static const char *str(const chrome *c, uint64_t id, char *buf, size_t n) {
  if (id == 0) return "";
  const char *s = et_trace_string(c->t, id);
  if (s) return s;
  snprintf(buf, n, "?%" PRIu64, id);
  return buf;
}

static void ts(FILE *f, const char *key, uint64_t ns) {
  fprintf(f, ",\"%s\":%" PRIu64 ".%03u", key, ns / 1000, (unsigned)(ns % 1000));
}

/* Starts one event object; the caller adds fields and calls close_ev(). */
static void open_ev(chrome *c, char ph, const char *cat, const char *name, uint64_t tid, uint64_t ns) {
  FILE *f = c->f;
  fputs(c->first ? "\n{" : ",\n{", f);
  c->first = false;
  fprintf(f, "\"ph\":\"%c\"", ph);
  if (cat) fprintf(f, ",\"cat\":\"%s\"", cat);
  fputs(",\"name\":", f);
  et__json_text(f, name, strlen(name));
  fprintf(f, ",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64, c->pid, tid);
  ts(f, "ts", ns);
}

static void close_ev(chrome *c) { fputc('}', c->f); }

static void thread_name(chrome *c, uint64_t tid, const char *name, const char *suffix, uint64_t order) {
  char buf[300];
  snprintf(buf, sizeof buf, "%s%s", name, suffix);
  fputs(c->first ? "\n" : ",\n", c->f);
  c->first = false;
  fprintf(c->f,
          "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64
          ",\"ts\":0,\"args\":{\"name\":",
          c->pid, tid);
  et__json_text(c->f, buf, strlen(buf));
  fprintf(c->f, "}},\n{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":%" PRIu64 ",\"tid\":%" PRIu64
                ",\"ts\":0,\"args\":{\"sort_index\":%" PRIu64 "}}",
          c->pid, tid, order);
}

static const char *display_name(const et_thread_info *th, char *buf, size_t n) {
  if (th->name[0]) return th->name;
  snprintf(buf, n, "thread %" PRIu64, th->tid);
  return buf;
}

static void metadata(chrome *c) {
  const et_trace_info *in = et_trace_get_info(c->t);
  const char *exe = in->exe[0] ? in->exe : "traced process";
  const char *slash = strrchr(exe, '/');
  const char *pname = slash && slash[1] ? slash + 1 : exe;
  fputs("\n{\"ph\":\"M\",\"name\":\"process_name\"", c->f);
  fprintf(c->f, ",\"pid\":%" PRIu64 ",\"tid\":0,\"ts\":0,\"args\":{\"name\":", c->pid);
  et__json_text(c->f, pname, strlen(pname));
  fputs("}}", c->f);
  c->first = false;
  for (size_t i = 0; i < et_trace_thread_count(c->t); i++) {
    const et_thread_info *th = et_trace_thread(c->t, i);
    char buf[64];
    thread_name(c, th->tid, display_name(th, buf, sizeof buf), "", 2 * (uint64_t)i);
  }
}

/* The track of thread ti's regions and logs, announced on first use. */
static uint64_t region_track(chrome *c, size_t ti) {
  uint64_t tid = REGION_TID_BASE + ti;
  if (!c->threads[ti].region_track) {
    const et_thread_info *th = et_trace_thread(c->t, ti);
    char buf[64];
    thread_name(c, tid, display_name(th, buf, sizeof buf), " regions", 2 * (uint64_t)ti + 1);
    c->threads[ti].region_track = true;
  }
  return tid;
}

static void sf(chrome *c, uint64_t stack) {
  const uint64_t *frames;
  if (stack && et_trace_stack(c->t, stack, &frames) > 0) fprintf(c->f, ",\"sf\":\"%" PRIu64 ".0\"", stack);
}

static int cmp_run(const void *a, const void *b) {
  const runnable *x = a, *y = b;
  if (x->time != y->time) return x->time < y->time ? -1 : 1;
  return x->thread < y->thread ? -1 : x->thread > y->thread;
}

/* The runnable spans, sorted by (time, thread), for matching wakes. */
static int collect_runnable(chrome *c) {
  size_t n = 0, cap = 0;
  for (size_t i = 0; i < et_trace_thread_count(c->t); i++) {
    const et_span *sp;
    size_t ns = et_trace_spans(c->t, i, &sp);
    for (size_t j = 0; j < ns; j++) {
      if (sp[j].state != ET_STATE_RUNNABLE) continue;
      if (n == cap) {
        size_t nc = cap ? cap * 2 : 1024;
        runnable *r = realloc(c->run, nc * sizeof *r);
        if (!r) return -ENOMEM;
        c->run = r;
        cap = nc;
      }
      c->run[n++] = (runnable){sp[j].start, sp[j].stack, (uint32_t)i, 0};
    }
  }
  c->nrun = n;
  if (n > 1) qsort(c->run, n, sizeof *c->run, cmp_run);
  return 0;
}

static runnable *find_runnable(chrome *c, uint64_t time, uint32_t thread) {
  size_t lo = 0, hi = c->nrun;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const runnable *r = &c->run[mid];
    if (r->time < time || (r->time == time && r->thread < thread)) lo = mid + 1;
    else hi = mid;
  }
  return lo < c->nrun && c->run[lo].time == time && c->run[lo].thread == thread ? &c->run[lo] : NULL;
}

/* The wait a wake ended: the runnable span that starts at the wake, with
 * the wake's stack, of its target (or of any thread for a wake of an
 * object's waiter), not claimed yet. */
static void wake(chrome *c, const et_event *ev) {
  uint64_t target = fv(&c->wake, 0, ev);
  size_t lo = 0, hi = c->nrun;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c->run[mid].time < ev->time) lo = mid + 1;
    else hi = mid;
  }
  for (size_t i = lo; i < c->nrun && c->run[i].time == ev->time; i++) {
    runnable *r = &c->run[i];
    uint64_t tid = et_trace_thread(c->t, r->thread)->tid;
    if (r->flow || r->stack != ev->stack || tid == ev->tid || (target && tid != target)) continue;
    r->flow = ++c->flows;
    open_ev(c, 's', "wake", "wake", ev->tid, ev->time);
    fprintf(c->f, ",\"id\":%" PRIu64, r->flow);
    close_ev(c);
    return;
  }
}

static void end_region(chrome *c, uint64_t tid, const open_region *r, uint64_t ns) {
  char buf[32];
  open_ev(c, 'E', "region", str(c, r->name, buf, sizeof buf), tid, ns);
  close_ev(c);
}

static void region_begin(chrome *c, size_t ti, const et_event *ev) {
  thr *th = &c->threads[ti];
  uint64_t task = fv(&c->rbegin, 0, ev), name = fv(&c->rbegin, 1, ev);
  if (th->nregions == th->capregions) {
    size_t nc = th->capregions ? th->capregions * 2 : 8;
    open_region *r = realloc(th->regions, nc * sizeof *r);
    if (!r) return; /* out of memory: the region is left out, consistently with its end */
    th->regions = r;
    th->capregions = nc;
  }
  th->regions[th->nregions++] = (open_region){task, name};
  char buf[32];
  open_ev(c, 'B', "region", str(c, name, buf, sizeof buf), region_track(c, ti), ev->time);
  fprintf(c->f, ",\"args\":{\"task\":%" PRIu64 "}", task);
  close_ev(c);
}

/* Ends the innermost open region of that name and task, and any opened
 * inside it that were left open; an end with no open region is dropped
 * (the region began before the trace), so every "B" gets one "E". */
static void region_end(chrome *c, size_t ti, const et_event *ev) {
  thr *th = &c->threads[ti];
  uint64_t task = fv(&c->rend, 0, ev), name = fv(&c->rend, 1, ev);
  size_t i = th->nregions;
  while (i > 0 && !(th->regions[i - 1].name == name && th->regions[i - 1].task == task)) i--;
  if (i == 0) return;
  uint64_t tid = REGION_TID_BASE + ti;
  while (th->nregions >= i) end_region(c, tid, &th->regions[--th->nregions], ev->time);
}

static void instant(chrome *c, const char *cat, const char *name, uint64_t tid, uint64_t ns) {
  open_ev(c, 'i', cat, name, tid, ns);
  fputs(",\"s\":\"t\"", c->f);
}

static void async(chrome *c, char ph, const char *id, const char *name, uint64_t tid, uint64_t ns) {
  open_ev(c, ph, "gc", name, tid, ns);
  fprintf(c->f, ",\"id\":\"%s\"", id);
}

static void counter(chrome *c, const char *name, const char *key, int64_t v, uint64_t tid, uint64_t ns) {
  open_ev(c, 'C', "counter", name, tid, ns);
  fprintf(c->f, ",\"args\":{\"%s\":%" PRId64 "}", key, v);
  close_ev(c);
}

static int on_event(void *arg, const et_event *ev) {
  chrome *c = arg;
  et__progress_step(&c->progress);
  uint64_t ti64;
  if (!et__map_find(&c->tid_index, ev->tid, &ti64)) return 0;
  size_t ti = (size_t)ti64;
  int k = ev->kind;
  char buf[32];
  if (k == c->wake.kind) {
    wake(c, ev);
  } else if (k == c->rbegin.kind) {
    region_begin(c, ti, ev);
  } else if (k == c->rend.kind) {
    region_end(c, ti, ev);
  } else if (k == c->log.kind) {
    const char *cat = str(c, fv(&c->log, 1, ev), buf, sizeof buf);
    instant(c, "log", cat[0] ? cat : "log", region_track(c, ti), ev->time);
    fprintf(c->f, ",\"args\":{\"task\":%" PRIu64 ",\"message\":", fv(&c->log, 0, ev));
    int mi = c->log.f[2];
    size_t mlen = mi >= 0 && ev->bytes ? (size_t)ev->field[mi] : 0;
    et__json_text(c->f, mlen ? ev->bytes : "", mlen);
    fputc('}', c->f);
    sf(c, ev->stack);
    close_ev(c);
  } else if (k == c->counter.kind) {
    const char *name = str(c, fv(&c->counter, 0, ev), buf, sizeof buf);
    counter(c, name[0] ? name : "counter", "value", (int64_t)fv(&c->counter, 1, ev), ev->tid, ev->time);
  } else if (k == c->heap_live.kind) {
    counter(c, "heap_live", "bytes", (int64_t)fv(&c->heap_live, 0, ev), ev->tid, ev->time);
  } else if (k == c->heap_goal.kind) {
    counter(c, "heap_goal", "bytes", (int64_t)fv(&c->heap_goal, 0, ev), ev->tid, ev->time);
  } else if (k == c->gc_begin.kind) {
    if (c->gc_open++ == 0) {
      async(c, 'b', "gc", "gc", ev->tid, ev->time);
      close_ev(c);
    }
  } else if (k == c->gc_end.kind) {
    if (c->gc_open && --c->gc_open == 0) {
      async(c, 'e', "gc", "gc", ev->tid, ev->time);
      close_ev(c);
    }
  } else if (k == c->ph_begin.kind) {
    if (c->nphases == c->capphases) {
      size_t nc = c->capphases ? c->capphases * 2 : 8;
      uint64_t *p = realloc(c->phases, nc * sizeof *p);
      if (!p) return -ENOMEM;
      c->phases = p;
      c->capphases = nc;
    }
    uint64_t name = fv(&c->ph_begin, 0, ev);
    c->phases[c->nphases++] = name;
    const char *s = str(c, name, buf, sizeof buf);
    async(c, 'b', "gc_phase", s[0] ? s : "phase", ev->tid, ev->time);
    close_ev(c);
  } else if (k == c->ph_end.kind) {
    if (c->nphases) {
      const char *s = str(c, c->phases[--c->nphases], buf, sizeof buf);
      async(c, 'e', "gc_phase", s[0] ? s : "phase", ev->tid, ev->time);
      close_ev(c);
    }
  } else if (k == c->stw_begin.kind) {
    if (c->stw_open++ == 0) {
      async(c, 'b', "stw", "stop the world", ev->tid, ev->time);
      fputs(",\"args\":{\"reason\":", c->f);
      const char *s = str(c, fv(&c->stw_begin, 0, ev), buf, sizeof buf);
      et__json_text(c->f, s, strlen(s));
      fputc('}', c->f);
      close_ev(c);
    }
  } else if (k == c->stw_end.kind) {
    if (c->stw_open && --c->stw_open == 0) {
      async(c, 'e', "stw", "stop the world", ev->tid, ev->time);
      close_ev(c);
    }
  } else if (k == c->create.kind) {
    instant(c, "thread", "thread_create", ev->tid, ev->time);
    fprintf(c->f, ",\"args\":{\"child\":%" PRIu64 "}", fv(&c->create, 0, ev));
    sf(c, ev->stack);
    close_ev(c);
  } else if (k == c->drop.kind) {
    instant(c, "drop", "drop", ev->tid, ev->time);
    fprintf(c->f, ",\"args\":{\"count\":%" PRIu64 ",\"reason\":\"%s\"}", fv(&c->drop, 0, ev),
            et_drop_reason_name((unsigned)fv(&c->drop, 1, ev)));
    close_ev(c);
  } else if (k == c->sample.kind) {
    instant(c, "cpu", "cpu_sample", ev->tid, ev->time);
    fprintf(c->f, ",\"args\":{\"weight_ns\":%" PRIu64 "}", fv(&c->sample, 1, ev));
    sf(c, ev->stack);
    close_ev(c);
  }
  return ferror(c->f) ? -EIO : 0;
}

/* Closes what the trace left open, at the end of the trace. */
static void close_open(chrome *c) {
  const et_trace_info *in = et_trace_get_info(c->t);
  uint64_t end = in->duration_ns;
  for (size_t i = 0; i < et_trace_thread_count(c->t); i++) {
    thr *th = &c->threads[i];
    uint64_t last = et_trace_thread(c->t, i)->last;
    while (th->nregions) end_region(c, REGION_TID_BASE + i, &th->regions[--th->nregions], last);
  }
  char buf[32];
  while (c->nphases) {
    const char *s = str(c, c->phases[--c->nphases], buf, sizeof buf);
    async(c, 'e', "gc_phase", s[0] ? s : "phase", 0, end);
    close_ev(c);
  }
  if (c->stw_open) {
    async(c, 'e', "stw", "stop the world", 0, end);
    close_ev(c);
  }
  if (c->gc_open) {
    async(c, 'e', "gc", "gc", 0, end);
    close_ev(c);
  }
}

static void span_name(const et_span *s, char *buf, size_t n) {
  if (s->state == ET_STATE_BLOCKED) snprintf(buf, n, "blocked: %s", et_reason_name(s->reason));
  else if (s->state == ET_STATE_SYSCALL && s->reason)
    snprintf(buf, n, "syscall: %s", et_fdclass_name(s->reason));
  else snprintf(buf, n, "%s", et_state_name(s->state));
}

static int spans(chrome *c) {
  for (size_t i = 0; i < et_trace_thread_count(c->t); i++) {
    const et_thread_info *th = et_trace_thread(c->t, i);
    const et_span *sp;
    size_t n = et_trace_spans(c->t, i, &sp);
    for (size_t j = 0; j < n; j++) {
      uint64_t end = j + 1 < n ? sp[j + 1].start : th->last;
      if (end < sp[j].start) end = sp[j].start;
      if (sp[j].state == ET_STATE_RUNNABLE) {
        runnable *r = find_runnable(c, sp[j].start, (uint32_t)i);
        if (r && r->flow) {
          open_ev(c, 'f', "wake", "wake", th->tid, sp[j].start);
          fprintf(c->f, ",\"id\":%" PRIu64, r->flow);
          close_ev(c);
        }
      }
      char name[64];
      span_name(&sp[j], name, sizeof name);
      open_ev(c, 'X', "state", name, th->tid, sp[j].start);
      ts(c->f, "dur", end - sp[j].start);
      sf(c, sp[j].stack);
      close_ev(c);
    }
    if (ferror(c->f)) return -EIO;
  }
  return 0;
}

static int tasks(chrome *c) {
  uint64_t end = et_trace_get_info(c->t)->duration_ns;
  for (size_t i = 0; i < et_trace_task_count(c->t); i++) {
    const et_task *tk = et_trace_task(c->t, i);
    const char *name = tk->type[0] ? tk->type : "task";
    open_ev(c, 'b', "task", name, tk->tid, tk->begin);
    fprintf(c->f, ",\"id\":\"0x%" PRIx64 "\",\"args\":{\"id\":%" PRIu64 ",\"parent\":%" PRIu64 "}", tk->id,
            tk->id, tk->parent);
    close_ev(c);
    bool open = tk->end == UINT64_MAX;
    uint64_t e = open ? (end > tk->begin ? end : tk->begin) : tk->end;
    open_ev(c, 'e', "task", name, tk->tid, e);
    fprintf(c->f, ",\"id\":\"0x%" PRIx64 "\"", tk->id);
    if (open) fputs(",\"args\":{\"unfinished\":true}", c->f);
    close_ev(c);
    if (ferror(c->f)) return -EIO;
  }
  return 0;
}

/* Every stack as a chain of frames, innermost first: node "ID.j" is frame j
 * of stack ID, and its parent is frame j + 1. */
static void stack_frames(chrome *c) {
  fputs("\"stackFrames\":{", c->f);
  bool first = true;
  for (uint64_t id = et_trace_stack_next(c->t, 0); id; id = et_trace_stack_next(c->t, id)) {
    const uint64_t *fr;
    size_t n = et_trace_stack(c->t, id, &fr);
    for (size_t j = 0; j < n; j++) {
      fprintf(c->f, "%s\n\"%" PRIu64 ".%zu\":{\"name\":\"0x%" PRIx64 "\",\"category\":\"exectrace\"",
              first ? "" : ",", id, j, fr[j]);
      if (j + 1 < n) fprintf(c->f, ",\"parent\":\"%" PRIu64 ".%zu\"", id, j + 1);
      fputc('}', c->f);
      first = false;
    }
  }
  fputs("}", c->f);
}

int et__export_chrome(const et_trace *t, FILE *out) {
  chrome c;
  memset(&c, 0, sizeof c);
  c.t = t;
  c.f = out;
  c.first = true;
  const et_trace_info *in = et_trace_get_info(t);
  c.pid = in->pid ? in->pid : 1;
  size_t nt = et_trace_thread_count(t);
  c.threads = calloc(nt ? nt : 1, sizeof *c.threads);
  int r = c.threads ? 0 : -ENOMEM;
  for (size_t i = 0; r == 0 && i < nt; i++)
    if (!et__map_set(&c.tid_index, et_trace_thread(t, i)->tid, i)) r = -ENOMEM;
  if (r == 0) r = collect_runnable(&c);
  find_kind(t, &c.wake, "wake", "target", NULL, NULL);
  find_kind(t, &c.rbegin, "region_begin", "task", "name", NULL);
  find_kind(t, &c.rend, "region_end", "task", "name", NULL);
  find_kind(t, &c.log, "log", "task", "category", "message");
  find_kind(t, &c.counter, "counter", "name", "value", NULL);
  find_kind(t, &c.heap_live, "heap_live", "bytes", NULL, NULL);
  find_kind(t, &c.heap_goal, "heap_goal", "bytes", NULL, NULL);
  find_kind(t, &c.gc_begin, "gc_begin", NULL, NULL, NULL);
  find_kind(t, &c.gc_end, "gc_end", NULL, NULL, NULL);
  find_kind(t, &c.ph_begin, "gc_phase_begin", "name", NULL, NULL);
  find_kind(t, &c.ph_end, "gc_phase_end", NULL, NULL, NULL);
  find_kind(t, &c.stw_begin, "stw_begin", "reason", NULL, NULL);
  find_kind(t, &c.stw_end, "stw_end", NULL, NULL, NULL);
  find_kind(t, &c.create, "thread_create", "child", NULL, NULL);
  find_kind(t, &c.drop, "drop", "count", "reason", NULL);
  find_kind(t, &c.sample, "cpu_sample", "stack", "weight", NULL);
  if (r == 0) {
    fputs("{\"traceEvents\":[", out);
    metadata(&c);
    et__progress_start(&c.progress, in->events);
    r = et_trace_for_each(t, on_event, &c);
    et__progress_end(&c.progress);
  }
  if (r == 0) {
    close_open(&c);
    r = spans(&c);
  }
  if (r == 0) r = tasks(&c);
  if (r == 0) {
    fputs("\n],\n", out);
    stack_frames(&c);
    fprintf(
        out,
        ",\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"generator\":\"exectrace export\",\"pid\":%" PRIu64
        ",\"events\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"complete\":%s,\"wall_start_ns\":%" PRIu64 "}}\n",
        in->pid, in->events, in->dropped, in->complete ? "true" : "false", in->wall_start_ns);
    if (ferror(out)) r = -EIO;
  }
  for (size_t i = 0; i < nt && c.threads; i++) free(c.threads[i].regions);
  free(c.threads);
  free(c.run);
  free(c.phases);
  et__map_release(&c.tid_index);
  return r;
}

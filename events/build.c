/* Deriving the model from the indexed chunks: each thread's chunks in
 * sequence order (gaps are losses, copies are dropped), the trace's start,
 * then one walk over every event (walk.c) for the counts, the state spans
 * with the wakes' and pauses' effects, and the tasks, whose ends are found
 * here.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* qsort, which must not be given a NULL array even when it is empty. */
static void sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
  if (n > 1) qsort(base, n, size, cmp);
}

static int cmp_ref(const void *a, const void *b) {
  const et__ref *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Task ids come in per-thread blocks and are nearly dense, so most map
 * through an array; ids far beyond the tasks seen (a damaged or odd trace)
 * go to a hash map. */
void et__match_tasks(et_trace *t, const et__task_end *ends, size_t nends, bool *oom) {
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
  for (size_t i = 0; i < nends; i++) {
    uint64_t id = ends[i].id, idx;
    uint64_t time = ends[i].time;
    if (id < nslot && slot[id]) t->tasks[slot[id] - 1].end = time;
    else if (et__map_get(&big, id, &idx)) t->tasks[idx].end = time;
  }
  free(slot);
  et__map_free(&big);
}


/* Threads to processes.  The PROCESSES chunks list each process's threads;
 * a thread listed twice stays in the first process, and threads no process
 * lists (a damaged chunk) go to one more process of unknown pid.  Without
 * those chunks the trace is one process, the PROCESS chunk's. */
bool et__assign_processes(et_trace *t) {
  size_t n = t->nthreads;
  if (!t->have_processes) { /* a PROCESSES chunk that ran out of memory half-way */
    for (size_t i = 0; i < t->nprocs; i++) {
      free(t->procs[i].tids);
      free(t->procs[i].maps);
    }
    t->nprocs = 0;
  }
  for (size_t i = 0; i < n; i++) t->threads[i].info.process = SIZE_MAX;
  for (size_t p = 0; p < t->nprocs; p++) {
    et__mproc *m = &t->procs[p];
    for (size_t k = 0; k + 1 < m->ntids; k += 2) {
      uint64_t ti;
      if (!et__map_get(&t->tid_index, m->tids[k], &ti)) continue; /* no events: not a thread of the model */
      et_thread_info *th = &t->threads[ti].info;
      if (th->process == SIZE_MAX) {
        th->process = p;
        th->os_tid = m->tids[k + 1] ? m->tids[k + 1] : m->tids[k];
      } else if (th->process != p) {
        et__warn(t, "thread %llu is listed in two processes (pids %llu and %llu): it stays in the first",
                 (unsigned long long)th->tid, (unsigned long long)t->procs[th->process].info.pid,
                 (unsigned long long)m->info.pid);
      }
    }
    m->info.mappings = m->maps;
    m->info.nmappings = m->nmaps;
  }
  bool unlisted = t->nprocs == 0;
  for (size_t i = 0; i < n && !unlisted; i++) unlisted = t->threads[i].info.process == SIZE_MAX;
  if (unlisted) {
    if (!ET_VEC_GROW(t->procs, t->nprocs, t->capprocs)) return false;
    et__mproc *m = &t->procs[t->nprocs];
    memset(m, 0, sizeof *m);
    m->info.name = "";
    m->info.host = "";
    if (!t->have_processes) { /* the one process of an ordinary trace */
      const char *exe = t->info.exe ? t->info.exe : "", *slash = strrchr(exe, '/');
      m->info.pid = t->info.pid;
      m->info.name = slash ? slash + 1 : exe;
      m->info.mappings = t->maps;
      m->info.nmappings = t->nmaps;
    }
    for (size_t i = 0; i < n; i++)
      if (t->threads[i].info.process == SIZE_MAX) {
        t->threads[i].info.process = t->nprocs;
        t->threads[i].info.os_tid = t->threads[i].info.tid;
      }
    t->nprocs++;
  }
  /* Each process's threads, in index order, in one array. */
  free(t->proc_threads);
  t->proc_threads = malloc((n ? n : 1) * sizeof *t->proc_threads);
  if (!t->proc_threads) return false;
  for (size_t p = 0; p < t->nprocs; p++) t->procs[p].info.nthreads = 0;
  for (size_t i = 0; i < n; i++) {
    et_thread_info *th = &t->threads[i].info;
    th->pid = t->procs[th->process].info.pid;
    t->procs[th->process].info.nthreads++;
  }
  size_t at = 0;
  for (size_t p = 0; p < t->nprocs; p++) {
    t->procs[p].info.threads = t->proc_threads + at;
    at += t->procs[p].info.nthreads;
    t->procs[p].info.nthreads = 0;
  }
  for (size_t i = 0; i < n; i++) {
    et_process_info *pi = &t->procs[t->threads[i].info.process].info;
    t->proc_threads[(size_t)(pi->threads - t->proc_threads) + pi->nthreads++] = i;
  }
  return true;
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
      uint64_t ticks = r->base_ticks, obj = r->base_obj, reg[2] = {0, 0};
      et_event ev;
      if (et__decode(t, &p, r->p + r->len, &ev, &ticks, &obj, reg) != 0) continue;
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
  if (!et__assign_processes(t)) return -ENOMEM;

  /* One walk over every event derives the states, the wakes' effects,
   * the counts and the tasks (walk.c). */
  int err = et__walk(t, true, !t->walk_only, t->walk_h, t->walk_arg);
  if (err) return err;

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
    et_process_info *pi = &t->procs[t->threads[ti].info.process].info;
    pi->events += t->threads[ti].info.events;
    pi->dropped += t->threads[ti].info.dropped;
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
  return 0;
}

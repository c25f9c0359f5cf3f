/* The reader's internal structures, shared by its files:
 *   scan.c    framing: file header, chunks, checksums, resynchronisation, metadata
 *   decode.c  events: decoding, time conversion, per-thread cursors
 *   model.c   the model: loading, accessors, cursors
 *   build.c   deriving the model: chunk order, the start, then one walk
 *   walk.c    the walk: every event in time order, states, wakes, pauses, tasks
 */
#ifndef EXECTRACE_EVENTS_MODEL_INTERNAL_H
#define EXECTRACE_EVENTS_MODEL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "exectrace/reader.h"
#include "wire.h"

#define ET_MAX_WARNINGS 200

/* Grows a vector (p, n, cap) to hold one more element; false on OOM. */
#define ET_VEC_GROW(p, n, cap) ((n) < (cap) || et__vec_grow((void **)&(p), &(cap), (n) + 1, sizeof *(p)))
bool et__vec_grow(void **p, size_t *cap, size_t need, size_t elem);

/* One EVENTS chunk's payload, as found in the input. */
typedef struct et__ref {
  const uint8_t *p;    /* first event */
  uint32_t len;        /* bytes of events (cut at the first undecodable one by the build) */
  uint32_t pad;
  uint64_t file_off;   /* of the chunk, for warnings */
  uint64_t seq;
  uint64_t base_ticks;
  uint64_t base_obj;
} et__ref;

typedef struct et__mstream {
  et__ref *refs;
  size_t n, cap;
} et__mstream;

typedef struct et__mthread {
  et_thread_info info;
  uint64_t name_id;
  uint64_t end_lost; /* lost events by the END record's count */
  et__mstream st[ET_STREAM_COUNT];
  et_span *spans;
  size_t nspans, capspans;
} et__mthread;

/* A process, from the PROCESSES chunks (or, without one, from PROCESS). */
typedef struct et__mproc {
  et_process_info info;
  uint64_t *tids; /* pairs: the thread's id in the trace, its id in the process (0: the same) */
  size_t ntids, captids; /* in uint64_t */
  et_mapping *maps;
  size_t nmaps, capmaps;
} et__mproc;

typedef struct et__sync {
  uint64_t ticks, ns;
} et__sync;

/* A linear piece of the ticks -> ns conversion. */
typedef struct et__seg {
  uint64_t ticks;
  double ns;
  double slope;
} et__seg;

typedef struct et__u64map {
  uint64_t *keys; /* key + 1, so 0 marks an empty slot */
  uint64_t *vals;
  size_t cap, n;
} et__u64map;

bool et__map_put(et__u64map *m, uint64_t key, uint64_t val);
/* True if an id may go in a dense array of n defined items (else a map):
 * keeps a hostile id from allocating gigabytes. */
static inline bool et__dense_id(uint64_t id, size_t n) {
  return id < 8 * (uint64_t)n + 65536;
}
bool et__map_get(const et__u64map *m, uint64_t key, uint64_t *val);
void et__map_free(et__u64map *m);

struct et_trace {
  uint8_t *data;
  size_t len;
  bool mapped;

  et_kind_desc kinds[ET_EV_LIMIT];
  bool known[ET_EV_LIMIT]; /* the trace's kind k means what ours means */
  uint8_t region_role[ET_EV_LIMIT]; /* ET_RR_*: the kinds of the region register */
  bool have_catalog;
  bool seen_events; /* an EVENTS chunk has been read */

  char **strs;
  size_t nstrs;
  size_t strs_defined;
  et__u64map sparse_strs;   /* ids too far beyond the count for the dense array */
  et__u64map sparse_stacks;
  uint64_t *frames;
  size_t nframes, capframes;
  uint64_t *stack_off; /* by id: (offset << 8) | count */
  size_t nstacks;   /* ids below this may be defined */
  size_t stacks_defined;
  et_mapping *maps;
  size_t nmaps, capmaps;

  et__sync *syncs;
  size_t nsyncs, capsyncs;
  uint64_t rate; /* ticks per second */
  bool syncs_sorted;

  et__mthread *threads;
  size_t nthreads, capthreads;
  et__u64map tid_index;
  et__u64map early_names; /* THREADS chunks: tid -> name string id */

  et_task *tasks;
  size_t ntasks, captasks;

  et__mproc *procs;
  size_t nprocs, capprocs;
  et__u64map proc_key;   /* PROCESSES: hash of (host, pid) -> index, to merge repeated entries */
  bool have_processes;   /* a PROCESSES chunk was read */
  size_t *proc_threads;  /* thread indexes grouped by process (et_process_info.threads) */

  char **warnings;
  size_t nwarnings, capwarnings;
  pthread_mutex_t warn_lock; /* the build's workers warn concurrently */
  uint64_t warnings_dropped;

  et_trace_info info;
  uint64_t kind_count[ET_EV_LIMIT];
  uint64_t end_drops;  /* from END */
  uint64_t event_drops; /* sum of DROP records */

  /* Arena for strings the model owns. */
  char *arena;
  size_t arena_left;
  char **blocks;
  size_t nblocks, capblocks;

  /* et_trace_open_walk: the build's walk hands its events and spans to
   * these handlers and does not keep the spans. */
  const et_walk_handlers *walk_h;
  void *walk_arg;
  bool walk_only;

  /* Streaming mode: events are handed out instead of indexed; chunks
   * already delivered (by thread, stream, sequence and checksum) are not
   * delivered again, as the model ignores byte-identical copies. */
  et__u64map stream_seen;
  const et_stream_handlers *stream;
  void *stream_arg;
  int stream_stop;
};

/* Records a warning (printf-style); never fails. */
void et__warn(et_trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Copies n bytes into the arena as a NUL-terminated string. */
char *et__strdup_n(et_trace *t, const void *s, size_t n);

/* Processes the input [data, data + len); at_eof says no more will come.
 * Returns how many bytes were consumed (all of them when at_eof). */
size_t et__scan(et_trace *t, const uint8_t *data, size_t len, size_t off, bool at_eof);

/* Checks the file header; 0, ET_E_FORMAT or ET_E_VERSION; 1 if more bytes are needed. */
int et__check_header(et_trace *t, const uint8_t *data, size_t len, bool at_eof);

/* Handles one EVENTS chunk: index it (model) or hand its events out (stream). */
void et__events_chunk(et_trace *t, const uint8_t *p, size_t len, size_t file_off, uint32_t crc);

/* Thread index for tid, created on first sight; SIZE_MAX on OOM. */
size_t et__thread_of(et_trace *t, uint64_t tid);

/* Ticks -> ns since the start. */
et__seg et__segment(const et_trace *t, uint64_t ticks);
static inline uint64_t et__seg_ns(const et__seg *s, uint64_t ticks) {
  double ns = s->ns + ((double)(int64_t)(ticks - s->ticks)) * s->slope;
  if (!(ns > 0)) return 0; /* also NaN */
  return ns >= 1.8e19 ? (uint64_t)1.8e19 : (uint64_t)ns; /* damaged clocks: stay defined */
}
void et__sort_syncs(et_trace *t);

/* What a kind does to a stream's region register (catalog.h), when the
 * trace's kinds mean what ours mean. */
enum { ET_RR_NONE, ET_RR_BEGIN, ET_RR_END_LAST, ET_RR_SET };

/* Sets t->region_role from t->known. */
void et__region_roles(et_trace *t);

/* Decodes one event at *pp, given the stream's running values from the
 * chunk's start: ticks, object and region register reg[2] (task, name; zero
 * at the chunk's start).  A region_end_last comes out as a region_end with
 * the register's task and name; region_last records are consumed on the way.
 * 0, -1 if malformed, 1 if only region_last records were left. */
int et__decode(const et_trace *t, const uint8_t **pp, const uint8_t *end, et_event *ev,
               uint64_t *ticks, uint64_t *obj, uint64_t reg[2]);

/* A cursor over one stream of one thread. */
typedef struct et__iter {
  const et_trace *t;
  const et__mstream *s;
  size_t ref;
  const uint8_t *p, *end;
  uint64_t ticks, obj;
  uint64_t reg[2]; /* the region register (task, name) */
  et__seg seg;
  uint64_t tid;
  uint8_t stream;
  bool validate; /* the build's pass: report and cut undecodable events */
} et__iter;

void et__iter_init(et__iter *it, const et_trace *t, const et__mstream *s, uint64_t tid,
                   uint8_t stream);
bool et__iter_next(et__iter *it, et_event *ev);

/* Time-ordered iteration over both streams of thread ti.  Most threads never
 * wrote from a signal handler; they decode straight into the caller's event,
 * and only threads with both streams pay for the merge's copies. */
typedef struct et__merged {
  et__iter it[ET_STREAM_COUNT];
  et_event ev[ET_STREAM_COUNT];
  bool have[ET_STREAM_COUNT];
  bool single;
} et__merged;

void et__merged_init(et__merged *m, const et_trace *t, size_t ti, bool validate);
bool et__merged_next(et__merged *m, et_event *ev);

/* Reads the CTF traces in directory dir (the directory itself, or every
 * trace found under it) through libbabeltrace2 and writes the same events
 * as one native trace into t->data (malloc'd, t->len bytes); warnings go to
 * t's.  0, ET_E_FORMAT (no CTF trace, or no exectrace events in it) or
 * -ENOMEM; msg gets the reason of a failure, else "". */
int et__ctf_import(et_trace *t, const char *dir, char *msg, size_t msglen);

/* Gives every thread its process (PROCESSES chunks, else the PROCESS
 * chunk's one process) and each process its threads; before the walk.
 * False on OOM. */
bool et__assign_processes(et_trace *t);

/* Builds the model once every chunk is indexed: spans, wakes, tasks, counts. */
int et__build(et_trace *t);

/* The walk (walk.c).  build: fill the model's counts, threads and tasks as
 * it goes (the first walk); store: keep each thread's spans in the model;
 * h (may be NULL): hand events and spans out.  0, a handler's non-zero
 * value, or -ENOMEM (a build warns instead). */
int et__walk(et_trace *t, bool build, bool store, const et_walk_handlers *h, void *arg);

typedef struct et__task_end {
  uint64_t id, time;
} et__task_end;

/* Sets each task's end from the task_end events; *oom on failure. */
void et__match_tasks(et_trace *t, const et__task_end *ends, size_t nends, bool *oom);

#endif

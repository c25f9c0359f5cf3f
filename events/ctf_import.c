/* Reading CTF traces through libbabeltrace2: exectrace's own CTF export
 * and LTTng traces of the `exectrace` tracepoint provider, which share one
 * description of the events (convert/export/ctf_meta.h).
 *
 * The directory given is one CTF trace (it holds a file named `metadata`),
 * or a tree of them, as `lttng-relayd -o OUT` collects from several hosts
 * (OUT/HOST/SESSION/ust/uid/UID/64-bit/, OUT/.../ust/pid/NAME-PID-DATE/):
 * every directory under it that holds a `metadata` file is a trace (its
 * own subdirectories are not searched; hidden ones, such as an export's
 * temporary directory, neither).  One graph reads them all: a
 * `source.ctf.fs` component per trace (babeltrace2 2.0 merges the inputs of
 * one component into one trace, which only traces of one UUID may be), all
 * their ports into a sink of ours, which merges their streams in time
 * order itself (a `filter.utils.muxer` takes the babeltrace2 CLI about a
 * fifth of its time on our export), so every event comes once, in time
 * order.  With several traces the clocks are all taken as counting from
 * the Unix epoch (`force-clock-class-origin-unix-epoch`, babeltrace2's
 * `--clock-force-correlate`): LTTng's clocks of different hosts have
 * different UUIDs, and their times compare only so.
 *
 * Each event whose class names a kind of the catalogue (plain, or
 * "exectrace:KIND" as LTTng names them) is re-encoded as the tracer would
 * have written it: its strings and stacks interned, its thread's events
 * appended to an EVENTS chunk of that thread and stream.  The sink, on the
 * graph's thread, only copies out what each event says (babeltrace2's
 * objects are that thread's), as records in blocks that a worker thread
 * reads in the same order to do all the rest.  The result is a native
 * trace in memory (header, catalogue, events, then process, clock,
 * strings, stacks, mappings, processes, END), which the caller loads like
 * any other; so every tool reads CTF traces with the same model and rules.
 *
 * Where things come from:
 *   process    the event's common context `vpid` (LTTng, with `lttng
 *              add-context -u -t vpid`; one per-UID trace holds the events
 *              of every process of the user), else the trace's env `vpid`
 *              (our export, LTTng per-PID buffers); its name from env
 *              `procname`, else the `procname` context of its main thread
 *              (vtid = vpid), else of any of its threads; its host from
 *              env `hostname` ("" without one).  A process is (host, pid);
 *              events with no pid at all are one process per trace.
 *   thread     the packet context's `tid` (our export: a stream per thread),
 *              else the event's common context `vtid` (LTTng, with
 *              `lttng add-context -u -t vtid`); events without one are
 *              skipped and counted.  Threads are (process, tid): the first
 *              process to mention a tid (as a thread of its events, or in
 *              a T field) keeps it, a later one gets tid + k * 2^32 with the
 *              smallest k >= 1 that is free, in its events and in its T
 *              fields; the PROCESSES chunk gives both ids.
 *   tasks      task ids (task_begin id and parent, task_end id, the task
 *              fields of regions and logs) are renumbered the same way, per
 *              process: two recordings number their tasks alike.
 *   stream     the packet context's `signal` (our export), else 0
 *   time       the clock snapshot in ns from the clock's origin; a sync point
 *              maps the start to time 0: the earliest trace start (env
 *              `start_monotonic_ns` of our export: its clock's offset, else
 *              the trace's first event)
 *   mappings   LTTng's `lttng_ust_statedump:bin_info` and `:build_id`
 *              events, per process (PROCESSES); the trace-wide MAPPINGS
 *              hold their union, identical ones once, and where those of
 *              different processes overlap, only the lowest-addressed one
 *              (ties: the earlier process's), with a warning
 *   losses     discarded-events messages, per thread when the stream has one
 */
#include <assert.h>
#include <babeltrace2/babeltrace.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_internal.h"

/* The calls made for every event go through the GOT directly, not the PLT. */
#if defined(__GNUC__) && !defined(__clang__)
#define IM_NOPLT __attribute__((noplt))
IM_NOPLT bt_message_type bt_message_get_type(const bt_message *);
IM_NOPLT const bt_event *bt_message_event_borrow_event_const(const bt_message *);
IM_NOPLT const bt_clock_snapshot *bt_message_event_borrow_default_clock_snapshot_const(const bt_message *);
IM_NOPLT bt_clock_snapshot_get_ns_from_origin_status bt_clock_snapshot_get_ns_from_origin(const bt_clock_snapshot *,
                                                                                            int64_t *);
IM_NOPLT const bt_stream *bt_event_borrow_stream_const(const bt_event *);
IM_NOPLT const bt_event_class *bt_event_borrow_class_const(const bt_event *);
IM_NOPLT const bt_field *bt_event_borrow_common_context_field_const(const bt_event *);
IM_NOPLT const bt_field *bt_event_borrow_payload_field_const(const bt_event *);
IM_NOPLT const bt_field *bt_field_structure_borrow_member_field_by_index_const(const bt_field *, uint64_t);
IM_NOPLT const bt_field *bt_field_array_borrow_element_field_by_index_const(const bt_field *, uint64_t);
IM_NOPLT uint64_t bt_field_array_get_length(const bt_field *);
IM_NOPLT uint64_t bt_field_integer_unsigned_get_value(const bt_field *);
IM_NOPLT int64_t bt_field_integer_signed_get_value(const bt_field *);
IM_NOPLT const char *bt_field_string_get_value(const bt_field *);
IM_NOPLT uint64_t bt_field_string_get_length(const bt_field *);
IM_NOPLT void bt_message_put_ref(const bt_message *);
#endif

#define IM_LIKELY(x) __builtin_expect(!!(x), 1)
#define CHUNK_TARGET (60 * 1024) /* an EVENTS chunk's payload, like the tracer's 64 KiB chunks */

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} buf;

static void put_slow(buf *b, const void *p, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->n + n) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static inline void put(buf *b, const void *p, size_t n) {
  if (IM_LIKELY(b->cap - b->n >= n)) { /* also false while b->p is NULL: cap 0 */
    memcpy(b->p + b->n, p, n);
    b->n += n;
  } else {
    put_slow(b, p, n);
  }
}

static inline void put_u(buf *b, uint64_t v) {
  if (IM_LIKELY(b->cap - b->n >= 10)) {
    b->n = (size_t)(et__put_uvarint(b->p + b->n, v) - b->p);
    return;
  }
  uint8_t t[10];
  put(b, t, (size_t)(et__put_uvarint(t, v) - t));
}

static inline void put_s(buf *b, int64_t v) {
  if (IM_LIKELY(b->cap - b->n >= 10)) {
    b->n = (size_t)(et__put_svarint(b->p + b->n, v) - b->p);
    return;
  }
  uint8_t t[10];
  put(b, t, (size_t)(et__put_svarint(t, v) - t));
}

static void put_str(buf *b, const void *s, size_t n) {
  put_u(b, n);
  put(b, s, n);
}

static void put_chunk(buf *out, unsigned type, const buf *payload) {
  uint8_t h[ET_CHUNK_HEADER_LEN];
  et__chunk_header(h, type, (uint32_t)payload->n, et__crc32(0, payload->p, payload->n));
  put(out, h, sizeof h);
  put(out, payload->p, payload->n);
}

/* ---- interning: strings and stacks by content ---- */

typedef struct intern {
  uint64_t *hash;  /* 0: free */
  uint32_t *id;
  size_t cap, n;
  buf defs;        /* the STRINGS or STACKS payload so far */
  buf keys;        /* each entry's content, for comparing: u32 length + bytes */
  uint32_t *koff;  /* by id: offset of its content in keys */
  size_t capk;
} intern;

static uint64_t hash_bytes(const void *p, size_t n) {
  const uint8_t *s = p;
  uint64_t h = 0xcbf29ce484222325ull ^ n, w;
  for (; n >= 8; s += 8, n -= 8) {
    memcpy(&w, s, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  }
  for (; n; n--) h = (h ^ *s++) * 0x100000001b3ull;
  h ^= h >> 32;
  return h | 1;
}

/* The id of content [p, p + n); new ones get the next id and def() writes
 * their definition.  0 when out of memory. */
static uint32_t intern_get(intern *m, const void *p, size_t n, void (*def)(buf *, uint32_t, const void *, size_t)) {
  uint64_t h = hash_bytes(p, n);
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *hh = calloc(cap, sizeof *hh);
    uint32_t *ii = malloc(cap * sizeof *ii);
    if (!hh || !ii) {
      free(hh);
      free(ii);
      return 0;
    }
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->hash[i]) continue;
      size_t j = m->hash[i] & (cap - 1);
      while (hh[j]) j = (j + 1) & (cap - 1);
      hh[j] = m->hash[i];
      ii[j] = m->id[i];
    }
    free(m->hash);
    free(m->id);
    m->hash = hh;
    m->id = ii;
    m->cap = cap;
  }
  size_t j = h & (m->cap - 1);
  for (; m->hash[j]; j = (j + 1) & (m->cap - 1)) {
    if (m->hash[j] != h) continue;
    const uint8_t *k = m->keys.p + m->koff[m->id[j]];
    uint32_t len;
    memcpy(&len, k, 4);
    if (len == n && memcmp(k + 4, p, n) == 0) return m->id[j];
  }
  uint32_t id = (uint32_t)m->n + 1;
  if (id + 1 > m->capk) {
    size_t cap = m->capk ? m->capk * 2 : 1024;
    uint32_t *q = realloc(m->koff, cap * sizeof *q);
    if (!q) return 0;
    m->koff = q;
    m->capk = cap;
  }
  if (m->keys.n > UINT32_MAX - n - 4) return 0;
  m->koff[id] = (uint32_t)m->keys.n;
  uint32_t len = (uint32_t)n;
  put(&m->keys, &len, 4);
  put(&m->keys, p, n);
  def(&m->defs, id, p, n);
  if (m->keys.oom || m->defs.oom) return 0;
  m->hash[j] = h;
  m->id[j] = id;
  m->n++;
  return id;
}

static void def_string(buf *b, uint32_t id, const void *p, size_t n) {
  put_u(b, id);
  put_str(b, p, n);
}

static void def_stack(buf *b, uint32_t id, const void *p, size_t n) {
  const uint8_t *f = p; /* u64 frames, maybe unaligned */
  size_t nf = n / 8;
  uint64_t prev = 0;
  put_u(b, id);
  put_u(b, nf);
  for (size_t i = 0; i < nf; i++) {
    uint64_t v;
    memcpy(&v, f + 8 * i, 8);
    if (i == 0) put_u(b, v);
    else put_s(b, (int64_t)(v - prev));
    prev = v;
  }
}

static void intern_free(intern *m) {
  free(m->hash);
  free(m->id);
  free(m->defs.p);
  free(m->keys.p);
  free(m->koff);
}


/* ---- the worker's state: streams, traces, hosts, processes ---- */

typedef struct stream {
  uint64_t tid; /* ours (see the thread ids above) */
  uint8_t signal;
  uint64_t seq;
  uint64_t base_ticks, base_obj; /* of the chunk being filled */
  uint64_t ticks, obj;           /* the stream's running values */
  uint64_t lost;                 /* discarded events */
  buf cur;                       /* the chunk's events */
} stream;

typedef struct mapping {
  uint64_t start, limit;
  char *path;
  uint8_t build_id[64];
  size_t build_id_len;
} mapping;

typedef struct discard {
  uint64_t stream, count;
} discard;

/* One CTF trace, as its first event shows it. */
typedef struct ctrace {
  const void *bt;            /* its bt_trace */
  uint64_t pid;              /* env vpid, 0 if none */
  char *procname, *exe, *cmdline; /* env, "" if none */
  size_t host;               /* env hostname, in hosts */
  uint64_t start_monotonic;  /* env start_monotonic_ns (our export) */
  uint64_t origin_offset_ns; /* the clock's offset: ns from origin at the clock's zero */
  uint64_t first_ns;         /* its first event */
  bool have_start, clock_epoch, have_first;
  size_t anon;               /* the process of its events without a pid, SIZE_MAX until one */
} ctrace;

typedef struct host {
  char *name;
  et__u64map pids; /* pid -> process */
} host;

/* Task ids are nearly dense (counters, in blocks per thread): those below a
 * bound that grows with their count are kept in arrays, the others in maps. */
typedef struct dmap { /* id -> a value other than 0 */
  uint64_t *d;
  size_t cap, n;
  et__u64map m;
} dmap;

typedef struct dset { /* of ids */
  uint64_t *bits;
  size_t cap, n; /* cap: in bits */
  et__u64map m;
} dset;

static inline bool dense_ok(uint64_t k, size_t n) { return k < 2 * (uint64_t)n + 65536; }

static bool dmap_get(const dmap *x, uint64_t k, uint64_t *v) {
  if (k < x->cap && x->d[k]) {
    *v = x->d[k];
    return true;
  }
  return x->m.n && et__map_get(&x->m, k, v);
}

static bool dmap_put(dmap *x, uint64_t k, uint64_t v) {
  x->n++;
  if (k >= x->cap && dense_ok(k, x->n)) {
    size_t cap = x->cap ? x->cap : 1024;
    while (cap <= k) cap *= 2;
    uint64_t *d = realloc(x->d, cap * sizeof *d);
    if (!d) return false;
    memset(d + x->cap, 0, (cap - x->cap) * sizeof *d);
    x->d = d;
    x->cap = cap;
  }
  if (k < x->cap) {
    x->d[k] = v;
    return true;
  }
  return et__map_put(&x->m, k, v);
}

static bool dset_has(const dset *x, uint64_t k) {
  uint64_t v;
  if (k < x->cap && (x->bits[k >> 6] >> (k & 63) & 1)) return true;
  return x->m.n && et__map_get(&x->m, k, &v);
}

static bool dset_add(dset *x, uint64_t k) {
  x->n++;
  if (k >= x->cap && dense_ok(k, x->n)) {
    size_t cap = x->cap ? x->cap : 65536;
    while (cap <= k) cap *= 2;
    uint64_t *b = realloc(x->bits, cap / 8);
    if (!b) return false;
    memset(b + x->cap / 64, 0, (cap - x->cap) / 8);
    x->bits = b;
    x->cap = cap;
  }
  if (k < x->cap) {
    x->bits[k >> 6] |= 1ull << (k & 63);
    return true;
  }
  return et__map_put(&x->m, k, 1);
}

/* A process: (host, pid), with its ids for threads and tasks. */
typedef struct proc {
  uint64_t pid;
  size_t host, trace; /* trace: the first to show it (exe, cmdline) */
  char *name;
  int name_rank;      /* 0 none, 1 a thread's procname, 2 its main thread's, 3 the trace's env */
  et__u64map tids;    /* its thread ids -> ours */
  dmap tasks;         /* its task ids -> ours */
  uint64_t *threads;  /* pairs (ours, its), in the order first seen */
  size_t nthreads, capthreads; /* in uint64_t */
  mapping *maps;
  size_t nmaps, capmaps;
} proc;

/* What the worker builds from the records: everything of the native trace. */
typedef struct importer {
  intern strings, stacks;
  stream *st;
  size_t nst, capst;
  et__u64map st_index; /* (tid << 1 | signal) -> index */
  et__u64map bt_streams; /* babeltrace2 stream -> index of the last stream of ours its events went to */
  uint64_t cur_bts, last_bts; /* the babeltrace2 stream of the record, and of the last event put */
  uint64_t ns;                /* the record's time */
  struct wctx {               /* by input of the sink: the context of its last record */
    size_t ti;
    uint64_t tid, pid;
    uint8_t flags;
  } *inputs, *input;
  size_t ninputs;
  buf out;             /* the native trace: header, catalogue, finished EVENTS chunks (then the rest) */
  ctrace *traces;
  size_t ntraces, captraces;
  host *hosts;
  size_t nhosts, caphosts;
  proc *procs;
  size_t nprocs, capprocs;
  et__u64map used_tids; /* ours, taken */
  dset used_tasks;
  uint8_t task_fields[ET_EV_LIMIT]; /* bit f: field f of the kind is a task id */
  struct who {                  /* recent (trace, pid, tid, signal) -> (process, stream) */
    size_t ti, pi, si;
    uint64_t pid, tid;
    uint8_t sig, valid;
  } who[256];
  struct taskc { size_t pi; uint64_t id, ours; bool valid; } taskcache[256]; /* recent task renumberings */
  uint64_t skipped_no_tid, nevents, lost_unattributed;
  bool oom;
} importer;

static stream *stream_of(importer *im, uint64_t tid, uint8_t signal) {
  uint64_t key = tid << 1 | signal, i;
  if (et__map_get(&im->st_index, key, &i)) return &im->st[i];
  if (!ET_VEC_GROW(im->st, im->nst, im->capst) || !et__map_put(&im->st_index, key, im->nst)) {
    im->oom = true;
    return NULL;
  }
  stream *s = &im->st[im->nst++];
  memset(s, 0, sizeof *s);
  s->tid = tid;
  s->signal = signal;
  return s;
}

/* The stream's events so far, as an EVENTS chunk at the end of the output. */
static void flush_stream(importer *im, stream *s) {
  if (s->cur.n == 0) return;
  buf *o = &im->out;
  uint8_t h[ET_CHUNK_HEADER_LEN] = {0};
  size_t at = o->n;
  put(o, h, sizeof h);
  size_t start = o->n;
  put_u(o, s->tid);
  put(o, &s->signal, 1);
  put_u(o, s->seq++);
  put_u(o, s->base_ticks);
  put_u(o, s->base_obj);
  put(o, s->cur.p, s->cur.n);
  if (o->oom || s->cur.oom) {
    im->oom = true;
  } else {
    size_t len = o->n - start;
    et__chunk_header(o->p + at, ET_CHUNK_EVENTS, (uint32_t)len, et__crc32(0, o->p + start, len));
  }
  s->cur.n = 0;
  s->base_ticks = s->ticks;
  s->base_obj = s->obj;
}

static size_t host_of(importer *im, const char *name) {
  for (size_t i = 0; i < im->nhosts; i++)
    if (strcmp(im->hosts[i].name, name) == 0) return i;
  if (!ET_VEC_GROW(im->hosts, im->nhosts, im->caphosts)) {
    im->oom = true;
    return SIZE_MAX;
  }
  host *h = &im->hosts[im->nhosts];
  memset(h, 0, sizeof *h);
  if (!(h->name = strdup(name))) {
    im->oom = true;
    return SIZE_MAX;
  }
  return im->nhosts++;
}

static size_t proc_new(importer *im, uint64_t pid, size_t ti) {
  if (!ET_VEC_GROW(im->procs, im->nprocs, im->capprocs)) {
    im->oom = true;
    return SIZE_MAX;
  }
  proc *p = &im->procs[im->nprocs];
  memset(p, 0, sizeof *p);
  p->pid = pid;
  p->host = im->traces[ti].host;
  p->trace = ti;
  return im->nprocs++;
}

/* The process of an event of trace ti with this pid (0: unknown).  SIZE_MAX on OOM. */
static size_t proc_of(importer *im, size_t ti, uint64_t pid) {
  ctrace *c = &im->traces[ti];
  if (pid == 0) {
    if (c->anon == SIZE_MAX) c->anon = proc_new(im, 0, ti);
    return c->anon;
  }
  host *h = &im->hosts[c->host];
  uint64_t v;
  if (et__map_get(&h->pids, pid, &v)) return (size_t)v;
  size_t p = proc_new(im, pid, ti);
  if (p != SIZE_MAX && !et__map_put(&h->pids, pid, p)) {
    im->oom = true;
    return SIZE_MAX;
  }
  return p;
}

static void name_proc(importer *im, proc *p, const char *name, size_t n, int rank) {
  if (rank <= p->name_rank || n == 0) return;
  char *s = strndup(name, n);
  if (!s) {
    im->oom = true;
    return;
  }
  free(p->name);
  p->name = s;
  p->name_rank = rank;
}

/* Our id for a process's id (mine: its ids so far): the same if no other
 * process took it, else id + k * 2^32 for the smallest free k >= 1.
 * *fresh says it was given now. */
static uint64_t renumber(importer *im, et__u64map *mine, et__u64map *used, uint64_t id, bool *fresh) {
  uint64_t v, ours = id;
  *fresh = false;
  if (id == UINT64_MAX) return id; /* not an id a map can hold; no thread or task has it */
  if (et__map_get(mine, id, &v)) return v;
  while (ours == 0 || ours == UINT64_MAX || et__map_get(used, ours, &v)) ours += 1ull << 32;
  if (!et__map_put(used, ours, 1) || !et__map_put(mine, id, ours)) {
    im->oom = true;
    return id;
  }
  *fresh = true;
  return ours;
}

static uint64_t our_tid(importer *im, proc *p, uint64_t tid) {
  bool fresh;
  uint64_t ours = renumber(im, &p->tids, &im->used_tids, tid, &fresh);
  if (fresh) {
    if (!et__vec_grow((void **)&p->threads, &p->capthreads, p->nthreads + 2, sizeof *p->threads)) {
      im->oom = true;
      return ours;
    }
    p->threads[p->nthreads++] = ours;
    p->threads[p->nthreads++] = tid;
  }
  return ours;
}

static uint64_t our_task(importer *im, proc *p, uint64_t id) {
  size_t pi = (size_t)(p - im->procs);
  struct taskc *c = &im->taskcache[((id + pi) * 0x9e3779b97f4a7c15ull) >> 56];
  if (c->valid && c->id == id && c->pi == pi) return c->ours;
  uint64_t ours = id; /* as renumber(), with the arrays */
  if (id != UINT64_MAX && !dmap_get(&p->tasks, id, &ours)) {
    ours = id;
    while (ours == 0 || ours == UINT64_MAX || dset_has(&im->used_tasks, ours)) ours += 1ull << 32;
    if (!dset_add(&im->used_tasks, ours) || !dmap_put(&p->tasks, id, ours)) {
      im->oom = true;
      ours = id;
    }
  }
  c->pi = pi;
  c->id = id;
  c->ours = ours;
  c->valid = true;
  return ours;
}

/* ---- records: what the graph's thread hands the worker ----
 *
 * babeltrace2's objects belong to the graph's thread, so its sink only
 * copies out what an event says, as a record in a block of records, and
 * a worker thread does the rest (processes, threads, tasks, interning,
 * encoding) in the same order.  A record starts with a kind byte (1 to
 * 255), or 0 and REC_TRACE or REC_DUMP:
 *   REC_TRACE    a trace: a ctrace (its strings now the worker's) and the
 *                hostname
 *   a kind       an event: flags (F_*), [the sink's input it came from,
 *                u32, when not the last record's], [its context: trace
 *                u32, tid, pid, flags (C_*), when not the last one of its
 *                input], its time (u32 after the last record's, or u64),
 *                [the babeltrace2 stream, when not the last record's],
 *                [procname: u32 length, bytes], then the fields: a byte
 *                whose bit f says that integer field f is a u32 (else
 *                u64), then U T I P as such, S as u32 length (NO_STR:
 *                none) and bytes, K as a count byte and u64 frames, B as
 *                u32 length and bytes
 *   REC_DUMP     a statedump event, as an event up to the fields, then
 *                what (DUMP_*), and for bin_info baddr, memsz, path (u32
 *                length, bytes), for build_id baddr and the id
 * Numbers are host-order and unaligned. */
enum { REC_TRACE, REC_DUMP };
enum { F_INPUT = 1, F_CTX = 2, F_NS64 = 4, F_BTS = 8, F_PNAME = 16 };
enum { C_STREAM_TID = 1, C_CTX_PID = 2, C_SIG = 4 };
enum { DUMP_OTHER, DUMP_BIN_INFO, DUMP_BUILD_ID };
#define NO_STR UINT32_MAX
/* The most a record takes but for its fields and bytes: kind (2 for a
 * statedump), flags, input, context, time, stream, procname length, the
 * byte of narrow fields. */
#define REC_HEAD (2 + 1 + 4 + (4 + 8 + 8 + 1) + 8 + 8 + 4 + 1)

static inline uint64_t rd_u64(const uint8_t **p) {
  uint64_t v;
  memcpy(&v, *p, 8);
  *p += 8;
  return v;
}

static inline uint32_t rd_u32(const uint8_t **p) {
  uint32_t v;
  memcpy(&v, *p, 4);
  *p += 4;
  return v;
}

typedef struct dumprec {
  unsigned what;
  uint64_t baddr, memsz, n;
  const uint8_t *bytes; /* the path, or the build id */
} dumprec;

static const uint8_t *rd_dump(const uint8_t *r, dumprec *d) {
  memset(d, 0, sizeof *d);
  d->what = *r++;
  if (d->what == DUMP_OTHER) return r;
  d->baddr = rd_u64(&r);
  if (d->what == DUMP_BIN_INFO) d->memsz = rd_u64(&r);
  d->n = rd_u32(&r);
  d->bytes = r;
  return r + d->n;
}

static void w_statedump(importer *im, proc *p, const dumprec *d) {
  if (d->what == DUMP_BIN_INFO) {
    size_t i = 0; /* one per start address, the latest winning, as in MAPPINGS */
    while (i < p->nmaps && p->maps[i].start != d->baddr) i++;
    if (i == p->nmaps) {
      if (!ET_VEC_GROW(p->maps, p->nmaps, p->capmaps)) {
        im->oom = true;
        return;
      }
      p->nmaps++;
    } else {
      free(p->maps[i].path);
    }
    mapping *m = &p->maps[i];
    memset(m, 0, sizeof *m);
    m->start = d->baddr;
    m->limit = d->baddr + d->memsz;
    m->path = strndup((const char *)d->bytes, (size_t)d->n);
    if (!m->path) im->oom = true;
  } else if (d->what == DUMP_BUILD_ID) {
    for (size_t i = p->nmaps; i-- > 0;)
      if (p->maps[i].start == d->baddr) {
        size_t n = d->n < sizeof p->maps[i].build_id ? (size_t)d->n : sizeof p->maps[i].build_id;
        memcpy(p->maps[i].build_id, d->bytes, n);
        p->maps[i].build_id_len = n;
        break;
      }
  }
}

/* One event record, from just after its kind byte. */
static void w_event(importer *im, unsigned kind, const uint8_t **pp) {
  const uint8_t *r = *pp;
  unsigned flags = *r++;
  if (flags & F_INPUT) {
    uint32_t in = rd_u32(&r);
    if (in >= im->ninputs) {
      size_t cap = im->ninputs;
      if (!et__vec_grow((void **)&im->inputs, &cap, (size_t)in + 1, sizeof *im->inputs)) im->oom = true;
      else {
        memset(im->inputs + im->ninputs, 0, (cap - im->ninputs) * sizeof *im->inputs);
        im->ninputs = cap;
      }
    }
    im->input = im->oom ? NULL : &im->inputs[in];
  }
  struct wctx *cx = im->input, dummy = {0};
  if (!cx) cx = &dummy; /* out of memory: the record is only skipped */
  if (flags & F_CTX) {
    cx->ti = rd_u32(&r);
    cx->tid = rd_u64(&r);
    cx->pid = rd_u64(&r);
    cx->flags = *r++;
  }
  if (flags & F_NS64) im->ns = rd_u64(&r);
  else im->ns += rd_u32(&r);
  if (flags & F_BTS) im->cur_bts = rd_u64(&r);
  const char *pname = NULL;
  uint32_t pname_n = 0;
  if (flags & F_PNAME) {
    pname_n = rd_u32(&r);
    pname = (const char *)r;
    r += pname_n;
  }
  size_t ti = cx->ti;
  uint64_t tid = cx->tid, pid = cx->pid, t = im->ns;
  /* The fields, read whole before anything can return early. */
  const et_kind_desc *k = &et__kinds[kind < ET_EV_LIMIT ? kind : 0];
  uint64_t v[ET_MAX_FIELDS];
  const uint8_t *bytes[ET_MAX_FIELDS];
  dumprec dump;
  if (kind == ET_EV_LIMIT) {
    r = rd_dump(r, &dump);
  } else {
    unsigned narrow = *r++;
    for (unsigned f = 0; f < k->nfields; f++) {
      switch (k->ftype[f]) {
        case ET_FT_U:
        case ET_FT_T:
        case ET_FT_I:
        case ET_FT_P: v[f] = narrow >> f & 1 ? rd_u32(&r) : rd_u64(&r); break;
        case ET_FT_S:
        case ET_FT_B:
          v[f] = rd_u32(&r);
          bytes[f] = r;
          if (v[f] != NO_STR) r += v[f];
          break;
        case ET_FT_K:
          v[f] = *r++;
          bytes[f] = r;
          r += v[f] * 8;
          break;
        default: v[f] = 0; break;
      }
    }
  }
  *pp = r;
  if (im->oom) return;
  bool ctx_pid = cx->flags & C_CTX_PID;
  uint8_t sig = cx->flags & C_SIG ? 1 : 0;
  struct who *w = &im->who[((tid ^ pid << 20) * 0x9e3779b97f4a7c15ull) >> 56];
  bool known = w->valid && w->tid == tid && w->pid == pid && w->ti == ti && w->sig == sig;
  size_t pi = known ? w->pi : proc_of(im, ti, pid);
  if (pi == SIZE_MAX) return;
  proc *p = &im->procs[pi];
  if (p->name_rank < 3) {
    const char *env = im->traces[ti].procname;
    if (!ctx_pid && env[0]) name_proc(im, p, env, strlen(env), 3);
    else if (p->name_rank < 2 && pname) name_proc(im, p, pname, (size_t)pname_n, pid && tid == pid ? 2 : 1);
  }
  if (kind == ET_EV_LIMIT) {
    w_statedump(im, p, &dump);
    return;
  }
  if (tid == 0 || tid >> 63) { /* none, or one our stream keys cannot hold */
    im->skipped_no_tid++;
    return;
  }
  ctrace *c = &im->traces[ti];
  if (!c->have_first || t < c->first_ns) c->first_ns = t;
  c->have_first = true;
  stream *s;
  if (known) {
    s = &im->st[w->si];
  } else {
    s = stream_of(im, our_tid(im, p, tid), sig);
    if (!s) return;
    *w = (struct who){ti, pi, (size_t)(s - im->st), pid, tid, sig, 1};
  }
  uint64_t bts = im->cur_bts;
  if ((cx->flags & C_STREAM_TID) && bts != im->last_bts && !et__map_put(&im->bt_streams, bts, (uint64_t)(s - im->st)))
    im->oom = true;
  im->last_bts = bts;
  if (s->cur.n >= CHUNK_TARGET) flush_stream(im, s);
  if (t < s->ticks) t = s->ticks; /* a stream's time never goes back */
  uint8_t kb = (uint8_t)kind;
  put(&s->cur, &kb, 1);
  put_u(&s->cur, t - s->ticks);
  s->ticks = t;
  for (unsigned f = 0; f < k->nfields; f++) {
    uint64_t x = v[f];
    switch (k->ftype[f]) {
      case ET_FT_U:
        if (x && (im->task_fields[kind] >> f & 1)) x = our_task(im, p, x);
        put_u(&s->cur, x);
        break;
      case ET_FT_T: put_u(&s->cur, x ? our_tid(im, p, x) : 0); break;
      case ET_FT_I: put_s(&s->cur, (int64_t)x); break;
      case ET_FT_P:
        put_s(&s->cur, (int64_t)(x - s->obj));
        s->obj = x;
        break;
      case ET_FT_S: {
        uint32_t id = x == NO_STR ? 0 : intern_get(&im->strings, bytes[f], (size_t)x, def_string);
        if (x != NO_STR && !id) im->oom = true;
        put_u(&s->cur, id);
        break;
      }
      case ET_FT_K: {
        uint32_t id = x ? intern_get(&im->stacks, bytes[f], (size_t)x * 8, def_stack) : 0;
        if (x && !id) im->oom = true;
        put_u(&s->cur, id);
        break;
      }
      case ET_FT_B: put_str(&s->cur, bytes[f], (size_t)x); break;
      default: put_u(&s->cur, 0); break;
    }
  }
  im->nevents++;
}

static void w_trace(importer *im, const uint8_t **pp) {
  ctrace c;
  char *hostname;
  memcpy(&c, *pp, sizeof c);
  memcpy(&hostname, *pp + sizeof c, sizeof hostname);
  *pp += sizeof c + sizeof hostname;
  if (!im->oom && ET_VEC_GROW(im->traces, im->ntraces, im->captraces)) {
    c.host = host_of(im, hostname);
    im->traces[im->ntraces++] = c; /* its strings are freed with it */
  } else {
    im->oom = true;
    free(c.procname);
    free(c.exe);
    free(c.cmdline);
  }
  free(hostname);
}

static void w_block(importer *im, const uint8_t *p, size_t n) {
  const uint8_t *end = p + n;
  while (p < end) {
    unsigned kind = *p++;
    if (kind == 0 && *p++ == REC_TRACE) w_trace(im, &p);
    else w_event(im, kind ? kind : ET_EV_LIMIT, &p);
  }
}

/* ---- the blocks between the two threads ---- */

#define NBLOCKS 8
#define BLOCK_FILL (256 * 1024) /* a block is handed over once it holds this much */

typedef struct rblock {
  uint8_t *p;
  size_t n, cap;
} rblock;

typedef struct ring {
  pthread_mutex_t mu;
  pthread_cond_t full_cv, free_cv;
  rblock b[NBLOCKS];
  size_t full[NBLOCKS], nfull, head; /* blocks to read, in order */
  size_t freeb[NBLOCKS], nfree;      /* blocks to fill */
  size_t cur;                        /* the block being filled */
  bool done, threaded;
  pthread_t th;
  importer *im;
} ring;

static void *worker_main(void *arg) {
  ring *q = arg;
  for (;;) {
    pthread_mutex_lock(&q->mu);
    while (q->nfull == 0 && !q->done) pthread_cond_wait(&q->full_cv, &q->mu);
    if (q->nfull == 0) {
      pthread_mutex_unlock(&q->mu);
      return NULL;
    }
    size_t i = q->full[q->head];
    q->head = (q->head + 1) % NBLOCKS;
    q->nfull--;
    pthread_mutex_unlock(&q->mu);
    w_block(q->im, q->b[i].p, q->b[i].n);
    q->b[i].n = 0;
    pthread_mutex_lock(&q->mu);
    q->freeb[q->nfree++] = i;
    pthread_cond_signal(&q->free_cv);
    pthread_mutex_unlock(&q->mu);
  }
}

static bool ring_init(ring *q, importer *im) {
  memset(q, 0, sizeof *q);
  q->im = im;
  for (size_t i = 0; i < NBLOCKS; i++) {
    q->b[i].cap = BLOCK_FILL + 4096;
    if (!(q->b[i].p = malloc(q->b[i].cap))) {
      while (i-- > 0) free(q->b[i].p);
      return false;
    }
    if (i) q->freeb[q->nfree++] = i;
  }
  q->cur = 0;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->full_cv, NULL);
  pthread_cond_init(&q->free_cv, NULL);
  /* Without a second thread, each block is read as it is handed over. */
  q->threaded = pthread_create(&q->th, NULL, worker_main, q) == 0;
  return true;
}

/* Hands the block being filled to the worker and takes a free one. */
static void ring_ship(ring *q) {
  rblock *b = &q->b[q->cur];
  if (b->n == 0) return;
  if (!q->threaded) {
    w_block(q->im, b->p, b->n);
    b->n = 0;
    return;
  }
  pthread_mutex_lock(&q->mu);
  q->full[(q->head + q->nfull) % NBLOCKS] = q->cur;
  q->nfull++;
  pthread_cond_signal(&q->full_cv);
  while (q->nfree == 0) pthread_cond_wait(&q->free_cv, &q->mu);
  q->cur = q->freeb[--q->nfree];
  pthread_mutex_unlock(&q->mu);
}

/* Hands over what is left and waits for the worker to finish. */
static void ring_finish(ring *q) {
  ring_ship(q);
  if (q->threaded) {
    pthread_mutex_lock(&q->mu);
    q->done = true;
    pthread_cond_signal(&q->full_cv);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->th, NULL);
    q->threaded = false;
  }
  for (size_t i = 0; i < NBLOCKS; i++) free(q->b[i].p);
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->full_cv);
  pthread_cond_destroy(&q->free_cv);
}

/* Room for n more bytes in the block being filled; NULL on OOM. */
static inline uint8_t *ring_room(ring *q, size_t n) {
  rblock *b = &q->b[q->cur];
  if (IM_LIKELY(b->cap - b->n >= n)) return b->p + b->n;
  size_t cap = b->cap * 2;
  while (cap - b->n < n) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) return NULL;
  b->p = p;
  b->cap = cap;
  return p + b->n;
}

static inline uint8_t *wr_u64(uint8_t *w, uint64_t v) {
  memcpy(w, &v, 8);
  return w + 8;
}

/* ---- the graph's side: reading events ---- */

/* How a field is read: its member index in its structure (-1: none, or of
 * a type read as none) and its kind. */
enum { FK_NONE, FK_U, FK_S, FK_BOOL, FK_STR, FK_ARR };

typedef struct fspec {
  int64_t i;
  uint8_t k, ek; /* ek: an array's elements */
} fspec;

/* Where a stream class keeps the context fields read on every event. */
typedef struct sctx {
  const void *sc;
  fspec ptid, psig;                  /* packet context */
  fspec vtid, tid, vpid, pid, pname; /* event common context */
  bool clock;                        /* it has a default clock */
  bool cctx;                         /* any of the common context's */
} sctx;

/* How each field of an event class is read, its type and the member's
 * settled once: what a field gives when it has no member of a type that
 * fits (0, no string, "", no bytes, no stack) is as field_u64() and
 * field_bytes() read them before. */
enum {
  OP_INT_U, OP_INT_S, OP_INT_B, OP_INT_0,  /* U T I P */
  OP_S_STR, OP_S_EMPTY, OP_S_NONE,         /* S: a string; an array gives "" */
  OP_B_STR, OP_B_ARR, OP_B_NONE,           /* B */
  OP_K_U, OP_K_S, OP_K_B, OP_K_NONE        /* K: an array of integers */
};

typedef struct fop {
  uint8_t op, ek; /* ek: an array's elements (OP_B_ARR) */
  uint64_t i;     /* the member */
} fop;

typedef struct gclass {
  unsigned kind; /* 0: none of ours, ET_EV_LIMIT: a statedump event */
  unsigned what; /* DUMP_* */
  size_t fixed;  /* the most its record's fields take, but for string bytes */
  fspec f[ET_MAX_FIELDS];
  fop ops[ET_MAX_FIELDS]; /* an event's fields, in the catalogue's order */
} gclass;

typedef struct gtrace {
  uint64_t pid;  /* env vpid, 0 if none */
  bool env_name; /* env procname is not empty */
} gtrace;

/* One input of the sink: a message iterator on one output port of a source. */
typedef struct input {
  bt_message_iterator *it;
  bt_message_array_const msgs;
  uint64_t count, pos; /* msgs[pos] is the head, when pos < count */
  int64_t ts;          /* the head event's time, for the merge */
  const bt_event *ev;  /* the head event */
  /* The streams begun and not ended: events are of one of them. */
  size_t nopen;
  const bt_stream *open_bs; /* the last one begun */
  /* The stream of the last event looked at, and of its packet. */
  const bt_stream *bs;
  const sctx *cx;
  size_t ti;           /* SIZE_MAX until an event of ours needs it */
  bool pk_ok, ptid_ok;
  uint64_t ptid, psig;
  /* The context of its last record, which the worker keeps. */
  bool sent;
  uint8_t sent_cflags;
  size_t sent_ti;
  uint64_t sent_tid, sent_pid;
} input;

typedef struct reader {
  ring q;
  gclass *cls;
  size_t ncls, capcls;
  et__u64map classes; /* event class -> index in cls + 1 */
  struct { const void *ec; size_t ci; } clscache[64]; /* recent classes, by address */
  sctx **ctx;
  size_t nctx, capctx;
  gtrace *traces;
  size_t ntraces, captraces;
  et__u64map trace_index; /* bt_trace -> index in traces */
  struct named { uint64_t pid, tid; size_t ti; bool valid; } named[256]; /* threads whose procname was sent */
  input *in0;          /* the sink's inputs */
  size_t last_input;   /* of the last record */
  uint64_t last_ns, last_bts;
  discard *disc;
  size_t ndisc, capdisc;
  uint64_t skipped_unknown;
  bool oom;
  char err[256];
  char skipped[256]; /* why the first trace skipped was */
} reader;

static uint8_t fkind(const bt_field_class *fc) {
  if (!fc) return FK_NONE;
  bt_field_class_type t = bt_field_class_get_type(fc);
  if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) return FK_U;
  if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) return FK_S;
  if (t == BT_FIELD_CLASS_TYPE_BOOL) return FK_BOOL;
  if (t == BT_FIELD_CLASS_TYPE_STRING) return FK_STR;
  if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_ARRAY)) return FK_ARR;
  return FK_NONE;
}

/* The member of a structure field class with this name (also with LTTng's
 * leading underscore). */
static fspec spec_of(const bt_field_class *fc, const char *name) {
  fspec s = {-1, FK_NONE, FK_NONE};
  if (!fc || bt_field_class_get_type(fc) != BT_FIELD_CLASS_TYPE_STRUCTURE) return s;
  uint64_t n = bt_field_class_structure_get_member_count(fc);
  for (int pass = 0; pass < 2 && s.i < 0; pass++)
    for (uint64_t i = 0; i < n && s.i < 0; i++) {
      const bt_field_class_structure_member *mb = bt_field_class_structure_borrow_member_by_index_const(fc, i);
      const char *m = bt_field_class_structure_member_get_name(mb);
      if (pass == 0 ? strcmp(m, name) == 0 : m[0] == '_' && strcmp(m + 1, name) == 0) {
        const bt_field_class *mc = bt_field_class_structure_member_borrow_field_class_const(mb);
        s.i = (int64_t)i;
        s.k = fkind(mc);
        if (s.k == FK_ARR) s.ek = fkind(bt_field_class_array_borrow_element_field_class_const(mc));
      }
    }
  if (s.k == FK_NONE) s.i = -1;
  return s;
}

/* The field of a member, or NULL. */
static inline const bt_field *member_at(const bt_field *st, const fspec *s) {
  return st && s->i >= 0 ? bt_field_structure_borrow_member_field_by_index_const(st, (uint64_t)s->i) : NULL;
}

static inline bool is_int(uint8_t k) { return k == FK_U || k == FK_S || k == FK_BOOL; }

static inline uint64_t int_value(const bt_field *f, uint8_t k) {
  if (k == FK_U) return bt_field_integer_unsigned_get_value(f);
  if (k == FK_S) return (uint64_t)bt_field_integer_signed_get_value(f);
  return bt_field_bool_get_value(f);
}

/* An integer member's value into *v; false (*v unchanged) without one. */
static inline bool get_int(const bt_field *st, const fspec *s, uint64_t *v) {
  const bt_field *f = is_int(s->k) ? member_at(st, s) : NULL;
  if (!f) return false;
  *v = int_value(f, s->k);
  return true;
}

/* The context fields of a stream class (kept apart: inputs hold them). */
static const sctx *ctx_of(reader *rd, const bt_stream_class *sc) {
  for (size_t i = 0; i < rd->nctx; i++)
    if (rd->ctx[i]->sc == sc) return rd->ctx[i];
  sctx *c = malloc(sizeof *c);
  if (!c || !ET_VEC_GROW(rd->ctx, rd->nctx, rd->capctx)) {
    free(c);
    rd->oom = true;
    return NULL;
  }
  rd->ctx[rd->nctx++] = c;
  const bt_field_class *pc = bt_stream_class_borrow_packet_context_field_class_const(sc);
  const bt_field_class *cc = bt_stream_class_borrow_event_common_context_field_class_const(sc);
  *c = (sctx){sc,
              spec_of(pc, "tid"),
              spec_of(pc, "signal"),
              spec_of(cc, "vtid"),
              spec_of(cc, "tid"),
              spec_of(cc, "vpid"),
              spec_of(cc, "pid"),
              spec_of(cc, "procname"),
              bt_stream_class_borrow_default_clock_class_const(sc) != NULL,
              false};
  c->cctx = c->vtid.i >= 0 || c->tid.i >= 0 || c->vpid.i >= 0 || c->pid.i >= 0 || c->pname.i >= 0;
  return c;
}

/* What we know of an event class: its kind and where its fields are. */
static const gclass *class_of(reader *rd, const bt_event_class *ec) {
  size_t slot = (size_t)(((uint64_t)(uintptr_t)ec * 0x9e3779b97f4a7c15ull) >> 58); /* of 64 */
  if (rd->clscache[slot].ec == ec) return &rd->cls[rd->clscache[slot].ci];
  uint64_t v;
  if (!et__map_get(&rd->classes, (uint64_t)(uintptr_t)ec, &v)) {
    const char *name = bt_event_class_get_name(ec);
    unsigned kind = 0, what = DUMP_OTHER;
    if (!name) name = "";
    if (strncmp(name, "lttng_ust_statedump:", 20) == 0) {
      kind = ET_EV_LIMIT; /* a statedump event */
      what = strcmp(name + 20, "bin_info") == 0 ? DUMP_BIN_INFO : strcmp(name + 20, "build_id") == 0 ? DUMP_BUILD_ID
                                                                                                      : DUMP_OTHER;
    } else {
      if (strncmp(name, "exectrace:", 10) == 0) name += 10;
      for (unsigned i = 1; i < ET_EV_LIMIT && !kind; i++)
        if (et__kinds[i].name && strcmp(et__kinds[i].name, name) == 0) kind = i;
    }
    if (!ET_VEC_GROW(rd->cls, rd->ncls, rd->capcls) ||
        !et__map_put(&rd->classes, (uint64_t)(uintptr_t)ec, rd->ncls + 1)) {
      rd->oom = true;
      return NULL;
    }
    gclass *c = &rd->cls[rd->ncls];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->what = what;
    const bt_field_class *pc = bt_event_class_borrow_payload_field_class_const(ec);
    for (unsigned f = 0; f < ET_MAX_FIELDS; f++) {
      const char *fname = NULL;
      if (kind && kind < ET_EV_LIMIT && f < et__kinds[kind].nfields) fname = et__kinds[kind].fname[f];
      else if (kind == ET_EV_LIMIT && what != DUMP_OTHER) /* baddr, then memsz and path, or build_id */
        fname = f == 0 ? "baddr" : what == DUMP_BIN_INFO ? (f == 1 ? "memsz" : f == 2 ? "path" : NULL)
                                                         : (f == 1 ? "build_id" : NULL);
      c->f[f] = fname ? spec_of(pc, fname) : (fspec){-1, FK_NONE, FK_NONE};
    }
    for (unsigned f = 0; kind && kind < ET_EV_LIMIT && f < et__kinds[kind].nfields; f++) {
      const fspec *sp = &c->f[f];
      fop *o = &c->ops[f];
      unsigned k = sp->i >= 0 ? sp->k : FK_NONE, ek = sp->ek;
      o->i = sp->i >= 0 ? (uint64_t)sp->i : 0;
      o->ek = (uint8_t)ek;
      switch (et__kinds[kind].ftype[f]) {
        case ET_FT_S: o->op = k == FK_STR ? OP_S_STR : k == FK_ARR ? OP_S_EMPTY : OP_S_NONE; break;
        case ET_FT_B: o->op = k == FK_STR ? OP_B_STR : k == FK_ARR ? OP_B_ARR : OP_B_NONE; break;
        case ET_FT_K:
          o->op = k != FK_ARR ? OP_K_NONE : ek == FK_U ? OP_K_U : ek == FK_S ? OP_K_S : ek == FK_BOOL ? OP_K_B : OP_K_NONE;
          break;
        default: o->op = k == FK_U ? OP_INT_U : k == FK_S ? OP_INT_S : k == FK_BOOL ? OP_INT_B : OP_INT_0; break;
      }
    }
    c->fixed = 1 + 8 + 8 + 4; /* a statedump's; an event's narrow byte and fields: */
    if (kind && kind < ET_EV_LIMIT)
      for (unsigned f = 0; f < et__kinds[kind].nfields; f++)
        c->fixed += et__kinds[kind].ftype[f] == ET_FT_K ? 1 + 255 * 8 : 8;
    v = ++rd->ncls;
  }
  rd->clscache[slot].ec = ec;
  rd->clscache[slot].ci = (size_t)v - 1;
  return &rd->cls[v - 1];
}

static const char *env_string(const bt_trace *tr, const char *name) {
  const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(tr, name);
  return v && bt_value_get_type(v) == BT_VALUE_TYPE_STRING ? bt_value_string_get(v) : NULL;
}

static bool env_int(const bt_trace *tr, const char *name, uint64_t *out) {
  const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(tr, name);
  if (v && bt_value_get_type(v) == BT_VALUE_TYPE_SIGNED_INTEGER) {
    int64_t x = bt_value_integer_signed_get(v);
    if (x < 0) return false;
    *out = (uint64_t)x;
    return true;
  }
  const char *s = v && bt_value_get_type(v) == BT_VALUE_TYPE_STRING ? bt_value_string_get(v) : NULL;
  char *end;
  if (!s || !*s) return false;
  *out = strtoull(s, &end, 10);
  return !*end;
}

/* The trace of a stream, read on first sight (env and clock) and handed to
 * the worker.  SIZE_MAX on OOM. */
static size_t trace_of(reader *rd, const bt_stream *bs) {
  const bt_trace *tr = bt_stream_borrow_trace_const(bs);
  uint64_t v;
  if (et__map_get(&rd->trace_index, (uint64_t)(uintptr_t)tr, &v)) return (size_t)v;
  if (!ET_VEC_GROW(rd->traces, rd->ntraces, rd->captraces) ||
      !et__map_put(&rd->trace_index, (uint64_t)(uintptr_t)tr, rd->ntraces)) {
    rd->oom = true;
    return SIZE_MAX;
  }
  ctrace c;
  memset(&c, 0, sizeof c);
  c.bt = tr;
  c.anon = SIZE_MAX;
  const char *pn = env_string(tr, "procname"), *ex = env_string(tr, "exe"), *cl = env_string(tr, "cmdline"),
             *hn = env_string(tr, "hostname");
  c.procname = strdup(pn ? pn : "");
  c.exe = strdup(ex ? ex : "");
  c.cmdline = strdup(cl ? cl : "");
  char *hostname = strdup(hn ? hn : "");
  env_int(tr, "vpid", &c.pid);
  c.have_start = env_int(tr, "start_monotonic_ns", &c.start_monotonic);
  const bt_clock_class *cc = bt_stream_class_borrow_default_clock_class_const(bt_stream_borrow_class_const(bs));
  if (cc) {
    int64_t sec;
    uint64_t cycles, freq = bt_clock_class_get_frequency(cc);
    bt_clock_class_get_offset(cc, &sec, &cycles);
    if (freq && sec >= 0) c.origin_offset_ns = (uint64_t)sec * 1000000000u + cycles * (1000000000u / freq);
    c.clock_epoch = bt_clock_class_origin_is_unix_epoch(cc);
  }
  uint8_t *w = ring_room(&rd->q, 2 + sizeof c + sizeof hostname);
  if (!c.procname || !c.exe || !c.cmdline || !hostname || !w) {
    free(c.procname);
    free(c.exe);
    free(c.cmdline);
    free(hostname);
    rd->oom = true;
    return SIZE_MAX;
  }
  rd->traces[rd->ntraces] = (gtrace){c.pid, c.procname[0] != 0};
  *w++ = 0;
  *w++ = REC_TRACE;
  memcpy(w, &c, sizeof c);
  memcpy(w + sizeof c, &hostname, sizeof hostname);
  rd->q.b[rd->q.cur].n += 2 + sizeof c + sizeof hostname;
  return rd->ntraces++;
}

/* The write position w in the block being filled, with room for need
 * more bytes from there; NULL on OOM. */
static inline uint8_t *room_at(ring *q, uint8_t *w, size_t need) {
  rblock *b = &q->b[q->cur];
  if (IM_LIKELY((size_t)(b->p + b->cap - w) >= need)) return w;
  b->n = (size_t)(w - b->p);
  return ring_room(q, need);
}

/* A string or array member as bytes (an array's elements as bytes, at most
 * cap of them), as u32 length and bytes; `none` without one.  reserve:
 * what the rest of the record may need.  NULL on OOM. */
static uint8_t *wr_bytes(ring *q, uint8_t *w, size_t reserve, const bt_field *st, const fspec *s, size_t cap,
                         uint32_t none) {
  const bt_field *f = s->k == FK_STR || s->k == FK_ARR ? member_at(st, s) : NULL;
  if (f && s->k == FK_STR) {
    uint64_t n = bt_field_string_get_length(f);
    if (n >= NO_STR || !(w = room_at(q, w, 4 + n + reserve))) return NULL;
    uint32_t n32 = (uint32_t)n;
    memcpy(w, &n32, 4);
    memcpy(w + 4, bt_field_string_get_value(f), n);
    return w + 4 + n;
  }
  if (f) {
    uint64_t len = bt_field_array_get_length(f);
    uint32_t n = (uint32_t)(len < cap ? len : cap);
    if (!(w = room_at(q, w, 4 + n + reserve))) return NULL;
    memcpy(w, &n, 4);
    w += 4;
    for (uint32_t i = 0; i < n; i++)
      w[i] = is_int(s->ek) ? (uint8_t)int_value(bt_field_array_borrow_element_field_by_index_const(f, i), s->ek) : 0;
    return w + n;
  }
  memcpy(w, &none, 4); /* within the record's reserve */
  return w + 4;
}

/* The payload of a statedump event (after its common part); the record's
 * reserve holds its fixed part. */
static uint8_t *wr_statedump(ring *q, uint8_t *w, const gclass *ci, const bt_field *pl) {
  uint64_t baddr = 0, memsz = 0;
  unsigned what = get_int(pl, &ci->f[0], &baddr) ? ci->what : DUMP_OTHER;
  *w++ = (uint8_t)what;
  if (what == DUMP_OTHER) return w;
  w = wr_u64(w, baddr);
  if (what == DUMP_BIN_INFO) {
    get_int(pl, &ci->f[1], &memsz);
    w = wr_u64(w, memsz);
    return wr_bytes(q, w, 0, pl, &ci->f[2], 0, 0); /* the path: a string; an array gives none */
  }
  return wr_bytes(q, w, 0, pl, &ci->f[1], 64, 0);
}

#define FIELD(pl, o) bt_field_structure_borrow_member_field_by_index_const(pl, (o)->i)

/* An event message: its record into the block. */
static void take_event(reader *rd, input *in, const bt_event *e, int64_t ns) {
  if (rd->oom) return;
  const gclass *ci = class_of(rd, bt_event_borrow_class_const(e));
  if (!ci) return;
  unsigned kind = ci->kind;
  if (kind == 0) {
    rd->skipped_unknown++;
    return;
  }
  if (in->ti == SIZE_MAX && (in->ti = trace_of(rd, in->bs)) == SIZE_MAX) return;
  const sctx *cx = in->cx;
  if (!in->pk_ok) {
    const bt_packet *pk = bt_event_borrow_packet_const(e);
    const bt_field *pctx = pk ? bt_packet_borrow_context_field_const(pk) : NULL;
    in->ptid = in->psig = 0;
    in->ptid_ok = get_int(pctx, &cx->ptid, &in->ptid); /* our export: a stream per thread */
    get_int(pctx, &cx->psig, &in->psig);
    in->pk_ok = true;
  }
  const bt_field *cctx = cx->cctx ? bt_event_borrow_common_context_field_const(e) : NULL;
  uint64_t tid = 0, pid = 0;
  unsigned cflags = 0, flags = 0;
  if (in->ptid_ok) {
    tid = in->ptid;
    cflags |= C_STREAM_TID;
  } else if (!get_int(cctx, &cx->vtid, &tid)) {
    get_int(cctx, &cx->tid, &tid);
  }
  if (in->psig) cflags |= C_SIG;
  const gtrace *gt = &rd->traces[in->ti];
  if (get_int(cctx, &cx->vpid, &pid) || get_int(cctx, &cx->pid, &pid)) cflags |= C_CTX_PID;
  else pid = gt->pid;
  /* The procname, unless the trace's env names the process, or this
   * thread has sent one already: a thread's later ones change nothing
   * (the first one it sends gives its process a name of its rank). */
  const bt_field *pn = NULL;
  uint64_t pn_len = 0;
  if (cx->pname.k == FK_STR && ((cflags & C_CTX_PID) || !gt->env_name)) {
    struct named *nm = &rd->named[((tid ^ pid << 20 ^ (uint64_t)in->ti << 40) * 0x9e3779b97f4a7c15ull) >> 56];
    if (!(nm->valid && nm->tid == tid && nm->pid == pid && nm->ti == in->ti)) {
      pn = member_at(cctx, &cx->pname);
      pn_len = pn ? bt_field_string_get_length(pn) : 0;
      if (pn_len && pn_len < NO_STR) {
        *nm = (struct named){pid, tid, in->ti, true};
        flags |= F_PNAME;
      } else {
        pn = NULL; /* an empty name names nothing */
      }
    }
  }
  size_t idx = (size_t)(in - rd->in0);
  if (idx != rd->last_input) flags |= F_INPUT;
  if (!in->sent || in->sent_ti != in->ti || in->sent_tid != tid || in->sent_pid != pid || in->sent_cflags != cflags)
    flags |= F_CTX;
  uint64_t t = ns >= 0 ? (uint64_t)ns : 0;
  if (t < rd->last_ns || t - rd->last_ns > UINT32_MAX) flags |= F_NS64;
  uint64_t bts = (uint64_t)(uintptr_t)in->bs;
  if (bts != rd->last_bts) flags |= F_BTS;
  ring *q = &rd->q;
  size_t start = q->b[q->cur].n; /* where the record starts: cut back to it on OOM */
  uint8_t *w = ring_room(q, REC_HEAD + pn_len + ci->fixed);
  if (!w) goto fail;
  if (kind == ET_EV_LIMIT) {
    *w++ = 0;
    *w++ = REC_DUMP;
  } else {
    *w++ = (uint8_t)kind;
  }
  *w++ = (uint8_t)flags;
  if (flags & F_INPUT) {
    uint32_t i32 = (uint32_t)idx;
    memcpy(w, &i32, 4);
    w += 4;
  }
  if (flags & F_CTX) {
    uint32_t ti32 = (uint32_t)in->ti;
    memcpy(w, &ti32, 4);
    w = wr_u64(w + 4, tid);
    w = wr_u64(w, pid);
    *w++ = (uint8_t)cflags;
  }
  if (flags & F_NS64) {
    w = wr_u64(w, t);
  } else {
    uint32_t d = (uint32_t)(t - rd->last_ns);
    memcpy(w, &d, 4);
    w += 4;
  }
  if (flags & F_BTS) w = wr_u64(w, bts);
  if (pn) {
    uint32_t n32 = (uint32_t)pn_len;
    memcpy(w, &n32, 4);
    memcpy(w + 4, bt_field_string_get_value(pn), pn_len);
    w += 4 + pn_len;
  }
  const bt_field *pl = bt_event_borrow_payload_field_const(e);
  if (kind == ET_EV_LIMIT) {
    if (!(w = wr_statedump(q, w, ci, pl))) goto fail;
  } else {
    unsigned nf = et__kinds[kind].nfields, bits = 0;
    size_t narrow = (size_t)(w - q->b[q->cur].p); /* the block may move: an offset */
    w++;
    for (unsigned f = 0; f < nf; f++) {
      const fop *o = &ci->ops[f];
      uint64_t v;
      switch (o->op) {
        case OP_INT_U: v = bt_field_integer_unsigned_get_value(FIELD(pl, o)); goto put_int;
        case OP_INT_S: v = (uint64_t)bt_field_integer_signed_get_value(FIELD(pl, o)); goto put_int;
        case OP_INT_B: v = (uint64_t)bt_field_bool_get_value(FIELD(pl, o)); goto put_int;
        case OP_INT_0:
          v = 0;
        put_int:
          if (v <= UINT32_MAX) {
            uint32_t v32 = (uint32_t)v;
            memcpy(w, &v32, 4);
            w += 4;
            bits |= 1u << f;
          } else {
            w = wr_u64(w, v);
          }
          break;
        case OP_S_STR:
        case OP_B_STR: {
          const bt_field *fld = FIELD(pl, o);
          uint64_t n = bt_field_string_get_length(fld);
          if (n >= NO_STR || !(w = room_at(q, w, 4 + n + ci->fixed))) goto fail;
          uint32_t n32 = (uint32_t)n;
          memcpy(w, &n32, 4);
          memcpy(w + 4, bt_field_string_get_value(fld), n);
          w += 4 + n;
          break;
        }
        case OP_S_EMPTY:
        case OP_B_NONE: memset(w, 0, 4); w += 4; break;
        case OP_S_NONE: {
          uint32_t none = NO_STR;
          memcpy(w, &none, 4);
          w += 4;
          break;
        }
        case OP_B_ARR:
          if (!(w = wr_bytes(q, w, ci->fixed, pl, &ci->f[f], 4096, 0))) goto fail;
          break;
        case OP_K_U:
        case OP_K_S:
        case OP_K_B: {
          const bt_field *fld = FIELD(pl, o);
          uint64_t len = bt_field_array_get_length(fld), n = len < 255 ? len : 255;
          *w++ = (uint8_t)n;
          for (uint64_t i = 0; i < n; i++) {
            const bt_field *el = bt_field_array_borrow_element_field_by_index_const(fld, i);
            w = wr_u64(w, o->op == OP_K_U   ? bt_field_integer_unsigned_get_value(el)
                          : o->op == OP_K_S ? (uint64_t)bt_field_integer_signed_get_value(el)
                                            : (uint64_t)bt_field_bool_get_value(el));
          }
          break;
        }
        default: *w++ = 0; break; /* OP_K_NONE */
      }
    }
    q->b[q->cur].p[narrow] = (uint8_t)bits;
  }
  rblock *b = &q->b[q->cur];
  b->n = (size_t)(w - b->p);
  rd->last_input = idx;
  in->sent = true;
  in->sent_ti = in->ti;
  in->sent_tid = tid;
  in->sent_pid = pid;
  in->sent_cflags = (uint8_t)cflags;
  rd->last_ns = t;
  rd->last_bts = bts;
  if (b->n >= BLOCK_FILL) ring_ship(q);
  return;
fail:
  q->b[q->cur].n = start;
  rd->oom = true;
}

/* Losses come before the packet whose counter says so: they are put on
 * their stream's thread at the end, once its events have named it (our
 * export has a stream per thread; LTTng's per-CPU streams name none). */
static void on_discarded(reader *rd, const bt_message *msg) {
  uint64_t count = 0;
  if (bt_message_discarded_events_get_count(msg, &count) != BT_PROPERTY_AVAILABILITY_AVAILABLE) count = 1;
  if (!ET_VEC_GROW(rd->disc, rd->ndisc, rd->capdisc)) {
    rd->oom = true;
    return;
  }
  rd->disc[rd->ndisc++] = (discard){(uint64_t)(uintptr_t)bt_message_discarded_events_borrow_stream_const(msg), count};
}

static void settle_discards(importer *im, reader *rd) {
  for (size_t i = 0; i < rd->ndisc; i++) {
    uint64_t si;
    if (et__map_get(&im->bt_streams, rd->disc[i].stream, &si) && si < im->nst) im->st[si].lost += rd->disc[i].count;
    else im->lost_unattributed += rd->disc[i].count;
  }
  rd->ndisc = 0;
}

/* ---- the sink: the sources' streams merged in time order ----
 *
 * An input per output port of the sources; each gives its messages in
 * time order, and the sink takes the events of the input whose next event
 * is the earliest (ties: the earlier input, that is the earlier trace by
 * path, then port), as long as it stays so.  Other messages are taken as
 * they come: only losses, and stream and packet beginnings, matter here. */

typedef struct sink {
  reader *rd;
  input *in;
  size_t nin;
  size_t *heap, nheap;    /* inputs with a head event, by (time, index) */
  size_t *pending, npend; /* inputs to refill */
} sink;

static inline bool before(const sink *sk, size_t a, size_t b) {
  int64_t x = sk->in[a].ts, y = sk->in[b].ts;
  return x < y || (x == y && a < b);
}

static void heap_down(sink *sk, size_t i) {
  size_t *h = sk->heap, n = sk->nheap;
  for (;;) {
    size_t l = 2 * i + 1, m = i;
    if (l < n && before(sk, h[l], h[m])) m = l;
    if (l + 1 < n && before(sk, h[l + 1], h[m])) m = l + 1;
    if (m == i) return;
    size_t x = h[i];
    h[i] = h[m];
    h[m] = x;
    i = m;
  }
}

static void heap_push(sink *sk, size_t v) {
  size_t *h = sk->heap, i = sk->nheap++;
  h[i] = v;
  while (i > 0 && before(sk, h[i], h[(i - 1) / 2])) {
    size_t p = (i - 1) / 2, x = h[p];
    h[p] = h[i];
    h[i] = x;
    i = p;
  }
}

/* Takes the messages at the head of an input up to its next event, whose
 * time it notes; false when the input has no more messages in hand. */
static bool next_event(sink *sk, input *in) {
  while (in->pos < in->count) {
    const bt_message *m = in->msgs[in->pos];
    bt_message_type type = bt_message_get_type(m);
    if (IM_LIKELY(type == BT_MESSAGE_TYPE_EVENT)) {
      const bt_event *e = bt_message_event_borrow_event_const(m);
      const bt_stream *bs = in->nopen == 1 ? in->open_bs : bt_event_borrow_stream_const(e);
      assert(bs == bt_event_borrow_stream_const(e));
      if (bs != in->bs) {
        in->cx = ctx_of(sk->rd, bt_stream_borrow_class_const(bs));
        if (!in->cx) return false;
        in->bs = bs;
        in->ti = SIZE_MAX;
        in->pk_ok = false;
      }
      int64_t ns = INT64_MIN; /* no time: as early as can be */
      if (in->cx->clock &&
          bt_clock_snapshot_get_ns_from_origin(bt_message_event_borrow_default_clock_snapshot_const(m), &ns) !=
              BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK)
        ns = INT64_MIN;
      in->ev = e;
      in->ts = ns;
      return true;
    }
    if (type == BT_MESSAGE_TYPE_PACKET_BEGINNING) {
      in->pk_ok = false;
    } else if (type == BT_MESSAGE_TYPE_DISCARDED_EVENTS) {
      on_discarded(sk->rd, m);
    } else if (type == BT_MESSAGE_TYPE_STREAM_BEGINNING) {
      in->nopen++;
      in->open_bs = bt_message_stream_beginning_borrow_stream_const(m);
    } else if (type == BT_MESSAGE_TYPE_STREAM_END) {
      in->nopen--;
    }
    bt_message_put_ref(m);
    in->pos++;
  }
  return false;
}

/* Every input with no head event gets one, or ends; OK when none is left
 * waiting. */
static bt_component_class_sink_consume_method_status refill(sink *sk) {
  while (sk->npend) {
    input *in = &sk->in[sk->pending[sk->npend - 1]];
    if (in->pos == in->count) {
      bt_message_array_const msgs;
      uint64_t count;
      switch (bt_message_iterator_next(in->it, &msgs, &count)) {
        case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
          in->msgs = msgs;
          in->count = count;
          in->pos = 0;
          break;
        case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
          bt_message_iterator_put_ref(in->it);
          in->it = NULL;
          in->count = in->pos = 0;
          sk->npend--;
          continue;
        case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
        case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
          return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
        default: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
      }
    }
    if (next_event(sk, in)) {
      sk->npend--;
      heap_push(sk, (size_t)(in - sk->in));
    }
    if (sk->rd->oom) return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
  }
  return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

/* The earliest input's events, while they stay the earliest, and so on
 * until an input has no more messages in hand (or a few times that, to
 * return to the graph less often). */
static bt_component_class_sink_consume_method_status sink_consume(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  reader *rd = sk->rd;
  for (int round = 0; round < 16; round++) {
    bt_component_class_sink_consume_method_status st = refill(sk);
    if (st != BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK) return st;
    if (sk->nheap == 0) return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
    for (bool more = true; more;) {
      size_t top = sk->heap[0], next = SIZE_MAX;
      if (sk->nheap > 1) next = sk->nheap > 2 && before(sk, sk->heap[2], sk->heap[1]) ? sk->heap[2] : sk->heap[1];
      input *in = &sk->in[top];
      for (;;) {
        take_event(rd, in, in->ev, in->ts);
        bt_message_put_ref(in->msgs[in->pos++]);
        if (!next_event(sk, in)) { /* the input needs more messages */
          sk->heap[0] = sk->heap[--sk->nheap];
          sk->pending[sk->npend++] = top;
          more = false;
          break;
        }
        if (next != SIZE_MAX && !before(sk, top, next)) break;
      }
      heap_down(sk, 0);
      if (rd->oom) return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    }
  }
  return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

typedef struct sink_init_data {
  reader *rd;
  size_t nports;
} sink_init_data;

static void sink_free(sink *sk) {
  for (size_t i = 0; i < sk->nin; i++) {
    input *in = &sk->in[i];
    while (in->pos < in->count) bt_message_put_ref(in->msgs[in->pos++]);
    bt_message_iterator_put_ref(in->it);
  }
  free(sk->in);
  free(sk->heap);
  free(sk->pending);
  free(sk);
}

static bt_component_class_initialize_method_status sink_init(bt_self_component_sink *self,
                                                             bt_self_component_sink_configuration *cfg,
                                                             const bt_value *params, void *data) {
  (void)cfg;
  (void)params;
  const sink_init_data *d = data;
  sink *sk = calloc(1, sizeof *sk);
  if (!sk) return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  sk->rd = d->rd;
  d->rd->last_input = SIZE_MAX;
  sk->nin = d->nports;
  size_t n = d->nports ? d->nports : 1;
  sk->in = calloc(n, sizeof *sk->in);
  sk->heap = calloc(n, sizeof *sk->heap);
  sk->pending = calloc(n, sizeof *sk->pending);
  if (!sk->in || !sk->heap || !sk->pending) {
    sink_free(sk);
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  }
  d->rd->in0 = sk->in;
  for (size_t i = 0; i < d->nports; i++) {
    char name[32];
    snprintf(name, sizeof name, "in%zu", i);
    if (bt_self_component_sink_add_input_port(self, name, NULL, NULL) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
      sink_free(sk);
      return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
    }
  }
  bt_self_component_set_data(bt_self_component_sink_as_self_component(self), sk);
  return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

static void sink_finalize(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  if (sk) sink_free(sk);
}

static bt_component_class_sink_graph_is_configured_method_status sink_configured(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  for (size_t i = 0; i < sk->nin; i++) {
    bt_self_component_port_input *port = bt_self_component_sink_borrow_input_port_by_index(self, i);
    if (bt_message_iterator_create_from_sink_component(self, port, &sk->in[i].it) !=
        BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK)
      return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
    sk->in[i].ti = SIZE_MAX;
  }
  /* Filled in reverse, so that the first input is read first. */
  for (size_t i = sk->nin; i-- > 0;) sk->pending[sk->npend++] = i;
  return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

/* The first line of libbabeltrace2's error for this thread, into rd->err. */
static void take_error(reader *rd, const char *what) {
  const bt_error *e = bt_current_thread_take_error();
  const char *msg = NULL;
  if (e && bt_error_get_cause_count(e) > 0) /* the root cause: the most specific */
    msg = bt_error_cause_get_message(bt_error_borrow_cause_by_index(e, 0));
  snprintf(rd->err, sizeof rd->err, "%s%s%s", what, msg ? ": " : "", msg ? msg : "");
  char *nl = strchr(rd->err, '\n');
  if (nl) *nl = 0;
  if (e) bt_error_release(e);
}

/* ---- finding the traces ---- */

#define MAX_DEPTH 16 /* directory levels searched below the one given */

typedef struct tlist {
  et_trace *t; /* for warnings */
  char **p;
  size_t n, cap;
  et__u64map seen; /* directories searched: inode -> device */
  bool oom;
} tlist;

static char *join(const char *dir, const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  char *s = malloc(a + b + 2);
  if (!s) return NULL;
  memcpy(s, dir, a);
  s[a] = '/';
  memcpy(s + a + 1, name, b + 1);
  return s;
}

/* Adds dir if it is a trace (it holds a file named metadata), else the
 * traces below it, in name order; hidden entries and directories seen
 * already (through a link) are left out. */
static void find_traces(tlist *l, const char *dir, unsigned depth) {
  struct stat st;
  uint64_t dev;
  if (l->oom || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return;
  if (et__map_get(&l->seen, (uint64_t)st.st_ino, &dev) && dev == (uint64_t)st.st_dev) return;
  if (!et__map_put(&l->seen, (uint64_t)st.st_ino, (uint64_t)st.st_dev)) {
    l->oom = true;
    return;
  }
  char *meta = join(dir, "metadata");
  bool trace = meta && stat(meta, &st) == 0 && S_ISREG(st.st_mode);
  free(meta);
  if (!meta) l->oom = true;
  if (trace) {
    char *copy = strdup(dir);
    if (!copy || !ET_VEC_GROW(l->p, l->n, l->cap)) {
      free(copy);
      l->oom = true;
      return;
    }
    l->p[l->n++] = copy;
    return;
  }
  if (depth >= MAX_DEPTH) return;
  struct dirent **ents;
  int n = scandir(dir, &ents, NULL, alphasort);
  if (n < 0) {
    if (depth > 0) et__warn(l->t, "cannot search %s for CTF traces: %s", dir, strerror(errno));
    return;
  }
  for (int i = 0; i < n; i++) {
    if (ents[i]->d_name[0] != '.' && !l->oom) {
      char *sub = join(dir, ents[i]->d_name);
      if (sub) find_traces(l, sub, depth + 1);
      else l->oom = true;
      free(sub);
    }
    free(ents[i]);
  }
  free(ents);
}

/* ---- the graph ---- */

/* A source.ctf.fs on one trace directory.  ET_E_FORMAT with rd->err set
 * when babeltrace2 cannot read the trace. */
static int add_source(reader *rd, bt_graph *g, const bt_component_class_source *cls, const char *path, size_t i,
                      bool correlate, const bt_component_source **src) {
  bt_value *params = bt_value_map_create(), *inputs = NULL;
  if (!params ||
      bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) != BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK ||
      bt_value_array_append_string_element(inputs, path) != BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK ||
      (correlate && bt_value_map_insert_bool_entry(params, "force-clock-class-origin-unix-epoch", BT_TRUE) !=
                        BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK)) {
    bt_value_put_ref(params);
    return -ENOMEM;
  }
  char name[32];
  snprintf(name, sizeof name, "src%zu", i);
  bt_graph_add_component_status st = bt_graph_add_source_component(g, cls, name, params, BT_LOGGING_LEVEL_NONE, src);
  bt_value_put_ref(params);
  if (st == BT_GRAPH_ADD_COMPONENT_STATUS_MEMORY_ERROR) return -ENOMEM;
  if (st != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    take_error(rd, "not a CTF trace");
    return ET_E_FORMAT;
  }
  return 0;
}

#define RETRY 1

/* Runs a source.ctf.fs per trace (those not skipped), every output port of
 * them into our sink.  With several traces, one that babeltrace2 cannot
 * open is skipped with a warning: then RETRY, as a component that fails
 * leaves the graph unusable (nothing has been read yet). */
static int run_graph(reader *rd, importer *im, et_trace *t, char *const *paths, bool *skip, size_t npaths) {
  int err = 0;
  bt_graph *g = bt_graph_create(0);
  const bt_plugin *plugin = NULL;
  bt_component_class_sink *cls = NULL;
  const bt_component_source **srcs = calloc(npaths, sizeof *srcs);
  if (!g || !srcs) {
    free(srcs);
    bt_graph_put_ref(g);
    return -ENOMEM;
  }
  if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &plugin) != BT_PLUGIN_FIND_STATUS_OK) {
    take_error(rd, "libbabeltrace2 has no ctf plugin (install babeltrace2)");
    err = ET_E_FORMAT;
    goto out;
  }
  const bt_component_class_source *src_cls = bt_plugin_borrow_source_component_class_by_name_const(plugin, "fs");
  if (!src_cls) {
    take_error(rd, "cannot create the CTF source");
    err = ET_E_FORMAT;
    goto out;
  }
  size_t added = 0;
  uint64_t nports = 0;
  for (size_t i = 0; i < npaths; i++) {
    if (skip[i]) continue;
    err = add_source(rd, g, src_cls, paths[i], i, npaths > 1, &srcs[i]);
    if (err == ET_E_FORMAT && npaths > 1) {
      et__warn(t, "the CTF trace %s is skipped: %s", paths[i], rd->err);
      if (!rd->skipped[0]) snprintf(rd->skipped, sizeof rd->skipped, "%.100s: %.150s", paths[i], rd->err);
      rd->err[0] = 0;
      skip[i] = true;
      err = RETRY;
      goto out;
    }
    if (err) goto out;
    nports += bt_component_source_get_output_port_count(srcs[i]);
    added++;
  }
  if (added == 0) {
    snprintf(rd->err, sizeof rd->err, "none of the %zu CTF traces under it can be read (%.180s)", npaths, rd->skipped);
    err = ET_E_FORMAT;
    goto out;
  }
  cls = bt_component_class_sink_create("exectrace-import", sink_consume);
  if (!cls || bt_component_class_sink_set_initialize_method(cls, sink_init) != BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK ||
      bt_component_class_sink_set_finalize_method(cls, sink_finalize) != BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK ||
      bt_component_class_sink_set_graph_is_configured_method(cls, sink_configured) !=
          BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK) {
    err = -ENOMEM;
    goto out;
  }
  const bt_component_sink *snk = NULL;
  sink_init_data init = {rd, (size_t)nports};
  if (bt_graph_add_sink_component_with_initialize_method_data(g, cls, "sink", NULL, &init, BT_LOGGING_LEVEL_NONE,
                                                              &snk) != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    err = -ENOMEM;
    goto out;
  }
  /* The sources' ports to the sink's, in order: trace by trace, port by port. */
  uint64_t k = 0;
  for (size_t i = 0; i < npaths; i++)
    for (uint64_t j = 0; srcs[i] && j < bt_component_source_get_output_port_count(srcs[i]); j++, k++)
      if (bt_graph_connect_ports(g, bt_component_source_borrow_output_port_by_index_const(srcs[i], j),
                                 bt_component_sink_borrow_input_port_by_index_const(snk, k),
                                 NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
        take_error(rd, "cannot connect the CTF source");
        err = ET_E_FORMAT;
        goto out;
      }
  if (!ring_init(&rd->q, im)) {
    err = -ENOMEM;
    goto out;
  }
  bt_graph_run_status rs;
  do rs = bt_graph_run(g);
  while (rs == BT_GRAPH_RUN_STATUS_AGAIN);
  ring_finish(&rd->q);
  if (rd->oom || im->oom) err = -ENOMEM;
  else if (rs != BT_GRAPH_RUN_STATUS_OK) {
    take_error(rd, npaths > 1 ? "the CTF traces cannot be read" : "the CTF trace cannot be read");
    err = ET_E_FORMAT;
  }
out:
  free(srcs);
  bt_component_class_sink_put_ref(cls);
  bt_plugin_put_ref(plugin);
  bt_graph_put_ref(g);
  return err;
}

/* ---- assembling the native trace ---- */

typedef struct mref {
  const mapping *m;
  size_t proc, order;
} mref;

static int cmp_mref(const void *a, const void *b) {
  const mref *x = a, *y = b;
  if (x->m->start != y->m->start) return x->m->start < y->m->start ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static void put_mapping(buf *p, const mapping *m) {
  put_u(p, m->start);
  put_u(p, m->limit);
  put_u(p, 0);
  put_str(p, m->path, strlen(m->path));
  put_str(p, m->build_id, m->build_id_len);
}

static bool same_mapping(const mapping *a, const mapping *b) {
  return a->start == b->start && a->limit == b->limit && strcmp(a->path, b->path) == 0 &&
         a->build_id_len == b->build_id_len && memcmp(a->build_id, b->build_id, a->build_id_len) == 0;
}

/* MAPPINGS: every mapping of the processes with events.  Identical ones
 * (the same program or library at the same place in several processes)
 * once; where mappings of different processes overlap, the lowest-addressed
 * one (ties: the earlier process's), as a symbolizer that looks an address
 * up in one list needs them apart.  Returns how many were left out so. */
static size_t put_mappings(importer *im, buf *p) {
  size_t n = 0, conflicts = 0;
  for (size_t i = 0; i < im->nprocs; i++)
    if (im->procs[i].nthreads) n += im->procs[i].nmaps;
  if (n == 0) return 0;
  mref *r = malloc(n * sizeof *r);
  if (!r) {
    im->oom = true;
    return 0;
  }
  n = 0;
  for (size_t i = 0; i < im->nprocs; i++)
    for (size_t k = 0; im->procs[i].nthreads && k < im->procs[i].nmaps; k++, n++)
      r[n] = (mref){&im->procs[i].maps[k], i, n};
  qsort(r, n, sizeof *r, cmp_mref);
  const mref *last = NULL;
  uint64_t reach = 0; /* the highest limit kept so far */
  for (size_t i = 0; i < n; i++) {
    if (last && r[i].m->start < reach && r[i].proc != last->proc) {
      if (!same_mapping(last->m, r[i].m)) conflicts++;
      continue;
    }
    put_mapping(p, r[i].m);
    last = &r[i];
    if (r[i].m->limit > reach) reach = r[i].m->limit;
  }
  free(r);
  return conflicts;
}

/* PROCESSES: each process with events, its threads (ours and its own ids)
 * and mappings. */
static void put_processes(importer *im, buf *p) {
  size_t n = 0;
  for (size_t i = 0; i < im->nprocs; i++) n += im->procs[i].nthreads ? 1 : 0;
  put_u(p, n);
  buf e = {0};
  for (size_t i = 0; i < im->nprocs; i++) {
    const proc *pr = &im->procs[i];
    if (!pr->nthreads) continue;
    e.n = 0;
    const char *name = pr->name ? pr->name : "", *hostname = im->hosts[pr->host].name;
    put_u(&e, pr->pid);
    put_str(&e, name, strlen(name));
    put_str(&e, hostname, strlen(hostname));
    put_u(&e, pr->nthreads / 2);
    for (size_t k = 0; k + 1 < pr->nthreads; k += 2) {
      put_u(&e, pr->threads[k]);
      put_u(&e, pr->threads[k + 1] == pr->threads[k] ? 0 : pr->threads[k + 1]);
    }
    put_u(&e, pr->nmaps);
    for (size_t k = 0; k < pr->nmaps; k++) put_mapping(&e, &pr->maps[k]);
    put_u(p, e.n);
    put(p, e.p, e.n);
  }
  if (e.oom) p->oom = true;
  free(e.p);
}

/* The output's start: the file header and the catalogue, which must come
 * before any events.  The EVENTS chunks follow as the worker fills them,
 * and the rest (finish()) after them: a reader takes the other chunks in
 * any order, and so the events are never copied again. */
static void start_output(importer *im) {
  uint8_t h[ET_FILE_HEADER_LEN];
  et__file_header(h);
  put(&im->out, h, sizeof h);
  buf p = {0};
  uint8_t cat[1 << 14];
  size_t n = et__catalog_encode(cat, sizeof cat);
  put(&p, cat, n);
  put_chunk(&im->out, ET_CHUNK_CATALOG, &p);
  if (p.oom) im->oom = true;
  free(p.p);
}

/* The last EVENTS chunks, then PROCESS, CLOCK, STRINGS, STACKS, MAPPINGS,
 * PROCESSES and END. */
static void finish(importer *im, reader *rd, size_t *conflicts) {
  buf *out = &im->out;
  for (size_t i = 0; i < im->nst; i++) flush_stream(im, &im->st[i]);
  /* The start: the earliest trace's (our export's is its clock's offset,
   * time 0 of its events; otherwise its first event), mapped to its
   * monotonic time when the trace says it. */
  const ctrace *first = NULL;
  uint64_t t0 = 0;
  for (size_t i = 0; i < im->ntraces; i++) {
    const ctrace *c = &im->traces[i];
    if (!c->have_first) continue;
    uint64_t s = c->have_start && c->origin_offset_ns <= c->first_ns ? c->origin_offset_ns : c->first_ns;
    if (!first || s < t0) {
      first = c;
      t0 = s;
    }
  }
  /* PROCESS: the one process's, or none for several; ticks are ns (clock source 2) */
  const proc *only = NULL;
  size_t nwith = 0;
  for (size_t i = 0; i < im->nprocs; i++)
    if (im->procs[i].nthreads && nwith++ == 0) only = &im->procs[i];
  if (nwith != 1) only = NULL;
  const ctrace *env = only ? &im->traces[only->trace] : NULL;
  buf p = {0};
  put_u(&p, only ? only->pid : 0);
  put_u(&p, 0);
  put_str(&p, env ? env->exe : "", env ? strlen(env->exe) : 0);
  size_t an = env ? strlen(env->cmdline) : 0;
  char *args = malloc(an + 1);
  if (args) {
    memcpy(args, env ? env->cmdline : "", an);
    args[an] = 0; /* each argument ends with a NUL, the last one too */
    for (size_t i = 0; i < an; i++)
      if (args[i] == ' ') args[i] = 0;
    put_str(&p, args, an ? an + 1 : 0);
    free(args);
  } else {
    im->oom = true;
  }
  put_u(&p, first && first->clock_epoch ? t0 : 0);
  uint8_t src = 2;
  put(&p, &src, 1);
  put_u(&p, 1000000000u);
  put_u(&p, 0);
  put_chunk(out, ET_CHUNK_PROCESS, &p);
  /* CLOCK */
  p.n = 0;
  put_u(&p, t0);
  put_u(&p, first && first->have_start && t0 == first->origin_offset_ns ? first->start_monotonic : t0);
  put_u(&p, 1000000000u);
  put_chunk(out, ET_CHUNK_CLOCK, &p);
  if (im->strings.defs.n) put_chunk(out, ET_CHUNK_STRINGS, &im->strings.defs);
  if (im->stacks.defs.n) put_chunk(out, ET_CHUNK_STACKS, &im->stacks.defs);
  p.n = 0;
  *conflicts = put_mappings(im, &p);
  if (p.n) put_chunk(out, ET_CHUNK_MAPPINGS, &p);
  p.n = 0;
  put_processes(im, &p);
  put_chunk(out, ET_CHUNK_PROCESSES, &p);
  settle_discards(im, rd);
  /* END: losses per thread, and those no thread can be named for */
  p.n = 0;
  put_u(&p, 1);
  put_u(&p, ET_DROP_BUFFER_FULL);
  uint64_t total = im->lost_unattributed, nlost = 0;
  for (size_t i = 0; i < im->nst; i++) {
    total += im->st[i].lost;
    nlost += im->st[i].lost ? 1 : 0;
  }
  put_u(&p, total);
  put_u(&p, nlost);
  for (size_t i = 0; i < im->nst; i++)
    if (im->st[i].lost) {
      put_u(&p, im->st[i].tid);
      put_u(&p, im->st[i].lost);
    }
  put_chunk(out, ET_CHUNK_END, &p);
  if (p.oom) out->oom = true;
  free(p.p);
}

static void importer_free(importer *im) {
  for (size_t i = 0; i < im->nst; i++) free(im->st[i].cur.p);
  free(im->st);
  et__map_free(&im->st_index);
  et__map_free(&im->bt_streams);
  et__map_free(&im->used_tids);
  free(im->used_tasks.bits);
  et__map_free(&im->used_tasks.m);
  for (size_t i = 0; i < im->ntraces; i++) {
    free(im->traces[i].procname);
    free(im->traces[i].exe);
    free(im->traces[i].cmdline);
  }
  free(im->traces);
  for (size_t i = 0; i < im->nhosts; i++) {
    free(im->hosts[i].name);
    et__map_free(&im->hosts[i].pids);
  }
  free(im->hosts);
  for (size_t i = 0; i < im->nprocs; i++) {
    proc *p = &im->procs[i];
    free(p->name);
    et__map_free(&p->tids);
    free(p->tasks.d);
    et__map_free(&p->tasks.m);
    free(p->threads);
    for (size_t k = 0; k < p->nmaps; k++) free(p->maps[k].path);
    free(p->maps);
  }
  free(im->procs);
  free(im->out.p);
  free(im->inputs);
  intern_free(&im->strings);
  intern_free(&im->stacks);
  free(im);
}

static void reader_free(reader *rd) {
  free(rd->cls);
  et__map_free(&rd->classes);
  for (size_t i = 0; i < rd->nctx; i++) free(rd->ctx[i]);
  free(rd->ctx);
  free(rd->traces);
  et__map_free(&rd->trace_index);
  free(rd->disc);
  free(rd);
}

int et__ctf_import(et_trace *t, const char *dir, char *msg, size_t msglen) {
  importer *im = calloc(1, sizeof *im);
  reader *rd = calloc(1, sizeof *rd);
  if (!im || !rd) {
    free(im);
    free(rd);
    return -ENOMEM;
  }
  /* The U fields that hold task ids: renumbered per process. */
  for (unsigned k = 1; k < ET_EV_LIMIT; k++)
    for (unsigned f = 0; et__kinds[k].name && f < et__kinds[k].nfields; f++) {
      const char *fn = et__kinds[k].fname[f];
      bool task = strcmp(fn, "task") == 0 ||
                  (k == ET_EV_TASK_BEGIN && (strcmp(fn, "id") == 0 || strcmp(fn, "parent") == 0)) ||
                  (k == ET_EV_TASK_END && strcmp(fn, "id") == 0);
      if (task && et__kinds[k].ftype[f] == ET_FT_U) im->task_fields[k] |= (uint8_t)(1u << f);
    }
  tlist l = {.t = t};
  find_traces(&l, dir, 0);
  int err = l.oom ? -ENOMEM : 0;
  if (!err && l.n == 0) {
    snprintf(rd->err, sizeof rd->err,
             "not a CTF trace, and no CTF trace (a directory holding a file named metadata) under it");
    err = ET_E_FORMAT;
  }
  bool *skip = err ? NULL : calloc(l.n, sizeof *skip);
  if (!err && !skip) err = -ENOMEM;
  if (!err) {
    start_output(im);
    if (im->oom) err = -ENOMEM;
  }
  if (!err) {
    do err = run_graph(rd, im, t, l.p, skip, l.n);
    while (err == RETRY);
  }
  free(skip);
  size_t conflicts = 0;
  if (!err) {
    finish(im, rd, &conflicts);
    if (im->out.oom || im->oom) err = -ENOMEM;
  }
  if (!err && im->nevents == 0) {
    snprintf(rd->err, sizeof rd->err, "the CTF trace%s no exectrace events (%" PRIu64 " other events)",
             l.n > 1 ? "s have" : " has", rd->skipped_unknown);
    err = ET_E_FORMAT;
  }
  if (!err && im->skipped_no_tid)
    et__warn(t, "%" PRIu64 " CTF events name no thread (record with `lttng add-context -u -t vtid`): skipped",
             im->skipped_no_tid);
  if (!err && conflicts)
    et__warn(t, "%zu executable mapping(s) of different processes overlap others: the trace's mappings keep the "
                "lowest-addressed, so symbols of the other processes' addresses there may be wrong (each process "
                "keeps its own list)", conflicts);
  if (msg && msglen) snprintf(msg, msglen, "%s", err ? rd->err : "");
  if (!err) {
    t->data = im->out.p;
    t->len = im->out.n;
    im->out.p = NULL;
  }
  for (size_t i = 0; i < l.n; i++) free(l.p[i]);
  free(l.p);
  et__map_free(&l.seen);
  importer_free(im);
  reader_free(rd);
  return err;
}

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
 * their ports into a muxer, the muxer into a sink of ours, so every message
 * comes once, in time order.  With several traces the clocks are all taken
 * as counting from the Unix epoch (`force-clock-class-origin-unix-epoch`,
 * babeltrace2's `--clock-force-correlate`): LTTng's clocks of different
 * hosts have different UUIDs, which the muxer otherwise refuses to order.
 *
 * Each event whose class names a kind of the catalogue (plain, or
 * "exectrace:KIND" as LTTng names them) is re-encoded as the tracer would
 * have written it: its strings and stacks interned, its thread's events
 * appended to an EVENTS chunk of that thread and stream.  The result is a
 * native trace in memory (header, catalogue, process, clock, strings,
 * stacks, mappings, processes, events, END), which the caller loads like
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
#include <babeltrace2/babeltrace.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_internal.h"

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
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
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
  const uint64_t *f = p;
  size_t nf = n / sizeof *f;
  put_u(b, id);
  put_u(b, nf);
  for (size_t i = 0; i < nf; i++) {
    if (i == 0) put_u(b, f[0]);
    else put_s(b, (int64_t)(f[i] - f[i - 1]));
  }
}

static void intern_free(intern *m) {
  free(m->hash);
  free(m->id);
  free(m->defs.p);
  free(m->keys.p);
  free(m->koff);
}


/* ---- streams: one per (thread, signal) ---- */

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

/* A process: (host, pid), with its ids for threads and tasks. */
typedef struct proc {
  uint64_t pid;
  size_t host, trace; /* trace: the first to show it (exe, cmdline) */
  char *name;
  int name_rank;      /* 0 none, 1 a thread's procname, 2 its main thread's, 3 the trace's env */
  et__u64map tids;    /* its thread ids -> ours */
  et__u64map tasks;   /* its task ids -> ours */
  uint64_t *threads;  /* pairs (ours, its), in the order first seen */
  size_t nthreads, capthreads; /* in uint64_t */
  mapping *maps;
  size_t nmaps, capmaps;
} proc;

/* Where a stream class keeps the context fields read on every event:
 * member indexes, -1 for none. */
typedef struct ctxidx {
  const void *sc;
  int64_t ptid, psig;                  /* packet context */
  int64_t vtid, tid, vpid, pid, pname; /* event common context */
} ctxidx;

#define NCTX 16

typedef struct importer {
  intern strings, stacks;
  stream *st;
  size_t nst, capst;
  et__u64map st_index; /* (tid << 1 | signal) -> index */
  et__u64map bt_streams; /* babeltrace2 stream -> index of the last stream of ours its events went to */
  const void *last_bts;
  discard *disc;
  size_t ndisc, capdisc;
  buf events;          /* finished EVENTS chunks */
  ctrace *traces;
  size_t ntraces, captraces;
  et__u64map trace_index; /* bt_trace -> index in traces */
  const void *last_bt;    /* the bt_trace of traces[last_trace] */
  size_t last_trace;
  host *hosts;
  size_t nhosts, caphosts;
  proc *procs;
  size_t nprocs, capprocs;
  et__u64map used_tids, used_tasks; /* ours, taken */
  ctxidx ctx[NCTX];
  size_t nctx, ctx_next;
  uint8_t task_fields[ET_EV_LIMIT]; /* bit f: field f of the kind is a task id */
  et__u64map classes;  /* event class -> index in cls + 1 */
  struct cinfo {
    unsigned kind;     /* 0: none of ours, ET_EV_LIMIT: a statedump event */
    int64_t mi[ET_MAX_FIELDS]; /* the payload member of each catalogue field, -1 if none */
  } *cls;
  size_t ncls, capcls;
  struct { const void *ec; size_t ci; } clscache[64]; /* recent classes, by address */
  struct who {                  /* recent (trace, pid, tid, signal) -> (process, stream) */
    size_t ti, pi, si;
    uint64_t pid, tid;
    uint8_t sig, valid;
  } who[256];
  struct taskc { size_t pi; uint64_t id, ours; bool valid; } taskcache[256]; /* recent task renumberings */
  uint64_t first_ns;
  bool have_first;
  uint64_t skipped_unknown, skipped_no_tid, nevents, lost_unattributed;
  bool oom;
  char err[256];
  char skipped[256]; /* why the first trace skipped was */
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

static void flush_stream(importer *im, stream *s) {
  if (s->cur.n == 0) return;
  buf p = {0};
  put_u(&p, s->tid);
  put(&p, &s->signal, 1);
  put_u(&p, s->seq++);
  put_u(&p, s->base_ticks);
  put_u(&p, s->base_obj);
  put(&p, s->cur.p, s->cur.n);
  if (p.oom || s->cur.oom) im->oom = true;
  else put_chunk(&im->events, ET_CHUNK_EVENTS, &p);
  free(p.p);
  s->cur.n = 0;
  s->base_ticks = s->ticks;
  s->base_obj = s->obj;
}

/* ---- reading fields ---- */

static const bt_field *member(const bt_field *st, const char *name) {
  if (!st || bt_field_get_class_type(st) != BT_FIELD_CLASS_TYPE_STRUCTURE) return NULL;
  const bt_field *f = bt_field_structure_borrow_member_field_by_name_const(st, name);
  if (!f) {
    char alt[80];
    snprintf(alt, sizeof alt, "_%s", name);
    f = bt_field_structure_borrow_member_field_by_name_const(st, alt);
  }
  return f;
}

static bool field_u64(const bt_field *f, uint64_t *v) {
  if (!f) return false;
  bt_field_class_type t = bt_field_get_class_type(f);
  if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) *v = bt_field_integer_unsigned_get_value(f);
  else if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
    *v = (uint64_t)bt_field_integer_signed_get_value(f);
  else if (t == BT_FIELD_CLASS_TYPE_BOOL) *v = bt_field_bool_get_value(f);
  else return false;
  return true;
}

/* A string field, or an array of bytes, as bytes. */
static const char *field_bytes(const bt_field *f, char *tmp, size_t cap, size_t *n) {
  *n = 0;
  if (!f) return NULL;
  bt_field_class_type t = bt_field_get_class_type(f);
  if (t == BT_FIELD_CLASS_TYPE_STRING) {
    *n = bt_field_string_get_length(f);
    return bt_field_string_get_value(f);
  }
  if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_ARRAY)) {
    uint64_t len = bt_field_array_get_length(f), i;
    for (i = 0; i < len && i < cap; i++) {
      uint64_t v = 0;
      field_u64(bt_field_array_borrow_element_field_by_index_const(f, i), &v);
      tmp[i] = (char)v;
    }
    *n = (size_t)i;
    return tmp;
  }
  return NULL;
}

/* The index of a member of a structure field class (also with LTTng's
 * leading underscore), or -1. */
static int64_t member_index(const bt_field_class *fc, const char *name) {
  if (!fc || bt_field_class_get_type(fc) != BT_FIELD_CLASS_TYPE_STRUCTURE) return -1;
  uint64_t n = bt_field_class_structure_get_member_count(fc);
  for (int pass = 0; pass < 2; pass++)
    for (uint64_t i = 0; i < n; i++) {
      const bt_field_class_structure_member *mb = bt_field_class_structure_borrow_member_by_index_const(fc, i);
      const char *m = bt_field_class_structure_member_get_name(mb);
      if (pass == 0 ? strcmp(m, name) == 0 : m[0] == '_' && strcmp(m + 1, name) == 0) return (int64_t)i;
    }
  return -1;
}

static const bt_field *member_at(const bt_field *st, int64_t i) {
  return st && i >= 0 ? bt_field_structure_borrow_member_field_by_index_const(st, (uint64_t)i) : NULL;
}

static const ctxidx *ctx_of(importer *im, const bt_stream_class *sc) {
  for (size_t i = 0; i < im->nctx; i++)
    if (im->ctx[i].sc == sc) return &im->ctx[i];
  ctxidx *c = im->nctx < NCTX ? &im->ctx[im->nctx++] : &im->ctx[im->ctx_next++ % NCTX];
  const bt_field_class *pc = bt_stream_class_borrow_packet_context_field_class_const(sc);
  const bt_field_class *cc = bt_stream_class_borrow_event_common_context_field_class_const(sc);
  *c = (ctxidx){sc,
                member_index(pc, "tid"),
                member_index(pc, "signal"),
                member_index(cc, "vtid"),
                member_index(cc, "tid"),
                member_index(cc, "vpid"),
                member_index(cc, "pid"),
                member_index(cc, "procname")};
  return c;
}

/* ---- traces, hosts, processes ---- */

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

static char *dup_or_empty(importer *im, const char *s) {
  char *d = strdup(s ? s : "");
  if (!d) im->oom = true;
  return d;
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
  if (!(h->name = dup_or_empty(im, name))) return SIZE_MAX;
  return im->nhosts++;
}

/* The trace of a stream, read on first sight: env and clock.  SIZE_MAX on OOM. */
static size_t trace_of(importer *im, const bt_stream *bs) {
  const bt_trace *tr = bt_stream_borrow_trace_const(bs);
  if (tr == im->last_bt && im->ntraces) return im->last_trace;
  uint64_t v;
  size_t i = et__map_get(&im->trace_index, (uint64_t)(uintptr_t)tr, &v) ? (size_t)v : im->ntraces;
  if (i == im->ntraces) {
    if (!ET_VEC_GROW(im->traces, im->ntraces, im->captraces) ||
        !et__map_put(&im->trace_index, (uint64_t)(uintptr_t)tr, im->ntraces)) {
      im->oom = true;
      return SIZE_MAX;
    }
    ctrace *c = &im->traces[im->ntraces];
    memset(c, 0, sizeof *c);
    c->bt = tr;
    c->anon = SIZE_MAX;
    c->procname = dup_or_empty(im, env_string(tr, "procname"));
    c->exe = dup_or_empty(im, env_string(tr, "exe"));
    c->cmdline = dup_or_empty(im, env_string(tr, "cmdline"));
    im->ntraces++; /* its strings are freed with it, even if one failed */
    c->host = host_of(im, env_string(tr, "hostname") ? env_string(tr, "hostname") : "");
    if (im->oom) return SIZE_MAX;
    env_int(tr, "vpid", &c->pid);
    c->have_start = env_int(tr, "start_monotonic_ns", &c->start_monotonic);
    const bt_clock_class *cc = bt_stream_class_borrow_default_clock_class_const(bt_stream_borrow_class_const(bs));
    if (cc) {
      int64_t sec;
      uint64_t cycles, freq = bt_clock_class_get_frequency(cc);
      bt_clock_class_get_offset(cc, &sec, &cycles);
      if (freq && sec >= 0) c->origin_offset_ns = (uint64_t)sec * 1000000000u + cycles * (1000000000u / freq);
      c->clock_epoch = bt_clock_class_origin_is_unix_epoch(cc);
    }
  }
  im->last_bt = tr;
  im->last_trace = i;
  return i;
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
  bool fresh;
  uint64_t ours = renumber(im, &p->tasks, &im->used_tasks, id, &fresh);
  c->pi = pi;
  c->id = id;
  c->ours = ours;
  c->valid = true;
  return ours;
}

/* ---- events ---- */

static void statedump(importer *im, proc *p, const char *what, const bt_field *pl) {
  uint64_t baddr = 0;
  if (!field_u64(member(pl, "baddr"), &baddr)) return;
  if (strcmp(what, "bin_info") == 0) {
    uint64_t memsz = 0;
    size_t n;
    char tmp[1];
    const char *path = field_bytes(member(pl, "path"), tmp, 0, &n);
    field_u64(member(pl, "memsz"), &memsz);
    size_t i = 0; /* one per start address, the latest winning, as in MAPPINGS */
    while (i < p->nmaps && p->maps[i].start != baddr) i++;
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
    m->start = baddr;
    m->limit = baddr + memsz;
    m->path = strndup(path ? path : "", n);
    if (!m->path) im->oom = true;
  } else if (strcmp(what, "build_id") == 0) {
    for (size_t i = p->nmaps; i-- > 0;)
      if (p->maps[i].start == baddr) {
        size_t n;
        field_bytes(member(pl, "build_id"), (char *)p->maps[i].build_id, sizeof p->maps[i].build_id, &n);
        p->maps[i].build_id_len = n;
        break;
      }
  }
}

/* What we know of an event class: its kind and where its fields are. */
static const struct cinfo *class_of(importer *im, const bt_event_class *ec) {
  size_t slot = ((uintptr_t)ec >> 4) & 63;
  if (im->clscache[slot].ec == ec) return &im->cls[im->clscache[slot].ci];
  uint64_t v;
  if (!et__map_get(&im->classes, (uint64_t)(uintptr_t)ec, &v)) {
    const char *name = bt_event_class_get_name(ec);
    unsigned kind = 0;
    if (!name) name = "";
    if (strncmp(name, "lttng_ust_statedump:", 20) == 0) {
      kind = ET_EV_LIMIT; /* a statedump event */
    } else {
      if (strncmp(name, "exectrace:", 10) == 0) name += 10;
      for (unsigned i = 1; i < ET_EV_LIMIT && !kind; i++)
        if (et__kinds[i].name && strcmp(et__kinds[i].name, name) == 0) kind = i;
    }
    if (!ET_VEC_GROW(im->cls, im->ncls, im->capcls) ||
        !et__map_put(&im->classes, (uint64_t)(uintptr_t)ec, im->ncls + 1)) {
      im->oom = true;
      return NULL;
    }
    struct cinfo *c = &im->cls[im->ncls];
    c->kind = kind;
    const bt_field_class *pc = bt_event_class_borrow_payload_field_class_const(ec);
    for (unsigned f = 0; f < ET_MAX_FIELDS; f++)
      c->mi[f] = kind && kind < ET_EV_LIMIT && f < et__kinds[kind].nfields
                     ? member_index(pc, et__kinds[kind].fname[f]) : -1;
    v = ++im->ncls;
  }
  im->clscache[slot].ec = ec;
  im->clscache[slot].ci = (size_t)v - 1;
  return &im->cls[v - 1];
}

static void on_event(importer *im, const bt_message *msg) {
  const bt_event *e = bt_message_event_borrow_event_const(msg);
  const bt_event_class *ec = bt_event_borrow_class_const(e);
  const struct cinfo *ci = class_of(im, ec);
  unsigned kind = ci ? ci->kind : 0;
  if (kind == 0) {
    im->skipped_unknown++;
    return;
  }
  const bt_stream *bs = bt_event_borrow_stream_const(e);
  size_t ti = trace_of(im, bs);
  if (ti == SIZE_MAX) return;
  const ctxidx *cx = ctx_of(im, bt_stream_borrow_class_const(bs));
  const bt_packet *pk = bt_event_borrow_packet_const(e);
  const bt_field *pctx = pk ? bt_packet_borrow_context_field_const(pk) : NULL;
  const bt_field *cctx = bt_event_borrow_common_context_field_const(e);
  uint64_t tid = 0, sig = 0, pid = 0;
  bool stream_tid = field_u64(member_at(pctx, cx->ptid), &tid); /* our export: a stream per thread */
  if (!stream_tid && !field_u64(member_at(cctx, cx->vtid), &tid)) field_u64(member_at(cctx, cx->tid), &tid);
  field_u64(member_at(pctx, cx->psig), &sig);
  bool ctx_pid = field_u64(member_at(cctx, cx->vpid), &pid) || field_u64(member_at(cctx, cx->pid), &pid);
  if (!ctx_pid) pid = im->traces[ti].pid;
  struct who *w = &im->who[((tid ^ pid << 20) * 0x9e3779b97f4a7c15ull) >> 56];
  bool known = w->valid && w->tid == tid && w->pid == pid && w->ti == ti && w->sig == (sig ? 1 : 0);
  size_t pi = known ? w->pi : proc_of(im, ti, pid);
  if (pi == SIZE_MAX) return;
  proc *p = &im->procs[pi];
  if (p->name_rank < 3) {
    const char *env = im->traces[ti].procname;
    if (!ctx_pid && env[0]) {
      name_proc(im, p, env, strlen(env), 3);
    } else if (p->name_rank < 2 && cx->pname >= 0) {
      size_t n;
      char tmp[1];
      const char *s = field_bytes(member_at(cctx, cx->pname), tmp, 0, &n);
      if (s) name_proc(im, p, s, n, pid && tid == pid ? 2 : 1);
    }
  }
  if (kind == ET_EV_LIMIT) {
    statedump(im, p, bt_event_class_get_name(ec) + 20, bt_event_borrow_payload_field_const(e));
    return;
  }
  const et_kind_desc *k = &et__kinds[kind];
  if (tid == 0 || tid >> 63) { /* none, or one our stream keys cannot hold */
    im->skipped_no_tid++;
    return;
  }
  int64_t ns = 0;
  const bt_clock_snapshot *cs = bt_message_event_borrow_default_clock_snapshot_const(msg);
  if (bt_clock_snapshot_get_ns_from_origin(cs, &ns) != BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK || ns < 0)
    ns = 0;
  uint64_t t = (uint64_t)ns;
  if (!im->have_first || t < im->first_ns) im->first_ns = t;
  im->have_first = true;
  ctrace *c = &im->traces[ti];
  if (!c->have_first || t < c->first_ns) c->first_ns = t;
  c->have_first = true;
  stream *s;
  if (known) {
    s = &im->st[w->si];
  } else {
    s = stream_of(im, our_tid(im, p, tid), sig ? 1 : 0);
    if (!s) return;
    *w = (struct who){ti, pi, (size_t)(s - im->st), pid, tid, sig ? 1 : 0, 1};
  }
  const void *bts = bs;
  if (stream_tid && bts != im->last_bts && !et__map_put(&im->bt_streams, (uint64_t)(uintptr_t)bts, (uint64_t)(s - im->st)))
    im->oom = true;
  im->last_bts = bts;
  if (s->cur.n >= CHUNK_TARGET) flush_stream(im, s);
  if (t < s->ticks) t = s->ticks; /* a stream's time never goes back */
  uint8_t kb = (uint8_t)kind;
  put(&s->cur, &kb, 1);
  put_u(&s->cur, t - s->ticks);
  s->ticks = t;
  const bt_field *pl = bt_event_borrow_payload_field_const(e);
  for (unsigned f = 0; f < k->nfields; f++) {
    const bt_field *fld = member_at(pl, ci->mi[f]);
    uint64_t v = 0;
    switch (k->ftype[f]) {
      case ET_FT_U:
        field_u64(fld, &v);
        if (v && (im->task_fields[kind] >> f & 1)) v = our_task(im, p, v);
        put_u(&s->cur, v);
        break;
      case ET_FT_T:
        field_u64(fld, &v);
        put_u(&s->cur, v ? our_tid(im, p, v) : 0);
        break;
      case ET_FT_I: field_u64(fld, &v); put_s(&s->cur, (int64_t)v); break;
      case ET_FT_P:
        field_u64(fld, &v);
        put_s(&s->cur, (int64_t)(v - s->obj));
        s->obj = v;
        break;
      case ET_FT_S: {
        size_t n;
        char tmp[1];
        const char *str = field_bytes(fld, tmp, 0, &n);
        uint32_t id = str ? intern_get(&im->strings, str, n, def_string) : 0;
        if (str && !id) im->oom = true;
        put_u(&s->cur, id);
        break;
      }
      case ET_FT_K: {
        uint64_t frames[255];
        size_t nf = 0;
        if (fld && bt_field_class_type_is(bt_field_get_class_type(fld), BT_FIELD_CLASS_TYPE_ARRAY)) {
          uint64_t len = bt_field_array_get_length(fld);
          for (uint64_t i = 0; i < len && nf < 255; i++)
            if (field_u64(bt_field_array_borrow_element_field_by_index_const(fld, i), &frames[nf])) nf++;
        }
        uint32_t id = nf ? intern_get(&im->stacks, frames, nf * sizeof *frames, def_stack) : 0;
        if (nf && !id) im->oom = true;
        put_u(&s->cur, id);
        break;
      }
      case ET_FT_B: {
        char tmp[4096];
        size_t n;
        const char *b = field_bytes(fld, tmp, sizeof tmp, &n);
        put_str(&s->cur, b ? b : "", b ? n : 0);
        break;
      }
      default: put_u(&s->cur, 0); break;
    }
  }
  im->nevents++;
}

/* Losses come before the packet whose counter says so: they are put on
 * their stream's thread at the end, once its events have named it (our
 * export has a stream per thread; LTTng's per-CPU streams name none). */
static void on_discarded(importer *im, const bt_message *msg) {
  uint64_t count = 0;
  if (bt_message_discarded_events_get_count(msg, &count) != BT_PROPERTY_AVAILABILITY_AVAILABLE) count = 1;
  if (!ET_VEC_GROW(im->disc, im->ndisc, im->capdisc)) {
    im->oom = true;
    return;
  }
  im->disc[im->ndisc++] = (discard){(uint64_t)(uintptr_t)bt_message_discarded_events_borrow_stream_const(msg), count};
}

static void settle_discards(importer *im) {
  for (size_t i = 0; i < im->ndisc; i++) {
    uint64_t si;
    if (et__map_get(&im->bt_streams, im->disc[i].stream, &si) && si < im->nst) im->st[si].lost += im->disc[i].count;
    else im->lost_unattributed += im->disc[i].count;
  }
  im->ndisc = 0;
}

/* ---- the sink ---- */

typedef struct sink {
  importer *im;
  bt_message_iterator *it;
} sink;

static bt_component_class_initialize_method_status sink_init(bt_self_component_sink *self,
                                                             bt_self_component_sink_configuration *cfg,
                                                             const bt_value *params, void *data) {
  (void)cfg;
  (void)params;
  sink *sk = calloc(1, sizeof *sk);
  if (!sk) return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  sk->im = data;
  bt_self_component_set_data(bt_self_component_sink_as_self_component(self), sk);
  if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
    free(sk);
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  }
  return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

static void sink_finalize(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  if (!sk) return;
  bt_message_iterator_put_ref(sk->it);
  free(sk);
}

static bt_component_class_sink_graph_is_configured_method_status sink_configured(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  bt_self_component_port_input *port = bt_self_component_sink_borrow_input_port_by_name(self, "in");
  if (bt_message_iterator_create_from_sink_component(self, port, &sk->it) !=
      BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK)
    return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
  return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

static bt_component_class_sink_consume_method_status sink_consume(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  bt_message_array_const msgs;
  uint64_t count;
  switch (bt_message_iterator_next(sk->it, &msgs, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
      bt_message_iterator_put_ref(sk->it);
      sk->it = NULL;
      return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK: break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    default: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
  }
  for (uint64_t i = 0; i < count; i++) {
    const bt_message *m = msgs[i];
    if (!sk->im->oom) {
      if (bt_message_get_type(m) == BT_MESSAGE_TYPE_EVENT) on_event(sk->im, m);
      else if (bt_message_get_type(m) == BT_MESSAGE_TYPE_DISCARDED_EVENTS) on_discarded(sk->im, m);
    }
    bt_message_put_ref(m);
  }
  return sk->im->oom ? BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR
                     : BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

/* The first line of libbabeltrace2's error for this thread, into im->err. */
static void take_error(importer *im, const char *what) {
  const bt_error *e = bt_current_thread_take_error();
  const char *msg = NULL;
  if (e && bt_error_get_cause_count(e) > 0) /* the root cause: the most specific */
    msg = bt_error_cause_get_message(bt_error_borrow_cause_by_index(e, 0));
  snprintf(im->err, sizeof im->err, "%s%s%s", what, msg ? ": " : "", msg ? msg : "");
  char *nl = strchr(im->err, '\n');
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

/* A source.ctf.fs on one trace directory, its ports to the muxer's next
 * free input ports (*nin of them are taken).  ET_E_FORMAT with im->err set
 * when babeltrace2 cannot read the trace. */
static int add_source(importer *im, bt_graph *g, const bt_component_class_source *cls, const char *path, size_t i,
                      bool correlate, const bt_component_filter *mux, uint64_t *nin) {
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
  const bt_component_source *src = NULL;
  bt_graph_add_component_status st =
      bt_graph_add_source_component(g, cls, name, params, BT_LOGGING_LEVEL_NONE, &src);
  bt_value_put_ref(params);
  if (st == BT_GRAPH_ADD_COMPONENT_STATUS_MEMORY_ERROR) return -ENOMEM;
  if (st != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    take_error(im, "not a CTF trace");
    return ET_E_FORMAT;
  }
  /* Every output port of the source to the muxer. */
  for (uint64_t k = 0; k < bt_component_source_get_output_port_count(src); k++) {
    const bt_port_output *out = bt_component_source_borrow_output_port_by_index_const(src, k);
    const bt_port_input *in = bt_component_filter_borrow_input_port_by_index_const(mux, (*nin)++);
    if (!in || bt_graph_connect_ports(g, out, in, NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
      take_error(im, "cannot connect the CTF source");
      return -EIO;
    }
  }
  return 0;
}

#define RETRY 1

/* Runs a source.ctf.fs per trace (those not skipped) into the muxer and our
 * sink.  With several traces, one that babeltrace2 cannot open is skipped
 * with a warning: then RETRY, as a component that fails leaves the graph
 * unusable (nothing has been read yet). */
static int run_graph(importer *im, et_trace *t, char *const *paths, bool *skip, size_t npaths) {
  int err = 0;
  bt_graph *g = bt_graph_create(0);
  const bt_plugin *plugin = NULL, *utils = NULL;
  bt_component_class_sink *cls = NULL;
  if (!g) return -ENOMEM;
  if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &plugin) != BT_PLUGIN_FIND_STATUS_OK) {
    take_error(im, "libbabeltrace2 has no ctf plugin (install babeltrace2)");
    err = ET_E_FORMAT;
    goto out;
  }
  const bt_component_class_source *src_cls = bt_plugin_borrow_source_component_class_by_name_const(plugin, "fs");
  /* A muxer joins the streams in time order, and gives one sink port for
   * any number of source ports. */
  const bt_component_filter *mux = NULL;
  if (bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &utils) != BT_PLUGIN_FIND_STATUS_OK) {
    take_error(im, "libbabeltrace2 has no utils plugin (install babeltrace2)");
    err = ET_E_FORMAT;
    goto out;
  }
  const bt_component_class_filter *mux_cls = bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
  if (!src_cls || !mux_cls ||
      bt_graph_add_filter_component(g, mux_cls, "mux", NULL, BT_LOGGING_LEVEL_NONE, &mux) !=
          BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    take_error(im, "cannot create the CTF source or the muxer");
    err = ET_E_FORMAT;
    goto out;
  }
  uint64_t nin = 0;
  size_t added = 0;
  for (size_t i = 0; i < npaths; i++) {
    if (skip[i]) continue;
    err = add_source(im, g, src_cls, paths[i], i, npaths > 1, mux, &nin);
    if (err == ET_E_FORMAT && npaths > 1) {
      et__warn(t, "the CTF trace %s is skipped: %s", paths[i], im->err);
      if (!im->skipped[0]) snprintf(im->skipped, sizeof im->skipped, "%.100s: %.150s", paths[i], im->err);
      im->err[0] = 0;
      skip[i] = true;
      err = RETRY;
      goto out;
    }
    if (err == -EIO) err = ET_E_FORMAT;
    if (err) goto out;
    added++;
  }
  if (added == 0) {
    snprintf(im->err, sizeof im->err, "none of the %zu CTF traces under it can be read (%.180s)", npaths, im->skipped);
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
  if (bt_graph_add_sink_component_with_initialize_method_data(g, cls, "sink", NULL, im, BT_LOGGING_LEVEL_NONE, &snk) !=
      BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    err = -ENOMEM;
    goto out;
  }
  if (bt_graph_connect_ports(g, bt_component_filter_borrow_output_port_by_index_const(mux, 0),
                             bt_component_sink_borrow_input_port_by_index_const(snk, 0), NULL) !=
      BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
    take_error(im, "cannot connect the sink");
    err = ET_E_FORMAT;
    goto out;
  }
  bt_graph_run_status rs;
  do rs = bt_graph_run(g);
  while (rs == BT_GRAPH_RUN_STATUS_AGAIN);
  if (im->oom) err = -ENOMEM;
  else if (rs != BT_GRAPH_RUN_STATUS_OK) {
    take_error(im, npaths > 1 ? "the CTF traces cannot be read" : "the CTF trace cannot be read");
    err = ET_E_FORMAT;
  }
out:
  bt_component_class_sink_put_ref(cls);
  bt_plugin_put_ref(plugin);
  bt_plugin_put_ref(utils);
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

static void assemble(importer *im, buf *out, size_t *conflicts) {
  uint8_t h[ET_FILE_HEADER_LEN];
  et__file_header(h);
  put(out, h, sizeof h);
  buf p = {0};
  uint8_t cat[1 << 14];
  size_t n = et__catalog_encode(cat, sizeof cat);
  put(&p, cat, n);
  put_chunk(out, ET_CHUNK_CATALOG, &p);
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
  p.n = 0;
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
  for (size_t i = 0; i < im->nst; i++) flush_stream(im, &im->st[i]);
  put(out, im->events.p, im->events.n);
  settle_discards(im);
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
  et__map_free(&im->classes);
  free(im->cls);
  et__map_free(&im->trace_index);
  et__map_free(&im->used_tids);
  et__map_free(&im->used_tasks);
  free(im->disc);
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
    et__map_free(&p->tasks);
    free(p->threads);
    for (size_t k = 0; k < p->nmaps; k++) free(p->maps[k].path);
    free(p->maps);
  }
  free(im->procs);
  free(im->events.p);
  intern_free(&im->strings);
  intern_free(&im->stacks);
  free(im);
}

int et__ctf_import(et_trace *t, const char *dir, char *msg, size_t msglen) {
  importer *im = calloc(1, sizeof *im);
  if (!im) return -ENOMEM;
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
    snprintf(im->err, sizeof im->err,
             "not a CTF trace, and no CTF trace (a directory holding a file named metadata) under it");
    err = ET_E_FORMAT;
  }
  bool *skip = err ? NULL : calloc(l.n, sizeof *skip);
  if (!err && !skip) err = -ENOMEM;
  if (!err) {
    do err = run_graph(im, t, l.p, skip, l.n);
    while (err == RETRY);
  }
  free(skip);
  buf out = {0};
  size_t conflicts = 0;
  if (!err) {
    assemble(im, &out, &conflicts);
    if (out.oom || im->oom) err = -ENOMEM;
  }
  if (!err && im->nevents == 0) {
    snprintf(im->err, sizeof im->err, "the CTF trace%s no exectrace events (%" PRIu64 " other events)",
             l.n > 1 ? "s have" : " has", im->skipped_unknown);
    err = ET_E_FORMAT;
  }
  if (!err && im->skipped_no_tid)
    et__warn(t, "%" PRIu64 " CTF events name no thread (record with `lttng add-context -u -t vtid`): skipped",
             im->skipped_no_tid);
  if (!err && conflicts)
    et__warn(t, "%zu executable mapping(s) of different processes overlap others: the trace's mappings keep the "
                "lowest-addressed, so symbols of the other processes' addresses there may be wrong (each process "
                "keeps its own list)", conflicts);
  if (msg && msglen) snprintf(msg, msglen, "%s", err ? im->err : "");
  if (err) {
    free(out.p);
  } else {
    t->data = out.p;
    t->len = out.n;
  }
  for (size_t i = 0; i < l.n; i++) free(l.p[i]);
  free(l.p);
  et__map_free(&l.seen);
  importer_free(im);
  return err;
}

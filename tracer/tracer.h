/* The tracer's types and its inline fast path.
 *
 * Layout, in the manner of lttng-ust's ring buffer: this header holds the
 * per-thread state, the buffer chunk descriptors and the inline functions an
 * event goes through (et__open / et__head / et__close); the slow paths live in
 * buffer.c (chunks and threads), intern.c (strings and stacks), writer.c (the
 * background writer) and api.c (the public functions).
 *
 * Memory ordering of the hot path.  A thread owns its current chunk and is the
 * only one to write its bytes.  After each event it publishes the chunk's
 * committed length with a release store to chunk->pos; the writer thread reads
 * pos with an acquire load and only ever reads bytes below it, which are never
 * written again.  A chunk changes hands (thread -> writer -> free pool ->
 * thread) through atomic lists whose push/pop are release/acquire, so no byte
 * is read while it is written.  Signal handlers that interrupt an event write
 * on the same thread see in_write != 0 and write to the thread's second
 * (signal) stream instead; a signal that interrupts that one drops its event
 * and counts it.  On x86-64 the release store is a plain mov, so the fast
 * path has no lock prefix, no fence and no system call.
 */
#ifndef EXECTRACE_TRACER_H
#define EXECTRACE_TRACER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../events/catalog.h"
#include "../events/wire.h"
#include "exectrace/exectrace.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define ET_HAVE_TSC 1
#else
#define ET_HAVE_TSC 0
#endif
#include <time.h>

#define ET_LIKELY(x) __builtin_expect(!!(x), 1)
#define ET_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ET_HIDDEN __attribute__((visibility("hidden")))
/* Frame-pointer walks read stack slots that the code below them may have
 * left as anything (a dead local's, in code built without frame pointers):
 * the walk checks each frame against the thread's stack, but ASan would flag
 * the read itself.  Functions that walk are not instrumented. */
#define ET_NO_ASAN __attribute__((no_sanitize("address")))
#define ET_CACHELINE 64

#define ET_STRCACHE_SIZE 64  /* per-thread string cache entries (power of two) */
#define ET_STRCACHE_COPY 40  /* strings shorter than this are cached by pointer + content */
#define ET_MAX_STACK_DEPTH 128
#define ET_TASK_ID_BLOCK 1024 /* task ids a thread takes from the global counter at once */
#define ET_STKCACHE_SIZE 32   /* per-thread cache of recent stacks' ids (power of two) */
#define ET_WALKCACHE_SIZE 8   /* per-thread cache of recent walks (power of two) */
#define ET_WALKCACHE_DEPTH 32 /* deepest walk it keeps */

/* A buffer chunk's descriptor; the bytes live in the pool's data area. */
typedef struct et__chunk {
  _Atomic uint32_t pos;        /* committed bytes: owner release-stores, writer acquire-loads */
  _Atomic uint32_t next_free;  /* free-list link: index + 1, or 0 */
  uint32_t index;
  uint32_t flushed;            /* writer only: bytes already written out */
  uint64_t base_ticks;         /* owner sets at acquire: time of the stream's previous event */
  uint64_t base_obj;           /* owner sets at acquire: the stream's previous object */
  uint64_t flushed_ticks;      /* writer only: time of the last event written out */
  uint64_t flushed_obj;        /* writer only: object of the last P field written out */
  uint64_t flushed_rtask;      /* writer only: the region register (catalog.h) at */
  uint64_t flushed_rname;      /*   `flushed`; the owner zeroes both at acquire */
  struct et__thread *owner;
  struct et__chunk *next;      /* submit-list link */
  uint8_t stream;
  uint8_t *data;
} __attribute__((aligned(ET_CACHELINE))) et__chunk;

/* The pool of chunks of one recording session. */
typedef struct et__pool {
  uint8_t *mem;
  size_t mem_len;
  et__chunk *desc;
  size_t desc_len;
  uint32_t nchunks;
  uint32_t chunk_size;
  _Atomic uint64_t free_head; /* (tag << 32) | (index + 1) */
  _Atomic uint32_t nfree;
} et__pool;

/* One of a thread's two event streams (ordinary and signal context). */
typedef struct et__stream {
  uint8_t *p;          /* next byte to write in the current chunk */
  uint8_t *end;        /* end of the current chunk's data; NULL forces the slow path */
  uint64_t last;       /* ticks of the stream's last event */
  uint64_t last_obj;   /* the stream's last object (P field), the base of the next */
  uint64_t rtask;      /* the last region register (catalog.h): task and name of the */
  uint32_t rname;      /* chunk's last region_begin; (0, 0) when a chunk is taken */
  et__chunk *chunk;    /* current chunk, or NULL */
  uint64_t dropped;    /* events dropped since the last DROP record */
  uint8_t drop_reason; /* reason of those drops */
} et__stream;

/* One cached string.  A string in read-only memory (a literal, the usual
 * case) cannot change, so a hit needs only the pointer and the generation of
 * the read-only map it was checked against; any other string is compared by
 * content, against the copy in w. */
typedef struct et__strcache_ent {
  const char *ptr;
  uint32_t id;
  uint32_t len;
  uint32_t ro_gen; /* et__g.ro_gen when ptr was seen in read-only memory, else 0 */
  uint32_t pad;
  char w[ET_STRCACHE_COPY];
} et__strcache_ent;

/* Per-thread state, one mmap'd block per thread, reached by a TLS pointer. */
/* A recent stack of this thread: its 64-bit hash (0: empty), depth and id. */
typedef struct et__stkcache_ent {
  uint64_t hash;
  uint32_t n;
  uint32_t id;
} et__stkcache_ent;

/* A recent walk: the frame addresses it went through and what it read
 * there.  A walk from the same first frame is checked against it with
 * loads that do not depend on each other, which the CPU overlaps, instead
 * of a chain of dependent loads. */
typedef struct et__walkcache_ent {
  uintptr_t fp0;       /* 0: empty */
  uint32_t n, id;
  uintptr_t last_next; /* the saved frame pointer that ended the walk */
  bool by_depth;       /* the walk ended at the depth limit, not at a bad frame */
  uintptr_t fp[ET_WALKCACHE_DEPTH];
  uintptr_t ret[ET_WALKCACHE_DEPTH];
} et__walkcache_ent;

typedef struct et__thread {
  uint32_t epoch;        /* session this state was set up for */
  uint32_t in_write;     /* 0, or the depth of event writes in progress on this thread */
  uint64_t tid;
  uintptr_t stack_lo, stack_hi; /* the thread's stack mapping, for safe frame walks */
  et__stream s[ET_STREAM_COUNT];
  uint64_t task_next, task_limit;
  int block_reason;
  uint8_t unw_warm;      /* dwarf stacks: libunwind's per-thread state is set up (dwarf.c) */
  uint8_t in_unwind;     /* inside libunwind or LTTng: their own libc calls are not the program's */
  uint8_t strcache_busy; /* a string cache entry is being rewritten (intern.c) */
  _Atomic uint32_t name_sid; /* string id of its latest name, 0 if none (for THREADS chunks) */
  _Atomic(et__chunk *) cur[ET_STREAM_COUNT]; /* what the writer may peek at */
  _Atomic uint64_t drops[ET_DROP_REASON_COUNT]; /* totals, for the END record */
  _Atomic int dead;                            /* the thread has exited */
  _Atomic int timer_id;                        /* its CPU-sampling timer, or -1 */
  struct et__thread *reg_next;                 /* session registry link */
  uint64_t seq[ET_STREAM_COUNT];               /* writer only: next chunk sequence number */
  _Alignas(ET_CACHELINE) et__strcache_ent strcache[ET_STRCACHE_SIZE]; /* an entry per line */
  et__stkcache_ent stkcache[ET_STKCACHE_SIZE];
  et__walkcache_ent walkcache[ET_WALKCACHE_SIZE];
} et__thread;

/* The read-mostly global state; fields written at start/stop only. */
/* Address ranges of read-only memory (non-writable segments of loaded
 * objects), sorted; published whole, never changed once published. */
typedef struct et__ranges {
  size_t n;
  struct et__range {
    uintptr_t lo, hi;
  } r[];
} et__ranges;

typedef struct et__global {
  _Atomic uint32_t enabled;
  _Atomic uint32_t epoch;
  _Atomic uint32_t ro_gen;        /* changes when read-only memory may have been unmapped */
  _Atomic(const et__ranges *) ro; /* the read-only ranges now */
  uint32_t use_tsc;
  uint32_t lt_loaded;   /* the LTTng provider is loaded: events may go to LTTng too (lttng.c) */
  uint32_t fast_mode;   /* region fast paths: 0 yes, 1 no (no TSC), 2 yes unless LTTng wants the kind */
  uint32_t stack_depth;
  uint64_t stack_kinds; /* bit k: kind k records a stack */
  bool block_when_full;
  bool stack_dwarf;     /* stacks from unwind tables (dwarf.c) instead of frame pointers */
  uint32_t cpu_hz;
  _Atomic(struct et__session *) session; /* slow paths only; atomic: sessions start and stop while threads run */
} __attribute__((aligned(ET_CACHELINE))) et__global;

extern ET_HIDDEN et__global et__g;
/* While the LTTng provider is loaded: *et__lt_state[k] is nonzero while
 * some LTTng session has tracepoint exectrace:<kind k> enabled. */
extern ET_HIDDEN const int *et__lt_state[256];
extern ET_HIDDEN __thread et__thread *et__tls __attribute__((tls_model("initial-exec")));

/* ---- clock ---- */

static inline uint64_t et__ticks(void) {
#if ET_HAVE_TSC
  if (ET_LIKELY(et__g.use_tsc)) return __rdtsc();
#endif
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Measures the tick rate against CLOCK_MONOTONIC; returns ticks per second. */
ET_HIDDEN uint64_t et__clock_calibrate(bool tsc);
ET_HIDDEN uint64_t et__mono_ns(void);
ET_HIDDEN bool et__tsc_usable(void);

/* ---- threads and chunks (buffer.c) ---- */

/* Returns the calling thread's state for the current session, setting it up
 * on first use; NULL if recording is off or the thread is exiting. */
ET_HIDDEN et__thread *et__thread_slow(void);

/* Gives the stream's full chunk to the writer and takes a fresh one with room
 * for need bytes; false if none is free (the event is then dropped). */
ET_HIDDEN bool et__stream_refill(et__thread *t, unsigned sid, size_t need);

static inline et__thread *et__self(void) {
  et__thread *t = et__tls;
  /* Small values are markers (none yet, exiting, being set up), not states. */
  if (ET_UNLIKELY((uintptr_t)t < 4096 ||
                  t->epoch != atomic_load_explicit(&et__g.epoch, memory_order_relaxed)))
    t = et__thread_slow();
  return t;
}

static inline bool et__on(void) {
  return ET_LIKELY(atomic_load_explicit(&et__g.enabled, memory_order_relaxed) != 0);
}

/* An event write in progress. */
typedef struct et__w {
  et__thread *t;
  et__stream *s;
  uint8_t *p;
} et__w;

/* Reserves room for an event of at most maxlen bytes.  False: the event is
 * not to be written (off, exiting, or dropped and counted). */
static inline bool et__open(et__w *w, size_t maxlen) {
  et__thread *t = et__self();
  if (ET_UNLIKELY(t == NULL)) return false;
  unsigned sid = ET_STREAM_MAIN;
  if (ET_UNLIKELY(t->in_write != 0)) {
    if (t->in_write > 1) {
      atomic_store_explicit(&t->drops[ET_DROP_NESTED],
                            atomic_load_explicit(&t->drops[ET_DROP_NESTED], memory_order_relaxed) + 1,
                            memory_order_relaxed);
      t->s[ET_STREAM_MAIN].dropped++;
      t->s[ET_STREAM_MAIN].drop_reason = ET_DROP_NESTED;
      t->s[ET_STREAM_MAIN].end = NULL; /* record the drop at the next event */
      return false;
    }
    sid = ET_STREAM_SIGNAL;
  }
  t->in_write++;
  atomic_signal_fence(memory_order_seq_cst);
  et__stream *s = &t->s[sid];
  /* One compare covers both "chunk full" and "drops to record": a stream
   * with pending drops (or no chunk) has end == NULL. */
  if (ET_UNLIKELY((uintptr_t)s->p + maxlen > (uintptr_t)s->end)) {
    if (!et__stream_refill(t, sid, maxlen)) {
      atomic_signal_fence(memory_order_seq_cst);
      t->in_write--;
      return false;
    }
  }
  w->t = t;
  w->s = s;
  w->p = s->p;
  return true;
}

/* Writes the kind and the time delta; returns where the fields go. */
static inline uint8_t *et__head(et__w *w, unsigned kind) {
  uint64_t now = et__ticks();
  uint64_t dt = now - w->s->last;
  if (ET_UNLIKELY((int64_t)dt < 0)) { /* clocks of two cores disagree: keep order */
    dt = 0;
    now = w->s->last;
  }
  w->s->last = now;
  uint8_t *p = w->p;
  *p++ = (uint8_t)kind;
  return et__put_uvarint(p, dt);
}

/* Hands the event just committed (from w->p to end) to LTTng if a session
 * wants its kind (lttng.c). */
ET_HIDDEN void et__lttng_forward(et__w *w, const uint8_t *end);

/* Commits the event ending at p, and nothing else. */
static inline void et__close_plain(et__w *w, uint8_t *p) {
  et__stream *s = w->s;
  s->p = p;
  atomic_store_explicit(&s->chunk->pos, (uint32_t)(p - s->chunk->data), memory_order_release);
  atomic_signal_fence(memory_order_seq_cst);
  w->t->in_write--;
}

/* Commits the event ending at p; with the LTTng provider loaded, the event
 * also goes to LTTng. */
static inline void et__close(et__w *w, uint8_t *p) {
  if (ET_UNLIKELY(et__g.lt_loaded)) et__lttng_forward(w, p);
  et__close_plain(w, p);
}

/* ---- encoders generated from the catalogue ---- */

#define ET_PARAM_N(n)
#define ET_PARAM_U(n) , uint64_t n
#define ET_PARAM_T(n) , uint64_t n
#define ET_PARAM_P(n) , uint64_t n
#define ET_PARAM_S(n) , uint64_t n
#define ET_PARAM_K(n) , uint64_t n
#define ET_PARAM_I(n) , int64_t n
#define ET_PARAM_B(n) , const char *n, size_t n##_len
#define ET_ENC_N(n)
#define ET_ENC_U(n) p = et__put_uvarint(p, n);
#define ET_ENC_T(n) p = et__put_uvarint(p, n);
#define ET_ENC_P(n)                                                                          \
  p = et__put_svarint(p, (int64_t)(n - *lastobj));                                           \
  *lastobj = n;
#define ET_ENC_S(n) p = et__put_uvarint(p, n);
#define ET_ENC_K(n) p = et__put_uvarint(p, n);
#define ET_ENC_I(n) p = et__put_svarint(p, n);
#define ET_ENC_B(n)                                                                          \
  p = et__put_uvarint(p, n##_len);                                                           \
  memcpy(p, n, n##_len);                                                                     \
  p += n##_len;
#define ET_MAXLEN_N 0
#define ET_MAXLEN_U ET_VARINT_MAX
#define ET_MAXLEN_T ET_VARINT_MAX
#define ET_MAXLEN_P ET_VARINT_MAX
#define ET_MAXLEN_S ET_VARINT_MAX
#define ET_MAXLEN_K ET_VARINT_MAX
#define ET_MAXLEN_I ET_VARINT_MAX
#define ET_MAXLEN_B (ET_VARINT_MAX + ET_MAX_MESSAGE)

#define ET_ENCODER(NAME, lname, NUM, FLAGS, DOC, T0, N0, T1, N1, T2, N2, T3, N3)             \
  enum { ET_MAXLEN_EV_##NAME = 1 + ET_VARINT_MAX + ET_MAXLEN_##T0 + ET_MAXLEN_##T1 +          \
                               ET_MAXLEN_##T2 + ET_MAXLEN_##T3 };                             \
  static inline uint8_t *et__enc_##lname(uint8_t *p, uint64_t *lastobj ET_PARAM_##T0(N0)      \
                                             ET_PARAM_##T1(N1) ET_PARAM_##T2(N2)              \
                                                 ET_PARAM_##T3(N3)) {                         \
    (void)lastobj;                                                                           \
    ET_ENC_##T0(N0) ET_ENC_##T1(N1) ET_ENC_##T2(N2) ET_ENC_##T3(N3) return p;                 \
  }
ET_EVENT_KINDS(ET_ENCODER)
#undef ET_ENCODER

/* Emits one event: ET_EMIT(region_end, REGION_END, task, name_id). */
#define ET_EMIT(lname, NAME, ...)                                                            \
  do {                                                                                       \
    et__w et_w_;                                                                             \
    if (et__open(&et_w_, ET_MAXLEN_EV_##NAME)) {                                             \
      uint8_t *et_p_ = et__head(&et_w_, ET_EV_##NAME);                                       \
      et__close(&et_w_, et__enc_##lname(et_p_, &et_w_.s->last_obj, __VA_ARGS__));           \
    }                                                                                        \
  } while (0)

/* Emits one event of a kind without fields. */
#define ET_EMIT0(lname, NAME)                                                                \
  do {                                                                                       \
    et__w et_w_;                                                                             \
    if (et__open(&et_w_, ET_MAXLEN_EV_##NAME)) {                                             \
      uint8_t *et_p_ = et__head(&et_w_, ET_EV_##NAME);                                       \
      et__close(&et_w_, et__enc_##lname(et_p_, &et_w_.s->last_obj));                        \
    }                                                                                        \
  } while (0)

/* ---- strings and stacks (intern.c) ---- */

/* Interns a NUL-terminated string; returns its id, or 0 if the table is full. */
ET_HIDDEN uint32_t et__intern_slow(et__thread *t, const char *s, size_t len);

/* One frame's share of a stack's hash: products are independent of each
 * other, so a walk can hash as it goes with only an xor on its critical path. */
static inline uint64_t et__frame_mix(uintptr_t ret, unsigned i) {
  uint64_t x = (uint64_t)ret * 0x9e3779b97f4a7c15ull;
  unsigned r = i & 63;
  return r ? (x << r) | (x >> (64 - r)) : x;
}

/* The stack's hash from the xor of its frames' mixes. */
static inline uint64_t et__stack_hash_final(uint64_t acc, unsigned n) {
  uint64_t h = acc ^ ((uint64_t)n << 56);
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h ? h : 1; /* 0 marks an empty cache entry */
}

/* The hash of n frames, as et__walk_hash computes it while walking. */
static inline uint64_t et__stack_hash(const uintptr_t *frames, unsigned n) {
  uint64_t acc = 0;
  for (unsigned i = 0; i < n; i++) acc ^= et__frame_mix(frames[i], i);
  return et__stack_hash_final(acc, n);
}

/* Interns a stack of n return addresses (innermost first) with its hash
 * (et__stack_hash), through the thread's cache of recent stacks; id or 0. */
ET_HIDDEN uint32_t et__stack_intern(et__thread *t, const uintptr_t *frames, unsigned n,
                                    uint64_t hash);

/* A cache miss: intern s and remember it in e (intern.c). */
ET_HIDDEN uint32_t et__intern_miss(et__thread *t, et__strcache_ent *e, const char *s);

/* String id through the thread's pointer-keyed cache, checked by content.
 * A signal handler on this thread may rewrite the entry between any two
 * reads (et__intern_miss clears ptr first and sets it last): the id,
 * generation and length are read before ptr is checked, and a content
 * check is confirmed by ptr again, so the id returned is always s's. */
static inline __attribute__((always_inline)) uint32_t et__intern(et__thread *t, const char *s) {
  if (s == NULL) return 0;
  et__strcache_ent *e = &t->strcache[((uintptr_t)s >> 3) & (ET_STRCACHE_SIZE - 1)];
  uint32_t id = e->id, gen = e->ro_gen, len = e->len;
  atomic_signal_fence(memory_order_seq_cst);
  if (ET_LIKELY(e->ptr == s)) {
    if (ET_LIKELY(gen == atomic_load_explicit(&et__g.ro_gen, memory_order_relaxed))) return id;
    if (memcmp(s, e->w, len + 1u) == 0) {
      atomic_signal_fence(memory_order_seq_cst);
      if (ET_LIKELY(e->ptr == s)) return id;
    }
  }
  return et__intern_miss(t, e, s);
}

/* Walks frame pointers from fp, staying inside the thread's stack mapping so
 * that code built without frame pointers ends the walk instead of faulting.
 * Stores return addresses innermost first and their hash in *hash; returns
 * how many.  With fps non-NULL it also notes each frame's address, the saved
 * frame pointer that ended the walk and whether the depth limit did (for
 * the walk cache). */
static inline __attribute__((always_inline)) ET_NO_ASAN unsigned
et__walk_hash(const et__thread *t, uintptr_t fp, uintptr_t *out, unsigned max, uint64_t *hash,
              uintptr_t *fps, uintptr_t *last_next, bool *by_depth) {
  uintptr_t lo = t->stack_lo, hi = t->stack_hi;
  if (fp > lo) lo = fp;
  uint64_t acc = 0;
  uintptr_t next = 0;
  unsigned n = 0;
  while (n < max) {
    if (fp < lo || fp > hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)) != 0)
      break;
    const uintptr_t *frame = (const uintptr_t *)fp;
    uintptr_t ret = frame[1];
    if (ret < 4096) {
      /* Ended by a frame's content, which a cached walk does not check: a
       * value no saved frame pointer can equal keeps it from ever hitting. */
      next = UINTPTR_MAX;
      break;
    }
    next = frame[0];
    acc ^= et__frame_mix(ret, n);
    if (fps) fps[n] = fp;
    out[n++] = ret;
    if (next <= fp) break;
    fp = next;
  }
  if (fps) {
    *last_next = next;
    *by_depth = n == max;
  }
  *hash = et__stack_hash_final(acc, n);
  return n;
}

static inline ET_NO_ASAN unsigned et__walk(const et__thread *t, const void *fp0, uintptr_t *out,
                                unsigned max) {
  uint64_t h;
  return et__walk_hash(t, (uintptr_t)fp0, out, max, &h, NULL, NULL, NULL);
}

/* Walks from frame fp and interns the stack; id or 0 (intern.c).  With
 * dwarf stacks it hands over to et__stack_capture_dwarf. */
ET_HIDDEN uint32_t et__stack_capture(et__thread *t, const void *fp);

/* ---- stacks from unwind tables (dwarf.c) ---- */

/* Loads libunwind for dwarf stacks (once); 0, or -ENOTSUP with *why set. */
ET_HIDDEN int et__dwarf_init(const char **why);
/* True once libunwind is loaded. */
ET_HIDDEN bool et__dwarf_available(void);
/* Sets up libunwind's per-thread state for the calling thread, whose state
 * is t; only in ordinary context (it may allocate), never in a handler. */
ET_HIDDEN void et__dwarf_warm(et__thread *t);
/* The stack of the caller of the event function whose frame is fp, by
 * unwind tables, interned; id or 0. */
ET_HIDDEN uint32_t et__stack_capture_dwarf(et__thread *t, const void *fp);
/* The stack of the code a signal interrupted, from the handler's context
 * ucv (innermost: the interrupted instruction); how many frames. */
ET_HIDDEN unsigned et__dwarf_sample(et__thread *t, void *ucv, uintptr_t *out, unsigned max);

/* The stack id for an event of kind `kind` captured from frame fp, or 0. */
static inline uint32_t et__stack_here(et__thread *t, unsigned kind, const void *fp) {
  if (ET_LIKELY(!((et__g.stack_kinds >> kind) & 1))) return 0;
  return et__stack_capture(t, fp);
}

/* ---- CPU sampling (sampler.c) ---- */

/* Installs the SIGPROF handler (once) for hz samples per CPU-second; 0 or -errno. */
ET_HIDDEN int et__sampler_start(uint64_t hz);
/* Arms the calling thread's CPU-time timer (its state t is being set up). */
ET_HIDDEN void et__sampler_thread_start(et__thread *t, uint64_t hz);
/* Disarms and deletes thread t's timer, if any (any thread may call it). */
ET_HIDDEN void et__sampler_thread_stop(et__thread *t);

/* ---- sessions (api.c, writer.c) ---- */

typedef struct et__session et__session;

/* Starts the writer thread of a session; 0 or -errno. */
ET_HIDDEN int et__writer_start(et__session *s);
/* Asks the writer to flush everything, write END and exit; joins it. */
ET_HIDDEN int et__writer_stop(et__session *s);
/* Wakes the writer if it sleeps (after a chunk was submitted). */
ET_HIDDEN void et__writer_kick(et__session *s);

/* The read-only ranges of the loaded objects, sorted (malloc'd), or NULL. */
ET_HIDDEN et__ranges *et__readonly_scan(void);
/* Publishes fresh read-only ranges; bumps ro_gen if objects were unloaded. */
ET_HIDDEN void et__readonly_update(bool unloaded);

/* Scans the process's executable mappings into buf as a MAPPINGS payload. */
ET_HIDDEN size_t et__mappings_encode(uint8_t **buf, size_t *cap);
/* True if shared objects were loaded or unloaded since last[] was taken;
 * updates last[] (start with all bits set). */
ET_HIDDEN bool et__mappings_changed(unsigned long long last[2]);

/* Finds the mapping of /proc/self/maps that contains addr, with only
 * async-signal-safe system calls; 0 on success. */
ET_HIDDEN int et__proc_mapping_of(uintptr_t addr, uintptr_t *lo, uintptr_t *hi);

#endif

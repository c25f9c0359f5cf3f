/* The public tracing API: sessions and the event functions.
 *
 * Each event function opens with a load and a branch on et__g.enabled, so a
 * call while recording is off costs just that.  While on, it reserves room
 * in the calling thread's chunk, captures a stack if the kind asks for one
 * (a frame-pointer walk from this function's own frame, so the innermost
 * frame is the caller's return address), reads the clock and encodes the
 * fields with the encoders generated from the catalogue.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "session.h"

ET_HIDDEN et__global et__g = {.ro_gen = 1};

ET_HIDDEN pthread_mutex_t et__start_lock = PTHREAD_MUTEX_INITIALIZER;
static et__session *retired; /* stopped sessions: a late thread may still read one */
static bool hooks_installed;

#define DEFAULT_BUFFER (64u << 20)
#define DEFAULT_CHUNK (64u << 10)
#define DEFAULT_DEPTH 32
#define STRING_SLOTS (1u << 16)
#define STRING_ARENA (16u << 20)
#define STACK_SLOTS (1u << 18)
#define STACK_ARENA (128u << 20)

void et_options_init(et_options *o) {
  memset(o, 0, sizeof *o);
  o->struct_size = sizeof *o;
  o->buffer_size = DEFAULT_BUFFER;
  o->chunk_size = DEFAULT_CHUNK;
  o->stack_depth = DEFAULT_DEPTH;
  o->stacks = ET_STACKS_DEFAULT;
  o->clock = ET_CLOCKSRC_AUTO;
  o->fd = -1;
  o->flush_ms = 1000;
  o->block_when_full = false;
  o->cpu_hz = 0;
  o->stack_mode = ET_STACKMODE_FP;
}

static uint64_t stack_kinds(int mode) {
  uint64_t mask = 0;
  for (unsigned k = 0; k < 64; k++) {
    const et_kind_desc *d = &et__kinds[k];
    if (!d->name) continue;
    bool has_k = false;
    for (unsigned f = 0; f < d->nfields; f++) has_k |= d->ftype[f] == ET_FT_K;
    if (!has_k) continue;
    if (mode == ET_STACKS_ALL || (mode == ET_STACKS_DEFAULT && (d->flags & ET_KF_STACK)))
      mask |= 1ull << k;
  }
  return mask;
}

static int check_options(const et_options *o) {
  if (o->struct_size < offsetof(et_options, block_when_full) + sizeof o->block_when_full)
    return -EINVAL;
  if (o->chunk_size < 4096 || o->chunk_size > (16u << 20) ||
      (o->chunk_size & (o->chunk_size - 1)) != 0)
    return ET_E_LIMIT;
  if (o->buffer_size < (1u << 20) || o->buffer_size > (16ull << 30) ||
      o->buffer_size < 2 * o->chunk_size)
    return ET_E_LIMIT;
  if (o->stack_depth < 1 || o->stack_depth > ET_MAX_STACK_DEPTH) return ET_E_LIMIT;
  if (o->stacks < ET_STACKS_DEFAULT || o->stacks > ET_STACKS_ALL) return -EINVAL;
  if (o->clock < ET_CLOCKSRC_AUTO || o->clock > ET_CLOCKSRC_MONOTONIC) return -EINVAL;
  if (o->struct_size >= offsetof(et_options, cpu_hz) + sizeof o->cpu_hz && o->cpu_hz > 10000)
    return ET_E_LIMIT;
  if (o->struct_size >= offsetof(et_options, stack_mode) + sizeof o->stack_mode &&
      (o->stack_mode < ET_STACKMODE_FP || o->stack_mode > ET_STACKMODE_DWARF))
    return -EINVAL;
  return 0;
}

static void at_exit(void) {
  /* Every sink gets its END: the file, live captures in progress. */
  pthread_mutex_lock(&et__start_lock);
  et__session *s = et__g.session;
  if (s && s->pid == getpid() && et__on()) et__session_destroy(s);
  pthread_mutex_unlock(&et__start_lock);
}

static void at_fork_child(void) {
  /* The child must never write into the parent's trace; it has no writer.
   * Nor into the parent's LTTng buffers: without liblttng-ust-fork the
   * child is not registered with the session daemon (lttng.c). */
  atomic_store(&et__g.enabled, 0);
  et__lttng_forget();
  atomic_fetch_add(&et__g.epoch, 1);
  et__g.session = NULL;
  pthread_mutex_init(&et__start_lock, NULL);
}

static void free_session(et__session *s) {
  et__pool_release(&s->pool);
  et__table_release(&s->strings);
  et__table_release(&s->stacks);
  /* The structure itself stays: a thread that loaded the pointer before the
   * stop may still look at it. */
}

int et_start(const char *path) {
  et_options o;
  et_options_init(&o);
  return et_start_opts(path, &o);
}

/* Opens et_start's file: the path, else the caller's descriptor. */
static int open_file(const char *path, const et_options *o, int *fd, bool *own) {
  *own = path != NULL;
  *fd = path ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : o->fd;
  return *fd < 0 ? -errno : 0;
}

int et_start_opts(const char *path, const et_options *o) {
  int err = check_options(o);
  if (err) return err;
  if (path == NULL && o->fd < 0) return -EINVAL;
  pthread_mutex_lock(&et__start_lock);
  et__session *s = et__g.session;
  int fd;
  bool own;
  if (et__on() && s != NULL && s->pid == getpid() && !s->by_start) {
    /* Recording for the flight recorder or a live capture: the file joins
     * that recording, with its options (see docs/live.md). */
    err = open_file(path, o, &fd, &own);
    if (err == 0 && (s->file = et__sink_new(fd, false, UINT64_MAX, 0)) == NULL) err = -ENOMEM;
    if (err == 0) s->file->is_file = true;
    if (err) {
      if (own && fd >= 0) close(fd);
    } else {
      s->fd = fd;
      s->own_fd = own;
      s->by_start = true;
      s->write_error = 0;
      et__writer_attach(s, s->file);
    }
  } else if (et__on()) {
    err = ET_E_ACTIVE;
  } else if ((err = open_file(path, o, &fd, &own)) == 0) {
    err = et__session_create(o, fd, own, &s);
    if (err == 0) s->by_start = true;
  }
  pthread_mutex_unlock(&et__start_lock);
  return err;
}

int et__session_create(const et_options *o, int fd, bool own_fd, et__session **out) {
  int err = et__thread_key_init();
  et__session *s = err ? NULL : calloc(1, sizeof *s);
  if (!err && !s) err = -ENOMEM;
  if (err) goto out;
  s->opt = *o;
  s->pid = getpid();
  s->fd = fd;
  s->own_fd = own_fd;
  pthread_mutex_init(&s->ctl_mu, NULL);
  pthread_cond_init(&s->ctl_cv, NULL);
  if (fd >= 0 && (s->file = et__sink_new(fd, false, UINT64_MAX, 0)) == NULL) {
    err = -ENOMEM;
    goto fail_fd;
  }
  if (s->file) s->file->is_file = true;
  if ((err = et__pool_init(&s->pool, o->buffer_size, o->chunk_size)) != 0) goto fail_fd;
  if ((err = et__table_init(&s->strings, ET_CHUNK_STRINGS, STRING_SLOTS, STRING_ARENA)) != 0 ||
      (err = et__table_init(&s->stacks, ET_CHUNK_STACKS, STACK_SLOTS, STACK_ARENA)) != 0)
    goto fail_fd; /* mappings are left; they are reserve-only */

  bool tsc = o->clock == ET_CLOCKSRC_TSC || (o->clock == ET_CLOCKSRC_AUTO && et__tsc_usable());
  et__g.use_tsc = tsc;
  s->ticks_per_sec = et__clock_calibrate(tsc);
  if (s->ticks_per_sec == 0) {
    et__g.use_tsc = false;
    s->ticks_per_sec = et__clock_calibrate(false);
  }
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  s->start_ns = et__mono_ns();
  s->start_ticks = et__ticks();
  s->start_wall_ns = (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec;
  et__lttng_load();
  et__g.fast_mode = !et__g.use_tsc ? 1 : et__g.lt_loaded ? 2 : 0;
  et__g.stack_depth = o->stack_depth;
  et__g.stack_kinds = stack_kinds(o->stacks);
  et__g.block_when_full = o->block_when_full;
  bool dwarf = o->struct_size >= offsetof(et_options, stack_mode) + sizeof o->stack_mode &&
               o->stack_mode == ET_STACKMODE_DWARF;
  if (dwarf && (err = et__dwarf_init(NULL)) != 0) goto fail_fd;
  et__g.stack_dwarf = dwarf;
  et__g.cpu_hz = o->struct_size >= offsetof(et_options, cpu_hz) + sizeof o->cpu_hz ? o->cpu_hz : 0;
  if (et__g.cpu_hz && (err = et__sampler_start(et__g.cpu_hz)) != 0) goto fail_fd;
  et__readonly_update(false);
  et__g.session = s;
  if ((err = et__writer_start(s)) != 0) {
    et__g.session = NULL;
    goto fail_fd;
  }
  if (!hooks_installed) {
    atexit(at_exit);
    pthread_atfork(NULL, NULL, at_fork_child);
    hooks_installed = true;
  }
  atomic_fetch_add_explicit(&et__g.epoch, 1, memory_order_release);
  atomic_store_explicit(&et__g.enabled, 1, memory_order_release);
  et__thread *self = et__self(); /* the starting thread is known (and sampled) from the start */
  if (dwarf) et__dwarf_warm(self);
  *out = s;
  goto out;
fail_fd:
  if (s->own_fd) close(s->fd);
  if (s->file) et__sink_unref(s->file);
  free_session(s);
  free(s);
out:
  return err;
}

int et__session_destroy(et__session *s) {
  atomic_store_explicit(&et__g.enabled, 0, memory_order_release);
  int err = et__writer_stop(s);
  if (s->file) {
    et__sink_unref(s->file);
    s->file = NULL;
  }
  if (s->own_fd && close(s->fd) != 0 && err == 0) err = -errno;
  atomic_fetch_add_explicit(&et__g.epoch, 1, memory_order_release);
  et__g.session = NULL;
  free_session(s);
  s->retired_next = retired;
  retired = s;
  return err;
}

void et__session_release(et__session *s) {
  if (s == et__g.session && !s->by_start && !s->by_flight && s->ncaptures == 0)
    et__session_destroy(s);
}

int et_stop(void) {
  pthread_mutex_lock(&et__start_lock);
  et__session *s = et__g.session;
  int err = 0;
  if (!et__on() || s == NULL || !s->by_start) {
    err = ET_E_INACTIVE;
  } else if (s->pid != getpid()) {
    err = ET_E_FORKED;
  } else if (s->by_flight || s->ncaptures) {
    /* The flight recorder or a capture goes on: only the file ends. */
    et__sink *k = s->file;
    et__writer_cancel(s, k);
    err = et__sink_wait(k);
    if (err == 0) err = s->write_error;
    et__sink_unref(k);
    s->file = NULL;
    s->by_start = false;
    if (s->own_fd && close(s->fd) != 0 && err == 0) err = -errno;
    s->fd = -1;
  } else {
    s->by_start = false;
    err = et__session_destroy(s);
  }
  pthread_mutex_unlock(&et__start_lock);
  return err;
}

bool et_enabled(void) {
  return et__on();
}

uint64_t et_thread_id(void) {
  et__thread *t = et__tls;
  if ((uintptr_t)t >= 4096) return t->tid;
  return (uint64_t)syscall(SYS_gettid);
}

/* Emits an event whose last field is a stack `stk` taken from frame FRAME
 * (its first entry: FRAME's return address). */
#define ET_EMIT_STACK_AT(FRAME, lname, NAME, ...)                                            \
  do {                                                                                       \
    et__w et_w_;                                                                             \
    if (et__open(&et_w_, ET_MAXLEN_EV_##NAME)) {                                             \
      uint32_t stk = et__stack_here(et_w_.t, ET_EV_##NAME, (FRAME));                         \
      uint8_t *et_p_ = et__head(&et_w_, ET_EV_##NAME);                                       \
      et__close(&et_w_, et__enc_##lname(et_p_, &et_w_.s->last_obj, __VA_ARGS__));           \
    }                                                                                        \
  } while (0)

/* ... with the stack captured here: it starts at this function's caller. */
#define ET_EMIT_STACK(lname, NAME, ...) ET_EMIT_STACK_AT(__builtin_frame_address(0), lname, NAME, __VA_ARGS__)

/* Emits an event with one string field first, interned inside the write. */
#define ET_EMIT_STR(lname, NAME, str, ...)                                                   \
  do {                                                                                       \
    et__w et_w_;                                                                             \
    if (et__open(&et_w_, ET_MAXLEN_EV_##NAME)) {                                             \
      uint32_t sid = et__intern(et_w_.t, str);                                               \
      uint8_t *et_p_ = et__head(&et_w_, ET_EV_##NAME);                                       \
      et__close(&et_w_, et__enc_##lname(et_p_, &et_w_.s->last_obj, sid __VA_ARGS__));       \
    }                                                                                        \
  } while (0)

uint64_t et_task_begin(uint64_t parent, const char *type) {
  if (!et__on()) return 0;
  et__thread *t = et__self();
  if (t == NULL) return 0;
  if (t->task_next == t->task_limit) {
    et__session *s = et__g.session;
    if (s == NULL) return 0;
    uint64_t base = atomic_fetch_add_explicit(&s->task_counter, ET_TASK_ID_BLOCK,
                                              memory_order_relaxed);
    t->task_next = base + 1;
    t->task_limit = base + 1 + ET_TASK_ID_BLOCK;
  }
  uint64_t id = t->task_next++;
  et__w w;
  if (et__open(&w, ET_MAXLEN_EV_TASK_BEGIN)) {
    uint32_t sid = et__intern(w.t, type);
    uint32_t stk = et__stack_here(w.t, ET_EV_TASK_BEGIN, __builtin_frame_address(0));
    uint8_t *p = et__head(&w, ET_EV_TASK_BEGIN);
    et__close(&w, et__enc_task_begin(p, &w.s->last_obj, id, parent, sid, stk));
  }
  return id;
}

void et_task_end(uint64_t task) {
  if (!et__on()) return;
  ET_EMIT(task_end, TASK_END, task);
}

/* Regions are the most frequent events, so each has a fast path that is a
 * leaf: it handles a thread whose state is set up, a name already in the
 * string cache in read-only memory, no stack, and room in the chunk; anything
 * else goes to the general path, which it tail-calls.  As a leaf it saves no
 * registers, which is most of what an event costs beyond the clock read.
 *
 * A region_end whose task and name are those of the stream's last
 * region_begin in this chunk (the stream's region register, catalog.h) is
 * written as region_end_last: kind and time only, 2 bytes instead of 4 or
 * more.  The register is read and set only while the event is being written
 * (in_write held), so it always describes the bytes of the stream it is in;
 * et__stream_refill clears it when the stream takes a new chunk. */
static inline __attribute__((always_inline)) bool region_is_last(const et__stream *s,
                                                                 uint64_t task, uint32_t sid) {
  return s->rtask == task && s->rname == sid;
}

static inline __attribute__((always_inline)) void region_set_last(et__stream *s, uint64_t task,
                                                                  uint32_t sid) {
  s->rtask = task;
  s->rname = sid;
}

static __attribute__((noinline)) void region_begin_slow(uint64_t task, const char *name,
                                                        const void *fp) {
  et__w w;
  if (et__open(&w, ET_MAXLEN_EV_REGION_BEGIN)) {
    uint32_t sid = et__intern(w.t, name);
    uint32_t stk = et__stack_here(w.t, ET_EV_REGION_BEGIN, fp);
    uint8_t *p = et__head(&w, ET_EV_REGION_BEGIN);
    p = et__enc_region_begin(p, &w.s->last_obj, task, sid, stk);
    region_set_last(w.s, task, sid);
    et__close(&w, p);
  }
}

static __attribute__((noinline)) void region_end_slow(uint64_t task, const char *name) {
  et__w w;
  if (et__open(&w, ET_MAXLEN_EV_REGION_END)) {
    uint32_t sid = et__intern(w.t, name);
    bool last = region_is_last(w.s, task, sid);
    uint8_t *p = et__head(&w, last ? ET_EV_REGION_END_LAST : ET_EV_REGION_END);
    if (!last) p = et__enc_region_end(p, &w.s->last_obj, task, sid);
    et__close(&w, p);
  }
}

/* The fast path's checks: the thread's state, its main stream with room
 * for maxlen bytes, and name's cache entry, whose string id goes to *id;
 * NULL means "take the slow path".  A signal handler on this thread may
 * rewrite the entry at any point (et__intern_miss clears ptr first and sets
 * it last), so the id and generation are read before ptr is checked: when
 * ptr is still name afterwards, they are name's (as in et__intern). */
static inline __attribute__((always_inline)) et__thread *fast_thread(const char *name, unsigned kind,
                                                                     size_t maxlen,
                                                                     uint32_t *id) {
  et__thread *t = et__tls;
  if (ET_UNLIKELY((uintptr_t)t < 4096) ||
      ET_UNLIKELY(t->epoch != atomic_load_explicit(&et__g.epoch, memory_order_relaxed)) ||
      ET_UNLIKELY(t->in_write != 0))
    return NULL;
  const et__strcache_ent *c = &t->strcache[((uintptr_t)name >> 3) & (ET_STRCACHE_SIZE - 1)];
  uint32_t cid = c->id, gen = c->ro_gen;
  atomic_signal_fence(memory_order_seq_cst);
  if (ET_UNLIKELY(c->ptr != name) ||
      ET_UNLIKELY(gen != atomic_load_explicit(&et__g.ro_gen, memory_order_relaxed)))
    return NULL;
  const et__stream *s = &t->s[ET_STREAM_MAIN];
  if (ET_UNLIKELY((uintptr_t)s->p + maxlen > (uintptr_t)s->end)) return NULL;
  /* Not without the TSC (clock_gettime is a call: not a leaf), nor when an
   * LTTng session wants the kind (lttng.c: a call too). */
  uint32_t mode = et__g.fast_mode;
  if (ET_UNLIKELY(mode != 0) && (mode != 2 || *et__lt_state[kind] != 0)) return NULL;
  *id = cid;
  return t;
}

/* et__head for the fast path: the TSC, known to be in use. */
static inline __attribute__((always_inline)) uint8_t *fast_head(et__w *w, unsigned kind) {
#if ET_HAVE_TSC
  uint64_t now = __rdtsc();
#else
  uint64_t now = et__ticks();
#endif
  uint64_t dt = now - w->s->last;
  if (ET_UNLIKELY((int64_t)dt < 0)) {
    dt = 0;
    now = w->s->last;
  }
  w->s->last = now;
  uint8_t *p = w->p;
  *p++ = (uint8_t)kind;
  return et__put_uvarint(p, dt);
}

void et_region_begin(uint64_t task, const char *name) {
  if (!et__on()) return;
  uint32_t id;
  et__thread *t = fast_thread(name, ET_EV_REGION_BEGIN, ET_MAXLEN_EV_REGION_BEGIN, &id);
  if (ET_UNLIKELY(t == NULL) ||
      ET_UNLIKELY((et__g.stack_kinds >> ET_EV_REGION_BEGIN) & 1)) {
    region_begin_slow(task, name, __builtin_frame_address(0));
    return;
  }
  t->in_write = 1;
  atomic_signal_fence(memory_order_seq_cst);
  et__w w = {t, &t->s[ET_STREAM_MAIN], t->s[ET_STREAM_MAIN].p};
  uint8_t *p = fast_head(&w, ET_EV_REGION_BEGIN);
  p = et__enc_region_begin(p, &w.s->last_obj, task, id, 0);
  region_set_last(w.s, task, id);
  et__close_plain(&w, p);
}

void et_region_end(uint64_t task, const char *name) {
  if (!et__on()) return;
  uint32_t id;
  et__thread *t = fast_thread(name, ET_EV_REGION_END, ET_MAXLEN_EV_REGION_END, &id);
  if (ET_UNLIKELY(t == NULL)) {
    region_end_slow(task, name);
    return;
  }
  t->in_write = 1;
  atomic_signal_fence(memory_order_seq_cst);
  et__w w = {t, &t->s[ET_STREAM_MAIN], t->s[ET_STREAM_MAIN].p};
  if (region_is_last(w.s, task, id)) {
    et__close_plain(&w, fast_head(&w, ET_EV_REGION_END_LAST));
    return;
  }
  uint8_t *p = fast_head(&w, ET_EV_REGION_END);
  et__close_plain(&w, et__enc_region_end(p, &w.s->last_obj, task, id));
}

void et_log(uint64_t task, const char *category, const char *message) {
  if (!et__on()) return;
  size_t len = message ? strnlen(message, ET_MAX_MESSAGE + 1) : 0;
  et__w w;
  /* Reserve what this message needs, not the longest one: small chunks work. */
  size_t need = ET_MAXLEN_EV_LOG - ET_MAX_MESSAGE + (len > ET_MAX_MESSAGE ? ET_MAX_MESSAGE : len);
  if (et__open(&w, need)) {
    if (len > ET_MAX_MESSAGE) {
      len = ET_MAX_MESSAGE;
      atomic_fetch_add_explicit(&w.t->drops[ET_DROP_TRUNCATED_MSG], 1, memory_order_relaxed);
    }
    uint32_t cat = et__intern(w.t, category);
    uint32_t stk = et__stack_here(w.t, ET_EV_LOG, __builtin_frame_address(0));
    uint8_t *p = et__head(&w, ET_EV_LOG);
    et__close(&w, et__enc_log(p, &w.s->last_obj, task, cat, message ? message : "", len, stk));
  }
}

void et_thread_name(const char *name) {
  if (!et__on()) return;
  et__w w;
  if (et__open(&w, ET_MAXLEN_EV_THREAD_NAME)) {
    uint32_t sid = et__intern(w.t, name);
    atomic_store_explicit(&w.t->name_sid, sid, memory_order_relaxed); /* for later captures */
    uint8_t *p = et__head(&w, ET_EV_THREAD_NAME);
    et__close(&w, et__enc_thread_name(p, &w.s->last_obj, sid));
  }
}

void et_thread_create(uint64_t child_tid) {
  if (!et__on()) return;
  ET_EMIT_STACK(thread_create, THREAD_CREATE, child_tid, stk);
}

/* The bodies of the events with a stack, inlined into both the public
 * function (stack from its own frame) and the et__*_at one (from a frame the
 * caller gives): no extra call, and no tail call that would free the frame
 * the walk starts from. */
static inline __attribute__((always_inline)) void block_begin_from(int reason, const void *object, void *frame) {
  if (!et__on()) return;
  et__thread *t = et__self();
  if (t == NULL) return;
  t->block_reason = reason;
  ET_EMIT_STACK_AT(frame, block_begin, BLOCK_BEGIN, (uint64_t)reason, (uint64_t)(uintptr_t)object, stk);
}

void et__block_begin_at(int reason, const void *object, void *frame) { block_begin_from(reason, object, frame); }

void et_block_begin(int reason, const void *object) {
  block_begin_from(reason, object, __builtin_frame_address(0));
}

void et_block_end(void) {
  if (!et__on()) return;
  et__thread *t = et__self();
  if (t == NULL) return;
  ET_EMIT(block_end, BLOCK_END, (uint64_t)t->block_reason);
}

static inline __attribute__((always_inline)) void wake_from(uint64_t tid, const void *object, void *frame) {
  if (!et__on()) return;
  ET_EMIT_STACK_AT(frame, wake, WAKE, tid, (uint64_t)(uintptr_t)object, stk);
}

void et__wake_at(uint64_t tid, const void *object, void *frame) { wake_from(tid, object, frame); }

void et_wake(uint64_t tid, const void *object) { wake_from(tid, object, __builtin_frame_address(0)); }

static inline __attribute__((always_inline)) void syscall_begin_from(long nr, int fd, int fdclass, void *frame) {
  if (!et__on()) return;
  ET_EMIT_STACK_AT(frame, syscall_begin, SYSCALL_BEGIN, (uint64_t)nr, fd, (uint64_t)fdclass, stk);
}

void et__syscall_begin_at(long nr, int fd, int fdclass, void *frame) { syscall_begin_from(nr, fd, fdclass, frame); }

void et_syscall_begin(long nr, int fd, int fdclass) {
  syscall_begin_from(nr, fd, fdclass, __builtin_frame_address(0));
}

void et_syscall_end(long result) {
  if (!et__on()) return;
  ET_EMIT(syscall_end, SYSCALL_END, result);
}

void et_gc_begin(void) {
  if (!et__on()) return;
  ET_EMIT0(gc_begin, GC_BEGIN);
}

void et_gc_end(void) {
  if (!et__on()) return;
  ET_EMIT0(gc_end, GC_END);
}

void et_gc_phase_begin(const char *name) {
  if (!et__on()) return;
  ET_EMIT_STR(gc_phase_begin, GC_PHASE_BEGIN, name, );
}

void et_gc_phase_end(void) {
  if (!et__on()) return;
  ET_EMIT0(gc_phase_end, GC_PHASE_END);
}

void et_stw_begin(const char *reason) {
  if (!et__on()) return;
  ET_EMIT_STR(stw_begin, STW_BEGIN, reason, );
}

void et_stw_end(void) {
  if (!et__on()) return;
  ET_EMIT0(stw_end, STW_END);
}

void et_heap_live(uint64_t bytes) {
  if (!et__on()) return;
  ET_EMIT(heap_live, HEAP_LIVE, bytes);
}

void et_heap_goal(uint64_t bytes) {
  if (!et__on()) return;
  ET_EMIT(heap_goal, HEAP_GOAL, bytes);
}

void et_counter(const char *name, int64_t value) {
  if (!et__on()) return;
  ET_EMIT_STR(counter, COUNTER, name, , value);
}

/* Buffer chunks and per-thread state: the tracer's slow paths.
 *
 * A thread writes events into its current chunk (tracer.h); when the chunk
 * is full this file hands it to the writer and takes a free one from the
 * session's pool.  The pool is a lock-free stack of chunk indexes whose head
 * carries a tag against ABA; the hand-off is a lock-free push the writer
 * empties with one exchange.  Thread state is set up on a thread's first
 * event with async-signal-safe calls only (mmap, gettid, a raw read of
 * /proc/self/maps), so even a first event from a signal handler is safe, and
 * it is retired by a pthread key destructor when the thread exits.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "session.h"

/* Markers in et__tls besides real states: the thread is exiting (or is the
 * writer), or its state is being set up (a signal handler that interrupts
 * the set-up must not start a second one). */
#define ET_THREAD_EXITING ((et__thread *)(uintptr_t)1)
#define ET_THREAD_SETTING_UP ((et__thread *)(uintptr_t)2)

ET_HIDDEN __thread et__thread *et__tls __attribute__((tls_model("initial-exec")));

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static int thread_key_err;

int et__pool_init(et__pool *p, size_t total, size_t chunk_size) {
  memset(p, 0, sizeof *p);
  size_t n = total / chunk_size;
  if (n < 2 || n > UINT32_MAX / 2) return ET_E_LIMIT;
  p->mem_len = n * chunk_size;
  p->mem = mmap(NULL, p->mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
  if (p->mem == MAP_FAILED) return -errno;
  p->desc_len = n * sizeof(et__chunk);
  p->desc = mmap(NULL, p->desc_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p->desc == MAP_FAILED) {
    int err = -errno;
    munmap(p->mem, p->mem_len);
    return err;
  }
  p->nchunks = (uint32_t)n;
  p->chunk_size = (uint32_t)chunk_size;
  for (uint32_t i = 0; i < n; i++) {
    et__chunk *c = &p->desc[i];
    c->index = i;
    c->data = p->mem + (size_t)i * chunk_size;
    atomic_init(&c->next_free, i + 1 < n ? i + 2 : 0);
  }
  atomic_init(&p->free_head, 1);
  atomic_init(&p->nfree, (uint32_t)n);
  return 0;
}

void et__pool_release(et__pool *p) {
  /* Threads that raced past the enabled check may still write into their old
   * chunk, so the mappings stay valid; only their memory is given back. */
  if (p->mem) madvise(p->mem, p->mem_len, MADV_DONTNEED);
}

et__chunk *et__pool_pop(et__pool *p) {
  uint64_t old = atomic_load_explicit(&p->free_head, memory_order_acquire);
  for (;;) {
    uint32_t idx = (uint32_t)old;
    if (idx == 0) return NULL;
    et__chunk *c = &p->desc[idx - 1];
    uint32_t next = atomic_load_explicit(&c->next_free, memory_order_relaxed);
    uint64_t neu = (((old >> 32) + 1) << 32) | next;
    if (atomic_compare_exchange_weak_explicit(&p->free_head, &old, neu, memory_order_acquire,
                                              memory_order_acquire)) {
      atomic_fetch_sub_explicit(&p->nfree, 1, memory_order_relaxed);
      return c;
    }
  }
}

void et__pool_push(et__pool *p, et__chunk *c) {
  uint64_t old = atomic_load_explicit(&p->free_head, memory_order_relaxed);
  for (;;) {
    atomic_store_explicit(&c->next_free, (uint32_t)old, memory_order_relaxed);
    uint64_t neu = (((old >> 32) + 1) << 32) | (c->index + 1);
    if (atomic_compare_exchange_weak_explicit(&p->free_head, &old, neu, memory_order_release,
                                              memory_order_relaxed))
      break;
  }
  atomic_fetch_add_explicit(&p->nfree, 1, memory_order_relaxed);
}

static void submit(et__session *ss, et__chunk *c) {
  et__chunk *head = atomic_load_explicit(&ss->submitted, memory_order_relaxed);
  do {
    c->next = head;
  } while (!atomic_compare_exchange_weak_explicit(&ss->submitted, &head, c, memory_order_seq_cst,
                                                  memory_order_relaxed));
  /* A system call per chunk would be CPU the emitting threads lose, but
   * chunks waiting long leave the cache and spread over memory that must
   * be faulted in: wake the writer once 16 chunks are in use. */
  if (ss->pool.nchunks - atomic_load_explicit(&ss->pool.nfree, memory_order_relaxed) >= 16)
    et__writer_kick(ss);
}

static void count_drop(et__thread *t, unsigned reason) {
  atomic_store_explicit(&t->drops[reason],
                        atomic_load_explicit(&t->drops[reason], memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

enum { DROP_RECORD_MAX = ET_MAXLEN_EV_DROP };

/* Writes the pending DROP record of a stream into its (roomy) chunk. */
static void write_drop_record(et__stream *s) {
  et__w w = {.t = NULL, .s = s, .p = s->p};
  uint8_t *p = et__head(&w, ET_EV_DROP);
  p = et__enc_drop(p, &s->last_obj, s->dropped, s->drop_reason);
  s->p = p;
  atomic_store_explicit(&s->chunk->pos, (uint32_t)(p - s->chunk->data), memory_order_release);
  s->dropped = 0;
}

bool et__stream_refill(et__thread *t, unsigned sid, size_t need) {
  et__session *ss = et__g.session;
  et__stream *s = &t->s[sid];
  size_t want = need + (s->dropped ? DROP_RECORD_MAX : 0);
  if (ss == NULL || want > ss->pool.chunk_size) goto drop;
  if (s->chunk) s->end = s->chunk->data + ss->pool.chunk_size; /* undo a forced slow path */
  if (s->chunk && (size_t)(s->end - s->p) >= want) {
    if (s->dropped) write_drop_record(s);
    return true;
  }
  if (s->chunk) {
    et__chunk *old = s->chunk;
    atomic_store_explicit(&t->cur[sid], NULL, memory_order_release);
    s->chunk = NULL;
    s->p = s->end = NULL;
    submit(ss, old);
  }
  et__chunk *c = et__pool_pop(&ss->pool);
  if (c == NULL && et__g.block_when_full && sid == ET_STREAM_MAIN) {
    while (c == NULL && et__on() && !atomic_load(&ss->stop_requested)) {
      struct timespec ts = {0, 50000};
      nanosleep(&ts, NULL);
      c = et__pool_pop(&ss->pool);
    }
  }
  if (c == NULL) goto drop;
  c->owner = t;
  c->stream = (uint8_t)sid;
  c->base_ticks = s->last;
  c->base_obj = s->last_obj;
  c->flushed_obj = s->last_obj;
  c->flushed = 0;
  c->flushed_ticks = s->last;
  c->flushed_rtask = c->flushed_rname = 0;
  atomic_store_explicit(&c->pos, 0, memory_order_relaxed);
  s->chunk = c;
  s->rtask = s->rname = 0; /* a chunk's region register starts empty (catalog.h) */
  s->p = c->data;
  s->end = c->data + ss->pool.chunk_size;
  atomic_store_explicit(&t->cur[sid], c, memory_order_release);
  if (s->dropped) write_drop_record(s);
  return true;
drop:
  if (s->dropped == 0 || s->drop_reason != ET_DROP_NESTED) s->drop_reason = ET_DROP_BUFFER_FULL;
  s->dropped++;
  s->end = NULL; /* try again, and record the drop, at the next event */
  count_drop(t, ET_DROP_BUFFER_FULL);
  return false;
}

static uint64_t gettid_raw(void) {
  return (uint64_t)syscall(SYS_gettid);
}

static void thread_key_destructor(void *arg) {
  et__thread *t = arg;
  if (t == NULL || t == ET_THREAD_EXITING) return;
  et__thread_retire(t);
}

static void thread_key_create(void) {
  thread_key_err = pthread_key_create(&thread_key, thread_key_destructor);
}

int et__thread_key_init(void) {
  pthread_once(&thread_key_once, thread_key_create);
  return -thread_key_err;
}

void et__thread_retire(et__thread *t) {
  et__tls = ET_THREAD_EXITING;
  uint32_t epoch = atomic_load_explicit(&et__g.epoch, memory_order_acquire);
  et__session *ss = et__g.session;
  et__sampler_thread_stop(t);
  if (t->epoch == epoch && ss != NULL) {
    /* The state is in the live session's registry, where the writer may be
     * reading it right now: hand over and let the writer free it. */
    if (et__on()) {
      et__tls = t;
      ET_EMIT0(thread_exit, THREAD_EXIT);
      et__tls = ET_THREAD_EXITING;
    }
    for (unsigned sid = 0; sid < ET_STREAM_COUNT; sid++) {
      et__chunk *c = t->s[sid].chunk;
      if (c == NULL) continue;
      atomic_store_explicit(&t->cur[sid], NULL, memory_order_release);
      t->s[sid].chunk = NULL;
      submit(ss, c);
    }
    /* The writer frees the state once it has written the chunks above. */
    atomic_store_explicit(&t->dead, 1, memory_order_release);
    return;
  }
  /* Not in a live session's registry: nobody else can reach it. */
  munmap(t, sizeof *t);
}

/* Finds the stack mapping of the calling thread, for safe frame walks. */
static void stack_bounds(et__thread *t) {
  uintptr_t here = (uintptr_t)__builtin_frame_address(0), lo, hi;
  if (et__proc_mapping_of(here, &lo, &hi) == 0) {
    t->stack_lo = lo;
    t->stack_hi = hi;
  } else {
    t->stack_lo = t->stack_hi = 0; /* no stacks rather than a risky walk */
  }
}

et__thread *et__thread_slow(void) {
  /* Acquire: a recording started by another thread while this one runs
   * (a live capture, the flight recorder) published its session before
   * `enabled`. */
  if (atomic_load_explicit(&et__g.enabled, memory_order_acquire) == 0) return NULL;
  et__thread *t = et__tls;
  if (t == ET_THREAD_EXITING) return NULL;
  et__session *ss = et__g.session;
  if (t == ET_THREAD_SETTING_UP) { /* a signal handler interrupted the set-up */
    if (ss) atomic_fetch_add_explicit(&ss->setup_drops, 1, memory_order_relaxed);
    return NULL;
  }
  uint32_t epoch = atomic_load_explicit(&et__g.epoch, memory_order_acquire);
  if (ss == NULL || ss->pid != getpid()) return NULL;
  et__tls = ET_THREAD_SETTING_UP;
  atomic_signal_fence(memory_order_seq_cst);
  if (t == NULL) {
    if (et__thread_key_init() != 0) {
      et__tls = NULL;
      return NULL;
    }
    void *m = mmap(NULL, sizeof *t, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
      et__tls = NULL;
      return NULL;
    }
    t = m;
    t->tid = gettid_raw();
    stack_bounds(t);
    pthread_setspecific(thread_key, t);
  } else {
    /* A new session: keep the stack bounds, but read the tid again (the
     * state may have crossed a fork). */
    uintptr_t lo = t->stack_lo, hi = t->stack_hi;
    memset(t, 0, sizeof *t);
    t->tid = gettid_raw();
    t->stack_lo = lo;
    t->stack_hi = hi;
  }
  t->epoch = epoch;
  atomic_signal_fence(memory_order_seq_cst);
  et__tls = t;
  et__thread *head = atomic_load_explicit(&ss->threads, memory_order_relaxed);
  do {
    t->reg_next = head;
  } while (!atomic_compare_exchange_weak_explicit(&ss->threads, &head, t, memory_order_release,
                                                  memory_order_relaxed));
  et__sampler_thread_start(t, et__g.cpu_hz);
  /* Announce the thread: its start and its current name. */
  ET_EMIT(thread_start, THREAD_START, 0);
  char name[17] = {0};
  if (prctl(PR_GET_NAME, name, 0, 0, 0) == 0 && name[0]) {
    uint32_t id = et__intern(t, name);
    atomic_store_explicit(&t->name_sid, id, memory_order_relaxed);
    ET_EMIT(thread_name, THREAD_NAME, id);
  }
  return t;
}

/* Stacks from unwind tables (`--stacks dwarf`): code built without frame
 * pointers, as most of a distribution's binaries are, unwound by libunwind.
 *
 * libunwind is loaded with dlopen(RTLD_LOCAL) when a session asks for dwarf
 * stacks, never linked: libunwind.so also defines _Unwind_RaiseException and
 * the rest of the C++ unwinding ABI, and in the global scope (a preloaded
 * library's dependencies are) those definitions would take the place of
 * libgcc_s's for the whole program, whose exceptions and pthread_cancel
 * clean-ups would then go through a different unwinder (cancellation
 * clean-up handlers stop running).  Loaded locally it serves only us.
 *
 * Two ways to unwind, for two contexts:
 *  - an event (block_begin, syscall_begin, ...) on a thread's ordinary
 *    stream uses unw_backtrace(), libunwind's fast path: a per-thread cache of
 *    frame descriptions by address, no system call on a hit.  That cache and
 *    libunwind's thread-local variable are set up on a thread's first call
 *    (they allocate), so a thread is "warmed" with one call in ordinary
 *    context first; events nested in another write (a signal handler's) and
 *    events of threads not warmed yet take the second way;
 *  - a CPU sample, in the SIGPROF handler, starts from the signal's context
 *    (unw_init_local2 with UNW_INIT_SIGNAL_FRAME) and steps frame by frame:
 *    that path allocates nothing per thread and takes libunwind's locks only
 *    with every signal blocked, so it is safe in a handler, at the cost of
 *    two sigprocmask calls per frame.
 * libunwind checks the addresses it reads when it has no unwind information
 * for a frame (it then guesses from frame pointers, with each read
 * validated), so code without tables ends a stack rather than faulting.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "session.h"

#if defined(ET_HAVE_LIBUNWIND)
#include <dlfcn.h>
#include <pthread.h>
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#ifndef ET_LIBUNWIND_SONAME
#define ET_LIBUNWIND_SONAME "libunwind.so.8"
#endif

/* Frames of our own (the capture, unw_backtrace's) before the caller's. */
#define ET_DWARF_SKIP_MAX 8

#define ET_STR_(x) #x
#define ET_STR(x) ET_STR_(x)

static struct {
  int (*backtrace)(void **, int);
  int (*getcontext)(unw_context_t *);
  int (*init_local)(unw_cursor_t *, unw_context_t *);
  int (*init_local2)(unw_cursor_t *, unw_context_t *, int);
  int (*step)(unw_cursor_t *);
  int (*get_reg)(unw_cursor_t *, unw_regnum_t, unw_word_t *);
  int (*set_caching_policy)(unw_addr_space_t, unw_caching_policy_t);
  unw_addr_space_t *local_as;
} fn;
static _Atomic int loaded; /* 1: fn is complete */
static char load_error[160];

static void *sym(void *h, const char *name, bool *ok) {
  void *p = dlsym(h, name);
  if (p == NULL && *ok) {
    snprintf(load_error, sizeof load_error, "%s has no %s", ET_LIBUNWIND_SONAME, name);
    *ok = false;
  }
  return p;
}

int et__dwarf_init(const char **why) {
  if (atomic_load(&loaded)) return 0;
  void *h = dlopen(ET_LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *e = dlerror();
    snprintf(load_error, sizeof load_error, "%s", e ? e : "cannot load " ET_LIBUNWIND_SONAME);
    if (why) *why = load_error;
    return -ENOTSUP;
  }
  bool ok = true;
  /* With UNW_LOCAL_ONLY the names are the local-only entry points
   * (_ULx86_64_step, ...); the macros spell them for this architecture. */
  *(void **)&fn.backtrace = sym(h, "unw_backtrace", &ok);
  *(void **)&fn.getcontext = sym(h, ET_STR(unw_tdep_getcontext), &ok);
  *(void **)&fn.init_local = sym(h, ET_STR(unw_init_local), &ok);
  *(void **)&fn.init_local2 = sym(h, ET_STR(unw_init_local2), &ok);
  *(void **)&fn.step = sym(h, ET_STR(unw_step), &ok);
  *(void **)&fn.get_reg = sym(h, ET_STR(unw_get_reg), &ok);
  *(void **)&fn.set_caching_policy = sym(h, ET_STR(unw_set_caching_policy), &ok);
  fn.local_as = sym(h, ET_STR(unw_local_addr_space), &ok);
  if (!ok) {
    if (why) *why = load_error;
    return -ENOTSUP; /* the handle stays: dlclose of a half-used library gains nothing */
  }
  /* Per-thread caches where libunwind has them (builds without them keep
   * the global cache, whose lock is taken with signals blocked). */
  fn.set_caching_policy(*fn.local_as, UNW_CACHE_PER_THREAD);
  atomic_store(&loaded, 1);
#if !defined(__SANITIZE_THREAD__)
  /* libunwind's one-time set-up (its tables, the key of its per-thread
   * cache) happens here, in ordinary context, not in a handler. */
  void *b[4];
  (void)fn.backtrace(b, 4);
#endif
  return 0;
}

bool et__dwarf_available(void) {
  return atomic_load_explicit(&loaded, memory_order_acquire) != 0;
}

void et__dwarf_warm(et__thread *t) {
  if (t == NULL || t->unw_warm || !et__dwarf_available()) return;
#if defined(__SANITIZE_THREAD__)
  return; /* no fast path under TSan (et__stack_capture_dwarf) */
#endif
  void *b[4];
  uint8_t was = t->in_unwind;
  t->in_unwind = 1;
  atomic_signal_fence(memory_order_seq_cst);
  (void)fn.backtrace(b, 4);
  atomic_signal_fence(memory_order_seq_cst);
  t->in_unwind = was;
  t->unw_warm = 1;
}

/* Steps from an initialised cursor; stores up to max return addresses. */
static unsigned step_frames(unw_cursor_t *c, uintptr_t *out, unsigned max) {
  unsigned n = 0;
  while (n < max) {
    unw_word_t ip;
    if (fn.get_reg(c, UNW_REG_IP, &ip) < 0 || ip < 4096) break;
    out[n++] = (uintptr_t)ip;
    if (fn.step(c) <= 0) break;
  }
  return n;
}

/* The slow, handler-safe way from the current frame: a cursor stepped past
 * our own frames up to the one whose return address is ret. */
static __attribute__((noinline)) unsigned slow_here(uintptr_t ret, uintptr_t *out, unsigned max) {
  unw_context_t uc;
  unw_cursor_t c;
  if (fn.getcontext(&uc) != 0 || fn.init_local(&c, &uc) < 0) return 0;
  for (unsigned skip = 0; skip < ET_DWARF_SKIP_MAX; skip++) {
    unw_word_t ip;
    if (fn.get_reg(&c, UNW_REG_IP, &ip) < 0) return 0;
    if ((uintptr_t)ip == ret) return step_frames(&c, out, max);
    if (fn.step(&c) <= 0) return 0;
  }
  return 0;
}

uint32_t et__stack_capture_dwarf(et__thread *t, const void *fp) {
  if (!et__dwarf_available()) return 0;
  /* The event function keeps a frame pointer (the tracer is built with
   * them): its return address is the first frame, as with fp stacks. */
  uintptr_t ret = ((const uintptr_t *)fp)[1];
  unsigned max = et__g.stack_depth;
  uintptr_t frames[ET_MAX_STACK_DEPTH];
  unsigned n = 0;
  bool fast = t->in_write == 1;
#if defined(__SANITIZE_THREAD__)
  /* unw_backtrace's per-thread cache is freed by a pthread key destructor
   * that defers itself to the last round, as TSan's own does: it then runs
   * after TSan has finished the thread and crashes in its interceptors.
   * TSan builds take the slow path, which keeps no per-thread state. */
  fast = false;
#endif
  /* libunwind calls read() to check addresses: not the program's I/O. */
  uint8_t was = t->in_unwind;
  t->in_unwind = 1;
  atomic_signal_fence(memory_order_seq_cst);
  if (fast && ET_UNLIKELY(!t->unw_warm)) et__dwarf_warm(t);
  if (fast) {
    void *b[ET_MAX_STACK_DEPTH + ET_DWARF_SKIP_MAX];
    int got = fn.backtrace(b, (int)(max + ET_DWARF_SKIP_MAX));
    int i = 0;
    while (i < got && i < ET_DWARF_SKIP_MAX && (uintptr_t)b[i] != ret) i++;
    if (i < got && (uintptr_t)b[i] == ret) {
      for (; i < got && n < max; i++) frames[n++] = (uintptr_t)b[i];
    }
  } else {
    n = slow_here(ret, frames, max);
  }
  atomic_signal_fence(memory_order_seq_cst);
  t->in_unwind = was;
  if (n == 0) return 0;
  return et__stack_intern(t, frames, n, et__stack_hash(frames, n));
}

unsigned et__dwarf_sample(et__thread *t, void *ucv, uintptr_t *out, unsigned max) {
  if (!et__dwarf_available() || ucv == NULL) return 0;
  unw_cursor_t c;
  uint8_t was = t->in_unwind;
  t->in_unwind = 1;
  atomic_signal_fence(memory_order_seq_cst);
  unsigned n = 0;
  if (fn.init_local2(&c, (unw_context_t *)ucv, UNW_INIT_SIGNAL_FRAME) >= 0)
    n = step_frames(&c, out, max);
  atomic_signal_fence(memory_order_seq_cst);
  t->in_unwind = was;
  return n;
}

#else /* !ET_HAVE_LIBUNWIND */

int et__dwarf_init(const char **why) {
  if (why) *why = "this build of exectrace has no libunwind";
  return -ENOTSUP;
}

bool et__dwarf_available(void) {
  return false;
}

void et__dwarf_warm(et__thread *t) {
  (void)t;
}

uint32_t et__stack_capture_dwarf(et__thread *t, const void *fp) {
  (void)t;
  (void)fp;
  return 0;
}

unsigned et__dwarf_sample(et__thread *t, void *ucv, uintptr_t *out, unsigned max) {
  (void)t;
  (void)ucv;
  (void)out;
  (void)max;
  return 0;
}

#endif

/* libexectrace-preload: traces an unmodified program.
 *
 * Preloaded (LD_PRELOAD, usually by `exectrace record`), this library holds a
 * whole copy of the tracer and starts recording from a constructor when
 * EXECTRACE_OUT names the trace file.  It interposes on the pthread and libc
 * functions where a thread waits, wakes another, makes an I/O system call,
 * creates or ends a thread, forks or execs, and records the matching events
 * through the tracer's public functions; each wrapper then calls the real
 * function, found with dlsym(RTLD_NEXT).
 *
 * Rules every wrapper keeps:
 *  - while recording is off it only calls the real function;
 *  - errno, return values, signal masks and EINTR behaviour are the real
 *    function's: events are emitted with errno saved and restored around them;
 *  - locks are tried first, so an uncontended lock costs a trylock; only a
 *    failed try records a wait;
 *  - a wake is recorded before the unlock, post or signal that releases the
 *    waiter (see docs/architecture.md), and only when a waiter is counted on
 *    the object's stripe;
 *  - nothing is traced on the tracer's own threads or inside the tracer (the
 *    writer thread and threads being set up carry marker values in et__tls;
 *    start and stop run under a thread-local guard);
 *  - everything used here is async-signal-safe: a signal handler may call any
 *    wrapper, and its events go to the thread's signal stream.
 */
/* The wrappers define both the plain and the 64-bit names, so the headers must
 * not rename one to the other. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <sched.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../session.h"

#define PL_EXPORT __attribute__((visibility("default")))

/* System call numbers recorded for the wrappers; architectures without the
 * old calls (aarch64) get the ones libc uses instead. */
#ifdef SYS_open
#define NR_OPEN SYS_open
#else
#define NR_OPEN SYS_openat
#endif
#ifdef SYS_poll
#define NR_POLL SYS_poll
#else
#define NR_POLL SYS_ppoll
#endif
#ifdef SYS_select
#define NR_SELECT SYS_select
#else
#define NR_SELECT SYS_pselect6
#endif
#ifdef SYS_epoll_wait
#define NR_EPOLL_WAIT SYS_epoll_wait
#else
#define NR_EPOLL_WAIT SYS_epoll_pwait
#endif
#ifdef SYS_fork
#define NR_FORK SYS_fork
#else
#define NR_FORK SYS_clone
#endif
#ifdef SYS_accept
#define NR_ACCEPT SYS_accept
#else
#define NR_ACCEPT SYS_accept4
#endif

/* ---- the real functions ---- */

/* dlsym finds the default version (pthread_cond_wait@@GLIBC_2.3.2, not the
 * old one) in whatever comes next: libc, or a sanitizer's interceptor. */
static uintptr_t resolve(_Atomic uintptr_t *slot, const char *name, const char *version) {
  void *p = version ? dlvsym(RTLD_NEXT, name, version) : NULL;
  if (p == NULL) p = dlsym(RTLD_NEXT, name);
  uintptr_t v = (uintptr_t)p;
  atomic_store_explicit(slot, v, memory_order_relaxed);
  return v;
}

/* REAL(name, version, ret, params): real_name() returns the next definition. */
#define REAL(name, version, ret, params)                                                     \
  typedef ret(*name##_fn) params;                                                            \
  static _Atomic uintptr_t real_##name##_p;                                                  \
  static inline name##_fn real_##name(void) {                                                \
    uintptr_t v = atomic_load_explicit(&real_##name##_p, memory_order_relaxed);              \
    if (ET_UNLIKELY(v == 0)) v = resolve(&real_##name##_p, #name, version);                  \
    return (name##_fn)v;                                                                     \
  }

/* Prototypes glibc's headers declare only under _FORTIFY_SOURCE. */
PL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
PL_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
PL_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
PL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
PL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                 __SOCKADDR_ARG addr, socklen_t *alen);
PL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
PL_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                          const sigset_t *ss, size_t fdslen);
PL_EXPORT int __open_2(const char *path, int flags);
PL_EXPORT int __open64_2(const char *path, int flags);
PL_EXPORT int __openat_2(int dirfd, const char *path, int flags);
PL_EXPORT int __openat64_2(int dirfd, const char *path, int flags);

REAL(pthread_create, NULL, int, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))
REAL(pthread_exit, NULL, void, (void *))
REAL(pthread_join, NULL, int, (pthread_t, void **))
REAL(pthread_timedjoin_np, NULL, int, (pthread_t, void **, const struct timespec *))
REAL(pthread_setname_np, NULL, int, (pthread_t, const char *))
REAL(pthread_mutex_lock, NULL, int, (pthread_mutex_t *))
REAL(pthread_mutex_trylock, NULL, int, (pthread_mutex_t *))
REAL(pthread_mutex_timedlock, NULL, int, (pthread_mutex_t *, const struct timespec *))
REAL(pthread_mutex_clocklock, NULL, int, (pthread_mutex_t *, clockid_t, const struct timespec *))
REAL(pthread_mutex_unlock, NULL, int, (pthread_mutex_t *))
REAL(pthread_rwlock_rdlock, NULL, int, (pthread_rwlock_t *))
REAL(pthread_rwlock_wrlock, NULL, int, (pthread_rwlock_t *))
REAL(pthread_rwlock_tryrdlock, NULL, int, (pthread_rwlock_t *))
REAL(pthread_rwlock_trywrlock, NULL, int, (pthread_rwlock_t *))
REAL(pthread_rwlock_timedrdlock, NULL, int, (pthread_rwlock_t *, const struct timespec *))
REAL(pthread_rwlock_timedwrlock, NULL, int, (pthread_rwlock_t *, const struct timespec *))
REAL(pthread_rwlock_clockrdlock, NULL, int, (pthread_rwlock_t *, clockid_t, const struct timespec *))
REAL(pthread_rwlock_clockwrlock, NULL, int, (pthread_rwlock_t *, clockid_t, const struct timespec *))
REAL(pthread_rwlock_unlock, NULL, int, (pthread_rwlock_t *))
REAL(pthread_cond_wait, NULL, int, (pthread_cond_t *, pthread_mutex_t *))
REAL(pthread_cond_timedwait, NULL, int, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *))
REAL(pthread_cond_clockwait, NULL, int,
     (pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *))
REAL(pthread_cond_signal, NULL, int, (pthread_cond_t *))
REAL(pthread_cond_broadcast, NULL, int, (pthread_cond_t *))
REAL(pthread_barrier_wait, NULL, int, (pthread_barrier_t *))
REAL(sem_wait, NULL, int, (sem_t *))
REAL(sem_trywait, NULL, int, (sem_t *))
REAL(sem_timedwait, NULL, int, (sem_t *, const struct timespec *))
REAL(sem_clockwait, NULL, int, (sem_t *, clockid_t, const struct timespec *))
REAL(sem_post, NULL, int, (sem_t *))
REAL(nanosleep, NULL, int, (const struct timespec *, struct timespec *))
REAL(clock_nanosleep, NULL, int, (clockid_t, int, const struct timespec *, struct timespec *))
REAL(usleep, NULL, int, (useconds_t))
REAL(sleep, NULL, unsigned, (unsigned))
REAL(read, NULL, ssize_t, (int, void *, size_t))
REAL(write, NULL, ssize_t, (int, const void *, size_t))
REAL(readv, NULL, ssize_t, (int, const struct iovec *, int))
REAL(writev, NULL, ssize_t, (int, const struct iovec *, int))
REAL(pread, NULL, ssize_t, (int, void *, size_t, off_t))
REAL(pwrite, NULL, ssize_t, (int, const void *, size_t, off_t))
REAL(pread64, NULL, ssize_t, (int, void *, size_t, off64_t))
REAL(pwrite64, NULL, ssize_t, (int, const void *, size_t, off64_t))
REAL(__read_chk, NULL, ssize_t, (int, void *, size_t, size_t))
REAL(__pread_chk, NULL, ssize_t, (int, void *, size_t, off_t, size_t))
REAL(__pread64_chk, NULL, ssize_t, (int, void *, size_t, off64_t, size_t))
REAL(recv, NULL, ssize_t, (int, void *, size_t, int))
REAL(__recv_chk, NULL, ssize_t, (int, void *, size_t, size_t, int))
REAL(recvfrom, NULL, ssize_t, (int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *))
REAL(__recvfrom_chk, NULL, ssize_t, (int, void *, size_t, size_t, int, __SOCKADDR_ARG, socklen_t *))
REAL(recvmsg, NULL, ssize_t, (int, struct msghdr *, int))
REAL(send, NULL, ssize_t, (int, const void *, size_t, int))
REAL(sendto, NULL, ssize_t, (int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t))
REAL(sendmsg, NULL, ssize_t, (int, const struct msghdr *, int))
REAL(accept, NULL, int, (int, __SOCKADDR_ARG, socklen_t *))
REAL(accept4, NULL, int, (int, __SOCKADDR_ARG, socklen_t *, int))
REAL(connect, NULL, int, (int, __CONST_SOCKADDR_ARG, socklen_t))
REAL(poll, NULL, int, (struct pollfd *, nfds_t, int))
REAL(__poll_chk, NULL, int, (struct pollfd *, nfds_t, int, size_t))
REAL(ppoll, NULL, int, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *))
REAL(__ppoll_chk, NULL, int,
     (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t))
REAL(select, NULL, int, (int, fd_set *, fd_set *, fd_set *, struct timeval *))
REAL(pselect, NULL, int,
     (int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *))
REAL(epoll_wait, NULL, int, (int, struct epoll_event *, int, int))
REAL(epoll_pwait, NULL, int, (int, struct epoll_event *, int, int, const sigset_t *))
REAL(open, NULL, int, (const char *, int, ...))
REAL(open64, NULL, int, (const char *, int, ...))
REAL(openat, NULL, int, (int, const char *, int, ...))
REAL(openat64, NULL, int, (int, const char *, int, ...))
REAL(__open_2, NULL, int, (const char *, int))
REAL(__open64_2, NULL, int, (const char *, int))
REAL(__openat_2, NULL, int, (int, const char *, int))
REAL(__openat64_2, NULL, int, (int, const char *, int))
REAL(close, NULL, int, (int))
REAL(fsync, NULL, int, (int))
REAL(fdatasync, NULL, int, (int))
REAL(socket, NULL, int, (int, int, int))
REAL(socketpair, NULL, int, (int, int, int, int *))
REAL(pipe, NULL, int, (int *))
REAL(pipe2, NULL, int, (int *, int))
REAL(dup, NULL, int, (int))
REAL(dup2, NULL, int, (int, int))
REAL(dup3, NULL, int, (int, int, int))
REAL(fork, NULL, pid_t, (void))
REAL(execve, NULL, int, (const char *, char *const[], char *const[]))
REAL(execvpe, NULL, int, (const char *, char *const[], char *const[]))
REAL(fexecve, NULL, int, (int, char *const[], char *const[]))
REAL(_exit, NULL, void, (int))
REAL(_Exit, NULL, void, (int))

/* ---- per-thread and global state ---- */

#define TLS static __thread __attribute__((tls_model("initial-exec")))

enum { OPEN_NONE = 0, OPEN_BLOCK = 1, OPEN_SYSCALL = 2 };

TLS int tl_guard;              /* inside the tracer's start or stop: trace nothing */
TLS uint8_t tl_open;           /* what this thread has begun and not ended (for cancellation) */
TLS _Atomic int *tl_waiting;   /* the waiter counter it holds (for cancellation) */
TLS bool tl_counted;           /* a program thread started by our trampoline */
TLS uint32_t tl_names_gen;     /* names_gen when this thread last checked its name */
TLS char tl_name[16];          /* the name last recorded for this thread */
TLS bool tl_forking;           /* this thread is in fork() */

static _Atomic uint32_t names_gen;   /* bumped when a thread names another */
static _Atomic int live_threads;     /* program threads alive (main + ours) */
static int tid_offset = -1;          /* offset of the kernel tid in glibc's struct pthread */
static pthread_key_t end_key;        /* its destructor sees our threads end */
static bool end_key_ok;
static void thread_end(void *unused);

/* Settings of this recording, kept for forked children and failed execs. */
static struct {
  bool active;          /* this process was set up to record */
  bool follow_fork;
  et_options opt;
  char out[PATH_MAX];   /* EXECTRACE_OUT, made absolute */
  char path[PATH_MAX];  /* this process's trace */
  pid_t root;           /* the process whose trace is out itself */
  unsigned exec_gen;    /* how many execs this process has made (its image's number) */
} cfg;

/* Waiters per object, striped: a waiter counts itself in before it blocks
 * and out after, so an unlock, post or signal records a wake only when some
 * thread may be waiting on that object (or one sharing its stripe). */
#define NSTRIPES 1024
static struct {
  _Atomic int n;
  char pad[ET_CACHELINE - sizeof(int)];
} waiters[NSTRIPES];

static inline _Atomic int *stripe(const void *obj) {
  uint64_t h = ((uint64_t)(uintptr_t)obj >> 3) * 0x9e3779b97f4a7c15ull;
  return &waiters[h >> 54].n; /* 10 bits */
}

/* ---- helpers ---- */

static inline bool tracing(void) {
  if (!et__on()) return false;
  if (tl_guard) return false;
  uintptr_t t = (uintptr_t)et__tls;
  if (t == 1 || t == 2) return false; /* the writer (or an exiting thread), a thread being set up */
  /* Inside the tracer's own unwinding (dwarf stacks): libunwind's read()s. */
  return t < 4096 || !((const et__thread *)t)->in_unwind;
}

/* This process records (not a vfork child sharing the parent's memory). */
static bool recording_here(void) {
  et__session *s = et__g.session;
  return et__on() && s != NULL && s->pid == getpid();
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  char buf[PATH_MAX + 256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n > sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  int e = errno;
  for (int off = 0; off < n;) {
    ssize_t w = real_write()(2, buf + off, (size_t)(n - off));
    if (w <= 0) break;
    off += (int)w;
  }
  errno = e;
}

static void refresh_name(uint32_t gen) {
  tl_names_gen = gen;
  char name[17] = {0};
  if (prctl(PR_GET_NAME, name, 0, 0, 0) != 0 || memcmp(name, tl_name, sizeof tl_name) == 0) return;
  memcpy(tl_name, name, sizeof tl_name);
  et_thread_name(name);
}

/* A thread named another: each thread records its new name at its next event. */
static inline void check_name(void) {
  uint32_t g = atomic_load_explicit(&names_gen, memory_order_relaxed);
  if (ET_UNLIKELY(g != tl_names_gen)) refresh_name(g);
}

typedef struct opened {
  uint8_t open;
  _Atomic int *waiting;
} opened;

/* The helpers that record an event with a stack are always inlined into the
 * exported wrapper, whose frame they pass: the stack starts at the
 * program's call, not inside this library. */
#define WRAPPER_FRAME __builtin_frame_address(0)

static inline __attribute__((always_inline)) opened block_begin(int reason, const void *obj, bool count) {
  int e = errno;
  check_name();
  opened o = {tl_open, tl_waiting};
  et__block_begin_at(reason, obj, WRAPPER_FRAME);
  tl_open = OPEN_BLOCK;
  tl_waiting = NULL;
  if (count) {
    tl_waiting = stripe(obj);
    atomic_fetch_add(tl_waiting, 1);
  }
  errno = e;
  return o;
}

static inline void block_end(opened o) {
  int e = errno;
  if (tl_waiting) atomic_fetch_sub(tl_waiting, 1);
  tl_waiting = o.waiting;
  tl_open = o.open;
  et_block_end();
  errno = e;
}

/* Records a wake of obj's waiters if any is counted (at most max of them). */
static inline __attribute__((always_inline)) void wake_waiters(const void *obj, int max) {
  int n = atomic_load_explicit(stripe(obj), memory_order_seq_cst);
  if (ET_LIKELY(n <= 0)) return;
  int e = errno;
  if (n > max) n = max;
  for (int i = 0; i < n; i++) et__wake_at(0, obj, WRAPPER_FRAME);
  errno = e;
}

/* ---- file descriptor classes ---- */

#define FDCACHE 65536
static _Atomic uint8_t fdclass[FDCACHE]; /* 0: not known yet */

static int classify(int fd) {
  struct stat st;
  int e = errno;
  int r = fstat(fd, &st);
  errno = e;
  if (r != 0) return ET_FDCLASS_OTHER;
  int c = S_ISSOCK(st.st_mode)                         ? ET_FDCLASS_SOCKET
          : S_ISREG(st.st_mode) || S_ISBLK(st.st_mode) ? ET_FDCLASS_FILE
          : S_ISFIFO(st.st_mode)                       ? ET_FDCLASS_PIPE
                                                       : ET_FDCLASS_OTHER;
  if (fd < FDCACHE) atomic_store_explicit(&fdclass[fd], (uint8_t)c, memory_order_relaxed);
  return c;
}

static inline int fd_class(int fd) {
  if (fd < 0) return ET_FDCLASS_NONE;
  if (fd < FDCACHE) {
    int c = atomic_load_explicit(&fdclass[fd], memory_order_relaxed);
    if (ET_LIKELY(c != 0)) return c;
  }
  return classify(fd);
}

static inline void fd_set_class(int fd, int c) {
  if (fd >= 0 && fd < FDCACHE) atomic_store_explicit(&fdclass[fd], (uint8_t)c, memory_order_relaxed);
}

static inline __attribute__((always_inline)) uint8_t sys_begin(long nr, int fd, int cls) {
  int e = errno;
  check_name();
  uint8_t prev = tl_open;
  et__syscall_begin_at(nr, fd, cls, WRAPPER_FRAME);
  tl_open = OPEN_SYSCALL;
  errno = e;
  return prev;
}

static inline void sys_end(uint8_t prev, long r) {
  int e = errno;
  tl_open = prev;
  et_syscall_end(r < 0 ? -(long)e : r);
  errno = e;
}

/* A system call on fd: begin, the real call (expr), end with its result. */
#define IO(type, nr, fd, expr)                                                               \
  do {                                                                                       \
    if (!tracing()) return expr;                                                             \
    uint8_t prev_ = sys_begin(nr, fd, fd_class(fd));                                         \
    type r_ = expr;                                                                          \
    sys_end(prev_, (long)r_);                                                                \
    return r_;                                                                               \
  } while (0)

/* ---- starting and stopping ---- */

/* The main thread's stack grows on demand: the tracer notes the mapping as it
 * is when the thread starts, so frames of a deeper recursion would fall below
 * it and end every walk at once.  A walk only goes up from the current frame
 * (strictly increasing frame pointers, all in mapped memory), so the lower
 * bound may safely be where the stack can grow to. */
static void widen_main_stack(void) {
  et__thread *t = et__tls;
  if ((uintptr_t)t < 4096 || (pid_t)syscall(SYS_gettid) != getpid() || t->stack_hi == 0) return;
  struct rlimit rl;
  uintptr_t room = 8u << 20;
  if (getrlimit(RLIMIT_STACK, &rl) == 0)
    room = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1ull << 32) ? (uintptr_t)1 << 32
                                                                      : (uintptr_t)rl.rlim_cur;
  uintptr_t lo = t->stack_hi > room ? t->stack_hi - room : 4096;
  if (lo < t->stack_lo) t->stack_lo = lo;
}

static bool start_recording(const char *path) {
  tl_guard++;
  int err = et_start_opts(path, &cfg.opt);
  tl_guard--;
  if (err != 0) {
    say("exectrace: cannot record into '%s': %s; the program runs untraced", path, et_strerror(err));
    return false;
  }
  if (strlen(path) < sizeof cfg.path) strcpy(cfg.path, path);
  widen_main_stack();
  return true;
}

static void stop_recording(void) {
  if (!recording_here()) return;
  tl_guard++;
  int e = errno;
  int err = et_stop();
  if (err != 0 && err != ET_E_INACTIVE)
    say("exectrace: finishing '%s': %s", cfg.path, et_strerror(err));
  errno = e;
  tl_guard--;
}

/* The trace file of process pid's image number gen. */
static void trace_path(char *buf, size_t cap, pid_t pid, unsigned gen) {
  /* cfg.out is at most PATH_MAX - 33 bytes (checked when read): say so, and
   * the compiler sees the suffixes fit. */
  int n = pid == cfg.root ? snprintf(buf, cap, "%.*s", PATH_MAX - 33, cfg.out)
                          : snprintf(buf, cap, "%.*s.%d", PATH_MAX - 33, cfg.out, (int)pid);
  if (gen && n >= 0 && (size_t)n < cap) snprintf(buf + n, cap - (size_t)n, ".exec%u", gen);
}

static void reset_waiters(void) {
  for (unsigned i = 0; i < NSTRIPES; i++) atomic_store(&waiters[i].n, 0);
}

/* ---- settings ---- */

static bool parse_uint(const char *s, unsigned long long max, unsigned long long *out) {
  if (s == NULL || *s < '0' || *s > '9') return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > max) return false;
  *out = v;
  return true;
}

/* "64M", "1G", "4096", "512K" (binary multiples). */
static bool parse_size(const char *s, unsigned long long *out) {
  if (s == NULL || *s < '0' || *s > '9') return false;
  errno = 0;
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0) return false;
  unsigned shift = 0;
  switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
  }
  if (shift && (*end == 'B' || *end == 'b')) end++;
  if (*end != '\0' || v > (~0ull >> shift)) return false;
  *out = v << shift;
  return true;
}

/* Reads the settings; false (after one line on stderr) if one is bad. */
static bool read_settings(void) {
  et_options_init(&cfg.opt);
  cfg.opt.cpu_hz = 100;
  const char *v = getenv("EXECTRACE_CPU_HZ");
  unsigned long long n;
  if (v && *v) {
    if (!parse_uint(v, 10000, &n)) {
      say("exectrace: EXECTRACE_CPU_HZ='%s' is not a number from 0 to 10000; the program runs untraced", v);
      return false;
    }
    cfg.opt.cpu_hz = (unsigned)n;
  }
  v = getenv("EXECTRACE_BUFFER");
  if (v && *v) {
    if (!parse_size(v, &n) || n < (1ull << 20) || n > (16ull << 30)) {
      say("exectrace: EXECTRACE_BUFFER='%s' is not a size from 1M to 16G; the program runs untraced", v);
      return false;
    }
    cfg.opt.buffer_size = (size_t)n;
  }
  v = getenv("EXECTRACE_FOLLOW_FORK");
  if (v && *v) {
    if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
      say("exectrace: EXECTRACE_FOLLOW_FORK='%s' is not 0 or 1; the program runs untraced", v);
      return false;
    }
    cfg.follow_fork = v[0] == '1';
  }
  v = getenv("EXECTRACE_STACKS");
  if (v && *v) {
    if (strcmp(v, "fp") == 0) {
      cfg.opt.stacks = ET_STACKS_DEFAULT;
    } else if (strcmp(v, "none") == 0) {
      cfg.opt.stacks = ET_STACKS_NONE;
    } else if (strcmp(v, "dwarf") == 0) {
      cfg.opt.stacks = ET_STACKS_DEFAULT;
      const char *why = NULL;
      if (et__dwarf_init(&why) == 0) {
        cfg.opt.stack_mode = ET_STACKMODE_DWARF;
      } else {
        /* Only said by the process that starts: its forks and execs stay quiet. */
        const char *g = getenv("EXECTRACE_PID");
        if (g == NULL || atoi(g) == getpid())
          say("exectrace: EXECTRACE_STACKS=dwarf needs libunwind (%s); recording with frame-pointer stacks",
              why ? why : "not available");
      }
    } else {
      say("exectrace: EXECTRACE_STACKS='%s' is not fp, dwarf or none; the program runs untraced", v);
      return false;
    }
  }
  return true;
}

/* The kernel tid of a thread just created, from glibc's struct pthread (the
 * kernel wrote it before clone returned; not an access TSan can see). */
__attribute__((no_sanitize_thread, noinline)) static pid_t tid_of(pthread_t th) {
  pid_t tid;
  memcpy(&tid, (const char *)th + tid_offset, sizeof tid);
  return tid;
}

static void find_tid_offset(void) {
  /* libthread_db's description of struct pthread's tid field: {bits, count, offset}. */
  const uint32_t *d = dlsym(RTLD_DEFAULT, "_thread_db_pthread_tid");
  if (d == NULL || d[0] != 32 || d[2] > 4096) return;
  pid_t me = (pid_t)syscall(SYS_gettid);
  pid_t seen;
  memcpy(&seen, (const char *)pthread_self() + d[2], sizeof seen);
  if (seen == me) tid_offset = (int)d[2];
}

static void resolve_all(void) {
  (void)real_pthread_create(); (void)real_pthread_exit(); (void)real_pthread_join();
  (void)real_pthread_timedjoin_np(); (void)real_pthread_setname_np();
  (void)real_pthread_mutex_lock(); (void)real_pthread_mutex_trylock();
  (void)real_pthread_mutex_timedlock(); (void)real_pthread_mutex_clocklock();
  (void)real_pthread_mutex_unlock(); (void)real_pthread_rwlock_rdlock();
  (void)real_pthread_rwlock_wrlock(); (void)real_pthread_rwlock_tryrdlock();
  (void)real_pthread_rwlock_trywrlock(); (void)real_pthread_rwlock_timedrdlock();
  (void)real_pthread_rwlock_timedwrlock(); (void)real_pthread_rwlock_clockrdlock();
  (void)real_pthread_rwlock_clockwrlock(); (void)real_pthread_rwlock_unlock();
  (void)real_pthread_cond_wait(); (void)real_pthread_cond_timedwait();
  (void)real_pthread_cond_clockwait(); (void)real_pthread_cond_signal();
  (void)real_pthread_cond_broadcast(); (void)real_pthread_barrier_wait();
  (void)real_sem_wait(); (void)real_sem_trywait(); (void)real_sem_timedwait();
  (void)real_sem_clockwait(); (void)real_sem_post(); (void)real_nanosleep();
  (void)real_clock_nanosleep(); (void)real_usleep(); (void)real_sleep();
  (void)real_read(); (void)real_write(); (void)real_readv(); (void)real_writev();
  (void)real_pread(); (void)real_pwrite(); (void)real_pread64(); (void)real_pwrite64();
  (void)real___read_chk(); (void)real___pread_chk(); (void)real___pread64_chk();
  (void)real_recv(); (void)real___recv_chk(); (void)real_recvfrom(); (void)real___recvfrom_chk();
  (void)real_recvmsg(); (void)real_send(); (void)real_sendto(); (void)real_sendmsg();
  (void)real_accept(); (void)real_accept4(); (void)real_connect(); (void)real_poll();
  (void)real___poll_chk(); (void)real_ppoll(); (void)real___ppoll_chk(); (void)real_select();
  (void)real_pselect(); (void)real_epoll_wait(); (void)real_epoll_pwait(); (void)real_open();
  (void)real_open64(); (void)real_openat(); (void)real_openat64(); (void)real___open_2();
  (void)real___open64_2(); (void)real___openat_2(); (void)real___openat64_2();
  (void)real_close(); (void)real_fsync(); (void)real_fdatasync(); (void)real_socket();
  (void)real_socketpair(); (void)real_pipe(); (void)real_pipe2(); (void)real_dup();
  (void)real_dup2(); (void)real_dup3(); (void)real_fork(); (void)real_execve();
  (void)real_execvpe(); (void)real_fexecve(); (void)real__exit(); (void)real__Exit();
}

__attribute__((constructor)) static void preload_init(void) {
  int e = errno;
  resolve_all();
  find_tid_offset();
  atomic_store(&live_threads, 1);
  const char *out = getenv("EXECTRACE_OUT");
  if (out == NULL || *out == '\0' || !read_settings()) goto done;
  /* Relative paths are made absolute now: a child or a later image of this
   * process may have changed directory. */
  int n;
  if (out[0] == '/') {
    n = snprintf(cfg.out, sizeof cfg.out, "%s", out);
  } else {
    char cwd[PATH_MAX];
    n = getcwd(cwd, sizeof cwd) ? snprintf(cfg.out, sizeof cfg.out, "%s/%s", cwd, out) : -1;
  }
  if (n < 0 || (size_t)n + 32 >= sizeof cfg.out) {
    say("exectrace: EXECTRACE_OUT='%s' is too long; the program runs untraced", out);
    goto done;
  }
  /* Which process owns EXECTRACE_OUT itself: the one `record` started, or
   * else the first to load this library, which names itself for its children. */
  pid_t me = getpid();
  const char *r = getenv("EXECTRACE_PID");
  unsigned long long v;
  if (r && parse_uint(r, INT_MAX, &v)) {
    cfg.root = (pid_t)v;
  } else {
    char b[24];
    snprintf(b, sizeof b, "%d", (int)me);
    setenv("EXECTRACE_PID", b, 1);
    cfg.root = me;
  }
  if (me != cfg.root && !cfg.follow_fork) goto done; /* a child, not followed */
  /* An image after an exec of this same process writes a trace of its own. */
  const char *x = getenv("EXECTRACE_EXEC");
  if (x) {
    char *end;
    long p = strtol(x, &end, 10);
    if (p == me && *end == ':') cfg.exec_gen = (unsigned)strtoul(end + 1, NULL, 10);
  }
  char path[PATH_MAX];
  trace_path(path, sizeof path, me, cfg.exec_gen);
  cfg.active = true;
  end_key_ok = pthread_key_create(&end_key, thread_end) == 0;
  start_recording(path);
done:
  errno = e;
}

/* ---- threads ---- */

typedef struct start {
  void *(*fn)(void *);
  void *arg;
  _Atomic int state; /* 0, then 1: the child waits for the creator, 2: released */
  _Atomic int refs;
} start;

static void start_unref(start *s) {
  if (atomic_fetch_sub(&s->refs, 1) == 1) free(s);
}

/* The end of a program thread: its return, pthread_exit or cancellation.
 * A pthread key's destructor, not a cleanup handler: nothing of ours is on
 * the stack while a cancelled thread unwinds.  The key is made before the
 * tracer's, so this runs before the tracer retires the thread. */
static void thread_end(void *unused) {
  (void)unused;
  int e = errno;
  if (tl_waiting) { /* cancelled while waiting */
    atomic_fetch_sub(tl_waiting, 1);
    tl_waiting = NULL;
  }
  if (tracing()) {
    if (tl_open == OPEN_BLOCK) et_block_end();
    else if (tl_open == OPEN_SYSCALL) et_syscall_end(-ECANCELED);
    tl_open = OPEN_NONE;
    check_name();
    /* Whoever joins it.  Without a stack: here it would only show the
     * thread's exit path, and after a cancellation the stack below holds
     * the unwound frames' leftovers (which ASan still marks as poisoned). */
    ET_EMIT(wake, WAKE, 0, (uint64_t)(uintptr_t)pthread_self(), 0);
  }
  tl_counted = false;
  /* The last program thread: the writer must not keep the process alive
   * (the main thread may have left with pthread_exit). */
  if (atomic_fetch_sub(&live_threads, 1) == 1) stop_recording();
  errno = e;
}

static void *trampoline(void *p) {
  start *s = p;
  void *(*fn)(void *) = s->fn;
  void *arg = s->arg;
  tl_counted = true;
  /* Wait until the creator has recorded thread_create (it reads our tid
   * from our struct pthread, which must still exist then). */
  if (atomic_exchange(&s->state, 1) == 0)
    while (atomic_load(&s->state) == 1)
      syscall(SYS_futex, &s->state, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
  start_unref(s);
  pthread_setspecific(end_key, (void *)1);
  if (tracing()) {
    int e = errno;
    tl_names_gen = atomic_load(&names_gen);
    prctl(PR_GET_NAME, tl_name, 0, 0, 0);
    /* thread_start and its name, now; with dwarf stacks, libunwind's
     * per-thread state too, here in ordinary context before the thread's
     * code (and its signal handlers) runs. */
    et__thread *t = et__self();
    if (et__g.stack_dwarf) et__dwarf_warm(t);
    errno = e;
  }
  return fn(arg);
}

/* Threads that the tracer's own parts start (the HTTP endpoint's) are the
 * tracer's: nothing they do is traced. */
typedef struct internal_start {
  void *(*fn)(void *);
  void *arg;
} internal_start;

static void *internal_trampoline(void *p) {
  internal_start is = *(internal_start *)p;
  free(p);
  tl_guard = 1;
  return is.fn(is.arg);
}

/* Called by the tracer's parts built into this library (http.c) around the
 * work that starts their threads. */
__attribute__((visibility("hidden"))) void et__internal_begin(void);
__attribute__((visibility("hidden"))) void et__internal_end(void);
__attribute__((visibility("hidden"))) void et__internal_begin(void) { tl_guard++; }
__attribute__((visibility("hidden"))) void et__internal_end(void) { tl_guard--; }

PL_EXPORT int pthread_create(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg) {
  if (tl_guard > 0) {
    int e = errno;
    internal_start *is = malloc(sizeof *is);
    errno = e;
    if (is) {
      *is = (internal_start){fn, arg};
      int r = real_pthread_create()(th, attr, internal_trampoline, is);
      if (r != 0) free(is);
      return r;
    }
  }
  if (!tracing() || !end_key_ok) return real_pthread_create()(th, attr, fn, arg);
  int e = errno;
  start *s = malloc(sizeof *s);
  if (s == NULL) {
    errno = e;
    return real_pthread_create()(th, attr, fn, arg);
  }
  s->fn = fn;
  s->arg = arg;
  atomic_init(&s->state, 0);
  atomic_init(&s->refs, 2);
  atomic_fetch_add(&live_threads, 1);
  errno = e;
  int r = real_pthread_create()(th, attr, trampoline, s);
  e = errno;
  if (r != 0) {
    atomic_fetch_sub(&live_threads, 1);
    free(s);
    errno = e;
    return r;
  }
  if (tid_offset >= 0) {
    pid_t tid = tid_of(*th);
    check_name();
    et_thread_create((uint64_t)tid);
  }
  if (atomic_exchange(&s->state, 2) == 1)
    syscall(SYS_futex, &s->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  start_unref(s);
  errno = e;
  return r;
}

PL_EXPORT void pthread_exit(void *ret) {
  if (!tl_counted && (pid_t)syscall(SYS_gettid) == getpid() && cfg.active) {
    /* The main thread leaves; the others go on. */
    int e = errno;
    if (tracing()) et_wake(0, (const void *)(uintptr_t)pthread_self());
    if (atomic_fetch_sub(&live_threads, 1) == 1) stop_recording();
    errno = e;
  }
  real_pthread_exit()(ret);
  __builtin_unreachable();
}

PL_EXPORT int pthread_join(pthread_t th, void **ret) {
  if (!tracing()) return real_pthread_join()(th, ret);
  opened o = block_begin(ET_REASON_JOIN, (const void *)(uintptr_t)th, false);
  int r = real_pthread_join()(th, ret);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_timedjoin_np(pthread_t th, void **ret, const struct timespec *ts) {
  if (!tracing()) return real_pthread_timedjoin_np()(th, ret, ts);
  opened o = block_begin(ET_REASON_JOIN, (const void *)(uintptr_t)th, false);
  int r = real_pthread_timedjoin_np()(th, ret, ts);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_setname_np(pthread_t th, const char *name) {
  int r = real_pthread_setname_np()(th, name);
  if (r == 0 && tracing()) {
    int e = errno;
    if (pthread_equal(th, pthread_self())) {
      strncpy(tl_name, name, sizeof tl_name - 1);
      tl_name[sizeof tl_name - 1] = '\0';
      et_thread_name(name);
    } else {
      atomic_fetch_add(&names_gen, 1);
    }
    errno = e;
  }
  return r;
}

/* ---- locks ---- */

/* Whether the calling thread owns m (an error-checking mutex's relock fails
 * at once, without waiting). */
static inline bool owns(const pthread_mutex_t *m) {
  return m->__data.__owner != 0 && m->__data.__owner == (int)et_thread_id();
}

PL_EXPORT int pthread_mutex_lock(pthread_mutex_t *m) {
  if (!tracing()) return real_pthread_mutex_lock()(m);
  int r = real_pthread_mutex_trylock()(m);
  if (ET_LIKELY(r == 0)) return 0;
  if (r != EBUSY || owns(m)) return real_pthread_mutex_lock()(m);
  opened o = block_begin(ET_REASON_MUTEX, m, true);
  r = real_pthread_mutex_lock()(m);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *ts) {
  if (!tracing()) return real_pthread_mutex_timedlock()(m, ts);
  int r = real_pthread_mutex_trylock()(m);
  if (ET_LIKELY(r == 0)) return 0;
  if (r != EBUSY || owns(m)) return real_pthread_mutex_timedlock()(m, ts);
  opened o = block_begin(ET_REASON_MUTEX, m, true);
  r = real_pthread_mutex_timedlock()(m, ts);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *ts) {
  if (!tracing()) return real_pthread_mutex_clocklock()(m, c, ts);
  int r = real_pthread_mutex_trylock()(m);
  if (ET_LIKELY(r == 0)) return 0;
  if (r != EBUSY || owns(m)) return real_pthread_mutex_clocklock()(m, c, ts);
  opened o = block_begin(ET_REASON_MUTEX, m, true);
  r = real_pthread_mutex_clocklock()(m, c, ts);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m) {
  if (tracing()) wake_waiters(m, 1);
  return real_pthread_mutex_unlock()(m);
}

#define RWLOCK(name, tryname, ...)                                                           \
  do {                                                                                       \
    if (!tracing()) return real_##name()(__VA_ARGS__);                                       \
    int r = real_##tryname()(l);                                                             \
    if (ET_LIKELY(r == 0)) return 0;                                                         \
    if (r != EBUSY) return real_##name()(__VA_ARGS__);                                       \
    opened o = block_begin(ET_REASON_RWLOCK, l, true);                                       \
    r = real_##name()(__VA_ARGS__);                                                          \
    block_end(o);                                                                            \
    return r;                                                                                \
  } while (0)

PL_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l) {
  RWLOCK(pthread_rwlock_rdlock, pthread_rwlock_tryrdlock, l);
}
PL_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l) {
  RWLOCK(pthread_rwlock_wrlock, pthread_rwlock_trywrlock, l);
}
PL_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts) {
  RWLOCK(pthread_rwlock_timedrdlock, pthread_rwlock_tryrdlock, l, ts);
}
PL_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts) {
  RWLOCK(pthread_rwlock_timedwrlock, pthread_rwlock_trywrlock, l, ts);
}
PL_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *ts) {
  RWLOCK(pthread_rwlock_clockrdlock, pthread_rwlock_tryrdlock, l, c, ts);
}
PL_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *ts) {
  RWLOCK(pthread_rwlock_clockwrlock, pthread_rwlock_trywrlock, l, c, ts);
}

PL_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l) {
  /* A reader's unlock wakes a writer only when it is the last reader; all
   * counted waiters are woken by the write unlock.  Keep it simple: one. */
  if (tracing()) wake_waiters(l, 1);
  return real_pthread_rwlock_unlock()(l);
}

/* ---- condition variables, semaphores, barriers ---- */

PL_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
  if (!tracing()) return real_pthread_cond_wait()(c, m);
  opened o = block_begin(ET_REASON_COND, c, true);
  int r = real_pthread_cond_wait()(c, m);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                     const struct timespec *ts) {
  if (!tracing()) return real_pthread_cond_timedwait()(c, m, ts);
  opened o = block_begin(ET_REASON_COND, c, true);
  int r = real_pthread_cond_timedwait()(c, m, ts);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clk,
                                     const struct timespec *ts) {
  if (!tracing()) return real_pthread_cond_clockwait()(c, m, clk, ts);
  opened o = block_begin(ET_REASON_COND, c, true);
  int r = real_pthread_cond_clockwait()(c, m, clk, ts);
  block_end(o);
  return r;
}

PL_EXPORT int pthread_cond_signal(pthread_cond_t *c) {
  if (tracing()) wake_waiters(c, 1);
  return real_pthread_cond_signal()(c);
}

PL_EXPORT int pthread_cond_broadcast(pthread_cond_t *c) {
  if (tracing()) wake_waiters(c, 64);
  return real_pthread_cond_broadcast()(c);
}

PL_EXPORT int pthread_barrier_wait(pthread_barrier_t *b) {
  if (!tracing()) return real_pthread_barrier_wait()(b);
  opened o = block_begin(ET_REASON_BARRIER, b, false);
  int r = real_pthread_barrier_wait()(b);
  block_end(o);
  return r;
}

#define SEMWAIT(name, ...)                                                                   \
  do {                                                                                       \
    if (!tracing()) return real_##name()(__VA_ARGS__);                                       \
    int e = errno;                                                                           \
    if (real_sem_trywait()(s) == 0) return 0;                                                \
    bool busy = errno == EAGAIN;                                                             \
    errno = e;                                                                               \
    if (!busy) return real_##name()(__VA_ARGS__);                                            \
    opened o = block_begin(ET_REASON_SEM, s, true);                                          \
    int r = real_##name()(__VA_ARGS__);                                                      \
    block_end(o);                                                                            \
    return r;                                                                                \
  } while (0)

PL_EXPORT int sem_wait(sem_t *s) {
  SEMWAIT(sem_wait, s);
}
PL_EXPORT int sem_timedwait(sem_t *s, const struct timespec *ts) {
  SEMWAIT(sem_timedwait, s, ts);
}
PL_EXPORT int sem_clockwait(sem_t *s, clockid_t c, const struct timespec *ts) {
  SEMWAIT(sem_clockwait, s, c, ts);
}

PL_EXPORT int sem_post(sem_t *s) {
  if (tracing()) wake_waiters(s, 1);
  return real_sem_post()(s);
}

/* ---- sleeps ---- */

PL_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem) {
  if (!tracing()) return real_nanosleep()(req, rem);
  opened o = block_begin(ET_REASON_SLEEP, NULL, false);
  int r = real_nanosleep()(req, rem);
  block_end(o);
  return r;
}

PL_EXPORT int clock_nanosleep(clockid_t c, int flags, const struct timespec *req,
                              struct timespec *rem) {
  if (!tracing()) return real_clock_nanosleep()(c, flags, req, rem);
  opened o = block_begin(ET_REASON_SLEEP, NULL, false);
  int r = real_clock_nanosleep()(c, flags, req, rem);
  block_end(o);
  return r;
}

PL_EXPORT int usleep(useconds_t us) {
  if (!tracing()) return real_usleep()(us);
  opened o = block_begin(ET_REASON_SLEEP, NULL, false);
  int r = real_usleep()(us);
  block_end(o);
  return r;
}

PL_EXPORT unsigned sleep(unsigned s) {
  if (!tracing()) return real_sleep()(s);
  opened o = block_begin(ET_REASON_SLEEP, NULL, false);
  unsigned r = real_sleep()(s);
  block_end(o);
  return r;
}

/* ---- I/O ---- */

PL_EXPORT ssize_t read(int fd, void *buf, size_t n) {
  IO(ssize_t, SYS_read, fd, real_read()(fd, buf, n));
}
PL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen) {
  IO(ssize_t, SYS_read, fd, real___read_chk()(fd, buf, n, buflen));
}
PL_EXPORT ssize_t write(int fd, const void *buf, size_t n) {
  IO(ssize_t, SYS_write, fd, real_write()(fd, buf, n));
}
PL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n) {
  IO(ssize_t, SYS_readv, fd, real_readv()(fd, iov, n));
}
PL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n) {
  IO(ssize_t, SYS_writev, fd, real_writev()(fd, iov, n));
}
PL_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off) {
  IO(ssize_t, SYS_pread64, fd, real_pread()(fd, buf, n, off));
}
PL_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off) {
  IO(ssize_t, SYS_pread64, fd, real_pread64()(fd, buf, n, off));
}
PL_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen) {
  IO(ssize_t, SYS_pread64, fd, real___pread_chk()(fd, buf, n, off, buflen));
}
PL_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen) {
  IO(ssize_t, SYS_pread64, fd, real___pread64_chk()(fd, buf, n, off, buflen));
}
PL_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  IO(ssize_t, SYS_pwrite64, fd, real_pwrite()(fd, buf, n, off));
}
PL_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
  IO(ssize_t, SYS_pwrite64, fd, real_pwrite64()(fd, buf, n, off));
}
PL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags) {
  IO(ssize_t, SYS_recvfrom, fd, real_recv()(fd, buf, n, flags));
}
PL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags) {
  IO(ssize_t, SYS_recvfrom, fd, real___recv_chk()(fd, buf, n, buflen, flags));
}
PL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, __SOCKADDR_ARG a,
                           socklen_t *alen) {
  IO(ssize_t, SYS_recvfrom, fd, real_recvfrom()(fd, buf, n, flags, a, alen));
}
PL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
                                 __SOCKADDR_ARG a, socklen_t *alen) {
  IO(ssize_t, SYS_recvfrom, fd, real___recvfrom_chk()(fd, buf, n, buflen, flags, a, alen));
}
PL_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  IO(ssize_t, SYS_recvmsg, fd, real_recvmsg()(fd, msg, flags));
}
PL_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags) {
  IO(ssize_t, SYS_sendto, fd, real_send()(fd, buf, n, flags));
}
PL_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, __CONST_SOCKADDR_ARG a,
                         socklen_t alen) {
  IO(ssize_t, SYS_sendto, fd, real_sendto()(fd, buf, n, flags, a, alen));
}
PL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  IO(ssize_t, SYS_sendmsg, fd, real_sendmsg()(fd, msg, flags));
}
PL_EXPORT int connect(int fd, __CONST_SOCKADDR_ARG a, socklen_t alen) {
  IO(int, SYS_connect, fd, real_connect()(fd, a, alen));
}

PL_EXPORT int accept(int fd, __SOCKADDR_ARG a, socklen_t *alen) {
  int r;
  if (!tracing()) {
    r = real_accept()(fd, a, alen);
  } else {
    uint8_t prev = sys_begin(NR_ACCEPT, fd, ET_FDCLASS_SOCKET);
    r = real_accept()(fd, a, alen);
    sys_end(prev, r);
  }
  if (r >= 0) fd_set_class(r, ET_FDCLASS_SOCKET);
  return r;
}

PL_EXPORT int accept4(int fd, __SOCKADDR_ARG a, socklen_t *alen, int flags) {
  int r;
  if (!tracing()) {
    r = real_accept4()(fd, a, alen, flags);
  } else {
    uint8_t prev = sys_begin(SYS_accept4, fd, ET_FDCLASS_SOCKET);
    r = real_accept4()(fd, a, alen, flags);
    sys_end(prev, r);
  }
  if (r >= 0) fd_set_class(r, ET_FDCLASS_SOCKET);
  return r;
}

PL_EXPORT int poll(struct pollfd *fds, nfds_t n, int timeout) {
  IO(int, NR_POLL, -1, real_poll()(fds, n, timeout));
}
PL_EXPORT int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen) {
  IO(int, NR_POLL, -1, real___poll_chk()(fds, n, timeout, fdslen));
}
PL_EXPORT int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *ss) {
  IO(int, SYS_ppoll, -1, real_ppoll()(fds, n, ts, ss));
}
PL_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts,
                          const sigset_t *ss, size_t fdslen) {
  IO(int, SYS_ppoll, -1, real___ppoll_chk()(fds, n, ts, ss, fdslen));
}
PL_EXPORT int select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv) {
  IO(int, NR_SELECT, -1, real_select()(n, r, w, x, tv));
}
PL_EXPORT int pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
                      const sigset_t *ss) {
  IO(int, SYS_pselect6, -1, real_pselect()(n, r, w, x, ts, ss));
}
PL_EXPORT int epoll_wait(int ep, struct epoll_event *ev, int n, int timeout) {
  IO(int, NR_EPOLL_WAIT, ep, real_epoll_wait()(ep, ev, n, timeout));
}
PL_EXPORT int epoll_pwait(int ep, struct epoll_event *ev, int n, int timeout, const sigset_t *ss) {
  IO(int, SYS_epoll_pwait, ep, real_epoll_pwait()(ep, ev, n, timeout, ss));
}

PL_EXPORT int fsync(int fd) {
  IO(int, SYS_fsync, fd, real_fsync()(fd));
}
PL_EXPORT int fdatasync(int fd) {
  IO(int, SYS_fdatasync, fd, real_fdatasync()(fd));
}

PL_EXPORT int close(int fd) {
  int r;
  if (!tracing()) {
    r = real_close()(fd);
  } else {
    uint8_t prev = sys_begin(SYS_close, fd, fd_class(fd));
    r = real_close()(fd);
    sys_end(prev, r);
  }
  fd_set_class(fd, 0);
  return r;
}

/* Opens: the new descriptor's class is found on its first use. */
static inline bool wants_mode(int flags) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

#define OPEN(nr, dirfd, expr)                                                                \
  do {                                                                                       \
    int r;                                                                                   \
    if (!tracing()) {                                                                        \
      r = expr;                                                                              \
    } else {                                                                                 \
      uint8_t prev = sys_begin(nr, dirfd, ET_FDCLASS_NONE);                                  \
      r = expr;                                                                              \
      sys_end(prev, r);                                                                      \
    }                                                                                        \
    if (r >= 0) fd_set_class(r, 0);                                                          \
    return r;                                                                                \
  } while (0)

#define MODE_ARG(flags)                                                                      \
  mode_t mode = 0;                                                                           \
  if (wants_mode(flags)) {                                                                   \
    va_list ap;                                                                              \
    va_start(ap, flags);                                                                     \
    mode = (mode_t)va_arg(ap, int);                                                          \
    va_end(ap);                                                                              \
  }

PL_EXPORT int open(const char *path, int flags, ...) {
  MODE_ARG(flags);
  OPEN(NR_OPEN, -1, real_open()(path, flags, mode));
}
PL_EXPORT int open64(const char *path, int flags, ...) {
  MODE_ARG(flags);
  OPEN(NR_OPEN, -1, real_open64()(path, flags, mode));
}
PL_EXPORT int openat(int dirfd, const char *path, int flags, ...) {
  MODE_ARG(flags);
  OPEN(SYS_openat, dirfd, real_openat()(dirfd, path, flags, mode));
}
PL_EXPORT int openat64(int dirfd, const char *path, int flags, ...) {
  MODE_ARG(flags);
  OPEN(SYS_openat, dirfd, real_openat64()(dirfd, path, flags, mode));
}
PL_EXPORT int __open_2(const char *path, int flags) {
  OPEN(NR_OPEN, -1, real___open_2()(path, flags));
}
PL_EXPORT int __open64_2(const char *path, int flags) {
  OPEN(NR_OPEN, -1, real___open64_2()(path, flags));
}
PL_EXPORT int __openat_2(int dirfd, const char *path, int flags) {
  OPEN(SYS_openat, dirfd, real___openat_2()(dirfd, path, flags));
}
PL_EXPORT int __openat64_2(int dirfd, const char *path, int flags) {
  OPEN(SYS_openat, dirfd, real___openat64_2()(dirfd, path, flags));
}

/* Descriptors made without events: only their class is noted. */
PL_EXPORT int socket(int domain, int type, int proto) {
  int r = real_socket()(domain, type, proto);
  if (r >= 0) fd_set_class(r, ET_FDCLASS_SOCKET);
  return r;
}
PL_EXPORT int socketpair(int domain, int type, int proto, int sv[2]) {
  int r = real_socketpair()(domain, type, proto, sv);
  if (r == 0) {
    fd_set_class(sv[0], ET_FDCLASS_SOCKET);
    fd_set_class(sv[1], ET_FDCLASS_SOCKET);
  }
  return r;
}
PL_EXPORT int pipe(int fds[2]) {
  int r = real_pipe()(fds);
  if (r == 0) {
    fd_set_class(fds[0], ET_FDCLASS_PIPE);
    fd_set_class(fds[1], ET_FDCLASS_PIPE);
  }
  return r;
}
PL_EXPORT int pipe2(int fds[2], int flags) {
  int r = real_pipe2()(fds, flags);
  if (r == 0) {
    fd_set_class(fds[0], ET_FDCLASS_PIPE);
    fd_set_class(fds[1], ET_FDCLASS_PIPE);
  }
  return r;
}
PL_EXPORT int dup(int fd) {
  int r = real_dup()(fd);
  if (r >= 0) fd_set_class(r, 0);
  return r;
}
PL_EXPORT int dup2(int fd, int fd2) {
  int r = real_dup2()(fd, fd2);
  if (r >= 0) fd_set_class(r, 0);
  return r;
}
PL_EXPORT int dup3(int fd, int fd2, int flags) {
  int r = real_dup3()(fd, fd2, flags);
  if (r >= 0) fd_set_class(r, 0);
  return r;
}

/* ---- fork and exec ---- */

/* The dynamic loader's lock that dl_iterate_phdr takes is not reset in a
 * forked child: a child forked while another thread was inside
 * dl_iterate_phdr would hang when its own recording scanned its mappings.
 * The tracer's writer does that scan every 200 ms, so the tracer's calls
 * (linked with --wrap=dl_iterate_phdr: only the tracer's own references come
 * here, not the program's or a sanitizer's) go through a gate, and a fork
 * that a child will record in waits until none is in progress and holds new
 * ones back. */
static _Atomic int phdr_active, phdr_forking;

int __real_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);
ET_HIDDEN int __wrap_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data);

int __wrap_dl_iterate_phdr(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data) {
  if (!tl_forking) {
    for (;;) {
      atomic_fetch_add(&phdr_active, 1);
      if (ET_LIKELY(atomic_load(&phdr_forking) == 0)) break;
      atomic_fetch_sub(&phdr_active, 1);
      while (atomic_load(&phdr_forking) != 0) sched_yield();
    }
  }
  int r = __real_dl_iterate_phdr(cb, data);
  if (!tl_forking) atomic_fetch_sub(&phdr_active, 1);
  return r;
}

/* Closes the gate; false if a dl_iterate_phdr did not finish within 200 ms
 * (its callback may wait for something this thread holds). */
static bool phdr_gate_close(void) {
  atomic_fetch_add(&phdr_forking, 1);
  for (int i = 0; atomic_load(&phdr_active) != 0; i++) {
    if (i >= 2000) return false;
    struct timespec ts = {0, 100000};
    real_nanosleep()(&ts, NULL);
  }
  return true;
}

PL_EXPORT pid_t fork(void) {
  bool here = recording_here() && tracing();
  if (!here) return real_fork()();
  uint8_t prev = sys_begin(NR_FORK, -1, ET_FDCLASS_NONE);
  int e = errno;
  bool quiet = cfg.follow_fork && phdr_gate_close();
  tl_forking = true;
  errno = e;
  pid_t r = real_fork()();
  e = errno;
  tl_forking = false;
  if (cfg.follow_fork) atomic_fetch_sub(&phdr_forking, 1);
  if (r != 0) {
    errno = e;
    sys_end(prev, r);
    return r;
  }
  /* The child: the tracer turned itself off in its fork handler.  Only this
   * thread exists now; the counts of the parent's threads mean nothing. */
  atomic_store(&phdr_active, 0);
  atomic_store(&phdr_forking, 0);
  tl_open = prev;
  tl_waiting = NULL;
  reset_waiters();
  atomic_store(&live_threads, 1);
  tl_counted = false;
  cfg.exec_gen = 0;
  if (cfg.follow_fork) {
    char path[PATH_MAX];
    trace_path(path, sizeof path, getpid(), 0);
    if (quiet)
      start_recording(path);
    else
      say("exectrace: not recording forked child %d: the dynamic loader stayed busy", (int)getpid());
  }
  errno = e;
  return 0;
}

/* An environment for the next image of this process: EXECTRACE_OUT
 * absolute, EXECTRACE_PID the root, EXECTRACE_EXEC this pid and the image's
 * number.  mmap'd (unmapped by the caller after a failed exec). */
typedef struct newenv {
  char **env;
  size_t len;
} newenv;

static bool has_key(const char *kv, const char *key) {
  size_t n = strlen(key);
  return strncmp(kv, key, n) == 0 && kv[n] == '=';
}

static newenv make_env(char *const *envp, unsigned gen) {
  newenv ne = {NULL, 0};
  size_t n = 0, bytes = 0;
  for (; envp && envp[n]; n++) {}
  char extra[3][PATH_MAX + 32];
  snprintf(extra[0], sizeof extra[0], "EXECTRACE_OUT=%s", cfg.out);
  snprintf(extra[1], sizeof extra[1], "EXECTRACE_PID=%d", (int)cfg.root);
  snprintf(extra[2], sizeof extra[2], "EXECTRACE_EXEC=%d:%u", (int)getpid(), gen);
  for (int i = 0; i < 3; i++) bytes += strlen(extra[i]) + 1;
  ne.len = (n + 4) * sizeof(char *) + bytes;
  void *m = mmap(NULL, ne.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return (newenv){NULL, 0};
  ne.env = m;
  char *strs = (char *)m + (n + 4) * sizeof(char *);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (!has_key(envp[i], "EXECTRACE_OUT") && !has_key(envp[i], "EXECTRACE_PID") &&
        !has_key(envp[i], "EXECTRACE_EXEC"))
      ne.env[k++] = envp[i];
  for (int i = 0; i < 3; i++) {
    size_t l = strlen(extra[i]) + 1;
    memcpy(strs, extra[i], l);
    ne.env[k++] = strs;
    strs += l;
  }
  ne.env[k] = NULL;
  return ne;
}

/* Would an exec of file (searched in PATH if it has no slash) find a program? */
static bool exec_likely(const char *file, bool search) {
  if (file == NULL || *file == '\0') return false;
  if (!search || strchr(file, '/')) return access(file, X_OK) == 0;
  const char *path = getenv("PATH");
  if (path == NULL) path = "/bin:/usr/bin";
  size_t fl = strlen(file);
  for (const char *p = path;;) {
    const char *c = strchr(p, ':');
    size_t dl = c ? (size_t)(c - p) : strlen(p);
    char buf[PATH_MAX];
    if (dl + fl + 2 <= sizeof buf) {
      memcpy(buf, dl ? p : ".", dl ? dl : 1);
      size_t o = dl ? dl : 1;
      buf[o++] = '/';
      memcpy(buf + o, file, fl + 1);
      if (access(buf, X_OK) == 0) return true;
    }
    if (!c) return false;
    p = c + 1;
  }
}

enum exec_kind { EX_EXECVE, EX_EXECVPE, EX_FEXECVE };

/* Finishes this image's trace and execs; after a failed exec, recording
 * goes on into the trace the next image would have written. */
static int do_exec(enum exec_kind kind, int fd, const char *file, char *const argv[],
                   char *const envp[]) {
  bool here = cfg.active && recording_here() && !tl_guard;
  int e = errno;
  if (here && kind != EX_FEXECVE && !exec_likely(file, kind == EX_EXECVPE)) here = false;
  errno = e;
  newenv ne = {NULL, 0};
  if (here) {
    ne = make_env(envp, cfg.exec_gen + 1);
    if (ne.env == NULL) here = false;
  }
  char *const *env = here ? ne.env : envp;
  if (here) stop_recording();
  errno = e;
  int r = kind == EX_EXECVE    ? real_execve()(file, argv, env)
          : kind == EX_EXECVPE ? real_execvpe()(file, argv, env)
                               : real_fexecve()(fd, argv, env);
  e = errno;
  if (here) {
    munmap(ne.env, ne.len);
    cfg.exec_gen++;
    char path[PATH_MAX];
    trace_path(path, sizeof path, getpid(), cfg.exec_gen);
    start_recording(path);
  }
  errno = e;
  return r;
}

PL_EXPORT int execve(const char *path, char *const argv[], char *const envp[]) {
  return do_exec(EX_EXECVE, -1, path, argv, envp);
}
PL_EXPORT int execv(const char *path, char *const argv[]) {
  return do_exec(EX_EXECVE, -1, path, argv, environ);
}
PL_EXPORT int execvp(const char *file, char *const argv[]) {
  return do_exec(EX_EXECVPE, -1, file, argv, environ);
}
PL_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[]) {
  return do_exec(EX_EXECVPE, -1, file, argv, envp);
}
PL_EXPORT int fexecve(int fd, char *const argv[], char *const envp[]) {
  return do_exec(EX_FEXECVE, fd, NULL, argv, envp);
}

/* The execl family: the arguments into an mmap'd array, then as above. */
static int execl_common(enum exec_kind kind, const char *file, const char *arg0, va_list ap,
                        bool with_env) {
  size_t n = 0;
  if (arg0 != NULL) {
    va_list cp;
    va_copy(cp, ap);
    for (n = 1; va_arg(cp, const char *) != NULL; n++) {}
    va_end(cp);
  }
  size_t len = (n + 1) * sizeof(char *);
  void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    errno = ENOMEM;
    return -1;
  }
  char **argv = m;
  if (n > 0) {
    argv[0] = (char *)arg0;
    for (size_t i = 1; i < n; i++) argv[i] = va_arg(ap, char *);
    (void)va_arg(ap, char *); /* the NULL that ends them */
  }
  argv[n] = NULL;
  char *const *envp = with_env ? va_arg(ap, char *const *) : environ;
  int r = do_exec(kind, -1, file, argv, envp);
  int e = errno;
  munmap(m, len);
  errno = e;
  return r;
}

PL_EXPORT int execl(const char *path, const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int r = execl_common(EX_EXECVE, path, arg, ap, false);
  va_end(ap);
  return r;
}
PL_EXPORT int execlp(const char *file, const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int r = execl_common(EX_EXECVPE, file, arg, ap, false);
  va_end(ap);
  return r;
}
PL_EXPORT int execle(const char *path, const char *arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int r = execl_common(EX_EXECVE, path, arg, ap, true);
  va_end(ap);
  return r;
}

/* _exit skips atexit, where the tracer finishes its trace: finish it here
 * (shells such as dash leave with _exit).  Not in a vfork child, which
 * shares the parent's memory but not its recording. */
PL_EXPORT void _exit(int status) {
  if (recording_here() && !tl_guard) stop_recording();
  real__exit()(status);
  __builtin_unreachable();
}

PL_EXPORT void _Exit(int status) {
  if (recording_here() && !tl_guard) stop_recording();
  real__Exit()(status);
  __builtin_unreachable();
}

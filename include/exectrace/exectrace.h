/* exectrace: the tracing API.
 *
 * Link with libexectrace (pkg-config exectrace) and call et_start() to record
 * an execution trace of the whole process into a file; mark requests with
 * tasks, regions and logs as Go's runtime/trace does; describe waits, wakes,
 * system calls, garbage collections and counters that the tracer cannot see
 * by itself.  Every function is safe to call from any thread at any time,
 * including before et_start() and after et_stop() (then it does nothing), and
 * from signal handlers.  No call blocks on I/O: events go to per-thread
 * buffers that a background thread writes out; if the writer falls behind,
 * events are dropped and counted in the trace, never silently lost.
 *
 * Errors are 0 or a negative number: -errno for system errors, or one of the
 * ET_E* codes below; et_strerror() names them.
 */
#ifndef EXECTRACE_EXECTRACE_H
#define EXECTRACE_EXECTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exectrace/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ET_EXPORT __attribute__((visibility("default")))
#else
#define ET_EXPORT
#endif

/* exectrace's own error codes, in a range no errno uses. */
enum et_error {
  ET_E_BASE = -10000,
  ET_E_ACTIVE = -10001,   /* recording is already on */
  ET_E_INACTIVE = -10002, /* recording is off */
  ET_E_FORMAT = -10003,   /* not an exectrace trace */
  ET_E_VERSION = -10004,  /* the trace needs a newer reader */
  ET_E_CORRUPT = -10005,  /* the trace is damaged beyond use */
  ET_E_FORKED = -10006,   /* called in a forked child of the recording process */
  ET_E_LIMIT = -10007,    /* a size or count is out of its allowed range */
};

/* Returns a static, human-readable message for an error code (never NULL). */
ET_EXPORT const char *et_strerror(int err);

/* Reasons a thread waits (et_block_begin).  Wire values; never renumbered. */
enum et_reason {
  ET_REASON_OTHER = 0,
  ET_REASON_MUTEX = 1,
  ET_REASON_RWLOCK = 2,
  ET_REASON_COND = 3,
  ET_REASON_SEM = 4,
  ET_REASON_JOIN = 5,
  ET_REASON_BARRIER = 6,
  ET_REASON_SLEEP = 7,
  ET_REASON_NET = 8,
  ET_REASON_FILE = 9,
  ET_REASON_POLL = 10, /* select, poll, epoll */
  ET_REASON_PIPE = 11,
  ET_REASON_USER = 12,
  ET_REASON_GC = 13,
};

/* Kinds of file descriptor (et_syscall_begin). */
enum et_fdclass {
  ET_FDCLASS_NONE = 0,
  ET_FDCLASS_SOCKET = 1,
  ET_FDCLASS_FILE = 2,
  ET_FDCLASS_PIPE = 3,
  ET_FDCLASS_OTHER = 4,
};

/* Which events carry stacks. */
enum et_stacks {
  ET_STACKS_DEFAULT = 0, /* blocking, wakes, syscalls, thread creation, tasks, logs, samples */
  ET_STACKS_NONE = 1,    /* no stacks at all (cheapest) */
  ET_STACKS_ALL = 2,     /* also region begins */
};

/* Clock sources. */
enum et_clock {
  ET_CLOCKSRC_AUTO = 0,      /* TSC when it is invariant, else CLOCK_MONOTONIC */
  ET_CLOCKSRC_TSC = 1,       /* rdtsc, calibrated against CLOCK_MONOTONIC */
  ET_CLOCKSRC_MONOTONIC = 2, /* clock_gettime(CLOCK_MONOTONIC) */
};

/* Options for et_start_opts().  Initialise with et_options_init(), then set
 * what you need; struct_size lets later versions add fields. */
typedef struct et_options {
  size_t struct_size;
  size_t buffer_size;    /* bytes of event buffers in all (default 64 MiB; 1 MiB..16 GiB) */
  size_t chunk_size;     /* bytes per buffer chunk (default 64 KiB; 4 KiB..16 MiB, power of two) */
  unsigned stack_depth;  /* frames per stack (default 32; 1..128) */
  int stacks;            /* enum et_stacks */
  int clock;             /* enum et_clock */
  int fd;                /* with a NULL path: write to this descriptor (not closed by et_stop) */
  unsigned flush_ms;     /* write idle threads' partial buffers this often (default 1000) */
  bool block_when_full;  /* wait for buffer space instead of dropping (default false) */
  unsigned cpu_hz;       /* CPU samples per second of each thread's CPU time (default 0: none;
                            up to 10000); uses SIGPROF and a timer per thread */
} et_options;

/* Fills o with the defaults. */
ET_EXPORT void et_options_init(et_options *o);

/* Begins recording the whole process into the file at path (created or
 * truncated) [Go: trace.Start].  Returns 0, ET_E_ACTIVE, or -errno. */
ET_EXPORT int et_start(const char *path);

/* et_start with options; path may be NULL when o->fd >= 0. */
ET_EXPORT int et_start_opts(const char *path, const et_options *o);

/* Stops recording, writes every buffered event and closes the file
 * [Go: trace.Stop].  Returns 0, ET_E_INACTIVE, or -errno of a failed write.
 * Called automatically at process exit if recording is still on. */
ET_EXPORT int et_stop(void);

/* True while recording [Go: trace.IsEnabled]. */
ET_EXPORT bool et_enabled(void);

/* Starts a task of the given type; parent 0 means none.  Returns the new
 * task's id (never 0 while recording; 0 when recording is off)
 * [Go: trace.NewTask]. */
ET_EXPORT uint64_t et_task_begin(uint64_t parent, const char *type);

/* Ends a task [Go: Task.End]. */
ET_EXPORT void et_task_end(uint64_t task);

/* Begins and ends a region of work on this thread, optionally for a task
 * (0 = none); regions nest [Go: trace.StartRegion, Region.End]. */
ET_EXPORT void et_region_begin(uint64_t task, const char *name);
ET_EXPORT void et_region_end(uint64_t task, const char *name);

/* Logs a message in a category for a task (0 = none) [Go: trace.Log].
 * Messages longer than 4096 bytes are cut, and the cut is counted. */
ET_EXPORT void et_log(uint64_t task, const char *category, const char *message);

/* Names the calling thread in the trace. */
ET_EXPORT void et_thread_name(const char *name);

/* Records that the calling thread created thread child (a kernel tid). */
ET_EXPORT void et_thread_create(uint64_t child_tid);

/* Returns the calling thread's kernel thread id, the id traces use. */
ET_EXPORT uint64_t et_thread_id(void);

/* The calling thread begins waiting (enum et_reason) on object, which may be
 * NULL; et_block_end() ends the wait. */
ET_EXPORT void et_block_begin(int reason, const void *object);
ET_EXPORT void et_block_end(void);

/* The calling thread makes thread tid runnable; with tid 0, one waiter on
 * object (the trace reader matches it to the thread whose wait ends next). */
ET_EXPORT void et_wake(uint64_t tid, const void *object);

/* The calling thread enters system call nr, on fd (or -1) of a class (enum
 * et_fdclass); et_syscall_end() records its result. */
ET_EXPORT void et_syscall_begin(long nr, int fd, int fdclass);
ET_EXPORT void et_syscall_end(long result);

/* Garbage collection: a collection, its phases, stop-the-world pauses. */
ET_EXPORT void et_gc_begin(void);
ET_EXPORT void et_gc_end(void);
ET_EXPORT void et_gc_phase_begin(const char *name);
ET_EXPORT void et_gc_phase_end(void);
ET_EXPORT void et_stw_begin(const char *reason);
ET_EXPORT void et_stw_end(void);

/* Heap counters: live bytes and the collector's goal. */
ET_EXPORT void et_heap_live(uint64_t bytes);
ET_EXPORT void et_heap_goal(uint64_t bytes);

/* A user counter named name takes value. */
ET_EXPORT void et_counter(const char *name, int64_t value);

#ifdef __cplusplus
}
#endif

#endif

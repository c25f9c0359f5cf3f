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

/* How stacks are taken (et_options.stack_mode). */
enum et_stack_mode {
  ET_STACKMODE_FP = 0,    /* walk frame pointers (default; fastest, needs code built with them) */
  ET_STACKMODE_DWARF = 1, /* unwind with the unwind tables (.eh_frame) through libunwind:
                             code built without frame pointers too; costs more per stack */
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
  int stack_mode;        /* enum et_stack_mode (default ET_STACKMODE_FP); DWARF needs a build
                            with libunwind and libunwind.so.8 at run time, else et_start_opts
                            returns -ENOTSUP */
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

/* ---- Flight recorder (docs/live.md) ---- */

/* Keeps recording on into a bounded ring in memory: the last max_bytes of
 * event chunks (64 KiB..64 GiB), oldest dropped first; min_age_ns is the
 * window wanted (0: none), counted as not met when chunks younger than it
 * are dropped.  Starts a recording without a file if none is running (with
 * default options), else joins the running one.  With EXECTRACE_FLIGHT_SIGNAL
 * set (a number or a name such as USR2), that signal takes a snapshot into
 * EXECTRACE_FLIGHT_DIR (default: the working directory).  Returns 0,
 * ET_E_ACTIVE if already on, ET_E_LIMIT, or -errno. */
ET_EXPORT int et_flight_start(size_t max_bytes, uint64_t min_age_ns);

/* Writes a complete trace of the ring's window to fd (header, definitions,
 * the ring's chunks, what threads have buffered, END) without stopping the
 * recording.  Blocks until written.  0, ET_E_INACTIVE, or -errno. */
ET_EXPORT int et_flight_snapshot(int fd);

/* Makes signal signo (0: none) take a snapshot into the file
 * dir/flight-PID-N.etrace (dir NULL: "."); the handler only sets a flag and
 * wakes the writer, which is async-signal-safe. */
ET_EXPORT int et_flight_signal(int signo, const char *dir);

/* The ring's accounting. */
typedef struct et_flight_info {
  size_t bytes;             /* bytes of chunks held (never above max_bytes) */
  size_t max_bytes;         /* the ring's size */
  uint64_t dropped_chunks;  /* chunks pushed out (or too big for the ring) */
  uint64_t dropped_young;   /* of those, pushed out younger than min_age_ns */
  uint64_t snapshots;       /* snapshots taken by the signal */
} et_flight_info;
ET_EXPORT int et_flight_stats(et_flight_info *out);

/* Stops the flight recorder and frees the ring; the recording stops too if
 * nothing else uses it. */
ET_EXPORT int et_flight_stop(void);

/* ---- Live capture (docs/live.md) ---- */

/* A capture: a complete trace of the next duration_ns, produced as it is
 * recorded, for a reader (the HTTP endpoint uses it).  Starts a recording
 * without a file for its duration if none is running, else joins it; any
 * number of captures may overlap, each getting a whole trace.  The bytes
 * wait in memory for the reader (at most 256 MiB; a reader further behind
 * gets its trace cut there, without END). */
typedef struct et_capture et_capture;
ET_EXPORT int et_capture_start(uint64_t duration_ns, et_capture **out);

/* Takes up to len bytes of the trace; waits up to timeout_ms (-1: no limit)
 * for some.  Returns the count, 0 at the end, -EAGAIN on timeout. */
ET_EXPORT long et_capture_read(et_capture *c, void *buf, size_t len, int timeout_ms);

/* Ends the capture (early, if its time is not up: END is then written at
 * once) and frees it.  Returns 0 if the trace was complete, else an error. */
ET_EXPORT int et_capture_close(et_capture *c);

/* ---- HTTP endpoint (libexectrace-http, docs/live.md) ---- */

/* Starts the endpoint (/debug/pprof/...) on addr "HOST:PORT" (NULL:
 * "127.0.0.1:6060"; port 0 picks one) in its own threads.  A host other than
 * a loopback address needs the token in EXECTRACE_HTTP_TOKEN.  Returns the
 * bound port, or a negative error (ET_E_ACTIVE if already started). */
ET_EXPORT int et_http_start(const char *addr);

/* Stops the endpoint, ending its captures. */
ET_EXPORT void et_http_stop(void);

#ifdef __cplusplus
}
#endif

#endif

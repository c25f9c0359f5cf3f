/* exectrace: the trace reader and model API.
 *
 * et_trace_open() loads a trace file into a model: per-thread, time-ordered
 * events with strings and stacks resolved, each thread's state over time
 * (running, runnable, blocked by reason, in a system call, stopped by GC),
 * tasks, mappings and clock, plus warnings that say exactly what was lost
 * when the file is truncated or damaged.  Loading never fails on damage: it
 * fails only when the input is not a trace at all (ET_E_FORMAT), needs a
 * newer reader (ET_E_VERSION), or cannot be read (-errno).
 *
 * et_trace_stream() reads a trace (a file or a pipe) once, in file order,
 * handing each event to a callback without building the model, for tools
 * that need no random access.
 *
 * Link with libexectrace-reader (pkg-config exectrace-reader).
 */
#ifndef EXECTRACE_READER_H
#define EXECTRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exectrace/exectrace.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct et_trace et_trace;

#define ET_EVENT_MAX_FIELDS 4

/* One decoded event. */
typedef struct et_event {
  uint64_t time;   /* nanoseconds since the trace's start */
  uint64_t tid;    /* the thread that emitted it */
  uint32_t stack;  /* the event's stack id (its K field), 0 for none */
  uint8_t kind;    /* wire number (ET_EV_* in the catalogue) */
  uint8_t stream;  /* 0: ordinary context, 1: signal handler */
  uint8_t nfields;
  uint64_t field[ET_EVENT_MAX_FIELDS]; /* catalogue order; S and K are ids, I is int64_t
                                          stored two's complement, B is the length */
  const char *bytes;                   /* the B field's bytes (not NUL-terminated), or NULL */
} et_event;

/* Field types (et_trace_field_type), as their catalogue letters. */
enum et_field {
  ET_FIELD_U = 'U', /* unsigned */
  ET_FIELD_I = 'I', /* signed */
  ET_FIELD_T = 'T', /* thread id */
  ET_FIELD_P = 'P', /* object address */
  ET_FIELD_S = 'S', /* string id */
  ET_FIELD_K = 'K', /* stack id */
  ET_FIELD_B = 'B', /* bytes */
};

/* Whole-trace facts. */
typedef struct et_trace_info {
  uint64_t events;        /* events decoded */
  uint64_t bytes;         /* size of the input */
  uint64_t dropped;       /* events the tracer lost (DROP records / END totals) */
  uint64_t lost_chunks;   /* damaged or missing chunks skipped by the reader */
  uint64_t lost_bytes;    /* bytes of input skipped by the reader */
  uint64_t start_ns;      /* CLOCK_MONOTONIC time of the trace's start */
  uint64_t duration_ns;   /* from the start to the last event or sync point */
  uint64_t wall_start_ns; /* CLOCK_REALTIME at the start */
  uint64_t pid;
  const char *exe;        /* "" if unknown */
  const char *cmdline;    /* arguments separated by spaces */
  bool complete;          /* the trace ends with an END record */
  uint64_t cpu_period_ns; /* CPU sampling period asked for (1e9 / cpu_hz), 0 if none */
} et_trace_info;

typedef struct et_thread_info {
  uint64_t tid;
  uint64_t parent;  /* creator's tid, 0 if unknown */
  const char *name; /* "" if never named */
  uint64_t events;
  uint64_t first, last; /* times of its first and last events */
  uint64_t dropped;
  uint64_t pid;     /* its process's pid, 0 if unknown */
  uint64_t os_tid;  /* its id in its process: tid, unless a trace of several
                       processes renumbered it (another process had that id) */
  size_t process;   /* its process, for et_trace_process() */
} et_thread_info;

typedef struct et_mapping {
  uint64_t start, limit, offset;
  const char *path;
  const uint8_t *build_id;
  size_t build_id_len;
} et_mapping;

/* A process of the trace: one for a trace of one program; several for a
 * CTF directory of several traces or processes (LTTng from several hosts). */
typedef struct et_process_info {
  uint64_t pid;            /* 0 if unknown */
  const char *name;        /* "" if unknown */
  const char *host;        /* "" if unknown */
  size_t nthreads;
  const size_t *threads;   /* its threads' indexes (et_trace_thread), increasing */
  uint64_t events;         /* events of its threads */
  uint64_t dropped;        /* events its threads lost */
  size_t nmappings;
  const et_mapping *mappings; /* its own executable mappings */
} et_process_info;

/* Thread states over time. */
enum et_state {
  ET_STATE_RUNNING = 1,  /* on CPU, or at least not waiting on anything we saw */
  ET_STATE_RUNNABLE = 2, /* woken, not yet running again (scheduler latency) */
  ET_STATE_BLOCKED = 3,  /* waiting; reason holds enum et_reason */
  ET_STATE_SYSCALL = 4,  /* in a system call; reason holds enum et_fdclass */
  ET_STATE_GC = 5,       /* stopped by a stop-the-world pause */
  ET_STATE_COUNT
};

/* A span of one thread's state; it ends where the next span starts, the
 * thread's last span at the thread's last event.  For BLOCKED and SYSCALL
 * spans, stack is the stack of the event that began the wait; for RUNNABLE
 * spans, the stack of the wake that made the thread runnable. */
typedef struct et_span {
  uint64_t start;
  uint32_t stack;
  uint8_t state;
  uint8_t reason;
  uint16_t flags; /* ET_SPAN_* */
} et_span;

/* The span continues a wait or system call that a nested one interrupted
 * (the same wait: a profile counts it once). */
#define ET_SPAN_RESUMED 1u

typedef struct et_task {
  uint64_t id, parent;
  const char *type;
  uint64_t begin, end; /* end is UINT64_MAX if the task never ended in the trace */
  uint64_t tid;        /* the thread that began it */
} et_task;

/* Loads a trace from a file ("-" reads standard input), or from a CTF
 * trace directory (exectrace's CTF export, or an LTTng trace of the
 * exectrace tracepoint provider) when the reader is built with
 * libbabeltrace2.  On success *out must be freed with et_trace_close();
 * warnings say what was lost. */
ET_EXPORT int et_trace_open(const char *path, et_trace **out);

/* More about why this thread's last et_trace_open() or et_trace_open_walk()
 * failed, when there is more to say than the error code (what libbabeltrace2
 * said of a CTF directory); "" otherwise. */
ET_EXPORT const char *et_trace_error_detail(void);

/* Loads a trace from memory (copied). */
ET_EXPORT int et_trace_open_mem(const void *data, size_t len, et_trace **out);

ET_EXPORT void et_trace_close(et_trace *t);

ET_EXPORT const et_trace_info *et_trace_get_info(const et_trace *t);

/* Warnings about damage and loss, in the order found. */
ET_EXPORT size_t et_trace_warning_count(const et_trace *t);
ET_EXPORT const char *et_trace_warning(const et_trace *t, size_t i);

/* The catalogue as the trace declares it, less the kinds that only encode
 * other events: region_end_last (handed out as region_end) and region_last
 * (not an event), see docs/format.md. */
ET_EXPORT const char *et_trace_kind_name(const et_trace *t, unsigned kind); /* NULL if unknown */
ET_EXPORT unsigned et_trace_field_count(const et_trace *t, unsigned kind);
ET_EXPORT const char *et_trace_field_name(const et_trace *t, unsigned kind, unsigned field);
ET_EXPORT int et_trace_field_type(const et_trace *t, unsigned kind, unsigned field);
ET_EXPORT uint64_t et_trace_kind_count(const et_trace *t, unsigned kind);
/* Kind number for a name, or -1. */
ET_EXPORT int et_trace_kind_by_name(const et_trace *t, const char *name);

/* Strings and stacks by id: NULL / 0 frames when unknown. */
ET_EXPORT const char *et_trace_string(const et_trace *t, uint64_t id);
ET_EXPORT size_t et_trace_stack(const et_trace *t, uint64_t id, const uint64_t **frames);
ET_EXPORT size_t et_trace_stack_count(const et_trace *t);     /* distinct stacks defined */
/* The smallest defined stack id above after (start with 0), or 0 when none is left. */
ET_EXPORT uint64_t et_trace_stack_next(const et_trace *t, uint64_t after);

ET_EXPORT size_t et_trace_mapping_count(const et_trace *t);
ET_EXPORT const et_mapping *et_trace_mapping(const et_trace *t, size_t i);

ET_EXPORT size_t et_trace_thread_count(const et_trace *t);
ET_EXPORT const et_thread_info *et_trace_thread(const et_trace *t, size_t i);

/* The processes (at least one once loaded), in the order the trace lists
 * them; every thread belongs to exactly one. */
ET_EXPORT size_t et_trace_process_count(const et_trace *t);
ET_EXPORT const et_process_info *et_trace_process(const et_trace *t, size_t i);

/* The state spans of thread i, in time order. */
ET_EXPORT size_t et_trace_spans(const et_trace *t, size_t i, const et_span **spans);
ET_EXPORT const char *et_state_name(unsigned state);
/* Names of enum values: reasons ("mutex"), fd classes ("socket"), drop reasons. */
ET_EXPORT const char *et_reason_name(unsigned reason);
ET_EXPORT const char *et_fdclass_name(unsigned fdclass);
ET_EXPORT const char *et_drop_reason_name(unsigned reason);

ET_EXPORT size_t et_trace_task_count(const et_trace *t);
ET_EXPORT const et_task *et_trace_task(const et_trace *t, size_t i);

/* Iterates one thread's events in time order. */
typedef struct et_cursor {
  uint64_t opaque[64];
} et_cursor;
ET_EXPORT void et_cursor_init(et_cursor *c, const et_trace *t, size_t thread);
ET_EXPORT bool et_cursor_next(et_cursor *c, et_event *ev);

/* Calls fn for every event of every thread in time order; stops early and
 * returns fn's value if it is non-zero. */
ET_EXPORT int et_trace_for_each(const et_trace *t, int (*fn)(void *arg, const et_event *ev), void *arg);

/* The walk: every event of every thread in time order (ties: by thread
 * index), and each thread's state spans as the model derives them, without
 * storing either.  A thread's span comes once it is final, after the
 * thread's events before its start; thread_end says when its last span ends
 * (its last event).  Any handler may be NULL; a non-zero return stops the
 * walk and is returned.  kinds, when not NULL, says which event kinds
 * (kinds[kind] != 0) reach event(), and span_states which spans reach
 * span(): a handler that needs a few saves a call for each of the others. */
typedef struct et_walk_handlers {
  int (*event)(void *arg, const et_trace *t, size_t thread, const et_event *ev);
  int (*span)(void *arg, const et_trace *t, size_t thread, const et_span *span);
  int (*thread_end)(void *arg, const et_trace *t, size_t thread, uint64_t last);
  const unsigned char *kinds; /* 256 entries, or NULL for every kind */
  /* Bit (1u << state) for each state whose spans span() needs, 0 for all:
   * then only those spans come, each with the span that follows it (which
   * says when it ends). */
  unsigned span_states;
} et_walk_handlers;

/* Walks a loaded trace again. */
ET_EXPORT int et_trace_walk(const et_trace *t, const et_walk_handlers *h, void *arg);

/* Loads a trace as et_trace_open does, handing the events and spans to h
 * during the load's own walk instead of keeping the spans: one pass, and
 * memory that does not grow with the events.  While it runs, the trace's
 * strings, stacks, mappings, catalogue, clock and processes are available
 * (the thread's argument indexes et_trace_thread; its pid and process are
 * set), but threads' names and counts, the processes' counts, tasks and
 * the info's totals are final only once it returns.
 * Afterwards *out is the model without spans (et_trace_spans gives none). */
ET_EXPORT int et_trace_open_walk(const char *path, const et_walk_handlers *h, void *arg, et_trace **out);

/* Streaming: events in file order (each thread's in time order), with
 * strings, stacks and clock known so far available through t. */
typedef struct et_stream_handlers {
  int (*event)(void *arg, const et_trace *t, const et_event *ev); /* non-zero stops */
  void (*warning)(void *arg, const char *msg);                     /* may be NULL */
} et_stream_handlers;

ET_EXPORT int et_trace_stream(const char *path, const et_stream_handlers *h, void *arg);

#ifdef __cplusplus
}
#endif

#endif

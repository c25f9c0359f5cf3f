/* A recording session: what et_start() sets up and et_stop() tears down.
 *
 * Shared by the slow paths (buffer.c, intern.c), the writer thread (writer.c)
 * and the public entry points (api.c).  Nothing here is touched on the fast
 * path except through the pointers cached in et__g and et__thread.
 */
#ifndef EXECTRACE_TRACER_SESSION_H
#define EXECTRACE_TRACER_SESSION_H

#include <pthread.h>
#include <sys/types.h>

#include "tracer.h"

/* A string or stack in the intern tables; also the node of the list of
 * definitions the writer has yet to write. */
typedef struct et__meta {
  struct et__meta *next;
  uint64_t hash;
  uint32_t id;
  uint32_t len;  /* string bytes (without NUL), or frame count */
  uint8_t type;  /* ET_CHUNK_STRINGS or ET_CHUNK_STACKS */
  _Alignas(8) unsigned char data[]; /* char[len + 1] or uintptr_t[len] */
} et__meta;

/* Lock-free insert-only hash table over an append-only arena.  Each entry
 * takes the next id when it is made; an entry that loses the race to fill a
 * slot leaves a gap in the ids, which readers accept. */
typedef struct et__table {
  _Atomic(et__meta *) *slots;
  uint32_t cap; /* power of two */
  _Atomic uint32_t count;
  _Atomic uint32_t next_id; /* ids are dense, so they encode in few bytes */
  _Atomic(et__meta *) *by_id; /* id -> entry, for ids below cap (et__table_get) */
  uint8_t *arena;
  size_t arena_cap;
  _Atomic size_t arena_used;
  uint8_t type;
} et__table;

/* A block of bytes queued for a live capture's reader. */
typedef struct et__qblock {
  struct et__qblock *next;
  size_t len, off;
  uint8_t data[];
} et__qblock;

/* An output of the writer: the file of et_start(), a live capture (queued in
 * memory for a reader, see et_capture_start), or a one-shot flight snapshot.
 * Each receives a whole trace: the prologue and every definition made so far
 * when it is attached, the events from then on, END when it ends. */
typedef struct et__sink {
  struct et__sink *next; /* the writer's list, or the list of attach requests */
  int fd;                /* >= 0: written with writev; -1: queued for a reader */
  bool own_fd;
  bool is_file;          /* et_start's: its errors are the session's */
  uint64_t end_ns;       /* CLOCK_MONOTONIC ns at which the writer ends it; UINT64_MAX: never */
  _Atomic int cancel;    /* asked to end now (et_stop, a reader that hung up) */
  int error;             /* first -errno of a failed write (writer; read after `finished`) */
  uint64_t bytes;        /* bytes written (writer) */
  /* Queued bytes, under mu; cv signals new bytes and the end. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  et__qblock *qhead, *qtail;
  size_t queued, max_queued;
  bool finished; /* the writer is done with it: no more bytes */
  bool complete; /* and it wrote END */
  bool overflow; /* the reader fell max_queued bytes behind: cut there */
  int refs;      /* writer + reader; freed at 0 */
} et__sink;

/* The flight recorder's ring (flight.c): finished EVENTS chunks, oldest
 * dropped first beyond max_bytes.  Written and read by the writer only. */
typedef struct et__ring et__ring;

/* A request for a flight snapshot into fd, answered by the writer. */
typedef struct et__snapreq {
  struct et__snapreq *next;
  int fd;
  int err;
  bool done;
} et__snapreq;

struct et__session {
  et__pool pool;
  _Atomic(et__chunk *) submitted;   /* chunks handed to the writer (LIFO) */
  _Atomic(et__thread *) threads;    /* registry of threads of this session */
  _Atomic(et__meta *) pending;      /* definitions not yet written (LIFO) */
  et__table strings, stacks;
  _Atomic uint64_t task_counter;
  _Atomic uint64_t setup_drops; /* events from signal handlers during a thread's set-up */

  int fd;
  bool own_fd;
  pid_t pid;
  et_options opt;
  uint64_t ticks_per_sec;
  uint64_t start_ticks, start_ns; /* the first clock sync point */
  uint64_t start_wall_ns;         /* CLOCK_REALTIME at that point */

  pthread_t writer;
  bool writer_running;
  _Atomic uint32_t wake_seq;
  _Atomic uint32_t writer_waiting;
  _Atomic uint32_t stop_requested;
  int write_error; /* first -errno of a failed write; writer only until joined */

  uint64_t reaped_drops[ET_DROP_REASON_COUNT]; /* writer only: drops of reaped threads */
  struct et__lost { uint64_t tid, lost; } *reaped_lost; /* writer only: reaped threads' losses */
  size_t nreaped_lost, capreaped_lost;
  uint64_t bytes_written;                      /* writer only */
  struct et__session *retired_next;            /* sessions kept after their stop */

  /* Who keeps the session (under the start lock): et_start's file, the
   * flight recorder, live captures.  It stops when none is left. */
  bool by_start, by_flight;
  unsigned ncaptures;
  et__sink *file; /* et_start's sink, or NULL */

  /* Requests to the writer, under ctl_mu; ctl_pending (seq_cst) makes it
   * look, ctl_cv answers. */
  pthread_mutex_t ctl_mu;
  pthread_cond_t ctl_cv;
  et__sink *req_attach;
  et__snapreq *req_snap;
  et__ring *req_ring;  /* with req_ring_set: the ring to use from now on (NULL: none) */
  bool req_ring_set;
  _Atomic uint32_t ctl_pending;
  _Atomic uint32_t snap_signal; /* a snapshot asked for by a signal handler */
  char snap_dir[256];           /* where signal snapshots go */
  _Atomic uint64_t snap_count;
  _Atomic uint64_t ring_bytes, ring_cap, ring_dropped, ring_young; /* flight accounting (writer) */
};

/* Pool of chunks: set up, tear down, take, give back. */
ET_HIDDEN int et__pool_init(et__pool *p, size_t total, size_t chunk_size);
ET_HIDDEN void et__pool_release(et__pool *p);
ET_HIDDEN et__chunk *et__pool_pop(et__pool *p);
ET_HIDDEN void et__pool_push(et__pool *p, et__chunk *c);

/* Intern tables: set up and release (the arena is mmap'd and never moves). */
ET_HIDDEN int et__table_init(et__table *t, uint8_t type, uint32_t cap, size_t arena_cap);
ET_HIDDEN void et__table_release(et__table *t);
/* The entry of id, or NULL (0, unknown, or beyond what the index holds). */
ET_HIDDEN const et__meta *et__table_get(const et__table *t, uint32_t id);

/* Loads the LTTng provider named by EXECTRACE_LTTNG, once (lttng.c); says
 * on stderr, in one line, why not if it cannot. */
ET_HIDDEN void et__lttng_load(void);
/* In a forked child: events no longer go to LTTng. */
ET_HIDDEN void et__lttng_forget(void);

/* Takes every pending definition, oldest first. */
ET_HIDDEN et__meta *et__pending_take(et__session *s);

/* Gives a thread's current chunks to the writer and marks it dead (thread exit). */
ET_HIDDEN void et__thread_retire(et__thread *t);

/* Sinks and the flight ring (writer.c, flight.c). */
ET_HIDDEN et__sink *et__sink_new(int fd, bool own_fd, uint64_t end_ns, size_t max_queued);
ET_HIDDEN void et__sink_unref(et__sink *k);
/* Hands k to the writer, which attaches it at its next pass; 0 or -errno. */
ET_HIDDEN void et__writer_attach(et__session *s, et__sink *k);
/* Asks the writer to end sink k (END) soon. */
ET_HIDDEN void et__writer_cancel(et__session *s, et__sink *k);
/* Waits until the writer is done with k; returns k's write error. */
ET_HIDDEN int et__sink_wait(et__sink *k);
/* Asks the writer to use ring r (NULL: none) and waits until it does. */
ET_HIDDEN void et__writer_set_ring(et__session *s, et__ring *r);
/* Asks the writer for a snapshot into fd and waits for it; 0 or -errno. */
ET_HIDDEN int et__writer_snapshot(et__session *s, int fd);

ET_HIDDEN et__ring *et__ring_new(size_t max_bytes, uint64_t min_age_ns);
ET_HIDDEN void et__ring_free(et__ring *r);
/* Appends one whole chunk (header and payload in two parts); first_ticks is
 * the time of its first event. */
ET_HIDDEN void et__ring_append(et__ring *r, const void *a, size_t alen, const void *b, size_t blen,
                               uint64_t first_ticks, uint64_t now_ns);
/* Calls f on each chunk in the ring, oldest first. */
ET_HIDDEN void et__ring_each(const et__ring *r, void (*f)(void *arg, const uint8_t *p, size_t len),
                             void *arg);
/* The earliest first-event time of the chunks in the ring (UINT64_MAX: empty). */
ET_HIDDEN uint64_t et__ring_first_ticks(const et__ring *r);
/* Accounting: bytes held, chunks dropped, chunks dropped younger than min_age. */
ET_HIDDEN void et__ring_stats(const et__ring *r, size_t *bytes, uint64_t *dropped,
                              uint64_t *dropped_young, size_t *cap);

/* Starts a session (the start lock held) writing to fd (-1: no file). */
ET_HIDDEN int et__session_create(const et_options *o, int fd, bool own_fd, et__session **out);
/* Stops session s whole (the start lock held): END to every sink. */
ET_HIDDEN int et__session_destroy(et__session *s);
/* Stops s if nobody uses it any more (the start lock held). */
ET_HIDDEN void et__session_release(et__session *s);
ET_HIDDEN extern pthread_mutex_t et__start_lock;

/* The pthread key whose destructor retires a thread; created once. */
ET_HIDDEN int et__thread_key_init(void);

/* The events with a stack, taken from frame (its first entry is frame's
 * return address): the preload library passes its wrapper's own frame, so
 * stacks start in the program, not in the wrapper. */
void et__block_begin_at(int reason, const void *object, void *frame);
void et__wake_at(uint64_t tid, const void *object, void *frame);
void et__syscall_begin_at(long nr, int fd, int fdclass, void *frame);

#endif

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
  uint8_t *arena;
  size_t arena_cap;
  _Atomic size_t arena_used;
  uint8_t type;
} et__table;

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
};

/* Pool of chunks: set up, tear down, take, give back. */
ET_HIDDEN int et__pool_init(et__pool *p, size_t total, size_t chunk_size);
ET_HIDDEN void et__pool_release(et__pool *p);
ET_HIDDEN et__chunk *et__pool_pop(et__pool *p);
ET_HIDDEN void et__pool_push(et__pool *p, et__chunk *c);

/* Intern tables: set up and release (the arena is mmap'd and never moves). */
ET_HIDDEN int et__table_init(et__table *t, uint8_t type, uint32_t cap, size_t arena_cap);
ET_HIDDEN void et__table_release(et__table *t);

/* Takes every pending definition, oldest first. */
ET_HIDDEN et__meta *et__pending_take(et__session *s);

/* Gives a thread's current chunks to the writer and marks it dead (thread exit). */
ET_HIDDEN void et__thread_retire(et__thread *t);

/* The pthread key whose destructor retires a thread; created once. */
ET_HIDDEN int et__thread_key_init(void);

#endif

/* The flight recorder and live captures: sinks of the writer besides the file.
 *
 * Flight recorder.  et_flight_start() keeps recording on (starting it if
 * needed, with default options and no file) and gives the writer a ring:
 * one anonymous mapping of max_bytes into which the writer copies every
 * EVENTS chunk it writes, each with the time it was written and the time of
 * its first event.  A chunk that does not fit pushes out the oldest ones, so
 * the ring never holds more than max_bytes (chunks are never split; a chunk
 * larger than the ring is dropped).  min_age_ns is a goal, not a promise:
 * the ring keeps everything that fits, and counts the chunks it had to push
 * out while they were younger than min_age_ns (et_flight_stats), which says
 * that max_bytes is too small for that window.  The definitions (strings,
 * stacks), the mappings and the sync points live outside the ring, in the
 * writer, so a snapshot is self-contained however old its oldest chunk.
 *
 * A snapshot is taken by the writer between two passes, right after a flush
 * pass, so it also holds what threads have committed into chunks they are
 * still filling.  Recording goes on; events that find no free buffer while
 * the writer is busy are dropped and counted as always.
 *
 * Live captures.  et_capture_start() attaches a sink whose bytes the writer
 * queues in memory; et_capture_read() takes them.  The sink gets a whole
 * trace of the next duration_ns: the prologue and every definition so far,
 * the events from then on, and END when the time is up.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "session.h"

/* ---- the ring ---- */

/* An entry: its header, then the chunk's bytes, padded to 8. */
typedef struct entry {
  uint32_t len;   /* whole entry, header included */
  uint32_t clen;  /* chunk bytes */
  uint64_t first; /* time of the chunk's first event, ticks */
  uint64_t added; /* CLOCK_MONOTONIC ns when it was added */
} entry;

struct et__ring {
  uint8_t *mem;
  size_t cap;
  size_t tail, head; /* oldest entry; where the next one goes */
  size_t wrap;       /* with wrapped: where the entries before offset 0 end */
  bool wrapped;      /* entries are [tail, wrap) then [0, head) */
  size_t n, used;    /* entries; bytes of entries */
  uint64_t min_age_ns;
  uint64_t dropped, dropped_young, too_big;
};

et__ring *et__ring_new(size_t max_bytes, uint64_t min_age_ns) {
  et__ring *r = calloc(1, sizeof *r);
  if (r == NULL) return NULL;
  r->cap = max_bytes & ~(size_t)7;
  r->mem = mmap(NULL, r->cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                -1, 0);
  if (r->mem == MAP_FAILED) {
    free(r);
    return NULL;
  }
  r->min_age_ns = min_age_ns;
  return r;
}

void et__ring_free(et__ring *r) {
  if (r == NULL) return;
  munmap(r->mem, r->cap);
  free(r);
}

static void ring_pop(et__ring *r, uint64_t now_ns) {
  const entry *e = (const entry *)(const void *)(r->mem + r->tail);
  r->dropped++;
  if (r->min_age_ns && now_ns - e->added < r->min_age_ns) r->dropped_young++;
  r->used -= e->len;
  r->tail += e->len;
  r->n--;
  if (r->wrapped && r->tail == r->wrap) {
    r->tail = 0;
    r->wrapped = false;
  }
  if (r->n == 0) r->tail = r->head = 0, r->wrapped = false;
}

void et__ring_append(et__ring *r, const void *a, size_t alen, const void *b, size_t blen,
                     uint64_t first_ticks, uint64_t now_ns) {
  size_t len = (sizeof(entry) + alen + blen + 7) & ~(size_t)7;
  if (len > r->cap) {
    r->too_big++;
    return;
  }
  size_t at;
  for (;;) {
    if (r->n == 0) {
      r->tail = r->head = 0;
      r->wrapped = false;
      at = 0;
      break;
    }
    if (!r->wrapped) {
      if (r->cap - r->head >= len) {
        at = r->head;
        break;
      }
      if (r->tail >= len) { /* start again from the beginning */
        r->wrap = r->head;
        r->wrapped = true;
        at = 0;
        break;
      }
    } else if (r->tail - r->head >= len) {
      at = r->head;
      break;
    }
    ring_pop(r, now_ns);
  }
  entry *e = (entry *)(void *)(r->mem + at);
  e->len = (uint32_t)len;
  e->clen = (uint32_t)(alen + blen);
  e->first = first_ticks;
  e->added = now_ns;
  memcpy(e + 1, a, alen);
  memcpy((uint8_t *)(e + 1) + alen, b, blen);
  r->head = at + len;
  r->n++;
  r->used += len;
}

void et__ring_each(const et__ring *r, void (*f)(void *arg, const uint8_t *p, size_t len),
                   void *arg) {
  if (r->n == 0) return;
  size_t at = r->tail, end = r->wrapped ? r->wrap : r->head;
  for (int part = 0; part < 2; part++) {
    while (at < end) {
      const entry *e = (const entry *)(const void *)(r->mem + at);
      f(arg, (const uint8_t *)(e + 1), e->clen);
      at += e->len;
    }
    if (!r->wrapped) break;
    at = 0;
    end = r->head;
  }
}

uint64_t et__ring_first_ticks(const et__ring *r) {
  uint64_t first = UINT64_MAX;
  if (r->n == 0) return first;
  size_t at = r->tail, end = r->wrapped ? r->wrap : r->head;
  for (int part = 0; part < 2; part++) {
    while (at < end) {
      const entry *e = (const entry *)(const void *)(r->mem + at);
      if (e->first < first) first = e->first;
      at += e->len;
    }
    if (!r->wrapped) break;
    at = 0;
    end = r->head;
  }
  return first;
}

void et__ring_stats(const et__ring *r, size_t *bytes, uint64_t *dropped, uint64_t *dropped_young,
                    size_t *cap) {
  *bytes = r->used;
  *dropped = r->dropped + r->too_big;
  *dropped_young = r->dropped_young;
  *cap = r->cap;
}

/* ---- the flight recorder's API ---- */

/* A recording started by the flight recorder or a capture samples CPU stacks
 * this often, so /debug/pprof/profile has samples, as Go's has. */
#define CAPTURE_CPU_HZ 100

/* The recording to join, or a new one without a file, with the default
 * options and cpu_hz CPU samples per second; the start lock held. */
static int session_get(unsigned cpu_hz, et__session **out) {
  et__session *s = et__g.session;
  if (et__on() && s != NULL) {
    if (s->pid != getpid()) return ET_E_FORKED;
    *out = s;
    return 0;
  }
  et_options o;
  et_options_init(&o);
  o.cpu_hz = cpu_hz;
  return et__session_create(&o, -1, false, out);
}

static _Atomic(et__session *) signal_session; /* the session a snapshot signal kicks */
static int flight_signo;

static void on_signal(int sig) {
  (void)sig;
  int e = errno;
  et__session *s = atomic_load(&signal_session);
  if (s) {
    atomic_store(&s->snap_signal, 1);
    atomic_store(&s->ctl_pending, 1);
    et__writer_kick(s);
  }
  errno = e;
}

int et_flight_signal(int signo, const char *dir) {
  if (signo < 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP) return -EINVAL;
  if (dir && strlen(dir) >= sizeof(((et__session *)0)->snap_dir)) return ET_E_LIMIT;
  pthread_mutex_lock(&et__start_lock);
  int err = 0;
  et__session *s = et__g.session;
  if (!et__on() || s == NULL || !s->by_flight) {
    err = ET_E_INACTIVE;
  } else {
    snprintf(s->snap_dir, sizeof s->snap_dir, "%s", dir && *dir ? dir : ".");
    if (signo) {
      struct sigaction sa;
      memset(&sa, 0, sizeof sa);
      sa.sa_handler = on_signal;
      sa.sa_flags = SA_RESTART;
      sigemptyset(&sa.sa_mask);
      if (sigaction(signo, &sa, NULL) != 0) err = -errno;
      else flight_signo = signo;
    } else if (flight_signo) {
      signal(flight_signo, SIG_DFL);
      flight_signo = 0;
    }
  }
  pthread_mutex_unlock(&et__start_lock);
  return err;
}

/* EXECTRACE_FLIGHT_SIGNAL: a number or a name (USR1, SIGUSR2, ...). */
static int parse_signal(const char *v) {
  if (v == NULL || *v == 0) return 0;
  char *end;
  long n = strtol(v, &end, 10);
  if (*end == 0) return n > 0 && n < NSIG ? (int)n : -1;
  if (strncmp(v, "SIG", 3) == 0) v += 3;
  static const struct { const char *name; int sig; } names[] = {
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"QUIT", SIGQUIT},
      {"URG", SIGURG},   {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(v, names[i].name) == 0) return names[i].sig;
  return -1;
}

int et_flight_start(size_t max_bytes, uint64_t min_age_ns) {
  if (max_bytes < (64u << 10) || max_bytes > (64ull << 30)) return ET_E_LIMIT;
  et__ring *r = et__ring_new(max_bytes, min_age_ns);
  if (r == NULL) return -ENOMEM;
  pthread_mutex_lock(&et__start_lock);
  et__session *s = NULL;
  int err = 0;
  if (et__g.session && et__on() && et__g.session->by_flight) err = ET_E_ACTIVE;
  else err = session_get(CAPTURE_CPU_HZ, &s);
  if (err == 0) {
    s->by_flight = true;
    et__writer_set_ring(s, r);
    r = NULL;
    atomic_store(&signal_session, s);
  }
  pthread_mutex_unlock(&et__start_lock);
  et__ring_free(r);
  if (err == 0) {
    int sig = parse_signal(getenv("EXECTRACE_FLIGHT_SIGNAL"));
    if (sig > 0) et_flight_signal(sig, getenv("EXECTRACE_FLIGHT_DIR"));
  }
  return err;
}

int et_flight_snapshot(int fd) {
  if (fd < 0) return -EBADF;
  pthread_mutex_lock(&et__start_lock);
  et__session *s = et__g.session;
  int err;
  if (!et__on() || s == NULL || !s->by_flight) err = ET_E_INACTIVE;
  else if (s->pid != getpid()) err = ET_E_FORKED;
  else err = et__writer_snapshot(s, fd);
  pthread_mutex_unlock(&et__start_lock);
  return err;
}

int et_flight_stats(et_flight_info *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&et__start_lock);
  et__session *s = et__g.session;
  int err = 0;
  if (!et__on() || s == NULL || !s->by_flight) {
    err = ET_E_INACTIVE;
  } else {
    out->bytes = atomic_load(&s->ring_bytes);
    out->max_bytes = atomic_load(&s->ring_cap);
    out->dropped_chunks = atomic_load(&s->ring_dropped);
    out->dropped_young = atomic_load(&s->ring_young);
    out->snapshots = atomic_load(&s->snap_count);
  }
  pthread_mutex_unlock(&et__start_lock);
  return err;
}

int et_flight_stop(void) {
  pthread_mutex_lock(&et__start_lock);
  et__session *s = et__g.session;
  int err = 0;
  if (!et__on() || s == NULL || !s->by_flight) {
    err = ET_E_INACTIVE;
  } else {
    if (flight_signo) {
      signal(flight_signo, SIG_DFL);
      flight_signo = 0;
    }
    atomic_store(&signal_session, NULL);
    s->by_flight = false;
    et__writer_set_ring(s, NULL);
    et__session_release(s);
  }
  pthread_mutex_unlock(&et__start_lock);
  return err;
}

/* ---- live captures ---- */

#define CAPTURE_MAX_QUEUED (256u << 20)

struct et_capture {
  et__session *s;
  et__sink *k;
  bool done; /* the reader has seen the end */
};

int et_capture_start(uint64_t duration_ns, et_capture **out) {
  *out = NULL;
  if (duration_ns == 0 || duration_ns > 86400ull * 1000000000u) return ET_E_LIMIT;
  et_capture *c = calloc(1, sizeof *c);
  if (c == NULL) return -ENOMEM;
  pthread_mutex_lock(&et__start_lock);
  et__session *s = NULL;
  int err = session_get(CAPTURE_CPU_HZ, &s);
  if (err == 0) {
    c->k = et__sink_new(-1, false, et__mono_ns() + duration_ns, CAPTURE_MAX_QUEUED);
    if (c->k == NULL) {
      err = -ENOMEM;
      et__session_release(s);
    } else {
      c->s = s;
      s->ncaptures++;
      et__writer_attach(s, c->k);
    }
  }
  pthread_mutex_unlock(&et__start_lock);
  if (err) {
    free(c);
    return err;
  }
  *out = c;
  return 0;
}

long et_capture_read(et_capture *c, void *buf, size_t len, int timeout_ms) {
  et__sink *k = c->k;
  pthread_mutex_lock(&k->mu);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  if (timeout_ms >= 0) {
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000;
    }
  }
  while (k->qhead == NULL && !k->finished) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&k->cv, &k->mu);
    } else if (pthread_cond_timedwait(&k->cv, &k->mu, &until) == ETIMEDOUT) {
      pthread_mutex_unlock(&k->mu);
      return -EAGAIN;
    }
  }
  size_t got = 0;
  while (got < len && k->qhead) {
    et__qblock *q = k->qhead;
    size_t n = q->len - q->off < len - got ? q->len - q->off : len - got;
    memcpy((uint8_t *)buf + got, q->data + q->off, n);
    got += n;
    q->off += n;
    k->queued -= n;
    if (q->off == q->len) {
      k->qhead = q->next;
      if (k->qhead == NULL) k->qtail = NULL;
      free(q);
    }
  }
  if (got == 0) c->done = true; /* finished and drained */
  pthread_mutex_unlock(&k->mu);
  return (long)got;
}

int et_capture_close(et_capture *c) {
  if (c == NULL) return 0;
  pthread_mutex_lock(&et__start_lock);
  et__session *s = c->s;
  bool live = s == et__g.session && s->pid == getpid();
  if (live) et__writer_cancel(s, c->k); /* ends it now if its time is not up */
  pthread_mutex_unlock(&et__start_lock);
  int err = live ? et__sink_wait(c->k) : 0;
  pthread_mutex_lock(&c->k->mu);
  if (err == 0 && !c->k->complete) err = c->k->error ? c->k->error : ET_E_INACTIVE;
  pthread_mutex_unlock(&c->k->mu);
  pthread_mutex_lock(&et__start_lock);
  if (live && s == et__g.session) {
    s->ncaptures--;
    et__session_release(s);
  }
  pthread_mutex_unlock(&et__start_lock);
  et__sink_unref(c->k);
  free(c);
  return err;
}

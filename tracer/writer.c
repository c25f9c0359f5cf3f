/* The background writer: turns handed-over chunks into the trace stream.
 *
 * One thread per session.  It sleeps on a futex until a thread hands over a
 * full chunk (or a periodic deadline passes), then makes a pass: take the
 * handed-over chunks, optionally the committed part of every thread's
 * current chunk, then the pending string/stack definitions; write the
 * definitions first and the event pieces after, so that a definition always
 * precedes its first use in the file.  Each chunk is written whole with one
 * writev and carries CRCs, so a trace cut anywhere keeps every complete
 * chunk.  The writer blocks all signals and never records events itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "session.h"

#define ET_CLOCK_SYNC_NS 1000000000ull
#define ET_MAPPINGS_CHECK_NS 200000000ull
#define ET_META_BATCH (256u << 10)

typedef struct buf {
  uint8_t *p;
  size_t len, cap;
} buf;

static bool buf_reserve(buf *b, size_t more) {
  if (b->len + more <= b->cap) return true;
  size_t cap = b->cap ? b->cap * 2 : 65536;
  while (cap < b->len + more) cap *= 2;
  uint8_t *p = realloc(b->p, cap);
  if (!p) return false;
  b->p = p;
  b->cap = cap;
  return true;
}

typedef struct piece {
  et__chunk *c;
  uint32_t pos;
} piece;

/* Event chunks of a pass, written with as few writev calls as possible; the
 * chunks whose data they point to go back to the pool after the write. */
#define ET_BATCH 256
typedef struct batch {
  struct iovec iov[2 * ET_BATCH];
  uint8_t head[ET_BATCH][ET_CHUNK_HEADER_LEN + 5 * ET_VARINT_MAX];
  et__chunk *release[ET_BATCH];
  int niov, nhead, nrelease;
} batch;

typedef struct writer {
  et__session *s;
  batch *b;
  buf meta;      /* payload under construction */
  buf scratch;   /* mappings */
  piece *pieces;
  size_t npieces, cap_pieces;
  unsigned long long dl_counters[2];
  uint64_t next_sync, next_maps, next_flush;
} writer;

static void fail(et__session *s, int err) {
  if (s->write_error == 0) s->write_error = err;
}

static void write_iov(et__session *s, struct iovec *iov, int n) {
  if (s->write_error) return;
  while (n > 0) {
    ssize_t w = writev(s->fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail(s, -errno);
      return;
    }
    s->bytes_written += (uint64_t)w;
    while (n > 0 && (size_t)w >= iov->iov_len) {
      w -= (ssize_t)iov->iov_len;
      iov++;
      n--;
    }
    if (n > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + w;
      iov->iov_len -= (size_t)w;
    }
  }
}

/* Writes one chunk whose payload is the concatenation of a and b. */
static void write_chunk2(et__session *s, unsigned type, const void *a, size_t alen, const void *b,
                         size_t blen) {
  uint8_t hdr[ET_CHUNK_HEADER_LEN];
  uint32_t crc = 0;
  if (alen) crc = et__crc32(crc, a, alen);
  if (blen) crc = et__crc32(crc, b, blen);
  et__chunk_header(hdr, type, (uint32_t)(alen + blen), (uint32_t)crc);
  struct iovec iov[3] = {{hdr, sizeof hdr}, {(void *)a, alen}, {(void *)b, blen}};
  write_iov(s, iov, blen ? 3 : 2);
}

static void write_meta_chunk(writer *w, unsigned type) {
  if (w->meta.len == 0) return;
  write_chunk2(w->s, type, w->meta.p, w->meta.len, NULL, 0);
  w->meta.len = 0;
}

static void write_clock(writer *w) {
  et__session *s = w->s;
  uint64_t ns = et__mono_ns(), ticks = et__ticks(), ns2 = et__mono_ns();
  ns = ns + (ns2 - ns) / 2;
  uint64_t rate = s->ticks_per_sec;
  /* Measured from the start's sync point, the rate alone converts every
   * tick, so a trace that lost its other sync points keeps its times. */
  if (ns > s->start_ns + 1000000ull && ticks > s->start_ticks)
    rate = (uint64_t)((double)(ticks - s->start_ticks) * 1e9 / (double)(ns - s->start_ns));
  uint8_t p[3 * ET_VARINT_MAX], *q = p;
  q = et__put_uvarint(q, ticks);
  q = et__put_uvarint(q, ns);
  q = et__put_uvarint(q, rate);
  write_chunk2(s, ET_CHUNK_CLOCK, p, (size_t)(q - p), NULL, 0);
}

static void write_mappings(writer *w) {
  size_t len = et__mappings_encode(&w->scratch.p, &w->scratch.cap);
  if (len) write_chunk2(w->s, ET_CHUNK_MAPPINGS, w->scratch.p, len, NULL, 0);
}

static void write_definitions(writer *w, et__meta *m) {
  /* Consecutive definitions of one type share a chunk, up to a batch size. */
  unsigned type = 0;
  for (; m; m = m->next) {
    if (m->type != type || w->meta.len >= ET_META_BATCH) {
      write_meta_chunk(w, type);
      type = m->type;
    }
    size_t need = 3 * ET_VARINT_MAX + (type == ET_CHUNK_STRINGS ? m->len : m->len * ET_VARINT_MAX);
    if (!buf_reserve(&w->meta, need)) {
      fail(w->s, -ENOMEM);
      return;
    }
    uint8_t *p = w->meta.p + w->meta.len;
    p = et__put_uvarint(p, m->id);
    p = et__put_uvarint(p, m->len);
    if (type == ET_CHUNK_STRINGS) {
      memcpy(p, m->data, m->len);
      p += m->len;
    } else {
      const uintptr_t *f = (const uintptr_t *)(const void *)m->data;
      uintptr_t prev = 0;
      for (uint32_t i = 0; i < m->len; i++) {
        p = i == 0 ? et__put_uvarint(p, f[0]) : et__put_svarint(p, (int64_t)(f[i] - prev));
        prev = f[i];
      }
    }
    w->meta.len = (size_t)(p - w->meta.p);
  }
  write_meta_chunk(w, type);
}

/* Writes bytes [c->flushed, pos) of chunk c as one EVENTS chunk. */
/* Writes the batched chunks and gives their buffers back to the pool. */
static void batch_flush(writer *w) {
  batch *b = w->b;
  if (b->niov) write_iov(w->s, b->iov, b->niov);
  for (int i = 0; i < b->nrelease; i++) et__pool_push(&w->s->pool, b->release[i]);
  b->niov = b->nhead = b->nrelease = 0;
}

/* Queues bytes [c->flushed, pos) of chunk c as one EVENTS chunk; with
 * release, c goes back to the pool once written. */
static void write_piece(writer *w, et__chunk *c, uint32_t pos, bool need_last, bool release) {
  batch *b = w->b;
  if (b->nhead == ET_BATCH || b->nrelease == ET_BATCH) batch_flush(w);
  if (pos > c->flushed) {
    et__thread *t = c->owner;
    uint8_t *head = b->head[b->nhead++], *q = head + ET_CHUNK_HEADER_LEN;
    q = et__put_uvarint(q, t->tid);
    *q++ = c->stream;
    q = et__put_uvarint(q, t->seq[c->stream]++);
    q = et__put_uvarint(q, c->flushed_ticks);
    q = et__put_uvarint(q, c->flushed_obj);
    size_t hlen = (size_t)(q - head) - ET_CHUNK_HEADER_LEN, dlen = pos - c->flushed;
    uint32_t crc = et__crc32(et__crc32(0, head + ET_CHUNK_HEADER_LEN, hlen), c->data + c->flushed, dlen);
    et__chunk_header(head, ET_CHUNK_EVENTS, (uint32_t)(hlen + dlen), crc);
    b->iov[b->niov++] = (struct iovec){head, ET_CHUNK_HEADER_LEN + hlen};
    b->iov[b->niov++] = (struct iovec){c->data + c->flushed, dlen};
  }
  if (release) {
    b->release[b->nrelease++] = c;
    return;
  }
  if (pos <= c->flushed) return;
  if (need_last) {
    /* The next piece of this chunk starts from this piece's last event. */
    const uint8_t *p = c->data + c->flushed, *end = c->data + pos;
    uint64_t ticks = c->flushed_ticks, obj = c->flushed_obj, dt;
    while (p < end && et__event_skip(et__kinds, &p, end, &dt, &obj) == 0) ticks += dt;
    c->flushed_ticks = ticks;
    c->flushed_obj = obj;
  }
  c->flushed = pos;
}

static void add_piece(writer *w, et__chunk *c, uint32_t pos) {
  if (w->npieces == w->cap_pieces) {
    size_t cap = w->cap_pieces ? w->cap_pieces * 2 : 64;
    piece *p = realloc(w->pieces, cap * sizeof *p);
    if (!p) return; /* written later, when the chunk is handed over */
    w->pieces = p;
    w->cap_pieces = cap;
  }
  w->pieces[w->npieces++] = (piece){c, pos};
}

/* Events a thread lost (buffer full, nested signals). */
static uint64_t thread_lost(et__thread *t) {
  return atomic_load_explicit(&t->drops[ET_DROP_BUFFER_FULL], memory_order_relaxed) +
         atomic_load_explicit(&t->drops[ET_DROP_NESTED], memory_order_relaxed);
}

static void pass(writer *w, bool peek_all) {
  et__session *s = w->s;
  /* 1. Threads that have exited: all their chunks are handed over already. */
  et__thread *dead[64];
  unsigned ndead = 0;
  for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t;
       t = t->reg_next)
    if (ndead < 64 && atomic_load_explicit(&t->dead, memory_order_acquire)) dead[ndead++] = t;

  /* 2. The committed part of each live thread's current chunks, before the
   * hand-over list: a chunk handed over after its peek is then in the list
   * and is written whole, in order, with its piece dropped. */
  w->npieces = 0;
  if (peek_all) {
    for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t;
         t = t->reg_next)
      for (unsigned sid = 0; sid < ET_STREAM_COUNT; sid++) {
        et__chunk *c = atomic_load_explicit(&t->cur[sid], memory_order_acquire);
        if (c == NULL) continue;
        uint32_t pos = atomic_load_explicit(&c->pos, memory_order_acquire);
        if (pos > c->flushed) add_piece(w, c, pos);
      }
  }

  /* 3. Handed-over chunks, oldest first. */
  et__chunk *l = atomic_exchange_explicit(&s->submitted, NULL, memory_order_acquire), *rev = NULL;
  while (l) {
    et__chunk *next = l->next;
    l->next = rev;
    rev = l;
    l = next;
  }
  for (size_t i = 0; i < w->npieces; i++)
    for (et__chunk *c = rev; c; c = c->next)
      if (c == w->pieces[i].c) w->pieces[i].c = NULL;

  /* 4-5. Definitions, which those chunks may use. */
  write_definitions(w, et__pending_take(s));

  uint64_t now = et__mono_ns();
  if (now >= w->next_maps) {
    w->next_maps = now + ET_MAPPINGS_CHECK_NS;
    unsigned long long subs = w->dl_counters[1];
    if (et__mappings_changed(w->dl_counters)) {
      write_mappings(w);
      et__readonly_update(w->dl_counters[1] != subs); /* an unload may free literals */
    }
  }

  /* 6. Whole chunks, then 7. pieces. */
  for (et__chunk *c = rev, *next; c; c = next) {
    next = c->next;
    write_piece(w, c, atomic_load_explicit(&c->pos, memory_order_acquire), false, true);
  }
  for (size_t i = 0; i < w->npieces; i++)
    if (w->pieces[i].c) write_piece(w, w->pieces[i].c, w->pieces[i].pos, true, false);
  batch_flush(w);

  /* 8. Free the exited threads' state. */
  for (unsigned i = 0; i < ndead; i++) {
    et__thread *t = dead[i];
    _Atomic(et__thread *) *link = &s->threads;
    et__thread *head = atomic_load_explicit(link, memory_order_acquire);
    if (head == t) {
      if (!atomic_compare_exchange_strong(link, &head, t->reg_next)) continue; /* retry later */
    } else {
      et__thread *prev = head;
      while (prev && prev->reg_next != t) prev = prev->reg_next;
      if (!prev) continue;
      prev->reg_next = t->reg_next;
    }
    for (unsigned r = 0; r < ET_DROP_REASON_COUNT; r++)
      s->reaped_drops[r] += atomic_load_explicit(&t->drops[r], memory_order_relaxed);
    uint64_t lost = thread_lost(t);
    if (lost) {
      if (s->nreaped_lost == s->capreaped_lost) {
        size_t cap = s->capreaped_lost ? 2 * s->capreaped_lost : 16;
        void *p = realloc(s->reaped_lost, cap * sizeof *s->reaped_lost);
        if (p) {
          s->reaped_lost = p;
          s->capreaped_lost = cap;
        }
      }
      if (s->nreaped_lost < s->capreaped_lost)
        s->reaped_lost[s->nreaped_lost++] = (struct et__lost){t->tid, lost};
    }
    munmap(t, sizeof *t);
  }
}

static void write_end(writer *w) {
  et__session *s = w->s;
  uint64_t drops[ET_DROP_REASON_COUNT];
  memcpy(drops, s->reaped_drops, sizeof drops);
  drops[ET_DROP_NESTED] += atomic_load_explicit(&s->setup_drops, memory_order_relaxed);
  for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t;
       t = t->reg_next)
    for (unsigned r = 0; r < ET_DROP_REASON_COUNT; r++)
      drops[r] += atomic_load_explicit(&t->drops[r], memory_order_relaxed);
  /* Totals by reason, then each thread's lost events: a thread's last drops
   * may have no DROP record in its stream (it found no buffer again). */
  w->meta.len = 0;
  size_t nthreads = s->nreaped_lost;
  for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t; t = t->reg_next)
    nthreads++;
  if (!buf_reserve(&w->meta, (2 * ET_DROP_REASON_COUNT + 2 + 2 * nthreads) * ET_VARINT_MAX)) {
    fail(s, -ENOMEM);
    return;
  }
  uint8_t *q = w->meta.p;
  q = et__put_uvarint(q, ET_DROP_REASON_COUNT - 1);
  for (unsigned r = 1; r < ET_DROP_REASON_COUNT; r++) {
    q = et__put_uvarint(q, r);
    q = et__put_uvarint(q, drops[r]);
  }
  size_t nlost = 0;
  for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t; t = t->reg_next)
    nlost += thread_lost(t) != 0;
  q = et__put_uvarint(q, nlost + s->nreaped_lost);
  for (size_t i = 0; i < s->nreaped_lost; i++) {
    q = et__put_uvarint(q, s->reaped_lost[i].tid);
    q = et__put_uvarint(q, s->reaped_lost[i].lost);
  }
  for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t && nlost;
       t = t->reg_next) {
    uint64_t lost = thread_lost(t);
    if (!lost) continue;
    q = et__put_uvarint(q, t->tid);
    q = et__put_uvarint(q, lost);
    nlost--;
  }
  w->meta.len = (size_t)(q - w->meta.p);
  write_meta_chunk(w, ET_CHUNK_END);
  free(s->reaped_lost);
  s->reaped_lost = NULL;
}

static void write_prologue(writer *w) {
  et__session *s = w->s;
  uint8_t fh[ET_FILE_HEADER_LEN];
  et__file_header(fh);
  struct iovec iov = {fh, sizeof fh};
  write_iov(s, &iov, 1);

  uint8_t cat[1 << 14];
  size_t n = et__catalog_encode(cat, sizeof cat); /* a unit test checks the catalogue fits */
  if (n == 0) fail(s, ET_E_LIMIT);
  write_chunk2(s, ET_CHUNK_CATALOG, cat, n, NULL, 0);

  /* PROCESS: pid, ppid, executable, command line, wall clock, clock source, rate. */
  char exe[4096];
  ssize_t el = readlink("/proc/self/exe", exe, sizeof exe);
  if (el < 0) el = 0;
  char cmd[8192];
  ssize_t cl = 0;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t r;
    while (cl < (ssize_t)sizeof cmd && (r = read(fd, cmd + cl, sizeof cmd - (size_t)cl)) > 0) cl += r;
    close(fd);
  }
  w->meta.len = 0;
  if (!buf_reserve(&w->meta, (size_t)el + (size_t)cl + 8 * ET_VARINT_MAX)) {
    fail(s, -ENOMEM);
    return;
  }
  uint8_t *p = w->meta.p;
  p = et__put_uvarint(p, (uint64_t)s->pid);
  p = et__put_uvarint(p, (uint64_t)getppid());
  p = et__put_uvarint(p, (uint64_t)el);
  memcpy(p, exe, (size_t)el);
  p += el;
  p = et__put_uvarint(p, (uint64_t)cl);
  memcpy(p, cmd, (size_t)cl);
  p += cl;
  p = et__put_uvarint(p, s->start_wall_ns);
  *p++ = et__g.use_tsc ? ET_CLOCK_TSC : ET_CLOCK_MONOTONIC;
  p = et__put_uvarint(p, s->ticks_per_sec);
  p = et__put_uvarint(p, et__g.cpu_hz ? 1000000000u / et__g.cpu_hz : 0); /* CPU sampling period */
  w->meta.len = (size_t)(p - w->meta.p);
  write_meta_chunk(w, ET_CHUNK_PROCESS);

  /* The start's sync point. */
  uint8_t c[3 * ET_VARINT_MAX], *q = c;
  q = et__put_uvarint(q, s->start_ticks);
  q = et__put_uvarint(q, s->start_ns);
  q = et__put_uvarint(q, s->ticks_per_sec);
  write_chunk2(s, ET_CHUNK_CLOCK, c, (size_t)(q - c), NULL, 0);

  et__mappings_changed(w->dl_counters);
  write_mappings(w);
}

static void wait_for_work(et__session *s, uint64_t timeout_ns) {
  uint32_t seq = atomic_load(&s->wake_seq);
  atomic_store(&s->writer_waiting, 1);
  if (atomic_load(&s->submitted) == NULL && !atomic_load(&s->stop_requested)) {
    struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    syscall(SYS_futex, &s->wake_seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
  }
  atomic_store(&s->writer_waiting, 0);
}

static void *writer_main(void *arg) {
  writer w = {.s = arg, .b = calloc(1, sizeof(batch)), .dl_counters = {~0ull, ~0ull}};
  if (w.b == NULL) { /* nothing can be written: et_stop reports it */
    fail(w.s, -ENOMEM);
    return NULL;
  }
  et__session *s = w.s;
  et__tls = (et__thread *)(uintptr_t)1; /* never record from this thread */
  write_prologue(&w);
  uint64_t now = et__mono_ns();
  uint64_t flush_ns = (uint64_t)s->opt.flush_ms * 1000000u;
  w.next_sync = now + ET_CLOCK_SYNC_NS;
  w.next_maps = now + ET_MAPPINGS_CHECK_NS;
  w.next_flush = flush_ns ? now + flush_ns : UINT64_MAX; /* 0: flush only at stop */
  while (!atomic_load(&s->stop_requested)) {
    now = et__mono_ns();
    uint64_t deadline = w.next_sync < w.next_flush ? w.next_sync : w.next_flush;
    if (deadline > now) wait_for_work(s, deadline - now < 50000000u ? deadline - now : 50000000u);
    now = et__mono_ns();
    bool flush = flush_ns && now >= w.next_flush;
    if (flush) w.next_flush = now + flush_ns;
    pass(&w, flush);
    if (now >= w.next_sync) {
      w.next_sync = now + ET_CLOCK_SYNC_NS;
      write_clock(&w);
    }
  }
  /* No more CPU samples: the registry is the writer's to walk. */
  for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t; t = t->reg_next)
    et__sampler_thread_stop(t);
  /* Final: everything committed by every thread, the closing sync point, END. */
  pass(&w, true);
  pass(&w, true);
  write_clock(&w);
  write_end(&w);
  free(w.meta.p);
  free(w.scratch.p);
  free(w.pieces);
  free(w.b);
  return NULL;
}

int et__writer_start(et__session *s) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = pthread_create(&s->writer, NULL, writer_main, s);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) return -err;
  pthread_setname_np(s->writer, "exectrace-wr");
  s->writer_running = true;
  return 0;
}

void et__writer_kick(et__session *s) {
  if (atomic_load(&s->writer_waiting)) {
    atomic_fetch_add(&s->wake_seq, 1);
    syscall(SYS_futex, &s->wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  }
}

int et__writer_stop(et__session *s) {
  if (!s->writer_running) return 0;
  atomic_store(&s->stop_requested, 1);
  atomic_fetch_add(&s->wake_seq, 1);
  syscall(SYS_futex, &s->wake_seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  pthread_join(s->writer, NULL);
  s->writer_running = false;
  return s->write_error;
}

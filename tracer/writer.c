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
 *
 * Sinks.  What the writer writes goes to every attached sink: the file of
 * et_start(), live captures (bytes queued in memory for a reader) and the
 * flight recorder's ring (EVENTS chunks only, flight.c).  The writer keeps
 * what a sink attached later needs to be a whole trace on its own: the
 * prologue (file header, CATALOG, PROCESS), the latest MAPPINGS, every
 * STRINGS and STACKS chunk written so far, and the recent sync points.
 * Attaching a sink, ending one and taking a snapshot happen between passes,
 * each right after a flush pass, so a sink gets exactly the events committed
 * between the flush pass that attached it and the one that ended it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "session.h"

#define ET_CLOCK_SYNC_NS 1000000000ull
#define ET_MAPPINGS_CHECK_NS 200000000ull
#define ET_META_BATCH (256u << 10)
#define ET_SYNC_KEEP 8192 /* sync points kept for snapshots (about 2 hours' worth) */

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
  uint8_t head[ET_BATCH][ET_CHUNK_HEADER_LEN + 5 * ET_VARINT_MAX + ET_MAXLEN_EV_REGION_LAST];
  uint64_t first[ET_BATCH]; /* time of each chunk's first event, for the ring */
  et__chunk *release[ET_BATCH];
  int niov, nhead, nrelease;
} batch;

typedef struct sync_point {
  uint64_t ticks, ns, rate;
} sync_point;

typedef struct writer {
  et__session *s;
  batch *b;
  buf meta;      /* payload under construction */
  buf scratch;   /* mappings */
  piece *pieces;
  size_t npieces, cap_pieces;
  unsigned long long dl_counters[2];
  uint64_t next_sync, next_maps, next_flush;
  /* Sinks, and what one attached later needs (see the top of the file). */
  et__sink *sinks; /* attached sinks */
  et__sink *only;  /* while set, chunks go to this sink alone */
  et__ring *ring;  /* the flight recorder's, or NULL */
  buf pro;         /* file header, CATALOG, PROCESS */
  buf maps;        /* the latest MAPPINGS chunk */
  buf defs;        /* every STRINGS and STACKS chunk so far */
  sync_point syncs[ET_SYNC_KEEP];
  size_t nsyncs; /* recorded in all; the last ET_SYNC_KEEP are kept */
  struct iovec tmp[2 * ET_BATCH + 8];
} writer;

static void fail(et__session *s, int err) {
  if (s->write_error == 0) s->write_error = err;
}

/* Writes iov[0..n) to fd whole; 0 or -errno.  Changes iov. */
static int writev_all(int fd, struct iovec *iov, int n, uint64_t *bytes) {
  while (n > 0) {
    ssize_t w = writev(fd, iov, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    *bytes += (uint64_t)w;
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
  return 0;
}

/* Sends iov[0..n) (n <= 2 * ET_BATCH + 8) to sink k. */
static void sink_write(writer *w, et__sink *k, const struct iovec *iov, int n) {
  if (k->error || k->finished) return;
  if (k->fd >= 0) {
    memcpy(w->tmp, iov, (size_t)n * sizeof *iov);
    int err = writev_all(k->fd, w->tmp, n, &k->bytes);
    if (k->is_file) {
      w->s->bytes_written = k->bytes;
      if (err) fail(w->s, err);
    }
    if (err) k->error = err;
    return;
  }
  size_t len = 0;
  for (int i = 0; i < n; i++) len += iov[i].iov_len;
  if (len == 0) return;
  pthread_mutex_lock(&k->mu);
  if (k->queued + len > k->max_queued) {
    /* The reader fell behind: cut its trace here rather than hold the writer
     * or grow without bound.  It ends without END, which readers report. */
    k->overflow = true;
    k->finished = true;
    k->error = -ENOBUFS;
  } else {
    et__qblock *q = malloc(sizeof *q + len);
    if (q == NULL) {
      k->finished = true;
      k->error = -ENOMEM;
    } else {
      q->next = NULL;
      q->len = len;
      q->off = 0;
      size_t off = 0;
      for (int i = 0; i < n; i++) {
        if (iov[i].iov_len) memcpy(q->data + off, iov[i].iov_base, iov[i].iov_len);
        off += iov[i].iov_len;
      }
      if (k->qtail) k->qtail->next = q;
      else k->qhead = q;
      k->qtail = q;
      k->queued += len;
      k->bytes += len;
    }
  }
  pthread_cond_broadcast(&k->cv);
  pthread_mutex_unlock(&k->mu);
}

/* Sends iov[0..n) to w->only if set, else to every attached sink. */
static void emit(writer *w, const struct iovec *iov, int n) {
  if (w->only) {
    sink_write(w, w->only, iov, n);
    return;
  }
  for (et__sink *k = w->sinks; k; k = k->next) sink_write(w, k, iov, n);
}

static void emit_bytes(writer *w, const void *p, size_t len) {
  struct iovec iov = {(void *)p, len};
  if (len) emit(w, &iov, 1);
}

/* Builds one chunk whose payload is the concatenation of a and b; with keep
 * non-NULL, appends a copy to it (the prologue and definitions to replay). */
static void write_chunk2(writer *w, unsigned type, const void *a, size_t alen, const void *b,
                         size_t blen, buf *keep) {
  uint8_t hdr[ET_CHUNK_HEADER_LEN];
  uint32_t crc = 0;
  if (alen) crc = et__crc32(crc, a, alen);
  if (blen) crc = et__crc32(crc, b, blen);
  et__chunk_header(hdr, type, (uint32_t)(alen + blen), (uint32_t)crc);
  struct iovec iov[3] = {{hdr, sizeof hdr}, {(void *)a, alen}, {(void *)b, blen}};
  emit(w, iov, blen ? 3 : 2);
  if (keep) {
    size_t len = sizeof hdr + alen + blen;
    if (!buf_reserve(keep, len)) {
      fail(w->s, -ENOMEM);
      return;
    }
    memcpy(keep->p + keep->len, hdr, sizeof hdr);
    if (alen) memcpy(keep->p + keep->len + sizeof hdr, a, alen);
    if (blen) memcpy(keep->p + keep->len + sizeof hdr + alen, b, blen);
    keep->len += len;
  }
}

static void write_meta_chunk(writer *w, unsigned type, buf *keep) {
  if (w->meta.len == 0) return;
  write_chunk2(w, type, w->meta.p, w->meta.len, NULL, 0, keep);
  w->meta.len = 0;
}

static void note_sync(writer *w, uint64_t ticks, uint64_t ns, uint64_t rate) {
  w->syncs[w->nsyncs % ET_SYNC_KEEP] = (sync_point){ticks, ns, rate};
  w->nsyncs++;
}

static void write_sync(writer *w, const sync_point *sp) {
  uint8_t p[3 * ET_VARINT_MAX], *q = p;
  q = et__put_uvarint(q, sp->ticks);
  q = et__put_uvarint(q, sp->ns);
  q = et__put_uvarint(q, sp->rate);
  write_chunk2(w, ET_CHUNK_CLOCK, p, (size_t)(q - p), NULL, 0, NULL);
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
  sync_point sp = {ticks, ns, rate};
  write_sync(w, &sp);
  note_sync(w, ticks, ns, rate);
}

static void write_mappings(writer *w) {
  size_t len = et__mappings_encode(&w->scratch.p, &w->scratch.cap);
  if (len == 0) return;
  w->maps.len = 0;
  write_chunk2(w, ET_CHUNK_MAPPINGS, w->scratch.p, len, NULL, 0, &w->maps);
}

static void write_definitions(writer *w, et__meta *m) {
  /* Consecutive definitions of one type share a chunk, up to a batch size. */
  unsigned type = 0;
  for (; m; m = m->next) {
    if (m->type != type || w->meta.len >= ET_META_BATCH) {
      write_meta_chunk(w, type, &w->defs);
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
  write_meta_chunk(w, type, &w->defs);
}

/* Writes the batched chunks to the sinks and the ring, and gives their
 * buffers back to the pool. */
static void batch_flush(writer *w) {
  batch *b = w->b;
  if (b->niov) {
    emit(w, b->iov, b->niov);
    if (w->ring && !w->only) {
      uint64_t now = et__mono_ns();
      for (int i = 0; i + 1 < b->niov; i += 2)
        et__ring_append(w->ring, b->iov[i].iov_base, b->iov[i].iov_len, b->iov[i + 1].iov_base,
                        b->iov[i + 1].iov_len, b->first[i / 2], now);
    }
  }
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
    uint8_t *head = b->head[b->nhead], *q = head + ET_CHUNK_HEADER_LEN;
    q = et__put_uvarint(q, t->tid);
    *q++ = c->stream;
    q = et__put_uvarint(q, t->seq[c->stream]++);
    q = et__put_uvarint(q, c->flushed_ticks);
    q = et__put_uvarint(q, c->flushed_obj);
    if (c->flushed_rtask != 0 || c->flushed_rname != 0) {
      /* The piece continues a buffer chunk after a region_begin: a reader
       * starts each EVENTS chunk with an empty region register, so the piece
       * opens with the register's value (catalog.h), at the base time. */
      uint64_t unused = 0;
      *q++ = ET_EV_REGION_LAST;
      *q++ = 0;
      q = et__enc_region_last(q, &unused, c->flushed_rtask, c->flushed_rname);
    }
    size_t hlen = (size_t)(q - head) - ET_CHUNK_HEADER_LEN, dlen = pos - c->flushed;
    uint32_t crc = et__crc32(et__crc32(0, head + ET_CHUNK_HEADER_LEN, hlen), c->data + c->flushed, dlen);
    et__chunk_header(head, ET_CHUNK_EVENTS, (uint32_t)(hlen + dlen), crc);
    /* The first event's time: its kind byte, then its delta. */
    uint64_t dt = 0;
    const uint8_t *e = c->data + c->flushed + 1;
    if (dlen > 1) et__get_uvarint(&e, c->data + pos, &dt);
    b->first[b->nhead] = c->flushed_ticks + dt;
    b->nhead++;
    b->iov[b->niov++] = (struct iovec){head, ET_CHUNK_HEADER_LEN + hlen};
    b->iov[b->niov++] = (struct iovec){c->data + c->flushed, dlen};
  }
  if (release) {
    b->release[b->nrelease++] = c;
    return;
  }
  if (pos <= c->flushed) return;
  if (need_last) {
    /* The next piece of this chunk starts from this piece's last event,
     * object and region register. */
    const uint8_t *p = c->data + c->flushed, *end = c->data + pos;
    uint64_t ticks = c->flushed_ticks, obj = c->flushed_obj, dt;
    uint64_t rtask = c->flushed_rtask, rname = c->flushed_rname;
    while (p < end) {
      const uint8_t *e = p;
      if (et__event_skip(et__kinds, &p, end, &dt, &obj) != 0) break;
      ticks += dt;
      if (*e++ == ET_EV_REGION_BEGIN && et__get_uvarint(&e, p, &dt) == 0 &&
          et__get_uvarint(&e, p, &rtask) == 0)
        et__get_uvarint(&e, p, &rname);
    }
    c->flushed_ticks = ticks;
    c->flushed_obj = obj;
    c->flushed_rtask = rtask;
    c->flushed_rname = rname;
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
  write_meta_chunk(w, ET_CHUNK_END, NULL);
}

/* The file header, CATALOG and PROCESS, into w->pro (sent to no sink). */
static void build_prologue(writer *w) {
  et__session *s = w->s;
  buf *pro = &w->pro;
  if (!buf_reserve(pro, ET_FILE_HEADER_LEN)) {
    fail(s, -ENOMEM);
    return;
  }
  et__file_header(pro->p);
  pro->len = ET_FILE_HEADER_LEN;

  et__sink *only = w->only, none = {.fd = -1, .finished = true};
  w->only = &none; /* build only */
  uint8_t cat[1 << 14];
  size_t n = et__catalog_encode(cat, sizeof cat); /* a unit test checks the catalogue fits */
  if (n == 0) fail(s, ET_E_LIMIT);
  write_chunk2(w, ET_CHUNK_CATALOG, cat, n, NULL, 0, pro);

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
    w->only = only;
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
  write_meta_chunk(w, ET_CHUNK_PROCESS, pro);
  w->only = only;
}

static void write_prologue(writer *w) {
  et__session *s = w->s;
  build_prologue(w);
  emit_bytes(w, w->pro.p, w->pro.len);

  /* The start's sync point. */
  sync_point sp = {s->start_ticks, s->start_ns, s->ticks_per_sec};
  write_sync(w, &sp);
  note_sync(w, sp.ticks, sp.ns, sp.rate);

  et__mappings_changed(w->dl_counters);
  write_mappings(w);
}

/* A THREADS chunk: the threads alive now and their names, for an output
 * that starts after they announced themselves (their thread_start and
 * thread_name events are before its window). */
static void write_threads(writer *w) {
  w->meta.len = 0;
  for (et__thread *t = atomic_load_explicit(&w->s->threads, memory_order_acquire); t; t = t->reg_next) {
    if (atomic_load_explicit(&t->dead, memory_order_acquire)) continue;
    if (!buf_reserve(&w->meta, 2 * ET_VARINT_MAX)) {
      fail(w->s, -ENOMEM);
      return;
    }
    uint8_t *p = w->meta.p + w->meta.len;
    p = et__put_uvarint(p, t->tid);
    p = et__put_uvarint(p, atomic_load_explicit(&t->name_sid, memory_order_relaxed));
    w->meta.len = (size_t)(p - w->meta.p);
  }
  write_meta_chunk(w, ET_CHUNK_THREADS, NULL);
}

/* The prologue of a sink attached now: everything it needs before the
 * events to come.  Its first sync point is now, so it starts now. */
static void write_late_prologue(writer *w, et__sink *k) {
  w->only = k;
  emit_bytes(w, w->pro.p, w->pro.len);
  write_clock(w);
  emit_bytes(w, w->maps.p, w->maps.len);
  emit_bytes(w, w->defs.p, w->defs.len);
  write_threads(w);
  w->only = NULL;
}

static void ring_chunk(void *arg, const uint8_t *p, size_t len) {
  emit_bytes(arg, p, len);
}

/* A flight snapshot into fd: the prologue, the sync points from just before
 * the ring's oldest event, the mappings and definitions, the ring's chunks,
 * a closing sync point and END.  Called right after a flush pass, so the
 * ring holds every event committed until now. */
static int write_snapshot(writer *w, int fd) {
  et__sink k = {.fd = fd, .end_ns = UINT64_MAX};
  w->only = &k;
  emit_bytes(w, w->pro.p, w->pro.len);
  uint64_t first = w->ring ? et__ring_first_ticks(w->ring) : UINT64_MAX;
  size_t kept = w->nsyncs < ET_SYNC_KEEP ? w->nsyncs : ET_SYNC_KEEP;
  size_t from = w->nsyncs - kept; /* the oldest kept */
  for (size_t i = w->nsyncs; i-- > from;) /* the latest sync point at or before the first event */
    if (w->syncs[i % ET_SYNC_KEEP].ticks <= first) {
      from = i;
      break;
    }
  for (size_t i = from; i < w->nsyncs; i++) write_sync(w, &w->syncs[i % ET_SYNC_KEEP]);
  emit_bytes(w, w->maps.p, w->maps.len);
  emit_bytes(w, w->defs.p, w->defs.len);
  write_threads(w);
  if (w->ring) et__ring_each(w->ring, ring_chunk, w);
  write_clock(w);
  write_end(w);
  w->only = NULL;
  return k.error;
}

/* The writer is done with sink k: wake its reader and drop the writer's reference. */
static void sink_finish(et__sink *k, bool complete) {
  pthread_mutex_lock(&k->mu);
  if (!k->finished) k->complete = complete && k->error == 0;
  k->finished = true;
  pthread_cond_broadcast(&k->cv);
  pthread_mutex_unlock(&k->mu);
  et__sink_unref(k);
}

/* Ends sink k with a sync point and END, and detaches it. */
static void sink_end(writer *w, et__sink *k) {
  w->only = k;
  write_clock(w);
  write_end(w);
  w->only = NULL;
  for (et__sink **pp = &w->sinks; *pp; pp = &(*pp)->next)
    if (*pp == k) {
      *pp = k->next;
      break;
    }
  k->next = NULL;
  sink_finish(k, true);
}

static void snapshot_to_dir(writer *w) {
  et__session *s = w->s;
  char path[512];
  uint64_t n = atomic_fetch_add(&s->snap_count, 1);
  snprintf(path, sizeof path, "%s/flight-%d-%llu.etrace", s->snap_dir[0] ? s->snap_dir : ".",
           (int)s->pid, (unsigned long long)n);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  write_snapshot(w, fd);
  close(fd);
}

static uint64_t earliest_end(const writer *w) {
  uint64_t e = UINT64_MAX;
  for (const et__sink *k = w->sinks; k; k = k->next)
    if (k->end_ns < e) e = k->end_ns;
  return e;
}

/* Publishes the ring's accounting for et_flight_stats. */
static void publish_ring(writer *w) {
  size_t bytes = 0, cap = 0;
  uint64_t dropped = 0, young = 0;
  if (w->ring) et__ring_stats(w->ring, &bytes, &dropped, &young, &cap);
  atomic_store_explicit(&w->s->ring_bytes, bytes, memory_order_relaxed);
  atomic_store_explicit(&w->s->ring_cap, cap, memory_order_relaxed);
  atomic_store_explicit(&w->s->ring_dropped, dropped, memory_order_relaxed);
  atomic_store_explicit(&w->s->ring_young, young, memory_order_relaxed);
}

/* Requests and deadlines, between passes.  Anything to do starts with a
 * flush pass, so every event committed until now goes to the sinks (and the
 * ring) as they were. */
static void control(writer *w) {
  et__session *s = w->s;
  uint64_t now = et__mono_ns();
  bool asked = atomic_exchange(&s->ctl_pending, 0) != 0;
  bool due = false;
  for (et__sink *k = w->sinks; k; k = k->next)
    due |= now >= k->end_ns || atomic_load_explicit(&k->cancel, memory_order_relaxed);
  if (!asked && !due) return;

  pthread_mutex_lock(&s->ctl_mu);
  et__sink *attach = s->req_attach;
  s->req_attach = NULL;
  et__snapreq *snaps = s->req_snap;
  s->req_snap = NULL;
  bool ring_set = s->req_ring_set;
  et__ring *ring = s->req_ring;
  s->req_ring_set = false;
  pthread_mutex_unlock(&s->ctl_mu);
  bool sig = atomic_exchange(&s->snap_signal, 0) != 0;

  pass(w, true);
  /* Sinks at their end. */
  for (et__sink *k = w->sinks, *next; k; k = next) {
    next = k->next;
    if (now >= k->end_ns || atomic_load_explicit(&k->cancel, memory_order_relaxed)) sink_end(w, k);
  }
  /* Snapshots. */
  if (sig && w->ring) snapshot_to_dir(w);
  for (et__snapreq *r = snaps; r; r = r->next) r->err = w->ring ? write_snapshot(w, r->fd) : ET_E_INACTIVE;
  /* The ring. */
  if (ring_set) {
    if (w->ring && w->ring != ring) et__ring_free(w->ring);
    w->ring = ring;
  }
  publish_ring(w);
  /* New sinks, oldest request first. */
  et__sink *rev = NULL;
  while (attach) {
    et__sink *next = attach->next;
    attach->next = rev;
    rev = attach;
    attach = next;
  }
  while (rev) {
    et__sink *k = rev;
    rev = rev->next;
    if (atomic_load(&k->cancel)) {
      sink_finish(k, false);
      continue;
    }
    write_late_prologue(w, k);
    k->next = w->sinks;
    w->sinks = k;
  }
  if (snaps || ring_set) {
    pthread_mutex_lock(&s->ctl_mu);
    for (et__snapreq *r = snaps; r; r = r->next) r->done = true;
    pthread_cond_broadcast(&s->ctl_cv);
    pthread_mutex_unlock(&s->ctl_mu);
  }
}


static void wait_for_work(et__session *s, uint64_t timeout_ns) {
  uint32_t seq = atomic_load(&s->wake_seq);
  atomic_store(&s->writer_waiting, 1);
  if (atomic_load(&s->submitted) == NULL && !atomic_load(&s->stop_requested) &&
      !atomic_load(&s->ctl_pending)) {
    struct timespec ts = {(time_t)(timeout_ns / 1000000000u), (long)(timeout_ns % 1000000000u)};
    syscall(SYS_futex, &s->wake_seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
  }
  atomic_store(&s->writer_waiting, 0);
}

static void *writer_main(void *arg) {
  writer *w = calloc(1, sizeof *w);
  batch *b = calloc(1, sizeof(batch));
  et__session *s = arg;
  if (w == NULL || b == NULL) { /* nothing can be written: et_stop reports it */
    free(w);
    free(b);
    fail(s, -ENOMEM);
    return NULL;
  }
  w->s = s;
  w->b = b;
  w->dl_counters[0] = w->dl_counters[1] = ~0ull;
  et__tls = (et__thread *)(uintptr_t)1; /* never record from this thread */
  if (s->file) {
    w->sinks = s->file;
    pthread_mutex_lock(&s->file->mu);
    s->file->refs++; /* the writer's reference; the session keeps the other */
    pthread_mutex_unlock(&s->file->mu);
  }
  write_prologue(w);
  uint64_t now = et__mono_ns();
  uint64_t flush_ns = (uint64_t)s->opt.flush_ms * 1000000u;
  w->next_sync = now + ET_CLOCK_SYNC_NS;
  w->next_maps = now + ET_MAPPINGS_CHECK_NS;
  w->next_flush = flush_ns ? now + flush_ns : UINT64_MAX; /* 0: flush only at stop */
  while (!atomic_load(&s->stop_requested)) {
    control(w);
    now = et__mono_ns();
    uint64_t deadline = w->next_sync < w->next_flush ? w->next_sync : w->next_flush;
    uint64_t end = earliest_end(w);
    if (end < deadline) deadline = end;
    if (deadline > now) wait_for_work(s, deadline - now < 50000000u ? deadline - now : 50000000u);
    now = et__mono_ns();
    bool flush = flush_ns && now >= w->next_flush;
    if (flush) w->next_flush = now + flush_ns;
    pass(w, flush);
    publish_ring(w);
    if (now >= w->next_sync) {
      w->next_sync = now + ET_CLOCK_SYNC_NS;
      write_clock(w);
    }
  }
  /* No more CPU samples: the registry is the writer's to walk. */
  for (et__thread *t = atomic_load_explicit(&s->threads, memory_order_acquire); t; t = t->reg_next)
    et__sampler_thread_stop(t);
  /* Final: everything committed by every thread, the closing sync point, END. */
  control(w);
  pass(w, true);
  pass(w, true);
  write_clock(w);
  write_end(w);
  /* Every sink ends here, and requests that came too late are answered. */
  while (w->sinks) {
    et__sink *k = w->sinks;
    w->sinks = k->next;
    k->next = NULL;
    sink_finish(k, true);
  }
  pthread_mutex_lock(&s->ctl_mu);
  for (et__sink *k = s->req_attach, *next; k; k = next) {
    next = k->next;
    sink_finish(k, false);
  }
  s->req_attach = NULL;
  for (et__snapreq *r = s->req_snap; r; r = r->next) {
    r->err = ET_E_INACTIVE;
    r->done = true;
  }
  s->req_snap = NULL;
  if (s->req_ring_set) {
    if (s->req_ring != w->ring) et__ring_free(s->req_ring);
    s->req_ring_set = false;
  }
  pthread_cond_broadcast(&s->ctl_cv);
  pthread_mutex_unlock(&s->ctl_mu);
  if (w->ring) et__ring_free(w->ring);
  free(s->reaped_lost);
  s->reaped_lost = NULL;
  free(w->meta.p);
  free(w->scratch.p);
  free(w->pro.p);
  free(w->maps.p);
  free(w->defs.p);
  free(w->pieces);
  free(w->b);
  free(w);
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

/* ---- sinks ---- */

et__sink *et__sink_new(int fd, bool own_fd, uint64_t end_ns, size_t max_queued) {
  et__sink *k = calloc(1, sizeof *k);
  if (k == NULL) return NULL;
  k->fd = fd;
  k->own_fd = own_fd;
  k->end_ns = end_ns;
  k->max_queued = max_queued;
  k->refs = 1;
  pthread_mutex_init(&k->mu, NULL);
  pthread_cond_init(&k->cv, NULL);
  return k;
}

void et__sink_unref(et__sink *k) {
  pthread_mutex_lock(&k->mu);
  int left = --k->refs;
  pthread_mutex_unlock(&k->mu);
  if (left) return;
  for (et__qblock *q = k->qhead, *next; q; q = next) {
    next = q->next;
    free(q);
  }
  if (k->own_fd && k->fd >= 0) close(k->fd);
  pthread_mutex_destroy(&k->mu);
  pthread_cond_destroy(&k->cv);
  free(k);
}

static void ctl_kick(et__session *s) {
  atomic_store(&s->ctl_pending, 1);
  et__writer_kick(s);
}

void et__writer_attach(et__session *s, et__sink *k) {
  pthread_mutex_lock(&k->mu);
  k->refs++; /* the writer's */
  pthread_mutex_unlock(&k->mu);
  pthread_mutex_lock(&s->ctl_mu);
  k->next = s->req_attach;
  s->req_attach = k;
  pthread_mutex_unlock(&s->ctl_mu);
  ctl_kick(s);
}

void et__writer_cancel(et__session *s, et__sink *k) {
  atomic_store(&k->cancel, 1);
  ctl_kick(s);
}

int et__sink_wait(et__sink *k) {
  pthread_mutex_lock(&k->mu);
  while (!k->finished) pthread_cond_wait(&k->cv, &k->mu);
  int err = k->error;
  pthread_mutex_unlock(&k->mu);
  return err;
}

void et__writer_set_ring(et__session *s, et__ring *r) {
  pthread_mutex_lock(&s->ctl_mu);
  if (s->req_ring_set && s->req_ring && s->req_ring != r) et__ring_free(s->req_ring);
  s->req_ring = r;
  s->req_ring_set = true;
  pthread_mutex_unlock(&s->ctl_mu);
  ctl_kick(s);
  pthread_mutex_lock(&s->ctl_mu);
  while (s->req_ring_set && s->writer_running) pthread_cond_wait(&s->ctl_cv, &s->ctl_mu);
  pthread_mutex_unlock(&s->ctl_mu);
}

int et__writer_snapshot(et__session *s, int fd) {
  et__snapreq r = {.fd = fd};
  pthread_mutex_lock(&s->ctl_mu);
  r.next = s->req_snap;
  s->req_snap = &r;
  pthread_mutex_unlock(&s->ctl_mu);
  ctl_kick(s);
  pthread_mutex_lock(&s->ctl_mu);
  while (!r.done) pthread_cond_wait(&s->ctl_cv, &s->ctl_mu);
  pthread_mutex_unlock(&s->ctl_mu);
  return r.err;
}

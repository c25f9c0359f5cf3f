/* Decoding events: the field decoder, ticks-to-nanoseconds conversion, and
 * the cursor over one stream of one thread.
 *
 * An EVENTS chunk is validated once when it is indexed: its events are
 * decoded to the first malformed byte, and the chunk's usable length is cut
 * there (with a warning), so cursors later decode without checks failing.
 */
#include <stdlib.h>

#include "model_internal.h"

#define ET_UNLIKELY_R(x) __builtin_expect(!!(x), 0)

void et__region_roles(et_trace *t) {
  memset(t->region_role, ET_RR_NONE, sizeof t->region_role);
  if (t->known[ET_EV_REGION_BEGIN]) t->region_role[ET_EV_REGION_BEGIN] = ET_RR_BEGIN;
  if (t->known[ET_EV_REGION_END_LAST] && t->known[ET_EV_REGION_END])
    t->region_role[ET_EV_REGION_END_LAST] = ET_RR_END_LAST;
  if (t->known[ET_EV_REGION_LAST]) t->region_role[ET_EV_REGION_LAST] = ET_RR_SET;
}

int et__decode(const et_trace *t, const uint8_t **pp, const uint8_t *end, et_event *ev,
               uint64_t *ticks, uint64_t *obj, uint64_t reg[2]) {
  const uint8_t *p = *pp;
  for (;;) {
    if (p >= end) return -1;
    unsigned kind = *p++;
    const et_kind_desc *d = &t->kinds[kind];
    if (d->name == NULL) return -1;
    uint64_t dt;
    if (et__get_uvarint(&p, end, &dt) != 0) return -1;
    *ticks += dt;
    ev->kind = (uint8_t)kind;
    ev->nfields = d->nfields;
    ev->stack = 0;
    ev->bytes = NULL;
    for (unsigned f = 0; f < d->nfields; f++) {
      uint64_t v;
      if (et__get_uvarint(&p, end, &v) != 0) return -1;
      switch (d->ftype[f]) {
        case ET_FT_I: v = (uint64_t)et__unzigzag(v); break;
        case ET_FT_P: v = *obj += (uint64_t)et__unzigzag(v); break;
        case ET_FT_K: ev->stack = v > UINT32_MAX ? 0 : (uint32_t)v; break;
        case ET_FT_B:
          if (v > (uint64_t)(end - p)) return -1;
          ev->bytes = (const char *)p;
          p += v;
          break;
        default: break;
      }
      ev->field[f] = v;
    }
    unsigned role = t->region_role[kind];
    if (ET_UNLIKELY_R(role != ET_RR_NONE)) {
      if (role == ET_RR_END_LAST) {
        /* A region_end that names the stream's last region. */
        ev->kind = ET_EV_REGION_END;
        ev->nfields = 2;
        ev->field[0] = reg[0];
        ev->field[1] = reg[1];
      } else {
        reg[0] = ev->field[0]; /* region_begin or region_last: task, name */
        reg[1] = ev->field[1];
        if (role == ET_RR_SET) { /* not an event: on to the next one */
          *pp = p;
          if (p >= end) return 1;
          continue;
        }
      }
    }
    *pp = p;
    return 0;
  }
}

static int cmp_sync(const void *a, const void *b) {
  const et__sync *x = a, *y = b;
  return x->ticks < y->ticks ? -1 : x->ticks > y->ticks;
}

void et__sort_syncs(et_trace *t) {
  if (!t->syncs_sorted && t->nsyncs > 1) qsort(t->syncs, t->nsyncs, sizeof *t->syncs, cmp_sync);
  t->syncs_sorted = true;
}

et__seg et__segment(const et_trace *t, uint64_t ticks) {
  double rate = t->rate ? (double)t->rate : 1e9;
  et__seg s = {ticks, 0, 1e9 / rate};
  if (t->nsyncs == 0) return s;
  double start = (double)t->info.start_ns;
  /* The last sync point at or before ticks (or the first). */
  size_t lo = 0, hi = t->nsyncs;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (t->syncs[mid].ticks <= ticks) lo = mid;
    else hi = mid;
  }
  const et__sync *a = &t->syncs[lo];
  s.ticks = a->ticks;
  s.ns = (double)a->ns - start;
  if (lo + 1 < t->nsyncs) {
    const et__sync *b = &t->syncs[lo + 1];
    if (b->ticks > a->ticks && b->ns > a->ns)
      s.slope = (double)(b->ns - a->ns) / (double)(b->ticks - a->ticks);
  } else if (lo > 0) {
    const et__sync *b = &t->syncs[lo - 1];
    if (a->ticks > b->ticks && a->ns > b->ns)
      s.slope = (double)(a->ns - b->ns) / (double)(a->ticks - b->ticks);
  }
  return s;
}

void et__iter_init(et__iter *it, const et_trace *t, const et__mstream *s, uint64_t tid,
                   uint8_t stream) {
  memset(it, 0, sizeof *it);
  it->t = t;
  it->s = s;
  it->ref = (size_t)-1;
  it->tid = tid;
  it->stream = stream;
}

bool et__iter_next(et__iter *it, et_event *ev) {
  while (it->p >= it->end) {
    if (++it->ref >= it->s->n) {
      it->ref = it->s->n;
      return false;
    }
    const et__ref *r = &it->s->refs[it->ref];
    it->p = r->p;
    it->end = r->p + r->len;
    it->ticks = r->base_ticks;
    it->obj = r->base_obj;
    it->reg[0] = it->reg[1] = 0;
    it->seg = et__segment(it->t, r->base_ticks);
  }
  const uint8_t *at = it->p;
  int rc = et__decode(it->t, &it->p, it->end, ev, &it->ticks, &it->obj, it->reg);
  if (ET_UNLIKELY_R(rc != 0)) {
    if (rc < 0 && it->validate) { /* rc > 0: only region_last records were left */
      /* Cut the chunk here once, so that later cursors stop cleanly. */
      et__ref *r = (et__ref *)&it->s->refs[it->ref];
      et_trace *t = (et_trace *)it->t;
      size_t lost = (size_t)(it->end - at);
      et__warn(t, "events chunk at offset %llu (thread %llu): undecodable event (kind %u) at "
                  "byte %zu; the chunk's last %zu bytes are skipped",
               (unsigned long long)r->file_off, (unsigned long long)it->tid, *at,
               (size_t)(at - r->p), lost);
      pthread_mutex_lock(&t->warn_lock);
      t->info.lost_bytes += lost;
      pthread_mutex_unlock(&t->warn_lock);
      r->len = (uint32_t)(at - r->p);
    }
    it->p = it->end;
    return et__iter_next(it, ev);
  }
  ev->time = et__seg_ns(&it->seg, it->ticks);
  ev->tid = it->tid;
  ev->stream = it->stream;
  return true;
}

/* Parses an EVENTS chunk header. */
static int events_header(const uint8_t **p, const uint8_t *end, uint64_t *tid, unsigned *stream,
                         uint64_t *seq, uint64_t *base, uint64_t *base_obj) {
  if (et__get_uvarint(p, end, tid) || *p >= end) return -1;
  *stream = *(*p)++;
  if (*stream >= ET_STREAM_COUNT) return -1;
  if (et__get_uvarint(p, end, seq) || et__get_uvarint(p, end, base) ||
      et__get_uvarint(p, end, base_obj))
    return -1;
  return 0;
}

void et__events_chunk(et_trace *t, const uint8_t *p, size_t len, size_t off, uint32_t crc) {
  const uint8_t *end = p + len;
  uint64_t tid, seq, base, base_obj;
  unsigned stream;
  if (events_header(&p, end, &tid, &stream, &seq, &base, &base_obj) != 0 || tid == 0) {
    t->info.lost_chunks++;
    et__warn(t, "events chunk at offset %zu has a malformed header: skipped", off);
    return;
  }
  if (t->stream) {
    uint64_t key = ((tid * 0x9e3779b97f4a7c15ull) ^ (seq << 1 | stream)) * 0xbf58476d1ce4e5b9ull ^ crc;
    uint64_t seen;
    if (et__map_get(&t->stream_seen, key, &seen)) {
      et__warn(t, "thread %llu: chunk %llu of its %s stream appears twice: the copy is ignored",
               (unsigned long long)tid, (unsigned long long)seq, stream ? "signal" : "main");
      return;
    }
    et__map_put(&t->stream_seen, key, 1);
    /* Streaming: decode and deliver now, to the first undecodable event. */
    const uint8_t *q = p;
    uint64_t ticks = base, obj = base_obj, reg[2] = {0, 0};
    et__seg seg = et__segment(t, base);
    et_event ev;
    while (q < end) {
      const uint8_t *at = q;
      int r = et__decode(t, &q, end, &ev, &ticks, &obj, reg);
      if (r > 0) break; /* a region_last at the chunk's end */
      if (r != 0) {
        t->info.lost_bytes += (size_t)(end - at);
        et__warn(t, "events chunk at offset %zu (thread %llu): undecodable event (kind %u) at byte "
                    "%zu; the chunk's last %zu bytes are skipped",
                 off, (unsigned long long)tid, *at, (size_t)(at - p), (size_t)(end - at));
        break;
      }
      ev.time = et__seg_ns(&seg, ticks);
      ev.tid = tid;
      ev.stream = (uint8_t)stream;
      t->info.events++;
      if (t->stream->event && t->stream->event(t->stream_arg, t, &ev) != 0) {
        t->stream_stop = 1;
        return;
      }
    }
    return;
  }
  /* Model: index the chunk; the build's pass decodes (and validates) it. */
  size_t ti = et__thread_of(t, tid);
  if (ti == SIZE_MAX) return;
  et__mstream *s = &t->threads[ti].st[stream];
  if (!ET_VEC_GROW(s->refs, s->n, s->cap)) return;
  s->refs[s->n++] = (et__ref){p, (uint32_t)(end - p), 0, off, seq, base, base_obj};
}

void et__merged_init(et__merged *m, const et_trace *t, size_t ti, bool validate) {
  const et__mthread *th = &t->threads[ti];
  for (unsigned s = 0; s < ET_STREAM_COUNT; s++) {
    et__iter_init(&m->it[s], t, &th->st[s], th->info.tid, (uint8_t)s);
    m->it[s].validate = validate;
  }
  m->single = th->st[ET_STREAM_SIGNAL].n == 0;
  for (unsigned s = 0; s < ET_STREAM_COUNT; s++)
    m->have[s] = !m->single && et__iter_next(&m->it[s], &m->ev[s]);
}

bool et__merged_next(et__merged *m, et_event *ev) {
  if (m->single) return et__iter_next(&m->it[0], ev);
  int pick = -1;
  for (unsigned s = 0; s < ET_STREAM_COUNT; s++)
    if (m->have[s] && (pick < 0 || m->ev[s].time < m->ev[pick].time)) pick = (int)s;
  if (pick < 0) return false;
  *ev = m->ev[pick];
  m->have[pick] = et__iter_next(&m->it[pick], &m->ev[pick]);
  return true;
}

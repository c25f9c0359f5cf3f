/* Reading CTF traces through libbabeltrace2: exectrace's own CTF export
 * and LTTng traces of the `exectrace` tracepoint provider, which share one
 * description of the events (convert/export/ctf_meta.h).
 *
 * A graph of a `source.ctf.fs` component on the directory and a sink of
 * ours reads every message once.  Each event whose class names a kind of
 * the catalogue (plain, or "exectrace:KIND" as LTTng names them) is
 * re-encoded as the tracer would have written it: its strings and stacks
 * interned, its thread's events appended to an EVENTS chunk of that thread
 * and stream.  The result is a native trace in memory (header, catalogue,
 * process, clock, strings, stacks, mappings, events, END), which the
 * caller loads like any other; so every tool reads a CTF trace with the
 * same model and the same rules.
 *
 * Where things come from:
 *   thread     the packet context's `tid` (our export: a stream per thread),
 *              else the event's common context `vtid` (LTTng, with
 *              `lttng add-context -u -t vtid`); events without one are
 *              skipped and counted
 *   stream     the packet context's `signal` (our export), else 0
 *   time       the clock snapshot in ns from the clock's origin; a sync point
 *              maps the trace's start (env `start_monotonic_ns` of our
 *              export, else the first event) to time 0
 *   process    env `vpid`, `exe`, `cmdline`, `procname`
 *   mappings   LTTng's `lttng_ust_statedump:bin_info` and `:build_id` events
 *   losses     discarded-events messages, per thread when the stream has one
 */
#include <babeltrace2/babeltrace.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

#define CHUNK_TARGET (60 * 1024) /* an EVENTS chunk's payload, like the tracer's 64 KiB chunks */

typedef struct buf {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} buf;

static void put(buf *b, const void *p, size_t n) {
  if (b->oom) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->n + n) cap *= 2;
    uint8_t *q = realloc(b->p, cap);
    if (!q) {
      b->oom = true;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

static void put_u(buf *b, uint64_t v) {
  uint8_t t[10];
  put(b, t, (size_t)(et__put_uvarint(t, v) - t));
}

static void put_s(buf *b, int64_t v) {
  uint8_t t[10];
  put(b, t, (size_t)(et__put_svarint(t, v) - t));
}

static void put_str(buf *b, const void *s, size_t n) {
  put_u(b, n);
  put(b, s, n);
}

static void put_chunk(buf *out, unsigned type, const buf *payload) {
  uint8_t h[ET_CHUNK_HEADER_LEN];
  et__chunk_header(h, type, (uint32_t)payload->n, et__crc32(0, payload->p, payload->n));
  put(out, h, sizeof h);
  put(out, payload->p, payload->n);
}

/* ---- interning: strings and stacks by content ---- */

typedef struct intern {
  uint64_t *hash;  /* 0: free */
  uint32_t *id;
  size_t cap, n;
  buf defs;        /* the STRINGS or STACKS payload so far */
  buf keys;        /* each entry's content, for comparing: u32 length + bytes */
  uint32_t *koff;  /* by id: offset of its content in keys */
  size_t capk;
} intern;

static uint64_t hash_bytes(const void *p, size_t n) {
  const uint8_t *s = p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
  return h | 1;
}

/* The id of content [p, p + n); new ones get the next id and def() writes
 * their definition.  0 when out of memory. */
static uint32_t intern_get(intern *m, const void *p, size_t n, void (*def)(buf *, uint32_t, const void *, size_t)) {
  uint64_t h = hash_bytes(p, n);
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *hh = calloc(cap, sizeof *hh);
    uint32_t *ii = malloc(cap * sizeof *ii);
    if (!hh || !ii) {
      free(hh);
      free(ii);
      return 0;
    }
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->hash[i]) continue;
      size_t j = m->hash[i] & (cap - 1);
      while (hh[j]) j = (j + 1) & (cap - 1);
      hh[j] = m->hash[i];
      ii[j] = m->id[i];
    }
    free(m->hash);
    free(m->id);
    m->hash = hh;
    m->id = ii;
    m->cap = cap;
  }
  size_t j = h & (m->cap - 1);
  for (; m->hash[j]; j = (j + 1) & (m->cap - 1)) {
    if (m->hash[j] != h) continue;
    const uint8_t *k = m->keys.p + m->koff[m->id[j]];
    uint32_t len;
    memcpy(&len, k, 4);
    if (len == n && memcmp(k + 4, p, n) == 0) return m->id[j];
  }
  uint32_t id = (uint32_t)m->n + 1;
  if (id + 1 > m->capk) {
    size_t cap = m->capk ? m->capk * 2 : 1024;
    uint32_t *q = realloc(m->koff, cap * sizeof *q);
    if (!q) return 0;
    m->koff = q;
    m->capk = cap;
  }
  if (m->keys.n > UINT32_MAX - n - 4) return 0;
  m->koff[id] = (uint32_t)m->keys.n;
  uint32_t len = (uint32_t)n;
  put(&m->keys, &len, 4);
  put(&m->keys, p, n);
  def(&m->defs, id, p, n);
  if (m->keys.oom || m->defs.oom) return 0;
  m->hash[j] = h;
  m->id[j] = id;
  m->n++;
  return id;
}

static void def_string(buf *b, uint32_t id, const void *p, size_t n) {
  put_u(b, id);
  put_str(b, p, n);
}

static void def_stack(buf *b, uint32_t id, const void *p, size_t n) {
  const uint64_t *f = p;
  size_t nf = n / sizeof *f;
  put_u(b, id);
  put_u(b, nf);
  for (size_t i = 0; i < nf; i++) {
    if (i == 0) put_u(b, f[0]);
    else put_s(b, (int64_t)(f[i] - f[i - 1]));
  }
}

static void intern_free(intern *m) {
  free(m->hash);
  free(m->id);
  free(m->defs.p);
  free(m->keys.p);
  free(m->koff);
}

/* ---- streams: one per (thread, signal) ---- */

typedef struct stream {
  uint64_t tid;
  uint8_t signal;
  uint64_t seq;
  uint64_t base_ticks, base_obj; /* of the chunk being filled */
  uint64_t ticks, obj;           /* the stream's running values */
  uint64_t lost;                 /* discarded events */
  buf cur;                       /* the chunk's events */
} stream;

typedef struct mapping {
  uint64_t start, limit;
  char *path;
  uint8_t build_id[64];
  size_t build_id_len;
} mapping;

typedef struct discard {
  uint64_t stream, count;
} discard;

typedef struct importer {
  intern strings, stacks;
  stream *st;
  size_t nst, capst;
  et__u64map st_index; /* (tid << 1 | signal) -> index */
  et__u64map bt_streams; /* babeltrace2 stream -> index of the last stream of ours its events went to */
  const void *last_bts;
  discard *disc;
  size_t ndisc, capdisc;
  buf events;          /* finished EVENTS chunks */
  mapping *maps;
  size_t nmaps, capmaps;
  uint64_t first_ns;
  bool have_first;
  uint64_t start_monotonic;
  bool have_start;
  uint64_t origin_offset_ns; /* the clock's offset: ns from origin at the clock's zero */
  bool clock_epoch;
  uint64_t pid;
  char exe[4096], cmdline[8192], procname[64];
  bool env_read;
  uint64_t skipped_unknown, skipped_no_tid, nevents, lost_unattributed;
  bool oom;
  char err[256];
} importer;

static stream *stream_of(importer *im, uint64_t tid, uint8_t signal) {
  uint64_t key = tid << 1 | signal, i;
  if (et__map_get(&im->st_index, key, &i)) return &im->st[i];
  if (!ET_VEC_GROW(im->st, im->nst, im->capst) || !et__map_put(&im->st_index, key, im->nst)) {
    im->oom = true;
    return NULL;
  }
  stream *s = &im->st[im->nst++];
  memset(s, 0, sizeof *s);
  s->tid = tid;
  s->signal = signal;
  return s;
}

static void flush_stream(importer *im, stream *s) {
  if (s->cur.n == 0) return;
  buf p = {0};
  put_u(&p, s->tid);
  put(&p, &s->signal, 1);
  put_u(&p, s->seq++);
  put_u(&p, s->base_ticks);
  put_u(&p, s->base_obj);
  put(&p, s->cur.p, s->cur.n);
  if (p.oom || s->cur.oom) im->oom = true;
  else put_chunk(&im->events, ET_CHUNK_EVENTS, &p);
  free(p.p);
  s->cur.n = 0;
  s->base_ticks = s->ticks;
  s->base_obj = s->obj;
}

/* ---- reading fields ---- */

static const bt_field *member(const bt_field *st, const char *name) {
  if (!st || bt_field_get_class_type(st) != BT_FIELD_CLASS_TYPE_STRUCTURE) return NULL;
  const bt_field *f = bt_field_structure_borrow_member_field_by_name_const(st, name);
  if (!f) {
    char alt[80];
    snprintf(alt, sizeof alt, "_%s", name);
    f = bt_field_structure_borrow_member_field_by_name_const(st, alt);
  }
  return f;
}

static bool field_u64(const bt_field *f, uint64_t *v) {
  if (!f) return false;
  bt_field_class_type t = bt_field_get_class_type(f);
  if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) *v = bt_field_integer_unsigned_get_value(f);
  else if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER))
    *v = (uint64_t)bt_field_integer_signed_get_value(f);
  else if (t == BT_FIELD_CLASS_TYPE_BOOL) *v = bt_field_bool_get_value(f);
  else return false;
  return true;
}

/* A string field, or an array of bytes, as bytes. */
static const char *field_bytes(const bt_field *f, char *tmp, size_t cap, size_t *n) {
  *n = 0;
  if (!f) return NULL;
  bt_field_class_type t = bt_field_get_class_type(f);
  if (t == BT_FIELD_CLASS_TYPE_STRING) {
    *n = bt_field_string_get_length(f);
    return bt_field_string_get_value(f);
  }
  if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_ARRAY)) {
    uint64_t len = bt_field_array_get_length(f), i;
    for (i = 0; i < len && i < cap; i++) {
      uint64_t v = 0;
      field_u64(bt_field_array_borrow_element_field_by_index_const(f, i), &v);
      tmp[i] = (char)v;
    }
    *n = (size_t)i;
    return tmp;
  }
  return NULL;
}

/* ---- events ---- */

static const char *env_string(const bt_trace *tr, const char *name) {
  const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(tr, name);
  return v && bt_value_get_type(v) == BT_VALUE_TYPE_STRING ? bt_value_string_get(v) : NULL;
}

static bool env_int(const bt_trace *tr, const char *name, uint64_t *out) {
  const bt_value *v = bt_trace_borrow_environment_entry_value_by_name_const(tr, name);
  if (v && bt_value_get_type(v) == BT_VALUE_TYPE_SIGNED_INTEGER) {
    int64_t x = bt_value_integer_signed_get(v);
    if (x < 0) return false;
    *out = (uint64_t)x;
    return true;
  }
  const char *s = v && bt_value_get_type(v) == BT_VALUE_TYPE_STRING ? bt_value_string_get(v) : NULL;
  char *end;
  if (!s || !*s) return false;
  *out = strtoull(s, &end, 10);
  return !*end;
}

static void read_env(importer *im, const bt_event *e, const bt_clock_class *cc) {
  im->env_read = true;
  const bt_trace *tr = bt_stream_borrow_trace_const(bt_event_borrow_stream_const(e));
  const char *s;
  if ((s = env_string(tr, "exe"))) snprintf(im->exe, sizeof im->exe, "%s", s);
  if ((s = env_string(tr, "cmdline"))) snprintf(im->cmdline, sizeof im->cmdline, "%s", s);
  if ((s = env_string(tr, "procname"))) snprintf(im->procname, sizeof im->procname, "%s", s);
  env_int(tr, "vpid", &im->pid);
  im->have_start = env_int(tr, "start_monotonic_ns", &im->start_monotonic);
  if (cc) {
    int64_t sec;
    uint64_t cycles, freq = bt_clock_class_get_frequency(cc);
    bt_clock_class_get_offset(cc, &sec, &cycles);
    if (freq && sec >= 0) im->origin_offset_ns = (uint64_t)sec * 1000000000u + cycles * (1000000000u / freq);
    im->clock_epoch = bt_clock_class_origin_is_unix_epoch(cc);
  }
}

static void statedump(importer *im, const char *what, const bt_field *pl) {
  uint64_t baddr = 0;
  if (!field_u64(member(pl, "baddr"), &baddr)) return;
  if (strcmp(what, "bin_info") == 0) {
    uint64_t memsz = 0;
    size_t n;
    char tmp[1];
    const char *path = field_bytes(member(pl, "path"), tmp, 0, &n);
    field_u64(member(pl, "memsz"), &memsz);
    if (!ET_VEC_GROW(im->maps, im->nmaps, im->capmaps)) {
      im->oom = true;
      return;
    }
    mapping *m = &im->maps[im->nmaps++];
    memset(m, 0, sizeof *m);
    m->start = baddr;
    m->limit = baddr + memsz;
    m->path = strndup(path ? path : "", n);
    if (!m->path) im->oom = true;
  } else if (strcmp(what, "build_id") == 0) {
    for (size_t i = im->nmaps; i-- > 0;)
      if (im->maps[i].start == baddr) {
        size_t n;
        field_bytes(member(pl, "build_id"), (char *)im->maps[i].build_id, sizeof im->maps[i].build_id, &n);
        im->maps[i].build_id_len = n;
        break;
      }
  }
}

static void on_event(importer *im, const bt_message *msg) {
  const bt_event *e = bt_message_event_borrow_event_const(msg);
  const bt_event_class *ec = bt_event_borrow_class_const(e);
  const char *name = bt_event_class_get_name(ec);
  if (!name) name = "";
  if (!im->env_read) {
    const bt_stream_class *sc = bt_stream_borrow_class_const(bt_event_borrow_stream_const(e));
    read_env(im, e, bt_stream_class_borrow_default_clock_class_const(sc));
  }
  if (strncmp(name, "lttng_ust_statedump:", 20) == 0) {
    statedump(im, name + 20, bt_event_borrow_payload_field_const(e));
    return;
  }
  if (strncmp(name, "exectrace:", 10) == 0) name += 10;
  const et_kind_desc *k = NULL;
  unsigned kind = 0;
  for (unsigned i = 1; i < ET_EV_LIMIT && !k; i++)
    if (et__kinds[i].name && strcmp(et__kinds[i].name, name) == 0) k = &et__kinds[kind = i];
  if (!k) {
    im->skipped_unknown++;
    return;
  }
  const bt_packet *pk = bt_event_borrow_packet_const(e);
  const bt_field *pctx = pk ? bt_packet_borrow_context_field_const(pk) : NULL;
  const bt_field *cctx = bt_event_borrow_common_context_field_const(e);
  uint64_t tid = 0, sig = 0;
  bool stream_tid = field_u64(member(pctx, "tid"), &tid); /* our export: a stream per thread */
  if (!stream_tid && !field_u64(member(cctx, "vtid"), &tid)) field_u64(member(cctx, "tid"), &tid);
  field_u64(member(pctx, "signal"), &sig);
  if (tid == 0) {
    im->skipped_no_tid++;
    return;
  }
  int64_t ns = 0;
  const bt_clock_snapshot *cs = bt_message_event_borrow_default_clock_snapshot_const(msg);
  if (bt_clock_snapshot_get_ns_from_origin(cs, &ns) != BT_CLOCK_SNAPSHOT_GET_NS_FROM_ORIGIN_STATUS_OK || ns < 0)
    ns = 0;
  uint64_t t = (uint64_t)ns;
  if (!im->have_first || t < im->first_ns) im->first_ns = t;
  im->have_first = true;
  stream *s = stream_of(im, tid, sig ? 1 : 0);
  if (!s) return;
  const void *bts = bt_event_borrow_stream_const(e);
  if (stream_tid && bts != im->last_bts && !et__map_put(&im->bt_streams, (uint64_t)(uintptr_t)bts, (uint64_t)(s - im->st)))
    im->oom = true;
  im->last_bts = bts;
  if (s->cur.n >= CHUNK_TARGET) flush_stream(im, s);
  if (t < s->ticks) t = s->ticks; /* a stream's time never goes back */
  uint8_t kb = (uint8_t)kind;
  put(&s->cur, &kb, 1);
  put_u(&s->cur, t - s->ticks);
  s->ticks = t;
  const bt_field *pl = bt_event_borrow_payload_field_const(e);
  for (unsigned f = 0; f < k->nfields; f++) {
    const bt_field *fld = member(pl, k->fname[f]);
    uint64_t v = 0;
    switch (k->ftype[f]) {
      case ET_FT_U:
      case ET_FT_T: field_u64(fld, &v); put_u(&s->cur, v); break;
      case ET_FT_I: field_u64(fld, &v); put_s(&s->cur, (int64_t)v); break;
      case ET_FT_P:
        field_u64(fld, &v);
        put_s(&s->cur, (int64_t)(v - s->obj));
        s->obj = v;
        break;
      case ET_FT_S: {
        size_t n;
        char tmp[1];
        const char *str = field_bytes(fld, tmp, 0, &n);
        uint32_t id = str ? intern_get(&im->strings, str, n, def_string) : 0;
        if (str && !id) im->oom = true;
        put_u(&s->cur, id);
        break;
      }
      case ET_FT_K: {
        uint64_t frames[255];
        size_t nf = 0;
        if (fld && bt_field_class_type_is(bt_field_get_class_type(fld), BT_FIELD_CLASS_TYPE_ARRAY)) {
          uint64_t len = bt_field_array_get_length(fld);
          for (uint64_t i = 0; i < len && nf < 255; i++)
            if (field_u64(bt_field_array_borrow_element_field_by_index_const(fld, i), &frames[nf])) nf++;
        }
        uint32_t id = nf ? intern_get(&im->stacks, frames, nf * sizeof *frames, def_stack) : 0;
        if (nf && !id) im->oom = true;
        put_u(&s->cur, id);
        break;
      }
      case ET_FT_B: {
        char tmp[4096];
        size_t n;
        const char *b = field_bytes(fld, tmp, sizeof tmp, &n);
        put_str(&s->cur, b ? b : "", b ? n : 0);
        break;
      }
      default: put_u(&s->cur, 0); break;
    }
  }
  im->nevents++;
}

/* Losses come before the packet whose counter says so: they are put on
 * their stream's thread at the end, once its events have named it (our
 * export has a stream per thread; LTTng's per-CPU streams name none). */
static void on_discarded(importer *im, const bt_message *msg) {
  uint64_t count = 0;
  if (bt_message_discarded_events_get_count(msg, &count) != BT_PROPERTY_AVAILABILITY_AVAILABLE) count = 1;
  if (!ET_VEC_GROW(im->disc, im->ndisc, im->capdisc)) {
    im->oom = true;
    return;
  }
  im->disc[im->ndisc++] = (discard){(uint64_t)(uintptr_t)bt_message_discarded_events_borrow_stream_const(msg), count};
}

static void settle_discards(importer *im) {
  for (size_t i = 0; i < im->ndisc; i++) {
    uint64_t si;
    if (et__map_get(&im->bt_streams, im->disc[i].stream, &si) && si < im->nst) im->st[si].lost += im->disc[i].count;
    else im->lost_unattributed += im->disc[i].count;
  }
  im->ndisc = 0;
}

/* ---- the sink ---- */

typedef struct sink {
  importer *im;
  bt_message_iterator *it;
} sink;

static bt_component_class_initialize_method_status sink_init(bt_self_component_sink *self,
                                                             bt_self_component_sink_configuration *cfg,
                                                             const bt_value *params, void *data) {
  (void)cfg;
  (void)params;
  sink *sk = calloc(1, sizeof *sk);
  if (!sk) return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  sk->im = data;
  bt_self_component_set_data(bt_self_component_sink_as_self_component(self), sk);
  if (bt_self_component_sink_add_input_port(self, "in", NULL, NULL) != BT_SELF_COMPONENT_ADD_PORT_STATUS_OK) {
    free(sk);
    return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_MEMORY_ERROR;
  }
  return BT_COMPONENT_CLASS_INITIALIZE_METHOD_STATUS_OK;
}

static void sink_finalize(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  if (!sk) return;
  bt_message_iterator_put_ref(sk->it);
  free(sk);
}

static bt_component_class_sink_graph_is_configured_method_status sink_configured(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  bt_self_component_port_input *port = bt_self_component_sink_borrow_input_port_by_name(self, "in");
  if (bt_message_iterator_create_from_sink_component(self, port, &sk->it) !=
      BT_MESSAGE_ITERATOR_CREATE_FROM_SINK_COMPONENT_STATUS_OK)
    return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_ERROR;
  return BT_COMPONENT_CLASS_SINK_GRAPH_IS_CONFIGURED_METHOD_STATUS_OK;
}

static bt_component_class_sink_consume_method_status sink_consume(bt_self_component_sink *self) {
  sink *sk = bt_self_component_get_data(bt_self_component_sink_as_self_component(self));
  bt_message_array_const msgs;
  uint64_t count;
  switch (bt_message_iterator_next(sk->it, &msgs, &count)) {
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
      bt_message_iterator_put_ref(sk->it);
      sk->it = NULL;
      return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_END;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_AGAIN;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK: break;
    case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR;
    default: return BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_ERROR;
  }
  for (uint64_t i = 0; i < count; i++) {
    const bt_message *m = msgs[i];
    if (!sk->im->oom) {
      if (bt_message_get_type(m) == BT_MESSAGE_TYPE_EVENT) on_event(sk->im, m);
      else if (bt_message_get_type(m) == BT_MESSAGE_TYPE_DISCARDED_EVENTS) on_discarded(sk->im, m);
    }
    bt_message_put_ref(m);
  }
  return sk->im->oom ? BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_MEMORY_ERROR
                     : BT_COMPONENT_CLASS_SINK_CONSUME_METHOD_STATUS_OK;
}

/* The first line of libbabeltrace2's error for this thread, into im->err. */
static void take_error(importer *im, const char *what) {
  const bt_error *e = bt_current_thread_take_error();
  const char *msg = NULL;
  if (e && bt_error_get_cause_count(e) > 0) /* the root cause: the most specific */
    msg = bt_error_cause_get_message(bt_error_borrow_cause_by_index(e, 0));
  snprintf(im->err, sizeof im->err, "%s%s%s", what, msg ? ": " : "", msg ? msg : "");
  char *nl = strchr(im->err, '\n');
  if (nl) *nl = 0;
  if (e) bt_error_release(e);
}

/* Runs source.ctf.fs on dir into our sink. */
static int run_graph(importer *im, const char *dir) {
  int err = 0;
  bt_graph *g = bt_graph_create(0);
  const bt_plugin *plugin = NULL;
  bt_component_class_sink *cls = NULL;
  bt_value *params = NULL;
  if (!g) return -ENOMEM;
  if (bt_plugin_find("ctf", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &plugin) != BT_PLUGIN_FIND_STATUS_OK) {
    take_error(im, "libbabeltrace2 has no ctf plugin (install babeltrace2)");
    err = ET_E_FORMAT;
    goto out;
  }
  const bt_component_class_source *src_cls = bt_plugin_borrow_source_component_class_by_name_const(plugin, "fs");
  params = bt_value_map_create();
  bt_value *inputs = NULL;
  if (!src_cls || !params || bt_value_map_insert_empty_array_entry(params, "inputs", &inputs) != BT_VALUE_MAP_INSERT_ENTRY_STATUS_OK ||
      bt_value_array_append_string_element(inputs, dir) != BT_VALUE_ARRAY_APPEND_ELEMENT_STATUS_OK) {
    err = -ENOMEM;
    goto out;
  }
  const bt_component_source *src = NULL;
  if (bt_graph_add_source_component(g, src_cls, "src", params, BT_LOGGING_LEVEL_NONE, &src) !=
      BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    take_error(im, "not a CTF trace");
    err = ET_E_FORMAT;
    goto out;
  }
  /* A muxer joins the streams; each thread's own order is all we need, but
   * it also gives one sink port for any number of source ports. */
  const bt_plugin *utils = NULL;
  const bt_component_filter *mux = NULL;
  if (bt_plugin_find("utils", BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, &utils) != BT_PLUGIN_FIND_STATUS_OK) {
    take_error(im, "libbabeltrace2 has no utils plugin (install babeltrace2)");
    err = ET_E_FORMAT;
    goto out;
  }
  const bt_component_class_filter *mux_cls = bt_plugin_borrow_filter_component_class_by_name_const(utils, "muxer");
  bt_graph_add_component_status st =
      mux_cls ? bt_graph_add_filter_component(g, mux_cls, "mux", NULL, BT_LOGGING_LEVEL_NONE, &mux) : BT_GRAPH_ADD_COMPONENT_STATUS_ERROR;
  bt_plugin_put_ref(utils);
  if (st != BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    take_error(im, "cannot create the muxer");
    err = ET_E_FORMAT;
    goto out;
  }
  cls = bt_component_class_sink_create("exectrace-import", sink_consume);
  if (!cls || bt_component_class_sink_set_initialize_method(cls, sink_init) != BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK ||
      bt_component_class_sink_set_finalize_method(cls, sink_finalize) != BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK ||
      bt_component_class_sink_set_graph_is_configured_method(cls, sink_configured) !=
          BT_COMPONENT_CLASS_SET_METHOD_STATUS_OK) {
    err = -ENOMEM;
    goto out;
  }
  const bt_component_sink *snk = NULL;
  if (bt_graph_add_sink_component_with_initialize_method_data(g, cls, "sink", NULL, im, BT_LOGGING_LEVEL_NONE, &snk) !=
      BT_GRAPH_ADD_COMPONENT_STATUS_OK) {
    err = -ENOMEM;
    goto out;
  }
  /* Every output port of the source to the muxer, the muxer to the sink. */
  for (uint64_t i = 0; i < bt_component_source_get_output_port_count(src); i++) {
    const bt_port_output *out = bt_component_source_borrow_output_port_by_index_const(src, i);
    const bt_port_input *in = bt_component_filter_borrow_input_port_by_index_const(mux, i);
    if (!in || bt_graph_connect_ports(g, out, in, NULL) != BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
      take_error(im, "cannot connect the CTF source");
      err = ET_E_FORMAT;
      goto out;
    }
  }
  if (bt_graph_connect_ports(g, bt_component_filter_borrow_output_port_by_index_const(mux, 0),
                             bt_component_sink_borrow_input_port_by_index_const(snk, 0), NULL) !=
      BT_GRAPH_CONNECT_PORTS_STATUS_OK) {
    take_error(im, "cannot connect the sink");
    err = ET_E_FORMAT;
    goto out;
  }
  bt_graph_run_status rs;
  do rs = bt_graph_run(g);
  while (rs == BT_GRAPH_RUN_STATUS_AGAIN);
  if (im->oom) err = -ENOMEM;
  else if (rs != BT_GRAPH_RUN_STATUS_OK) {
    take_error(im, "the CTF trace cannot be read");
    err = ET_E_FORMAT;
  }
out:
  bt_value_put_ref(params);
  bt_component_class_sink_put_ref(cls);
  bt_plugin_put_ref(plugin);
  bt_graph_put_ref(g);
  return err;
}

/* ---- assembling the native trace ---- */

static void assemble(importer *im, buf *out) {
  uint8_t h[ET_FILE_HEADER_LEN];
  et__file_header(h);
  put(out, h, sizeof h);
  buf p = {0};
  uint8_t cat[1 << 14];
  size_t n = et__catalog_encode(cat, sizeof cat);
  put(&p, cat, n);
  put_chunk(out, ET_CHUNK_CATALOG, &p);
  /* PROCESS: ticks are ns (clock source 2) */
  p.n = 0;
  put_u(&p, im->pid);
  put_u(&p, 0);
  put_str(&p, im->exe, strlen(im->exe));
  char args[sizeof im->cmdline];
  size_t an = strlen(im->cmdline);
  memcpy(args, im->cmdline, an);
  for (size_t i = 0; i < an; i++)
    if (args[i] == ' ') args[i] = 0;
  put_str(&p, args, an ? an + 1 : 0);
  uint64_t start = im->have_first ? im->first_ns : 0;
  put_u(&p, im->clock_epoch ? start : 0);
  uint8_t src = 2;
  put(&p, &src, 1);
  put_u(&p, 1000000000u);
  put_u(&p, 0);
  put_chunk(out, ET_CHUNK_PROCESS, &p);
  /* CLOCK: our export's start is its clock's offset (time 0 of its events);
   * otherwise the first event is the start. */
  p.n = 0;
  uint64_t t0 = im->have_start ? im->origin_offset_ns : start;
  if (im->have_first && t0 > im->first_ns) t0 = im->first_ns;
  put_u(&p, t0);
  put_u(&p, im->have_start ? im->start_monotonic : t0);
  put_u(&p, 1000000000u);
  put_chunk(out, ET_CHUNK_CLOCK, &p);
  if (im->strings.defs.n) put_chunk(out, ET_CHUNK_STRINGS, &im->strings.defs);
  if (im->stacks.defs.n) put_chunk(out, ET_CHUNK_STACKS, &im->stacks.defs);
  if (im->nmaps) {
    p.n = 0;
    for (size_t i = 0; i < im->nmaps; i++) {
      const mapping *m = &im->maps[i];
      put_u(&p, m->start);
      put_u(&p, m->limit);
      put_u(&p, 0);
      put_str(&p, m->path, strlen(m->path));
      put_str(&p, m->build_id, m->build_id_len);
    }
    put_chunk(out, ET_CHUNK_MAPPINGS, &p);
  }
  for (size_t i = 0; i < im->nst; i++) flush_stream(im, &im->st[i]);
  put(out, im->events.p, im->events.n);
  settle_discards(im);
  /* END: losses per thread, and those no thread can be named for */
  p.n = 0;
  put_u(&p, 1);
  put_u(&p, ET_DROP_BUFFER_FULL);
  uint64_t total = im->lost_unattributed, nlost = 0;
  for (size_t i = 0; i < im->nst; i++) {
    total += im->st[i].lost;
    nlost += im->st[i].lost ? 1 : 0;
  }
  put_u(&p, total);
  put_u(&p, nlost);
  for (size_t i = 0; i < im->nst; i++)
    if (im->st[i].lost) {
      put_u(&p, im->st[i].tid);
      put_u(&p, im->st[i].lost);
    }
  put_chunk(out, ET_CHUNK_END, &p);
  if (p.oom) out->oom = true;
  free(p.p);
}

int et__ctf_import(const char *dir, uint8_t **data, size_t *len, char *msg, size_t msglen) {
  importer *im = calloc(1, sizeof *im);
  if (!im) return -ENOMEM;
  int err = run_graph(im, dir);
  buf out = {0};
  if (!err) {
    assemble(im, &out);
    if (out.oom || im->oom) err = -ENOMEM;
  }
  if (!err && im->nevents == 0) {
    snprintf(im->err, sizeof im->err, "the CTF trace has no exectrace events (%" PRIu64 " other events)",
             im->skipped_unknown);
    err = ET_E_FORMAT;
  }
  if (msg && msglen) {
    if (err) snprintf(msg, msglen, "%s", im->err);
    else if (im->skipped_no_tid)
      snprintf(msg, msglen, "%" PRIu64 " CTF events name no thread (record with `lttng add-context -u -t vtid`): skipped",
               im->skipped_no_tid);
    else msg[0] = 0;
  }
  if (err) free(out.p);
  else {
    *data = out.p;
    *len = out.n;
  }
  for (size_t i = 0; i < im->nst; i++) free(im->st[i].cur.p);
  free(im->st);
  et__map_free(&im->st_index);
  et__map_free(&im->bt_streams);
  free(im->disc);
  for (size_t i = 0; i < im->nmaps; i++) free(im->maps[i].path);
  free(im->maps);
  free(im->events.p);
  intern_free(&im->strings);
  intern_free(&im->stacks);
  free(im);
  return err;
}

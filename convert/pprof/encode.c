/* Writing the profile: profile.proto by hand, gzipped with zlib.
 *
 * The profile is a handful of message types, so a protobuf library would be
 * a heavy dependency for little.  Samples are encoded one at a time from the
 * sample table and streamed straight into the gzip stream; the profile's
 * other parts (locations, functions, mappings, the string table) are
 * collected while the samples name them and written after them (protobuf
 * fields may come in any order, and pprof resolves string indexes once the
 * whole message is read).  Every address is symbolized once: locations are
 * kept in a hash table by (mapping, address), functions by (name, file,
 * start line), strings by content; ids count from 1 and string 0 is "".
 *
 * Compression is zlib's fastest level, as Go's runtime/pprof does: profiles
 * labelled per task can hold a sample per task.
 *
 * Return addresses point after the call, so every frame but the first of a
 * CPU sample is moved back by one byte into the call instruction, and the
 * profile records that address: pprof symbolizing the file later sees the
 * same call line we did.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"

/* ---- growable byte buffers and protobuf encoding ---- */

typedef struct pbuf {
  uint8_t *p;
  size_t n, cap;
  bool oom;
} pbuf;

static void pb_raw(pbuf *b, const void *d, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + n) cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p) {
      b->oom = true;
      return;
    }
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, d, n);
  b->n += n;
}

static void pb_varint(pbuf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  while (v >= 0x80) {
    tmp[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = (uint8_t)v;
  pb_raw(b, tmp, n);
}

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

static void pb_tag(pbuf *b, unsigned field, unsigned wire) { pb_varint(b, (uint64_t)field << 3 | wire); }

/* An integer field; zero is the default and is left out. */
static void pb_uint(pbuf *b, unsigned field, uint64_t v) {
  if (!v) return;
  pb_tag(b, field, WIRE_VARINT);
  pb_varint(b, v);
}

static void pb_bytes(pbuf *b, unsigned field, const void *d, size_t n) {
  pb_tag(b, field, WIRE_LEN);
  pb_varint(b, n);
  pb_raw(b, d, n);
}

static void pb_msg(pbuf *b, unsigned field, const pbuf *m) { pb_bytes(b, field, m->p, m->n); }

static size_t varint_len(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static void pb_packed(pbuf *b, unsigned field, const uint64_t *v, size_t n) {
  if (!n) return;
  size_t len = 0;
  for (size_t i = 0; i < n; i++) len += varint_len(v[i]);
  pb_tag(b, field, WIRE_LEN);
  pb_varint(b, len);
  for (size_t i = 0; i < n; i++) pb_varint(b, v[i]);
}

/* ---- gzip output ---- */

typedef struct gz {
  z_stream z;
  FILE *f;
  bool err;
  unsigned char out[1 << 16];
} gz;

static void gz_put(gz *g, const void *d, size_t n, int flush) {
  const unsigned char *p = d;
  do {
    size_t take = n > (1u << 30) ? (1u << 30) : n;
    g->z.next_in = (Bytef *)(uintptr_t)p;
    g->z.avail_in = (uInt)take;
    p += take;
    n -= take;
    int mode = n ? Z_NO_FLUSH : flush, r;
    do {
      g->z.next_out = g->out;
      g->z.avail_out = sizeof g->out;
      r = deflate(&g->z, mode);
      size_t have = sizeof g->out - g->z.avail_out;
      if (r == Z_STREAM_ERROR) g->err = true;
      if (have && !g->err && fwrite(g->out, 1, have, g->f) != have) g->err = true;
    } while (!g->err && (g->z.avail_out == 0 || (mode == Z_FINISH && r != Z_STREAM_END)));
  } while (n && !g->err);
}

/* ---- tables: strings, functions, locations ---- */

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

static uint64_t str_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

/* One hash table shape for all three: slots hold index + 1 into an entry array. */
typedef struct index_table {
  uint32_t *slot;
  size_t cap;
} index_table;

typedef struct fn_key {
  uint64_t name, system, file;
  int64_t start_line;
} fn_key;

typedef struct loc_key {
  long mapping;
  uint64_t addr;
} loc_key;

typedef struct enc {
  const et_trace *t;
  const et__pp_options *o;
  et__sym *sym;
  bool oom;

  char **strs;
  size_t nstrs, capstrs;
  index_table str_index;

  fn_key *fns;
  size_t nfns, capfns;
  index_table fn_index;

  loc_key *locs;
  size_t nlocs, caplocs;
  index_table loc_index;

  pbuf loc_out, fn_out, msg, sub;
  uint64_t *mapping_id; /* by trace mapping index */
  uint64_t no_stack;    /* the location of samples without a stack, 0 until needed */
  /* each stack's location ids, made once: by stack id, offset + 1 into
   * stack_locs, where the count comes first */
  uint64_t *stack_at;
  size_t nstack_at;
  uint64_t *stack_locs;
  size_t nstack_locs, capstack_locs;
  /* label strings, looked up once: by thread, by trace string id, by type */
  uint64_t *thread_name; /* string index + 1, 0 until known */
  uint64_t region_name[4096];
  struct {
    const char *type;
    uint64_t id;
  } type_cache[64];
  gz g;
} enc;

static bool push(void **p, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return true;
  size_t cap2 = *cap ? *cap * 2 : 64;
  void *q = realloc(*p, cap2 * size);
  if (!q) return false;
  *p = q;
  *cap = cap2;
  return true;
}

/* Finds the slot of a key with hash h: eq(e, i) tells whether entry i is it. */
static uint32_t *table_slot(index_table *t, uint64_t h, bool (*eq)(const enc *, size_t, const void *),
                            const enc *e, const void *key) {
  size_t j = h & (t->cap - 1);
  while (t->slot[j] && !eq(e, t->slot[j] - 1, key)) j = (j + 1) & (t->cap - 1);
  return &t->slot[j];
}

/* Makes room for one more entry (n entries now); rehash uses hash_of(e, i). */
static bool table_reserve(index_table *t, size_t n, uint64_t (*hash_of)(const enc *, size_t), const enc *e) {
  if ((n + 1) * 2 <= t->cap) return true;
  size_t cap = t->cap ? t->cap * 2 : 256;
  uint32_t *slot = calloc(cap, sizeof *slot);
  if (!slot) return false;
  for (size_t i = 0; i < n; i++) {
    size_t j = hash_of(e, i) & (cap - 1);
    while (slot[j]) j = (j + 1) & (cap - 1);
    slot[j] = (uint32_t)(i + 1);
  }
  free(t->slot);
  t->slot = slot;
  t->cap = cap;
  return true;
}

static bool str_eq(const enc *e, size_t i, const void *key) { return strcmp(e->strs[i], key) == 0; }
static uint64_t str_hash_of(const enc *e, size_t i) { return str_hash(e->strs[i]); }

/* The string table index of s (NULL and "" are 0). */
static uint64_t str_id(enc *e, const char *s) {
  if (!s || !*s) return 0;
  if (!table_reserve(&e->str_index, e->nstrs, str_hash_of, e)) {
    e->oom = true;
    return 0;
  }
  uint32_t *slot = table_slot(&e->str_index, str_hash(s), str_eq, e, s);
  if (*slot) return *slot - 1;
  char *copy = strdup(s);
  if (!copy || !push((void **)&e->strs, &e->capstrs, e->nstrs, sizeof *e->strs)) {
    free(copy);
    e->oom = true;
    return 0;
  }
  e->strs[e->nstrs] = copy;
  *slot = (uint32_t)++e->nstrs;
  return e->nstrs - 1;
}

static uint64_t fn_hash(const fn_key *k) {
  return mix(k->name ^ mix(k->system ^ mix(k->file ^ mix((uint64_t)k->start_line))));
}
static bool fn_eq(const enc *e, size_t i, const void *key) { return memcmp(&e->fns[i], key, sizeof(fn_key)) == 0; }
static uint64_t fn_hash_of(const enc *e, size_t i) { return fn_hash(&e->fns[i]); }

/* The function id of a symbolized frame, writing the Function when new. */
static uint64_t fn_id(enc *e, const et__sym_frame *f) {
  fn_key k;
  memset(&k, 0, sizeof k);
  k.name = str_id(e, f->function);
  k.system = f->linkage ? str_id(e, f->linkage) : k.name;
  k.file = str_id(e, f->file);
  k.start_line = f->start_line;
  if (!table_reserve(&e->fn_index, e->nfns, fn_hash_of, e)) {
    e->oom = true;
    return 0;
  }
  uint32_t *slot = table_slot(&e->fn_index, fn_hash(&k), fn_eq, e, &k);
  if (*slot) return *slot;
  if (!push((void **)&e->fns, &e->capfns, e->nfns, sizeof *e->fns)) {
    e->oom = true;
    return 0;
  }
  e->fns[e->nfns] = k;
  *slot = (uint32_t)++e->nfns;
  pbuf *m = &e->sub;
  m->n = 0;
  pb_uint(m, 1, e->nfns);
  pb_uint(m, 2, k.name);
  pb_uint(m, 3, k.system);
  pb_uint(m, 4, k.file);
  pb_uint(m, 5, (uint64_t)k.start_line);
  pb_msg(&e->fn_out, 5, m);
  return e->nfns;
}

static uint64_t loc_hash(const loc_key *k) { return mix(k->addr ^ mix((uint64_t)k->mapping)); }
static bool loc_eq(const enc *e, size_t i, const void *key) {
  const loc_key *k = key;
  return e->locs[i].addr == k->addr && e->locs[i].mapping == k->mapping;
}
static uint64_t loc_hash_of(const enc *e, size_t i) { return loc_hash(&e->locs[i]); }

#define MAX_INLINE ET__SYM_MAX_FRAMES

/* The location id of an address (already moved into the call for return
 * addresses), symbolizing it and writing the Location when new. */
static uint64_t loc_id(enc *e, uint64_t addr) {
  loc_key k = {et__sym_mapping_of(e->sym, addr), addr};
  if (!table_reserve(&e->loc_index, e->nlocs, loc_hash_of, e)) {
    e->oom = true;
    return 0;
  }
  uint32_t *slot = table_slot(&e->loc_index, loc_hash(&k), loc_eq, e, &k);
  if (*slot) return *slot;
  if (!push((void **)&e->locs, &e->caplocs, e->nlocs, sizeof *e->locs)) {
    e->oom = true;
    return 0;
  }
  e->locs[e->nlocs] = k;
  *slot = (uint32_t)++e->nlocs;
  uint64_t id = e->nlocs;

  et__sym_frame fr[MAX_INLINE];
  size_t nf = k.mapping >= 0 ? et__sym_lookup(e->sym, k.mapping, addr, fr, MAX_INLINE) : 0;
  uint64_t fids[MAX_INLINE];
  for (size_t i = 0; i < nf; i++) fids[i] = fr[i].function ? fn_id(e, &fr[i]) : 0;

  pbuf *m = &e->msg;
  m->n = 0;
  pb_uint(m, 1, id);
  if (k.mapping >= 0) pb_uint(m, 2, e->mapping_id[k.mapping]);
  pb_uint(m, 3, addr);
  for (size_t i = 0; i < nf; i++) {
    if (!fids[i]) continue; /* unnamed: leave it to pprof */
    pbuf *l = &e->sub;
    l->n = 0;
    pb_uint(l, 1, fids[i]);
    pb_uint(l, 2, (uint64_t)(fr[i].line > 0 ? fr[i].line : 0));
    pb_msg(m, 4, l);
  }
  pb_msg(&e->loc_out, 4, m);
  return id;
}

/* A location for samples whose wait or sample carried no stack. */
static uint64_t no_stack_loc(enc *e) {
  if (e->no_stack) return e->no_stack;
  et__sym_frame f = {"[no stack]", NULL, NULL, 0, 0};
  uint64_t fid = fn_id(e, &f);
  if (!push((void **)&e->locs, &e->caplocs, e->nlocs, sizeof *e->locs)) {
    e->oom = true;
    return 0;
  }
  e->locs[e->nlocs++] = (loc_key){-2, 0}; /* never equal to a real key */
  e->no_stack = e->nlocs;
  pbuf *m = &e->msg, *l = &e->sub;
  m->n = l->n = 0;
  pb_uint(m, 1, e->no_stack);
  pb_uint(l, 1, fid);
  pb_msg(m, 4, l);
  pb_msg(&e->loc_out, 4, m);
  return e->no_stack;
}

/* ---- the profile ---- */

static void label_str(pbuf *m, pbuf *l, uint64_t key, uint64_t str) {
  if (!str) return;
  l->n = 0;
  pb_uint(l, 1, key);
  pb_uint(l, 2, str);
  pb_msg(m, 3, l);
}

static void label_num(pbuf *m, pbuf *l, uint64_t key, uint64_t num) {
  l->n = 0;
  pb_uint(l, 1, key);
  pb_tag(l, 3, WIRE_VARINT);
  pb_varint(l, num);
  pb_msg(m, 3, l);
}

typedef struct label_keys {
  uint64_t thread, tid, task, task_type, region;
} label_keys;

/* The profile string of a trace string id (region names). */
static uint64_t trace_str(enc *e, uint64_t id) {
  if (id < sizeof e->region_name / sizeof e->region_name[0]) {
    if (!e->region_name[id]) e->region_name[id] = str_id(e, et_trace_string(e->t, id)) + 1;
    return e->region_name[id] - 1;
  }
  return str_id(e, et_trace_string(e->t, id));
}

static uint64_t thread_str(enc *e, uint32_t ti, const et_thread_info *th) {
  if (!e->thread_name[ti]) e->thread_name[ti] = str_id(e, th->name) + 1;
  return e->thread_name[ti] - 1;
}

static uint64_t type_str(enc *e, const char *type) {
  size_t h = ((uintptr_t)type >> 4) & 63;
  if (e->type_cache[h].type != type) {
    e->type_cache[h].type = type;
    e->type_cache[h].id = str_id(e, type);
  }
  return e->type_cache[h].id;
}

/* The location ids of a stack (at most 128), leaf first. */
static size_t stack_locations(enc *e, uint32_t stack, bool first_is_pc, uint64_t *ids) {
  if (stack && stack < e->nstack_at && e->stack_at[stack]) {
    const uint64_t *p = e->stack_locs + e->stack_at[stack] - 1;
    memcpy(ids, p + 1, p[0] * sizeof *ids);
    return p[0];
  }
  const uint64_t *frames = NULL;
  size_t nf = stack ? et_trace_stack(e->t, stack, &frames) : 0;
  size_t n = 0;
  for (size_t i = 0; i < nf && n < 128; i++) {
    uint64_t a = frames[i];
    if (a == 0) continue;
    if (!(i == 0 && first_is_pc)) a -= 1;
    uint64_t id = loc_id(e, a);
    if (id) ids[n++] = id;
  }
  if (n == 0) {
    uint64_t id = no_stack_loc(e);
    if (id) ids[n++] = id;
  }
  if (stack && stack < e->nstack_at) { /* remember it */
    size_t need = e->nstack_locs + n + 1;
    if (need > e->capstack_locs) {
      size_t cap = e->capstack_locs ? e->capstack_locs * 2 : 1024;
      while (cap < need) cap *= 2;
      uint64_t *q = realloc(e->stack_locs, cap * sizeof *q);
      if (!q) return n;
      e->stack_locs = q;
      e->capstack_locs = cap;
    }
    e->stack_locs[e->nstack_locs] = n;
    memcpy(e->stack_locs + e->nstack_locs + 1, ids, n * sizeof *ids);
    e->stack_at[stack] = e->nstack_locs + 1;
    e->nstack_locs = need;
  }
  return n;
}

static void write_sample(enc *e, const et__pp_sample *sm, const label_keys *lk, bool first_is_pc) {
  uint64_t ids[128];
  size_t n = stack_locations(e, sm->stack, first_is_pc, ids);
  const et_thread_info *th = et_trace_thread(e->t, sm->thread);
  uint64_t values[2] = {sm->count, sm->value};
  pbuf *m = &e->msg, *l = &e->sub;
  m->n = 0;
  pb_packed(m, 1, ids, n);
  /* both values always present: pprof wants one per sample type */
  pb_tag(m, 2, WIRE_LEN);
  pb_varint(m, varint_len(values[0]) + varint_len(values[1]));
  pb_varint(m, values[0]);
  pb_varint(m, values[1]);
  if (th) {
    label_str(m, l, lk->thread, thread_str(e, sm->thread, th));
    label_num(m, l, lk->tid, th->tid);
  }
  if (sm->task) {
    label_num(m, l, lk->task, sm->task);
    if (sm->task_type) label_str(m, l, lk->task_type, type_str(e, sm->task_type));
  }
  if (sm->region) label_str(m, l, lk->region, trace_str(e, sm->region));
  pbuf *out = &e->sub;
  out->n = 0;
  pb_msg(out, 2, m);
  gz_put(&e->g, out->p, out->n, Z_NO_FLUSH);
}

static void hex(char *out, const uint8_t *b, size_t n) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
  out[2 * n] = 0;
}

/* Mappings, the main executable's first (pprof takes the first as the main binary). */
static void write_mappings(enc *e, pbuf *out, const size_t *order, size_t n) {
  pbuf *m = &e->msg;
  for (size_t k = 0; k < n; k++) {
    size_t i = order[k];
    const et_mapping *mp = et_trace_mapping(e->t, i);
    et__sym_mapinfo mi = et__sym_mapping_info(e->sym, i);
    char *bid = malloc(mp->build_id_len * 2 + 1);
    if (!bid) {
      e->oom = true;
      return;
    }
    hex(bid, mp->build_id, mp->build_id_len);
    m->n = 0;
    pb_uint(m, 1, e->mapping_id[i]);
    pb_uint(m, 2, mp->start);
    pb_uint(m, 3, mp->limit);
    pb_uint(m, 4, mp->offset);
    pb_uint(m, 5, str_id(e, mp->path));
    pb_uint(m, 6, str_id(e, bid));
    pb_uint(m, 7, mi.has_functions);
    pb_uint(m, 8, mi.has_lines);
    pb_uint(m, 9, mi.has_lines);
    pb_uint(m, 10, mi.has_lines);
    pb_msg(out, 3, m);
    free(bid);
  }
}

static void value_type(enc *e, pbuf *out, unsigned field, const char *type, const char *unit) {
  pbuf *m = &e->msg;
  m->n = 0;
  pb_uint(m, 1, str_id(e, type));
  pb_uint(m, 2, str_id(e, unit));
  pb_msg(out, field, m);
}

/* The command line that made the profile, as its first comment. */
static void describe(char *buf, size_t len, const et__pp_options *o) {
  int n = snprintf(buf, len, "exectrace pprof --type %s", et__pp_type_name(o->type));
#define ADD(...)                                                                           \
  do {                                                                                     \
    if (n >= 0 && (size_t)n < len) n += snprintf(buf + n, len - (size_t)n, __VA_ARGS__);  \
  } while (0)
  if (o->from) ADD(" --from %" PRIu64 "ns", o->from);
  if (o->to != UINT64_MAX) ADD(" --to %" PRIu64 "ns", o->to);
  if (o->thread) ADD(" --thread %s", o->thread);
  if (o->has_task) ADD(" --task %" PRIu64, o->task);
  if (o->task_type) ADD(" --task-type %s", o->task_type);
  if (o->region) ADD(" --region %s", o->region);
  if (o->min_duration) ADD(" --min-duration %" PRIu64 "ns", o->min_duration);
  if (o->trace_path) ADD(" %s", o->trace_path);
#undef ADD
}

static void enc_free(enc *e) {
  for (size_t i = 0; i < e->nstrs; i++) free(e->strs[i]);
  free(e->strs);
  free(e->str_index.slot);
  free(e->fns);
  free(e->fn_index.slot);
  free(e->locs);
  free(e->loc_index.slot);
  free(e->loc_out.p);
  free(e->fn_out.p);
  free(e->msg.p);
  free(e->sub.p);
  free(e->mapping_id);
  free(e->thread_name);
  free(e->stack_at);
  free(e->stack_locs);
  et__sym_close(e->sym);
}

int et__pp_encode(const et_trace *t, const et__pp_options *o, const et__pp_samples *s, FILE *f) {
  enc *e = calloc(1, sizeof *e);
  if (!e) return -ENOMEM;
  e->t = t;
  e->o = o;
  int err = 0;
  size_t nmaps = et_trace_mapping_count(t);
  size_t *order = calloc(nmaps ? nmaps : 1, sizeof *order);
  e->mapping_id = calloc(nmaps ? nmaps : 1, sizeof *e->mapping_id);
  e->sym = et__sym_open(t);
  size_t nthreads = et_trace_thread_count(t);
  e->thread_name = calloc(nthreads ? nthreads : 1, sizeof *e->thread_name);
  /* Stack ids are dense from 1; far-out ids of a damaged trace go uncached. */
  size_t nstacks = et_trace_stack_count(t) + 1;
  e->nstack_at = nstacks < (1u << 21) ? nstacks * 2 : (1u << 22);
  e->stack_at = calloc(e->nstack_at, sizeof *e->stack_at);
  /* string 0 is "" */
  char *empty = strdup("");
  if (!order || !e->mapping_id || !e->sym || !e->thread_name || !e->stack_at || !empty ||
      !push((void **)&e->strs, &e->capstrs, 0, sizeof *e->strs)) {
    free(empty);
    free(order);
    enc_free(e);
    free(e);
    return -ENOMEM;
  }
  e->strs[e->nstrs++] = empty;

  const et_trace_info *info = et_trace_get_info(t);
  size_t k = 0;
  for (size_t i = 0; i < nmaps; i++)
    if (info->exe[0] && strcmp(et_trace_mapping(t, i)->path, info->exe) == 0) order[k++] = i;
  for (size_t i = 0; i < nmaps; i++)
    if (!(info->exe[0] && strcmp(et_trace_mapping(t, i)->path, info->exe) == 0)) order[k++] = i;
  for (size_t i = 0; i < nmaps; i++) e->mapping_id[order[i]] = i + 1;

  e->g.f = f;
  if (deflateInit2(&e->g.z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    free(order);
    enc_free(e);
    free(e);
    return -ENOMEM;
  }

  bool cpu = o->type == ET__PP_CPU;
  pbuf head = {0};
  value_type(e, &head, 1, cpu ? "samples" : "contentions", "count");
  value_type(e, &head, 1, cpu ? "cpu" : "delay", "nanoseconds");
  gz_put(&e->g, head.p, head.n, Z_NO_FLUSH);
  if (head.oom) e->oom = true;

  label_keys lk = {str_id(e, "thread"), str_id(e, "tid"), str_id(e, "task"), str_id(e, "task_type"),
                   str_id(e, "region")};
  for (size_t i = 0; i < s->cap && !e->oom && !e->g.err; i++)
    if (s->slot[i].stack != UINT32_MAX) write_sample(e, &s->slot[i], &lk, cpu);

  pbuf tail = {0};
  write_mappings(e, &tail, order, nmaps);
  pb_raw(&tail, e->loc_out.p, e->loc_out.n);
  pb_raw(&tail, e->fn_out.p, e->fn_out.n);
  uint64_t wall = info->wall_start_ns + o->from;
  uint64_t end = o->to < info->duration_ns ? o->to : info->duration_ns;
  uint64_t duration = end > o->from ? end - o->from : 0;
  pb_uint(&tail, 9, wall);
  pb_uint(&tail, 10, duration);
  value_type(e, &tail, 11, cpu ? "cpu" : "contentions", cpu ? "nanoseconds" : "count");
  pb_uint(&tail, 12, cpu ? s->period : 1);
  char line[1024];
  describe(line, sizeof line, o);
  pb_uint(&tail, 13, str_id(e, line));
  if (info->dropped) {
    snprintf(line, sizeof line, "the tracer lost %" PRIu64 " events: the profile may miss some", info->dropped);
    pb_uint(&tail, 13, str_id(e, line));
  }
  if (info->lost_chunks) {
    snprintf(line, sizeof line, "the trace is damaged: %" PRIu64 " chunks (%" PRIu64 " bytes) unreadable",
             info->lost_chunks, info->lost_bytes);
    pb_uint(&tail, 13, str_id(e, line));
  }
  pb_uint(&tail, 14, str_id(e, cpu ? "cpu" : "delay"));
  /* The string table goes last: everything above has interned its strings. */
  for (size_t i = 0; i < e->nstrs; i++) pb_bytes(&tail, 6, e->strs[i], strlen(e->strs[i]));
  if (tail.oom || e->loc_out.oom || e->fn_out.oom || e->msg.oom || e->sub.oom) e->oom = true;
  if (!e->oom) gz_put(&e->g, tail.p, tail.n, Z_FINISH);
  deflateEnd(&e->g.z);
  int werr = 0;
  if (e->oom) err = -ENOMEM;
  else if (e->g.err || fflush(f) != 0 || ferror(f)) {
    err = -EIO;
    werr = errno;
  }
  free(head.p);
  free(tail.p);
  free(order);
  enc_free(e);
  free(e);
  if (werr) errno = werr; /* the caller names the write's error */
  return err;
}

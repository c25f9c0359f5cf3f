/* The reader's promise for damaged traces, checked on a real one: a trace
 * cut anywhere or corrupted anywhere still loads everything intact, says
 * what it lost, and never invents data.
 *
 * The test records the shared workload (workload.h) with 4 KiB chunks, then
 *   a. loads 200 prefixes of it (fixed seed; 0, 1, 15, 16, 17 and len-1
 *      among them): each loads (the empty one is refused as not a trace),
 *      event counts never shrink as the prefix grows nor exceed the whole
 *      trace's, and each reports a warning that the whole trace does not;
 *   b. loads 1000 corrupted copies (fixed seed: bit flips, random bytes,
 *      zeroed runs, duplicated, copied and swapped ranges): each either is
 *      refused with ET_E_FORMAT or ET_E_VERSION, for damage to the file
 *      header only, or loads with a new warning;
 *   c. checks that every event loaded from a damaged copy is an event of
 *      the intact trace (same thread, stream, kind, fields and bytes, time
 *      within the clock's calibration error), as a multiset, and reports the
 *      share of events kept;
 * and runs `exectrace stats` and `exectrace dump` (argv[1]) on a cut and a
 * corrupted file (exit 0, warnings on stderr) and on a file that is not a
 * trace (exit 1, one line on stderr).
 *
 * Two kinds of damage that once misled the reader (a chunk copied whole, a
 * lost first clock sync point) are also checked on fixed cases;
 * tests/fuzz/crashes/README.md describes them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chunks.h"
#include "exectrace/reader.h"
#include "tap.h"
#include "workload.h"

extern char **environ;

#define NPREFIXES 200
#define NCORRUPTIONS 1000

/* ---- a reproducible random source ---- */

static uint64_t rng_state = 0x5eedfacedull;

static uint64_t rnd(void) {
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static size_t rnd_in(size_t lo, size_t hi) {
  return lo + (size_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* ---- events as comparable records ---- */

typedef struct rec {
  uint64_t tid, time, bytes_hash;
  uint64_t field[ET_EVENT_MAX_FIELDS];
  uint8_t kind, stream, nfields, used;
} rec;

typedef struct recs {
  rec *v;
  size_t n, cap;
  const et_trace *t;
} recs;

static uint64_t hash_bytes(const char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
  return h;
}

static int collect_one(void *arg, const et_event *ev) {
  recs *r = arg;
  if (r->n == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 4096;
    rec *v = realloc(r->v, cap * sizeof *v);
    if (!v) return -ENOMEM;
    r->v = v;
    r->cap = cap;
  }
  rec *x = &r->v[r->n++];
  memset(x, 0, sizeof *x);
  x->tid = ev->tid;
  x->time = ev->time;
  x->kind = ev->kind;
  x->stream = ev->stream;
  x->nfields = ev->nfields;
  for (unsigned f = 0; f < ev->nfields && f < ET_EVENT_MAX_FIELDS; f++) {
    x->field[f] = ev->field[f];
    if (et_trace_field_type(r->t, ev->kind, f) == ET_FIELD_B && ev->bytes)
      x->bytes_hash = hash_bytes(ev->bytes, (size_t)ev->field[f]);
  }
  return 0;
}

static int collect(const et_trace *t, recs *r) {
  r->n = 0;
  r->t = t;
  return et_trace_for_each(t, collect_one, r);
}

static int cmp_u64(uint64_t a, uint64_t b) {
  return a < b ? -1 : a > b;
}

/* Orders by everything but time. */
static int cmp_key(const rec *a, const rec *b) {
  int c = cmp_u64(a->tid, b->tid);
  if (!c) c = cmp_u64(a->stream, b->stream);
  if (!c) c = cmp_u64(a->kind, b->kind);
  if (!c) c = cmp_u64(a->nfields, b->nfields);
  for (unsigned f = 0; f < ET_EVENT_MAX_FIELDS && !c; f++) c = cmp_u64(a->field[f], b->field[f]);
  if (!c) c = cmp_u64(a->bytes_hash, b->bytes_hash);
  return c;
}

/* Orders by everything but time, then by time. */
static int cmp_rec(const void *x, const void *y) {
  const rec *a = x, *b = y;
  int c = cmp_key(a, b);
  return c ? c : cmp_u64(a->time, b->time);
}

/* How far a damaged trace's time may stray from the intact one's: without
 * its last clock sync point, the reader converts the ticks after the one
 * before by the rate calibrated at the start, whose error we saw reach 0.07%. */
static uint64_t time_tolerance(uint64_t t) {
  return 2000 + t / 100;
}

typedef struct match {
  size_t kept, invented;
  uint64_t max_dt;
  int64_t min_shift, max_shift; /* of damaged minus intact time, over kept events */
  const rec *example;           /* an invented event */
} match;

/* Matches each event of d to a distinct event of the sorted intact set
 * with the same key, nearest in time; with any_time, times are only
 * measured, not required to agree. */
static match match_events(rec *intact, size_t n, const recs *d, bool any_time) {
  match m = {0, 0, 0, INT64_MAX, INT64_MIN, NULL};
  for (size_t i = 0; i < n; i++) intact[i].used = 0;
  for (size_t i = 0; i < d->n; i++) {
    const rec *e = &d->v[i];
    size_t lo = 0, hi = n;
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (cmp_rec(&intact[mid], e) < 0) lo = mid + 1;
      else hi = mid;
    }
    rec *best = NULL;
    uint64_t best_dt = UINT64_MAX;
    for (size_t k = lo; k < n && cmp_key(&intact[k], e) == 0; k++) {
      if (intact[k].used) continue;
      best = &intact[k];
      best_dt = intact[k].time - e->time;
      break;
    }
    for (size_t k = lo; k-- > 0 && cmp_key(&intact[k], e) == 0;) {
      if (intact[k].used) continue;
      if (e->time - intact[k].time < best_dt) {
        best = &intact[k];
        best_dt = e->time - intact[k].time;
      }
      break;
    }
    if (!best || (!any_time && best_dt > time_tolerance(best->time))) {
      m.invented++;
      if (!m.example) m.example = e;
      continue;
    }
    best->used = 1;
    m.kept++;
    if (best_dt > m.max_dt) m.max_dt = best_dt;
    int64_t shift = (int64_t)(e->time - best->time);
    if (shift < m.min_shift) m.min_shift = shift;
    if (shift > m.max_shift) m.max_shift = shift;
  }
  return m;
}

/* ---- the intact trace ---- */

typedef struct intact {
  uint8_t *p;
  size_t len;
  rec *ev;
  size_t nev;
  char **warnings;
  size_t nwarnings;
  chunk_at chunks[4096];
  size_t nchunks;
  uint64_t duration, start_ns;
} intact;

static intact whole;
static recs scratch;

static bool has_new_warning(const et_trace *t) {
  for (size_t i = 0; i < et_trace_warning_count(t); i++) {
    const char *w = et_trace_warning(t, i);
    bool known = false;
    for (size_t k = 0; k < whole.nwarnings && !known; k++) known = strcmp(w, whole.warnings[k]) == 0;
    if (!known) return true;
  }
  return false;
}

static int read_file(const char *path, uint8_t **p, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -errno;
  size_t cap = 1 << 16, n = 0;
  uint8_t *b = malloc(cap);
  while (b) {
    n += fread(b + n, 1, cap - n, f);
    if (n < cap) break;
    uint8_t *nb = realloc(b, cap *= 2);
    if (!nb) free(b);
    b = nb;
  }
  fclose(f);
  if (!b) return -ENOMEM;
  *p = b;
  *len = n;
  return 0;
}

static int write_file(const char *path, const void *p, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -errno;
  size_t n = fwrite(p, 1, len, f);
  return fclose(f) == 0 && n == len ? 0 : -EIO;
}

static void load_whole(const char *path) {
  TAP_REQUIRE(read_file(path, &whole.p, &whole.len) == 0, "read the recorded trace back");
  et_trace *t;
  TAP_REQUIRE(et_trace_open_mem(whole.p, whole.len, &t) == 0, "the intact trace loads");
  recs r = {0};
  TAP_REQUIRE(collect(t, &r) == 0, "collect the intact trace's events");
  whole.ev = r.v;
  whole.nev = r.n;
  qsort(whole.ev, whole.nev, sizeof *whole.ev, cmp_rec);
  whole.nwarnings = et_trace_warning_count(t);
  whole.warnings = calloc(whole.nwarnings + 1, sizeof *whole.warnings);
  for (size_t i = 0; i < whole.nwarnings; i++) {
    whole.warnings[i] = strdup(et_trace_warning(t, i));
    diag("the intact trace warns: %s", whole.warnings[i]);
  }
  whole.duration = et_trace_get_info(t)->duration_ns;
  whole.start_ns = et_trace_get_info(t)->start_ns;
  whole.nchunks = list_chunks(whole.p, whole.len, whole.chunks, 4096);
  size_t nevchunks = 0;
  for (size_t i = 0; i < whole.nchunks; i++) nevchunks += whole.chunks[i].type == ET_CHUNK_EVENTS;
  diag("intact trace: %zu bytes, %zu chunks (%zu of events), %zu events, %zu threads",
       whole.len, whole.nchunks, nevchunks, whole.nev, et_trace_thread_count(t));
  ok(et_trace_get_info(t)->complete && whole.nev >= 2000 && nevchunks >= 20,
     "the intact trace is complete, with thousands of events in many chunks");
  et_trace_close(t);
}

/* ---- a. prefixes ---- */

static int cmp_size(const void *a, const void *b) {
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

static void prefixes(void) {
  size_t off[NPREFIXES], n = 0;
  size_t fixed[] = {0, 1, 15, 16, 17, whole.len - 1};
  for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) off[n++] = fixed[i];
  while (n < NPREFIXES) {
    size_t o = rnd_in(0, whole.len - 1);
    bool dup = false;
    for (size_t i = 0; i < n && !dup; i++) dup = off[i] == o;
    if (!dup) off[n++] = o;
  }
  qsort(off, n, sizeof *off, cmp_size);

  size_t load_fail = 0, shrink = 0, exceed = 0, silent = 0, invent = 0;
  uint64_t prev = 0, max_dt = 0;
  double kept = 0;
  for (size_t i = 0; i < n; i++) {
    et_trace *t;
    int r = et_trace_open_mem(whole.p, off[i], &t);
    if (off[i] == 0) { /* no byte of a trace yet: refused as empty (docs/format.md, Damage) */
      if (r != ET_E_FORMAT && load_fail++ < 5) diag("the empty prefix: %s", et_strerror(r));
      if (r == 0) et_trace_close(t);
      continue;
    }
    if (r != 0) {
      if (load_fail++ < 5) diag("prefix of %zu bytes: %s", off[i], et_strerror(r));
      continue;
    }
    uint64_t events = et_trace_get_info(t)->events;
    if (events < prev && shrink++ < 5)
      diag("prefix of %zu bytes has %" PRIu64 " events, a shorter one had %" PRIu64, off[i], events, prev);
    if (events > whole.nev && exceed++ < 5)
      diag("prefix of %zu bytes has %" PRIu64 " events, the whole trace %zu", off[i], events, whole.nev);
    prev = events;
    if (!has_new_warning(t) && silent++ < 5) diag("prefix of %zu bytes: no new warning", off[i]);
    if (collect(t, &scratch) == 0) {
      match m = match_events(whole.ev, whole.nev, &scratch, false);
      if (m.invented && invent++ < 5)
        diag("prefix of %zu bytes: %zu event(s) not in the intact trace, e.g. kind %u of thread "
             "%" PRIu64 " at %" PRIu64 " ns", off[i], m.invented, m.example->kind, m.example->tid,
             m.example->time);
      if (m.max_dt > max_dt) max_dt = m.max_dt;
      kept += (double)m.kept / (double)whole.nev;
    }
    et_trace_close(t);
  }
  ok(load_fail == 0, "all %d prefixes load, but the empty one, refused with ET_E_FORMAT", NPREFIXES);
  ok(shrink == 0, "event counts never shrink as the prefix grows");
  ok(exceed == 0, "no prefix has more events than the whole trace");
  ok(silent == 0, "every prefix reports a warning the whole trace does not");
  ok(invent == 0, "no prefix invents an event");
  diag("prefixes keep %.1f%% of the events on average; times stray by at most %" PRIu64 " ns",
       100 * kept / NPREFIXES, max_dt);
}

/* ---- b, c. corruptions ---- */

typedef struct damage {
  uint8_t *p;
  size_t len;
  bool dup_chunk; /* a copied range holds a whole chunk: that chunk is now there twice */
  const char *what;
} damage;

static bool holds_chunk(size_t a, size_t n) {
  for (size_t i = 0; i < whole.nchunks; i++) {
    const chunk_at *c = &whole.chunks[i];
    if (c->off >= a && c->off + ET_CHUNK_HEADER_LEN + c->len <= a + n) return true;
  }
  return false;
}

/* Where damage lands: usually anywhere, sometimes in the file header. */
static size_t rnd_pos(void) {
  return rnd() % 20 == 0 ? rnd_in(0, ET_FILE_HEADER_LEN - 1) : rnd_in(0, whole.len - 1);
}

static damage corrupt(void) {
  damage d = {malloc(2 * whole.len), whole.len, false, NULL};
  if (!d.p) return d;
  memcpy(d.p, whole.p, whole.len);
  size_t len = whole.len;
  switch (rnd() % 8) {
    case 0:
      d.p[rnd_pos()] ^= (uint8_t)(1u << (rnd() % 8));
      d.what = "one bit flipped";
      break;
    case 1:
      for (size_t k = rnd_in(2, 16); k > 0; k--) d.p[rnd_pos()] ^= (uint8_t)(1u << (rnd() % 8));
      d.what = "bits flipped";
      break;
    case 2: {
      size_t a = rnd_pos(), n = rnd_in(1, 8);
      for (size_t i = a; i < a + n && i < len; i++) d.p[i] = (uint8_t)rnd();
      d.what = "random bytes";
      break;
    }
    case 3:
      d.p[rnd_pos()] = (uint8_t)rnd();
      d.what = "one random byte";
      break;
    case 4: {
      size_t a = rnd_pos(), n = rnd_in(1, 256);
      if (n > len - a) n = len - a;
      memset(d.p + a, 0, n);
      d.what = "zeroed run";
      break;
    }
    case 5: { /* a range inserted again at another place */
      size_t a = rnd_in(0, len - 1), n = rnd_in(1, 8192), b = rnd_pos();
      if (n > len - a) n = len - a;
      memmove(d.p + b + n, d.p + b, len - b);
      memcpy(d.p + b, whole.p + a, n);
      d.len = len + n;
      d.dup_chunk = holds_chunk(a, n);
      d.what = "range duplicated";
      break;
    }
    case 6: { /* a range copied over another */
      size_t n = rnd_in(1, 8192);
      if (n > len / 2) n = len / 2;
      size_t a = rnd_in(0, len - n), b = rnd_in(0, len - n);
      memcpy(d.p + b, whole.p + a, n);
      d.dup_chunk = holds_chunk(a, n);
      d.what = "range copied over another";
      break;
    }
    default: { /* two ranges swapped */
      size_t n = rnd_in(1, 4096);
      if (n > len / 2) n = len / 2;
      size_t a = rnd_in(0, len - 2 * n), b = rnd_in(a + n, len - n);
      memcpy(d.p + a, whole.p + b, n);
      memcpy(d.p + b, whole.p + a, n);
      d.what = "ranges swapped";
      break;
    }
  }
  return d;
}

/* The first byte where d differs from the intact trace (its length if none). */
static size_t first_diff(const damage *d) {
  size_t n = d->len < whole.len ? d->len : whole.len;
  for (size_t i = 0; i < n; i++)
    if (d->p[i] != whole.p[i]) return i;
  return n;
}

/* True if every difference is in bytes 8..15: version, minimum reader, flags.
 * The file header has no checksum and readers ignore its flags, so some such
 * damage cannot be seen by design (docs/format.md, File header). */
static bool header_fields_only(const damage *d) {
  if (d->len != whole.len || first_diff(d) < ET_FILE_MAGIC_LEN) return false;
  return memcmp(d->p + ET_FILE_HEADER_LEN, whole.p + ET_FILE_HEADER_LEN,
                whole.len - ET_FILE_HEADER_LEN) == 0;
}

/* With DAMAGE_KEEP=DIR in the environment, a case that fails a check is
 * written to DIR/case-N.etrace, to be kept as a fixture. */
static void keep_case(int i, const damage *d) {
  const char *dir = getenv("DAMAGE_KEEP");
  if (!dir || !*dir) return;
  char path[4096];
  snprintf(path, sizeof path, "%s/case-%d.etrace", dir, i);
  if (write_file(path, d->p, d->len) == 0) diag("  kept as %s", path);
}

static void corruptions(void) {
  size_t cases = 0, unchanged = 0, refused = 0, wrong_error = 0, silent = 0, invent = 0;
  size_t header_cases = 0, header_silent = 0, dup_cases = 0, dup_invent = 0, clock_cases = 0,
         clock_invent = 0;
  double kept = 0;
  size_t loaded = 0;
  uint64_t max_dt = 0;
  for (int i = 0; i < NCORRUPTIONS; i++) {
    damage d = corrupt();
    if (!d.p) {
      printf("Bail out! out of memory\n");
      exit(1);
    }
    if (d.len == whole.len && memcmp(d.p, whole.p, d.len) == 0) {
      unchanged++;
      free(d.p);
      continue;
    }
    cases++;
    et_trace *t;
    int r = et_trace_open_mem(d.p, d.len, &t);
    size_t at = first_diff(&d);
    if (r != 0) {
      refused++;
      if (!((r == ET_E_FORMAT || r == ET_E_VERSION) && at < ET_FILE_HEADER_LEN) &&
          wrong_error++ < 5) {
        diag("case %d (%s at byte %zu): refused with %s", i, d.what, at, et_strerror(r));
        keep_case(i, &d);
      }
      free(d.p);
      continue;
    }
    bool hdr = header_fields_only(&d);
    bool clk = et_trace_get_info(t)->start_ns != whole.start_ns; /* the time origin is lost */
    header_cases += hdr;
    dup_cases += d.dup_chunk;
    clock_cases += clk;
    if (!has_new_warning(t)) {
      if (hdr) header_silent++;
      else if (silent++ < 5) {
        diag("case %d (%s at byte %zu): loads without a new warning", i, d.what, at);
        keep_case(i, &d);
      }
    }
    if (collect(t, &scratch) == 0) {
      match m = match_events(whole.ev, whole.nev, &scratch, clk);
      if (m.invented) {
        if (d.dup_chunk) dup_invent++;
        if (invent++ < 5) {
          diag("case %d (%s at byte %zu): %zu event(s) not in the intact trace, e.g. kind %u of "
               "thread %" PRIu64 " at %" PRIu64 " ns", i, d.what, at, m.invented,
               m.example->kind, m.example->tid, m.example->time);
          keep_case(i, &d);
        }
      }
      /* Lost events make the pairing of equal events ambiguous, so the shift
       * is checked where every event survived. */
      if (clk && m.kept == whole.nev &&
          (uint64_t)(m.max_shift - m.min_shift) > time_tolerance(whole.duration)) {
        if (clock_invent++ < 5) {
          diag("case %d (%s at byte %zu): times shift by %" PRId64 "..%" PRId64 " ns", i, d.what, at,
               m.min_shift, m.max_shift);
          keep_case(i, &d);
        }
      }
      if (!clk && m.max_dt > max_dt) max_dt = m.max_dt;
      kept += (double)m.kept / (double)whole.nev;
      loaded++;
    }
    et_trace_close(t);
    free(d.p);
  }
  diag("%zu corruptions changed the trace (%zu changed nothing and are skipped); %zu refused, "
       "%zu loaded", cases, unchanged, refused, loaded);
  ok(wrong_error == 0, "corrupted traces are refused only for damage to the file header, "
                       "with ET_E_FORMAT or ET_E_VERSION");
  ok(silent == 0, "every corrupted trace that loads reports a new warning");
  ok(invent == 0, "no corrupted trace invents an event");
  ok(clock_invent == 0, "a corrupted trace that loses its time origin shifts all times alike");
  diag("corrupted traces keep %.1f%% of the events on average; times stray by at most %" PRIu64
       " ns", loaded ? 100 * kept / (double)loaded : 0.0, max_dt);
  diag("not checked: %zu/%zu cases with damage only to the header's version and flags load "
       "silently, which the format cannot see", header_silent, header_cases);
  diag("%zu/%zu cases with a duplicated chunk invent events; %zu/%zu that lost the first clock "
       "sync point collapse times", dup_invent, dup_cases, clock_invent, clock_cases);
}

/* ---- damage that once misled the reader, on fixed cases ---- */

static void known_bugs(void) {
  uint8_t *p = malloc(2 * whole.len);
  TAP_REQUIRE(p != NULL, "memory for the fixed cases");
  et_trace *t;

  const chunk_at *c = find_chunk(whole.chunks, whole.nchunks, ET_CHUNK_EVENTS, 0);
  size_t n = ET_CHUNK_HEADER_LEN + c->len, end = c->off + n;
  memcpy(p, whole.p, end);
  memcpy(p + end, whole.p + c->off, n);
  memcpy(p + end + n, whole.p + end, whole.len - end);
  TAP_REQUIRE(et_trace_open_mem(p, whole.len + n, &t) == 0, "a trace with a chunk twice loads");
  TAP_REQUIRE(collect(t, &scratch) == 0, "collect its events");
  match m = match_events(whole.ev, whole.nev, &scratch, false);
  ok(m.invented == 0, "%s", "an events chunk written twice (byte for byte) yields its events once");
  diag("with one events chunk twice: %zu events, %zu of them extra", scratch.n, m.invented);
  et_trace_close(t);

  c = find_chunk(whole.chunks, whole.nchunks, ET_CHUNK_CLOCK, 0);
  memcpy(p, whole.p, whole.len);
  p[c->off + ET_CHUNK_HEADER_LEN] ^= 0x01;
  TAP_REQUIRE(et_trace_open_mem(p, whole.len, &t) == 0, "a trace without its first clock loads");
  TAP_REQUIRE(collect(t, &scratch) == 0, "collect its events");
  m = match_events(whole.ev, whole.nev, &scratch, true);
  uint64_t spread = m.kept ? (uint64_t)(m.max_shift - m.min_shift) : 0;
  ok(m.kept == whole.nev && spread <= time_tolerance(whole.duration),
     "%s", "losing the first clock chunk shifts event times by one constant at most");
  diag("without the first clock chunk: %zu events kept; times shift by %" PRId64 "..%" PRId64
       " ns", m.kept, m.kept ? m.min_shift : 0, m.kept ? m.max_shift : 0);
  et_trace_close(t);
  free(p);
}

/* ---- the exectrace command ---- */

/* Runs exe with args, stdout to outpath and stderr to errpath; returns the
 * exit status, or -1. */
static int run(const char *exe, const char *const *args, const char *outpath, const char *errpath) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char *argv[8];
  size_t n = 0;
  argv[n++] = (char *)exe;
  for (; args[n - 1] && n < 7; n++) argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  pid_t pid;
  int err = posix_spawn(&pid, exe, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (err) return -1;
  int status;
  if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

typedef struct output {
  size_t lines, matching; /* lines, and lines that start with the prefix asked for */
  char first[1024];       /* the first line */
  bool has;               /* the text asked for occurs */
} output;

static output read_output(const char *path, const char *prefix, const char *needle) {
  output o = {0, 0, "", false};
  FILE *f = fopen(path, "r");
  if (!f) return o;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    if (o.lines++ == 0) snprintf(o.first, sizeof o.first, "%s", line);
    o.matching += strncmp(line, prefix, strlen(prefix)) == 0;
    o.has |= needle && strstr(line, needle) != NULL;
  }
  free(line);
  fclose(f);
  o.first[strcspn(o.first, "\n")] = 0;
  return o;
}

static void command(const char *exe, const char *dir) {
  char cut[4200], bad[4200], text[4200], out[4200], err[4200];
  snprintf(cut, sizeof cut, "%s/cut.etrace", dir);
  snprintf(bad, sizeof bad, "%s/corrupt.etrace", dir);
  snprintf(text, sizeof text, "%s/hostname.etrace", dir);
  snprintf(out, sizeof out, "%s/stdout", dir);
  snprintf(err, sizeof err, "%s/stderr", dir);
  const chunk_at *c = find_chunk(whole.chunks, whole.nchunks, ET_CHUNK_EVENTS, 3);
  TAP_REQUIRE(c && write_file(cut, whole.p, c->off + ET_CHUNK_HEADER_LEN + c->len / 2) == 0,
              "write a cut trace");
  uint8_t *p = malloc(whole.len);
  TAP_REQUIRE(p != NULL, "memory for a corrupted trace");
  memcpy(p, whole.p, whole.len);
  p[c->off + ET_CHUNK_HEADER_LEN + c->len / 2] ^= 0x40;
  TAP_REQUIRE(write_file(bad, p, whole.len) == 0, "write a corrupted trace");
  free(p);
  uint8_t *host;
  size_t hlen;
  if (read_file("/etc/hostname", &host, &hlen) == 0 && hlen > 0) {
    TAP_REQUIRE(write_file(text, host, hlen) == 0, "write a copy of /etc/hostname");
    free(host);
  } else {
    TAP_REQUIRE(write_file(text, "localhost\n", 10) == 0, "write a text file");
  }

  const char *files[] = {cut, bad};
  const char *names[] = {"a cut trace", "a corrupted trace"};
  const char *losses[] = {"cut", "checksum"};
  for (int f = 0; f < 2; f++) {
    const char *const stats[] = {"stats", files[f], NULL};
    const char *const dump[] = {"dump", files[f], NULL};
    const char *const *cmds[] = {stats, dump};
    for (int k = 0; k < 2; k++) {
      int st = run(exe, cmds[k], out, err);
      output e = read_output(err, "exectrace: warning: ", losses[f]);
      ok(st == 0 && e.lines > 0 && e.matching == e.lines && e.has,
         "exectrace %s on %s exits 0 and prints %zu warning lines on stderr, one on the loss",
         cmds[k][0], names[f], e.matching);
      if (e.lines) diag("  first: %s", e.first);
    }
    const char *const json[] = {"stats", "--json", files[f], NULL};
    int st = run(exe, json, out, err);
    output o = read_output(out, "{", "\"warnings\":[\""), e = read_output(err, "", NULL);
    ok(st == 0 && o.lines == 1 && o.matching == 1 && o.has && e.lines == 0,
       "exectrace stats --json on %s exits 0 with the warnings in its JSON", names[f]);
  }
  const char *const stats[] = {"stats", text, NULL};
  const char *const dump[] = {"dump", text, NULL};
  const char *const *cmds[] = {stats, dump};
  for (int k = 0; k < 2; k++) {
    int st = run(exe, cmds[k], out, err);
    output e = read_output(err, "exectrace: ", "not an exectrace trace");
    ok(st == 1 && e.lines == 1 && e.matching == 1 && e.has,
       "exectrace %s on a text file exits 1 with one line: %s", cmds[k][0], e.first);
  }
  unlink(cut);
  unlink(bad);
  unlink(text);
  unlink(out);
  unlink(err);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_damage EXECTRACE\n");
    return 2;
  }
  const char *tmp = getenv("TMPDIR");
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/et-damage-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  TAP_REQUIRE(mkdtemp(dir) != NULL, "make a temporary directory");
  char path[4200];
  snprintf(path, sizeof path, "%s/whole.etrace", dir);

  et_options o;
  et_options_init(&o);
  o.buffer_size = 1u << 20;
  o.chunk_size = 4096;
  o.block_when_full = true;
  o.flush_ms = 2;
  const wl_params p = {4, 60, 300};
  TAP_REQUIRE(wl_record(path, &o, &p) == 0, "record the workload with 4 KiB chunks");
  load_whole(path);
  unlink(path);

  prefixes();
  corruptions();
  known_bugs();
  command(argv[1], dir);
  rmdir(dir);
  free(scratch.v);
  free(whole.ev);
  for (size_t i = 0; i < whole.nwarnings; i++) free(whole.warnings[i]);
  free(whole.warnings);
  free(whole.p);
  return tap_done();
}

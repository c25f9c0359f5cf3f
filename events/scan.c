/* Reading the trace's framing: the file header, chunks, checksums, and the
 * metadata chunks (catalogue, process, clock, strings, stacks, mappings).
 *
 * Damage is expected: a trace may be cut anywhere (a crash, a closed HTTP
 * stream) or have flipped bytes.  A chunk whose header checksum fails is
 * resynchronised past by searching for the next valid chunk header; a chunk
 * whose payload checksum fails is skipped whole; a chunk cut by the end of
 * the input is reported.  Each loss becomes one warning that says where and
 * how much, and everything intact still loads.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "model_internal.h"

static const char *const chunk_names[ET_CHUNK_TYPE_LIMIT] = {
    [0] = "unknown",
    [ET_CHUNK_CATALOG] = "catalog",
    [ET_CHUNK_PROCESS] = "process",
    [ET_CHUNK_CLOCK] = "clock",
    [ET_CHUNK_STRINGS] = "strings",
    [ET_CHUNK_STACKS] = "stacks",
    [ET_CHUNK_MAPPINGS] = "mappings",
    [ET_CHUNK_EVENTS] = "events",
    [ET_CHUNK_END] = "end",
    [ET_CHUNK_THREADS] = "threads",
    [ET_CHUNK_PROCESSES] = "processes",
};

static const char *chunk_name(unsigned type) {
  return type < ET_CHUNK_TYPE_LIMIT ? chunk_names[type] : "unknown";
}

bool et__vec_grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap) return true;
  size_t ncap = *cap ? *cap + *cap / 2 : 16;
  if (ncap < need) ncap = need;
  void *np = realloc(*p, ncap * elem);
  if (!np) return false;
  *p = np;
  *cap = ncap;
  return true;
}

static void warn_locked(et_trace *t, const char *msg);

void et__warn(et_trace *t, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&t->warn_lock);
  warn_locked(t, msg);
  pthread_mutex_unlock(&t->warn_lock);
}

static void warn_locked(et_trace *t, const char *msg) {
  if (t->stream && t->stream->warning) t->stream->warning(t->stream_arg, msg);
  if (t->nwarnings >= ET_MAX_WARNINGS) {
    t->warnings_dropped++;
    return;
  }
  if (!ET_VEC_GROW(t->warnings, t->nwarnings, t->capwarnings)) return;
  char *copy = et__strdup_n(t, msg, strlen(msg));
  if (copy) t->warnings[t->nwarnings++] = copy;
}

char *et__strdup_n(et_trace *t, const void *s, size_t n) {
  if (n + 1 > t->arena_left) {
    size_t size = n + 1 > 65536 ? n + 1 : 65536;
    char *b = malloc(size);
    if (!b || !ET_VEC_GROW(t->blocks, t->nblocks, t->capblocks)) {
      free(b);
      return NULL;
    }
    t->blocks[t->nblocks++] = b;
    t->arena = b;
    t->arena_left = size;
  }
  char *r = t->arena;
  memcpy(r, s, n);
  r[n] = 0;
  t->arena += n + 1;
  t->arena_left -= n + 1;
  return r;
}

int et__check_header(et_trace *t, const uint8_t *d, size_t len, bool at_eof) {
  if (len == 0 && at_eof) return ET_E_FORMAT; /* nothing at all is not a trace */
  size_t cmp = len < ET_FILE_MAGIC_LEN ? len : ET_FILE_MAGIC_LEN;
  if (memcmp(d, ET_FILE_MAGIC, cmp) != 0) return ET_E_FORMAT;
  if (len < ET_FILE_HEADER_LEN) {
    if (!at_eof) return 1;
    et__warn(t, "the trace is cut inside its %d-byte file header (%zu bytes): no events",
             ET_FILE_HEADER_LEN, len);
    t->info.lost_bytes += len;
    return 0;
  }
  unsigned version = et__get_u16le(d + 8), min_reader = et__get_u16le(d + 10);
  if (min_reader > ET_FORMAT_VERSION) return ET_E_VERSION;
  if (version > ET_FORMAT_VERSION)
    et__warn(t, "trace format version %u is newer than this reader's %d; unknown parts are skipped",
             version, ET_FORMAT_VERSION);
  return 0;
}

static bool header_ok(const uint8_t *h) {
  return memcmp(h, ET_CHUNK_MAGIC, 4) == 0 &&
         et__get_u32le(h + 16) == et__crc32(0, h, 16) &&
         et__get_u32le(h + 8) <= ET_CHUNK_MAX_PAYLOAD;
}

/* Finds the next valid chunk header at or after off; len if none. */
static size_t resync(const uint8_t *d, size_t len, size_t off) {
  while (off + ET_CHUNK_HEADER_LEN <= len) {
    const uint8_t *m = memchr(d + off, 'E', len - off - ET_CHUNK_HEADER_LEN + 1);
    if (!m) break;
    off = (size_t)(m - d);
    if (header_ok(m)) return off;
    off++;
  }
  return len;
}

static int get_str(const uint8_t **pp, const uint8_t *end, const uint8_t **s, size_t *n) {
  uint64_t len;
  if (et__get_uvarint(pp, end, &len) != 0 || len > (uint64_t)(end - *pp)) return -1;
  *s = *pp;
  *n = (size_t)len;
  *pp += len;
  return 0;
}

static int parse_catalog(et_trace *t, const uint8_t *p, const uint8_t *end) {
  uint64_t count;
  if (et__get_uvarint(&p, end, &count) != 0 || count > ET_EV_LIMIT) return -1;
  et_kind_desc kinds[ET_EV_LIMIT];
  memset(kinds, 0, sizeof kinds);
  for (uint64_t i = 0; i < count; i++) {
    if (end - p < 2) return -1;
    uint8_t num = *p++, flags = *p++;
    const uint8_t *name;
    size_t nlen;
    if (get_str(&p, end, &name, &nlen) != 0 || nlen == 0 || p >= end) return -1;
    uint8_t nf = *p++;
    if (nf > ET_MAX_FIELDS || num == 0) return -1;
    et_kind_desc *k = &kinds[num];
    k->num = num;
    k->flags = flags;
    k->nfields = nf;
    k->name = et__strdup_n(t, name, nlen);
    if (!k->name) return -1;
    for (unsigned f = 0; f < nf; f++) {
      if (p >= end) return -1;
      uint8_t ft = *p++;
      if (ft != ET_FT_U && ft != ET_FT_I && ft != ET_FT_T && ft != ET_FT_P && ft != ET_FT_S &&
          ft != ET_FT_K && ft != ET_FT_B)
        return -1;
      const uint8_t *fn;
      size_t fnl;
      if (get_str(&p, end, &fn, &fnl) != 0) return -1;
      k->ftype[f] = ft;
      k->fname[f] = et__strdup_n(t, fn, fnl);
      if (!k->fname[f]) return -1;
    }
  }
  memcpy(t->kinds, kinds, sizeof kinds); /* trailing bytes: a newer writer's additions */
  for (unsigned k = 0; k < ET_EV_LIMIT; k++) {
    const et_kind_desc *ours = &et__kinds[k], *theirs = &t->kinds[k];
    bool same = ours->name && theirs->name && strcmp(ours->name, theirs->name) == 0 &&
                ours->nfields == theirs->nfields;
    for (unsigned f = 0; same && f < ours->nfields; f++) same = ours->ftype[f] == theirs->ftype[f];
    t->known[k] = same;
  }
  et__region_roles(t);
  t->have_catalog = true;
  return 0;
}

static int parse_process(et_trace *t, const uint8_t *p, const uint8_t *end) {
  uint64_t pid, ppid, wall, rate;
  const uint8_t *exe, *cmd;
  size_t exel, cmdl;
  if (et__get_uvarint(&p, end, &pid) || et__get_uvarint(&p, end, &ppid) ||
      get_str(&p, end, &exe, &exel) || get_str(&p, end, &cmd, &cmdl) ||
      et__get_uvarint(&p, end, &wall) || p >= end)
    return -1;
  uint8_t clock = *p++;
  if (et__get_uvarint(&p, end, &rate) || (clock != ET_CLOCK_TSC && clock != ET_CLOCK_MONOTONIC) ||
      rate == 0)
    return -1;
  t->info.pid = pid;
  t->info.wall_start_ns = wall;
  t->info.exe = et__strdup_n(t, exe, exel);
  char *c = et__strdup_n(t, cmd, cmdl);
  if (c) {
    for (size_t i = 0; i < cmdl; i++)
      if (c[i] == 0) c[i] = ' ';
    while (cmdl > 0 && c[cmdl - 1] == ' ') c[--cmdl] = 0;
  }
  t->info.cmdline = c;
  if (!t->rate) t->rate = rate;
  uint64_t period;
  if (p < end && et__get_uvarint(&p, end, &period) == 0) t->info.cpu_period_ns = period;
  return 0; /* further trailing bytes: a newer writer's fields */
}

static int parse_clock(et_trace *t, const uint8_t *p, const uint8_t *end) {
  uint64_t ticks, ns, rate;
  if (et__get_uvarint(&p, end, &ticks) || et__get_uvarint(&p, end, &ns) ||
      et__get_uvarint(&p, end, &rate) || rate == 0)
    return -1; /* trailing bytes: fields of a newer writer */
  if (!ET_VEC_GROW(t->syncs, t->nsyncs, t->capsyncs)) return -1;
  if (t->nsyncs && ticks < t->syncs[t->nsyncs - 1].ticks) t->syncs_sorted = false;
  t->syncs[t->nsyncs++] = (et__sync){ticks, ns};
  if (t->nsyncs == 1) t->info.start_ns = ns;
  t->rate = rate;
  return 0;
}

static int parse_strings(et_trace *t, const uint8_t *p, const uint8_t *end) {
  while (p < end) {
    uint64_t id;
    const uint8_t *s;
    size_t n;
    if (et__get_uvarint(&p, end, &id) || id == 0 || id > (1u << 28) || get_str(&p, end, &s, &n))
      return -1;
    char *str = et__strdup_n(t, s, n);
    if (!str) return -1;
    t->strs_defined++;
    if (!et__dense_id(id, t->strs_defined)) {
      if (!et__map_put(&t->sparse_strs, id, (uint64_t)(uintptr_t)str)) return -1;
      continue;
    }
    if (id >= t->nstrs) {
      size_t cap = t->nstrs, need = (size_t)id + 1;
      if (!et__vec_grow((void **)&t->strs, &cap, need, sizeof *t->strs)) return -1;
      memset(t->strs + t->nstrs, 0, (cap - t->nstrs) * sizeof *t->strs);
      t->nstrs = cap;
    }
    t->strs[id] = str;
  }
  return 0;
}

static int parse_stacks(et_trace *t, const uint8_t *p, const uint8_t *end) {
  while (p < end) {
    uint64_t id, n;
    if (et__get_uvarint(&p, end, &id) || id == 0 || id > (1u << 28) ||
        et__get_uvarint(&p, end, &n) || n == 0 || n > 255)
      return -1;
    if (!et__vec_grow((void **)&t->frames, &t->capframes, t->nframes + n, sizeof *t->frames))
      return -1;
    uint64_t *f = t->frames + t->nframes, prev = 0;
    for (uint64_t i = 0; i < n; i++) {
      uint64_t v;
      if (et__get_uvarint(&p, end, &v)) return -1;
      f[i] = i == 0 ? v : prev + (uint64_t)et__unzigzag(v);
      prev = f[i];
    }
    uint64_t packed = ((uint64_t)t->nframes << 8) | n;
    if (!et__dense_id(id, t->stacks_defined + 1)) {
      uint64_t old;
      if (!et__map_get(&t->sparse_stacks, id, &old)) t->stacks_defined++;
      if (!et__map_put(&t->sparse_stacks, id, packed)) return -1;
      t->nframes += n;
      continue;
    }
    if (id >= t->nstacks) {
      size_t cap = t->nstacks;
      if (!et__vec_grow((void **)&t->stack_off, &cap, (size_t)id + 1, sizeof *t->stack_off))
        return -1;
      memset(t->stack_off + t->nstacks, 0, (cap - t->nstacks) * sizeof *t->stack_off);
      t->nstacks = cap;
    }
    if (t->stack_off[id] == 0) t->stacks_defined++;
    t->stack_off[id] = packed;
    t->nframes += n;
  }
  return 0;
}

static int parse_mappings(et_trace *t, const uint8_t *p, const uint8_t *end) {
  while (p < end) {
    uint64_t start, limit, offset;
    const uint8_t *path, *bid;
    size_t pl, bl;
    if (et__get_uvarint(&p, end, &start) || et__get_uvarint(&p, end, &limit) ||
        et__get_uvarint(&p, end, &offset) || get_str(&p, end, &path, &pl) ||
        get_str(&p, end, &bid, &bl) || limit < start)
      return -1;
    /* A rescan repeats every mapping: the latest description of a start wins. */
    size_t i = 0;
    while (i < t->nmaps && t->maps[i].start != start) i++;
    if (i == t->nmaps) {
      if (!ET_VEC_GROW(t->maps, t->nmaps, t->capmaps)) return -1;
      t->nmaps++;
    }
    et_mapping *m = &t->maps[i];
    m->start = start;
    m->limit = limit;
    m->offset = offset;
    m->path = et__strdup_n(t, path, pl);
    m->build_id = (const uint8_t *)et__strdup_n(t, bid, bl);
    m->build_id_len = bl;
  }
  return 0;
}

static int parse_end(et_trace *t, const uint8_t *p, const uint8_t *end) {
  uint64_t n, total = 0;
  if (et__get_uvarint(&p, end, &n) || n > 64) return -1;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t reason, count;
    if (et__get_uvarint(&p, end, &reason) || et__get_uvarint(&p, end, &count)) return -1;
    if (reason == ET_DROP_BUFFER_FULL || reason == ET_DROP_NESTED) total += count;
    else if (count)
      et__warn(t, "%llu %s event(s) recorded while the tracer's table was full or a message "
                  "was cut", (unsigned long long)count, et__drop_reason_name((unsigned)reason));
  }
  t->end_drops = total;
  /* Each thread's lost events, where they exceed its DROP records. */
  uint64_t nthreads = 0;
  if (p < end && et__get_uvarint(&p, end, &nthreads)) return -1;
  for (uint64_t i = 0; i < nthreads; i++) {
    uint64_t tid, lost;
    if (et__get_uvarint(&p, end, &tid) || et__get_uvarint(&p, end, &lost) || tid == 0) return -1;
    size_t ti = et__thread_of(t, tid);
    if (ti == SIZE_MAX) return -1;
    t->threads[ti].end_lost = lost;
  }
  t->info.complete = true;
  return 0;
}

/* THREADS: (tid, name string id) pairs of threads that announced themselves
 * before the trace's window; a thread of the trace takes its name from here
 * when its own events never name it. */
static int parse_threads(et_trace *t, const uint8_t *p, const uint8_t *end) {
  while (p < end) {
    uint64_t tid, name;
    if (et__get_uvarint(&p, end, &tid) || et__get_uvarint(&p, end, &name) || tid == 0) return -1;
    if (name && !et__map_put(&t->early_names, tid, name)) return -1;
  }
  return 0;
}

/* PROCESSES: the processes of a trace of several, each entry prefixed with
 * its size so that a newer writer can add fields to it.  The chunk is
 * checked whole before anything is kept (commit false), then kept (commit
 * true): a malformed one changes nothing. */
#define ET_MAX_PROCESSES_PER_CHUNK (1u << 20)

static uint64_t proc_hash(const uint8_t *host, size_t n, uint64_t pid) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ host[i]) * 0x100000001b3ull;
  return (h ^ pid) * 0x9e3779b97f4a7c15ull;
}

/* The process an entry describes: the earlier one with the same host and
 * (known) pid, or a new one.  NULL on OOM. */
static et__mproc *proc_for(et_trace *t, uint64_t pid, const uint8_t *name, size_t nl, const uint8_t *host,
                           size_t hl) {
  uint64_t key = proc_hash(host, hl, pid), idx;
  if (pid && et__map_get(&t->proc_key, key, &idx)) {
    et__mproc *m = &t->procs[idx];
    if (m->info.pid == pid && strlen(m->info.host) == hl && memcmp(m->info.host, host, hl) == 0) {
      if (!m->info.name[0] && nl) m->info.name = et__strdup_n(t, name, nl);
      return m->info.name ? m : NULL;
    }
  }
  if (!ET_VEC_GROW(t->procs, t->nprocs, t->capprocs)) return NULL;
  et__mproc *m = &t->procs[t->nprocs];
  memset(m, 0, sizeof *m);
  m->info.pid = pid;
  m->info.name = et__strdup_n(t, name, nl);
  m->info.host = et__strdup_n(t, host, hl);
  if (!m->info.name || !m->info.host) return NULL;
  if (pid && !et__map_put(&t->proc_key, key, t->nprocs)) return NULL;
  t->nprocs++;
  return m;
}

static int process_entry(et_trace *t, const uint8_t *p, const uint8_t *end, bool commit) {
  uint64_t pid, nthreads;
  const uint8_t *name, *host;
  size_t nl, hl;
  if (et__get_uvarint(&p, end, &pid) || get_str(&p, end, &name, &nl) || get_str(&p, end, &host, &hl) ||
      et__get_uvarint(&p, end, &nthreads) || nthreads > (uint64_t)(end - p) / 2)
    return -1;
  et__mproc *m = commit ? proc_for(t, pid, name, nl, host, hl) : NULL;
  if (commit && (!m || !et__vec_grow((void **)&m->tids, &m->captids, m->ntids + 2 * nthreads, sizeof *m->tids)))
    return -1;
  for (uint64_t i = 0; i < nthreads; i++) {
    uint64_t tid, os_tid;
    if (et__get_uvarint(&p, end, &tid) || et__get_uvarint(&p, end, &os_tid) || tid == 0) return -1;
    if (commit) {
      m->tids[m->ntids++] = tid;
      m->tids[m->ntids++] = os_tid;
    }
  }
  if (p == end) return 0; /* no mappings */
  uint64_t nmaps;
  if (et__get_uvarint(&p, end, &nmaps) || nmaps > (uint64_t)(end - p) / 5) return -1;
  if (commit && !et__vec_grow((void **)&m->maps, &m->capmaps, m->nmaps + nmaps, sizeof *m->maps)) return -1;
  for (uint64_t i = 0; i < nmaps; i++) {
    uint64_t start, limit, offset;
    const uint8_t *path, *bid;
    size_t pl, bl;
    if (et__get_uvarint(&p, end, &start) || et__get_uvarint(&p, end, &limit) ||
        et__get_uvarint(&p, end, &offset) || get_str(&p, end, &path, &pl) || get_str(&p, end, &bid, &bl) ||
        limit < start)
      return -1;
    if (!commit) continue;
    et_mapping *mp = &m->maps[m->nmaps];
    *mp = (et_mapping){start, limit, offset, et__strdup_n(t, path, pl), NULL, bl};
    mp->build_id = (const uint8_t *)et__strdup_n(t, bid, bl);
    if (!mp->path || !mp->build_id) return -1;
    m->nmaps++;
  }
  return 0; /* bytes left in the entry: a newer writer's fields */
}

static int parse_processes(et_trace *t, const uint8_t *p, const uint8_t *end) {
  for (int commit = 0; commit < 2; commit++) {
    const uint8_t *q = p;
    uint64_t count;
    if (et__get_uvarint(&q, end, &count) || count > ET_MAX_PROCESSES_PER_CHUNK || count > (uint64_t)(end - q))
      return -1;
    for (uint64_t i = 0; i < count; i++) {
      uint64_t size;
      if (et__get_uvarint(&q, end, &size) || size > (uint64_t)(end - q) ||
          process_entry(t, q, q + size, commit) != 0)
        return -1;
      q += size;
    }
  }
  t->have_processes = true;
  return 0; /* bytes after the entries: a newer writer's additions */
}

static void chunk(et_trace *t, unsigned type, const uint8_t *p, size_t len, size_t off,
                  uint32_t crc) {
  const uint8_t *end = p + len;
  int r = 0;
  switch (type) {
    case ET_CHUNK_CATALOG:
      /* One catalogue decodes the whole trace, so it must come before any
       * events (a stream has already decoded those with what it had). */
      if (t->have_catalog || t->seen_events) {
        et__warn(t, "catalog chunk at offset %zu is ignored: %s", off,
                 t->have_catalog ? "the trace has one already" : "it comes after events");
        break;
      }
      r = parse_catalog(t, p, end);
      break;
    case ET_CHUNK_PROCESS: r = parse_process(t, p, end); break;
    case ET_CHUNK_CLOCK: r = parse_clock(t, p, end); break;
    case ET_CHUNK_STRINGS: r = parse_strings(t, p, end); break;
    case ET_CHUNK_STACKS: r = parse_stacks(t, p, end); break;
    case ET_CHUNK_MAPPINGS: r = parse_mappings(t, p, end); break;
    case ET_CHUNK_EVENTS:
      t->seen_events = true;
      et__events_chunk(t, p, len, off, crc);
      break;
    case ET_CHUNK_END: r = parse_end(t, p, end); break;
    case ET_CHUNK_THREADS: r = parse_threads(t, p, end); break;
    case ET_CHUNK_PROCESSES: r = parse_processes(t, p, end); break;
    default: break; /* a newer writer's chunk type: skipped by design */
  }
  if (r != 0) {
    t->info.lost_chunks++;
    et__warn(t, "%s chunk at offset %zu is malformed: skipped (%zu bytes)", chunk_name(type), off,
             len);
  }
}

size_t et__scan(et_trace *t, const uint8_t *d, size_t len, size_t off, bool at_eof) {
  while (off < len && !t->stream_stop) {
    if (len - off < ET_CHUNK_HEADER_LEN) {
      if (!at_eof) return off;
      et__warn(t, "the trace is cut after offset %zu: %zu trailing bytes are not a whole chunk",
               off, len - off);
      t->info.lost_bytes += len - off;
      return len;
    }
    const uint8_t *h = d + off;
    if (!header_ok(h)) {
      size_t next = resync(d, len, off + 1);
      if (next == len && !at_eof) {
        /* Keep the tail: the next header may straddle the buffer's end. */
        size_t keep = len - off > ET_CHUNK_HEADER_LEN ? len - ET_CHUNK_HEADER_LEN + 1 : off;
        if (keep > off) {
          t->info.lost_bytes += keep - off;
          et__warn(t, "damaged data at offset %zu: skipped %zu bytes", off, keep - off);
        }
        return keep;
      }
      t->info.lost_bytes += next - off;
      t->info.lost_chunks++;
      et__warn(t, "damaged data at offset %zu: skipped %zu bytes to the next intact chunk", off,
               next - off);
      off = next;
      continue;
    }
    unsigned type = h[4];
    size_t plen = et__get_u32le(h + 8);
    if (len - off - ET_CHUNK_HEADER_LEN < plen) {
      if (!at_eof) return off;
      et__warn(t, "the trace is cut inside the %s chunk at offset %zu (%zu of %zu bytes): skipped",
               chunk_name(type), off, len - off - ET_CHUNK_HEADER_LEN, plen);
      t->info.lost_chunks++;
      t->info.lost_bytes += len - off;
      return len;
    }
    const uint8_t *payload = h + ET_CHUNK_HEADER_LEN;
    if (et__get_u32le(h + 12) != et__crc32(0, payload, plen)) {
      et__warn(t, "%s chunk at offset %zu fails its checksum: skipped (%zu bytes)",
               chunk_name(type), off, plen);
      t->info.lost_chunks++;
      t->info.lost_bytes += ET_CHUNK_HEADER_LEN + plen;
    } else {
      chunk(t, type, payload, plen, off, et__get_u32le(h + 12));
    }
    off += ET_CHUNK_HEADER_LEN + plen;
  }
  return off;
}

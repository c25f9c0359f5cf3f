/* The trace model: loading a trace, deriving each thread's states, and the
 * reader API's accessors.
 *
 * Loading maps the file, indexes every chunk (scan.c) and derives the model
 * (build.c).  The events themselves stay encoded in the mapped file (about
 * 6 bytes each) and are decoded on demand by cursors; the model adds 16
 * bytes per state span.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_internal.h"

/* ---- small u64 map ---- */

static bool map_grow(et__u64map *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  uint64_t *k = calloc(cap, sizeof *k), *v = calloc(cap, sizeof *v);
  if (!k || !v) {
    free(k);
    free(v);
    return false;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i]) continue;
    size_t j = (m->keys[i] * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1);
    while (k[j]) j = (j + 1) & (cap - 1);
    k[j] = m->keys[i];
    v[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = k;
  m->vals = v;
  m->cap = cap;
  return true;
}

bool et__map_put(et__u64map *m, uint64_t key, uint64_t val) {
  if ((m->n + 1) * 2 > m->cap && !map_grow(m)) return false;
  uint64_t k1 = key + 1;
  size_t j = (k1 * 0x9e3779b97f4a7c15ull >> 20) & (m->cap - 1);
  while (m->keys[j] && m->keys[j] != k1) j = (j + 1) & (m->cap - 1);
  if (!m->keys[j]) m->n++;
  m->keys[j] = k1;
  m->vals[j] = val;
  return true;
}

bool et__map_get(const et__u64map *m, uint64_t key, uint64_t *val) {
  if (!m->cap) return false;
  uint64_t k1 = key + 1;
  size_t j = (k1 * 0x9e3779b97f4a7c15ull >> 20) & (m->cap - 1);
  while (m->keys[j]) {
    if (m->keys[j] == k1) {
      *val = m->vals[j];
      return true;
    }
    j = (j + 1) & (m->cap - 1);
  }
  return false;
}

void et__map_free(et__u64map *m) {
  free(m->keys);
  free(m->vals);
  memset(m, 0, sizeof *m);
}

size_t et__thread_of(et_trace *t, uint64_t tid) {
  uint64_t idx;
  if (et__map_get(&t->tid_index, tid, &idx)) return (size_t)idx;
  if (!ET_VEC_GROW(t->threads, t->nthreads, t->capthreads)) return SIZE_MAX;
  if (!et__map_put(&t->tid_index, tid, t->nthreads)) return SIZE_MAX;
  et__mthread *th = &t->threads[t->nthreads];
  memset(th, 0, sizeof *th);
  th->info.tid = tid;
  th->info.name = "";
  return t->nthreads++;
}

/* ---- loading ---- */

static et_trace *trace_new(void) {
  et_trace *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  memcpy(t->kinds, et__kinds, sizeof t->kinds);
  for (unsigned k = 0; k < ET_EV_LIMIT; k++) t->known[k] = et__kinds[k].name != NULL;
  et__region_roles(t);
  t->syncs_sorted = true;
  pthread_mutex_init(&t->warn_lock, NULL);
  t->info.exe = "";
  t->info.cmdline = "";
  return t;
}

void et_trace_close(et_trace *t) {
  if (!t) return;
  if (t->mapped) munmap(t->data, t->len);
  else free(t->data);
  for (size_t i = 0; i < t->nthreads; i++) {
    for (unsigned s = 0; s < ET_STREAM_COUNT; s++) free(t->threads[i].st[s].refs);
    free(t->threads[i].spans);
  }
  free(t->threads);
  et__map_free(&t->tid_index);
  et__map_free(&t->early_names);
  free(t->strs);
  et__map_free(&t->sparse_strs);
  et__map_free(&t->sparse_stacks);
  et__map_free(&t->stream_seen);
  free(t->frames);
  free(t->stack_off);
  free(t->maps);
  free(t->syncs);
  free(t->tasks);
  for (size_t i = 0; i < t->nprocs; i++) {
    free(t->procs[i].tids);
    free(t->procs[i].maps);
  }
  free(t->procs);
  et__map_free(&t->proc_key);
  free(t->proc_threads);
  free(t->warnings);
  for (size_t i = 0; i < t->nblocks; i++) free(t->blocks[i]);
  free(t->blocks);
  free(t);
}

static int load(et_trace *t) {
  int r = et__check_header(t, t->data, t->len, true);
  if (r != 0) return r;
  if (t->len >= ET_FILE_HEADER_LEN) et__scan(t, t->data, t->len, ET_FILE_HEADER_LEN, true);
  t->info.bytes = t->len;
  return et__build(t);
}

static int read_all(int fd, uint8_t **data, size_t *len) {
  size_t cap = 1 << 20, n = 0;
  uint8_t *b = malloc(cap);
  if (!b) return -ENOMEM;
  for (;;) {
    if (n == cap) {
      uint8_t *nb = realloc(b, cap * 2);
      if (!nb) {
        free(b);
        return -ENOMEM;
      }
      b = nb;
      cap *= 2;
    }
    ssize_t r = read(fd, b + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = -errno;
      free(b);
      return err;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  *data = b;
  *len = n;
  return 0;
}

/* Why this thread's last open failed, when there is more to say than the code. */
static _Thread_local char error_detail[300];

const char *et_trace_error_detail(void) { return error_detail; }

static int open_file(const char *path, const et_walk_handlers *h, void *arg, et_trace **out) {
  *out = NULL;
  error_detail[0] = 0;
  et_trace *t = trace_new();
  if (!t) return -ENOMEM;
  t->walk_h = h;
  t->walk_arg = arg;
  t->walk_only = h != NULL;
  int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = -errno;
    et_trace_close(t);
    return err;
  }
  struct stat st;
  int err = 0;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    if (m == MAP_FAILED) err = -errno;
    else {
      t->data = m;
      t->len = (size_t)st.st_size;
      t->mapped = true;
      madvise(m, t->len, MADV_SEQUENTIAL);
    }
  } else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
#ifdef ET_HAVE_BABELTRACE2
    /* A directory: CTF traces, re-encoded in memory (ctf_import.c). */
    char msg[300];
    err = et__ctf_import(t, path, msg, sizeof msg);
    if (err == ET_E_FORMAT && msg[0]) snprintf(error_detail, sizeof error_detail, "%s", msg);
#else
    err = -EISDIR;
#endif
  } else {
    err = read_all(fd, &t->data, &t->len);
  }
  if (fd != 0) close(fd);
  if (!err) err = load(t);
  if (err) {
    et_trace_close(t);
    return err;
  }
  *out = t;
  return 0;
}

int et_trace_open(const char *path, et_trace **out) { return open_file(path, NULL, NULL, out); }

int et_trace_open_walk(const char *path, const et_walk_handlers *h, void *arg, et_trace **out) {
  static const et_walk_handlers none = {NULL, NULL, NULL, NULL, 0};
  return open_file(path, h ? h : &none, arg, out);
}

int et_trace_open_mem(const void *data, size_t len, et_trace **out) {
  *out = NULL;
  et_trace *t = trace_new();
  if (!t) return -ENOMEM;
  t->data = malloc(len ? len : 1);
  if (!t->data) {
    et_trace_close(t);
    return -ENOMEM;
  }
  if (len) memcpy(t->data, data, len);
  t->len = len;
  int err = load(t);
  if (err) {
    et_trace_close(t);
    return err;
  }
  *out = t;
  return 0;
}

int et_trace_stream(const char *path, const et_stream_handlers *h, void *arg) {
  et_trace *t = trace_new();
  if (!t) return -ENOMEM;
  t->stream = h;
  t->stream_arg = arg;
  int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = -errno;
    et_trace_close(t);
    return err;
  }
  size_t cap = 1 << 20, have = 0, off = 0;
  uint8_t *b = malloc(cap);
  int err = b ? 0 : -ENOMEM;
  bool header = false, eof = false;
  while (!err && !eof && !t->stream_stop) {
    if (have == cap) { /* a chunk larger than the buffer: grow */
      if (off > 0) {
        memmove(b, b + off, have - off);
        have -= off;
        off = 0;
      } else {
        uint8_t *nb = cap < ET_CHUNK_MAX_PAYLOAD * 2u ? realloc(b, cap * 2) : NULL;
        if (!nb) {
          err = -ENOMEM;
          break;
        }
        b = nb;
        cap *= 2;
      }
    }
    ssize_t r = read(fd, b + have, cap - have);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      err = -errno;
      break;
    }
    if (r == 0) eof = true;
    have += (size_t)r;
    t->info.bytes += (size_t)r;
    if (!header) {
      int hr = et__check_header(t, b, have, eof);
      if (hr < 0) {
        err = hr;
        break;
      }
      if (hr == 1) continue;
      header = true;
      off = have < ET_FILE_HEADER_LEN ? have : ET_FILE_HEADER_LEN;
    }
    off = et__scan(t, b, have, off, eof);
    if (off > cap / 2) {
      memmove(b, b + off, have - off);
      have -= off;
      off = 0;
    }
  }
  free(b);
  if (fd != 0) close(fd);
  et_trace_close(t);
  return err;
}

/* ---- accessors ---- */

const et_trace_info *et_trace_get_info(const et_trace *t) { return &t->info; }

size_t et_trace_warning_count(const et_trace *t) { return t->nwarnings; }

const char *et_trace_warning(const et_trace *t, size_t i) {
  return i < t->nwarnings ? t->warnings[i] : NULL;
}

/* The kinds that only encode others (region_end_last comes out as
 * region_end, region_last not at all) are not in the reader's list. */
static bool listed(const et_trace *t, unsigned kind) {
  return kind < ET_EV_LIMIT && t->kinds[kind].name && t->region_role[kind] != ET_RR_END_LAST &&
         t->region_role[kind] != ET_RR_SET;
}

const char *et_trace_kind_name(const et_trace *t, unsigned kind) {
  return listed(t, kind) ? t->kinds[kind].name : NULL;
}

unsigned et_trace_field_count(const et_trace *t, unsigned kind) {
  return listed(t, kind) ? t->kinds[kind].nfields : 0;
}

const char *et_trace_field_name(const et_trace *t, unsigned kind, unsigned f) {
  return f < et_trace_field_count(t, kind) ? t->kinds[kind].fname[f] : NULL;
}

int et_trace_field_type(const et_trace *t, unsigned kind, unsigned f) {
  return f < et_trace_field_count(t, kind) ? t->kinds[kind].ftype[f] : 0;
}

uint64_t et_trace_kind_count(const et_trace *t, unsigned kind) {
  return kind < ET_EV_LIMIT ? t->kind_count[kind] : 0;
}

int et_trace_kind_by_name(const et_trace *t, const char *name) {
  for (unsigned k = 0; k < ET_EV_LIMIT; k++)
    if (listed(t, k) && strcmp(t->kinds[k].name, name) == 0) return (int)k;
  return -1;
}

const char *et_trace_string(const et_trace *t, uint64_t id) {
  if (id < t->nstrs) return t->strs[id];
  uint64_t v;
  return et__map_get(&t->sparse_strs, id, &v) ? (const char *)(uintptr_t)v : NULL;
}

size_t et_trace_stack(const et_trace *t, uint64_t id, const uint64_t **frames) {
  uint64_t packed = 0;
  if (id > 0 && id < t->nstacks) packed = t->stack_off[id];
  else if (id >= t->nstacks) et__map_get(&t->sparse_stacks, id, &packed);
  if (packed == 0) {
    *frames = NULL;
    return 0;
  }
  *frames = t->frames + (packed >> 8);
  return (size_t)(packed & 0xff);
}

size_t et_trace_stack_count(const et_trace *t) { return t->stacks_defined; }

uint64_t et_trace_stack_next(const et_trace *t, uint64_t after) {
  for (uint64_t id = after + 1; id < t->nstacks; id++)
    if (t->stack_off[id]) return id;
  /* Far-out ids of a damaged trace live in a map: the smallest one above after. */
  uint64_t best = 0;
  for (size_t i = 0; i < t->sparse_stacks.cap; i++) {
    uint64_t id = t->sparse_stacks.keys[i];
    if (id == 0) continue;
    id -= 1; /* the map stores key + 1 */
    if (id > after && (best == 0 || id < best)) best = id;
  }
  return best;
}

size_t et_trace_mapping_count(const et_trace *t) { return t->nmaps; }

const et_mapping *et_trace_mapping(const et_trace *t, size_t i) {
  return i < t->nmaps ? &t->maps[i] : NULL;
}

size_t et_trace_thread_count(const et_trace *t) { return t->nthreads; }

const et_thread_info *et_trace_thread(const et_trace *t, size_t i) {
  return i < t->nthreads ? &t->threads[i].info : NULL;
}

size_t et_trace_process_count(const et_trace *t) { return t->nprocs; }

const et_process_info *et_trace_process(const et_trace *t, size_t i) {
  return i < t->nprocs ? &t->procs[i].info : NULL;
}

size_t et_trace_spans(const et_trace *t, size_t i, const et_span **spans) {
  if (i >= t->nthreads) {
    *spans = NULL;
    return 0;
  }
  *spans = t->threads[i].spans;
  return t->threads[i].nspans;
}

const char *et_state_name(unsigned state) {
  static const char *const names[ET_STATE_COUNT] = {
      [0] = "none", [ET_STATE_RUNNING] = "running", [ET_STATE_RUNNABLE] = "runnable",
      [ET_STATE_BLOCKED] = "blocked", [ET_STATE_SYSCALL] = "syscall", [ET_STATE_GC] = "gc"};
  return state < ET_STATE_COUNT ? names[state] : "unknown";
}

const char *et_reason_name(unsigned reason) { return et__block_reason_name(reason); }
const char *et_fdclass_name(unsigned c) { return et__fd_class_name(c); }
const char *et_drop_reason_name(unsigned r) { return et__drop_reason_name(r); }

size_t et_trace_task_count(const et_trace *t) { return t->ntasks; }

const et_task *et_trace_task(const et_trace *t, size_t i) {
  return i < t->ntasks ? &t->tasks[i] : NULL;
}

_Static_assert(sizeof(et__merged) <= sizeof(et_cursor), "et_cursor is too small");

void et_cursor_init(et_cursor *c, const et_trace *t, size_t thread) {
  et__merged *m = (et__merged *)(void *)c;
  if (thread >= t->nthreads) {
    memset(m, 0, sizeof *m);
    return;
  }
  et__merged_init(m, t, thread, false);
}

bool et_cursor_next(et_cursor *c, et_event *ev) { return et__merged_next((et__merged *)(void *)c, ev); }

int et_trace_for_each(const et_trace *t, int (*fn)(void *arg, const et_event *ev), void *arg) {
  /* A k-way merge of the threads' cursors through a binary heap. */
  size_t n = t->nthreads, hn = 0;
  et__merged *ms = calloc(n ? n : 1, sizeof *ms);
  et_event *evs = calloc(n ? n : 1, sizeof *evs);
  size_t *heap = calloc(n ? n : 1, sizeof *heap);
  int r = 0;
  if (!ms || !evs || !heap) {
    r = -ENOMEM;
    goto out;
  }
#define LESS(a, b) (evs[a].time < evs[b].time || (evs[a].time == evs[b].time && (a) < (b)))
  for (size_t i = 0; i < n; i++) {
    et__merged_init(&ms[i], t, i, false);
    if (!et__merged_next(&ms[i], &evs[i])) continue;
    size_t k = hn++;
    heap[k] = i;
    while (k > 0 && LESS(heap[k], heap[(k - 1) / 2])) {
      size_t p = (k - 1) / 2, tmp = heap[k];
      heap[k] = heap[p];
      heap[p] = tmp;
      k = p;
    }
  }
  while (hn > 0) {
    size_t i = heap[0];
    if ((r = fn(arg, &evs[i])) != 0) break;
    if (!et__merged_next(&ms[i], &evs[i])) heap[0] = heap[--hn];
    size_t k = 0;
    for (;;) {
      size_t l = 2 * k + 1, rr = l + 1, s = k;
      if (l < hn && LESS(heap[l], heap[s])) s = l;
      if (rr < hn && LESS(heap[rr], heap[s])) s = rr;
      if (s == k) break;
      size_t tmp = heap[k];
      heap[k] = heap[s];
      heap[s] = tmp;
      k = s;
    }
  }
#undef LESS
out:
  free(ms);
  free(evs);
  free(heap);
  return r;
}

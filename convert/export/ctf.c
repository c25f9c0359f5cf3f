/* The CTF export: a trace directory with the metadata that ctf_meta.c
 * generates from the trace's own catalogue and one binary stream file per
 * thread and stream ("stream-TID", and "stream-TID-signal" for events
 * written from signal handlers).
 *
 * Each thread is read once with a cursor, in time order; its events go to
 * packets of at most PACKET_BYTES (or one event, if larger) that are built
 * in memory and written only when complete, and the whole directory is
 * built under a hidden temporary name next to the target and renamed into
 * place at the end, so a reader never finds a half-written packet or trace
 * (babeltrace2 rejects a whole trace for one bad packet).  Memory stays at
 * two packets.
 *
 * Timestamps are the dump's: nanoseconds since the trace's start, 64-bit in
 * every event header (a compact 32-bit one would wrap on gaps of 4.29 s).
 * Two exceptions, both from damaged clocks: a stream's time never goes back
 * (babeltrace2 refuses that), and no time goes past 2^63 - 1 ns from the
 * clock's origin (babeltrace2 rejects the whole trace for one such event);
 * those are clamped and counted.
 * events_discarded counts, per stream, the events that the stream's drop
 * records say were lost, and the thread's remaining losses known only from
 * the END record land in its last packet.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctf_meta.h"
#include "export.h"
#include "util.h"

#define PACKET_BYTES (128 * 1024)
#define PACKET_PRELUDE (ET__CTF_PACKET_HEADER_BYTES + ET__CTF_PACKET_CONTEXT_BYTES)

typedef struct stream_w {
  FILE *f;
  char *path;
  et__buf pkt;       /* the packet being filled, prelude included */
  uint64_t first, last; /* times of its first and last events */
  uint64_t events;   /* in the packet */
  uint64_t seq;      /* packet sequence number */
  uint64_t discarded; /* running count of lost events */
  uint64_t clock;    /* the stream's latest timestamp (timestamps never go back) */
  uint64_t instance;
  uint64_t tid;
  uint8_t signal;
} stream_w;

typedef struct ctf_ctx {
  const et_trace *t;
  const char *dir;
  et_kind_desc kinds[ET_EV_LIMIT]; /* CTF class i */
  int class_of[ET_EV_LIMIT];       /* wire kind -> class, -1 if not in the catalogue */
  size_t nkinds;
  uint8_t uuid[16];
  int drop_kind;   /* wire number of "drop", or -1 */
  int drop_count;  /* its "count" field, or -1 */
  uint64_t max_ts; /* readers compute offset + timestamp as int64 ns */
  uint64_t clamped;
  et__progress progress;
  et__buf ev;      /* one encoded event */
} ctf_ctx;

static uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* A UUID derived from the trace, so exporting the same trace twice gives
 * the same files. */
static void make_uuid(const et_trace *t, uint8_t u[16]) {
  const et_trace_info *in = et_trace_get_info(t);
  uint64_t a = mix(in->pid ^ mix(in->start_ns ^ mix(in->wall_start_ns)));
  uint64_t b = mix(a ^ in->bytes ^ mix(in->events ^ mix(in->duration_ns)));
  for (int i = 0; i < 8; i++) {
    u[i] = (uint8_t)(a >> (8 * i));
    u[8 + i] = (uint8_t)(b >> (8 * i));
  }
  u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 layout */
  u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
}

/* Clock value 0: the start's wall-clock time, or its monotonic time if
 * the wall clock is unknown. */
static uint64_t clock_offset(const et_trace *t) {
  const et_trace_info *in = et_trace_get_info(t);
  uint64_t off = in->wall_start_ns ? in->wall_start_ns : in->start_ns;
  return off > INT64_MAX ? INT64_MAX : off;
}

static int field_index(const et_trace *t, int kind, const char *name) {
  if (kind < 0) return -1;
  unsigned n = et_trace_field_count(t, (unsigned)kind);
  for (unsigned i = 0; i < n; i++)
    if (strcmp(et_trace_field_name(t, (unsigned)kind, i), name) == 0) return (int)i;
  return -1;
}

static void build_classes(ctf_ctx *c) {
  const et_trace *t = c->t;
  c->nkinds = 0;
  for (unsigned k = 0; k < ET_EV_LIMIT; k++) {
    c->class_of[k] = -1;
    const char *name = et_trace_kind_name(t, k);
    if (!name) continue;
    et_kind_desc *d = &c->kinds[c->nkinds];
    memset(d, 0, sizeof *d);
    d->num = (uint8_t)k;
    d->name = name;
    unsigned n = et_trace_field_count(t, k);
    d->nfields = (uint8_t)(n > ET_MAX_FIELDS ? ET_MAX_FIELDS : n);
    for (unsigned i = 0; i < d->nfields; i++) {
      d->ftype[i] = (uint8_t)et_trace_field_type(t, k, i);
      d->fname[i] = et_trace_field_name(t, k, i);
    }
    c->class_of[k] = (int)c->nkinds++;
  }
  c->drop_kind = et_trace_kind_by_name(t, "drop");
  c->drop_count = field_index(t, c->drop_kind, "count");
}

/* ---- events and packets ---- */

static bool encode(ctf_ctx *c, const et_event *ev, uint64_t ts) {
  const et_kind_desc *k = &c->kinds[c->class_of[ev->kind]];
  et__buf *b = &c->ev;
  b->len = 0;
  bool ok = et__buf_le(b, (uint64_t)c->class_of[ev->kind], 2) && et__buf_le(b, ts, 8);
  for (unsigned i = 0; ok && i < k->nfields; i++) {
    uint64_t v = i < ev->nfields ? ev->field[i] : 0;
    et__ctf_field fc = et__ctf_field_of(k, i);
    switch (fc.repr) {
      case ET__CTF_STRING: {
        char unknown[32];
        const char *s = v ? et_trace_string(c->t, v) : "";
        if (!s) {
          snprintf(unknown, sizeof unknown, "?%" PRIu64, v); /* as dump shows it */
          s = unknown;
        }
        ok = et__buf_put(b, s, strlen(s) + 1);
        break;
      }
      case ET__CTF_ADDRS: {
        const uint64_t *frames = NULL;
        size_t n = v ? et_trace_stack(c->t, v, &frames) : 0;
        if (n > ET__CTF_MAX_FRAMES) n = ET__CTF_MAX_FRAMES;
        ok = et__buf_le(b, n, 1);
        for (size_t j = 0; ok && j < n; j++) ok = et__buf_le(b, frames[j], 8);
        break;
      }
      case ET__CTF_TEXT: {
        size_t n = ev->bytes ? (size_t)v : 0;
        if (n > UINT32_MAX) n = UINT32_MAX;
        ok = et__buf_le(b, n, 4) && et__buf_put(b, ev->bytes, n);
        break;
      }
      default: ok = et__buf_le(b, v, 8); break;
    }
  }
  return ok;
}

static int stream_open(ctf_ctx *c, stream_w *s) {
  char name[64];
  snprintf(name, sizeof name, "stream-%" PRIu64 "%s", s->tid, s->signal ? "-signal" : "");
  size_t len = strlen(c->dir) + strlen(name) + 2;
  s->path = malloc(len);
  if (!s->path) return -ENOMEM;
  snprintf(s->path, len, "%s/%s", c->dir, name);
  s->f = fopen(s->path, "wbx");
  return s->f ? 0 : -errno;
}

/* Fills the packet header and context at dst for a packet of size bytes. */
static void prelude(const ctf_ctx *c, const stream_w *s, uint8_t *dst, size_t size, uint64_t first,
                    uint64_t last, uint64_t discarded) {
  et__buf h = {dst, 0, PACKET_PRELUDE}; /* fits: never reallocates */
  uint64_t bits = (uint64_t)size * 8;
  et__buf_le(&h, ET__CTF_MAGIC, 4);
  et__buf_put(&h, c->uuid, 16);
  et__buf_le(&h, 0, 4); /* stream class */
  et__buf_le(&h, s->instance, 8);
  et__buf_le(&h, first, 8);
  et__buf_le(&h, last, 8);
  et__buf_le(&h, bits, 8); /* content_size */
  et__buf_le(&h, bits, 8); /* packet_size */
  et__buf_le(&h, s->seq, 8);
  et__buf_le(&h, discarded, 8);
  et__buf_le(&h, s->tid, 8);
  et__buf_le(&h, s->signal, 1);
}

static int put_packet(stream_w *s, const uint8_t *p, size_t n) {
  if (fwrite(p, 1, n, s->f) != n) return errno ? -errno : -EIO;
  s->seq++;
  return 0;
}

/* Writes the packet being filled, if it holds any event.  A reader learns
 * of discarded events from the counter's growth between packets, so when
 * the first packet already counts some, an empty packet with count 0 goes
 * before it: babeltrace2 then reports the exact number. */
static int stream_flush(ctf_ctx *c, stream_w *s) {
  if (s->events == 0) return 0;
  if (!s->f) {
    int r = stream_open(c, s);
    if (r) return r;
  }
  int r = 0;
  if (s->seq == 0 && s->discarded > 0) {
    uint8_t empty[PACKET_PRELUDE];
    prelude(c, s, empty, sizeof empty, s->first, s->first, 0);
    r = put_packet(s, empty, sizeof empty);
  }
  if (r == 0) {
    prelude(c, s, s->pkt.p, s->pkt.len, s->first, s->last, s->discarded);
    r = put_packet(s, s->pkt.p, s->pkt.len);
  }
  s->events = 0;
  s->pkt.len = PACKET_PRELUDE;
  return r;
}

static int stream_event(ctf_ctx *c, stream_w *s, const et_event *ev) {
  if (!s->pkt.p) {
    if (!et__buf_reserve(&s->pkt, PACKET_BYTES)) return -ENOMEM;
    s->pkt.len = PACKET_PRELUDE;
  }
  uint64_t ts = ev->time < s->clock ? s->clock : ev->time;
  if (ts > c->max_ts) ts = c->max_ts;
  c->clamped += ts != ev->time;
  if (!encode(c, ev, ts)) return -ENOMEM;
  if (s->events && s->pkt.len + c->ev.len > PACKET_BYTES) {
    int r = stream_flush(c, s);
    if (r) return r;
  }
  if (!et__buf_put(&s->pkt, c->ev.p, c->ev.len)) return -ENOMEM;
  if (s->events++ == 0) s->first = ts;
  s->last = s->clock = ts;
  if (c->drop_count >= 0 && ev->kind == c->drop_kind && (unsigned)c->drop_count < ev->nfields)
    s->discarded += ev->field[c->drop_count];
  return 0;
}

static int stream_close(stream_w *s) {
  int r = 0;
  if (s->f && fclose(s->f) != 0) r = errno ? -errno : -EIO;
  s->f = NULL;
  free(s->path);
  s->path = NULL;
  et__buf_free(&s->pkt);
  return r;
}

static int export_thread(ctf_ctx *c, size_t ti) {
  const et_thread_info *th = et_trace_thread(c->t, ti);
  stream_w s[2];
  memset(s, 0, sizeof s);
  for (int i = 0; i < 2; i++) {
    s[i].tid = th->tid;
    s[i].signal = (uint8_t)i;
    s[i].instance = (uint64_t)ti * 2 + (uint64_t)i;
  }
  et_cursor cur;
  et_event ev;
  int r = 0;
  et_cursor_init(&cur, c->t, ti);
  while (r == 0 && et_cursor_next(&cur, &ev)) {
    et__progress_step(&c->progress);
    if (c->class_of[ev.kind] < 0) continue; /* not in the catalogue: cannot be decoded anyway */
    r = stream_event(c, &s[ev.stream ? 1 : 0], &ev);
  }
  if (r == 0) {
    /* Losses known only from the END record go into the last packet. */
    uint64_t counted = s[0].discarded + s[1].discarded;
    stream_w *last = s[0].events || !s[1].events ? &s[0] : &s[1];
    if (th->dropped > counted) last->discarded += th->dropped - counted;
    r = stream_flush(c, &s[0]);
    if (r == 0) r = stream_flush(c, &s[1]);
  }
  for (int i = 0; i < 2; i++) {
    int rc = stream_close(&s[i]);
    if (r == 0) r = rc;
  }
  return r;
}

static const char *base_name(const char *path) {
  const char *s = strrchr(path, '/');
  return s ? s + 1 : path;
}

static int write_metadata(ctf_ctx *c) {
  const et_trace_info *in = et_trace_get_info(c->t);
  char desc[256];
  et__ctf_desc d = {
      .kinds = c->kinds, .nkinds = c->nkinds, .prefix = "exectrace:",
      .pid = in->pid, .procname = base_name(in->exe), .exe = in->exe, .cmdline = in->cmdline,
      .start_monotonic_ns = in->start_ns, .dropped = in->dropped, .clock_description = desc};
  memcpy(d.uuid, c->uuid, 16);
  d.clock_offset_ns = clock_offset(c->t);
  if (in->wall_start_ns) {
    d.clock_epoch = true;
    snprintf(desc, sizeof desc,
             "CLOCK_MONOTONIC in ns since the trace's start (monotonic %" PRIu64
             " ns); the offset is the start's wall-clock time",
             in->start_ns);
  } else {
    snprintf(desc, sizeof desc, "CLOCK_MONOTONIC in ns (the trace's wall-clock start is unknown)");
  }
  size_t len = strlen(c->dir) + sizeof "/metadata";
  char *path = malloc(len);
  if (!path) return -ENOMEM;
  snprintf(path, len, "%s/metadata", c->dir);
  FILE *f = fopen(path, "wx");
  free(path);
  if (!f) return -errno;
  int r = et__ctf_meta_write(f, &d);
  if (fclose(f) != 0 && r == 0) r = errno ? -errno : -EIO;
  return r;
}

/* Removes the temporary directory and what we put in it. */
static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char path[4096];
      if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < sizeof path) unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* 0 if dir may receive the export: absent, or an empty directory. */
static int check_target(const char *dir) {
  struct stat st;
  if (stat(dir, &st) != 0) return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  DIR *d = opendir(dir);
  if (!d) return -errno;
  struct dirent *e;
  int r = 0;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
      r = -ENOTEMPTY;
      break;
    }
  closedir(d);
  return r;
}

int et__export_ctf_check(const char *dir) {
  int r = check_target(dir);
  if (r) return r;
  char *parent = strdup(dir);
  if (!parent) return -ENOMEM;
  size_t n = strlen(parent);
  while (n > 1 && parent[n - 1] == '/') parent[--n] = 0;
  char *slash = strrchr(parent, '/');
  const char *p = ".";
  if (slash == parent) p = "/";
  else if (slash) {
    *slash = 0;
    p = parent;
  }
  r = access(p, W_OK | X_OK) == 0 ? 0 : -errno;
  free(parent);
  return r;
}

int et__export_ctf(const et_trace *t, const char *dir, uint64_t *clamped) {
  int r = check_target(dir);
  if (r) return r;
  /* A hidden sibling: same file system, so the final rename is atomic. */
  size_t dl = strlen(dir);
  while (dl > 1 && dir[dl - 1] == '/') dl--;
  const char *slash = NULL;
  for (size_t i = 0; i < dl; i++)
    if (dir[i] == '/') slash = dir + i;
  size_t plen = slash ? (size_t)(slash - dir) + 1 : 0;
  size_t tlen = dl + 32;
  char *tmp = malloc(tlen);
  if (!tmp) return -ENOMEM;
  snprintf(tmp, tlen, "%.*s.%.*s.tmp-XXXXXX", (int)plen, dir, (int)(dl - plen), dir + plen);
  if (!mkdtemp(tmp)) {
    r = -errno;
    free(tmp);
    return r;
  }
  ctf_ctx *c = calloc(1, sizeof *c);
  if (!c) {
    remove_tree(tmp);
    free(tmp);
    return -ENOMEM;
  }
  c->t = t;
  c->dir = tmp;
  c->max_ts = (uint64_t)INT64_MAX - clock_offset(t);
  build_classes(c);
  make_uuid(t, c->uuid);
  et__progress_start(&c->progress, et_trace_get_info(t)->events);
  for (size_t i = 0; r == 0 && i < et_trace_thread_count(t); i++) r = export_thread(c, i);
  et__progress_end(&c->progress);
  if (r == 0) r = write_metadata(c);
  if (r == 0) {
    mode_t mask = umask(0);
    umask(mask);
    if (chmod(tmp, 0777 & ~mask) != 0) r = -errno;
  }
  if (r == 0) {
    char *final = strndup(dir, dl);
    if (!final) r = -ENOMEM;
    else if (rename(tmp, final) != 0) r = errno == EEXIST ? -ENOTEMPTY : -errno;
    free(final);
  }
  if (r != 0) remove_tree(tmp);
  if (clamped) *clamped = r == 0 ? c->clamped : 0;
  et__buf_free(&c->ev);
  free(c);
  free(tmp);
  return r;
}

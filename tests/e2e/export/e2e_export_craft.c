/* Writes a trace by hand, byte by byte as docs/format.md specifies, with
 * what a short recording through the API rarely or never produces and the
 * CTF export must still get right:
 *   - drop records in two streams, and losses known only from the END record;
 *   - a gap of 10 s between two events (a 32-bit timestamp would wrap);
 *   - a thread's signal stream (events written from a signal handler);
 *   - one stream long enough for several CTF packets;
 *   - a tid above 2^32;
 *   - a kind our catalogue does not know, with a ':' in its name and field
 *     names that are a TSDL keyword, contain a space, and collide with
 *     another field's generated length field;
 *   - strings and a log message with quotes, control bytes and invalid UTF-8.
 *
 * usage: e2e_export_craft TRACE
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../../../events/catalog.h"
#include "../../../events/wire.h"

#define START 5000000000ull /* ticks = ns (CLOCK_MONOTONIC source) */
#define FUTURE_KIND 200

typedef struct bytes {
  uint8_t *p;
  size_t len, cap;
} bytes;

static void grow(bytes *b, size_t more) {
  if (b->len + more <= b->cap) return;
  while (b->len + more > b->cap) b->cap = b->cap ? b->cap * 2 : 4096;
  b->p = realloc(b->p, b->cap);
  if (!b->p) abort();
}

static void raw(bytes *b, const void *p, size_t n) {
  grow(b, n);
  memcpy(b->p + b->len, p, n);
  b->len += n;
}

static void uv(bytes *b, uint64_t v) {
  grow(b, ET_VARINT_MAX);
  b->len = (size_t)(et__put_uvarint(b->p + b->len, v) - b->p);
}

static void sv(bytes *b, int64_t v) { uv(b, et__zigzag(v)); }

static void str(bytes *b, const char *s, size_t n) {
  uv(b, n);
  raw(b, s, n);
}

static void chunk(bytes *file, unsigned type, const bytes *payload) {
  uint8_t h[ET_CHUNK_HEADER_LEN];
  et__chunk_header(h, type, (uint32_t)payload->len, (uint32_t)crc32(0L, payload->p, (uInt)payload->len));
  raw(file, h, sizeof h);
  raw(file, payload->p, payload->len);
}

/* One thread stream's events, cut into EVENTS chunks as they fill. */
typedef struct stream {
  uint64_t tid;
  uint8_t id;
  uint64_t seq, ticks, obj;      /* running values */
  uint64_t base_ticks, base_obj; /* at the start of the open chunk */
  bytes ev;
} stream;

static void flush(bytes *file, stream *s) {
  if (s->ev.len == 0) return;
  bytes c = {0};
  uv(&c, s->tid);
  raw(&c, &s->id, 1);
  uv(&c, s->seq++);
  uv(&c, s->base_ticks);
  uv(&c, s->base_obj);
  raw(&c, s->ev.p, s->ev.len);
  chunk(file, ET_CHUNK_EVENTS, &c);
  free(c.p);
  s->ev.len = 0;
  s->base_ticks = s->ticks;
  s->base_obj = s->obj;
}

/* Appends an event of a built-in kind at absolute tick t; values in
 * catalogue order (a B field takes a pointer in vals and its length next). */
static void event(bytes *file, stream *s, unsigned kind, uint64_t t, const uint64_t *vals) {
  const et_kind_desc *k = &et__kinds[kind];
  uint8_t kb = (uint8_t)kind;
  raw(&s->ev, &kb, 1);
  uv(&s->ev, t - s->ticks);
  s->ticks = t;
  for (unsigned i = 0, v = 0; i < k->nfields; i++) {
    switch (k->ftype[i]) {
      case ET_FT_I: sv(&s->ev, (int64_t)vals[v++]); break;
      case ET_FT_P:
        sv(&s->ev, (int64_t)(vals[v] - s->obj));
        s->obj = vals[v++];
        break;
      case ET_FT_B: {
        const char *p = (const char *)(uintptr_t)vals[v++];
        str(&s->ev, p, (size_t)vals[v++]);
        break;
      }
      default: uv(&s->ev, vals[v++]); break;
    }
  }
  if (s->ev.len > 3000) flush(file, s);
}

/* The unknown kind: integer:U, "has space":S, stack:K, stack_length:B. */
static void future_event(bytes *file, stream *s, uint64_t t) {
  uint8_t kb = FUTURE_KIND;
  raw(&s->ev, &kb, 1);
  uv(&s->ev, t - s->ticks);
  s->ticks = t;
  uv(&s->ev, 77);
  uv(&s->ev, 5);
  uv(&s->ev, 1);
  str(&s->ev, "xyz", 3);
  (void)file;
}

static void catalog(bytes *file) {
  bytes c = {0};
  grow(&c, 16384);
  c.len = et__catalog_encode(c.p, c.cap);
  if (c.len == 0 || c.p[0] >= 127) abort();
  c.p[0]++; /* one more kind (the count is a one-byte uvarint here) */
  uint8_t hdr[2] = {FUTURE_KIND, 0};
  raw(&c, hdr, 2);
  str(&c, "future:thing", 12);
  uint8_t nf = 4;
  raw(&c, &nf, 1);
  static const struct {
    char type;
    const char *name;
  } f[4] = {{'U', "integer"}, {'S', "has space"}, {'K', "stack"}, {'B', "stack_length"}};
  for (int i = 0; i < 4; i++) {
    raw(&c, &f[i].type, 1);
    str(&c, f[i].name, strlen(f[i].name));
  }
  chunk(file, ET_CHUNK_CATALOG, &c);
  free(c.p);
}

static void clock_point(bytes *file, uint64_t ticks) {
  bytes c = {0};
  uv(&c, ticks);
  uv(&c, ticks);
  uv(&c, 1000000000u);
  chunk(file, ET_CHUNK_CLOCK, &c);
  free(c.p);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: e2e_export_craft TRACE\n");
    return 2;
  }
  bytes file = {0};
  uint8_t fh[ET_FILE_HEADER_LEN];
  et__file_header(fh);
  raw(&file, fh, sizeof fh);
  catalog(&file);

  bytes c = {0};
  uv(&c, 4242);
  uv(&c, 1);
  str(&c, "/opt/crafted \"odd\" path\xff", 24);
  str(&c, "crafted\0--flag\0", 15);
  uv(&c, 1700000000123456789ull);
  uint8_t src = ET_CLOCK_MONOTONIC;
  raw(&c, &src, 1);
  uv(&c, 1000000000u);
  chunk(&file, ET_CHUNK_PROCESS, &c);
  free(c.p);
  clock_point(&file, START);

  static const char *const strs[] = {NULL, "crafted main", "cat\x01\"q\\", "n", "lossy", "big tid"};
  c = (bytes){0};
  for (unsigned i = 1; i < sizeof strs / sizeof strs[0]; i++) {
    uv(&c, i);
    str(&c, strs[i], strlen(strs[i]));
  }
  chunk(&file, ET_CHUNK_STRINGS, &c);
  free(c.p);
  c = (bytes){0};
  uv(&c, 1);
  uv(&c, 3);
  uv(&c, 0x401000);
  sv(&c, 0x1000);
  sv(&c, 0x7f0000001000 - 0x402000);
  chunk(&file, ET_CHUNK_STACKS, &c);
  free(c.p);

  static const char msg[] = "quote \" backslash \\ bad \xff\xfe end";
  stream m = {.tid = 100, .id = 0}, sig = {.tid = 100, .id = 1};
  uint64_t t = START + 1000;
  event(&file, &m, ET_EV_THREAD_START, t, (uint64_t[]){0});
  event(&file, &m, ET_EV_THREAD_NAME, t += 500, (uint64_t[]){1});
  event(&file, &m, ET_EV_DROP, t += 500, (uint64_t[]){5, ET_DROP_BUFFER_FULL});
  event(&file, &m, ET_EV_LOG, t += 500, (uint64_t[]){9, 2, (uintptr_t)msg, sizeof msg - 1, 1});
  future_event(&file, &m, t += 500);
  event(&file, &sig, ET_EV_CPU_SAMPLE, t + 250, (uint64_t[]){1, 1000000});
  for (int i = 0; i < 30000; i++) {
    event(&file, &m, ET_EV_COUNTER, t += 1000, (uint64_t[]){3, (uint64_t)(int64_t)(i - 100)});
    if (i == 15000) event(&file, &sig, ET_EV_CPU_SAMPLE, t + 1, (uint64_t[]){1, 1000000});
  }
  t += 10000000000ull; /* 10 s of nothing */
  event(&file, &m, ET_EV_BLOCK_BEGIN, t, (uint64_t[]){ET_BLOCK_SLEEP, 0x1000, 1});
  event(&file, &m, ET_EV_BLOCK_END, t += 2000000, (uint64_t[]){ET_BLOCK_SLEEP});
  event(&file, &sig, ET_EV_CPU_SAMPLE, t + 10, (uint64_t[]){1, 1000000});
  event(&file, &m, ET_EV_DROP, t += 100, (uint64_t[]){3, ET_DROP_NESTED});
  event(&file, &m, ET_EV_SYSCALL_BEGIN, t += 100, (uint64_t[]){0, (uint64_t)-1, ET_FD_FILE, 1});
  event(&file, &m, ET_EV_SYSCALL_END, t += 100, (uint64_t[]){(uint64_t)-11});
  event(&file, &m, ET_EV_THREAD_EXIT, t += 100, NULL);

  stream lossy = {.tid = 200, .id = 0}, big = {.tid = 5000000001ull, .id = 0};
  uint64_t u = START + 2000;
  event(&file, &lossy, ET_EV_THREAD_START, u, (uint64_t[]){100});
  event(&file, &lossy, ET_EV_THREAD_NAME, u += 10, (uint64_t[]){4});
  event(&file, &lossy, ET_EV_WAKE, u += 10, (uint64_t[]){100, 0x1000, 0});
  event(&file, &big, ET_EV_THREAD_START, u += 10, (uint64_t[]){0});
  event(&file, &big, ET_EV_THREAD_NAME, u += 10, (uint64_t[]){5});
  flush(&file, &m);
  flush(&file, &sig);
  flush(&file, &lossy);
  flush(&file, &big);
  clock_point(&file, t + 1000);

  c = (bytes){0};
  uv(&c, 5);
  static const uint64_t totals[6] = {0, 12, 3, 0, 0, 0}; /* thread 200 lost 7 without a drop record */
  for (unsigned r = 1; r <= 5; r++) {
    uv(&c, r);
    uv(&c, totals[r]);
  }
  uv(&c, 1);
  uv(&c, 200);
  uv(&c, 7);
  chunk(&file, ET_CHUNK_END, &c);
  free(c.p);
  free(m.ev.p);
  free(sig.ev.p);
  free(lossy.ev.p);
  free(big.ev.p);

  FILE *f = fopen(argv[1], "wb");
  if (!f || fwrite(file.p, 1, file.len, f) != file.len || fclose(f) != 0) {
    perror(argv[1]);
    return 1;
  }
  free(file.p);
  return 0;
}

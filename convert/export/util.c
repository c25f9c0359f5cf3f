/* Helpers shared by the exporters (see util.h). */
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

size_t et__utf8_len(const unsigned char *s, size_t n) {
  if (n == 0) return 0;
  unsigned char c = s[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f;
  else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  return len;
}

void et__json_text(FILE *f, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  fputc('"', f);
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
      i++;
    } else if (c == '\n') {
      fputs("\\n", f);
      i++;
    } else if (c == '\t') {
      fputs("\\t", f);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      fprintf(f, "\\u%04x", c);
      i++;
    } else if (c < 0x80) {
      fputc(c, f);
      i++;
    } else {
      size_t l = et__utf8_len((const unsigned char *)s + i, n - i);
      if (l) {
        fwrite(s + i, 1, l, f);
        i += l;
      } else {
        fputs("\\\\x", f);
        fputc(hex[c >> 4], f);
        fputc(hex[c & 15], f);
        i++;
      }
    }
  }
  fputc('"', f);
}

bool et__buf_reserve(et__buf *b, size_t more) {
  if (b->cap - b->len >= more) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->len < more) {
    if (cap > SIZE_MAX / 2) return false;
    cap *= 2;
  }
  uint8_t *p = realloc(b->p, cap);
  if (!p) return false;
  b->p = p;
  b->cap = cap;
  return true;
}

bool et__buf_put(et__buf *b, const void *data, size_t n) {
  if (!et__buf_reserve(b, n)) return false;
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
  return true;
}

bool et__buf_le(et__buf *b, uint64_t v, unsigned n) {
  if (!et__buf_reserve(b, n)) return false;
  for (unsigned i = 0; i < n; i++) b->p[b->len + i] = (uint8_t)(v >> (8 * i));
  b->len += n;
  return true;
}

void et__buf_free(et__buf *b) {
  free(b->p);
  memset(b, 0, sizeof *b);
}

static size_t slot_of(uint64_t key, size_t cap) {
  return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

static bool map_grow(et__map *m) {
  size_t cap = m->cap ? m->cap * 2 : 256;
  uint64_t *k = malloc(cap * sizeof *k), *v = malloc(cap * sizeof *v);
  uint8_t *u = calloc(cap, 1);
  if (!k || !v || !u) {
    free(k);
    free(v);
    free(u);
    return false;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->used[i]) continue;
    size_t j = slot_of(m->keys[i], cap);
    while (u[j]) j = (j + 1) & (cap - 1);
    u[j] = 1;
    k[j] = m->keys[i];
    v[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  free(m->used);
  m->keys = k;
  m->vals = v;
  m->used = u;
  m->cap = cap;
  return true;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t map_slot(const et__map *m, uint64_t key) {
  size_t j = slot_of(key, m->cap);
  while (m->used[j] && m->keys[j] != key) j = (j + 1) & (m->cap - 1);
  return j;
}

bool et__map_add(et__map *m, uint64_t key, uint64_t add) {
  if ((m->n + 1) * 2 > m->cap && !map_grow(m)) return false;
  size_t j = map_slot(m, key);
  if (!m->used[j]) {
    m->used[j] = 1;
    m->keys[j] = key;
    m->vals[j] = 0;
    m->n++;
  }
  m->vals[j] += add;
  return true;
}

bool et__map_set(et__map *m, uint64_t key, uint64_t val) {
  if (!et__map_add(m, key, 0)) return false;
  m->vals[map_slot(m, key)] = val;
  return true;
}

bool et__map_find(const et__map *m, uint64_t key, uint64_t *val) {
  if (!m->cap) return false;
  size_t j = map_slot(m, key);
  if (!m->used[j]) return false;
  *val = m->vals[j];
  return true;
}

void et__map_release(et__map *m) {
  free(m->keys);
  free(m->vals);
  free(m->used);
  memset(m, 0, sizeof *m);
}

void et__progress_start(et__progress *p, uint64_t total) {
  p->total = total;
  p->done = 0;
  p->on = total >= (1u << 20) && isatty(2);
  p->next = p->on ? total / 100 : UINT64_MAX;
}

void et__progress_show(et__progress *p) {
  unsigned pct = p->total ? (unsigned)(p->done * 100 / p->total) : 100;
  fprintf(stderr, "\rexectrace export: %u%%", pct > 100 ? 100 : pct);
  p->next = p->done + (p->total / 100 ? p->total / 100 : 1);
}

void et__progress_end(et__progress *p) {
  if (p->on && p->done >= p->total / 100) fputs("\r                        \r", stderr);
  p->on = false;
}

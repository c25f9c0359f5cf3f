/* Small helpers the exporters share: UTF-8 checks for text that must be
 * valid in JSON and TSDL, a growable byte buffer, and a map from 64-bit
 * keys to 64-bit values (stack ids to totals, tids to thread indexes), and
 * a progress line for long conversions.
 * Nothing here depends on the reader, so ctf_meta.c stays usable by the
 * tracer side. */
#ifndef EXECTRACE_CONVERT_EXPORT_UTIL_H
#define EXECTRACE_CONVERT_EXPORT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length of the valid UTF-8 sequence at s (1..4, never past n), or 0 if
 * the bytes there are not valid UTF-8 (overlong forms and surrogates too). */
size_t et__utf8_len(const unsigned char *s, size_t n);

/* Writes s[0..n) as a JSON string literal with quotes; control bytes become
 * \u escapes and bytes that are not valid UTF-8 the text \xHH, so the output
 * is always valid JSON whatever the trace holds. */
void et__json_text(FILE *f, const char *s, size_t n);

/* A growable byte buffer; functions return false when memory runs out, and
 * the buffer then stays as it was. */
typedef struct et__buf {
  uint8_t *p;
  size_t len, cap;
} et__buf;

bool et__buf_reserve(et__buf *b, size_t more);
bool et__buf_put(et__buf *b, const void *data, size_t n);
/* Appends v as an n-byte little-endian integer (n = 1, 2, 4 or 8). */
bool et__buf_le(et__buf *b, uint64_t v, unsigned n);
void et__buf_free(et__buf *b);

/* Progress on stderr for long conversions, only when stderr is a terminal
 * and the work is large: "exectrace export: 42%" rewritten in place. */
typedef struct et__progress {
  uint64_t total, done, next;
  bool on;
} et__progress;

void et__progress_start(et__progress *p, uint64_t total);
void et__progress_show(et__progress *p);
/* Counts one unit of work done. */
static inline void et__progress_step(et__progress *p) {
  if (++p->done >= p->next && p->on) et__progress_show(p);
}
/* Clears the line, if anything was shown. */
void et__progress_end(et__progress *p);

/* An open-addressing map of u64 keys to u64 values. */
typedef struct et__map {
  uint64_t *keys, *vals;
  uint8_t *used; /* 1 where a slot holds a key */
  size_t cap, n;
} et__map;

/* Adds add to key's value (a missing key counts as 0); false on OOM. */
bool et__map_add(et__map *m, uint64_t key, uint64_t add);
/* Sets key's value; false on OOM. */
bool et__map_set(et__map *m, uint64_t key, uint64_t val);
/* Finds key; false if absent. */
bool et__map_find(const et__map *m, uint64_t key, uint64_t *val);
void et__map_release(et__map *m);

#endif

/* Walking the chunk framing of an intact trace in memory, for the seed
 * generator (which edits chosen chunks) and the damage test (which needs to
 * know which chunks a corruption touched).  Only the framing of
 * docs/format.md is read here: the file header, then chunks of a 20-byte
 * header and a payload whose length the header gives.
 */
#ifndef EXECTRACE_TESTS_FUZZ_CHUNKS_H
#define EXECTRACE_TESTS_FUZZ_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

#include "../../events/wire.h"

typedef struct chunk_at {
  size_t off; /* of the chunk header */
  unsigned type;
  size_t len; /* of the payload */
} chunk_at;

/* Lists the whole chunks of trace p (len bytes) into out; returns how many
 * (at most max). */
static size_t list_chunks(const uint8_t *p, size_t len, chunk_at *out, size_t max) {
  size_t n = 0, off = ET_FILE_HEADER_LEN;
  while (n < max && off + ET_CHUNK_HEADER_LEN <= len) {
    size_t plen = et__get_u32le(p + off + 8);
    if (plen > len - off - ET_CHUNK_HEADER_LEN) break;
    out[n++] = (chunk_at){off, p[off + 4], plen};
    off += ET_CHUNK_HEADER_LEN + plen;
  }
  return n;
}

/* The nth (from 0) chunk of a type, or NULL. */
static const chunk_at *find_chunk(const chunk_at *c, size_t n, unsigned type, unsigned nth) {
  for (size_t i = 0; i < n; i++)
    if (c[i].type == type && nth-- == 0) return &c[i];
  return NULL;
}

#endif

/* Writing traces by hand in unit tests, byte by byte as docs/format.md
 * says: a buffer, and chunks with their header and checksum. */
#ifndef EXECTRACE_TESTS_HANDTRACE_H
#define EXECTRACE_TESTS_HANDTRACE_H

#include <stdint.h>
#include <string.h>
#include <zlib.h>

#include "../../events/wire.h"

typedef struct out {
  uint8_t buf[1 << 16];
  size_t len;
} out;

__attribute__((unused)) static void put(out *o, const void *p, size_t n) {
  memcpy(o->buf + o->len, p, n);
  o->len += n;
}

__attribute__((unused)) static void chunk(out *o, unsigned type, const uint8_t *payload, size_t n) {
  uint8_t h[ET_CHUNK_HEADER_LEN];
  et__chunk_header(h, type, (uint32_t)n, (uint32_t)crc32(0L, payload, (uInt)n));
  put(o, h, sizeof h);
  put(o, payload, n);
}

#endif

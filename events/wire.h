/* The trace file's framing and its integer encodings, shared by writer and reader.
 *
 * docs/format.md specifies these bytes; this header is the code side of that
 * page.  Everything here is inline and allocation-free so that the tracer's
 * hot path can use the encoders and the reader's inner loop the decoders.
 */
#ifndef EXECTRACE_EVENTS_WIRE_H
#define EXECTRACE_EVENTS_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* File header: magic (8), version (u16 LE), minimum reader version (u16 LE), flags (u32). */
#define ET_FILE_MAGIC "\x89" "ETRACE\n"
#define ET_FILE_MAGIC_LEN 8
#define ET_FILE_HEADER_LEN 16
#define ET_FORMAT_VERSION 2 /* 2: compact region ends (region_end_last, region_last) */
#define ET_FORMAT_MIN_READER 1

/* Chunk header: "ETCK", type, flags, reserved u16, payload length u32,
 * payload crc32 u32, header crc32 u32 (of the 16 bytes before it). */
#define ET_CHUNK_MAGIC "ETCK"
#define ET_CHUNK_HEADER_LEN 20
#define ET_CHUNK_MAX_PAYLOAD (64u << 20) /* a reader refuses larger chunks */

enum et_chunk_type {
  ET_CHUNK_CATALOG = 1,  /* the event kinds this trace uses */
  ET_CHUNK_PROCESS = 2,  /* pid, executable, command line, clock source */
  ET_CHUNK_CLOCK = 3,    /* a (ticks, monotonic ns) sync point and the tick rate */
  ET_CHUNK_STRINGS = 4,  /* interned strings */
  ET_CHUNK_STACKS = 5,   /* deduplicated stacks */
  ET_CHUNK_MAPPINGS = 6, /* executable memory mappings with build ids */
  ET_CHUNK_EVENTS = 7,   /* one piece of one thread's event stream */
  ET_CHUNK_END = 8,      /* the trace was stopped cleanly; totals */
  ET_CHUNK_THREADS = 9,  /* threads alive before the trace's window began, with their names */
  ET_CHUNK_PROCESSES = 10, /* the processes of a trace of several (a CTF import), their threads */
  ET_CHUNK_TYPE_LIMIT
};

enum et_clock_source { ET_CLOCK_TSC = 1, ET_CLOCK_MONOTONIC = 2 };

/* Streams of one thread: ordinary context, and signal handlers that
 * interrupted an ordinary write. */
enum et_stream_id { ET_STREAM_MAIN = 0, ET_STREAM_SIGNAL = 1, ET_STREAM_COUNT };

#define ET_VARINT_MAX 10
#define ET_MAX_MESSAGE 4096 /* longest log message kept; longer ones are cut and counted */

static inline uint8_t *et__put_uvarint(uint8_t *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *p++ = (uint8_t)v;
  return p;
}

static inline uint64_t et__zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t et__unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static inline uint8_t *et__put_svarint(uint8_t *p, int64_t v) {
  return et__put_uvarint(p, et__zigzag(v));
}

/* Decodes a uvarint from [*pp, end).  Returns 0 and advances *pp, or -1 on a
 * truncated or over-long encoding (more than 10 bytes or bits past 64). */
static inline int et__get_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
  const uint8_t *p = *pp;
  if (p < end && *p < 0x80) { /* the common one-byte case */
    *out = *p;
    *pp = p + 1;
    return 0;
  }
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (p >= end) return -1;
    uint8_t b = *p++;
    if (shift == 63 && b > 1) return -1;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (b < 0x80) {
      *out = v;
      *pp = p;
      return 0;
    }
  }
  return -1;
}

static inline void et__put_u16le(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}

static inline void et__put_u32le(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t et__get_u16le(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t et__get_u32le(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* CRC-32 (zlib's polynomial and values), continuing from crc (0 to start). */
uint32_t et__crc32(uint32_t crc, const void *p, size_t n);

/* Fills a chunk header for a payload already in place; crc is the payload's crc32. */
void et__chunk_header(uint8_t hdr[ET_CHUNK_HEADER_LEN], unsigned type, uint32_t len, uint32_t crc);

/* Writes the 16-byte file header. */
void et__file_header(uint8_t hdr[ET_FILE_HEADER_LEN]);

/* Encodes the built-in catalogue as a CATALOG payload into buf (size cap);
 * returns the length, or 0 if cap is too small. */
size_t et__catalog_encode(uint8_t *buf, size_t cap);

/* Skips one encoded event at *pp of [*pp, end) using a catalogue indexed by
 * kind number; returns 0 and the event's time delta, and updates *obj by its
 * P fields; or -1 if the event is malformed or of a kind the catalogue lacks. */
struct et_kind_desc;
int et__event_skip(const struct et_kind_desc *kinds, const uint8_t **pp, const uint8_t *end,
                   uint64_t *dt, uint64_t *obj);

#endif

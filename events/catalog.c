/* The catalogue as data: the table readers decode with, the names of enums,
 * and the CATALOG chunk each trace carries so that any reader can skip kinds
 * it was not built with.  Shared by the tracer and the reader. */
#include "catalog.h"

#include <zlib.h>
#ifdef ET_HAVE_ISAL
#include <isa-l/crc.h>
#endif

#include "wire.h"

#define ET_FIELD_COUNT_ONE(T) (ET_FT_##T != ET_FT_N)
#define ET_KIND_ROW(NAME, lname, NUM, FLAGS, DOC, T0, N0, T1, N1, T2, N2, T3, N3)            \
  [NUM] = {.num = NUM,                                                                       \
           .flags = FLAGS,                                                                   \
           .nfields = ET_FIELD_COUNT_ONE(T0) + ET_FIELD_COUNT_ONE(T1) +                      \
                      ET_FIELD_COUNT_ONE(T2) + ET_FIELD_COUNT_ONE(T3),                       \
           .name = #lname,                                                                   \
           .doc = DOC,                                                                       \
           .ftype = {ET_FT_##T0, ET_FT_##T1, ET_FT_##T2, ET_FT_##T3},                        \
           .fname = {#N0, #N1, #N2, #N3}},

const et_kind_desc et__kinds[ET_EV_LIMIT] = {ET_EVENT_KINDS(ET_KIND_ROW)};

/* Fields must be listed first, padding (N) last: the decoders stop at nfields. */
#define ET_CHECK_ORDER(NAME, lname, NUM, FLAGS, DOC, T0, N0, T1, N1, T2, N2, T3, N3)         \
  _Static_assert(!(ET_FT_##T0 == ET_FT_N && ET_FT_##T1 != ET_FT_N) &&                        \
                     !(ET_FT_##T1 == ET_FT_N && ET_FT_##T2 != ET_FT_N) &&                    \
                     !(ET_FT_##T2 == ET_FT_N && ET_FT_##T3 != ET_FT_N),                      \
                 #lname ": padding fields must come last");                                  \
  _Static_assert(NUM > 0 && NUM < ET_EV_LIMIT, #lname ": wire number out of range");
ET_EVENT_KINDS(ET_CHECK_ORDER)

#define ET_NAME_ROW(NAME, label, V) [V] = #label,
static const char *const block_reason_names[ET_BLOCK_REASON_COUNT] = {ET_BLOCK_REASONS(ET_NAME_ROW)};
static const char *const fd_class_names[ET_FD_CLASS_COUNT] = {ET_FD_CLASSES(ET_NAME_ROW)};
static const char *const drop_reason_names[ET_DROP_REASON_COUNT] = {[0] = "unknown", ET_DROP_REASONS(ET_NAME_ROW)};
#undef ET_NAME_ROW

const char *et__block_reason_name(unsigned reason) {
  return reason < ET_BLOCK_REASON_COUNT ? block_reason_names[reason] : "unknown";
}

const char *et__fd_class_name(unsigned cls) {
  return cls < ET_FD_CLASS_COUNT ? fd_class_names[cls] : "unknown";
}

const char *et__drop_reason_name(unsigned reason) {
  return reason < ET_DROP_REASON_COUNT ? drop_reason_names[reason] : "unknown";
}

uint32_t et__crc32(uint32_t crc, const void *p, size_t n) {
#ifdef ET_HAVE_ISAL
  return crc32_gzip_refl(crc, (const unsigned char *)p, (uint64_t)n);
#else
  return (uint32_t)crc32(crc, p, (uInt)n);
#endif
}

void et__chunk_header(uint8_t hdr[ET_CHUNK_HEADER_LEN], unsigned type, uint32_t len, uint32_t crc) {
  memcpy(hdr, ET_CHUNK_MAGIC, 4);
  hdr[4] = (uint8_t)type;
  hdr[5] = 0;
  et__put_u16le(hdr + 6, 0);
  et__put_u32le(hdr + 8, len);
  et__put_u32le(hdr + 12, crc);
  et__put_u32le(hdr + 16, et__crc32(0, hdr, 16));
}

void et__file_header(uint8_t hdr[ET_FILE_HEADER_LEN]) {
  memcpy(hdr, ET_FILE_MAGIC, ET_FILE_MAGIC_LEN);
  et__put_u16le(hdr + 8, ET_FORMAT_VERSION);
  et__put_u16le(hdr + 10, ET_FORMAT_MIN_READER);
  et__put_u32le(hdr + 12, 0);
}

static uint8_t *put_str(uint8_t *p, const uint8_t *end, const char *s) {
  size_t n = strlen(s);
  if (p == NULL || (size_t)(end - p) < n + ET_VARINT_MAX) return NULL;
  p = et__put_uvarint(p, n);
  memcpy(p, s, n);
  return p + n;
}

size_t et__catalog_encode(uint8_t *buf, size_t cap) {
  uint8_t *p = buf, *end = buf + cap;
  unsigned count = 0;
  for (unsigned k = 0; k < ET_EV_LIMIT; k++) count += et__kinds[k].name != NULL;
  if (cap < ET_VARINT_MAX) return 0;
  p = et__put_uvarint(p, count);
  for (unsigned k = 0; k < ET_EV_LIMIT && p; k++) {
    const et_kind_desc *d = &et__kinds[k];
    if (!d->name) continue;
    if ((size_t)(end - p) < 3 + ET_MAX_FIELDS) return 0;
    *p++ = d->num;
    *p++ = d->flags;
    p = put_str(p, end, d->name);
    if (!p || end - p < 1) return 0;
    *p++ = d->nfields;
    for (unsigned f = 0; f < d->nfields && p; f++) {
      if (end - p < 1) return 0;
      *p++ = d->ftype[f];
      p = put_str(p, end, d->fname[f]);
    }
  }
  return p ? (size_t)(p - buf) : 0;
}

int et__event_skip(const et_kind_desc *kinds, const uint8_t **pp, const uint8_t *end,
                   uint64_t *dt, uint64_t *obj) {
  const uint8_t *p = *pp;
  if (p >= end) return -1;
  const et_kind_desc *d = &kinds[*p++];
  if (d->name == NULL) return -1;
  if (et__get_uvarint(&p, end, dt) != 0) return -1;
  for (unsigned f = 0; f < d->nfields; f++) {
    uint64_t v;
    if (et__get_uvarint(&p, end, &v) != 0) return -1;
    if (d->ftype[f] == ET_FT_B) {
      if (v > (uint64_t)(end - p)) return -1;
      p += v;
    } else if (d->ftype[f] == ET_FT_P) {
      *obj += (uint64_t)et__unzigzag(v);
    }
  }
  *pp = p;
  return 0;
}

/* The CTF 1.8 description of the exectrace event catalogue.
 *
 * One place decides how each catalogue field type looks in CTF (which
 * integer, which enumeration, string or sequence) and writes the TSDL
 * metadata for a list of kinds.  The CTF export (ctf.c) lays out its binary
 * packets by the same rules, and the LTTng-UST provider is meant to declare
 * its tracepoint fields from et__ctf_field_of() too, so that a babeltrace2
 * user sees the same event names, field names and types from both paths.
 * This module depends only on events/catalog.h, not on the reader, so the
 * tracer side can link it.
 *
 * The layout (all integers little-endian and byte-aligned, so a writer needs
 * no padding rules):
 *   packet header   magic u32 = 0xC1FC1FC1, uuid u8[16], stream_id u32 (0),
 *                   stream_instance_id u64
 *   packet context  timestamp_begin, timestamp_end, content_size (bits),
 *                   packet_size (bits), packet_seq_num, events_discarded,
 *                   tid (u64 each), signal u8 (1: the thread's signal stream);
 *                   a stream is one thread's, and babeltrace2 prints the packet
 *                   context on every event line, so events carry no tid
 *   event header    id u16 (dense: 0..N-1 in the order of the kinds given),
 *                   timestamp u64 (ns, mapped to the clock "monotonic")
 *   payload         per field, et__ctf_field_of():
 *     U T           u64 (U fields named reason/fdclass: enumerations, below)
 *     I             s64
 *     P             u64, shown in hex
 *     S             NUL-terminated UTF-8 string: the text, not the id
 *     K             u8 count (field "_NAME_length" as readers show it, declared
 *                   "__NAME_length" as LTTng does), then count u64 addresses
 *                   in hex, innermost first
 *     B             u32 length (field "_NAME_length", likewise), then that many bytes,
 *                   a UTF-8 text sequence
 */
#ifndef EXECTRACE_CONVERT_EXPORT_CTF_META_H
#define EXECTRACE_CONVERT_EXPORT_CTF_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../../events/catalog.h"

#define ET__CTF_MAGIC 0xC1FC1FC1u
#define ET__CTF_PACKET_HEADER_BYTES 32  /* 4 + 16 + 4 + 8 */
#define ET__CTF_PACKET_CONTEXT_BYTES 57 /* 7 * 8 + 1 */
#define ET__CTF_EVENT_HEADER_BYTES 10   /* 2 + 8 */
#define ET__CTF_MAX_FRAMES 255          /* the K count is one byte */
#define ET__CTF_MAX_CLASSES 65535       /* the event id is 16 bits */

/* How one catalogue field is represented. */
enum et__ctf_repr {
  ET__CTF_INT = 1, /* 64-bit integer */
  ET__CTF_ENUM,    /* 64-bit unsigned enumeration */
  ET__CTF_STRING,  /* NUL-terminated UTF-8 */
  ET__CTF_ADDRS,   /* u8 count + u64 addresses (a stack) */
  ET__CTF_TEXT,    /* u32 length + UTF-8 bytes */
};

/* The enumerations that U fields can use. */
enum et__ctf_enum {
  ET__CTF_ENUM_NONE = 0,
  ET__CTF_ENUM_BLOCK_REASON, /* block_begin.reason, block_end.reason */
  ET__CTF_ENUM_FD_CLASS,     /* syscall_begin.fdclass */
  ET__CTF_ENUM_DROP_REASON,  /* drop.reason */
  ET__CTF_ENUM_COUNT
};

typedef struct et__ctf_field {
  uint8_t repr;      /* enum et__ctf_repr */
  uint8_t is_signed; /* ET__CTF_INT only */
  uint8_t hex;       /* display base 16 (P fields, stack addresses) */
  uint8_t enum_id;   /* enum et__ctf_enum, for ET__CTF_ENUM */
} et__ctf_field;

/* How field f of kind k is represented: the one rule for the export and the
 * LTTng provider.  Fields are typed by their catalogue letter; a U field
 * named "reason" is a block reason (a drop reason in kind "drop"), a U field
 * named "fdclass" an fd class, as `exectrace dump` prints them. */
et__ctf_field et__ctf_field_of(const et_kind_desc *k, unsigned f);

/* The enumeration's TSDL type name ("et_block_reason_t"), its number of
 * values, and the label of value v (NULL where no value is defined). */
const char *et__ctf_enum_type(unsigned enum_id);
unsigned et__ctf_enum_size(unsigned enum_id);
const char *et__ctf_enum_label(unsigned enum_id, unsigned v);

/* Everything the metadata says about one trace. */
typedef struct et__ctf_desc {
  const et_kind_desc *kinds; /* event classes in id order: class i is kinds[i] */
  size_t nkinds;             /* at most ET__CTF_MAX_CLASSES */
  const char *prefix;        /* event class names are prefix + kind name ("exectrace:") */
  uint8_t uuid[16];
  uint64_t clock_offset_ns;  /* clock value 0 is this long after the clock's origin */
  bool clock_epoch;          /* the origin is the Unix epoch */
  const char *clock_description;
  /* The env block: who was traced. */
  uint64_t pid;
  const char *procname, *exe, *cmdline;
  uint64_t start_monotonic_ns;
  uint64_t dropped;          /* events the tracer lost in all */
} et__ctf_desc;

/* Writes the TSDL metadata (plain text) for d to f.  Names that are not
 * TSDL identifiers are made into identifiers; field names stay unique as
 * babeltrace2 shows them.  Returns 0, or -EINVAL if d cannot be described
 * (too many classes), or -EIO if writing fails. */
int et__ctf_meta_write(FILE *f, const et__ctf_desc *d);

/* The TSDL identifier used for field f of kind k, as et__ctf_meta_write
 * declares it: the field's name made unique and into an identifier, with a
 * "_" in front if it is a TSDL keyword (readers strip one leading "_").  A K
 * or B field's count is "__" + the name without that escape + "_length"
 * (shown "_NAME_length", as LTTng's are).
 * Writes at most n bytes with the NUL. */
void et__ctf_field_ident(const et_kind_desc *k, unsigned f, char *out, size_t n);

#endif

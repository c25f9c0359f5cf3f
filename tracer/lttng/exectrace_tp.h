/* The LTTng-UST tracepoint provider `exectrace`, expanded from the event
 * catalogue (events/catalog.h): one tracepoint exectrace:<kind> per kind,
 * its fields named and typed as the catalogue says, by the CTF rules of our
 * own export (convert/export/ctf_meta.h), so babeltrace2 shows the same
 * events from both:
 *
 *   U T   64-bit unsigned integer (U "reason" and "fdclass": enumerations)
 *   I     64-bit signed integer
 *   P     64-bit unsigned integer shown in hex
 *   S     string (the text, not an id)
 *   K     sequence of 64-bit addresses in hex, u8 length "_NAME_length"
 *   B     text sequence, u32 length "_NAME_length"
 *
 * A U field name the rules below do not know is a compile error, so a new
 * catalogue field cannot slip through untyped.  This header follows
 * lttng-ust's convention of being read several times (tracepoint-event.h
 * re-includes it with other definitions of the LTTNG_UST_* macros). */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER exectrace

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "exectrace_tp.h"

#if !defined(EXECTRACE_LTTNG_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define EXECTRACE_LTTNG_TP_H

#include <lttng/tracepoint.h>

#include "event.h"

#ifndef EXECTRACE_LTTNG_TP_RULES
#define EXECTRACE_LTTNG_TP_RULES
/* Field i of a kind, by its type letter. */
#define ET_LT_FIELD_N(lname, name, i)
#define ET_LT_FIELD_U(lname, name, i) ET_LT_U_##name(lname, name, i)
#define ET_LT_FIELD_T(lname, name, i) lttng_ust_field_integer(uint64_t, name, e->v[i])
#define ET_LT_FIELD_I(lname, name, i) lttng_ust_field_integer(int64_t, name, (int64_t)e->v[i])
#define ET_LT_FIELD_P(lname, name, i) lttng_ust_field_integer_hex(uint64_t, name, e->v[i])
#define ET_LT_FIELD_S(lname, name, i) lttng_ust_field_string(name, e->s[i])
#define ET_LT_FIELD_K(lname, name, i)                                                        \
  lttng_ust_field_sequence_hex(uint64_t, name, e->pcs, uint8_t, e->npcs)
#define ET_LT_FIELD_B(lname, name, i)                                                        \
  lttng_ust_field_sequence_text(char, name, e->bytes, uint32_t, e->nbytes)

/* U fields by name (ctf_meta.c's et__ctf_field_of says the same). */
#define ET_LT_INT(lname, name, i) lttng_ust_field_integer(uint64_t, name, e->v[i])
#define ET_LT_U_nr ET_LT_INT
#define ET_LT_U_id ET_LT_INT
#define ET_LT_U_parent ET_LT_INT
#define ET_LT_U_task ET_LT_INT
#define ET_LT_U_bytes ET_LT_INT
#define ET_LT_U_weight ET_LT_INT
#define ET_LT_U_count ET_LT_INT
#define ET_LT_U_fdclass(lname, name, i)                                                      \
  lttng_ust_field_enum(exectrace, fd_class, uint64_t, name, e->v[i])
#define ET_LT_U_reason(lname, name, i) ET_LT_REASON_##lname(name, i)
#define ET_LT_BLOCK_REASON(name, i)                                                          \
  lttng_ust_field_enum(exectrace, block_reason, uint64_t, name, e->v[i])
#define ET_LT_REASON_block_begin ET_LT_BLOCK_REASON
#define ET_LT_REASON_block_end ET_LT_BLOCK_REASON
#define ET_LT_REASON_drop(name, i)                                                           \
  lttng_ust_field_enum(exectrace, drop_reason, uint64_t, name, e->v[i])

#define ET_LT_ENUM_VALUE(NAME, label, V) lttng_ust_field_enum_value(#label, (uint64_t)(V))

#define ET_LT_EVENT(NAME, lname, NUM, FLAGS, DOC, T0, N0, T1, N1, T2, N2, T3, N3)            \
  LTTNG_UST_TRACEPOINT_EVENT(exectrace, lname,                                               \
                             LTTNG_UST_TP_ARGS(const et_lttng_event *, e),                   \
                             LTTNG_UST_TP_FIELDS(ET_LT_FIELD_##T0(lname, N0, 0)             \
                                                     ET_LT_FIELD_##T1(lname, N1, 1)         \
                                                         ET_LT_FIELD_##T2(lname, N2, 2)     \
                                                             ET_LT_FIELD_##T3(lname, N3, 3)))
#endif

LTTNG_UST_TRACEPOINT_ENUM(exectrace, block_reason,
                          LTTNG_UST_TP_ENUM_VALUES(ET_BLOCK_REASONS(ET_LT_ENUM_VALUE)))
LTTNG_UST_TRACEPOINT_ENUM(exectrace, fd_class, LTTNG_UST_TP_ENUM_VALUES(ET_FD_CLASSES(ET_LT_ENUM_VALUE)))
LTTNG_UST_TRACEPOINT_ENUM(exectrace, drop_reason,
                          LTTNG_UST_TP_ENUM_VALUES(ET_DROP_REASONS(ET_LT_ENUM_VALUE)))

ET_EVENT_KINDS_EVENTS(ET_LT_EVENT)

#endif /* EXECTRACE_LTTNG_TP_H */

#include <lttng/tracepoint-event.h>

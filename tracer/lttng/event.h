/* What the tracer hands the LTTng-UST provider (libexectrace-lttng.so): one
 * event of the catalogue with its fields decoded and its strings and stack
 * resolved, so the provider only copies them into LTTng's ring buffer.
 *
 * The tracer loads the provider with dlopen (EXECTRACE_LTTNG names it) and
 * finds the two functions below with dlsym; the provider needs nothing of
 * the tracer but this header and events/catalog.h.  A provider whose
 * et_lttng_provider_abi() differs from ET_LTTNG_ABI is refused. */
#ifndef EXECTRACE_TRACER_LTTNG_EVENT_H
#define EXECTRACE_TRACER_LTTNG_EVENT_H

#include <stdint.h>

#include "../../events/catalog.h"

#define ET_LTTNG_ABI 1

typedef struct et_lttng_event {
  uint32_t kind;         /* wire number: the tracepoint is exectrace:<its name> */
  uint32_t npcs;         /* frames in pcs (the K field), at most 255 */
  uint64_t v[ET_MAX_FIELDS];      /* U, T, P, I (as two's complement) fields by index */
  const char *s[ET_MAX_FIELDS];   /* S fields by index: the text ("" if none) */
  const uint64_t *pcs;   /* K: return addresses, innermost first */
  const char *bytes;     /* B: the message */
  uint32_t nbytes;
} et_lttng_event;

/* Exported by the provider. */
typedef int (*et_lttng_abi_fn)(void);
typedef void (*et_lttng_emit_fn)(const et_lttng_event *e);
/* Fills states[k] with the address of the int that is nonzero while
 * tracepoint exectrace:<kind k> is enabled in some LTTng session (the field
 * lttng_ust_tracepoint_enabled() reads), for every kind the provider has;
 * other entries are left alone. */
typedef void (*et_lttng_states_fn)(const int *states[], unsigned n);

#define ET_LTTNG_ABI_SYM "et_lttng_provider_abi"
#define ET_LTTNG_EMIT_SYM "et_lttng_provider_emit"
#define ET_LTTNG_STATES_SYM "et_lttng_provider_states"

#endif

/* libexectrace-lttng.so: the LTTng-UST tracepoint provider `exectrace`.
 *
 * The tracer loads it with dlopen when EXECTRACE_LTTNG names it (see
 * docs/lttng.md) and then, for every event it records, checks the state of
 * that kind's tracepoint and, while an LTTng session has it enabled, calls
 * et_lttng_provider_emit with the event decoded.  Loading it loads
 * liblttng-ust, which registers the process with the session daemon (its
 * listener threads, its statedump); that is why it is a library of its own
 * that only programs asking for LTTng load.
 *
 * The tracepoint definitions and the probes live in this one object, hidden:
 * nothing outside calls the tracepoints but the functions below. */
#define LTTNG_UST_TRACEPOINT_DEFINE
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION
#define LTTNG_UST_TRACEPOINT_PROVIDER_HIDDEN_DEFINITION
#include "exectrace_tp.h"

#define ET_LT_EXPORT __attribute__((visibility("default")))

ET_LT_EXPORT int et_lttng_provider_abi(void);
ET_LT_EXPORT void et_lttng_provider_emit(const et_lttng_event *e);
ET_LT_EXPORT void et_lttng_provider_states(const int *states[], unsigned n);

int et_lttng_provider_abi(void) { return ET_LTTNG_ABI; }

void et_lttng_provider_emit(const et_lttng_event *e) {
  switch (e->kind) {
#define ET_LT_CASE(NAME, lname, NUM, ...)                                                    \
  case NUM: lttng_ust_tracepoint(exectrace, lname, e); break;
    ET_EVENT_KINDS_EVENTS(ET_LT_CASE)
#undef ET_LT_CASE
    default: break;
  }
}

void et_lttng_provider_states(const int *states[], unsigned n) {
#define ET_LT_STATE(NAME, lname, NUM, ...)                                                   \
  if (NUM < n) states[NUM] = &lttng_ust_tracepoint_exectrace___##lname.state;
  ET_EVENT_KINDS_EVENTS(ET_LT_STATE)
#undef ET_LT_STATE
}

/* A tiny LTTng-UST tracepoint provider `etprobe` of our own, with nothing of
 * exectrace in it: the harness checks a private session daemon with it
 * (tp_probe.c) and bench_lttng times a plain LTTng-UST tracepoint with it.
 * One event, etprobe:ping, with two integer fields and one string. */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER etprobe

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "tp_probe_tp.h"

#if !defined(EXECTRACE_TP_PROBE_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define EXECTRACE_TP_PROBE_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>

LTTNG_UST_TRACEPOINT_EVENT(etprobe, ping,
  LTTNG_UST_TP_ARGS(int64_t, seq, int64_t, value, const char *, text),
  LTTNG_UST_TP_FIELDS(
    lttng_ust_field_integer(int64_t, seq, seq)
    lttng_ust_field_integer(int64_t, value, value)
    lttng_ust_field_string(text, text)))

#endif

#include <lttng/tracepoint-event.h>

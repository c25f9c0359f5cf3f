/* The exporters behind `exectrace export`: a loaded trace model in, another
 * tool's format out.  Each returns 0 or a negative errno; the command turns
 * that into one line on stderr.  They stream: what they keep in memory grows
 * with the number of threads, stacks and wake-ups, never with the output.
 *
 *   ctf.c     a CTF 1.8 trace directory for babeltrace2 and Trace Compass
 *   chrome.c  Chrome trace event JSON for Perfetto UI and chrome://tracing
 *   folded.c  folded stacks ("frame;frame count") for flame graph tools
 */
#ifndef EXECTRACE_CONVERT_EXPORT_EXPORT_H
#define EXECTRACE_CONVERT_EXPORT_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "exectrace/reader.h"

/* Writes t as a CTF trace into the directory dir, which must not exist or
 * be empty.  The trace is built in a hidden sibling directory and renamed
 * into place when complete, so dir never shows a partial trace.
 * -ENOTDIR: dir exists and is not a directory; -ENOTEMPTY: it is not empty.
 * *clamped (if not NULL) is set to the number of events whose time a
 * damaged clock put where CTF readers cannot go (see ctf.c). */
int et__export_ctf(const et_trace *t, const char *dir, uint64_t *clamped);

/* Whether dir can receive a CTF export, checked before the trace is loaded:
 * 0, -ENOTDIR, -ENOTEMPTY, or the -errno of its parent directory not being
 * writable. */
int et__export_ctf_check(const char *dir);

/* Writes t as Chrome trace event JSON to out.  -EIO if out fails. */
int et__export_chrome(const et_trace *t, FILE *out);

/* What folded stacks weigh. */
enum et__folded_what {
  ET__FOLDED_AUTO = 0, /* cpu if the trace has CPU samples, else block */
  ET__FOLDED_CPU,      /* CPU samples: the CPU ns they stand for, by the sample's stack */
  ET__FOLDED_BLOCK,    /* blocked time in ns, by the stack of the blocking event */
};

/* Writes t's stacks folded, weighed by what, to out; *chosen (if not NULL)
 * says which weighing was used.  -EIO if out fails. */
int et__export_folded(const et_trace *t, FILE *out, int what, int *chosen);

#endif

/* The pprof converter's internal interface.
 *
 * `exectrace pprof` turns a loaded trace into one gzipped profile.proto in
 * three steps, one file each: collect.c loads the trace in one walk (every
 * event and every state span, in time order, none of them kept), applies
 * the filters and adds each wait or CPU sample to a table of samples keyed
 * by stack and labels; symbolize.c names the addresses with elfutils' libdwfl; encode.c
 * writes the protobuf by hand and gzips it.  options.c names the types and
 * parses durations; cmd_pprof.c is the command line.
 */
#ifndef EXECTRACE_CONVERT_PPROF_H
#define EXECTRACE_CONVERT_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "exectrace/reader.h"

/* Profile types, in the order `--help` lists them. */
enum et__pp_type {
  ET__PP_CPU,
  ET__PP_SYNC,
  ET__PP_NET,
  ET__PP_SYSCALL,
  ET__PP_SCHED,
  ET__PP_BLOCK,
  ET__PP_MUTEX,
  ET__PP_TYPE_COUNT
};

/* What to convert: the type and the filters (all optional). */
typedef struct et__pp_options {
  int type;                 /* enum et__pp_type */
  uint64_t from, to;        /* window, ns from the trace's start; to = UINT64_MAX: the end */
  const char *thread;       /* a tid or a thread name, or NULL */
  bool has_task;
  uint64_t task;            /* with has_task: this task and its subtasks only */
  const char *task_type;    /* only time in tasks of this type, or NULL */
  const char *region;       /* only time inside a region of this name, or NULL */
  uint64_t min_duration;    /* only tasks/regions at least this long (0: no limit) */
  bool progress;            /* show progress on stderr */
  const char *trace_path;   /* for the profile's comments */
} et__pp_options;

/* Name of a profile type ("cpu", ...), or NULL out of range. */
const char *et__pp_type_name(int type);

/* The type called name, or -1. */
int et__pp_type_by_name(const char *name);

/* Parses a duration with a unit ("250us", "1.5s", "0"); 0 or -EINVAL. */
int et__pp_parse_duration(const char *s, uint64_t *ns);

/* ---- collect.c: the aggregated samples ---- */

/* One sample: a stack and labels, and its two values. */
typedef struct et__pp_sample {
  uint32_t stack;   /* trace stack id, 0 for none */
  uint32_t thread;  /* thread index in the trace */
  uint64_t task;    /* task id, 0 for none */
  uint64_t region;  /* string id of the innermost region's name, 0 for none */
  uint64_t count, value;
  const char *task_type; /* the task's type (for its label), NULL if unknown */
} et__pp_sample;

typedef struct et__pp_samples {
  et__pp_sample *slot; /* open addressing; stack == UINT32_MAX marks a free slot */
  size_t cap, n;
  uint64_t period;     /* cpu: the sampling period, the greatest common divisor of the
                          weights (each is the period times 1 + the timer's overruns) */
  bool region_seen;    /* a region named as --region asks was met */
} et__pp_samples;

/* Loads the trace at path in one walk and fills s (zeroed by the caller)
 * with the samples of o->type that pass o's filters; *out is the trace
 * (without spans), for the caller to close.  Returns 0, or a negative
 * error: when the trace could not be loaded, *load_err holds it too. */
int et__pp_collect(const char *path, const et__pp_options *o, et__pp_samples *s, et_trace **out, int *load_err);

/* True if thread th is the one --thread names (its tid or its name). */
bool et__pp_thread_matches(const et_thread_info *th, const char *want);

/* Frees the table. */
void et__pp_samples_free(et__pp_samples *s);

/* ---- symbolize.c: addresses to functions, files and lines ---- */

typedef struct et__sym et__sym;

#define ET__SYM_MAX_FRAMES 32 /* frames one address can expand to (inlining depth) */

/* One frame of a symbolized address; the strings stay valid until the next
 * et__sym_lookup (file names may be built in scratch space). */
typedef struct et__sym_frame {
  const char *function;   /* NULL when unknown */
  const char *linkage;    /* the linker's name when it differs, else NULL */
  const char *file;       /* NULL when unknown */
  int line, start_line;   /* 0 when unknown */
} et__sym_frame;

/* What symbolization found for one of the trace's mappings. */
typedef struct et__sym_mapinfo {
  bool has_functions;     /* the file was found, its build id matches, it has a symbol table or DWARF */
  bool has_lines;         /* and DWARF line tables (so files, lines and inlines) */
} et__sym_mapinfo;

/* Opens the files of t's mappings with libdwfl; never fails (a missing file
 * only leaves its addresses unnamed); NULL only when out of memory. */
et__sym *et__sym_open(const et_trace *t);

/* Frees s and closes its files; NULL is allowed. */
void et__sym_close(et__sym *s);

/* The index of the trace mapping holding addr, or -1. */
long et__sym_mapping_of(const et__sym *s, uint64_t addr);

/* Symbolizes addr (already moved back into the call instruction for return
 * addresses) of mapping m: fills up to max (at most ET__SYM_MAX_FRAMES)
 * frames, innermost (inlined) first, and returns how many (0: nothing known). */
size_t et__sym_lookup(et__sym *s, long m, uint64_t addr, et__sym_frame *out, size_t max);

/* What symbolization knows about trace mapping m. */
et__sym_mapinfo et__sym_mapping_info(const et__sym *s, size_t m);

/* ---- encode.c: the profile.proto writer ---- */

/* Writes the profile of samples s (from collect) as gzipped profile.proto to
 * f.  Returns 0, -ENOMEM, or -EIO when writing failed (errno is kept). */
int et__pp_encode(const et_trace *t, const et__pp_options *o, const et__pp_samples *s, FILE *f);

#endif

/* exectrace pprof: a trace into a pprof profile (gzipped profile.proto).
 *
 * This file is only the command line: it checks every argument before any
 * work and turns each failure into one line on stderr and a non-zero exit
 * (2 for usage, 1 for a trace or output that cannot be used).  The work is
 * in collect.c (what to count), symbolize.c (names) and encode.c (bytes).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cmd/cli.h"
#include "pprof.h"

static const char *const cmd = "pprof";

static void usage(FILE *f) {
  fprintf(f,
          "usage: exectrace pprof --type TYPE [-o FILE] [FILTERS] TRACE\n"
          "\n"
          "Writes a gzipped pprof profile (profile.proto) of TRACE for go tool pprof.\n"
          "\n"
          "types:\n"
          "  cpu      CPU samples (from a trace recorded with cpu_hz)\n"
          "  sync     time blocked on mutexes, rwlocks, condition variables, semaphores,\n"
          "           joins and barriers\n"
          "  net      time blocked on the network (net and poll waits) and in system\n"
          "           calls on sockets\n"
          "  syscall  time in system calls\n"
          "  sched    time runnable but not yet running, charged to the waker's stack\n"
          "  block    all time blocked, whatever the reason, and what net counts\n"
          "  mutex    lock waits ended by a wake, charged to the stack of the thread\n"
          "           that woke the waiter (the one that released the lock)\n"
          "\n"
          "options:\n"
          "  -t, --type TYPE        the profile type (required)\n"
          "  -o, --output FILE      write the profile here (default: standard output,\n"
          "                         unless it is a terminal)\n"
          "      --from TIME        only time from TIME after the trace's start\n"
          "      --to TIME          only time up to TIME after the trace's start\n"
          "      --thread T         only the thread whose tid or name is T\n"
          "      --task ID          only time in task ID and its subtasks\n"
          "      --task-type NAME   only time in tasks of type NAME\n"
          "      --region NAME      only time inside regions named NAME\n"
          "      --min-duration D   only time in tasks or regions that lasted at least D\n"
          "                         (with --region: those regions; with --task or\n"
          "                         --task-type: those tasks)\n"
          "  -h, --help             print this help\n"
          "\n"
          "TIME and D take a unit: ns, us, ms or s (1.5ms, 250us, 2s).\n");
}

enum { OPT_FROM = 256, OPT_TO, OPT_THREAD, OPT_TASK, OPT_TASK_TYPE, OPT_REGION, OPT_MIN };

static int parse_time(const char *opt, const char *arg, uint64_t *out) {
  if (et__pp_parse_duration(arg, out) == 0) return 0;
  char msg[96];
  snprintf(msg, sizeof msg, "%s needs a time with a unit (ns, us, ms, s), not", opt);
  return et__cli_usage_error(cmd, msg, arg);
}

/* A status line on a terminal's stderr, rewritten in place; NULL clears it. */
static void status_line(const et__pp_options *o, const char *what, const char *arg) {
  if (!o->progress) return;
  if (what) fprintf(stderr, "\rexectrace pprof: %s %s\033[K", what, arg ? arg : "");
  else fprintf(stderr, "\r\033[K");
  fflush(stderr);
}

/* The trace's first warning and how many more, on one line. */
static void warn_once(const et_trace *t) {
  size_t n = et_trace_warning_count(t);
  if (n == 0) return;
  fprintf(stderr, "exectrace pprof: warning: %s", et_trace_warning(t, 0));
  if (n > 1) fprintf(stderr, " (and %zu more warnings: see 'exectrace stats')", n - 1);
  fputc('\n', stderr);
}

/* Checks the filters that name things against the trace; prints the error. */
static bool filters_exist(const et_trace *t, const et__pp_options *o) {
  if (o->thread) {
    bool found = false;
    for (size_t i = 0; i < et_trace_thread_count(t) && !found; i++)
      found = et__pp_thread_matches(et_trace_thread(t, i), o->thread);
    if (!found) {
      fprintf(stderr, "exectrace pprof: no thread with tid or name '%s' in the trace\n", o->thread);
      return false;
    }
  }
  if (o->has_task || o->task_type) {
    bool id = !o->has_task, type = !o->task_type;
    for (size_t i = 0; i < et_trace_task_count(t); i++) {
      const et_task *tk = et_trace_task(t, i);
      id |= tk->id == o->task;
      type |= strcmp(tk->type, o->task_type ? o->task_type : "") == 0;
    }
    if (!id) {
      fprintf(stderr, "exectrace pprof: no task %" PRIu64 " in the trace\n", o->task);
      return false;
    }
    if (!type) {
      fprintf(stderr, "exectrace pprof: no task of type '%s' in the trace\n", o->task_type);
      return false;
    }
  }
  if (o->type == ET__PP_CPU) {
    int k = et_trace_kind_by_name(t, "cpu_sample");
    if (k < 0 || et_trace_kind_count(t, (unsigned)k) == 0) {
      fprintf(stderr, "exectrace pprof: the trace has no CPU samples (record it with cpu_hz set)\n");
      return false;
    }
  }
  return true;
}

/* `exectrace pprof ARGS`: argv[0] is "pprof"; returns the exit status. */
int et__cmd_pprof(int argc, char **argv) {
  static const struct option longopts[] = {
      {"type", required_argument, NULL, 't'},
      {"output", required_argument, NULL, 'o'},
      {"from", required_argument, NULL, OPT_FROM},
      {"to", required_argument, NULL, OPT_TO},
      {"thread", required_argument, NULL, OPT_THREAD},
      {"task", required_argument, NULL, OPT_TASK},
      {"task-type", required_argument, NULL, OPT_TASK_TYPE},
      {"region", required_argument, NULL, OPT_REGION},
      {"min-duration", required_argument, NULL, OPT_MIN},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  et__pp_options o;
  memset(&o, 0, sizeof o);
  o.type = -1;
  o.to = UINT64_MAX;
  const char *out = NULL;
  bool has_from = false, has_to = false;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":t:o:h", longopts, NULL)) != -1) {
    switch (c) {
      case 't':
        o.type = et__pp_type_by_name(optarg);
        if (o.type < 0)
          return et__cli_usage_error(cmd, "unknown profile type (cpu, sync, net, syscall, sched, block, mutex):",
                                     optarg);
        break;
      case 'o': out = optarg; break;
      case OPT_FROM:
        if (parse_time("--from", optarg, &o.from)) return 2;
        has_from = true;
        break;
      case OPT_TO:
        if (parse_time("--to", optarg, &o.to)) return 2;
        has_to = true;
        break;
      case OPT_THREAD:
        if (!*optarg) return et__cli_usage_error(cmd, "--thread needs a tid or a name", NULL);
        o.thread = optarg;
        break;
      case OPT_TASK: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(optarg, &end, 10);
        if (!*optarg || *end || errno || v == 0 || optarg[0] == '-')
          return et__cli_usage_error(cmd, "--task needs a task id (a positive number), not", optarg);
        o.has_task = true;
        o.task = v;
        break;
      }
      case OPT_TASK_TYPE: o.task_type = optarg; break;
      case OPT_REGION: o.region = optarg; break;
      case OPT_MIN:
        if (parse_time("--min-duration", optarg, &o.min_duration)) return 2;
        break;
      case 'h': usage(stdout); return 0;
      case ':': return et__cli_usage_error(cmd, "missing value for", argv[optind - 1]);
      default: return et__cli_usage_error(cmd, "unknown option", argv[optind - 1]);
    }
  }
  if (o.type < 0) return et__cli_usage_error(cmd, "missing --type (cpu, sync, net, syscall, sched, block, mutex)", NULL);
  if (optind >= argc) return et__cli_usage_error(cmd, "missing the trace to convert", NULL);
  if (optind + 1 < argc) return et__cli_usage_error(cmd, "one trace at a time; unexpected", argv[optind + 1]);
  if (has_from && has_to && o.from >= o.to) return et__cli_usage_error(cmd, "--from must be before --to", NULL);
  const char *path = argv[optind];
  o.trace_path = path;
  o.progress = isatty(2);

  /* Open the output first: an unwritable path fails before a long load. */
  FILE *f = stdout;
  if (out && strcmp(out, "-") != 0) {
    f = fopen(out, "wb");
    if (!f) {
      fprintf(stderr, "exectrace pprof: cannot write '%s': %s\n", out, strerror(errno));
      return 1;
    }
  } else if (isatty(1)) {
    fprintf(stderr, "exectrace pprof: not writing a binary profile to a terminal: use -o FILE\n");
    return 2;
  }
  bool to_file = f != stdout;
  /* Only a regular file we wrote is removed after a failure (never /dev/...). */
  struct stat st;
  bool regular = to_file && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
  int status = 1;
  et__pp_samples s;
  memset(&s, 0, sizeof s);
  status_line(&o, "reading", path);
  et_trace *t = NULL;
  int load_err = 0;
  int err = et__pp_collect(path, &o, &s, &t, &load_err);
  status_line(&o, NULL, NULL);
  if (load_err) {
    et__cli_load_error(path, load_err);
    goto done;
  }
  if (t) warn_once(t);
  if (err) {
    fprintf(stderr, "exectrace pprof: %s\n", et_strerror(err));
    goto done;
  }
  if (!filters_exist(t, &o)) goto done;
  const et_trace_info *info = et_trace_get_info(t);
  if (has_from && o.from >= info->duration_ns) {
    fprintf(stderr, "exectrace pprof: --from is past the trace's end (%" PRIu64 " ns)\n", info->duration_ns);
    goto done;
  }
  if (o.region && !s.region_seen) {
    fprintf(stderr, "exectrace pprof: no region named '%s' in the trace\n", o.region);
    goto done;
  }
  status_line(&o, "symbolizing and writing", to_file ? out : NULL);
  err = et__pp_encode(t, &o, &s, f);
  status_line(&o, NULL, NULL);
  if (err == -EIO) {
    fprintf(stderr, "exectrace pprof: writing '%s' failed: %s\n", to_file ? out : "standard output",
            strerror(errno ? errno : EIO));
    goto done;
  }
  if (err) {
    fprintf(stderr, "exectrace pprof: %s\n", et_strerror(err));
    goto done;
  }
  status = 0;
done:
  et__pp_samples_free(&s);
  et_trace_close(t);
  if (to_file) {
    if (fclose(f) != 0 && status == 0) {
      fprintf(stderr, "exectrace pprof: writing '%s' failed: %s\n", out, strerror(errno));
      status = 1;
    }
    if (status != 0 && regular) unlink(out);
  }
  return status;
}

/* exectrace dump: every event, one per line, in time order:
 *   TIME_NS TID KIND field=value ... stack=ID
 * (PID/TID when the trace holds more than one process).
 * Strings are resolved and quoted; reasons and fd classes are named;
 * objects are hex.  --stacks also prints each stack's frames at the end. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../events/catalog.h"
#include "cli.h"

typedef struct tid_pid {
  uint64_t tid, pid;
} tid_pid;

typedef struct dump_ctx {
  const et_trace *t;
  FILE *out;
  tid_pid *pids; /* by tid, when the trace has several processes; else NULL */
  size_t npids;
} dump_ctx;

static int cmp_tid(const void *a, const void *b) {
  const tid_pid *x = a, *y = b;
  return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static uint64_t pid_of(const dump_ctx *c, uint64_t tid) {
  tid_pid key = {tid, 0};
  const tid_pid *hit = bsearch(&key, c->pids, c->npids, sizeof *c->pids, cmp_tid);
  return hit ? hit->pid : 0;
}

static void field(FILE *f, const et_trace *t, const et_event *ev, unsigned i) {
  const char *name = et_trace_field_name(t, ev->kind, i);
  int type = et_trace_field_type(t, ev->kind, i);
  uint64_t v = ev->field[i];
  const char *kname = et_trace_kind_name(t, ev->kind);
  fprintf(f, " %s=", name);
  if (strcmp(name, "reason") == 0 && strcmp(kname, "drop") == 0) {
    fputs(et_drop_reason_name((unsigned)v), f);
    return;
  }
  if (strcmp(name, "reason") == 0 && type == ET_FIELD_U) {
    fputs(et_reason_name((unsigned)v), f);
    return;
  }
  if (strcmp(name, "fdclass") == 0) {
    fputs(et_fdclass_name((unsigned)v), f);
    return;
  }
  switch (type) {
    case ET_FIELD_I: fprintf(f, "%" PRId64, (int64_t)v); break;
    case ET_FIELD_P: fprintf(f, "0x%" PRIx64, v); break;
    case ET_FIELD_S: {
      const char *s = v ? et_trace_string(t, v) : "";
      if (s) et__quote(f, s, strlen(s));
      else fprintf(f, "?%" PRIu64, v);
      break;
    }
    case ET_FIELD_B: et__quote(f, ev->bytes, (size_t)v); break;
    default: fprintf(f, "%" PRIu64, v); break;
  }
}

static int print_event(void *arg, const et_event *ev) {
  dump_ctx *c = arg;
  const char *kname = et_trace_kind_name(c->t, ev->kind);
  if (c->pids)
    fprintf(c->out, "%12" PRIu64 " %" PRIu64 "/%" PRIu64 " %s", ev->time, pid_of(c, ev->tid), ev->tid,
            kname ? kname : "?");
  else
    fprintf(c->out, "%12" PRIu64 " %" PRIu64 " %s", ev->time, ev->tid, kname ? kname : "?");
  for (unsigned i = 0; i < ev->nfields; i++) field(c->out, c->t, ev, i);
  if (ev->stream) fputs(" [signal]", c->out);
  fputc('\n', c->out);
  return ferror(c->out) ? -1 : 0;
}

int et__cmd_dump(int argc, char **argv) {
  const char *path = NULL;
  int stacks = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      printf("usage: exectrace dump [--stacks] TRACE\n\n"
             "Prints every event in time order: time (ns since the trace's start), thread id\n"
             "(PID/TID when the trace holds several processes), kind, fields, and the stack\n"
             "id where the kind has one.\n"
             "  --stacks  also print every stack's frames (addresses) at the end\n");
      return 0;
    }
    if (strcmp(argv[i], "--stacks") == 0) stacks = 1;
    else if (argv[i][0] == '-' && argv[i][1]) return et__cli_usage_error("dump", "unknown option", argv[i]);
    else if (path) return et__cli_usage_error("dump", "one trace at a time; extra argument", argv[i]);
    else path = argv[i];
  }
  if (!path) return et__cli_usage_error("dump", "missing TRACE", NULL);
  et_trace *t = et__cli_load(path);
  if (!t) return 1;
  et__cli_warnings(t);
  dump_ctx c = {t, stdout, NULL, 0};
  size_t n = et_trace_thread_count(t);
  if (et_trace_process_count(t) > 1 && (c.pids = malloc((n ? n : 1) * sizeof *c.pids)) != NULL) {
    for (size_t i = 0; i < n; i++) c.pids[i] = (tid_pid){et_trace_thread(t, i)->tid, et_trace_thread(t, i)->pid};
    c.npids = n;
    qsort(c.pids, n, sizeof *c.pids, cmp_tid);
  }
  int r = et_trace_for_each(t, print_event, &c);
  if (stacks) {
    for (uint64_t id = et_trace_stack_next(t, 0); id != 0; id = et_trace_stack_next(t, id)) {
      const uint64_t *f;
      size_t nf = et_trace_stack(t, id, &f);
      if (!nf) continue;
      printf("stack %" PRIu64 ":", id);
      for (size_t i = 0; i < nf; i++) printf(" 0x%" PRIx64, f[i]);
      printf("\n");
    }
  }
  free(c.pids);
  et_trace_close(t);
  if (r != 0 || fflush(stdout) != 0) {
    fprintf(stderr, "exectrace dump: cannot write the output\n");
    return 1;
  }
  return 0;
}

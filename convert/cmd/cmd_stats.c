/* exectrace stats: what a trace holds and what it lost, as text or JSON. */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

static void json(const char *path, const et_trace *t) {
  const et_trace_info *in = et_trace_get_info(t);
  FILE *f = stdout;
  fprintf(f, "{\"trace\":");
  et__json_str(f, path, strlen(path));
  fprintf(f, ",\"events\":%" PRIu64 ",\"threads\":%zu,\"duration_ns\":%" PRIu64
             ",\"bytes\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"complete\":%s"
             ",\"lost_chunks\":%" PRIu64 ",\"lost_bytes\":%" PRIu64 ",\"pid\":%" PRIu64
             ",\"stacks\":%zu,\"tasks\":%zu,\"mappings\":%zu",
          in->events, et_trace_thread_count(t), in->duration_ns, in->bytes, in->dropped,
          in->complete ? "true" : "false", in->lost_chunks, in->lost_bytes, in->pid,
          et_trace_stack_count(t), et_trace_task_count(t), et_trace_mapping_count(t));
  fprintf(f, ",\"exe\":");
  et__json_str(f, in->exe, strlen(in->exe));
  fprintf(f, ",\"kinds\":{");
  int first = 1;
  for (unsigned k = 0; k < 256; k++) {
    const char *name = et_trace_kind_name(t, k);
    if (!name) continue;
    fprintf(f, "%s", first ? "" : ",");
    et__json_str(f, name, strlen(name));
    fprintf(f, ":%" PRIu64, et_trace_kind_count(t, k));
    first = 0;
  }
  fprintf(f, "},\"thread_list\":[");
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    const et_thread_info *th = et_trace_thread(t, i);
    fprintf(f, "%s{\"tid\":%" PRIu64 ",\"name\":", i ? "," : "", th->tid);
    et__json_str(f, th->name, strlen(th->name));
    fprintf(f, ",\"parent\":%" PRIu64 ",\"events\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"pid\":%" PRIu64 "}",
            th->parent, th->events, th->dropped, th->pid);
  }
  fprintf(f, "],\"processes\":[");
  for (size_t i = 0; i < et_trace_process_count(t); i++) {
    const et_process_info *p = et_trace_process(t, i);
    fprintf(f, "%s{\"pid\":%" PRIu64 ",\"name\":", i ? "," : "", p->pid);
    et__json_str(f, p->name, strlen(p->name));
    fprintf(f, ",\"host\":");
    et__json_str(f, p->host, strlen(p->host));
    fprintf(f, ",\"threads\":%zu,\"events\":%" PRIu64 "}", p->nthreads, p->events);
  }
  fprintf(f, "],\"warnings\":[");
  for (size_t i = 0; i < et_trace_warning_count(t); i++) {
    const char *w = et_trace_warning(t, i);
    fprintf(f, "%s", i ? "," : "");
    et__json_str(f, w, strlen(w));
  }
  fprintf(f, "]}\n");
}

static void text(const char *path, const et_trace *t) {
  const et_trace_info *in = et_trace_get_info(t);
  printf("trace      %s (%" PRIu64 " bytes%s)\n", path, in->bytes,
         in->complete ? "" : ", incomplete");
  if (in->exe[0]) printf("program    %s (pid %" PRIu64 ")\n", in->cmdline[0] ? in->cmdline : in->exe, in->pid);
  printf("duration   %.6f s\n", (double)in->duration_ns / 1e9);
  printf("events     %" PRIu64 " (%.2f bytes/event)\n", in->events,
         in->events ? (double)in->bytes / (double)in->events : 0.0);
  size_t nprocs = et_trace_process_count(t);
  if (nprocs > 1) printf("processes  %zu\n", nprocs);
  printf("threads    %zu\n", et_trace_thread_count(t));
  printf("stacks     %zu\n", et_trace_stack_count(t));
  printf("tasks      %zu\n", et_trace_task_count(t));
  printf("dropped    %" PRIu64 "\n", in->dropped);
  if (in->lost_chunks || in->lost_bytes)
    printf("lost       %" PRIu64 " chunk(s), %" PRIu64 " bytes unreadable\n", in->lost_chunks,
           in->lost_bytes);
  printf("\nkind                 count\n");
  for (unsigned k = 0; k < 256; k++) {
    const char *name = et_trace_kind_name(t, k);
    uint64_t n = et_trace_kind_count(t, k);
    if (name && n) printf("%-16s %9" PRIu64 "\n", name, n);
  }
  if (nprocs > 1) {
    printf("\n%8s %-16s %-16s %7s %10s %8s\n", "pid", "name", "host", "threads", "events", "dropped");
    for (size_t i = 0; i < nprocs; i++) {
      const et_process_info *p = et_trace_process(t, i);
      printf("%8" PRIu64 " %-16s %-16s %7zu %10" PRIu64 " %8" PRIu64 "\n", p->pid, p->name, p->host,
             p->nthreads, p->events, p->dropped);
    }
  }
  printf("\n");
  if (nprocs > 1) printf("%8s ", "pid");
  printf("%8s %-16s %10s %8s\n", "tid", "name", "events", "dropped");
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    const et_thread_info *th = et_trace_thread(t, i);
    if (nprocs > 1) printf("%8" PRIu64 " ", th->pid);
    printf("%8" PRIu64 " %-16s %10" PRIu64 " %8" PRIu64 "\n", th->tid, th->name, th->events,
           th->dropped);
  }
}

int et__cmd_stats(int argc, char **argv) {
  const char *path = NULL;
  int as_json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0) {
      printf("usage: exectrace stats [--json] TRACE\n\n"
             "Summarises a trace: events per kind, threads, processes, duration, size, and what\n"
             "was lost (events the tracer dropped, chunks the reader could not use).\n"
             "  --json  one JSON object instead of text\n");
      return 0;
    }
    if (strcmp(argv[i], "--json") == 0) as_json = 1;
    else if (argv[i][0] == '-' && argv[i][1]) return et__cli_usage_error("stats", "unknown option", argv[i]);
    else if (path) return et__cli_usage_error("stats", "one trace at a time; extra argument", argv[i]);
    else path = argv[i];
  }
  if (!path) return et__cli_usage_error("stats", "missing TRACE", NULL);
  et_trace *t = et__cli_load(path);
  if (!t) return 1;
  if (as_json) json(path, t);
  else {
    et__cli_warnings(t);
    text(path, t);
  }
  et_trace_close(t);
  if (fflush(stdout) != 0) {
    fprintf(stderr, "exectrace stats: cannot write the output\n");
    return 1;
  }
  return 0;
}

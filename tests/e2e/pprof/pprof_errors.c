/* End to end: `exectrace pprof` answers bad input with one clear line on
 * stderr and a non-zero exit, writes nothing to stdout, and leaves no
 * partial output file behind: a missing, empty or corrupt trace, an unknown
 * type, bad filter values, filters that name nothing in the trace, and
 * outputs that cannot be written.  Good input, to contrast, converts.
 *
 * usage: pprof_errors EXECTRACE_BINARY SCRATCH_DIR
 */
#include <exectrace/exectrace.h>
#include <inttypes.h>

#include "pprof_test.h"

static const char *ex;
static char trace[4200], out[4200];

/* Runs exectrace with args and checks it fails with exactly one line. */
static void fails(const char *what, int want_status, const char *const args[]) {
  char *argv[32];
  int n = 0;
  argv[n++] = (char *)ex;
  argv[n++] = (char *)"pprof";
  for (int i = 0; args[i] && n < 31; i++) argv[n++] = (char *)args[i];
  argv[n] = NULL;
  unlink(out);
  pt_out r = pt_runv(argv);
  size_t len = strlen(r.err);
  bool one_line = len > 1 && pt_lines(r.err) == 1 && r.err[len - 1] == '\n';
  struct stat st;
  ok(r.status == want_status && one_line && r.out[0] == 0 && stat(out, &st) != 0,
     "%s: status %d (want %d), one line: %s", what, r.status, want_status, r.err);
  pt_out_free(&r);
}

#define FAILS(what, status, ...)                       \
  do {                                                 \
    const char *args_[] = {__VA_ARGS__, NULL};         \
    fails(what, status, args_);                        \
  } while (0)

static void write_file(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f) {
    if (n) fwrite(data, 1, n, f);
    fclose(f);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: pprof_errors EXECTRACE_BINARY SCRATCH_DIR\n");
    return 2;
  }
  ex = argv[1];
  pt_setup(argv[2], "errors");
  pt_path(trace, sizeof trace, "small.etrace");
  pt_path(out, sizeof out, "out.pb.gz");

  TAP_REQUIRE(et_start(trace) == 0, "recording a small trace");
  uint64_t task = et_task_begin(0, "request");
  et_region_begin(task, "work");
  et_block_begin(ET_REASON_SLEEP, NULL);
  pt_sleep_ms(2);
  et_block_end();
  et_region_end(task, "work");
  et_task_end(task);
  TAP_REQUIRE(et_stop() == 0, "trace written");

  char missing[4200], empty[4200], garbage[4200], cut[4200], dir[4200], task_arg[32];
  pt_path(missing, sizeof missing, "no-such.etrace");
  pt_path(empty, sizeof empty, "empty.etrace");
  pt_path(garbage, sizeof garbage, "garbage.etrace");
  pt_path(cut, sizeof cut, "cut.etrace");
  pt_path(dir, sizeof dir, "a-directory");
  mkdir(dir, 0755);
  write_file(empty, "", 0);
  char junk[4096];
  for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 7919u >> 3);
  write_file(garbage, junk, sizeof junk);
  write_file(cut, "ETRACE", 6); /* the start of a magic, nothing more */
  snprintf(task_arg, sizeof task_arg, "%" PRIu64, task + 1000);

  /* The good case first: the same command line shape succeeds. */
  pt_out r = pt_convert(ex, trace, "block", out, NULL);
  ok(r.status == 0 && r.err[0] == 0, "a good trace converts (status %d) %s", r.status, r.err);
  pt_out_free(&r);
  r = pt_run("go", "tool", "pprof", "-raw", out, NULL);
  ok(r.status == 0, "and go tool pprof reads it");
  pt_out_free(&r);

  FAILS("missing trace", 1, "--type", "sync", "-o", out, missing);
  FAILS("empty trace", 1, "--type", "sync", "-o", out, empty);
  FAILS("corrupt trace (not a trace)", 1, "--type", "sync", "-o", out, garbage);
  FAILS("truncated header", 1, "--type", "sync", "-o", out, cut);
  FAILS("a directory as trace", 1, "--type", "sync", "-o", out, dir);
  FAILS("unknown type", 2, "--type", "heap", "-o", out, trace);
  FAILS("no type", 2, "-o", out, trace);
  FAILS("no trace", 2, "--type", "sync", "-o", out);
  FAILS("two traces", 2, "--type", "sync", "-o", out, trace, trace);
  FAILS("unknown option", 2, "--type", "sync", "--frobnicate", "-o", out, trace);
  FAILS("option without its value", 2, "-o", out, trace, "--type");
  FAILS("--from without a unit", 2, "--type", "sync", "--from", "10", "-o", out, trace);
  FAILS("--from not a number", 2, "--type", "sync", "--from", "soon", "-o", out, trace);
  FAILS("--to negative", 2, "--type", "sync", "--to", "-5ms", "-o", out, trace);
  FAILS("--to unknown unit", 2, "--type", "sync", "--to", "5h", "-o", out, trace);
  FAILS("--from after --to", 2, "--type", "sync", "--from", "2ms", "--to", "1ms", "-o", out, trace);
  FAILS("--from past the end", 1, "--type", "sync", "--from", "1000s", "-o", out, trace);
  FAILS("--min-duration bad", 2, "--type", "sync", "--min-duration", "1e", "-o", out, trace);
  FAILS("--task not a number", 2, "--type", "sync", "--task", "abc", "-o", out, trace);
  FAILS("--task 0", 2, "--type", "sync", "--task", "0", "-o", out, trace);
  FAILS("--task not in the trace", 1, "--type", "sync", "--task", task_arg, "-o", out, trace);
  FAILS("--task-type not in the trace", 1, "--type", "sync", "--task-type", "nope", "-o", out, trace);
  FAILS("--thread not in the trace", 1, "--type", "sync", "--thread", "nobody", "-o", out, trace);
  FAILS("--region not in the trace", 1, "--type", "sync", "--region", "nowhere", "-o", out, trace);
  FAILS("cpu without samples", 1, "--type", "cpu", "-o", out, trace);
  char bad_out[4300];
  snprintf(bad_out, sizeof bad_out, "%s/no-such-dir/out.pb.gz", pt_dir);
  FAILS("output in a missing directory", 1, "--type", "sync", "-o", bad_out, trace);
  FAILS("output is a directory", 1, "--type", "sync", "-o", dir, trace);
  /* A write that fails late (ENOSPC), on a device that must survive it. */
  struct stat st;
  if (stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode)) {
    FAILS("output device full", 1, "--type", "sync", "-o", "/dev/full", trace);
    ok(stat("/dev/full", &st) == 0 && S_ISCHR(st.st_mode), "/dev/full is still a device");
  } else {
    ok(1, "# SKIP /dev/full is not a character device here");
  }
  return tap_done();
}

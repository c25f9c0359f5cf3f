/* exectrace export: a trace in another tool's format.
 *   --format ctf     a CTF 1.8 directory for babeltrace2 and Trace Compass
 *   --format chrome  Chrome trace event JSON for Perfetto UI and chrome://tracing
 *   --format folded  folded stacks for flame graph tools (--what cpu|block)
 * The output is checked before the trace is loaded, so a bad -o fails fast;
 * a failed output file is removed rather than left half written (only a
 * regular file: never a device such as /dev/full, or a pipe).  Errors
 * are one line on stderr; exit 1 when the work failed, 2 on a usage error. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cmd/cli.h"
#include "export.h"

enum format { F_NONE, F_CTF, F_CHROME, F_FOLDED };

static void help(void) {
  printf("usage: exectrace export --format ctf|chrome|folded [-o OUT] [--what cpu|block] TRACE\n\n"
         "Writes the trace in another tool's format.\n"
         "  -f, --format ctf a CTF 1.8 trace directory OUT (must not exist, or be empty)\n"
         "                   for babeltrace2 and Trace Compass\n"
         "  --format chrome  Chrome trace event JSON (Perfetto UI, chrome://tracing)\n"
         "  --format folded  folded stacks for flame graph tools\n"
         "  -o, --output OUT where to write; chrome and folded default to standard output\n"
         "  --what cpu|block folded only: CPU time from the CPU samples or time blocked,\n"
         "                   in ns per stack; default cpu if the trace has samples, else block\n");
}

/* The value of option argv[*i] (--opt=value or --opt value), or NULL. */
static const char *value(int argc, char **argv, int *i, const char *opt) {
  size_t n = strlen(opt);
  if (strncmp(argv[*i], opt, n) == 0 && argv[*i][n] == '=') return argv[*i] + n + 1;
  if (strcmp(argv[*i], opt) == 0 && *i + 1 < argc) return argv[++*i];
  return NULL;
}

static bool is_opt(const char *arg, const char *opt) {
  size_t n = strlen(opt);
  return strncmp(arg, opt, n) == 0 && (arg[n] == 0 || arg[n] == '=');
}

/* Can a file be written at path?  0 or -errno, without creating it. */
static int check_file(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return -EISDIR;
    return access(path, W_OK) == 0 ? 0 : -errno;
  }
  if (errno != ENOENT) return -errno;
  char *dir = strdup(path);
  if (!dir) return -ENOMEM;
  char *slash = strrchr(dir, '/');
  const char *d = slash == dir ? "/" : slash ? (*slash = 0, dir) : ".";
  int r = access(d, W_OK | X_OK) == 0 ? 0 : -errno;
  free(dir);
  return r;
}

static int export_file(const et_trace *t, int format, const char *out, int what) {
  bool to_stdout = !out || strcmp(out, "-") == 0;
  FILE *f = to_stdout ? stdout : fopen(out, "w");
  if (!f) {
    fprintf(stderr, "exectrace export: cannot write '%s': %s\n", out, strerror(errno));
    return 1;
  }
  /* Only a regular file is removed on failure: never a device or a pipe. */
  struct stat st;
  bool regular = !to_stdout && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode);
  int r = format == F_CHROME ? et__export_chrome(t, f) : et__export_folded(t, f, what, NULL);
  int err = r && r != -EIO ? -r : 0;
  if (fflush(f) != 0 && !err) err = errno ? errno : EIO;
  if ((r == -EIO || ferror(f)) && !err) err = EIO;
  if (!to_stdout && fclose(f) != 0 && !err) err = errno ? errno : EIO;
  if (err) {
    fprintf(stderr, "exectrace export: cannot write '%s': %s\n", to_stdout ? "standard output" : out,
            strerror(err));
    if (regular) unlink(out);
    return 1;
  }
  return 0;
}

int et__cmd_export(int argc, char **argv) {
  const char *path = NULL, *out = NULL, *fmt = NULL, *what_s = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      help();
      return 0;
    }
    if (is_opt(a, "--format") || strcmp(a, "-f") == 0) {
      if (!(v = value(argc, argv, &i, a[1] == 'f' ? "-f" : "--format")))
        return et__cli_usage_error("export", "missing value for", a);
      fmt = v;
    } else if (is_opt(a, "--output") || strcmp(a, "-o") == 0) {
      if (!(v = value(argc, argv, &i, a[1] == 'o' ? "-o" : "--output")))
        return et__cli_usage_error("export", "missing value for", a);
      out = v;
    } else if (is_opt(a, "--what")) {
      if (!(v = value(argc, argv, &i, "--what")))
        return et__cli_usage_error("export", "missing value for", a);
      what_s = v;
    } else if (a[0] == '-' && a[1]) {
      return et__cli_usage_error("export", "unknown option", a);
    } else if (path) {
      return et__cli_usage_error("export", "one trace at a time; extra argument", a);
    } else {
      path = a;
    }
  }
  if (!fmt) return et__cli_usage_error("export", "missing --format (ctf, chrome or folded)", NULL);
  int format = strcmp(fmt, "ctf") == 0      ? F_CTF
               : strcmp(fmt, "chrome") == 0 ? F_CHROME
               : strcmp(fmt, "folded") == 0 ? F_FOLDED
                                            : F_NONE;
  if (format == F_NONE) return et__cli_usage_error("export", "unknown format", fmt);
  int what = ET__FOLDED_AUTO;
  if (what_s) {
    if (format != F_FOLDED)
      return et__cli_usage_error("export", "--what applies to --format folded, not", fmt);
    if (strcmp(what_s, "cpu") == 0) what = ET__FOLDED_CPU;
    else if (strcmp(what_s, "block") == 0) what = ET__FOLDED_BLOCK;
    else return et__cli_usage_error("export", "--what must be cpu or block, not", what_s);
  }
  if (!path) return et__cli_usage_error("export", "missing TRACE", NULL);
  if (format == F_CTF && (!out || strcmp(out, "-") == 0))
    return et__cli_usage_error("export", "--format ctf needs -o DIR", NULL);

  int r = 0;
  if (format == F_CTF) {
    r = et__export_ctf_check(out);
  } else if (out && strcmp(out, "-") != 0) {
    r = check_file(out);
    if (r == -EISDIR) {
      fprintf(stderr, "exectrace export: '%s' is a directory\n", out);
      return 1;
    }
  }
  if (r == -ENOTDIR) fprintf(stderr, "exectrace export: '%s' exists and is not a directory\n", out);
  else if (r == -ENOTEMPTY) fprintf(stderr, "exectrace export: '%s' exists and is not empty\n", out);
  else if (r) fprintf(stderr, "exectrace export: cannot write '%s': %s\n", out, strerror(-r));
  if (r) return 1;

  et_trace *t = et__cli_load(path);
  if (!t) return 1;
  et__cli_warnings(t);
  int status = 0;
  if (format == F_CTF) {
    uint64_t clamped = 0;
    r = et__export_ctf(t, out, &clamped);
    if (clamped)
      fprintf(stderr,
              "exectrace export: warning: %" PRIu64
              " event(s) with damaged times were clamped to keep time"
              " in order and within what CTF readers accept\n",
              clamped);
    if (r == -ENOTDIR) fprintf(stderr, "exectrace export: '%s' exists and is not a directory\n", out);
    else if (r == -ENOTEMPTY) fprintf(stderr, "exectrace export: '%s' exists and is not empty\n", out);
    else if (r) fprintf(stderr, "exectrace export: cannot write '%s': %s\n", out, strerror(-r));
    status = r ? 1 : 0;
  } else {
    status = export_file(t, format, out, what);
  }
  et_trace_close(t);
  return status;
}

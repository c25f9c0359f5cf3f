/* Helpers shared by the subcommands: loading with clear errors, quoting. */
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

et_trace *et__cli_load(const char *path) {
  et_trace *t;
  int err = et_trace_open(path, &t);
  if (err == 0) return t;
  et__cli_load_error(path, err);
  return NULL;
}

void et__cli_load_error(const char *path, int err) {
  struct stat st;
  const char *detail = et_trace_error_detail();
  if (err == ET_E_FORMAT && detail[0])
    fprintf(stderr, "exectrace: '%s' is not a trace exectrace can read: %s\n", path, detail);
  else if (err == ET_E_FORMAT && stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
    fprintf(stderr, "exectrace: '%s' is empty: no trace was written to it\n", path);
  else if (err == ET_E_FORMAT)
    fprintf(stderr, "exectrace: '%s' is not an exectrace trace\n", path);
  else
    fprintf(stderr, "exectrace: cannot read '%s': %s\n", path, et_strerror(err));
}

void et__cli_warnings(const et_trace *t) {
  size_t n = et_trace_warning_count(t);
  for (size_t i = 0; i < n; i++) fprintf(stderr, "exectrace: warning: %s\n", et_trace_warning(t, i));
}

int et__cli_usage_error(const char *cmd, const char *msg, const char *arg) {
  if (arg)
    fprintf(stderr, "exectrace %s: %s '%s' (try 'exectrace %s --help')\n", cmd, msg, arg, cmd);
  else
    fprintf(stderr, "exectrace %s: %s (try 'exectrace %s --help')\n", cmd, msg, cmd);
  return 2;
}

/* Length of the valid UTF-8 sequence at s (of at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len = s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
  if (len == 0 || len > n) return 0;
  for (size_t i = 1; i < len; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  if (len == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
  if (len == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
  return len;
}

void et__json_str(FILE *f, const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = u[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20 || c == 0x7f) fprintf(f, "\\u%04x", c);
    else if (c < 0x80) fputc(c, f);
    else {
      /* JSON is Unicode: bytes that are not UTF-8 (a path is any bytes) become U+FFFD. */
      size_t len = utf8_len(u + i, n - i);
      if (len == 0) fputs("\\ufffd", f);
      else fwrite(u + i, 1, len, f), i += len - 1;
    }
  }
  fputc('"', f);
}

void et__quote(FILE *f, const char *s, size_t n) {
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c < 0x20 || c >= 0x7f) fprintf(f, "\\x%02x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

/* Keeps docs/format.md in step with the event catalogue.
 *
 * The page's table of event kinds (between <!-- events-table-begin --> and
 * <!-- events-table-end -->) must be exactly what this program generates
 * from et__kinds[], row for row; the tables of block reasons, fd classes and
 * drop reasons must start each row with the value and name the catalogue's
 * name functions give (and, for the first two, the public constant).  When a
 * check fails the expected text is printed as "# " lines, ready to paste.
 *
 * Usage: test_catalog_docs PATH/TO/docs/format.md
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../events/catalog.h"
#include "exectrace/exectrace.h"
#include "tap.h"

#define LINE_MAX_LEN 1024
#define MAX_LINES 512

/* The lines of a marked block, blank lines left out. */
typedef struct block {
  char *line[MAX_LINES];
  size_t n;
  bool found;
} block;

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap + 1);
  size_t r;
  while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
    len += r;
    if (len == cap) {
      char *nb = realloc(buf, 2 * cap + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (buf) buf[len] = 0;
  return buf;
}

/* Splits the text between "<!-- NAME-begin -->" and "<!-- NAME-end -->"
 * into lines (the text is modified in place). */
static block find_block(char *text, const char *name) {
  block b = {.n = 0, .found = false};
  char begin[128], end[128];
  snprintf(begin, sizeof begin, "<!-- %s-begin -->", name);
  snprintf(end, sizeof end, "<!-- %s-end -->", name);
  char *s = strstr(text, begin);
  if (!s) return b;
  s += strlen(begin);
  char *e = strstr(s, end);
  if (!e) return b;
  *e = 0;
  b.found = true;
  for (char *line = strtok(s, "\n"); line && b.n < MAX_LINES; line = strtok(NULL, "\n")) {
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
    if (len) b.line[b.n++] = line;
  }
  return b;
}

/* Appends s to out, writing '|' as '\|' so that a cell cannot split. */
static void cell(char *out, size_t cap, const char *s) {
  size_t n = strlen(out);
  for (; *s && n + 2 < cap; s++) {
    if (*s == '|') out[n++] = '\\';
    out[n++] = *s;
  }
  out[n] = 0;
}

/* The table row of kind d: | num | name | fields | description | */
static void kind_row(const et_kind_desc *d, char *out, size_t cap) {
  char fields[256] = "";
  for (unsigned f = 0; f < d->nfields; f++) {
    size_t n = strlen(fields);
    snprintf(fields + n, sizeof fields - n, "%s%s:%c", f ? " " : "", d->fname[f], d->ftype[f]);
  }
  snprintf(out, cap, "| %u | %s | %s | ", d->num, d->name, d->nfields ? fields : "-");
  cell(out, cap, d->doc);
  size_t n = strlen(out);
  snprintf(out + n, cap - n, " |");
}

static void print_expected(const char *name, char rows[][LINE_MAX_LEN], size_t n) {
  diag("expected between <!-- %s-begin --> and <!-- %s-end -->:", name, name);
  for (size_t i = 0; i < n; i++) diag("%s", rows[i]);
}

/* Checks that block b holds exactly rows (as whole lines, or as line
 * prefixes when prefix is true): one check per row, one for extra lines. */
static void check_rows(const char *name, const block *b, char rows[][LINE_MAX_LEN], size_t n,
                       size_t head, bool prefix) {
  bool all = true;
  for (size_t i = 0; i < n; i++) {
    const char *got = i < b->n ? b->line[i] : "(missing)";
    bool same = prefix && i >= head ? strncmp(got, rows[i], strlen(rows[i])) == 0
                                    : strcmp(got, rows[i]) == 0;
    if (!ok(same, "%s: %s", name, i == 0 ? "table header" : i < head ? "table rule" : rows[i])) {
      diag("got:      %s", got);
      all = false;
    }
  }
  if (!ok(b->n <= n, "%s: no extra rows (%zu lines, %zu expected)", name, b->n, n)) {
    for (size_t i = n; i < b->n; i++) diag("extra:    %s", b->line[i]);
    all = false;
  }
  if (!all) print_expected(name, rows, n);
}

/* The expected lines of the table being checked. */
static char expected[ET_EV_LIMIT + 2][LINE_MAX_LEN];

static void check_events(char *text) {
  size_t n = 0;
  snprintf(expected[n++], LINE_MAX_LEN, "| num | name | fields | description |");
  snprintf(expected[n++], LINE_MAX_LEN, "|---|---|---|---|");
  for (unsigned k = 0; k < ET_EV_LIMIT; k++)
    if (et__kinds[k].name) kind_row(&et__kinds[k], expected[n++], LINE_MAX_LEN);
  block b = find_block(text, "events-table");
  if (!ok(b.found, "events-table: markers found")) {
    print_expected("events-table", expected, n);
    return;
  }
  check_rows("events-table", &b, expected, n, 2, false);
}

/* An enum value with its public constant's name, if it has one. */
typedef struct named {
  int value;
  const char *constant;
} named;

#define NAMED(c) {c, #c}

static const named public_reasons[] = {
    NAMED(ET_REASON_OTHER), NAMED(ET_REASON_MUTEX),   NAMED(ET_REASON_RWLOCK),
    NAMED(ET_REASON_COND),  NAMED(ET_REASON_SEM),     NAMED(ET_REASON_JOIN),
    NAMED(ET_REASON_BARRIER), NAMED(ET_REASON_SLEEP), NAMED(ET_REASON_NET),
    NAMED(ET_REASON_FILE),  NAMED(ET_REASON_POLL),    NAMED(ET_REASON_PIPE),
    NAMED(ET_REASON_USER),  NAMED(ET_REASON_GC),
};

static const named public_fdclasses[] = {
    NAMED(ET_FDCLASS_NONE), NAMED(ET_FDCLASS_SOCKET), NAMED(ET_FDCLASS_FILE),
    NAMED(ET_FDCLASS_PIPE), NAMED(ET_FDCLASS_OTHER),
};

/* A table whose rows begin "| value | name | `CONSTANT` |" (constants given)
 * or "| value | name |"; the rest of each row is free text. */
static void check_enum(char *text, const char *name, const char *header, const char *sep,
                       unsigned first, unsigned count, const char *(*namefn)(unsigned),
                       const named *consts, size_t nconsts) {
  size_t n = 0;
  snprintf(expected[n++], LINE_MAX_LEN, "%s", header);
  snprintf(expected[n++], LINE_MAX_LEN, "%s", sep);
  if (consts) {
    ok(nconsts == count - first, "%s: every value has a public constant (%zu of %u)", name,
       nconsts, count - first);
    for (size_t i = 0; i < nconsts; i++)
      snprintf(expected[n++], LINE_MAX_LEN, "| %d | %s | `%s` |", consts[i].value,
               namefn((unsigned)consts[i].value), consts[i].constant);
  } else {
    for (unsigned v = first; v < count; v++)
      snprintf(expected[n++], LINE_MAX_LEN, "| %u | %s |", v, namefn(v));
  }
  block b = find_block(text, name);
  if (!ok(b.found, "%s: markers found", name)) {
    print_expected(name, expected, n);
    return;
  }
  check_rows(name, &b, expected, n, 2, true);
}

int main(int argc, char **argv) {
  TAP_REQUIRE(argc == 2, "usage: test_catalog_docs PATH/TO/docs/format.md");
  char *text = read_file(argv[1]);
  TAP_REQUIRE(text != NULL, "read %s", argv[1]);

  /* Each check works on its own copy: find_block cuts the text. */
  size_t len = strlen(text);
  char *copy = malloc(len + 1);
  TAP_REQUIRE(copy != NULL, "memory");
  memcpy(copy, text, len + 1);
  check_events(copy);
  strcpy(copy, text);
  check_enum(copy, "block-reasons", "| value | name | constant | meaning |", "|---|---|---|---|",
             0, ET_BLOCK_REASON_COUNT, et__block_reason_name, public_reasons,
             sizeof public_reasons / sizeof public_reasons[0]);
  strcpy(copy, text);
  check_enum(copy, "fd-classes", "| value | name | constant | meaning |", "|---|---|---|---|", 0,
             ET_FD_CLASS_COUNT, et__fd_class_name, public_fdclasses,
             sizeof public_fdclasses / sizeof public_fdclasses[0]);
  strcpy(copy, text);
  check_enum(copy, "drop-reasons", "| value | name | meaning |", "|---|---|---|", 1,
             ET_DROP_REASON_COUNT, et__drop_reason_name, NULL, 0);
  free(copy);
  free(text);
  return tap_done();
}

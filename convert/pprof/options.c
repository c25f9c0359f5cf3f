/* The pprof converter's vocabulary: profile type names and durations with
 * units, shared by the command line and the profile's comments. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pprof.h"

static const char *const type_names[ET__PP_TYPE_COUNT] = {
    [ET__PP_CPU] = "cpu",     [ET__PP_SYNC] = "sync",   [ET__PP_NET] = "net",
    [ET__PP_SYSCALL] = "syscall", [ET__PP_SCHED] = "sched", [ET__PP_BLOCK] = "block",
    [ET__PP_MUTEX] = "mutex",
};

const char *et__pp_type_name(int type) {
  return type >= 0 && type < ET__PP_TYPE_COUNT ? type_names[type] : NULL;
}

int et__pp_type_by_name(const char *name) {
  for (int i = 0; i < ET__PP_TYPE_COUNT; i++)
    if (strcmp(name, type_names[i]) == 0) return i;
  return -1;
}

int et__pp_parse_duration(const char *s, uint64_t *ns) {
  static const struct {
    const char *unit;
    double scale;
  } units[] = {{"ns", 1}, {"us", 1e3}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}};
  if (!s || !((*s >= '0' && *s <= '9') || *s == '.') || strpbrk(s, "xXpP")) return -EINVAL;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !isfinite(v) || v < 0) return -EINVAL;
  if (*end == 0) {
    if (v != 0) return -EINVAL; /* a bare number is ambiguous; only 0 needs no unit */
    *ns = 0;
    return 0;
  }
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcmp(end, units[i].unit) != 0) continue;
    double x = v * units[i].scale;
    if (x >= 1.8e19) return -EINVAL;
    *ns = (uint64_t)(x + 0.5);
    return 0;
  }
  return -EINVAL;
}

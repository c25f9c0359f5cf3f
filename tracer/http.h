/* The HTTP endpoint's request handling, apart from the server (http.c), so
 * that it can be tested and fuzzed as a pure function (tests/fuzz). */
#ifndef EXECTRACE_TRACER_HTTP_H
#define EXECTRACE_TRACER_HTTP_H

#include <stddef.h>
#include <stdint.h>

enum et__http_path {
  ET__HTTP_INDEX,
  ET__HTTP_TRACE,
  ET__HTTP_FLIGHT,
  ET__HTTP_CMDLINE,
  ET__HTTP_PROFILE,
  ET__HTTP_BLOCK,
  ET__HTTP_MUTEX,
};

/* What to do with a request. */
typedef struct et__http_req {
  int status;          /* 200 to serve path; else the error status to answer */
  int path;            /* enum et__http_path, with status 200 */
  uint64_t ns;         /* the window asked for (?seconds=), with status 200 */
  char msg[160];       /* with an error status: the one-line body */
} et__http_req;

/* Decides on a request: method, raw request target (path and query, as
 * received, not NUL-terminated), the Authorization header (or NULL), the
 * token required (NULL: none) and the largest ?seconds= allowed.  Checks,
 * in order: the token (401), the method (405), the path (404), the query
 * (400).  ?seconds= is a decimal number of seconds (digits, optionally a
 * fraction), default 1, in (0, max_seconds]. */
void et__http_decide(const char *method, const char *target, size_t len, const char *auth,
                     const char *token, unsigned max_seconds, et__http_req *out);

#endif

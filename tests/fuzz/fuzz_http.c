/* libFuzzer target: the HTTP endpoint's request handling (et__http_decide,
 * tracer/http_parse.c), the part that sees what a client sends.
 *
 * Input: a first byte picks the method, the token setting and the seconds
 * cap; the rest is "TARGET\nAUTHORIZATION" (the header part optional).  The
 * answer must be a known status with a one-line body, a served path with a
 * window in (0, cap], never a crash or a read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tracer/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  static const char *methods[] = {"GET", "POST", "HEAD", "get", "", "DELETE", "GET ", "PUT"};
  unsigned sel = data[0];
  const char *method = methods[sel & 7];
  const char *token = (sel & 8) ? "s3cret-token" : NULL;
  unsigned cap = (sel & 16) ? 600 : 1;
  data++;
  size--;
  const uint8_t *nl = memchr(data, '\n', size);
  size_t tlen = nl ? (size_t)(nl - data) : size;
  /* Exact-size copies, so that ASan sees any read past them. */
  char *target = malloc(tlen ? tlen : 1);
  memcpy(target, data, tlen);
  char *auth = NULL;
  if (nl) {
    size_t alen = size - tlen - 1;
    auth = malloc(alen + 1);
    memcpy(auth, nl + 1, alen);
    auth[alen] = 0;
  }
  et__http_req r;
  et__http_decide(method, target, tlen, auth, token, cap, &r);
  switch (r.status) {
  case 200:
    if (r.ns == 0 || r.ns > (uint64_t)cap * 1000000000u || r.path < 0 || r.path > 6) abort();
    break;
  case 400: case 401: case 404: case 405: {
    size_t n = strnlen(r.msg, sizeof r.msg);
    if (n == 0 || n == sizeof r.msg || r.msg[n - 1] != '\n' || memchr(r.msg, '\n', n - 1)) abort();
    break;
  }
  default:
    abort();
  }
  if (token && r.status != 401) {
    /* Served only with the token, in the query or the header. */
    if (!memmem(target, tlen, "token=", 6) && !(auth && strncmp(auth, "Bearer ", 7) == 0)) abort();
  }
  free(target);
  free(auth);
  return 0;
}

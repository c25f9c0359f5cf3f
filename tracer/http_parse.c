/* The HTTP endpoint's request handling as a pure function (see http.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

static void answer(et__http_req *r, int status, const char *msg) {
  r->status = status;
  snprintf(r->msg, sizeof r->msg, "%s\n", msg);
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Percent-decodes s[0..n) into out (cap bytes, NUL-terminated); false if it
 * does not fit or holds a NUL. */
static bool decode(const char *s, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
      c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
      i += 2;
    }
    if (c == 0 || o + 1 >= cap) return false;
    out[o++] = c;
  }
  out[o] = 0;
  return true;
}

/* Compares without leaking where they differ. */
static bool same_secret(const char *a, size_t alen, const char *b) {
  size_t blen = strlen(b);
  unsigned char d = alen != blen;
  for (size_t i = 0; i < alen; i++) d |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
  return d == 0 && blen > 0;
}

/* Parses decimal seconds "12", "0.25" into ns; false if malformed or zero. */
static bool parse_seconds(const char *s, unsigned max, uint64_t *ns) {
  uint64_t whole = 0, frac = 0, scale = 1000000000u;
  size_t i = 0;
  if (s[0] == 0) return false;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    whole = whole * 10 + (uint64_t)(s[i] - '0');
    if (whole > max) return false;
  }
  if (i == 0) return false;
  if (s[i] == '.') {
    i++;
    if (!(s[i] >= '0' && s[i] <= '9')) return false;
    for (; s[i] >= '0' && s[i] <= '9'; i++)
      if (scale > 1) {
        scale /= 10;
        frac += (uint64_t)(s[i] - '0') * scale;
      }
  }
  if (s[i] != 0) return false;
  *ns = whole * 1000000000u + frac;
  return *ns > 0 && *ns <= (uint64_t)max * 1000000000u;
}

static const struct {
  const char *name;
  int path;
} paths[] = {
    {"", ET__HTTP_INDEX},           {"trace", ET__HTTP_TRACE}, {"flight", ET__HTTP_FLIGHT},
    {"cmdline", ET__HTTP_CMDLINE}, {"profile", ET__HTTP_PROFILE}, {"block", ET__HTTP_BLOCK},
    {"mutex", ET__HTTP_MUTEX},
};

void et__http_decide(const char *method, const char *target, size_t len, const char *auth,
                     const char *token, unsigned max_seconds, et__http_req *out) {
  memset(out, 0, sizeof *out);
  const char *q = memchr(target, '?', len);
  size_t plen = q ? (size_t)(q - target) : len;
  const char *query = q ? q + 1 : target + len;
  size_t qlen = (size_t)(target + len - query);

  /* The query's parameters we know; the first of each counts. */
  char seconds[32] = "", tok[256] = "";
  bool has_seconds = false, has_token = false, bad = false;
  for (size_t i = 0; i < qlen;) {
    const char *p = query + i, *amp = memchr(p, '&', qlen - i);
    size_t n = amp ? (size_t)(amp - p) : qlen - i;
    const char *eq = memchr(p, '=', n);
    size_t klen = eq ? (size_t)(eq - p) : n;
    const char *v = eq ? eq + 1 : p + n;
    size_t vlen = (size_t)(p + n - v);
    if (klen == 7 && memcmp(p, "seconds", 7) == 0 && !has_seconds) {
      has_seconds = true;
      bad |= !decode(v, vlen, seconds, sizeof seconds);
    } else if (klen == 5 && memcmp(p, "token", 5) == 0 && !has_token) {
      has_token = true;
      if (!decode(v, vlen, tok, sizeof tok)) tok[0] = 0;
    }
    i += n + 1;
  }

  if (token && *token) {
    bool ok = has_token && same_secret(tok, strlen(tok), token);
    if (!ok && auth && strncmp(auth, "Bearer ", 7) == 0)
      ok = same_secret(auth + 7, strlen(auth + 7), token);
    if (!ok) {
      answer(out, 401, "a token is required: Authorization: Bearer TOKEN or ?token=TOKEN");
      return;
    }
  }
  if (method == NULL || strcmp(method, "GET") != 0) {
    answer(out, 405, "only GET is served here");
    return;
  }
  static const char prefix[] = "/debug/pprof";
  size_t pre = sizeof prefix - 1;
  int path = -1;
  if (plen >= pre && memcmp(target, prefix, pre) == 0) {
    const char *rest = target + pre;
    size_t rlen = plen - pre;
    if (rlen == 0) {
      path = ET__HTTP_INDEX;
    } else if (rest[0] == '/') {
      rest++;
      rlen--;
      for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (strlen(paths[i].name) == rlen && memcmp(paths[i].name, rest, rlen) == 0)
          path = paths[i].path;
    }
  }
  if (path < 0) {
    answer(out, 404, "not found; the index is at /debug/pprof/");
    return;
  }
  uint64_t ns = 1000000000u;
  if (has_seconds && (bad || !parse_seconds(seconds, max_seconds, &ns))) {
    char m[120];
    snprintf(m, sizeof m, "seconds must be a decimal number above 0 and at most %u", max_seconds);
    answer(out, 400, m);
    return;
  }
  out->status = 200;
  out->path = path;
  out->ns = ns;
}

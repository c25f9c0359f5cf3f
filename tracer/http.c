/* libexectrace-http: the /debug/pprof/ endpoint inside the traced process.
 *
 * Built on libmicrohttpd with a thread per connection (its threads, never the
 * program's), so a handler may block: a trace streams from a live capture
 * (et_capture_read) through a content-reader callback as the writer produces
 * it, and a profile waits for its capture to end before converting it.  All
 * signals are blocked in those threads.  Requests are decided by
 * et__http_decide (http_parse.c), a pure function the fuzzer drives.
 *
 * Limits: 32 connections at once (more are refused), 16 KiB of request line
 * and headers per connection (more is refused by libmicrohttpd), 10 s of
 * silence from a client before it is cut off, ?seconds= up to 600 (or
 * EXECTRACE_HTTP_MAX_SECONDS).  Starting: et_http_start(), or EXECTRACE_HTTP
 * at this library's load (its constructor).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exectrace/exectrace.h"
#include "http.h"
#ifdef ET_HTTP_PPROF
#include "../convert/pprof/pprof.h"
#endif

#define CONN_LIMIT 32
#define CONN_MEMORY (16u << 10)
#define CONN_TIMEOUT_S 10
#define DEFAULT_MAX_SECONDS 600

static pthread_mutex_t http_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *daemon_;
static char *token_;
static unsigned max_seconds_ = DEFAULT_MAX_SECONDS;
static _Atomic int stopping_;

/* Per request: the raw target, from the URI callback. */
typedef struct request {
  char *target;
} request;

static void *uri_cb(void *cls, const char *uri, struct MHD_Connection *con) {
  (void)cls;
  (void)con;
  request *r = calloc(1, sizeof *r);
  if (r) r->target = strdup(uri ? uri : "");
  return r;
}

static void completed_cb(void *cls, struct MHD_Connection *con, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)con;
  (void)toe;
  request *r = *con_cls;
  if (r) {
    free(r->target);
    free(r);
  }
  *con_cls = NULL;
}

static enum MHD_Result reply_text(struct MHD_Connection *con, unsigned status, const char *text,
                                  const char *type) {
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", type ? type : "text/plain; charset=utf-8");
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  enum MHD_Result ret = MHD_queue_response(con, status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *con, unsigned status, const char *what,
                                   int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s\n", what, et_strerror(err));
  return reply_text(con, status, msg, NULL);
}

/* Serves fd (a memfd, from its start) and closes it. */
static enum MHD_Result reply_fd(struct MHD_Connection *con, int fd, const char *type,
                                const char *disposition) {
  off_t size = lseek(fd, 0, SEEK_END);
  if (size < 0) {
    close(fd);
    return reply_error(con, 500, "cannot serve", -errno);
  }
  struct MHD_Response *resp = MHD_create_response_from_fd((size_t)size, fd);
  if (resp == NULL) {
    close(fd);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", type);
  if (disposition) MHD_add_response_header(resp, "Content-Disposition", disposition);
  enum MHD_Result ret = MHD_queue_response(con, 200, resp);
  MHD_destroy_response(resp);
  return ret;
}

/* ---- /debug/pprof/trace: streamed as recorded ---- */

static ssize_t trace_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)pos;
  et_capture *c = cls;
  for (;;) {
    long n = et_capture_read(c, buf, max, 500);
    if (n > 0) return n;
    if (n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n != -EAGAIN || stopping_) return MHD_CONTENT_READER_END_WITH_ERROR;
  }
}

static void trace_free(void *cls) {
  et_capture_close(cls); /* a client that hung up ends its capture here */
}

static enum MHD_Result serve_trace(struct MHD_Connection *con, uint64_t ns) {
  et_capture *c;
  int err = et_capture_start(ns, &c);
  if (err) return reply_error(con, 503, "cannot start a capture", err);
  struct MHD_Response *resp =
      MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, trace_reader, c, trace_free);
  if (resp == NULL) {
    et_capture_close(c);
    return MHD_NO;
  }
  MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
  MHD_add_response_header(resp, "Content-Disposition", "attachment; filename=\"trace.etrace\"");
  enum MHD_Result ret = MHD_queue_response(con, 200, resp);
  MHD_destroy_response(resp);
  return ret;
}

#ifdef ET_HTTP_PPROF
/* Captures ns of trace into a new memfd; the fd, or a negative error. */
static int capture_to_memfd(uint64_t ns) {
  int fd = memfd_create("exectrace-capture", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  et_capture *c;
  int err = et_capture_start(ns, &c);
  if (err) {
    close(fd);
    return err;
  }
  static _Thread_local char buf[64 * 1024];
  for (;;) {
    long n = et_capture_read(c, buf, sizeof buf, 500);
    if (n == -EAGAIN && !stopping_) continue;
    if (n <= 0) break;
    for (long off = 0; off < n;) {
      ssize_t w = write(fd, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        err = -errno;
        break;
      }
      off += w;
    }
    if (err) break;
  }
  int cerr = et_capture_close(c);
  if (err == 0) err = cerr;
  if (err) {
    close(fd);
    return err;
  }
  return fd;
}

static enum MHD_Result serve_profile(struct MHD_Connection *con, int path, uint64_t ns) {
  int tfd = capture_to_memfd(ns);
  if (tfd < 0) return reply_error(con, 503, "cannot capture", tfd);
  char tpath[64];
  snprintf(tpath, sizeof tpath, "/proc/self/fd/%d", tfd);
  et__pp_options o;
  memset(&o, 0, sizeof o);
  o.type = path == ET__HTTP_PROFILE ? ET__PP_CPU : path == ET__HTTP_BLOCK ? ET__PP_BLOCK : ET__PP_MUTEX;
  o.to = UINT64_MAX;
  o.trace_path = "live capture";
  et__pp_samples smp;
  memset(&smp, 0, sizeof smp);
  et_trace *t = NULL;
  int lerr = 0;
  int err = et__pp_collect(tpath, &o, &smp, &t, &lerr);
  close(tfd);
  if (err) {
    et__pp_samples_free(&smp);
    if (t) et_trace_close(t);
    return reply_error(con, 500, "cannot convert the capture", err);
  }
  int ofd = memfd_create("exectrace-profile", MFD_CLOEXEC);
  int dfd = ofd >= 0 ? dup(ofd) : -1;
  FILE *f = dfd >= 0 ? fdopen(dfd, "w") : NULL;
  if (f == NULL) {
    err = -errno;
    if (dfd >= 0) close(dfd);
  } else {
    err = et__pp_encode(t, &o, &smp, f);
    if (fclose(f) != 0 && err == 0) err = -EIO;
  }
  et__pp_samples_free(&smp);
  et_trace_close(t);
  if (err) {
    if (ofd >= 0) close(ofd);
    return reply_error(con, 500, "cannot write the profile", err);
  }
  return reply_fd(con, ofd, "application/octet-stream", "attachment; filename=\"profile.pb.gz\"");
}
#endif

static enum MHD_Result serve_flight(struct MHD_Connection *con) {
  int fd = memfd_create("exectrace-flight", MFD_CLOEXEC);
  if (fd < 0) return reply_error(con, 500, "cannot make a buffer", -errno);
  int err = et_flight_snapshot(fd);
  if (err) {
    close(fd);
    return reply_error(con, 503, "no flight recorder snapshot (et_flight_start starts one)", err);
  }
  return reply_fd(con, fd, "application/octet-stream", "attachment; filename=\"flight.etrace\"");
}

static enum MHD_Result serve_cmdline(struct MHD_Connection *con) {
  char buf[8192];
  size_t len = 0;
  int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t r;
    while (len < sizeof buf && (r = read(fd, buf + len, sizeof buf - len)) > 0) len += (size_t)r;
    close(fd);
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_COPY);
  if (resp == NULL) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
  enum MHD_Result ret = MHD_queue_response(con, 200, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result serve_index(struct MHD_Connection *con) {
  char page[2048];
  snprintf(page, sizeof page,
           "<html><head><title>/debug/pprof/</title></head><body>\n"
           "<p>exectrace live endpoint (pid %d)</p>\n<ul>\n"
           "<li><a href=\"trace?seconds=1\">trace?seconds=N</a>: an exectrace trace of the next N "
           "seconds, streamed as recorded</li>\n"
           "<li><a href=\"flight\">flight</a>: the flight recorder's window as a trace</li>\n"
#ifdef ET_HTTP_PPROF
           "<li><a href=\"profile?seconds=1\">profile?seconds=N</a>: CPU profile (pprof)</li>\n"
           "<li><a href=\"block?seconds=1\">block?seconds=N</a>: blocking profile (pprof)</li>\n"
           "<li><a href=\"mutex?seconds=1\">mutex?seconds=N</a>: lock contention profile (pprof)</li>\n"
#endif
           "<li><a href=\"cmdline\">cmdline</a>: the command line</li>\n"
           "</ul><p>N: decimal seconds, default 1, at most %u.</p></body></html>\n",
           (int)getpid(), max_seconds_);
  return reply_text(con, 200, page, "text/html; charset=utf-8");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *con, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls) {
  (void)cls;
  (void)version;
  (void)upload_data;
  request *r = *con_cls;
  const char *target = r && r->target ? r->target : url;
  const char *auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
  et__http_req q;
  et__http_decide(method, target, strlen(target), auth, token_, max_seconds_, &q);
  if (upload_data_size && *upload_data_size) *upload_data_size = 0; /* a body is ignored */
  if (q.status != 200) return reply_text(con, (unsigned)q.status, q.msg, NULL);
  switch (q.path) {
  case ET__HTTP_INDEX: return serve_index(con);
  case ET__HTTP_TRACE: return serve_trace(con, q.ns);
  case ET__HTTP_FLIGHT: return serve_flight(con);
  case ET__HTTP_CMDLINE: return serve_cmdline(con);
  default:
#ifdef ET_HTTP_PPROF
    return serve_profile(con, q.path, q.ns);
#else
    return reply_text(con, 501, "this build of libexectrace-http has no pprof converter\n", NULL);
#endif
  }
}

/* "HOST:PORT", "[V6]:PORT", ":PORT" or "PORT" into a socket address. */
static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len,
                      bool *loopback) {
  char host[128] = "127.0.0.1";
  const char *port;
  const char *colon = strrchr(addr, ':');
  if (addr[0] == '[') {
    const char *close_ = strchr(addr, ']');
    if (close_ == NULL || close_[1] != ':' || (size_t)(close_ - addr - 1) >= sizeof host)
      return -EINVAL;
    memcpy(host, addr + 1, (size_t)(close_ - addr - 1));
    host[close_ - addr - 1] = 0;
    port = close_ + 2;
  } else if (colon) {
    if ((size_t)(colon - addr) >= sizeof host) return -EINVAL;
    if (colon != addr) {
      memcpy(host, addr, (size_t)(colon - addr));
      host[colon - addr] = 0;
    }
    port = colon + 1;
  } else {
    port = addr;
  }
  char *end;
  long p = strtol(port, &end, 10);
  if (*port == 0 || *end != 0 || p < 0 || p > 65535) return -EINVAL;
  if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *a4 = (struct sockaddr_in *)(void *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)(void *)ss;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)p);
    *len = sizeof *a4;
    *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)p);
    *len = sizeof *a6;
    *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
  } else {
    return -EINVAL; /* names are not resolved: say the address */
  }
  return 0;
}

int et_http_start(const char *addr) {
  struct sockaddr_storage ss;
  socklen_t sslen;
  bool loopback;
  int err = parse_addr(addr && *addr ? addr : "127.0.0.1:6060", &ss, &sslen, &loopback);
  if (err) return err;
  const char *tok = getenv("EXECTRACE_HTTP_TOKEN");
  if (!loopback && (tok == NULL || strlen(tok) < 8)) return -EACCES; /* never open without a token */
  const char *ms = getenv("EXECTRACE_HTTP_MAX_SECONDS");
  unsigned max_s = DEFAULT_MAX_SECONDS;
  if (ms && *ms) {
    char *end;
    unsigned long v = strtoul(ms, &end, 10);
    if (*end || v == 0 || v > 86400) return -EINVAL;
    max_s = (unsigned)v;
  }
  pthread_mutex_lock(&http_lock);
  if (daemon_) {
    pthread_mutex_unlock(&http_lock);
    return ET_E_ACTIVE;
  }
  free(token_);
  token_ = tok && *tok ? strdup(tok) : NULL; /* a token set is checked on loopback too */
  max_seconds_ = max_s;
  stopping_ = 0;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
  if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES) flags |= MHD_USE_POLL;
  if (ss.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old); /* its threads take none of the program's signals */
  daemon_ = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONN_TIMEOUT_S,
                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
                             MHD_OPTION_URI_LOG_CALLBACK, uri_cb, NULL,
                             MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
                             MHD_OPTION_END);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  int port;
  if (daemon_ == NULL) {
    port = -EADDRNOTAVAIL;
  } else {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
    port = info ? info->port : -EIO;
  }
  pthread_mutex_unlock(&http_lock);
  return port;
}

void et_http_stop(void) {
  pthread_mutex_lock(&http_lock);
  if (daemon_) {
    stopping_ = 1;
    MHD_stop_daemon(daemon_);
    daemon_ = NULL;
  }
  free(token_);
  token_ = NULL;
  pthread_mutex_unlock(&http_lock);
}

/* In the preload library, the threads the endpoint starts are marked as the
 * tracer's, so nothing they do is traced (preload.c defines these). */
void et__internal_begin(void) __attribute__((weak, visibility("hidden")));
void et__internal_end(void) __attribute__((weak, visibility("hidden")));

/* EXECTRACE_HTTP=ADDR starts the endpoint when this library is loaded. */
__attribute__((constructor)) static void http_from_env(void) {
  const char *a = getenv("EXECTRACE_HTTP");
  if (a == NULL || *a == 0) return;
  if (et__internal_begin) et__internal_begin();
  int port = et_http_start(a);
  if (et__internal_end) et__internal_end();
  if (port < 0)
    fprintf(stderr, "exectrace: EXECTRACE_HTTP=%s: cannot start the endpoint: %s\n", a,
            et_strerror(port));
  else if (getenv("EXECTRACE_HTTP_PRINT_PORT"))
    fprintf(stderr, "exectrace: http endpoint on port %d\n", port);
  const char *pf = getenv("EXECTRACE_HTTP_PORT_FILE"); /* set by exectrace record --http */
  if (port > 0 && pf && *pf) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%d", pf, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (f) {
      fprintf(f, "%d\n", port);
      if (fclose(f) == 0) rename(tmp, pf);
      else unlink(tmp);
    }
  }
}

/* Compact region ends (docs/format.md, "The region register").  A region_end
 * whose task and name are those of the stream's last region_begin in the
 * chunk is written as region_end_last, without fields, and readers hand it
 * out as region_end with that task and name.  Each check records in its own
 * forked process and reads the trace back:
 *   - every region_end comes out with the task and name it was called with:
 *     nested regions, ends that do not match the last begin, a NULL name, a
 *     name that is not a literal, large task ids;
 *   - through pieces (a short flush_ms while regions stay open: the pieces
 *     open with region_last), 4 KiB chunks, signal handlers writing regions
 *     of their own, and a flight recorder whose ring has dropped the chunks
 *     where the oldest regions began;
 *   - with the model, the streaming reader (each EVENTS chunk on its own),
 *     and a scan of the raw bytes, which shows that the compact form is used
 *     and that region_end + region_end_last on the wire = region_end read.
 */
#include <exectrace/exectrace.h>
#include <exectrace/reader.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../events/catalog.h"
#include "../../events/wire.h"
#include "tap.h"

static char dir[256];

/* A region's name follows from its task, so every end read back can be
 * checked on its own, wherever the trace begins. */
static const char *const names[8] = {"parse", "plan", "fetch", "decode",
                                     "render", "store", "index", "flush"};
#define NAME(task) (names[(task) % 8])

static void path_of(char *buf, size_t n, const char *name) {
  snprintf(buf, n, "%s/%s.etrace", dir, name);
}

static void pause_ms(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- what is read back ---- */

typedef struct check {
  const et_trace *t;
  int rb, re;              /* kind numbers */
  uint64_t begins, ends;   /* read */
  uint64_t bad;            /* ends whose name does not follow from their task */
  uint64_t null_ends;      /* ends of task 7 with no name (the script's NULL name) */
  uint64_t heap_ends;      /* ends of the script's heap-allocated name */
  uint64_t first_bad_task; /* for the diagnostic */
  const char *first_bad_name;
} check;

static void check_init(check *c, const et_trace *t) {
  memset(c, 0, sizeof *c);
  c->t = t;
  c->rb = et_trace_kind_by_name(t, "region_begin");
  c->re = et_trace_kind_by_name(t, "region_end");
}

static void check_event(check *c, const et_event *ev) {
  if ((int)ev->kind == c->rb) c->begins++;
  if ((int)ev->kind != c->re) return;
  c->ends++;
  uint64_t task = ev->field[0];
  const char *name = ev->field[1] ? et_trace_string(c->t, ev->field[1]) : NULL;
  if (task == 7 && name == NULL) {
    c->null_ends++;
  } else if (task == 9 && name && strcmp(name, "heap-name") == 0) {
    c->heap_ends++;
  } else if (ev->nfields != 2 || !name || strcmp(name, NAME(task)) != 0) {
    if (c->bad++ == 0) {
      c->first_bad_task = task;
      c->first_bad_name = name ? name : "(none)";
    }
  }
}

static int on_event(void *arg, const et_event *ev) {
  check_event(arg, ev);
  return 0;
}

static int on_stream_event(void *arg, const et_trace *t, const et_event *ev) {
  check *c = arg;
  if (c->t != t) { /* the streaming reader's trace: kinds come from its catalogue */
    c->t = t;
    c->rb = et_trace_kind_by_name(t, "region_begin");
    c->re = et_trace_kind_by_name(t, "region_end");
  }
  check_event(c, ev);
  return 0;
}

/* Counts of kinds as they are on the wire, by a scan of the raw file with
 * the built-in catalogue (the tracer's own). */
typedef struct raw {
  uint64_t kinds[ET_EV_LIMIT];
  uint64_t chunks, bad;
} raw;

static raw raw_scan(const char *path) {
  raw r;
  memset(&r, 0, sizeof r);
  FILE *f = fopen(path, "rb");
  if (!f) {
    r.bad++;
    return r;
  }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *d = malloc((size_t)len);
  if (!d || fread(d, 1, (size_t)len, f) != (size_t)len) r.bad++;
  fclose(f);
  size_t off = ET_FILE_HEADER_LEN;
  while (!r.bad && off + ET_CHUNK_HEADER_LEN <= (size_t)len) {
    const uint8_t *h = d + off, *p = h + ET_CHUNK_HEADER_LEN;
    size_t plen = et__get_u32le(h + 8);
    const uint8_t *end = p + plen;
    if (h[4] == ET_CHUNK_EVENTS) {
      uint64_t v, dt, obj = 0;
      r.chunks++;
      if (et__get_uvarint(&p, end, &v) || ++p > end || et__get_uvarint(&p, end, &v) ||
          et__get_uvarint(&p, end, &v) || et__get_uvarint(&p, end, &v))
        r.bad++;
      while (p < end) {
        unsigned k = *p;
        if (et__event_skip(et__kinds, &p, end, &dt, &obj) != 0) {
          r.bad++;
          break;
        }
        r.kinds[k]++;
      }
    }
    off += ET_CHUNK_HEADER_LEN + plen;
  }
  free(d);
  return r;
}

/* Loads path with the model and the streaming reader and checks every
 * region_end; with expect_begins/expect_ends non-zero, their counts too. */
static void verify(const char *label, const char *path, uint64_t expect_begins,
                   uint64_t expect_ends, uint64_t null_ends, uint64_t heap_ends, bool want_last) {
  et_trace *t = NULL;
  int err = et_trace_open(path, &t);
  if (err) {
    ok(0, "%s: the trace loads (%s)", label, et_strerror(err));
    return;
  }
  check m;
  check_init(&m, t);
  et_trace_for_each(t, on_event, &m);
  const et_trace_info *in = et_trace_get_info(t);
  for (size_t i = 0; i < et_trace_warning_count(t) && i < 5; i++) diag("%s", et_trace_warning(t, i));
  ok(in->lost_chunks == 0 && in->lost_bytes == 0 && (in->dropped == 0 || !expect_begins),
     "%s: loads whole%s", label, expect_begins ? ", nothing dropped" : "");
  ok(m.bad == 0 && (!expect_begins || (m.null_ends == null_ends && m.heap_ends == heap_ends)),
     "%s: every region_end has its task and name (%" PRIu64 " of %" PRIu64 " wrong, first: task %" PRIu64
     " name %s; %" PRIu64 " NULL, %" PRIu64 " heap)",
     label, m.bad, m.ends, m.first_bad_task, m.first_bad_name ? m.first_bad_name : "-", m.null_ends,
     m.heap_ends);
  if (expect_begins)
    ok(m.begins == expect_begins && m.ends == expect_ends,
       "%s: %" PRIu64 " begins and %" PRIu64 " ends read (want %" PRIu64 ", %" PRIu64 ")", label,
       m.begins, m.ends, expect_begins, expect_ends);
  ok(et_trace_kind_by_name(t, "region_end_last") < 0 && et_trace_kind_by_name(t, "region_last") < 0 &&
         m.re >= 0 && et_trace_kind_count(t, (unsigned)m.re) == m.ends,
     "%s: the encoding kinds are not in the reader's list; stats count region_end", label);

  raw r = raw_scan(path);
  uint64_t wire_ends = r.kinds[ET_EV_REGION_END] + r.kinds[ET_EV_REGION_END_LAST];
  diag("%s: on the wire %" PRIu64 " region_end, %" PRIu64 " region_end_last, %" PRIu64
       " region_last in %" PRIu64 " events chunks; %" PRIu64 " events read",
       label, r.kinds[ET_EV_REGION_END], r.kinds[ET_EV_REGION_END_LAST], r.kinds[ET_EV_REGION_LAST],
       r.chunks, in->events);
  uint64_t wire_events = 0;
  for (unsigned k = 0; k < ET_EV_LIMIT; k++) wire_events += k == ET_EV_REGION_LAST ? 0 : r.kinds[k];
  ok(r.bad == 0 && wire_ends == m.ends && r.kinds[ET_EV_REGION_END_LAST] > 0 &&
         wire_events == in->events,
     "%s: region_end_last on the wire, and every wire event read once", label);
  if (want_last)
    ok(r.kinds[ET_EV_REGION_LAST] > 0, "%s: pieces open with region_last (%" PRIu64 ")", label,
       r.kinds[ET_EV_REGION_LAST]);

  check s;
  memset(&s, 0, sizeof s);
  s.rb = s.re = -1;
  et_stream_handlers h = {on_stream_event, NULL};
  err = et_trace_stream(path, &h, &s);
  ok(err == 0 && s.bad == 0 && s.ends == m.ends && s.begins == m.begins,
     "%s: the streaming reader, each chunk on its own, agrees (%" PRIu64 " ends, %" PRIu64 " wrong)",
     label, s.ends, s.bad);
  et_trace_close(t);
}

/* ---- what is recorded ---- */

/* One round of the script: 8 kinds of region use; *begins and *ends count
 * the calls. */
static void script(uint64_t i, char *heap_name, uint64_t *begins, uint64_t *ends) {
  uint64_t a = 100 + i * 16, b = a + 1, c = a + 2, big = (1ull << 40) + i;
  /* a pair */
  et_region_begin(a, NAME(a));
  et_region_end(a, NAME(a));
  /* nested: the inner end is compact, the outer one is not */
  et_region_begin(b, NAME(b));
  et_region_begin(c, NAME(c));
  et_region_end(c, NAME(c));
  et_region_end(b, NAME(b));
  /* an end that is not the last begin's, then the one that is */
  et_region_begin(a, NAME(a));
  et_region_end(a + 8, NAME(a + 8)); /* same name, other task */
  et_region_end(a, NAME(a));
  /* an end of the same task with another name */
  et_region_begin(c, NAME(c));
  et_region_end(c + 8, NAME(c)); /* checked as task c + 8: NAME(c + 8) == NAME(c) */
  /* a NULL name (string id 0) and a name not in read-only memory */
  et_region_begin(7, NULL);
  et_region_end(7, NULL);
  et_region_begin(9, heap_name);
  et_region_end(9, heap_name);
  /* a large task, two ends in a row for one begin */
  et_region_begin(big, NAME(big));
  et_region_end(big, NAME(big));
  et_region_end(big, NAME(big));
  /* a region with an event inside */
  et_region_begin(a, NAME(a));
  et_counter("inside", (int64_t)i);
  et_region_end(a, NAME(a));
  *begins += 9;
  *ends += 11;
}

#define ROUNDS 2000

static void basic_child(const char *path) {
  if (et_start(path) != 0) _exit(1);
  char *heap = strdup("heap-name");
  uint64_t b = 0, e = 0;
  for (uint64_t i = 0; i < ROUNDS; i++) script(i, heap, &b, &e);
  free(heap);
  _exit(et_stop() == 0 ? 0 : 2);
}

/* Regions open across the writer's flushes (pieces) and 4 KiB chunks. */
static void pieces_child(const char *path) {
  et_options o;
  et_options_init(&o);
  o.chunk_size = 4096;
  o.flush_ms = 1;
  if (et_start_opts(path, &o) != 0) _exit(1);
  char *heap = strdup("heap-name");
  uint64_t b = 0, e = 0;
  for (uint64_t i = 0; i < 200; i++) {
    script(i, heap, &b, &e);
    uint64_t t = 5000 + i;
    et_region_begin(t, NAME(t));
    if (i % 8 == 0) pause_ms(3); /* the writer flushes while the region is open */
    et_counter("open", (int64_t)i);
    et_region_end(t, NAME(t));
  }
  free(heap);
  _exit(et_stop() == 0 ? 0 : 2);
}

static volatile sig_atomic_t handler_calls;

static void on_alarm(int sig) {
  (void)sig;
  uint64_t t = 1000000 + (uint64_t)handler_calls++;
  et_region_begin(t, NAME(t));
  et_region_end(t, NAME(t));
}

/* Handlers that write regions of their own, into the main stream or, when
 * they interrupt a write, the signal stream. */
static void signal_child(const char *path) {
  if (et_start(path) != 0) _exit(1);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 100}, {0, 100}};
  setitimer(ITIMER_REAL, &it, NULL);
  uint64_t n = 0;
  while (handler_calls < 1000 && n < 100000000) {
    uint64_t t = 2000000 + n;
    et_region_begin(t, NAME(t));
    et_region_end(t, NAME(t));
    n++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  _exit(et_stop() == 0 ? 0 : 2);
}

/* The flight recorder keeps the last 64 KiB of chunks; a snapshot starts
 * wherever the ring begins, often after a region_begin whose end it holds. */
static void flight_child(const char *path) {
  et_options o;
  et_options_init(&o);
  o.chunk_size = 4096;
  o.flush_ms = 1;
  char file[600];
  snprintf(file, sizeof file, "%s.file", path);
  if (et_start_opts(file, &o) != 0 || et_flight_start(64 << 10, 0) != 0) _exit(1);
  char *heap = strdup("heap-name");
  uint64_t b = 0, e = 0;
  for (uint64_t i = 0; i < 3000; i++) {
    script(i, heap, &b, &e);
    uint64_t t = 9000 + i;
    et_region_begin(t, NAME(t));
    if (i % 64 == 0) pause_ms(2);
    et_region_end(t, NAME(t));
  }
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0 || et_flight_snapshot(fd) != 0) _exit(2);
  close(fd);
  free(heap);
  _exit(et_flight_stop() == 0 && et_stop() == 0 ? 0 : 3);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/et-test-regions-XXXXXX");
  TAP_REQUIRE(mkdtemp(dir) != NULL, "temporary directory");
  char path[512];

  path_of(path, sizeof path, "basic");
  ok(tap_in_child(basic_child, path) == 0, "basic: recorded");
  verify("basic", path, 9 * ROUNDS, 11 * ROUNDS, ROUNDS, ROUNDS, false);

  path_of(path, sizeof path, "pieces");
  ok(tap_in_child(pieces_child, path) == 0, "pieces: recorded with 4 KiB chunks and 1 ms flushes");
  verify("pieces", path, 10 * 200, 12 * 200, 200, 200, true);

  path_of(path, sizeof path, "signal");
  ok(tap_in_child(signal_child, path) == 0, "signal: recorded with handlers writing regions");
  verify("signal", path, 0, 0, 0, 0, false);

  path_of(path, sizeof path, "flight");
  ok(tap_in_child(flight_child, path) == 0, "flight: snapshot of a 64 KiB ring");
  verify("flight", path, 0, 0, 0, 0, false);

  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) diag("could not remove %s", dir);
  return tap_done();
}

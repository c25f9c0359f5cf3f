/* The reader against traces written by hand, byte by byte as docs/format.md
 * says: a newer writer's event kinds and chunk types are skipped (kinds by
 * the trace's own catalogue), versions are honoured, missing chunks and bad
 * checksums are reported, and ticks become nanoseconds by the clock's sync
 * points.
 */
#include <exectrace/exectrace.h>
#include <exectrace/reader.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../events/catalog.h"
#include "../../events/wire.h"
#include "handtrace.h"
#include "tap.h"

static void file_header(out *o, unsigned version, unsigned min_reader) {
  uint8_t h[ET_FILE_HEADER_LEN];
  et__file_header(h);
  et__put_u16le(h + 8, (uint16_t)version);
  et__put_u16le(h + 10, (uint16_t)min_reader);
  put(o, h, sizeof h);
}

/* Our catalogue plus kind 200, "future_thing", with fields U then B. */
static void catalog_with_future_kind(out *o) {
  uint8_t p[8192];
  size_t n = et__catalog_encode(p, sizeof p);
  /* Bump the count (first uvarint, one byte while below 128) and append the kind. */
  p[0]++;
  uint8_t *q = p + n;
  *q++ = 200;
  *q++ = 0;
  q = et__put_uvarint(q, 12);
  memcpy(q, "future_thing", 12);
  q += 12;
  *q++ = 2;
  *q++ = 'U';
  q = et__put_uvarint(q, 1);
  *q++ = 'x';
  *q++ = 'B';
  q = et__put_uvarint(q, 4);
  memcpy(q, "blob", 4);
  q += 4;
  chunk(o, ET_CHUNK_CATALOG, p, (size_t)(q - p));
}

static void clock_point(out *o, uint64_t ticks, uint64_t ns, uint64_t rate) {
  uint8_t p[32], *q = p;
  q = et__put_uvarint(q, ticks);
  q = et__put_uvarint(q, ns);
  q = et__put_uvarint(q, rate);
  chunk(o, ET_CHUNK_CLOCK, p, (size_t)(q - p));
}

static void strings(out *o) {
  uint8_t p[64], *q = p;
  q = et__put_uvarint(q, 1);
  q = et__put_uvarint(q, 4);
  memcpy(q, "work", 4);
  q += 4;
  chunk(o, ET_CHUNK_STRINGS, p, (size_t)(q - p));
}

/* An EVENTS chunk of thread 7: region_begin, future_thing, region_end, each
 * 1000 ticks apart from base. */
static void events(out *o, uint64_t seq, uint64_t base) {
  uint8_t p[128], *q = p;
  q = et__put_uvarint(q, 7);
  *q++ = 0;
  q = et__put_uvarint(q, seq);
  q = et__put_uvarint(q, base);
  q = et__put_uvarint(q, 0); /* base object */
  *q++ = ET_EV_REGION_BEGIN;
  q = et__put_uvarint(q, 1000);
  q = et__put_uvarint(q, 0);   /* task */
  q = et__put_uvarint(q, 1);   /* name */
  q = et__put_uvarint(q, 0);   /* stack */
  *q++ = 200;
  q = et__put_uvarint(q, 1000);
  q = et__put_uvarint(q, 42);
  q = et__put_uvarint(q, 3);
  memcpy(q, "abc", 3);
  q += 3;
  *q++ = ET_EV_REGION_END;
  q = et__put_uvarint(q, 1000);
  q = et__put_uvarint(q, 0);
  q = et__put_uvarint(q, 1);
  chunk(o, ET_CHUNK_EVENTS, p, (size_t)(q - p));
}

/* Region events of thread 7 as docs/format.md gives them; "L" is
 * region_end_last, "S" region_last (task, name), "B" region_begin (task,
 * name), "E" region_end (task, name), each 10 ticks after the one before. */
static void region_chunk(out *o, uint64_t seq, const char *ops, const uint64_t *args) {
  uint8_t p[256], *q = p;
  q = et__put_uvarint(q, 7);
  *q++ = 0;
  q = et__put_uvarint(q, seq);
  q = et__put_uvarint(q, 1000000 + 1000 * seq); /* base ticks */
  q = et__put_uvarint(q, 0);
  for (const char *c = ops; *c; c++) {
    switch (*c) {
      case 'B':
        *q++ = ET_EV_REGION_BEGIN;
        q = et__put_uvarint(q, 10);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, 0); /* stack */
        break;
      case 'E':
        *q++ = ET_EV_REGION_END;
        q = et__put_uvarint(q, 10);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, *args++);
        break;
      case 'L':
        *q++ = ET_EV_REGION_END_LAST;
        q = et__put_uvarint(q, 10);
        break;
      case 'S':
        *q++ = ET_EV_REGION_LAST;
        q = et__put_uvarint(q, 0);
        q = et__put_uvarint(q, *args++);
        q = et__put_uvarint(q, *args++);
        break;
    }
  }
  chunk(o, ET_CHUNK_EVENTS, p, (size_t)(q - p));
}

typedef struct regions_seen {
  const et_trace *t;
  char got[512];
} regions_seen;

static void region_text(regions_seen *s, const et_trace *t, const et_event *ev) {
  const char *kind = et_trace_kind_name(t, ev->kind);
  const char *name = ev->nfields > 1 && ev->field[1] ? et_trace_string(t, ev->field[1]) : "-";
  size_t n = strlen(s->got);
  snprintf(s->got + n, sizeof s->got - n, "%s%s(%" PRIu64 ",%s)@%" PRIu64, n ? " " : "",
           strcmp(kind, "region_begin") == 0 ? "B" : strcmp(kind, "region_end") == 0 ? "E" : kind,
           ev->field[0], name ? name : "?", ev->time);
}

static int collect_regions(void *arg, const et_event *ev) {
  regions_seen *s = arg;
  region_text(s, s->t, ev);
  return 0;
}

static int stream_regions(void *arg, const et_trace *t, const et_event *ev) {
  region_text(arg, t, ev);
  return 0;
}

static void end(out *o) {
  uint8_t p[4] = {0, 0};
  chunk(o, ET_CHUNK_END, p, 2);
}

typedef struct seen {
  const et_trace *t;
  uint64_t times[16];
  const char *kinds[16];
  int n;
} seen;

static int collect(void *arg, const et_event *ev) {
  seen *s = arg;
  if (s->n < 16) {
    s->times[s->n] = ev->time;
    s->kinds[s->n] = et_trace_kind_name(s->t, ev->kind);
    s->n++;
  }
  return 0;
}

int main(void) {
  out *o = calloc(1, sizeof *o);
  et_trace *t;

  uint8_t cat[1 << 14];
  ok(et__catalog_encode(cat, sizeof cat) > 0, "the catalogue fits the writer's 16 KiB buffer");
  ok(et_trace_open_mem("", 0, &t) == ET_E_FORMAT, "empty input: ET_E_FORMAT");

  /* A newer writer, readable by this reader; an unknown kind and chunk type. */
  file_header(o, ET_FORMAT_VERSION + 1, 1);
  catalog_with_future_kind(o);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull); /* 2 ticks per ns */
  strings(o);
  uint8_t junk[5] = {1, 2, 3, 4, 5};
  chunk(o, 99, junk, sizeof junk); /* a chunk type from the future */
  events(o, 0, 1000000);
  events(o, 2, 1100000); /* sequence 1 is missing */
  end(o);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a newer trace that this version may read loads");
  seen s = {.t = t};
  et_trace_for_each(t, collect, &s);
  ok(s.n == 6, "all 6 events decode, the unknown kind too (%d)", s.n);
  ok(s.n == 6 && strcmp(s.kinds[1], "future_thing") == 0, "the unknown kind is named by the trace's catalogue");
  ok(s.n == 6 && s.times[0] == 500 && s.times[1] == 1000 && s.times[2] == 1500,
     "ticks become ns through the sync point (500, 1000, 1500: got %" PRIu64 ", %" PRIu64 ", %" PRIu64 ")",
     s.times[0], s.times[1], s.times[2]);
  ok(s.n == 6 && s.times[3] == 50500, "the second chunk starts from its own base (%" PRIu64 ")", s.times[3]);
  ok(et_trace_kind_count(t, 200) == 2, "the unknown kind is counted");
  et_trace_close(t);

  /* Without the catalogue, kind 200 cannot be skipped: the chunk is cut there, and said. */
  o->len = 0;
  file_header(o, 1, 1);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull);
  strings(o);
  events(o, 0, 1000000);
  end(o);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace without its catalogue loads");
  ok(et_trace_get_info(t)->events == 1 && et_trace_warning_count(t) == 1 &&
         strstr(et_trace_warning(t, 0), "undecodable event (kind 200)"),
     "an undescribed kind cuts its chunk with a warning");
  et_trace_close(t);
  o->len = 0;
  file_header(o, ET_FORMAT_VERSION + 1, 1);
  catalog_with_future_kind(o);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull);
  strings(o);
  chunk(o, 99, junk, sizeof junk);
  events(o, 0, 1000000);
  events(o, 2, 1100000);
  end(o);
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "reload");
  int missing = 0, newer = 0;
  for (size_t i = 0; i < et_trace_warning_count(t); i++) {
    const char *w = et_trace_warning(t, i);
    diag("%s", w);
    missing += strstr(w, "1 chunk(s) of its events are missing") != NULL;
    newer += strstr(w, "newer") != NULL;
  }
  ok(missing == 1, "the missing chunk is reported");
  ok(newer == 1, "the newer version is reported");
  const et_span *sp;
  ok(et_trace_thread_count(t) == 1 && et_trace_spans(t, 0, &sp) == 1 && sp[0].state == ET_STATE_RUNNING,
     "one running span for a thread that never waited");
  et_trace_close(t);

  /* Compact region ends: region_end_last takes the task and name of the
   * chunk's last region_begin or region_last; the register starts at (0, 0)
   * in every chunk; region_last is not an event, even at a chunk's end. */
  o->len = 0;
  file_header(o, ET_FORMAT_VERSION, ET_FORMAT_MIN_READER);
  catalog_with_future_kind(o);
  clock_point(o, 1000000, 5000000000ull, 2000000000ull); /* 2 ticks per ns */
  {
    uint8_t p[64], *q = p;
    q = et__put_uvarint(q, 1);
    q = et__put_uvarint(q, 4);
    memcpy(q, "work", 4);
    q += 4;
    q = et__put_uvarint(q, 2);
    q = et__put_uvarint(q, 5);
    memcpy(q, "other", 5);
    q += 5;
    chunk(o, ET_CHUNK_STRINGS, p, (size_t)(q - p));
  }
  region_chunk(o, 0, "BLBBLELE", (const uint64_t[]){5, 1, 6, 2, 5, 1, 6, 2, 3, 1});
  region_chunk(o, 1, "SLL", (const uint64_t[]){9, 2});
  region_chunk(o, 2, "L", NULL);
  region_chunk(o, 3, "BS", (const uint64_t[]){4, 1, 8, 2});
  end(o);
  static const char want[] =
      "B(5,work)@5 E(5,work)@10 B(6,other)@15 B(5,work)@20 E(5,work)@25 E(6,other)@30 E(5,work)@35 "
      "E(3,work)@40 E(9,other)@505 E(9,other)@510 E(0,-)@1005 B(4,work)@1505";
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace with compact region ends loads");
  regions_seen rs = {.t = t};
  et_trace_for_each(t, collect_regions, &rs);
  ok(strcmp(rs.got, want) == 0, "region_end_last reads as region_end with the register's task and name");
  if (strcmp(rs.got, want) != 0) diag("got  %s\nwant %s", rs.got, want);
  int rb = et_trace_kind_by_name(t, "region_begin"), re = et_trace_kind_by_name(t, "region_end");
  ok(et_trace_get_info(t)->events == 12 && rb > 0 && re > 0 && et_trace_kind_count(t, (unsigned)rb) == 4 &&
         et_trace_kind_count(t, (unsigned)re) == 8 && et_trace_warning_count(t) == 0,
     "12 events: 4 region_begin, 8 region_end, region_last not counted, no warnings (%" PRIu64 ")",
     et_trace_get_info(t)->events);
  ok(et_trace_kind_by_name(t, "region_end_last") < 0 && et_trace_kind_by_name(t, "region_last") < 0 &&
         et_trace_kind_name(t, ET_EV_REGION_END_LAST) == NULL && et_trace_field_count(t, ET_EV_REGION_LAST) == 0,
     "the encoding kinds are not in the reader's list of kinds");
  et_trace_close(t);
  {
    char tmp[] = "/tmp/et-test-reader-XXXXXX";
    int fd = mkstemp(tmp);
    bool wrote = fd >= 0 && write(fd, o->buf, o->len) == (ssize_t)o->len;
    if (fd >= 0) close(fd);
    regions_seen ss = {.t = NULL};
    et_stream_handlers h = {stream_regions, NULL};
    /* Streaming converts times with the sync points so far: compare the events only. */
    int err = wrote ? et_trace_stream(tmp, &h, &ss) : -1;
    ok(err == 0 && strcmp(ss.got, rs.got) == 0, "the streaming reader reads them the same");
    if (strcmp(ss.got, rs.got) != 0) diag("stream %s", ss.got);
    unlink(tmp);
  }

  /* A trace that needs a newer reader. */
  o->len = 0;
  file_header(o, ET_FORMAT_VERSION + 2, ET_FORMAT_VERSION + 1);
  end(o);
  ok(et_trace_open_mem(o->buf, o->len, &t) == ET_E_VERSION, "min reader above ours: ET_E_VERSION");

  /* Not a trace. */
  ok(et_trace_open_mem("hello world, not a trace", 24, &t) == ET_E_FORMAT, "text: ET_E_FORMAT");

  /* A bad payload checksum: the chunk is skipped and reported, the rest loads. */
  o->len = 0;
  file_header(o, 1, 1);
  catalog_with_future_kind(o);
  clock_point(o, 0, 0, 1000000000ull);
  strings(o);
  size_t at = o->len;
  events(o, 0, 0);
  events(o, 1, 10000);
  end(o);
  o->buf[at + ET_CHUNK_HEADER_LEN + 6] ^= 0x40; /* inside the first events payload */
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace with a damaged chunk loads");
  const et_trace_info *in = et_trace_get_info(t);
  ok(in->events == 3 && in->lost_chunks == 1, "the damaged chunk is skipped, the next kept (%" PRIu64 " events)",
     in->events);
  int crc = 0;
  for (size_t i = 0; i < et_trace_warning_count(t); i++)
    crc += strstr(et_trace_warning(t, i), "fails its checksum") != NULL;
  ok(crc == 1, "the checksum failure is reported");
  et_trace_close(t);

  /* A damaged chunk header: resynchronised at the next chunk. */
  o->buf[at + 9] ^= 0x01; /* payload length */
  TAP_REQUIRE(et_trace_open_mem(o->buf, o->len, &t) == 0, "a trace with a damaged chunk header loads");
  ok(et_trace_get_info(t)->events == 3 && et_trace_get_info(t)->complete,
     "the reader finds the next intact chunk and the END");
  et_trace_close(t);
  free(o);
  return tap_done();
}

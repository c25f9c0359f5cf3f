/* TSDL (CTF 1.8 metadata) from the event catalogue.
 *
 * Nothing here knows a particular kind: every event class is generated from
 * an et_kind_desc row, every field from its type letter by et__ctf_field_of(),
 * so a kind added to events/catalog.h (or carried by a newer trace's own
 * catalogue) is exported without touching this file.  The fixed parts (packet
 * header and context, event header, clock) match the byte layout described
 * in ctf_meta.h, which ctf.c writes.
 */
#include "ctf_meta.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "exectrace/version.h"
#include "util.h"

et__ctf_field et__ctf_field_of(const et_kind_desc *k, unsigned f) {
  et__ctf_field c = {ET__CTF_INT, 0, 0, ET__CTF_ENUM_NONE};
  if (f >= k->nfields) return c;
  const char *name = k->fname[f] ? k->fname[f] : "";
  switch (k->ftype[f]) {
    case ET_FT_I: c.is_signed = 1; break;
    case ET_FT_P: c.hex = 1; break;
    case ET_FT_S: c.repr = ET__CTF_STRING; break;
    case ET_FT_K: c.repr = ET__CTF_ADDRS; c.hex = 1; break;
    case ET_FT_B: c.repr = ET__CTF_TEXT; break;
    case ET_FT_U:
      if (strcmp(name, "reason") == 0) {
        c.repr = ET__CTF_ENUM;
        c.enum_id = k->name && strcmp(k->name, "drop") == 0 ? ET__CTF_ENUM_DROP_REASON
                                                            : ET__CTF_ENUM_BLOCK_REASON;
      } else if (strcmp(name, "fdclass") == 0) {
        c.repr = ET__CTF_ENUM;
        c.enum_id = ET__CTF_ENUM_FD_CLASS;
      }
      break;
    default: break; /* T, and letters we do not know: plain unsigned */
  }
  return c;
}

const char *et__ctf_enum_type(unsigned enum_id) {
  switch (enum_id) {
    case ET__CTF_ENUM_BLOCK_REASON: return "et_block_reason_t";
    case ET__CTF_ENUM_FD_CLASS: return "et_fd_class_t";
    case ET__CTF_ENUM_DROP_REASON: return "et_drop_reason_t";
    default: return NULL;
  }
}

unsigned et__ctf_enum_size(unsigned enum_id) {
  switch (enum_id) {
    case ET__CTF_ENUM_BLOCK_REASON: return ET_BLOCK_REASON_COUNT;
    case ET__CTF_ENUM_FD_CLASS: return ET_FD_CLASS_COUNT;
    case ET__CTF_ENUM_DROP_REASON: return ET_DROP_REASON_COUNT;
    default: return 0;
  }
}

const char *et__ctf_enum_label(unsigned enum_id, unsigned v) {
  if (v >= et__ctf_enum_size(enum_id)) return NULL;
  const char *s = NULL;
  switch (enum_id) {
    case ET__CTF_ENUM_BLOCK_REASON: s = et__block_reason_name(v); break;
    case ET__CTF_ENUM_FD_CLASS: s = et__fd_class_name(v); break;
    case ET__CTF_ENUM_DROP_REASON: s = v ? et__drop_reason_name(v) : NULL; break; /* 0 is no reason */
    default: break;
  }
  return s && strcmp(s, "unknown") != 0 ? s : NULL;
}

/* ---- identifiers ---- */

static const char *const keywords[] = {
    "align",   "callsite", "const",  "char",    "clock",   "double",   "enum",
    "env",     "event",    "floating_point",    "float",   "integer",  "int",
    "long",    "short",    "signed", "stream",  "string",  "struct",   "trace",
    "typealias", "typedef", "unsigned", "variant", "void", "_Bool",    "_Complex",
    "_Imaginary", "true",  "false",  "TRUE",    "FALSE",   "enumerator",
};

static bool is_keyword(const char *s) {
  for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
    if (strcmp(s, keywords[i]) == 0) return true;
  return false;
}

/* The name babeltrace2 shows: an identifier that neither starts with an
 * underscore (a reader strips one) nor with a digit. */
static void display_base(const char *name, char *out, size_t n) {
  size_t o = 0;
  if (!name || !name[0] || name[0] == '_' || (name[0] >= '0' && name[0] <= '9')) {
    out[o++] = 'f';
    if (name && name[0] && name[0] != '_') out[o++] = '_';
  }
  for (const char *p = name ? name : ""; *p && o + 1 < n - 8; p++) {
    char c = *p;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    out[o++] = ok ? c : '_';
  }
  out[o] = 0;
}

typedef struct names {
  char shown[2 * ET_MAX_FIELDS][128];
  unsigned n;
} names;

static bool taken(const names *u, const char *s) {
  for (unsigned i = 0; i < u->n; i++)
    if (strcmp(u->shown[i], s) == 0) return true;
  return false;
}

static void take(names *u, const char *s) {
  if (u->n < 2 * ET_MAX_FIELDS) snprintf(u->shown[u->n++], sizeof u->shown[0], "%s", s);
}

/* The shown name of field f, unique among fields 0..f (and their counts). */
static void shown_name(const et_kind_desc *k, unsigned f, char *out, size_t n) {
  names used = {.n = 0};
  char base[64], cand[96], len[128];
  for (unsigned i = 0; i <= f && i < k->nfields; i++) {
    display_base(k->fname[i], base, sizeof base);
    bool counted =
        et__ctf_field_of(k, i).repr == ET__CTF_ADDRS || et__ctf_field_of(k, i).repr == ET__CTF_TEXT;
    for (unsigned suffix = 1;; suffix++) {
      if (suffix == 1) snprintf(cand, sizeof cand, "%s", base);
      else snprintf(cand, sizeof cand, "%s_%u", base, suffix);
      snprintf(len, sizeof len, "_%s_length", cand);
      if (!taken(&used, cand) && !(counted && taken(&used, len))) break;
    }
    take(&used, cand);
    if (counted) take(&used, len);
    if (i == f) snprintf(out, n, "%s", cand);
  }
}

void et__ctf_field_ident(const et_kind_desc *k, unsigned f, char *out, size_t n) {
  char shown[96];
  shown_name(k, f, shown, sizeof shown);
  snprintf(out, n, "%s%s", is_keyword(shown) ? "_" : "", shown);
}

/* ---- writing ---- */

/* A TSDL string literal: quotes and backslashes escaped, control bytes and
 * invalid UTF-8 replaced, so any name or path from a trace parses. */
static void literal(FILE *f, const char *s) {
  fputc('"', f);
  size_t n = s ? strlen(s) : 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = (unsigned char)s[i];
    size_t l = et__utf8_len((const unsigned char *)s + i, n - i);
    if (c == '"' || c == '\\') {
      fputc('\\', f);
      fputc(c, f);
      i++;
    } else if (l == 0 || c < 0x20 || c == 0x7f) {
      fputc('?', f);
      i++;
    } else {
      fwrite(s + i, 1, l, f);
      i += l;
    }
  }
  fputc('"', f);
}

static void uuid_text(FILE *f, const uint8_t u[16]) {
  fputc('"', f);
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) fputc('-', f);
    fprintf(f, "%02x", u[i]);
  }
  fputc('"', f);
}

static void write_enums(FILE *f) {
  for (unsigned e = 1; e < ET__CTF_ENUM_COUNT; e++) {
    fprintf(f, "typealias enum : uint64_t {\n");
    unsigned n = et__ctf_enum_size(e), written = 0;
    for (unsigned v = 0; v < n; v++) {
      const char *label = et__ctf_enum_label(e, v);
      if (!label) continue;
      fprintf(f, "%s\t", written++ ? ",\n" : "");
      literal(f, label);
      fprintf(f, " = %u", v);
    }
    fprintf(f, "\n} := %s;\n\n", et__ctf_enum_type(e));
  }
}

static void write_field(FILE *f, const et_kind_desc *k, unsigned i) {
  char id[100];
  et__ctf_field_ident(k, i, id, sizeof id);
  char shown[96];
  shown_name(k, i, shown, sizeof shown);
  et__ctf_field c = et__ctf_field_of(k, i);
  switch (c.repr) {
    case ET__CTF_ENUM: fprintf(f, "\t\t%s %s;\n", et__ctf_enum_type(c.enum_id), id); break;
    case ET__CTF_STRING: fprintf(f, "\t\tstring { encoding = UTF8; } %s;\n", id); break;
    case ET__CTF_ADDRS:
      fprintf(f, "\t\tuint8_t __%s_length;\n\t\tuint64_hex_t %s[__%s_length];\n", shown, id, shown);
      break;
    case ET__CTF_TEXT:
      fprintf(f, "\t\tuint32_t __%s_length;\n\t\tutf8_byte_t %s[__%s_length];\n", shown, id, shown);
      break;
    default:
      fprintf(f, "\t\t%s %s;\n", c.is_signed ? "int64_t" : c.hex ? "uint64_hex_t" : "uint64_t", id);
      break;
  }
}

/* An env integer must fit int64; larger values are written as text. */
static void env_u64(FILE *f, const char *key, uint64_t v) {
  if (v <= INT64_MAX) fprintf(f, "\t%s = %" PRIu64 ";\n", key, v);
  else fprintf(f, "\t%s = \"%" PRIu64 "\";\n", key, v);
}

int et__ctf_meta_write(FILE *f, const et__ctf_desc *d) {
  if (d->nkinds > ET__CTF_MAX_CLASSES) return -EINVAL;
  fprintf(f,
          "/* CTF 1.8 */\n\n"
          "/* Written by exectrace export from the trace's event catalogue. */\n\n"
          "typealias integer { size = 8; align = 8; signed = false; } := uint8_t;\n"
          "typealias integer { size = 16; align = 8; signed = false; } := uint16_t;\n"
          "typealias integer { size = 32; align = 8; signed = false; } := uint32_t;\n"
          "typealias integer { size = 64; align = 8; signed = false; } := uint64_t;\n"
          "typealias integer { size = 64; align = 8; signed = true; } := int64_t;\n"
          "typealias integer { size = 64; align = 8; signed = false; base = 16; } := uint64_hex_t;\n"
          "typealias integer { size = 8; align = 8; signed = false; encoding = UTF8; } := utf8_byte_t;\n\n");
  fprintf(f, "trace {\n\tmajor = 1;\n\tminor = 8;\n\tuuid = ");
  uuid_text(f, d->uuid);
  fprintf(f, ";\n\tbyte_order = le;\n"
             "\tpacket.header := struct {\n"
             "\t\tuint32_t magic;\n"
             "\t\tuint8_t uuid[16];\n"
             "\t\tuint32_t stream_id;\n"
             "\t\tuint64_t stream_instance_id;\n"
             "\t};\n};\n\n");

  fprintf(f, "env {\n\ttracer_name = \"exectrace\";\n");
  fprintf(f, "\ttracer_major = %d;\n\ttracer_minor = %d;\n\ttracer_patch = %d;\n", ET_VERSION_MAJOR,
          ET_VERSION_MINOR, ET_VERSION_PATCH);
  if (d->pid) env_u64(f, "vpid", d->pid); /* babeltrace2 shows procname and vpid on each line */
  if (d->procname && d->procname[0]) {
    fprintf(f, "\tprocname = ");
    literal(f, d->procname);
    fprintf(f, ";\n");
  }
  fprintf(f, "\texe = ");
  literal(f, d->exe);
  fprintf(f, ";\n\tcmdline = ");
  literal(f, d->cmdline);
  fprintf(f, ";\n");
  env_u64(f, "start_monotonic_ns", d->start_monotonic_ns);
  env_u64(f, "events_dropped", d->dropped);
  fprintf(f, "};\n\n");

  fprintf(f, "clock {\n\tname = \"monotonic\";\n\tuuid = ");
  uuid_text(f, d->uuid);
  fprintf(f, ";\n\tdescription = ");
  literal(f, d->clock_description);
  fprintf(f, ";\n\tfreq = 1000000000;\n\tprecision = 1;\n"
             "\toffset_s = %" PRIu64 ";\n\toffset = %" PRIu64 ";\n\tabsolute = %s;\n};\n\n",
          d->clock_offset_ns / 1000000000u, d->clock_offset_ns % 1000000000u,
          d->clock_epoch ? "true" : "false");
  fprintf(f, "typealias integer { size = 64; align = 8; signed = false; map = clock.monotonic.value; }"
             " := uint64_clock_t;\n\n");
  write_enums(f);

  fprintf(f, "stream {\n\tid = 0;\n"
             "\tevent.header := struct {\n\t\tuint16_t id;\n\t\tuint64_clock_t timestamp;\n\t};\n"
             "\tpacket.context := struct {\n"
             "\t\tuint64_clock_t timestamp_begin;\n"
             "\t\tuint64_clock_t timestamp_end;\n"
             "\t\tuint64_t content_size;\n"
             "\t\tuint64_t packet_size;\n"
             "\t\tuint64_t packet_seq_num;\n"
             "\t\tuint64_t events_discarded;\n"
             "\t\tuint64_t tid;\n"
             "\t\tuint8_t signal;\n"
             "\t};\n};\n");

  for (size_t i = 0; i < d->nkinds; i++) {
    const et_kind_desc *k = &d->kinds[i];
    char name[300];
    snprintf(name, sizeof name, "%s%s", d->prefix ? d->prefix : "", k->name ? k->name : "unknown");
    fprintf(f, "\nevent {\n\tname = ");
    literal(f, name);
    fprintf(f, ";\n\tid = %zu;\n\tstream_id = 0;\n", i);
    /* An empty payload too, as LTTng declares one: babeltrace2 shows "{ }". */
    fprintf(f, "\tfields := struct {\n");
    for (unsigned j = 0; j < k->nfields && j < ET_MAX_FIELDS; j++) write_field(f, k, j);
    fprintf(f, "\t};\n");
    fprintf(f, "};\n");
  }
  return ferror(f) ? -EIO : 0;
}

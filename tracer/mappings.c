/* The process's executable mappings, with build IDs, for later symbolization.
 *
 * Read with dl_iterate_phdr from the writer thread only (it takes the loader's
 * lock, so never from the hot path or a signal handler).  Build IDs come from
 * the PT_NOTE segments already in memory, so no file is opened; the main
 * program's path comes from /proc/self/exe.  The writer rescans when the
 * loader's add/remove counters move, so dlopen'd libraries are covered.
 */
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <unistd.h>

#include "tracer.h"

typedef struct scan {
  uint8_t *buf;
  size_t cap, len;
  bool oom;
  char exe[4096];
} scan;

static bool reserve(scan *s, size_t more) {
  if (s->len + more <= s->cap) return true;
  size_t cap = s->cap ? s->cap * 2 : 4096;
  while (cap < s->len + more) cap *= 2;
  uint8_t *b = realloc(s->buf, cap);
  if (!b) {
    s->oom = true;
    return false;
  }
  s->buf = b;
  s->cap = cap;
  return true;
}

static size_t build_id(const struct dl_phdr_info *info, const uint8_t **out) {
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE) continue;
    const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)(const void *)p;
      size_t namesz = (nh->n_namesz + 3u) & ~3u, descsz = (nh->n_descsz + 3u) & ~3u;
      const uint8_t *name = p + sizeof *nh, *desc = name + namesz;
      if (desc + descsz > end) break;
      if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        *out = desc;
        return nh->n_descsz;
      }
      p = desc + descsz;
    }
  }
  return 0;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  scan *s = arg;
  const char *path = info->dlpi_name;
  if (path == NULL || path[0] == 0) path = s->exe;
  const uint8_t *bid = NULL;
  size_t bid_len = build_id(info, &bid);
  size_t path_len = strlen(path);
  long page = sysconf(_SC_PAGESIZE);
  uintptr_t pmask = ~(uintptr_t)(page > 0 ? page - 1 : 4095);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & pmask;
    uintptr_t limit = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + ~pmask) & pmask;
    uintptr_t offset = ph->p_offset & pmask;
    if (!reserve(s, 5 * ET_VARINT_MAX + path_len + bid_len)) return 1;
    uint8_t *p = s->buf + s->len;
    p = et__put_uvarint(p, start);
    p = et__put_uvarint(p, limit);
    p = et__put_uvarint(p, offset);
    p = et__put_uvarint(p, path_len);
    memcpy(p, path, path_len);
    p += path_len;
    p = et__put_uvarint(p, bid_len);
    if (bid_len) memcpy(p, bid, bid_len);
    p += bid_len;
    s->len = (size_t)(p - s->buf);
  }
  return 0;
}

size_t et__mappings_encode(uint8_t **buf, size_t *cap) {
  scan s = {.buf = *buf, .cap = *cap};
  ssize_t n = readlink("/proc/self/exe", s.exe, sizeof s.exe - 1);
  s.exe[n > 0 ? n : 0] = 0;
  dl_iterate_phdr(add_object, &s);
  *buf = s.buf;
  *cap = s.cap;
  return s.len;
}

static int counters(struct dl_phdr_info *info, size_t size, void *arg) {
  unsigned long long *c = arg;
  if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
  }
  return 1; /* the counters are the same in every entry: stop at the first */
}

bool et__mappings_changed(unsigned long long last[2]) {
  unsigned long long now[2] = {0, 0};
  dl_iterate_phdr(counters, now);
  bool changed = now[0] != last[0] || now[1] != last[1];
  last[0] = now[0];
  last[1] = now[1];
  return changed;
}

/* ---- read-only memory, for the string cache ---- */

typedef struct ro_scan {
  struct et__range *r;
  size_t n, cap;
  bool oom;
} ro_scan;

static int add_readonly(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  ro_scan *s = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || ph->p_memsz == 0) continue;
    if (s->n == s->cap) {
      size_t cap = s->cap ? s->cap * 2 : 64;
      struct et__range *r = realloc(s->r, cap * sizeof *r);
      if (!r) {
        s->oom = true;
        return 1;
      }
      s->r = r;
      s->cap = cap;
    }
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
    s->r[s->n++] = (struct et__range){lo, lo + ph->p_memsz};
  }
  return 0;
}

static int cmp_range(const void *a, const void *b) {
  const struct et__range *x = a, *y = b;
  return x->lo < y->lo ? -1 : x->lo > y->lo;
}

et__ranges *et__readonly_scan(void) {
  ro_scan s = {0};
  dl_iterate_phdr(add_readonly, &s);
  if (s.oom) {
    free(s.r);
    return NULL;
  }
  if (s.n > 1) qsort(s.r, s.n, sizeof *s.r, cmp_range);
  et__ranges *out = malloc(sizeof *out + s.n * sizeof out->r[0]);
  if (out) {
    out->n = s.n;
    if (s.n) memcpy(out->r, s.r, s.n * sizeof out->r[0]);
  }
  free(s.r);
  return out;
}

/* Published ranges stay allocated: a thread may be reading an old one.
 * They change only when libraries are loaded or unloaded. */
static et__ranges *retired_ranges[64];
static unsigned nretired;

void et__readonly_update(bool unloaded) {
  et__ranges *fresh = et__readonly_scan();
  if (unloaded) atomic_fetch_add_explicit(&et__g.ro_gen, 1, memory_order_acq_rel);
  const et__ranges *old = atomic_exchange_explicit(&et__g.ro, fresh, memory_order_acq_rel);
  if (old && nretired < sizeof retired_ranges / sizeof retired_ranges[0])
    retired_ranges[nretired++] = (et__ranges *)old;
}

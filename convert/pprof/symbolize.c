/* Symbolization of the trace's addresses with elfutils' libdwfl.
 *
 * The trace names each executable mapping of the traced process: its address
 * range, file offset, path and build id.  Each file is reported to an offline
 * Dwfl at the load bias it had in the process (worked out from its program
 * headers: the executable PT_LOAD whose page-aligned offset is the mapping's),
 * so trace addresses can be looked up as they are, PIE or not.  A file whose
 * build id differs from the trace's is not used: the binary was rebuilt, and
 * its names would be wrong.  Names come from DWARF (with inlined frames, from
 * dwarf_getscopes, innermost first) when there is debug information, found
 * next to the file or by build id under the debug directories; otherwise
 * from .symtab or .dynsym; a missing file leaves the addresses unnamed, for
 * pprof to symbolize later from the mapping's path and build id.  The vDSO,
 * which has no file, is read from this process's own copy when the build ids
 * say it is the same.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pprof.h"

typedef struct smap {
  uint64_t start, limit;
  size_t index;     /* in the trace */
  Dwfl_Module *mod; /* NULL: nothing to symbolize with */
} smap;

struct et__sym {
  Dwfl *dwfl;
  char *debuginfo_path;
  Dwfl_Callbacks cb;
  smap *maps; /* sorted by start */
  size_t n;
  size_t *pos; /* trace index -> position in maps */
  et__sym_mapinfo *info; /* by trace index */
  char *path[ET__SYM_MAX_FRAMES]; /* scratch for joined file names, per frame */
  size_t pathcap[ET__SYM_MAX_FRAMES];
};

/* The load bias of the file for a mapping of it: the address its vaddr 0
 * had in the process.  The segment the mapping starts with is the PT_LOAD
 * whose page-aligned offset is the mapping's: the executable one for the
 * tracer's mappings (one per executable segment), the first one for LTTng's
 * statedump (one per object, from its base address, offset 0).  Failing
 * that, the first executable segment.  false if no segment fits. */
static bool load_bias(Elf *elf, const et_mapping *m, uint64_t *bias, bool *exec) {
  GElf_Ehdr eh;
  size_t nph;
  if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &nph) != 0) return false;
  *exec = eh.e_type == ET_EXEC;
  long pg = sysconf(_SC_PAGESIZE);
  uint64_t mask = ~(uint64_t)((pg > 0 ? (uint64_t)pg : 4096u) - 1);
  int best = 0; /* 3: executable, same offset; 2: same offset; 1: first executable */
  for (size_t i = 0; i < nph && best < 3; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
    bool x = (ph.p_flags & PF_X) != 0, same = (ph.p_offset & mask) == m->offset;
    int rank = x && same ? 3 : same ? 2 : x ? 1 : 0;
    if (rank > best) {
      *bias = m->start - (ph.p_vaddr & mask);
      best = rank;
    }
  }
  return best > 0;
}

static bool has_symtab(Elf *elf) {
  Elf_Scn *scn = NULL;
  while ((scn = elf_nextscn(elf, scn)) != NULL) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) return true;
  }
  return false;
}

static bool build_id_matches(Dwfl_Module *mod, const et_mapping *m) {
  if (m->build_id_len == 0) return true; /* nothing to compare with */
  const unsigned char *bits;
  GElf_Addr vaddr;
  int n = dwfl_module_build_id(mod, &bits, &vaddr);
  return n > 0 && (size_t)n == m->build_id_len && memcmp(bits, m->build_id, m->build_id_len) == 0;
}

static int cmp_smap(const void *a, const void *b) {
  const smap *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

/* The kernel's vDSO has no file: a copy of this process's own, in a memfd.
 * It is the traced process's only if the build ids match (same kernel),
 * which report()'s caller checks like any other file's. */
static int vdso_file(void) {
  const unsigned char *base = (const unsigned char *)getauxval(AT_SYSINFO_EHDR);
  if (!base) return -1;
  const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)(const void *)base;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0) return -1;
  size_t size = (size_t)eh->e_shoff + (size_t)eh->e_shnum * eh->e_shentsize; /* section headers come last */
  if (size < sizeof *eh || size > (1u << 20)) return -1;
  int fd = memfd_create("vdso", MFD_CLOEXEC);
  if (fd < 0) return -1;
  if (write(fd, base, size) != (ssize_t)size) {
    close(fd);
    return -1;
  }
  return fd;
}

static bool is_vdso(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  return strncmp(base, "linux-vdso", 10) == 0 || strncmp(base, "linux-gate", 10) == 0 ||
         strcmp(path, "[vdso]") == 0;
}

/* Reports the file of mapping m; NULL when it cannot be used. */
static Dwfl_Module *report(et__sym *s, const et_mapping *m) {
  if (!m->path || !m->path[0]) return NULL;
  bool vdso = is_vdso(m->path);
  if (m->path[0] == '[' && !vdso) return NULL; /* [heap] and the like */
  int fd = vdso ? vdso_file() : open(m->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  uint64_t bias = 0;
  bool exec = false, ok = elf && load_bias(elf, m, &bias, &exec);
  if (elf) elf_end(elf);
  if (!ok) {
    close(fd);
    return NULL;
  }
  /* On success libdwfl owns fd; on failure it is ours to close. */
  Dwfl_Module *mod = dwfl_report_elf(s->dwfl, m->path, m->path, fd, exec ? 0 : bias, false);
  if (!mod) close(fd);
  return mod;
}

et__sym *et__sym_open(const et_trace *t) {
  elf_version(EV_CURRENT);
  et__sym *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  size_t n = et_trace_mapping_count(t);
  s->maps = calloc(n ? n : 1, sizeof *s->maps);
  s->info = calloc(n ? n : 1, sizeof *s->info);
  s->pos = calloc(n ? n : 1, sizeof *s->pos);
  if (!s->maps || !s->info || !s->pos) {
    et__sym_close(s);
    return NULL;
  }
  s->cb.find_elf = dwfl_build_id_find_elf;
  s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
  s->cb.section_address = dwfl_offline_section_address;
  s->cb.debuginfo_path = &s->debuginfo_path;
  s->dwfl = dwfl_begin(&s->cb);
  if (s->dwfl) dwfl_report_begin(s->dwfl);
  for (size_t i = 0; i < n; i++) {
    const et_mapping *m = et_trace_mapping(t, i);
    smap *e = &s->maps[s->n++];
    *e = (smap){m->start, m->limit, i, NULL};
    if (!s->dwfl) continue;
    /* Another segment of the same file at the same place: one module. */
    for (size_t j = 0; j + 1 < s->n; j++) {
      const et_mapping *o = et_trace_mapping(t, s->maps[j].index);
      if (s->maps[j].mod && strcmp(o->path, m->path) == 0 && o->start - o->offset == m->start - m->offset) {
        e->mod = s->maps[j].mod;
        break;
      }
    }
    if (!e->mod) e->mod = report(s, m);
  }
  if (s->dwfl) dwfl_report_end(s->dwfl, NULL, NULL);
  for (size_t i = 0; i < s->n; i++) {
    smap *e = &s->maps[i];
    if (!e->mod) continue;
    const et_mapping *m = et_trace_mapping(t, e->index);
    GElf_Addr bias;
    Elf *elf = dwfl_module_getelf(e->mod, &bias);
    if (!elf || !build_id_matches(e->mod, m)) {
      e->mod = NULL;
      continue;
    }
    Dwarf_Addr dbias;
    bool dwarf = dwfl_module_getdwarf(e->mod, &dbias) != NULL;
    s->info[e->index].has_functions = dwarf || has_symtab(elf);
    s->info[e->index].has_lines = dwarf;
  }
  qsort(s->maps, s->n, sizeof *s->maps, cmp_smap);
  for (size_t i = 0; i < s->n; i++) s->pos[s->maps[i].index] = i;
  return s;
}

void et__sym_close(et__sym *s) {
  if (!s) return;
  if (s->dwfl) dwfl_end(s->dwfl);
  for (size_t i = 0; i < ET__SYM_MAX_FRAMES; i++) free(s->path[i]);
  free(s->maps);
  free(s->info);
  free(s->pos);
  free(s);
}

long et__sym_mapping_of(const et__sym *s, uint64_t addr) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s->maps[mid].start <= addr) lo = mid + 1;
    else hi = mid;
  }
  if (lo == 0) return -1;
  const smap *e = &s->maps[lo - 1];
  return addr < e->limit ? (long)e->index : -1;
}

et__sym_mapinfo et__sym_mapping_info(const et__sym *s, size_t m) {
  return s->info[m];
}

static const smap *by_index(const et__sym *s, long m) {
  return m >= 0 && (size_t)m < s->n ? &s->maps[s->pos[m]] : NULL;
}

static const char *linkage_name(Dwarf_Die *die) {
  Dwarf_Attribute a;
  const char *name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &a));
  if (!name) name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a));
  return name;
}

/* Removes "x/.." and "." segments of an absolute path, in place. */
static void normalize(char *p) {
  char *out = p;
  const char *in = p;
  while (*in) {
    while (*in == '/') in++;
    const char *seg = in;
    while (*in && *in != '/') in++;
    size_t len = (size_t)(in - seg);
    if (len == 0 || (len == 1 && seg[0] == '.')) continue;
    if (len == 2 && seg[0] == '.' && seg[1] == '.') {
      while (out > p && *--out != '/') {
      }
      continue;
    }
    *out++ = '/';
    memmove(out, seg, len);
    out += len;
  }
  if (out == p) *out++ = '/';
  *out = 0;
}

/* name as an absolute path: DWARF may name files relative to the
 * compilation directory.  The result lives in scratch slot k. */
static const char *full_path(et__sym *s, Dwarf_Die *cu, const char *name, size_t k) {
  if (!name || name[0] == '/' || k >= ET__SYM_MAX_FRAMES) return name;
  Dwarf_Attribute a;
  const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &a));
  if (!dir || dir[0] != '/') return name;
  while (name[0] == '.' && name[1] == '/') name += 2;
  size_t need = strlen(dir) + strlen(name) + 2;
  if (need > s->pathcap[k]) {
    char *p = realloc(s->path[k], need);
    if (!p) return name;
    s->path[k] = p;
    s->pathcap[k] = need;
  }
  snprintf(s->path[k], need, "%s/%s", dir, name);
  normalize(s->path[k]);
  return s->path[k];
}

static bool is_function(Dwarf_Die *d) {
  int tag = dwarf_tag(d);
  return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine;
}

/* The frames of addr from DWARF: the innermost function that contains it
 * (perhaps inlined) at the line table's position, then each function it was
 * inlined into, at the call site, up to the real (out-of-line) one.
 * dwarf_getscopes finds the innermost function; its parents in the DIE tree
 * (dwarf_getscopes_die) are the concrete callers. */
static size_t dwarf_frames(et__sym *s, Dwfl_Module *mod, uint64_t addr, const char *file, int line, et__sym_frame *out,
                           size_t max) {
  Dwarf_Addr bias;
  Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
  if (!cu) return 0;
  Dwarf_Die *scopes = NULL, *chain = NULL;
  int ns = dwarf_getscopes(cu, addr - bias, &scopes), nc = 0;
  for (int i = 0; i < ns; i++)
    if (is_function(&scopes[i])) {
      nc = dwarf_getscopes_die(&scopes[i], &chain);
      break;
    }
  free(scopes);
  if (nc <= 0) return 0;
  Dwarf_Files *files = NULL;
  size_t nfiles = 0;
  if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0) files = NULL;
  size_t n = 0;
  for (int i = 0; i < nc && n < max; i++) {
    Dwarf_Die *d = &chain[i];
    if (!is_function(d)) continue;
    et__sym_frame *f = &out[n++];
    f->function = dwarf_diename(d);
    f->linkage = linkage_name(d);
    const char *decl = dwarf_decl_file(d);
    f->file = full_path(s, cu, decl ? decl : file, n - 1);
    f->line = line;
    int dl = 0;
    f->start_line = dwarf_decl_line(d, &dl) == 0 ? dl : 0;
    if (dwarf_tag(d) == DW_TAG_subprogram) break;
    /* The caller's position is this inlined call's site. */
    Dwarf_Attribute a;
    Dwarf_Word w;
    line = dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &a), &w) == 0 ? (int)w : 0;
    file = NULL;
    if (files && dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &a), &w) == 0 && w < nfiles)
      file = dwarf_filesrc(files, w, NULL, NULL);
  }
  free(chain);
  return n;
}

size_t et__sym_lookup(et__sym *s, long m, uint64_t addr, et__sym_frame *out, size_t max) {
  if (max == 0) return 0;
  const smap *e = by_index(s, m);
  if (!e || !e->mod) return 0;
  GElf_Off off;
  GElf_Sym sym;
  const char *symname = dwfl_module_addrinfo(e->mod, addr, &off, &sym, NULL, NULL, NULL);
  const char *file = NULL;
  int line = 0;
  Dwfl_Line *ln = dwfl_module_getsrc(e->mod, addr);
  if (ln) file = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);
  if (max > ET__SYM_MAX_FRAMES) max = ET__SYM_MAX_FRAMES;
  size_t n = dwarf_frames(s, e->mod, addr, file, line, out, max);
  if (n == 0) {
    if (!symname && !file) return 0;
    Dwarf_Addr bias;
    Dwarf_Die *cu = file ? dwfl_module_addrdie(e->mod, addr, &bias) : NULL;
    out[0] = (et__sym_frame){symname, NULL, cu ? full_path(s, cu, file, 0) : file, line, 0};
    return 1;
  }
  /* The out-of-line function's DWARF entry may lack a name; the symbol has one. */
  if (!out[n - 1].function) out[n - 1].function = symname;
  for (size_t i = 0; i < n; i++)
    if (out[i].linkage && out[i].function && strcmp(out[i].linkage, out[i].function) == 0) out[i].linkage = NULL;
  return n;
}

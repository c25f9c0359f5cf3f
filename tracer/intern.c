/* Interned strings and deduplicated stacks.
 *
 * Both tables are insert-only open-addressing hash tables whose slots point
 * into an append-only arena.  A thread that misses claims arena space with one
 * atomic add, fills the entry, and publishes it with a compare-and-swap on an
 * empty slot; the winner also pushes the entry on the session's list of
 * definitions to write.  The writer takes that list after taking the chunks
 * that use the ids, so every definition reaches the file before its first
 * use.  There are no locks, so a signal handler can intern too; a full table
 * answers id 0 and the loss is counted.
 */
#include <errno.h>
#include <sys/mman.h>

#include "session.h"

#define ET_MAX_LOAD_NUM 3 /* tables refuse inserts beyond 3/4 full */
#define ET_MAX_LOAD_DEN 4

int et__table_init(et__table *t, uint8_t type, uint32_t cap, size_t arena_cap) {
  memset(t, 0, sizeof *t);
  t->type = type;
  t->cap = cap;
  size_t slots_len = (size_t)cap * sizeof(*t->slots);
  void *slots = mmap(NULL, slots_len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (slots == MAP_FAILED) return -errno;
  void *by_id = mmap(NULL, slots_len, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  void *arena = mmap(NULL, arena_cap, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (arena == MAP_FAILED || by_id == MAP_FAILED) {
    int err = -errno;
    munmap(slots, slots_len);
    if (by_id != MAP_FAILED) munmap(by_id, slots_len);
    if (arena != MAP_FAILED) munmap(arena, arena_cap);
    return err;
  }
  t->slots = slots;
  t->by_id = by_id;
  t->arena = arena;
  t->arena_cap = arena_cap;
  return 0;
}

void et__table_release(et__table *t) {
  /* Late writers may still probe the table: keep the mapping, drop the pages. */
  if (t->slots) madvise((void *)t->slots, (size_t)t->cap * sizeof(*t->slots), MADV_DONTNEED);
  if (t->by_id) madvise((void *)t->by_id, (size_t)t->cap * sizeof(*t->by_id), MADV_DONTNEED);
  if (t->arena) madvise(t->arena, t->arena_cap, MADV_DONTNEED);
}

static uint64_t hash_bytes(const void *data, size_t len) {
  /* FNV-1a with a final mix; strings here are short names. */
  const unsigned char *p = data;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  h ^= h >> 29;
  return h * 0xbf58476d1ce4e5b9ull;
}


static et__meta *arena_alloc(et__table *t, size_t data_len) {
  size_t need = (sizeof(et__meta) + data_len + 7) & ~(size_t)7;
  size_t off = atomic_fetch_add_explicit(&t->arena_used, need, memory_order_relaxed);
  if (off + need > t->arena_cap) return NULL;
  return (et__meta *)(void *)(t->arena + off);
}

static void push_pending(et__session *s, et__meta *m) {
  et__meta *head = atomic_load_explicit(&s->pending, memory_order_relaxed);
  do {
    m->next = head;
  } while (!atomic_compare_exchange_weak_explicit(&s->pending, &head, m, memory_order_release,
                                                  memory_order_relaxed));
}

et__meta *et__pending_take(et__session *s) {
  et__meta *m = atomic_exchange_explicit(&s->pending, NULL, memory_order_acquire), *rev = NULL;
  while (m) {
    et__meta *next = m->next;
    m->next = rev;
    rev = m;
    m = next;
  }
  return rev;
}

static bool same(const et__meta *e, uint64_t hash, const void *data, uint32_t len, size_t bytes) {
  return e->hash == hash && e->len == len && memcmp(e->data, data, bytes) == 0;
}

/* Finds or inserts data; returns the id, or 0 when the table is full. */
static uint32_t intern(et__session *s, et__table *t, const void *data, uint32_t len, size_t bytes,
                       bool nul, uint64_t hash) {
  uint32_t mask = t->cap - 1, idx = (uint32_t)hash & mask;
  et__meta *mine = NULL;
  for (uint32_t probe = 0; probe < t->cap; probe++, idx = (idx + 1) & mask) {
    et__meta *e = atomic_load_explicit(&t->slots[idx], memory_order_acquire);
    while (e == NULL) {
      if (atomic_load_explicit(&t->count, memory_order_relaxed) >=
          t->cap / ET_MAX_LOAD_DEN * ET_MAX_LOAD_NUM)
        return 0;
      if (mine == NULL) {
        mine = arena_alloc(t, bytes + (nul ? 1 : 0));
        if (mine == NULL) return 0;
        mine->hash = hash;
        mine->id = 0;
        mine->len = len;
        mine->type = t->type;
        memcpy(mine->data, data, bytes);
        if (nul) mine->data[bytes] = 0;
      }
      if (mine->id == 0) {
        mine->id = atomic_fetch_add_explicit(&t->next_id, 1, memory_order_relaxed) + 1;
        if (mine->id < t->cap) atomic_store_explicit(&t->by_id[mine->id], mine, memory_order_release);
        /* Queue the definition before the slot makes the id visible, so that
         * no thread can use the id in a chunk that reaches the writer first. */
        push_pending(s, mine);
      }
      if (atomic_compare_exchange_strong_explicit(&t->slots[idx], &e, mine, memory_order_acq_rel,
                                                  memory_order_acquire)) {
        atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
        return mine->id;
      }
      /* Lost the race: e is the winner; compare with it below.  mine stays
       * queued (a definition nobody uses) and is not offered again. */
      mine = NULL;
    }
    if (same(e, hash, data, len, bytes)) return e->id;
  }
  return 0;
}

const et__meta *et__table_get(const et__table *t, uint32_t id) {
  if (id == 0 || id >= t->cap || t->by_id == NULL) return NULL;
  return atomic_load_explicit(&t->by_id[id], memory_order_acquire);
}

static void count_loss(et__thread *t, unsigned reason) {
  atomic_store_explicit(&t->drops[reason],
                        atomic_load_explicit(&t->drops[reason], memory_order_relaxed) + 1,
                        memory_order_relaxed);
}

uint32_t et__intern_slow(et__thread *t, const char *str, size_t len) {
  et__session *s = et__g.session;
  if (s == NULL || len > UINT32_MAX / 2) return 0;
  uint32_t id = intern(s, &s->strings, str, (uint32_t)len, len, true, hash_bytes(str, len));
  if (id == 0) count_loss(t, ET_DROP_STRING_TABLE);
  return id;
}

uint32_t et__stack_intern(et__thread *t, const uintptr_t *frames, unsigned n, uint64_t hash) {
  /* A recent stack of this thread is found by its 64-bit hash alone: two
   * different stacks of one thread sharing a hash is a 2^-64 event. */
  et__stkcache_ent *e = &t->stkcache[hash & (ET_STKCACHE_SIZE - 1)];
  if (e->hash == hash && e->n == n) return e->id;
  et__session *s = et__g.session;
  if (s == NULL) return 0;
  uint32_t id = intern(s, &s->stacks, frames, n, (size_t)n * sizeof *frames, false, hash);
  if (id == 0) {
    count_loss(t, ET_DROP_STACK_TABLE);
    return 0;
  }
  /* A signal handler on this thread may read the entry at any point. */
  e->hash = 0;
  atomic_signal_fence(memory_order_seq_cst);
  e->n = n;
  e->id = id;
  atomic_signal_fence(memory_order_seq_cst);
  e->hash = hash;
  return id;
}

ET_NO_ASAN uint32_t et__stack_capture(et__thread *t, const void *fp) {
  /* Dwarf stacks never use the walk cache: it checks frame-pointer chains. */
  if (ET_UNLIKELY(et__g.stack_dwarf)) return et__stack_capture_dwarf(t, fp);
  uintptr_t frames[ET_MAX_STACK_DEPTH], fps[ET_MAX_STACK_DEPTH];
  unsigned max = et__g.stack_depth;
  /* Only an ordinary event (not one from a signal handler that interrupted
   * another write) uses the walk cache, so no entry is read while it changes. */
  bool cache = t->in_write == 1 && max <= ET_WALKCACHE_DEPTH && t->stack_hi > (uintptr_t)fp;
  et__walkcache_ent *e = &t->walkcache[((uintptr_t)fp >> 4) & (ET_WALKCACHE_SIZE - 1)];
  if (cache && e->fp0 == (uintptr_t)fp && e->n) {
    /* Same first frame: check every frame the walk went through against
     * what it read there.  The addresses come from the cache, so the loads
     * are independent; all lie in this thread's stack, so none can fault. */
    uintptr_t diff = 0;
    unsigned n = e->n;
    for (unsigned i = 0; i < n; i++) {
      const uintptr_t *f = (const uintptr_t *)e->fp[i];
      diff |= f[1] ^ e->ret[i];
      if (i + 1 < n) diff |= f[0] ^ e->fp[i + 1];
    }
    if (!e->by_depth) diff |= ((const uintptr_t *)e->fp[n - 1])[0] ^ e->last_next;
    if (diff == 0) return e->id;
  }
  uint64_t hash;
  uintptr_t last_next;
  bool by_depth;
  unsigned n = et__walk_hash(t, (uintptr_t)fp, frames, max, &hash, fps, &last_next, &by_depth);
  if (n == 0) return 0;
  uint32_t id = et__stack_intern(t, frames, n, hash);
  if (cache && id) {
    e->fp0 = 0;
    e->n = n;
    e->id = id;
    e->last_next = last_next;
    e->by_depth = by_depth;
    memcpy(e->fp, fps, n * sizeof *fps);
    memcpy(e->ret, frames, n * sizeof *frames);
    e->fp0 = (uintptr_t)fp;
  }
  return id;
}

/* True if [s, s + n) lies in read-only memory of a loaded object. */
static bool readonly(const char *s, size_t n) {
  const et__ranges *ro = atomic_load_explicit(&et__g.ro, memory_order_acquire);
  if (ro == NULL) return false;
  uintptr_t a = (uintptr_t)s;
  size_t lo = 0, hi = ro->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (ro->r[mid].hi <= a) lo = mid + 1;
    else hi = mid;
  }
  return lo < ro->n && ro->r[lo].lo <= a && a + n <= ro->r[lo].hi;
}

uint32_t et__intern_miss(et__thread *t, et__strcache_ent *e, const char *s) {
  size_t len = strlen(s);
  uint32_t id = et__intern_slow(t, s, len);
  if (id != 0 && len < ET_STRCACHE_COPY && !t->strcache_busy) {
    /* Read the generation before checking, so an unload in between makes
     * the entry stale rather than wrong. */
    uint32_t gen = atomic_load_explicit(&et__g.ro_gen, memory_order_acquire);
    /* A signal handler on this thread may look the entry up at any point:
     * unhook it while it changes, and hook it back last.  A handler that
     * interrupts the change leaves the cache alone: its own rewrite would
     * be half overwritten by the rest of this one (s with another's id). */
    t->strcache_busy = 1;
    atomic_signal_fence(memory_order_seq_cst);
    e->ptr = NULL;
    atomic_signal_fence(memory_order_seq_cst);
    e->id = id;
    e->len = (uint32_t)len;
    e->ro_gen = readonly(s, len + 1) ? gen : 0;
    memcpy(e->w, s, len + 1);
    atomic_signal_fence(memory_order_seq_cst);
    e->ptr = s;
    atomic_signal_fence(memory_order_seq_cst);
    t->strcache_busy = 0;
  }
  return id;
}

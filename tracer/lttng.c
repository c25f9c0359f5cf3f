/* Events into LTTng: the tracer's side of the LTTng-UST provider.
 *
 * With EXECTRACE_LTTNG set when a recording starts, the tracer loads the
 * provider library it names (libexectrace-lttng.so, tracer/lttng/) with
 * dlopen.  From then on every event the tracer commits, whoever emitted it
 * (an API call, the preload library's wrappers, the tracer itself: thread
 * starts and exits, drops, CPU samples), is also handed to the provider if
 * an LTTng session has that kind's tracepoint enabled: the event's bytes,
 * just encoded, are decoded again here with the catalogue, its string and
 * stack ids resolved through the intern tables' id index, and passed as one
 * et_lttng_event.  So LTTng sees exactly the events the trace holds, at the
 * cost of a decode and a tracepoint only while a session listens; with none
 * listening, an event pays one load and branch more (a region fast path:
 * nothing more, the check replaces its TSC check).
 *
 * A forked child stops sending events to LTTng (et__lttng_forget): liblttng-ust
 * registers a child with the session daemon only when liblttng-ust-fork.so
 * is preloaded, and an unregistered child would write into its parent's
 * shared buffers.
 *
 * The provider's own libc calls (liblttng-ust writing to its wakeup pipe,
 * say) are not the program's: the thread's in_unwind flag tells the preload
 * wrappers to leave them out while the event is handed over. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "lttng/event.h"
#include "session.h"

static const int never; /* the state of every kind while no provider is loaded */
ET_HIDDEN const int *et__lt_state[256];
static et_lttng_emit_fn emit;
static bool tried;

static void say(const char *what, const char *detail) {
  fprintf(stderr, "exectrace: EXECTRACE_LTTNG=%s: %s%s%s; events go to the exectrace trace only\n",
          getenv("EXECTRACE_LTTNG"), what, detail ? ": " : "", detail ? detail : "");
}

void et__lttng_load(void) {
  if (tried) return;
  const char *name = getenv("EXECTRACE_LTTNG");
  if (name == NULL || *name == 0) return;
  tried = true;
  for (unsigned k = 0; k < 256; k++) et__lt_state[k] = &never;
  void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    say("cannot load the LTTng provider", dlerror());
    return;
  }
  /* POSIX's way to take a function from dlsym: through the object pointer. */
  et_lttng_abi_fn abi;
  et_lttng_emit_fn fn;
  et_lttng_states_fn states;
  *(void **)&abi = dlsym(h, ET_LTTNG_ABI_SYM);
  *(void **)&fn = dlsym(h, ET_LTTNG_EMIT_SYM);
  *(void **)&states = dlsym(h, ET_LTTNG_STATES_SYM);
  if (abi == NULL || fn == NULL || states == NULL) {
    say("not an exectrace LTTng provider", NULL);
    return; /* stays loaded: unloading a library that started threads is not safe */
  }
  if (abi() != ET_LTTNG_ABI) {
    say("the LTTng provider is of another exectrace version", NULL);
    return;
  }
  states(et__lt_state, 256);
  emit = fn;
  et__g.lt_loaded = 1;
}

void et__lttng_forget(void) {
  et__g.lt_loaded = 0;
  if (et__g.fast_mode == 2) et__g.fast_mode = 0;
}

void et__lttng_forward(et__w *w, const uint8_t *end) {
  const uint8_t *p = w->p;
  unsigned kind = *p++;
  /* A compact region end is a region_end of the stream's last region (the
   * register its region_begin set): LTTng gets the region_end. */
  unsigned as = kind == ET_EV_REGION_END_LAST ? ET_EV_REGION_END : kind;
  if (ET_LIKELY(*et__lt_state[as] == 0)) return;
  et__session *s = et__g.session;
  const et_kind_desc *k = &et__kinds[kind];
  if (s == NULL || k->name == NULL || emit == NULL) return;
  et_lttng_event e = {.kind = as};
  uint64_t v;
  et__get_uvarint(&p, end, &v); /* the time delta: LTTng takes its own time */
  if (kind == ET_EV_REGION_END_LAST) {
    const et__meta *m = et__table_get(&s->strings, w->s->rname);
    e.v[0] = w->s->rtask;
    e.s[1] = m ? (const char *)m->data : "";
    k = &et__kinds[ET_EV_REGION_END];
    p = end; /* no fields of its own */
  }
#if UINTPTR_MAX != UINT64_MAX
  uint64_t pcs[255];
#endif
  for (unsigned f = 0; f < k->nfields && p < end; f++) {
    if (et__get_uvarint(&p, end, &v) != 0) break;
    switch (k->ftype[f]) {
      case ET_FT_U:
      case ET_FT_T: e.v[f] = v; break;
      case ET_FT_I: e.v[f] = (uint64_t)et__unzigzag(v); break;
      case ET_FT_P: e.v[f] = w->s->last_obj; break; /* a kind has at most one P field: it is the last object */
      case ET_FT_S: {
        const et__meta *m = et__table_get(&s->strings, (uint32_t)v);
        e.s[f] = m ? (const char *)m->data : "";
        break;
      }
      case ET_FT_K: {
        const et__meta *m = et__table_get(&s->stacks, (uint32_t)v);
        if (m) {
          e.npcs = m->len < 255 ? m->len : 255;
#if UINTPTR_MAX == UINT64_MAX
          e.pcs = (const uint64_t *)(const void *)m->data;
#else
          for (uint32_t i = 0; i < e.npcs; i++) pcs[i] = ((const uintptr_t *)(const void *)m->data)[i];
          e.pcs = pcs;
#endif
        }
        break;
      }
      case ET_FT_B:
        e.bytes = (const char *)p;
        e.nbytes = (uint32_t)(v <= (uint64_t)(end - p) ? v : (uint64_t)(end - p));
        p += e.nbytes;
        break;
      default: break;
    }
  }
  for (unsigned f = 0; f < ET_MAX_FIELDS; f++)
    if (k->ftype[f] == ET_FT_S && e.s[f] == NULL) e.s[f] = ""; /* also a field cut short */
  et__thread *t = w->t;
  uint8_t was = t->in_unwind;
  t->in_unwind = 1;
  emit(&e);
  t->in_unwind = was;
}

/* The folded-stacks export, the input of flamegraph.pl, inferno, speedscope
 * and most flame graph tools: one line per distinct stack,
 *   0xROOT;0x...;0xLEAF VALUE
 * frames outermost first.  The value is nanoseconds: of CPU time, from the
 * CPU samples' weights (cpu), or of threads blocked (block: the model's
 * blocked spans, each charged to the stack of the event that began the
 * wait; the scheduler latency after the wake-up is not included).  Frames are addresses: the
 * symbolizer lives with the pprof converter and is not used here yet.
 * Memory: one total per distinct stack.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "util.h"

typedef struct total {
  uint64_t stack, value;
} total;

static int cmp_total(const void *a, const void *b) {
  const total *x = a, *y = b;
  return x->stack < y->stack ? -1 : x->stack > y->stack;
}

/* Each sample weighs the CPU time it stands for (its weight field: one
 * period, more when the kernel folded overruns into one signal); a catalogue
 * without that field makes each sample weigh 1. */
static int add_samples(const et_trace *t, int kind, et__map *m) {
  int wf = -1;
  for (unsigned j = 0; j < et_trace_field_count(t, (unsigned)kind); j++)
    if (strcmp(et_trace_field_name(t, (unsigned)kind, j), "weight") == 0) wf = (int)j;
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    et_cursor cur;
    et_event ev;
    et_cursor_init(&cur, t, i);
    while (et_cursor_next(&cur, &ev)) {
      if (ev.kind != kind) continue;
      uint64_t w = wf < 0 ? 1 : (unsigned)wf < ev.nfields ? ev.field[wf] : 0;
      if (!et__map_add(m, ev.stack, w)) return -ENOMEM;
    }
  }
  return 0;
}

static int add_blocked(const et_trace *t, et__map *m) {
  for (size_t i = 0; i < et_trace_thread_count(t); i++) {
    const et_span *sp;
    size_t n = et_trace_spans(t, i, &sp);
    uint64_t last = et_trace_thread(t, i)->last;
    for (size_t j = 0; j < n; j++) {
      if (sp[j].state != ET_STATE_BLOCKED) continue;
      uint64_t end = j + 1 < n ? sp[j + 1].start : last;
      if (end > sp[j].start && !et__map_add(m, sp[j].stack, end - sp[j].start)) return -ENOMEM;
    }
  }
  return 0;
}

static void line(FILE *f, const et_trace *t, const total *x) {
  const uint64_t *fr;
  size_t n = x->stack ? et_trace_stack(t, x->stack, &fr) : 0;
  if (n == 0 && x->stack == 0) fputs("[no stack]", f);
  else if (n == 0) fprintf(f, "[stack %" PRIu64 "]", x->stack);
  for (size_t j = n; j-- > 0;) fprintf(f, "0x%" PRIx64 "%s", fr[j], j ? ";" : "");
  fprintf(f, " %" PRIu64 "\n", x->value);
}

int et__export_folded(const et_trace *t, FILE *out, int what, int *chosen) {
  int sample = et_trace_kind_by_name(t, "cpu_sample");
  if (what == ET__FOLDED_AUTO)
    what = sample >= 0 && et_trace_kind_count(t, (unsigned)sample) > 0 ? ET__FOLDED_CPU : ET__FOLDED_BLOCK;
  if (chosen) *chosen = what;
  et__map m = {0};
  int r = 0;
  if (what == ET__FOLDED_CPU) r = sample >= 0 ? add_samples(t, sample, &m) : 0;
  else r = add_blocked(t, &m);
  total *all = r == 0 ? malloc((m.n ? m.n : 1) * sizeof *all) : NULL;
  if (r == 0 && !all) r = -ENOMEM;
  if (r == 0) {
    size_t n = 0;
    for (size_t i = 0; i < m.cap; i++)
      if (m.used[i] && m.vals[i]) all[n++] = (total){m.keys[i], m.vals[i]};
    if (n > 1) qsort(all, n, sizeof *all, cmp_total);
    for (size_t i = 0; i < n; i++) line(out, t, &all[i]);
    if (ferror(out)) r = -EIO;
  }
  free(all);
  et__map_release(&m);
  return r;
}

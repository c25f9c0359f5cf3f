/* test_lod: the frame's work depends on the window, not on the trace.
 *
 * Records two traces with gen_big, of 100 thousand and 1 million events (the
 * same mix, ten times as long), and draws the same sequence of views of
 * each through the null backend (draw.h), counting draw calls: at the whole
 * trace, where spans are far below a pixel and fold, the bigger trace must
 * not cost more than the smaller one plus a margin, and no frame may draw
 * more rectangles than its rows have pixel columns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../view.h"
#include "tap.h"

static int run(const char *n, const char *out) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(GEN_BIG, GEN_BIG, n, out, (char *)NULL);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* Draw calls of a whole-trace frame and of a frame at 1/1000 of it. */
static void frames(const char *path, uint64_t *whole, uint64_t *zoomed, uint64_t *max_rects, size_t *spans) {
  vw_model *m;
  TAP_REQUIRE(vw_model_load(path, NULL, &m) == 0, "loaded %s", path);
  vw_view v;
  TAP_REQUIRE(vw_view_init(&v, m, 1600, 900) == 0, "view set up");
  vw_draw d;
  vw_draw_null(&d);
  vw_frame(&v, &d);
  *whole = d.rects + d.lines + d.texts;
  *max_rects = d.rects;
  vw_zoom_at(&v, vw_plot_x(&v) + 300, 0.001);
  vw_draw_null(&d);
  vw_frame(&v, &d);
  *zoomed = d.rects + d.lines + d.texts;
  if (d.rects > *max_rects) *max_rects = d.rects;
  *spans = 0;
  for (size_t i = 0; i < m->nthreads; i++) *spans += m->threads[i].spans.n;
  vw_view_free(&v);
  vw_model_free(m);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  char dir[] = "/tmp/et-view-lod-XXXXXX";
  TAP_REQUIRE(mkdtemp(dir) != NULL, "temporary directory");
  char small[256], big[256];
  snprintf(small, sizeof small, "%s/small.etrace", dir);
  snprintf(big, sizeof big, "%s/big.etrace", dir);
  TAP_REQUIRE(run("100000", small) == 0, "recorded 100k events");
  TAP_REQUIRE(run("1000000", big) == 0, "recorded 1M events");
  uint64_t ws, zs, ms, wb, zb, mb;
  size_t ss, sb;
  frames(small, &ws, &zs, &ms, &ss);
  frames(big, &wb, &zb, &mb, &sb);
  diag("spans %zu / %zu; whole-trace draw calls %llu / %llu; zoomed %llu / %llu", ss, sb, (unsigned long long)ws,
       (unsigned long long)wb, (unsigned long long)zs, (unsigned long long)zb);
  ok(sb > 5 * ss, "the big trace has many more spans (%zu vs %zu)", sb, ss);
  /* A sparse trace fills fewer columns, so the small one may draw less; what
   * matters is that 10x the events does not cost anywhere near 10x. */
  ok(wb < ws * 4 + 1000, "a whole-trace frame of 10x the events makes far fewer than 10x the draw calls");
  ok(wb < sb / 20, "and far fewer than one per span");
  /* 3 threads x (state row + 2 region rows) + task lanes + counter: < 16 rows of 1600/3 columns */
  ok(mb < 16 * 1600 / 3 + 2000, "no frame draws more rectangles than its rows have fold columns (%llu)",
     (unsigned long long)mb);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) diag("could not remove %s", dir);
  return tap_done();
}

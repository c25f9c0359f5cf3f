/* test_loop: drives the viewer's real event loop with scripted SDL input and
 * checks the view's state.
 *
 * usage: test_loop xvfb|dummy
 *   xvfb   starts Xvfb on a free display itself and opens a real X11 window
 *          (fails if Xvfb is not installed: scripts/setup.sh installs it)
 *   dummy  SDL's dummy video driver: a window without a display
 *
 * It records a trace with gen_trace (tests/gen_trace.c), opens it with
 * vw_app_open (loading on the background thread), then pushes mouse and key
 * events with SDL_PushEvent and runs vw_app_step, as a user's input would go:
 * zoom at the cursor keeps the time under it, drags pan, keys move and fit,
 * a click selects the span under it and the details name the function that
 * began the wait, search jumps to the match, a range's summary adds up to
 * its length (and matches a sum over the spans), the histogram's bars count
 * the tasks, and choosing a task from the panel zooms to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../app.h"
#include "tap.h"

static pid_t xvfb_pid;

static void stop_xvfb(void) {
  if (xvfb_pid > 0) {
    kill(xvfb_pid, SIGTERM);
    waitpid(xvfb_pid, NULL, 0);
    xvfb_pid = 0;
  }
}

/* Starts Xvfb on the first display number with no lock file; 0, 77 (no
 * Xvfb) or 1. */
static int start_xvfb(void) {
  if (access("/usr/bin/Xvfb", X_OK) != 0) return 77;
  for (int d = 90; d < 140; d++) {
    char lock[64], sock[64];
    snprintf(lock, sizeof lock, "/tmp/.X%d-lock", d);
    snprintf(sock, sizeof sock, "/tmp/.X11-unix/X%d", d);
    if (access(lock, F_OK) == 0 || access(sock, F_OK) == 0) continue;
    char disp[16];
    snprintf(disp, sizeof disp, ":%d", d);
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      int fd = open("/dev/null", O_WRONLY);
      if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
      execl("/usr/bin/Xvfb", "Xvfb", disp, "-screen", "0", "1600x1000x24", "-nolisten", "tcp", (char *)NULL);
      _exit(127);
    }
    for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++) usleep(50000);
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid || access(sock, F_OK) != 0) {
      kill(pid, SIGTERM);
      waitpid(pid, NULL, 0);
      continue; /* lost a race for this display: try the next */
    }
    xvfb_pid = pid;
    atexit(stop_xvfb);
    setenv("DISPLAY", disp, 1);
    setenv("SDL_VIDEODRIVER", "x11", 1);
    diag("Xvfb on %s (pid %d)", disp, (int)pid);
    return 0;
  }
  return 1;
}

static int run(const char *prog, const char *arg) {
  pid_t pid = fork();
  if (pid == 0) {
    execl(prog, prog, arg, (char *)NULL);
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ---- scripted input ---- */

static vw_app app;

static void step(void) {
  for (int i = 0; i < 3; i++) vw_app_step(&app, 0);
}

static void push(SDL_Event *e) {
  e->common.timestamp = SDL_GetTicks();
  SDL_PushEvent(e);
}

static void motion(int x, int y) {
  SDL_Event e;
  memset(&e, 0, sizeof e);
  e.type = SDL_MOUSEMOTION;
  e.motion.windowID = SDL_GetWindowID(app.win);
  e.motion.x = x, e.motion.y = y;
  push(&e);
  step();
}

static void button(int type, int b, int x, int y) {
  SDL_Event e;
  memset(&e, 0, sizeof e);
  e.type = (Uint32)type;
  e.button.windowID = SDL_GetWindowID(app.win);
  e.button.button = (Uint8)b;
  e.button.state = type == SDL_MOUSEBUTTONDOWN ? SDL_PRESSED : SDL_RELEASED;
  e.button.clicks = 1;
  e.button.x = x, e.button.y = y;
  push(&e);
  step();
}

static void click(int x, int y) {
  motion(x, y);
  button(SDL_MOUSEBUTTONDOWN, SDL_BUTTON_LEFT, x, y);
  button(SDL_MOUSEBUTTONUP, SDL_BUTTON_LEFT, x, y);
}

static void drag(int b, int x0, int y0, int x1, int y1) {
  motion(x0, y0);
  button(SDL_MOUSEBUTTONDOWN, b, x0, y0);
  motion((x0 + x1) / 2, (y0 + y1) / 2);
  motion(x1, y1);
  button(SDL_MOUSEBUTTONUP, b, x1, y1);
}

static void wheel(int dy) {
  SDL_Event e;
  memset(&e, 0, sizeof e);
  e.type = SDL_MOUSEWHEEL;
  e.wheel.windowID = SDL_GetWindowID(app.win);
  e.wheel.y = dy;
  e.wheel.direction = SDL_MOUSEWHEEL_NORMAL;
  push(&e);
  step();
}

static void key(SDL_Keycode k, Uint16 mod) {
  SDL_Event e;
  memset(&e, 0, sizeof e);
  e.type = SDL_KEYDOWN;
  e.key.windowID = SDL_GetWindowID(app.win);
  e.key.state = SDL_PRESSED;
  e.key.keysym.sym = k;
  e.key.keysym.mod = mod;
  e.key.keysym.scancode = SDL_GetScancodeFromKey(k);
  push(&e);
  e.type = SDL_KEYUP;
  e.key.state = SDL_RELEASED;
  push(&e);
  step();
}

static void type_text(const char *s) {
  SDL_Event e;
  memset(&e, 0, sizeof e);
  e.type = SDL_TEXTINPUT;
  e.text.windowID = SDL_GetWindowID(app.win);
  snprintf(e.text.text, sizeof e.text.text, "%s", s);
  push(&e);
  step();
}

/* ---- helpers on the model ---- */

static double window_ns(const vw_view *v) { return vw_plot_w(v) * v->nspp; }

static vw_track *track_of_thread(vw_view *v, size_t th) {
  vw_layout(v);
  for (size_t i = 0; i < v->ntracks; i++)
    if (v->tracks[i].kind == VW_TR_THREAD && v->tracks[i].idx == th) return &v->tracks[i];
  return NULL;
}

/* Scrolls until thread th's track is fully on screen. */
static vw_track *show_thread(vw_view *v, size_t th) {
  vw_track *tr = track_of_thread(v, th);
  for (int i = 0; i < 50 && tr && (tr->y < vw_tracks_top(v) || tr->y + tr->h > vw_tracks_bottom(v)); i++) {
    vw_scroll(v, tr->y < vw_tracks_top(v) ? -20 : 20);
    tr = track_of_thread(v, th);
  }
  return tr;
}

static bool details_contain(vw_view *v, const char *s) {
  char lines[40][160];
  size_t n = vw_details(v, lines, 40);
  for (size_t i = 0; i < n; i++)
    if (strstr(lines[i], s)) return true;
  for (size_t i = 0; i < n; i++) diag("details: %s", lines[i]);
  return false;
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "dummy";
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (strcmp(mode, "xvfb") == 0) {
    int r = start_xvfb();
    /* A missing Xvfb fails the test: scripts/setup.sh installs it. */
    TAP_REQUIRE(r != 77, "Xvfb is installed (apt-get install xvfb)");
    TAP_REQUIRE(r == 0, "Xvfb started on a free display");
  } else {
    setenv("SDL_VIDEODRIVER", "dummy", 1);
  }
  char dir[] = "/tmp/et-view-test-XXXXXX";
  TAP_REQUIRE(mkdtemp(dir) != NULL, "temporary directory");
  char trace[256];
  snprintf(trace, sizeof trace, "%s/t.etrace", dir);
  TAP_REQUIRE(run(GEN_TRACE, trace) == 0, "gen_trace recorded %s", trace);
  TAP_REQUIRE(chdir(dir) == 0, "into %s (the pprof key writes here)", dir);

  TAP_REQUIRE(vw_app_open(&app, trace, 1400, 900, 5 /* ET__PP_BLOCK */) == 0, "window opened (%s)", mode);
  if (strcmp(mode, "xvfb") == 0) ok(strcmp(SDL_GetCurrentVideoDriver(), "x11") == 0, "a real X11 window");
  TAP_REQUIRE(vw_app_wait_loaded(&app, 20000) == 0, "loaded in the background");
  ok(app.frames > 0, "frames drawn while loading and after (%llu)", (unsigned long long)app.frames);
  vw_view *v = &app.view;
  const vw_model *m = app.m;
  double dur = (double)m->info->duration_ns;
  ok(fabs(window_ns(v) - dur * 1.1) < dur * 1e-6, "starts showing the whole trace");

  /* zoom at the cursor */
  int x = vw_plot_x(v) + 437, y = vw_tracks_top(v) + 30;
  motion(x, y);
  double t_before = vw_time_at(v, x), w_before = window_ns(v);
  wheel(2);
  ok(fabs(vw_time_at(v, x) - t_before) < 1e-6 * w_before, "wheel zoom keeps the time under the cursor (%.3f ns off)",
     vw_time_at(v, x) - t_before);
  ok(fabs(window_ns(v) / w_before - 0.64) < 1e-9, "two notches zoom in to 0.64 of the window");
  wheel(-1);
  ok(fabs(vw_time_at(v, x) - t_before) < 1e-6 * w_before && fabs(window_ns(v) / w_before - 0.8) < 1e-9,
     "and a notch back out, still around the cursor");

  /* drag pans */
  double t0 = v->t0, nspp = v->nspp;
  drag(SDL_BUTTON_LEFT, x, y, x + 120, y);
  ok(fabs((t0 - v->t0) - 120 * nspp) < 1e-6 * nspp, "dragging 120 px right moves the view 120 px earlier");
  ok(v->sel.kind == VW_SEL_NONE, "a drag selects nothing");

  /* keys */
  t0 = v->t0;
  key(SDLK_d, 0);
  ok(fabs((v->t0 - t0) - vw_plot_w(v) / 8.0 * v->nspp) < 1e-6 * v->nspp, "D pans right by an eighth");
  double w0 = window_ns(v);
  key(SDLK_w, 0);
  ok(fabs(window_ns(v) / w0 - 0.8) < 1e-9, "W zooms in");
  key(SDLK_s, 0);
  ok(fabs(window_ns(v) / w0 - 1.0) < 1e-9, "S zooms out");
  key(SDLK_0, 0);
  ok(fabs(window_ns(v) - dur * 1.1) < dur * 1e-6, "0 shows everything");

  /* click on the longest mutex wait: details name contended_wait */
  size_t th_w = SIZE_MAX, sp_w = 0;
  uint64_t longest = 0;
  for (size_t th = 0; th < m->nthreads; th++)
    for (size_t k = 0; k < m->threads[th].spans.n; k++) {
      const et_span *s = &VW_AT(m->threads[th].spans, et_span, k);
      uint64_t d = vw_span_end(m, th, k) - s->start;
      if (s->state == ET_STATE_BLOCKED && s->reason == ET_REASON_MUTEX && d > longest) longest = d, th_w = th, sp_w = k;
    }
  TAP_REQUIRE(th_w != SIZE_MAX && longest > 1500000, "the trace has a mutex wait of %llu ns", (unsigned long long)longest);
  uint64_t ws = VW_AT(m->threads[th_w].spans, et_span, sp_w).start, we = vw_span_end(m, th_w, sp_w);
  vw_fit(v, ws > we - ws ? ws - (we - ws) : 0, we + (we - ws)); /* the wait in the middle */
  vw_track *tr = show_thread(v, th_w);
  TAP_REQUIRE(tr != NULL, "its thread has a track on screen");
  int cx = (int)vw_x_of(v, (double)(ws + we) / 2), cy = tr->y + 10;
  click(cx, cy);
  ok(v->sel.kind == VW_SEL_SPAN && v->sel.thread == th_w && v->sel.index == sp_w,
     "a click selects the span under the cursor");
  ok(details_contain(v, "blocked: sync (mutex)"), "details say what it was: blocked on a mutex");
  ok(details_contain(v, "contended_wait"), "details name the function that began the wait (symbolized stack)");

  /* the pixel under the click has the colour of sync waits */
  Uint32 px = 0;
  SDL_Rect one = {cx, cy, 1, 1};
  app.dirty = true;
  vw_app_step(&app, 0);
  /* read back what the loop drew: draw again without presenting, then read */
  vw_frame(v, &app.draw);
  if (SDL_RenderReadPixels(app.ren, &one, SDL_PIXELFORMAT_ARGB8888, &px, 4) == 0)
    ok((px & 0xffffff) == (vw_cat_color(VW_CAT_SYNC) & 0xffffff), "the span is drawn in the sync colour (%06x)",
       px & 0xffffff);
  else
    ok(0, "SDL_RenderReadPixels: %s", SDL_GetError());

  /* f fits the selection */
  key(SDLK_0, 0);
  key(SDLK_f, 0);
  ok(fabs(window_ns(v) - 1.1 * (double)(we - ws)) < 1e-6 * (double)(we - ws) &&
         fabs(v->t0 - ((double)ws - 0.05 * (double)(we - ws))) < 1e-3 * (double)(we - ws),
     "f fits the selected span with a 5%% margin");

  /* search */
  key(SDLK_0, 0);
  key(SDLK_SLASH, 0);
  ok(v->searching, "/ starts a search");
  type_text("look");
  type_text("up");
  key(SDLK_RETURN, 0);
  ok(!v->searching && v->nhits > 0, "Enter searches (%zu matches for '%s')", v->nhits, v->query);
  {
    bool is_region = v->sel.kind == VW_SEL_REGION;
    const char *name = is_region ? et_trace_string(m->t, VW_AT(m->threads[v->sel.thread].depth[v->sel.depth],
                                                                vw_region, v->sel.index).name)
                                 : NULL;
    ok(is_region && name && strcmp(name, "lookup") == 0, "search selects a region named lookup");
    ok(v->t0 <= (double)v->sel.start && vw_time_at(v, vw_plot_x(v) + vw_plot_w(v)) >= (double)v->sel.end &&
           window_ns(v) <= 1.2 * (double)(v->sel.end - v->sel.start) + 200,
       "and jumps to it: the view fits the match");
    uint64_t first = v->sel.start;
    key(SDLK_n, 0);
    ok(v->hit == 1 && v->sel.start >= first, "n goes to the next match");
  }
  key(SDLK_SLASH, 0);
  type_text("cold key");
  key(SDLK_RETURN, 0);
  ok(v->sel.kind == VW_SEL_LOG && details_contain(v, "miss on a cold key"), "search finds a log by its message");

  /* range summary: right-drag across the middle of the whole trace */
  key(SDLK_ESCAPE, 0);
  key(SDLK_0, 0);
  int x1 = vw_plot_x(v) + vw_plot_w(v) / 5, x2 = vw_plot_x(v) + vw_plot_w(v) * 3 / 5;
  double r0 = vw_time_at(v, x1), r1 = vw_time_at(v, x2);
  drag(SDL_BUTTON_RIGHT, x1, vw_tracks_top(v) + 40, x2, vw_tracks_top(v) + 40);
  ok(v->has_range && fabs((double)v->r0 - r0) <= 1 && fabs((double)v->r1 - r1) <= 1, "a right drag selects a range");
  bool adds_up = true, matches = true;
  for (size_t th = 0; th < m->nthreads; th++) {
    uint64_t sum = 0, brute[VW_CAT_COUNT] = {0};
    for (int c = 0; c <= VW_CAT_COUNT; c++) sum += v->sum.ns[th][c];
    if (sum != v->r1 - v->r0) adds_up = false;
    for (size_t k = 0; k < m->threads[th].spans.n; k++) {
      const et_span *s = &VW_AT(m->threads[th].spans, et_span, k);
      uint64_t a = s->start > v->r0 ? s->start : v->r0, e = vw_span_end(m, th, k), b = e < v->r1 ? e : v->r1;
      if (b > a) brute[vw_span_cat(s)] += b - a;
    }
    for (int c = 0; c < VW_CAT_COUNT; c++)
      if (brute[c] != v->sum.ns[th][c]) matches = false;
  }
  ok(adds_up, "each thread's time per state plus time not alive adds up to the range's length");
  ok(matches, "and equals a sum over every span in the range");
  ok(v->sum.ntop > 0 && v->sum.top_ns[0] > 0, "the summary lists the top blocking stacks");
  ok(details_contain(v, "range "), "the details panel shows the summary");

  /* pprof of the range */
  key(SDLK_p, 0);
  vw_app_wait_pprof(&app);
  ok(strstr(v->status, "saved block profile") != NULL, "p saves a pprof profile of the range: %s", v->status);

  /* the tasks panel: histogram bars count the tasks */
  key(SDLK_ESCAPE, 0);
  key(SDLK_t, 0);
  ok(v->panel, "t opens the tasks panel");
  TAP_REQUIRE(v->panel_type >= 0, "a task type is shown");
  const vw_tasktype *tt = &m->types[v->panel_type];
  ok(strcmp(tt->name, "request") == 0 && tt->ntasks == 60, "the type with the most tasks: request, 60 tasks");
  uint64_t brute[VW_HIST_BUCKETS] = {0}, total = 0;
  for (size_t i = 0; i < m->ntasks; i++) {
    const et_task *tk = et_trace_task(m->t, i);
    if (strcmp(tk->type, "request") != 0) continue;
    double d = (double)(tk->end - tk->begin);
    brute[(int)floor(log10(d) * 5 + 1e-9)]++;
  }
  bool same = true;
  int bar = -1, buckets = 0;
  for (int b = 0; b < VW_HIST_BUCKETS; b++) {
    total += tt->hist[b];
    if (tt->hist[b] != brute[b]) same = false;
    if (tt->hist[b]) buckets++;
    if (tt->hist[b] && (bar < 0 || tt->hist[b] > tt->hist[bar])) bar = b;
  }
  ok(total == 60 && same, "the bars count the tasks, 5 buckets per power of ten (%d buckets used)", buckets);
  ok(buckets >= 4, "the latencies spread over several buckets");
  int bx, by;
  TAP_REQUIRE(vw_panel_bar_at(v, bar, &bx, &by), "bar %d is on screen", bar);
  click(bx, by);
  ok(v->panel_bucket == bar && v->panel_n == tt->hist[bar], "clicking a bar lists its %zu tasks", v->panel_n);
  bool in_bucket = v->panel_n > 0;
  for (size_t k = 0; k < v->panel_n; k++) {
    const et_task *tk = et_trace_task(m->t, v->panel_list[k]);
    if (vw_hist_bucket(tk->end - tk->begin) != bar) in_bucket = false;
  }
  ok(in_bucket, "all of them from that bucket");
  int rx, ry;
  TAP_REQUIRE(vw_panel_row_at(v, 0, &rx, &ry), "the list's first row is on screen");
  uint32_t chosen = v->panel_list[0];
  click(rx, ry);
  const et_task *tk = et_trace_task(m->t, chosen);
  ok(v->sel.kind == VW_SEL_TASK && v->sel.index == chosen, "clicking a task in the list chooses it");
  double tl = vw_time_at(v, vw_plot_x(v)), trr = vw_time_at(v, vw_plot_x(v) + vw_plot_w(v));
  ok(tl <= (double)tk->begin && trr >= (double)tk->end && window_ns(v) <= 1.2 * (double)(tk->end - tk->begin) + 200,
     "choosing a task zooms to it");
  uint64_t hsum = 0;
  for (int c = 0; c < VW_CAT_COUNT; c++) hsum += v->hl_ns[c];
  ok(v->hl_has && v->hl_task == tk->id && hsum > 0 && hsum <= tk->end - tk->begin + 1,
     "and breaks its time down by state (%llu of %llu ns)", (unsigned long long)hsum,
     (unsigned long long)(tk->end - tk->begin));
  key(SDLK_p, 0);
  vw_app_wait_pprof(&app);
  char pb[96];
  snprintf(pb, sizeof pb, "exectrace-block-task%llu.pb.gz", (unsigned long long)tk->id);
  struct stat st;
  ok(stat(pb, &st) == 0 && st.st_size > 20, "p saves a profile of the selected task: %s", pb);
  key(SDLK_t, 0);

  /* collapse and pin */
  key(SDLK_0, 0);
  tr = show_thread(v, th_w);
  int h0 = tr->h;
  motion(vw_plot_x(v) + 10, tr->y + 5);
  key(SDLK_c, 0);
  tr = track_of_thread(v, th_w);
  ok(tr->h < h0 && (v->thr_flags[th_w] & VW_F_COLLAPSED), "c collapses the track under the mouse (%d -> %d px)", h0, tr->h);
  motion(vw_plot_x(v) + 10, tr->y + 5);
  key(SDLK_c, 0);
  ok(track_of_thread(v, th_w)->h == h0, "and c expands it again");
  tr = track_of_thread(v, th_w);
  motion(vw_plot_x(v) + 10, tr->y + 5);
  key(SDLK_x, 0);
  ok(track_of_thread(v, th_w)->y == vw_tracks_top(v), "x pins it to the top");
  key(SDLK_SLASH, KMOD_LSHIFT);
  ok(v->help, "? shows the help");
  key(SDLK_ESCAPE, 0);
  ok(!v->help, "Esc closes it");

  SDL_Event q;
  memset(&q, 0, sizeof q);
  q.type = SDL_QUIT;
  SDL_PushEvent(&q);
  ok(!vw_app_step(&app, 0), "the loop ends on quit");
  vw_app_close(&app);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) diag("could not remove %s", dir);
  return tap_done();
}

/* exectrace view: the timeline window, and its headless modes.
 *
 * `exectrace view TRACE` opens the window (app.c).  `--screenshot OUT.png`
 * draws one frame of what the window would show on an offscreen surface
 * with SDL's software renderer and writes it as PNG; `--bench` loads the
 * trace, replays a fixed sequence of zooms and pans from the whole trace
 * down to a 1 us window at 1600x900, and prints key=value figures.  Both
 * need no display.  Exit status: 0 done, 1 the trace or the output could not
 * be used, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../convert/pprof/pprof.h"
#include "app.h"
#include "render_sdl.h"
#include "view.h"

int et__cmd_view(int argc, char **argv);

static void usage(FILE *f) {
  fprintf(f,
          "usage: exectrace view [OPTIONS] TRACE\n"
          "\n"
          "Opens TRACE in a timeline window: a track per thread with its states,\n"
          "regions, logs and CPU samples; GC, counters and a track per task type;\n"
          "wake-up arrows; a tasks panel with a latency histogram per type.\n"
          "Press ? in the window for the keys.\n"
          "\n"
          "options:\n"
          "      --size WxH           window or picture size (default 1280x800;\n"
          "                           1600x900 for --screenshot)\n"
          "      --range FROM..TO     show this time range (times with a unit: 1.5ms..2ms)\n"
          "      --task ID            show task ID, selected, with its time by state\n"
          "      --pprof-type TYPE    the profile the p key saves (default block; also cpu,\n"
          "                           sync, net, syscall, sched, mutex)\n"
          "      --screenshot OUT.png draw one frame without a window and save it as PNG\n"
          "      --select-range FROM..TO  (with --screenshot) select a range: its summary\n"
          "      --click X,Y          (with --screenshot) click at X,Y first: select there\n"
          "      --select-at TIME,TID (with --screenshot) select the state of thread TID at TIME\n"
          "      --search TEXT        (with --screenshot) search, jumping to the first match\n"
          "      --tasks-panel        (with --screenshot) show the tasks panel\n"
          "      --bench              load, replay zooms and pans at 1600x900, print figures\n"
          "  -h, --help               print this help\n");
}

static int usage_error(const char *msg, const char *arg) {
  fprintf(stderr, "exectrace view: %s%s%s%s (try 'exectrace view --help')\n", msg, arg ? " '" : "", arg ? arg : "",
          arg ? "'" : "");
  return 2;
}

static bool parse_range(const char *s, uint64_t *a, uint64_t *b) {
  const char *dots = strstr(s, "..");
  if (!dots || dots == s) return false;
  char left[64];
  size_t n = (size_t)(dots - s);
  if (n >= sizeof left) return false;
  memcpy(left, s, n);
  left[n] = 0;
  return et__pp_parse_duration(left, a) == 0 && et__pp_parse_duration(dots + 2, b) == 0 && *a < *b;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long v = -1;
  size_t n = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, n) == 0 && line[n] == ':') v = atol(line + n + 1);
  fclose(f);
  return v;
}

typedef struct opts {
  int w, h;
  bool has_range, has_sel_range, has_task, has_click, panel, has_select_at;
  uint64_t at_time, at_tid;
  uint64_t r0, r1, s0, s1, task;
  int cx, cy;
  const char *search;
} opts;

/* Applies the options that set the view up, as the user would. */
static int apply(vw_view *v, const opts *o) {
  if (o->panel) vw_set_panel(v, true);
  if (o->has_range) vw_fit(v, o->r0, o->r1);
  if (o->has_task) {
    size_t i = vw_task_index(v->m, o->task);
    if (i == SIZE_MAX) {
      fprintf(stderr, "exectrace view: no task %" PRIu64 " in the trace\n", o->task);
      return 1;
    }
    vw_choose_task(v, i);
  }
  if (o->search && vw_search(v, o->search) == 0) fprintf(stderr, "exectrace view: no match for '%s'\n", o->search);
  if (o->has_sel_range) vw_set_range(v, o->s0, o->s1);
  if (o->has_select_at) {
    bool found = false;
    vw_layout(v);
    for (size_t i = 0; i < v->ntracks && !found; i++) {
      vw_track *tr = &v->tracks[i];
      if (tr->kind != VW_TR_THREAD || et_trace_thread(v->m->t, tr->idx)->tid != o->at_tid) continue;
      found = true;
      int y0 = vw_tracks_top(v), y1 = vw_tracks_bottom(v);
      if (tr->y < y0 || tr->y + 20 > y1) vw_scroll(v, tr->y - (y0 + y1) / 2);
      vw_layout(v);
      double x = vw_x_of(v, (double)o->at_time);
      if (x < vw_plot_x(v) || x >= vw_plot_x(v) + vw_plot_w(v)) {
        double win = vw_plot_w(v) * v->nspp;
        v->t0 = (double)o->at_time - win / 2;
        x = vw_x_of(v, (double)o->at_time);
      }
      vw_click(v, (int)x, tr->y + 10);
    }
    if (!found) {
      fprintf(stderr, "exectrace view: no thread %" PRIu64 " in the trace\n", o->at_tid);
      return 1;
    }
  }
  if (o->has_click) {
    v->mouse_x = o->cx, v->mouse_y = o->cy;
    vw_click(v, o->cx, o->cy);
  }
  return 0;
}

/* An offscreen software renderer of w x h. */
typedef struct offscreen {
  SDL_Surface *surf;
  SDL_Renderer *ren;
  vw_sdl sdl;
  vw_draw draw;
} offscreen;

static int offscreen_open(offscreen *o, int w, int h) {
  memset(o, 0, sizeof *o);
  if (SDL_Init(0) != 0) {
    fprintf(stderr, "exectrace view: SDL: %s\n", SDL_GetError());
    return 1;
  }
  o->surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
  o->ren = o->surf ? SDL_CreateSoftwareRenderer(o->surf) : NULL;
  if (!o->ren) {
    fprintf(stderr, "exectrace view: cannot draw offscreen: %s\n", SDL_GetError());
    return 1;
  }
  vw_sdl_init(&o->sdl, o->ren, &o->draw);
  return 0;
}

static void offscreen_close(offscreen *o) {
  vw_sdl_free(&o->sdl);
  if (o->ren) SDL_DestroyRenderer(o->ren);
  if (o->surf) SDL_FreeSurface(o->surf);
  SDL_Quit();
}

static int screenshot(const char *path, const char *out, const opts *o) {
  vw_model *m;
  int err = vw_model_load(path, NULL, &m);
  if (err) {
    fprintf(stderr, "exectrace view: cannot load '%s': %s\n", path, et_strerror(err));
    return 1;
  }
  offscreen os;
  vw_view v;
  int status = 1;
  if (offscreen_open(&os, o->w, o->h) != 0) goto done_model;
  if (vw_view_init(&v, m, o->w, o->h) != 0) goto done_sdl;
  if (apply(&v, o) != 0) goto done_view;
  vw_frame(&v, &os.draw);
  SDL_RenderFlush(os.ren);
  err = vw_png_write(out, o->w, o->h, os.surf->pixels, os.surf->pitch);
  if (err) fprintf(stderr, "exectrace view: cannot write '%s': %s\n", out, strerror(-err));
  else status = 0;
done_view:
  vw_view_free(&v);
done_sdl:
  offscreen_close(&os);
done_model:
  vw_model_free(m);
  return status;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Load, then a fixed replay: zoom in at a point from the whole trace down to
 * a 1 us window, panning as it goes, then back out; every frame drawn at
 * 1600x900 with the software renderer. */
static int bench(const char *path) {
  long rss0 = status_kb("VmRSS");
  double t0 = now_s();
  vw_model *m;
  int err = vw_model_load(path, NULL, &m);
  double load_s = now_s() - t0;
  if (err) {
    fprintf(stderr, "exectrace view: cannot load '%s': %s\n", path, et_strerror(err));
    return 1;
  }
  long rss1 = status_kb("VmRSS"), hwm = status_kb("VmHWM");
  const int W = 1600, H = 900;
  offscreen os;
  vw_view v;
  if (offscreen_open(&os, W, H) != 0 || vw_view_init(&v, m, W, H) != 0) {
    vw_model_free(m);
    return 1;
  }
  /* every thread expanded: regions drawn too */
  double *ms = malloc(4096 * sizeof *ms);
  size_t n = 0;
  double x = vw_plot_x(&v) + vw_plot_w(&v) * 0.37;
  int phase = 0;
  uint64_t rects = 0;
  while (n < 4096 && phase < 3) {
    double f0 = now_s();
    vw_frame(&v, &os.draw);
    SDL_RenderFlush(os.ren);
    ms[n++] = (now_s() - f0) * 1e3;
    double win = vw_plot_w(&v) * v.nspp;
    if (phase == 0) {
      if (n % 5 == 0) vw_pan_px(&v, (n % 10 == 0) ? 150 : -150);
      else vw_zoom_at(&v, x, 0.8);
      if (win <= 1000.5) phase = 1;
    } else if (phase == 1) {
      vw_pan_px(&v, -400); /* four pans across at the finest zoom */
      if (n % 4 == 0) phase = 2;
    } else {
      vw_zoom_at(&v, x, 1.6);
      if (win >= (double)m->info->duration_ns) phase = 3;
    }
  }
  rects = os.draw.rects;
  size_t frames = n;
  qsort(ms, n, sizeof *ms, cmp_double);
  const et_trace_info *info = m->info;
  printf("events=%" PRIu64 "\n", info->events);
  printf("file_bytes=%" PRIu64 "\n", info->bytes);
  printf("load_s=%.3f\n", load_s);
  printf("load_events_per_s=%.0f\n", (double)info->events / load_s);
  printf("rss_bytes=%ld\n", (rss1 - rss0) * 1024);
  printf("peak_rss_bytes=%ld\n", hwm * 1024);
  printf("rss_bytes_per_event=%.1f\n", (double)(rss1 - rss0) * 1024 / (double)(info->events ? info->events : 1));
  printf("frames=%zu\n", frames);
  printf("frame_p50_ms=%.2f\n", ms[n / 2]);
  printf("frame_p99_ms=%.2f\n", ms[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1]);
  printf("frame_max_ms=%.2f\n", ms[n - 1]);
  printf("rects_per_frame=%.0f\n", (double)rects / (double)frames);
  free(ms);
  vw_view_free(&v);
  offscreen_close(&os);
  vw_model_free(m);
  return 0;
}

static int window(const char *path, const opts *o, int pprof_type) {
  vw_app a;
  if (vw_app_open(&a, path, o->w, o->h, pprof_type) != 0) return 1;
  bool applied = false;
  while (vw_app_step(&a, 50)) {
    if (a.ready && !applied) {
      applied = true;
      if (apply(&a.view, o) != 0) break;
      a.dirty = true;
    }
  }
  int status = a.load_err ? 1 : 0;
  vw_app_close(&a);
  return status;
}

enum { OPT_SIZE = 256, OPT_RANGE, OPT_TASK, OPT_SHOT, OPT_BENCH, OPT_CLICK, OPT_SEARCH, OPT_PANEL, OPT_PPROF, OPT_SELRANGE, OPT_SELAT };

int et__cmd_view(int argc, char **argv) {
  static const struct option longopts[] = {
      {"size", required_argument, NULL, OPT_SIZE},
      {"range", required_argument, NULL, OPT_RANGE},
      {"select-range", required_argument, NULL, OPT_SELRANGE},
      {"task", required_argument, NULL, OPT_TASK},
      {"screenshot", required_argument, NULL, OPT_SHOT},
      {"bench", no_argument, NULL, OPT_BENCH},
      {"click", required_argument, NULL, OPT_CLICK},
      {"select-at", required_argument, NULL, OPT_SELAT},
      {"search", required_argument, NULL, OPT_SEARCH},
      {"tasks-panel", no_argument, NULL, OPT_PANEL},
      {"pprof-type", required_argument, NULL, OPT_PPROF},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  opts o;
  memset(&o, 0, sizeof o);
  const char *shot = NULL;
  bool do_bench = false, has_size = false;
  int pprof_type = ET__PP_BLOCK;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (c) {
      case OPT_SIZE: {
        char *e;
        long w = strtol(optarg, &e, 10), h = *e == 'x' ? strtol(e + 1, &e, 10) : 0;
        if (*e || w < 200 || h < 150 || w > 16384 || h > 16384)
          return usage_error("--size needs WxH (200x150 to 16384x16384), not", optarg);
        o.w = (int)w, o.h = (int)h, has_size = true;
        break;
      }
      case OPT_RANGE:
        if (!parse_range(optarg, &o.r0, &o.r1)) return usage_error("--range needs FROM..TO with units, not", optarg);
        o.has_range = true;
        break;
      case OPT_SELRANGE:
        if (!parse_range(optarg, &o.s0, &o.s1))
          return usage_error("--select-range needs FROM..TO with units, not", optarg);
        o.has_sel_range = true;
        break;
      case OPT_TASK: {
        char *e;
        errno = 0;
        unsigned long long id = strtoull(optarg, &e, 10);
        if (!*optarg || *e || errno || id == 0 || optarg[0] == '-')
          return usage_error("--task needs a task id (a positive number), not", optarg);
        o.has_task = true, o.task = id;
        break;
      }
      case OPT_SHOT: shot = optarg; break;
      case OPT_BENCH: do_bench = true; break;
      case OPT_CLICK:
        if (sscanf(optarg, "%d,%d", &o.cx, &o.cy) != 2) return usage_error("--click needs X,Y, not", optarg);
        o.has_click = true;
        break;
      case OPT_SELAT: {
        char tbuf[64];
        const char *comma = strchr(optarg, ',');
        char *e;
        if (!comma || (size_t)(comma - optarg) >= sizeof tbuf) return usage_error("--select-at needs TIME,TID, not", optarg);
        memcpy(tbuf, optarg, (size_t)(comma - optarg));
        tbuf[comma - optarg] = 0;
        o.at_tid = strtoull(comma + 1, &e, 10);
        if (et__pp_parse_duration(tbuf, &o.at_time) != 0 || *e || !comma[1])
          return usage_error("--select-at needs TIME,TID (a time with a unit, a thread id), not", optarg);
        o.has_select_at = true;
        break;
      }
      case OPT_SEARCH: o.search = optarg; break;
      case OPT_PANEL: o.panel = true; break;
      case OPT_PPROF:
        pprof_type = et__pp_type_by_name(optarg);
        if (pprof_type < 0) return usage_error("unknown profile type (cpu, sync, net, syscall, sched, block, mutex):", optarg);
        break;
      case 'h': usage(stdout); return 0;
      case ':': return usage_error("missing value for", argv[optind - 1]);
      default: return usage_error("unknown option", argv[optind - 1]);
    }
  }
  if (optind >= argc) return usage_error("missing the trace to view", NULL);
  if (optind + 1 < argc) return usage_error("one trace at a time; unexpected", argv[optind + 1]);
  if (shot && do_bench) return usage_error("--screenshot and --bench do not go together", NULL);
  const char *path = argv[optind];
  if (!has_size) {
    o.w = shot ? 1600 : 1280;
    o.h = shot ? 900 : 800;
  }
  if (do_bench) return bench(path);
  if (shot) return screenshot(path, shot, &o);
  return window(path, &o, pprof_type);
}

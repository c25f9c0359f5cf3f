/* The window and its event loop (see app.h). */
#include "app.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../convert/pprof/pprof.h"

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void *load_main(void *arg) {
  vw_app *a = arg;
  a->load_err = vw_model_load(a->path, &a->prog, &a->m);
  atomic_store(&a->prog.done, 1);
  SDL_Event e;
  memset(&e, 0, sizeof e);
  e.type = SDL_USEREVENT; /* wakes the loop */
  SDL_PushEvent(&e);
  return NULL;
}

int vw_app_open(vw_app *a, const char *path, int w, int h, int pprof_type) {
  memset(a, 0, sizeof *a);
  a->path = path;
  a->pprof_type = pprof_type;
  if (SDL_Init(SDL_INIT_VIDEO) != 0) {
    fprintf(stderr, "exectrace view: cannot open a window: %s (no display? try --screenshot OUT.png)\n",
            SDL_GetError());
    return -1;
  }
  char title[1100];
  snprintf(title, sizeof title, "exectrace view - %s", path);
  a->win = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, w, h,
                            SDL_WINDOW_RESIZABLE | SDL_WINDOW_SHOWN);
  if (!a->win) {
    fprintf(stderr, "exectrace view: cannot open a window: %s\n", SDL_GetError());
    SDL_Quit();
    return -1;
  }
  a->ren = SDL_CreateRenderer(a->win, -1, SDL_RENDERER_ACCELERATED | SDL_RENDERER_PRESENTVSYNC);
  if (!a->ren) a->ren = SDL_CreateRenderer(a->win, -1, SDL_RENDERER_SOFTWARE);
  if (!a->ren) {
    fprintf(stderr, "exectrace view: cannot draw in the window: %s\n", SDL_GetError());
    SDL_DestroyWindow(a->win);
    SDL_Quit();
    return -1;
  }
  vw_sdl_init(&a->sdl, a->ren, &a->draw);
  SDL_StopTextInput(); /* on only while typing a search */
  a->dirty = true;
  if (pthread_create(&a->loader, NULL, load_main, a) != 0) {
    fprintf(stderr, "exectrace view: cannot start the loading thread\n");
    vw_app_close(a);
    return -1;
  }
  a->loader_running = true;
  return 0;
}

static void draw_loading(vw_app *a) {
  vw_draw *d = &a->draw;
  int w, h;
  SDL_GetRendererOutputSize(a->ren, &w, &h);
  d->ops->clip(d->ctx, -1, 0, -1, 0);
  d->ops->rect(d->ctx, 0, 0, w, h, VW_RGB(0xf4, 0xf4, 0xf4));
  char buf[1200];
  uint64_t ev = atomic_load(&a->prog.events), bytes = atomic_load(&a->prog.bytes);
  /* about 6.5 bytes per event in a typical trace: an estimate for the bar */
  double frac = bytes ? (double)ev * 6.5 / (double)bytes : 0;
  if (frac > 0.99) frac = 0.99;
  snprintf(buf, sizeof buf, "loading %s: %" PRIu64 " events", a->path, ev);
  d->ops->text(d->ctx, 40, h / 2 - 30, buf, strlen(buf), VW_RGB(0x20, 0x20, 0x20));
  d->ops->rect(d->ctx, 40, h / 2, w - 80, 16, VW_RGB(0xdd, 0xdd, 0xdd));
  d->ops->rect(d->ctx, 40, h / 2, (int)((w - 80) * frac), 16, VW_RGB(0x00, 0x9e, 0x73));
}

static void render(vw_app *a) {
  double t0 = now_ms();
  if (a->ready) vw_frame(&a->view, &a->draw);
  else draw_loading(a);
  SDL_RenderPresent(a->ren);
  a->frame_ms = now_ms() - t0;
  a->frames++;
  a->dirty = false;
}

/* ---- pprof of the range or the selected task, on a thread ---- */

static void *pprof_main(void *arg) {
  vw_app *a = arg;
  vw_view *v = &a->view;
  et__pp_options o;
  memset(&o, 0, sizeof o);
  o.type = a->pprof_type;
  o.to = UINT64_MAX;
  o.trace_path = a->path;
  char out[256];
  const char *tn = et__pp_type_name(o.type);
  if (v->sel.kind == VW_SEL_TASK) {
    const et_task *tk = et_trace_task(a->m->t, v->sel.index);
    o.has_task = true;
    o.task = tk->id;
    snprintf(out, sizeof out, "exectrace-%s-task%" PRIu64 ".pb.gz", tn, tk->id);
  } else {
    o.from = v->r0;
    o.to = v->r1;
    snprintf(out, sizeof out, "exectrace-%s-%" PRIu64 "-%" PRIu64 "ns.pb.gz", tn, v->r0, v->r1);
  }
  et__pp_samples s;
  memset(&s, 0, sizeof s);
  et_trace *t = NULL;
  int load_err = 0;
  int err = et__pp_collect(a->path, &o, &s, &t, &load_err);
  FILE *f = NULL;
  if (!err) {
    f = fopen(out, "wb");
    if (!f) err = -errno;
  }
  if (!err) err = et__pp_encode(t, &o, &s, f);
  if (f && fclose(f) != 0 && !err) err = -EIO;
  if (err) {
    remove(out);
    snprintf(a->pp_msg, sizeof a->pp_msg, "pprof failed: %s", et_strerror(load_err ? load_err : err));
  } else {
    snprintf(a->pp_msg, sizeof a->pp_msg, "saved %s profile (%zu stacks) to %s", tn, s.n, out);
  }
  et__pp_samples_free(&s);
  et_trace_close(t);
  atomic_store(&a->pp_done, 1);
  SDL_Event e;
  memset(&e, 0, sizeof e);
  e.type = SDL_USEREVENT;
  SDL_PushEvent(&e);
  return NULL;
}

static void start_pprof(vw_app *a) {
  vw_view *v = &a->view;
  if (a->pp_running) {
    snprintf(v->status, sizeof v->status, "a profile is being saved already");
    return;
  }
  if (v->sel.kind != VW_SEL_TASK && !v->has_range) {
    snprintf(v->status, sizeof v->status, "select a range (shift+drag) or a task first, then p");
    return;
  }
  atomic_store(&a->pp_done, 0);
  if (pthread_create(&a->pp, NULL, pprof_main, a) == 0) {
    a->pp_running = true;
    snprintf(v->status, sizeof v->status, "saving a %s profile...", et__pp_type_name(a->pprof_type));
  }
}

void vw_app_wait_pprof(vw_app *a) {
  if (!a->pp_running) return;
  pthread_join(a->pp, NULL);
  a->pp_running = false;
  snprintf(a->view.status, sizeof a->view.status, "%s", a->pp_msg);
  a->dirty = true;
}

/* ---- input ---- */

static void key(vw_app *a, const SDL_KeyboardEvent *k) {
  vw_view *v = &a->view;
  SDL_Keycode sym = k->keysym.sym;
  bool shift = (k->keysym.mod & KMOD_SHIFT) != 0;
  if (sym == SDLK_q && !v->searching) {
    a->quit = true;
    return;
  }
  if (!a->ready) {
    if (sym == SDLK_ESCAPE) a->quit = true;
    return;
  }
  if (v->searching) {
    size_t n = strlen(v->query);
    if (sym == SDLK_ESCAPE) {
      v->searching = false;
      SDL_StopTextInput();
    } else if (sym == SDLK_BACKSPACE && n) {
      v->query[n - 1] = 0;
    } else if (sym == SDLK_RETURN || sym == SDLK_KP_ENTER) {
      v->searching = false;
      SDL_StopTextInput();
      char q[128];
      snprintf(q, sizeof q, "%s", v->query);
      vw_search(v, q);
    }
    return;
  }
  double cx = v->mouse_x >= vw_plot_x(v) && v->mouse_x < vw_plot_x(v) + vw_plot_w(v)
                  ? v->mouse_x
                  : vw_plot_x(v) + vw_plot_w(v) / 2.0;
  switch (sym) {
    case SDLK_w: vw_zoom_at(v, cx, 0.8); break;
    case SDLK_s: vw_zoom_at(v, cx, 1.25); break;
    case SDLK_a: vw_pan_px(v, vw_plot_w(v) / 8.0); break;
    case SDLK_d: vw_pan_px(v, -vw_plot_w(v) / 8.0); break;
    case SDLK_f: vw_fit_selection(v); break;
    case SDLK_0:
    case SDLK_KP_0: vw_show_all(v); break;
    case SDLK_SLASH:
      if (shift) {
        v->help = !v->help;
      } else {
        v->searching = true;
        v->query[0] = 0;
        SDL_StartTextInput();
      }
      break;
    case SDLK_QUESTION: v->help = !v->help; break;
    case SDLK_n: vw_search_next(v, shift ? -1 : 1); break;
    case SDLK_t:
      vw_set_panel(v, !v->panel);
      break;
    case SDLK_c:
      if (shift) {
        bool any_open = false;
        for (size_t i = 0; i < v->m->nthreads; i++) any_open |= !(v->thr_flags[i] & VW_F_COLLAPSED);
        for (size_t i = 0; i < v->m->nthreads; i++)
          v->thr_flags[i] = (uint8_t)(any_open ? v->thr_flags[i] | VW_F_COLLAPSED : v->thr_flags[i] & ~VW_F_COLLAPSED);
        vw_layout(v);
      } else {
        vw_toggle_track(v, vw_track_at(v, v->mouse_y), VW_F_COLLAPSED);
      }
      break;
    case SDLK_x: vw_toggle_track(v, vw_track_at(v, v->mouse_y), VW_F_PINNED); break;
    case SDLK_p: start_pprof(a); break;
    case SDLK_ESCAPE:
      if (v->help) v->help = false;
      else vw_clear(v);
      break;
    case SDLK_UP: vw_scroll(v, -40); break;
    case SDLK_DOWN: vw_scroll(v, 40); break;
    case SDLK_PAGEUP: vw_scroll(v, -(vw_tracks_bottom(v) - vw_tracks_top(v))); break;
    case SDLK_PAGEDOWN: vw_scroll(v, vw_tracks_bottom(v) - vw_tracks_top(v)); break;
    case SDLK_HOME: vw_scroll(v, -v->content_h); break;
    default: return;
  }
  a->dirty = true;
}

void vw_app_event(vw_app *a, const SDL_Event *e) {
  vw_view *v = &a->view;
  switch (e->type) {
    case SDL_QUIT: a->quit = true; return;
    case SDL_WINDOWEVENT:
      if (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED && a->ready) vw_resize(v, e->window.data1, e->window.data2);
      a->dirty = true;
      return;
    case SDL_KEYDOWN: key(a, &e->key); return;
    case SDL_TEXTINPUT:
      if (a->ready && v->searching) {
        size_t n = strlen(v->query);
        snprintf(v->query + n, sizeof v->query - n, "%s", e->text.text);
        a->dirty = true;
      }
      return;
    case SDL_USEREVENT: a->dirty = true; return;
    default: break;
  }
  if (!a->ready) return;
  switch (e->type) {
    case SDL_MOUSEMOTION:
      v->mouse_x = e->motion.x;
      v->mouse_y = e->motion.y;
      if (v->drag == 1) {
        v->t0 = v->drag_t0 - (e->motion.x - v->drag_x) * v->nspp;
        vw_pan_px(v, 0); /* clamps */
        if (abs(e->motion.y - v->drag_y) > 0) {
          vw_scroll(v, v->drag_y - e->motion.y);
          v->drag_y = e->motion.y;
        }
      } else if (v->drag == 2) {
        double t = vw_time_at(v, e->motion.x);
        uint64_t tt = t < 0 ? 0 : (uint64_t)t;
        v->has_range = true;
        v->r0 = v->drag_time < tt ? v->drag_time : tt;
        v->r1 = v->drag_time < tt ? tt : v->drag_time;
      }
      if (v->drag && abs(e->motion.x - v->drag_x) + abs(e->motion.y - v->drag_y) > 3) v->drag_moved = true;
      a->dirty = true;
      break;
    case SDL_MOUSEBUTTONDOWN: {
      int x = e->button.x, y = e->button.y;
      v->mouse_x = x, v->mouse_y = y;
      if (vw_panel_click(v, x, y)) {
        a->dirty = true;
        break;
      }
      bool shift = (SDL_GetModState() & KMOD_SHIFT) != 0;
      if (x < vw_plot_x(v) && e->button.button == SDL_BUTTON_LEFT) {
        vw_track *tr = vw_track_at(v, y);
        if (tr) {
          vw_sel s = vw_hit_test(v, x, y);
          vw_toggle_track(v, tr, VW_F_COLLAPSED);
          if (s.kind == VW_SEL_THREAD) v->sel = s;
        }
        a->dirty = true;
        break;
      }
      if (y < vw_tracks_top(v) && y >= VW_HEADER_H) shift = true; /* dragging on the axis selects */
      v->drag = (shift || e->button.button == SDL_BUTTON_RIGHT) ? 2 : 1;
      v->drag_x = x, v->drag_y = y;
      v->drag_t0 = v->t0;
      double t = vw_time_at(v, x);
      v->drag_time = t < 0 ? 0 : (uint64_t)t;
      v->drag_moved = false;
      break;
    }
    case SDL_MOUSEBUTTONUP:
      if (v->drag == 1 && !v->drag_moved) {
        v->has_range = false;
        vw_click(v, e->button.x, e->button.y);
      } else if (v->drag == 2 && v->drag_moved) {
        v->sel.kind = VW_SEL_NONE;
        vw_set_range(v, v->r0, v->r1);
      } else if (v->drag == 2) {
        v->has_range = false;
      }
      v->drag = 0;
      a->dirty = true;
      break;
    case SDL_MOUSEWHEEL: {
      int mx, my;
      SDL_GetMouseState(&mx, &my);
      if (v->mouse_x || v->mouse_y) mx = v->mouse_x, my = v->mouse_y;
      if (v->panel && mx >= v->w - VW_PANEL_W) {
        if (e->wheel.y < 0) v->panel_scroll += 3;
        else if (v->panel_scroll >= 3) v->panel_scroll -= 3;
        else v->panel_scroll = 0;
      } else if (SDL_GetModState() & KMOD_SHIFT) {
        vw_scroll(v, -e->wheel.y * 40);
      } else {
        if (e->wheel.y) vw_zoom_at(v, mx, pow(0.8, e->wheel.y));
        if (e->wheel.x) vw_pan_px(v, -e->wheel.x * 40.0);
      }
      a->dirty = true;
      break;
    }
    default: break;
  }
}

static void adopt(vw_app *a) {
  if (a->ready || !a->loader_running || !atomic_load(&a->prog.done)) return;
  pthread_join(a->loader, NULL);
  a->loader_running = false;
  if (a->load_err) {
    fprintf(stderr, "exectrace view: cannot load '%s': %s\n", a->path, et_strerror(a->load_err));
    a->quit = true;
    return;
  }
  int w, h;
  SDL_GetRendererOutputSize(a->ren, &w, &h);
  if (vw_view_init(&a->view, a->m, w, h) != 0) {
    a->load_err = -ENOMEM;
    a->quit = true;
    return;
  }
  for (size_t i = 0; i < et_trace_warning_count(a->m->t) && i < 3; i++)
    fprintf(stderr, "exectrace view: warning: %s\n", et_trace_warning(a->m->t, i));
  a->ready = true;
  a->dirty = true;
}

bool vw_app_step(vw_app *a, int timeout_ms) {
  SDL_Event e;
  bool got = timeout_ms > 0 && !a->dirty ? SDL_WaitEventTimeout(&e, timeout_ms) : SDL_PollEvent(&e);
  while (got) {
    vw_app_event(a, &e);
    got = SDL_PollEvent(&e);
  }
  adopt(a);
  if (a->pp_running && atomic_load(&a->pp_done)) vw_app_wait_pprof(a);
  if (!a->ready) a->dirty = true; /* the progress bar moves */
  if (a->dirty && !a->quit) render(a);
  return !a->quit;
}

int vw_app_wait_loaded(vw_app *a, int timeout_ms) {
  double end = now_ms() + timeout_ms;
  while (!a->ready && !a->quit && now_ms() < end) vw_app_step(a, 20);
  if (a->load_err) return a->load_err;
  return a->ready ? 0 : -ETIMEDOUT;
}

void vw_app_close(vw_app *a) {
  if (a->loader_running) pthread_join(a->loader, NULL);
  if (a->pp_running) pthread_join(a->pp, NULL);
  if (a->ready) vw_view_free(&a->view);
  vw_model_free(a->m);
  vw_sdl_free(&a->sdl);
  if (a->ren) SDL_DestroyRenderer(a->ren);
  if (a->win) SDL_DestroyWindow(a->win);
  SDL_Quit();
  memset(a, 0, sizeof *a);
}

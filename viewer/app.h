/* The window: loads the trace on a background thread (the window shows a
 * progress bar and answers meanwhile), then turns SDL input into view calls
 * (view.h) and draws a frame whenever something changed.  Tests open an app,
 * push SDL events with SDL_PushEvent and call vw_app_step() to run the real
 * loop one iteration at a time. */
#ifndef EXECTRACE_VIEWER_APP_H
#define EXECTRACE_VIEWER_APP_H

#include <SDL.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "model.h"
#include "render_sdl.h"
#include "view.h"

typedef struct vw_app {
  const char *path;
  SDL_Window *win;
  SDL_Renderer *ren;
  vw_sdl sdl;
  vw_draw draw;
  vw_model *m;
  vw_view view;
  bool ready;          /* the model is loaded and the view set up */
  vw_progress prog;
  pthread_t loader;
  bool loader_running;
  int load_err;
  bool quit, dirty;
  int pprof_type;      /* enum et__pp_type of the profile the p key saves */
  pthread_t pp;
  bool pp_running;
  _Atomic int pp_done;
  char pp_msg[512];
  uint64_t frames;
  double frame_ms;     /* the last frame's drawing time */
} vw_app;

/* Opens a w x h window on path and starts loading it.  Returns 0 or -1 with
 * a message on stderr. */
int vw_app_open(vw_app *a, const char *path, int w, int h, int pprof_type);

/* Runs one iteration of the loop: waits up to timeout_ms for input (0: does
 * not wait), handles every pending event, adopts a finished load, draws if
 * needed.  Returns false once the user asked to quit. */
bool vw_app_step(vw_app *a, int timeout_ms);

/* Handles one event (what vw_app_step does for each). */
void vw_app_event(vw_app *a, const SDL_Event *e);

/* Runs until loaded (or failed, or timeout); returns the load error or 0. */
int vw_app_wait_loaded(vw_app *a, int timeout_ms);

/* Waits for a pprof save in progress to finish. */
void vw_app_wait_pprof(vw_app *a);

void vw_app_close(vw_app *a);

#endif

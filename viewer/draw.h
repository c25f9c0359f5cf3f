/* The drawing backend interface: the frame code (frame.c) draws through these
 * few calls, so the same frame can go to an SDL renderer (a window or an
 * offscreen surface, render_sdl.c) or to the null backend, which only counts
 * calls, for tests that run frames without a display. */
#ifndef EXECTRACE_VIEWER_DRAW_H
#define EXECTRACE_VIEWER_DRAW_H

#include <stddef.h>
#include <stdint.h>

/* Colours are 0xAARRGGBB; an alpha of 0 means opaque. */
#define VW_RGB(r, g, b) (0xff000000u | ((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b))
#define VW_RGBA(r, g, b, a) (((uint32_t)(a) << 24) | ((uint32_t)(r) << 16) | ((uint32_t)(g) << 8) | (uint32_t)(b))

typedef struct vw_draw_ops {
  void (*rect)(void *ctx, int x, int y, int w, int h, uint32_t argb);   /* filled */
  void (*line)(void *ctx, int x0, int y0, int x1, int y1, uint32_t argb);
  void (*text)(void *ctx, int x, int y, const char *s, size_t n, uint32_t argb); /* top-left */
  void (*clip)(void *ctx, int x, int y, int w, int h);                   /* w < 0: no clip */
} vw_draw_ops;

typedef struct vw_draw {
  const vw_draw_ops *ops;
  void *ctx;
  int char_w, char_h; /* a monospace font's cell */
  uint64_t rects, lines, texts; /* calls made, for tests and the bench */
} vw_draw;

/* The null backend: draws nothing, counts calls; 7x14 cells. */
void vw_draw_null(vw_draw *d);

#endif

/* The SDL2 drawing backend: vw_draw calls on an SDL_Renderer (a window's, or
 * a software renderer on a surface for screenshots and the bench), text from
 * a monospace TrueType font through SDL2_ttf, rendered once into a glyph
 * atlas so a label costs one texture copy per character.  Also the PNG
 * writer for screenshots. */
#ifndef EXECTRACE_VIEWER_RENDER_SDL_H
#define EXECTRACE_VIEWER_RENDER_SDL_H

#include <SDL.h>
#include <stdbool.h>

#include "draw.h"

typedef struct vw_sdl {
  SDL_Renderer *r;
  SDL_Texture *atlas; /* glyphs 32..126, white on transparent */
  int cw, ch;
} vw_sdl;

/* The font: $EXECTRACE_FONT, else the first of a fixed list of DejaVu /
 * Liberation monospace paths that exists; NULL if none. */
const char *vw_font_path(void);

/* Sets d up to draw on r.  Without a font, text is not drawn (and a warning
 * goes to stderr once).  Returns 0 or -1 (SDL_GetError). */
int vw_sdl_init(vw_sdl *s, SDL_Renderer *r, vw_draw *d);
void vw_sdl_free(vw_sdl *s);

/* Writes w x h pixels (ARGB8888 rows of pitch bytes) as an RGB PNG.
 * Returns 0 or -errno. */
int vw_png_write(const char *path, int w, int h, const void *pixels, int pitch);

#endif
